"""A Griffe extension for the API reference: docstring examples are shown as code.

pointkit's docstrings hold doctest examples (``>>>`` lines and their output), which Sybil runs
as tests. Rendered as Markdown they would read as text, and their output (``['a', 'b']``) as
links. This extension fences every run of example lines as a ``pycon`` code block before
mkdocstrings renders the docstring; the source is untouched.
"""

from __future__ import annotations

from typing import Any

import griffe


def fence(text: str) -> str:
    """Wrap each run of doctest lines (a ``>>>`` line up to the next blank line) in a fence."""
    lines = text.splitlines()
    out: list[str] = []
    inside = False
    for line in lines:
        if not inside and line.lstrip().startswith(">>>"):
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f"{indent}```pycon")
            inside = True
        elif inside and not line.strip():
            out.append(f"{indent}```")
            inside = False
        out.append(line)
    if inside:
        out.append(f"{indent}```")
    return "\n".join(out)


class DoctestFences(griffe.Extension):
    """Fence the doctest examples of every docstring."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:  # noqa: ANN401 - Griffe's hook signature
        """Fence the examples of *obj*'s docstring, if it has one."""
        del kwargs
        if obj.docstring is not None:
            obj.docstring.value = fence(obj.docstring.value)

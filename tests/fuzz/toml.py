"""A small TOML writer for the fuzzed programme files: every value TOML has, hostile ones too.

The standard library reads TOML but does not write it. This writer puts each top-level table
under its ``[header]`` (and each array of tables under ``[[headers]]``) and everything deeper
inline, which TOML reads back as the same document. Floats keep ``nan`` and ``inf``; strings
keep any character, a lone surrogate included, so that :func:`encode` can make a file that is
not UTF-8 at all.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime, time
from typing import Final


__all__ = ["dumps", "encode"]

_BARE_KEY: Final = re.compile(r"[A-Za-z0-9_-]+\Z")
_ESCAPES: Final = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def _string(text: str) -> str:
    out = []
    for char in text:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _key(key: str) -> str:
    return key if _BARE_KEY.match(key) else _string(key)


def _float(value: float) -> str:
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    text = repr(value)
    return text if any(mark in text for mark in ".en") else f"{text}.0"


def value(item: object) -> str:
    """*item* as an inline TOML value.

    Raises:
        TypeError: If TOML has no such value (None, bytes, a set, ...).
    """
    match item:
        case bool():
            return "true" if item else "false"
        case int():
            return str(item)
        case float():
            return _float(item)
        case str():
            return _string(item)
        case datetime() | date() | time():
            return item.isoformat()
        case list():
            return "[" + ", ".join(value(element) for element in item) + "]"
        case dict():
            pairs = ", ".join(f"{_key(str(k))} = {value(v)}" for k, v in item.items())
            return "{ " + pairs + " }" if pairs else "{}"
        case _:
            raise TypeError(f"TOML has no value like {item!r}")


def dumps(document: dict[str, object]) -> str:
    """The TOML text of *document*, as :func:`tomllib.loads` would read it back."""
    head: list[str] = []
    body: list[str] = []
    for name, item in document.items():
        if isinstance(item, dict):
            body.append(f"\n[{_key(name)}]")
            body += [f"{_key(str(k))} = {value(v)}" for k, v in item.items()]
        elif isinstance(item, list) and item and all(isinstance(part, dict) for part in item):
            for part in item:
                body.append(f"\n[[{_key(name)}]]")
                body += [f"{_key(str(k))} = {value(v)}" for k, v in part.items()]
        else:
            head.append(f"{_key(name)} = {value(item)}")
    return "\n".join(head + body) + "\n"


def encode(text: str) -> bytes:
    """*text* as UTF-8, lone surrogates written as the invalid bytes they stand for."""
    return text.encode("utf-8", "surrogatepass")

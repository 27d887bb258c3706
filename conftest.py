"""Run every example in README.md, docs/*.md and the docstrings in src/ as a test (Sybil).

Exception messages are compared in full: they are part of pointkit's contract.
"""

from doctest import ELLIPSIS

from sybil import Sybil
from sybil.parsers import markdown, rest


markdown_examples = Sybil(
    parsers=[
        markdown.PythonCodeBlockParser(doctest_optionflags=ELLIPSIS),
        markdown.SkipParser(),
    ],
    patterns=["README.md", "docs/*.md"],
)
docstring_examples = Sybil(
    parsers=[rest.DocTestParser(optionflags=ELLIPSIS)],
    patterns=["src/pointkit/*.py", "src/pointkit/*/*.py", "src/pointkit/*/*/*.py"],
)

pytest_collect_file = (markdown_examples + docstring_examples).pytest()

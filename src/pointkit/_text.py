"""Plain-text tables for reports, odds tables and the command line.

Columns are aligned by display width, so Chinese text (two columns a character) lines up:
the first column is left-aligned, the others right-aligned, as figures are read.
"""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING


if TYPE_CHECKING:
    from collections.abc import Sequence


__all__ = ["table", "width"]


def width(text: str) -> int:
    """The display width of *text*: East Asian wide and full-width characters count two."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def table(rows: Sequence[Sequence[str]], align: str = "") -> list[str]:
    """Align *rows* (the header first) into lines.

    *align* has an ``l`` (left) or ``r`` (right) per column; by default the first column is
    left-aligned and the others right-aligned.
    """
    count = len(rows[0])
    sides = align or "l" + "r" * (count - 1)
    widths = [max(width(row[column]) for row in rows) for column in range(count)]
    return [
        "  ".join(
            cell + " " * (widths[column] - width(cell))
            if sides[column] == "l"
            else " " * (widths[column] - width(cell)) + cell
            for column, cell in enumerate(row)
        ).rstrip()
        for row in rows
    ]

"""Rows written with multi-row ``INSERT ... VALUES``: a statement per table, not one per row.

A batch (``earn_many``, an expiry unit) writes hundreds of rows to a table; sent one statement
per row, the server parses, plans and answers each. One statement carries many rows instead,
up to a bound on its bound values (the protocol allows 65,535), and ``VALUES`` rather than
``INSERT ... SELECT FROM unnest(...)``, which Citus plans on the coordinator (docs/scaling.md).

The statements go through a raw cursor with the server's own placeholders (``$1``, ``$2``,
...): psycopg parses a ``%s`` query to number its placeholders, and does not keep the result
for a query of more than 50 of them, so a batch's statements would be parsed anew, in Python,
each time they are sent. The ``VALUES`` list of a given shape is built once and kept.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any, Final

import psycopg


if TYPE_CHECKING:
    from collections.abc import Sequence


__all__ = ["SCALAR_ROWS_MAX", "insert_rows", "one_of", "row_source", "values_list"]

# Bound values in one statement: well under the protocol's 65,535.
PARAMETERS_MAX: Final = 30_000
# The shapes of VALUES lists kept: (row width, rows) pairs.
_SHAPES_KEPT: Final = 256


@lru_cache(maxsize=_SHAPES_KEPT)
def values_list(width: int, rows: int) -> str:
    """``($1, $2), ($3, $4)`` for *rows* rows of *width* values: the list after ``VALUES``."""
    return ", ".join(
        f"({', '.join(f'${start + column}' for column in range(1, width + 1))})"
        for start in range(0, width * rows, width)
    )


def insert_rows(
    connection: psycopg.Connection[Any],
    head: str,
    rows: Sequence[Sequence[object]],
    tail: str = "",
) -> list[psycopg.Cursor[Any]]:
    """Send ``head`` + the rows as ``VALUES`` tuples + ``tail``, in as few statements as fit.

    *head* ends with ``VALUES``; every row has the same width. Neither *head* nor *tail* may
    hold a placeholder (``%s`` or ``$n``): the rows are the statement's only parameters.
    Returns each statement's cursor, for its row count once it is answered.
    """
    if not rows:
        return []
    width = len(rows[0])
    per_statement = max(PARAMETERS_MAX // width, 1)
    cursors: list[psycopg.Cursor[Any]] = []
    for start in range(0, len(rows), per_statement):
        chunk = rows[start : start + per_statement]
        cursor: psycopg.Cursor[Any] = psycopg.RawCursor(connection)
        cursor.execute(
            f"{head} {values_list(width, len(chunk))}{tail}",
            [value for values in chunk for value in values],
        )
        cursors.append(cursor)
    return cursors


# Up to this many rows, a statement takes a set of rows as scalar parameters in a VALUES list;
# more, as one array per column. psycopg adapts a list in Python, element by element, at a cost
# well above a scalar's; past a few rows a statement of scalars has so many parameters that
# psycopg would parse it anew each time (it keeps the parse of a query of at most 50).
SCALAR_ROWS_MAX: Final = 4


def row_source(types: Sequence[str], rows: Sequence[Sequence[object]]) -> tuple[str, list[object]]:
    """A ``FROM`` item giving *rows* (columns of SQL *types*), and its parameters.

    ``(VALUES (%s::text, ...), ...)`` for a few rows, else ``unnest(%s::text[], ...)``; the
    caller names it and its columns (``AS v(a, b)``).
    """
    if len(rows) <= SCALAR_ROWS_MAX:
        first = f"({', '.join(f'%s::{kind}' for kind in types)})"
        rest = f"({', '.join(['%s'] * len(types))})"
        return (
            f"(VALUES {', '.join([first] + [rest] * (len(rows) - 1))})",
            [value for row in rows for value in row],
        )
    return (
        f"unnest({', '.join(f'%s::{kind}[]' for kind in types)})",
        [list(column) for column in zip(*rows, strict=True)],
    )


def one_of(values: Sequence[object]) -> tuple[str, list[object]]:
    """``IN (%s, ...)`` for a few *values*, else ``= ANY(%s)`` (see ``row_source``)."""
    if len(values) <= SCALAR_ROWS_MAX:
        return f"IN ({', '.join(['%s'] * len(values))})", list(values)
    return "= ANY(%s)", [list(values)]

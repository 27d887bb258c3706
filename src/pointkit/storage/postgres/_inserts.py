"""Rows written with multi-row ``INSERT ... VALUES``: a statement per table, not one per row.

A batch (``earn_many``, an expiry unit) writes hundreds of rows to a table; sent one statement
per row, the server parses, plans and answers each. One statement carries many rows instead,
up to a bound on its bound values (the protocol allows 65,535), and ``VALUES`` rather than
``INSERT ... SELECT FROM unnest(...)``, which Citus plans on the coordinator (docs/scaling.md).

The statements go through a raw cursor with the server's own placeholders (``$1``, ``$2``,
...): psycopg parses a ``%s`` query to number its placeholders, and does not keep the result
for a query of more than 50 of them, so a batch's statements would be parsed anew, in Python,
each time they are sent. The ``VALUES`` list of a given shape is built once and kept.

On a single PostgreSQL server, the rows of every table a batch writes go in one statement
(``write_together``): each table's ``INSERT ... VALUES`` is a data-modifying ``WITH`` item of
one statement that ends with the wallets' guarded UPDATE. The client then prepares, sends and
the server parses, plans and answers one statement instead of one per table (about 45 us of
client CPU per statement, measured with raw psycopg). A distributed PostgreSQL (Citus) gets the
statements one per table, as docs/scaling.md states them.
"""

from __future__ import annotations

import itertools
import re
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Final

import psycopg


if TYPE_CHECKING:
    from collections.abc import Sequence


__all__ = [
    "SCALAR_ROWS_MAX",
    "insert_rows",
    "one_of",
    "row_source",
    "values_list",
    "write_together",
]

# Bound values in one statement: well under the protocol's 65,535.
PARAMETERS_MAX: Final = 30_000
# The shapes of VALUES lists kept: (row width, rows) pairs.
_SHAPES_KEPT: Final = 256


@lru_cache(maxsize=_SHAPES_KEPT)
def values_list(width: int, rows: int, first: int = 1) -> str:
    """``($1, $2), ($3, $4)`` for *rows* rows of *width* values: the list after ``VALUES``.

    The placeholders are numbered from *first*.
    """
    return ", ".join(
        f"({', '.join(f'${start + column}' for column in range(width))})"
        for start in range(first, first + width * rows, width)
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


def write_together(
    connection: psycopg.Connection[Any],
    inserts: Sequence[tuple[str, Sequence[Sequence[object]], str]],
    last: tuple[str, str, Sequence[object]] | None,
) -> bool:
    """Send every insert and *last* as one statement; ``False`` (nothing sent) if too big.

    Each of *inserts* is ``(head, rows, tail)`` as ``insert_rows`` takes them, with rows. *last*
    is ``(item, query, values)``: a ``WITH`` item (``name AS (...)``) and the query that ends
    the statement, with ``%s`` placeholders for *values* (``None``: the statement ends with
    ``SELECT 0``). Items of one statement see the same snapshot, not each other's rows: no
    insert may depend on another's (a trigger may: it runs at the end of the statement).
    """
    if not inserts and last is None:
        return True
    item, query, values = last if last is not None else ("", "SELECT 0", ())
    shape = tuple((head, tail, len(rows[0]), len(rows)) for head, rows, tail in inserts)
    if sum(width * count for _, _, width, count in shape) + len(values) > PARAMETERS_MAX:
        return False
    cursor: psycopg.Cursor[Any] = psycopg.RawCursor(connection)
    cursor.execute(
        _together(shape, item, query),
        [value for _, rows, _ in inserts for row in rows for value in row] + list(values),
    )
    return True


@lru_cache(maxsize=_SHAPES_KEPT)
def _together(shape: tuple[tuple[str, str, int, int], ...], item: str, query: str) -> str:
    """The statement ``write_together`` sends for inserts of *shape* and a last *item*, *query*."""
    items: list[str] = []
    first = 1
    for number, (head, tail, width, count) in enumerate(shape):
        items.append(f"w{number} AS ({head} {values_list(width, count, first)}{tail})")
        first += width * count
    numbers = itertools.count(first)

    def numbered(text: str) -> str:  # %s placeholders as the next $n, in order
        return re.sub("%s", lambda _: f"${next(numbers)}", text)

    if item:
        items.append(numbered(item))
    end = numbered(query)
    return f"WITH {', '.join(items)} {end}" if items else end


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

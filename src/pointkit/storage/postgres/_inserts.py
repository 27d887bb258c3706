"""Rows written with multi-row ``INSERT ... VALUES``: a statement per table, not one per row.

A batch (``earn_many``, an expiry unit) writes hundreds of rows to a table; sent one statement
per row, the server parses, plans and answers each. One statement carries many rows instead,
up to a bound on its bound values (the protocol allows 65,535), and ``VALUES`` rather than
``INSERT ... SELECT FROM unnest(...)``, which Citus plans on the coordinator (docs/scaling.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final


if TYPE_CHECKING:
    from collections.abc import Sequence

    import psycopg


__all__ = ["insert_rows"]

# Bound values in one statement: well under the protocol's 65,535.
PARAMETERS_MAX: Final = 30_000


def insert_rows(
    connection: psycopg.Connection[Any],
    head: str,
    rows: Sequence[Sequence[object]],
    tail: str = "",
) -> list[psycopg.Cursor[Any]]:
    """Send ``head`` + the rows as ``VALUES`` tuples + ``tail``, in as few statements as fit.

    *head* ends with ``VALUES``; every row has the same width. Returns each statement's
    cursor, for its row count once it is answered.
    """
    if not rows:
        return []
    width = len(rows[0])
    row = f"({', '.join(['%s'] * width)})"
    per_statement = max(PARAMETERS_MAX // width, 1)
    cursors = []
    for start in range(0, len(rows), per_statement):
        chunk = rows[start : start + per_statement]
        cursors.append(
            connection.execute(
                f"{head} {', '.join([row] * len(chunk))}{tail}",
                [value for values in chunk for value in values],
            )
        )
    return cursors

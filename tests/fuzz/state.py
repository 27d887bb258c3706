"""Everything a storage holds for one program, read so that two reads compare equal or not.

:func:`pointkit.testing.snapshot` reads the accounts and tiers parts through the storage
protocol. The records part (events, counters, streaks, budgets: offers' stock, pity counters,
conversions) has no read that lists it, so :func:`state_reader` adds the adapter's raw rows:
the in-memory storage's dictionaries, or every ``pk_`` table's rows in SQLite.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pointkit import MemoryStorage, ProgramId
from pointkit.storage.sqlite import SQLiteStorage
from pointkit.testing import snapshot


if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Callable

    from pointkit.ledger import Storage


__all__ = ["state_reader"]


def _frozen(value: object) -> object:
    """*value* with its lists as tuples, so that a later write cannot change it."""
    if isinstance(value, dict):
        # Reads may leave empty lists behind in the defaultdicts: they hold nothing.
        return {key: _frozen(item) for key, item in value.items() if item != []}
    if isinstance(value, list):
        return tuple(_frozen(item) for item in value)
    return value


def _memory_rows(storage: MemoryStorage, program: str) -> object:
    data = storage._programs.get(ProgramId(program))
    if data is None:
        return {}
    # quiet_until is a cache (no open lot expires before it), forgotten on every rollback.
    return {name: _frozen(table) for name, table in vars(data).items() if name != "quiet_until"}


def _sqlite_rows(connection: sqlite3.Connection, tables: list[str], program: str) -> object:
    return {
        table: sorted(
            connection.execute(
                f"SELECT * FROM {table} WHERE program_id = ?",  # noqa: S608 - names from sqlite_master
                (program,),
            ).fetchall(),
            key=repr,
        )
        for table in tables
    }


def state_reader(storage: Storage, program: str) -> Callable[[], object]:
    """A function that reads everything *storage* holds for *program*, comparably.

    Raises:
        TypeError: If *storage* is neither the in-memory nor the SQLite adapter.
    """
    if isinstance(storage, MemoryStorage):
        rows: Callable[[], object] = lambda: _memory_rows(storage, program)  # noqa: E731 - one line
    elif isinstance(storage, SQLiteStorage):
        connection = storage._connection()
        tables = [
            name
            for (name,) in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'pk!_%' "
                "ESCAPE '!' AND name != 'pk_schema' ORDER BY name"
            )
        ]
        rows = lambda: _sqlite_rows(connection, tables, program)  # noqa: E731
    else:
        raise TypeError(f"no raw reader for {storage!r}")
    return lambda: (snapshot(storage, program), rows())

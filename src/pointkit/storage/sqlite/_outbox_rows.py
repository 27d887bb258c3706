"""The SQLite adapter's outbox part: events, consumers' positions and dead letters.

SQLite has one writer at a time, holding the write lock until COMMIT, so the sequence number an
event gets under it is its commit order: a position is that number.
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

from pointkit.ledger._codec import from_micros, to_micros
from pointkit.ledger._outbox import OutboxEvent, sequence_position


if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Sequence
    from datetime import datetime

    from pointkit.ledger._outbox import NewEvent


__all__ = ["OutboxRows"]

_COLUMNS = "seq, event_id, type, version, occurred_at, data"


def _event(row: tuple[Any, ...]) -> OutboxEvent:
    seq, event_id, kind, version, occurred_at, data = row
    return OutboxEvent(
        id=uuid.UUID(bytes=event_id),
        type=kind,
        version=version,
        program="",
        occurred_at=from_micros(occurred_at),
        data=json.loads(data),
        cursor=str(seq),
    )


class OutboxRows:
    """The outbox part of a unit of work; mixed into the adapter's unit."""

    _db: sqlite3.Connection
    _program: str

    if TYPE_CHECKING:

        def _one(self, sql: str, *args: object) -> tuple[Any, ...] | None: ...

        def _all(self, sql: str, *args: object) -> list[tuple[Any, ...]]: ...

    def append_events(self, events: Sequence[NewEvent]) -> int:
        cursor = self._db.executemany(
            f"INSERT INTO pk_outbox (program_id, {_COLUMNS}) VALUES (?, (SELECT "
            "COALESCE(MAX(seq), 0) + 1 FROM pk_outbox WHERE program_id = ?), ?, ?, ?, ?, ?) "
            "ON CONFLICT (program_id, event_id) DO NOTHING",
            [
                (
                    self._program,
                    self._program,
                    event.id.bytes,
                    event.type,
                    event.version,
                    to_micros(event.occurred_at),
                    event.body(),
                )
                for event in events
            ],
        )
        return max(cursor.rowcount, 0)

    def events_after(self, position: str, limit: int) -> Sequence[OutboxEvent]:
        rows = self._all(
            f"SELECT {_COLUMNS} FROM pk_outbox WHERE program_id = ? AND seq > ? "
            "ORDER BY seq LIMIT ?",
            sequence_position(position),
            limit,
        )
        return [_event(row) for row in rows]

    def all_events(self) -> Sequence[OutboxEvent]:
        rows = self._all(f"SELECT {_COLUMNS} FROM pk_outbox WHERE program_id = ? ORDER BY seq")
        return [_event(row) for row in rows]

    def outbox_position(self, consumer: str) -> str:
        row = self._one(
            "SELECT position FROM pk_outbox_consumer WHERE program_id = ? AND consumer = ?",
            consumer,
        )
        return "" if row is None else str(row[0])

    def set_outbox_position(self, consumer: str, position: str) -> None:
        self._db.execute(
            "INSERT INTO pk_outbox_consumer (program_id, consumer, position) VALUES (?, ?, ?) "
            "ON CONFLICT (program_id, consumer) DO UPDATE SET position = excluded.position "
            "WHERE excluded.position > pk_outbox_consumer.position",
            (self._program, consumer, sequence_position(position)),
        )

    def add_dead_letter(self, consumer: str, event: OutboxEvent, reason: str, at: datetime) -> None:
        self._db.execute(
            "INSERT INTO pk_outbox_dead (program_id, consumer, event_id, seq, reason, at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (self._program, consumer, event.id.bytes, sequence_position(event.cursor), reason,
             to_micros(at)),
        )  # fmt: skip

    def dead_letters(self, consumer: str) -> Sequence[tuple[OutboxEvent, str]]:
        rows = self._all(
            f"SELECT {', '.join(f'o.{column.strip()}' for column in _COLUMNS.split(','))}, "
            "d.reason FROM pk_outbox_dead AS d JOIN pk_outbox AS o ON o.program_id = "
            "d.program_id AND o.event_id = d.event_id WHERE d.program_id = ? AND d.consumer = ? "
            "ORDER BY d.at, d.seq",
            consumer,
        )
        return [(_event(row[:6]), str(row[6])) for row in rows]

"""The PostgreSQL adapter's outbox part: events, consumers' positions and dead letters.

Sequence numbers are handed out at insert, not at commit, so a position is ``xid:seq``: the id
of the transaction that wrote the event, then its number. Readers take events below the oldest
transaction still running (``pg_snapshot_xmin``), in that order: every unit that could still
commit has a larger transaction id, so nothing can appear behind a consumer's position.

On Citus (``pk_outbox`` distributed), the coordinator fills in ``xid`` — the id of its own
transaction — but runs the read on a worker, whose snapshot knows nothing of the coordinator's
ids. So there the horizon is read first, on the coordinator, and passed to the read. It holds
because a unit writes to one worker (every table is co-located by ``program_id``), and Citus
commits a one-worker transaction on the worker before its coordinator transaction ends.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any, Final

from pointkit.exceptions import InvalidArgumentError
from pointkit.ledger._outbox import OutboxEvent
from pointkit.storage.postgres._inserts import insert_rows


if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    import psycopg

    from pointkit.ledger._outbox import NewEvent


__all__ = ["OutboxRows"]

_COLUMNS = "xid::text, seq, event_id, type, version, occurred_at, data"
_POSITION: Final = re.compile(r"(\d{1,20}):(\d{1,19})\Z")


def _position(position: str) -> tuple[str, int]:
    if position == "":
        return ("0", 0)
    found = _POSITION.match(position)
    if found is None:
        raise InvalidArgumentError(
            f"cursor={position!r} is not a position of this storage (a batch's cursor is)"
        )
    return (found.group(1), int(found.group(2)))


def _event(row: tuple[Any, ...]) -> OutboxEvent:
    xid, seq, event_id, kind, version, occurred_at, data = row
    return OutboxEvent(
        id=event_id,
        type=kind,
        version=version,
        program="",
        occurred_at=occurred_at,
        data=json.loads(data),
        cursor=f"{xid}:{seq}",
    )


class OutboxRows:
    """The outbox part of a unit of work; mixed into the adapter's unit."""

    _db: psycopg.Connection[Any]
    _program: str
    _s: str
    _outbox_distributed: bool  # pk_outbox is a Citus distributed table (see the notes above)

    if TYPE_CHECKING:

        def _one(self, sql: str, *args: object) -> tuple[Any, ...] | None: ...

        def _all(self, sql: str, *args: object) -> list[tuple[Any, ...]]: ...

        def _settle(self) -> None: ...

    def append_events(self, events: Sequence[NewEvent]) -> int:
        cursors = insert_rows(
            self._db,
            f"INSERT INTO {self._s}.pk_outbox (program_id, event_id, type, version, "
            "occurred_at, data) VALUES",
            [
                (self._program, event.id, event.type, event.version, event.occurred_at,
                 event.body())
                for event in events
            ],
            " ON CONFLICT (program_id, event_id) DO NOTHING",
        )  # fmt: skip
        self._settle()  # a row count is known once the rows are answered
        return sum(max(cursor.rowcount, 0) for cursor in cursors)

    def events_after(self, position: str, limit: int) -> Sequence[OutboxEvent]:
        xid, seq = _position(position)
        horizon = "pg_snapshot_xmin(pg_current_snapshot())"
        arguments: tuple[object, ...] = (xid, seq, limit)
        if self._outbox_distributed:
            row = self._db.execute(f"SELECT {horizon}::text").fetchone()
            horizon, arguments = "%s::xid8", (xid, seq, None if row is None else row[0], limit)
        rows = self._all(
            f"SELECT {_COLUMNS} FROM {{s}}.pk_outbox WHERE program_id = %s "
            f"AND (xid, seq) > (%s::xid8, %s) AND xid < {horizon} "
            "ORDER BY xid, seq LIMIT %s",
            *arguments,
        )
        return [_event(row) for row in rows]

    def all_events(self) -> Sequence[OutboxEvent]:
        rows = self._all(
            f"SELECT {_COLUMNS} FROM {{s}}.pk_outbox WHERE program_id = %s ORDER BY xid, seq"
        )
        return [_event(row) for row in rows]

    def outbox_position(self, consumer: str) -> str:
        row = self._one(
            "SELECT xid::text, seq FROM {s}.pk_outbox_consumer "
            "WHERE program_id = %s AND consumer = %s",
            consumer,
        )
        return "" if row is None else f"{row[0]}:{row[1]}"

    def set_outbox_position(self, consumer: str, position: str) -> None:
        xid, seq = _position(position)
        self._db.execute(
            f"INSERT INTO {self._s}.pk_outbox_consumer (program_id, consumer, xid, seq) "
            "VALUES (%s, %s, %s::xid8, %s) ON CONFLICT (program_id, consumer) DO UPDATE "
            "SET xid = excluded.xid, seq = excluded.seq "
            f"WHERE (excluded.xid, excluded.seq) > ({self._s}.pk_outbox_consumer.xid, "
            f"{self._s}.pk_outbox_consumer.seq)",
            (self._program, consumer, xid, seq),
        )

    def add_dead_letter(self, consumer: str, event: OutboxEvent, reason: str, at: datetime) -> None:
        self._db.execute(
            f"INSERT INTO {self._s}.pk_outbox_dead (program_id, consumer, event_id, reason, at) "
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
            (self._program, consumer, event.id, reason, at),
        )

    def dead_letters(self, consumer: str) -> Sequence[tuple[OutboxEvent, str]]:
        columns = ", ".join(f"o.{column.strip()}" for column in _COLUMNS.split(","))
        rows = self._all(
            f"SELECT {columns}, d.reason "
            "FROM {s}.pk_outbox_dead AS d JOIN {s}.pk_outbox AS o ON o.program_id = "
            "d.program_id AND o.event_id = d.event_id WHERE d.program_id = %s "
            "AND d.consumer = %s ORDER BY d.at, o.xid, o.seq",
            consumer,
        )
        return [(_event(row[:7]), str(row[7])) for row in rows]

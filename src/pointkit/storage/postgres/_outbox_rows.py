"""The PostgreSQL adapter's outbox part: events, consumers' positions and dead letters.

Sequence numbers are handed out at insert, not at commit, so a position is ``xid:seq``: the id
of the transaction that wrote the event, then its number. Readers take events below the oldest
transaction still running (``pg_snapshot_xmin``), in that order: every unit that could still
commit has a larger transaction id, so nothing can appear behind a consumer's position.

On Citus (``pk_outbox`` distributed), the coordinator fills in ``xid`` — the id of its own
transaction — but runs the read on a worker, whose snapshot knows nothing of the coordinator's
ids. So there the horizon is read first, on the coordinator, and passed to the read. It holds
for a unit that writes to one worker: Citus commits it on the worker before its coordinator
transaction ends. Distributed by program, every unit does.

Distributed by member, a unit that touches members on two workers commits in two phases: the
workers prepare, the coordinator commits, then the workers commit what they prepared. Between
the last two its events are invisible though its id is below the horizon. So there the read
also lists the transactions prepared on the workers after it takes the horizon, and waits until
those are gone: any unit below the horizon had prepared by then, and has now committed.
"""

from __future__ import annotations

import json
import re
import time
from typing import TYPE_CHECKING, Any, Final

from pointkit.exceptions import InvalidArgumentError, TransientStorageError
from pointkit.ledger._outbox import OutboxEvent
from pointkit.storage.postgres._inserts import insert_rows


if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    import psycopg

    from pointkit.ledger._outbox import NewEvent


__all__ = ["OutboxRows", "event_member", "event_rows"]

_COLUMNS = "xid::text, seq, event_id, type, version, occurred_at, data"
_POSITION: Final = re.compile(r"(\d{1,20}):(\d{1,19})\Z")
_PREPARED_WAIT_SECONDS: Final = 10.0


def _position(position: str) -> tuple[str, int]:
    if position == "":
        return ("0", 0)
    found = _POSITION.match(position)
    if found is None:
        raise InvalidArgumentError(
            f"cursor={position!r} is not a position of this storage (a batch's cursor is)"
        )
    return (found.group(1), int(found.group(2)))


def event_member(event: NewEvent) -> str:
    """The member an event is stored with: the one it names, or the first of its wallets'.

    ``""`` for an event that names none. A transaction's event names its wallets, the first
    of which (in code-point order) is the member the transaction is stored with
    (``_rows.owner``): in the schema distributed by member, the event is on the same shard.
    """
    data = event.data
    member = data.get("member")
    if isinstance(member, str):
        return member
    wallets = data.get("wallets")
    if isinstance(wallets, list):
        return min(
            (str(w["member"]) for w in wallets if isinstance(w, dict) and "member" in w),
            default="",
        )
    return ""


def event_rows(
    schema: str, program: str, events: Sequence[NewEvent]
) -> tuple[str, list[tuple[object, ...]], str]:
    """The insert of *events*, as ``insert_rows`` takes it: (head, rows, tail)."""
    return (
        (
            f"INSERT INTO {schema}.pk_outbox (program_id, member, event_id, type, version, "
            "occurred_at, data) VALUES"
        ),
        [
            (program, event_member(event), event.id, event.type, event.version,
             event.occurred_at, event.body())
            for event in events
        ],
        # A stored event's id is taken: (program_id, event_id) here, (program_id, member,
        # event_id) in the schema distributed by member.
        " ON CONFLICT DO NOTHING",
    )  # fmt: skip


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
    _by_member: bool  # ... distributed by member

    if TYPE_CHECKING:

        def _one(self, sql: str, *args: object) -> tuple[Any, ...] | None: ...

        def _all(self, sql: str, *args: object) -> list[tuple[Any, ...]]: ...

        def _settle(self) -> None: ...

    def append_events(self, events: Sequence[NewEvent]) -> int:
        cursors = insert_rows(self._db, *event_rows(self._s, self._program, events))
        self._settle()  # a row count is known once the rows are answered
        return sum(max(cursor.rowcount, 0) for cursor in cursors)

    def events_after(self, position: str, limit: int) -> Sequence[OutboxEvent]:
        xid, seq = _position(position)
        horizon = "pg_snapshot_xmin(pg_current_snapshot())"
        arguments: tuple[object, ...] = (xid, seq, limit)
        if self._outbox_distributed:
            row = self._db.execute(f"SELECT {horizon}::text").fetchone()
            horizon, arguments = "%s::xid8", (xid, seq, None if row is None else row[0], limit)
            if self._by_member:
                self._wait_for_prepared()
        rows = self._all(
            f"SELECT {_COLUMNS} FROM {{s}}.pk_outbox WHERE program_id = %s "
            f"AND (xid, seq) > (%s::xid8, %s) AND xid < {horizon} "
            "ORDER BY xid, seq LIMIT %s",
            *arguments,
        )
        return [_event(row) for row in rows]

    def _wait_for_prepared(self) -> None:
        """Wait until the transactions prepared on the workers now have ended (see the notes).

        Raises:
            TransientStorageError: If one is still prepared after ``_PREPARED_WAIT_SECONDS``
                (a worker that cannot commit: Citus's recovery resolves it).
        """
        prepared = self._prepared()
        deadline = time.monotonic() + _PREPARED_WAIT_SECONDS
        pause = 0.001
        while prepared:
            if time.monotonic() > deadline:
                raise TransientStorageError(
                    f"{len(prepared)} distributed transaction(s) stayed prepared on the workers "
                    f"for {_PREPARED_WAIT_SECONDS} s; the outbox waits for them"
                )
            time.sleep(pause)
            pause = min(pause * 2, 0.05)
            prepared &= self._prepared()

    def _prepared(self) -> set[str]:
        """The ids of the transactions prepared on every worker now (Citus's ``gid``s)."""
        rows = self._db.execute(
            "SELECT nodename, nodeport, result FROM run_command_on_workers("
            "$$SELECT string_agg(gid, ',') FROM pg_prepared_xacts$$) WHERE success"
        ).fetchall()
        return {
            f"{host}:{port}:{gid}"
            for host, port, result in rows
            for gid in (result or "").split(",")
            if gid
        }

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
        # The consumer's dead letters first (MATERIALIZED): distributed by member, the events
        # are on the members' shards and the dead letters on the program's.
        rows = self._all(
            "WITH d AS MATERIALIZED (SELECT event_id, reason, at FROM {s}.pk_outbox_dead "
            f"WHERE program_id = %s AND consumer = %s) SELECT {columns}, d.reason "
            "FROM d JOIN {s}.pk_outbox AS o ON o.program_id = %s AND o.event_id = d.event_id "
            "ORDER BY d.at, o.xid, o.seq",
            consumer,
            self._program,
        )
        return [(_event(row[:7]), str(row[7])) for row in rows]

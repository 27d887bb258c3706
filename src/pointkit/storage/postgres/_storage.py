"""PostgreSQL storage: for production, and for points that commit with the host's own rows.

Install with ``pip install pointkit[postgres]`` (psycopg 3).

Maintainer's notes
------------------
Concurrency is pessimistic row locking in sorted order, as the research measured best: a unit
locks the member wallets it touches in key order, so two units never wait on each other in a
cycle. The lock is ``FOR NO KEY UPDATE`` (what a plain UPDATE of non-key columns takes) rather
than ``FOR UPDATE``, which conflicts with the ``KEY SHARE`` locks foreign keys take and was
measured to deadlock. One statement creates the wallets that do not exist yet and locks those
that do (``INSERT ... ON CONFLICT DO UPDATE ... WHERE false``, see ``_locking``): two first
credits to a new member queue instead of colliding. Optimistic versioning is not used as the
write guard: on a hot member it collapses (measured 155 postings/s against 2,000 with row
locks); the ``version`` column is kept as a pair assertion on every write.

A ledger command is two round trips on pointkit's connections: ``lock_for`` sends BEGIN, the
lock, and one read of the wallets, the key and, for a command that spends, the first page of
open lots, all in one pipeline; ``apply_with_events`` queues the writes, which go with the
COMMIT: on one server every table's rows, the events and the wallets' UPDATE in one statement
(``_writes``), five statements for an earn whatever a batch holds; on a distributed schema one
statement per table, ten. The wallet UPDATE's pair assertion therefore fails inside the
database (a cast that cannot succeed), so that the COMMIT sent with it fails too. Feature code
reads with fetches, which wait for the answers; where it needs a row count it calls
``_settle`` first.

System accounts (issuance, redemption, expired, ...) have no row: their balances are sums of
postings, so no single row serialises the program's writers.

Every primary and unique key starts with ``program_id`` and every id is a client-generated
128-bit value, so the schema can be distributed by program with Citus, or moved to CockroachDB
or YugabyteDB; see docs/scaling.md. Transient failures (serialization, deadlock, a lost
connection) surface as :class:`~pointkit.exceptions.TransientStorageError`, which the ledger
retries with the same idempotency key: a command that did commit is then replayed, not redone.

Three ways to connect (``_connections`` keeps them):

* ``PostgresStorage(conninfo)``: pointkit keeps a ``psycopg_pool.ConnectionPool`` and commits
  each command itself;
* ``PostgresStorage(pool=pool)``: the same on the host's pool;
* ``PostgresStorage(connection=conn)``: pointkit works inside the host's psycopg connection and
  transaction. Each command runs in a savepoint; nothing is committed until the host commits,
  and a host rollback takes the points back with the host's own rows.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import UTC
from typing import TYPE_CHECKING, Any, Final, final

import attrs

from pointkit._values import MemberId
from pointkit.exceptions import (
    InvalidArgumentError,
    SchemaVersionError,
)
from pointkit.ledger._codec import (
    checked_wallet,
    decode_transaction,
)
from pointkit.ledger._observe import unit_of_work
from pointkit.ledger._outbox import event_id
from pointkit.ledger._records import (
    Hold,
    HoldId,
    Lot,
    LotId,
    Phase,
    TransactionId,
)
from pointkit.ledger._storage import Locked, WalletState
from pointkit.storage.postgres._citus import distribution_column
from pointkit.storage.postgres._connections import Connections
from pointkit.storage.postgres._expiry_rows import ExpiryRows
from pointkit.storage.postgres._feature_rows import FeatureRows
from pointkit.storage.postgres._locking import LockedRead, send_lock
from pointkit.storage.postgres._outbox_rows import OutboxRows
from pointkit.storage.postgres._report_rows import ReportRows
from pointkit.storage.postgres._rows import (
    ENTRY_OF_WALLET,
    HOLD_COLUMNS,
    LOT_COLUMNS,
    WALLET_WITH_ENTRY,
    hold_from,
    lot_from,
    only_row,
    several_members,
    spending_order,
    transaction_from,
    wallet_from,
)
from pointkit.storage.postgres._schema import (
    SCHEMA_VERSION,
    newer_error,
    quoted,
    run_migrations,
    stored_version,
)
from pointkit.storage.postgres._writes import batch_rows, send_batch


if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from contextlib import AbstractContextManager
    from datetime import datetime

    import psycopg
    from psycopg_pool import ConnectionPool

    from pointkit._values import ProgramId
    from pointkit.ledger._outbox import NewEvent
    from pointkit.ledger._records import AccountId, Transaction
    from pointkit.ledger._storage import Plan, WalletKey


__all__ = ["SCHEMA_VERSION", "PostgresStorage"]

_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}\Z")
_PAGE: Final = 128
_INFINITY: Final = "infinity"


# The first page of a wallet's open lots, in spending order.
_OPEN_LOTS: Final = (
    f"SELECT {LOT_COLUMNS} FROM {{s}}.pk_lot WHERE program_id = %s AND member = %s "
    f"AND currency = %s AND remaining > 0 ORDER BY {spending_order()} LIMIT %s"
)
# The next page, after the last lot of the one before (keyset).
_NEXT_OPEN_LOTS: Final = (
    f"SELECT {LOT_COLUMNS} FROM {{s}}.pk_lot WHERE program_id = %s AND member = %s "
    f"AND currency = %s AND remaining > 0 AND ({spending_order()}) "
    "> (COALESCE(%s::timestamptz, 'infinity'), %s, %s) "
    f"ORDER BY {spending_order()} LIMIT %s"
)


@final
class _PostgresUnit(ExpiryRows, FeatureRows, OutboxRows, ReportRows):
    """A unit of work on one connection inside an open transaction (or savepoint).

    With *pipeline* (pointkit's connections), the connection is in pipeline mode for the whole
    transaction: a statement is sent at once and its answer waited for only when its rows are
    fetched, so writes that fetch nothing go to the server with the COMMIT. Without it (the
    host's connection), each batch of statements is answered before the call returns.
    """

    def __init__(
        self,
        connection: psycopg.Connection[Any],
        schema: str,
        program: ProgramId,
        *,
        pipeline: psycopg.Pipeline | None = None,
        outbox_distributed: bool = False,
        by_member: bool = False,
        together: bool = False,
    ) -> None:
        self._db = connection
        self._s = schema
        self._program = str(program)
        self._pipeline = pipeline
        self._outbox_distributed = outbox_distributed
        # The schema is distributed by member: idempotency keys are unique per member.
        self._by_member = by_member
        # One server (not distributed): apply_batch writes its tables in one statement (see
        # _writes), and reads by key are a lookup per key (see _locking, _feature_rows).
        self._together = together
        # The wallets lock_for has locked in this unit: a later command on them in the same
        # unit (a feature's several steps) reads them without sending the lock again.
        self._locked: set[WalletKey] = set()
        # The first page of open lots of each wallet lock_for read, until the next write or
        # lock: what open_lots serves before it reads further.
        self._prefetched: dict[WalletKey, list[Lot]] = {}
        # The ids of the transactions this unit wrote: their events are new, as they are.
        self._written: set[str] = set()
        self._counting = True

    def _settle(self) -> None:
        """Send what is queued and wait for every answer: a row count needs them (pipeline)."""
        if self._pipeline is not None and self._counting:
            self._pipeline.sync()

    def append_events(self, events: Sequence[NewEvent]) -> int:
        # The events that report transactions this unit wrote are new, as those transactions
        # are (a transaction id is pk_txn's key): their count is known without waiting, and
        # they go to the server with the COMMIT.
        if self._pipeline is None or not events or not all(map(self._reports_written, events)):
            return super().append_events(events)
        self._counting = False
        try:
            super().append_events(events)
        finally:
            self._counting = True
        return len(events)

    def _reports_written(self, event: NewEvent) -> bool:
        source = event.data.get("transaction")
        return source in self._written and event.id == event_id(event.type, str(source))

    @contextmanager
    def _batch(self) -> Iterator[None]:
        """Statements sent together: answered when the block ends, or with the COMMIT (pipeline)."""
        if self._pipeline is not None:
            yield
            return
        with self._db.pipeline():
            yield

    def _one(self, sql: str, *args: object) -> tuple[Any, ...] | None:
        return self._db.execute(sql.format(s=self._s), (self._program, *args)).fetchone()

    def _all(self, sql: str, *args: object) -> list[tuple[Any, ...]]:
        return self._db.execute(sql.format(s=self._s), (self._program, *args)).fetchall()

    # -- reads -----------------------------------------------------------------------------

    def transaction(self, transaction_id: TransactionId) -> Transaction | None:
        rows = self._all(
            "SELECT body, checksum FROM {s}.pk_txn WHERE program_id = %s AND txn_id = %s LIMIT 2",
            transaction_id,
        )
        return transaction_from(only_row(rows, f"transaction id {transaction_id}"))

    def transaction_by_key(self, key: str) -> Transaction | None:
        rows = self._all(
            "SELECT idem_key, body, checksum FROM {s}.pk_txn WHERE program_id = %s "
            "AND idem_key = %s LIMIT 2",
            key,
        )
        return _by_key(rows).get(key)

    def reversals_of(self, transaction_id: TransactionId) -> Sequence[Transaction]:
        rows = self._all(
            "SELECT body, checksum FROM {s}.pk_txn WHERE program_id = %s AND reverses = %s",
            transaction_id,
        )
        return [decode_transaction(body, digest) for body, digest in rows]

    def hold(self, hold_id: HoldId) -> Hold | None:
        rows = self._all(
            f"SELECT {HOLD_COLUMNS} FROM {{s}}.pk_hold WHERE program_id = %s AND hold_id = %s "
            "LIMIT 2",
            hold_id,
        )
        row = only_row(rows, f"hold id {hold_id}")
        return None if row is None else hold_from(row)

    def _wallet_row(self, member: MemberId, currency: str) -> WalletState:
        row = self._one(
            f"SELECT {WALLET_WITH_ENTRY} FROM {{s}}.pk_wallet AS w {ENTRY_OF_WALLET}"
            "WHERE w.program_id = %s AND w.member = %s AND w.currency = %s AND w.version > 0",
            str(member),
            currency,
        )
        return WalletState(member, currency) if row is None else wallet_from(row)

    def wallet(self, member: MemberId, currency: str) -> WalletState:
        # One statement, so the row and its lots come from one snapshot even under READ
        # COMMITTED (a host's transaction): the ledger checks them against each other.
        lot_columns = ", ".join(f"l.{column.strip()}" for column in LOT_COLUMNS.split(","))
        rows = self._all(
            f"SELECT w.version, w.posted, w.held, w.debt, e.posted, e.held, e.debt, {lot_columns} "
            "FROM (SELECT 1) AS one "
            "LEFT JOIN {s}.pk_wallet AS w ON w.program_id = %s AND w.member = %s "
            f"AND w.currency = %s AND w.version > 0 {ENTRY_OF_WALLET}"
            "LEFT JOIN {s}.pk_lot AS l ON l.program_id = %s AND l.member = %s "
            f"AND l.currency = %s AND l.remaining > 0 ORDER BY {spending_order('l.')}",
            str(member),
            currency,
            self._program,
            str(member),
            currency,
        )
        version, posted, held, debt, *entry = rows[0][:7]
        lots = tuple(lot_from(row[7:]) for row in rows if row[7] is not None)
        if version is None:
            return WalletState(member, currency, lots=lots)
        state = checked_wallet(
            WalletState(member, currency, version, posted, held, debt),
            (entry[0], entry[1], entry[2]),
        )
        return attrs.evolve(state, lots=lots)

    def open_lots(self, member: MemberId, currency: str) -> Iterator[Lot]:
        # Keyset pages in spending order; a walk that stops early reads one page. The first
        # page may have come with the locks (lock_for).
        page = self._prefetched.get((member, currency))
        after: tuple[object, ...] | None = None
        while True:
            if page is not None:
                lots, page = page, None
            elif after is None:
                lots = [
                    lot_from(row) for row in self._all(_OPEN_LOTS, str(member), currency, _PAGE)
                ]
            else:
                rows = self._all(
                    _NEXT_OPEN_LOTS,
                    str(member),
                    currency,
                    *after,
                    _PAGE,
                )
                lots = [lot_from(row) for row in rows]
            yield from lots
            if len(lots) < _PAGE:
                return
            last = lots[-1]
            after = (last.expires_at, last.available_at, last.id)

    def lots(self, lot_ids: Sequence[LotId]) -> Sequence[Lot]:
        if not lot_ids:
            return []
        rows = self._all(
            f"SELECT {LOT_COLUMNS} FROM {{s}}.pk_lot WHERE program_id = %s AND lot_id = ANY(%s)",
            list(lot_ids),
        )
        return [lot_from(row) for row in rows]

    def wallet_lots(self, member: MemberId, currency: str) -> Sequence[Lot]:
        rows = self._all(
            f"SELECT {LOT_COLUMNS} FROM {{s}}.pk_lot WHERE program_id = %s AND member = %s "
            f"AND currency = %s ORDER BY {spending_order()}",
            str(member),
            currency,
        )
        return [lot_from(row) for row in rows]

    def wallet_history(
        self, member: MemberId, currency: str, *, after_version: int, limit: int
    ) -> Sequence[Transaction]:
        rows = self._all(
            "SELECT t.body, t.checksum FROM {s}.pk_entry AS e JOIN {s}.pk_txn AS t "
            "ON t.program_id = e.program_id AND t.txn_id = e.txn_id "
            "WHERE e.program_id = %s AND e.member = %s AND e.currency = %s AND e.version > %s "
            "ORDER BY e.version LIMIT %s",
            str(member),
            currency,
            after_version,
            limit,
        )
        return [decode_transaction(body, digest) for body, digest in rows]

    def due_holds(self, now: datetime, limit: int) -> Sequence[Hold]:
        rows = self._all(
            f"SELECT {HOLD_COLUMNS} FROM {{s}}.pk_hold WHERE program_id = %s "
            "AND status = 'open' AND expires_at <= %s ORDER BY expires_at, hold_id LIMIT %s",
            now,
            limit,
        )
        return [hold_from(row) for row in rows]

    def due_lots(self, now: datetime, limit: int) -> Sequence[Lot]:
        rows = self._all(
            f"SELECT {LOT_COLUMNS} FROM {{s}}.pk_lot WHERE program_id = %s "
            "AND remaining > held AND expires_at IS NOT NULL AND expires_at <= %s "
            "ORDER BY expires_at, lot_id LIMIT %s",
            now,
            limit,
        )
        return [lot_from(row) for row in rows]

    def expiring(
        self,
        currency: str,
        start: datetime,
        end: datetime,
        *,
        after: tuple[datetime, MemberId] | None,
        limit: int,
    ) -> Sequence[tuple[datetime, MemberId, int]]:
        cursor = (start, "") if after is None else (after[0], str(after[1]))
        rows = self._all(
            "SELECT expires_at, member, SUM(remaining - held) FROM {s}.pk_lot "
            "WHERE program_id = %s AND currency = %s AND remaining > held "
            "AND expires_at > %s AND expires_at <= %s "
            # Members in code-point order (COLLATE "C"), as the other adapters sort them.
            'AND (expires_at, member COLLATE "C") > (%s::timestamptz, %s::text) '
            'GROUP BY expires_at, member ORDER BY expires_at, member COLLATE "C" LIMIT %s',
            currency,
            start,
            end,
            *cursor,
            limit,
        )
        return [(at.astimezone(UTC), MemberId(member), int(points)) for at, member, points in rows]

    def system_balance(self, account: AccountId) -> tuple[int, int]:
        rows = self._all(
            "SELECT phase, SUM(amount) FROM {s}.pk_posting WHERE program_id = %s "
            "AND account_kind = %s AND currency = %s GROUP BY phase",
            account.kind.value,
            account.currency,
        )
        sums = {phase: int(total) for phase, total in rows}
        return (sums.get(Phase.POSTED.value, 0), sums.get(Phase.PENDING.value, 0))

    def all_transactions(self) -> Iterator[Transaction]:
        rows = self._all("SELECT body, checksum FROM {s}.pk_txn WHERE program_id = %s")
        return (decode_transaction(body, digest) for body, digest in rows)

    def all_wallets(self) -> Iterator[WalletState]:
        rows = self._all(
            "SELECT member, currency, version, posted, held, debt FROM {s}.pk_wallet "
            "WHERE program_id = %s AND version > 0"
        )
        return (wallet_from(row) for row in rows)

    def all_lots(self) -> Iterator[Lot]:
        rows = self._all(f"SELECT {LOT_COLUMNS} FROM {{s}}.pk_lot WHERE program_id = %s")
        return (lot_from(row) for row in rows)

    def all_holds(self) -> Iterator[Hold]:
        rows = self._all(f"SELECT {HOLD_COLUMNS} FROM {{s}}.pk_hold WHERE program_id = %s")
        return (hold_from(row) for row in rows)

    # -- writes ----------------------------------------------------------------------------

    def lock_wallets(self, keys: Sequence[WalletKey]) -> dict[WalletKey, WalletState]:
        return dict(self.lock_for(keys, (), spending=False).wallets)

    def transactions_by_keys(self, keys: Sequence[str]) -> dict[str, Transaction]:
        """The transactions recorded under any of *keys*, by key: one statement."""
        rows = self._all(
            "SELECT idem_key, body, checksum FROM {s}.pk_txn WHERE program_id = %s "
            "AND idem_key = ANY(%s)",
            list(keys),
        )
        return _by_key(rows)

    def lock_for(
        self,
        keys: Sequence[WalletKey],
        idempotency_keys: Sequence[str],
        *,
        spending: bool,
        lot_ids: Sequence[LotId] = (),
    ) -> Locked:
        """Lock the wallets and read what the command needs under the locks: one round trip.

        Two statements (``_locking``), the lock left out when this unit holds every lock
        already; on pointkit's connections the transaction's BEGIN goes in the same round trip.
        """
        self._prefetched = {}
        ordered = sorted(set(keys))
        # A wallet this unit locked stays locked (and exists) until it ends.
        unlocked = [key for key in ordered if key not in self._locked]
        with self._batch():
            if unlocked:
                send_lock(self._db, self._s, self._program, unlocked)
                self._locked.update(unlocked)
            read = LockedRead(
                self._db,
                self._s,
                self._program,
                ordered,
                idempotency_keys,
                lot_ids,
                page=_PAGE if spending else None,
                by_member=self._by_member,
                distributed=not self._together,
            )
        locked, self._prefetched = read.result()
        return locked

    def apply(self, plan: Plan) -> None:
        self.apply_batch([plan])

    def apply_batch(self, plans: Sequence[Plan]) -> None:
        """Write many plans set-based: one statement (one per table distributed), queued."""
        self._write(plans, ())

    def apply_with_events(self, plans: Sequence[Plan], events: Sequence[NewEvent]) -> None:
        """Write *plans* and the outbox *events* that report them: one statement on one server.

        What ``apply_batch`` then ``append_events`` write (the ledger's ``apply_plans`` calls
        this instead when a unit's class has it).
        """
        if not self._together:
            self.apply_batch(plans)
            self.append_events(events)
            return
        self._write(plans, events)

    def _write(self, plans: Sequence[Plan], events: Sequence[NewEvent]) -> None:
        """Write *plans* (with *events* in the same statement on one server): see ``_writes``."""
        self._prefetched = {}
        self._written.update(str(plan.transaction.id) for plan in plans)
        rows = batch_rows(self._program, plans)
        # Everything in one round trip (pipeline mode); on pointkit's connections nothing
        # here waits: the round trip is the COMMIT's.
        with self._batch():
            left = send_batch(
                self._db, self._s, self._program, rows, events, together=self._together
            )
        if left:
            self.append_events(left)


def _by_key(rows: Sequence[tuple[Any, ...]]) -> dict[str, Transaction]:
    """Transactions by idempotency key, from ``(idem_key, body, checksum)`` rows.

    Raises:
        InvariantViolation: If a key was recorded for two members (see ``only_row``).
    """
    found: dict[str, Transaction] = {}
    for key, body, digest in rows:
        if key in found:
            raise several_members(f"idempotency key {key!r}")
        found[key] = decode_transaction(body, digest)
    return found


def _check_schema(connection: psycopg.Connection[Any], schema: str) -> None:
    version = stored_version(connection, schema)
    if version is None or version < SCHEMA_VERSION:
        raise SchemaVersionError(
            f"schema {schema!r} has pointkit schema version {version or 0}, this "
            f"pointkit needs {SCHEMA_VERSION}; run `pointkit migrate --dsn DSN` or "
            "PostgresStorage.migrate()"
        )
    if version > SCHEMA_VERSION:
        raise newer_error(version)


def _check_schema_name(schema: object) -> str:
    if not isinstance(schema, str) or not _SCHEMA_NAME.match(schema):
        raise InvalidArgumentError(
            f"schema={schema!r} must be a lower-case SQL identifier (letters, digits, _)"
        )
    return schema


@final
class PostgresStorage:
    """Storage in PostgreSQL, through psycopg 3.

    Args:
        conninfo: A libpq connection string (``"host=... dbname=... user=..."`` or a URL);
            pointkit then keeps a pool of connections (``psycopg_pool``) shared by every
            thread, and commits each command itself.
        pool: Instead of *conninfo*: the host's ``psycopg_pool.ConnectionPool``, which
            pointkit borrows a connection from per unit of work and never closes.
        connection: Instead of either: the host's own psycopg connection. Each command runs
            in a savepoint of the host's current transaction and commits or rolls back with
            it. Use the storage only from the thread that owns the connection.
        schema: The PostgreSQL schema holding pointkit's tables (``"pointkit"`` by default).
        migrate: Create or upgrade the schema on open. Off by default for PostgreSQL: schema
            changes are deployments, made with ``pointkit migrate --dsn ...`` or
            :meth:`migrate`.
        max_connections: The most connections pointkit's own pool opens (10 by default); a
            unit of work waits for a free one.
        wait_seconds: How long a unit waits for a free connection before it fails with
            :class:`~pointkit.exceptions.TransientStorageError` (30 s by default).
        lock_timeout_seconds: How long a command waits for a member's wallet lock before it
            fails with :class:`~pointkit.exceptions.TransientStorageError` (and the ledger
            retries it). Set per transaction (``SET LOCAL``), so it holds on Citus workers too;
            ``None`` (the default) keeps the server's ``lock_timeout``. On the host's
            connection the host's own setting applies.

    Raises:
        InvalidArgumentError: If not exactly one of *conninfo*, *pool* and *connection* is
            given, or *schema* is not a plain identifier.
        SchemaVersionError: If the schema is missing or older (and *migrate* is off), or newer
            than this pointkit.
        StorageError: If the database cannot be reached.
    """

    def __init__(
        self,
        conninfo: str | None = None,
        *,
        pool: ConnectionPool[Any] | None = None,
        connection: psycopg.Connection[Any] | None = None,
        schema: str = "pointkit",
        migrate: bool = False,
        max_connections: int = 10,
        wait_seconds: float = 30.0,
        lock_timeout_seconds: float | None = None,
    ) -> None:
        self._connections = Connections(
            conninfo=conninfo,
            pool=pool,
            connection=connection,
            max_connections=max_connections,
            wait_seconds=wait_seconds,
            lock_timeout_seconds=lock_timeout_seconds,
        )
        self._schema = _check_schema_name(schema)
        with self._connections.direct() as direct:
            if migrate:
                run_migrations(direct, self._schema)
            else:
                _check_schema(direct, self._schema)
            # On Citus (the schema distributed before the storage opens), the outbox reads
            # its horizon on the coordinator; distributed by member, a command looks up its
            # idempotency keys among its members' transactions.
            self._outbox_distributed = (
                distribution_column(direct, self._schema, "pk_outbox") is not None
            )
            self._by_member = distribution_column(direct, self._schema, "pk_wallet") == "member"
            # A distributed schema gets its writes one statement per table (see _writes).
            self._distributed = self._outbox_distributed or self._by_member
        self._connections.open()

    def __repr__(self) -> str:
        return f"PostgresStorage(schema={self._schema!r}, {self._connections.describe()})"

    @property
    def idempotency_scope(self) -> str:
        """Where an idempotency key is unique: ``"program"``, or ``"member"``.

        Keys are unique per member when the schema is distributed by member
        (``citus_distribution(by="member")``, see docs/scaling.md).
        """
        return "member" if self._by_member else "program"

    @property
    def schema(self) -> str:
        """The PostgreSQL schema holding pointkit's tables."""
        return self._schema

    def migrate(self) -> int:
        """Create or upgrade the schema; return the schema version now in the database.

        Raises:
            SchemaVersionError: If the database's schema is newer than this pointkit.
        """
        with self._connections.transaction() as connection:
            return run_migrations(connection, self._schema)

    def schema_version(self) -> int | None:
        """The schema's pointkit version, or ``None`` if it has no pointkit tables."""
        with self._connections.transaction() as connection:
            return stored_version(connection, self._schema)

    @contextmanager
    def _unit(self, program: ProgramId, *, snapshot: bool) -> Iterator[_PostgresUnit]:
        schema = quoted(self._schema)
        if self._connections.host_connection:
            # A savepoint in the host's transaction: each batch of statements is answered
            # at once, as the host's own statements around it expect.
            with self._connections.transaction(snapshot=snapshot) as connection:
                yield _PostgresUnit(
                    connection,
                    schema,
                    program,
                    outbox_distributed=self._outbox_distributed,
                    by_member=self._by_member,
                    together=not self._distributed,
                )
            return
        with self._connections.pipelined(snapshot=snapshot) as (connection, pipeline):
            yield _PostgresUnit(
                connection,
                schema,
                program,
                pipeline=pipeline,
                outbox_distributed=self._outbox_distributed,
                by_member=self._by_member,
                together=not self._distributed,
            )

    @unit_of_work("postgres", "read")
    def reading(self, program: ProgramId) -> AbstractContextManager[_PostgresUnit]:
        """Begin a read of *program*'s ledger.

        On pointkit's connections it is one snapshot (REPEATABLE READ); inside the host's
        transaction it has the host's isolation.
        """
        return self._unit(program, snapshot=True)

    @unit_of_work("postgres", "write")
    def writing(self, program: ProgramId) -> AbstractContextManager[_PostgresUnit]:
        """Begin a unit of work on *program*'s ledger."""
        return self._unit(program, snapshot=False)

    def close(self) -> None:
        """Close the pool pointkit opened (never the host's pool or connection)."""
        self._connections.close()

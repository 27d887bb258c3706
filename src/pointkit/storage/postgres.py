"""PostgreSQL storage: for production, and for points that commit with the host's own rows.

Install with ``pip install pointkit[postgres]`` (psycopg 3).

Maintainer's notes
------------------
Concurrency is pessimistic row locking in sorted order, as the research measured best: a unit
locks the member wallets it touches with ``SELECT ... FOR NO KEY UPDATE`` ordered by key, so two
units never wait on each other in a cycle. ``FOR NO KEY UPDATE`` (what a plain UPDATE of
non-key columns takes) rather than ``FOR UPDATE``, which conflicts with the ``KEY SHARE`` locks
foreign keys take and was measured to deadlock. A wallet that does not exist yet is inserted
first (``ON CONFLICT DO NOTHING``, sorted too), so that it can be locked: two first credits to a
new member queue instead of colliding. Optimistic versioning is not used as the write guard:
on a hot member it collapses (measured 155 postings/s against 2,000 with row locks); the
``version`` column is kept as a pair assertion on every write.

System accounts (issuance, redemption, expired, ...) have no row: their balances are sums of
postings, so no single row serialises the program's writers.

Every primary and unique key starts with ``program_id`` and every id is a client-generated
128-bit value, so the schema can be distributed by program with Citus, or moved to CockroachDB
or YugabyteDB; see docs/scaling.md. Transient failures (serialization, deadlock, a lost
connection) surface as :class:`~pointkit.exceptions.TransientStorageError`, which the ledger
retries with the same idempotency key: a command that did commit is then replayed, not redone.

Two ways to connect:

* ``PostgresStorage(conninfo)``: pointkit opens one connection per thread and commits each
  command itself.
* ``PostgresStorage(connection=conn)``: pointkit works inside the host's psycopg connection and
  transaction. Each command runs in a savepoint; nothing is committed until the host commits,
  and a host rollback takes the points back with the host's own rows.
"""

from __future__ import annotations

import re
import threading
import weakref
from contextlib import contextmanager
from datetime import UTC
from typing import TYPE_CHECKING, Any, Final, final

import attrs
import psycopg
from psycopg import IsolationLevel
from psycopg import errors as pg_errors

from pointkit._values import MemberId
from pointkit.exceptions import (
    InvalidArgumentError,
    InvariantViolation,
    SchemaVersionError,
    StorageError,
    TransientStorageError,
)
from pointkit.ledger._codec import (
    checked_document,
    checked_hold,
    checked_lot,
    checked_tier,
    checked_tier_change,
    checked_wallet,
    checksum,
    decode_allocations,
    decode_transaction,
    encode_allocations,
    encode_transaction,
)
from pointkit.ledger._records import (
    Hold,
    HoldId,
    HoldStatus,
    Lot,
    LotId,
    Phase,
    TransactionId,
)
from pointkit.ledger._storage import WalletState


if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from contextlib import AbstractContextManager
    from datetime import date, datetime

    from pointkit._values import ProgramId
    from pointkit.ledger._records import AccountId, Transaction
    from pointkit.ledger._storage import CounterKey, Plan, RuleEventRecord, WalletKey
    from pointkit.tiers import TierChange, TierState


__all__ = ["SCHEMA_VERSION", "PostgresStorage"]

SCHEMA_VERSION: Final = 3
"""The schema version this version of pointkit writes and reads."""

_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}\Z")
_PAGE: Final = 128
_INFINITY: Final = "infinity"

_MIGRATIONS: Final[dict[int, str]] = {
    1: """
CREATE TABLE {s}.pk_txn (
    program_id text NOT NULL,
    txn_id uuid NOT NULL,
    idem_key text NOT NULL,
    kind text NOT NULL,
    created_at timestamptz NOT NULL,
    reverses uuid,
    body text NOT NULL,
    checksum bytea NOT NULL,
    PRIMARY KEY (program_id, txn_id),
    UNIQUE (program_id, idem_key)
);
CREATE INDEX pk_txn_reverses ON {s}.pk_txn (program_id, reverses) WHERE reverses IS NOT NULL;
CREATE TABLE {s}.pk_posting (
    program_id text NOT NULL,
    txn_id uuid NOT NULL,
    seq integer NOT NULL,
    account_kind text NOT NULL,
    member text,
    currency text NOT NULL,
    phase text NOT NULL CHECK (phase IN ('posted', 'pending')),
    amount bigint NOT NULL CHECK (amount <> 0),
    created_at timestamptz NOT NULL,
    PRIMARY KEY (program_id, txn_id, seq)
);
CREATE INDEX pk_posting_account ON {s}.pk_posting (program_id, account_kind, currency, phase)
    INCLUDE (amount);
CREATE TABLE {s}.pk_entry (
    program_id text NOT NULL,
    member text NOT NULL,
    currency text NOT NULL,
    version bigint NOT NULL,
    txn_id uuid NOT NULL,
    posted bigint NOT NULL,
    held bigint NOT NULL,
    debt bigint NOT NULL,
    posted_change bigint NOT NULL,
    PRIMARY KEY (program_id, member, currency, version)
);
CREATE TABLE {s}.pk_wallet (
    program_id text NOT NULL,
    member text NOT NULL,
    currency text NOT NULL,
    version bigint NOT NULL CHECK (version >= 0),
    posted bigint NOT NULL,
    held bigint NOT NULL CHECK (held >= 0),
    debt bigint NOT NULL CHECK (debt >= 0),
    PRIMARY KEY (program_id, member, currency)
);
CREATE TABLE {s}.pk_lot (
    program_id text NOT NULL,
    lot_id uuid NOT NULL,
    member text NOT NULL,
    currency text NOT NULL,
    amount bigint NOT NULL CHECK (amount > 0),
    remaining bigint NOT NULL,
    held bigint NOT NULL,
    expired bigint NOT NULL CHECK (expired >= 0),
    earned_at timestamptz NOT NULL,
    available_at timestamptz NOT NULL,
    expires_at timestamptz,
    source uuid NOT NULL,
    PRIMARY KEY (program_id, lot_id),
    CHECK (0 <= held AND held <= remaining),
    CHECK (remaining + expired <= amount)
);
CREATE INDEX pk_lot_open ON {s}.pk_lot
    (program_id, member, currency, COALESCE(expires_at, 'infinity'), available_at, lot_id)
    WHERE remaining > 0;
CREATE INDEX pk_lot_due ON {s}.pk_lot (program_id, expires_at, lot_id)
    WHERE remaining > held AND expires_at IS NOT NULL;
CREATE TABLE {s}.pk_hold (
    program_id text NOT NULL,
    hold_id uuid NOT NULL,
    member text NOT NULL,
    currency text NOT NULL,
    amount bigint NOT NULL CHECK (amount > 0),
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    allocations text NOT NULL,
    status text NOT NULL CHECK (status IN ('open', 'captured', 'released', 'expired')),
    captured bigint NOT NULL,
    resolved_by uuid,
    PRIMARY KEY (program_id, hold_id)
);
CREATE INDEX pk_hold_open ON {s}.pk_hold (program_id, expires_at, hold_id) WHERE status = 'open';
CREATE FUNCTION {s}.pk_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'pointkit: % is append-only', TG_TABLE_NAME USING ERRCODE = 'P0001';
END $$;
CREATE TRIGGER pk_txn_append_only BEFORE UPDATE OR DELETE ON {s}.pk_txn
    FOR EACH ROW EXECUTE FUNCTION {s}.pk_append_only();
CREATE TRIGGER pk_txn_no_truncate BEFORE TRUNCATE ON {s}.pk_txn
    FOR EACH STATEMENT EXECUTE FUNCTION {s}.pk_append_only();
CREATE TRIGGER pk_posting_append_only BEFORE UPDATE OR DELETE ON {s}.pk_posting
    FOR EACH ROW EXECUTE FUNCTION {s}.pk_append_only();
CREATE TRIGGER pk_posting_no_truncate BEFORE TRUNCATE ON {s}.pk_posting
    FOR EACH STATEMENT EXECUTE FUNCTION {s}.pk_append_only();
CREATE TRIGGER pk_entry_append_only BEFORE UPDATE OR DELETE ON {s}.pk_entry
    FOR EACH ROW EXECUTE FUNCTION {s}.pk_append_only();
CREATE TRIGGER pk_entry_no_truncate BEFORE TRUNCATE ON {s}.pk_entry
    FOR EACH STATEMENT EXECUTE FUNCTION {s}.pk_append_only();
CREATE FUNCTION {s}.pk_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM {s}.pk_posting
        WHERE program_id = NEW.program_id AND txn_id = NEW.txn_id
        GROUP BY phase HAVING SUM(amount) <> 0
    ) THEN
        RAISE EXCEPTION 'pointkit: the postings of transaction % must sum to zero', NEW.txn_id
            USING ERRCODE = 'P0001';
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER pk_txn_balanced AFTER INSERT ON {s}.pk_txn
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION {s}.pk_balanced();
""",
    2: """
ALTER TABLE {s}.pk_lot ADD COLUMN follows_activity boolean NOT NULL DEFAULT false;
CREATE INDEX pk_lot_expiring ON {s}.pk_lot (program_id, expires_at, member, currency, lot_id)
    WHERE remaining > 0 AND expires_at IS NOT NULL;
CREATE INDEX pk_posting_member ON {s}.pk_posting (program_id, member, currency, created_at)
    WHERE member IS NOT NULL;
CREATE TABLE {s}.pk_tier (
    program_id text NOT NULL,
    member text NOT NULL,
    version bigint NOT NULL CHECK (version > 0),
    tier text NOT NULL,
    since timestamptz NOT NULL,
    next_review timestamptz,
    grace_until timestamptz,
    never_downgrade boolean NOT NULL,
    PRIMARY KEY (program_id, member)
);
CREATE TABLE {s}.pk_tier_change (
    program_id text NOT NULL,
    member text NOT NULL,
    seq bigint NOT NULL,
    at timestamptz NOT NULL,
    from_tier text,
    to_tier text NOT NULL,
    reason text NOT NULL,
    metric bigint,
    PRIMARY KEY (program_id, member, seq)
);
CREATE TRIGGER pk_tier_change_append_only BEFORE UPDATE OR DELETE ON {s}.pk_tier_change
    FOR EACH ROW EXECUTE FUNCTION {s}.pk_append_only();
CREATE TRIGGER pk_tier_change_no_truncate BEFORE TRUNCATE ON {s}.pk_tier_change
    FOR EACH STATEMENT EXECUTE FUNCTION {s}.pk_append_only();
""",
    3: """
CREATE TABLE {s}.pk_rule_event (
    program_id text NOT NULL,
    event_id text NOT NULL,
    member text NOT NULL,
    kind text NOT NULL,
    at timestamptz NOT NULL,
    decision text NOT NULL,
    checksum bytea NOT NULL,
    PRIMARY KEY (program_id, event_id)
);
CREATE TABLE {s}.pk_counter (
    program_id text NOT NULL,
    member text NOT NULL,
    scope text NOT NULL,
    period text NOT NULL,
    points bigint NOT NULL,
    tasks bigint NOT NULL CHECK (tasks >= 0),
    PRIMARY KEY (program_id, member, scope, period)
);
CREATE TABLE {s}.pk_streak (
    program_id text NOT NULL,
    member text NOT NULL,
    rule text NOT NULL,
    last_day date NOT NULL,
    length integer NOT NULL CHECK (length > 0),
    PRIMARY KEY (program_id, member, rule)
);
CREATE TABLE {s}.pk_budget (
    program_id text NOT NULL,
    name text NOT NULL,
    used bigint NOT NULL CHECK (used >= 0),
    PRIMARY KEY (program_id, name)
);
CREATE TRIGGER pk_rule_event_append_only BEFORE UPDATE OR DELETE ON {s}.pk_rule_event
    FOR EACH ROW EXECUTE FUNCTION {s}.pk_append_only();
CREATE TRIGGER pk_rule_event_no_truncate BEFORE TRUNCATE ON {s}.pk_rule_event
    FOR EACH STATEMENT EXECUTE FUNCTION {s}.pk_append_only();
""",
}

_LOT_COLUMNS = (
    "lot_id, member, currency, amount, remaining, held, expired, earned_at, available_at, "
    "expires_at, source, follows_activity"
)
_HOLD_COLUMNS = (
    "hold_id, member, currency, amount, created_at, expires_at, allocations, status, captured, "
    "resolved_by"
)
_TRANSIENT = (
    pg_errors.SerializationFailure,
    pg_errors.DeadlockDetected,
    pg_errors.LockNotAvailable,
    pg_errors.QueryCanceled,
    psycopg.OperationalError,
)


def _storage_error(error: psycopg.Error) -> StorageError:
    """Translate a psycopg error: serialization, deadlock and lost connections are transient."""
    message = f"PostgreSQL: {error}".strip()
    if isinstance(error, pg_errors.RaiseException) and "pointkit:" in str(error):
        raise InvariantViolation(message) from error
    if isinstance(error, _TRANSIENT):
        return TransientStorageError(message)
    return StorageError(message)


def _lot(row: tuple[Any, ...]) -> Lot:
    (
        lot_id,
        member,
        currency,
        amount,
        remaining,
        held,
        expired,
        earned,
        available,
        expires,
        source,
        follows_activity,
    ) = row
    return checked_lot(
        Lot(
            id=LotId(lot_id),
            member=MemberId(member),
            currency=currency,
            amount=amount,
            remaining=remaining,
            held=held,
            expired=expired,
            earned_at=earned.astimezone(UTC),
            available_at=available.astimezone(UTC),
            expires_at=None if expires is None else expires.astimezone(UTC),
            source=TransactionId(source),
            follows_activity=follows_activity,
        )
    )


def _hold(row: tuple[Any, ...]) -> Hold:
    (
        hold_id,
        member,
        currency,
        amount,
        created,
        expires,
        allocations,
        status,
        captured,
        resolved_by,
    ) = row
    return checked_hold(
        Hold(
            id=HoldId(hold_id),
            member=MemberId(member),
            currency=currency,
            amount=amount,
            created_at=created.astimezone(UTC),
            expires_at=expires.astimezone(UTC),
            allocations=decode_allocations(allocations),
            status=HoldStatus(status),
            captured=captured,
            resolved_by=None if resolved_by is None else TransactionId(resolved_by),
        )
    )


def _wallet(row: tuple[Any, ...]) -> WalletState:
    member, currency, version, posted, held, debt = row
    return checked_wallet(WalletState(MemberId(member), currency, version, posted, held, debt))


def _transaction(row: tuple[Any, ...] | None) -> Transaction | None:
    return None if row is None else decode_transaction(row[0], row[1])


@final
class _PostgresUnit:
    """A unit of work on one connection inside an open transaction (or savepoint)."""

    def __init__(
        self, connection: psycopg.Connection[Any], schema: str, program: ProgramId
    ) -> None:
        self._db = connection
        self._s = schema
        self._program = str(program)

    def _one(self, sql: str, *args: object) -> tuple[Any, ...] | None:
        return self._db.execute(sql.format(s=self._s), (self._program, *args)).fetchone()

    def _all(self, sql: str, *args: object) -> list[tuple[Any, ...]]:
        return self._db.execute(sql.format(s=self._s), (self._program, *args)).fetchall()

    # -- reads -----------------------------------------------------------------------------

    def transaction(self, transaction_id: TransactionId) -> Transaction | None:
        return _transaction(
            self._one(
                "SELECT body, checksum FROM {s}.pk_txn WHERE program_id = %s AND txn_id = %s",
                transaction_id,
            )
        )

    def transaction_by_key(self, key: str) -> Transaction | None:
        return _transaction(
            self._one(
                "SELECT body, checksum FROM {s}.pk_txn WHERE program_id = %s AND idem_key = %s",
                key,
            )
        )

    def reversals_of(self, transaction_id: TransactionId) -> Sequence[Transaction]:
        rows = self._all(
            "SELECT body, checksum FROM {s}.pk_txn WHERE program_id = %s AND reverses = %s",
            transaction_id,
        )
        return [decode_transaction(body, digest) for body, digest in rows]

    def hold(self, hold_id: HoldId) -> Hold | None:
        row = self._one(
            f"SELECT {_HOLD_COLUMNS} FROM {{s}}.pk_hold WHERE program_id = %s AND hold_id = %s",
            hold_id,
        )
        return None if row is None else _hold(row)

    def _wallet_row(self, member: MemberId, currency: str) -> WalletState:
        row = self._one(
            "SELECT member, currency, version, posted, held, debt FROM {s}.pk_wallet "
            "WHERE program_id = %s AND member = %s AND currency = %s AND version > 0",
            str(member),
            currency,
        )
        return WalletState(member, currency) if row is None else _wallet(row)

    def wallet(self, member: MemberId, currency: str) -> WalletState:
        # One statement, so the row and its lots come from one snapshot even under READ
        # COMMITTED (a host's transaction): the ledger checks them against each other.
        lot_columns = ", ".join(f"l.{column.strip()}" for column in _LOT_COLUMNS.split(","))
        rows = self._all(
            f"SELECT w.version, w.posted, w.held, w.debt, {lot_columns} FROM (SELECT 1) AS one "
            "LEFT JOIN {s}.pk_wallet AS w ON w.program_id = %s AND w.member = %s "
            "AND w.currency = %s AND w.version > 0 "
            "LEFT JOIN {s}.pk_lot AS l ON l.program_id = %s AND l.member = %s "
            "AND l.currency = %s AND l.remaining > 0 "
            "ORDER BY COALESCE(l.expires_at, 'infinity'), l.available_at, l.lot_id",
            str(member),
            currency,
            self._program,
            str(member),
            currency,
        )
        version, posted, held, debt = rows[0][:4]
        lots = tuple(_lot(row[4:]) for row in rows if row[4] is not None)
        if version is None:
            return WalletState(member, currency, lots=lots)
        state = checked_wallet(WalletState(member, currency, version, posted, held, debt))
        return attrs.evolve(state, lots=lots)

    def open_lots(self, member: MemberId, currency: str) -> Iterator[Lot]:
        # Keyset pages in spending order; a walk that stops early reads one page.
        after: tuple[object, ...] | None = None
        while True:
            if after is None:
                rows = self._all(
                    f"SELECT {_LOT_COLUMNS} FROM {{s}}.pk_lot WHERE program_id = %s "
                    "AND member = %s AND currency = %s AND remaining > 0 "
                    "ORDER BY COALESCE(expires_at, 'infinity'), available_at, lot_id LIMIT %s",
                    str(member),
                    currency,
                    _PAGE,
                )
            else:
                rows = self._all(
                    f"SELECT {_LOT_COLUMNS} FROM {{s}}.pk_lot WHERE program_id = %s "
                    "AND member = %s AND currency = %s AND remaining > 0 "
                    "AND (COALESCE(expires_at, 'infinity'), available_at, lot_id) "
                    "> (COALESCE(%s::timestamptz, 'infinity'), %s, %s) "
                    "ORDER BY COALESCE(expires_at, 'infinity'), available_at, lot_id LIMIT %s",
                    str(member),
                    currency,
                    *after,
                    _PAGE,
                )
            lots = [_lot(row) for row in rows]
            yield from lots
            if len(rows) < _PAGE:
                return
            last = lots[-1]
            after = (last.expires_at, last.available_at, last.id)

    def lots(self, lot_ids: Sequence[LotId]) -> Sequence[Lot]:
        if not lot_ids:
            return []
        rows = self._all(
            f"SELECT {_LOT_COLUMNS} FROM {{s}}.pk_lot WHERE program_id = %s AND lot_id = ANY(%s)",
            list(lot_ids),
        )
        return [_lot(row) for row in rows]

    def wallet_lots(self, member: MemberId, currency: str) -> Sequence[Lot]:
        rows = self._all(
            f"SELECT {_LOT_COLUMNS} FROM {{s}}.pk_lot WHERE program_id = %s AND member = %s "
            "AND currency = %s ORDER BY COALESCE(expires_at, 'infinity'), available_at, lot_id",
            str(member),
            currency,
        )
        return [_lot(row) for row in rows]

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
            f"SELECT {_HOLD_COLUMNS} FROM {{s}}.pk_hold WHERE program_id = %s "
            "AND status = 'open' AND expires_at <= %s ORDER BY expires_at, hold_id LIMIT %s",
            now,
            limit,
        )
        return [_hold(row) for row in rows]

    def due_lots(self, now: datetime, limit: int) -> Sequence[Lot]:
        rows = self._all(
            f"SELECT {_LOT_COLUMNS} FROM {{s}}.pk_lot WHERE program_id = %s "
            "AND remaining > held AND expires_at IS NOT NULL AND expires_at <= %s "
            "ORDER BY expires_at, lot_id LIMIT %s",
            now,
            limit,
        )
        return [_lot(row) for row in rows]

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

    def earned(
        self, member: MemberId, currency: str, since: datetime | None, until: datetime
    ) -> int:
        row = self._one(
            "SELECT COALESCE(SUM(p.amount), 0) FROM {s}.pk_posting AS p JOIN {s}.pk_txn AS t "
            "ON t.program_id = p.program_id AND t.txn_id = p.txn_id "
            "WHERE p.program_id = %s AND p.member = %s AND p.currency = %s "
            "AND p.account_kind = 'member' AND p.phase = 'posted' "
            "AND p.created_at >= COALESCE(%s::timestamptz, '-infinity') AND p.created_at < %s "
            "AND (t.kind = 'earn' OR (t.kind = 'reversal' AND EXISTS (SELECT 1 FROM {s}.pk_txn "
            "AS o WHERE o.program_id = t.program_id AND o.txn_id = t.reverses "
            "AND o.kind = 'earn')))",
            str(member),
            currency,
            since,
            until,
        )
        return 0 if row is None else int(row[0])

    def tier(self, member: MemberId) -> tuple[TierState, int] | None:
        row = self._one(
            "SELECT version, tier, since, next_review, grace_until, never_downgrade "
            "FROM {s}.pk_tier WHERE program_id = %s AND member = %s",
            str(member),
        )
        if row is None:
            return None
        version, tier, since, review, grace, never = row
        state = checked_tier(
            str(member),
            tier,
            since.astimezone(UTC),
            None if review is None else review.astimezone(UTC),
            None if grace is None else grace.astimezone(UTC),
            never,
        )
        return state, int(version)

    def tier_changes(self, member: MemberId, *, limit: int) -> Sequence[TierChange]:
        rows = self._all(
            "SELECT at, from_tier, to_tier, reason, metric FROM {s}.pk_tier_change "
            "WHERE program_id = %s AND member = %s ORDER BY seq DESC LIMIT %s",
            str(member),
            limit,
        )
        return [
            checked_tier_change(str(member), at.astimezone(UTC), old, new, reason, metric)
            for at, old, new, reason, metric in reversed(rows)
        ]

    def rule_event(self, event_id: str) -> str | None:
        row = self._one(
            "SELECT decision, checksum FROM {s}.pk_rule_event WHERE program_id = %s "
            "AND event_id = %s",
            event_id,
        )
        return None if row is None else checked_document(row[0], row[1], f"event {event_id!r}")

    def counters(
        self, member: MemberId, keys: Sequence[CounterKey]
    ) -> dict[CounterKey, tuple[int, int]]:
        if not keys:
            return {}
        rows = self._all(
            "SELECT scope, period, points, tasks FROM {s}.pk_counter "
            "WHERE program_id = %s AND member = %s AND (scope, period) IN "
            "(SELECT * FROM unnest(%s::text[], %s::text[]))",
            str(member),
            [scope for scope, _ in keys],
            [period for _, period in keys],
        )
        return {(scope, period): (int(points), int(tasks)) for scope, period, points, tasks in rows}

    def streaks(self, member: MemberId, rules: Sequence[str]) -> dict[str, tuple[date, int]]:
        if not rules:
            return {}
        rows = self._all(
            "SELECT rule, last_day, length FROM {s}.pk_streak WHERE program_id = %s "
            "AND member = %s AND rule = ANY(%s)",
            str(member),
            list(rules),
        )
        return {rule: (day, int(length)) for rule, day, length in rows}

    def budgets(self, names: Sequence[str]) -> dict[str, int]:
        if not names:
            return {}
        rows = self._all(
            "SELECT name, used FROM {s}.pk_budget WHERE program_id = %s AND name = ANY(%s)",
            list(names),
        )
        return {name: int(used) for name, used in rows}

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
        return (_wallet(row) for row in rows)

    def all_lots(self) -> Iterator[Lot]:
        rows = self._all(f"SELECT {_LOT_COLUMNS} FROM {{s}}.pk_lot WHERE program_id = %s")
        return (_lot(row) for row in rows)

    def all_holds(self) -> Iterator[Hold]:
        rows = self._all(f"SELECT {_HOLD_COLUMNS} FROM {{s}}.pk_hold WHERE program_id = %s")
        return (_hold(row) for row in rows)

    # -- writes ----------------------------------------------------------------------------

    def lock_wallets(self, keys: Sequence[WalletKey]) -> dict[WalletKey, WalletState]:
        ordered = sorted(set(keys))
        members = [str(member) for member, _ in ordered]
        currencies = [currency for _, currency in ordered]
        # A wallet row must exist to be locked; a version-0 row stands for "no transaction
        # yet". Inserting in key order and then locking in key order keeps the lock order
        # the same for every unit, so units never deadlock on wallets.
        # Both statements go in one round trip (pipeline mode).
        with self._db.pipeline():
            self._db.execute(
                f"INSERT INTO {self._s}.pk_wallet (program_id, member, currency, version, posted, "
                "held, debt) SELECT %s, m, c, 0, 0, 0, 0 FROM unnest(%s::text[], %s::text[]) "
                "AS k(m, c) ORDER BY m, c ON CONFLICT DO NOTHING",
                (self._program, members, currencies),
            )
            rows = self._all(
                "SELECT w.member, w.currency, w.version, w.posted, w.held, w.debt "
                "FROM {s}.pk_wallet AS w WHERE w.program_id = %s "
                "AND (w.member, w.currency) IN (SELECT * FROM unnest(%s::text[], %s::text[])) "
                "ORDER BY w.member, w.currency FOR NO KEY UPDATE OF w",
                members,
                currencies,
            )
        locked = {(MemberId(row[0]), row[1]): _wallet(row) for row in rows}
        if len(locked) != len(ordered):
            raise InvariantViolation(f"could not lock every wallet of {ordered}")
        return locked

    def lock_budgets(self, names: Sequence[str]) -> dict[str, int]:
        wanted = sorted(set(names))
        if not wanted:
            return {}
        s = self._s
        # Create missing rows, then lock all in name order: a budget is one hot row that
        # every award from it must serialise on.
        self._db.execute(
            f"INSERT INTO {s}.pk_budget (program_id, name, used) "
            "SELECT %s, n, 0 FROM unnest(%s::text[]) AS n ON CONFLICT DO NOTHING",
            (self._program, wanted),
        )
        rows = self._db.execute(
            f"SELECT name, used FROM {s}.pk_budget WHERE program_id = %s AND name = ANY(%s) "
            "ORDER BY name FOR NO KEY UPDATE",
            (self._program, wanted),
        ).fetchall()
        return {name: int(used) for name, used in rows}

    def save_rule_event(self, record: RuleEventRecord) -> None:
        program, member, s = self._program, str(record.member), self._s
        try:
            self._write_rule_event(record, program, member, s)
        except pg_errors.UniqueViolation as error:
            # The same event id sent for another member at the same moment: their wallet
            # locks did not meet. The ledger runs the command again and finds the record.
            raise TransientStorageError(
                f"event {record.event_id!r} was recorded meanwhile; look it up again"
            ) from error

    def _write_rule_event(self, record: RuleEventRecord, program: str, member: str, s: str) -> None:
        with self._db.pipeline(), self._db.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {s}.pk_rule_event (program_id, event_id, member, kind, at, "
                "decision, checksum) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (
                    program,
                    record.event_id,
                    member,
                    record.kind,
                    record.at,
                    record.decision,
                    checksum(record.decision),
                ),
            )
            counter_adds, counter_takes = record.split_counters()
            budget_adds, budget_takes = record.split_budgets()
            if counter_adds:
                cursor.executemany(
                    f"INSERT INTO {s}.pk_counter (program_id, member, scope, period, points, "
                    "tasks) VALUES (%s, %s, %s, %s, %s, %s) "
                    "ON CONFLICT (program_id, member, scope, period) DO UPDATE SET "
                    "points = pk_counter.points + excluded.points, "
                    "tasks = pk_counter.tasks + excluded.tasks",
                    [
                        (program, member, scope, period, points, tasks)
                        for (scope, period), points, tasks in counter_adds
                    ],
                )
            if record.streaks:
                cursor.executemany(
                    f"INSERT INTO {s}.pk_streak (program_id, member, rule, last_day, length) "
                    "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (program_id, member, rule) "
                    "DO UPDATE SET last_day = excluded.last_day, length = excluded.length",
                    [(program, member, rule, day, length) for rule, day, length in record.streaks],
                )
            if budget_adds:
                cursor.executemany(
                    f"INSERT INTO {s}.pk_budget (program_id, name, used) VALUES (%s, %s, %s) "
                    "ON CONFLICT (program_id, name) DO UPDATE SET "
                    "used = pk_budget.used + excluded.used",
                    [(program, name, points) for name, points in budget_adds],
                )
        # Give-backs (a released redemption's stock, a pity reset) update rows that exist;
        # each is checked, so they run after the pipeline, one statement each.
        for (scope, period), points, tasks in counter_takes:
            self._give_back(
                f"UPDATE {s}.pk_counter SET points = points + %s, tasks = tasks + %s "
                "WHERE program_id = %s AND member = %s AND scope = %s AND period = %s",
                (points, tasks, program, member, scope, period),
                f"counter {scope}/{period} of {member!r}",
            )
        for name, points in budget_takes:
            self._give_back(
                f"UPDATE {s}.pk_budget SET used = used + %s WHERE program_id = %s AND name = %s",
                (points, program, name),
                f"budget {name}",
            )

    def _give_back(self, sql: str, parameters: tuple[object, ...], what: str) -> None:
        """Run a give-back UPDATE; the row it gives back to must exist."""
        if self._db.execute(sql, parameters).rowcount != 1:
            raise InvariantViolation(f"{what} is given back to but was never counted")

    def save_tier(self, state: TierState, changes: Sequence[TierChange], *, version: int) -> None:
        program, member = self._program, str(state.member)
        values = (
            state.tier,
            state.since,
            state.next_review,
            state.grace_until,
            state.never_downgrade,
        )
        if version == 1:
            written = self._db.execute(
                f"INSERT INTO {self._s}.pk_tier (program_id, member, version, tier, since, "
                "next_review, grace_until, never_downgrade) VALUES (%s, %s, 1, %s, %s, %s, %s, %s) "
                "ON CONFLICT (program_id, member) DO NOTHING",
                (program, member, *values),
            ).rowcount
        else:
            # The version guard under READ COMMITTED: a concurrent review that committed first
            # leaves no row at the old version, so this one retries on the new state.
            written = self._db.execute(
                f"UPDATE {self._s}.pk_tier SET version = %s, tier = %s, since = %s, "
                "next_review = %s, grace_until = %s, never_downgrade = %s "
                "WHERE program_id = %s AND member = %s AND version = %s",
                (version, *values, program, member, version - 1),
            ).rowcount
        if written != 1:
            raise TransientStorageError(
                f"the tier state of {member!r} changed meanwhile; review it again"
            )
        if changes:
            # Appended under the row the statement above locked, so seq numbers cannot race.
            self._db.execute(
                f"INSERT INTO {self._s}.pk_tier_change (program_id, member, seq, at, from_tier, "
                "to_tier, reason, metric) SELECT %s, %s, "
                f"(SELECT COALESCE(MAX(seq), 0) FROM {self._s}.pk_tier_change "
                "WHERE program_id = %s AND member = %s) + c.n, c.at, c.from_tier, c.to_tier, "
                "c.reason, c.metric FROM unnest(%s::int[], %s::timestamptz[], %s::text[], "
                "%s::text[], %s::text[], %s::bigint[]) AS c(n, at, from_tier, to_tier, reason, metric)",
                (
                    program,
                    member,
                    program,
                    member,
                    list(range(1, len(changes) + 1)),
                    [c.at for c in changes],
                    [c.from_tier for c in changes],
                    [c.to_tier for c in changes],
                    [c.reason.value for c in changes],
                    [c.metric for c in changes],
                ),
            )

    def apply(self, plan: Plan) -> None:
        self.apply_batch([plan])

    def apply_batch(self, plans: Sequence[Plan]) -> None:
        """Write many plans with one statement per table: set-based, one round trip each."""
        program = self._program
        postings: list[tuple[object, ...]] = []
        txns: list[tuple[object, ...]] = []
        entries: list[tuple[object, ...]] = []
        wallets: dict[WalletKey, tuple[int, WalletState]] = {}
        lots: dict[LotId, Lot] = {}
        holds: dict[HoldId, Hold] = {}
        extensions: list[tuple[object, ...]] = []
        for plan in plans:
            transaction = plan.transaction
            body = encode_transaction(transaction)
            txns.append(
                (
                    program,
                    transaction.id,
                    transaction.key,
                    transaction.kind.value,
                    transaction.created_at,
                    transaction.reverses,
                    body,
                    checksum(body),
                )
            )
            postings.extend(
                (
                    program,
                    transaction.id,
                    seq,
                    p.account.kind.value,
                    p.account.member,
                    p.account.currency,
                    p.phase.value,
                    p.amount,
                    transaction.created_at,
                )
                for seq, p in enumerate(transaction.postings)
            )
            entries.extend(
                (
                    program,
                    str(c.member),
                    c.currency,
                    c.version,
                    transaction.id,
                    c.posted,
                    c.held,
                    c.debt,
                    c.posted_change,
                )
                for c in transaction.wallet_changes
            )
            for state in plan.wallets:
                first = wallets.get(state.key, (state.version - 1, state))[0]
                wallets[state.key] = (first, state)
            lots.update((lot.id, lot) for lot in plan.lots)
            holds.update((hold.id, hold) for hold in plan.holds)
            extensions.extend(
                (
                    e.expires_at,
                    program,
                    str(e.member),
                    e.currency,
                    transaction.created_at,
                    e.expires_at,
                )
                for e in transaction.expiry_extensions
            )
        db = self._db
        s = self._s
        updates = [
            (str(member), currency, state.version, state.posted, state.held, state.debt, previous)
            for (member, currency), (previous, state) in sorted(wallets.items())
        ]
        columns: list[list[object]] = [list(column) for column in zip(*updates, strict=True)]
        # Everything in one round trip (pipeline mode): one statement per table, and one
        # UPDATE for every wallet the batch touched, however many plans touched it.
        with db.pipeline(), db.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {s}.pk_posting (program_id, txn_id, seq, account_kind, member, "
                "currency, phase, amount, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                postings,
            )
            cursor.executemany(
                f"INSERT INTO {s}.pk_txn (program_id, txn_id, idem_key, kind, created_at, "
                "reverses, body, checksum) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                txns,
            )
            cursor.executemany(
                f"INSERT INTO {s}.pk_entry (program_id, member, currency, version, txn_id, "
                "posted, held, debt, posted_change) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                entries,
            )
            if lots:
                cursor.executemany(
                    f"INSERT INTO {s}.pk_lot (program_id, {_LOT_COLUMNS}) VALUES "
                    "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                    "ON CONFLICT (program_id, lot_id) DO UPDATE SET remaining = excluded.remaining, "
                    "held = excluded.held, expired = excluded.expired",
                    [
                        (
                            program,
                            lot.id,
                            str(lot.member),
                            lot.currency,
                            lot.amount,
                            lot.remaining,
                            lot.held,
                            lot.expired,
                            lot.earned_at,
                            lot.available_at,
                            lot.expires_at,
                            lot.source,
                            lot.follows_activity,
                        )
                        for lot in lots.values()
                    ],
                )
            if extensions:
                # After the lots: a lot this batch created or changed is extended too.
                cursor.executemany(
                    f"UPDATE {s}.pk_lot SET expires_at = %s WHERE program_id = %s "
                    "AND member = %s AND currency = %s AND follows_activity AND remaining > 0 "
                    "AND expires_at > %s AND expires_at < %s",
                    extensions,
                )
            if holds:
                cursor.executemany(
                    f"INSERT INTO {s}.pk_hold (program_id, {_HOLD_COLUMNS}) VALUES "
                    "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                    "ON CONFLICT (program_id, hold_id) DO UPDATE SET status = excluded.status, "
                    "captured = excluded.captured, resolved_by = excluded.resolved_by "
                    "WHERE pk_hold.status = 'open'",
                    [
                        (
                            program,
                            hold.id,
                            str(hold.member),
                            hold.currency,
                            hold.amount,
                            hold.created_at,
                            hold.expires_at,
                            encode_allocations(hold.allocations),
                            hold.status.value,
                            hold.captured,
                            hold.resolved_by,
                        )
                        for hold in holds.values()
                    ],
                )
            # Guarded by the version each wallet had when the batch started: a pair assertion,
            # since the locks make a mismatch impossible. Its own cursor, read once the
            # pipeline has synced, so its rows cannot be confused with another statement's.
            wallet_cursor = db.cursor()
            wallet_cursor.execute(
                f"UPDATE {s}.pk_wallet AS w SET version = v.version, posted = v.posted, "
                "held = v.held, debt = v.debt FROM unnest(%s::text[], %s::text[], %s::bigint[], "
                "%s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[]) "
                "AS v(member, currency, version, posted, held, debt, previous) "
                "WHERE w.program_id = %s AND w.member = v.member AND w.currency = v.currency "
                "AND w.version = v.previous RETURNING w.member",
                [*(columns or [[] for _ in range(7)]), program],
            )
        updated = wallet_cursor.fetchall()
        wallet_cursor.close()
        if len(updated) != len(updates):
            raise InvariantViolation(
                f"{len(updates) - len(updated)} wallet(s) were not at the version the plan was "
                "made from"
            )


def _check_schema_name(schema: object) -> str:
    if not isinstance(schema, str) or not _SCHEMA_NAME.match(schema):
        raise InvalidArgumentError(
            f"schema={schema!r} must be a lower-case SQL identifier (letters, digits, _)"
        )
    return schema


def _schema_version(connection: psycopg.Connection[Any], schema: str) -> int | None:
    exists = connection.execute(
        "SELECT 1 FROM information_schema.tables WHERE table_schema = %s "
        "AND table_name = 'pk_schema'",
        (schema,),
    ).fetchone()
    if exists is None:
        return None
    row = connection.execute(f"SELECT MAX(version) FROM {schema}.pk_schema").fetchone()
    return 0 if row is None or row[0] is None else int(row[0])


def _newer(version: int) -> SchemaVersionError:
    return SchemaVersionError(
        f"the database has pointkit schema version {version}, newer than this pointkit "
        f"understands ({SCHEMA_VERSION}); upgrade pointkit to use it"
    )


def _upgrade(connection: psycopg.Connection[Any], schema: str) -> int:
    # One migration at a time under an advisory lock, so concurrent migrators wait.
    connection.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"pointkit:{schema}",))
    connection.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    current = _schema_version(connection, schema)
    if current is None:
        connection.execute(
            f"CREATE TABLE {schema}.pk_schema "
            "(version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        current = 0
    if current > SCHEMA_VERSION:
        raise _newer(current)
    for version in range(current + 1, SCHEMA_VERSION + 1):
        connection.execute(_MIGRATIONS[version].replace("{s}", schema))
        connection.execute(f"INSERT INTO {schema}.pk_schema (version) VALUES (%s)", (version,))
    return SCHEMA_VERSION


@final
class _Handle:
    """A thread's connection; when the thread ends, the handle and its connection go."""

    __slots__ = ("__weakref__", "connection")

    def __init__(self, connection: psycopg.Connection[Any]) -> None:
        self.connection = connection

    def __del__(self) -> None:
        self.connection.close()


@final
class PostgresStorage:
    """Storage in PostgreSQL, through psycopg 3.

    Args:
        conninfo: A libpq connection string (``"host=... dbname=... user=..."`` or a URL);
            pointkit then opens one connection per thread and commits each command itself.
        connection: Instead of *conninfo*: the host's own psycopg connection. Each command
            runs in a savepoint of the host's current transaction and commits or rolls back
            with it. Use the storage only from the thread that owns the connection.
        schema: The PostgreSQL schema holding pointkit's tables (``"pointkit"`` by default).
        migrate: Create or upgrade the schema on open. Off by default for PostgreSQL: schema
            changes are deployments, made with ``pointkit migrate --dsn ...`` or
            :meth:`migrate`.

    Raises:
        InvalidArgumentError: If neither or both of *conninfo* and *connection* are given, or
            *schema* is not a plain identifier.
        SchemaVersionError: If the schema is missing or older (and *migrate* is off), or newer
            than this pointkit.
        StorageError: If the database cannot be reached.
    """

    def __init__(
        self,
        conninfo: str | None = None,
        *,
        connection: psycopg.Connection[Any] | None = None,
        schema: str = "pointkit",
        migrate: bool = False,
    ) -> None:
        if (conninfo is None) == (connection is None):
            raise InvalidArgumentError(
                "give either conninfo (pointkit connects and commits) or connection (pointkit "
                "works inside your transaction), not both or neither"
            )
        self._conninfo = conninfo
        self._host = connection
        self._schema = _check_schema_name(schema)
        self._local = threading.local()
        self._handles: weakref.WeakSet[_Handle] = weakref.WeakSet()
        self._lock = threading.Lock()
        if migrate:
            self.migrate()
        else:
            self._check_schema()

    def __repr__(self) -> str:
        mode = "host connection" if self._host is not None else "own connections"
        return f"PostgresStorage(schema={self._schema!r}, {mode})"

    @property
    def schema(self) -> str:
        """The PostgreSQL schema holding pointkit's tables."""
        return self._schema

    def _connection(self) -> psycopg.Connection[Any]:
        if self._host is not None:
            return self._host
        handle: _Handle | None = getattr(self._local, "handle", None)
        if handle is None or handle.connection.closed or handle.connection.broken:
            try:
                connection = psycopg.connect(self._conninfo or "")
            except psycopg.Error as error:
                raise _storage_error(error) from error
            handle = _Handle(connection)
            self._local.handle = handle
            with self._lock:
                self._handles.add(handle)
        return handle.connection

    def _check_schema(self) -> None:
        with self._transaction() as connection:
            version = _schema_version(connection, self._schema)
        if version is None or version < SCHEMA_VERSION:
            raise SchemaVersionError(
                f"schema {self._schema!r} has pointkit schema version {version or 0}, this "
                f"pointkit needs {SCHEMA_VERSION}; run `pointkit migrate --dsn DSN` or "
                "PostgresStorage.migrate()"
            )
        if version > SCHEMA_VERSION:
            raise _newer(version)

    def migrate(self) -> int:
        """Create or upgrade the schema; return the schema version now in the database.

        Raises:
            SchemaVersionError: If the database's schema is newer than this pointkit.
        """
        with self._transaction() as connection:
            return _upgrade(connection, self._schema)

    def schema_version(self) -> int | None:
        """The schema's pointkit version, or ``None`` if it has no pointkit tables."""
        with self._transaction() as connection:
            return _schema_version(connection, self._schema)

    @contextmanager
    def _transaction(self, *, snapshot: bool = False) -> Iterator[psycopg.Connection[Any]]:
        connection = self._connection()
        try:
            if self._host is None:
                # Reads see one snapshot (an audit reads many tables); writes run in READ
                # COMMITTED, where a statement after a lock sees what the lock waited for.
                connection.isolation_level = (
                    IsolationLevel.REPEATABLE_READ if snapshot else IsolationLevel.READ_COMMITTED
                )
            # On the host's connection this is a savepoint inside the host's transaction.
            with connection.transaction():
                yield connection
        except psycopg.Error as error:
            raise _storage_error(error) from error

    @contextmanager
    def _unit(self, program: ProgramId, *, snapshot: bool) -> Iterator[_PostgresUnit]:
        with self._transaction(snapshot=snapshot) as connection:
            yield _PostgresUnit(connection, self._schema, program)

    def reading(self, program: ProgramId) -> AbstractContextManager[_PostgresUnit]:
        """Begin a read of *program*'s ledger.

        On pointkit's own connections it is one snapshot (REPEATABLE READ); inside the host's
        transaction it has the host's isolation.
        """
        return self._unit(program, snapshot=True)

    def writing(self, program: ProgramId) -> AbstractContextManager[_PostgresUnit]:
        """Begin a unit of work on *program*'s ledger."""
        return self._unit(program, snapshot=False)

    def close(self) -> None:
        """Close the connections pointkit opened (never the host's)."""
        with self._lock:
            for handle in list(self._handles):
                handle.connection.close()
            self._handles = weakref.WeakSet()
        self._local = threading.local()

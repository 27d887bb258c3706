"""The SQLite adapter's set-based expiry: a batch of due lots expired in a few statements.

What is written is exactly what the Python plan writes (see :mod:`pointkit.ledger._set_expiry`);
tests/test_expiry_set_based.py holds the two to the same bytes. A write unit already holds the
database's write lock (``BEGIN IMMEDIATE``), so the lots read are the lots written. SQLite has
no data-modifying CTEs: the batch is staged in a temporary table, one row per lot — its
wallet's version and balances by a running sum in lot order, its key, id and documents — and
every journal table is written from it with one ``INSERT ... SELECT`` or ``UPDATE ... FROM``.

What SQL cannot do is done by Python functions registered on the connection (deterministic),
each called once per lot: the transaction id (``transaction_id_bytes``, which tests pin to
``transaction_id_for``), the checksum (the codec's ``checksum``) and the event id
(``event_id_bytes``, pinned to ``event_id``). The documents are built in SQL with ``printf``
from the templates of :mod:`pointkit.ledger._set_expiry`; ``json_quote`` quotes members and
currency codes as ``json.dumps`` does (they are printable text).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, Final

from pointkit._values import MemberId
from pointkit.exceptions import InvariantViolation
from pointkit.ledger._codec import checksum, to_micros
from pointkit.ledger._records import TransactionId
from pointkit.ledger._set_expiry import (
    EXPIRED_EVENT,
    EXPIRED_EVENT_DATA,
    EXPIRED_EVENT_VERSION,
    EXPIRY_DOCUMENT,
    EXPIRY_KEY_PREFIX,
    ExpiredLots,
    event_id_bytes,
    id_prefix,
    sql_format,
    transaction_id_bytes,
)


if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Callable, Sequence
    from datetime import datetime


__all__ = ["ExpiryRows"]


def _uuid_text(digits: str) -> str:
    """SQL for a 16-byte id as ``str(uuid.UUID(bytes=...))`` writes it, from its hex digits."""
    return (
        f"substr({digits}, 1, 8) || '-' || substr({digits}, 9, 4) || '-' || "
        f"substr({digits}, 13, 4) || '-' || substr({digits}, 17, 4) || '-' || "
        f"substr({digits}, 21, 12)"
    )


_BATCH: Final = "temp.pk_expiry_batch"

_CREATE: Final = """
CREATE TEMP TABLE IF NOT EXISTS pk_expiry_batch (
    ord INTEGER PRIMARY KEY,
    lot_id BLOB NOT NULL,
    member TEXT NOT NULL,
    currency TEXT NOT NULL,
    free INTEGER NOT NULL,
    previous INTEGER,
    version INTEGER,
    posted INTEGER,
    held INTEGER,
    debt INTEGER,
    last INTEGER,
    key TEXT,
    lot_text TEXT,
    txn_id BLOB,
    txn_hex TEXT,
    body TEXT,
    event TEXT
) STRICT
"""

# The due lots in (expires_at, lot_id) order, each with its wallet's next version and balances.
_STAGE: Final = f"""
WITH due AS MATERIALIZED (
    SELECT row_number() OVER (ORDER BY expires_at, lot_id) AS ord, lot_id, member, currency,
        remaining - held AS free, lower(hex(lot_id)) AS lot_hex
    FROM pk_lot WHERE program_id = ?2 AND remaining > held AND expires_at IS NOT NULL
        AND expires_at <= ?3
    ORDER BY expires_at, lot_id LIMIT ?4
), walk AS MATERIALIZED (
    SELECT d.ord, d.lot_id, d.member, d.currency, d.free, w.version AS previous,
        w.version + row_number() OVER k AS version, w.posted - sum(d.free) OVER k AS posted,
        w.held, w.debt,
        row_number() OVER (PARTITION BY d.member, d.currency ORDER BY d.ord DESC) = 1 AS last,
        {_uuid_text("d.lot_hex")} AS lot_text
    FROM due AS d LEFT JOIN pk_wallet AS w ON w.program_id = ?2 AND w.member = d.member
        AND w.currency = d.currency
    WINDOW k AS (PARTITION BY d.member, d.currency ORDER BY d.ord ROWS UNBOUNDED PRECEDING)
), keyed AS MATERIALIZED (
    SELECT walk.*, ?1 || lot_text AS key, pk_expiry_id(?1 || lot_text) AS txn_id FROM walk
), ids AS MATERIALIZED (
    SELECT keyed.*, lower(hex(txn_id)) AS txn_hex FROM keyed
)
INSERT INTO {_BATCH} (ord, lot_id, member, currency, free, previous, version, posted, held,
    debt, last, key, lot_text, txn_id, txn_hex, body, event)
SELECT ord, lot_id, member, currency, free, previous, version, posted, held, debt, last, key,
    lot_text, txn_id, txn_hex, {{body}}, {{event}}
FROM ids
"""

# Wallets that are missing, break checked_wallet's invariants or differ from their entry.
_BAD_WALLETS: Final = f"""
SELECT count(*) FROM (SELECT DISTINCT member, currency FROM {_BATCH}) AS b
LEFT JOIN pk_wallet AS w ON w.program_id = ? AND w.member = b.member AND w.currency = b.currency
LEFT JOIN pk_entry AS e ON e.program_id = w.program_id AND e.member = w.member
    AND e.currency = w.currency AND e.version = w.version
WHERE w.version IS NULL OR w.debt < 0 OR w.held < 0 OR w.held > w.posted + w.debt
    OR e.version IS NULL OR e.posted IS NOT w.posted OR e.held IS NOT w.held
    OR e.debt IS NOT w.debt
"""

_VALUES: Final = {
    "free": "free",
    "taken": "-free",
    "micros": "?5",
    "currency": "json_quote(currency)",
    "member": "json_quote(member)",
    "id": _uuid_text("txn_hex"),
    "key": "key",
    "lot": "lot_text",
    "version": "version",
    "posted": "posted",
    "held": "held",
    "debt": "debt",
}

_STAGE_ALL: Final = _STAGE.format(
    body=sql_format(EXPIRY_DOCUMENT, _VALUES, function="printf", marker="%s"),
    event=sql_format(EXPIRED_EVENT_DATA, _VALUES, function="printf", marker="%s"),
)

# Each statement with the number of parameters it takes: ?1 the program, ?2 the instant,
# ?3 and ?4 the event's type and version.
_WRITES: Final = (
    (
        (
            "INSERT INTO pk_posting (program_id, txn_id, seq, account_kind, member, currency, "
            "phase, amount, created_at) SELECT ?1, txn_id, 0, 'expired', NULL, currency, 'posted', "
            f"free, ?2 FROM {_BATCH} UNION ALL SELECT ?1, txn_id, 1, 'member', member, currency, "
            f"'posted', -free, ?2 FROM {_BATCH}"
        ),
        2,
    ),
    (
        (
            "INSERT INTO pk_txn (program_id, txn_id, idem_key, kind, created_at, reverses, body, "
            "checksum) SELECT ?1, txn_id, key, 'expiry', ?2, NULL, body, pk_checksum(body) "
            f"FROM {_BATCH} ORDER BY ord"
        ),
        2,
    ),
    (
        (
            "INSERT INTO pk_entry (program_id, member, currency, version, txn_id, posted, held, "
            f"debt, posted_change) SELECT ?1, member, currency, version, txn_id, posted, held, debt, "
            f"-free FROM {_BATCH}"
        ),
        1,
    ),
    (
        (
            "UPDATE pk_lot SET remaining = pk_lot.held, expired = pk_lot.expired + b.free "
            f"FROM {_BATCH} AS b WHERE pk_lot.program_id = ?1 AND pk_lot.lot_id = b.lot_id"
        ),
        1,
    ),
    (
        (
            "INSERT INTO pk_outbox (program_id, seq, event_id, type, version, occurred_at, data) "
            "SELECT ?1, (SELECT COALESCE(MAX(seq), 0) FROM pk_outbox WHERE program_id = ?1) "
            "+ row_number() OVER (ORDER BY ord), pk_event_id(txn_hex), ?3, ?4, ?2, event "
            f"FROM {_BATCH} ORDER BY ord ON CONFLICT (program_id, event_id) DO NOTHING"
        ),
        4,
    ),
)

# Each wallet to its last lot's row, guarded by the version the batch started from.
_WALLETS: Final = f"""
UPDATE pk_wallet SET version = v.version, posted = v.posted
FROM (
    SELECT member, currency, previous, version, posted FROM {_BATCH} WHERE last
) AS v
WHERE pk_wallet.program_id = ? AND pk_wallet.member = v.member
    AND pk_wallet.currency = v.currency AND pk_wallet.version = v.previous
"""


def _event_id(digits: str) -> bytes:
    """The event id of the transaction with these hex digits."""
    return event_id_bytes(
        f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"
    )


class ExpiryRows:
    """The set-based expiry of a unit of work; mixed into the adapter's unit."""

    _db: sqlite3.Connection
    _program: str

    if TYPE_CHECKING:

        def _all(self, sql: str, *args: object) -> list[tuple[Any, ...]]: ...

    def expire_due_lots(
        self,
        now: datetime,
        limit: int,
        *,
        check: Callable[[Sequence[MemberId]], None] | None = None,
    ) -> ExpiredLots:
        """Expire the next *limit* due lots (see :class:`~pointkit.ledger._set_expiry.SetExpiryUnit`)."""
        db, program, micros = self._db, self._program, to_micros(now)
        prefix = id_prefix(now)
        db.create_function(
            "pk_expiry_id", 1, lambda key: transaction_id_bytes(prefix, key), deterministic=True
        )
        db.create_function("pk_checksum", 1, checksum, deterministic=True)
        db.create_function("pk_event_id", 1, _event_id, deterministic=True)
        db.execute(_CREATE)
        db.execute(f"DELETE FROM {_BATCH}")
        try:
            db.execute(_STAGE_ALL, (EXPIRY_KEY_PREFIX, program, micros, limit, micros))
            taken, wallets = db.execute(
                f"SELECT count(*), (SELECT count(*) FROM (SELECT DISTINCT member, currency "
                f"FROM {_BATCH})) FROM {_BATCH}"
            ).fetchone()
            return self._write(micros, taken, wallets, check)
        finally:
            db.execute(f"DELETE FROM {_BATCH}")

    def _write(
        self,
        micros: int,
        taken: int,
        wallets: int,
        check: Callable[[Sequence[MemberId]], None] | None,
    ) -> ExpiredLots:
        db, program = self._db, self._program
        if taken == 0:
            return ExpiredLots(0, (), ())
        (bad,) = db.execute(_BAD_WALLETS, (program,)).fetchone()
        if bad:
            raise InvariantViolation(
                f"{bad} stored wallet(s) of an expiry batch are missing, corrupt or disagree "
                "with their journal"
            )
        if check is not None:
            members = db.execute(f"SELECT DISTINCT member FROM {_BATCH} ORDER BY member")
            check([MemberId(member) for (member,) in members])
        arguments = (program, micros, EXPIRED_EVENT, EXPIRED_EVENT_VERSION)
        for statement, arity in _WRITES:
            db.execute(statement, arguments[:arity])
        updated = db.execute(_WALLETS, (program,)).rowcount
        if updated != wallets:
            raise InvariantViolation(
                f"{wallets - updated} wallet(s) were not at the version the batch was made from"
            )
        rows = db.execute(f"SELECT txn_id, currency, free FROM {_BATCH} ORDER BY ord").fetchall()
        points: dict[str, int] = {}
        for _, currency, free in rows:
            points[currency] = points.get(currency, 0) + free
        return ExpiredLots(
            taken=taken,
            transactions=tuple(TransactionId(uuid.UUID(bytes=row[0])) for row in rows),
            points=tuple(sorted(points.items())),
        )

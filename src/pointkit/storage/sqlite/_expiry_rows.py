"""The SQLite adapter's set-based expiry: a batch of due lots expired in a few statements.

What is written is exactly what the Python plan writes (see :mod:`pointkit.ledger._set_expiry`);
tests/test_expiry_set_based.py holds the two to the same bytes. A write unit already holds the
database's write lock (``BEGIN IMMEDIATE``), so the lots read are the lots written.

One query reads the batch: the due lots in ``(expires_at, id)`` order, each with its wallet and
whether that wallet is missing, breaks ``checked_wallet``'s invariants or differs from its
journal entry. One pass over the rows in Python makes every value written: each wallet's
versions and balances by a running sum in lot order, the keys and transaction ids
(``transaction_id_bytes``, which tests pin to ``transaction_id_for``), the documents from the
templates of :mod:`pointkit.ledger._set_expiry` (text quoted as the codec quotes it) and their
checksums (the codec's ``checksum``). The rows are staged in a temporary table with one
``executemany``, and every journal table is written from it with one ``INSERT ... SELECT`` or
``UPDATE ... FROM``; the events go last, their ids made by a Python function SQLite calls once
per event (``event_id_bytes``, pinned to ``event_id``). The wallets are then moved to their
last lot's values, each guarded by the version the batch started from.

A batch's ids and keys are hashes, so its inserts land all over the tables' indexes: the page
cache is raised while a batch is written, so that each page it dirties is written to the WAL
once, at commit, rather than spilled and written again.
"""

from __future__ import annotations

import json
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
    python_format,
    transaction_id_bytes,
)


if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Callable, Sequence
    from datetime import datetime


__all__ = ["ExpiryRows"]

# The due lots in (expires_at, lot_id) order, each with its wallet, and whether the wallet is
# missing, breaks checked_wallet's invariants or differs from its entry.
_DUE: Final = """
SELECT d.lot_id, d.member, d.currency, d.free, w.version, w.posted, w.held, w.debt,
    w.version IS NULL OR w.debt < 0 OR w.held < 0 OR w.held > w.posted + w.debt
        OR e.version IS NULL OR e.posted IS NOT w.posted OR e.held IS NOT w.held
        OR e.debt IS NOT w.debt AS bad
FROM (
    SELECT lot_id, member, currency, remaining - held AS free, expires_at FROM pk_lot
    WHERE program_id = ?1 AND remaining > held AND expires_at IS NOT NULL AND expires_at <= ?2
    ORDER BY expires_at, lot_id LIMIT ?3
) AS d
LEFT JOIN pk_wallet AS w ON w.program_id = ?1 AND w.member = d.member
    AND w.currency = d.currency
LEFT JOIN pk_entry AS e ON e.program_id = w.program_id AND e.member = w.member
    AND e.currency = w.currency AND e.version = w.version
ORDER BY d.expires_at, d.lot_id
"""

_BATCH: Final = "temp.pk_expiry_batch"

_CREATE: Final = """
CREATE TEMP TABLE IF NOT EXISTS pk_expiry_batch (
    ord INTEGER PRIMARY KEY,
    lot_id BLOB NOT NULL,
    member TEXT NOT NULL,
    currency TEXT NOT NULL,
    free INTEGER NOT NULL,
    version INTEGER NOT NULL,
    posted INTEGER NOT NULL,
    held INTEGER NOT NULL,
    debt INTEGER NOT NULL,
    key TEXT NOT NULL,
    txn_id BLOB NOT NULL,
    txn_text TEXT NOT NULL,
    body TEXT NOT NULL,
    checksum BLOB NOT NULL,
    event TEXT NOT NULL
) STRICT
"""

_STAGE: Final = f"INSERT INTO {_BATCH} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"

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
            f"checksum) SELECT ?1, txn_id, key, 'expiry', ?2, NULL, body, checksum FROM {_BATCH} "
            "ORDER BY ord"
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
            "+ row_number() OVER (ORDER BY ord), pk_event_id(txn_text), ?3, ?4, ?2, event "
            f"FROM {_BATCH} ORDER BY ord ON CONFLICT (program_id, event_id) DO NOTHING"
        ),
        4,
    ),
)

# Each wallet to its last lot's values, guarded by the version the batch started from.
_WALLET: Final = (
    "UPDATE pk_wallet SET version = ?, posted = ? WHERE program_id = ? AND member = ? "
    "AND currency = ? AND version = ?"
)

# The page cache while a batch is written (negative: KiB), for the index pages its inserts
# dirty (see above); the connection's own size is set back afterwards.
_CACHE_KIB: Final = -131_072

_DOCUMENT: Final = python_format(EXPIRY_DOCUMENT)
_EVENT: Final = python_format(EXPIRED_EVENT_DATA)
# What json.dumps(text, ensure_ascii=False) writes a str with, as the codec does.
_text: Final = json.encoder.encode_basestring


def _uuid_text(raw: bytes) -> str:
    """``str(uuid.UUID(bytes=raw))``, without a UUID object."""
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


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
        db = self._db
        (cache,) = db.execute("PRAGMA cache_size").fetchone()
        db.execute(f"PRAGMA cache_size = {_CACHE_KIB}")
        try:
            return self._expire(now, limit, check)
        finally:
            db.execute(f"PRAGMA cache_size = {int(cache)}")

    def _expire(
        self, now: datetime, limit: int, check: Callable[[Sequence[MemberId]], None] | None
    ) -> ExpiredLots:
        db, program, micros = self._db, self._program, to_micros(now)
        due = db.execute(_DUE, (program, micros, limit)).fetchall()
        if not due:
            return ExpiredLots(0, (), ())
        bad = len({(row[1], row[2]) for row in due if row[8]})
        if bad:
            raise InvariantViolation(
                f"{bad} stored wallet(s) of an expiry batch are missing, corrupt or disagree "
                "with their journal"
            )
        if check is not None:
            check([MemberId(member) for member in sorted({row[1] for row in due})])
        prefix = id_prefix(now)
        # Per wallet: the version the batch starts from, then its running version and posted.
        wallets: dict[tuple[str, str], list[int]] = {}
        rows: list[tuple[Any, ...]] = []
        points: dict[str, int] = {}
        for ord_, (lot_id, member, currency, free, stored, balance, held, debt, _) in enumerate(
            due
        ):
            wallet = wallets.get((member, currency))
            if wallet is None:
                wallet = wallets[member, currency] = [stored, stored, balance]
            wallet[1] += 1
            wallet[2] -= free
            lot = _uuid_text(lot_id)
            key = EXPIRY_KEY_PREFIX + lot
            txn_id = transaction_id_bytes(prefix, key)
            txn = _uuid_text(txn_id)
            values = {
                "free": free,
                "taken": -free,
                "micros": micros,
                "currency": _text(currency),
                "member": _text(member),
                "id": txn,
                "key": key,
                "lot": lot,
                "version": wallet[1],
                "posted": wallet[2],
                "held": held,
                "debt": debt,
            }
            body = _DOCUMENT.format_map(values)
            rows.append(
                (
                    ord_,
                    lot_id,
                    member,
                    currency,
                    free,
                    wallet[1],
                    wallet[2],
                    held,
                    debt,
                    key,
                    txn_id,
                    txn,
                    body,
                    checksum(body),
                    _EVENT.format_map(values),
                )
            )
            points[currency] = points.get(currency, 0) + free
        db.create_function("pk_event_id", 1, event_id_bytes, deterministic=True)
        db.execute(_CREATE)
        db.execute(f"DELETE FROM {_BATCH}")
        try:
            db.executemany(_STAGE, rows)
            arguments = (program, micros, EXPIRED_EVENT, EXPIRED_EVENT_VERSION)
            for statement, arity in _WRITES:
                db.execute(statement, arguments[:arity])
        finally:
            db.execute(f"DELETE FROM {_BATCH}")
        updated = db.executemany(
            _WALLET,
            [
                (version, posted, program, member, currency, previous)
                for (member, currency), (previous, version, posted) in wallets.items()
            ],
        ).rowcount
        if updated != len(wallets):
            raise InvariantViolation(
                f"{len(wallets) - updated} wallet(s) were not at the version the batch was made "
                "from"
            )
        return ExpiredLots(
            taken=len(due),
            transactions=tuple(TransactionId(uuid.UUID(bytes=row[10])) for row in rows),
            points=tuple(sorted(points.items())),
        )

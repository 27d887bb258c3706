"""The SQLite adapter's set-based expiry: a batch of due lots expired in a few statements.

What is written is exactly what the Python plan writes (see :mod:`pointkit.ledger._set_expiry`);
tests/test_expiry_set_based.py holds the two to the same bytes. A write unit already holds the
database's write lock (``BEGIN IMMEDIATE``), so the lots read are the lots written.

Three queries read the batch: the next due lots in ``(expires_at, id)`` order, whose wallets
(in the order of their first due lot) are the candidates, staged in a temporary table; the
candidates' wallet rows, each with whether it is missing, breaks ``checked_wallet``'s invariants
or differs from its journal entry; and every due lot of the candidates, by the wallet index.
The wallets are taken while their due lots fit the batch's limit (at least one). One pass in
Python makes every value written: per wallet one transaction, its key and id
(``transaction_id_bytes``, which tests pin to ``transaction_id_for``) from its first due lot,
its document from the templates of :mod:`pointkit.ledger._set_expiry` (text quoted as the codec
quotes it) and its checksum (the codec's ``checksum``). The transactions and the lots are
staged in two temporary tables, and every journal table is written from them with one
``INSERT ... SELECT`` or ``UPDATE ... FROM``; the events go last, their ids made by a Python
function SQLite calls once per event (``event_id_bytes``, pinned to ``event_id``). The wallets
are then moved on one version, each guarded by the version the batch started from.

A batch's ids and keys are hashes, so its inserts land all over the tables' indexes: the page
cache is raised while a batch is written, so that each page it dirties is written to the WAL
once, at commit, rather than spilled and written again.
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any, Final

from pointkit import limits
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
    EXPIRY_MOVE,
    ExpiredLots,
    event_id_bytes,
    id_prefix,
    python_format,
    take_wallets,
    transaction_id_bytes,
)


if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Callable, Sequence
    from datetime import datetime


__all__ = ["ExpiryRows"]

# The next due lots' wallets, in (expires_at, lot_id) order of the lots.
_DUE: Final = """
SELECT member, currency FROM pk_lot
WHERE program_id = ?1 AND remaining > held AND expires_at IS NOT NULL AND expires_at <= ?2
ORDER BY expires_at, lot_id LIMIT ?3
"""

_WALLETS: Final = "temp.pk_expiry_wallet"
_TRANSACTIONS: Final = "temp.pk_expiry_txn"
_LOTS: Final = "temp.pk_expiry_lot"

_CREATE: Final = (
    """
CREATE TEMP TABLE IF NOT EXISTS pk_expiry_wallet (
    ord INTEGER PRIMARY KEY,
    member TEXT NOT NULL,
    currency TEXT NOT NULL
) STRICT
""",
    """
CREATE TEMP TABLE IF NOT EXISTS pk_expiry_txn (
    ord INTEGER PRIMARY KEY,
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
""",
    """
CREATE TEMP TABLE IF NOT EXISTS pk_expiry_lot (
    ord INTEGER PRIMARY KEY,
    lot_id BLOB NOT NULL,
    free INTEGER NOT NULL
) STRICT
""",
)

_STAGE_WALLET: Final = f"INSERT INTO {_WALLETS} VALUES (?, ?, ?)"
_STAGE_TRANSACTION: Final = (
    f"INSERT INTO {_TRANSACTIONS} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
# No key on lot_id: the planner then walks the staged lots and finds each by pk_lot's key,
# rather than walking the programme's lots and looking each up among the staged.
_STAGE_LOT: Final = f"INSERT INTO {_LOTS} (lot_id, free) VALUES (?, ?)"

# Each candidate wallet, and whether it is missing, breaks checked_wallet's invariants or
# differs from its entry.
_WALLET_ROWS: Final = f"""
SELECT c.ord, w.version, w.posted, w.held, w.debt,
    w.version IS NULL OR w.debt < 0 OR w.held < 0 OR w.held > w.posted + w.debt
        OR e.version IS NULL OR e.posted IS NOT w.posted OR e.held IS NOT w.held
        OR e.debt IS NOT w.debt AS bad
FROM {_WALLETS} AS c
LEFT JOIN pk_wallet AS w ON w.program_id = ?1 AND w.member = c.member
    AND w.currency = c.currency
LEFT JOIN pk_entry AS e ON e.program_id = w.program_id AND e.member = w.member
    AND e.currency = w.currency AND e.version = w.version
ORDER BY c.ord
"""

# A wallet's due lots, in its expiry order, by the wallet index (named: the planner would
# otherwise walk every due lot of the programme; its partial index's condition spelled out).
# One wallet per query, not the candidates joined: SQLite 3.40 joins a table to this index with
# a Bloom filter that drops every row when the join names ``expiry_order`` (a generated column)
# once the tables are analysed.
_WALLET_LOTS: Final = """
SELECT lot_id, remaining - held FROM pk_lot INDEXED BY pk_lot_open
WHERE program_id = ?1 AND member = ?2 AND currency = ?3 AND remaining > 0
    AND expiry_order <= ?4 AND remaining > held AND expires_at IS NOT NULL AND expires_at <= ?4
ORDER BY expires_at, lot_id
"""

# Each statement with the number of parameters it takes: ?1 the program, ?2 the instant,
# ?3 and ?4 the event's type and version.
_WRITES: Final = (
    (
        (
            "INSERT INTO pk_posting (program_id, txn_id, seq, account_kind, member, currency, "
            "phase, amount, created_at) SELECT ?1, txn_id, 0, 'expired', NULL, currency, 'posted', "
            f"free, ?2 FROM {_TRANSACTIONS} UNION ALL SELECT ?1, txn_id, 1, 'member', member, "
            f"currency, 'posted', -free, ?2 FROM {_TRANSACTIONS}"
        ),
        2,
    ),
    (
        (
            "INSERT INTO pk_txn (program_id, txn_id, idem_key, kind, created_at, reverses, body, "
            f"checksum) SELECT ?1, txn_id, key, 'expiry', ?2, NULL, body, checksum "
            f"FROM {_TRANSACTIONS} ORDER BY ord"
        ),
        2,
    ),
    (
        (
            "INSERT INTO pk_entry (program_id, member, currency, version, txn_id, posted, held, "
            f"debt, posted_change) SELECT ?1, member, currency, version, txn_id, posted, held, debt, "
            f"-free FROM {_TRANSACTIONS}"
        ),
        1,
    ),
    (
        (
            "UPDATE pk_lot SET remaining = pk_lot.held, expired = pk_lot.expired + b.free "
            f"FROM {_LOTS} AS b WHERE pk_lot.program_id = ?1 AND pk_lot.lot_id = b.lot_id"
        ),
        1,
    ),
    (
        (
            "INSERT INTO pk_outbox (program_id, seq, event_id, type, version, occurred_at, data) "
            "SELECT ?1, (SELECT COALESCE(MAX(seq), 0) FROM pk_outbox WHERE program_id = ?1) "
            "+ row_number() OVER (ORDER BY ord), pk_event_id(txn_text), ?3, ?4, ?2, event "
            f"FROM {_TRANSACTIONS} ORDER BY ord ON CONFLICT (program_id, event_id) DO NOTHING"
        ),
        4,
    ),
)

# Each wallet on one version, guarded by the version the batch started from.
_WALLET: Final = (
    "UPDATE pk_wallet SET version = ?, posted = ? WHERE program_id = ? AND member = ? "
    "AND currency = ? AND version = ?"
)

# The page cache while a batch is written (negative: KiB), for the index pages its inserts
# dirty (see above); the connection's own size is set back afterwards.
_CACHE_KIB: Final = -131_072

_DOCUMENT: Final = python_format(EXPIRY_DOCUMENT)
_MOVE: Final = python_format(EXPIRY_MOVE)
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

    def expire_due_lots(
        self,
        now: datetime,
        limit: int,
        *,
        check: Callable[[Sequence[MemberId]], None] | None = None,
    ) -> ExpiredLots:
        """Expire the next due lots' wallets (see :class:`~pointkit.ledger._set_expiry.SetExpiryUnit`)."""
        db = self._db
        (cache,) = db.execute("PRAGMA cache_size").fetchone()
        db.execute(f"PRAGMA cache_size = {_CACHE_KIB}")
        for create in _CREATE:
            db.execute(create)
        try:
            return self._expire(now, limit, check)
        finally:
            for table in (_WALLETS, _TRANSACTIONS, _LOTS):
                db.execute(f"DELETE FROM {table}")
            db.execute(f"PRAGMA cache_size = {int(cache)}")

    def _expire(
        self, now: datetime, limit: int, check: Callable[[Sequence[MemberId]], None] | None
    ) -> ExpiredLots:
        db, program, micros = self._db, self._program, to_micros(now)
        due = db.execute(_DUE, (program, micros, limit)).fetchall()
        if not due:
            return ExpiredLots(0, (), (), complete=True)
        candidates = list(dict.fromkeys(due))
        per_wallet: list[list[tuple[bytes, int]]] = []

        def sizes(start: int, stop: int) -> list[int]:
            """Read the due lots of candidates *start* to *stop*; count each's."""
            for member, currency in candidates[start:stop]:
                per_wallet.append(
                    db.execute(_WALLET_LOTS, (program, member, currency, micros)).fetchall()
                )
            return [len(lots) for lots in per_wallet[start:stop]]

        count, whole = take_wallets(len(candidates), sizes, limit)
        taken = [n for n in range(count) if per_wallet[n]]
        db.executemany(_STAGE_WALLET, [(n, *candidates[n]) for n in taken])
        wallets = {row[0]: row for row in db.execute(_WALLET_ROWS, (program,))}
        bad = sum(1 for n in taken if wallets[n][5])
        if bad:
            raise InvariantViolation(
                f"{bad} stored wallet(s) of an expiry batch are missing, corrupt or disagree "
                "with their journal"
            )
        if check is not None:
            check([MemberId(member) for member in sorted({candidates[n][0] for n in taken})])
        most = limits.LOTS_PER_COMMAND_MAX
        prefix = id_prefix(now)
        transactions: list[tuple[Any, ...]] = []
        moved: list[tuple[bytes, int]] = []
        updates: list[tuple[Any, ...]] = []
        points: dict[str, int] = {}
        for ord_, n in enumerate(taken):
            member, currency = candidates[n]
            lots = per_wallet[n][:most]
            row = _transaction(ord_, member, currency, wallets[n], lots, prefix, micros)
            transactions.append(row)
            moved += lots
            free = row[3]
            updates.append((row[4], row[5], program, member, currency, wallets[n][1]))
            points[currency] = points.get(currency, 0) + free
        db.create_function("pk_event_id", 1, event_id_bytes, deterministic=True)
        db.executemany(_STAGE_TRANSACTION, transactions)
        db.executemany(_STAGE_LOT, moved)
        arguments = (program, micros, EXPIRED_EVENT, EXPIRED_EVENT_VERSION)
        for statement, arity in _WRITES:
            db.execute(statement, arguments[:arity])
        updated = db.executemany(_WALLET, updates).rowcount
        if updated != len(updates):
            raise InvariantViolation(
                f"{len(updates) - updated} wallet(s) were not at the version the batch was made "
                "from"
            )
        return ExpiredLots(
            lots=len(moved),
            transactions=tuple(TransactionId(uuid.UUID(bytes=row[9])) for row in transactions),
            points=tuple(sorted(points.items())),
            complete=len(due) < limit and whole,
        )


def _transaction(
    ord_: int,
    member: str,
    currency: str,
    wallet: tuple[Any, ...],
    lots: Sequence[tuple[bytes, int]],
    prefix: bytes,
    micros: int,
) -> tuple[Any, ...]:
    """The staged row of a wallet's expiry transaction: its values, document and event."""
    _, stored, balance, held, debt, _ = wallet
    texts = [_uuid_text(lot_id) for lot_id, _ in lots]
    free = sum(points for _, points in lots)
    version, posted = stored + 1, balance - free
    key = EXPIRY_KEY_PREFIX + texts[0]
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
        "lot": texts[0],
        "moves": ",".join(
            [
                _MOVE.format(lot=text, free=points, taken=-points)
                for text, (_, points) in zip(texts, lots, strict=True)
            ]
        ),
        "version": version,
        "posted": posted,
        "held": held,
        "debt": debt,
    }
    body = _DOCUMENT.format_map(values)
    return (
        ord_,
        member,
        currency,
        free,
        version,
        posted,
        held,
        debt,
        key,
        txn_id,
        txn,
        body,
        checksum(body),
        _EVENT.format_map(values),
    )

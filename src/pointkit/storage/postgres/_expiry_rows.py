"""The PostgreSQL adapter's set-based expiry: a batch of due lots expired in four statements.

What is written is exactly what the Python plan writes (see :mod:`pointkit.ledger._set_expiry`);
the SQL below restates the expiry plan, and tests/test_expiry_set_based.py holds the two to the
same bytes. The statements, in one unit of work:

1. the due lots, in ``(expires_at, lot_id)`` order, up to the limit;
2. their wallets, locked in key order (``FOR NO KEY UPDATE``, as ``lock_wallets``), each row
   checked against its journal entry as ``checked_wallet`` does;
3. one statement with data-modifying CTEs: the lots still due under the locks, each wallet's
   versions and balances by a running sum in lot order, the ids (the id layout of
   ``_records._time_ordered``, its hash by the built-in ``sha256``), the documents by string
   concatenation (``to_json`` quotes text as ``json.dumps`` does for printable text), the
   checksums, then the postings, transactions, entries, lots and wallets;
4. the ``points.expired`` events: their ids are UUIDv5 (SHA-1), which PostgreSQL does not
   build without an extension, so Python makes them from the transaction ids statement 3
   returns.
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any, Final

from pointkit._values import MemberId
from pointkit.exceptions import InvariantViolation
from pointkit.ledger._codec import to_micros
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
)
from pointkit.storage.postgres._inserts import insert_rows


if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from datetime import datetime

    import psycopg


__all__ = ["ExpiryRows"]

# The due lots' ids, in order, as one text: a list of ids costs more to send than to expire.
_DUE: Final = (
    "SELECT count(*), string_agg(lot_id::text, ',' ORDER BY expires_at, lot_id) FROM ("
    "SELECT lot_id, expires_at FROM {s}.pk_lot WHERE program_id = %s AND remaining > held "
    "AND expires_at IS NOT NULL AND expires_at <= %s ORDER BY expires_at, lot_id LIMIT %s"
    ") AS due"
)

# Lock the lots' wallets in key order (code-point order, COLLATE "C", as every unit locks
# them, whatever the database's collation); count them, and the wallets the lots name; name
# their members.
_LOCK: Final = (
    "SELECT count(*), (SELECT count(*) FROM (SELECT DISTINCT member, currency FROM {s}.pk_lot "
    "WHERE program_id = %(program)s AND lot_id = ANY(string_to_array(%(lots)s, ',')::uuid[])) "
    "AS wallets), string_agg(member, E'\\n') FROM ("
    "SELECT w.member FROM {s}.pk_wallet AS w WHERE w.program_id = %(program)s "
    "AND (w.member, w.currency) IN (SELECT member, currency FROM {s}.pk_lot "
    "WHERE program_id = %(program)s AND lot_id = ANY(string_to_array(%(lots)s, ',')::uuid[])) "
    'ORDER BY w.member COLLATE "C", w.currency COLLATE "C" FOR NO KEY UPDATE OF w) AS locked'
)

# Then, in a statement of its own (under READ COMMITTED a locking read re-reads only the rows
# it locks, not the entries joined to them): the wallets that break checked_wallet's
# invariants or differ from their journal entry.
_CHECK: Final = (
    "SELECT count(*) FROM {s}.pk_wallet AS w LEFT JOIN {s}.pk_entry AS e "
    "ON e.program_id = w.program_id AND e.member = w.member AND e.currency = w.currency "
    "AND e.version = w.version WHERE w.program_id = %(program)s "
    "AND (w.member, w.currency) IN (SELECT member, currency FROM {s}.pk_lot "
    "WHERE program_id = %(program)s AND lot_id = ANY(string_to_array(%(lots)s, ',')::uuid[])) "
    "AND (w.version < 1 OR w.debt < 0 OR w.held < 0 OR w.held > w.posted + w.debt "
    "OR e.version IS NULL OR (w.posted, w.held, w.debt) IS DISTINCT FROM "
    "(e.posted, e.held, e.debt))"
)

# The names of the templates, as columns of the statement's docs.
_VALUES: Final = {
    "free": "free",
    "taken": "-free",
    "micros": "%(micros)s::text",
    "currency": "currency_json",
    "member": "member_json",
    "id": "txn_id",
    "key": "key",
    "lot": "lot_id",
    "version": "version",
    "posted": "posted",
    "held": "held",
    "debt": "debt",
}

# The id: six bytes of milliseconds, the version nibble and 12 bits of the hash, the variant
# and 62 more bits of it (_records._time_ordered).
_ID: Final = (
    "encode(%(prefix)s::bytea || set_byte(set_byte(set_byte('\\x000000'::bytea, "
    "0, 112 | (get_byte(h, 0) >> 4)), 1, ((get_byte(h, 0) & 15) << 4) | (get_byte(h, 1) >> 4)), "
    "2, 128 | (get_byte(h, 2) & 63)) || substring(h FROM 4 FOR 7), 'hex')::uuid"
)

_EXPIRE: Final = f"""
WITH due AS (
    -- Each lot and wallet by its primary key (a lateral lookup, OFFSET 0 keeps it one): the
    -- planner would otherwise scan every due lot, or every wallet, for each batch.
    SELECT c.ord, c.lot_id, l.member, l.currency, l.free
    FROM unnest(string_to_array(%(lots)s, ',')::uuid[]) WITH ORDINALITY AS c(lot_id, ord)
    CROSS JOIN LATERAL (
        SELECT member, currency, remaining - held AS free, expires_at FROM {{s}}.pk_lot
        WHERE program_id = %(program)s AND lot_id = c.lot_id OFFSET 0
    ) AS l
    WHERE l.free > 0 AND l.expires_at <= %(now)s
), walk AS (
    SELECT d.*, w.version AS previous, w.version + row_number() OVER k AS version,
        (w.posted - sum(d.free) OVER k)::bigint AS posted, w.held, w.debt,
        %(key_prefix)s || d.lot_id::text AS key,
        to_json(d.member)::text AS member_json, to_json(d.currency)::text AS currency_json
    FROM due AS d CROSS JOIN LATERAL (
        SELECT version, posted, held, debt FROM {{s}}.pk_wallet
        WHERE program_id = %(program)s AND member = d.member AND currency = d.currency OFFSET 0
    ) AS w
    WINDOW k AS (PARTITION BY d.member, d.currency ORDER BY d.ord ROWS UNBOUNDED PRECEDING)
), ids AS (
    SELECT walk.*, {_ID} AS txn_id
    FROM walk, LATERAL (SELECT sha256(convert_to(walk.key, 'UTF8')) AS h) AS digest
), docs AS (
    SELECT ids.*, {sql_format(EXPIRY_DOCUMENT, _VALUES, function="format", marker="%%s")}
        AS body,
        {sql_format(EXPIRED_EVENT_DATA, _VALUES, function="format", marker="%%s")} AS event
    FROM ids
), postings AS (
    INSERT INTO {{s}}.pk_posting (program_id, txn_member, txn_id, seq, account_kind, member,
        currency, phase, amount, created_at)
    SELECT %(program)s, member, txn_id, 0, 'expired', NULL, currency, 'posted', free, %(now)s
    FROM docs
    UNION ALL
    SELECT %(program)s, member, txn_id, 1, 'member', member, currency, 'posted', -free,
        %(now)s
    FROM docs
), txns AS (
    INSERT INTO {{s}}.pk_txn (program_id, member, txn_id, idem_key, kind, created_at, reverses,
        body, checksum)
    SELECT %(program)s, member, txn_id, key, 'expiry', %(now)s, NULL, body,
        sha256(convert_to(body, 'UTF8'))
    FROM docs ORDER BY ord
), entries AS (
    INSERT INTO {{s}}.pk_entry (program_id, member, currency, version, txn_id, posted, held,
        debt, posted_change)
    SELECT %(program)s, member, currency, version, txn_id, posted, held, debt, -free FROM docs
), lots AS (
    -- The rows by their keys (= ANY of an array is an index scan), not joined: a join to the
    -- batch is planned as a scan of the whole table.
    UPDATE {{s}}.pk_lot SET remaining = held, expired = expired + remaining - held
    WHERE program_id = %(program)s AND lot_id = ANY(ARRAY(SELECT lot_id FROM docs))
), wallets AS (
    UPDATE {{s}}.pk_wallet AS w SET version = v.version, posted = v.posted
    FROM (
        SELECT DISTINCT ON (member, currency) member, currency, previous, version, posted
        FROM docs ORDER BY member, currency, ord DESC
    ) AS v
    WHERE w.program_id = %(program)s AND w.member = ANY(ARRAY(SELECT member FROM docs))
        AND w.member = v.member AND w.currency = v.currency AND w.version = v.previous
    RETURNING 1
)
SELECT count(*), string_agg(txn_id::text, ',' ORDER BY ord),
    string_agg(event, E'\\n' ORDER BY ord), json_agg(member ORDER BY ord)::text,
    (SELECT json_object_agg(currency, points)::text FROM (
        SELECT currency, sum(free) AS points FROM docs GROUP BY currency) AS expired),
    (SELECT count(*) FROM wallets),
    (SELECT count(*) FROM (SELECT DISTINCT member, currency FROM docs) AS touched)
FROM docs
"""

# Rows created with VALUES, which a distributed PostgreSQL routes to the program's shard.
_EVENTS: Final = (
    "INSERT INTO {s}.pk_outbox (program_id, member, event_id, type, version, occurred_at, "
    "data) VALUES"
)


def _one(db: psycopg.Connection[Any], sql: str, arguments: Any) -> tuple[Any, ...]:  # noqa: ANN401 - psycopg's parameters
    """The one row of an aggregate query."""
    row: tuple[Any, ...] | None = db.execute(sql, arguments).fetchone()
    if row is None:  # pragma: no cover - an aggregate always has a row
        raise InvariantViolation("an aggregate query returned no row")
    return row


class ExpiryRows:
    """The set-based expiry of a unit of work; mixed into the adapter's unit."""

    _db: psycopg.Connection[Any]
    _program: str
    _s: str
    _by_member: bool

    @property
    def expires_set_based(self) -> bool:
        """Whether the ledger should expire lots with :meth:`expire_due_lots`.

        Not on the schema distributed by member: a batch's wallets are on many shards, and
        Citus locks rows of one shard per statement. The ledger then plans each lot in
        Python, which locks wallets as commands do.
        """
        return not self._by_member

    def expire_due_lots(
        self,
        now: datetime,
        limit: int,
        *,
        check: Callable[[Sequence[MemberId]], None] | None = None,
    ) -> ExpiredLots:
        """Expire the next *limit* due lots (see :class:`~pointkit.ledger._set_expiry.SetExpiryUnit`)."""
        db, s, program = self._db, self._s, self._program
        taken, lots = _one(db, _DUE.replace("{s}", s), (program, now, limit))
        if not taken:
            return ExpiredLots(0, (), ())
        arguments = {"program": program, "lots": lots}
        locked, wallets, members = _one(db, _LOCK.replace("{s}", s), arguments)
        (bad,) = _one(db, _CHECK.replace("{s}", s), arguments)
        if bad or locked != wallets:
            raise InvariantViolation(
                f"{bad + wallets - locked} stored wallet(s) of an expiry batch are missing, "
                "corrupt or disagree with their journal"
            )
        if check is not None:
            check(sorted({MemberId(member) for member in members.split("\n")}))
        arguments.update(
            now=now,
            micros=str(to_micros(now)),
            prefix=id_prefix(now),
            key_prefix=EXPIRY_KEY_PREFIX,
        )
        expired, ids, events, members, points, updated, touched = _one(
            db, _EXPIRE.replace("{s}", s), arguments
        )
        if updated != touched:
            raise InvariantViolation(
                f"{touched - updated} wallet(s) were not at the version the batch was made from"
            )
        if not expired:
            return ExpiredLots(taken, (), ())
        transactions = ids.split(",")
        insert_rows(
            db,
            _EVENTS.replace("{s}", s),
            [
                (
                    program,
                    member,
                    uuid.UUID(bytes=event_id_bytes(text)),
                    EXPIRED_EVENT,
                    EXPIRED_EVENT_VERSION,
                    now,
                    data,
                )
                for text, data, member in zip(
                    transactions, events.split("\n"), json.loads(members), strict=True
                )
            ],
            " ON CONFLICT DO NOTHING",
        )
        return ExpiredLots(
            taken=taken,
            transactions=tuple(TransactionId(uuid.UUID(text)) for text in transactions),
            points=tuple(sorted(json.loads(points).items())),
        )

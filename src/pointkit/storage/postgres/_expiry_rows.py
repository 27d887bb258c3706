"""The PostgreSQL adapter's set-based expiry: a batch of wallets' due lots expired in SQL.

What is written is exactly what the Python plan writes (see :mod:`pointkit.ledger._set_expiry`
and ``ExpiryRuns._expire_lots``): one expiry transaction per wallet, moving the wallet's due
lots (its first ``limits.LOTS_PER_COMMAND_MAX`` in ``(expires_at, lot_id)`` order), keyed by
the first of them. The SQL below restates that plan, and tests/test_expiry_set_based.py holds
the two to the same bytes. The statements, in one unit of work:

1. the batch's candidates: the program's next due lots in ``(expires_at, lot_id)`` order, up
   to the limit, and their wallets, in the order of their first lot, as one JSON text; then
   their due lots counted, a statement per chunk of candidates, until the wallets taken in
   order fill the limit (``take_wallets``: at least one; a wallet with more due lots than
   one transaction takes is the batch's last). The taken wallets' keys go to the next
   statements as one JSON text;
2. the taken wallets, each looked up by its key and locked, in key order (``FOR NO KEY
   UPDATE``, as ``lock_wallets``);
3. in a statement of its own, so that it reads what the transactions it waited for wrote: the
   wallets that break ``checked_wallet``'s invariants or differ from their journal entry;
4. one statement with data-modifying CTEs: each wallet's due lots read again under the locks
   (a lot spent, clawed back or expired meanwhile is left out; a wallet left with none writes
   nothing), a transaction per wallet with its total and its moves in lot order, its id (the
   id layout of ``_records._time_ordered``, its hash by the built-in ``sha256``), document
   (by ``format``; ``to_json`` quotes text as ``json.dumps`` does for printable text) and
   checksum, then the postings, transactions, entries, lots and wallets, the wallets guarded
   by the version they were read at;
5. the ``points.expired`` events: their ids are UUIDv5 (SHA-1), which PostgreSQL does not
   build without an extension, so Python makes them from the transaction ids statement 4
   returns.

Every read of a wallet, its entry or its lots is a subquery per key (``LATERAL``, kept one by
``LIMIT``, ``OFFSET 0`` or ``ORDER BY``), and the updates find their rows where the reads
did (``ctid``): a generic plan made while the tables were small (not analyzed yet) would
otherwise scan the program's rows for each batch (see tests/test_postgres_plans.py).

One server only: on a schema distributed with Citus the ledger plans expiry in Python
(``expires_set_based``).
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any, Final

from pointkit import limits
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
    EXPIRY_MOVE,
    ExpiredLots,
    event_id_bytes,
    id_prefix,
    sql_format,
    take_wallets,
)
from pointkit.storage.postgres._inserts import insert_rows
from pointkit.storage.postgres._rows import spending_order


if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from datetime import datetime

    import psycopg


__all__ = ["ExpiryRows"]

# A wallet's due lots: its lots with free points whose expiry has come, by the index of open
# lots, in its order (pk_lot_open: the wallet, then spending order, whose first column,
# COALESCE(expires_at, 'infinity'), the range is on; ``remaining > 0`` is the index's
# predicate). The index's order is asked for so that the planner takes that index even
# without statistics: pk_lot_outstanding has the same predicate and costs the same then, and
# reads every lot of the currency. {wallet} is the alias of the row giving the wallet's key.
_WALLET_DUE: Final = (
    "SELECT {columns} FROM {{s}}.pk_lot WHERE program_id = %(program)s "
    "AND member = {wallet}.member AND currency = {wallet}.currency "
    "AND COALESCE(expires_at, 'infinity') <= %(now)s AND remaining > 0 AND remaining > held "
    f"ORDER BY {spending_order()}"
)

# The batch's candidates: the program's next due lots (by pk_lot_due), how many were read, and
# their wallets in the order of their first lot, as one JSON text of [member, currency] pairs.
_CANDIDATES: Final = """
WITH due AS (
    SELECT lot_id, member, currency, expires_at FROM {s}.pk_lot
    WHERE program_id = %(program)s AND remaining > held AND expires_at IS NOT NULL
        AND expires_at <= %(now)s
    ORDER BY expires_at, lot_id LIMIT %(limit)s
), candidates AS (
    SELECT member, currency, min(n) AS first FROM (
        SELECT member, currency, row_number() OVER (ORDER BY expires_at, lot_id) AS n FROM due
    ) AS numbered
    GROUP BY member, currency
)
SELECT (SELECT count(*) FROM due),
    (SELECT json_agg(json_build_array(member, currency) ORDER BY first) FROM candidates)::text
"""

# The taken wallets' keys, from the batch's JSON text.
_KEYS: Final = (
    "SELECT k.value ->> 0 AS member, k.value ->> 1 AS currency, k.ord "
    "FROM json_array_elements(%(wallets)s::json) WITH ORDINALITY AS k(value, ord)"
)

# Each of some candidates' due lots, counted to one past LOTS_PER_COMMAND_MAX, in their order
# (``take_wallets`` asks for them a chunk at a time).
_COUNT: Final = (
    f"SELECT json_agg(n.lots ORDER BY k.ord)::text FROM ({_KEYS}) AS k CROSS JOIN LATERAL ("
    f"SELECT count(*) AS lots FROM ({_WALLET_DUE.format(columns='1', wallet='k')} "
    "LIMIT %(most)s + 1) AS lots) AS n"
)

# Lock the wallets in key order (code-point order, COLLATE "C", as every unit locks them,
# whatever the database's collation), each looked up by its key; count them and name their
# members. A sorted subquery is not flattened, and the lookups run in its order.
_LOCK: Final = (
    "SELECT count(*), string_agg(w.member, E'\\n') FROM ("
    f'{_KEYS} ORDER BY (k.value ->> 0) COLLATE "C", (k.value ->> 1) COLLATE "C") AS k '
    "CROSS JOIN LATERAL ("
    "SELECT member FROM {s}.pk_wallet WHERE program_id = %(program)s AND member = k.member "
    "AND currency = k.currency FOR NO KEY UPDATE) AS w"
)

# Then, in a statement of its own (under READ COMMITTED a locking read re-reads only the rows
# it locks, not the entries joined to them): the wallets that break checked_wallet's
# invariants or differ from their journal entry.
_CHECK: Final = (
    f"SELECT count(*) FROM ({_KEYS}) AS k CROSS JOIN LATERAL ("
    "SELECT version, posted, held, debt FROM {s}.pk_wallet WHERE program_id = %(program)s "
    "AND member = k.member AND currency = k.currency LIMIT 1) AS w LEFT JOIN LATERAL ("
    "SELECT posted, held, debt FROM {s}.pk_entry WHERE program_id = %(program)s "
    "AND member = k.member AND currency = k.currency AND version = w.version LIMIT 1) AS e "
    "ON true WHERE w.version < 1 OR w.debt < 0 OR w.held < 0 OR w.held > w.posted + w.debt "
    "OR e.posted IS NULL OR (w.posted, w.held, w.debt) IS DISTINCT FROM "
    "(e.posted, e.held, e.debt)"
)

# The names of the templates, as columns: of the statement's due lots for a move, of its docs
# for the document and the event.
_MOVE_VALUES: Final = {"lot": "lot_id", "taken": "-free", "free": "free"}
_VALUES: Final = {
    "free": "free",
    "taken": "-free",
    "micros": "%(micros)s::text",
    "currency": "currency_json",
    "member": "member_json",
    "id": "txn_id",
    "key": "key",
    "lot": "lot_id",
    "moves": "moves",
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

# What statement 4 reads of each due lot: where it is (its ctid, see below), its id, free
# points and expiry.
_DUE_COLUMNS: Final = "ctid AS at, lot_id, remaining - held AS free, expires_at"

# A wallet's due lots, in (expires_at, lot_id) order.
_IN_ORDER: Final = "ORDER BY expires_at, lot_id"

_EXPIRE: Final = f"""
WITH expiries AS (
    -- Each wallet's due lots, read again under the locks (the first LOTS_PER_COMMAND_MAX in
    -- (expires_at, lot_id) order, of all read in the index's order), as its transaction's
    -- lots, total, moves and first lot, which names it; a wallet left with none is passed
    -- over. A lateral subquery with ORDER BY or an aggregate is not flattened: it stays a
    -- lookup per wallet, whatever the statistics.
    SELECT k.ord, k.member, k.currency, x.*
    FROM ({_KEYS}) AS k CROSS JOIN LATERAL (
        SELECT count(*) AS lots, sum(free)::bigint AS free,
            (array_agg(lot_id {_IN_ORDER}))[1] AS lot_id,
            string_agg({sql_format(EXPIRY_MOVE, _MOVE_VALUES, function="format", marker="%%s")},
                ',' {_IN_ORDER}) AS moves,
            array_agg(at) AS ats, array_agg(lot_id) AS ids
        FROM (
            SELECT * FROM ({_WALLET_DUE.format(columns=_DUE_COLUMNS, wallet="k")}) AS open
            {_IN_ORDER} LIMIT %(most)s
        ) AS due
    ) AS x
    WHERE x.lots > 0
), walk AS (
    -- Each wallet by its primary key (a lateral lookup, OFFSET 0 keeps it one).
    SELECT x.ord, x.member, x.currency, x.lots, x.free, x.lot_id, x.moves, w.at,
        w.version AS previous, w.version + 1 AS version, w.posted - x.free AS posted, w.held,
        w.debt, %(key_prefix)s || x.lot_id::text AS key,
        to_json(x.member)::text AS member_json, to_json(x.currency)::text AS currency_json
    FROM expiries AS x CROSS JOIN LATERAL (
        SELECT ctid AS at, version, posted, held, debt FROM {{s}}.pk_wallet
        WHERE program_id = %(program)s AND member = x.member AND currency = x.currency OFFSET 0
    ) AS w
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
    -- The lots and wallets are updated where the reads found them, by ctid: the wallets are
    -- locked by this unit, and a lot changes only under its wallet's lock, so neither has
    -- moved (a lot that had would not be updated, and the counts would tell). A Tid Scan
    -- whatever the statistics, as _writes updates wallets.
    UPDATE {{s}}.pk_lot AS l SET remaining = held, expired = expired + remaining - held
    WHERE l.ctid = ANY(ARRAY(SELECT unnest(ats) FROM expiries))
    RETURNING 1
), wallets AS (
    UPDATE {{s}}.pk_wallet AS w SET version = d.version, posted = d.posted
    FROM docs AS d
    WHERE w.ctid = ANY(ARRAY(SELECT at FROM docs)) AND w.ctid = d.at
        AND w.version = d.previous
    RETURNING 1
)
SELECT count(*), coalesce(sum(lots), 0)::bigint, string_agg(txn_id::text, ',' ORDER BY ord),
    string_agg(event, E'\\n' ORDER BY ord), json_agg(member ORDER BY ord)::text,
    (SELECT json_object_agg(currency, points)::text FROM (
        SELECT currency, sum(free) AS points FROM docs GROUP BY currency) AS expired),
    (SELECT count(*) FROM wallets), (SELECT count(*) FROM lots)
FROM docs
"""

# The points.expired events, rows created with VALUES (statement 5).
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
    _together: bool

    @property
    def expires_set_based(self) -> bool:
        """Whether the ledger should expire lots with :meth:`expire_due_lots`.

        On one server only. On a schema distributed with Citus the ledger plans each lot in
        Python, which locks wallets and writes rows as commands do: the batch's statement
        creates its rows from its own reads (``INSERT ... SELECT``) and updates the rows it
        read, which Citus plans on the coordinator (by program it refuses it: "recursively
        planned distributed modifications"), and by member a batch's wallets are on many
        shards, whose rows Citus does not lock in one statement.
        """
        return self._together

    def expire_due_lots(
        self,
        now: datetime,
        limit: int,
        *,
        check: Callable[[Sequence[MemberId]], None] | None = None,
    ) -> ExpiredLots:
        """Expire the due lots of the wallets of the next *limit* due lots, a transaction each.

        See :class:`~pointkit.ledger._set_expiry.SetExpiryUnit`. The wallets are chosen from
        the rows as they were before they were locked; their due lots are read again under
        the locks, so a lot spent or expired meanwhile is not expired from a stale row.

        Raises:
            InvariantViolation: If a wallet of the batch is missing, breaks its invariants or
                differs from its journal, or moved on while the batch was written.
        """
        db, s, program = self._db, self._s, self._program
        arguments: dict[str, object] = {
            "program": program,
            "now": now,
            "limit": limit,
            "most": limits.LOTS_PER_COMMAND_MAX,  # read now: tests lower it
        }
        read, found = _one(db, _CANDIDATES.replace("{s}", s), arguments)
        if not read:
            return ExpiredLots(0, (), (), complete=True)
        candidates: list[list[str]] = json.loads(found)

        def sizes(start: int, stop: int) -> list[int]:
            chunk = {**arguments, "wallets": json.dumps(candidates[start:stop])}
            (counts,) = _one(db, _COUNT.replace("{s}", s), chunk)
            return list(json.loads(counts))

        taken, whole = take_wallets(len(candidates), sizes, limit)
        # Nothing is left due only if the due lots were fewer than the limit (all were read)
        # and every one of their wallets is expired now, each whole.
        complete = read < limit and whole
        arguments["wallets"] = json.dumps(candidates[:taken])
        locked, members = _one(db, _LOCK.replace("{s}", s), arguments)
        (bad,) = _one(db, _CHECK.replace("{s}", s), arguments)
        if bad or locked != taken:
            raise InvariantViolation(
                f"{bad + taken - locked} stored wallet(s) of an expiry batch are missing, "
                "corrupt or disagree with their journal"
            )
        if check is not None:
            check(sorted({MemberId(member) for member in members.split("\n")}))
        arguments.update(
            micros=str(to_micros(now)),
            prefix=id_prefix(now),
            key_prefix=EXPIRY_KEY_PREFIX,
        )
        written, lots, ids, events, members, points, updated, moved = _one(
            db, _EXPIRE.replace("{s}", s), arguments
        )
        if updated != written or moved != lots:
            raise InvariantViolation(
                f"{written - updated} wallet(s) were not at the version the batch was made "
                f"from, {lots - moved} lot(s) not where it read them"
            )
        if not written:
            return ExpiredLots(0, (), (), complete=complete)
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
            lots=lots,
            transactions=tuple(TransactionId(uuid.UUID(text)) for text in transactions),
            points=tuple(sorted(json.loads(points).items())),
            complete=complete,
        )

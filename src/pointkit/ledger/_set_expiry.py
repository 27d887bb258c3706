"""Set-based expiry: the optional storage part that expires a batch of due lots in SQL.

Maintainer's notes
------------------
An expiry run over a million lots cannot afford a Python booking, a JSON encoding and a
round trip per lot. A SQL adapter may therefore offer ``expire_due_lots`` on its write unit:
it reads the next due lots in ``(expires_at, id)`` order, takes their wallets in the order of
their first due lot, locks them (sorted, as ``lock_wallets`` does), and writes in a few
statements exactly the rows the Python plan of :meth:`~pointkit.ledger.Ledger.expire_due`
would write — per wallet one transaction moving all its due lots (its first
``limits.LOTS_PER_COMMAND_MAX``), with the same ids, keys, documents (byte for byte) and
checksums, postings, wallet entry, lot and wallet rows, and ``points.expired`` event.

Which lots go in which transaction does not depend on how a run is cut into batches: a wallet's
transaction holds its due lots at the run's instant, named by the first. A batch takes wallets
while their lots fit its limit (at least one wallet); a wallet with more due lots than one
transaction takes ends the batch, and the rest of its lots wait for their turn by their first.

The Python booking stays the one statement of the rules: an expiry transaction is the simplest
plan there is (the lots' free points go from the member to the expired account; held points
stay; the wallet's debt is copied), so the SQL restates only that, and the conformance machine
and tests/test_expiry_set_based.py run both paths side by side and compare the journals. The
ledger uses the Python path whenever a plan could be anything else: a seal key is set (the
seal is an HMAC the SQL does not compute), or the storage has no such method. Command guards
still run: once per member of the batch, after the wallets are locked and before anything is
written.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Final, Protocol, final, runtime_checkable

import attrs

from pointkit import limits
from pointkit.ledger._envelope import RESERVED_KEY_PREFIX
from pointkit.ledger._outbox import _NAMESPACE, EVENT_TYPES


if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from pointkit._values import MemberId
    from pointkit.ledger._records import TransactionId


__all__ = [
    "EXPIRED_EVENT",
    "EXPIRED_EVENT_DATA",
    "EXPIRED_EVENT_VERSION",
    "EXPIRY_DOCUMENT",
    "EXPIRY_KEY_PREFIX",
    "EXPIRY_MOVE",
    "EXPIRY_REASON",
    "ExpiredLots",
    "SetExpiryUnit",
    "event_id_bytes",
    "id_prefix",
    "python_format",
    "sql_format",
    "take_wallets",
    "transaction_id_bytes",
]

EXPIRY_KEY_PREFIX: Final = f"{RESERVED_KEY_PREFIX}expiry:"
"""The idempotency key of a lot's expiry is this prefix and the lot's id."""

EXPIRED_EVENT: Final = "points.expired"
"""The outbox event type of an expiry transaction."""

EXPIRED_EVENT_VERSION: Final = EVENT_TYPES[EXPIRED_EVENT][0]

EXPIRY_REASON: Final = "points expired"
"""The reason an expiry transaction records."""

EXPIRY_DOCUMENT: Final = (
    '{"amount":<free>,"created_at":<micros>,"currency":<currency>,"debt_moves":[],"hold":null,'
    '"hold_expires_at":null,"id":"<id>","key":"<key>","kind":"expiry","lot_moves":[<moves>],'
    '"lots_created":[],"metadata":[],"postings":[["expired",null,"posted",<free>],["member",'
    f'<member>,"posted",<taken>]],"reason":"{EXPIRY_REASON}","request":[["command","expiry"],'
    '["lot","\\"<lot>\\""]],"reverses":null,"v":1,"wallet_changes":[[<member>,<version>,'
    "<posted>,<held>,<debt>,<taken>]]}"
)
"""An expiry transaction's document as ``encode_transaction`` writes it (format 1), with
``<name>`` for each value: ``free`` points expired in all and ``taken`` (their negation), the
JSON texts ``currency`` and ``member``, the ``id``, ``key`` and first ``lot`` as text,
``micros`` (the instant), ``moves`` (the lots' :data:`EXPIRY_MOVE` texts joined by commas, in
``(expires_at, id)`` order), and the wallet's ``version``, ``posted``, ``held`` and ``debt``
afterwards."""

EXPIRY_MOVE: Final = '["<lot>",<taken>,0,<free>,"expire"]'
"""One lot's move in :data:`EXPIRY_DOCUMENT`: its id, and the ``free`` points it expired."""

EXPIRED_EVENT_DATA: Final = (
    '{"amount":<free>,"currency":<currency>,"hold":null,"key":"<key>","kind":"expiry",'
    f'"metadata":[],"reason":"{EXPIRY_REASON}","reverses":null,"transaction":"<id>","wallets":'
    '[{"balance":<posted>,"change":<taken>,"held":<held>,"member":<member>}],"written_off":0}'
)
"""The data of an expiry's ``points.expired`` event as ``transaction_event`` writes it, with
the names of :data:`EXPIRY_DOCUMENT`."""

# How many candidate wallets a batch first reads the due lots of, and the most it reads at once
# after: it then reads as many as the room left holds at the lots per wallet seen so far, so
# that a batch reads about the lots it expires, however many each wallet has.
_FIRST_WALLETS: Final = 256
_MOST_WALLETS: Final = 2_048

_EVENT_SEED: Final = _NAMESPACE.bytes + f"{EXPIRED_EVENT}:".encode()
_NAME: Final = re.compile(r"<(\w+)>")
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND: Final = timedelta(milliseconds=1)


def id_prefix(at: datetime) -> bytes:
    """The first six bytes of every transaction id made at *at*: its Unix milliseconds.

    The rest of the id comes from the SHA-256 of the key (see ``_records._time_ordered``),
    which SQL computes per row.
    """
    millis = (at - _EPOCH) // _MILLISECOND
    return (millis & ((1 << 48) - 1)).to_bytes(6, "big")


def transaction_id_bytes(prefix: bytes, key: str) -> bytes:
    """``transaction_id_for(key, at).bytes``, given ``id_prefix(at)``: without a UUID object.

    The SQLite batch makes each lot's id with it; tests/test_expiry_set_based.py pins it to
    :func:`~pointkit.ledger._records.transaction_id_for`.
    """
    digest = hashlib.sha256(key.encode()).digest()
    middle = (
        0x70 | digest[0] >> 4,
        (digest[0] & 0xF) << 4 | digest[1] >> 4,
        0x80 | digest[2] & 0x3F,
    )
    return prefix + bytes(middle) + digest[3:10]


def event_id_bytes(transaction: str) -> bytes:
    """``event_id("points.expired", transaction).bytes`` (a UUIDv5), without a UUID object."""
    digest = bytearray(hashlib.sha1(_EVENT_SEED + transaction.encode()).digest()[:16])  # noqa: S324 - UUIDv5 is SHA-1 by definition
    digest[6] = digest[6] & 0x0F | 0x50
    digest[8] = digest[8] & 0x3F | 0x80
    return bytes(digest)


def sql_format(template: str, expressions: Mapping[str, str], *, function: str, marker: str) -> str:
    """*template* as one call of a SQL formatting function (``printf``, ``format``).

    The literal parts make its format string, each ``<name>`` a *marker* (``%s``) there and
    ``expressions[name]`` an argument. One call builds a document faster than a chain of
    ``||``. The literal parts must hold no ``%``.
    """
    parts = _NAME.split(template)
    literal = marker.join(part.replace("'", "''") for part in parts[::2])
    arguments = ", ".join(expressions[name] for name in parts[1::2])
    return f"{function}('{literal}', {arguments})"


def python_format(template: str) -> str:
    """*template* as a :meth:`str.format` pattern: each ``<name>`` a ``{name}`` field."""
    return _NAME.sub(r"{\1}", template.replace("{", "{{").replace("}", "}}"))


def take_wallets(
    candidates: int, sizes: Callable[[int, int], Sequence[int]], limit: int
) -> tuple[int, bool]:
    """How many of a batch's candidate wallets it takes, and whether that is all of them, whole.

    The rule of :meth:`SetExpiryUnit.expire_due_lots`: wallets in order while their due lots
    fit *limit* (at least one wallet with lots); a wallet with more due lots than one
    transaction takes (``limits.LOTS_PER_COMMAND_MAX``) is the last taken. ``sizes(start,
    stop)`` gives the due lots of candidates ``start`` to ``stop`` (a wallet's counted at least
    to one past that most); it is asked for a few wallets first, then for as many as the room
    left holds at the lots per wallet seen, so a batch reads about the lots it takes.

    Returns:
        How many candidates, in order, the batch takes (some may have no due lots left), and
        whether it takes all of them and each whole.
    """
    most = limits.LOTS_PER_COMMAND_MAX
    room, start, wallets = limit, 0, _FIRST_WALLETS
    seen_wallets = seen_lots = 0
    while start < candidates:
        stop = min(candidates, start + wallets)
        counts = sizes(start, stop)
        for n, count in enumerate(counts, start):
            size = min(count, most)
            if room < limit and size > room:
                return n, False
            room -= size
            if count > most:
                return n + 1, False
        seen_wallets += len(counts)
        seen_lots += sum(min(count, most) for count in counts)
        per_wallet = max(1, seen_lots // max(1, seen_wallets))
        wallets = max(1, min(_MOST_WALLETS, room // per_wallet + 1))
        start = stop
    return candidates, True


@final
@attrs.frozen
class ExpiredLots:
    """What one set-based expiry unit did.

    Attributes:
        lots: The lots it expired.
        transactions: The ids of the expiry transactions it wrote (one per wallet, or per
            ``limits.LOTS_PER_COMMAND_MAX`` of a wallet's lots), in the order written.
        points: Points moved to the expired account, per currency code, sorted.
        complete: Whether no lot was left due: it took fewer due lots than its limit, and
            every wallet they are in.
    """

    lots: int
    transactions: tuple[TransactionId, ...]
    points: tuple[tuple[str, int], ...]
    complete: bool


@runtime_checkable
class SetExpiryUnit(Protocol):
    """A write unit that can expire due lots set-based (an optional storage part)."""

    def expire_due_lots(
        self,
        now: datetime,
        limit: int,
        *,
        check: Callable[[Sequence[MemberId]], None] | None = None,
    ) -> ExpiredLots:
        """Expire the due lots of the wallets of the next *limit* lots due at *now*.

        The wallets are taken in the order of their first due lot by ``(expires_at, id)``, as
        many as *limit* lots in all allow (at least one). Each wallet's due lots, its first
        ``limits.LOTS_PER_COMMAND_MAX`` in that order, expire in one transaction keyed by
        the first; the transactions are written in the wallets' order.

        Args:
            now: The run's instant: the transactions' time, and what is due.
            limit: The most due lots to read for wallets, and to expire unless one wallet has
                more.
            check: Called with the batch's members, sorted, once their wallets are locked and
                before anything is written; it refuses the batch by raising.

        Returns:
            What it wrote.
        """
        ...

"""How ledger records are written to and read from a database: a versioned JSON format.

Maintainer's notes
------------------
A transaction is stored whole, as one JSON document with a SHA-256 checksum
beside it; SQL adapters also keep normalised rows (postings, wallet entries, lots, holds) for
queries, locks and reports, and the audit compares the two. Everything read back is checked
before the ledger uses it: a row that breaks an invariant, a document that does not parse, or a
checksum that does not match raises :class:`~pointkit.exceptions.InvariantViolation`, never a
wrong balance.

The format is a contract with data already written: tests/test_codec.py pins documents written
by this version, and every later version must still read them. Change the format only by adding
a new version number and keeping the reader for the old one.

Versions: format 1 is the original. Format 2 adds inactivity expiry: a twelfth lot field
(``follows_activity``) and the transaction's ``expiry_extensions``. A transaction that uses
neither is still written as format 1: a document changes only when it has something new to
say.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from pointkit import limits
from pointkit._values import MemberId
from pointkit.exceptions import InvariantViolation
from pointkit.ledger._records import (
    AccountId,
    AccountKind,
    DebtMove,
    ExpiryExtension,
    Hold,
    HoldId,
    HoldStatus,
    Lot,
    LotId,
    LotMove,
    MoveReason,
    Phase,
    Posting,
    Transaction,
    TransactionId,
    TransactionKind,
    WalletChange,
)


if TYPE_CHECKING:
    from pointkit.ledger._storage import WalletState


__all__ = [
    "FORMAT_VERSION",
    "checked_document",
    "checked_hold",
    "checked_lot",
    "checked_wallet",
    "checksum",
    "decode_allocations",
    "decode_transaction",
    "encode_allocations",
    "encode_transaction",
    "from_micros",
    "to_micros",
]

FORMAT_VERSION: Final = 2
"""The newest format this version writes; it reads every format from 1 to this one."""
_FORMAT_1: Final = 1
_LOT_FIELDS: Final = {1: 11, 2: 12}
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)
# What json.dumps(text, ensure_ascii=False) writes a str with.
_text: Final = json.encoder.encode_basestring


def to_micros(at: datetime) -> int:
    """An aware instant as whole microseconds since the Unix epoch (exact)."""
    return (at - _EPOCH) // _MICROSECOND


def from_micros(micros: int) -> datetime:
    """The instant *micros* microseconds after the Unix epoch, in UTC."""
    return _EPOCH + timedelta(microseconds=micros)


def checksum(document: str) -> bytes:
    """The SHA-256 digest stored beside a document, to detect corruption and tampering."""
    return hashlib.sha256(document.encode()).digest()


def _pairs(pairs: tuple[tuple[str, str], ...]) -> str:
    return "[" + ",".join([f"[{_text(name)},{_text(value)}]" for name, value in pairs]) + "]"


def _lot(lot: Lot, version: int, transaction: Transaction, ids: tuple[str, int]) -> str:
    # *ids*: the transaction's id and creation instant as written; lots a command creates
    # mostly share both, and each is costly to write afresh.
    follows = ("true" if lot.follows_activity else "false") if version >= 2 else ""  # noqa: PLR2004 - format 2
    at = transaction.created_at
    earned = ids[1] if lot.earned_at is at else to_micros(lot.earned_at)
    available = ids[1] if lot.available_at is at else to_micros(lot.available_at)
    source = ids[0] if lot.source is transaction.id else str(lot.source)
    return (
        f'["{lot.id}",{_text(lot.member)},{_text(lot.currency)},{lot.amount},{lot.remaining},'
        f"{lot.held},{lot.expired},{earned},{available},"
        f"{'null' if lot.expires_at is None else to_micros(lot.expires_at)},"
        f'"{source}"{"," if follows else ""}{follows}]'
    )


def _version_for(transaction: Transaction) -> int:
    """The oldest format that can hold *transaction*."""
    if transaction.expiry_extensions:
        return FORMAT_VERSION
    for lot in transaction.lots_created:
        if lot.follows_activity:
            return FORMAT_VERSION
    return _FORMAT_1


def encode_transaction(transaction: Transaction) -> str:
    """Write *transaction* as a JSON document (compact, keys sorted).

    It is written in the oldest format that holds it: format 1 unless it uses inactivity
    expiry. The text is exactly what ``json.dumps(document, ensure_ascii=False,
    separators=(",", ":"), sort_keys=True)`` writes for the document (tests/test_codec.py
    checks it against that): the layout is fixed, so it is written directly, without
    building the document first; every command pays for this. The enums are StrEnums, which
    format as their values.
    """
    # Empty parts (most transactions have no moves, debts, hold or metadata) are written
    # without walking them, and the helpers' null checks are inlined: fewer calls per document.
    version = _version_for(transaction)
    ids = (str(transaction.id), to_micros(transaction.created_at))
    postings = ",".join(
        [
            f'["{p.account.kind}",'
            f"{'null' if p.account.member is None else _text(p.account.member)},"
            f'"{p.phase}",{p.amount}]'
            for p in transaction.postings
        ]
    )
    created = transaction.lots_created
    lots = (
        _lot(created[0], version, transaction, ids)
        if len(created) == 1
        else ",".join([_lot(lot, version, transaction, ids) for lot in created])
    )
    moves = (
        ",".join(
            [
                f'["{m.lot}",{m.remaining},{m.held},{m.expired},"{m.reason}"]'
                for m in transaction.lot_moves
            ]
        )
        if transaction.lot_moves
        else ""
    )
    debts = (
        ",".join([f"[{_text(m.member)},{m.amount}]" for m in transaction.debt_moves])
        if transaction.debt_moves
        else ""
    )
    changes = ",".join(
        [
            f"[{_text(c.member)},{c.version},{c.posted},{c.held},{c.debt},{c.posted_change}]"
            for c in transaction.wallet_changes
        ]
    )
    extensions = (
        ',"expiry_extensions":['
        + ",".join(
            f"[{_text(e.member)},{_text(e.currency)},{to_micros(e.expires_at)}]"
            for e in transaction.expiry_extensions
        )
        + "]"
        if version >= 2  # noqa: PLR2004 - format 2
        else ""
    )
    seal = "" if transaction.seal is None else f',"seal":{_text(transaction.seal)}'
    written_off = f',"written_off":{transaction.written_off}' if transaction.written_off else ""
    hold = "null" if transaction.hold is None else f'"{transaction.hold}"'
    hold_expires_at = (
        "null"
        if transaction.hold_expires_at is None
        else str(to_micros(transaction.hold_expires_at))
    )
    reverses = "null" if transaction.reverses is None else f'"{transaction.reverses}"'
    reason = "null" if transaction.reason is None else _text(transaction.reason)
    metadata = _pairs(transaction.metadata) if transaction.metadata else "[]"
    return (
        f'{{"amount":{transaction.amount},"created_at":{ids[1]},'
        f'"currency":{_text(transaction.currency)},"debt_moves":[{debts}]{extensions},'
        f'"hold":{hold},"hold_expires_at":{hold_expires_at},'
        f'"id":"{ids[0]}","key":{_text(transaction.key)},'
        f'"kind":"{transaction.kind}","lot_moves":[{moves}],"lots_created":[{lots}],'
        f'"metadata":{metadata},"postings":[{postings}],'
        f'"reason":{reason},"request":{_pairs(transaction.request)},'
        f'"reverses":{reverses}{seal},"v":{version},"wallet_changes":[{changes}]{written_off}}}'
    )


class _Corrupt(Exception):  # noqa: N818 - internal signal, always turned into InvariantViolation
    pass


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Corrupt(f"{value!r} is not an integer")
    if not -limits.POINTS_MAX <= value <= limits.POINTS_MAX:
        raise _Corrupt(f"{value!r} is out of range")
    return value


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise _Corrupt(f"{value!r} is not text")
    return value


def _opt_str(value: object) -> str | None:
    return None if value is None else _str(value)


def _uuid(value: object) -> uuid.UUID:
    try:
        return uuid.UUID(_str(value))
    except ValueError:
        raise _Corrupt(f"{value!r} is not an id") from None


def _opt_uuid(value: object) -> uuid.UUID | None:
    return None if value is None else _uuid(value)


def _at(value: object) -> datetime:
    return from_micros(_int(value))


def _opt_at(value: object) -> datetime | None:
    return None if value is None else _at(value)


def _list(value: object, width: int | None = None) -> list[Any]:
    if not isinstance(value, list):
        raise _Corrupt(f"{value!r} is not a list")
    if width is not None and len(value) != width:
        raise _Corrupt(f"{value!r} does not have {width} items")
    return value


def _bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise _Corrupt(f"{value!r} is not true or false")
    return value


def _decode_lot(row: object, version: int) -> Lot:
    fields = _list(row, _LOT_FIELDS[version])
    (lot_id, member, currency, amount, remaining, held, expired, earned, available, expires,
     source) = fields[:11]  # fmt: skip
    return checked_lot(
        Lot(
            id=LotId(_uuid(lot_id)),
            member=MemberId(_str(member)),
            currency=_str(currency),
            amount=_int(amount),
            remaining=_int(remaining),
            held=_int(held),
            expired=_int(expired),
            earned_at=_at(earned),
            available_at=_at(available),
            expires_at=_opt_at(expires),
            source=TransactionId(_uuid(source)),
            follows_activity=_bool(fields[11]) if len(fields) > 11 else False,  # noqa: PLR2004
        )
    )


def _decode(parsed: object) -> Transaction:
    if not isinstance(parsed, dict):
        raise _Corrupt("the document is not an object")
    document: dict[str, Any] = parsed
    version = document.get("v")
    if version not in _LOT_FIELDS:
        raise _Corrupt(f"format version {version!r} is not one of {sorted(_LOT_FIELDS)}")
    currency = _str(document["currency"])
    postings = []
    for row in _list(document["postings"]):
        kind, member, phase, amount = _list(row, 4)
        account = AccountId(
            AccountKind(kind), currency, None if member is None else MemberId(member)
        )
        postings.append(Posting(account, _int(amount), Phase(phase)))
    moves = [
        LotMove(LotId(_uuid(lot)), _int(rem), _int(held), _int(exp), MoveReason(reason))
        for lot, rem, held, exp, reason in (_list(row, 5) for row in _list(document["lot_moves"]))
    ]
    debts = [
        DebtMove(MemberId(_str(member)), currency, _int(amount))
        for member, amount in (_list(row, 2) for row in _list(document["debt_moves"]))
    ]
    changes = [
        WalletChange(MemberId(_str(member)), currency, _int(v), _int(p), _int(h), _int(d), _int(c))
        for member, v, p, h, d, c in (_list(row, 6) for row in _list(document["wallet_changes"]))
    ]
    pairs = {
        name: tuple((_str(k), _str(v)) for k, v in (_list(row, 2) for row in _list(document[name])))
        for name in ("metadata", "request")
    }
    extensions = [
        ExpiryExtension(MemberId(_str(member)), _str(code), _at(expires))
        for member, code, expires in (
            _list(row, 3) for row in _list(document.get("expiry_extensions", []))
        )
    ]
    hold = _opt_uuid(document["hold"])
    reverses = _opt_uuid(document["reverses"])
    return Transaction(
        id=TransactionId(_uuid(document["id"])),
        key=_str(document["key"]),
        kind=TransactionKind(document["kind"]),
        created_at=_at(document["created_at"]),
        currency=currency,
        amount=_int(document["amount"]),
        postings=tuple(postings),
        lots_created=tuple(_decode_lot(row, version) for row in _list(document["lots_created"])),
        lot_moves=tuple(moves),
        debt_moves=tuple(debts),
        wallet_changes=tuple(changes),
        hold=None if hold is None else HoldId(hold),
        hold_expires_at=_opt_at(document["hold_expires_at"]),
        reverses=None if reverses is None else TransactionId(reverses),
        expiry_extensions=tuple(extensions),
        reason=_opt_str(document["reason"]),
        metadata=pairs["metadata"],
        request=pairs["request"],
        written_off=_int(document.get("written_off", 0)),
        seal=_opt_str(document.get("seal")),
    )


def decode_transaction(document: str, digest: bytes | None = None) -> Transaction:
    """Read a stored transaction document, checking its checksum and its shape.

    Raises:
        InvariantViolation: If the checksum does not match or the document is not a valid
            transaction in a format this version reads.
    """
    if digest is not None and checksum(document) != bytes(digest):
        raise InvariantViolation("a stored transaction does not match its checksum (tampered?)")
    try:
        transaction = _decode(json.loads(document))
    except (_Corrupt, KeyError, ValueError, TypeError) as error:
        raise InvariantViolation(f"a stored transaction is corrupt: {error}") from None
    for phase in Phase:
        total = sum(p.amount for p in transaction.postings if p.phase is phase)
        if total != 0:
            raise InvariantViolation(
                f"stored transaction {transaction.id} has {phase.value} postings summing to {total}"
            )
    return transaction


def checked_lot(lot: Lot) -> Lot:
    """Return *lot* if it keeps the lot invariants; raise :class:`InvariantViolation` if not."""
    problems = []
    if lot.amount <= 0:
        problems.append("amount is not positive")
    if not 0 <= lot.held <= lot.remaining:
        problems.append("held is outside 0..remaining")
    if lot.expired < 0:
        problems.append("expired is negative")
    if lot.remaining + lot.expired > lot.amount:
        problems.append("remaining + expired exceeds amount")
    if problems:
        raise InvariantViolation(f"stored lot {lot.id} is corrupt: {'; '.join(problems)}")
    return lot


def checked_wallet(
    wallet: WalletState, entry: tuple[int | None, int | None, int | None] | None = None
) -> WalletState:
    """Return *wallet* if its row keeps the wallet invariants; raise if not.

    *entry* is the ``(posted, held, debt)`` of the wallet's journal entry at the row's version,
    for adapters that read it with the row: the row must be that entry (nulls: none was
    found), so a wallet row edited outside the ledger is refused by reads and writes alike and
    is never carried into a new entry.
    """
    if wallet.version < 0 or wallet.debt < 0 or wallet.held < 0:
        raise InvariantViolation(f"stored wallet {wallet.key} is corrupt: {wallet}")
    if wallet.posted > limits.POINTS_MAX or wallet.held > wallet.posted + wallet.debt:
        raise InvariantViolation(f"stored wallet {wallet.key} is corrupt: {wallet}")
    if entry is not None and wallet.version > 0:
        row = (wallet.posted, wallet.held, wallet.debt)
        if entry[0] is None:
            raise InvariantViolation(
                f"stored wallet {wallet.key} is corrupt: its journal has no entry at version "
                f"{wallet.version}"
            )
        if tuple(entry) != row:
            raise InvariantViolation(
                f"stored wallet {wallet.key} disagrees with its journal entry at version "
                f"{wallet.version}: the row has posted, held, debt {row}, the entry {tuple(entry)}"
            )
    return wallet


def checked_hold(hold: Hold) -> Hold:
    """Return *hold* if it keeps the hold invariants; raise if not."""
    reserved = sum(points for _, points in hold.allocations)
    if hold.amount <= 0 or reserved != hold.amount or not 0 <= hold.captured <= hold.amount:
        raise InvariantViolation(f"stored hold {hold.id} is corrupt: {hold}")
    if (hold.status is HoldStatus.OPEN) != (hold.resolved_by is None):
        raise InvariantViolation(f"stored hold {hold.id} is corrupt: {hold}")
    return hold


def encode_allocations(allocations: tuple[tuple[LotId, int], ...]) -> str:
    """A hold's allocations as JSON."""
    return json.dumps([[str(lot), points] for lot, points in allocations], separators=(",", ":"))


def decode_allocations(document: str) -> tuple[tuple[LotId, int], ...]:
    """Read a hold's allocations.

    Raises:
        InvariantViolation: If the document is not a list of ``[lot id, points]``.
    """
    try:
        rows = _list(json.loads(document))
        return tuple(
            (LotId(_uuid(lot)), _int(points)) for lot, points in (_list(r, 2) for r in rows)
        )
    except (_Corrupt, ValueError, TypeError) as error:
        raise InvariantViolation(f"stored hold allocations are corrupt: {error}") from None


def checked_document(document: str, digest: bytes, what: str) -> str:
    """Return a stored JSON document if it matches its checksum; raise if it does not."""
    if checksum(document) != bytes(digest):
        raise InvariantViolation(f"the stored record of {what} does not match its checksum")
    return document

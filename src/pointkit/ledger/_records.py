"""The ledger's records: transactions, postings, lots, holds, balances and statements.

Maintainer's notes
------------------
The journal of :class:`Transaction` records is the source of truth. Each transaction carries
everything needed to replay it: its balanced postings, the lots it created, every change it made
to a lot (:class:`LotMove`) or to a member's debt (:class:`DebtMove`), and the state of every
member wallet it touched afterwards (:class:`WalletChange`). Lots, holds and wallet balances are
caches of that journal that storage keeps for fast reads; :func:`pointkit.ledger.audit` rebuilds
them from the journal and compares.

Ids are client-generated 128-bit values (see :func:`transaction_id_for`), time-ordered like
UUIDv7 and derived from the idempotency key and the time, so two adapters fed the same commands
at the same clock readings produce identical journals.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Final, Literal, NewType, TypeAlias, final

import attrs

from pointkit import limits
from pointkit._validate import check_choice, check_int
from pointkit.exceptions import InvalidArgumentError


if TYPE_CHECKING:
    from collections.abc import Iterable

    from pointkit._values import MemberId


__all__ = [
    "AccountId",
    "AccountKind",
    "Balance",
    "ClawbackPolicy",
    "DebtMove",
    "ExpiringPage",
    "ExpiryExtension",
    "ExpiryRun",
    "Hold",
    "HoldId",
    "HoldStatus",
    "LedgerPolicy",
    "Lot",
    "LotId",
    "LotMove",
    "LotStatus",
    "MoveReason",
    "Phase",
    "Posting",
    "RestorePolicy",
    "Statement",
    "StatementLine",
    "Transaction",
    "TransactionId",
    "TransactionKind",
    "UpcomingExpiry",
    "WalletChange",
    "lot_id_for",
    "transaction_id_for",
]

TransactionId = NewType("TransactionId", uuid.UUID)
"""A transaction's id: a time-ordered 128-bit value."""

HoldId = TransactionId
"""A hold's id is the id of the ``reserve`` transaction that created it."""

LotId = NewType("LotId", uuid.UUID)
"""A lot's id: a time-ordered 128-bit value derived from the transaction that created it."""

ClawbackPolicy: TypeAlias = Literal["reject", "clamp", "debt"]
"""What a clawback does when the member no longer has the points:
``"reject"`` refuses it, ``"clamp"`` takes what is there and writes off the rest,
``"debt"`` takes what is there and records the rest as debt that later earnings pay off first."""

RestorePolicy: TypeAlias = Literal["original_expiry", "reissue"]
"""How reversing a spend gives points back: into the lots they came from, keeping their expiry
(points whose lot has expired in the meantime expire at once), or as a new lot."""

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND: Final = timedelta(milliseconds=1)


# Ids are made by the thousand at one instant (every transaction and lot of a unit of work):
# the time part of the last instant is kept, and a UUID is built as UUID.__init__ builds one
# from an int, without re-checking a value that always fits in 128 bits.
_LAST_TIME: list[tuple[datetime, int]] = [(_EPOCH, 0x7 << 76)]
_NEW: Final = object.__new__
_SET: Final = object.__setattr__
_UNKNOWN: Final = uuid.SafeUUID.unknown


def _time_part(at: datetime) -> int:
    """The 48 bits of Unix milliseconds and the version of a UUIDv7 at *at*."""
    last, part = _LAST_TIME[0]
    if last is not at:
        millis = (at - _EPOCH) // _MILLISECOND
        part = (millis & ((1 << 48) - 1)) << 80 | 0x7 << 76
        _LAST_TIME[0] = (at, part)
    return part


def _time_ordered(at: datetime, seed: bytes) -> uuid.UUID:
    """Build a UUIDv7-layout id: 48 bits of Unix milliseconds, then 74 bits of a hash."""
    digest = int.from_bytes(hashlib.sha256(seed).digest()[:10], "big")
    rand_a = digest >> 68  # 12 bits
    rand_b = digest & ((1 << 62) - 1)  # 62 bits
    value = _time_part(at) | rand_a << 64 | 0b10 << 62 | rand_b
    made: uuid.UUID = _NEW(uuid.UUID)
    _SET(made, "int", value)
    _SET(made, "is_safe", _UNKNOWN)
    return made


def transaction_id_for(key: str, at: datetime) -> TransactionId:
    """Return the id of the transaction recorded under idempotency *key* at *at*.

    The id is deterministic, so every adapter assigns the same id to the same command, and a
    host can know it before sending the command. It is unique within a program (a key is
    recorded once per program); every stored key includes the program, so two programs may
    hold the same id.
    """
    return TransactionId(_time_ordered(at, key.encode()))


def lot_id_for(transaction: TransactionId, index: int, at: datetime) -> LotId:
    """Return the id of the *index*-th lot created by *transaction* at *at*."""
    return LotId(_time_ordered(at, transaction.bytes + index.to_bytes(4, "big")))


class AccountKind(enum.StrEnum):
    """The kinds of account. Only member accounts (wallets) keep a balance row.

    System accounts are unbounded and their balances are sums of postings: no write locks them,
    so they never serialise writers.
    """

    MEMBER = "member"
    ISSUANCE = "issuance"
    REDEMPTION = "redemption"
    EXPIRED = "expired"
    ADJUSTMENT = "adjustment"
    LOTTERY = "lottery"
    """Points paid for lottery draws, less points prizes credited from it."""
    CLEARING = "clearing"
    """Partner clearing: points converted out of a currency (positive) and into one (negative)."""
    WRITE_OFF = "write_off"
    """Points a reversal could not take back under the ``clamp`` policy (negative: a loss).

    Reversing a credit from a system account (an earn, a credit adjustment) gives that account
    the whole amount reversed; what the member no longer had comes from here, so the issuance
    account shows only earns that stand and every written-off point stays on the books.
    """


@final
@attrs.frozen(order=True, cache_hash=True)  # a key of every booking's postings: hashed often
class AccountId:
    """An account: a member's wallet in one currency, or a system account in one currency.

    Attributes:
        kind: What the account is for.
        currency: The point currency's code.
        member: The member, for a wallet; ``None`` for a system account.
    """

    kind: AccountKind
    currency: str
    member: MemberId | None = None

    def __attrs_post_init__(self) -> None:
        if (self.kind is AccountKind.MEMBER) != (self.member is not None):
            raise InvalidArgumentError(
                f"member={self.member!r} must be given for a member account and only for one "
                f"(kind={self.kind.value!r})"
            )

    @classmethod
    def wallet(cls, member: MemberId, currency: str) -> AccountId:
        """Return the wallet of *member* in *currency*."""
        return cls(AccountKind.MEMBER, currency, member)

    @classmethod
    def system(cls, kind: AccountKind, currency: str) -> AccountId:
        """Return the system account of *kind* in *currency*."""
        return _system_account(kind, currency)

    def __str__(self) -> str:
        if self.member is None:
            return f"{self.kind.value}/{self.currency}"
        return f"member:{self.member}/{self.currency}"


@functools.lru_cache(maxsize=256)
def _system_account(kind: AccountKind, currency: str) -> AccountId:
    # A handful of system accounts serve every posting: build each once (they are immutable).
    return AccountId(kind, currency)


class Phase(enum.StrEnum):
    """Whether a posting moves points for good or reserves them for a hold."""

    POSTED = "posted"
    PENDING = "pending"


@final
@attrs.frozen
class Posting:
    """One leg of a transaction: a signed amount on one account in one phase.

    A credit to a wallet is positive. The postings of a transaction sum to zero for each
    currency and phase.

    Attributes:
        account: The account.
        amount: The signed amount, never zero.
        phase: Posted (final) or pending (reserved by a hold).
    """

    account: AccountId
    amount: int
    phase: Phase = Phase.POSTED


class MoveReason(enum.StrEnum):
    """Why a lot's remaining or held amount changed."""

    SPEND = "spend"
    HOLD = "hold"
    RELEASE = "release"
    CAPTURE = "capture"
    CLAWBACK = "clawback"
    DEBT_PAYOFF = "debt_payoff"
    RESTORE = "restore"
    EXPIRE = "expire"


@final
@attrs.frozen
class LotMove:
    """A change to one lot made by one transaction.

    Attributes:
        lot: The lot's id.
        remaining: Change to the lot's remaining points.
        held: Change to the lot's held points.
        expired: Change to the lot's expired points (negative when a reversal of the
            transaction that created the lot recovers them from the expired account).
        reason: Why.
    """

    lot: LotId
    remaining: int
    held: int
    expired: int
    reason: MoveReason


@final
@attrs.frozen
class DebtMove:
    """A change to a member's debt (negative points) made by one transaction.

    Attributes:
        member: The member.
        currency: The point currency.
        amount: Positive when debt grows, negative when it is paid off.
    """

    member: MemberId
    currency: str
    amount: int


@final
@attrs.frozen
class WalletChange:
    """A member wallet's state right after a transaction touched it: the running balance.

    Attributes:
        member: The member.
        currency: The point currency.
        version: The wallet's version: it grows by exactly one per transaction touching it.
        posted: Posted balance after the transaction (negative while the member owes points).
        held: Points held by open holds after the transaction.
        debt: Points owed after the transaction.
        posted_change: The transaction's effect on the posted balance.
    """

    member: MemberId
    currency: str
    version: int
    posted: int
    held: int
    debt: int
    posted_change: int


class LotStatus(enum.StrEnum):
    """Where a lot stands at a given instant."""

    PENDING = "pending"
    """Not yet available: earned, but inside its lock window (for example a return window)."""
    AVAILABLE = "available"
    """Spendable, in part or in full (some of it may be held)."""
    DUE = "due"
    """Past its expiry with points still in it: held points, or points awaiting the expiry run."""
    CLOSED = "closed"
    """Nothing left: spent, clawed back or expired."""


@final
@attrs.frozen
class Lot:
    """A batch of points credited to a wallet, spent first-expiring-first.

    Attributes:
        id: The lot's id.
        member: The member whose wallet holds it.
        currency: The point currency.
        amount: Points credited when it was created.
        remaining: Points still in it, held ones included.
        held: Points reserved by open holds.
        expired: Points that have expired from it.
        earned_at: When it was credited.
        available_at: From when it can be spent; later than ``earned_at`` for pending points.
        expires_at: When its remaining points expire; ``None`` for never.
        source: The transaction that created it.
        follows_activity: Whether its expiry moves with the member's activity (an inactivity
            window): each qualifying activity extends it, until it is due.
    """

    id: LotId
    member: MemberId
    currency: str
    amount: int
    remaining: int
    held: int
    expired: int
    earned_at: datetime
    available_at: datetime
    expires_at: datetime | None
    source: TransactionId
    follows_activity: bool = False

    @property
    def free(self) -> int:
        """Points in the lot that no hold reserves."""
        return self.remaining - self.held

    def is_due(self, now: datetime) -> bool:
        """Whether the lot's expiry has come at *now*."""
        return self.expires_at is not None and self.expires_at <= now

    def status(self, now: datetime) -> LotStatus:
        """Where the lot stands at *now*."""
        if self.remaining == 0:
            return LotStatus.CLOSED
        if self.is_due(now):
            return LotStatus.DUE
        if self.available_at > now:
            return LotStatus.PENDING
        return LotStatus.AVAILABLE

    def fifo_key(self) -> tuple[bool, datetime, datetime, LotId]:
        """The key lots are spent in: soonest expiry first, never-expiring last; then id.

        Between two lots with the same expiry, the one available first goes first.
        """
        return (self.expires_at is None, self.expires_at or _EPOCH, self.available_at, self.id)


class HoldStatus(enum.StrEnum):
    """Where a hold stands. A hold leaves ``open`` at most once."""

    OPEN = "open"
    CAPTURED = "captured"
    RELEASED = "released"
    EXPIRED = "expired"


@final
@attrs.frozen
class Hold:
    """Points reserved for a redemption that is not final yet (two-phase redemption).

    Attributes:
        id: The hold's id: the id of the ``reserve`` transaction.
        member: The member.
        currency: The point currency.
        amount: Points reserved.
        created_at: When it was reserved.
        expires_at: When it times out if neither captured nor released.
        allocations: ``(lot id, points)`` reserved from each lot, in spending order.
        status: Open, captured, released or expired.
        captured: Points captured (0 unless captured).
        resolved_by: The transaction that captured, released or expired it.
    """

    id: HoldId
    member: MemberId
    currency: str
    amount: int
    created_at: datetime
    expires_at: datetime
    allocations: tuple[tuple[LotId, int], ...]
    status: HoldStatus = HoldStatus.OPEN
    captured: int = 0
    resolved_by: TransactionId | None = None


class TransactionKind(enum.StrEnum):
    """What a transaction did."""

    EARN = "earn"
    REDEEM = "redeem"
    RESERVE = "reserve"
    CAPTURE = "capture"
    RELEASE = "release"
    HOLD_TIMEOUT = "hold_timeout"
    TRANSFER = "transfer"
    REVERSAL = "reversal"
    EXPIRY = "expiry"
    ADJUSTMENT = "adjustment"
    DRAW = "draw"
    CONVERSION = "conversion"


@final
@attrs.frozen
class ExpiryExtension:
    """A qualifying activity that moved a wallet's inactivity expiry later.

    Every open lot of the wallet that follows activity and is not yet due, and that would
    expire before ``expires_at``, expires at ``expires_at`` after the transaction.

    Attributes:
        member: The member whose activity it was.
        currency: The point currency.
        expires_at: The wallet's new inactivity expiry.
    """

    member: MemberId
    currency: str
    expires_at: datetime

    def applies_to(self, lot: Lot, at: datetime) -> bool:
        """Whether the extension, made at *at*, moves *lot*'s expiry."""
        return (
            lot.follows_activity
            and (lot.member, lot.currency) == (self.member, self.currency)
            and lot.remaining > 0
            and lot.expires_at is not None
            and at < lot.expires_at < self.expires_at
        )


def _pairs(value: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    return value if type(value) is tuple else tuple(value)  # the ledger's own are tuples


@final
@attrs.frozen
class Transaction:
    """A balanced, immutable ledger transaction: what one command did.

    Attributes:
        id: The transaction's id.
        key: The idempotency key it was recorded under.
        kind: What it did.
        created_at: When it was recorded.
        currency: The point currency.
        amount: The points the command asked for (its actual effect is in the postings).
        postings: Balanced legs, one per account and phase.
        lots_created: Lots it created, as they were when created.
        lot_moves: Changes it made to lots.
        debt_moves: Changes it made to members' debt.
        wallet_changes: Each touched wallet's state afterwards.
        hold: For ``reserve``: its own id; for ``capture``, ``release`` and ``hold_timeout``: the
            hold they resolved.
        hold_expires_at: For ``reserve``: when the hold times out.
        reverses: For ``reversal``: the transaction it reverses.
        expiry_extensions: Inactivity expiries the command's activity moved later.
        reason: Free text: why (required for adjustments).
        metadata: Host data, as sorted ``(key, value)`` pairs.
        request: The command's payload as sorted ``(field, value)`` pairs, for idempotency.
        written_off: Points a debit or reversal could not take from the member under the
            ``clamp`` policy. Where they came from a system account (reversing an earn or a
            credit adjustment) they are posted to the ``write_off`` account.
        seal: HMAC-SHA256 of the transaction under the ledger's seal key, if it has one (see
            :mod:`pointkit.ledger._seal`); ``None`` when the ledger seals nothing.
        replayed: ``True`` when a command returned this already-recorded transaction
            instead of writing a new one. Not part of equality.
    """

    id: TransactionId
    key: str
    kind: TransactionKind
    created_at: datetime
    currency: str
    amount: int
    postings: tuple[Posting, ...]
    lots_created: tuple[Lot, ...] = ()
    lot_moves: tuple[LotMove, ...] = ()
    debt_moves: tuple[DebtMove, ...] = ()
    wallet_changes: tuple[WalletChange, ...] = ()
    hold: HoldId | None = None
    hold_expires_at: datetime | None = None
    reverses: TransactionId | None = None
    expiry_extensions: tuple[ExpiryExtension, ...] = ()
    reason: str | None = None
    metadata: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=_pairs)
    request: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=_pairs)
    written_off: int = 0
    seal: str | None = None
    replayed: bool = attrs.field(default=False, eq=False)

    def posted_to(self, account: AccountId, phase: Phase = Phase.POSTED) -> int:
        """The transaction's effect on *account* in *phase*."""
        return sum(
            posting.amount
            for posting in self.postings
            if posting.account == account and posting.phase is phase
        )

    def change_for(self, member: MemberId) -> WalletChange | None:
        """The wallet change this transaction made to *member*, if it touched the wallet."""
        for change in self.wallet_changes:
            if change.member == member:
                return change
        return None


@final
@attrs.frozen
class LedgerPolicy:
    """The ledger's defaults for clawbacks and restores; each command may override them.

    >>> LedgerPolicy(clawback="debt", debt_limit=5_000)
    LedgerPolicy(clawback='debt', restore='original_expiry', debt_limit=5000)

    Attributes:
        clawback: What taking back points a member no longer has does (see
            :data:`ClawbackPolicy`). ``"reject"`` by default: never write off, never owe.
        restore: How reversing a spend gives points back (see :data:`RestorePolicy`).
        debt_limit: The most points a member may owe under the ``"debt"`` policy.
    """

    clawback: ClawbackPolicy = attrs.field(default="reject")
    restore: RestorePolicy = attrs.field(default="original_expiry")
    debt_limit: int = attrs.field(default=limits.POINTS_MAX)

    @clawback.validator
    def _check_clawback(self, _attribute: object, value: object) -> None:
        check_clawback(value)

    @restore.validator
    def _check_restore(self, _attribute: object, value: object) -> None:
        check_restore(value)

    @debt_limit.validator
    def _check_debt_limit(self, _attribute: object, value: object) -> None:
        check_int(
            "debt_limit", value, minimum=0, maximum=limits.POINTS_MAX, limit_name="POINTS_MAX"
        )


CLAWBACK_POLICIES: Final[tuple[ClawbackPolicy, ...]] = ("reject", "clamp", "debt")
RESTORE_POLICIES: Final[tuple[RestorePolicy, ...]] = ("original_expiry", "reissue")


def check_clawback(value: object) -> ClawbackPolicy:
    """Return *value* if it is a clawback policy."""
    return check_choice("clawback", value, CLAWBACK_POLICIES)


def check_restore(value: object) -> RestorePolicy:
    """Return *value* if it is a restore policy."""
    return check_choice("restore", value, RESTORE_POLICIES)


@final
@attrs.frozen
class Balance:
    """A member's balance in one currency at one instant.

    ``posted`` is what the journal says the member has (negative while they owe points). Of it,
    ``pending`` is not yet available, ``held`` is reserved by open holds, and ``awaiting_expiry``
    is past its expiry and waits for the expiry run; the rest is ``available``.

    Attributes:
        member: The member.
        currency: The point currency.
        posted: Posted balance: the sum of the member's posted postings.
        pending: Points earned but not yet available.
        held: Points reserved by open holds.
        awaiting_expiry: Points past their expiry that the expiry run has not taken yet.
        available: Points that can be spent now.
        debt: Points the member owes (then ``posted`` is ``-debt`` plus any held points).
        as_of: The instant the balance was read at.
    """

    member: MemberId
    currency: str
    posted: int
    pending: int
    held: int
    awaiting_expiry: int
    available: int
    debt: int
    as_of: datetime


@final
@attrs.frozen
class StatementLine:
    """One transaction on a member's statement, with the running balance after it.

    Attributes:
        transaction: The transaction's id.
        kind: What it did.
        at: When.
        change: Its effect on the posted balance.
        balance: Posted balance after it.
        held: Held points after it.
        debt: Debt after it.
        version: The wallet version it produced.
        reason: Its reason, if it has one.
    """

    transaction: TransactionId
    kind: TransactionKind
    at: datetime
    change: int
    balance: int
    held: int
    debt: int
    version: int
    reason: str | None


@final
@attrs.frozen
class Statement:
    """A page of a member's statement, oldest first.

    Attributes:
        member: The member.
        currency: The point currency.
        lines: The lines, in the order the transactions were applied.
        next_after: Pass as ``after`` to read the next page; ``None`` on the last page.
    """

    member: MemberId
    currency: str
    lines: tuple[StatementLine, ...]
    next_after: int | None


@final
@attrs.frozen
class ExpiryRun:
    """What one call of ``expire_due`` did.

    Attributes:
        as_of: The instant it expired things as of.
        transactions: The hold timeouts and lot expiries it recorded, in order, when the call
            asked for them (``expire_due(transactions=True)``); empty otherwise, so a run over
            a million lots keeps counts only.
        holds_expired: How many timed-out holds it released.
        lots_expired: How many lots it expired.
        points_expired: Points moved to the expired account, per currency code.
        complete: ``False`` when it stopped at its limit with more still due.
    """

    as_of: datetime
    transactions: tuple[Transaction, ...]
    holds_expired: int
    lots_expired: int
    points_expired: tuple[tuple[str, int], ...]
    complete: bool


@final
@attrs.frozen
class UpcomingExpiry:
    """Points of one member that expire at one instant unless spent first.

    Attributes:
        member: The member.
        currency: The point currency.
        expires_at: When they expire.
        points: Points that expire then: the free points of the lots due then (points an open
            hold reserves are not counted; they expire too if the hold is released or times
            out after that instant).
    """

    member: MemberId
    currency: str
    expires_at: datetime
    points: int


@final
@attrs.frozen
class ExpiringPage:
    """One page of the program-wide listing of upcoming expiries.

    Attributes:
        items: Entries in ``(expires_at, member)`` order.
        after: Pass it as ``after`` to get the next page; ``None`` on the last page.
    """

    items: tuple[UpcomingExpiry, ...]
    after: tuple[datetime, MemberId] | None

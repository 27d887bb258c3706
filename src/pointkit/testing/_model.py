"""A plain, slow model of the ledger's documented behaviour, for the stateful test.

It is written from docs/ledger.md, not from the booking core: plain lists and loops, no
caching, every balance recomputed from lots. Each operation either raises the error class the
ledger must raise (``ModelRefusal``) or changes the model the way the ledger must change.
Lot ids come from the public id scheme (``lot_id_for``), so spending order ties break exactly as
the ledger's do.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from pointkit import exceptions as errors
from pointkit.ledger import HoldStatus, LotId, TransactionId, lot_id_for, transaction_id_for


if TYPE_CHECKING:
    from collections.abc import Callable

    from pointkit.ledger import ClawbackPolicy, RestorePolicy

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class ModelRefusal(Exception):  # noqa: N818 - it carries the refusal, it is not one
    """The model refuses an operation with the error class the ledger must raise."""

    def __init__(self, error: type[errors.PointkitError]) -> None:
        super().__init__(error.__name__)
        self.error = error


@dataclass
class MLot:
    id: LotId
    member: str
    amount: int
    remaining: int
    held: int
    expired: int
    available_at: datetime
    expires_at: datetime | None
    follows: bool = False  # an inactivity lot: activity moves its expiry

    @property
    def free(self) -> int:
        return self.remaining - self.held

    def due(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now

    def key(self) -> tuple[bool, datetime, datetime, LotId]:
        return (self.expires_at is None, self.expires_at or EPOCH, self.available_at, self.id)


@dataclass
class MHold:
    id: TransactionId
    member: str
    amount: int
    expires_at: datetime
    allocations: list[tuple[LotId, int]]
    status: HoldStatus = HoldStatus.OPEN
    captured: int = 0


@dataclass
class MTxn:
    """What a reversal needs to know of a recorded transaction."""

    id: TransactionId
    kind: str
    source: str  # a member name, or "issuance" / "redemption" / "adjustment"
    destination: str
    moved: int
    own_lots: list[LotId] = field(default_factory=list)  # lots it created at the destination
    taken: dict[LotId, int] = field(default_factory=dict)  # points it took from source lots
    restored: dict[LotId, int] = field(default_factory=dict)
    reversed: int = 0


SYSTEM = ("issuance", "redemption", "expired", "adjustment", "write_off")
NOT_REVERSIBLE = ("reserve", "release", "reversal")


@dataclass
class Model:
    now: datetime
    debt_limit: int
    # An inactivity window's date arithmetic (from the policy, tested on its own), or None.
    inactivity: Callable[[datetime], datetime] | None = None
    lots: dict[LotId, MLot] = field(default_factory=dict)
    debt: dict[str, int] = field(default_factory=dict)
    holds: dict[TransactionId, MHold] = field(default_factory=dict)
    txns: dict[TransactionId, MTxn] = field(default_factory=dict)
    posted: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SYSTEM, 0))
    pending: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SYSTEM, 0))

    # -- helpers ---------------------------------------------------------------------------

    def copy(self) -> Model:
        return copy.deepcopy(self)

    def wallet(self, member: str) -> list[MLot]:
        return sorted((lot for lot in self.lots.values() if lot.member == member), key=MLot.key)

    def spendable(self, member: str) -> list[MLot]:
        return [
            lot
            for lot in self.wallet(member)
            if lot.free > 0 and lot.available_at <= self.now and not lot.due(self.now)
        ]

    def claimable(self, member: str) -> list[MLot]:
        return [lot for lot in self.wallet(member) if lot.free > 0 and not lot.due(self.now)]

    def balance(self, member: str) -> dict[str, int]:
        lots = self.wallet(member)
        debt = self.debt.get(member, 0)
        return {
            "posted": sum(lot.remaining for lot in lots) - debt,
            "held": sum(lot.held for lot in lots),
            "pending": sum(
                lot.free for lot in lots if not lot.due(self.now) and lot.available_at > self.now
            ),
            "awaiting_expiry": sum(lot.free for lot in lots if lot.due(self.now)),
            "available": sum(lot.free for lot in self.spendable(member)),
            "debt": debt,
        }

    def new_lot(
        self,
        txn: TransactionId,
        index: int,
        member: str,
        amount: int,
        available_at: datetime,
        expires_at: datetime | None,
        *,
        follows: bool = False,
    ) -> MLot:
        lot = MLot(
            id=lot_id_for(txn, index, self.now),
            member=member,
            amount=amount,
            remaining=amount,
            held=0,
            expired=0,
            available_at=available_at,
            expires_at=expires_at,
            follows=follows and expires_at is not None,
        )
        self.lots[lot.id] = lot
        return lot

    def active(self, member: str) -> None:
        """A qualifying activity (earn, redeem, capture): inactivity lots not yet due move on."""
        if self.inactivity is None:
            return
        until = self.inactivity(self.now)
        for lot in self.wallet(member):
            if not lot.follows or lot.remaining == 0 or lot.expires_at is None:
                continue
            if self.now < lot.expires_at < until:
                lot.expires_at = until

    def settle(self, member: str) -> None:
        for lot in self.claimable(member):
            if self.debt.get(member, 0) == 0:
                return
            pay = min(lot.free, self.debt[member])
            lot.remaining -= pay
            self.debt[member] -= pay

    def expire_part(self, lot: MLot, amount: int) -> None:
        lot.remaining -= amount
        lot.expired += amount
        self.posted["expired"] += amount

    def txn_id(self, key: str) -> TransactionId:
        return transaction_id_for(key, self.now)

    # -- operations ------------------------------------------------------------------------

    def earn(
        self,
        key: str,
        member: str,
        amount: int,
        available_at: datetime | None,
        expires_at: datetime | None,
        source: str = "issuance",
    ) -> None:
        start = self.now if available_at is None or available_at < self.now else available_at
        if expires_at is not None and expires_at <= start:
            raise ModelRefusal(errors.InvalidArgumentError)
        txn = self.txn_id(key)
        follows = expires_at is None and self.inactivity is not None
        if expires_at is None and self.inactivity is not None:
            expires_at = self.inactivity(start)
        lot = self.new_lot(txn, 0, member, amount, start, expires_at, follows=follows)
        self.posted[source] -= amount
        self.settle(member)
        if source == "issuance":
            self.active(member)
        self.txns[txn] = MTxn(txn, "credit", source, member, amount, own_lots=[lot.id])

    def _take_spendable(self, member: str, amount: int, *, hold: bool) -> list[tuple[MLot, int]]:
        lots = self.spendable(member)
        if sum(lot.free for lot in lots) < amount:
            raise ModelRefusal(errors.InsufficientPointsError)
        taken = []
        left = amount
        for lot in lots:
            if left == 0:
                break
            take = min(lot.free, left)
            if hold:
                lot.held += take
            else:
                lot.remaining -= take
            taken.append((lot, take))
            left -= take
        return taken

    def redeem(self, key: str, member: str, amount: int) -> None:
        taken = self._take_spendable(member, amount, hold=False)
        self.posted["redemption"] += amount
        self.active(member)
        txn = self.txn_id(key)
        self.txns[txn] = MTxn(
            txn, "redeem", member, "redemption", amount, taken={lot.id: n for lot, n in taken}
        )

    def reserve(self, key: str, member: str, amount: int, timeout_seconds: int) -> None:
        taken = self._take_spendable(member, amount, hold=True)
        self.pending["redemption"] += amount
        txn = self.txn_id(key)
        self.txns[txn] = MTxn(txn, "reserve", member, "redemption", 0)
        self.holds[txn] = MHold(
            txn,
            member,
            amount,
            self.now + timedelta(seconds=timeout_seconds),
            [(lot.id, n) for lot, n in taken],
        )

    def _resolve(self, hold: MHold, capture: int, status: HoldStatus) -> dict[LotId, int]:
        left = capture
        taken: dict[LotId, int] = {}
        for lot_id, reserved in hold.allocations:
            lot = self.lots[lot_id]
            take = min(reserved, left)
            left -= take
            lot.held -= reserved
            lot.remaining -= take
            if take:
                taken[lot_id] = take
            if lot.due(self.now):
                self.expire_part(lot, reserved - take)
        self.pending["redemption"] -= hold.amount
        self.posted["redemption"] += capture
        hold.status = status
        hold.captured = capture
        self.settle(hold.member)
        return taken

    def _check_open(self, hold: MHold) -> None:
        if hold.status is HoldStatus.CAPTURED:
            raise ModelRefusal(errors.HoldAlreadyCapturedError)
        if hold.status is HoldStatus.RELEASED:
            raise ModelRefusal(errors.HoldAlreadyReleasedError)
        if hold.status is HoldStatus.EXPIRED or hold.expires_at <= self.now:
            raise ModelRefusal(errors.HoldExpiredError)

    def capture(self, key: str, hold_id: TransactionId, amount: int | None) -> None:
        hold = self.holds[hold_id]
        self._check_open(hold)
        points = hold.amount if amount is None else amount
        if points > hold.amount:
            raise ModelRefusal(errors.CaptureExceedsHoldError)
        taken = self._resolve(hold, points, HoldStatus.CAPTURED)
        self.active(hold.member)
        txn = self.txn_id(key)
        self.txns[txn] = MTxn(txn, "capture", hold.member, "redemption", points, taken=taken)

    def release(self, key: str, hold_id: TransactionId) -> None:
        hold = self.holds[hold_id]
        self._check_open(hold)
        self._resolve(hold, 0, HoldStatus.RELEASED)
        txn = self.txn_id(key)
        self.txns[txn] = MTxn(txn, "release", hold.member, "redemption", 0)

    def transfer(self, key: str, sender: str, recipient: str, amount: int) -> None:
        taken = self._take_spendable(sender, amount, hold=False)
        by_expiry: dict[tuple[datetime | None, bool], int] = {}
        for lot, n in taken:
            group = (lot.expires_at, lot.follows)
            by_expiry[group] = by_expiry.get(group, 0) + n
        txn = self.txn_id(key)
        own = [
            self.new_lot(txn, index, recipient, points, self.now, expires_at, follows=follows).id
            for index, ((expires_at, follows), points) in enumerate(by_expiry.items())
        ]
        self.settle(recipient)
        self.txns[txn] = MTxn(
            txn,
            "transfer",
            sender,
            recipient,
            amount,
            own_lots=own,
            taken={lot.id: n for lot, n in taken},
        )

    def _claw_rest(
        self, member: str, amount: int, clawback: ClawbackPolicy
    ) -> tuple[int, dict[LotId, int]]:
        """Take from claimable lots, then apply the policy; returns (moved, taken per lot)."""
        left = amount
        taken: dict[LotId, int] = {}
        for lot in self.claimable(member):
            if left == 0:
                break
            take = min(lot.free, left)
            lot.remaining -= take
            taken[lot.id] = taken.get(lot.id, 0) + take
            left -= take
        if left and clawback == "reject":
            raise ModelRefusal(errors.InsufficientPointsError)
        owed = 0
        if left and clawback == "debt":
            if self.debt.get(member, 0) + left > self.debt_limit:
                raise ModelRefusal(errors.DebtLimitExceededError)
            self.debt[member] = self.debt.get(member, 0) + left
            owed = left
        return amount - left + owed, taken

    def debit(self, key: str, member: str, amount: int, clawback: ClawbackPolicy) -> None:
        moved, taken = self._claw_rest(member, amount, clawback)
        self.posted["adjustment"] += moved
        txn = self.txn_id(key)
        self.txns[txn] = MTxn(txn, "debit", member, "adjustment", moved, taken=taken)

    def reverse(  # noqa: C901, PLR0912, PLR0915 - the model spells the whole rule out in one place
        self,
        key: str,
        original: TransactionId,
        amount: int | None,
        clawback: ClawbackPolicy,
        restore: RestorePolicy,
        reissue_expires_at: datetime | None,
    ) -> None:
        if reissue_expires_at is not None and reissue_expires_at <= self.now:
            raise ModelRefusal(errors.InvalidArgumentError)
        txn = self.txns[original]
        if txn.kind in NOT_REVERSIBLE or txn.moved == 0:
            raise ModelRefusal(errors.NotReversibleError)
        left_to_reverse = txn.moved - txn.reversed
        if left_to_reverse == 0:
            raise ModelRefusal(errors.AlreadyReversedError)
        wanted = left_to_reverse if amount is None else amount
        if wanted > left_to_reverse:
            raise ModelRefusal(errors.ReversalExceedsOriginalError)
        # Take back from the destination.
        if txn.destination in SYSTEM:
            moved = wanted
            self.posted[txn.destination] -= wanted
        else:
            own = sorted((self.lots[i] for i in txn.own_lots), key=MLot.key)
            left = wanted
            for lot in own:
                take = min(lot.free, left)
                lot.remaining -= take
                left -= take
            recovered = 0
            for lot in own:
                take = min(lot.expired, left)
                lot.expired -= take
                recovered += take
                left -= take
            self.posted["expired"] -= recovered
            rest = 0
            if left:
                rest, _ = self._claw_rest(txn.destination, left, clawback)
            moved = wanted - left + rest
        # Give back to the source: a system source gets it all, the clamped rest is written off.
        if txn.source in SYSTEM:
            self.posted[txn.source] += wanted
            self.posted["write_off"] -= wanted - moved
        else:
            member = txn.source
            give_left = moved
            new_txn = self.txn_id(key)
            if restore == "original_expiry":
                restorable = {
                    lot_id: n - txn.restored.get(lot_id, 0) for lot_id, n in txn.taken.items()
                }
                for lot in sorted((self.lots[i] for i in restorable), key=MLot.key):
                    give = min(restorable[lot.id], give_left)
                    if give <= 0:
                        continue
                    lot.remaining += give
                    txn.restored[lot.id] = txn.restored.get(lot.id, 0) + give
                    give_left -= give
                    if lot.due(self.now):
                        self.expire_part(lot, give)
            if give_left:
                # A reissue with no expiry of its own follows the policy (here, inactivity).
                by_policy = restore == "reissue" and reissue_expires_at is None
                follows = by_policy and self.inactivity is not None
                expires = self.inactivity(self.now) if follows and self.inactivity else None
                self.new_lot(
                    new_txn,
                    0,
                    member,
                    give_left,
                    self.now,
                    expires if by_policy else reissue_expires_at,
                    follows=follows,
                )
            self.settle(member)
        txn.reversed += wanted
        reversal = self.txn_id(key)
        self.txns[reversal] = MTxn(reversal, "reversal", txn.destination, txn.source, 0)

    def expire_due(self) -> tuple[int, int]:
        holds = sorted(
            (h for h in self.holds.values() if h.status is HoldStatus.OPEN),
            key=lambda h: (h.expires_at, h.id),
        )
        due_holds = [h for h in holds if h.expires_at <= self.now]
        due_lots = sorted(
            (lot for lot in self.lots.values() if lot.free > 0 and lot.due(self.now)),
            key=lambda lot: (lot.expires_at, lot.id),
        )
        for hold in due_holds:
            self._resolve(hold, 0, HoldStatus.EXPIRED)
        expired_lots = 0
        for lot in due_lots:
            if lot.free > 0:
                self.expire_part(lot, lot.free)
                expired_lots += 1
        return len(due_holds), expired_lots

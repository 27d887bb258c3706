"""The booking core: pure functions that turn wallet state and a command into a :class:`Plan`.

Maintainer's notes
------------------
Nothing here reads a clock or a random source, and storage only through the lot reader the
unit of work passes in, under its locks. A :class:`Booking` starts from the wallets the unit
locked, loads lots only as it needs them (by id, or walking a wallet in spending order until the
amount is covered), works on private mutable copies of them, and records every change as it
makes it: postings (accumulated per account and phase), lot moves, debt moves and holds. :meth:`Booking.finish` turns that record into an immutable transaction and plan, and
checks the plan's invariants before anyone writes it (the write side of TigerBeetle's pair
assertions; :mod:`pointkit.ledger._audit` is the read side).

The rules every command shares:

* Spending takes free points (not held) from available lots (not pending, not due) in
  spending order: ``(expires_at, never last; available_at; id)``.
* A clawback takes free points from lots that are not due, pending ones included: points due
  to expire belong to the expiry run.
* A member with debt has no free points in any lot that is not due: every credit pays debt off
  first (:meth:`Booking.settle_debt`).
* Points given back into a lot that is already due expire at once, in the same transaction:
  nothing is resurrected, and the expiry run never sees a lot twice.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from typing import TYPE_CHECKING, final

import attrs

from pointkit import limits
from pointkit.exceptions import (
    DebtLimitExceededError,
    InsufficientPointsError,
    InvariantViolation,
    LimitExceededError,
    PointsOverflowError,
)
from pointkit.ledger._plan_checks import check_plan, require
from pointkit.ledger._records import (
    AccountId,
    AccountKind,
    DebtMove,
    Hold,
    HoldStatus,
    Lot,
    LotMove,
    MoveReason,
    Phase,
    Posting,
    Transaction,
    TransactionKind,
    WalletChange,
    lot_id_for,
)
from pointkit.ledger._seal import seal
from pointkit.ledger._storage import Plan, WalletState


if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence
    from datetime import datetime

    from pointkit._values import MemberId
    from pointkit.ledger._records import (
        ClawbackPolicy,
        ExpiryExtension,
        LotId,
        RestorePolicy,
        TransactionId,
    )
    from pointkit.ledger._storage import WalletKey


__all__ = ["Booking", "reversal_route"]


@attrs.define
class _LotWork:
    """A mutable working copy of a lot inside one booking."""

    lot: Lot
    remaining: int
    held: int
    expired: int
    changed: bool = False

    @classmethod
    def of(cls, lot: Lot) -> _LotWork:
        return cls(lot, lot.remaining, lot.held, lot.expired)

    @property
    def free(self) -> int:
        return self.remaining - self.held

    def result(self) -> Lot:
        lot = self.lot
        if (self.remaining, self.held, self.expired) == (lot.remaining, lot.held, lot.expired):
            return lot  # a lot this booking created and nothing moved since
        return attrs.evolve(lot, remaining=self.remaining, held=self.held, expired=self.expired)


@attrs.define
class _WalletWork:
    """A mutable working copy of a wallet inside one booking.

    ``lots`` holds only the lots this booking has loaded so far: those it named by id, those it
    created, and those it reached while walking the wallet in spending order.
    """

    state: WalletState
    posted: int
    held: int
    debt: int
    lots: dict[LotId, _LotWork]
    touched: bool = False
    _account: AccountId | None = attrs.field(default=None, init=False)

    @classmethod
    def of(cls, state: WalletState) -> _WalletWork:
        return cls(
            state,
            state.posted,
            state.held,
            state.debt,
            {lot.id: _LotWork.of(lot) for lot in state.lots} if state.lots else {},
        )

    @property
    def account(self) -> AccountId:
        # Made once, on first use: a functools.cached_property on a slotted class is looked
        # up through __getattr__, which costs several times what making the account does.
        account = self._account
        if account is None:
            account = self._account = AccountId.wallet(self.state.member, self.state.currency)
        return account

    def ordered(self, lots: Iterable[_LotWork] | None = None) -> list[_LotWork]:
        source = self.lots.values() if lots is None else lots
        return sorted(source, key=lambda work: work.lot.fifo_key())


def reversal_route(original: Transaction) -> tuple[AccountId, AccountId, int] | None:
    """Return ``(source, destination, points moved)`` of a reversible transaction.

    A reversal moves points from the destination back to the source. Returns ``None`` for
    kinds that cannot be reversed (holds are released, expiries are adjusted, reversals are not
    reversed again).
    """
    currency = original.currency
    issuance = AccountId.system(AccountKind.ISSUANCE, currency)
    redemption = AccountId.system(AccountKind.REDEMPTION, currency)
    adjustment = AccountId.system(AccountKind.ADJUSTMENT, currency)
    members = [change.member for change in original.wallet_changes]
    match original.kind:
        case TransactionKind.EARN:
            wallet = AccountId.wallet(members[0], currency)
            return issuance, wallet, original.posted_to(wallet)
        case TransactionKind.REDEEM | TransactionKind.CAPTURE:
            wallet = AccountId.wallet(members[0], currency)
            return wallet, redemption, original.posted_to(redemption)
        case TransactionKind.TRANSFER:
            first, second = (AccountId.wallet(member, currency) for member in members)
            if original.posted_to(first) < 0:
                return first, second, original.posted_to(second)
            return second, first, original.posted_to(first)
        case TransactionKind.ADJUSTMENT:
            wallet = AccountId.wallet(members[0], currency)
            moved = original.posted_to(adjustment)
            if moved < 0:
                return adjustment, wallet, -moved
            return wallet, adjustment, moved
        case _:
            return None


@final
class Booking:
    """One command's booking: working copies of its wallets and the changes made so far.

    Args:
        transaction_id: The id the transaction will have.
        key: The idempotency key.
        currency: The point currency.
        now: The instant of the booking.
        wallets: The locked wallets, by key.
        open_lots: Reads a locked wallet's open lots lazily, in spending order.
        extra_lots: Lots the command names by id: a hold's lots, a lot to expire, or the lots
            of a transaction being reversed (open or closed).
        seal_key: The ledger's seal key: the transaction is sealed under it (``None``: not).
    """

    def __init__(
        self,
        *,
        transaction_id: TransactionId,
        key: str,
        currency: str,
        now: datetime,
        wallets: dict[WalletKey, WalletState],
        open_lots: Callable[[MemberId, str], Iterator[Lot]],
        extra_lots: Sequence[Lot] = (),
        seal_key: bytes | None = None,
    ) -> None:
        self._open_lots = open_lots
        self._seal_key = seal_key
        self.transaction_id = transaction_id
        self.key = key
        self.currency = currency
        self.now = now
        if len(wallets) == 1:  # most commands lock one wallet: no comprehension to run
            ((only, state),) = wallets.items()
            self._wallets = {only: _WalletWork.of(state)}
        else:
            self._wallets = {key_: _WalletWork.of(state) for key_, state in wallets.items()}
        for lot in extra_lots:
            wallet = self._wallets.get((lot.member, lot.currency))
            require(wallet is not None, "lot {} belongs to a wallet that is not locked", lot.id)
            if wallet is not None and lot.id not in wallet.lots:
                wallet.lots[lot.id] = _LotWork.of(lot)
        # A plain dict read with get: a defaultdict hashes a new key three times, not two.
        self._postings: dict[tuple[AccountId, Phase], int] = {}
        self._moves: list[LotMove] = []
        self._moved_lots: set[LotId] = set()
        self._created: list[Lot] = []
        self._debt: defaultdict[MemberId, int] = defaultdict(int)
        self._holds: list[Hold] = []
        self._written_off = 0

    # -- building blocks -------------------------------------------------------------------

    def wallet(self, member: MemberId) -> _WalletWork:
        """Return the working copy of *member*'s wallet and mark it touched."""
        work = self._wallets.get((member, self.currency))
        if work is None:
            raise InvariantViolation(f"wallet {member!r}/{self.currency} was not locked")
        work.touched = True
        return work

    def _named(self, wallet: _WalletWork, lot_id: LotId) -> _LotWork:
        """A lot the command named by id; the caller loaded it as an extra lot."""
        lot = wallet.lots.get(lot_id)
        if lot is None:
            raise InvariantViolation(f"lot {lot_id} of {wallet.account} was not loaded")
        return lot

    def post(self, account: AccountId, amount: int, phase: Phase = Phase.POSTED) -> None:
        """Add *amount* to *account*'s posting in *phase*."""
        postings = self._postings
        key = (account, phase)
        postings[key] = postings.get(key, 0) + amount

    def _move(
        self,
        lot: _LotWork,
        reason: MoveReason,
        *,
        remaining: int = 0,
        held: int = 0,
        expired: int = 0,
    ) -> None:
        if lot.lot.id not in self._moved_lots:
            if len(self._moved_lots) >= limits.LOTS_PER_COMMAND_MAX:
                raise LimitExceededError(
                    f"the command would change more than limits.LOTS_PER_COMMAND_MAX "
                    f"({limits.LOTS_PER_COMMAND_MAX}) lots; split it into smaller commands"
                )
            self._moved_lots.add(lot.lot.id)
        lot.remaining += remaining
        lot.held += held
        lot.expired += expired
        lot.changed = True
        self._moves.append(LotMove(lot.lot.id, remaining, held, expired, reason))

    def _check_room(self, wallet: _WalletWork, amount: int) -> None:
        # The wallet's lots together hold posted + debt; both must stay within POINTS_MAX.
        if wallet.posted + wallet.debt + amount > limits.POINTS_MAX:
            raise PointsOverflowError(
                f"member {str(wallet.state.member)!r} would hold more than limits.POINTS_MAX "
                f"({limits.POINTS_MAX}) {self.currency}"
            )

    def new_lot(
        self,
        wallet: _WalletWork,
        amount: int,
        *,
        available_at: datetime,
        expires_at: datetime | None,
        follows_activity: bool = False,
    ) -> _LotWork:
        """Create a lot of *amount* in *wallet* (the caller posts the credit)."""
        # Positional, in Lot's field order (id, member, currency, amount, remaining, held,
        # expired, earned_at, available_at, expires_at, source, follows_activity): cheaper
        # than keywords, and every credit makes one.
        lot = Lot(
            lot_id_for(self.transaction_id, len(self._created), self.now),
            wallet.state.member,
            self.currency,
            amount,
            amount,
            0,
            0,
            self.now,
            available_at,
            expires_at,
            self.transaction_id,
            follows_activity and expires_at is not None,
        )
        self._created.append(lot)
        work = _LotWork(lot, amount, 0, 0, changed=True)
        wallet.lots[lot.id] = work
        return work

    def expire_now(self, wallet: _WalletWork, lot: _LotWork, amount: int) -> None:
        """Expire *amount* free points of a due *lot* in this transaction."""
        if amount == 0:
            return
        self._move(lot, MoveReason.EXPIRE, remaining=-amount, expired=amount)
        wallet.posted -= amount
        self.post(wallet.account, -amount)
        self.post(AccountId.system(AccountKind.EXPIRED, self.currency), amount)

    def _fifo(self, wallet: _WalletWork) -> Iterator[_LotWork]:
        """Walk the wallet's lots in spending order, loading them from storage as needed.

        Lots already loaded (created, named or changed by this booking) are merged in, and a
        loaded lot always stands for its stored original.
        """
        loaded = sorted((work.lot for work in wallet.lots.values()), key=Lot.fifo_key)
        stored = self._open_lots(wallet.state.member, wallet.state.currency)
        seen: set[LotId] = set()
        for lot in heapq.merge(stored, loaded, key=Lot.fifo_key):
            if lot.id in seen:
                continue
            seen.add(lot.id)
            work = wallet.lots.get(lot.id)
            if work is None:
                work = wallet.lots[lot.id] = _LotWork.of(lot)
            yield work

    def _spendable(self, wallet: _WalletWork) -> Iterator[_LotWork]:
        for lot in self._fifo(wallet):
            if lot.free > 0 and lot.lot.available_at <= self.now and not lot.lot.is_due(self.now):
                yield lot

    def _claimable(self, wallet: _WalletWork) -> Iterator[_LotWork]:
        for lot in self._fifo(wallet):
            if lot.free > 0 and not lot.lot.is_due(self.now):
                yield lot

    def spend(
        self, wallet: _WalletWork, amount: int, *, reason: MoveReason
    ) -> list[tuple[_LotWork, int]]:
        """Take *amount* free points from spendable lots in spending order.

        With ``reason=HOLD`` the points are reserved (held) instead of removed. The walk stops
        as soon as the amount is covered.

        Raises:
            InsufficientPointsError: If the spendable lots hold fewer than *amount*.
        """
        taken: list[tuple[_LotWork, int]] = []
        left = amount
        for lot in self._spendable(wallet):
            take = min(lot.free, left)
            taken.append((lot, take))
            left -= take
            if left == 0:
                break
        if left > 0:
            raise InsufficientPointsError(wallet.state.member, self.currency, amount, amount - left)
        for lot, take in taken:
            if reason is MoveReason.HOLD:
                self._move(lot, reason, held=take)
            else:
                self._move(lot, reason, remaining=-take)
        return taken

    def _take_free(self, lots: Iterable[_LotWork], amount: int) -> int:
        left = amount
        for lot in lots:
            if left == 0:
                break
            take = min(lot.free, left)
            if take > 0:
                self._move(lot, MoveReason.CLAWBACK, remaining=-take)
                left -= take
        return amount - left

    def settle_debt(self, wallet: _WalletWork) -> None:
        """Pay *wallet*'s debt off from its free points, in spending order.

        A wallet in debt has no free points outside the lots this booking loaded (the debt
        invariant), so only those are looked at: settling never reads the whole wallet.
        """
        if wallet.debt == 0:
            return
        for lot in wallet.ordered():
            if lot.free == 0 or lot.lot.is_due(self.now):
                continue
            payoff = min(lot.free, wallet.debt)
            self._move(lot, MoveReason.DEBT_PAYOFF, remaining=-payoff)
            wallet.debt -= payoff
            self._debt[wallet.state.member] -= payoff
            if wallet.debt == 0:
                break

    def _claw(
        self,
        wallet: _WalletWork,
        amount: int,
        *,
        already: int,
        clawback: ClawbackPolicy,
        debt_limit: int,
    ) -> int:
        """Take the rest of a clawback from the wallet's other lots; the policy covers the rest.

        Returns the points moved out of the wallet's posted balance. *already* is what earlier
        steps of the same clawback took, for the error message.
        """
        taken = self._take_free(self._claimable(wallet), amount)
        short = amount - taken
        owed = 0
        if short > 0:
            if clawback == "reject":
                raise InsufficientPointsError(
                    wallet.state.member, self.currency, amount + already, taken + already
                )
            if clawback == "clamp":
                self._written_off += short
            if clawback == "debt":
                owed = short
                debt = wallet.debt + short
                if debt > debt_limit:
                    raise DebtLimitExceededError(
                        wallet.state.member, self.currency, debt, debt_limit
                    )
                wallet.debt = debt
                self._debt[wallet.state.member] += short
        return taken + owed

    # -- commands --------------------------------------------------------------------------

    def credit(
        self,
        member: MemberId,
        amount: int,
        *,
        source: AccountKind,
        available_at: datetime,
        expires_at: datetime | None,
        follows_activity: bool = False,
    ) -> None:
        """Credit *amount* to *member* as a new lot, from system account *source*."""
        wallet = self.wallet(member)
        self._check_room(wallet, amount)
        self.new_lot(
            wallet,
            amount,
            available_at=available_at,
            expires_at=expires_at,
            follows_activity=follows_activity,
        )
        wallet.posted += amount
        # What post() does, inlined: every earn passes here.
        postings = self._postings
        key = (wallet.account, Phase.POSTED)
        postings[key] = postings.get(key, 0) + amount
        key = (AccountId.system(source, self.currency), Phase.POSTED)
        postings[key] = postings.get(key, 0) - amount
        if wallet.debt:
            self.settle_debt(wallet)

    def redeem(
        self, member: MemberId, amount: int, *, into: AccountKind = AccountKind.REDEMPTION
    ) -> None:
        """Spend *amount* of *member*'s points for good, into system account *into*."""
        self.redeem_parts(member, ((into, amount),))

    def redeem_parts(self, member: MemberId, parts: Sequence[tuple[AccountKind, int]]) -> None:
        """Spend the sum of *parts* of *member*'s points at once, each part into its account.

        A conversion spends the converted points into clearing and its fee into redemption:
        one spend, so a shortfall names the whole amount needed.
        """
        wallet = self.wallet(member)
        amount = sum(points for _, points in parts)
        self.spend(wallet, amount, reason=MoveReason.SPEND)
        wallet.posted -= amount
        self.post(wallet.account, -amount)
        for kind, points in parts:
            self.post(AccountId.system(kind, self.currency), points)

    def reserve(self, member: MemberId, amount: int, *, expires_at: datetime) -> Hold:
        """Reserve *amount* of *member*'s points in a new hold."""
        wallet = self.wallet(member)
        taken = self.spend(wallet, amount, reason=MoveReason.HOLD)
        wallet.held += amount
        self.post(wallet.account, -amount, Phase.PENDING)
        self.post(AccountId.system(AccountKind.REDEMPTION, self.currency), amount, Phase.PENDING)
        hold = Hold(
            id=self.transaction_id,
            member=member,
            currency=self.currency,
            amount=amount,
            created_at=self.now,
            expires_at=expires_at,
            allocations=tuple((lot.lot.id, take) for lot, take in taken),
        )
        self._holds.append(hold)
        return hold

    def resolve(self, hold: Hold, *, capture: int, status: HoldStatus) -> Hold:
        """Capture *capture* points of an open *hold* and release the rest.

        Released points of a lot that is already due expire at once; released points pay
        off debt first.
        """
        require(hold.status is HoldStatus.OPEN, "hold {} is not open", hold.id)
        require(0 <= capture <= hold.amount, "capture {} is outside hold {}", capture, hold.id)
        wallet = self.wallet(hold.member)
        left = capture
        for lot_id, reserved in hold.allocations:
            lot = self._named(wallet, lot_id)
            take = min(reserved, left)
            left -= take
            reason = MoveReason.CAPTURE if take else MoveReason.RELEASE
            self._move(lot, reason, remaining=-take, held=-reserved)
            if lot.lot.is_due(self.now):
                self.expire_now(wallet, lot, reserved - take)
        wallet.held -= hold.amount
        wallet.posted -= capture
        redemption = AccountId.system(AccountKind.REDEMPTION, self.currency)
        self.post(wallet.account, hold.amount, Phase.PENDING)
        self.post(redemption, -hold.amount, Phase.PENDING)
        self.post(wallet.account, -capture)
        self.post(redemption, capture)
        self.settle_debt(wallet)
        resolved = attrs.evolve(
            hold, status=status, captured=capture, resolved_by=self.transaction_id
        )
        self._holds.append(resolved)
        return resolved

    def transfer(self, sender: MemberId, recipient: MemberId, amount: int) -> None:
        """Move *amount* spendable points from *sender* to *recipient*, keeping their expiry."""
        source = self.wallet(sender)
        target = self.wallet(recipient)
        taken = self.spend(source, amount, reason=MoveReason.SPEND)
        source.posted -= amount
        self.post(source.account, -amount)
        self._check_room(target, amount)
        # One new lot per distinct expiry, in spending order: points keep the expiry they had
        # (and whether it follows activity), so moving them between members never extends
        # their life.
        by_expiry: dict[tuple[datetime | None, bool], int] = {}
        for lot, take in taken:
            group = (lot.lot.expires_at, lot.lot.follows_activity)
            by_expiry[group] = by_expiry.get(group, 0) + take
        for (expires_at, follows), points in by_expiry.items():
            self.new_lot(
                target,
                points,
                available_at=self.now,
                expires_at=expires_at,
                follows_activity=follows,
            )
        target.posted += amount
        self.post(target.account, amount)
        self.settle_debt(target)

    def debit(
        self, member: MemberId, amount: int, *, clawback: ClawbackPolicy, debt_limit: int
    ) -> None:
        """Take *amount* points from *member* for an adjustment, under a clawback policy."""
        wallet = self.wallet(member)
        moved = self._claw(wallet, amount, already=0, clawback=clawback, debt_limit=debt_limit)
        wallet.posted -= moved
        self.post(wallet.account, -moved)
        self.post(AccountId.system(AccountKind.ADJUSTMENT, self.currency), moved)

    def expire(self, lot_id: LotId, member: MemberId) -> int:
        """Expire the free points of a due lot; returns how many expired (0: nothing to do)."""
        wallet = self.wallet(member)
        lot = self._named(wallet, lot_id)
        if not lot.lot.is_due(self.now):
            return 0
        amount = lot.free
        self.expire_now(wallet, lot, amount)
        return amount

    def reverse(
        self,
        original: Transaction,
        amount: int,
        *,
        prior: Sequence[Transaction],
        clawback: ClawbackPolicy,
        restore: RestorePolicy,
        reissue_expires_at: datetime | None,
        debt_limit: int,
        reissue_follows_activity: bool = False,
    ) -> None:
        """Move *amount* of *original*'s points back from its destination to its source.

        Taking back from a member: first the free points still in the lots *original* created,
        then points of those lots that have expired since (from the expired account), then the
        member's other points, then the clawback policy. Giving back to a member: into the lots
        *original* took them from (``original_expiry``) or as a new lot (``reissue``).
        """
        route = reversal_route(original)
        if route is None:
            raise InvariantViolation(f"transaction {original.id} is not reversible")
        source, destination, _moved = route
        if destination.member is not None:
            moved = self._claw_back(original, destination.member, amount, clawback, debt_limit)
            if source.member is None and moved < amount:
                # Clamped: the source gets back all it gave; the loss is written off.
                self.post(AccountId.system(AccountKind.WRITE_OFF, self.currency), moved - amount)
                moved = amount
        else:
            moved = amount
            self.post(destination, -amount)
        if source.member is not None:
            self._give_back(
                original,
                source.member,
                moved,
                prior=prior,
                restore=restore,
                reissue_expires_at=reissue_expires_at,
                reissue_follows_activity=reissue_follows_activity,
            )
        else:
            self.post(source, moved)

    def _claw_back(
        self,
        original: Transaction,
        member: MemberId,
        amount: int,
        clawback: ClawbackPolicy,
        debt_limit: int,
    ) -> int:
        wallet = self.wallet(member)
        own = wallet.ordered(self._named(wallet, lot.id) for lot in original.lots_created)
        from_lots = 0
        left = amount
        for lot in own:
            take = min(lot.free, left)
            if take > 0:
                self._move(lot, MoveReason.CLAWBACK, remaining=-take)
                from_lots += take
                left -= take
        recovered = 0
        for lot in own:
            take = min(lot.expired, left)
            if take > 0:
                self._move(lot, MoveReason.CLAWBACK, expired=-take)
                recovered += take
                left -= take
        if recovered:
            self.post(AccountId.system(AccountKind.EXPIRED, self.currency), -recovered)
        from_wallet = from_lots
        if left > 0:
            from_wallet += self._claw(
                wallet,
                left,
                already=amount - left,
                clawback=clawback,
                debt_limit=debt_limit,
            )
        wallet.posted -= from_wallet
        self.post(wallet.account, -from_wallet)
        return from_wallet + recovered

    def _give_back(
        self,
        original: Transaction,
        member: MemberId,
        amount: int,
        *,
        prior: Sequence[Transaction],
        restore: RestorePolicy,
        reissue_expires_at: datetime | None,
        reissue_follows_activity: bool = False,
    ) -> None:
        wallet = self.wallet(member)
        self._check_room(wallet, amount)
        left = amount
        if restore == "original_expiry":
            restorable = _restorable(original, wallet, prior)
            for lot in wallet.ordered(self._named(wallet, lot_id) for lot_id in restorable):
                give = min(restorable[lot.lot.id], left)
                if give > 0:
                    self._move(lot, MoveReason.RESTORE, remaining=give)
                    left -= give
                    if lot.lot.is_due(self.now):
                        self.expire_now(wallet, lot, give)
        if left > 0:
            # Reissue, or the part of a debit that had become debt rather than leaving a lot.
            self.new_lot(
                wallet,
                left,
                available_at=self.now,
                expires_at=reissue_expires_at,
                follows_activity=reissue_follows_activity and restore == "reissue",
            )
        wallet.posted += amount
        self.post(wallet.account, amount)
        self.settle_debt(wallet)

    # -- result ----------------------------------------------------------------------------

    def finish(
        self,
        *,
        kind: TransactionKind,
        amount: int,
        request: tuple[tuple[str, str], ...],
        reason: str | None = None,
        metadata: tuple[tuple[str, str], ...] = (),
        hold: TransactionId | None = None,
        hold_expires_at: datetime | None = None,
        reverses: TransactionId | None = None,
        expiry_extensions: tuple[ExpiryExtension, ...] = (),
    ) -> Plan:
        """Seal the booking into a transaction and a plan, checking its invariants.

        Raises:
            InvariantViolation: If the plan would break an invariant.
        """
        # Every command runs this: plain loops and positional arguments, few generators.
        legs = [item for item in self._postings.items() if item[1] != 0]
        if len(legs) > 1:
            legs.sort(key=_posting_order)
        postings = tuple([Posting(account, points, phase) for (account, phase), points in legs])
        touched = [work for work in self._wallets.values() if work.touched]
        if len(touched) > 1:
            touched.sort(key=lambda work: work.state.key)
        states: list[WalletState] = []
        after: list[WalletChange] = []
        for w in touched:
            s, version = w.state, w.state.version + 1
            states.append(WalletState(s.member, s.currency, version, w.posted, w.held, w.debt))
            after.append(
                WalletChange(
                    s.member, s.currency, version, w.posted, w.held, w.debt, w.posted - s.posted
                )
            )
        wallets, changes = tuple(states), tuple(after)
        debt_moves = (
            tuple(
                DebtMove(member, self.currency, points)
                for member, points in sorted(self._debt.items())
                if points != 0
            )
            if self._debt
            else ()
        )
        # Positional, in Transaction's field order (id, key, kind, created_at, currency,
        # amount, postings, lots_created, lot_moves, debt_moves, wallet_changes, hold,
        # hold_expires_at, reverses, expiry_extensions, reason, metadata, request,
        # written_off): keywords cost a fifth more, and every command makes one.
        transaction = Transaction(
            self.transaction_id,
            self.key,
            kind,
            self.now,
            self.currency,
            amount,
            postings,
            tuple(self._created),
            tuple(self._moves),
            debt_moves,
            changes,
            hold,
            hold_expires_at,
            reverses,
            expiry_extensions,
            reason,
            metadata,
            request,
            self._written_off,
        )
        if self._seal_key is not None:
            transaction = seal(transaction, self._seal_key)
        lots: list[Lot] = []
        for work in touched:
            changed = [lot for lot in work.lots.values() if lot.changed]
            if len(changed) > 1:
                changed.sort(key=_spending_order)
                lots.extend([lot.result() for lot in changed])
            elif changed:
                lots.append(changed[0].result())
        plan = Plan(transaction, wallets, tuple(lots), tuple(self._holds) if self._holds else ())
        before = (
            {touched[0].state.key: touched[0]}
            if len(touched) == 1
            else {work.state.key: work for work in touched}
        )
        check_plan(plan, before, self.now)
        return plan


def _restorable(
    original: Transaction, wallet: _WalletWork, prior: Sequence[Transaction]
) -> dict[LotId, int]:
    """Points *original* took out of each of *wallet*'s lots, less what reversals put back."""
    taken_out = (MoveReason.SPEND, MoveReason.CAPTURE, MoveReason.CLAWBACK)
    restorable: defaultdict[LotId, int] = defaultdict(int)
    for move in original.lot_moves:
        if move.lot in wallet.lots and move.reason in taken_out:
            restorable[move.lot] -= move.remaining
    for reversal in prior:
        for move in reversal.lot_moves:
            if move.lot in restorable and move.reason is MoveReason.RESTORE:
                restorable[move.lot] -= move.remaining
    return restorable


def _spending_order(work: _LotWork) -> tuple[bool, datetime, datetime, LotId]:
    return work.lot.fifo_key()


def _posting_order(item: tuple[tuple[AccountId, Phase], int]) -> tuple[str, str, str, str]:
    """Postings are stored in this order: by phase, account kind, currency, then member."""
    # The enums are StrEnums: each member is the str of its value, and sorts as it does.
    (account, phase), _ = item
    return (phase, account.kind, account.currency, account.member or "")

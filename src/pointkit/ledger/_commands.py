"""The ledger's commands, planned once and run alone or linked.

Maintainer's notes
------------------
Every command goes through the same steps, in this order, which is also the precedence of its
errors (the golden table in tests/test_ledger_golden.py pins it):

1. arguments are checked without touching storage (``InvalidArgumentError`` and subclasses);
2. in a write unit, the idempotency key is looked up: the same payload returns the recorded
   transaction with ``replayed=True`` and writes nothing; another payload raises
   ``IdempotencyConflictError``. Time-relative checks come after this step, so a retry of a
   command that was valid when first sent still replays. Commands that name a hold or a
   transaction look the key up first; the others lock first and look it up once, under the
   locks (step 4), which saves a read and keeps the same precedence;
3. time-relative checks (an expiry must be in the future) and lookups of the hold or
   transaction the command names;
4. the wallets involved are locked in sorted order and the key is checked (again): a
   concurrent duplicate may have committed while this unit waited for the lock. A storage
   that can (PostgreSQL) locks, checks the key, reads the lots named by id and, for a
   command that spends, the first open lots in one round trip (``lock_for``), and sends
   the writes of step 6 with the commit in a second;
5. the pure booking core plans the command from the locked state; a refusal raises a
   ``LedgerError`` and nothing is written or remembered, so a retry is evaluated afresh;
6. the plan is checked and written, and the unit commits.

:class:`Commands` holds steps 1 and 3 to 6 for every command once. Where a command runs is the
subclass's business (``_execute``): :class:`~pointkit.ledger.Ledger` runs each command in its
own unit of work and retries transient failures; :class:`~pointkit.ledger.Linked` runs several
in one unit that commits all or nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import attrs

from pointkit import limits
from pointkit._validate import check_deadline, check_int, type_name
from pointkit._values import MemberId, PointCurrency, ProgramId
from pointkit.exceptions import (
    AlreadyReversedError,
    ArgumentTypeError,
    CaptureExceedsHoldError,
    HoldNotFoundError,
    InvalidArgumentError,
    NotReversibleError,
    ReversalExceedsOriginalError,
    TransactionNotFoundError,
    UnknownCurrencyError,
)
from pointkit.ledger import _observe
from pointkit.ledger._booking import Booking, reversal_route
from pointkit.ledger._credit import Credit, Earn, check_rule, credit_start
from pointkit.ledger._envelope import NOTHING_TO_TRACK, sent
from pointkit.ledger._envelope import Envelope as _Envelope
from pointkit.ledger._envelope import KeyTaken as _KeyTaken
from pointkit.ledger._envelope import Request as _Request
from pointkit.ledger._envelope import check_amount as _check_amount
from pointkit.ledger._envelope import check_id as _check_id
from pointkit.ledger._envelope import check_optional_time as _check_optional_time
from pointkit.ledger._envelope import check_reason as _check_reason
from pointkit.ledger._envelope import conflict as _conflict
from pointkit.ledger._expiry_cache import expiry_of
from pointkit.ledger._holds import check_open
from pointkit.ledger._records import (
    AccountKind,
    ExpiryExtension,
    HoldStatus,
    LedgerPolicy,
    Transaction,
    TransactionId,
    TransactionKind,
    check_clawback,
    check_restore,
    transaction_id_for,
)
from pointkit.ledger._storage import lock_for


if TYPE_CHECKING:
    import uuid
    from collections.abc import Callable, Mapping, Sequence
    from contextlib import AbstractContextManager

    from pointkit.expiry import ExpiryPolicy
    from pointkit.ledger._records import (
        ClawbackPolicy,
        Hold,
        LotId,
        RestorePolicy,
    )
    from pointkit.ledger._storage import Plan, ReleaseHook, WriteUnit


__all__ = ["Commands"]


class Commands:
    """The ledger's commands: earn, redeem, reserve, capture, release, transfer, reverse, adjust.

    A base of :class:`~pointkit.ledger.Ledger` and :class:`~pointkit.ledger.Linked`; see their
    documentation. Subclasses say where a command runs (``_execute``) and when it is (``_now``).
    """

    _currencies: dict[str, PointCurrency]
    _default_currency: str
    _program: ProgramId
    _policy: LedgerPolicy
    _expiry: ExpiryPolicy | None
    _release_hooks: dict[str, ReleaseHook]
    _seal_key: bytes | None

    def _now(self) -> datetime:
        raise NotImplementedError

    def _sending(self, command: str, key: object) -> AbstractContextManager[None]:  # noqa: ARG002
        """Where a command is sent from its first check to its write; a link tracks refusals."""
        return NOTHING_TO_TRACK

    def _execute(
        self,
        key: str,
        request: _Request,
        plan: Callable[[WriteUnit, datetime], Plan | None],
        now: datetime | None = None,
        *,
        lookup_first: bool = True,
    ) -> Transaction | None:
        raise NotImplementedError

    def _released(self, unit: WriteUnit, hold: Hold, now: datetime) -> None:
        """Run every release hook for *hold*, in the unit that releases it."""
        for hook in self._release_hooks.values():
            hook(unit, hold, now)

    def _extensions(
        self, member: MemberId, currency: str, now: datetime
    ) -> tuple[ExpiryExtension, ...]:
        """The inactivity extension a qualifying activity (earn, redeem, capture) makes."""
        if self._expiry is None:
            return ()
        window = self._expiry.window_for(currency)
        if not window.follows_activity:
            return ()
        until = window.expires_at(now, self._expiry.zone)
        return () if until is None else (ExpiryExtension(member, currency, until),)

    # -- plumbing --------------------------------------------------------------------------

    def currency(self, currency: object) -> str:
        """Return the checked currency code: *currency*, or the default for ``None``.

        Raises:
            UnknownCurrencyError: If the ledger does not hold *currency*.
        """
        return self._currency(currency)

    def _currency(self, currency: object) -> str:
        if currency is None:
            return self._default_currency
        if not isinstance(currency, str):
            raise ArgumentTypeError(
                f"currency={currency!r} must be a str, not {type_name(currency)}"
            )
        if currency not in self._currencies:
            valid = ", ".join(repr(code) for code in self._currencies)
            raise UnknownCurrencyError(f"currency={currency!r} is not one of {valid}")
        return currency

    @staticmethod
    def _replay(existing: Transaction, request: _Request) -> Transaction:
        if existing.request == request:
            return attrs.evolve(existing, replayed=True)
        raise _conflict(existing.key, dict(existing.request), dict(request))

    def _booking(
        self,
        unit: WriteUnit,
        key: str,
        currency: str,
        now: datetime,
        members: Sequence[MemberId],
        lot_ids: Sequence[LotId] = (),
        *,
        spending: bool = False,
    ) -> Booking:
        """Lock the wallets, check the key again, and start a booking on the locked state.

        Lots named by id are read after the locks are taken, so they are current. A command
        that takes points says *spending*: a unit that can reads its first lots with the locks.
        """
        if members:  # the member of a command that names a hold or a transaction, for its logs
            _observe.note_member(members[0])
        locked = lock_for(
            unit,
            sorted({(member, currency) for member in members}),
            (key,),
            spending=spending,
            lot_ids=sorted(set(lot_ids)),
        )
        taken = locked.recorded.get(key)
        if taken is not None:
            raise _KeyTaken(taken)
        return Booking(
            transaction_id=transaction_id_for(key, now),
            key=key,
            currency=currency,
            now=now,
            wallets=dict(locked.wallets),
            open_lots=unit.open_lots,
            extra_lots=locked.lots,
            seal_key=self._seal_key,
        )

    # -- commands --------------------------------------------------------------------------

    @sent("earn")
    def earn(
        self,
        member: str,
        amount: int,
        *,
        key: str,
        currency: str | None = None,
        available_at: datetime | None = None,
        expires_at: datetime | None = None,
        rule: str | None = None,
        reason: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> Transaction:
        """Credit *amount* points to *member* as a new lot.

        If the member owes points, the new points pay the debt off first.

        Args:
            member: The member.
            amount: Points to credit, at least 1.
            key: The idempotency key, for example the order id.
            currency: The point currency; the ledger's default if omitted.
            available_at: When the points become spendable; omitted, or at or before now,
                means at once. Later means pending (for example until a return window closes).
            expires_at: When the points expire; must be after ``available_at``. Omitted, the
                ledger's expiry policy decides, counting from when the points become
                available; without a policy they never expire.
            rule: The earning rule that awarded the points: the expiry policy's window for
                this rule, if it has one, applies.
            reason: Free text for statements.
            metadata: Host data kept with the transaction.

        Returns:
            The transaction.

        Raises:
            InvalidArgumentError: If an argument is invalid.
            IdempotencyConflictError: If *key* was used for a different command.
            PointsOverflowError: If the member's balance would pass ``limits.POINTS_MAX``.
        """
        return self._credit(
            TransactionKind.EARN,
            Earn(
                member=member,
                amount=amount,
                key=key,
                currency=currency,
                available_at=available_at,
                expires_at=expires_at,
                rule=rule,
                reason=reason,
                metadata=metadata,
            ),
        )

    def _prepare_credit(self, kind: TransactionKind, earn: Earn) -> Credit:
        """Check one credit's arguments (an earn, or a positive adjustment)."""
        member = MemberId(earn.member)
        amount = _check_amount("amount", earn.amount)
        code = self._currency(earn.currency)
        available = _check_optional_time("available_at", earn.available_at)
        expires = _check_optional_time("expires_at", earn.expires_at)
        rule = check_rule(earn.rule)
        # "rule" joins the payload only when given, so payloads recorded before rules
        # existed still match on replay.
        named = {} if rule is None else {"rule": rule}
        envelope = _Envelope.of(
            kind.value,
            key=earn.key,
            reason=earn.reason,
            metadata=earn.metadata,
            member=member,
            amount=amount,
            currency=code,
            available_at=available,
            expires_at=expires,
            **named,
        )
        return Credit(envelope, kind, member, code, amount, available, expires, rule)

    def _plan_credit(self, credit: Credit, booking: Booking, now: datetime) -> Plan:
        start = credit_start(now, credit.available_at, credit.expires_at)
        source = (
            AccountKind.ISSUANCE if credit.kind is TransactionKind.EARN else AccountKind.ADJUSTMENT
        )
        expires_at, follows = credit.expires_at, False
        if expires_at is None and self._expiry is not None:
            window = self._expiry.window_for(credit.currency, credit.rule)
            expires_at = expiry_of(window, start, self._expiry.zone)
            follows = window.follows_activity
        booking.credit(
            credit.member,
            credit.amount,
            source=source,
            available_at=start,
            expires_at=expires_at,
            follows_activity=follows,
        )
        extensions = (
            self._extensions(credit.member, credit.currency, now)
            if credit.kind is TransactionKind.EARN
            else ()
        )
        return credit.envelope.finish(
            booking, kind=credit.kind, amount=credit.amount, expiry_extensions=extensions
        )

    def _credit(self, kind: TransactionKind, earn: Earn) -> Transaction:
        credit = self._prepare_credit(kind, earn)

        def plan(unit: WriteUnit, now: datetime) -> Plan:
            booking = self._booking(
                unit, credit.envelope.key, credit.currency, now, [credit.member]
            )
            return self._plan_credit(credit, booking, now)

        return self._run(credit.envelope, plan)

    def _run(
        self,
        envelope: _Envelope,
        plan: Callable[[WriteUnit, datetime], Plan],
        *,
        lookup_first: bool = False,
    ) -> Transaction:
        transaction = self._execute(envelope.key, envelope.request, plan, lookup_first=lookup_first)
        if transaction is None:  # pragma: no cover - only expiry plans may plan nothing
            raise AssertionError("unreachable")
        return transaction

    @sent("redeem")
    def redeem(
        self,
        member: str,
        amount: int,
        *,
        key: str,
        currency: str | None = None,
        reason: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> Transaction:
        """Spend *amount* of *member*'s available points for good, soonest-expiring first.

        For a redemption that may still fail (an order not yet fulfilled), use :meth:`reserve`
        and then :meth:`capture` or :meth:`release`.

        Raises:
            InvalidArgumentError: If an argument is invalid.
            IdempotencyConflictError: If *key* was used for a different command.
            InsufficientPointsError: If the member has fewer points available.
        """
        member_id = MemberId(member)
        points = _check_amount("amount", amount)
        code = self._currency(currency)
        envelope = _Envelope.of(
            "redeem",
            key=key,
            reason=reason,
            metadata=metadata,
            member=member_id,
            amount=points,
            currency=code,
        )

        def plan(unit: WriteUnit, now: datetime) -> Plan:
            booking = self._booking(unit, envelope.key, code, now, [member_id], spending=True)
            booking.redeem(member_id, points)
            return envelope.finish(
                booking,
                kind=TransactionKind.REDEEM,
                amount=points,
                expiry_extensions=self._extensions(member_id, code, now),
            )

        return self._run(envelope, plan)

    @sent("reserve")
    def reserve(
        self,
        member: str,
        amount: int,
        *,
        key: str,
        timeout_seconds: int,
        currency: str | None = None,
        reason: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> Transaction:
        """Reserve *amount* of *member*'s available points in a hold (two-phase redemption).

        The hold's id is the returned transaction's ``hold`` (and ``id``). Capture it when the
        order is fulfilled, release it when it fails; if neither happens within
        *timeout_seconds*, ``expire_due`` releases it.

        Raises:
            InvalidArgumentError: If an argument is invalid.
            IdempotencyConflictError: If *key* was used for a different command.
            InsufficientPointsError: If the member has fewer points available; a hold that does
                not fit fails when it is made, not when it is captured.
        """
        member_id = MemberId(member)
        points = _check_amount("amount", amount)
        seconds = check_int(
            "timeout_seconds",
            timeout_seconds,
            minimum=1,
            maximum=limits.HOLD_TIMEOUT_SECONDS_MAX,
            limit_name="HOLD_TIMEOUT_SECONDS_MAX",
        )
        code = self._currency(currency)
        envelope = _Envelope.of(
            "reserve",
            key=key,
            reason=reason,
            metadata=metadata,
            member=member_id,
            amount=points,
            currency=code,
            timeout_seconds=seconds,
        )

        def plan(unit: WriteUnit, now: datetime) -> Plan:
            booking = self._booking(unit, envelope.key, code, now, [member_id], spending=True)
            expires_at = check_deadline("timeout_seconds", now, timedelta(seconds=seconds))
            booking.reserve(member_id, points, expires_at=expires_at)
            return envelope.finish(
                booking,
                kind=TransactionKind.RESERVE,
                amount=points,
                hold=booking.transaction_id,
                hold_expires_at=expires_at,
            )

        return self._run(envelope, plan)

    @sent("capture")
    def capture(
        self,
        hold: uuid.UUID | str,
        amount: int | None = None,
        *,
        key: str,
        reason: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> Transaction:
        """Capture an open hold: spend *amount* of its points (all if omitted), release the rest.

        A hold is captured at most once; a partial capture releases the remainder at once.

        Raises:
            InvalidArgumentError: If an argument is invalid.
            IdempotencyConflictError: If *key* was used for a different command.
            HoldNotFoundError: If there is no such hold.
            HoldAlreadyCapturedError: If it was captured.
            ReleasedHoldCaptureError: If it was released (a ``HoldAlreadyReleasedError``).
            HoldExpiredError: If it timed out.
            CaptureExceedsHoldError: If *amount* is more than the hold reserved.
        """
        hold_id = _check_id("hold", hold)
        points = None if amount is None else _check_amount("amount", amount)
        return self._resolve(
            hold_id, points, key=key, reason=reason, metadata=metadata, capture=True
        )

    @sent("release")
    def release(
        self,
        hold: uuid.UUID | str,
        *,
        key: str,
        reason: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> Transaction:
        """Release an open hold: its points become available again.

        Points of a lot that expired while the hold protected them expire now.

        Raises:
            InvalidArgumentError: If an argument is invalid.
            IdempotencyConflictError: If *key* was used for a different command.
            HoldNotFoundError: If there is no such hold.
            CapturedHoldReleaseError: If it was captured (a ``HoldAlreadyCapturedError``).
            HoldAlreadyReleasedError: If it was released.
            HoldExpiredError: If it timed out.
        """
        hold_id = _check_id("hold", hold)
        return self._resolve(
            hold_id, None, key=key, reason=reason, metadata=metadata, capture=False
        )

    def _resolve(
        self,
        hold_id: TransactionId,
        amount: int | None,
        *,
        key: str,
        reason: str | None,
        metadata: Mapping[str, str] | None,
        capture: bool,
    ) -> Transaction:
        fields: dict[str, object] = {"hold": hold_id}
        if capture:
            fields["amount"] = amount
        envelope = _Envelope.of(
            "capture" if capture else "release",
            key=key,
            reason=reason,
            metadata=metadata,
            **fields,
        )

        def plan(unit: WriteUnit, now: datetime) -> Plan:
            found = unit.hold(hold_id)
            if found is None:
                raise HoldNotFoundError(f"hold={str(hold_id)!r} does not exist")
            allocated = [lot_id for lot_id, _ in found.allocations]
            booking = self._booking(
                unit, envelope.key, found.currency, now, [found.member], lot_ids=allocated
            )
            current = unit.hold(hold_id) or found  # re-read under the wallet lock
            check_open(current, now, capturing=capture)
            points = 0
            if capture:
                points = current.amount if amount is None else amount
                if points > current.amount:
                    raise CaptureExceedsHoldError(
                        f"amount={points} is more than the {current.amount} points hold "
                        f"{str(hold_id)!r} reserved"
                    )
            booking.resolve(
                current,
                capture=points,
                status=HoldStatus.CAPTURED if capture else HoldStatus.RELEASED,
            )
            if not capture:
                self._released(unit, current, now)
            return envelope.finish(
                booking,
                kind=TransactionKind.CAPTURE if capture else TransactionKind.RELEASE,
                amount=points if capture else current.amount,
                hold=hold_id,
                expiry_extensions=(
                    self._extensions(current.member, current.currency, now) if capture else ()
                ),
            )

        return self._run(envelope, plan, lookup_first=True)

    @sent("transfer")
    def transfer(
        self,
        sender: str,
        recipient: str,
        amount: int,
        *,
        key: str,
        currency: str | None = None,
        reason: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> Transaction:
        """Move *amount* available points from *sender* to *recipient*.

        The points keep their expiry: the recipient gets one lot per expiry date they had, so a
        transfer never extends their life.

        Raises:
            InvalidArgumentError: If an argument is invalid or sender and recipient are the same.
            IdempotencyConflictError: If *key* was used for a different command.
            InsufficientPointsError: If the sender has fewer points available.
            PointsOverflowError: If the recipient's balance would pass ``limits.POINTS_MAX``.
        """
        source = MemberId.named("sender", sender)
        target = MemberId.named("recipient", recipient)
        if source == target:
            raise InvalidArgumentError(
                f"recipient={str(target)!r} is the sender; a transfer needs two members"
            )
        points = _check_amount("amount", amount)
        code = self._currency(currency)
        envelope = _Envelope.of(
            "transfer",
            key=key,
            reason=reason,
            metadata=metadata,
            sender=source,
            recipient=target,
            amount=points,
            currency=code,
        )

        def plan(unit: WriteUnit, now: datetime) -> Plan:
            booking = self._booking(unit, envelope.key, code, now, [source, target], spending=True)
            booking.transfer(source, target, points)
            return envelope.finish(booking, kind=TransactionKind.TRANSFER, amount=points)

        return self._run(envelope, plan)

    @sent("reverse")
    def reverse(
        self,
        transaction: uuid.UUID | str,
        amount: int | None = None,
        *,
        key: str,
        clawback: ClawbackPolicy | None = None,
        restore: RestorePolicy | None = None,
        reissue_expires_at: datetime | None = None,
        reason: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> Transaction:
        """Reverse *amount* of an earn, redemption, capture, transfer or adjustment.

        For a refund, a return or a correction; *amount* defaults to all that is left.

        Partial reversals add up to at most what the original moved. Taking points back from a
        member takes, in order: the free points still in the lots the original created; points
        of those lots that have expired since (from the expired account, so nobody loses points
        twice); the member's other points that are not due, pending ones included; then the
        *clawback* policy decides the shortfall. Giving points back to a member follows
        *restore*: into the lots they came from, keeping their expiry, or as a new lot that
        expires at *reissue_expires_at* (if omitted, as the ledger's expiry policy says for
        the currency, counting from now; never without a policy).

        Raises:
            InvalidArgumentError: If an argument is invalid.
            IdempotencyConflictError: If *key* was used for a different command.
            TransactionNotFoundError: If there is no such transaction.
            NotReversibleError: If its kind cannot be reversed or it moved no points.
            AlreadyReversedError: If it was reversed in full already.
            ReversalExceedsOriginalError: If *amount* is more than is left to reverse.
            InsufficientPointsError: If the clawback is short under the ``reject`` policy.
            DebtLimitExceededError: If the clawback would pass the debt limit.
        """
        original_id = _check_id("transaction", transaction)
        points = None if amount is None else _check_amount("amount", amount)
        claw = self._policy.clawback if clawback is None else check_clawback(clawback)
        give = self._policy.restore if restore is None else check_restore(restore)
        reissue_at = _check_optional_time("reissue_expires_at", reissue_expires_at)
        if reissue_at is not None and give != "reissue":
            raise InvalidArgumentError(
                f"reissue_expires_at applies only with restore='reissue', not restore={give!r}"
            )
        envelope = _Envelope.of(
            "reverse",
            key=key,
            reason=reason,
            metadata=metadata,
            transaction=original_id,
            amount=points,
            clawback=claw,
            restore=give,
            reissue_expires_at=reissue_at,
        )

        def plan(unit: WriteUnit, now: datetime) -> Plan:
            return self._plan_reversal(
                unit,
                now,
                envelope,
                original_id,
                points,
                clawback=claw,
                restore=give,
                reissue_at=reissue_at,
                reissue_by_policy=True,
            )

        return self._run(envelope, plan, lookup_first=True)

    def _plan_reversal(
        self,
        unit: WriteUnit,
        now: datetime,
        envelope: _Envelope,
        original_id: TransactionId,
        points: int | None,
        *,
        clawback: ClawbackPolicy,
        restore: RestorePolicy,
        reissue_at: datetime | None,
        reissue_by_policy: bool = False,
    ) -> Plan:
        """Plan the reversal of *points* (all that is left if ``None``) of a transaction.

        With *reissue_by_policy*, points reissued without an expiry of their own expire as the
        expiry policy says for the currency, counting from now.
        """
        claw, give = clawback, restore
        if reissue_at is not None and reissue_at <= now:
            raise InvalidArgumentError(
                f"reissue_expires_at={reissue_at.isoformat()} must be after now ({now.isoformat()})"
            )
        original = unit.transaction(original_id)
        if original is None:
            raise TransactionNotFoundError(f"transaction={str(original_id)!r} does not exist")
        route = reversal_route(original)
        if route is None:
            hint = (
                "release the hold instead"
                if original.kind is TransactionKind.RESERVE
                else ("adjust the balance instead")
            )
            raise NotReversibleError(
                f"transaction={str(original_id)!r} is a {original.kind.value}, which cannot "
                f"be reversed; {hint}"
            )
        if route[2] == 0:
            raise NotReversibleError(
                f"transaction={str(original_id)!r} moved no points; there is nothing to reverse"
            )
        lot_ids = [lot.id for lot in original.lots_created]
        lot_ids += [move.lot for move in original.lot_moves]
        members = [change.member for change in original.wallet_changes]
        booking = self._booking(unit, envelope.key, original.currency, now, members, lot_ids)
        follows = False
        if reissue_by_policy and give == "reissue" and reissue_at is None and self._expiry:
            window = self._expiry.window_for(original.currency)
            reissue_at = window.expires_at(now, self._expiry.zone)
            follows = reissue_at is not None and window.follows_activity
        prior = list(unit.reversals_of(original_id))
        left = route[2] - sum(reversal.amount for reversal in prior)
        if left == 0:
            raise AlreadyReversedError(
                f"transaction={str(original_id)!r} was already reversed in full"
            )
        wanted = left if points is None else points
        if wanted > left:
            raise ReversalExceedsOriginalError(
                f"amount={wanted} is more than the {left} points left to reverse of "
                f"transaction={str(original_id)!r}"
            )
        booking.reverse(
            original,
            wanted,
            prior=prior,
            clawback=claw,
            restore=give,
            reissue_expires_at=reissue_at,
            debt_limit=self._policy.debt_limit,
            reissue_follows_activity=follows,
        )
        return envelope.finish(
            booking, kind=TransactionKind.REVERSAL, amount=wanted, reverses=original_id
        )

    @sent("adjust")
    def adjust(
        self,
        member: str,
        amount: int,
        *,
        key: str,
        reason: str,
        currency: str | None = None,
        available_at: datetime | None = None,
        expires_at: datetime | None = None,
        clawback: ClawbackPolicy | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> Transaction:
        """Adjust *member*'s balance by hand: credit a positive *amount*, debit a negative one.

        A credit is a new lot (``available_at`` and ``expires_at`` as for :meth:`earn`). A debit
        takes free points that are not due, pending ones included, in spending order, and the
        *clawback* policy decides any shortfall. Every adjustment needs a *reason*.

        Raises:
            InvalidArgumentError: If an argument is invalid.
            IdempotencyConflictError: If *key* was used for a different command.
            InsufficientPointsError: If a debit is short under the ``reject`` policy.
            DebtLimitExceededError: If a debit would pass the debt limit.
            PointsOverflowError: If a credit would pass ``limits.POINTS_MAX``.
        """
        points = check_int(
            "amount",
            amount,
            minimum=-limits.POINTS_MAX,
            maximum=limits.POINTS_MAX,
            limit_name="POINTS_MAX",
        )
        if points == 0:
            raise InvalidArgumentError("amount=0 must not be zero: credit > 0, debit < 0")
        note = _check_reason(reason)
        if note is None:
            raise InvalidArgumentError("reason=None must be given: every adjustment needs one")
        if points > 0:
            if clawback is not None:
                raise InvalidArgumentError(
                    f"clawback={clawback!r} applies only to debits, not to a credit of {points}"
                )
            return self._credit(
                TransactionKind.ADJUSTMENT,
                Earn(
                    member=member,
                    amount=points,
                    key=key,
                    currency=currency,
                    available_at=available_at,
                    expires_at=expires_at,
                    reason=note,
                    metadata=metadata,
                ),
            )
        if available_at is not None or expires_at is not None:
            raise InvalidArgumentError(
                f"available_at and expires_at apply only to credits, not to a debit of {points}"
            )
        member_id = MemberId(member)
        code = self._currency(currency)
        claw = self._policy.clawback if clawback is None else check_clawback(clawback)
        envelope = _Envelope.of(
            "adjustment",
            key=key,
            reason=note,
            metadata=metadata,
            member=member_id,
            amount=points,
            currency=code,
            clawback=claw,
        )

        def plan(unit: WriteUnit, now: datetime) -> Plan:
            booking = self._booking(unit, envelope.key, code, now, [member_id], spending=True)
            booking.debit(member_id, -points, clawback=claw, debt_limit=self._policy.debt_limit)
            return envelope.finish(booking, kind=TransactionKind.ADJUSTMENT, amount=-points)

        return self._run(envelope, plan)

    def _fresh_lot(
        self, booking: Booking, member: MemberId, amount: int, source: AccountKind, now: datetime
    ) -> None:
        """Credit *amount* as a new lot that expires as the ledger's policy says for its currency."""
        expires_at, follows = None, False
        if self._expiry is not None:
            window = self._expiry.window_for(booking.currency)
            expires_at = window.expires_at(now, self._expiry.zone)
            follows = window.follows_activity
        booking.credit(
            member,
            amount,
            source=source,
            available_at=now,
            expires_at=expires_at,
            follows_activity=follows,
        )

    # -- offers -------------------------------------------------------------------------------

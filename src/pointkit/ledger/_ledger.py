"""The :class:`Ledger`: commands with idempotency keys, and the reads hosts need.

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
   concurrent duplicate may have committed while this unit waited for the lock;
5. the pure booking core plans the command from the locked state; a refusal raises a
   ``LedgerError`` and nothing is written or remembered, so a retry is evaluated afresh;
6. the plan is checked and written, and the unit commits.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from fractions import Fraction
from typing import TYPE_CHECKING, Any, final

import attrs

from pointkit import limits
from pointkit._validate import check_aware, check_int, check_text, type_name
from pointkit._values import MemberId, PointCurrency, ProgramId
from pointkit.clock import Clock
from pointkit.exceptions import (
    AlreadyReversedError,
    ArgumentTypeError,
    CaptureExceedsHoldError,
    HoldAlreadyCapturedError,
    HoldAlreadyReleasedError,
    HoldExpiredError,
    HoldNotFoundError,
    InvalidArgumentError,
    InvariantViolation,
    LimitExceededError,
    NotReversibleError,
    ReversalExceedsOriginalError,
    TransactionNotFoundError,
    UnknownCurrencyError,
)
from pointkit.expiry import ExpiryPolicy
from pointkit.ledger._audit import AuditReport, audit
from pointkit.ledger._booking import Booking, reversal_route
from pointkit.ledger._command import RESERVED_KEY_PREFIX
from pointkit.ledger._command import Envelope as _Envelope
from pointkit.ledger._command import KeyTaken as _KeyTaken
from pointkit.ledger._command import Request as _Request
from pointkit.ledger._command import check_amount as _check_amount
from pointkit.ledger._command import check_id as _check_id
from pointkit.ledger._command import check_key as _check_key
from pointkit.ledger._command import check_optional_time as _check_optional_time
from pointkit.ledger._command import check_reason as _check_reason
from pointkit.ledger._command import conflict as _conflict
from pointkit.ledger._command import request as _request
from pointkit.ledger._command import retrying as _retrying
from pointkit.ledger._commerce import CommerceCommands
from pointkit.ledger._records import (
    AccountId,
    AccountKind,
    Balance,
    EventOutcome,
    ExpiringPage,
    ExpiryExtension,
    ExpiryRun,
    HoldStatus,
    LedgerPolicy,
    Statement,
    StatementLine,
    TierStatus,
    Transaction,
    TransactionId,
    TransactionKind,
    UpcomingExpiry,
    check_clawback,
    check_restore,
    transaction_id_for,
)
from pointkit.ledger._storage import RuleEventRecord
from pointkit.rules import (
    Counter,
    Event,
    MemberContext,
    RuleSet,
    RuleState,
    Streak,
    refund_fraction,
)
from pointkit.rules import clawback as clawback_points
from pointkit.tiers import TierDecision, TierLadder


if TYPE_CHECKING:
    import uuid
    from collections.abc import Callable

    from pointkit._values import Money
    from pointkit.ledger._records import (
        ClawbackPolicy,
        Hold,
        Lot,
        LotId,
        RestorePolicy,
    )
    from pointkit.ledger._storage import Plan, ReadUnit, Storage, WriteUnit
    from pointkit.rules import Award, StateKeys
    from pointkit.tiers import TierChange, TierState


__all__ = ["AccountBalance", "Earn", "Ledger"]


@final
@attrs.frozen(kw_only=True)
class Earn:
    """One credit of :meth:`Ledger.earn_many`: the arguments of :meth:`Ledger.earn`.

    Attributes:
        member: The member.
        amount: Points to credit, at least 1.
        key: The idempotency key.
        currency: The point currency; the ledger's default if omitted.
        available_at: When the points become spendable (at once if omitted).
        expires_at: When the points expire; if omitted, the ledger's expiry policy decides
            (never without one).
        rule: The earning rule that awarded the points, for the expiry policy's per-rule
            windows.
        reason: Free text for statements.
        metadata: Host data kept with the transaction.
    """

    member: str
    amount: int
    key: str
    currency: str | None = None
    available_at: datetime | None = None
    expires_at: datetime | None = None
    rule: str | None = None
    reason: str | None = None
    metadata: Mapping[str, str] | None = None


@final
@attrs.frozen
class _Credit:
    """A credit whose arguments have been checked."""

    envelope: _Envelope
    kind: TransactionKind
    member: MemberId
    currency: str
    amount: int
    available_at: datetime | None
    expires_at: datetime | None
    rule: str | None


@final
@attrs.frozen
class AccountBalance:
    """A system account's balance: the sums of its postings.

    Attributes:
        account: The account.
        posted: Sum of its posted postings.
        pending: Sum of its pending postings (points reserved by open holds).
    """

    account: AccountId
    posted: int
    pending: int


def _award_key(event_id: str, rule: str) -> str:
    """The key of the transaction that posts *rule*'s award for an event."""
    return f"{RESERVED_KEY_PREFIX}event:{event_id}:{rule}"


def _refund_counter(event_id: str) -> tuple[str, str]:
    """The counter that numbers an event's refunds (its tasks are the refunds so far)."""
    return (f"{RESERVED_KEY_PREFIX}refunds:{event_id}", "lifetime")


def _refund_record(event_id: str, index: int) -> str:
    """The id under which the *index*-th refund of an event records each rule's share."""
    return f"{RESERVED_KEY_PREFIX}refund:{event_id}:{index}"


def _refund_key_record(key: str) -> str:
    """The id under which a refund's idempotency key records its request."""
    return f"{RESERVED_KEY_PREFIX}refund-key:{key}"


def _check_event(event: object, rules: object, member: object) -> MemberContext:
    if not isinstance(event, Event):
        raise ArgumentTypeError(f"event={event!r} must be an Event, not {type_name(event)}")
    if not isinstance(rules, RuleSet):
        raise ArgumentTypeError(f"rules={rules!r} must be a RuleSet, not {type_name(rules)}")
    if member is None:
        return MemberContext()
    if not isinstance(member, MemberContext):
        raise ArgumentTypeError(
            f"member={member!r} must be a MemberContext or None, not {type_name(member)}"
        )
    return member


def _rule_state(
    unit: ReadUnit,
    event: Event,
    keys: StateKeys,
    member: MemberContext,
    budgets: Mapping[str, int],
) -> RuleState:
    """The rule state *keys* name, as storage holds it for *event*'s member."""
    counters = unit.counters(event.member, keys.counters)
    streaks = unit.streaks(event.member, keys.streaks)
    return RuleState(
        member,
        counters={key: Counter(points, tasks) for key, (points, tasks) in counters.items()},
        budgets=dict(budgets),
        streaks={rule: Streak(day, length) for rule, (day, length) in streaks.items()},
    )


def _replayed_event(event: Event, stored: str, unit: ReadUnit) -> EventOutcome:
    """The outcome of an event recorded before, if *event* is the one recorded."""
    document = json.loads(stored)
    recorded = document["event"]
    given = json.loads(json.dumps(event.to_dict()))
    if recorded != given:
        raise _conflict(
            event.id,
            {field: json.dumps(value) for field, value in recorded.items()},
            {field: json.dumps(value) for field, value in given.items()},
        )
    transactions = []
    for award in document["awards"]:
        found = unit.transaction_by_key(_award_key(event.id, str(award["rule"])))
        if found is None:  # pragma: no cover - recorded in the same unit as the event
            raise InvariantViolation(f"event {event.id!r} lost its award of {award['rule']}")
        transactions.append(attrs.evolve(found, replayed=True))
    return EventOutcome(event.id, None, stored, tuple(transactions), replayed=True)


def _through(
    bounds: tuple[datetime | None, datetime], now: datetime
) -> tuple[datetime | None, datetime]:
    """A metric window ending now, made to include what was recorded at this very instant.

    A window that closed at a review ends there, exclusive: what happened at the review
    instant belongs to the next period.
    """
    start, end = bounds
    return (start, end + timedelta(microseconds=1) if end >= now else end)


def _check_within(value: object) -> timedelta:
    if not isinstance(value, timedelta):
        raise ArgumentTypeError(f"within={value!r} must be a timedelta, not {type_name(value)}")
    if value <= timedelta(0):
        raise InvalidArgumentError(f"within={value!r} must be a positive timedelta")
    return value


def _check_cursor(value: object) -> tuple[datetime, MemberId] | None:
    if value is None:
        return None
    if not isinstance(value, tuple) or len(value) != 2:  # noqa: PLR2004 - a pair
        raise ArgumentTypeError(
            f"after={value!r} must be the after of a previous ExpiringPage, or None"
        )
    return (check_aware("after[0]", value[0]), MemberId(value[1]))


def _check_rule(value: object) -> str | None:
    if value is None:
        return None
    return check_text(
        "rule", value, max_length=limits.RULE_NAME_LENGTH_MAX, limit_name="RULE_NAME_LENGTH_MAX"
    )


def _check_currencies(value: object) -> dict[str, PointCurrency]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ArgumentTypeError(f"currencies={value!r} must be a sequence of PointCurrency")
    if not value:
        raise InvalidArgumentError("currencies=() must hold at least one PointCurrency")
    if len(value) > limits.CURRENCIES_MAX:
        raise LimitExceededError(
            f"currencies has {len(value)} entries, over limits.CURRENCIES_MAX "
            f"({limits.CURRENCIES_MAX})"
        )
    by_code: dict[str, PointCurrency] = {}
    for currency in value:
        if not isinstance(currency, PointCurrency):
            raise ArgumentTypeError(f"currencies holds {currency!r}; each must be a PointCurrency")
        if currency.code in by_code:
            raise InvalidArgumentError(f"currencies holds {currency.code!r} twice")
        by_code[currency.code] = currency
    return by_code


def _check_system_kind(kind: object) -> AccountKind:
    if not isinstance(kind, AccountKind) or kind is AccountKind.MEMBER:
        raise InvalidArgumentError(
            f"kind={kind!r} must be a system AccountKind (not MEMBER); use balance() for a member"
        )
    return kind


@final
class Ledger(CommerceCommands):
    """A program's points ledger: wallets, lots, holds, transfers, reversals and expiry.

    Every command takes an idempotency ``key``: sending the same command with the same key again
    returns the recorded transaction (with ``replayed=True``) and writes nothing; reusing a key
    for a different command raises :class:`~pointkit.exceptions.IdempotencyConflictError`.
    A command refused for a state reason (insufficient points, ...) records nothing, so a retry is
    evaluated afresh.

    >>> from datetime import UTC, datetime
    >>> from pointkit import FixedClock, Ledger, MemoryStorage
    >>> ledger = Ledger(MemoryStorage(), clock=FixedClock(datetime(2026, 3, 1, tzinfo=UTC)))
    >>> _ = ledger.earn("alice", 500, key="order-1001")
    >>> _ = ledger.redeem("alice", 120, key="coupon-7")
    >>> ledger.balance("alice").available
    380
    >>> ledger.redeem("alice", 1_000, key="coupon-8")
    Traceback (most recent call last):
    ...
    pointkit.exceptions.InsufficientPointsError: member 'alice' has 380 points available, 1000 needed

    Args:
        storage: Where the journal and state live (``MemoryStorage()``, SQLite, PostgreSQL, or a
            host's own adapter).
        clock: Where the time comes from; ``SystemClock()`` in production.
        currencies: The point currencies; the first is the default for every command.
        program: The program (tenant) this ledger works on; one storage holds many.
        policy: Default clawback and restore policies and the debt limit.
        expiry: When earned points expire, per currency and per rule (see
            :mod:`pointkit.expiry`); without it, points expire only when a command says so.

    Raises:
        InvalidArgumentError: If a currency is given twice, there are none, or too many.
    """

    def __init__(
        self,
        storage: Storage,
        *,
        clock: Clock,
        currencies: Sequence[PointCurrency] = (PointCurrency("points"),),
        program: str = "default",
        policy: LedgerPolicy | None = None,
        expiry: ExpiryPolicy | None = None,
    ) -> None:
        if not callable(getattr(storage, "writing", None)) or not callable(
            getattr(storage, "reading", None)
        ):
            raise ArgumentTypeError(
                f"storage={storage!r} must implement the Storage protocol (reading and writing)"
            )
        if not isinstance(clock, Clock):
            raise ArgumentTypeError(f"clock={clock!r} must have a now() method")
        by_code = _check_currencies(currencies)
        if policy is not None and not isinstance(policy, LedgerPolicy):
            raise ArgumentTypeError(f"policy={policy!r} must be a LedgerPolicy")
        if expiry is not None and not isinstance(expiry, ExpiryPolicy):
            raise ArgumentTypeError(f"expiry={expiry!r} must be an ExpiryPolicy")
        self._storage = storage
        self._clock = clock
        self._currencies = by_code
        self._default_currency = next(iter(by_code))
        self._program = ProgramId(program)
        self._policy = policy or LedgerPolicy()
        self._expiry = expiry

    def __repr__(self) -> str:
        return (
            f"Ledger(program={str(self._program)!r}, "
            f"currencies={list(self._currencies)!r}, storage={self._storage!r})"
        )

    @property
    def program(self) -> ProgramId:
        """The program this ledger works on."""
        return self._program

    @property
    def currencies(self) -> tuple[PointCurrency, ...]:
        """The point currencies, the default first."""
        return tuple(self._currencies.values())

    @property
    def policy(self) -> LedgerPolicy:
        """The default clawback and restore policies."""
        return self._policy

    @property
    def expiry(self) -> ExpiryPolicy | None:
        """The expiry policy, if the ledger has one."""
        return self._expiry

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

    def _now(self) -> datetime:
        return check_aware("clock.now()", self._clock.now())

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

    def _execute(
        self,
        key: str,
        request: _Request,
        plan: Callable[[WriteUnit, datetime], Plan | None],
        now: datetime | None = None,
        *,
        lookup_first: bool = True,
    ) -> Transaction | None:
        """Run one command as a unit of work: replay it, or plan it and write it.

        With *lookup_first*, the key is looked up before the plan starts; commands that check
        nothing before taking their locks skip that read, since every plan checks the key again
        under the locks (``_booking``) before anything else.

        A transient storage failure (busy database, deadlock, serialization conflict) rolls the
        unit back; the command then runs again from the start, a bounded number of times. That
        is safe because of the idempotency key: if an attempt did commit before its connection
        failed, the next attempt finds the key and replays. Storage errors name the command and
        its key.
        """
        return _retrying(
            lambda: self._attempt(key, request, plan, now, lookup_first=lookup_first),
            request,
            key,
        )

    def _execute_batch(
        self,
        plan_all: Callable[[WriteUnit, datetime], list[Transaction | Plan]],
        now: datetime | None,
        *,
        command: str,
        key: str,
    ) -> list[Transaction]:
        """Run many commands as one unit of work, written set-based when the storage can.

        Like :meth:`_execute`: transient failures retry the whole unit; every command in it is
        idempotent by its own key, so a retry replays what an earlier attempt committed.
        """

        def attempt() -> list[Transaction]:
            at = self._now() if now is None else now
            with self._storage.writing(self._program) as unit:
                results = plan_all(unit, at)
                plans = [result for result in results if not isinstance(result, Transaction)]
                apply_batch = getattr(unit, "apply_batch", None)
                if apply_batch is not None:
                    apply_batch(plans)
                else:
                    for plan in plans:
                        unit.apply(plan)
            return [
                result if isinstance(result, Transaction) else result.transaction
                for result in results
            ]

        return _retrying(attempt, (("command", command),), key)

    def _attempt(
        self,
        key: str,
        request: _Request,
        plan: Callable[[WriteUnit, datetime], Plan | None],
        now: datetime | None,
        *,
        lookup_first: bool,
    ) -> Transaction | None:
        at = self._now() if now is None else now
        with self._storage.writing(self._program) as unit:
            try:
                existing = unit.transaction_by_key(key) if lookup_first else None
                if existing is not None:
                    return self._replay(existing, request)
                planned = plan(unit, at)
            except _KeyTaken as taken:
                return self._replay(taken.transaction, request)
            if planned is None:
                return None
            unit.apply(planned)
        return planned.transaction

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
    ) -> Booking:
        """Lock the wallets, check the key again, and start a booking on the locked state.

        Lots named by id are read after the locks are taken, so they are current.
        """
        wallets = unit.lock_wallets(sorted({(member, currency) for member in members}))
        taken = unit.transaction_by_key(key)
        if taken is not None:
            raise _KeyTaken(taken)
        return Booking(
            transaction_id=transaction_id_for(key, now),
            key=key,
            currency=currency,
            now=now,
            wallets=wallets,
            open_lots=unit.open_lots,
            extra_lots=unit.lots(sorted(set(lot_ids))) if lot_ids else (),
        )

    @staticmethod
    def _check_expiry(
        now: datetime, available_at: datetime | None, expires_at: datetime | None
    ) -> datetime:
        start = now if available_at is None or available_at < now else available_at
        if expires_at is not None and expires_at <= start:
            raise InvalidArgumentError(
                f"expires_at={expires_at.isoformat()} must be after "
                f"{'available_at' if start is available_at else 'now'} ({start.isoformat()})"
            )
        return start

    # -- commands --------------------------------------------------------------------------

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

    def earn_many(self, earns: Sequence[Earn]) -> tuple[Transaction, ...]:
        """Credit many earns in one unit of work: the batch API for bulk awards and imports.

        Each earn is its own transaction, idempotent by its own key, exactly as if sent with
        :meth:`earn`; an earn whose key was recorded before comes back with ``replayed=True``.
        The batch is all or nothing: if any earn is invalid or conflicts, nothing is written.
        Storage that supports it writes the batch set-based (PostgreSQL: one statement per
        table and one UPDATE per wallet, however many earns the wallet gets).

        Args:
            earns: Up to ``limits.BATCH_MAX`` earns, with distinct keys.

        Returns:
            The transactions, in the order of *earns*.

        Raises:
            InvalidArgumentError: If an earn is invalid, two share a key, or there are too many.
            IdempotencyConflictError: If a key was used for a different command.
            PointsOverflowError: If a balance would pass ``limits.POINTS_MAX``.
        """
        given: object = earns  # checked at run time whatever the annotation says
        if not isinstance(given, Sequence) or any(not isinstance(e, Earn) for e in given):
            raise ArgumentTypeError("earns must be a sequence of Earn")
        if len(earns) > limits.BATCH_MAX:
            raise LimitExceededError(
                f"earns has {len(earns)} items, over limits.BATCH_MAX ({limits.BATCH_MAX})"
            )
        checked = [self._prepare_credit(TransactionKind.EARN, earn) for earn in earns]
        keys = [credit.envelope.key for credit in checked]
        if len(set(keys)) != len(keys):
            repeated = sorted({key for key in keys if keys.count(key) > 1})
            raise InvalidArgumentError(f"earns repeat the keys {repeated}; each needs its own")

        def plan_all(unit: WriteUnit, now: datetime) -> list[Transaction | Plan]:
            results: list[Transaction | Plan | None] = []
            for credit in checked:
                existing = unit.transaction_by_key(credit.envelope.key)
                replayed = (
                    None if existing is None else self._replay(existing, credit.envelope.request)
                )
                results.append(replayed)
            todo = {
                (credit.member, credit.currency)
                for credit, result in zip(checked, results, strict=True)
                if result is None
            }
            wallets = unit.lock_wallets(sorted(todo))
            for index, credit in enumerate(checked):
                if results[index] is not None:
                    continue
                wallet = (credit.member, credit.currency)
                booking = Booking(
                    transaction_id=transaction_id_for(credit.envelope.key, now),
                    key=credit.envelope.key,
                    currency=credit.currency,
                    now=now,
                    wallets={wallet: wallets[wallet]},
                    open_lots=unit.open_lots,
                )
                plan = self._plan_credit(credit, booking, now)
                wallets[wallet] = plan.wallets[0]  # the next earn of this wallet starts here
                results[index] = plan
            return [result for result in results if result is not None]

        done = self._execute_batch(plan_all, None, command="earn_many", key=keys[0] if keys else "")
        return tuple(done)

    def _prepare_credit(self, kind: TransactionKind, earn: Earn) -> _Credit:
        """Check one credit's arguments (an earn, or a positive adjustment)."""
        member = MemberId(earn.member)
        amount = _check_amount("amount", earn.amount)
        code = self._currency(earn.currency)
        available = _check_optional_time("available_at", earn.available_at)
        expires = _check_optional_time("expires_at", earn.expires_at)
        rule = _check_rule(earn.rule)
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
        return _Credit(envelope, kind, member, code, amount, available, expires, rule)

    def _plan_credit(self, credit: _Credit, booking: Booking, now: datetime) -> Plan:
        start = self._check_expiry(now, credit.available_at, credit.expires_at)
        source = (
            AccountKind.ISSUANCE if credit.kind is TransactionKind.EARN else AccountKind.ADJUSTMENT
        )
        expires_at, follows = credit.expires_at, False
        if expires_at is None and self._expiry is not None:
            window = self._expiry.window_for(credit.currency, credit.rule)
            expires_at = window.expires_at(start, self._expiry.zone)
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
            booking = self._booking(unit, envelope.key, code, now, [member_id])
            booking.redeem(member_id, points)
            return envelope.finish(
                booking,
                kind=TransactionKind.REDEEM,
                amount=points,
                expiry_extensions=self._extensions(member_id, code, now),
            )

        return self._run(envelope, plan)

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
            booking = self._booking(unit, envelope.key, code, now, [member_id])
            expires_at = now + timedelta(seconds=seconds)
            booking.reserve(member_id, points, expires_at=expires_at)
            return envelope.finish(
                booking,
                kind=TransactionKind.RESERVE,
                amount=points,
                hold=booking.transaction_id,
                hold_expires_at=expires_at,
            )

        return self._run(envelope, plan)

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
            HoldAlreadyReleasedError: If it was released.
            HoldExpiredError: If it timed out.
            CaptureExceedsHoldError: If *amount* is more than the hold reserved.
        """
        hold_id = _check_id("hold", hold)
        points = None if amount is None else _check_amount("amount", amount)
        return self._resolve(
            hold_id, points, key=key, reason=reason, metadata=metadata, capture=True
        )

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
            HoldAlreadyCapturedError: If it was captured.
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
            self._check_open(current, now)
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
                self._return_stock(unit, current, now)
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

    @staticmethod
    def _check_open(hold: Hold, now: datetime) -> None:
        name = repr(str(hold.id))
        match hold.status:
            case HoldStatus.CAPTURED:
                raise HoldAlreadyCapturedError(
                    f"hold={name} was already captured by {hold.resolved_by}"
                )
            case HoldStatus.RELEASED:
                raise HoldAlreadyReleasedError(
                    f"hold={name} was already released by {hold.resolved_by}"
                )
            case HoldStatus.EXPIRED:
                raise HoldExpiredError(f"hold={name} timed out at {hold.expires_at.isoformat()}")
            case _ if hold.expires_at <= now:
                raise HoldExpiredError(f"hold={name} timed out at {hold.expires_at.isoformat()}")
            case _:
                return

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
        source = MemberId(sender)
        target = MemberId(recipient)
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
            booking = self._booking(unit, envelope.key, code, now, [source, target])
            booking.transfer(source, target, points)
            return envelope.finish(booking, kind=TransactionKind.TRANSFER, amount=points)

        return self._run(envelope, plan)

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
        expires at *reissue_expires_at* (never if omitted).

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
    ) -> Plan:
        """Plan the reversal of *points* (all that is left if ``None``) of a transaction."""
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
        )
        return envelope.finish(
            booking, kind=TransactionKind.REVERSAL, amount=wanted, reverses=original_id
        )

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
            booking = self._booking(unit, envelope.key, code, now, [member_id])
            booking.debit(member_id, -points, clawback=claw, debt_limit=self._policy.debt_limit)
            return envelope.finish(booking, kind=TransactionKind.ADJUSTMENT, amount=-points)

        return self._run(envelope, plan)

    def expire_due(self, *, limit: int = limits.EXPIRY_BATCH_MAX) -> ExpiryRun:
        """Release timed-out holds, then expire the free points of every lot past its expiry.

        Each hold and each lot is processed exactly once, whoever runs this and however often:
        each gets a transaction under a key derived from its id. Holds go first, so points a
        timed-out hold protected past their lot's expiry expire in the same run. Lots are taken
        in ``(expires_at, id)`` order; at most *limit* holds and lots per call.

        Args:
            limit: The most holds and lots to process in this call.

        Returns:
            What the run did; ``complete`` is ``False`` when more remain (call again).
        """
        batch = check_int(
            "limit",
            limit,
            minimum=1,
            maximum=limits.EXPIRY_BATCH_MAX,
            limit_name="EXPIRY_BATCH_MAX",
        )
        now = self._now()
        with self._storage.reading(self._program) as unit:
            holds = list(unit.due_holds(now, batch))
            lots = list(unit.due_lots(now, batch - len(holds)))
        done: list[Transaction] = []
        expired: defaultdict[str, int] = defaultdict(int)
        holds_done = lots_done = 0
        for hold in holds:
            transaction = self._timeout(hold.id, now)
            if transaction is not None and not transaction.replayed:
                done.append(transaction)
                holds_done += 1
                expired[transaction.currency] += self._expired_by(transaction)
        for start in range(0, len(lots), limits.EXPIRY_LOTS_PER_UNIT):
            for transaction in self._expire_lots(
                lots[start : start + limits.EXPIRY_LOTS_PER_UNIT], now
            ):
                done.append(transaction)
                lots_done += 1
                expired[transaction.currency] += self._expired_by(transaction)
        return ExpiryRun(
            as_of=now,
            transactions=tuple(done),
            holds_expired=holds_done,
            lots_expired=lots_done,
            points_expired=tuple(sorted(expired.items())),
            complete=len(holds) + len(lots) < batch,
        )

    @staticmethod
    def _expired_by(transaction: Transaction) -> int:
        return transaction.posted_to(AccountId.system(AccountKind.EXPIRED, transaction.currency))

    def _timeout(self, hold_id: TransactionId, now: datetime) -> Transaction | None:
        key = f"{RESERVED_KEY_PREFIX}hold-timeout:{hold_id}"
        request = _request("hold_timeout", hold=hold_id)

        def plan(unit: WriteUnit, at: datetime) -> Plan | None:
            found = unit.hold(hold_id)
            if found is None:  # pragma: no cover - the run just read it
                return None
            allocated = [lot_id for lot_id, _ in found.allocations]
            booking = self._booking(unit, key, found.currency, at, [found.member], allocated)
            current = unit.hold(hold_id) or found
            if current.status is not HoldStatus.OPEN or current.expires_at > at:
                return None  # resolved meanwhile by a capture or release
            booking.resolve(current, capture=0, status=HoldStatus.EXPIRED)
            self._return_stock(unit, current, at)
            return booking.finish(
                kind=TransactionKind.HOLD_TIMEOUT,
                amount=current.amount,
                request=request,
                reason="hold timed out",
                hold=hold_id,
            )

        return self._execute(key, request, plan, now)

    def _expire_lots(self, lots: Sequence[Lot], now: datetime) -> list[Transaction]:
        """Expire due lots in one unit of work, one transaction per lot, written set-based.

        A lot that another run expired meanwhile, or that was spent or clawed back, has no
        free points left under the locks and is skipped: each lot expires exactly once.
        """

        def plan_all(unit: WriteUnit, at: datetime) -> list[Transaction | Plan]:
            wallets = unit.lock_wallets(sorted({(lot.member, lot.currency) for lot in lots}))
            current = {lot.id: lot for lot in unit.lots([lot.id for lot in lots])}
            plans: list[Transaction | Plan] = []
            for lot in lots:
                fresh = current.get(lot.id)
                if fresh is None or fresh.free == 0 or not fresh.is_due(at):
                    continue
                key = f"{RESERVED_KEY_PREFIX}expiry:{lot.id}"
                wallet = (lot.member, lot.currency)
                booking = Booking(
                    transaction_id=transaction_id_for(key, at),
                    key=key,
                    currency=lot.currency,
                    now=at,
                    wallets={wallet: wallets[wallet]},
                    open_lots=unit.open_lots,
                    extra_lots=[fresh],
                )
                points = booking.expire(lot.id, lot.member)
                plan = booking.finish(
                    kind=TransactionKind.EXPIRY,
                    amount=points,
                    request=_request("expiry", lot=str(lot.id)),
                    reason="lot expired",
                )
                wallets[wallet] = plan.wallets[0]  # the wallet's next expiry starts here
                plans.append(plan)
            return plans

        first = f"{RESERVED_KEY_PREFIX}expiry:{lots[0].id}" if lots else ""
        return self._execute_batch(plan_all, now, command="expiry", key=first)

    # -- reads -----------------------------------------------------------------------------

    def balance(self, member: str, currency: str | None = None) -> Balance:
        """Return *member*'s balance now. A member the ledger has never seen has zeros."""
        member_id = MemberId(member)
        code = self._currency(currency)
        now = self._now()
        with self._storage.reading(self._program) as unit:
            wallet = unit.wallet(member_id, code)
        pending = held = awaiting = available = remaining = 0
        for lot in wallet.lots:
            remaining += lot.remaining
            held += lot.held
            if lot.is_due(now):
                awaiting += lot.free
            elif lot.available_at > now:
                pending += lot.free
            else:
                available += lot.free
        # Pair assertions on what storage returned: a tampered or corrupt row raises rather
        # than showing a wrong balance.
        if remaining - wallet.debt != wallet.posted or held != wallet.held:
            raise InvariantViolation(
                f"stored wallet {member_id!r}/{code} disagrees with its lots: posted "
                f"{wallet.posted}, debt {wallet.debt}, held {wallet.held}; lots hold {remaining} "
                f"with {held} held"
            )
        return Balance(
            member=member_id,
            currency=code,
            posted=wallet.posted,
            pending=pending,
            held=held,
            awaiting_expiry=awaiting,
            available=available,
            debt=wallet.debt,
            as_of=now,
        )

    def lots(
        self, member: str, currency: str | None = None, *, include_closed: bool = False
    ) -> tuple[Lot, ...]:
        """Return *member*'s lots in spending order; closed ones only if *include_closed*."""
        member_id = MemberId(member)
        code = self._currency(currency)
        with self._storage.reading(self._program) as unit:
            if include_closed:
                return tuple(unit.wallet_lots(member_id, code))
            return unit.wallet(member_id, code).lots

    def upcoming_expiries(
        self, member: str, within: timedelta, currency: str | None = None
    ) -> tuple[UpcomingExpiry, ...]:
        """Return what *member* loses, and when, if they spend nothing within *within* from now.

        For "use your points before ..." messages. One entry per expiry instant, soonest
        first, counting free points only (held points expire only if their hold is released
        or times out). Under an inactivity window the dates move with every qualifying
        activity, so read them when the message goes out.

        Raises:
            InvalidArgumentError: If *within* is not a positive ``timedelta``.
        """
        member_id = MemberId(member)
        code = self._currency(currency)
        span = _check_within(within)
        now = self._now()
        end = now + span
        points: defaultdict[datetime, int] = defaultdict(int)
        with self._storage.reading(self._program) as unit:
            for lot in unit.open_lots(member_id, code):
                if lot.expires_at is None or lot.expires_at > end:
                    break  # spending order: the rest expire later or never
                if lot.expires_at > now and lot.free > 0:
                    points[lot.expires_at] += lot.free
        return tuple(
            UpcomingExpiry(member_id, code, at, free) for at, free in sorted(points.items())
        )

    def expiring(
        self,
        within: timedelta,
        *,
        currency: str | None = None,
        after: tuple[datetime, MemberId] | None = None,
        limit: int = 1_000,
    ) -> ExpiringPage:
        """List every member who loses points within *within* from now: who, how many, when.

        The program-wide side of :meth:`upcoming_expiries`, for a reminder job: entries come
        in ``(expires_at, member)`` order, a page at a time; pass the page's ``after`` to get
        the next one.

        Args:
            within: How far ahead to look.
            currency: The point currency; the ledger's default if omitted.
            after: The ``after`` of the previous page.
            limit: Most entries in the page, up to ``limits.EXPIRING_PAGE_MAX``.

        Raises:
            InvalidArgumentError: If an argument is invalid.
        """
        code = self._currency(currency)
        span = _check_within(within)
        size = check_int(
            "limit",
            limit,
            minimum=1,
            maximum=limits.EXPIRING_PAGE_MAX,
            limit_name="EXPIRING_PAGE_MAX",
        )
        cursor = _check_cursor(after)
        now = self._now()
        with self._storage.reading(self._program) as unit:
            rows = unit.expiring(code, now, now + span, after=cursor, limit=size)
        items = tuple(UpcomingExpiry(member, code, at, points) for at, member, points in rows)
        last = items[-1] if len(items) == size else None
        return ExpiringPage(items, None if last is None else (last.expires_at, last.member))

    # -- earning rules ---------------------------------------------------------------------

    def record_event(
        self,
        event: Event,
        rules: RuleSet,
        *,
        member: MemberContext | None = None,
        dry_run: bool = False,
    ) -> EventOutcome:
        """Evaluate *event* under *rules* and commit its awards with the rule state, once.

        In one unit of work: lock the member's wallets, then the budgets the rules draw on; read
        the counters, streaks and budgets the rules need (:meth:`RuleSet.state_keys`); decide
        (:meth:`RuleSet.evaluate`, pure); post one transaction per awarding rule (an earn, or an
        adjustment for a deduction, under the ledger's clawback policy); and record the
        decision with the counter, streak and budget updates. An event sent again, however
        often and however concurrently, is recorded once: later sends return the recorded
        outcome with ``replayed=True``; the same id with other content raises
        :class:`~pointkit.exceptions.IdempotencyConflictError`.

        Args:
            event: The event.
            rules: The rule set.
            member: The member's context (tier, tags, joined, birthday, earn multiplier).
            dry_run: Evaluate against the stored state and write nothing.

        Returns:
            The decision, with an explanation per rule, and the transactions.

        Raises:
            ArgumentTypeError: If an argument has the wrong type.
            InvalidArgumentError: If the event does not fit the rules' event schemas.
            UnknownCurrencyError: If a rule awards a currency the ledger does not hold.
            IdempotencyConflictError: If the event id was recorded with other content.
            InsufficientPointsError: If a deduction is short under the ``reject`` policy.
        """
        checked = _check_event(event, rules, member)
        codes = sorted(
            {self._currency(rules.rule(name).currency) for name in rules.rules_for(event.kind)}
        )
        keys = rules.state_keys(event)
        if dry_run:
            now = self._now()
            with self._storage.reading(self._program) as unit:
                stored = unit.rule_event(event.id)
                if stored is not None:
                    return _replayed_event(event, stored, unit)
                state = _rule_state(unit, event, keys, checked, unit.budgets(keys.budgets))
            decision = rules.evaluate(event, state, now)
            return EventOutcome(event.id, decision, decision.to_json(), (), dry_run=True)

        def attempt() -> EventOutcome:
            now = self._now()
            with self._storage.writing(self._program) as unit:
                unit.lock_wallets([(event.member, code) for code in codes])
                stored = unit.rule_event(event.id)
                if stored is not None:
                    return _replayed_event(event, stored, unit)
                budgets = unit.lock_budgets(keys.budgets)
                decision = rules.evaluate(
                    event, _rule_state(unit, event, keys, checked, budgets), now
                )
                document = decision.to_json()
                posted = tuple(self._award(unit, event, award, now) for award in decision.awards)
                unit.save_rule_event(
                    RuleEventRecord(
                        event_id=event.id,
                        member=event.member,
                        kind=event.kind,
                        at=event.at,
                        decision=document,
                        counters=tuple(
                            (key, count.points, count.tasks) for key, count in decision.counters
                        ),
                        streaks=tuple(
                            (rule, streak.last_day, streak.length)
                            for rule, streak in decision.streaks
                        ),
                        budgets=decision.budgets,
                    )
                )
            return EventOutcome(event.id, decision, document, posted)

        return _retrying(attempt, (("command", "record_event"),), event.id)

    def _award(self, unit: WriteUnit, event: Event, award: Award, now: datetime) -> Transaction:
        """Post one rule's award (or deduction) for *event*, inside the event's unit of work."""
        key = _award_key(event.id, award.rule)
        envelope = _Envelope(
            key,
            _request("rule_award", event=event.id, rule=award.rule, points=award.points),
            f"rule {award.rule}",
            (("event", event.id), ("rule", award.rule)),
        )
        booking = self._booking(unit, key, award.currency, now, [event.member])
        if award.points > 0:
            credit = _Credit(
                envelope,
                TransactionKind.EARN,
                event.member,
                award.currency,
                award.points,
                None,
                None,
                award.rule,
            )
            plan = self._plan_credit(credit, booking, now)
        else:
            booking.debit(
                event.member,
                -award.points,
                clawback=self._policy.clawback,
                debt_limit=self._policy.debt_limit,
            )
            plan = envelope.finish(booking, kind=TransactionKind.ADJUSTMENT, amount=award.points)
        unit.apply(plan)
        return plan.transaction

    def reverse_event(
        self,
        event_id: str,
        rules: RuleSet,
        *,
        key: str,
        amount: Money | None = None,
        lines: Sequence[int] | None = None,
        clawback: ClawbackPolicy | None = None,
    ) -> tuple[Transaction, ...]:
        """Claw back what a recorded event awarded: all of it, or in proportion to a refund.

        For a refund or a return. Each awarding rule's points are reversed in proportion to the
        refunded share of the amount the rule counted (:func:`pointkit.rules.refund_fraction`),
        rounded so that partial refunds never take back more than was awarded and a full
        refund takes back exactly the award. Points the member has spent since follow
        *clawback* (the ledger's default if omitted). Deductions are given back the same way.
        One unit of work; idempotent by *key*.

        Args:
            event_id: The event's id.
            rules: The rule set (for what each rule counts).
            key: The idempotency key of this refund.
            amount: The refunded money (a purchase); omitted with *lines*, the whole event.
            lines: The indexes of the refunded purchase lines.
            clawback: ``"reject"``, ``"clamp"`` or ``"debt"``.

        Returns:
            The reversal transactions, one per award with points left to reverse.

        Raises:
            TransactionNotFoundError: If no event was recorded under *event_id*.
            IdempotencyConflictError: If *key* was used for a different refund.
            InsufficientPointsError: If the clawback is short under the ``reject`` policy.
        """
        refund_key = _check_key(key)
        event_id = check_text(
            "event_id",
            event_id,
            max_length=limits.IDEMPOTENCY_KEY_LENGTH_MAX,
            limit_name="IDEMPOTENCY_KEY_LENGTH_MAX",
        )
        if not isinstance(rules, RuleSet):
            raise ArgumentTypeError(f"rules={rules!r} must be a RuleSet, not {type_name(rules)}")
        claw = self._policy.clawback if clawback is None else check_clawback(clawback)
        partial = amount is not None or lines is not None

        request = _request(
            "reverse_event",
            event=event_id,
            amount=None if amount is None else str(amount),
            lines=None if lines is None else list(lines),
            clawback=claw,
        )

        def attempt() -> tuple[Transaction, ...]:
            now = self._now()
            with self._storage.writing(self._program) as unit:
                stored = unit.rule_event(event_id)
                if stored is None:
                    raise TransactionNotFoundError(f"event_id={event_id!r} was not recorded")
                document = json.loads(stored)
                event = Event.from_dict(document["event"])
                unit.lock_wallets(
                    sorted({(event.member, str(a["currency"])) for a in document["awards"]})
                )
                # Every refund of the event is recorded with each rule's share, points or not,
                # so later refunds add up shares that rounded to nothing before.
                seen = unit.rule_event(_refund_key_record(refund_key))
                if seen is not None:
                    return self._replayed_refund(unit, refund_key, request, seen, document)
                counted = unit.counters(event.member, [_refund_counter(event_id)])
                refunds = counted.get(_refund_counter(event_id), (0, 0))[1]
                before: dict[str, Fraction] = {}
                for index in range(1, refunds + 1):
                    record = unit.rule_event(_refund_record(event_id, index))
                    if record is None:  # pragma: no cover - recorded with the counter
                        raise InvariantViolation(f"refund {index} of event {event_id!r} is lost")
                    for rule, share in json.loads(record)["shares"].items():
                        before[rule] = before.get(rule, Fraction(0)) + Fraction(share)
                shares: dict[str, str] = {}
                done: list[Transaction] = []
                for award in document["awards"]:
                    rule = str(award["rule"])
                    share = (
                        refund_fraction(event, rules.rule(rule), amount=amount, lines=lines)
                        if partial
                        else 1 - before.get(rule, Fraction(0))
                    )
                    shares[rule] = str(share)
                    reversed_ = self._refund_award(
                        unit,
                        now,
                        event_id,
                        award,
                        f"{refund_key}:{rule}",
                        request,
                        min(before.get(rule, Fraction(0)) + share, Fraction(1)),
                        claw,
                    )
                    if reversed_ is not None:
                        done.append(reversed_)
                index = refunds + 1
                unit.save_rule_event(
                    RuleEventRecord(
                        event_id=_refund_record(event_id, index),
                        member=event.member,
                        kind="refund",
                        at=now,
                        decision=json.dumps({"key": refund_key, "shares": shares}, sort_keys=True),
                        counters=((_refund_counter(event_id), 0, 1),),
                    )
                )
                unit.save_rule_event(
                    RuleEventRecord(
                        event_id=_refund_key_record(refund_key),
                        member=event.member,
                        kind="refund_key",
                        at=now,
                        decision=json.dumps({"request": request, "event": event_id}),
                    )
                )
            return tuple(done)

        return _retrying(attempt, (("command", "reverse_event"),), refund_key)

    def _refund_award(
        self,
        unit: WriteUnit,
        now: datetime,
        event_id: str,
        award: Mapping[str, object],
        key: str,
        request: _Request,
        share: Fraction,
        clawback: ClawbackPolicy,
    ) -> Transaction | None:
        """Reverse one rule's award so that *share* of it is reversed in all; ``None`` if 0."""
        rule = str(award["rule"])
        original = unit.transaction_by_key(_award_key(event_id, rule))
        if original is None:  # pragma: no cover - recorded in the same unit as the event
            raise InvariantViolation(f"event {event_id!r} lost its award of {rule}")
        prior = list(unit.reversals_of(original.id))
        awarded = int(str(award["points"]))
        sign = 1 if awarded > 0 else -1
        points = clawback_points(awarded, sign * sum(r.amount for r in prior), share)
        if points == 0:
            return None
        envelope = _Envelope(
            key, request, f"refund of event {event_id}", (("event", event_id), ("rule", rule))
        )
        plan = self._plan_reversal(
            unit,
            now,
            envelope,
            original.id,
            abs(points),
            clawback=clawback,
            restore=self._policy.restore,
            reissue_at=None,
        )
        unit.apply(plan)
        return plan.transaction

    def _replayed_refund(
        self,
        unit: WriteUnit,
        key: str,
        request: _Request,
        seen: str,
        document: Mapping[str, Any],
    ) -> tuple[Transaction, ...]:
        """The transactions of a refund recorded before, if it is the same refund."""
        recorded = json.loads(seen)
        stored = tuple(tuple(pair) for pair in recorded["request"])
        if stored != request:
            raise _conflict(key, dict(stored), dict(request))
        found = (unit.transaction_by_key(f"{key}:{award['rule']}") for award in document["awards"])
        return tuple(attrs.evolve(t, replayed=True) for t in found if t is not None)

    # -- tiers ---------------------------------------------------------------------------

    def tier(self, member: str, ladder: TierLadder) -> TierStatus:
        """Return where *member* stands on *ladder* now, without changing anything.

        The metric is read from the journal: points earned in the ladder's currency over its
        current window, less clawbacks (redemptions never lower it).

        Raises:
            ArgumentTypeError: If *ladder* is not a TierLadder.
            UnknownCurrencyError: If the ledger does not hold the ladder's currency.
        """
        member_id = MemberId(member)
        code = self._ladder_currency(ladder)
        now = self._now()
        with self._storage.reading(self._program) as unit:
            stored = unit.tier(member_id)
            metric = unit.earned(member_id, code, *_through(ladder.window_bounds(now), now))
        state = None if stored is None else stored[0]
        progress = None if state is None else ladder.progress(state, metric, now)
        return TierStatus(member_id, state, metric, progress)

    def review_tier(
        self, member: str, ladder: TierLadder, *, metric: int | None = None
    ) -> TierDecision:
        """Decide *member*'s tier on *ladder* now, and store the state and its changes.

        Upgrades happen at once; downgrades only at the ladder's review dates (see
        :meth:`pointkit.tiers.TierLadder.evaluate`). Call it after a member earns, and from a
        scheduled job for reviews. Reviewing again without news changes nothing, and two
        reviews of one member at once are serialised: the later one decides on the earlier's
        result.

        Args:
            member: The member.
            ladder: The tier ladder.
            metric: The qualifying metric, when the host measures it (money spent, from its own
                orders) over the window :meth:`pointkit.tiers.TierLadder.metric_bounds` names.
                By default it is read from the journal: when a review is due, over the window
                that closed at it, and then over the current window, so an upgrade the member
                has earned since is not left for the next review.

        Returns:
            The decision: the new state and the changes recorded.

        Raises:
            ArgumentTypeError: If *ladder* is not a TierLadder or *metric* not an int.
            UnknownCurrencyError: If the ledger does not hold the ladder's currency.
        """
        member_id = MemberId(member)
        code = self._ladder_currency(ladder)
        given = (
            None
            if metric is None
            else check_int("metric", metric, minimum=-limits.POINTS_MAX, maximum=limits.POINTS_MAX)
        )

        def decide(unit: WriteUnit, state: TierState | None, now: datetime) -> TierDecision:
            if given is not None:
                return ladder.evaluate(member_id, state, given, now)
            # A review that is due judges the window that closed at it; then the member's
            # metric up to now may still earn an upgrade at once, so decide again on it.
            start, end = ladder.metric_bounds(state, now)
            metric = unit.earned(member_id, code, *_through((start, end), now))
            decision = ladder.evaluate(member_id, state, metric, now)
            if end >= now:
                return decision
            start, end = ladder.metric_bounds(decision.state, now)
            metric = unit.earned(member_id, code, *_through((start, end), now))
            then = ladder.evaluate(member_id, decision.state, metric, now)
            return TierDecision(then.state, (*decision.changes, *then.changes))

        return self._save_tier(member_id, decide, command="review_tier")

    def set_tier(
        self,
        member: str,
        ladder: TierLadder,
        tier: str,
        *,
        never_downgrade: bool | None = None,
    ) -> TierDecision:
        """Put *member* in *tier* by hand (a VIP, a correction), and store it.

        Args:
            member: The member.
            ladder: The tier ladder.
            tier: The tier's name.
            never_downgrade: Whether the member keeps the tier through reviews; unchanged if
                omitted.

        Raises:
            InvalidArgumentError: If the ladder has no such tier.
        """
        member_id = MemberId(member)
        self._ladder_currency(ladder)

        def decide(_unit: WriteUnit, state: TierState | None, now: datetime) -> TierDecision:
            return ladder.set_tier(member_id, state, tier, now, never_downgrade=never_downgrade)

        return self._save_tier(member_id, decide, command="set_tier")

    def tier_history(self, member: str, *, limit: int = 100) -> tuple[TierChange, ...]:
        """Return *member*'s latest tier changes, oldest first, with their reasons.

        Raises:
            InvalidArgumentError: If *limit* is not from 1 to ``limits.TIER_HISTORY_MAX``.
        """
        member_id = MemberId(member)
        size = check_int(
            "limit",
            limit,
            minimum=1,
            maximum=limits.TIER_HISTORY_MAX,
            limit_name="TIER_HISTORY_MAX",
        )
        with self._storage.reading(self._program) as unit:
            return tuple(unit.tier_changes(member_id, limit=size))

    def _ladder_currency(self, ladder: object) -> str:
        if not isinstance(ladder, TierLadder):
            raise ArgumentTypeError(
                f"ladder={ladder!r} must be a TierLadder, not {type_name(ladder)}"
            )
        return self._currency(ladder.metric.currency)

    def _save_tier(
        self,
        member: MemberId,
        decide: Callable[[WriteUnit, TierState | None, datetime], TierDecision],
        *,
        command: str,
    ) -> TierDecision:
        """Read the member's tier state, decide, and store the result in one unit of work."""

        def attempt() -> TierDecision:
            now = self._now()
            with self._storage.writing(self._program) as unit:
                stored = unit.tier(member)
                state, version = (None, 0) if stored is None else stored
                decision = decide(unit, state, now)
                if decision.changes or decision.state != state:
                    unit.save_tier(decision.state, decision.changes, version=version + 1)
            return decision

        return _retrying(attempt, (("command", command),), f"tier:{member}")

    def statement(
        self,
        member: str,
        currency: str | None = None,
        *,
        after: int = 0,
        limit: int = 100,
    ) -> Statement:
        """Return a page of *member*'s statement: each transaction with the running balance.

        Args:
            member: The member.
            currency: The point currency; the default if omitted.
            after: Return lines after this wallet version (``Statement.next_after`` of the
                previous page); 0 for the first page.
            limit: The most lines to return.
        """
        member_id = MemberId(member)
        code = self._currency(currency)
        start = check_int("after", after, minimum=0, maximum=limits.POINTS_MAX)
        size = check_int(
            "limit",
            limit,
            minimum=1,
            maximum=limits.STATEMENT_LINES_MAX,
            limit_name="STATEMENT_LINES_MAX",
        )
        with self._storage.reading(self._program) as unit:
            history = list(
                unit.wallet_history(member_id, code, after_version=start, limit=size + 1)
            )
        lines: list[StatementLine] = []
        for transaction in history[:size]:
            change = transaction.change_for(member_id)
            if change is None:  # pragma: no cover - storage returned a foreign transaction
                raise TransactionNotFoundError(f"{transaction.id} does not touch {member_id!r}")
            lines.append(
                StatementLine(
                    transaction=transaction.id,
                    kind=transaction.kind,
                    at=transaction.created_at,
                    change=change.posted_change,
                    balance=change.posted,
                    held=change.held,
                    debt=change.debt,
                    version=change.version,
                    reason=transaction.reason,
                )
            )
        more = len(history) > size
        return Statement(
            member=member_id,
            currency=code,
            lines=tuple(lines),
            next_after=lines[-1].version if more else None,
        )

    def hold(self, hold: uuid.UUID | str) -> Hold:
        """Return a hold.

        Raises:
            HoldNotFoundError: If there is no such hold.
        """
        hold_id = _check_id("hold", hold)
        with self._storage.reading(self._program) as unit:
            found = unit.hold(hold_id)
        if found is None:
            raise HoldNotFoundError(f"hold={str(hold_id)!r} does not exist")
        return found

    def transaction(self, transaction: uuid.UUID | str) -> Transaction:
        """Return a transaction.

        Raises:
            TransactionNotFoundError: If there is no such transaction.
        """
        transaction_id = _check_id("transaction", transaction)
        with self._storage.reading(self._program) as unit:
            found = unit.transaction(transaction_id)
        if found is None:
            raise TransactionNotFoundError(f"transaction={str(transaction_id)!r} does not exist")
        return found

    def transaction_by_key(self, key: str) -> Transaction | None:
        """Return the transaction recorded under *key*, or ``None``."""
        checked = check_text(
            "key",
            key,
            max_length=limits.IDEMPOTENCY_KEY_LENGTH_MAX,
            limit_name="IDEMPOTENCY_KEY_LENGTH_MAX",
        )
        with self._storage.reading(self._program) as unit:
            return unit.transaction_by_key(checked)

    def system_balance(self, kind: AccountKind, currency: str | None = None) -> AccountBalance:
        """Return a system account's balance (issued points show as a negative issuance)."""
        kind = _check_system_kind(kind)
        account = AccountId.system(kind, self._currency(currency))
        with self._storage.reading(self._program) as unit:
            posted, pending = unit.system_balance(account)
        return AccountBalance(account=account, posted=posted, pending=pending)

    def audit(self) -> AuditReport:
        """Replay the journal and check every balance, lot, hold and invariant against it.

        Raises:
            InvariantViolation: Listing what is wrong.
        """
        now = self._now()
        with self._storage.reading(self._program) as unit:
            return audit(unit, now=now)

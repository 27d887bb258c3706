"""Earning: events evaluated by the rules and their awards posted, once per event.

Maintainer's notes
------------------
:meth:`Earning.record` is one linked unit of work on the ledger: lock the member's wallets,
then the budgets the rules draw on; read the counters, streaks and budgets the rules need;
decide (:meth:`~pointkit.rules.RuleSet.evaluate`, pure); post one transaction per awarding
rule; and record the decision with its counter, streak and budget updates in the records part.
:meth:`Earning.refund` claws back what an event awarded, in proportion to a refund.
:meth:`Earning.record_then` lets the caller read more in the event's unit once it is written
(``Program.record`` decides there whether the tier review that follows has anything to do).
A rule that issues a coupon (``Rule.coupon``) issues it through the :class:`CouponIssuer` given,
in the event's unit after the awards, so the coupon commits exactly when the event does; its
source (``rule:<rule>:<event id>``) makes the issue idempotent on top of the event's own record.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Final, TypeAlias, TypeVar, final

import attrs

from pointkit import limits
from pointkit._validate import check_int, check_text, type_name
from pointkit._values import Money
from pointkit.exceptions import (
    ArgumentTypeError,
    InvalidArgumentError,
    InvariantViolation,
    TransactionNotFoundError,
)
from pointkit.features._base import RecordsFeature
from pointkit.features._parts import (
    RuleEventRecord,
)
from pointkit.features._results import (
    EventOutcome,
)
from pointkit.ledger import (
    ClawbackPolicy,
    Transaction,
    TransactionKind,
)
from pointkit.ledger._envelope import (
    RESERVED_KEY_PREFIX,
    Envelope,
    Request,
    check_key,
    check_unreserved,
    conflict,
    retrying,
)
from pointkit.ledger._envelope import (
    request as _request,
)
from pointkit.ledger._records import check_clawback
from pointkit.rules import (
    Award,
    Counter,
    Event,
    MemberContext,
    RuleSet,
    RuleState,
    StateKeys,
    Streak,
    refund_fraction,
)
from pointkit.rules import clawback as clawback_points


if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from pointkit.features._guard import Guard
    from pointkit.features._parts import RecordsReading
    from pointkit.features._rewards import CouponIssuer
    from pointkit.ledger import Ledger, Linked


__all__ = ["Earning", "EventObserver"]

EventObserver: TypeAlias = "Callable[[Linked, Event, MemberContext], object]"
"""What :class:`Earning` calls in an event's unit once the event is recorded (missions)."""

_T = TypeVar("_T")


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


def _check_refund_parts(amount: object, lines: object) -> list[int] | None:
    """Check a partial refund's amount and line indexes before anything is read or written.

    Returns:
        The line indexes as a list (an iterator is read once, here), or ``None``.
    """
    if amount is not None and not isinstance(amount, Money):
        raise ArgumentTypeError(f"amount={amount!r} must be Money, not {type_name(amount)}")
    if lines is None:
        return None
    if isinstance(lines, str | bytes) or not isinstance(lines, Iterable):
        raise ArgumentTypeError(f"lines={lines!r} must be a sequence of line indexes")
    indexes = list(lines)
    for position, index in enumerate(indexes):
        check_int(f"lines[{position}]", index, minimum=0, maximum=limits.EVENT_LINES_MAX - 1)
    return indexes


def _nothing(_link: Linked) -> None:
    """What a plain :meth:`Earning.record` runs after the awards: nothing."""


def _coupon_source(event_id: str, rule: str) -> str:
    """The source a rule's coupon is issued under for an event: one coupon per rule and event."""
    return f"rule:{rule}:{event_id}"


def _check_event(event: object, rules: object, member: object) -> MemberContext:
    if not isinstance(event, Event):
        raise ArgumentTypeError(f"event={event!r} must be an Event, not {type_name(event)}")
    if not isinstance(rules, RuleSet):
        raise ArgumentTypeError(f"rules={rules!r} must be a RuleSet, not {type_name(rules)}")
    check_unreserved("event.id", event.id)
    if member is None:
        return MemberContext()
    if not isinstance(member, MemberContext):
        raise ArgumentTypeError(
            f"member={member!r} must be a MemberContext or None, not {type_name(member)}"
        )
    return member


def _rule_state(
    unit: RecordsReading,
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


_EVENT_HINTS: Final = {
    "at": (
        "An event's `at` is part of the event: send the time it happened (the order's creation "
        "time, the moment of the sign-in), not the time it is sent, so that a retry is the same "
        "event"
    )
}


def _event_fields(document: Mapping[str, Any]) -> dict[str, str]:
    """An event's fields as JSON texts, each attribute its own field (``attributes.amount``).

    So a conflict names the attribute that differs, not the whole attribute document.
    """
    fields = {name: json.dumps(value) for name, value in document.items() if name != "attributes"}
    for name, value in dict(document.get("attributes") or {}).items():
        fields[f"attributes.{name}"] = json.dumps(value, sort_keys=True)
    return fields


def _replayed_event(event: Event, stored: str, unit: RecordsReading) -> EventOutcome:
    """The outcome of an event recorded before, if *event* is the one recorded."""
    document = json.loads(stored)
    recorded = document["event"]
    given = json.loads(json.dumps(event.to_dict()))
    if recorded != given:
        raise conflict(event.id, _event_fields(recorded), _event_fields(given), _EVENT_HINTS)
    transactions = []
    for award in document["awards"]:
        found = unit.transaction_by_key(_award_key(event.id, str(award["rule"])))
        if found is None:  # pragma: no cover - recorded in the same unit as the event
            raise InvariantViolation(f"event {event.id!r} lost its award of {award['rule']}")
        transactions.append(attrs.evolve(found, replayed=True))
    return EventOutcome(event.id, None, stored, tuple(transactions), replayed=True)


@final
class Earning(RecordsFeature):
    """Earning rules on a ledger: record events, refund them, each exactly once.

    >>> from datetime import UTC, datetime
    >>> from pointkit import FixedClock, Ledger, MemoryStorage
    >>> from pointkit.features import Earning
    >>> from pointkit.rules import Event, Fixed, Rule, RuleSet
    >>> ledger = Ledger(MemoryStorage(), clock=FixedClock(datetime(2026, 3, 1, tzinfo=UTC)))
    >>> earning = Earning(ledger)
    >>> rules = RuleSet([Rule("sign-in", ("sign_in",), Fixed(5))], zone="UTC")
    >>> outcome = earning.record(Event.sign_in("e1", "alice", ledger.clock.now()), rules)
    >>> [t.amount for t in outcome.transactions], ledger.balance("alice").available
    ([5], 5)

    Args:
        ledger: The ledger the awards are posted on; its storage needs the records part.
        guard: Anti-cheat (:class:`~pointkit.features.Guard`): screens every event in its unit
            before the award; a refused event records nothing, a reviewed one is recorded
            with its awards held until approved.
        observers: Called as ``observer(link, event, member)`` in the event's unit once it is
            recorded (not on a replay, nor for an event held for review): missions count the
            event there, so progress commits with its points.
        lock_currencies: Currencies of the member's wallets to lock with the rules' own, before
            any budget: those an observer may credit (a mission's reward), so every unit locks
            wallets before budgets.
        coupons: Issues the coupons rules name (``Rule.coupon``), in the event's unit, after the
            awards: the programme's :class:`~pointkit.features.Coupons`. Needed only by rule
            sets with such rules.

    Raises:
        ArgumentTypeError: If *coupons* is not a coupon issuer.
    """

    _name = "earning"

    def __init__(
        self,
        ledger: Ledger,
        *,
        guard: Guard | None = None,
        observers: Sequence[EventObserver] = (),
        lock_currencies: Sequence[str] = (),
        coupons: CouponIssuer | None = None,
    ) -> None:
        super().__init__(ledger)
        if coupons is not None and not callable(getattr(coupons, "issue_on", None)):
            raise ArgumentTypeError(f"coupons={coupons!r} must be a CouponIssuer (with issue_on)")
        self._guard = guard
        self._observers = tuple(observers)
        self._lock_currencies = tuple(lock_currencies)
        self._coupons = coupons
        # Per event kind, the rule set it was worked out for and the currencies it locks: a
        # rule set is immutable, so the same one gives the same answer.
        self._kinds: dict[str, tuple[RuleSet, list[str]]] = {}

    def _check_coupons(self, rules: RuleSet, names: Sequence[str]) -> None:
        """Refuse an event whose rules (*names*) issue a coupon when no issuer was given."""
        if self._coupons is not None:
            return
        for name in names:
            coupon = rules.rule(name).coupon
            if coupon is not None:
                raise InvalidArgumentError(
                    f"rule {name!r} issues coupon {coupon!r}, but coupons=None: "
                    "give Earning a CouponIssuer (the programme's Coupons)"
                )

    def _codes_for(self, rules: RuleSet, kind: str) -> list[str]:
        """The currencies whose wallets an event of *kind* locks, checked; kept per kind.

        Raises:
            InvalidArgumentError: As :meth:`_check_coupons` does.
            UnknownCurrencyError: If a rule of the kind awards a currency the ledger lacks.
        """
        kept = self._kinds.get(kind)
        if kept is not None and kept[0] is rules:
            return kept[1]
        names = rules.rules_for(kind)
        self._check_coupons(rules, names)
        codes = sorted(
            {self._ledger.currency(rules.rule(name).currency) for name in names}
            | set(self._lock_currencies)
        )
        if len(self._kinds) >= limits.EVENT_KINDS_MAX:
            self._kinds.clear()
        self._kinds[kind] = (rules, codes)
        return codes

    def record(
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
            InvalidArgumentError: If a rule of the event's kind issues a coupon and the feature
                has no coupon issuer, or the coupon is not a definition of the programme.
            CouponRefusedError: If a rule's coupon is refused (ended, sold out, over the
                member's limit): the event rolls back and nothing is written.
        """
        if dry_run:
            return self._dry_record(event, rules, member)
        outcome, _ = self.record_then(event, rules, member=member, then=_nothing)
        return outcome

    def record_then(
        self,
        event: Event,
        rules: RuleSet,
        *,
        member: MemberContext | None = None,
        then: Callable[[Linked], _T],
    ) -> tuple[EventOutcome, _T | None]:
        """Record *event* as :meth:`record` does, and call *then* in its unit of work.

        *then* is called with the link once the awards, the coupons and the decision are
        written, before the unit commits; it is not called when the event is replayed. What it
        raises rolls the whole event back.

        Returns:
            The outcome, and what *then* returned (``None`` on a replay).

        Raises:
            The errors of :meth:`record`, and what *then* raises.
        """
        checked = _check_event(event, rules, member)
        codes = self._codes_for(rules, event.kind)
        keys = rules.state_keys(event)
        guard = self._guard

        def attempt() -> tuple[EventOutcome, _T | None]:
            with self._ledger.linked() as link:
                unit, now = self._writer(link), link.now
                unit.lock_wallets([(event.member, code) for code in codes])
                stored = unit.rule_event(event.id)
                if stored is not None:
                    return _replayed_event(event, stored, unit), None
                # The guard's budgets are locked before the rules': one order in every unit.
                screening = None if guard is None else guard.screen_on(link, event)
                budgets = unit.lock_budgets(keys.budgets)
                decision = rules.evaluate(
                    event, _rule_state(unit, event, keys, checked, budgets), now
                )
                held = guard is not None and screening is not None and screening.outcome == "review"
                posted: tuple[Transaction, ...] = ()
                if guard is not None and screening is not None and held:
                    guard.hold_on(link, event, screening, decision.awards, coupons=decision.coupons)
                else:
                    posted = tuple(self._award(link, event, award) for award in decision.awards)
                    self._issue_coupons(link, event, decision.coupons)
                # The decision is encoded when the stored record or the outcome's document
                # is first read, once (the outcome reads the record): memory storage keeps the
                # record whole, so a decision nobody reads back is never encoded.
                record = RuleEventRecord.deferred(
                    decision.to_json,
                    event_id=event.id,
                    member=event.member,
                    kind=event.kind,
                    at=event.at,
                    counters=tuple(
                        (key, count.points, count.tasks) for key, count in decision.counters
                    ),
                    streaks=tuple(
                        (rule, streak.last_day, streak.length) for rule, streak in decision.streaks
                    ),
                    budgets=decision.budgets,
                )
                unit.save_rule_event(record)
                if not held:
                    for observe in self._observers:
                        observe(link, event, checked)
                after = then(link)
            document = functools.partial(getattr, record, "decision")
            return EventOutcome.deferred(event.id, decision, posted, encode=document), after

        return retrying(attempt, (("command", "record_event"),), event.id)

    def _dry_record(
        self, event: Event, rules: RuleSet, member: MemberContext | None
    ) -> EventOutcome:
        """What :meth:`record` would decide for *event* now, against the stored state."""
        checked = _check_event(event, rules, member)
        names = rules.rules_for(event.kind)
        self._check_coupons(rules, names)
        for name in names:
            self._ledger.currency(rules.rule(name).currency)
        keys = rules.state_keys(event)
        now = self._now()
        with self._reading() as read:
            unit = self._reader(read)
            stored = unit.rule_event(event.id)
            if stored is not None:
                return _replayed_event(event, stored, unit)
            state = _rule_state(unit, event, keys, checked, unit.budgets(keys.budgets))
        decision = rules.evaluate(event, state, now)
        return EventOutcome(event.id, decision, decision.to_json(), (), dry_run=True)

    def _issue_coupons(
        self, link: Linked, event: Event, coupons: tuple[tuple[str, str], ...]
    ) -> None:
        """Issue the coupons the event's rules decided, in the event's unit of work."""
        issuer = self._coupons
        for rule, coupon in coupons:
            if issuer is None:  # pragma: no cover - refused before the unit opened
                raise InvariantViolation(f"rule {rule!r} issues a coupon and there is no issuer")
            issuer.issue_on(link, coupon, event.member, source=_coupon_source(event.id, rule))

    def _award(self, link: Linked, event: Event, award: Award) -> Transaction:
        """Post one rule's award (or deduction) for *event*, inside the event's unit of work."""
        key = _award_key(event.id, award.rule)
        envelope = Envelope(
            key,
            _request("rule_award", event=event.id, rule=award.rule, points=award.points),
            f"rule {award.rule}",
            (("event", event.id), ("rule", award.rule)),
        )
        booking = link.booking(key, award.currency, [event.member])
        if award.points > 0:
            plan = link.plan_credit(
                envelope,
                booking,
                member=event.member,
                currency=award.currency,
                amount=award.points,
                rule=award.rule,
            )
        else:
            booking.debit(
                event.member,
                -award.points,
                clawback=self._ledger.policy.clawback,
                debt_limit=self._ledger.policy.debt_limit,
            )
            plan = envelope.finish(booking, kind=TransactionKind.ADJUSTMENT, amount=award.points)
        return link.post(plan)

    def refund(
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
            ArgumentTypeError: If *amount* is not Money or *lines* not line indexes.
            TransactionNotFoundError: If no event was recorded under *event_id*.
            IdempotencyConflictError: If *key* was used for a different refund.
            InsufficientPointsError: If the clawback is short under the ``reject`` policy.
        """
        refund_key = check_key(key)
        event_id = check_unreserved(
            "event_id",
            check_text(
                "event_id",
                event_id,
                max_length=limits.IDEMPOTENCY_KEY_LENGTH_MAX,
                limit_name="IDEMPOTENCY_KEY_LENGTH_MAX",
            ),
        )
        if not isinstance(rules, RuleSet):
            raise ArgumentTypeError(f"rules={rules!r} must be a RuleSet, not {type_name(rules)}")
        claw = self._ledger.policy.clawback if clawback is None else check_clawback(clawback)
        partial = amount is not None or lines is not None
        indexes = _check_refund_parts(amount, lines)

        request = _request(
            "reverse_event",
            event=event_id,
            amount=None if amount is None else str(amount),
            lines=indexes,
            clawback=claw,
        )

        def attempt() -> tuple[Transaction, ...]:
            with self._ledger.linked() as link:
                unit, now = self._writer(link), link.now
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
                        refund_fraction(event, rules.rule(rule), amount=amount, lines=indexes)
                        if partial
                        else 1 - before.get(rule, Fraction(0))
                    )
                    shares[rule] = str(share)
                    reversed_ = self._refund_award(
                        link,
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

        return retrying(attempt, (("command", "reverse_event"),), refund_key)

    def _refund_award(
        self,
        link: Linked,
        event_id: str,
        award: Mapping[str, object],
        key: str,
        request: Request,
        share: Fraction,
        clawback: ClawbackPolicy,
    ) -> Transaction | None:
        """Reverse one rule's award so that *share* of it is reversed in all; ``None`` if 0."""
        rule = str(award["rule"])
        unit = link.unit
        original = unit.transaction_by_key(_award_key(event_id, rule))
        if original is None:  # pragma: no cover - recorded in the same unit as the event
            raise InvariantViolation(f"event {event_id!r} lost its award of {rule}")
        prior = list(unit.reversals_of(original.id))
        awarded = int(str(award["points"]))
        sign = 1 if awarded > 0 else -1
        points = clawback_points(awarded, sign * sum(r.amount for r in prior), share)
        if points == 0:
            return None
        envelope = Envelope(
            key, request, f"refund of event {event_id}", (("event", event_id), ("rule", rule))
        )
        plan = link.plan_reversal(
            envelope,
            original.id,
            abs(points),
            clawback=clawback,
            restore=self._ledger.policy.restore,
            reissue_at=None,
        )
        return link.post(plan)

    def _replayed_refund(
        self,
        unit: RecordsReading,
        key: str,
        request: Request,
        seen: str,
        document: Mapping[str, Any],
    ) -> tuple[Transaction, ...]:
        """The transactions of a refund recorded before, if it is the same refund."""
        recorded = json.loads(seen)
        stored = tuple(tuple(pair) for pair in recorded["request"])
        if stored != request:
            raise conflict(key, dict(stored), dict(request))
        found = (unit.transaction_by_key(f"{key}:{award['rule']}") for award in document["awards"])
        return tuple(attrs.evolve(t, replayed=True) for t in found if t is not None)

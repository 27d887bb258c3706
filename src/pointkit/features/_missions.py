"""Missions and badges on a ledger: progress from observed events, rewards issued once.

Maintainer's notes
------------------
:mod:`pointkit.campaigns` decides (what an event adds, what completes); this module locks,
reads, and commits the decision in the event's linked unit of work. :meth:`Missions.observe_on`
runs inside a link the caller opened — the one that records the event's points, so a mission's
progress commits exactly when its event does — and :meth:`Missions.observe` opens its own.

Each observed event writes one record, ``pointkit:mission-event:<event id>``, carrying every
counter increment the event made (progress, day markers, completions), so the programme's audit
replays them; observing the same event again finds the record and returns what it says. Every
completion credits its points under the key ``pointkit:mission:<mission>:<member>:<number>``
(a new lot, expiring as the ledger's expiry policy says, like an earn), issues its coupon
through the :class:`~pointkit.features._rewards.CouponIssuer` the feature was given (source
``mission:<mission>:<member>:<number>``), and a badge earned writes
``pointkit:badge:<badge>:<member>`` with the badge's counter increment and when it was earned.
Each completion writes ``mission.completed`` and each badge ``badge.earned`` in the same unit.

The member's wallets in the reward currencies are locked first: two events of one member are
counted one after the other, so a completion is never decided twice from the same progress.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Final, Literal, final

import attrs

from pointkit._validate import type_name
from pointkit._values import MemberId
from pointkit.campaigns._mission_book import (
    MissionBook,
    MissionExplanation,
    badge_key,
    badge_progress_key,
    day_key,
    done_key,
    progress_key,
)
from pointkit.campaigns._missions import Mission, SumGoal
from pointkit.exceptions import ArgumentTypeError, InvalidArgumentError
from pointkit.features._base import RecordsFeature
from pointkit.features._events import BadgeEarned, MissionCompleted, emit_event
from pointkit.features._parts import RuleEventRecord
from pointkit.ledger._envelope import RESERVED_KEY_PREFIX, Envelope, conflict, retrying
from pointkit.ledger._envelope import request as _request
from pointkit.rules import Event, MemberContext


if TYPE_CHECKING:
    from pointkit.campaigns._mission_book import Completion, MissionDecision
    from pointkit.features._parts import RecordsReading, RecordsWriting
    from pointkit.features._rewards import CouponIssuer
    from pointkit.ledger import Ledger, Linked, Transaction
    from pointkit.rules import Segments


__all__ = ["BadgeStatus", "MissionOutcome", "MissionProgress", "Missions"]

_KIND: Final = "mission_progress"


def _event_record(event_id: str) -> str:
    return f"{RESERVED_KEY_PREFIX}mission-event:{event_id}"


def _badge_record(badge: str, member: MemberId) -> str:
    return f"{RESERVED_KEY_PREFIX}badge:{badge}:{member}"


def _reward_key(completion: Completion, member: MemberId) -> str:
    return f"{RESERVED_KEY_PREFIX}mission:{completion.mission}:{member}:{completion.number}"


def _coupon_source(completion: Completion, member: MemberId) -> str:
    return f"mission:{completion.mission}:{member}:{completion.number}"


@final
@attrs.frozen
class MissionOutcome:
    """What observing one event did to its member's missions and badges.

    Attributes:
        event_id: The event's id.
        member: The member.
        explanations: One per mission or badge goal that counts the event's kind.
        transactions: The points credits of the completions.
        coupons: ``(mission, code)`` of each coupon issued.
        badges: The badges earned.
        replayed: Whether the event had been observed already (nothing was written).
        dry_run: Whether this was a dry run (nothing was written).
    """

    event_id: str
    member: MemberId
    explanations: tuple[MissionExplanation, ...]
    transactions: tuple[Transaction, ...]
    coupons: tuple[tuple[str, str], ...]
    badges: tuple[str, ...]
    replayed: bool = False
    dry_run: bool = False

    @property
    def texts(self) -> tuple[str, ...]:
        """Every explanation's text."""
        return tuple(explanation.text for explanation in self.explanations)


MissionState = Literal["not_started", "ended", "in_progress", "completed", "done"]


@final
@attrs.frozen
class MissionProgress:
    """Where a member stands on a mission now.

    Attributes:
        mission: The mission's id.
        name: Its display name.
        period: The current period (``"month:2026-03"``, ``"lifetime"``).
        progress: Progress in it, in the goal's units (events, days, minor units, ...).
        target: The goal's target in the same units.
        completions: Completions in the current period.
        total: Completions in all.
        state: ``not_started`` or ``ended`` (outside its window), ``done`` (no completion is
            left: ``times`` reached), ``completed`` (this period's completion is made), or
            ``in_progress``.
    """

    mission: str
    name: str
    period: str
    progress: int
    target: int
    completions: int
    total: int
    state: MissionState


@final
@attrs.frozen
class BadgeStatus:
    """A badge as one member holds it, or their progress toward it.

    Attributes:
        badge: The badge's id.
        name: Its display name.
        earned: Whether the member holds it.
        earned_at: When it was earned.
        source: What earned it (``"mission:shop-3:1"``, ``"goal"``).
        progress: Progress toward its own goal (0 without one).
        target: Its own goal's target (``None`` without one).
    """

    badge: str
    name: str
    earned: bool
    earned_at: datetime | None
    source: str | None
    progress: int
    target: int | None


class _DryRun(Exception):  # noqa: N818 - control flow inside a dry run, never escapes
    """Raised at the end of a dry run's unit of work, carrying its result, to roll it back."""

    def __init__(self, result: MissionOutcome) -> None:
        super().__init__("dry run")
        self.result = result


def _gates(book: MissionBook, segments: Segments | None) -> dict[str, frozenset[str]]:
    """Each segment-gated mission's segments, checked against *segments*."""
    gates = {mission.id: mission.segments for mission in book.missions if mission.segments}
    for mission, names in gates.items():
        if segments is None:
            raise InvalidArgumentError(
                f"segments=None, but mission {mission!r} is for segments "
                f"{', '.join(repr(name) for name in sorted(names))}; give the programme's Segments"
            )
        problems = segments.check_names(sorted(names), f"mission {mission!r}")
        if problems:
            raise InvalidArgumentError(problems[0])
    return gates


def _outside(decision: MissionDecision, gated: dict[str, frozenset[str]]) -> MissionDecision:
    """*decision* with the missions in *gated* counting nothing: no progress, completion or badge.

    Their member is in none of their segments. The book decides every mission alike; the gate is applied to its decision here, before
    anything is written.
    """
    if not gated:
        return decision
    keys = {key(mission, "")[0] for mission in gated for key in (progress_key, done_key, day_key)}
    sources = tuple(f"mission:{mission}:" for mission in gated)

    def explain(explanation: MissionExplanation) -> MissionExplanation:
        names = gated.get(explanation.id) if explanation.subject == "mission" else None
        if names is None:
            return explanation
        listed = ", ".join(sorted(names))
        return attrs.evolve(
            explanation,
            status="not_counted",
            reason="segment",
            added=0,
            progress=explanation.progress - explanation.added,
            completions=0,
            text=f"not counted: the member is in none of the mission's segments ({listed})",
        )

    return attrs.evolve(
        decision,
        explanations=tuple(explain(item) for item in decision.explanations),
        counters=tuple(item for item in decision.counters if item[0][0] not in keys),
        completions=tuple(item for item in decision.completions if item.mission not in gated),
        badges=tuple(item for item in decision.badges if not item.source.startswith(sources)),
    )


def _fingerprint(event: Event) -> dict[str, str]:
    """What identifies an observed event's content, compared when it is observed again."""
    data = event.to_dict()
    return {
        name: json.dumps(data[name], sort_keys=True)
        for name in ("kind", "member", "at", "attributes")
    }


@final
class Missions(RecordsFeature):
    """Missions and badges on a ledger: observe events, read progress and badges.

    >>> from datetime import UTC, datetime
    >>> from pointkit import FixedClock, Ledger, MemoryStorage
    >>> from pointkit.campaigns import CountGoal, Mission, MissionBook, MissionReward
    >>> from pointkit.rules import Event
    >>> clock = FixedClock(datetime(2026, 3, 5, tzinfo=UTC))
    >>> ledger = Ledger(MemoryStorage(), clock=clock)
    >>> book = MissionBook([Mission("review-2", "Review twice", CountGoal({"review"}, 2, label="reviews"), MissionReward(points=50))])
    >>> missions = Missions(ledger, book)
    >>> for n in (1, 2):
    ...     outcome = missions.observe(Event(f"r-{n}", "review", "alice", clock.now()))
    >>> outcome.texts, ledger.balance("alice").available
    (('2 of 2 reviews in all: completed, 50 points',), 50)

    Args:
        ledger: The ledger rewards are credited on; its storage needs the records part.
        book: The missions and badges.
        coupons: Issues the coupons missions reward; required when a mission rewards one.
        segments: The programme's segments; required when a mission names some
            (``Mission.segments``). A member in none of a mission's segments at the event's
            instant makes no progress on it: its explanation says ``not_counted`` with reason
            ``segment``.

    Raises:
        ArgumentTypeError: If *book* is not a :class:`~pointkit.campaigns.MissionBook`.
        InvalidArgumentError: If a mission rewards a coupon and no issuer is given, points
            in a currency the ledger does not hold, or names a segment *segments* does not
            declare.
    """

    _name = "missions"

    def __init__(
        self,
        ledger: Ledger,
        book: MissionBook,
        *,
        coupons: CouponIssuer | None = None,
        segments: Segments | None = None,
    ) -> None:
        super().__init__(ledger)
        if not isinstance(book, MissionBook):
            raise ArgumentTypeError(f"book={book!r} must be a MissionBook, not {type_name(book)}")
        wanting = [mission.id for mission in book.missions if mission.reward.coupon is not None]
        if wanting and coupons is None:
            raise InvalidArgumentError(
                f"coupons=None, but mission {wanting[0]!r} rewards a coupon; give a CouponIssuer"
            )
        if coupons is not None and not callable(getattr(coupons, "issue_on", None)):
            raise ArgumentTypeError(f"coupons={coupons!r} must be a CouponIssuer (with issue_on)")
        self._gates = _gates(book, segments)
        self._segments = segments
        self._book = book
        self._coupons = coupons
        codes = {
            ledger.currency(mission.reward.currency)
            for mission in book.missions
            if mission.reward.points
        }
        self._codes = tuple(sorted(codes or {ledger.currency(None)}))

    @property
    def book(self) -> MissionBook:
        """The missions and badges."""
        return self._book

    @property
    def currencies(self) -> tuple[str, ...]:
        """The point currencies of the wallets observing an event locks (its rewards' currencies).

        A caller that locks wallets and then budgets before :meth:`observe_on` (earning) locks
        these wallets with its own, so that wallets are still locked before budgets.
        """
        return self._codes

    def observe(
        self, event: Event, *, member: MemberContext | None = None, dry_run: bool = False
    ) -> MissionOutcome:
        """Count *event* toward its member's missions and badges in a unit of its own, once.

        Use :meth:`observe_on` to count it in the unit that records the event's points.

        Args:
            event: The event.
            member: What conditions may ask about the member.
            dry_run: Count it and roll everything back: the outcome shows what it would do.

        Raises:
            ArgumentTypeError: If an argument has the wrong type.
            IdempotencyConflictError: If the event's id was observed with other content.
            CouponRefusedError: If a completion's coupon is refused (nothing is written).
        """
        if not isinstance(dry_run, bool):
            raise ArgumentTypeError(f"dry_run={dry_run!r} must be a bool, not {type_name(dry_run)}")
        checked = _check_event(event)

        def attempt() -> MissionOutcome:
            try:
                with self._ledger.linked() as link:
                    outcome = self.observe_on(link, checked, member=member)
                    if dry_run:
                        raise _DryRun(attrs.evolve(outcome, dry_run=True))  # noqa: TRY301 - rolls the unit back
            except _DryRun as rolled_back:
                return rolled_back.result
            return outcome

        return retrying(attempt, (("command", "observe_mission_event"),), checked.id)

    def observe_on(
        self, link: Linked, event: Event, *, member: MemberContext | None = None
    ) -> MissionOutcome:
        """Count *event* in the caller's open *link*: progress, completions and rewards, once.

        The member's wallets are locked; if the event was observed already, the recorded
        outcome is returned (``replayed=True``) and nothing is written. Otherwise the event's
        increments, each completion's points credit, coupon and badge, and the event's record
        are written in *link*, committing or rolling back with it. An event no mission or
        badge counts writes nothing.

        Raises:
            ArgumentTypeError: If an argument has the wrong type.
            IdempotencyConflictError: If the event's id was observed with other content.
            CouponRefusedError: If a completion's coupon is refused.
        """
        checked = _check_event(event)
        context = MemberContext() if member is None else member
        if not isinstance(context, MemberContext):
            raise ArgumentTypeError(
                f"member={member!r} must be a MemberContext, not {type_name(member)}"
            )
        who = checked.member
        if not self._book.counts(checked.kind):
            return MissionOutcome(checked.id, who, (), (), (), ())
        unit, now = self._writer(link), link.now
        unit.lock_wallets([(who, code) for code in self._codes])
        stored = unit.rule_event(_event_record(checked.id))
        if stored is not None:
            return _replayed(unit, checked, stored)
        keys = self._book.counter_keys(checked)
        decision = self._book.decide(checked, context, unit.counters(who, keys))
        if self._segments is not None and self._gates:
            inside = self._segments.of(context, at=checked.at)
            decision = _outside(
                decision,
                {
                    mission: names
                    for mission, names in self._gates.items()
                    if names.isdisjoint(inside)
                },
            )
        posted: list[Transaction] = []
        coupons: list[tuple[str, str]] = []
        for completion in decision.completions:
            reward = completion.reward
            if reward.points:
                posted.append(self._credit(link, completion, who, checked.id))
            code = None
            if reward.coupon is not None and self._coupons is not None:
                code = self._coupons.issue_on(
                    link, reward.coupon, who, source=_coupon_source(completion, who)
                )
                coupons.append((completion.mission, code))
            completed = MissionCompleted(
                completion.mission, str(who), completion.number, completion.period, checked.id,
                reward.points, self._ledger.currency(reward.currency) if reward.points else None,
                code, reward.badge,
            )  # fmt: skip
            # One event per completion: the member's n-th completion of the mission.
            source = f"{completion.mission}:{who}:{completion.number}"
            emit_event(unit, "mission.completed", source, now, completed)
        for award in decision.badges:
            _save_badge(unit, who, award.badge, award.source, now)
        paid, issued = tuple(posted), tuple(coupons)

        def encode() -> str:
            document = {
                "event": _fingerprint(checked),
                "explanations": [explanation.to_dict() for explanation in decision.explanations],
                "transactions": [transaction.key for transaction in paid],
                "coupons": [list(pair) for pair in issued],
                "badges": [award.badge for award in decision.badges],
            }
            return json.dumps(document, sort_keys=True)

        # Encoded when first read (a replay, an audit, a row-writing adapter): see
        # RuleEventRecord.deferred. Everything it reads is frozen.
        unit.save_rule_event(
            RuleEventRecord.deferred(
                encode,
                event_id=_event_record(checked.id),
                member=who,
                kind=_KIND,
                at=checked.at,
                counters=decision.counters,
            )
        )
        return _outcome(checked, decision, paid, issued)

    def _credit(
        self, link: Linked, completion: Completion, member: MemberId, event_id: str
    ) -> Transaction:
        """Credit a completion's points as a new lot, inside the event's unit of work."""
        key = _reward_key(completion, member)
        code = self._ledger.currency(completion.reward.currency)
        envelope = Envelope(
            key,
            _request(
                "mission_reward",
                mission=completion.mission,
                member=member,
                number=completion.number,
                points=completion.reward.points,
            ),
            f"mission {completion.mission}",
            (("event", event_id), ("mission", completion.mission)),
        )
        booking = link.booking(key, code, [member])
        plan = link.plan_credit(
            envelope, booking, member=member, currency=code, amount=completion.reward.points
        )
        return link.post(plan)

    def progress(self, member: str) -> tuple[MissionProgress, ...]:
        """Where *member* stands on every mission now, in the order declared."""
        who = MemberId(member)
        now = self._now()
        found: list[MissionProgress] = []
        with self._reading() as read:
            unit = self._reader(read)
            for mission in self._book.missions:
                period = self._book.period_of(mission.period, now)
                keys = [
                    progress_key(mission.id, period),
                    done_key(mission.id, period),
                    done_key(mission.id, "lifetime"),
                ]
                counted = unit.counters(who, keys)
                points, tasks = counted.get(keys[0], (0, 0))
                goal = mission.goal
                progress = points if isinstance(goal, SumGoal) else tasks
                here = counted.get(keys[1], (0, 0))[1]
                total = counted.get(keys[2], (0, 0))[1]
                found.append(
                    MissionProgress(
                        mission.id,
                        mission.name,
                        period,
                        progress,
                        goal.units if isinstance(goal, SumGoal) else goal.target,
                        here,
                        total,
                        _state(mission, now, here, total),
                    )
                )
        return tuple(found)

    def badges(self, member: str) -> tuple[BadgeStatus, ...]:
        """Every badge with *member*'s standing: earned (when, from what) or progress toward it."""
        who = MemberId(member)
        found: list[BadgeStatus] = []
        with self._reading() as read:
            unit = self._reader(read)
            keys = [
                key
                for badge in self._book.badges
                for key in (badge_key(badge.id), badge_progress_key(badge.id))
            ]
            counted = unit.counters(who, keys)
            for badge in self._book.badges:
                earned = counted.get(badge_key(badge.id), (0, 0))[1] > 0
                stored = unit.rule_event(_badge_record(badge.id, who)) if earned else None
                document = json.loads(stored) if stored is not None else {}
                goal = badge.goal
                points, tasks = counted.get(badge_progress_key(badge.id), (0, 0))
                target = (
                    None
                    if goal is None
                    else goal.units
                    if isinstance(goal, SumGoal)
                    else goal.target
                )
                progress = 0 if goal is None else points if isinstance(goal, SumGoal) else tasks
                found.append(
                    BadgeStatus(
                        badge.id,
                        badge.name,
                        earned,
                        _instant(document.get("at")),
                        document.get("source"),
                        progress,
                        target,
                    )
                )
        return tuple(found)

    def outcome(self, event_id: str) -> MissionOutcome | None:
        """What observing the event *event_id* did, as recorded; ``None`` if it was not observed."""
        with self._reading() as read:
            unit = self._reader(read)
            stored = unit.rule_event(_event_record(str(event_id)))
            if stored is None:
                return None
            document = json.loads(stored)
            return _from_document(unit, str(event_id), document, replayed=True)


def _check_event(event: object) -> Event:
    if not isinstance(event, Event):
        raise ArgumentTypeError(f"event={event!r} must be an Event, not {type_name(event)}")
    return event


def _state(mission: Mission, now: datetime, here: int, total: int) -> MissionState:
    if mission.starts_at is not None and now < mission.starts_at:
        return "not_started"
    if mission.times is not None and total >= mission.times:
        return "done"
    if mission.ends_at is not None and now >= mission.ends_at:
        return "ended"
    allowance = mission.allowance()
    if allowance is not None and here >= allowance:
        return "completed"
    return "in_progress"


def _instant(text: object) -> datetime | None:
    return None if text is None else datetime.fromisoformat(str(text))


def _save_badge(
    unit: RecordsWriting, member: MemberId, badge: str, source: str, now: datetime
) -> None:
    """Record that *member* earned *badge* now, with the badge counter's increment."""
    unit.save_rule_event(
        RuleEventRecord(
            event_id=_badge_record(badge, member),
            member=member,
            kind="badge_earned",
            at=now,
            decision=json.dumps(
                {"badge": badge, "source": source, "at": now.isoformat()}, sort_keys=True
            ),
            counters=((badge_key(badge), 0, 1),),
        )
    )
    emit_event(
        unit, "badge.earned", f"{badge}:{member}", now, BadgeEarned(badge, str(member), source)
    )


def _outcome(
    event: Event,
    decision: MissionDecision,
    posted: tuple[Transaction, ...],
    coupons: tuple[tuple[str, str], ...],
) -> MissionOutcome:
    return MissionOutcome(
        event.id,
        event.member,
        decision.explanations,
        posted,
        coupons,
        tuple(award.badge for award in decision.badges),
    )


def _replayed(unit: RecordsReading, event: Event, stored: str) -> MissionOutcome:
    document = json.loads(stored)
    given = _fingerprint(event)
    if document["event"] != given:
        raise conflict(event.id, dict(document["event"]), given)
    return _from_document(unit, event.id, document, replayed=True)


def _from_document(
    unit: RecordsReading, event_id: str, document: dict[str, object], *, replayed: bool
) -> MissionOutcome:
    fingerprint = document["event"]
    if not isinstance(fingerprint, dict):  # pragma: no cover - written by observe_on
        raise ArgumentTypeError("a mission record without its event")
    explanations = tuple(
        MissionExplanation(**item)
        for item in document["explanations"]  # type: ignore[attr-defined]
    )
    transactions = []
    for key in document["transactions"]:  # type: ignore[attr-defined]
        found = unit.transaction_by_key(str(key))
        if found is not None:
            transactions.append(attrs.evolve(found, replayed=True))
    return MissionOutcome(
        event_id,
        MemberId(json.loads(str(fingerprint["member"]))),
        explanations,
        tuple(transactions),
        tuple((str(pair[0]), str(pair[1])) for pair in document["coupons"]),  # type: ignore[attr-defined]
        tuple(str(badge) for badge in document["badges"]),  # type: ignore[attr-defined]
        replayed=replayed,
    )

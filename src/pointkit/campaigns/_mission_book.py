"""A programme's missions and badges, and what one event does to them: the pure decision.

Maintainer's notes
------------------
:class:`MissionBook` holds the definitions of :mod:`pointkit.campaigns._missions` with their
conditions compiled for the programme's zone. The feature (:class:`pointkit.features.Missions`)
reads the member's counters named by :meth:`MissionBook.counter_keys`, asks
:meth:`MissionBook.decide` what one event does to them, and stores the increments the decision
returns with the event's record, so that replaying the records gives every counter back. The
counters:

* ``(pointkit:mission:<id>, <period>)``: the progress in that period: ``tasks`` counts events
  (count goals) or local days (days goals); ``points`` sums the attribute (sum goals, in minor
  units for money);
* ``(pointkit:mission-day:<id>, day:<date>)``: a days goal's marker that a local day counted;
* ``(pointkit:mission-done:<id>, <period>)`` and ``(..., lifetime)``: completions in the period
  and in all;
* the same under ``pointkit:badge-progress:``, ``pointkit:badge-day:`` for a badge's own goal,
  and ``(pointkit:badge:<id>, lifetime)``, 1 once the badge is earned (the feature stores that
  increment with the badge's own record).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Final, Literal, TypeAlias, TypeVar, final

import attrs

from pointkit import limits
from pointkit._localtime import checked_wall
from pointkit._validate import check_aware, check_zone, type_name
from pointkit._values import Money
from pointkit.campaigns._missions import (
    Badge,
    CountGoal,
    DaysGoal,
    Goal,
    Mission,
    MissionPeriod,
    MissionReward,
    SumGoal,
    goal_units,
)
from pointkit.exceptions import ArgumentTypeError, ConfigurationError, InvalidArgumentError
from pointkit.pricing._config import field
from pointkit.rules import MISSING, Event, MemberContext, compile_condition, period_key


if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import tzinfo
    from zoneinfo import ZoneInfo

    from pointkit.rules import CompiledCondition


__all__ = [
    "BadgeAward",
    "Completion",
    "MissionBook",
    "MissionDecision",
    "MissionExplanation",
    "badge_day_key",
    "badge_key",
    "badge_progress_key",
    "day_key",
    "done_key",
    "progress_key",
]

_T = TypeVar("_T")
CounterKey = tuple[str, str]
_PREFIX: Final = "pointkit:"
_KEYS_CACHED: Final = 1024  # instants whose counter keys a book keeps
_PHRASE: Final = {
    "day": "that day",
    "week": "this week",
    "month": "this month",
    "lifetime": "in all",
}


MissionStatus: TypeAlias = Literal["counted", "completed", "not_counted"]


@final
@attrs.frozen
class MissionExplanation:
    """What one event did to one mission (or a badge's own goal), with the arithmetic.

    Attributes:
        subject: ``"mission"`` or ``"badge"``.
        id: The mission's or badge's id.
        period: The period counted in (``"month:2026-03"``, ``"lifetime"``).
        status: ``counted``, ``completed`` or ``not_counted``.
        reason: For ``not_counted``, a stable code: ``window``, ``condition``,
            ``condition_error``, ``done``, ``day_counted``, ``no_value``, ``currency`` or
            ``value``; otherwise ``""``.
        added: What the event added (1 event, 1 day, or the amount in minor units).
        progress: The progress after the event, in the goal's units.
        target: The goal's target, in the same units.
        completions: How many completions this event made (usually 0 or 1).
        text: In words: ``"3 of 3 purchases this month: completed, 200 points"``.
    """

    subject: Literal["mission", "badge"]
    id: str
    period: str
    status: MissionStatus
    reason: str
    added: int
    progress: int
    target: int
    completions: int
    text: str

    def to_dict(self) -> dict[str, object]:
        """The explanation as JSON-ready data."""
        return attrs.asdict(self)


@final
@attrs.frozen
class Completion:
    """One completion of a mission by a member: the *number*-th in all, in *period*.

    Attributes:
        mission: The mission's id.
        period: The period it was completed in.
        number: Its number among the member's completions of the mission, from 1.
        reward: What it gives.
    """

    mission: str
    period: str
    number: int
    reward: MissionReward


@final
@attrs.frozen
class BadgeAward:
    """A badge an event earns: from a mission's reward or the badge's own goal.

    Attributes:
        badge: The badge's id.
        source: What earned it: ``"mission:<id>:<number>"`` or ``"goal"``.
    """

    badge: str
    source: str


@final
@attrs.frozen
class MissionDecision:
    """What one event does to a member's missions and badges.

    Attributes:
        explanations: One per mission or badge goal that counts the event's kind.
        counters: ``(key, points, tasks)`` increments of the member's counters.
        completions: The completions the event makes, in the missions' order.
        badges: Badges the event earns that the member does not hold yet.
    """

    explanations: tuple[MissionExplanation, ...]
    counters: tuple[tuple[CounterKey, int, int], ...]
    completions: tuple[Completion, ...]
    badges: tuple[BadgeAward, ...]


def progress_key(mission: str, period: str) -> CounterKey:
    """The counter of a mission's progress in *period*."""
    return (f"{_PREFIX}mission:{mission}", period)


def done_key(mission: str, period: str) -> CounterKey:
    """The counter of a mission's completions in *period* (``lifetime``: in all)."""
    return (f"{_PREFIX}mission-done:{mission}", period)


def day_key(mission: str, day: str) -> CounterKey:
    """The marker that a days goal counted local day *day* (``day:2026-03-01``)."""
    return (f"{_PREFIX}mission-day:{mission}", day)


def badge_key(badge: str) -> CounterKey:
    """The counter that is 1 once the member holds *badge*."""
    return (f"{_PREFIX}badge:{badge}", "lifetime")


def badge_progress_key(badge: str) -> CounterKey:
    """The counter of a badge's own goal."""
    return (f"{_PREFIX}badge-progress:{badge}", "lifetime")


def badge_day_key(badge: str, day: str) -> CounterKey:
    """The marker that a badge's days goal counted local day *day*."""
    return (f"{_PREFIX}badge-day:{badge}", day)


def _check_unique(problems: list[str], name: str, ids: Sequence[str]) -> None:
    seen: set[str] = set()
    for index, item in enumerate(ids):
        if item in seen:
            problems.append(f"{name}[{index}]: id {item!r} is declared twice")
        seen.add(item)


@final
class MissionBook:
    """A programme's missions and badges, with their conditions compiled for its zone.

    >>> from datetime import UTC, datetime
    >>> from pointkit.campaigns import CountGoal, MissionReward
    >>> from pointkit.rules import Event, MemberContext
    >>> book = MissionBook(
    ...     [Mission("shop-3", "Shop 3 times", CountGoal({"purchase"}, 3, label="purchases"),
    ...              MissionReward(points=200), period="month")],
    ...     zone="Asia/Shanghai",
    ... )
    >>> event = Event("e-1", "purchase", "alice", datetime(2026, 3, 5, tzinfo=UTC))
    >>> decision = book.decide(event, MemberContext(), {progress_key("shop-3", "month:2026-03"): (0, 2)})
    >>> decision.explanations[0].text
    '3 of 3 purchases this month: completed, 200 points'

    Args:
        missions: The missions, at most ``limits.MISSIONS_MAX``, ids unique.
        badges: The badges, at most ``limits.BADGES_MAX``, ids unique; every badge a mission
            gives is among them.
        zone: The programme's IANA time zone: periods, local days and time conditions use it.

    Raises:
        ConfigurationError: Listing every problem.
    """

    __slots__ = ("_badges", "_compiled", "_keys", "_kinds", "_missions", "_periods", "_zone")

    def __init__(
        self,
        missions: Sequence[Mission] = (),
        badges: Sequence[Badge] = (),
        *,
        zone: str | ZoneInfo = "UTC",
    ) -> None:
        problems: list[str] = []
        checked_zone = field(problems, "zone", lambda: check_zone("zone", zone), None)
        found_missions = _items(
            problems, "missions", missions, Mission, limits.MISSIONS_MAX, "MISSIONS_MAX"
        )
        found_badges = _items(problems, "badges", badges, Badge, limits.BADGES_MAX, "BADGES_MAX")
        _check_unique(problems, "missions", [mission.id for mission in found_missions])
        _check_unique(problems, "badges", [badge.id for badge in found_badges])
        known = {badge.id for badge in found_badges}
        for index, mission in enumerate(found_missions):
            if mission.reward.badge is not None and mission.reward.badge not in known:
                problems.append(
                    f"missions[{index}].reward.badge: {mission.reward.badge!r} is not a declared badge"
                )
        if problems or checked_zone is None:
            raise ConfigurationError("MissionBook", problems)
        self._zone = checked_zone
        self._missions = tuple(found_missions)
        self._badges = tuple(found_badges)
        self._compiled: dict[tuple[str, str], CompiledCondition] = {}
        # counter_keys by (kind, instant, its zone): events recorded at one instant share them.
        self._keys: dict[tuple[str, datetime, tzinfo | None], tuple[CounterKey, ...]] = {}
        # period_of by (period, instant, its zone, its fold): a mission step asks several times
        # per event, and events recorded at one instant share the answers.
        self._periods: dict[tuple[str, datetime, tzinfo | None, int], str] = {}
        self._kinds: dict[str, list[tuple[str, Mission | Badge]]] = {}
        for subject, items in (("mission", self._missions), ("badge", self._badges)):
            for item in items:
                goal = item.goal
                if goal is None:
                    continue
                if goal.condition is not None:
                    self._compiled[(subject, item.id)] = compile_condition(
                        goal.condition, checked_zone
                    )
                for kind in sorted(goal.kinds):
                    self._kinds.setdefault(kind, []).append((subject, item))

    def __reduce__(
        self,
    ) -> tuple[Callable[..., MissionBook], tuple[tuple[Mission, ...], tuple[Badge, ...], str]]:
        """Pickle the missions, badges and zone; unpickling checks and compiles them again."""
        return _mission_book, (self._missions, self._badges, self._zone.key)

    def __repr__(self) -> str:
        return (
            f"MissionBook(missions={[m.id for m in self._missions]!r}, "
            f"badges={[b.id for b in self._badges]!r}, zone={self._zone.key!r})"
        )

    @property
    def missions(self) -> tuple[Mission, ...]:
        """The missions, in the order declared."""
        return self._missions

    @property
    def badges(self) -> tuple[Badge, ...]:
        """The badges, in the order declared."""
        return self._badges

    @property
    def zone(self) -> ZoneInfo:
        """The programme's time zone."""
        return self._zone

    def mission(self, mission: str) -> Mission:
        """The mission with id *mission*.

        Raises:
            InvalidArgumentError: If there is none.
        """
        for item in self._missions:
            if item.id == mission:
                return item
        raise InvalidArgumentError(f"mission={mission!r} is not a declared mission")

    def counts(self, kind: str) -> bool:
        """Whether any mission or badge goal counts events of *kind*."""
        return kind in self._kinds

    def period_of(self, period: MissionPeriod, at: datetime) -> str:
        """The key of the *period* that instant *at* falls in, in the zone."""
        # Only an aware datetime gets here from the cache: anything else is checked (and
        # refused) the long way, every time.
        cached = (period, at, at.tzinfo, at.fold) if type(at) is datetime else None
        found = None if cached is None else self._periods.get(cached)
        if found is None:
            found = period_key(period, checked_wall("at", check_aware("at", at), self._zone).date())
            if cached is not None:
                if len(self._periods) >= _KEYS_CACHED:
                    self._periods.clear()
                self._periods[cached] = found
        return found

    def local_day(self, at: datetime) -> str:
        """The key of the local day *at* falls in (``day:2026-03-01``)."""
        return self.period_of("day", at)

    def counter_keys(self, event: Event) -> tuple[CounterKey, ...]:
        """The member's counters :meth:`decide` reads for *event*."""
        at = event.at
        cached = (event.kind, at, at.tzinfo)
        found = self._keys.get(cached)
        if found is None:
            if len(self._keys) >= _KEYS_CACHED:
                self._keys.clear()
            found = self._keys[cached] = self._counter_keys(event.kind, at)
        return found

    def _counter_keys(self, kind: str, at: datetime) -> tuple[CounterKey, ...]:
        keys: set[CounterKey] = set()
        day = self.local_day(at)
        for subject, item in self._kinds.get(kind, ()):
            if subject == "mission" and isinstance(item, Mission):
                period = self.period_of(item.period, at)
                keys.update(
                    (
                        progress_key(item.id, period),
                        done_key(item.id, period),
                        done_key(item.id, "lifetime"),
                    )
                )
                if isinstance(item.goal, DaysGoal):
                    keys.add(day_key(item.id, day))
            else:
                keys.update((badge_key(item.id), badge_progress_key(item.id)))
                if isinstance(item.goal, DaysGoal):
                    keys.add(badge_day_key(item.id, day))
        for mission in self._missions:
            if mission.reward.badge is not None:
                keys.add(badge_key(mission.reward.badge))
        return tuple(sorted(keys))

    def decide(
        self,
        event: Event,
        member: MemberContext,
        counters: Mapping[CounterKey, tuple[int, int]],
    ) -> MissionDecision:
        """What *event* does to the member's missions and badges, given their *counters*.

        Args:
            event: The event.
            member: What conditions may ask about the member.
            counters: ``(points, tasks)`` of the counters :meth:`counter_keys` names that exist.

        Returns:
            The explanations, the counter increments, the completions and the badges earned.
        """
        if not isinstance(event, Event):
            raise ArgumentTypeError(f"event={event!r} must be an Event, not {type_name(event)}")
        if not isinstance(member, MemberContext):
            raise ArgumentTypeError(
                f"member={member!r} must be a MemberContext, not {type_name(member)}"
            )
        step = _Step(self, event, member, counters)
        for subject, item in self._kinds.get(event.kind, ()):
            if isinstance(item, Mission):
                step.mission(item)
            elif subject == "badge":
                step.badge(item)
        return step.finish()

    def condition(self, subject: str, item: str) -> CompiledCondition | None:
        """The compiled condition of a mission's or badge's goal, if it has one."""
        return self._compiled.get((subject, item))


def _items(
    problems: list[str], name: str, value: object, kind: type[_T], limit: int, limit_name: str
) -> list[_T]:
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        problems.append(f"{name}: {value!r} must be a sequence of {kind.__name__}")
        return []
    if len(value) > limit:
        problems.append(f"{name}: {len(value)} items are over limits.{limit_name} ({limit})")
        return []
    found: list[_T] = []
    for index, item in enumerate(value):
        if isinstance(item, kind):
            found.append(item)
        else:
            problems.append(
                f"{name}[{index}]: {item!r} must be a {kind.__name__}, not {type_name(item)}"
            )
    return found


@final
class _Step:
    """One event's pass over the missions and badges, collecting increments as it goes."""

    def __init__(
        self,
        book: MissionBook,
        event: Event,
        member: MemberContext,
        counters: Mapping[CounterKey, tuple[int, int]],
    ) -> None:
        self.book = book
        self.event = event
        self.member = member
        self.counters = counters
        self.day = book.local_day(event.at)
        self.explanations: list[MissionExplanation] = []
        self.increments: dict[CounterKey, list[int]] = {}
        self.completions: list[Completion] = []
        self.badges: dict[str, BadgeAward] = {}

    def tasks(self, key: CounterKey) -> int:
        return self.counters.get(key, (0, 0))[1]

    def points(self, key: CounterKey) -> int:
        return self.counters.get(key, (0, 0))[0]

    def add(self, key: CounterKey, points: int, tasks: int) -> None:
        found = self.increments.setdefault(key, [0, 0])
        found[0] += points
        found[1] += tasks

    def measure(
        self, subject: str, item: Mission | Badge, goal: Goal, marker: CounterKey
    ) -> tuple[int, str, str]:
        """What the event adds to *goal*: ``(units, reason, detail)``; ``units`` 0 with a reason if nothing."""
        compiled = self.book.condition(subject, item.id)
        if compiled is not None:
            outcome = compiled.outcome(self.event, self.member)
            if outcome is None:
                return (0, "condition_error", "its condition could not be evaluated")
            if not outcome:
                node = compiled.explain(self.event, self.member).node
                return (0, "condition", f"the condition {node} did not hold")
        if isinstance(goal, DaysGoal):
            if self.tasks(marker) > 0:
                return (0, "day_counted", f"{self.day.removeprefix('day:')} was counted already")
            return (1, "", "")
        if isinstance(goal, CountGoal):
            return (1, "", "")
        return _sum_units(goal, self.event)

    def mission(self, mission: Mission) -> None:  # noqa: C901, PLR0912 - one branch per refusal
        goal = mission.goal
        period = self.book.period_of(mission.period, self.event.at)
        target = goal_units(goal)
        done_here = self.tasks(done_key(mission.id, period))
        done_total = self.tasks(done_key(mission.id, "lifetime"))
        progress_at = progress_key(mission.id, period)
        before = self.points(progress_at) if isinstance(goal, SumGoal) else self.tasks(progress_at)
        phrase = _PHRASE[mission.period]

        def explain(
            status: MissionStatus, reason: str, added: int, progress: int, made: int, state: str
        ) -> None:
            shown = min(progress, target) if mission.period != "lifetime" else progress
            text = f"{_show(goal, shown)} of {_show(goal, target)}{_label(goal)} {phrase}: {state}"
            self.explanations.append(
                MissionExplanation(
                    "mission",
                    mission.id,
                    period,
                    status,
                    reason,
                    added,
                    progress,
                    target,
                    made,
                    text,
                )
            )

        if not mission.open_at(self.event.at):
            explain(
                "not_counted", "window", 0, before, 0, "not counted: outside the mission's window"
            )
            return
        allowance = mission.allowance()
        if mission.times is not None and done_total >= mission.times:
            state = (
                "not counted: completed already"
                if mission.times == 1
                else f"not counted: completed all {mission.times} times"
            )
            explain("not_counted", "done", 0, before, 0, state)
            return
        if allowance is not None and done_here >= allowance:
            explain("not_counted", "done", 0, before, 0, f"not counted: completed {phrase} already")
            return
        units, reason, detail = self.measure(
            "mission", mission, goal, day_key(mission.id, self.day)
        )
        if units == 0:
            explain("not_counted", reason, 0, before, 0, f"not counted: {detail}")
            return
        after = min(before + units, limits.POINTS_MAX)
        if isinstance(goal, SumGoal):
            self.add(progress_at, after - before, 1)
        else:
            self.add(progress_at, 0, 1)
        if isinstance(goal, DaysGoal):
            self.add(day_key(mission.id, self.day), 0, 1)
        reached = after // target
        if allowance is not None:
            reached = min(reached, allowance)
        if mission.times is not None:
            reached = min(reached, done_here + mission.times - done_total)
        made = max(0, reached - done_here)
        if made == 0:
            explain("counted", "", units, after, 0, "in progress")
            return
        for index in range(made):
            number = done_total + index + 1
            self.completions.append(Completion(mission.id, period, number, mission.reward))
            if (
                mission.reward.badge is not None
                and self.tasks(badge_key(mission.reward.badge)) == 0
            ):
                self.badges.setdefault(
                    mission.reward.badge,
                    BadgeAward(mission.reward.badge, f"mission:{mission.id}:{number}"),
                )
        self.add(done_key(mission.id, period), 0, made)
        if period != "lifetime":
            self.add(done_key(mission.id, "lifetime"), 0, made)
        times = "" if made == 1 else f" {made} times"
        explain(
            "completed", "", units, after, made, f"completed{times}, {mission.reward.describe()}"
        )

    def badge(self, badge: Mission | Badge) -> None:
        goal = badge.goal
        if not isinstance(badge, Badge) or goal is None:  # pragma: no cover - indexed by goal
            return
        target = goal_units(goal)
        progress_at = badge_progress_key(badge.id)
        before = self.points(progress_at) if isinstance(goal, SumGoal) else self.tasks(progress_at)

        def explain(
            status: MissionStatus, reason: str, added: int, progress: int, state: str
        ) -> None:
            text = f"{_show(goal, min(progress, target))} of {_show(goal, target)}{_label(goal)} for badge {badge.id}: {state}"
            self.explanations.append(
                MissionExplanation(
                    "badge",
                    badge.id,
                    "lifetime",
                    status,
                    reason,
                    added,
                    progress,
                    target,
                    int(status == "completed"),
                    text,
                )
            )

        if self.tasks(badge_key(badge.id)) > 0:
            explain("not_counted", "done", 0, before, "not counted: the badge is held already")
            return
        units, reason, detail = self.measure(
            "badge", badge, goal, badge_day_key(badge.id, self.day)
        )
        if units == 0:
            explain("not_counted", reason, 0, before, f"not counted: {detail}")
            return
        after = min(before + units, limits.POINTS_MAX)
        if isinstance(goal, SumGoal):
            self.add(progress_at, after - before, 1)
        else:
            self.add(progress_at, 0, 1)
        if isinstance(goal, DaysGoal):
            self.add(badge_day_key(badge.id, self.day), 0, 1)
        if after >= target:
            self.badges.setdefault(badge.id, BadgeAward(badge.id, "goal"))
            explain("completed", "", units, after, f"earned, badge {badge.id}")
        else:
            explain("counted", "", units, after, "in progress")

    def finish(self) -> MissionDecision:
        return MissionDecision(
            tuple(self.explanations),
            tuple((key, points, tasks) for key, (points, tasks) in sorted(self.increments.items())),
            tuple(self.completions),
            tuple(self.badges.values()),
        )


def _sum_units(goal: SumGoal, event: Event) -> tuple[int, str, str]:
    """What *event* adds to a sum goal, in minor units for money: ``(units, reason, detail)``."""
    value = event.get(goal.attribute)
    if value is MISSING:
        return (0, "no_value", f"the event has no {goal.attribute}")
    if isinstance(goal.target, Money):
        if not isinstance(value, Money):
            return (0, "value", f"{goal.attribute}={value!r} is not money")
        if value.currency != goal.target.currency:
            detail = (
                f"{goal.attribute} is in {value.currency.code}, not {goal.target.currency.code}"
            )
            return (0, "currency", detail)
        units = value.minor_units
    elif isinstance(value, bool) or not isinstance(value, int):
        return (0, "value", f"{goal.attribute}={value!r} is not an int")
    else:
        units = value
    if units <= 0:
        return (0, "value", f"{goal.attribute}={value} is not above zero")
    return (units, "", "")


def _show(goal: Goal, units: int) -> str:
    return goal.show(units) if isinstance(goal, SumGoal) else str(units)


def _label(goal: Goal) -> str:
    return f" {goal.label}" if goal.label else ""


def _mission_book(
    missions: tuple[Mission, ...], badges: tuple[Badge, ...], zone: str
) -> MissionBook:
    """The book of pickled missions and badges (:meth:`MissionBook.__reduce__`)."""
    return MissionBook(missions, badges, zone=zone)

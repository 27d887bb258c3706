"""Missions and badges: goals over a member's events, and what completing one gives.

Maintainer's notes
------------------
A mission is a goal (:class:`CountGoal`, :class:`DaysGoal`, :class:`SumGoal`) counted in a
period of the programme's zone (a day, an ISO week, a month, or ``lifetime``: the whole of its
``[starts_at, ends_at)`` window), completed at most once per calendar period and at most
``times`` times in all (in the ``lifetime`` period each further multiple of the target completes
it again), and rewarding points, a coupon, a badge or several of them. A badge is an
achievement: a mission gives it, or it has a lifetime goal of its own. Goals' conditions are
the earning rules' own (:mod:`pointkit.rules`).

This module holds the definitions, checked when they are made;
:mod:`pointkit.campaigns._mission_book` holds them together for a programme and decides what an
event does to them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Final, Literal, TypeAlias, final

import attrs

from pointkit import limits
from pointkit._validate import check_int, check_text, type_name
from pointkit._values import Money, check_point_code
from pointkit.exceptions import ArgumentTypeError, ConfigurationError, InvalidArgumentError
from pointkit.pricing._config import check_id, check_name, check_window, field
from pointkit.rules._conditions import CONDITION_TYPES
from pointkit.rules._segments import check_segment_names


if TYPE_CHECKING:
    from datetime import datetime

    from pointkit.rules import Condition


__all__ = [
    "Badge",
    "CountGoal",
    "DaysGoal",
    "Goal",
    "Mission",
    "MissionPeriod",
    "MissionReward",
    "SumGoal",
    "goal_units",
]

MissionPeriod: TypeAlias = Literal["day", "week", "month", "lifetime"]
"""The calendar period a mission's progress counts in, in the programme's zone."""

_PERIODS: Final[tuple[MissionPeriod, ...]] = ("day", "week", "month", "lifetime")


def _to_kinds(value: Iterable[str]) -> frozenset[str]:
    given: object = value  # checked at run time whatever the annotation says
    if isinstance(given, str | bytes) or not isinstance(given, Iterable):
        raise ArgumentTypeError(f"kinds={given!r} must be a set of event kinds, not a str")
    kinds = frozenset(
        check_text(
            "kinds item",
            kind,
            max_length=limits.EVENT_NAME_LENGTH_MAX,
            limit_name="EVENT_NAME_LENGTH_MAX",
        )
        for kind in given
    )
    if not kinds:
        raise InvalidArgumentError("kinds=() must name at least one event kind")
    return kinds


def _to_target(value: int) -> int:
    return check_int("target", value, minimum=1, maximum=limits.POINTS_MAX, limit_name="POINTS_MAX")


def _to_condition(value: Condition | None) -> Condition | None:
    given: object = value
    if given is not None and not isinstance(given, CONDITION_TYPES):
        raise ArgumentTypeError(f"condition={given!r} must be a condition, not {type_name(given)}")
    return value


def _to_label(value: str) -> str:
    return check_text(
        "label", value, max_length=limits.NAME_LENGTH_MAX, limit_name="NAME_LENGTH_MAX"
    )


@final
@attrs.frozen
class CountGoal:
    """Count events: "3 purchases", "review 5 products".

    Attributes:
        kinds: The event kinds that count.
        target: How many events complete the goal.
        condition: What a counted event must also satisfy (the earning rules' conditions).
        label: What is counted, for explanations (``"purchases"``).
    """

    kinds: frozenset[str] = attrs.field(converter=_to_kinds)
    target: int = attrs.field(converter=_to_target)
    condition: Condition | None = attrs.field(default=None, converter=_to_condition)
    label: str = attrs.field(default="events", converter=_to_label)


@final
@attrs.frozen
class DaysGoal:
    """Count distinct local days with an event: "sign in on 20 days of a month".

    Attributes:
        kinds: The event kinds that count.
        target: How many distinct days complete the goal.
        condition: What a counted event must also satisfy.
        label: What is counted, for explanations.
    """

    kinds: frozenset[str] = attrs.field(converter=_to_kinds)
    target: int = attrs.field(converter=_to_target)
    condition: Condition | None = attrs.field(default=None, converter=_to_condition)
    label: str = attrs.field(default="days", converter=_to_label)


def _to_sum_target(value: int | Money) -> int | Money:
    if isinstance(value, Money):
        if value.minor_units <= 0:
            raise InvalidArgumentError(f"target={value} must be more than zero")
        return value
    return _to_target(value)


def _to_attribute(value: str) -> str:
    return check_text(
        "attribute",
        value,
        max_length=limits.EVENT_NAME_LENGTH_MAX,
        limit_name="EVENT_NAME_LENGTH_MAX",
    )


def _to_sum_label(value: str) -> str:
    return value if value == "" else _to_label(value)


@final
@attrs.frozen
class SumGoal:
    """Add up an event attribute: "spend 500 yuan this week".

    A money target adds money attributes in its currency (in minor units); an int target adds
    int attributes. Values in another currency, of another type, or not above zero do not count.

    Attributes:
        kinds: The event kinds that count.
        attribute: The attribute added up (``"amount"``).
        target: The sum that completes the goal: a :class:`~pointkit.Money` or an int.
        condition: What a counted event must also satisfy.
        label: What is added up, for explanations (``"spent"``).
    """

    kinds: frozenset[str] = attrs.field(converter=_to_kinds)
    attribute: str = attrs.field(converter=_to_attribute)
    target: int | Money = attrs.field(converter=_to_sum_target)
    condition: Condition | None = attrs.field(default=None, converter=_to_condition)
    label: str = attrs.field(default="", converter=_to_sum_label)

    @property
    def units(self) -> int:
        """The target in the units counters hold: minor units for money."""
        return self.target.minor_units if isinstance(self.target, Money) else self.target

    def show(self, units: int) -> str:
        """*units* as the target's kind: ``"350.00 CNY"`` or ``"350"``."""
        if isinstance(self.target, Money):
            return str(Money.from_minor_units(units, self.target.currency))
        return str(units)


Goal: TypeAlias = CountGoal | DaysGoal | SumGoal
"""What a mission or a badge counts."""

_GOALS: Final = (CountGoal, DaysGoal, SumGoal)


def goal_units(goal: Goal) -> int:
    """A goal's target in the units counters hold (minor units for money)."""
    return goal.units if isinstance(goal, SumGoal) else goal.target


def _to_points(value: int) -> int:
    return check_int("points", value, minimum=0, maximum=limits.POINTS_MAX, limit_name="POINTS_MAX")


def _to_currency(value: str | None) -> str | None:
    return None if value is None else check_point_code("currency", value)


def _to_coupon(value: str | None) -> str | None:
    return None if value is None else check_id("coupon", value)


def _to_badge(value: str | None) -> str | None:
    return None if value is None else check_id("badge", value)


@final
@attrs.frozen
class MissionReward:
    """What completing a mission gives: points, a coupon, a badge, or several.

    Attributes:
        points: Points credited (a lot that expires under the ledger's expiry policy); 0 for none.
        currency: The point currency of the points; the ledger's first if ``None``.
        coupon: A coupon definition's id, issued through the feature's coupon issuer.
        badge: A badge's id (declared in the same :class:`MissionBook`).
    """

    points: int = attrs.field(default=0, converter=_to_points)
    currency: str | None = attrs.field(default=None, converter=_to_currency)
    coupon: str | None = attrs.field(default=None, converter=_to_coupon)
    badge: str | None = attrs.field(default=None, converter=_to_badge)

    def __attrs_post_init__(self) -> None:
        if self.points == 0 and self.coupon is None and self.badge is None:
            raise InvalidArgumentError(
                "reward=MissionReward() gives nothing: give points, a coupon or a badge"
            )

    def describe(self) -> str:
        """The reward in words: ``"200 points, coupon c-10, badge shopper"``."""
        parts = []
        if self.points:
            parts.append(f"{self.points} {self.currency or 'points'}")
        if self.coupon is not None:
            parts.append(f"coupon {self.coupon}")
        if self.badge is not None:
            parts.append(f"badge {self.badge}")
        return ", ".join(parts)


@final
@attrs.frozen(init=False)
class Mission:
    """A goal over a member's events, in a period, with a reward for completing it.

    >>> shop = Mission(
    ...     "shop-3", "3 purchases this month", CountGoal({"purchase"}, 3, label="purchases"),
    ...     MissionReward(points=200), period="month", times=None,
    ... )
    >>> shop.period, shop.times
    ('month', None)
    >>> Mission("x", "X", CountGoal({"purchase"}, 1), MissionReward(points=1), period="year")
    Traceback (most recent call last):
    ...
    pointkit.exceptions.ConfigurationError: Mission 'x' has 1 problem:
      - period: 'year' must be one of 'day', 'week', 'month', 'lifetime'

    Args:
        id: The mission's id (no ``:``), used in counters and keys.
        name: Its display name.
        goal: What it counts.
        reward: What completing it gives.
        period: The calendar period progress counts in; ``lifetime`` for the whole window.
        times: The most completions per member in all (1: once); ``None`` for no limit (one per
            period). At most ``limits.MISSION_REPEATS_MAX``.
        starts_at: When events start counting, inclusive.
        ends_at: When they stop, exclusive.
        segments: The segments (:class:`~pointkit.rules.Segments`) whose members make
            progress on it; a member in none of them does not. Every member if empty.

    Raises:
        ConfigurationError: Listing every problem, each naming its field.
    """

    id: str
    name: str
    goal: Goal
    reward: MissionReward
    period: MissionPeriod
    times: int | None
    starts_at: datetime | None
    ends_at: datetime | None
    segments: frozenset[str]

    def __init__(
        self,
        id: str,  # noqa: A002 - the mission's id
        name: str,
        goal: Goal,
        reward: MissionReward,
        *,
        period: MissionPeriod = "lifetime",
        times: int | None = 1,
        starts_at: datetime | None = None,
        ends_at: datetime | None = None,
        segments: Iterable[str] = frozenset(),
    ) -> None:
        problems: list[str] = []
        checked_id = field(problems, "id", lambda: check_id("id", id), "?")
        checked_name = field(problems, "name", lambda: check_name("name", name), "?")
        given_goal: object = goal
        if not isinstance(given_goal, _GOALS):
            problems.append(f"goal: {given_goal!r} must be a CountGoal, DaysGoal or SumGoal")
        given_reward: object = reward
        if not isinstance(given_reward, MissionReward):
            problems.append(f"reward: {given_reward!r} must be a MissionReward")
        if period not in _PERIODS:
            valid = ", ".join(repr(name) for name in _PERIODS)
            problems.append(f"period: {period!r} must be one of {valid}")
        checked_times = (
            None
            if times is None
            else field(
                problems,
                "times",
                lambda: check_int(
                    "times",
                    times,
                    minimum=1,
                    maximum=limits.MISSION_REPEATS_MAX,
                    limit_name="MISSION_REPEATS_MAX",
                ),
                1,
            )
        )
        if times is None and period == "lifetime":
            problems.append(
                "times: None repeats once per period; a lifetime mission needs a number"
            )
        start, end = check_window(problems, starts_at, ends_at)
        checked_segments = check_segment_names(problems, segments)
        if problems:
            raise ConfigurationError(f"Mission {id!r}", problems)
        self.__attrs_init__(
            checked_id,
            checked_name,
            goal,
            reward,
            period,
            checked_times,
            start,
            end,
            checked_segments,
        )

    def open_at(self, at: datetime) -> bool:
        """Whether an event at *at* falls in the mission's window."""
        return (self.starts_at is None or self.starts_at <= at) and (
            self.ends_at is None or at < self.ends_at
        )

    def allowance(self) -> int | None:
        """The most completions in one period: 1 for a calendar period; ``times`` in all."""
        return self.times if self.period == "lifetime" else 1


@final
@attrs.frozen(init=False)
class Badge:
    """An achievement: given by a mission, or earned by a lifetime goal of its own.

    Args:
        id: The badge's id (no ``:``).
        name: Its display name.
        goal: Its own goal, counted over the member's whole history ("100 sign-ins ever");
            ``None`` for a badge only missions give.

    Raises:
        ConfigurationError: Listing every problem, each naming its field.
    """

    id: str
    name: str
    goal: Goal | None

    def __init__(self, id: str, name: str, goal: Goal | None = None) -> None:  # noqa: A002
        problems: list[str] = []
        checked_id = field(problems, "id", lambda: check_id("id", id), "?")
        checked_name = field(problems, "name", lambda: check_name("name", name), "?")
        given: object = goal
        if given is not None and not isinstance(given, _GOALS):
            problems.append(f"goal: {given!r} must be a CountGoal, DaysGoal, SumGoal or None")
        if problems:
            raise ConfigurationError(f"Badge {id!r}", problems)
        self.__attrs_init__(checked_id, checked_name, goal)

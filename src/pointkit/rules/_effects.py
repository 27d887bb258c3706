"""What a rule awards: fixed points or a rate, bonuses, multipliers, caps and streak ladders.

Maintainer's notes
------------------
These are the parts a :class:`~pointkit.rules.Rule` is made of; each checks itself when it is
built, and the rule set checks how they fit together. The arithmetic they take part in, in
order, is documented once on :class:`~pointkit.rules.RuleSet`: base (fixed points or the rate,
plus the streak reward), bonuses declared ``multiplied``, multipliers, the other bonuses,
rounding once, then caps and the budget.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from fractions import Fraction
from typing import Final, Literal, TypeAlias, final

import attrs

from pointkit import limits
from pointkit._validate import check_int, check_text, type_name
from pointkit._values import ROUNDING_MODES, Money, Rounding
from pointkit.exceptions import ArgumentTypeError, InvalidArgumentError, LimitExceededError
from pointkit.rules._conditions import CONDITION_TYPES, Condition
from pointkit.rules._state import PERIODS, CapPeriod


__all__ = [
    "COUNTED_PARTS",
    "ONCE_SCOPES",
    "Bonus",
    "Cap",
    "CapLimit",
    "CountedPart",
    "Effect",
    "Fixed",
    "Multiplier",
    "OncePer",
    "OnceScope",
    "Rate",
    "StreakLadder",
    "check_rounding",
    "check_rule_name",
    "limit_for",
    "smallest_limit",
]

CountedPart: TypeAlias = Literal["goods", "tax", "shipping", "paid_with_points"]
"""A part of a purchase's amount that a rate may count."""

COUNTED_PARTS: Final[tuple[CountedPart, ...]] = ("goods", "tax", "shipping", "paid_with_points")


def check_rounding(value: object) -> Rounding:
    """Return *value* if it is a rounding mode.

    Raises:
        InvalidArgumentError: If it is not one of :data:`pointkit.Rounding`'s modes.
    """
    if value not in ROUNDING_MODES:
        valid = ", ".join(repr(mode) for mode in ROUNDING_MODES)
        raise InvalidArgumentError(f"rounding={value!r} must be one of {valid}")
    return value


def _to_fixed_points(value: int) -> int:
    return check_int(
        "points",
        value,
        minimum=-limits.POINTS_MAX,
        maximum=limits.POINTS_MAX,
        limit_name="POINTS_MAX",
    )


@final
@attrs.frozen
class Fixed:
    """A fixed number of points: 50 for a share, -20 for an abusive review.

    A fractional multiplier can make the award fractional; it is then rounded once, after
    multipliers and bonuses, with *rounding*. The default, ``"floor"``, favours the issuer:
    fewer points earned, and a deduction never smaller than its exact value.

    >>> Fixed(50)
    Fixed(points=50, rounding='floor')

    Attributes:
        points: The points, positive or (a deduction) negative.
        rounding: How a fractional award is rounded.
    """

    points: int = attrs.field(converter=_to_fixed_points)
    rounding: Rounding = attrs.field(default="floor", converter=check_rounding, kw_only=True)


def _to_rate_points(value: int) -> int:
    return check_int("points", value, minimum=1, maximum=limits.POINTS_MAX, limit_name="POINTS_MAX")


def _to_per(value: Money) -> Money:
    given: object = value  # checked at run time whatever the annotation says
    if not isinstance(given, Money):
        raise ArgumentTypeError(f"per={given!r} must be Money, not {type_name(given)}")
    if not given.amount > 0:
        raise InvalidArgumentError(f"per={given!s} must be more than zero")
    return given


def _to_counts(value: Iterable[CountedPart]) -> frozenset[CountedPart]:
    given: object = value  # checked at run time whatever the annotation says
    if isinstance(given, str | bytes) or not isinstance(given, Iterable):
        raise ArgumentTypeError(
            f"counts={given!r} must be a set of parts of the amount, not {type_name(given)}"
        )
    parts = frozenset(given)
    valid = ", ".join(repr(part) for part in COUNTED_PARTS)
    for part in sorted(parts, key=str):
        if part not in COUNTED_PARTS:
            raise InvalidArgumentError(f"counts item {part!r} must be one of {valid}")
    if not parts:
        raise InvalidArgumentError(f"counts must name at least one of {valid}")
    return parts


_GOODS: Final[frozenset[CountedPart]] = frozenset({"goods"})


@final
@attrs.frozen
class Rate:
    """*points* per *per* of the counted amount: "1 point per 10 yuan".

    The counted amount is the sum of the parts in *counts*: ``goods`` (the amount minus tax,
    shipping and the part paid with points), ``tax``, ``shipping`` and ``paid_with_points``.
    The default counts goods only. The exact result is rounded once with *rounding*, which has
    no default: ``"floor"`` favours the issuer.

    >>> from pointkit import Money
    >>> Rate(1, per=Money(10, "CNY"), rounding="floor")
    Rate(points=1, per=Money(amount=Decimal('10.00'), currency=MoneyCurrency(code='CNY', decimals=2)), counts=frozenset({'goods'}), rounding='floor')

    Attributes:
        points: Points per *per*, at least 1.
        per: The money that earns *points*, more than zero; its currency is the one the rate
            applies to.
        counts: The parts of the amount that count.
        rounding: How the award is rounded.
    """

    points: int = attrs.field(converter=_to_rate_points)
    per: Money = attrs.field(converter=_to_per, kw_only=True)
    counts: frozenset[CountedPart] = attrs.field(default=_GOODS, converter=_to_counts, kw_only=True)
    rounding: Rounding = attrs.field(converter=check_rounding, kw_only=True)


Effect: TypeAlias = Fixed | Rate
"""What a rule awards at base: fixed points or a rate."""


def _to_condition(value: Condition) -> Condition:
    given: object = value  # checked at run time whatever the annotation says
    if not isinstance(given, CONDITION_TYPES):
        raise ArgumentTypeError(f"when={given!r} must be a condition, not {type_name(given)}")
    return given


def _to_optional_condition(value: Condition | None) -> Condition | None:
    return None if value is None else _to_condition(value)


def _to_bonus_points(value: int) -> int:
    points = _to_fixed_points(value)
    if points == 0:
        raise InvalidArgumentError("points=0 must not be zero: a bonus adds or takes points")
    return points


def _to_flag(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ArgumentTypeError(f"{name}={value!r} must be a bool, not {type_name(value)}")
    return value


def _to_multiplied(value: bool) -> bool:  # noqa: FBT001 - a converter takes the value as it is
    return _to_flag("multiplied", value)


@final
@attrs.frozen
class Bonus:
    """Extra points when a condition holds: a review over 20 characters earns another 5.

    A bonus is added after the multipliers, unless it is declared *multiplied*: then it joins
    the base before them.

    Attributes:
        points: The extra points, positive or negative, not zero.
        when: The condition.
        multiplied: Whether the rule's multipliers apply to the bonus too.
    """

    points: int = attrs.field(converter=_to_bonus_points)
    when: Condition = attrs.field(converter=_to_condition)
    multiplied: bool = attrs.field(default=False, converter=_to_multiplied, kw_only=True)


def check_rule_name(name: str, value: object) -> str:
    """Return *value* if it can name a rule (or a multiplier, group or budget).

    Raises:
        ArgumentTypeError: If *value* is not a str.
        LimitExceededError: If it is longer than ``limits.RULE_NAME_LENGTH_MAX``.
        InvalidArgumentError: If it is blank, has surrounding whitespace or control characters.
    """
    return check_text(
        name, value, max_length=limits.RULE_NAME_LENGTH_MAX, limit_name="RULE_NAME_LENGTH_MAX"
    )


def _to_multiplier_name(value: str) -> str:
    return check_rule_name("name", value)


def _to_factor(value: Fraction | int) -> Fraction:
    given: object = value  # checked at run time whatever the annotation says
    if isinstance(given, bool) or not isinstance(given, Fraction | int):
        raise ArgumentTypeError(
            f"factor={given!r} must be a Fraction or an int, not {type_name(given)}"
        )
    factor = Fraction(given)
    if factor < 0:
        raise InvalidArgumentError(f"factor={factor!r} must not be negative")
    if factor > limits.RULE_MULTIPLIER_MAX:
        raise LimitExceededError(
            f"factor={factor!r} is over limits.RULE_MULTIPLIER_MAX ({limits.RULE_MULTIPLIER_MAX})"
        )
    return factor


@final
@attrs.frozen
class Multiplier:
    """A campaign multiplier: holiday double points, member-day triple points.

    It applies to the rule's base when its condition holds (always, without one); how it
    combines with the tier multiplier and other campaigns is the rule set's ``multipliers``.

    >>> from fractions import Fraction
    >>> Multiplier("holiday", 2).factor
    Fraction(2, 1)
    >>> Multiplier("penalty", -1)
    Traceback (most recent call last):
    ...
    pointkit.exceptions.InvalidArgumentError: factor=Fraction(-1, 1) must not be negative

    Attributes:
        name: The campaign's name, shown in explanations.
        factor: An exact Fraction from 0 to ``limits.RULE_MULTIPLIER_MAX``.
        when: The condition, or ``None`` for always.
    """

    name: str = attrs.field(converter=_to_multiplier_name)
    factor: Fraction = attrs.field(converter=_to_factor)
    when: Condition | None = attrs.field(default=None, converter=_to_optional_condition)


def _to_period(value: CapPeriod) -> CapPeriod:
    if value not in PERIODS:
        valid = ", ".join(repr(period) for period in PERIODS)
        raise InvalidArgumentError(f"period={value!r} must be one of {valid}")
    return value


CapLimit: TypeAlias = int | tuple[tuple[str, int], ...]
"""A cap's limit: one number for every member, or ``(tier, limit)`` pairs sorted by tier."""


def _to_limit(name: str, value: object) -> int | tuple[tuple[str, int], ...] | None:
    if value is None:
        return None
    if isinstance(value, Mapping | tuple | list) and not isinstance(value, str):
        pairs = list(value.items()) if isinstance(value, Mapping) else list(value)
        if not pairs:
            raise InvalidArgumentError(f"{name}={value!r} must name at least one tier")
        if len(pairs) > limits.TIERS_MAX:
            raise LimitExceededError(
                f"{name} has {len(pairs)} tiers, over limits.TIERS_MAX ({limits.TIERS_MAX})"
            )
        checked: dict[str, int] = {}
        for pair in pairs:
            if not isinstance(pair, tuple) or len(pair) != 2:  # noqa: PLR2004 - a pair
                raise ArgumentTypeError(f"{name} entry {pair!r} must be a (tier, limit) pair")
            tier = check_text(
                f"{name} tier",
                pair[0],
                max_length=limits.TIER_NAME_LENGTH_MAX,
                limit_name="TIER_NAME_LENGTH_MAX",
            )
            checked[tier] = check_int(
                f"{name}[{tier!r}]",
                pair[1],
                minimum=1,
                maximum=limits.POINTS_MAX,
                limit_name="POINTS_MAX",
            )
        return tuple(sorted(checked.items()))
    return check_int(name, value, minimum=1, maximum=limits.POINTS_MAX, limit_name="POINTS_MAX")


def _to_cap_points(value: CapLimit | Mapping[str, int] | None) -> CapLimit | None:
    return _to_limit("points", value)


def _to_cap_tasks(value: CapLimit | Mapping[str, int] | None) -> CapLimit | None:
    return _to_limit("tasks", value)


def _to_cap_name(value: str | None) -> str | None:
    if value is None:
        return None
    name = check_rule_name("name", value)
    if name in PERIODS:
        raise InvalidArgumentError(
            f"name={name!r} is a period's name, which names the unnamed cap of that period; "
            "choose another name"
        )
    return name


def _to_cap_rules(value: Iterable[str]) -> tuple[str, ...]:
    given: object = value  # checked at run time whatever the annotation says
    if isinstance(given, str | bytes) or not isinstance(given, Iterable):
        raise ArgumentTypeError(
            f"rules={given!r} must be a tuple of rule names, not {type_name(given)}"
        )
    names = tuple(check_rule_name(f"rules[{index}]", name) for index, name in enumerate(given))
    if len(names) > limits.RULES_MAX:
        raise LimitExceededError(
            f"rules has {len(names)} names, over limits.RULES_MAX ({limits.RULES_MAX})"
        )
    for index, name in enumerate(names):
        if name in names[:index]:
            raise InvalidArgumentError(f"rules[{index}]={name!r} is listed twice")
    return names


def limit_for(limit: CapLimit | None, tier: str | None) -> int | None:
    """Return the limit of a member of *tier* under *limit*.

    A member whose tier is not listed (or who has none) gets the smallest listed limit: the
    choice that favours the issuer when a tier is added to the ladder but not to the cap.
    """
    if limit is None or type(limit) is int:
        return limit
    smallest = limits.POINTS_MAX
    for name, value in limit:  # type: ignore[union-attr]  # the tiered form here
        if name == tier:
            return value
        smallest = min(smallest, value)
    return smallest


def smallest_limit(limit: CapLimit | None) -> int | None:
    """Return the smallest limit *limit* gives any member (its only one if it is an int)."""
    if limit is None or isinstance(limit, int):
        return limit
    return min(value for _, value in limit)


@final
@attrs.frozen(repr=False)
class Cap:
    """At most *points* points and *tasks* awarded rule firings per member per period.

    Periods are local calendar periods in the program's zone: a day, an ISO week (Monday
    first), a calendar month, or ``"lifetime"``. On a rule, a cap counts that rule's awards; on
    the rule set, every rule's (but those exempt from it, see ``Rule.exempt_from_caps``), or,
    with *rules*, only the named rules'. Deductions are neither capped nor counted.

    A limit may depend on the member's tier (``points={"normal": 100, "vip": 200}``): the
    cap keeps one counter whatever the tier, and each award is held to the limit of the
    member's current tier, so a member upgraded mid-day keeps their count and gets the higher
    limit. A tier the cap does not list gets the smallest listed limit.

    >>> Cap("day", points=100, tasks=15)
    Cap(period='day', points=100, tasks=15)
    >>> Cap("day", points={"vip": 200, "normal": 100})
    Cap(period='day', points=(('normal', 100), ('vip', 200)), tasks=None)
    >>> Cap("day", tasks=15, name="tasks", rules=("share", "review"))
    Cap(period='day', points=None, tasks=15, name='tasks', rules=('share', 'review'))
    >>> Cap("day")
    Traceback (most recent call last):
    ...
    pointkit.exceptions.InvalidArgumentError: Cap('day') needs points=, tasks= or both

    Attributes:
        period: ``"day"``, ``"week"``, ``"month"`` or ``"lifetime"``.
        points: The most points per period, at least 1, or one such limit per tier;
            ``None`` for no point cap.
        tasks: The most awarded rule firings per period (or one such limit per tier);
            ``None`` for no task cap.
        name: A rule set cap's name, so that several caps can share a period and rules can be
            exempt from it; ``None`` for the period's one unnamed cap (whose name, for
            ``exempt_from_caps``, is its period).
        rules: The rules a named rule set cap counts; empty for every rule.
    """

    period: CapPeriod = attrs.field(converter=_to_period)
    points: CapLimit | None = attrs.field(default=None, converter=_to_cap_points)
    tasks: CapLimit | None = attrs.field(default=None, converter=_to_cap_tasks)
    name: str | None = attrs.field(default=None, converter=_to_cap_name, kw_only=True)
    rules: tuple[str, ...] = attrs.field(default=(), converter=_to_cap_rules, kw_only=True)

    def __attrs_post_init__(self) -> None:
        if self.points is None and self.tasks is None:
            raise InvalidArgumentError(f"Cap({self.period!r}) needs points=, tasks= or both")
        if self.rules and self.name is None:
            raise InvalidArgumentError(
                f"Cap({self.period!r}, rules={self.rules!r}) needs a name=: a cap over named "
                "rules keeps its own counter"
            )

    def __repr__(self) -> str:
        text = f"Cap(period={self.period!r}, points={self.points!r}, tasks={self.tasks!r}"
        if self.name is not None:
            text += f", name={self.name!r}"
        if self.rules:
            text += f", rules={self.rules!r}"
        return text + ")"

    @property
    def key(self) -> str:
        """The cap's name, or its period for an unnamed cap: what ``exempt_from_caps`` lists."""
        return self.period if self.name is None else self.name


OnceScope: TypeAlias = Literal["member", "program"]
"""Where a once-per limit holds: each member on their own, or the whole program."""

ONCE_SCOPES: Final[tuple[OnceScope, ...]] = ("member", "program")


def _to_once_attribute(value: str) -> str:
    return check_rule_name("attribute", value)


def _to_once_scope(value: OnceScope) -> OnceScope:
    if value not in ONCE_SCOPES:
        raise InvalidArgumentError(f"scope={value!r} must be 'member' or 'program'")
    return value


@final
@attrs.frozen
class OncePer:
    """A rule awards at most once per distinct value of an event attribute.

    "One invite reward per invitee": ``OncePer("invitee")``. The values already awarded are
    counted in the stored rule state (a counter per member, or a program-wide budget), not
    by event id, so an invitee registered again under a new event id earns nothing the
    second time; the explanation says ``once_per_value``. Only awards count: a firing that a
    cap cut to nothing leaves the value free.

    >>> OncePer("invitee")
    OncePer(attribute='invitee', scope='member')
    >>> OncePer("invitee", scope="everyone")
    Traceback (most recent call last):
    ...
    pointkit.exceptions.InvalidArgumentError: scope='everyone' must be 'member' or 'program'

    Attributes:
        attribute: The event attribute whose values are awarded once (``invitee``).
        scope: ``"member"`` (once per value for each member) or ``"program"`` (once per value
            across the program, whoever sends it).
    """

    attribute: str = attrs.field(converter=_to_once_attribute)
    scope: OnceScope = attrs.field(default="member", converter=_to_once_scope, kw_only=True)


def _to_rewards(value: Iterable[int]) -> tuple[int, ...]:
    given: object = value  # checked at run time whatever the annotation says
    if isinstance(given, str | bytes) or not isinstance(given, Iterable):
        raise ArgumentTypeError(f"rewards={given!r} must be a tuple of int, not {type_name(given)}")
    rewards = tuple(given)
    if not rewards:
        raise InvalidArgumentError("rewards must hold at least one reward")
    if len(rewards) > limits.STREAK_LADDER_MAX:
        raise LimitExceededError(
            f"rewards has {len(rewards)} steps, over limits.STREAK_LADDER_MAX "
            f"({limits.STREAK_LADDER_MAX})"
        )
    return tuple(
        check_int(
            f"rewards[{index}]",
            reward,
            minimum=0,
            maximum=limits.POINTS_MAX,
            limit_name="POINTS_MAX",
        )
        for index, reward in enumerate(rewards)
    )


def _to_reset(value: Literal["missed_day"]) -> Literal["missed_day"]:
    if value != "missed_day":
        raise InvalidArgumentError(f"reset={value!r} must be 'missed_day'")
    return value


def _to_repeat(value: Literal["last", "cycle"]) -> Literal["last", "cycle"]:
    if value not in {"last", "cycle"}:
        raise InvalidArgumentError(f"repeat={value!r} must be 'last' or 'cycle'")
    return value


@final
@attrs.frozen
class StreakLadder:
    """Rewards for consecutive local days: day 1 earns ``rewards[0]``, day 2 ``rewards[1]``, ...

    A streak counts at most once per local day of the program's zone; a second event the same
    day gets the status ``duplicate``. Missing a local day starts again at day 1. After the
    ladder's last step, the last reward repeats (``repeat="last"``) or the ladder starts over
    (``repeat="cycle"``).

    >>> ladder = StreakLadder((1, 2, 3, 5, 10))
    >>> [ladder.reward(day) for day in (1, 4, 5, 9)]
    [1, 5, 10, 10]
    >>> StreakLadder((1, 2, 3), repeat="cycle").reward(4)
    1

    Attributes:
        rewards: Points for each day of the streak, 0 or more.
        reset: When the streak starts over: ``"missed_day"``.
        repeat: After the last step: ``"last"`` or ``"cycle"``.
    """

    rewards: tuple[int, ...] = attrs.field(converter=_to_rewards)
    reset: Literal["missed_day"] = attrs.field(default="missed_day", converter=_to_reset)
    repeat: Literal["last", "cycle"] = attrs.field(default="last", converter=_to_repeat)

    def reward(self, day: int) -> int:
        """Return the reward for day *day* of a streak (1 is the first day)."""
        count = len(self.rewards)
        if self.repeat == "cycle":
            return self.rewards[(day - 1) % count]
        return self.rewards[min(day, count) - 1]

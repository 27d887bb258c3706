"""What rule evaluation reads besides the event: the member's context and the stored counters.

Maintainer's notes
------------------
Evaluation is pure, so everything it reads arrives in a :class:`RuleState` snapshot that the
caller loads: the ledger asks :meth:`~pointkit.rules.RuleSet.state_keys` which counters,
budgets and streaks an event may touch, locks and reads exactly those, and stores the
increments the :class:`~pointkit.rules.Decision` returns in the same transaction as the awards.

Counters are keyed by ``(scope, period)``: the scope is ``"rule:<name>"`` for a rule's own caps
or ``"program"`` for the program-wide ones; the period is a local calendar period of the
program's zone (``"day:2026-03-01"``, ISO ``"week:2026-W09"``, ``"month:2026-03"``) or
``"lifetime"``; a named rule set cap's scope is ``"cap:<name>"``. A rule's ``once_per`` values
are counted under ``("once:<rule>:<value>", "lifetime")`` per member, or, program-wide, in
the budget ``"once:<rule>:<value>"`` (see :func:`once_key`). A key that is not in the snapshot counts as zero; a streak that is not there
has not started. Counters only ever grow: they count what was awarded (points and tasks),
and deductions do not lower them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from fractions import Fraction
from types import MappingProxyType
from typing import TYPE_CHECKING, Final, Literal, TypeAlias, final

import attrs

from pointkit import limits
from pointkit._validate import check_aware, check_int, check_text, type_name
from pointkit.exceptions import ArgumentTypeError, InvalidArgumentError, LimitExceededError
from pointkit.rules._codec import encode_value


if TYPE_CHECKING:
    from pointkit.rules._attributes import AttributeValue
    from pointkit.rules._decision import Decision


__all__ = [
    "PERIODS",
    "CapPeriod",
    "Counter",
    "CounterKey",
    "MemberContext",
    "RuleState",
    "StateKeys",
    "Streak",
    "once_key",
    "period_key",
]

CounterKey: TypeAlias = tuple[str, str]
"""A counter's key: ``(scope, period)``, e.g. ``("rule:sign-in", "day:2026-03-01")``."""

CapPeriod: TypeAlias = Literal["day", "week", "month", "lifetime"]
"""A cap's period: a local calendar day, ISO week (Monday first), calendar month, or ever."""

PERIODS: Final[tuple[CapPeriod, ...]] = ("day", "week", "month", "lifetime")


def period_key(period: CapPeriod, local_date: date) -> str:
    """Return the period part of a counter key for *local_date*.

    >>> from datetime import date
    >>> [period_key(period, date(2026, 3, 1)) for period in PERIODS]
    ['day:2026-03-01', 'week:2026-W09', 'month:2026-03', 'lifetime']
    """
    if period == "day":
        return f"day:{local_date.isoformat()}"
    if period == "week":
        year, week, _ = local_date.isocalendar()
        return f"week:{year:04d}-W{week:02d}"
    if period == "month":
        return f"month:{local_date.year:04d}-{local_date.month:02d}"
    return "lifetime"


_ONCE_VALUE_LENGTH_MAX: Final = 128


def once_key(rule: str, value: AttributeValue) -> str:
    """Return the counter scope (or program budget name) of *rule*'s ``once_per`` *value*.

    The value is written as JSON (so ``"5"`` and ``5`` differ); a long one is replaced by
    its SHA-256 digest, which keeps keys short in storage whatever the attribute holds.

    >>> once_key("invite", "bob")
    'once:invite:"bob"'
    """
    text = json.dumps(
        encode_value(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    if len(text) > _ONCE_VALUE_LENGTH_MAX:
        text = "sha256:" + hashlib.sha256(text.encode()).hexdigest()
    return f"once:{rule}:{text}"


# -- the member -------------------------------------------------------------------------------


def _to_tier(value: str | None) -> str | None:
    if value is None:
        return None
    return check_text(
        "tier", value, max_length=limits.TIER_NAME_LENGTH_MAX, limit_name="TIER_NAME_LENGTH_MAX"
    )


def _to_tags(value: Iterable[str]) -> frozenset[str]:
    given: object = value  # checked at run time whatever the annotation says
    if isinstance(given, str | bytes | Mapping) or not isinstance(given, Iterable):
        raise ArgumentTypeError(f"tags={given!r} must be a set of str, not {type_name(given)}")
    tags = frozenset(
        check_text(
            "tags item",
            tag,
            max_length=limits.EVENT_TEXT_LENGTH_MAX,
            limit_name="EVENT_TEXT_LENGTH_MAX",
        )
        for tag in given
    )
    if len(tags) > limits.MEMBER_TAGS_MAX:
        raise LimitExceededError(
            f"tags has {len(tags)} tags, over limits.MEMBER_TAGS_MAX ({limits.MEMBER_TAGS_MAX})"
        )
    return tags


def _to_joined_at(value: datetime | None) -> datetime | None:
    return None if value is None else check_aware("joined_at", value)


def _to_birthday(value: date | None) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime) or not isinstance(value, date):
        raise ArgumentTypeError(f"birthday={value!r} must be a date, not {type_name(value)}")
    return value


def _to_lifetime_earned(value: int | None) -> int | None:
    if value is None:
        return None
    return check_int(
        "lifetime_earned", value, minimum=0, maximum=limits.POINTS_MAX, limit_name="POINTS_MAX"
    )


def _to_last_active_at(value: datetime | None) -> datetime | None:
    return None if value is None else check_aware("last_active_at", value)


def _to_earn_multiplier(value: Fraction | int) -> Fraction:
    given: object = value  # checked at run time whatever the annotation says
    if isinstance(given, bool) or not isinstance(given, Fraction | int):
        raise ArgumentTypeError(
            f"earn_multiplier={given!r} must be a Fraction or an int, not {type_name(given)}"
        )
    multiplier = Fraction(given)
    if multiplier < 0:
        raise InvalidArgumentError(f"earn_multiplier={multiplier!r} must not be negative")
    if multiplier > limits.TIER_EARN_MULTIPLIER_MAX:
        raise LimitExceededError(
            f"earn_multiplier={multiplier!r} is over limits.TIER_EARN_MULTIPLIER_MAX "
            f"({limits.TIER_EARN_MULTIPLIER_MAX})"
        )
    return multiplier


@final
@attrs.frozen
class MemberContext:
    """What rules know about the member: tier, tags, join date, birthday and earn multiplier.

    The host or the ledger fills it; the earn multiplier is the member's tier benefit
    (``ladder.benefits(tier_state).earn_multiplier`` from :mod:`pointkit.tiers`).

    >>> from fractions import Fraction
    >>> MemberContext(tier="silver", earn_multiplier=2).earn_multiplier
    Fraction(2, 1)
    >>> MemberContext(earn_multiplier=1.5)
    Traceback (most recent call last):
    ...
    pointkit.exceptions.ArgumentTypeError: earn_multiplier=1.5 must be a Fraction or an int, not float

    Attributes:
        tier: The member's tier name (``member.tier``), or ``None``.
        tags: Segments the host gives the member (``member.tags``).
        joined_at: When the member joined (``member.days_since_joining``), or ``None``.
        birthday: The member's birthday (``member.birthday_month``, ``member.is_birthday``);
            its year is ignored.
        earn_multiplier: The tier's earn multiplier, an exact Fraction from 0 to
            ``limits.TIER_EARN_MULTIPLIER_MAX``; rules with ``tier_multiplier=True`` apply it.
        lifetime_earned: Points the member earned over their life (``member.lifetime_earned``),
            or ``None`` when the host does not give it.
        last_active_at: When the member last earned or spent (``member.days_since_last_activity``),
            or ``None``.
    """

    tier: str | None = attrs.field(default=None, converter=_to_tier)
    tags: frozenset[str] = attrs.field(default=frozenset(), converter=_to_tags)
    joined_at: datetime | None = attrs.field(default=None, converter=_to_joined_at)
    birthday: date | None = attrs.field(default=None, converter=_to_birthday)
    earn_multiplier: Fraction = attrs.field(default=Fraction(1), converter=_to_earn_multiplier)
    # Out of the repr, so that a context without them reads as it always has.
    lifetime_earned: int | None = attrs.field(
        default=None, converter=_to_lifetime_earned, repr=False
    )
    last_active_at: datetime | None = attrs.field(
        default=None, converter=_to_last_active_at, repr=False
    )


# -- stored state -----------------------------------------------------------------------------


def _count(name: str, value: int) -> int:
    return check_int(name, value, minimum=0, maximum=limits.POINTS_MAX, limit_name="POINTS_MAX")


def _to_counter_points(value: int) -> int:
    return _count("points", value)


def _to_counter_tasks(value: int) -> int:
    return _count("tasks", value)


@final
@attrs.frozen
class Counter:
    """Points awarded and tasks (awarded rule firings) counted under one key.

    Attributes:
        points: Points awarded, 0 or more.
        tasks: Awarded rule firings, 0 or more.
    """

    points: int = attrs.field(default=0, converter=_to_counter_points)
    tasks: int = attrs.field(default=0, converter=_to_counter_tasks)


def _to_last_day(value: date) -> date:
    given: object = value  # checked at run time whatever the annotation says
    if isinstance(given, datetime) or not isinstance(given, date):
        raise ArgumentTypeError(f"last_day={given!r} must be a date, not {type_name(given)}")
    return given


def _to_length(value: int) -> int:
    return check_int("length", value, minimum=1, maximum=limits.POINTS_MAX, limit_name="POINTS_MAX")


@final
@attrs.frozen
class Streak:
    """A member's streak on one rule: the last local day it counted and its length in days.

    Attributes:
        last_day: The last local date the streak counted.
        length: Consecutive local days up to and including *last_day*, at least 1.
    """

    last_day: date = attrs.field(converter=_to_last_day)
    length: int = attrs.field(converter=_to_length)


_ZERO: Final = Counter()


def _pairs(name: str, value: object) -> list[tuple[object, object]]:
    if type(value) is dict:  # what storage reads give: no ABC check
        return list(value.items())
    if isinstance(value, Mapping):
        return list(value.items())
    if isinstance(value, tuple | list):
        pairs = list(value)
        for pair in pairs:
            if not isinstance(pair, tuple) or len(pair) != 2:  # noqa: PLR2004 - a pair
                raise ArgumentTypeError(f"{name} entry {pair!r} must be a (key, value) pair")
        return pairs
    raise ArgumentTypeError(f"{name}={value!r} must be a mapping, not {type_name(value)}")


def _check_counter_key(key: object) -> CounterKey:
    if (
        not isinstance(key, tuple)
        or len(key) != 2  # noqa: PLR2004 - a pair
        or not isinstance(key[0], str)
        or not isinstance(key[1], str)
    ):
        raise ArgumentTypeError(
            f"counters key {key!r} must be a (scope, period) pair of str, "
            "like ('program', 'day:2026-03-01')"
        )
    return (key[0], key[1])


def _to_counters(
    value: Mapping[CounterKey, Counter] | Iterable[tuple[CounterKey, Counter]],
) -> tuple[tuple[CounterKey, Counter], ...]:
    checked: dict[CounterKey, Counter] = {}
    for key, counter in _pairs("counters", value):
        checked_key = _check_counter_key(key)
        if not isinstance(counter, Counter):
            raise ArgumentTypeError(
                f"counters[{key!r}]={counter!r} must be a Counter, not {type_name(counter)}"
            )
        checked[checked_key] = counter
    return tuple(sorted(checked.items()))


def _to_budgets(
    value: Mapping[str, int] | Iterable[tuple[str, int]],
) -> tuple[tuple[str, int], ...]:
    checked: dict[str, int] = {}
    for name, used in _pairs("budgets", value):
        if not isinstance(name, str):
            raise ArgumentTypeError(f"budgets key {name!r} must be a str, not {type_name(name)}")
        checked[name] = _count(f"budgets[{name!r}]", used)  # type: ignore[arg-type]
    return tuple(sorted(checked.items()))


def _to_streaks(
    value: Mapping[str, Streak] | Iterable[tuple[str, Streak]],
) -> tuple[tuple[str, Streak], ...]:
    checked: dict[str, Streak] = {}
    for name, streak in _pairs("streaks", value):
        if not isinstance(name, str):
            raise ArgumentTypeError(f"streaks key {name!r} must be a str, not {type_name(name)}")
        if not isinstance(streak, Streak):
            raise ArgumentTypeError(
                f"streaks[{name!r}]={streak!r} must be a Streak, not {type_name(streak)}"
            )
        checked[name] = streak
    return tuple(sorted(checked.items()))


def _to_member(value: MemberContext) -> MemberContext:
    given: object = value  # checked at run time whatever the annotation says
    if not isinstance(given, MemberContext):
        raise ArgumentTypeError(f"member={given!r} must be a MemberContext, not {type_name(given)}")
    return given


@final
@attrs.frozen
class RuleState:
    """The snapshot one evaluation reads: the member's context, counters, budgets and streaks.

    Load what :meth:`~pointkit.rules.RuleSet.state_keys` names; a key that is missing counts
    as zero (a streak as not started).

    >>> from datetime import date
    >>> state = RuleState(MemberContext(), counters={("program", "day:2026-03-01"): Counter(40, 2)})
    >>> state.counter(("program", "day:2026-03-01")), state.counter(("program", "lifetime"))
    (Counter(points=40, tasks=2), Counter(points=0, tasks=0))

    Attributes:
        member: The member's context.
        counters: ``(key, counter)`` pairs sorted by key; a mapping is accepted.
        budgets: ``(budget name, points used so far)`` pairs sorted by name; program-wide.
        streaks: ``(rule name, streak)`` pairs sorted by name.
    """

    member: MemberContext = attrs.field(converter=_to_member)
    counters: tuple[tuple[CounterKey, Counter], ...] = attrs.field(
        default=(), converter=_to_counters
    )
    budgets: tuple[tuple[str, int], ...] = attrs.field(default=(), converter=_to_budgets)
    streaks: tuple[tuple[str, Streak], ...] = attrs.field(default=(), converter=_to_streaks)
    _counter_map: Mapping[CounterKey, Counter] = attrs.field(
        init=False, eq=False, repr=False, hash=False
    )
    _budget_map: Mapping[str, int] = attrs.field(init=False, eq=False, repr=False, hash=False)
    _streak_map: Mapping[str, Streak] = attrs.field(init=False, eq=False, repr=False, hash=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_counter_map", MappingProxyType(dict(self.counters)))
        object.__setattr__(self, "_budget_map", MappingProxyType(dict(self.budgets)))
        object.__setattr__(self, "_streak_map", MappingProxyType(dict(self.streaks)))

    def counter(self, key: CounterKey) -> Counter:
        """Return the counter under *key*; zero if the snapshot does not hold it."""
        return self._counter_map.get(key, _ZERO)

    def budget_used(self, name: str) -> int:
        """Return the points budget *name* has paid so far; 0 if the snapshot does not hold it."""
        return self._budget_map.get(name, 0)

    def streak(self, rule: str) -> Streak | None:
        """Return the member's streak on *rule*, or ``None`` if it has not started."""
        return self._streak_map.get(rule)

    def apply(self, decision: Decision) -> RuleState:
        """Return the state after *decision*: its increments added and its streaks stored.

        This is what a storage does when it records the decision; tests and simulations use
        it to run a sequence of events.
        """
        counters = dict(self._counter_map)
        for key, increment in decision.counters:
            before = counters.get(key, _ZERO)
            counters[key] = Counter(
                before.points + increment.points, before.tasks + increment.tasks
            )
        budgets = dict(self._budget_map)
        for name, points in decision.budgets:
            budgets[name] = budgets.get(name, 0) + points
        streaks = dict(self._streak_map)
        streaks.update(decision.streaks)
        return RuleState(self.member, counters, budgets, streaks)


def _to_keys(value: Iterable[CounterKey]) -> tuple[CounterKey, ...]:
    return tuple(sorted({_check_counter_key(key) for key in value}))


def _to_names(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(set(value)))


@final
@attrs.frozen
class StateKeys:
    """Exactly what evaluating one event may read: load (and lock) these, nothing more.

    Attributes:
        counters: Counter keys, sorted.
        budgets: Budget names, sorted (budgets are program-wide: lock them).
        streaks: Rule names whose streaks the event may move, sorted.
    """

    counters: tuple[CounterKey, ...] = attrs.field(default=(), converter=_to_keys)
    budgets: tuple[str, ...] = attrs.field(default=(), converter=_to_names)
    streaks: tuple[str, ...] = attrs.field(default=(), converter=_to_names)

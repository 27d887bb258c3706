"""An earning rule: which events it answers, when it holds, what it awards and its limits.

Maintainer's notes
------------------
A :class:`Rule` checks what it can on its own (names, types, limits, repeated caps or
multipliers) and leaves what needs the whole program (event kinds and their schemas, budgets,
groups, program caps) to :class:`~pointkit.rules.RuleSet`, which reports every problem of every
rule at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, Literal, TypeAlias, final

import attrs

from pointkit import limits
from pointkit._validate import check_int, check_text, type_name
from pointkit._values import check_point_code
from pointkit.exceptions import ArgumentTypeError, InvalidArgumentError, LimitExceededError
from pointkit.rules._attributes import check_kind
from pointkit.rules._conditions import CONDITION_TYPES, Condition
from pointkit.rules._effects import (
    Bonus,
    Cap,
    Effect,
    Fixed,
    Multiplier,
    OncePer,
    Rate,
    StreakLadder,
    check_rule_name,
)


__all__ = ["AT_CAP", "AtCap", "Rule"]

AtCap: TypeAlias = Literal["partial", "nothing"]
"""What an award that does not fit under a cap or budget gets: what is left, or nothing."""

AT_CAP: Final[tuple[AtCap, ...]] = ("partial", "nothing")


def _to_name(value: str) -> str:
    return check_rule_name("name", value)


def _to_kinds(value: Iterable[str]) -> tuple[str, ...]:
    given: object = value  # checked at run time whatever the annotation says
    if isinstance(given, str | bytes) or not isinstance(given, Iterable):
        raise ArgumentTypeError(
            f"kinds={given!r} must be a tuple of event kinds, not {type_name(given)}"
        )
    kinds = tuple(given)
    if not kinds:
        raise InvalidArgumentError("kinds must name at least one event kind")
    if len(kinds) > limits.EVENT_KINDS_MAX:
        raise LimitExceededError(
            f"kinds has {len(kinds)} kinds, over limits.EVENT_KINDS_MAX ({limits.EVENT_KINDS_MAX})"
        )
    checked: list[str] = []
    for index, kind in enumerate(kinds):
        name = check_kind(f"kinds[{index}]", kind)
        if name in checked:
            raise InvalidArgumentError(f"kinds[{index}]={name!r} is listed twice")
        checked.append(name)
    return tuple(checked)


def _to_effect(value: Effect) -> Effect:
    given: object = value  # checked at run time whatever the annotation says
    if not isinstance(given, Fixed | Rate):
        raise ArgumentTypeError(f"effect={given!r} must be Fixed or Rate, not {type_name(given)}")
    return given


def _to_when(value: Condition | None) -> Condition | None:
    given: object = value  # checked at run time whatever the annotation says
    if given is not None and not isinstance(given, CONDITION_TYPES):
        raise ArgumentTypeError(f"when={given!r} must be a condition, not {type_name(given)}")
    return given


def _items(name: str, value: object, kind: type, limit: int, limit_name: str) -> tuple[object, ...]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise ArgumentTypeError(
            f"{name}={value!r} must be a tuple of {kind.__name__}, not {type_name(value)}"
        )
    items = tuple(value)
    if len(items) > limit:
        raise LimitExceededError(
            f"{name} has {len(items)} items, over limits.{limit_name} ({limit})"
        )
    for index, item in enumerate(items):
        if not isinstance(item, kind):
            raise ArgumentTypeError(
                f"{name}[{index}]={item!r} must be a {kind.__name__}, not {type_name(item)}"
            )
    return items


def _to_bonuses(value: Iterable[Bonus]) -> tuple[Bonus, ...]:
    return _items(  # type: ignore[return-value]  # every item is checked to be a Bonus
        "bonuses", value, Bonus, limits.RULE_BONUSES_MAX, "RULE_BONUSES_MAX"
    )


def _to_multipliers(value: Iterable[Multiplier]) -> tuple[Multiplier, ...]:
    multipliers: tuple[Multiplier, ...] = _items(  # type: ignore[assignment]  # checked items
        "multipliers", value, Multiplier, limits.RULE_MULTIPLIERS_MAX, "RULE_MULTIPLIERS_MAX"
    )
    names: dict[str, int] = {}
    for index, multiplier in enumerate(multipliers):
        if multiplier.name in names:
            raise InvalidArgumentError(
                f"multipliers[{index}].name={multiplier.name!r} is already the name of "
                f"multipliers[{names[multiplier.name]}]"
            )
        names[multiplier.name] = index
    return multipliers


def check_caps(value: object, *, program: bool = False) -> tuple[Cap, ...]:
    """Return *value*, caps of distinct periods (or names), as a tuple.

    A rule's caps are unnamed, one per period. A rule set's (*program*) may be named: one
    unnamed cap per period, and named caps with distinct names, over every rule or the ones
    they list.

    Raises:
        ArgumentTypeError: If it is not a sequence of Cap.
        LimitExceededError: If it holds more than ``limits.CAPS_MAX`` caps.
        InvalidArgumentError: If two unnamed caps have one period, two caps one name, or a
            rule's cap is named.
    """
    caps: tuple[Cap, ...] = _items(  # type: ignore[assignment]  # checked items
        "caps", value, Cap, limits.CAPS_MAX, "CAPS_MAX"
    )
    periods: dict[str, int] = {}
    names: dict[str, int] = {}
    for index, cap in enumerate(caps):
        if cap.name is not None:
            if not program:
                raise InvalidArgumentError(
                    f"caps[{index}].name={cap.name!r}: a rule's caps count the rule alone and "
                    "are not named; name caps of the rule set"
                )
            if cap.name in names:
                raise InvalidArgumentError(
                    f"caps[{index}].name={cap.name!r} is already the name of caps[{names[cap.name]}]"
                )
            names[cap.name] = index
            continue
        if cap.period in periods:
            raise InvalidArgumentError(
                f"caps[{index}].period={cap.period!r} is already capped by caps[{periods[cap.period]}]; "
                "give one cap per period with points=, tasks= or both"
            )
        periods[cap.period] = index
    return caps


def _to_exempt(value: bool | Iterable[str]) -> bool | tuple[str, ...]:  # noqa: FBT001 - a converter takes the value as it is
    given: object = value  # checked at run time whatever the annotation says
    if isinstance(given, bool):
        return given
    if isinstance(given, str | bytes) or not isinstance(given, Iterable):
        raise ArgumentTypeError(
            f"exempt_from_caps={given!r} must be a bool or a tuple of cap names, "
            f"not {type_name(given)}"
        )
    names = tuple(
        check_rule_name(f"exempt_from_caps[{index}]", name) for index, name in enumerate(given)
    )
    if len(names) > limits.CAPS_MAX:
        raise LimitExceededError(
            f"exempt_from_caps has {len(names)} names, over limits.CAPS_MAX ({limits.CAPS_MAX})"
        )
    for index, name in enumerate(names):
        if name in names[:index]:
            raise InvalidArgumentError(f"exempt_from_caps[{index}]={name!r} is listed twice")
    return names or False


def _to_once_per(value: OncePer | str | None) -> OncePer | None:
    given: object = value  # checked at run time whatever the annotation says
    if given is None or isinstance(given, OncePer):
        return given
    if isinstance(given, str):
        return OncePer(given)
    raise ArgumentTypeError(
        f"once_per={given!r} must be a OncePer, an attribute name or None, not {type_name(given)}"
    )


def _to_bool(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ArgumentTypeError(f"{name}={value!r} must be a bool, not {type_name(value)}")
    return value


def _to_tier_multiplier(value: bool) -> bool:  # noqa: FBT001 - a converter takes the value as it is
    return _to_bool("tier_multiplier", value)


def _to_enabled(value: bool) -> bool:  # noqa: FBT001 - a converter takes the value as it is
    return _to_bool("enabled", value)


def _to_currency(value: str) -> str:
    return check_point_code("currency", value)


def _to_at_cap(value: AtCap) -> AtCap:
    if value not in AT_CAP:
        raise InvalidArgumentError(f"at_cap={value!r} must be 'partial' or 'nothing'")
    return value


def _to_budget(value: str | None) -> str | None:
    return None if value is None else check_rule_name("budget", value)


def _to_group(value: str | None) -> str | None:
    return None if value is None else check_rule_name("group", value)


def _to_priority(value: int) -> int:
    return check_int(
        "priority",
        value,
        minimum=-limits.RULE_PRIORITY_MAX,
        maximum=limits.RULE_PRIORITY_MAX,
        limit_name="RULE_PRIORITY_MAX",
    )


def _to_coupon(value: str | None) -> str | None:
    if value is None:
        return None
    # A coupon definition's id: it names records and keys, so like every id it holds no colon.
    checked = check_text(
        "coupon", value, max_length=limits.ID_LENGTH_MAX, limit_name="ID_LENGTH_MAX"
    )
    if ":" in checked:
        raise InvalidArgumentError(f"coupon={checked!r} must not contain ':'")
    return checked


def _to_streak(value: StreakLadder | None) -> StreakLadder | None:
    given: object = value  # checked at run time whatever the annotation says
    if given is not None and not isinstance(given, StreakLadder):
        raise ArgumentTypeError(
            f"streak={given!r} must be a StreakLadder or None, not {type_name(given)}"
        )
    return given


@final
@attrs.frozen
class Rule:
    """An earning rule: for events of *kinds*, when *when* holds, award *effect* and more.

    >>> from pointkit import Money
    >>> Rule("spend", ("purchase",), Rate(1, per=Money(10, "CNY"), rounding="floor")).name
    'spend'
    >>> Rule("share", "share", Fixed(50))
    Traceback (most recent call last):
    ...
    pointkit.exceptions.ArgumentTypeError: kinds='share' must be a tuple of event kinds, not str

    Attributes:
        name: The rule's name, unique in its rule set: awards, counters (``rule:<name>``),
            streaks and explanations carry it.
        kinds: The event kinds the rule answers.
        effect: The base award: :class:`Fixed` points or a :class:`Rate`.
        when: The condition under which the rule fires; ``None`` for always.
        bonuses: Extra points under their own conditions.
        multipliers: Campaign multipliers.
        tier_multiplier: Whether the member's tier earn multiplier applies.
        currency: The point currency awarded.
        caps: The rule's own caps, one per period.
        at_cap: What an award that does not fit under a cap or the budget gets:
            ``"partial"`` (what is left) or ``"nothing"``.
        budget: The name of the rule set budget that pays the rule's awards, or ``None``.
        group: The name of the rule set stacking group the rule is in, or ``None``.
        priority: Higher goes first (and wins a ``first`` group); ties go by name.
        streak: A streak ladder whose reward joins the base, or ``None``.
        enabled: Whether the rule fires; a disabled rule is explained as ``disabled``.
        exempt_from_caps: ``True`` to be counted by no rule set cap over every rule (a task cap
            over shares and reviews that spares purchases), or the names of the rule set caps
            it is exempt from (an unnamed cap's name is its period); caps that name the rule
            in their ``rules`` always count it.
        once_per: Award at most once per distinct value of an event attribute
            (:class:`OncePer`; an attribute name means once per member), or ``None``.
        coupon: The id of a coupon definition the rule issues, one coupon each time it fires
            (alongside its points, or alone with ``Fixed(0)``), or ``None``. A coupon-only
            rule still fires, counts one task under task caps and is ``awarded`` with 0 points.
    """

    name: str = attrs.field(converter=_to_name)
    kinds: tuple[str, ...] = attrs.field(converter=_to_kinds)
    effect: Effect = attrs.field(converter=_to_effect)
    when: Condition | None = attrs.field(default=None, converter=_to_when)
    bonuses: tuple[Bonus, ...] = attrs.field(default=(), converter=_to_bonuses, kw_only=True)
    multipliers: tuple[Multiplier, ...] = attrs.field(
        default=(), converter=_to_multipliers, kw_only=True
    )
    tier_multiplier: bool = attrs.field(default=True, converter=_to_tier_multiplier, kw_only=True)
    currency: str = attrs.field(default="points", converter=_to_currency, kw_only=True)
    caps: tuple[Cap, ...] = attrs.field(default=(), converter=check_caps, kw_only=True)
    at_cap: AtCap = attrs.field(default="partial", converter=_to_at_cap, kw_only=True)
    budget: str | None = attrs.field(default=None, converter=_to_budget, kw_only=True)
    group: str | None = attrs.field(default=None, converter=_to_group, kw_only=True)
    priority: int = attrs.field(default=0, converter=_to_priority, kw_only=True)
    streak: StreakLadder | None = attrs.field(default=None, converter=_to_streak, kw_only=True)
    enabled: bool = attrs.field(default=True, converter=_to_enabled, kw_only=True)
    exempt_from_caps: bool | tuple[str, ...] = attrs.field(
        default=False, converter=_to_exempt, kw_only=True
    )
    once_per: OncePer | None = attrs.field(default=None, converter=_to_once_per, kw_only=True)
    coupon: str | None = attrs.field(default=None, converter=_to_coupon, kw_only=True)

    def counted_by(self, cap: Cap) -> bool:
        """Return whether the rule set cap *cap* counts (and limits) this rule's awards.

        A cap naming rules counts those; any other counts every rule but those exempt from it.
        """
        if cap.rules:
            return self.name in cap.rules
        if isinstance(self.exempt_from_caps, bool):
            return not self.exempt_from_caps
        return cap.key not in self.exempt_from_caps

    def describe(self) -> str:
        """Return the rule in a line, e.g. ``"spend: purchase, 1 points per 10.00 CNY"``."""
        effect = self.effect
        if isinstance(effect, Fixed):
            award = f"{effect.points} {self.currency}"
        else:
            award = f"{effect.points} {self.currency} per {effect.per}"
        extras = [
            *(f"+{bonus.points} bonus" for bonus in self.bonuses),
            *(f"x{multiplier.factor} {multiplier.name}" for multiplier in self.multipliers),
        ]
        if self.streak is not None:
            extras.append("streak " + "/".join(str(reward) for reward in self.streak.rewards))
        if self.coupon is not None:
            extras.append(f"coupon {self.coupon}")
        if self.when is not None:
            extras.append("conditional")
        if not self.enabled:
            extras.append("disabled")
        tail = f" ({', '.join(extras)})" if extras else ""
        return f"{self.name}: {', '.join(self.kinds)}, {award}{tail}"

"""A program's earning rules, checked together, compiled, and evaluated purely.

Maintainer's notes
------------------
:class:`RuleSet` checks everything about its rules when it is built and reports every problem
in one :class:`~pointkit.exceptions.ConfigurationError`; then it compiles each rule's conditions
to closures and indexes the rules by event kind, so evaluating an event costs only the rules
its kind names. A kind whose rules all have the common shape (no streak, budget, coupon,
``once_per``, ``first`` or ``max`` group, ...) also gets a lean evaluator, compiled to one
function (``_lean``), which decides exactly as the passes below do.

Evaluation (:meth:`RuleSet.evaluate`) runs in three passes over the kind's rules, in order of
priority (highest first), then name:

1. Each rule on its own: enabled? time conditions (``outside_window``)? the rest of its
   condition? streak (``duplicate``)? Then its arithmetic, which every rule does in this
   order::

       base            fixed points, or the rate on the counted amount (exact Fraction)
       + streak        the streak ladder's reward for the day
       + bonuses       declared ``multiplied`` (when their conditions hold)
       x multipliers   the tier multiplier (if the rule takes it) and the campaign
                       multipliers that hold, combined as the rule set says
       + bonuses       the others
       rounding        once, with the effect's mode, only if the value is not whole

   A rule that comes to zero points is ``not_eligible`` (``zero_points``), unless it issues
   a coupon (``Rule.coupon``): then it goes on with 0 points, and fires unless a limit stops it.
2. Stacking groups: in a ``first`` group only the first eligible rule (by priority, then
   name) keeps its points, in a ``max`` group only the largest (ties by the same order);
   the others are ``not_eligible`` with ``group_lost`` (their trail ends in ``x 0``). Rules
   in a ``stack`` group, or in none, all keep theirs. A group picks its winner before limits,
   so a capped winner does not hand its place to the next rule.
3. Limits, rule by rule in the same order, each seeing the awards of the rules before it (so
   two rules of one event never pass a cap or a budget together): the rule's caps, the
   program's caps, then the rule's budget. A task cap that is used up leaves nothing; a
   point cap or a budget leaves what is left of it. With ``at_cap="partial"`` an award is cut
   to what is left; with ``"nothing"`` an award that does not fit gets nothing. Deductions
   (negative awards) pass no limit and count in no counter or budget. A rule that issues a
   coupon issues it when it is ``awarded`` or ``partially_awarded`` (:attr:`Decision.coupons`);
   a coupon-only rule passes point caps and budgets, counts one task and 0 points, and is
   ``capped`` by a task cap that is used up.

Rounding comes before the limits, so counters, caps and budgets only ever see whole points,
and every step of the trail is exact: replaying the steps (:class:`~pointkit.rules.StepOp`)
from nothing gives the rule's points.

A rule's streak moves whenever the rule is eligible in pass 1 (its conditions hold and its
day is new), whatever caps, budgets and groups then do: the member did the thing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, Literal, TypeAlias, final

import attrs

from pointkit import limits
from pointkit._validate import check_aware, check_int, check_zone, type_name
from pointkit.exceptions import ArgumentTypeError, ConfigurationError, InvalidArgumentError
from pointkit.rules._analysis import condition_problems, during_windows, statically_false
from pointkit.rules._attributes import Missing
from pointkit.rules._compile import CompiledCondition
from pointkit.rules._effects import Cap, Fixed, check_rule_name, smallest_limit
from pointkit.rules._evaluate import CompiledRule, KindPlan, evaluate_plan
from pointkit.rules._event_schemas import EventRegistry
from pointkit.rules._events import Event
from pointkit.rules._facts import Facts, local_time
from pointkit.rules._lean import compile_lean, lean_row
from pointkit.rules._rules import Rule, check_caps
from pointkit.rules._scheduled import FEB29_POLICIES, Feb29
from pointkit.rules._segments import Segments
from pointkit.rules._state import CounterKey, RuleState, StateKeys, once_key, period_key


if TYPE_CHECKING:
    from datetime import date
    from zoneinfo import ZoneInfo

    from pointkit.rules._conditions import Condition
    from pointkit.rules._decision import Decision


__all__ = [
    "GROUP_MODES",
    "MULTIPLIER_MODES",
    "ROUNDING_STAGES",
    "GroupMode",
    "MultiplierMode",
    "RoundingStage",
    "RuleSet",
]

MultiplierMode: TypeAlias = Literal["multiply", "add", "max"]
"""How a rule's multipliers combine: ``multiply`` (x1.5 and x2 make x3), ``add`` (their
excesses over 1 add up: x1.5 and x2 make x2.5), or ``max`` (the largest: x2)."""

GroupMode: TypeAlias = Literal["first", "max", "stack"]
"""How the rules of a stacking group combine: only the first eligible by priority, only the
largest award, or all of them."""

RoundingStage: TypeAlias = Literal["base", "end"]
"""Where a rule's award is rounded: ``base`` rounds the base amount first and then multiplies
(88 yuan at 1 per 10, x2: 8, then 16), ``end`` rounds once after every multiplier (17)."""

MULTIPLIER_MODES: Final[tuple[MultiplierMode, ...]] = ("multiply", "add", "max")
ROUNDING_STAGES: Final[tuple[RoundingStage, ...]] = ("base", "end")
GROUP_MODES: Final[tuple[GroupMode, ...]] = ("first", "max", "stack")
_AMOUNT_PARTS: Final = ("tax", "shipping", "paid_with_points")  # in the order rates read them
_DAYS_CACHED: Final = 64  # local days whose state keys a kind keeps (events arrive near now)


# -- checking the configuration ---------------------------------------------------------------


def _check_rules(rules: object, problems: list[str]) -> tuple[object, ...]:
    if isinstance(rules, str | bytes | Mapping) or not isinstance(rules, Iterable):
        problems.append(f"rules: {rules!r} must be a sequence of Rule, not {type_name(rules)}")
        return ()
    given = tuple(rules)
    if len(given) > limits.RULES_MAX:
        problems.append(f"rules: {len(given)} rules is over limits.RULES_MAX ({limits.RULES_MAX})")
    names: dict[str, int] = {}
    for index, rule in enumerate(given):
        if not isinstance(rule, Rule):
            problems.append(f"rules[{index}]: {rule!r} must be a Rule, not {type_name(rule)}")
            continue
        if rule.name in names:
            problems.append(
                f"rules[{index}].name: {rule.name!r} is already the name of rules[{names[rule.name]}]"
            )
        else:
            names[rule.name] = index
    return given


def _check_named(
    field: str,
    value: object,
    problems: list[str],
    check: Callable[[str, object], object],
    limit: int,
    limit_name: str,
) -> dict[str, object]:
    if not isinstance(value, Mapping):
        problems.append(f"{field}: {value!r} must be a mapping, not {type_name(value)}")
        return {}
    if len(value) > limit:
        problems.append(f"{field}: {len(value)} entries is over limits.{limit_name} ({limit})")
    checked: dict[str, object] = {}
    for name, item in value.items():
        try:
            key = check_rule_name(f"{field} key", name)
            checked[key] = check(f"{field}[{key!r}]", item)
        except InvalidArgumentError as error:
            problems.append(f"{field}: {error}")
    return checked


def _group_mode(name: str, value: object) -> GroupMode:
    if value not in GROUP_MODES:
        raise InvalidArgumentError(f"{name}={value!r} must be 'first', 'max' or 'stack'")
    return value


def _budget_total(name: str, value: object) -> int:
    return check_int(name, value, minimum=1, maximum=limits.POINTS_MAX, limit_name="POINTS_MAX")


def _listing(names: Iterable[str], none: str) -> str:
    shown = ", ".join(repr(name) for name in sorted(names))
    return shown or none


class _Checks:
    """The rule set's checks of its rules against the registry, budgets, groups and caps."""

    def __init__(
        self,
        problems: list[str],
        registry: EventRegistry,
        budgets: Mapping[str, object],
        groups: Mapping[str, object],
        caps: tuple[Cap, ...],
        disabled: frozenset[str],
        segments: tuple[str, ...] | None,
    ) -> None:
        self.problems = problems
        self.segments = segments
        self.registry = registry
        self.budgets = budgets
        self.groups = groups
        self.caps = caps
        self.disabled = disabled

    def rule(self, index: int, rule: Rule) -> None:
        path = f"rules[{index}]"
        known = self.registry.kinds
        kinds = tuple(kind for kind in rule.kinds if kind in known)
        for position, kind in enumerate(rule.kinds):
            if kind not in known:
                self.problems.append(
                    f"{path}.kinds[{position}]: {kind!r} is not a registered event kind; "
                    f"registered kinds are {_listing(known, 'none')}"
                )
        if rule.enabled and kinds and all(kind in self.disabled for kind in kinds):
            self.problems.append(
                f"{path}: every kind of the rule is disabled ({_listing(kinds, '')}), so it can "
                "never fire; disable the rule (enabled=False) or enable one of its kinds"
            )
        self.conditions(path, rule, kinds)
        self.effect(path, rule, kinds)
        self.names(path, rule)
        self.caps_fit(path, rule)
        self.controls(path, rule, kinds)

    def controls(self, path: str, rule: Rule, kinds: tuple[str, ...]) -> None:
        keys = {cap.key for cap in self.caps}
        if not isinstance(rule.exempt_from_caps, bool):
            for position, name in enumerate(rule.exempt_from_caps):
                if name not in keys:
                    self.problems.append(
                        f"{path}.exempt_from_caps[{position}]: {name!r} is not a cap of the rule "
                        f"set, whose caps are {_listing(keys, 'none')} (an unnamed cap's name "
                        "is its period)"
                    )
                elif any(cap.key == name and rule.name in cap.rules for cap in self.caps):
                    self.problems.append(
                        f"{path}.exempt_from_caps[{position}]: {name!r} names the rule in its "
                        "rules, so the rule cannot be exempt from it"
                    )
        if rule.once_per is not None:
            attribute = rule.once_per.attribute
            for kind in kinds:
                if self.registry.schema(kind).field(attribute) is None:
                    fields = (name for name, _ in self.registry.schema(kind).fields)
                    self.problems.append(
                        f"{path}.once_per.attribute: {attribute!r} is not an attribute of "
                        f"{kind!r} events, whose attributes are {_listing(fields, 'none')}"
                    )

    def cap_rules(self, names: set[str]) -> None:
        for index, cap in enumerate(self.caps):
            for position, name in enumerate(cap.rules):
                if name not in names:
                    self.problems.append(
                        f"caps[{index}].rules[{position}]: {name!r} is not a rule of the rule "
                        f"set, whose rules are {_listing(names, 'none')}"
                    )

    def conditions(self, path: str, rule: Rule, kinds: tuple[str, ...]) -> None:
        if rule.when is not None:
            self.problems.extend(
                condition_problems(rule.when, f"{path}.when", kinds, self.registry, self.segments)
            )
            reason = statically_false(rule.when)
            if reason is not None and rule.enabled:
                self.problems.append(
                    f"{path}.when: can never hold ({reason}), so the rule is unreachable"
                )
        for position, bonus in enumerate(rule.bonuses):
            self.problems.extend(
                condition_problems(
                    bonus.when,
                    f"{path}.bonuses[{position}].when",
                    kinds,
                    self.registry,
                    self.segments,
                )
            )
        for position, multiplier in enumerate(rule.multipliers):
            if multiplier.when is not None:
                self.problems.extend(
                    condition_problems(
                        multiplier.when,
                        f"{path}.multipliers[{position}].when",
                        kinds,
                        self.registry,
                        self.segments,
                    )
                )

    def effect(self, path: str, rule: Rule, kinds: tuple[str, ...]) -> None:
        effect = rule.effect
        if isinstance(effect, Fixed):
            if (
                effect.points == 0
                and not rule.bonuses
                and rule.streak is None
                and rule.coupon is None
            ):
                self.problems.append(
                    f"{path}.effect: Fixed(0) with no bonuses and no streak awards nothing"
                )
            return
        for kind in kinds:
            schema = self.registry.schema(kind)
            needed = ["amount"] + [
                part for part in ("tax", "shipping", "paid_with_points") if part in effect.counts
            ]
            for attribute in needed:
                spec = schema.field(attribute)
                if spec is None or spec.type != "money":
                    self.problems.append(
                        f"{path}.effect: Rate needs a money attribute {attribute!r} in "
                        f"{kind!r} events"
                    )

    def names(self, path: str, rule: Rule) -> None:
        if rule.budget is not None and rule.budget not in self.budgets:
            self.problems.append(
                f"{path}.budget: {rule.budget!r} is not a budget of the rule set, whose budgets "
                f"are {_listing(self.budgets, 'none')}"
            )
        if rule.group is not None and rule.group not in self.groups:
            self.problems.append(
                f"{path}.group: {rule.group!r} is not a group of the rule set, whose groups "
                f"are {_listing(self.groups, 'none')}"
            )

    def caps_fit(self, path: str, rule: Rule) -> None:
        effect = rule.effect
        if not isinstance(effect, Fixed) or effect.points <= 0:
            return
        for position, cap in enumerate(rule.caps):
            points = smallest_limit(cap.points)
            if points is not None and points < effect.points:
                self.problems.append(
                    f"{path}.caps[{position}].points: {points} is smaller than one award "
                    f"of the rule (Fixed({effect.points}))"
                )
        for position, cap in enumerate(self.caps):
            points = smallest_limit(cap.points)
            if points is not None and points < effect.points and rule.counted_by(cap):
                self.problems.append(
                    f"caps[{position}].points: {points} is smaller than one award of "
                    f"{path} ({rule.name!r}: Fixed({effect.points}))"
                )

    def exclusive_windows(self, rules: tuple[object, ...]) -> None:
        seen: dict[str, list[tuple[int, Rule]]] = {}
        for index, rule in enumerate(rules):
            if (
                isinstance(rule, Rule)
                and rule.group is not None
                and rule.enabled
                and self.groups.get(rule.group) == "first"
            ):
                seen.setdefault(rule.group, []).append((index, rule))
        for group, members in sorted(seen.items()):
            for later, (index, rule) in enumerate(members):
                for earlier_index, earlier in members[:later]:
                    self.overlaps(group, (index, rule), (earlier_index, earlier))

    def overlaps(self, group: str, later: tuple[int, Rule], earlier: tuple[int, Rule]) -> None:
        (index, rule), (earlier_index, other_rule) = later, earlier
        if set(rule.kinds).isdisjoint(other_rule.kinds):
            return
        for window in during_windows(rule.when):
            for other in during_windows(other_rule.when):
                if window.start < other.end and other.start < window.end:
                    self.problems.append(
                        f"rules[{index}].when: its During window "
                        f"[{window.start.isoformat()}, {window.end.isoformat()}) "
                        f"overlaps rules[{earlier_index}]'s "
                        f"[{other.start.isoformat()}, {other.end.isoformat()}) in the "
                        f"'first' group {group!r}; its rules' windows must not overlap"
                    )


# -- the rule set -----------------------------------------------------------------------------


@final
@attrs.frozen(init=False)
class RuleSet:
    """A program's earning rules: checked together, compiled once, evaluated purely.

    >>> from datetime import UTC, datetime
    >>> from pointkit import Money
    >>> from pointkit.rules import Event, Fixed, MemberContext, Rate, Rule, RuleState
    >>> rules = RuleSet(
    ...     [
    ...         Rule("spend", ("purchase",), Rate(1, per=Money(10, "CNY"), rounding="floor")),
    ...         Rule("share", ("share",), Fixed(50)),
    ...     ],
    ...     zone="Asia/Shanghai",
    ... )
    >>> at = datetime(2026, 3, 1, 12, tzinfo=UTC)
    >>> event = Event.purchase("o-1", "alice", at, amount=Money("88.00", "CNY"), order_id="o-1")
    >>> decision = rules.evaluate(event, RuleState(MemberContext(tier="silver", earn_multiplier=2)), at)
    >>> decision.total()
    17
    >>> [(step.label, str(step.result)) for step in decision.explanation("spend").trail]
    [('base', '44/5'), ('x tier', '88/5'), ('rounding (floor)', '17')]

    Every problem is reported at once:

    >>> RuleSet([Rule("spend", ("purchse",), Fixed(5), budget="launch"), Rule("spend", ("share",), Fixed(5))], zone="Asia/Shanghai")
    Traceback (most recent call last):
    ...
    pointkit.exceptions.ConfigurationError: RuleSet has 3 problems:
      - rules[1].name: 'spend' is already the name of rules[0]
      - rules[0].kinds[0]: 'purchse' is not a registered event kind; registered kinds are 'anniversary', 'birthday', 'invite', 'invitee_registered', 'profile_completed', 'purchase', 'registration', 'review', 'share', 'sign_in'
      - rules[0].budget: 'launch' is not a budget of the rule set, whose budgets are none

    Args:
        rules: The rules, at most ``limits.RULES_MAX``, with distinct names. Their order does
            not matter: evaluation goes by priority, then name.
        zone: The program's IANA time zone: local dates, weekdays, hours and cap periods.
        multipliers: How a rule's multipliers combine: ``"multiply"``, ``"add"`` or ``"max"``.
        groups: Stacking groups by name: ``"first"``, ``"max"`` or ``"stack"``.
        budgets: Campaign budgets by name: the most points, program-wide, their rules pay.
        caps: Rule set caps per member: one unnamed cap per period counting every rule's
            awards, and named caps (``Cap("day", tasks=15, name="tasks", rules=(...))``)
            counting the rules they name, or every rule; rules may be exempt
            (``Rule.exempt_from_caps``).
        registry: The event kinds; the built-in ones if omitted.
        disabled_kinds: Kinds that earn nothing (a switch for, say, sign-in rewards in a game);
            their rules must be disabled too.
        feb29: Where 29 February birthdays fall in other years (``member.is_birthday``).
        rounding_stage: Where awards are rounded: ``"end"`` (once, after every multiplier;
            the default) or ``"base"`` (the base amount first, then the multipliers, and
            once more at the end only if a fractional multiplier left a fraction).
        segments: The programme's segments, which :class:`~pointkit.rules.InSegment`
            conditions ask; in the rule set's zone. A condition naming a segment they do not
            declare is a problem.

    Raises:
        ConfigurationError: Listing every problem: see the module notes and docs/rules.md.

    Attributes:
        rules: The rules, in the order given.
        zone: The program's time zone.
        multipliers: How multipliers combine.
        groups: ``(name, mode)`` pairs, sorted by name.
        budgets: ``(name, total points)`` pairs, sorted by name.
        caps: Program-wide caps.
        registry: The event kinds.
        disabled_kinds: Kinds that earn nothing.
        feb29: The 29 February rule for birthdays.
        rounding_stage: Where awards are rounded.
        segments: The segments conditions may name, if any.
    """

    rules: tuple[Rule, ...]
    zone: ZoneInfo
    multipliers: MultiplierMode
    groups: tuple[tuple[str, GroupMode], ...]
    budgets: tuple[tuple[str, int], ...]
    caps: tuple[Cap, ...]
    registry: EventRegistry
    disabled_kinds: frozenset[str]
    feb29: Feb29
    rounding_stage: RoundingStage
    segments: Segments | None
    _index: Mapping[str, KindPlan] = attrs.field(init=False, eq=False, repr=False, hash=False)

    def __init__(  # noqa: PLR0913 - every setting of a rule set is a keyword of its own
        self,
        rules: Iterable[Rule],
        *,
        zone: str | ZoneInfo,
        multipliers: MultiplierMode = "multiply",
        groups: Mapping[str, GroupMode] | None = None,
        budgets: Mapping[str, int] | None = None,
        caps: Iterable[Cap] = (),
        registry: EventRegistry | None = None,
        disabled_kinds: Iterable[str] = frozenset(),
        feb29: Feb29 = "feb28",
        rounding_stage: RoundingStage = "end",
        segments: Segments | None = None,
    ) -> None:
        problems: list[str] = []
        checked_rules = _check_rules(rules, problems)
        program_zone = self._zone(zone, problems)
        if multipliers not in MULTIPLIER_MODES:
            problems.append(f"multipliers: {multipliers!r} must be 'multiply', 'add' or 'max'")
        checked_groups = _check_named(
            "groups",
            {} if groups is None else groups,
            problems,
            _group_mode,
            limits.GROUPS_MAX,
            "GROUPS_MAX",
        )
        checked_budgets = _check_named(
            "budgets",
            {} if budgets is None else budgets,
            problems,
            _budget_total,
            limits.BUDGETS_MAX,
            "BUDGETS_MAX",
        )
        try:
            checked_caps = check_caps(caps, program=True)
        except InvalidArgumentError as error:
            problems.append(f"caps: {error}")
            checked_caps = ()
        given_registry: object = EventRegistry.default() if registry is None else registry
        if isinstance(given_registry, EventRegistry):
            checked_registry = given_registry
        else:
            problems.append(
                f"registry: {registry!r} must be an EventRegistry, not {type_name(registry)}"
            )
            checked_registry = EventRegistry.default()
        disabled = self._disabled(disabled_kinds, checked_registry, problems)
        if feb29 not in FEB29_POLICIES:
            problems.append(f"feb29: {feb29!r} must be 'feb28' or 'mar1'")
        if rounding_stage not in ROUNDING_STAGES:
            problems.append(f"rounding_stage: {rounding_stage!r} must be 'base' or 'end'")
        checked_segments = self._segments(segments, program_zone, problems)
        checks = _Checks(
            problems,
            checked_registry,
            checked_budgets,
            checked_groups,
            checked_caps,
            disabled,
            None if checked_segments is None else checked_segments.names,
        )
        for index, rule in enumerate(checked_rules):
            if isinstance(rule, Rule):
                checks.rule(index, rule)
        checks.exclusive_windows(checked_rules)
        checks.cap_rules({rule.name for rule in checked_rules if isinstance(rule, Rule)})
        if problems or program_zone is None:
            raise ConfigurationError("RuleSet", problems)
        self.__attrs_init__(
            tuple(rule for rule in checked_rules if isinstance(rule, Rule)),
            program_zone,
            multipliers,
            tuple(sorted(checked_groups.items())),  # type: ignore[arg-type]  # checked modes
            tuple(sorted(checked_budgets.items())),  # type: ignore[arg-type]  # checked totals
            checked_caps,
            checked_registry,
            disabled,
            feb29,
            rounding_stage,
            checked_segments,
        )
        object.__setattr__(self, "_index", self._compile())

    def __reduce__(
        self,
    ) -> tuple[Callable[..., RuleSet], tuple[tuple[Rule, ...], dict[str, object]]]:
        """Pickle the settings; unpickling builds the rule set again (its plans are compiled)."""
        return _rule_set, (
            self.rules,
            {
                "zone": self.zone,
                "multipliers": self.multipliers,
                "groups": dict(self.groups),
                "budgets": dict(self.budgets),
                "caps": self.caps,
                "registry": self.registry,
                "disabled_kinds": self.disabled_kinds,
                "feb29": self.feb29,
                "rounding_stage": self.rounding_stage,
                "segments": self.segments,
            },
        )

    @staticmethod
    def _zone(zone: object, problems: list[str]) -> ZoneInfo | None:
        try:
            return check_zone("zone", zone)
        except InvalidArgumentError as error:
            problems.append(f"zone: {str(error).removeprefix('zone=')}")
            return None

    @staticmethod
    def _segments(segments: object, zone: ZoneInfo | None, problems: list[str]) -> Segments | None:
        if segments is None:
            return None
        if not isinstance(segments, Segments):
            problems.append(f"segments: {segments!r} must be Segments, not {type_name(segments)}")
            return None
        if zone is not None and segments.zone.key != zone.key:
            problems.append(
                f"segments: their zone {segments.zone.key!r} is not the rule set's ({zone.key!r})"
            )
        return segments

    @staticmethod
    def _disabled(value: object, registry: EventRegistry, problems: list[str]) -> frozenset[str]:
        if isinstance(value, str | bytes) or not isinstance(value, Iterable):
            problems.append(
                f"disabled_kinds: {value!r} must be a set of event kinds, not {type_name(value)}"
            )
            return frozenset()
        kinds = frozenset(value)
        problems.extend(
            f"disabled_kinds: {kind!r} is not a registered event kind; registered "
            f"kinds are {_listing(registry.kinds, 'none')}"
            for kind in sorted(kinds, key=str)
            if kind not in registry.kinds
        )
        return kinds

    def _compile(self) -> Mapping[str, KindPlan]:
        cache: dict[Condition, CompiledCondition] = {}

        def compile_(condition: Condition) -> CompiledCondition:
            compiled = cache.get(condition)
            if compiled is None:
                compiled = CompiledCondition(condition, self.zone, self.feb29, self.segments)
                cache[condition] = compiled
            return compiled

        budgets = dict(self.budgets)
        groups: dict[str, str] = dict(self.groups)
        compiled_rules = sorted(
            (
                CompiledRule(
                    rule,
                    compile_,
                    mode=self.multipliers,
                    program_caps=self.caps,
                    budgets=budgets,
                    groups=groups,
                    base_round=self.rounding_stage == "base",
                )
                for rule in self.rules
            ),
            key=lambda compiled: (-compiled.priority, compiled.name),
        )
        index = {
            kind: KindPlan(
                tuple(rule for rule in compiled_rules if kind in rule.kinds),
                disabled=kind in self.disabled_kinds,
            )
            for kind in self.registry.kinds
        }
        for kind, plan in index.items():
            schema = self.registry.schema(kind)
            parts = tuple(part for part in _AMOUNT_PARTS if schema.field(part) is not None)
            rows = [lean_row(rule, parts) for rule in plan.rules]
            if plan.enabled and not plan.grouped and None not in rows:
                plan.lean = compile_lean(
                    tuple(rows),  # type: ignore[arg-type]  # no None in rows
                    plan.conditions,
                    kind,
                    self.registry,
                )
        return MappingProxyType(index)

    # -- reading ----------------------------------------------------------------------------

    def rule(self, name: str) -> Rule:
        """Return the rule called *name*.

        Raises:
            InvalidArgumentError: If there is none; the message lists the names.
        """
        for rule in self.rules:
            if rule.name == name:
                return rule
        raise InvalidArgumentError(
            f"name={name!r} is not a rule of this rule set, whose rules are "
            f"{_listing((rule.name for rule in self.rules), 'none')}"
        )

    def rules_for(self, kind: str) -> tuple[str, ...]:
        """Return the names of the rules events of *kind* are evaluated against, in order.

        Raises:
            InvalidArgumentError: If *kind* is not registered.
        """
        return tuple(rule.name for rule in self._plan(kind).rules)

    def describe(self) -> str:
        """Return the rules, one line each, in evaluation order of priority then name."""
        ordered = sorted(self.rules, key=lambda rule: (-rule.priority, rule.name))
        return "\n".join(rule.describe() for rule in ordered)

    def _plan(self, kind: object) -> KindPlan:
        plan = self._index.get(kind) if isinstance(kind, str) else None
        if plan is None:
            raise InvalidArgumentError(
                f"kind={kind!r} is not a registered event kind; registered kinds are "
                f"{_listing(self.registry.kinds, 'none')}"
            )
        return plan

    def _local_date(self, event: Event) -> date:
        return local_time("event.at", event.at, self.zone).date()

    def state_keys(self, event: Event) -> StateKeys:
        """Return exactly what evaluating *event* may read: load (and lock) these.

        Raises:
            ArgumentTypeError: If *event* is not an Event.
            InvalidArgumentError: If its kind is not registered, or its local time in the
                rules' zone falls outside the years 1 to 9999.
        """
        if not isinstance(event, Event):
            raise ArgumentTypeError(f"event={event!r} must be an Event, not {type_name(event)}")
        plan = self._plan(event.kind)
        if not plan.enabled:
            return StateKeys()
        day = self._local_date(event)
        if not plan.daily:
            return _state_keys(plan, event, day)
        # The same for every event of the kind on *day*: kept, as the rules are fixed.
        found = plan.by_day.get(day)
        if found is None:
            found = _state_keys(plan, event, day)
            if len(plan.by_day) >= _DAYS_CACHED:
                plan.by_day.clear()
            plan.by_day[day] = found
        return found

    # -- evaluating -------------------------------------------------------------------------

    def evaluate(self, event: Event, state: RuleState, now: datetime) -> Decision:
        """Decide what *event* earns, given the member's *state*: pure and deterministic.

        The same event, state and rule set give an equal decision and the same
        :meth:`Decision.to_json` bytes. *now* only guards the input: events may be in the past
        (a late delivery), but an event after *now* is refused.

        Args:
            event: The event; checked against its kind's schema.
            state: The snapshot of what :meth:`state_keys` names (missing keys count as zero).
            now: The current instant.

        Returns:
            The decision: awards, an explanation per rule of the event's kind, and the counter,
            budget and streak changes to store with the awards.

        Raises:
            ArgumentTypeError: If an argument has the wrong type.
            NaiveDatetimeError: If *now* has no time zone.
            InvalidArgumentError: If the event breaks its schema, its kind is unknown, or it
                happened after *now*.
        """
        given_event: object = event  # checked at run time, the exact type first
        given_state: object = state
        if type(given_event) is not Event and not isinstance(given_event, Event):
            raise ArgumentTypeError(f"event={event!r} must be an Event, not {type_name(event)}")
        if type(given_state) is not RuleState and not isinstance(given_state, RuleState):
            raise ArgumentTypeError(f"state={state!r} must be a RuleState, not {type_name(state)}")
        # The usual case, a UTC instant, skips the general check.
        instant = now if type(now) is datetime and now.tzinfo is UTC else check_aware("now", now)
        at = event.at
        if at > instant:
            raise InvalidArgumentError(
                f"event.at={at.isoformat()} is after now ({instant.isoformat()}); "
                "events in the future are refused"
            )
        kind = event.kind
        plan = self._index.get(kind) or self._plan(kind)
        facts = Facts(event, state.member, self.zone, self.feb29)
        lean = plan.lean
        if lean is not None:
            return lean(event, state, facts)  # which checks the event against its schema first
        self.registry.validate(event)
        return evaluate_plan(plan, event, state, facts)


def _rule_set(rules: tuple[Rule, ...], settings: dict[str, Any]) -> RuleSet:
    """The rule set of pickled *rules* and *settings* (:meth:`RuleSet.__reduce__`)."""
    return RuleSet(rules, **settings)


def _state_keys(plan: KindPlan, event: Event, day: date) -> StateKeys:
    """What evaluating *event*, of *plan*'s enabled kind on local *day*, may read."""
    counters: set[CounterKey] = set()
    budgets: set[str] = set()
    streaks: set[str] = set()
    for rule in plan.rules:
        if not rule.enabled:
            continue
        counters.update((cap.scope, period_key(cap.period, day)) for cap in rule.caps)
        if rule.once is not None:
            # A missing value reads nothing: evaluation reports the missing fact.
            value = event.get(rule.once[0])
            if not isinstance(value, Missing):
                key = once_key(rule.name, value)
                if rule.once[1]:
                    budgets.add(key)
                else:
                    counters.add((key, "lifetime"))
        if rule.budget is not None:
            budgets.add(rule.budget)
        if rule.streak is not None:
            streaks.add(rule.name)
    return StateKeys(counters, budgets, streaks)

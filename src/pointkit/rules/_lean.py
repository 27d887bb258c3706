"""The lean evaluator: a kind whose rules all have the common shape, compiled to one function.

Maintainer's notes
------------------
Most programs' rules are a rate or fixed points with conditions, bonuses, multipliers and caps.
For a kind whose rules all have that shape, :func:`compile_lean` writes Python source that
decides an event as :func:`~pointkit.rules._evaluate.evaluate_plan` does, and compiles it once,
when the rule set is built. The source is the passes unrolled for these rules: the branches a
rule cannot take are left out, its constants are names bound once (only checked ints are written
into the source), comparisons of an event attribute with a constant, and ``All``, ``Any`` and
``Not`` of them, are written out in place of their compiled closures, and the event's schema
check is one comparison of its attributes with the required ones. An interpreter of rows cost
a third more per event than this, most of it in unpacking and branches that decide nothing.

Straight-through code serves the three passes because the common shape leaves nothing between
them: pass 1 of a rule reads no counter, and without ``first`` or ``max`` groups pass 2 does
nothing, so deciding a rule and then applying its limits, rule by rule in order, is the
documented order. A rule leaves the common shape (and its kind the lean evaluator) with any of:
a streak, ``once_per``, a budget, a coupon, a ``first`` or ``max`` group, a tier-dependent cap,
base rounding, or more than one factor to combine in the ``add`` or ``max`` multiplier mode.

The exact value is kept as ``top / bottom``; it is recorded as the general evaluator's raw value
(``top`` when ``bottom`` is 1, else the pair), normalised as ``_raw`` does after every
operation, so the steps are the same values. tests/test_rules_lean.py holds the two evaluators
to equal decisions, explanations (traces and trails) and JSON on generated rule sets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, TypeAlias

from pointkit import limits
from pointkit._values import Money
from pointkit.rules._attributes import MISSING
from pointkit.rules._compile import _FAMILY_TYPES, _MISSING_OUTCOME
from pointkit.rules._conditions import All, Any, Compare, Not
from pointkit.rules._decision import Award, Decision, Reason
from pointkit.rules._evaluate import (  # this package's own helpers, shared by its evaluators
    _DECISION_SETTERS,
    _DECISION_SLOTS,
    _REASON_CONDITION_FALSE,
    _REASON_CURRENCY_MISMATCH,
    _REASON_MISSING_FACT,
    _REASON_OUTSIDE_WINDOW,
    _REASON_POINTS_OVERFLOW,
    _REASON_RULE_DISABLED,
    _STATUS_AWARDED,
    _STATUS_CAPPED,
    _STATUS_NOT_ELIGIBLE,
    _STATUS_PARTIALLY_AWARDED,
    _STEPOP_ADD,
    _STEPOP_BASE,
    _STEPOP_LIMIT,
    _STEPOP_MULTIPLY,
    _STEPOP_ROUND,
    CompiledRule,
    _new,
    _set_award_currency,
    _set_award_points,
    _set_award_rule,
    _set_counter_points,
    _set_counter_tasks,
    raw_round,
)
from pointkit.rules._expressions import Const, Fact, const_family
from pointkit.rules._facts import _DAYS, attribute_name
from pointkit.rules._state import Counter


if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from pointkit._values import Rounding
    from pointkit.rules._compile import CompiledCondition
    from pointkit.rules._conditions import Condition
    from pointkit.rules._decision import StepRecord
    from pointkit.rules._event_schemas import EventRegistry
    from pointkit.rules._events import Event
    from pointkit.rules._facts import Facts
    from pointkit.rules._state import CounterKey, RuleState


__all__ = ["LeanEvaluator", "LeanRow", "compile_lean", "lean_row"]

_Test: TypeAlias = "Callable[[Facts], bool | None]"
_Rate: TypeAlias = "tuple[int, int, str, int, str, tuple[str, ...]]"

LeanRow: TypeAlias = tuple[
    CompiledRule,
    str,
    str,
    bool,
    "_Test | None",
    "_Test | None",
    "StepRecord | None",
    "_Rate | None",
    "tuple[tuple[int, _Test], ...]",
    bool,
    "tuple[tuple[int, int, object, _Test | None, str], ...]",
    "tuple[tuple[int, _Test], ...]",
    "Rounding",
    str,
    "tuple[tuple[str, str, int | None, int | None, str, str, Reason, Reason], ...]",
    bool,
]
"""A rule of the common shape as :func:`evaluate_lean` reads it: the compiled rule (its early
verdicts, and its rate when that counts more than the goods), its name, currency, whether it
is enabled, its window and other condition, its fixed step or its rate's constants (multiply by,
divide by, currency code, its places, the base step's note's tail, the parts the kind's
schema has), its bonuses added before the multipliers, whether it takes the tier multiplier,
its campaign multipliers (numerator, denominator, the step's raw value, condition, label), its
bonuses added after, its rounding and the rounding step's label, its caps (scope, period,
limits, labels, reasons), and whether an award is cut to what is left at a cap."""

_ZERO: Final = Counter()
_ZERO_POINTS: Final = (Reason.ZERO_POINTS,)
_PARTS: Final = ("tax", "shipping", "paid_with_points")
_LEFT: Final = "{} left"
_LEFT_ALL_OR_NOTHING: Final = "{} left, all or nothing"
_TASKS_NONE_LEFT: Final = "{} tasks done, none left"
_TIER_LABEL: Final = "x tier"
_POINTS_MAX: Final = limits.POINTS_MAX

# Enum members read as module constants: an attribute of an Enum class costs ~70 ns a read.


def lean_row(rule: CompiledRule, parts: tuple[str, ...]) -> LeanRow | None:
    """Return *rule*'s row for the lean evaluator, or ``None`` if it is not of the common shape.

    Args:
        rule: The compiled rule.
        parts: The parts of an amount (``tax``, ...) the schema of the kind being planned has.
    """
    factors = len(rule.campaigns) + (1 if rule.tier_multiplier else 0)
    if (
        rule.streak is not None
        or rule.once is not None
        or rule.budget is not None
        or rule.coupon is not None
        or rule.group is not None
        or rule.base_round
        or any(cap.tiered for cap in rule.caps)
        or (rule.mode != "multiply" and factors > 1)
    ):
        return None
    rate: _Rate | None = None
    if rule.rate is not None:
        counts, multiply, divide, code, places, tail = rule.rate
        # A rate that counts more than the goods asks the compiled rule for its base.
        rate = None if counts is not None else (multiply, divide, code, places, tail, parts)
    return (
        rule,
        rule.name,
        rule.currency,
        rule.enabled,
        rule.window,
        rule.rest,
        rule.fixed,
        rate,
        rule.before_bonuses,
        rule.tier_multiplier,
        tuple(
            (numerator, denominator, raw, condition, label)
            for (_, _, numerator, denominator, raw), condition, label in rule.campaigns
        ),
        rule.after_bonuses,
        rule.rounding,
        rule.round_label,
        tuple(
            (scope, period, points, tasks, points_label, tasks_label, points_reason, tasks_reason)
            for (
                _,
                scope,
                period,
                _,
                points,
                tasks,
                points_label,
                tasks_label,
                points_reason,
                tasks_reason,
            ) in rule.cap_rows
        ),
        rule.at_cap_partial,
    )


LeanEvaluator: TypeAlias = "Callable[[Event, RuleState, Facts], Decision]"
"""A kind's lean evaluator: the event, the member's state and the evaluation's facts in, the
decision out."""


def compile_lean(
    rows: tuple[LeanRow, ...],
    conditions: tuple[CompiledCondition | None, ...],
    kind: str,
    registry: EventRegistry,
) -> LeanEvaluator:
    """Return the lean evaluator of a kind whose rules are *rows*, in evaluation order.

    The evaluator is Python source written for these rules and compiled once: each rule's
    branches that cannot happen are left out and its constants are names bound once, so an
    event runs straight through its rules. The source interpolates only ints (checked to be
    ints); every other constant is bound by name.

    Args:
        rows: The rules' rows (:func:`lean_row`), in evaluation order.
        conditions: The condition each rule's explanation traces (``KindPlan.conditions``).
        kind: The event kind.
        registry: The registry whose schema of *kind* the evaluator checks events against.
    """
    namespace: dict[str, object] = {
        "MISSING": MISSING,
        "Money": Money,
        "Reason": Reason,
        "Award": Award,
        "Counter": Counter,
        "_ZERO": _ZERO,
        "_ZERO_POINTS": _ZERO_POINTS,
        "_LEFT": _LEFT,
        "_LEFT_ALL_OR_NOTHING": _LEFT_ALL_OR_NOTHING,
        "_TASKS_NONE_LEFT": _TASKS_NONE_LEFT,
        "_TIER_LABEL": _TIER_LABEL,
        "_POINTS_MAX": _POINTS_MAX,
        "_STATUS_AWARDED": _STATUS_AWARDED,
        "_STATUS_CAPPED": _STATUS_CAPPED,
        "_STATUS_NOT_ELIGIBLE": _STATUS_NOT_ELIGIBLE,
        "_STATUS_PARTIALLY_AWARDED": _STATUS_PARTIALLY_AWARDED,
        "_STEPOP_ADD": _STEPOP_ADD,
        "_STEPOP_BASE": _STEPOP_BASE,
        "_STEPOP_LIMIT": _STEPOP_LIMIT,
        "_STEPOP_MULTIPLY": _STEPOP_MULTIPLY,
        "_STEPOP_ROUND": _STEPOP_ROUND,
        "_new": _new,
        "_set_award_rule": _set_award_rule,
        "_set_award_currency": _set_award_currency,
        "_set_award_points": _set_award_points,
        "_set_counter_points": _set_counter_points,
        "_set_counter_tasks": _set_counter_tasks,
        "Decision": Decision,
        **{
            f"_set{name}": setter
            for name, setter in zip(_DECISION_SLOTS, _DECISION_SETTERS, strict=True)
        },
        "raw_round": raw_round,
        "CONDITIONS": conditions,
        "_key_of": _key_of,
        "_DAYS": _DAYS,
        "validate": registry.validate,
    }
    capped = any(row[14] for row in rows)
    tiered = any(row[9] for row in rows)
    # Whether two caps count in one counter (a program cap, a named cap, two caps of a rule on
    # one period): then each cap sees what the caps before it added, as the passes do. Else
    # every counter is a rule's own and takes one award, so no cap sees another's.
    keys = [(scope, period) for row in rows for (scope, period, *_) in row[14]]
    shared = len(set(keys)) != len(keys)
    lines = [
        "def evaluate(event, state, facts):",
        *_schema_lines(registry._quick_shape(kind), namespace),  # noqa: SLF001 - same package
        "    values = facts.values",
        # One rule awards at most once: its award is the tuple, with no list in between.
        "    awards = ()" if len(rows) == 1 else "    awards = []",
    ]
    if capped:
        lines += [
            "    stored_counters = state._counter_map",
            "    counters = {}" if shared else "    increments = []",
            "    periods = None",
        ]
    if tiered:
        lines.append("    tier_numerator = tier_denominator = 0")
    for index, row in enumerate(rows):
        lines += _rule_lines(index, row, namespace, shared=shared, single=len(rows) == 1)
    lines += _assembly_lines(len(rows), capped=capped, shared=shared)
    source = "\n".join(lines) + "\n"
    code = compile(source, f"<pointkit.rules lean evaluator of {kind!r}>", "exec")
    exec(code, namespace)  # noqa: S102 - source written above from ints and bound names only
    return namespace["evaluate"]  # type: ignore[return-value]  # the function just defined


def _schema_lines(
    shape: tuple[tuple[tuple[str, type], ...], Callable[[Event], None] | None] | None,
    namespace: dict[str, object],
) -> list[str]:
    """The source that checks the event against its kind's schema, as ``validate`` does.

    An event with exactly the required attributes, of their types, needs only the kind's
    cross-field check (``EventRegistry._quick_shape``); any other goes through ``validate``.
    """
    if shape is None:
        return ["    validate(event)"]
    fields, cross = shape
    namespace["cross_check"] = cross
    passed = ["        cross_check(event)"] if cross is not None else ["        pass"]
    if not fields:
        return ["    if event.attributes:", "        validate(event)", "    else:", *passed]
    names = ", ".join(f"(name{index}, value{index})" for index in range(len(fields)))
    tests = []
    for index, (name, kind) in enumerate(fields):
        namespace[f"field{index}"] = name
        namespace[f"type{index}"] = kind
        tests.append(f"name{index} != field{index} or type(value{index}) is not type{index}")
    return [
        "    attributes = event.attributes",
        f"    if len(attributes) != {_int(len(fields))}:",
        "        validate(event)",
        "    else:",
        f"        {names}{',' if len(fields) == 1 else ''} = attributes",
        f"        if {' or '.join(tests)}:",
        "            validate(event)",
        "        else:",
        *("    " + line for line in passed),
    ]


_OPERATORS: Final = frozenset({"==", "!=", "<", "<=", ">", ">="})


def _condition_lines(
    tree: Condition | None,
    target: str,
    bind: Callable[[str, object], str],
    temporaries: Iterator[int],
) -> list[str] | None:
    """The lines that set *target* to *tree*'s outcome as its compiled test gives it, or ``None``.

    Written out: a comparison of an event attribute with a constant (the compiled test's fast
    path, ``_compare_const``), and ``All``, ``Any`` and ``Not`` of those. ``None`` for any
    other tree, whose compiled test is called instead.
    """
    if isinstance(tree, All | Any):
        neutral = isinstance(tree, All)
        children = [_condition_lines(child, target, bind, temporaries) for child in tree.conditions]
        if any(lines is None for lines in children):
            return None
        # The first child that is not neutral decides; the last child's outcome is the node's.
        written: list[str] = []
        indent = ""
        for position, lines in enumerate(children):
            if position:
                written.append(f"{indent}if {target} is {neutral}:")
                indent += "    "
            written.extend(indent + line for line in lines)  # type: ignore[union-attr]  # none is None
        return written
    if isinstance(tree, Not):
        child = _condition_lines(tree.condition, target, bind, temporaries)
        if child is None:
            return None
        return [*child, f"if {target} is not None:", f"    {target} = not {target}"]
    if not (
        isinstance(tree, Compare)
        and isinstance(tree.left, Fact)
        and isinstance(tree.right, Const)
        and tree.op in _OPERATORS
    ):
        return None
    attribute = attribute_name(tree.left.path)
    if attribute is None:
        return None
    number = next(temporaries)
    value = f"value_{number}"
    name = bind(f"attribute_{number}", attribute)
    missing = bind(f"missing_{number}", _MISSING_OUTCOME[tree.on_missing])
    constant = tree.right.value
    lines = [f"{value} = values.get({name}, MISSING)"]
    if isinstance(constant, Money):
        code = bind(f"code_{number}", constant.currency.code)
        places = bind(f"places_{number}", constant.currency.decimals)
        amount = bind(f"amount_{number}", constant.amount)
        return [
            *lines,
            f"if {value} is MISSING:",
            f"    {target} = {missing}",
            (
                f"elif type({value}) is not Money or {value}.currency.code != {code} "
                f"or {value}.currency.decimals != {places}:"
            ),
            f"    {target} = False",
            "else:",
            f"    {target} = {value}.amount {tree.op} {amount}",
        ]
    accepted = bind(f"accepted_{number}", _FAMILY_TYPES[const_family(constant)])
    bound = bind(f"constant_{number}", constant)
    return [
        *lines,
        (
            f"{target} = {missing} if {value} is MISSING else "
            f"(type({value}) in {accepted} and {value} {tree.op} {bound})"
        ),
    ]


def _key_of(pair: tuple[CounterKey, Counter]) -> CounterKey:
    return pair[0]


def _int(value: object) -> str:
    """*value*, an int, as source; anything else is refused (only ints are interpolated)."""
    if type(value) is not int:
        raise TypeError(f"{value!r} is not an int")
    return repr(value)


_NORMALISE: Final = (
    "if bottom != 1 and top % bottom == 0:",
    "    top //= bottom",
    "    bottom = 1",
)
_VALUE: Final = "(top if bottom == 1 else (top, bottom))"


def _rule_lines(  # noqa: C901, PLR0912, PLR0915 - one branch per part of the shape
    index: int, row: LeanRow, namespace: dict[str, object], *, shared: bool, single: bool
) -> list[str]:
    """The source that decides one rule, inside ``while True:`` so ``break`` ends the rule.

    With *shared* counters each cap also counts what the rules before it added; a *single*
    rule's award is the decision's awards.
    """
    (
        rule,
        name,
        currency,
        enabled,
        window,
        rest,
        fixed,
        rate,
        before_bonuses,
        tiered,
        campaigns,
        after_bonuses,
        rounding,
        round_label,
        cap_rows,
        partial,
    ) = row
    prefix = f"r{index}_"
    verdict = f"verdict{index}"  # the rule's verdict, set on every way through

    def bind(suffix: str, value: object) -> str:
        namespace[prefix + suffix] = value
        return prefix + suffix

    def early(reason: Reason) -> str:
        return f"{verdict} = {bind(f'early_{reason.name.lower()}', rule.done[reason][0])}"

    out: list[str] = []
    if not enabled:
        return [f"    {early(_REASON_RULE_DISABLED)}"]
    rule_name = bind("name", name)
    body = out.append
    body("while True:")
    window_tree, rest_tree, before_trees, campaign_trees, after_trees = rule.trees
    temporaries = iter(range(1_000_000))

    def test(tree: Condition | None, closure: object, suffix: str) -> str:
        """Write the lines that decide *tree* and return the name that holds the outcome."""
        target = f"outcome_{next(temporaries)}"
        lines = _condition_lines(tree, target, bind, temporaries)
        if lines is None:
            lines = [f"{target} = {bind(suffix, closure)}(facts)"]
        out.extend("    " + line for line in lines)
        return target

    if window is not None:
        outcome = test(window_tree, window, "window")
        body(f"    if {outcome} is not True:")
        body(f"        {early(_REASON_OUTSIDE_WINDOW)}")
        body("        break")
    if rest is not None:
        body(f"    outcome = {test(rest_tree, rest, 'rest')}")
        body("    if outcome is not True:")
        body("        if outcome is False:")
        body(f"            {early(_REASON_CONDITION_FALSE)}")
        body("        else:")
        body(f"            {early(_REASON_MISSING_FACT)}")
        body("        break")
    if fixed is not None:
        body(f"    steps = [{bind('fixed', fixed)}]")
        body(f"    top = {_int(fixed[2])}")
        body("    bottom = 1")
    elif rate is not None:
        multiply, divide, code, places, tail, parts = rate
        code_name = bind("code", code)
        body('    amount = values.get("amount", MISSING)')
        body("    if type(amount) is not Money:")
        body(f"        {early(_REASON_MISSING_FACT)}")
        body("        break")
        body("    currency = amount.currency")
        body(f"    if currency.code != {code_name} or currency.decimals != {_int(places)}:")
        body(f"        {early(_REASON_CURRENCY_MISMATCH)}")
        body("        break")
        body("    counted = amount.amount")
        for position, part in enumerate(parts):
            body(f"    part = values.get({bind(f'part{position}', part)}, MISSING)")
            body("    if type(part) is Money:")
            body(
                f"        if part.currency.code != {code_name} "
                f"or part.currency.decimals != {_int(places)}:"
            )
            body(f"            {early(_REASON_CURRENCY_MISMATCH)}")
            body("            break")
            body("        counted -= part.amount")
        body("    numerator, denominator = counted.as_integer_ratio()")
        body(f"    top = numerator * {_int(multiply)}" if multiply != 1 else "    top = numerator")
        body(f"    bottom = denominator * {_int(divide)}")
        body("    if top % bottom == 0:")
        body("        top //= bottom")
        body("        bottom = 1")
        body(f"    value = {_VALUE}")
        note = f'("{{}} {{}} {{}}", counted, {code_name}, {bind("tail", tail)})'
        body(f'    steps = [(_STEPOP_BASE, "base", value, value, {note})]')
    else:
        body("    steps = []")
        body(f"    based = {bind('rule', rule)}._rate_base(facts, steps)")
        body("    if type(based) is Reason:")
        body(f"        {verdict} = {bind('done', rule.done)}[based][0]")
        body("        break")
        body("    if type(based) is int:")
        body("        top, bottom = based, 1")
        body("    else:")
        body("        top, bottom = based")

    def add(points: int, closure: object, tree: Condition, position: str, note: str) -> None:
        body(f"    if {test(tree, closure, f'bonus{position}')} is True:")
        body(f"        top += {_int(points)} * bottom")
        out.extend("        " + line for line in _NORMALISE)
        body(f'        steps.append((_STEPOP_ADD, "bonus", {_int(points)}, {_VALUE}, "{note}"))')

    for position, (points, bonus) in enumerate(before_bonuses):
        add(points, bonus, before_trees[position], f"_before{position}", "multiplied")
    if tiered:
        body("    if tier_denominator == 0:")
        body(
            "        tier_numerator, tier_denominator = "
            "facts.member.earn_multiplier.as_integer_ratio()"
        )
        body("    if tier_numerator != 1 or tier_denominator != 1:")
        body("        top *= tier_numerator")
        body("        bottom *= tier_denominator")
        out.extend("        " + line for line in _NORMALISE)
        factor = "(tier_numerator if tier_denominator == 1 else (tier_numerator, tier_denominator))"
        body(f'        steps.append((_STEPOP_MULTIPLY, _TIER_LABEL, {factor}, {_VALUE}, ""))')
    for position, (numerator, denominator, raw, condition, label) in enumerate(campaigns):
        indent = "    "
        if condition is not None:
            outcome = test(campaign_trees[position], condition, f"campaign{position}")
            body(f"    if {outcome} is True:")
            indent = "        "
        body(f"{indent}top *= {_int(numerator)}")
        if denominator != 1:
            body(f"{indent}bottom *= {_int(denominator)}")
        out.extend(indent + line for line in _NORMALISE)
        step = f"(_STEPOP_MULTIPLY, {bind(f'label{position}', label)}, "
        step += f'{bind(f"raw{position}", raw)}, {_VALUE}, "")'
        body(f"{indent}steps.append({step})")
    for position, (points, bonus) in enumerate(after_bonuses):
        add(points, bonus, after_trees[position], f"_after{position}", "")
    body("    if bottom != 1:")
    if rounding == "floor":
        body("        top //= bottom")
    else:
        body(f"        top = raw_round(top, bottom, {bind('rounding', rounding)})")
    round_step = f"(_STEPOP_ROUND, {bind('round_label', round_label)}, top, top, "
    round_step += f"{bind('rounding', rounding)})"
    body(f"        steps.append({round_step})")
    body("    if not -_POINTS_MAX <= top <= _POINTS_MAX:")
    body(f"        {early(_REASON_POINTS_OVERFLOW)}")
    body("        break")
    body("    if top == 0:")
    body(f"        {verdict} = ({rule_name}, _STATUS_NOT_ELIGIBLE, _ZERO_POINTS, tuple(steps), 0)")
    body("        break")
    award = _award_lines(rule_name, bind("currency", currency), single=single)
    if not cap_rows:
        out.extend("    " + line for line in award("top"))
        body(f"    {verdict} = ({rule_name}, _STATUS_AWARDED, (), tuple(steps), top)")
        body("    break")
        return ["    " + line for line in out]
    body("    if top < 0:")
    out.extend("        " + line for line in award("top"))
    body(f"        {verdict} = ({rule_name}, _STATUS_AWARDED, (), tuple(steps), top)")
    body("        break")
    body("    allowed = top")
    body("    reasons = ()")
    # The local day's period keys: from the zone's last day when the event falls in it (what
    # Facts.local_date reads first), else from the facts.
    body("    if periods is None:")
    body("        day = _DAYS.get(facts.zone)")
    body("        if day is not None and day[0] <= event.at <= day[1]:")
    body("            periods = day[3]")
    body("        else:")
    body("            facts.local_date()")
    body("            periods = facts._periods")
    for position, row_cap in enumerate(cap_rows):
        out.extend(_cap_lines(position, row_cap, bind, partial=partial, shared=shared))
    body("    if allowed == 0:")
    body(f"        {verdict} = ({rule_name}, _STATUS_CAPPED, reasons, tuple(steps), 0)")
    body("        break")
    for position in range(len(cap_rows)):
        if shared:
            body(f"    count = counters.get(key{position})")
            body("    if count is None:")
            body(f"        counters[key{position}] = [allowed, 1]")
            body("    else:")
            body("        count[0] += allowed")
            body("        count[1] += 1")
        else:
            body("    counter = _new(Counter)")
            body("    _set_counter_points(counter, allowed)")
            body("    _set_counter_tasks(counter, 1)")
            body(f"    increments.append((key{position}, counter))")
    out.extend("    " + line for line in award("allowed"))
    body("    status = _STATUS_AWARDED if allowed == top else _STATUS_PARTIALLY_AWARDED")
    body(f"    {verdict} = ({rule_name}, status, reasons, tuple(steps), allowed)")
    body("    break")
    return ["    " + line for line in out]


def _award_lines(rule_name: str, currency_name: str, *, single: bool) -> Callable[[str], list[str]]:
    def lines(points: str) -> list[str]:
        return [
            "award = _new(Award)",
            f"_set_award_rule(award, {rule_name})",
            f"_set_award_currency(award, {currency_name})",
            f"_set_award_points(award, {points})",
            "awards = (award,)" if single else "awards.append(award)",
        ]

    return lines


def _cap_lines(
    position: int,
    cap: tuple[str, str, int | None, int | None, str, str, Reason, Reason],
    bind: Callable[[str, object], str],
    *,
    partial: bool,
    shared: bool,
) -> list[str]:
    """The source of one cap: its counter key, then its task and point limits.

    With *shared* counters the cap also counts what the rules before it added to its counter
    in this event (``added``); the first cap of a rule runs with the whole award allowed.
    """
    scope, period, points, tasks, points_label, tasks_label, points_reason, tasks_reason = cap
    key = f"key{position}"
    period_name = bind(f"cap{position}_period", period)
    out = [
        (
            f"    {key} = ({bind(f'cap{position}_scope', scope)}, "
            f"periods.get({period_name}) or facts.period({period_name}))"
        ),
        "    if allowed != 0:" if position else "    if True:",
        f"        stored = stored_counters.get({key}, _ZERO)",
    ]
    used_tasks = "stored.tasks"
    used_points = "stored.points"
    if shared:
        out.append(f"        added = counters.get({key}) if counters else None")
        used_tasks = "stored.tasks + added[1] if added else stored.tasks"
        used_points = "stored.points + added[0] if added else stored.points"
    indent = "        "
    if tasks is not None:
        out += [
            f"        used_tasks = {used_tasks}",
            f"        if used_tasks >= {_int(tasks)}:",
            (
                f"            steps.append((_STEPOP_LIMIT, "
                f"{bind(f'cap{position}_tasks_label', tasks_label)}, "
                "0, 0, (_TASKS_NONE_LEFT, used_tasks)))"
            ),
            f"            reasons += ({bind(f'cap{position}_tasks_reason', tasks_reason)},)",
            "            allowed = 0",
        ]
        if points is not None:
            out.append("        else:")
            indent = "            "
    if points is not None:
        label = bind(f"cap{position}_points_label", points_label)
        limit = "left" if partial else "limit"
        note = "_LEFT" if partial else "_LEFT_ALL_OR_NOTHING"
        out += [
            f"{indent}used_points = {used_points}",
            f"{indent}left = {_int(points)} - used_points if {_int(points)} > used_points else 0",
        ]
        if not partial:
            out.append(f"{indent}limit = left if allowed <= left else 0")
        out += [
            f"{indent}kept = {limit} if {limit} < allowed else allowed",
            f"{indent}steps.append((_STEPOP_LIMIT, {label}, {limit}, kept, ({note}, left)))",
            f"{indent}if kept < allowed:",
            f"{indent}    reasons += ({bind(f'cap{position}_points_reason', points_reason)},)",
            f"{indent}    allowed = kept",
        ]
    return out


def _assembly_lines(rules: int, *, capped: bool, shared: bool) -> list[str]:
    """The source that makes the decision of the rules' verdicts, awards and counters."""
    lines = []
    if capped and not shared:
        lines += [
            "    if len(increments) > 1:",
            "        increments.sort(key=_key_of)  # the keys are distinct",
            "    counted = tuple(increments)",
        ]
    elif capped:
        lines += [
            "    if not counters:",
            "        counted = ()",
            "    else:",
            "        counted = []",
            "        for key, count in sorted(counters.items()):",
            "            counter = _new(Counter)",
            "            _set_counter_points(counter, count[0])",
            "            _set_counter_tasks(counter, count[1])",
            "            counted.append((key, counter))",
            "        counted = tuple(counted)",
        ]
    else:
        lines.append("    counted = ()")
    verdicts = ", ".join(f"verdict{index}" for index in range(rules))
    # The decision as _decision makes it, each field set directly: a field of Decision the
    # values below do not name fails here, when the rule set is built.
    values = {
        "event": "event",
        "awards": "awards" if rules == 1 else "tuple(awards)",
        "counters": "counted",
        "budgets": "()",
        "streaks": "()",
        "coupons": "()",
        "_verdicts": f"({verdicts},)",
        "_facts": "facts",
        "_conditions": "CONDITIONS",
        "_explained": "None",
    }
    lines.append("    decision = _new(Decision)")
    lines.extend(f"    _set{name}(decision, {values[name]})" for name in _DECISION_SLOTS)
    lines.append("    return decision")
    return lines

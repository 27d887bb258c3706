"""One earning table written for each peer rules engine, so rules_bench.py can time them side by side.

The table (DESIGN.md §7 asks pointkit to beat these peers "on the same earning table"), for a
purchase event with ``amount`` (yuan, a ``Decimal``), ``tier``, ``category``, ``is_holiday`` and
``channel``:

1. base: 1 point per 10 yuan, exact: ``amount / 10``;
2. x2 when ``tier == "silver"``, x3 when ``tier == "gold"``;
3. x2 when ``is_holiday``;
4. rounded down once, after the multipliers: ``floor(amount / 10 * tier * holiday)`` (88 yuan
   for a silver member earns 17, not 16);
5. +50 when ``category == "electronics"`` and ``amount >= 1000`` (added after the multipliers,
   so it is not multiplied);
6. at most 500 points per event.

Each ``make_<peer>()`` compiles the table once, as that peer's documentation shows, and returns a
function computing the points of one event. The work a host would do per event to feed the peer
(building its context, converting the amount) is inside that function, so it is timed.
``reference_points`` is the table in plain Python with ``Decimal``: every peer must agree with it.

Why the structure is what it is:

* The peers are imported inside the ``make_*`` functions: they are the ``bench`` extra, not a
  test dependency, and ``mypy`` runs over bench/ in ``make test`` with or without them installed.
  Hence the import ignores name both ``import-not-found`` and ``unused-ignore``.
* Amounts are non-negative (purchases), so the peers' truncating ``Decimal // 10`` equals
  ``floor``: ``amount * tier * holiday // 10`` is the rounded, multiplied base.
* zen-engine computes with ``rust_decimal`` but takes no ``Decimal`` from Python, and its binding
  turns any non-integer result into a ``float``. The amount goes in as a string parsed by
  ``number(amount)`` inside the graph (exact), and the points come back as an ``int`` because the
  graph only produces integers; anything else is refused rather than rounded.
* rule-engine runs with its default ``Context``, as its README does. A ``type_resolver`` naming
  the event's field types would catch typos when the rule is parsed, but it also checks every
  value as it is read, which cost about 30% of its speed here: the peer is measured at its best.
* business-rules compares numbers with an epsilon of 1e-6 (``NumericType.EPSILON``), so its
  ``amount >= 1000`` also holds for 999.9999995. The benchmark's amounts are whole cents, where the
  epsilon cannot change an answer.
"""

from __future__ import annotations

import itertools
import json
import math
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol, TypedDict, TypeVar, cast


if TYPE_CHECKING:
    from collections.abc import Callable


class Event(TypedDict):
    """A purchase event as the benchmark generates it."""

    amount: Decimal
    tier: str
    category: str
    is_holiday: bool
    channel: str


YUAN_PER_POINT = 10
SILVER_MULTIPLIER = 2
GOLD_MULTIPLIER = 3
HOLIDAY_MULTIPLIER = 2
BONUS_CATEGORY = "electronics"
BONUS_MIN_AMOUNT = 1000
BONUS_POINTS = 50
POINTS_PER_EVENT_MAX = 500

_TIER_MULTIPLIERS = {"silver": SILVER_MULTIPLIER, "gold": GOLD_MULTIPLIER}


def reference_points(event: Event) -> int:
    """The earning table in plain Python and ``Decimal``: the answer every engine must give."""
    amount = event["amount"]
    scaled = amount * _TIER_MULTIPLIERS.get(event["tier"], 1)
    if event["is_holiday"]:
        scaled *= HOLIDAY_MULTIPLIER
    points = math.floor(scaled / YUAN_PER_POINT)
    if event["category"] == BONUS_CATEGORY and amount >= BONUS_MIN_AMOUNT:
        points += BONUS_POINTS
    return min(points, POINTS_PER_EVENT_MAX)


def _whole_points(value: object, peer: str) -> int:
    """The points a peer returned, refused unless they are already an integer (never rounded)."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise TypeError(f"{peer} returned points={value!r}; an int or integral Decimal is needed")
    if isinstance(value, Decimal):
        if value != value.to_integral_value():
            raise TypeError(f"{peer} returned points={value!r}, which is not whole")
        return int(value)
    return value


# zen-engine ---------------------------------------------------------------------------------------


def zen_graph() -> str:
    """The table as a JDM decision graph: two first-hit decision tables, then an expression node.

    request -> "tier multiplier" table (tier) -> "bonus" table (category, amount) -> "points"
    expression (base, holiday multiplier, cap) -> response. The tables pass the request through,
    so the expression node sees the event and both table outputs.
    """
    tier_table = {
        "hitPolicy": "first",
        "passThrough": True,
        "inputs": [{"id": "tier", "name": "Tier", "field": "tier"}],
        "outputs": [{"id": "multiplier", "name": "Tier multiplier", "field": "tierMultiplier"}],
        "rules": [
            {"_id": "silver", "tier": '"silver"', "multiplier": str(SILVER_MULTIPLIER)},
            {"_id": "gold", "tier": '"gold"', "multiplier": str(GOLD_MULTIPLIER)},
            {"_id": "other", "tier": "", "multiplier": "1"},
        ],
    }
    bonus_table = {
        "hitPolicy": "first",
        "passThrough": True,
        "inputs": [
            {"id": "category", "name": "Category", "field": "category"},
            {"id": "amount", "name": "Amount", "field": "number(amount)"},
        ],
        "outputs": [{"id": "bonus", "name": "Bonus", "field": "bonus"}],
        "rules": [
            {
                "_id": "electronics",
                "category": json.dumps(BONUS_CATEGORY),
                "amount": f">= {BONUS_MIN_AMOUNT}",
                "bonus": str(BONUS_POINTS),
            },
            {"_id": "other", "category": "", "amount": "", "bonus": "0"},
        ],
    }
    points = (
        f"min([floor(number(amount) * tierMultiplier * (is_holiday ? {HOLIDAY_MULTIPLIER} : 1)"
        f" / {YUAN_PER_POINT}) + bonus, {POINTS_PER_EVENT_MAX}])"
    )
    expression = {"expressions": [{"id": "points", "key": "points", "value": points}]}
    nodes: list[dict[str, object]] = [
        {"id": "request", "type": "inputNode", "name": "Request"},
        {
            "id": "tier",
            "type": "decisionTableNode",
            "name": "Tier multiplier",
            "content": tier_table,
        },
        {"id": "bonus", "type": "decisionTableNode", "name": "Bonus", "content": bonus_table},
        {"id": "points", "type": "expressionNode", "name": "Points", "content": expression},
        {"id": "response", "type": "outputNode", "name": "Response"},
    ]
    for x, node in enumerate(nodes):
        node["position"] = {"x": 250 * x, "y": 0}
    order = [str(node["id"]) for node in nodes]
    edges = [
        {"id": f"{source}-{target}", "type": "edge", "sourceId": source, "targetId": target}
        for source, target in itertools.pairwise(order)
    ]
    return json.dumps(
        {"contentType": "application/vnd.gorules.decision", "nodes": nodes, "edges": edges}
    )


def _zen_context(event: Event) -> dict[str, object]:
    # zen refuses Decimal; a string read by number() in the graph stays exact, a float might not.
    return {
        "amount": str(event["amount"]),
        "tier": event["tier"],
        "category": event["category"],
        "is_holiday": event["is_holiday"],
        "channel": event["channel"],
    }


def make_zen_decision() -> Callable[[Event], int]:
    """zen-engine: ``engine.create_decision(graph)`` once, then ``decision.evaluate(context)``."""
    import zen  # type: ignore[import-not-found, unused-ignore]  # noqa: PLC0415

    decision = zen.ZenEngine().create_decision(zen_graph())

    def points(event: Event) -> int:
        return _whole_points(decision.evaluate(_zen_context(event))["result"]["points"], "zen")

    return points


def make_zen_loader() -> Callable[[Event], int]:
    """zen-engine: an engine with a loader, then ``engine.evaluate("earning", context)``."""
    import zen  # type: ignore[import-not-found, unused-ignore]  # noqa: PLC0415

    graph = zen_graph()

    def loader(_key: str) -> str:
        return graph

    engine = zen.ZenEngine({"loader": loader})

    def points(event: Event) -> int:
        response = engine.evaluate("earning", _zen_context(event))
        return _whole_points(response["result"]["points"], "zen")

    return points


# business-rules -----------------------------------------------------------------------------------

_Method = TypeVar("_Method")


class _Decorator(Protocol):
    """What business-rules' variable and action decorators are: they return the method they mark."""

    def __call__(self, method: _Method, /) -> _Method: ...


def business_rules_table() -> list[dict[str, object]]:
    """The table as business-rules rules: JSON-able conditions on variables, each firing actions."""

    def rule(conditions: list[dict[str, object]], action: str, **params: int) -> dict[str, object]:
        return {"conditions": {"all": conditions}, "actions": [{"name": action, "params": params}]}

    def tier(name: str) -> list[dict[str, object]]:
        return [{"name": "tier", "operator": "equal_to", "value": name}]

    at_least = "greater_than_or_equal_to"
    return [
        rule(
            [{"name": "amount", "operator": at_least, "value": 0}],
            "earn_per_yuan",
            yuan_per_point=YUAN_PER_POINT,
        ),
        rule(tier("silver"), "multiply", factor=SILVER_MULTIPLIER),
        rule(tier("gold"), "multiply", factor=GOLD_MULTIPLIER),
        # is_true takes no input, but business-rules reads a condition's "value" all the same.
        rule(
            [{"name": "is_holiday", "operator": "is_true", "value": True}],
            "multiply",
            factor=HOLIDAY_MULTIPLIER,
        ),
        rule([{"name": "amount", "operator": at_least, "value": 0}], "round_down", unit=1),
        rule(
            [
                {"name": "category", "operator": "equal_to", "value": BONUS_CATEGORY},
                {"name": "amount", "operator": at_least, "value": BONUS_MIN_AMOUNT},
            ],
            "add_bonus",
            bonus=BONUS_POINTS,
        ),
        rule(
            [{"name": "points", "operator": "greater_than", "value": POINTS_PER_EVENT_MAX}],
            "cap_at",
            limit=POINTS_PER_EVENT_MAX,
        ),
    ]


class _Tally(Protocol):
    """The actions object: it holds the points earned so far."""

    points: int | Decimal


def _business_rules_award() -> Callable[[Event], _Tally]:
    """The actions class: what a rule that fires does to the points."""
    from business_rules import actions, fields  # type: ignore[import-untyped, import-not-found, unused-ignore]  # noqa: PLC0415

    def action(param: str) -> _Decorator:
        return cast("_Decorator", actions.rule_action(params={param: fields.FIELD_NUMERIC}))

    class Award(actions.BaseActions):  # type: ignore[misc]  # business-rules has no type hints
        def __init__(self, event: Event) -> None:
            self.event = event
            self.points: int | Decimal = 0

        @action("yuan_per_point")
        def earn_per_yuan(self, yuan_per_point: int) -> None:
            self.points = self.event["amount"] / yuan_per_point  # exact until rounded

        @action("factor")
        def multiply(self, factor: int) -> None:
            self.points *= factor

        @action("unit")
        def round_down(self, unit: int) -> None:
            self.points = int(self.points // unit)

        @action("bonus")
        def add_bonus(self, bonus: int) -> None:
            self.points += bonus

        @action("limit")
        def cap_at(self, limit: int) -> None:
            self.points = limit

    return Award


def _business_rules_purchase() -> Callable[[Event, _Tally], object]:
    """The variables class: what conditions can test, including the points so far."""
    from business_rules import variables  # type: ignore[import-untyped, import-not-found, unused-ignore]  # noqa: PLC0415

    numeric = cast("_Decorator", variables.numeric_rule_variable)
    string = cast("_Decorator", variables.string_rule_variable)
    boolean = cast("_Decorator", variables.boolean_rule_variable)

    class Purchase(variables.BaseVariables):  # type: ignore[misc]  # business-rules has no type hints
        def __init__(self, event: Event, award: _Tally) -> None:
            self.event = event
            self.award = award

        @numeric
        def amount(self) -> Decimal:
            return self.event["amount"]

        @string
        def tier(self) -> str:
            return self.event["tier"]

        @string
        def category(self) -> str:
            return self.event["category"]

        @boolean
        def is_holiday(self) -> bool:
            return self.event["is_holiday"]

        @numeric
        def points(self) -> int | Decimal:
            return self.award.points

    return Purchase


def make_business_rules() -> Callable[[Event], int]:
    """business-rules: ``run_all(rules, Purchase(event, award), award)`` with the rules in order.

    The variables and actions objects are made per event, as its README does; the points so far
    are a variable too, so the cap is a rule like the others.
    """
    from business_rules import engine  # type: ignore[import-untyped, import-not-found, unused-ignore]  # noqa: PLC0415

    award_for = _business_rules_award()
    purchase = _business_rules_purchase()
    rules = business_rules_table()
    run_all = engine.run_all

    def points(event: Event) -> int:
        award = award_for(event)
        run_all(
            rule_list=rules,
            defined_variables=purchase(event, award),
            defined_actions=award,
            stop_on_first_trigger=False,
        )
        return _whole_points(award.points, "business-rules")

    return points


# rule-engine --------------------------------------------------------------------------------------


def rule_engine_expression() -> str:
    """The whole table as one rule-engine expression over ``Decimal`` (its FLOAT type)."""
    tier = f"(tier == 'gold' ? {GOLD_MULTIPLIER} : (tier == 'silver' ? {SILVER_MULTIPLIER} : 1))"
    holiday = f"(is_holiday ? {HOLIDAY_MULTIPLIER} : 1)"
    bonus = (
        f"(category == '{BONUS_CATEGORY}' and amount >= {BONUS_MIN_AMOUNT} ? {BONUS_POINTS} : 0)"
    )
    earned = f"amount * {tier} * {holiday} // {YUAN_PER_POINT} + {bonus}"
    return f"$min([{earned}, {POINTS_PER_EVENT_MAX}])"


def make_rule_engine() -> Callable[[Event], int]:
    """rule-engine: the table as one ``Rule`` expression; ``rule.evaluate(event)`` is the points."""
    import rule_engine  # type: ignore[import-untyped, import-not-found, unused-ignore]  # noqa: PLC0415

    rule = rule_engine.Rule(rule_engine_expression())

    def points(event: Event) -> int:
        return _whole_points(rule.evaluate(event), "rule-engine")

    return points


def make_rule_engine_rows() -> Callable[[Event], int]:
    """rule-engine: a ``Rule`` for the base and a first-match ``Chain`` per multiplier and bonus.

    This is the table kept row by row, as a rules author would maintain it; Python multiplies
    the parts and applies the cap.
    """
    import rule_engine  # type: ignore[import-untyped, import-not-found, unused-ignore]  # noqa: PLC0415

    context = rule_engine.Context()
    base = rule_engine.Rule("amount", context=context)
    chain = rule_engine.Chain
    tier = chain(
        [("tier == 'gold'", GOLD_MULTIPLIER), ("tier == 'silver'", SILVER_MULTIPLIER)],
        default_value=1,
        context=context,
    )
    holiday = chain([("is_holiday", HOLIDAY_MULTIPLIER)], default_value=1, context=context)
    bonus = chain(
        [(f"category == '{BONUS_CATEGORY}' and amount >= {BONUS_MIN_AMOUNT}", BONUS_POINTS)],
        default_value=0,
        context=context,
    )

    def points(event: Event) -> int:
        scaled = base.evaluate(event) * tier.evaluate(event) * holiday.evaluate(event)
        earned = scaled // YUAN_PER_POINT + bonus.evaluate(event)
        return _whole_points(min(earned, POINTS_PER_EVENT_MAX), "rule-engine")

    return points

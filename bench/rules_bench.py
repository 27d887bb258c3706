"""Rules: events per second for one earning table, pointkit beside the peer engines, same run.

Run with ``make bench`` (which installs the peers, the ``bench`` extra) or directly with
``python bench/rules_bench.py``. The table and the way each peer expresses it are in
rules_peers.py. The benchmark:

1. generates a deterministic sample of purchase events (seeded; POINTKIT_BENCH_EVENTS of them,
   20,000 by default), whole-cent amounts with the table's edges (999.99, 1000.00, the cap) mixed in;
2. checks that every engine gives exactly the points of the plain-Python reference for every event,
   and stops with a non-zero exit status if any disagrees: a fast wrong answer is not measured;
3. times each engine over the whole sample, RUNS rounds (POINTKIT_BENCH_RUNS, 5 by default),
   every engine once a round in turn, so a busy spell of a shared machine falls on all of them;
   keeps each engine's best round, garbage collection paused, and prints events per second
   with pointkit's ratio to each peer beside DESIGN.md §7's targets;
4. times the 50-rule program the same way, its explanations available (the explanation objects
   made; each trace and trail is built when read), and, beside it for information, with every
   explanation read in full and with the decision written as JSON (what the ledger stores).

The figures are this machine's, measured in this run; nothing here asserts a time.
"""

from __future__ import annotations

import gc
import itertools
import os
import random
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from importlib import metadata
from typing import TYPE_CHECKING

import rules_peers
from rules_peers import Event, reference_points


if TYPE_CHECKING:
    from collections.abc import Callable

    from pointkit.rules import Event as RuleEvent
    from pointkit.rules import RuleSet, RuleState


EVENTS = int(os.environ.get("POINTKIT_BENCH_EVENTS", "20000"))
SEED = 20_260_101
RUNS = int(os.environ.get("POINTKIT_BENCH_RUNS", "5"))
FIFTY_RULES_TARGET_EVENTS_PER_SECOND = 50_000

TIERS = ("normal", "silver", "gold")
CATEGORIES = ("electronics", "grocery", "apparel", "books")
CHANNELS = ("app", "web", "store")
# Amounts where the table changes its answer: rounding at 10 yuan, the bonus threshold, the cap
# (gold on a holiday earns 6x, so the cap bites from 834 yuan).
EDGE_AMOUNTS = tuple(
    Decimal(text)
    for text in (
        "0.00",
        "0.01",
        "9.99",
        "10.00",
        "10.01",
        "833.33",
        "834.00",
        "999.99",
        "1000.00",
        "1000.01",
        "1250.00",
        "4999.99",
        "5000.00",
    )
)
EDGE_SHARE = 0.05
HOLIDAY_SHARE = 0.2
CENTS_MAX = 300_000
DISAGREEMENTS_SHOWN = 5  # per engine: enough to see the pattern


# --- pointkit: filled in by the lead once pointkit.rules has an engine -----------------------------


def _table() -> RuleSet:
    """The earning table in pointkit.rules: one rule on a host-defined "order" kind."""
    from pointkit import Money  # noqa: PLC0415 - bench imports lazily, like the peers
    from pointkit.rules import (  # noqa: PLC0415
        All,
        Bonus,
        Cap,
        Compare,
        Const,
        EventRegistry,
        EventSchema,
        Fact,
        FieldSpec,
        Multiplier,
        Rate,
        Rule,
        RuleSet,
    )

    registry = EventRegistry.default().register(
        EventSchema(
            "order",
            {
                "amount": FieldSpec("money"),
                "category": FieldSpec("str"),
                "is_holiday": FieldSpec("bool"),
                "channel": FieldSpec("str"),
            },
        )
    )
    electronics = All(
        (
            Compare(Fact("event.category"), "==", Const(rules_peers.BONUS_CATEGORY)),
            Compare(
                Fact("event.amount"),
                ">=",
                Const(Money(rules_peers.BONUS_MIN_AMOUNT, "CNY")),
            ),
        )
    )
    spend = Rule(
        "spend",
        ("order",),
        Rate(1, per=Money(rules_peers.YUAN_PER_POINT, "CNY"), rounding="floor"),
        multipliers=(
            Multiplier(
                "holiday",
                rules_peers.HOLIDAY_MULTIPLIER,
                Compare(Fact("event.is_holiday"), "==", Const(value=True)),
            ),
        ),
        bonuses=(Bonus(rules_peers.BONUS_POINTS, electronics),),
        # Each event is evaluated on a fresh state, so the day's cap is the event's cap.
        caps=(Cap("day", points=rules_peers.POINTS_PER_EVENT_MAX),),
    )
    return RuleSet([spend], zone="UTC", registry=registry)


def pointkit_engine() -> Callable[[Event], int] | None:
    """The earning table in pointkit.rules: build the event, evaluate it, explanation included.

    The per-event work a host does is inside the timed function: turning the request into a
    checked ``Event`` (amount as ``Money``) and evaluating it against a state snapshot.
    """
    from pointkit import Money  # noqa: PLC0415
    from pointkit.rules import Event as RuleEvent  # noqa: PLC0415
    from pointkit.rules import MemberContext, RuleState  # noqa: PLC0415

    rules = _table()
    multipliers = {"normal": 1, "silver": rules_peers.SILVER_MULTIPLIER}
    multipliers["gold"] = rules_peers.GOLD_MULTIPLIER
    states = {
        tier: RuleState(MemberContext(tier=tier, earn_multiplier=factor))
        for tier, factor in multipliers.items()
    }
    at = datetime(2026, 3, 1, tzinfo=UTC)
    ids = itertools.count()

    def points(event: Event) -> int:
        order = RuleEvent(
            f"o{next(ids)}",
            "order",
            "m",
            at,
            {
                "amount": Money(event["amount"], "CNY"),
                "category": event["category"],
                "is_holiday": event["is_holiday"],
                "channel": event["channel"],
            },
        )
        decision = rules.evaluate(order, states[event["tier"]], at)
        return decision.total()

    return points


def _fifty_rule_program() -> tuple[RuleSet, RuleState, datetime, list[RuleEvent]]:
    """A 50-rule program (10 event kinds, 5 rules each), a member's state, now, and the sample."""
    from pointkit import Money  # noqa: PLC0415
    from pointkit.rules import (  # noqa: PLC0415
        Cap,
        Compare,
        Const,
        EventRegistry,
        EventSchema,
        Fact,
        FieldSpec,
        Fixed,
        MemberContext,
        Rate,
        Rule,
        RuleSet,
        RuleState,
    )
    from pointkit.rules import Event as RuleEvent  # noqa: PLC0415

    kinds = [f"task_{index}" for index in range(10)]
    registry = EventRegistry.default()
    for kind in kinds:
        registry = registry.register(
            EventSchema(kind, {"amount": FieldSpec("money"), "level": FieldSpec("int")})
        )
    rules = []
    for kind in kinds:
        for index in range(5):
            effect = Rate(1, per=Money(10, "CNY"), rounding="floor") if index == 0 else Fixed(index)
            rules.append(
                Rule(
                    f"{kind}-{index}",
                    (kind,),
                    effect,
                    Compare(Fact("event.level"), ">=", Const(index)),
                    caps=(Cap("day", tasks=10),),
                )
            )
    program = RuleSet(
        rules, zone="Asia/Shanghai", registry=registry, caps=(Cap("day", points=100),)
    )
    at = datetime(2026, 3, 1, tzinfo=UTC)
    state = RuleState(MemberContext())
    sample = [
        RuleEvent(
            f"e{index}",
            kinds[index % len(kinds)],
            "m",
            at,
            {"amount": Money(index % 500, "CNY"), "level": index % 7},
        )
        for index in range(EVENTS)
    ]
    return program, state, at, sample


def pointkit_fifty_rules() -> list[tuple[str, Callable[[], None]]] | None:
    """The 50-rule program: a pass over the sample per way of reading the decisions.

    Each returned function runs one pass: the decisions with their explanations available (``decision.explanations`` read: the objects made, the target's
    measure), with every explanation read in full (each trace and trail built), and written as
    JSON.
    """
    program, state, at, sample = _fifty_rule_program()
    evaluate = program.evaluate

    def available() -> None:
        for event in sample:
            _ = evaluate(event, state, at).explanations

    def read_in_full() -> None:
        for event in sample:
            for explained in evaluate(event, state, at).explanations:
                _ = (explained.conditions, explained.trail)

    def as_json() -> None:
        for event in sample:
            _ = evaluate(event, state, at).to_json()

    return list(zip(FIFTY_RULES, (available, read_in_full, as_json), strict=True))


FIFTY_RULES = (
    "pointkit.rules: 50-rule program, explanations available",
    "pointkit.rules: 50-rule program, explanations read in full",
    "pointkit.rules: 50-rule program, decision as JSON",
)


# --- the sample, the check, the clock --------------------------------------------------------------


def make_events(count: int, seed: int = SEED) -> list[Event]:
    """*count* purchase events from a PRNG seeded with *seed*: the same sample on every run."""
    rng = random.Random(seed)
    events: list[Event] = []
    for _ in range(count):
        if rng.random() < EDGE_SHARE:
            amount = rng.choice(EDGE_AMOUNTS)
        else:
            amount = Decimal(rng.randrange(CENTS_MAX)).scaleb(-2)
        events.append(
            Event(
                amount=amount,
                tier=rng.choice(TIERS),
                category=rng.choice(CATEGORIES),
                is_holiday=rng.random() < HOLIDAY_SHARE,
                channel=rng.choice(CHANNELS),
            )
        )
    return events


def disagreements(
    name: str, engine: Callable[[Event], int], events: list[Event], expected: list[int]
) -> list[str]:
    """A line per event where *engine* does not give exactly the reference points (the first few)."""
    lines: list[str] = []
    for event, want in zip(events, expected, strict=True):
        got = engine(event)
        if type(got) is not int or got != want:
            lines.append(f"  {name}: {got!r} points, expected {want} for {event!r}")
            if len(lines) == DISAGREEMENTS_SHOWN:
                break
    return lines


def _pass(engine: Callable[[Event], int], events: list[Event]) -> Callable[[], None]:
    """One pass of *engine* over *events*."""

    def run() -> None:
        for event in events:
            engine(event)

    return run


Seconds = tuple[float, float]
"""A pass's time: (wall-clock seconds, seconds of the process's CPU time)."""


def best_seconds(passes: dict[str, Callable[[], None]]) -> dict[str, Seconds]:
    """The fastest of RUNS rounds of each pass, by each clock; a round runs every pass in turn.

    Garbage collection is paused during a pass, as timeit does. CPU time leaves out the spells
    a busy shared machine gives the process no processor; wall time is what a host waits.
    """
    best = dict.fromkeys(passes, (float("inf"), float("inf")))
    for _ in range(RUNS):
        for name, run in passes.items():
            gc.collect()
            gc.disable()
            try:
                wall, cpu = time.perf_counter(), time.process_time()
                run()
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            finally:
                gc.enable()
            best[name] = (min(best[name][0], wall), min(best[name][1], cpu))
    return best


# --- the table ------------------------------------------------------------------------------------


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "?"


def peers() -> list[tuple[str, Callable[[], Callable[[Event], int]], float | None]]:
    """(measure, maker, pointkit's target multiple of it or None) for every peer measure."""
    zen = f"zen-engine {_version('zen-engine')}"
    business = f"business-rules {_version('business-rules')}"
    rule_engine = f"rule-engine {_version('rule-engine')}"
    return [
        (f"{zen}: decision.evaluate", rules_peers.make_zen_decision, 10.0),
        (f"{zen}: engine.evaluate with a loader", rules_peers.make_zen_loader, None),
        (f"{business}: run_all", rules_peers.make_business_rules, 2.0),
        (f"{rule_engine}: one Rule expression", rules_peers.make_rule_engine, 2.0),
        (f"{rule_engine}: Rule + Chains, row by row", rules_peers.make_rule_engine_rows, 2.0),
    ]


def _print_fifty_rules(width: int) -> None:
    """Time the 50-rule program's passes, interleaved, and print them, the first beside its target."""
    target = f">= {FIFTY_RULES_TARGET_EVENTS_PER_SECOND:,} events/s"
    fifty = pointkit_fifty_rules()
    if fifty is None:
        print(f"{FIFTY_RULES[0]:<{width}} {'not yet measured':>16}")
        return
    seconds = best_seconds(dict(fifty))
    for name, _ in fifty:
        wall, cpu = (EVENTS / clock for clock in seconds[name])
        wanted = "-"
        if name == FIFTY_RULES[0]:
            wanted = f"{target} ({_met(wall >= FIFTY_RULES_TARGET_EVENTS_PER_SECOND)}; CPU: "
            wanted += f"{_met(cpu >= FIFTY_RULES_TARGET_EVENTS_PER_SECOND)})"
        print(f"{name:<{width}} {wall:>10,.0f} {'-':>7} {cpu:>10,.0f} {'-':>7}  {wanted}")


def _met(met: bool) -> str:  # noqa: FBT001 - a verdict to print
    return "met" if met else "NOT met"


def _ratio(ours: float | None, theirs: float) -> str:
    return "-" if ours is None else f"{ours / theirs:.1f}x"


def main() -> int:
    """Check every engine against the reference, time them, print the table; non-zero on failure."""
    if EVENTS < 1:
        print(f"POINTKIT_BENCH_EVENTS={EVENTS} must be a positive number of events")
        return 2
    events = make_events(EVENTS)
    expected = [reference_points(event) for event in events]
    engines: list[tuple[str, Callable[[Event], int], float | None]] = []
    ours = pointkit_engine()
    if ours is not None:
        engines.append(("pointkit.rules", ours, None))
    engines += [(name, make(), target) for name, make, target in peers()]
    engines.append(("plain Python + Decimal, no engine (floor)", reference_points, None))

    wrong = [
        line
        for name, engine, _ in engines
        for line in disagreements(name, engine, events, expected)
    ]
    if wrong:
        print(f"Engines disagree on the earning table ({EVENTS:,} events); nothing was timed:")
        print("\n".join(wrong))
        return 1

    seconds = best_seconds({name: _pass(engine, events) for name, engine, _ in engines})
    walls = {name: len(events) / wall for name, (wall, _) in seconds.items()}
    cpus = {name: len(events) / cpu for name, (_, cpu) in seconds.items()}
    print(
        f"Rules: one earning table, {EVENTS:,} events, best of {RUNS} interleaved rounds, events/s"
    )
    print(
        f"Every engine gave the same points as the plain-Python reference on all {EVENTS:,} events."
    )
    print("targets (DESIGN.md §7): pointkit >= 10x zen-engine decision.evaluate, >= 2x")
    print(
        f"business-rules and rule-engine; >= {FIFTY_RULES_TARGET_EVENTS_PER_SECOND:,} events/s "
        "for a 50-rule program with explanations"
    )
    print()
    width = max(len(name) for name in (*(name for name, _, _ in engines), *FIFTY_RULES))
    header = (
        f"{'measure':<{width}} {'events/s':>10} {'ratio':>7} {'CPU ev/s':>10} {'ratio':>7}  target"
    )
    print(header)
    print("-" * len(header))
    pointkit_name = "pointkit.rules"
    if pointkit_name not in walls:
        print(f"{pointkit_name:<{width}} {'not yet measured':>16}")
    for name, _, target in engines:
        wall, cpu = walls[name], cpus[name]
        mine = name == pointkit_name or pointkit_name not in walls
        wall_ratio = "-" if mine else _ratio(walls[pointkit_name], wall)
        cpu_ratio = "-" if mine else _ratio(cpus[pointkit_name], cpu)
        wanted = "-" if target is None else f"pointkit >= {target:.0f}x"
        if target is not None and not mine:
            wanted += f" ({_met(walls[pointkit_name] >= target * wall)}; "
            wanted += f"CPU: {_met(cpus[pointkit_name] >= target * cpu)})"
        print(
            f"{name:<{width}} {wall:>10,.0f} {wall_ratio:>7} {cpu:>10,.0f} {cpu_ratio:>7}  {wanted}"
        )
    _print_fifty_rules(width)
    print()
    print("ratio: pointkit's events/s over the peer's. Each peer's figure includes the")
    print(
        "per-event work a host does to call it (zen: building its context, the amount as a string)."
    )
    print("rules_peers.py has the table as each peer writes it and the caveats (floats, epsilons).")
    print("50-rule program: the target's measure has the explanations available (objects made,")
    print("each trace and trail built when read); the two lines after it read them in full.")
    print("events/s: by the wall clock, which judges the targets. CPU ev/s: by the process's CPU")
    print("time, which leaves out the spells a busy shared machine runs something else.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

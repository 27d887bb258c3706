"""Earning rules that issue coupons: decided purely, issued in the event's unit, once.

The storage tests run on memory, SQLite and PostgreSQL (``any_storage``) and end with the
programme's audit, which replays every coupon record's increments.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest

from pointkit import FixedClock, Ledger, MemoryStorage, Money
from pointkit.campaigns import AmountOff, CouponDefinition
from pointkit.exceptions import (
    ArgumentTypeError,
    ConfigurationError,
    CouponRefusedError,
    InvalidArgumentError,
)
from pointkit.features import Coupons, Earning
from pointkit.features._audit import audit_program
from pointkit.program import Program, config_from_toml
from pointkit.rules import (
    Cap,
    Compare,
    Const,
    Event,
    Fact,
    Fixed,
    MemberContext,
    Rate,
    Rule,
    RuleSet,
    RuleState,
    Status,
    rules_json_schema,
    ruleset_from_toml,
    ruleset_to_dict,
    ruleset_to_toml,
)


if TYPE_CHECKING:
    from pointkit.ledger import Storage


AT = datetime(2026, 3, 2, 4, tzinfo=UTC)  # 12:00 in Shanghai
TEN_OFF = CouponDefinition("ten-off", "10 yuan off", AmountOff(Money(10, "CNY")))
ONE_LEFT = CouponDefinition("last-one", "The last one", AmountOff(Money(5, "CNY")), stock=1)
OVER_200 = Compare(Fact("event.amount"), ">=", Const(Money(200, "CNY")))
FIRST_ORDER = Rule(
    "first-order",
    ("purchase",),
    Fixed(0),
    OVER_200,
    caps=(Cap("lifetime", tasks=1),),
    coupon="ten-off",
)
SPEND = Rule("spend", ("purchase",), Rate(1, per=Money(10, "CNY"), rounding="floor"))
RULES = RuleSet([FIRST_ORDER, SPEND], zone="Asia/Shanghai")


def _purchase(order: str, member: str, yuan: int) -> Event:
    return Event.purchase(order, member, AT, amount=Money(yuan, "CNY"), order_id=order)


@pytest.fixture
def ledger(any_storage: Storage) -> Ledger:
    """A ledger on each adapter in turn, in a programme of its own."""
    program = f"rule-coupons-{uuid.uuid4().hex[:8]}"
    return Ledger(any_storage, clock=FixedClock(AT), program=program)


@pytest.fixture
def coupons(ledger: Ledger) -> Coupons:
    """The coupons on that ledger."""
    return Coupons(ledger, [TEN_OFF, ONE_LEFT])


@pytest.fixture
def earning(ledger: Ledger, coupons: Coupons) -> Earning:
    """Earning on that ledger, issuing coupons through them."""
    return Earning(ledger, coupons=coupons)


def _audit(ledger: Ledger) -> None:
    with ledger.storage.reading(ledger.program) as unit:
        report = audit_program(unit, now=ledger.clock.now())
    assert () == report.not_audited


# -- deciding, purely -------------------------------------------------------------------------


def test_a_coupon_only_rule_fires_with_zero_points() -> None:
    """Fixed(0) with a coupon is awarded (not zero_points), awards no points, issues the coupon."""
    decision = RULES.evaluate(_purchase("o-1", "alice", 250), RuleState(MemberContext()), AT)
    explained = decision.explanation("first-order")
    assert (Status.AWARDED, (), 0) == (explained.status, explained.reasons, explained.points)
    assert (("first-order", "ten-off"),) == decision.coupons
    assert "ten-off" == explained.coupon
    assert "first-order: awarded 0 points, issues coupon ten-off" == explained.summary()
    assert ["spend"] == [award.rule for award in decision.awards]


def test_a_rule_that_does_not_fire_issues_nothing() -> None:
    """Under the condition, the coupon rule is not eligible and issues nothing."""
    decision = RULES.evaluate(_purchase("o-1", "alice", 150), RuleState(MemberContext()), AT)
    assert () == decision.coupons
    assert None is decision.explanation("first-order").coupon


def test_decision_json_names_coupons_only_when_issued() -> None:
    """A decision without coupons has no coupons key (stored decisions keep their bytes)."""
    plain = RULES.evaluate(_purchase("o-1", "alice", 150), RuleState(MemberContext()), AT)
    issued = RULES.evaluate(_purchase("o-2", "alice", 250), RuleState(MemberContext()), AT)
    assert "coupon" not in plain.to_json()
    document = json.loads(issued.to_json())
    assert [{"rule": "first-order", "coupon": "ten-off"}] == document["coupons"]
    explained = {item["rule"]: item for item in document["explanations"]}
    assert "ten-off" == explained["first-order"]["coupon"]
    assert "coupon" not in explained["spend"]


def test_a_task_cap_counts_and_stops_a_coupon_rule() -> None:
    """A coupon rule counts one task and 0 points; a used-up task cap leaves it capped."""
    rules = RuleSet(
        [Rule("share", ("share",), Fixed(0), caps=(Cap("day", tasks=1),), coupon="ten-off")],
        zone="Asia/Shanghai",
    )
    first = rules.evaluate(Event.share("s-1", "alice", AT), RuleState(MemberContext()), AT)
    (key, counter) = first.counters[0]
    assert ((0, 1), (("share", "ten-off"),)) == ((counter.points, counter.tasks), first.coupons)
    state = RuleState(MemberContext(), counters={key: counter})
    second = rules.evaluate(Event.share("s-2", "alice", AT), state, AT)
    explained = second.explanation("share")
    assert (Status.CAPPED, ()) == (explained.status, second.coupons)


def test_a_points_cap_cuts_points_and_keeps_the_coupon() -> None:
    """A partial award still fires: its coupon is issued with what the cap left."""
    rules = RuleSet(
        [Rule("share", ("share",), Fixed(50), caps=(Cap("day", points=60),), coupon="ten-off")],
        zone="Asia/Shanghai",
    )
    first = rules.evaluate(Event.share("s-1", "alice", AT), RuleState(MemberContext()), AT)
    state = RuleState(MemberContext(), counters=dict(first.counters))
    second = rules.evaluate(Event.share("s-2", "alice", AT), state, AT)
    explained = second.explanation("share")
    assert (Status.PARTIALLY_AWARDED, 10) == (explained.status, explained.points)
    assert (("share", "ten-off"),) == second.coupons


@pytest.mark.parametrize(
    ("coupon", "message"),
    [
        ("", "coupon='' must be non-empty"),
        ("a:b", "coupon='a:b' must not contain ':'"),
    ],
)
def test_a_bad_coupon_id_is_refused(coupon: str, message: str) -> None:
    """A rule's coupon must be an id: not empty, no colon."""
    with pytest.raises(InvalidArgumentError) as raised:
        Rule("share", ("share",), Fixed(0), coupon=coupon)
    assert message in str(raised.value)


def test_the_coupon_round_trips_through_toml_and_the_schema() -> None:
    """A rule's coupon is written when set, read back, and described by the JSON Schema."""
    text = ruleset_to_toml(RULES)
    assert RULES == ruleset_from_toml(text)
    rules = {rule["name"]: rule for rule in ruleset_to_dict(RULES)["rules"]}  # type: ignore[attr-defined]
    assert ("ten-off", None) == (rules["first-order"].get("coupon"), rules["spend"].get("coupon"))
    schema = rules_json_schema()["$defs"]["rule"]["properties"]["coupon"]  # type: ignore[index]
    assert "string" == schema["type"]
    assert "first-order: purchase, 0 points (coupon ten-off, conditional)" in RULES.describe()


# -- recording, on every storage --------------------------------------------------------------


def test_the_coupon_is_issued_once_per_event(
    ledger: Ledger, earning: Earning, coupons: Coupons
) -> None:
    """The coupon commits with the event; a resend issues nothing; a lifetime cap keeps it first-only."""
    outcome = earning.record(_purchase("o-1", "alice", 250), RULES)
    assert (("first-order", "ten-off"),) == outcome.decision.coupons  # type: ignore[union-attr]
    again = earning.record(_purchase("o-1", "alice", 250), RULES)
    later = earning.record(_purchase("o-2", "alice", 300), RULES)
    assert (True, ()) == (again.replayed, later.decision.coupons)  # type: ignore[union-attr]
    issued = coupons.coupons_of("alice")
    assert [("ten-off", "source:rule:first-order:o-1")] == [(c.coupon, c.source) for c in issued]
    assert issued[0].code == coupons.code_for("rule:first-order:o-1")
    assert 25 + 30 == ledger.balance("alice").available
    _audit(ledger)


def test_points_and_a_coupon_from_one_rule(
    ledger: Ledger, earning: Earning, coupons: Coupons
) -> None:
    """A rule may award points and issue a coupon: both commit in the event's unit."""
    rules = RuleSet([Rule("share", ("share",), Fixed(50), coupon="ten-off")], zone="UTC")
    earning.record(Event.share("s-1", "bob", AT), rules)
    assert 50 == ledger.balance("bob").available
    assert ["ten-off"] == [coupon.coupon for coupon in coupons.coupons_of("bob")]
    _audit(ledger)


def test_a_dry_run_issues_nothing(ledger: Ledger, earning: Earning, coupons: Coupons) -> None:
    """A dry run decides the coupon and issues none."""
    outcome = earning.record(_purchase("o-1", "alice", 250), RULES, dry_run=True)
    assert (True, (("first-order", "ten-off"),)) == (outcome.dry_run, outcome.decision.coupons)  # type: ignore[union-attr]
    assert () == coupons.coupons_of("alice")
    assert 0 == ledger.balance("alice").available


def test_a_refused_coupon_rolls_the_event_back(
    ledger: Ledger, earning: Earning, coupons: Coupons
) -> None:
    """A sold-out coupon refuses the event: no points, no record; it can be sent again."""
    rules = RuleSet([Rule("share", ("share",), Fixed(50), coupon="last-one")], zone="UTC")
    earning.record(Event.share("s-1", "alice", AT), rules)
    with pytest.raises(CouponRefusedError):
        earning.record(Event.share("s-2", "bob", AT), rules)
    assert (0, ()) == (ledger.balance("bob").available, coupons.coupons_of("bob"))
    with ledger.storage.reading(ledger.program) as unit:
        assert None is unit.rule_event("s-2")  # type: ignore[attr-defined]
    _audit(ledger)


def test_a_coupon_rule_without_an_issuer_is_refused(ledger: Ledger) -> None:
    """Earning without coupons refuses an event whose rules issue one, naming rule and coupon."""
    with pytest.raises(InvalidArgumentError) as raised:
        Earning(ledger).record(_purchase("o-1", "alice", 250), RULES)
    assert str(raised.value).startswith(
        "rule 'first-order' issues coupon 'ten-off', but coupons=None"
    )
    with pytest.raises(InvalidArgumentError):
        Earning(ledger).record(_purchase("o-1", "alice", 250), RULES, dry_run=True)
    assert 0 == ledger.balance("alice").available


def test_an_issuer_must_be_an_issuer(ledger: Ledger) -> None:
    """The coupons argument takes a CouponIssuer."""
    with pytest.raises(ArgumentTypeError):
        Earning(ledger, coupons="ten-off")  # type: ignore[arg-type]


# -- through a programme ----------------------------------------------------------------------

TOML = """
[program]
id = "shop"
zone = "Asia/Shanghai"
currencies = ["points"]

[earning]
caps = [{ period = "day", tasks = 2 }]

[[earning.rules]]
name = "spend"
kinds = ["purchase"]
effect = { type = "rate", points = 1, per = { amount = "10.00", currency = "CNY" }, rounding = "floor" }

[[earning.rules]]
name = "first-order"
kinds = ["purchase"]
effect = { type = "fixed", points = 0 }
when = { type = "compare", left = { type = "fact", path = "event.amount" }, op = ">=", right = { type = "const", value = { amount = "200.00", currency = "CNY" } } }
caps = [{ period = "lifetime", tasks = 1 }]
coupon = "ten-off"

[[coupons]]
id = "ten-off"
name = "10 yuan off"
amount_off = "10.00 CNY"
valid_days = 30
"""


@pytest.fixture
def shop(any_storage: Storage) -> Program:
    """A programme from TOML whose first order over 200 yuan earns a coupon."""
    text = TOML.replace('id = "shop"', f'id = "shop-{uuid.uuid4().hex[:12]}"', 1)
    return Program(config_from_toml(text), storage=any_storage, clock=FixedClock(AT))


def test_a_programme_issues_the_rule_coupon_once(shop: Program) -> None:
    """Program.record issues the coupon with the points; a resend or a dry run issues nothing."""
    shop.record(_purchase("o-1", "alice", 250), dry_run=True)
    assert () == shop.coupons.coupons_of("alice")
    shop.record(_purchase("o-1", "alice", 250))
    shop.record(_purchase("o-1", "alice", 250))
    shop.record(_purchase("o-2", "alice", 250))
    assert ["ten-off"] == [coupon.coupon for coupon in shop.coupons.coupons_of("alice")]
    assert 25 == shop.balance("alice").available  # o-1's two tasks filled the day's cap
    assert () == shop.audit().not_audited


def test_a_coupon_rule_counts_a_task_in_the_programme(shop: Program) -> None:
    """Under a cap of 2 tasks a day, spend and the coupon rule fill it with one purchase."""
    shop.record(_purchase("o-1", "bob", 250))
    recorded = shop.record(_purchase("o-2", "bob", 100))
    explained = recorded.outcome.decision.explanation("spend")  # type: ignore[union-attr]
    assert Status.CAPPED == explained.status
    assert 25 == shop.balance("bob").available


def test_an_undeclared_coupon_is_a_configuration_problem() -> None:
    """A rule naming a coupon no [[coupons]] item declares is reported with its path."""
    text = TOML.replace('coupon = "ten-off"', 'coupon = "five-off"')
    with pytest.raises(ConfigurationError) as raised:
        config_from_toml(text)
    assert (
        "earning.rules[1].coupon: 'five-off' is not the id of a [[coupons]] item ('ten-off')"
        in str(raised.value)
    )


def test_memory_programme_example() -> None:
    """The example programme runs on plain memory storage too (no outbox needed)."""
    shop = Program(config_from_toml(TOML), storage=MemoryStorage(), clock=FixedClock(AT))
    shop.record(_purchase("o-1", "carol", 200))
    assert 1 == len(shop.coupons.coupons_of("carol"))

"""Segments: named conditions over member facts, and the member facts they read."""

from __future__ import annotations

import pickle
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pointkit import FixedClock, Ledger
from pointkit.campaigns import CountGoal, Mission, MissionBook, MissionReward
from pointkit.exceptions import ConfigurationError, InvalidArgumentError, OfferUnavailableError
from pointkit.features import Missions
from pointkit.program import MemberProfile, Program, config_from_toml
from pointkit.program._config_reader import ConfigReader
from pointkit.program._config_segments import read_segments
from pointkit.rules import (
    All,
    Compare,
    Const,
    Event,
    Fact,
    Fixed,
    InSegment,
    MemberContext,
    Not,
    OnWeekdays,
    Rule,
    RuleSet,
    RuleState,
    Segment,
    Segments,
    compile_condition,
    condition_from_dict,
    condition_to_dict,
    rules_json_schema,
)
from pointkit.testing._golden import SEGMENT_CASES, GoldenCase, run_control_case, segment_rules


if TYPE_CHECKING:
    from pointkit.ledger import Storage


AT = datetime(2026, 3, 10, 4, 0, tzinfo=UTC)  # noon in Shanghai


def _segments() -> Segments:
    new_vip = All(
        [
            Compare(Fact("member.tier"), "==", Const("vip")),
            Compare(Fact("member.days_since_joining"), "<=", Const(30)),
        ]
    )
    lapsed = Compare(Fact("member.days_since_last_activity"), ">=", Const(90))
    whale = Compare(Fact("member.lifetime_earned"), ">=", Const(100_000))
    return Segments(
        [Segment("new-vip", new_vip), Segment("lapsed", lapsed), Segment("whale", whale)],
        zone="Asia/Shanghai",
    )


def test_a_member_is_in_the_segments_whose_conditions_they_meet() -> None:
    """A vip who joined 9 days ago, earned 120,000 and was active 100 days ago is in all three."""
    member = MemberContext(
        tier="vip",
        joined_at=AT - timedelta(days=9),
        lifetime_earned=120_000,
        last_active_at=AT - timedelta(days=100),
    )
    assert frozenset({"new-vip", "lapsed", "whale"}) == _segments().of(member, at=AT)
    assert _segments().contains("new-vip", member, at=AT)


def test_a_missing_member_fact_keeps_a_member_out() -> None:
    """Without lifetime earned or last activity, a member is in neither segment that reads them."""
    assert frozenset() == _segments().of(MemberContext(tier="vip"), at=AT)


def test_days_since_last_activity_counts_local_days() -> None:
    """Activity late on the 9th in Shanghai is one local day before noon on the 10th."""
    late = datetime(2026, 3, 9, 15, 30, tzinfo=UTC)  # 23:30 in Shanghai
    condition = compile_condition(
        Compare(Fact("member.days_since_last_activity"), "==", Const(1)), "Asia/Shanghai"
    )
    member = MemberContext(last_active_at=late)
    assert _segments().contains("lapsed", member, at=AT) is False
    assert condition.check(Event("e", "sign_in", "alice", AT), member)


@pytest.mark.parametrize(
    ("when", "message"),
    [
        (
            Compare(Fact("event.amount"), ">", Const(1)),
            "when='event.amount' is not a member fact",
        ),
        (
            All([Compare(Fact("member.tier"), "==", Const("vip")), OnWeekdays([6, 7])]),
            "when=OnWeekdays tests the event's time",
        ),
    ],
)
def test_a_segment_reads_member_facts_only(when: Compare | All, message: str) -> None:
    """Event facts and local-time tests are refused in a segment, naming what was found."""
    with pytest.raises(InvalidArgumentError, match=message):
        Segment("s", when)


def test_segment_names_are_checked() -> None:
    """A repeated name and an undeclared segment are refused, naming the valid ones."""
    vip = Segment("vip", Compare(Fact("member.tier"), "==", Const("vip")))
    with pytest.raises(InvalidArgumentError, match=r"segments\[1\]\.name: 'vip' is used twice"):
        Segments([vip, vip], zone="UTC")
    segments = Segments([vip], zone="UTC")
    with pytest.raises(InvalidArgumentError, match="segment='gold' is not declared"):
        segments.contains("gold", MemberContext(), at=AT)
    expected = ["offers[0].segments: 'gold' is not a segment; segments are 'vip'"]
    assert expected == segments.check_names(["vip", "gold"], "offers[0].segments")


def test_the_config_reader_collects_every_segment_problem() -> None:
    """``[[segments]]`` problems are all reported with their paths; good segments still read."""
    reader = ConfigReader()
    tier = {
        "type": "compare",
        "left": {"type": "fact", "path": "member.tier"},
        "op": "==",
        "right": {"type": "const", "value": "vip"},
    }
    segments = read_segments(
        reader,
        [
            {"name": "vip", "when": tier},
            {"name": "vip", "when": tier},
            {"name": "nowhen"},
            {"name": "bad", "when": {**tier, "left": {"type": "fact", "path": "member.level"}}},
        ],
        "Asia/Shanghai",
    )
    assert ("vip",) == segments.names
    assert 3 == len(reader.problems)
    assert reader.problems[0] == "segments[1].name: 'vip' is used twice"
    assert reader.problems[1].startswith("segments[2].when: missing")
    assert reader.problems[2].startswith("segments[3].when.left.path: 'member.level'")


@given(earned=st.integers(min_value=0, max_value=10**9), limit=st.integers(0, 10**9))
def test_a_threshold_segment_agrees_with_the_comparison(earned: int, limit: int) -> None:
    """A lifetime-earned segment holds exactly when the member's figure reaches the threshold."""
    segments = Segments(
        [Segment("s", Compare(Fact("member.lifetime_earned"), ">=", Const(limit)))], zone="UTC"
    )
    member = MemberContext(lifetime_earned=min(earned, 10**9))
    assert (earned >= limit) == segments.contains("s", member, at=AT)


# -- the segment condition in rules -----------------------------------------------------------


@pytest.mark.parametrize("case", SEGMENT_CASES, ids=str)
def test_segment_golden(any_storage: Storage, case: GoldenCase) -> None:
    """Each segment golden line gives its outcome on every adapter, and the audit passes."""
    run_control_case(any_storage, case, segment_rules())


def test_a_segment_condition_explains_itself() -> None:
    """The trace names the segment and whether the member is in it."""
    compiled = compile_condition(InSegment("whale"), "Asia/Shanghai", segments=_segments())
    event = Event("e", "sign_in", "alice", AT)
    trace = compiled.explain(event, MemberContext(lifetime_earned=5))
    assert ("member in segment 'whale'", False) == (trace.node, trace.passed)
    assert (("segment 'whale'", "not in"),) == trace.observed
    assert compiled.check(event, MemberContext(lifetime_earned=100_000))


def test_a_segment_condition_round_trips_and_is_in_the_schema() -> None:
    """``{type = "segment"}`` reads back to the same node; the JSON Schema lists it."""
    data = condition_to_dict(Not(InSegment("lapsed")))
    assert {"type": "not", "condition": {"type": "segment", "name": "lapsed"}} == data
    assert Not(InSegment("lapsed")) == condition_from_dict(data)
    kinds = [
        item["properties"]["type"]["const"]
        for item in rules_json_schema()["$defs"]["condition"]["oneOf"]  # type: ignore[index]
    ]
    assert "segment" in kinds


def test_a_rule_set_refuses_segments_it_does_not_know() -> None:
    """An undeclared segment, or any segment without segments, is a problem with its path."""
    rule = Rule("r", ("sign_in",), Fixed(5), when=All([InSegment("gold")]))
    with pytest.raises(ConfigurationError) as caught:
        RuleSet([rule], zone="Asia/Shanghai", segments=_segments())
    expected = [
        (
            "rules[0].when.conditions[0].name: 'gold' is not a segment; segments are "
            "'new-vip', 'lapsed', 'whale'"
        )
    ]
    assert expected == list(caught.value.problems)
    with pytest.raises(
        ConfigurationError,
        match=r"rules\[0\]\.when\.conditions\[0\]\.name: 'gold' names a segment, but no segments",
    ):
        RuleSet([rule], zone="Asia/Shanghai")
    with pytest.raises(
        ConfigurationError, match="segments: their zone 'Asia/Shanghai' is not the rule set's"
    ):
        RuleSet([], zone="UTC", segments=_segments())
    with pytest.raises(InvalidArgumentError, match="names a segment; a segment's condition reads"):
        Segment("s", InSegment("whale"))


# -- programmes: offers, rules and member facts ---------------------------------------------

PROGRAM = """
[program]
id = "cafe"
zone = "Asia/Shanghai"

[[segments]]
name = "regulars"
when = { type = "compare", left = { type = "fact", path = "member.lifetime_earned" }, op = ">=", right = { type = "const", value = 10 } }

[[segments]]
name = "lapsed"
when = { type = "compare", left = { type = "fact", path = "member.days_since_last_activity" }, op = ">=", right = { type = "const", value = 90 } }

[earning]
rules = [
    { name = "share", kinds = ["share"], effect = { type = "fixed", points = 5 } },
    { name = "regular", kinds = ["sign_in"], effect = { type = "fixed", points = 3 }, when = { type = "segment", name = "regulars" } },
]

[[offers]]
id = "lounge"
name = "Lounge pass"
points = 4
segments = ["regulars", "lapsed"]

[[offers]]
id = "pen"
name = "Pen"
points = 1
"""


@pytest.fixture
def cafe(any_storage: Storage) -> Program:
    """The segment programme, in a program of its own, on each adapter in turn."""
    config = attrs.evolve(config_from_toml(PROGRAM), id=f"seg-{uuid.uuid4().hex[:8]}")
    return Program(config, storage=any_storage, clock=FixedClock(AT))


def _share(program: Program, number: int) -> None:
    program.record(Event.share(f"s{number}", "alice", AT, channel="wechat"))


def test_program_member_reads_lifetime_earned_from_storage(cafe: Program) -> None:
    """Lifetime earnings come from the ledger's earns; last activity from the profile."""
    assert frozenset({"member.lifetime_earned", "member.days_since_last_activity"}) == (
        cafe.config.member_facts
    )
    assert 0 == cafe.member("alice").lifetime_earned
    _share(cafe, 1)
    _share(cafe, 2)
    last = AT - timedelta(days=100)
    member = cafe.member("alice", MemberProfile(last_active_at=last))
    assert (10, last) == (member.lifetime_earned, member.last_active_at)


def test_a_rule_limited_to_a_segment_pays_only_its_members(cafe: Program) -> None:
    """A sign-in earns the regulars' bonus only once the member has earned 10 points."""
    before = cafe.record(Event.sign_in("g1", "alice", AT)).outcome.decision
    _share(cafe, 1)
    _share(cafe, 2)
    after = cafe.record(Event.sign_in("g2", "alice", AT)).outcome.decision
    assert before is not None
    assert after is not None
    assert (0, 3) == (before.total(), after.total())


def test_an_offer_gated_by_segments_is_hidden_and_refused_outside_them(cafe: Program) -> None:
    """Outside every listed segment the offer is not listed and redeeming it is refused."""
    cafe.adjust("alice", 50, key="gift", reason="test points")
    assert ["pen"] == [offer for offer, _ in cafe.offers_for("alice")]
    with pytest.raises(OfferUnavailableError) as caught:
        cafe.redeem("alice", "lounge", key="r1")
    assert "segment" == caught.value.reason
    assert (
        "offer 'lounge' is for members of segments 'lapsed', 'regulars'; this member is in none"
        == str(caught.value)
    )
    lapsed = MemberProfile(last_active_at=AT - timedelta(days=90))
    assert ["lounge", "pen"] == [offer for offer, _ in cafe.offers_for("alice", lapsed)]
    assert 4 == cafe.redeem("alice", "lounge", key="r2", profile=lapsed).points
    _share(cafe, 1)
    _share(cafe, 2)
    assert 4 == cafe.redeem("alice", "lounge", key="r3").points


# -- missions -------------------------------------------------------------------------------


def test_a_mission_limited_to_a_segment_counts_only_its_members(any_storage: Storage) -> None:
    """Outside the segment a review counts nothing and says why; inside, it completes."""
    ledger = Ledger(any_storage, clock=FixedClock(AT), program=f"seg-{uuid.uuid4().hex[:8]}")
    mission = Mission(
        "vip-review", "A review from a whale", CountGoal({"review"}, 1), MissionReward(points=30),
        segments=["whale"],
    )  # fmt: skip
    missions = Missions(ledger, MissionBook([mission], zone="Asia/Shanghai"), segments=_segments())
    review = Event.review("r1", "alice", AT, length=3, rating=5)
    outside = missions.observe(review, member=MemberContext(lifetime_earned=5))
    explained = outside.explanations[0]
    assert ("not_counted", "segment", 0) == (explained.status, explained.reason, explained.added)
    assert "not counted: the member is in none of the mission's segments (whale)" == explained.text
    assert 0 == ledger.balance("alice").available
    inside = missions.observe(
        Event.review("r2", "alice", AT, length=3, rating=5),
        member=MemberContext(lifetime_earned=100_000),
    )
    assert ("completed", 30) == (inside.explanations[0].status, ledger.balance("alice").available)
    with pytest.raises(InvalidArgumentError, match="mission 'vip-review' is for segments 'whale'"):
        Missions(ledger, MissionBook([mission], zone="Asia/Shanghai"))


# -- configuration problems -----------------------------------------------------------------


def test_the_programme_file_names_every_undeclared_segment() -> None:
    """Offers and missions naming undeclared segments are reported with their paths."""
    text = PROGRAM.replace('segments = ["regulars", "lapsed"]', 'segments = ["regulars", "vips"]')
    text += """
[[missions]]
id = "m"
name = "M"
segments = ["gold"]
goal = { type = "count", kinds = ["review"], target = 1 }
reward = { points = 5 }
"""
    with pytest.raises(ConfigurationError) as caught:
        config_from_toml(text)
    assert [
        "offers[0].segments: 'vips' is not a segment; segments are 'regulars', 'lapsed'",
        "missions[0].segments: 'gold' is not a segment; segments are 'regulars', 'lapsed'",
    ] == list(caught.value.problems)


def test_the_programme_file_names_a_rule_using_an_undeclared_segment() -> None:
    """A rule's segment condition naming no declared segment is a problem under earning."""
    text = PROGRAM.replace('name = "regulars" }', 'name = "regular" }')
    with pytest.raises(ConfigurationError) as caught:
        config_from_toml(text)
    assert [
        "earning.rules[1].when.name: 'regular' is not a segment; segments are 'regulars', 'lapsed'"
    ] == list(caught.value.problems)


def test_a_rule_set_with_segments_pickles_and_decides_the_same() -> None:
    """The segments travel with the rule set (a worker process gets both) and still decide."""
    rule = Rule("whales", ("sign_in",), Fixed(5), when=All([InSegment("whale")]))
    rules = RuleSet([rule], zone="Asia/Shanghai", segments=_segments())
    again = pickle.loads(pickle.dumps(rules))  # noqa: S301 - our own bytes
    assert again == rules
    whale = RuleState(MemberContext(tier="vip", lifetime_earned=120_000))
    minnow = RuleState(MemberContext(tier="vip", lifetime_earned=10))
    event = Event.sign_in("s-1", "m", AT)
    for state, points in ((whale, 5), (minnow, 0)):
        assert again.evaluate(event, state, AT).total() == points
        assert rules.evaluate(event, state, AT).total() == points

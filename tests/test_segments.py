"""Segments: named conditions over member facts, and the member facts they read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pointkit.exceptions import InvalidArgumentError
from pointkit.program._config_reader import ConfigReader
from pointkit.program._config_segments import read_segments
from pointkit.rules import (
    All,
    Compare,
    Const,
    Event,
    Fact,
    MemberContext,
    OnWeekdays,
    Segment,
    Segments,
    compile_condition,
)


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

"""Campaigns through Program.record: missions, referrals and anti-cheat on every event."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from pointkit import FixedClock, Money
from pointkit.exceptions import ActivityRefusedError, MemberFrozenError
from pointkit.program import Program, config_from_toml
from pointkit.rules import Event
from test_program_config import BASE, CAMPAIGNS


if TYPE_CHECKING:
    from pointkit.ledger import Storage


# The campaigns of test_program_config, and a velocity rule that holds a second review an hour.
TOML = BASE + CAMPAIGNS.replace(
    'velocity = [{ name = "bursts", kinds = ["sign_in"], limit = 3, per = "minute" }]',
    'velocity = [{ name = "bursts", kinds = ["sign_in"], limit = 3, per = "minute" }, '
    '{ name = "review-bursts", kinds = ["review"], limit = 1, per = "hour", action = "review" }]',
)
NOON = datetime(2026, 3, 2, 4, tzinfo=UTC)  # 12:00 in Shanghai


@pytest.fixture
def mall(any_storage: Storage) -> Program:
    """The points mall with every campaign, standing at noon on 2 March 2026 in Shanghai.

    Each test has a programme id of its own: PostgreSQL's schema is shared by the run.
    """
    text = TOML.replace('id = "points-mall"', f'id = "mall-{uuid.uuid4().hex[:12]}"', 1)
    return Program(config_from_toml(text), storage=any_storage, clock=FixedClock(NOON))


def _purchase(mall: Program, order: str, member: str, yuan: int) -> Event:
    event = Event.purchase(
        order, member, mall.clock.now(), amount=Money(yuan, "CNY"), order_id=order
    )
    mall.record(event)
    return event


def test_three_purchases_complete_the_mission_with_points_coupon_and_badge(mall: Program) -> None:
    """The third purchase of the month completes the mission in its own unit, once."""
    for number in range(3):
        _purchase(mall, f"o-{number}", "alice", 30)
    _purchase(mall, "o-0", "alice", 30)  # a resend counts nothing
    (progress,) = mall.missions.progress("alice")
    assert (3, 3, 1) == (progress.progress, progress.target, progress.completions)
    assert ["ten-off"] == [coupon.coupon for coupon in mall.coupons.coupons_of("alice")]
    assert [("regular", True)] == [(b.badge, b.earned) for b in mall.missions.badges("alice")]
    assert 3 * 3 + 200 == mall.balance("alice").available  # 1 point per 10 yuan, and the reward
    assert () == mall.audit().not_audited


def test_a_qualifying_purchase_rewards_both_sides_once(mall: Program) -> None:
    """An invitee's first purchase of 50 yuan or more pays the referrer and the invitee, once."""
    code = mall.referrals.code_for("alice", key="alice-code")
    mall.referrals.attribute(code, "bob", identity=None, at=mall.clock.now(), key="bob-joins")
    _purchase(mall, "small", "bob", 20)  # under the minimum: nothing yet
    assert 0 == mall.balance("alice").available
    _purchase(mall, "big", "bob", 80)
    _purchase(mall, "bigger", "bob", 500)
    assert 100 == mall.balance("alice").available
    # The invitee's reward, the three purchases' points, and the mission they completed.
    assert 50 + (2 + 8 + 50) + 200 == mall.balance("bob").available
    assert "rewarded" == mall.referrals.referral("bob").status  # type: ignore[union-attr]
    assert () == mall.audit().not_audited


def test_anti_cheat_refuses_a_burst_and_holds_a_second_review(mall: Program) -> None:
    """A fourth sign-in in a minute records nothing; a second review in an hour waits."""
    for number in range(3):
        mall.record(Event.sign_in(f"s-{number}", "carol", mall.clock.now()))
    before = mall.balance("carol").available
    with pytest.raises(ActivityRefusedError) as refused:
        mall.record(Event.sign_in("s-3", "carol", mall.clock.now()))
    assert ("bursts", "velocity") == (refused.value.subject, refused.value.reason)
    assert before == mall.balance("carol").available
    for number in range(2):
        mall.record(Event.review(f"r-{number}", "dave", mall.clock.now(), length=30, rating=5))
    assert 10 == mall.balance("dave").available  # 5, and 5 more for a long review
    assert "pending" == mall.guard.review("r-1").status
    mall.guard.approve("r-1", key="approve-r-1")
    assert 20 == mall.balance("dave").available
    assert () == mall.audit().not_audited


def test_a_frozen_member_earns_nothing_until_unfrozen(mall: Program) -> None:
    """Freezing refuses the member's awards; after unfreezing the same event is recorded."""
    mall.guard.freeze("frank", key="freeze-frank", reason="chargebacks under review")
    with pytest.raises(MemberFrozenError):
        _purchase(mall, "f-1", "frank", 100)
    assert 0 == mall.balance("frank").available
    mall.guard.unfreeze("frank", key="unfreeze-frank", reason="cleared")
    _purchase(mall, "f-1", "frank", 100)
    assert 10 == mall.balance("frank").available
    assert () == mall.audit().not_audited


def test_a_group_buy_fills_and_captures_every_hold(mall: Program) -> None:
    """Three members reserve 800 points each; the third join captures all three at once."""
    for member in ("gina", "hugo", "ivan"):
        mall.adjust(member, 1_000, key=f"gift-{member}", reason="launch gift")
    group = mall.group_buys.open("tea-3", "gina", key="g-open", group_id="g-1")
    mall.group_buys.join(group.group_id, "hugo", key="g-hugo")
    assert 200 == mall.balance("gina").available
    done = mall.group_buys.join(group.group_id, "ivan", key="g-ivan")
    assert "completed" == done.status
    assert [200, 200, 200] == [mall.balance(m).posted for m in ("gina", "hugo", "ivan")]
    mall.clock.advance(timedelta(days=2))  # type: ignore[attr-defined]
    assert () == mall.audit().not_audited

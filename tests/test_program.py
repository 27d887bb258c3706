"""The Program: every operation through one object, idempotent by key, each with a dry run."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import attrs
import pytest

from pointkit import FixedClock, MemoryStorage, Money
from pointkit.exceptions import (
    HoldAlreadyCapturedError,
    InsufficientPointsError,
    InvalidArgumentError,
    TransferRefusedError,
)
from pointkit.pricing import SeededRandom
from pointkit.program import MemberProfile, Program, ProgramConfig, load_config
from pointkit.reports import (
    daily_report,
    hottest_offers,
    liability_report,
    lottery_cost,
    tier_distribution,
)
from pointkit.rules import Event
from pointkit.testing import snapshot


if TYPE_CHECKING:
    from pointkit.ledger import Storage


MALL = Path(__file__).parent.parent / "src" / "pointkit" / "program" / "points_mall.toml"
START = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


@pytest.fixture
def clock() -> FixedClock:
    """A clock at 1 June 2026, 10:00 in Shanghai."""
    return FixedClock(START)


@pytest.fixture
def mall(any_storage: Storage, clock: FixedClock) -> Program:
    """The packaged programme, in a program of its own, on each adapter in turn."""
    config = attrs.evolve(load_config(MALL), id=f"mall-{uuid.uuid4().hex[:8]}")
    return Program(config, storage=any_storage, clock=clock)


def _purchase(member: str, amount: int, order: str, at: datetime) -> Event:
    return Event.purchase(order, member, at, amount=Money(amount, "CNY"), order_id=order)


def test_recording_earns_with_tier_benefits_and_reviews(mall: Program, clock: FixedClock) -> None:
    """Purchases earn 1 point per 10 yuan, doubled once the member is silver; tiers follow."""
    first = mall.record(_purchase("alice", 900, "o1", clock.now()))
    assert [90] == [t.amount for t in first.outcome.transactions]
    assert first.tier is not None
    assert "normal" == first.tier.state.tier
    for day in range(1, 8):  # 100 points a day at most: seven days reach silver (600)
        clock.advance(timedelta(days=1))
        mall.record(_purchase("alice", 1_000, f"o{day + 1}", clock.now()))
    assert "silver" == mall.member("alice").tier
    clock.advance(timedelta(days=1))
    doubled = mall.record(_purchase("alice", 400, "o9", clock.now()))
    assert [80] == [t.amount for t in doubled.outcome.transactions]
    again = mall.record(_purchase("alice", 400, "o9", clock.now()))
    assert (again.outcome.replayed, again.tier) == (True, None)


def test_redeeming_uses_the_members_tier(mall: Program) -> None:
    """A silver member gets the ladder's discount and the tier-gated trip."""
    mall.ledger.adjust("bob", 20_000, key="gift", reason="test balance")
    with pytest.raises(Exception, match="is for tiers 'gold', 'silver', not tier='normal'"):
        mall.redeem("bob", "trip", key="t1", option="split")
    mall.set_tier("bob", "silver")
    watch = mall.redeem("bob", "watch", key="w1")
    assert 4_500 == watch.points
    trip = mall.redeem("bob", "trip", key="t2", option="split", points=2_000)
    assert Money("4555.56", "CNY") == trip.cash
    assert "fulfilled" == mall.fulfil("w1", key="ship-w1").status.value
    refund = mall.refund("w1", key="return-w1")
    assert (0, "no_points_back") == (refund.points, refund.policy)
    assert "cancelled" == mall.cancel("t2", key="cancel-t2").status.value
    with pytest.raises(HoldAlreadyCapturedError):
        mall.cancel("w1", key="cancel-w1")


def test_transfers_follow_the_policy(mall: Program) -> None:
    """Transfers are allowed between 100 and 5,000 points; outside that, refused with a reason."""
    mall.ledger.adjust("carol", 10_000, key="gift", reason="test balance")
    assert 500 == mall.transfer("carol", "dave", 500, key="t1").amount
    reasons = []
    for amount in (50, 6_000):
        with pytest.raises(TransferRefusedError) as refused:
            mall.transfer("carol", "dave", amount, key=f"t{amount}")
        reasons.append(refused.value.reason)
    assert ["below_minimum", "above_maximum"] == reasons
    closed = Program(
        ProgramConfig(id=f"closed-{uuid.uuid4().hex[:8]}", zone="UTC"),
        storage=MemoryStorage(),
        clock=mall.clock,
    )
    with pytest.raises(TransferRefusedError, match="does not allow transfers"):
        closed.transfer("a", "b", 1, key="t")


def test_dry_runs_write_nothing_and_answer_like_the_real_thing(
    mall: Program, any_storage: Storage, clock: FixedClock
) -> None:
    """Every operation's dry run returns what it would return, or raises what it would raise."""
    mall.ledger.adjust("erin", 12_000, key="gift", reason="test balance")
    mall.record(_purchase("erin", 500, "o1", clock.now()))
    before = snapshot(any_storage, mall.ledger.program)
    dry = [
        mall.record(_purchase("erin", 300, "o2", clock.now()), dry_run=True).outcome.dry_run,
        mall.redeem("erin", "watch", key="w", dry_run=True).points,
        mall.draw(
            "erin", "wheel", draw_id="d", minor=False, random=SeededRandom(1), dry_run=True
        ).record.cost,
        mall.transfer("erin", "frank", 100, key="t", dry_run=True).amount,
        mall.convert("erin", "points-to-miles", 1_000, key="c", dry_run=True).quote.credited,
        mall.adjust("erin", -10, key="a", reason="fee", dry_run=True).amount,
        mall.run_expiry(dry_run=True).lots_expired,
    ]
    assert [True, 5_000, 1_000, 100, 100, 10, 0] == dry
    with pytest.raises(InsufficientPointsError):
        mall.transfer("frank", "erin", 100, key="t2", dry_run=True)
    assert before == snapshot(any_storage, mall.ledger.program)
    real = mall.redeem("erin", "watch", key="w")
    assert 5_000 == real.points
    assert mall.redeem("erin", "watch", key="w", dry_run=True).replayed


def test_refunding_an_event_and_reversing(mall: Program, clock: FixedClock) -> None:
    """Event refunds claw back in proportion; reversals follow the configured policies."""
    mall.record(_purchase("frank", 800, "o1", clock.now()))
    assert 80 == mall.balance("frank").posted
    back = mall.refund_event("o1", key="refund-1", amount=Money(400, "CNY"))
    assert [40] == [t.amount for t in back]
    gift = mall.adjust("frank", 100, key="goodwill", reason="late delivery")
    mall.reverse(str(gift.id), key="undo-goodwill")
    assert 40 == mall.balance("frank").posted
    with pytest.raises(InvalidArgumentError, match="no earning rules"):
        Program(ProgramConfig(id="bare", zone="UTC"), storage=MemoryStorage(), clock=clock).record(
            _purchase("a", 1, "x", clock.now())
        )


def test_reports_tell_what_happened(mall: Program, clock: FixedClock) -> None:
    """Liability, daily flows, hottest offers, lottery cost and tiers read back the activity."""
    mall.ledger.adjust("gina", 10_000, key="gift", reason="test balance")
    mall.record(_purchase("gina", 700, "o1", clock.now()), profile=MemberProfile(tags={"vip"}))
    mall.redeem("gina", "coupon", key="c1", quantity=2)
    mall.fulfil("c1", key="s1")
    mall.draw("gina", "wheel", draw_id="d1", minor=False, random=SeededRandom(3))
    clock.advance(timedelta(days=40))
    mall.run_expiry()
    liability = liability_report(mall)
    assert (liability.points, str(liability.money)) == (7_470, "74.70 CNY")
    daily = daily_report(mall, since=date(2026, 6, 1), until=date(2026, 7, 11))
    june_1 = daily.rows[0]
    assert (70, 1_600 + 1_000, 1, 1) == (
        june_1.issued,
        june_1.consumed,
        june_1.redemptions,
        june_1.draws,
    )
    assert (70, 0) == (daily.issued, daily.expired)
    offers = hottest_offers(mall)
    assert [("coupon", 2, 2)] == [(row.offer, row.units, row.fulfilled) for row in offers.rows]
    cost = lottery_cost(mall)
    assert (1, 1_000) == (cost.rows[0].draws, cost.rows[0].points_in)
    tiers = tier_distribution(mall)
    assert [("normal", 1), ("silver", 0), ("gold", 0)] == list(tiers.counts)
    for report in (liability, daily, offers, cost, tiers):
        assert report.to_text().strip()

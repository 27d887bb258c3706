"""Offers as pure rules: configuration problems, refusal order, counters, discounts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest

from pointkit import Money
from pointkit.exceptions import ConfigurationError, OfferUnavailableError
from pointkit.expiry import Inactivity, RollingMonths
from pointkit.pricing import Bundle, Offer, OfferLimit, Price, Valuation


NOW = datetime(2026, 3, 1, 15, 30, tzinfo=UTC)  # 23:30 in Shanghai
WATCH = Price(points=5_000, bundles=[Bundle(2_000, Money(300, "CNY"))])


def test_offer_problems_are_all_listed() -> None:
    """Every problem of an offer is reported at once, each with its field."""
    with pytest.raises(ConfigurationError) as raised:
        Offer(
            "bad:id",
            "",
            "5000 points",  # type: ignore[arg-type]
            stock=-1,
            limits=[OfferLimit(1, "day"), OfferLimit(2, "day")],
            starts_at=NOW,
            ends_at=NOW,
            tiers=["gold"],
            tier_discounts={"silver": Fraction(1, 10), "gold": Fraction(3, 2)},
            refund_expiry=Inactivity(6),
            hold_timeout_seconds=0,
        )
    assert [
        "id: 'bad:id' must not contain ':'",
        "name: '' must be non-empty, without leading or trailing whitespace",
        "price: '5000 points' must be a Price, not str",
        "stock: -1 must be an int from 0 to 1000000000000",
        "limits[1].per: 'day' has a limit already; keep one",
        "ends_at: 2026-03-01T15:30:00+00:00 must be after starts_at (2026-03-01T15:30:00+00:00)",
        "tier_discounts['gold']: 3/2 must be less than 1 (Fraction(1, 10) pays 90%)",
        "tier_discounts['silver']: 'silver' is not one of the tiers that may redeem the offer",
        "refund_expiry: an Inactivity window belongs to a currency's expiry policy, not to refunded points",
        "refund_expiry: applies only with refund='new_expiry', not refund='original_expiry'",
        "zone: a limit per day counts local days; give the program's time zone",
        "zone: a refund expiry window is counted in local time; give the zone",
        "hold_timeout_seconds: 0 must be an int from 1 to 7776000",
    ] == list(raised.value.problems)


def test_refusals_come_in_a_fixed_order() -> None:
    """Window, then tier, then stock, then the member's limits: the first that fails is named."""
    offer = Offer(
        "o",
        "O",
        WATCH,
        stock=2,
        limits=[OfferLimit(1, "day")],
        starts_at=NOW,
        ends_at=NOW + timedelta(days=1),
        tiers=["gold"],
        zone="Asia/Shanghai",
    )
    cases = [
        (
            {"now": NOW - timedelta(seconds=1), "tier": "silver", "sold": 2, "used": [1]},
            "not_started",
        ),
        ({"now": NOW + timedelta(days=1), "tier": "silver", "sold": 2, "used": [1]}, "ended"),
        ({"now": NOW, "tier": "silver", "sold": 2, "used": [1]}, "tier"),
        ({"now": NOW, "tier": "gold", "sold": 2, "used": [1]}, "sold_out"),
        ({"now": NOW, "tier": "gold", "sold": 1, "used": [1]}, "member_limit"),
    ]
    for arguments, reason in cases:
        with pytest.raises(OfferUnavailableError) as refused:
            offer.check(quantity=1, **arguments)  # type: ignore[arg-type]
        assert (reason, "o") == (refused.value.reason, refused.value.subject)
    offer.check(now=NOW, tier="gold", quantity=1, sold=1, used=[0])


def test_counters_count_local_periods() -> None:
    """Limits count the offer's local day: 23:30 in Shanghai is still 1 March there."""
    offer = Offer(
        "o", "O", WATCH, limits=[OfferLimit(1, "day"), OfferLimit(3, "week")], zone="Asia/Shanghai"
    )
    assert (("pointkit:offer:o", "day:2026-03-01"), ("pointkit:offer:o", "week:2026-W09")) == (
        offer.counter_keys(NOW)
    )
    assert ("pointkit:offer:o", "day:2026-03-02") == offer.counter_keys(NOW + timedelta(hours=1))[0]


def test_tier_discounts_and_implied_values() -> None:
    """A tier's discount lowers the points side; options still state their implied value."""
    offer = Offer("watch", "Watch", WATCH, tier_discounts={"gold": Fraction(1, 5)})
    reference = Valuation(100, Money(1, "CNY"))
    gold = offer.options(tier="gold", reference=reference)
    assert [4_000, 1_600] == [option.points for option in gold]
    assert Fraction(300, 2_400) == gold[1].implied_per_point
    assert [5_000, 2_000] == [option.points for option in offer.options()]
    refund = Offer(
        "r", "R", WATCH, refund="new_expiry", refund_expiry=RollingMonths(6), zone="Asia/Shanghai"
    )
    assert "new_expiry" == refund.refund

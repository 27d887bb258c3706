"""Offers through a Catalogue: hold, capture or release, stock and limits, refund policies (P8 too)."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from functools import partial
from typing import TYPE_CHECKING

import pytest

from pointkit import FixedClock, Ledger, Money
from pointkit.exceptions import (
    HoldAlreadyCapturedError,
    IdempotencyConflictError,
    InsufficientPointsError,
    InvalidArgumentError,
    NotReversibleError,
    OfferUnavailableError,
    RedemptionNotFoundError,
    ReversalExceedsOriginalError,
)
from pointkit.expiry import ExpiryPolicy, RollingMonths
from pointkit.features import Catalogue, RedemptionStatus
from pointkit.pricing import Bundle, Offer, OfferLimit, PointsSplit, Price
from races import race


if TYPE_CHECKING:
    from collections.abc import Callable

    from pointkit.ledger import Storage
    from pointkit.pricing import RefundPolicy


WATCH_PRICE = Price(points=5_000, bundles=[Bundle(2_000, Money(300, "CNY"))])


def _watch(refund: RefundPolicy = "original_expiry", **options: object) -> Offer:
    return Offer("watch", "Watch", WATCH_PRICE, refund=refund, zone="Asia/Shanghai", **options)  # type: ignore[arg-type]


@pytest.fixture
def ledger(any_storage: Storage, clock: FixedClock) -> Ledger:
    """A ledger on each adapter in turn, in a program of its own."""
    return Ledger(any_storage, clock=clock, program=f"offers-{uuid.uuid4().hex[:8]}")


@pytest.fixture
def catalogue(ledger: Ledger) -> Catalogue:
    """The catalogue on that ledger, made before any of its holds is released."""
    return Catalogue(ledger)


def test_redeem_hold_then_fulfil_spends_the_points(ledger: Ledger, catalogue: Catalogue) -> None:
    """A redemption holds the points; fulfilling it captures them; the stock stays taken."""
    ledger.earn("alice", 6_000, key="e")
    offer = _watch(stock=10)
    redemption = catalogue.redeem("alice", offer, key="order-1", option="bundle:0")
    assert (RedemptionStatus.RESERVED, 2_000, Money(300, "CNY")) == (
        redemption.status,
        redemption.points,
        redemption.cash,
    )
    assert (2_000, 4_000) == (ledger.balance("alice").held, ledger.balance("alice").available)
    assert 1 == catalogue.sold(offer)
    done = catalogue.fulfil("order-1", key="ship-1")
    assert RedemptionStatus.FULFILLED == done.status
    assert (0, 4_000) == (ledger.balance("alice").held, ledger.balance("alice").posted)
    assert 1 == catalogue.sold(offer)
    assert catalogue.redeem("alice", offer, key="order-1", option="bundle:0").replayed
    ledger.audit()


def test_every_release_path_gives_points_stock_and_counts_back(
    ledger: Ledger, catalogue: Catalogue, clock: FixedClock
) -> None:
    """Cancel, a plain release and a hold timeout all return the points, the stock and the count."""
    ledger.earn("alice", 20_000, key="e")
    offer = _watch(stock=1, limits=[OfferLimit(1, "day")], hold_timeout_seconds=3 * 86_400)
    first = catalogue.redeem("alice", offer, key="r1")
    with pytest.raises(OfferUnavailableError) as refused:
        catalogue.redeem("alice", offer, key="r2")
    assert "sold_out" == refused.value.reason
    clock.advance(timedelta(days=1))  # a release on a later day gives back that day's count
    assert RedemptionStatus.CANCELLED == catalogue.cancel("r1", key="x1").status
    assert (0, 20_000) == (catalogue.sold(offer), ledger.balance("alice").available)
    second = catalogue.redeem("alice", offer, key="r3")
    ledger.release(second.hold, key="x3")
    assert 0 == catalogue.sold(offer)
    catalogue.redeem("alice", offer, key="r4", timeout_seconds=600)
    clock.advance(timedelta(seconds=601))
    ledger.expire_due()
    assert RedemptionStatus.EXPIRED == catalogue.redemption("r4").status
    assert (0, 20_000) == (catalogue.sold(offer), ledger.balance("alice").available)
    catalogue.redeem("alice", offer, key="r5")  # the day's count was given back each time
    assert first.hold != catalogue.redemption("r5").hold
    ledger.audit()


def _refusal(call: Callable[[], object]) -> str | None:
    """The reason an offer refused *call*, or None if it went through."""
    try:
        call()
    except OfferUnavailableError as error:
        return error.reason
    return None


def test_limits_windows_and_tier_gates(
    ledger: Ledger, catalogue: Catalogue, clock: FixedClock
) -> None:
    """Per-member limits per day and in all, a flash-sale window and a tier gate, with reasons."""
    ledger.earn("alice", 100_000, key="e")
    now = clock.now()
    flash = Offer(
        "flash",
        "Flash sale",
        Price(points=100),
        limits=[OfferLimit(2, "day"), OfferLimit(3, "lifetime")],
        starts_at=now + timedelta(hours=1),
        ends_at=now + timedelta(days=5),
        tiers=["gold"],
        zone="Asia/Shanghai",
    )
    redeem = partial(catalogue.redeem, "alice", flash)
    reasons = [_refusal(partial(redeem, key="a", tier="gold"))]
    clock.advance(timedelta(hours=1))
    reasons += [
        _refusal(partial(redeem, key="b", tier="silver")),
        _refusal(partial(redeem, key="c", tier="gold", quantity=2)),
        _refusal(partial(redeem, key="d", tier="gold")),
    ]
    clock.advance(timedelta(days=1))
    reasons += [
        _refusal(partial(redeem, key="e1", tier="gold")),
        _refusal(partial(redeem, key="f", tier="gold")),
    ]
    clock.advance(timedelta(days=5))
    reasons.append(_refusal(partial(redeem, key="g", tier="gold")))
    assert ["not_started", "tier", None, "member_limit", None, "member_limit", "ended"] == reasons
    with pytest.raises(OfferUnavailableError) as refused:
        redeem(key="h", tier="gold", quantity=1)
    assert "offer 'flash' closed at 2026-01-06T09:00:00+00:00" == str(refused.value)


def test_tier_discounts_and_splits(ledger: Ledger, catalogue: Catalogue) -> None:
    """A tier discount lowers the points side, rounded up; a split uses the points chosen."""
    ledger.earn("alice", 100_000, key="e")
    offer = Offer(
        "trip",
        "Trip",
        Price(
            points=33_333,
            cash=Money(5_000, "CNY"),
            split=PointsSplit(Fraction(1, 5), max_share=Fraction(2, 5), block=1_000),
        ),
        tier_discounts={"gold": Fraction(1, 10)},
    )
    gold = catalogue.redeem("alice", offer, key="g", tier="gold")
    assert 30_000 == gold.points  # ceil(33,333 x 0.9) = 29,999.7 -> 30,000
    split = catalogue.redeem("alice", offer, key="s", option="split", points=5_000)
    assert (5_000, Money(4_000, "CNY")) == (split.points, split.cash)
    with pytest.raises(InvalidArgumentError, match="takes no points"):
        catalogue.redeem("alice", offer, key="c", option="cash")
    with pytest.raises(InvalidArgumentError, match="is not one of 'points', 'split', 'cash'"):
        catalogue.redeem("alice", offer, key="b", option="bundle:0")


@pytest.mark.parametrize(
    ("policy", "back", "expires"),
    [
        ("no_points_back", 0, None),
        ("original_expiry", 5_000, "original"),
        ("new_expiry", 5_000, "new"),
    ],
)
def test_refund_policies(
    any_storage: Storage, clock: FixedClock, policy: RefundPolicy, back: int, expires: str | None
) -> None:
    """Refunds follow the offer's declared policy: none back, back with their expiry, or new."""
    expiry = ExpiryPolicy("Asia/Shanghai", RollingMonths(12))
    ledger = Ledger(
        any_storage, clock=clock, program=f"refund-{uuid.uuid4().hex[:8]}", expiry=expiry
    )
    catalogue = Catalogue(ledger)
    ledger.earn("alice", 5_000, key="e")
    earned_expiry = ledger.lots("alice")[0].expires_at
    offer = _watch(policy, refund_expiry=RollingMonths(3) if policy == "new_expiry" else None)
    catalogue.redeem("alice", offer, key="r")
    catalogue.fulfil("r", key="f")
    clock.advance(timedelta(days=30))
    refund = catalogue.refund("r", offer, key="rf")
    assert (back, Money(0, "CNY"), policy) == (refund.points, refund.cash, policy)
    assert back == ledger.balance("alice").available
    lots = [lot for lot in ledger.lots("alice") if lot.remaining]
    if expires == "original":
        assert [earned_expiry] == [lot.expires_at for lot in lots]
    elif expires == "new":
        assert [datetime(2026, 4, 30, 9, 0, tzinfo=UTC)] == [lot.expires_at for lot in lots]
    else:
        assert [] == lots
    assert refund == catalogue.refund("r", offer, key="rf")
    assert catalogue.refund("r", offer, key="rf").replayed
    with pytest.raises(ReversalExceedsOriginalError):
        catalogue.refund("r", offer, key="rf2")
    ledger.audit()


def test_p8_partial_refunds_add_up_to_what_was_paid(ledger: Ledger, catalogue: Catalogue) -> None:
    """P8: refunding 1 then 2 of 3 units returns exactly the points and cash paid, no more."""
    ledger.earn("alice", 10_000, key="e")
    offer = _watch()
    redemption = catalogue.redeem("alice", offer, key="r", option="bundle:0", quantity=3)
    assert (6_000, Money(900, "CNY")) == (redemption.points, redemption.cash)
    with pytest.raises(NotReversibleError, match="is reserved, not fulfilled"):
        catalogue.refund("r", offer, key="too-early")
    catalogue.fulfil("r", key="f")
    one = catalogue.refund("r", offer, key="rf1", quantity=1)
    two = catalogue.refund("r", offer, key="rf2", quantity=2)
    assert (2_000, 4_000) == (one.points, two.points)
    assert (Money(300, "CNY"), Money(600, "CNY")) == (one.cash, two.cash)
    assert (3, 10_000) == (catalogue.redemption("r").refunded, ledger.balance("alice").available)
    with pytest.raises(ReversalExceedsOriginalError, match="more than the 0 units left"):
        catalogue.refund("r", offer, key="rf3", quantity=1)
    with pytest.raises(IdempotencyConflictError):
        catalogue.refund("r", offer, key="rf1", quantity=2)


def test_refused_redemptions_write_nothing(ledger: Ledger, catalogue: Catalogue) -> None:
    """A redemption short of points, or of an unknown key, changes nothing."""
    offer = _watch(stock=5, limits=[OfferLimit(1, "day")])
    with pytest.raises(InsufficientPointsError):
        catalogue.redeem("alice", offer, key="r")
    assert 0 == catalogue.sold(offer)
    ledger.earn("alice", 5_000, key="e")
    catalogue.redeem("alice", offer, key="r")  # the refused attempt did not use the key
    with pytest.raises(RedemptionNotFoundError):
        catalogue.redemption("nope")
    with pytest.raises(RedemptionNotFoundError):
        catalogue.redemption("e")
    with pytest.raises(IdempotencyConflictError):
        catalogue.redeem("alice", offer, key="r", quantity=2)
    catalogue.fulfil("r", key="f")
    with pytest.raises(HoldAlreadyCapturedError):
        catalogue.cancel("r", key="x")


@pytest.mark.parametrize("adapter", ["sqlite", "postgres"])
def test_stock_is_never_oversold_under_concurrency(
    adapter: str, request: pytest.FixtureRequest, clock: FixedClock
) -> None:
    """24 members race for 5 units: exactly 5 redeem, 19 are sold out, stock used is 5."""
    storage: Storage = request.getfixturevalue(
        "sqlite_storage" if adapter == "sqlite" else "postgres_storage"
    )
    ledger = Ledger(storage, clock=clock, program=f"race-{uuid.uuid4().hex[:8]}")
    catalogue = Catalogue(ledger)
    offer = Offer("flash", "Flash", Price(points=100), stock=5)
    members = [f"m{n}" for n in range(24)]
    for member in members:
        ledger.earn(member, 100, key=f"e-{member}")
    outcomes = race([partial(catalogue.redeem, m, offer, key=f"r-{m}") for m in members])
    kinds = Counter(type(outcome).__name__ for outcome in outcomes)
    assert Counter({"Redemption": 5, "OfferUnavailableError": 19}) == kinds
    assert 5 == catalogue.sold(offer)
    ledger.audit()

"""Coupons on a ledger: issue, replay, limits, redeem, give back, and issues by offers and draws.

Every test runs on memory, SQLite and PostgreSQL (``any_storage``) and ends with the programme's
audit, which replays every coupon record's stock, count and use increments.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from fractions import Fraction
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import START
from pointkit import FixedClock, Ledger, MemoryStorage, Money
from pointkit.campaigns import AmountOff, CouponDefinition, Gift, Order, PercentOff
from pointkit.exceptions import (
    CouponNotFoundError,
    CouponRefusedError,
    IdempotencyConflictError,
    InvalidArgumentError,
)
from pointkit.features import Catalogue, Coupons, Draws
from pointkit.features._audit import audit_program
from pointkit.pricing import Lottery, Offer, OfferLimit, Price, Prize, SeededRandom
from pointkit.rules import Line


if TYPE_CHECKING:
    from pointkit.ledger import Storage


WELCOME = CouponDefinition(
    "welcome-15",
    "15% off",
    PercentOff(Fraction(15), cap=Money(50, "CNY")),
    minimum_spend=Money(100, "CNY"),
    stock=3,
    limits=[OfferLimit(2, "lifetime")],
    valid_days=30,
)
TWICE = CouponDefinition(
    "ten-off", "10 off", AmountOff(Money(10, "CNY")), uses=2, categories=["books"]
)
LATER = CouponDefinition(
    "later",
    "Later",
    Gift("mug"),
    starts_at=START + timedelta(days=1),
    ends_at=START + timedelta(days=2),
)
ORDER = Order([Line("sku-1", "books", Money("120.00", "CNY"))], shipping=Money(8, "CNY"))


@pytest.fixture
def ledger(any_storage: Storage, clock: FixedClock) -> Ledger:
    """A ledger on each adapter in turn, in a program of its own."""
    return Ledger(any_storage, clock=clock, program=f"coupons-{uuid.uuid4().hex[:8]}")


@pytest.fixture
def coupons(ledger: Ledger) -> Coupons:
    """The coupons on that ledger, with seeded codes."""
    return Coupons(ledger, [WELCOME, TWICE, LATER], random=SeededRandom(11))


def _audit(ledger: Ledger) -> None:
    """Run the programme's audit: the journal, then every record's increments replayed."""
    with ledger.storage.reading(ledger.program) as unit:
        report = audit_program(unit, now=ledger.clock.now())
    assert () == report.not_audited


def test_issue_is_idempotent_by_key(ledger: Ledger, coupons: Coupons) -> None:
    """The same key and content give the same coupon; other content under it is a conflict."""
    first = coupons.issue("welcome-15", "alice", key="signup-alice")
    again = coupons.issue("welcome-15", "alice", key="signup-alice")
    assert (first.code, False, True) == (again.code, first.replayed, again.replayed)
    assert (1, 1) == (coupons.issued("welcome-15"), len(coupons.coupons_of("alice")))
    with pytest.raises(IdempotencyConflictError, match="member"):
        coupons.issue("welcome-15", "bob", key="signup-alice")
    assert first.ends_at == START + timedelta(days=30)
    _audit(ledger)


def test_stock_and_member_limits_are_kept(ledger: Ledger, coupons: Coupons) -> None:
    """Issues stop at the member's limit and at the stock, refused with their reasons."""
    coupons.issue("welcome-15", "alice", key="a1")
    coupons.issue("welcome-15", "alice", key="a2")
    with pytest.raises(CouponRefusedError) as limit:
        coupons.issue("welcome-15", "alice", key="a3")
    coupons.issue("welcome-15", "bob", key="b1")
    with pytest.raises(CouponRefusedError) as sold_out:
        coupons.issue("welcome-15", "carol", key="c1")
    assert ("member_limit", "sold_out", 3) == (
        limit.value.reason,
        sold_out.value.reason,
        coupons.issued("welcome-15"),
    )
    _audit(ledger)


def test_redeem_single_use_then_used_up(ledger: Ledger, coupons: Coupons) -> None:
    """A single-use coupon takes its exact discount once; a second order is refused used_up."""
    coupon = coupons.issue("welcome-15", "alice", key="k")
    assert Money(18, "CNY") == coupons.check(coupon.code, "alice", ORDER).amount
    use = coupons.redeem(f" {coupon.code.lower()} ", "alice", ORDER, key="order-1")
    assert (Money(18, "CNY"), 0) == (use.discount.amount, coupons.coupon(coupon.code).uses_left)
    assert coupons.redeem(coupon.code, "alice", ORDER, key="order-1").replayed
    with pytest.raises(IdempotencyConflictError):
        coupons.redeem(
            coupon.code, "alice", Order([Line("x", "books", Money(200, "CNY"))]), key="order-1"
        )
    with pytest.raises(CouponRefusedError) as refused:
        coupons.redeem(coupon.code, "alice", ORDER, key="order-2")
    assert "used_up" == refused.value.reason
    _audit(ledger)


@pytest.mark.parametrize(
    ("member", "order", "reason"),
    [
        ("bob", ORDER, "not_owner"),
        ("alice", Order([Line("t", "toys", Money(500, "CNY"))]), "category"),
    ],
)
def test_redeem_refusals_write_nothing(
    ledger: Ledger, coupons: Coupons, member: str, order: Order, reason: str
) -> None:
    """A refused use names its reason and spends no use."""
    coupon = coupons.issue("ten-off", "alice", key="k")
    with pytest.raises(CouponRefusedError) as refused:
        coupons.redeem(coupon.code, member, order, key="o")
    assert (reason, 2) == (refused.value.reason, coupons.coupon(coupon.code).uses_left)
    _audit(ledger)


def test_window_is_enforced(coupons: Coupons, clock: FixedClock) -> None:
    """Before its start a coupon is not_started; after its end it is expired, and issues end."""
    coupon = coupons.issue("later", "alice", key="k")
    reasons = []
    for step in (timedelta(0), timedelta(days=2)):
        clock.advance(step)
        with pytest.raises(CouponRefusedError) as refused:
            coupons.redeem(coupon.code, "alice", ORDER, key=f"o-{step.days}")
        reasons.append(refused.value.reason)
    with pytest.raises(CouponRefusedError) as ended:
        coupons.issue("later", "bob", key="late")
    assert (["not_started", "expired"], "ended") == (reasons, ended.value.reason)


def test_n_uses_and_give_back_once(ledger: Ledger, coupons: Coupons) -> None:
    """A two-use coupon is used twice; a give-back returns one use, once per use."""
    coupon = coupons.issue("ten-off", "alice", key="k")
    first = coupons.redeem(coupon.code, "alice", ORDER, key="o1")
    coupons.redeem(coupon.code, "alice", ORDER, key="o2")
    back = coupons.give_back(first, key="refund-1")
    assert (True, 1) == (back.given_back, coupons.coupon(coupon.code).uses_left)
    assert coupons.give_back("o1", key="refund-1").replayed
    with pytest.raises(CouponRefusedError) as twice:
        coupons.give_back("o1", key="refund-2")
    with pytest.raises(IdempotencyConflictError):
        coupons.give_back("o2", key="refund-1")
    assert "not_used" == twice.value.reason
    assert coupons.use("o1").given_back
    coupons.redeem(coupon.code, "alice", ORDER, key="o3")
    assert 0 == coupons.coupon(coupon.code).uses_left
    _audit(ledger)


def test_dry_runs_write_nothing(ledger: Ledger, coupons: Coupons) -> None:
    """A dry issue and a dry use show their result and leave storage as it was."""
    dry = coupons.issue("welcome-15", "alice", key="k", dry_run=True)
    assert 0 == coupons.issued("welcome-15")
    with pytest.raises(CouponNotFoundError):
        coupons.coupon(dry.code)
    coupon = coupons.issue("ten-off", "alice", key="k2")
    use = coupons.redeem(coupon.code, "alice", ORDER, key="o", dry_run=True)
    assert (Money(10, "CNY"), 2) == (use.discount.amount, coupons.coupon(coupon.code).uses_left)
    _audit(ledger)


def test_unknown_codes_and_definitions(coupons: Coupons) -> None:
    """An unknown code is not found; an unknown definition is an invalid argument."""
    with pytest.raises(CouponNotFoundError):
        coupons.check("PK-3333-3333", "alice", ORDER)
    with pytest.raises(InvalidArgumentError, match="not a coupon definition"):
        coupons.issue("nope", "alice", key="k")


class _Repeating:
    """A random source that repeats its first value once: the second issue's first code collides."""

    def __init__(self) -> None:
        self._values = [5, 5, 9]

    def below(self, bound: int) -> int:
        return self._values.pop(0) % bound


def test_a_colliding_code_is_drawn_again(ledger: Ledger) -> None:
    """When a drawn code is already issued, the issue draws another: codes never repeat."""
    coupons = Coupons(ledger, [TWICE], random=_Repeating())
    first = coupons.issue("ten-off", "alice", key="a")
    second = coupons.issue("ten-off", "bob", key="b")
    assert first.code != second.code
    assert ["bob", "alice"] == [str(coupons.coupon(c).member) for c in (second.code, first.code)]


def test_an_offer_issues_its_coupon_in_the_redemption(ledger: Ledger, coupons: Coupons) -> None:
    """Redeeming an offer whose reward is a coupon issues one per unit, in the same unit of work."""
    catalogue = Catalogue(ledger, coupons=coupons)
    ledger.earn("alice", 1_000, key="e")
    offer = Offer("voucher", "Voucher", Price(points=100), coupon="ten-off")
    redemption = catalogue.redeem("alice", offer, key="r1", quantity=2)
    codes = [coupons.code_for(f"redemption:{redemption.hold}:{i}") for i in range(2)]
    assert sorted(codes) == sorted(c.code for c in coupons.coupons_of("alice"))
    with pytest.raises(InvalidArgumentError, match="coupon issuer"):
        Catalogue(ledger).redeem("alice", offer, key="r2")
    _audit(ledger)


def test_a_cancelled_or_timed_out_redemption_revokes_its_coupons(
    ledger: Ledger, coupons: Coupons, clock: FixedClock
) -> None:
    """Releasing a redemption revokes the coupons it issued; a fulfilled one keeps them usable."""
    catalogue = Catalogue(ledger, coupons=coupons)
    ledger.earn("alice", 1_000, key="e")
    offer = Offer(
        "voucher", "Voucher", Price(points=100), coupon="ten-off", hold_timeout_seconds=600
    )
    books = Order([Line("b", "books", Money(120, "CNY"))])
    kept, cancelled, timed_out = (
        catalogue.redeem("alice", offer, key=key) for key in ("r-kept", "r-cancel", "r-late")
    )
    catalogue.fulfil("r-kept", key="f")
    catalogue.cancel("r-cancel", key="c")
    clock.advance(timedelta(seconds=601))
    ledger.expire_due()
    code = {r.key: coupons.code_for(f"redemption:{r.hold}:0") for r in (kept, cancelled, timed_out)}
    assert Money(10, "CNY") == coupons.check(code["r-kept"], "alice", books).amount
    for key in ("r-cancel", "r-late"):
        with pytest.raises(CouponRefusedError) as refused:
            coupons.redeem(code[key], "alice", books, key=f"use-{key}")
        assert "revoked" == refused.value.reason
        assert 0 == coupons.coupon(code[key]).uses_left
    _audit(ledger)


def test_a_refused_coupon_rolls_the_redemption_back(ledger: Ledger, coupons: Coupons) -> None:
    """If the coupon cannot be issued, the redemption is refused and holds nothing."""
    catalogue = Catalogue(ledger, coupons=coupons)
    ledger.earn("alice", 1_000, key="e")
    offer = Offer("welcome", "Welcome", Price(points=100), coupon="welcome-15")
    with pytest.raises(CouponRefusedError):
        catalogue.redeem("alice", offer, key="r1", quantity=3)
    assert (0, 1_000) == (ledger.balance("alice").held, ledger.balance("alice").available)
    _audit(ledger)


def test_a_lottery_prize_issues_its_coupon_in_the_draw(ledger: Ledger, coupons: Coupons) -> None:
    """Winning a coupon prize issues the coupon with the draw; a dry run issues nothing."""
    draws = Draws(ledger, coupons=coupons)
    lottery = Lottery(
        "spin", "Spin", 10, [Prize("ten", "Ten off", Fraction(1), kind="coupon", coupon="ten-off")]
    )
    ledger.earn("alice", 100, key="e")
    draws.draw("alice", lottery, draw_id="d0", minor=False, dry_run=True)
    assert () == coupons.coupons_of("alice")
    draws.draw("alice", lottery, draw_id="d1", minor=False)
    code = coupons.code_for("draw:d1")
    assert [code] == [c.code for c in coupons.coupons_of("alice")]
    with pytest.raises(InvalidArgumentError, match="coupon issuer"):
        Draws(ledger).draw("alice", lottery, draw_id="d2", minor=False)
    _audit(ledger)


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    steps=st.lists(
        st.tuples(
            st.sampled_from(["issue", "redeem", "give_back"]), st.integers(0, 3), st.integers(0, 5)
        ),
        max_size=25,
    )
)
def test_uses_never_exceed_and_audit_agrees(
    clock: FixedClock, steps: list[tuple[str, int, int]]
) -> None:
    """Whatever the commands, a coupon's uses spent stay in [0, uses], codes are unique, the audit passes."""
    ledger = Ledger(MemoryStorage(), clock=clock)
    coupons = Coupons(ledger, [TWICE], random=SeededRandom(3))
    members = ["alice", "bob", "carol", "dan"]
    codes: list[str] = []
    uses: list[str] = []
    spent: dict[str, int] = {}
    for index, (command, who, pick) in enumerate(steps):
        try:
            if command == "issue":
                codes.append(coupons.issue("ten-off", members[who], key=f"i{index}").code)
            elif command == "redeem" and codes:
                code = codes[pick % len(codes)]
                coupons.redeem(code, members[who], ORDER, key=f"u{index}")
                uses.append(f"u{index}")
                spent[code] = spent.get(code, 0) + 1
            elif command == "give_back" and uses:
                use = coupons.give_back(uses[pick % len(uses)], key=f"g{index}")
                spent[use.code] -= 1
        except CouponRefusedError:
            continue
    assert len(codes) == len(set(codes))
    for code in codes:
        left = coupons.coupon(code).uses_left
        assert 0 <= left <= 2
        assert 2 - spent.get(code, 0) == left
    _audit(ledger)


def test_a_prize_coupon_is_part_of_the_published_table_hash() -> None:
    """The table hash covers which coupon a prize issues; a prize naming none hashes as before."""

    def spin(coupon: str | None) -> Lottery:
        prize = Prize("ten", "Ten off", Fraction(1), kind="coupon", coupon=coupon)
        return Lottery("spin", "Spin", 10, [prize])

    assert spin("ten-off").table_hash != spin("twenty-off").table_hash
    assert spin(None).table_hash not in {spin("ten-off").table_hash, spin("twenty-off").table_hash}

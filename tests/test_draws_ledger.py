"""Lottery draws (Draws) on a ledger: invariants L4, L5, L6, L7, L9 on every adapter."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import timedelta
from fractions import Fraction
from functools import partial
from typing import TYPE_CHECKING

import pytest

from pointkit import FixedClock, Ledger, Money
from pointkit.exceptions import (
    DrawNotFoundError,
    DrawRefusedError,
    IdempotencyConflictError,
    InsufficientPointsError,
    NotReversibleError,
)
from pointkit.features import Draws
from pointkit.ledger import AccountKind, TransactionKind
from pointkit.pricing import Lottery, Pity, Prize, ProvablyFair, SeededRandom, Valuation, verify
from races import race


if TYPE_CHECKING:
    from pointkit.ledger import Storage


def _wheel(**options: object) -> Lottery:
    """A 100-point draw: a phone (3 in stock), 150 points back, or a coupon; pity in 4."""
    return Lottery(
        "wheel",
        "Wheel",
        100,
        [
            Prize("phone", "Phone", Fraction(1, 10), stock=3, cost=Money(3_000, "CNY")),
            Prize("back", "150 points", Fraction(2, 10), kind="points", points=150),
            Prize("coupon", "Coupon", Fraction(7, 10), kind="coupon", cost=Money(5, "CNY")),
        ],
        participation="coupon",
        pity=Pity(["phone", "back"], hard=4),
        valuation=Valuation(100, Money(1, "CNY")),
        **options,  # type: ignore[arg-type]
    )


@pytest.fixture
def ledger(any_storage: Storage, clock: FixedClock) -> Ledger:
    """A ledger on each adapter in turn, in a program of its own."""
    return Ledger(any_storage, clock=clock, program=f"draws-{uuid.uuid4().hex[:8]}")


@pytest.fixture
def draws(ledger: Ledger) -> Draws:
    """The lottery draws on that ledger."""
    return Draws(ledger)


def test_l6_each_draw_debits_its_cost_once_and_credits_a_points_prize(
    ledger: Ledger, draws: Draws
) -> None:
    """L6: a draw takes exactly its cost (less a points prize) once; a replay takes nothing."""
    ledger.earn("alice", 10_000, key="e")
    wheel = _wheel()
    source = SeededRandom(11)
    total_back = 0
    for n in range(30):
        before = ledger.balance("alice").posted
        result = draws.draw("alice", wheel, draw_id=f"d{n}", minor=False, random=source)
        assert TransactionKind.DRAW == result.transaction.kind
        total_back += result.record.points_back
        assert before - 100 + result.record.points_back == ledger.balance("alice").posted
        again = draws.draw("alice", wheel, draw_id=f"d{n}", minor=False, random=source)
        assert again.replayed
        assert result.record == again.record
    lottery_account = ledger.system_balance(AccountKind.LOTTERY)
    assert 30 * 100 - total_back == lottery_account.posted
    assert draws.record("d3") == draws.draw("alice", wheel, draw_id="d3", minor=False).record
    ledger.audit()


def test_l4_l5_stock_and_pity_hold_through_the_ledger(ledger: Ledger, draws: Draws) -> None:
    """L4, L5: no prize passes its stock; the pity counter is honoured and reset as declared."""
    ledger.earn("alice", 100_000, key="e")
    wheel = _wheel()
    source = SeededRandom(3)
    run = longest = 0
    won: Counter[str] = Counter()
    for n in range(200):
        record = draws.draw("alice", wheel, draw_id=f"d{n}", minor=False, random=source).record
        assert run == record.pity_before
        run = record.pity_after
        longest = max(longest, run)
        won[record.prize] += 1
        sold = draws.sold(wheel)
        assert sold["phone"] <= 3
        if sold["phone"] == 3:
            assert 0 == draws.odds("alice", wheel).probability("phone")
    assert 3 == won["phone"]
    assert longest <= 3
    assert run == draws.pity("alice", wheel)
    ledger.audit()


def test_l9_daily_limits_minors_and_windows(
    ledger: Ledger, draws: Draws, clock: FixedClock
) -> None:
    """L9: draws per member per day stop at the limit; minors are blocked; windows hold."""
    ledger.earn("alice", 10_000, key="e")
    now = clock.now()
    wheel = _wheel(daily_limit=2, zone="Asia/Shanghai", ends_at=now + timedelta(days=3))
    draws.draw("alice", wheel, draw_id="a", minor=False)
    draws.draw("alice", wheel, draw_id="b", minor=False)
    reasons = []
    for draw_id, minor in (("c", False), ("d", True)):
        try:
            draws.draw("alice", wheel, draw_id=draw_id, minor=minor)
        except DrawRefusedError as error:
            reasons.append(error.reason)
    clock.advance(timedelta(days=1))
    draws.draw("alice", wheel, draw_id="c", minor=False)  # a new local day; the key was not used
    clock.advance(timedelta(days=2))
    try:
        draws.draw("alice", wheel, draw_id="late", minor=False)
    except DrawRefusedError as error:
        reasons.append(error.reason)
    assert ["daily_limit", "minor", "ended"] == reasons
    open_to_minors = _wheel(minors="allowed")
    assert draws.draw("alice", open_to_minors, draw_id="f", minor=True).record.cost == 100


def test_refused_draws_write_nothing(ledger: Ledger, draws: Draws) -> None:
    """A draw short of points takes nothing and records nothing; ids conflict across commands."""
    wheel = _wheel()
    with pytest.raises(InsufficientPointsError):
        draws.draw("alice", wheel, draw_id="d", minor=False)
    with pytest.raises(DrawNotFoundError):
        draws.record("d")
    assert {"phone": 0} == draws.sold(wheel)
    ledger.earn("alice", 100, key="e")
    with pytest.raises(IdempotencyConflictError):
        draws.draw("alice", wheel, draw_id="e", minor=False)
    result = draws.draw("alice", wheel, draw_id="d", minor=False)
    with pytest.raises(NotReversibleError):
        ledger.reverse(result.transaction.id, key="undo")


def test_l7_provably_fair_draws_verify_after_the_seed_is_revealed(
    ledger: Ledger, draws: Draws
) -> None:
    """L7: fair draws number their nonces per seed pair, and every record verifies offline."""
    ledger.earn("alice", 10_000, key="e")
    ledger.earn("bob", 10_000, key="e-bob")
    fair = ProvablyFair(bytes(range(32)), client_seed="shared-seed")
    wheel = _wheel()
    records = [
        draws.draw(member, wheel, draw_id=f"f{n}", minor=False, random=fair).record
        for n, member in enumerate(["alice", "bob"] * 5)
    ]
    assert list(range(10)) == [record.fairness.nonce for record in records if record.fairness]
    for record in records:
        verify(record, fair.reveal(), lottery=wheel)
        assert record == draws.record(record.draw_id)
    ledger.audit()


@pytest.mark.parametrize("adapter", ["sqlite", "postgres"])
def test_l4_concurrent_draws_never_oversell_a_prize(
    adapter: str, request: pytest.FixtureRequest, clock: FixedClock
) -> None:
    """L4: 16 members drawing at once on a prize of stock 2 and chance 1/2 win it at most twice."""
    storage: Storage = request.getfixturevalue(
        "sqlite_storage" if adapter == "sqlite" else "postgres_storage"
    )
    ledger = Ledger(storage, clock=clock, program=f"draw-race-{uuid.uuid4().hex[:8]}")
    draws = Draws(ledger)
    lottery = Lottery(
        "hot",
        "Hot",
        10,
        [Prize("tv", "TV", Fraction(1, 2), stock=2), Prize("pen", "Pen", Fraction(1, 2))],
        participation="pen",
    )
    members = [f"m{n}" for n in range(16)]
    for member in members:
        ledger.earn(member, 10, key=f"e-{member}")
    outcomes = race(
        [partial(draws.draw, m, lottery, draw_id=f"d-{m}", minor=False) for m in members]
    )
    prizes = Counter(getattr(outcome, "prize", type(outcome).__name__) for outcome in outcomes)
    assert prizes["tv"] == draws.sold(lottery)["tv"] <= 2
    assert 16 == prizes["tv"] + prizes["pen"]
    ledger.audit()

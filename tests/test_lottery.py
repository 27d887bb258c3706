"""Lottery properties: invariants L1-L5, L7, L8 and L10 on the pure side (Draws in test_draws_ledger)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction
from math import sqrt

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pointkit import Money
from pointkit.exceptions import ArgumentTypeError, ConfigurationError, InvalidArgumentError
from pointkit.pricing import (
    DrawRecord,
    Lottery,
    Odds,
    Pity,
    Prize,
    ProvablyFair,
    SecretsRandom,
    SeededRandom,
    Valuation,
    fair_value,
    verify,
)
from pointkit.pricing._random import FairnessProof


# Pearson chi-square critical values at alpha = 1e-6 (scipy.stats.chi2.isf(1e-6, df)).
CHI2_CRITICAL = {1: 23.93, 2: 27.63, 3: 30.66, 4: 33.38, 9: 44.81}


def _chi2(observed: dict[str, int], expected: dict[str, Fraction], draws: int) -> float:
    return sum(
        float((observed.get(prize, 0) - draws * p) ** 2 / (draws * p))
        for prize, p in expected.items()
        if p > 0
    )


def _source_example() -> Lottery:
    """The research example: a 1,000-point draw, 0.01 yuan a point (c.6)."""
    return Lottery(
        "wheel",
        "Lucky wheel",
        1_000,
        [
            Prize("phone", "Phone", Fraction(10, 10_000), cost=Money(3_000, "CNY")),
            Prize(
                "coupon",
                "100-yuan coupon",
                Fraction(100, 10_000),
                kind="coupon",
                cost=Money(100, "CNY"),
            ),
            Prize("back", "500 points back", Fraction(1_000, 10_000), kind="points", points=500),
            Prize("thanks", "50 points", Fraction(8_890, 10_000), kind="points", points=50),
        ],
        valuation=Valuation(100, Money(1, "CNY")),
    )


@st.composite
def tables(draw: st.DrawFn) -> list[Prize]:
    """A prize table of 1 to 6 prizes whose exact probabilities sum to 1."""
    weights = draw(st.lists(st.integers(1, 1_000), min_size=1, max_size=6))
    total = sum(weights)
    return [Prize(f"p{i}", f"Prize {i}", Fraction(w, total)) for i, w in enumerate(weights)]


@given(tables())
def test_l1_odds_are_exact_and_hashed(prizes: list[Prize]) -> None:
    """L1: probabilities sum to exactly 1, and the table and odds hashes are stable."""
    lottery = Lottery("l", "L", 10, prizes)
    odds = lottery.odds()
    assert 1 == sum(p for _, p in odds.items())
    assert all(p >= 0 for _, p in odds.items())
    assert odds.total == sum(odds.weights)
    again = Lottery("l", "L", 10, prizes)
    assert (lottery.table_hash, odds.hash) == (again.table_hash, again.odds().hash)
    assert Decimal("100.00") == sum(row.percent for row in lottery.disclosure().rows)


@given(st.lists(st.integers(0, 30), min_size=1, max_size=8).filter(lambda ws: sum(ws) > 0))
def test_l2_every_value_maps_to_one_prize_exactly_weight_times(weights: list[int]) -> None:
    """L2: enumerating every value below the total yields each prize exactly its weight."""
    names = [f"p{i}" for i in range(len(weights))]
    odds = Odds.from_weights(names, weights)
    counts = Counter(odds.pick(value) for value in range(odds.total))
    assert {name: weight for name, weight in zip(names, weights, strict=True) if weight} == dict(
        counts
    )


@pytest.mark.parametrize("bound", [1, 2, 3, 5, 7, 100, 129, 255, 256])
def test_l2_the_fair_mapping_has_no_bias(bound: int) -> None:
    """L2: rejection sampling on the HMAC stream accepts each value from exactly as many chunks."""
    bits = (bound - 1).bit_length()
    size = max((bits + 7) // 8, 1)
    accepted: Counter[int] = Counter()
    for chunk in range(256**size):
        value = chunk >> (size * 8 - bits) if bits else 0
        if value < bound:
            accepted[value] += 1
    assert set(accepted) == set(range(bound))
    assert len(set(accepted.values())) == 1


def test_l3_a_million_seeded_draws_pass_chi_square() -> None:
    """L3: 1,000,000 seeded draws pass Pearson chi-square at alpha = 1e-6, each within 5 sigma."""
    lottery = _source_example()
    draws = 1_000_000
    simulation = lottery.simulate(draws, random=SeededRandom(20261201))
    observed = dict(simulation.counts)
    expected = dict(lottery.odds().items())
    assert _chi2(observed, expected, draws) < CHI2_CRITICAL[len(expected) - 1]
    for prize, p in expected.items():
        sigma = sqrt(draws * p * (1 - p))
        assert abs(observed[prize] - draws * p) < 5 * sigma


def test_l3_l10_draws_with_pity_match_the_consolidated_rates() -> None:
    """L3, L10: with pity, a million simulated draws match the analytic consolidated rates."""
    lottery = Lottery(
        "banner",
        "Banner",
        160,
        [
            Prize("five", "5 star", Fraction(6, 1_000)),
            Prize("four", "4 star", Fraction(51, 1_000)),
            Prize("three", "3 star", Fraction(943, 1_000)),
        ],
        pity=Pity(["five"], hard=90, soft_start=74, soft_step=Fraction(6, 100)),
    )
    rates = lottery.consolidated()
    assert 62.297 < float(lottery.mean_draws_to_reset()) < 62.298  # Genshin's model: 62.30
    assert Fraction(1) / lottery.mean_draws_to_reset() == rates["five"]
    draws = 1_000_000
    simulation = lottery.simulate(draws, random=SeededRandom(7), members=50)
    assert _chi2(dict(simulation.counts), rates, draws) < CHI2_CRITICAL[2]


def test_l4_sold_out_prizes_pass_their_chance_to_the_fallback() -> None:
    """L4: a sold-out prize's chance is 0 and all of it goes to its declared fallback."""
    lottery = Lottery(
        "l",
        "L",
        10,
        [
            Prize("phone", "Phone", Fraction(1, 10), stock=2, fallback="tablet"),
            Prize("tablet", "Tablet", Fraction(2, 10), stock=3),
            Prize("coupon", "Coupon", Fraction(7, 10)),
        ],
        participation="coupon",
    )
    assert Fraction(1, 10) == lottery.odds(sold={"phone": 1}).probability("phone")
    odds = lottery.odds(sold={"phone": 2})
    assert [Fraction(0), Fraction(3, 10), Fraction(7, 10)] == [p for _, p in odds.items()]
    odds = lottery.odds(sold={"phone": 2, "tablet": 3})
    assert [Fraction(0), Fraction(0), Fraction(1)] == [p for _, p in odds.items()]
    simulation = lottery.simulate(5_000, random=SeededRandom(3))
    assert (2, 3) == (simulation.count("phone"), simulation.count("tablet"))
    assert ["phone", "tablet"] == sorted(prize for prize, _ in simulation.sold_out)


@given(
    st.integers(2, 40),
    st.fractions(min_value=Fraction(1, 1_000), max_value=Fraction(1, 2), max_denominator=1_000),
    st.integers(0, 2**32),
)
@settings(max_examples=60)
def test_l5_no_member_ever_goes_past_the_hard_pity(hard: int, chance: Fraction, seed: int) -> None:
    """L5: in any run, a member never has more than hard - 1 draws in a row without the set."""
    lottery = Lottery(
        "l",
        "L",
        10,
        [Prize("rare", "Rare", chance), Prize("common", "Common", 1 - chance)],
        pity=Pity(["rare"], hard=hard),
    )
    source = SeededRandom(seed)
    count = longest = 0
    for _ in range(2_000):
        prize = lottery.odds(pity=count).pick(source.below(lottery.odds(pity=count).total))
        count = lottery.pity_after(count, prize)
        longest = max(longest, count)
    assert longest <= hard - 1
    assert Fraction(1) == lottery.odds(pity=hard - 1).probability("rare")


def test_l5_declared_resets() -> None:
    """L5: only the declared prizes reset the counter; a soft ramp rises as declared."""
    pity = Pity(
        ["gold"], hard=10, soft_start=8, soft_step=Fraction(1, 4), resets_on=["gold", "silver"]
    )
    lottery = Lottery(
        "l",
        "L",
        10,
        [
            Prize("gold", "Gold", Fraction(1, 10)),
            Prize("silver", "Silver", Fraction(2, 10)),
            Prize("tin", "Tin", Fraction(7, 10)),
        ],
        pity=pity,
    )
    assert (0, 0, 4) == (
        lottery.pity_after(3, "gold"),
        lottery.pity_after(3, "silver"),
        lottery.pity_after(3, "tin"),
    )
    assert [Fraction(1, 10), Fraction(7, 20), Fraction(3, 5), Fraction(1)] == [
        lottery.odds(pity=count).probability("gold") for count in (6, 7, 8, 9)
    ]
    assert Fraction(2, 10) * Fraction(13, 18) == lottery.odds(pity=7).probability("silver")


def test_l7_fair_draws_verify_and_tampering_is_caught() -> None:
    """L7: a provably fair draw verifies with its revealed seed; any change does not."""
    seed = bytes(range(32))
    fair = ProvablyFair(seed, client_seed="alice-42")
    lottery = _source_example()
    odds = lottery.odds()
    proof = fair.draw(nonce=7, bound=odds.total)
    record = DrawRecord(
        draw_id="d1",
        lottery=lottery.id,
        member="alice",
        at=datetime(2026, 3, 1, tzinfo=UTC),
        cost=1_000,
        prize=odds.pick(proof.value),
        kind="goods",
        points_back=0,
        table_hash=lottery.table_hash,
        odds=tuple(zip(odds.prizes, odds.weights, strict=True)),
        value=proof.value,
        pity_before=0,
        pity_after=0,
        fairness=proof,
        transaction="t",
    )
    verify(record, fair.reveal())
    assert record == DrawRecord.from_dict(record.to_dict())
    with pytest.raises(
        InvalidArgumentError, match="SHA-256 of the revealed seed is not the published"
    ):
        verify(record, bytes(32))
    other = next(prize for prize in odds.prizes if prize != record.prize)
    with pytest.raises(InvalidArgumentError, match=f"the record says '{other}'"):
        verify(attrs.evolve(record, prize=other), seed)
    moved = FairnessProof(proof.commitment, proof.client_seed, 8, proof.bound, proof.value)
    if fair_value(seed, "alice-42", 8, proof.bound) != proof.value:
        with pytest.raises(InvalidArgumentError, match="the seeds give"):
            verify(attrs.evolve(record, fairness=moved), seed)


def test_l8_participation_means_every_draw_wins_something() -> None:
    """L8: with a participation prize there is no 'nothing', and every chain ends in stock."""
    with pytest.raises(ConfigurationError) as raised:
        Lottery(
            "l",
            "L",
            10,
            [
                Prize("phone", "Phone", Fraction(1, 10), stock=1),
                Prize("none", "Thanks", Fraction(1, 10), kind="nothing"),
                Prize("pen", "Pen", Fraction(8, 10), stock=5, fallback="phone"),
            ],
            participation="pen",
        )
    assert [
        "participation: 'pen' has a stock of 5; a participation prize must never run out",
        "prizes[1].kind: 'none' is 'nothing', but with a participation prize every draw wins something",
        "prizes[0].fallback: the fallbacks go round in a circle (phone -> pen -> phone); every chain must end at a prize with unlimited stock",
        "prizes[2].fallback: the fallbacks go round in a circle (pen -> phone -> pen); every chain must end at a prize with unlimited stock",
    ] == list(raised.value.problems)


def test_l10_the_source_example_expected_cost() -> None:
    """L10: the research example costs 9,889/2,000 = 4.9445 yuan a draw, 49.4% back to players."""
    expectation = _source_example().expectation()
    assert Fraction(9_889, 2_000) == expectation.prize_cost
    assert Fraction(10) == expectation.price
    assert Fraction(9_889, 20_000) == expectation.return_to_player
    assert Fraction(1_889, 20) == expectation.points_back  # 50 + 44.45 points a draw
    assert Fraction(9_889, 20) == expectation.prize_cost_points


def test_l10_disclosure_percentages_sum_to_exactly_100() -> None:
    """L10: displayed percentages use largest remainder and sum to exactly 100.00%."""
    thirds = Lottery("t", "Thirds", 1, [Prize(f"p{i}", f"P{i}", Fraction(1, 3)) for i in range(3)])
    assert [Decimal("33.34"), Decimal("33.33"), Decimal("33.33")] == [
        row.percent for row in thirds.disclosure().rows
    ]


def test_the_disclosure_table_in_chinese_and_english() -> None:
    """The published table lists names, quantities, exact odds and percentages, in both languages."""
    lottery = Lottery(
        "wheel",
        "Lucky wheel",
        1_000,
        [
            Prize("trip", "Trip", Fraction(1, 100_000), stock=1, name_zh="一等奖：旅游"),
            Prize(
                "coupon",
                "Coupon",
                Fraction(99_999, 100_000),
                kind="coupon",
                name_zh="参与奖：优惠券",
            ),
        ],
        participation="coupon",
        pity=Pity(["trip", "coupon"], hard=2),
        daily_limit=3,
        zone="Asia/Shanghai",
        name_zh="幸运大转盘",
    )
    zh = lottery.disclosure(sold={"trip": 1}).to_text("zh").splitlines()
    assert "幸运大转盘（每次消耗 1000 积分）" == zh[0]
    assert zh[2].split() == ["一等奖：旅游", "1", "0", "0", "0.00%", "0.00%"]
    assert "每人每天最多抽 3 次" in zh
    en = lottery.disclosure().to_text("en").splitlines()
    assert en[2].split() == ["Trip", "1", "1", "1/100000", "0.00%", "0.00%"]
    assert en[-1] == f"Table hash: {lottery.table_hash}"
    with pytest.raises(InvalidArgumentError, match="must be 'zh' or 'en'"):
        lottery.disclosure().to_text("fr")  # type: ignore[arg-type]


def test_lottery_problems_are_all_listed() -> None:
    """A lottery with several problems reports every one, each with its path."""
    with pytest.raises(ConfigurationError) as raised:
        Lottery(
            "l",
            "L",
            0,
            [Prize("a", "A", Fraction(1, 2)), Prize("a", "A again", Fraction(1, 2))],
            daily_limit=2,
            minors="maybe",  # type: ignore[arg-type]
            pity=Pity(["b"], hard=5),
        )
    assert [
        "cost: 0 must be an int from 1 to 9223372036854775807",
        "prizes[1].id: 'a' is used twice",
        "prizes: the probabilities sum to 1/2, not 1 (1/2 missing); declare every outcome, 'nothing' included, with its own probability",
        "pity.prizes: 'b' are not prizes of this lottery",
        "pity.resets_on: 'b' are not prizes of this lottery",
        "pity.prizes: every guaranteed prize has stock and may run out; include one with unlimited stock, or the guarantee could not be kept",
        "zone: a daily limit counts local days; give the program's time zone",
        "minors: 'maybe' must be 'blocked' or 'allowed'",
    ] == list(raised.value.problems)


def test_prizes_and_pity_refuse_bad_values_at_once() -> None:
    """Leaf values are checked where they are built, naming the field."""
    with pytest.raises(ArgumentTypeError, match=r"probability=0\.5 must be a Fraction"):
        Prize("a", "A", 0.5)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="exactly when kind='points'"):
        Prize("a", "A", Fraction(1, 2), kind="points")
    with pytest.raises(InvalidArgumentError, match="soft_start=95 must be before hard=90"):
        Pity(["a"], hard=90, soft_start=95, soft_step=Fraction(1, 10))
    with pytest.raises(InvalidArgumentError, match="resets_on must include every guaranteed prize"):
        Pity(["a", "b"], hard=9, resets_on=["a"])


def test_random_sources() -> None:
    """Sources give integers below the bound; seeded ones repeat; bad bounds are refused."""
    assert all(0 <= SecretsRandom().below(7) < 7 for _ in range(100))
    source = SeededRandom(5)
    assert SeededRandom(5).many(1_000, 50) == [source.below(1_000) for _ in range(50)]
    with pytest.raises(InvalidArgumentError):
        SeededRandom(5).below(0)
    assert fair_value(bytes(16), "c", 0, 1) == 0
    with pytest.raises(InvalidArgumentError, match="use at least 16"):
        ProvablyFair(b"short", client_seed="c")

"""Stacked lottery pity: a rare prize within 10 draws and the top prize within 90, on one table."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime
from fractions import Fraction
from typing import TYPE_CHECKING

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pointkit import FixedClock, Ledger
from pointkit.exceptions import ConfigurationError, FairnessError, InvalidArgumentError
from pointkit.features import Draws
from pointkit.pricing import DrawRecord, Lottery, Pity, Prize, ProvablyFair, SeededRandom, verify
from pointkit.program import config_from_dict


if TYPE_CHECKING:
    from pointkit.ledger import Storage

SEED = bytes(range(32))


def _gacha(top: Fraction = Fraction(6, 1_000), rare: Fraction = Fraction(51, 1_000)) -> Lottery:
    """A gacha: the top prize within 90 draws, a rare prize (or better) within 10."""
    return Lottery(
        "gacha",
        "Gacha",
        160,
        [
            Prize("top", "Top", top),
            Prize("rare", "Rare", rare),
            Prize("common", "Common", 1 - top - rare),
        ],
        pity=[
            Pity(["rare"], hard=10, resets_on=["rare", "top"]),
            Pity(["top"], hard=90),
        ],
    )


def _single(pity: Pity | list[Pity]) -> Lottery:
    return Lottery(
        "gacha",
        "Gacha",
        160,
        [Prize("top", "Top", Fraction(1, 100)), Prize("common", "Common", Fraction(99, 100))],
        pity=pity,
    )


def test_one_pity_in_a_list_is_the_single_pity_hash_and_odds_included() -> None:
    """A list of one guarantee builds the same lottery, table hash and odds as the single form."""
    single, listed = _single(Pity(["top"], hard=50)), _single([Pity(["top"], hard=50)])
    assert single == listed
    assert single.table_hash == listed.table_hash
    assert single.odds(pity=49) == listed.odds(pity=(49,))
    assert single.consolidated() == listed.consolidated()


def test_stacked_pity_changes_the_table_hash_and_keeps_one_counter_per_guarantee() -> None:
    """Stacked guarantees hash differently and count under the lottery's id, then ``id:2``."""
    gacha = _gacha()
    assert gacha.table_hash != _single(Pity(["top"], hard=90)).table_hash
    expected = (("pointkit:pity:gacha", "lifetime"), ("pointkit:pity:gacha:2", "lifetime"))
    assert expected == gacha.pity_keys


def test_the_longest_guarantee_wins_a_draw_where_both_are_due() -> None:
    """At both hard pities the top prize is certain; at the rare's, every non-top chance is rare."""
    gacha = _gacha()
    assert Fraction(1) == gacha.odds(pity=(9, 89)).probability("top")
    rare_due = gacha.odds(pity=(9, 3))
    assert Fraction(6, 1_000) == rare_due.probability("top")
    assert Fraction(994, 1_000) == rare_due.probability("rare")
    assert Fraction(0) == rare_due.probability("common")
    assert gacha.odds() == gacha.odds(pity=(0, 0))


def test_consolidated_rates_are_exact_and_match_the_top_renewal() -> None:
    """Rates sum to 1 and the top prize's rate is one over the mean draws between top wins."""
    gacha = _gacha()
    rates = gacha.consolidated()
    assert Fraction(1) == sum(rates.values(), Fraction(0))
    assert 1 / gacha.mean_draws_to_reset() == rates["top"]
    mean = sum((Fraction(994, 1_000) ** k for k in range(90)), Fraction(0))
    assert mean == gacha.mean_draws_to_reset()


def test_consolidated_rates_agree_with_a_long_seeded_simulation() -> None:
    """Half a million seeded draws land within half a percentage point of the exact rates."""
    gacha = _gacha()
    simulation = gacha.simulate(500_000, random=SeededRandom(5))
    rates = gacha.consolidated()
    for prize, rate in rates.items():
        assert abs(Fraction(simulation.count(prize), 500_000) - rate) < Fraction(5, 1_000)


@settings(max_examples=25, deadline=None)
@given(
    top=st.fractions(min_value=Fraction(1, 1_000), max_value=Fraction(1, 10)).map(
        lambda f: f.limit_denominator(1_000)
    ),
    rare=st.fractions(min_value=Fraction(1, 1_000), max_value=Fraction(3, 10)).map(
        lambda f: f.limit_denominator(1_000)
    ),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_no_member_ever_goes_past_either_hard_guarantee(
    top: Fraction, rare: Fraction, seed: int
) -> None:
    """Stacked pity: over seeded draws, no run without rare-or-top passes 10, none without top 90."""
    gacha = _gacha(top, rare)
    source = SeededRandom(seed)
    counts: tuple[int, ...] = (0, 0)
    longest = [0, 0]
    for _ in range(2_000):
        prize, _value = gacha.odds(pity=counts).draw(source)
        counts = gacha.pities_after(counts, prize)
        longest = [max(longest[0], counts[0]), max(longest[1], counts[1])]
    assert longest[0] <= 9
    assert longest[1] <= 89


@pytest.mark.parametrize(
    ("pity", "problem"),
    [
        (
            [Pity(["rare"], hard=10), Pity(["top"], hard=90)],
            "pity[0].resets_on: it must include 'top', which reset pity[1]",
        ),
        (
            [Pity(["top"], hard=90), Pity(["rare"], hard=10, resets_on=["rare", "top"])],
            "pity[1].hard: 10 must be more than pity[0].hard=90",
        ),
        (
            [Pity(["rare", "top"], hard=10), Pity(["top"], hard=90)],
            "pity[1].prizes: 'top' are guaranteed by pity[0] too",
        ),
        (
            [
                Pity(["rare"], hard=10, resets_on=["rare", "top"], counter="run"),
                Pity(["top"], hard=90, counter="run"),
            ],
            "pity[1].counter: 'run' is pity[0]'s counter too",
        ),
        ([Pity(["gold"], hard=10), Pity(["top"], hard=90)], "pity[0].prizes: 'gold'"),
        ([], "pity: 0 guarantees; give 1 to 4 (PITY_LEVELS_MAX)"),
    ],
)
def test_stacked_pity_refuses_guarantees_that_cannot_all_hold(
    pity: list[Pity], problem: str
) -> None:
    """Each way stacked guarantees could break one another is refused, naming the guarantee."""
    with pytest.raises(ConfigurationError) as caught:
        Lottery(
            "gacha",
            "Gacha",
            160,
            [
                Prize("top", "Top", Fraction(6, 1_000)),
                Prize("rare", "Rare", Fraction(51, 1_000)),
                Prize("common", "Common", Fraction(943, 1_000)),
            ],
            pity=pity,
        )
    assert any(line.startswith(problem) for line in caught.value.problems), caught.value.problems


def test_odds_refuse_more_counters_than_guarantees() -> None:
    """A lottery with one guarantee takes one counter; three for two guarantees are refused."""
    with pytest.raises(InvalidArgumentError, match=r"gives 3 counters; lottery 'gacha' has 2"):
        _gacha().odds(pity=(1, 2, 3))


def test_the_disclosure_states_every_guarantee() -> None:
    """The published table lists both guarantees, and its data form adds them as ``pities``."""
    disclosure = _gacha().disclosure()
    text = disclosure.to_text("en")
    assert "after 9 draws in a row without Rare, draw 10 gives one of them" in text
    assert "after 89 draws in a row without Top, draw 90 gives one of them" in text
    expected = [{"prizes": ["rare"], "hard": 10}, {"prizes": ["top"], "hard": 90}]
    assert expected == disclosure.to_dict()["pities"]
    assert "pities" not in _single(Pity(["top"], hard=50)).disclosure().to_dict()


def test_config_reads_an_array_of_pity_tables() -> None:
    """``pity = [{...}, {...}]`` reads as stacked guarantees; the single table still reads."""
    prizes = [
        {"id": "top", "name": "Top", "probability": "6/1000"},
        {"id": "rare", "name": "Rare", "probability": "51/1000"},
        {"id": "common", "name": "Common", "probability": "943/1000"},
    ]
    stacked = {"prizes": ["rare"], "hard": 10, "resets_on": ["rare", "top"]}
    document = {
        "program": {"id": "shop", "zone": "Asia/Shanghai"},
        "lotteries": [
            {
                "id": "gacha",
                "name": "Gacha",
                "cost": 160,
                "prizes": prizes,
                "pity": [stacked, {"prizes": ["top"], "hard": 90}],
            },
            {
                "id": "wheel",
                "name": "Wheel",
                "cost": 160,
                "prizes": prizes,
                "pity": {"prizes": ["top"], "hard": 90},
            },
        ],
    }
    config = config_from_dict(document)
    assert _gacha().table_hash == config.lottery("gacha").table_hash
    assert 1 == len(config.lottery("wheel").pities)
    del stacked["resets_on"]
    with pytest.raises(ConfigurationError, match=r"pity\[0\]\.resets_on: it must include 'top'"):
        config_from_dict(document)


# -- through the ledger --------------------------------------------------------------------------


@pytest.fixture
def draws(any_storage: Storage) -> Draws:
    """Draws on each storage adapter in turn, in a program of its own."""
    clock = FixedClock(datetime(2026, 3, 1, 4, 0, tzinfo=UTC))
    ledger = Ledger(any_storage, clock=clock, program=f"stacked-{uuid.uuid4().hex[:8]}")
    ledger.earn("alice", 10_000_000, key="e")
    return Draws(ledger)


def test_stacked_counters_hold_and_verify_through_the_ledger(draws: Draws) -> None:
    """Each guarantee's counter is kept, recorded before and after, and every fair draw verifies."""
    gacha = _gacha(Fraction(1, 100), Fraction(5, 100))
    fair = ProvablyFair(SEED, client_seed="alice-device")
    counts: tuple[int, ...] = (0, 0)
    won: Counter[str] = Counter()
    for n in range(240):
        record = draws.draw("alice", gacha, draw_id=f"d{n}", minor=False, random=fair).record
        assert counts == record.pities_before
        counts = record.pities_after
        assert counts[0] <= 9
        assert counts[1] <= 89
        won[record.prize] += 1
        verify(record, SEED, lottery=gacha)
        assert record == DrawRecord.from_dict(record.to_dict())
    assert counts == draws.pities("alice", gacha)
    assert counts[0] == draws.pity("alice", gacha)
    assert gacha.odds(pity=counts) == draws.odds("alice", gacha)
    assert won["top"] >= 2


def test_a_record_with_a_tampered_stacked_counter_fails_verification(draws: Draws) -> None:
    """Changing a stacked counter in a record is named by verify; dropping them all is too."""
    gacha = _gacha()
    fair = ProvablyFair(SEED, client_seed="alice-device")
    records = [
        draws.draw("alice", gacha, draw_id=f"d{n}", minor=False, random=fair).record
        for n in range(3)
    ]
    record = records[2]
    assert record.pity_levels is not None
    ((before, after),) = record.pity_levels
    document = record.to_dict()
    document["pity_levels"] = [[before, after + 1]]
    with pytest.raises(FairnessError, match=r"pity_levels\[0\]: guarantee 2 moves"):
        verify(DrawRecord.from_dict(document), SEED, lottery=gacha)
    del document["pity_levels"]
    with pytest.raises(FairnessError, match=r"stacks 2 guarantees"):
        verify(DrawRecord.from_dict(document), SEED, lottery=gacha)


def test_a_single_pity_record_keeps_its_stored_form(draws: Draws) -> None:
    """A draw on a lottery with one guarantee stores no ``pity_levels`` field."""
    wheel = _single(Pity(["top"], hard=50))
    record = draws.draw("alice", wheel, draw_id="d", minor=False).record
    assert None is record.pity_levels
    assert "pity_levels" not in record.to_dict()

"""Exchange between point currencies: invariants P3 (no minting), P4 (conservation), P5 (blocks)."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pointkit import Money
from pointkit.exceptions import ConfigurationError, ConversionRefusedError, InvalidArgumentError
from pointkit.pricing import Conversion, ConversionBonus, Exchange


CURRENCIES = ["points", "miles", "beans", "stars"]
ratios = st.fractions(min_value=Fraction(1, 50), max_value=50, max_denominator=60).filter(
    lambda ratio: ratio > 0
)
bonuses = st.lists(
    st.builds(
        ConversionBonus,
        st.integers(1, 100_000),
        st.integers(1, 10_000),
        repeat=st.booleans(),
    ),
    max_size=3,
)


@st.composite
def conversions(draw: st.DrawFn, source: str, target: str, index: int) -> Conversion:
    """A conversion between two currencies with any ratio, block, fee and bonus tiers."""
    block = draw(st.sampled_from([1, 10, 100, 1_000]))
    return Conversion(
        f"c{index}",
        source,
        target,
        draw(ratios),
        block=block,
        minimum=block * draw(st.integers(1, 3)),
        fee_points=draw(st.integers(0, 50)),
        fee_share=draw(st.sampled_from([Fraction(0), Fraction(1, 100), Fraction(1, 20)])),
        bonuses=draw(bonuses),
        enabled=draw(st.booleans()),
    )


@st.composite
def graphs(draw: st.DrawFn) -> list[Conversion]:
    """Up to eight conversions among four currencies."""
    pairs = draw(
        st.lists(
            st.tuples(st.sampled_from(CURRENCIES), st.sampled_from(CURRENCIES)).filter(
                lambda pair: pair[0] != pair[1]
            ),
            min_size=1,
            max_size=8,
        )
    )
    return [draw(conversions(a, b, i)) for i, (a, b) in enumerate(pairs)]


def _gaining_cycle_exists(conversions: list[Conversion]) -> bool:
    """Brute force: does any simple cycle of enabled conversions multiply to more than 1?

    A depth-first walk over every path that visits each currency at most once, from each start.
    """
    enabled = [c for c in conversions if c.enabled]

    def walk(start: str, at: str, seen: frozenset[str], product: Fraction) -> bool:
        for conversion in enabled:
            if conversion.source != at:
                continue
            reached = product * conversion.max_ratio()
            if conversion.target == start:
                if reached > 1:
                    return True
            elif conversion.target not in seen and walk(
                start, conversion.target, seen | {conversion.target}, reached
            ):
                return True
        return False

    return any(walk(start, start, frozenset({start}), Fraction(1)) for start in CURRENCIES)


@given(graphs())
@settings(max_examples=150)
def test_p3_the_check_refuses_exactly_the_gaining_cycles(graph: list[Conversion]) -> None:
    """P3: an exchange is refused if and only if a cycle of enabled conversions gains."""
    gains = _gaining_cycle_exists(graph)
    if gains:
        with pytest.raises(ConfigurationError, match="a member could mint points"):
            Exchange(graph)
    else:
        Exchange(graph)


@given(graphs(), st.integers(1, 10**7))
@settings(max_examples=150)
def test_p3_round_trips_never_create_points(graph: list[Conversion], amount: int) -> None:
    """P3: converting there and back, through any accepted pair, never returns more than given."""
    assume(not _gaining_cycle_exists(graph))
    exchange = Exchange(graph)
    for there in exchange.conversions:
        for back in exchange.conversions:
            if not (there.enabled and back.enabled):
                continue
            if (there.source, there.target) != (back.target, back.source):
                continue
            try:
                out = there.quote(amount)
                home = back.quote(out.credited)
            except InvalidArgumentError:
                continue  # below a minimum: nothing converts
            assert home.credited <= out.debited


@given(graphs().map(lambda g: g[0]), st.integers(1, 10**9), st.integers(0, 10**6))
@settings(max_examples=150)
def test_p4_p5_quotes_conserve_points_and_respect_blocks(
    conversion: Conversion, points: int, used: int
) -> None:
    """P4, P5: converted x ratio + bonus = credited + truncated; blocks, minimum, fee, leftover."""
    conversion = Conversion(
        conversion.id,
        conversion.source,
        conversion.target,
        conversion.ratio,
        block=conversion.block,
        minimum=conversion.minimum,
        fee_points=conversion.fee_points,
        fee_share=conversion.fee_share,
        bonuses=conversion.bonuses,
    )
    try:
        quote = conversion.quote(points, used=used)
    except InvalidArgumentError:
        assert points // conversion.block * conversion.block < conversion.minimum or (
            points // conversion.block * conversion.block * conversion.ratio < 1
        )
        return
    assert quote.converted * conversion.ratio + quote.bonus == quote.credited + quote.truncated
    assert 0 <= quote.truncated < 1
    assert quote.converted % conversion.block == 0
    assert quote.converted >= conversion.minimum
    assert quote.leftover == points - quote.converted < conversion.block
    assert quote.debited == quote.converted + quote.fee
    assert Fraction(quote.credited, quote.debited) == quote.effective_ratio
    assert quote.effective_ratio <= conversion.max_ratio()


def test_per_period_maximum_is_refused_with_what_is_left() -> None:
    """P5: a member's maximum per period holds; the refusal says how much is left."""
    capped = Conversion(
        "cap", "points", "miles", 1, block=1_000, maximum=10_000, per="month", zone="Asia/Shanghai"
    )
    assert 2_000 == capped.quote(6_000, used=2_000).remaining
    with pytest.raises(ConversionRefusedError) as refused:
        capped.quote(3_000, used=8_000)
    assert ("cap", "period_maximum") == (refused.value.subject, refused.value.reason)
    assert (
        "conversion 'cap' allows 10000 points per month; 8000 were converted already, so at most 2000 more"
        == str(refused.value)
    )


def test_the_source_material_partners() -> None:
    """Marriott's bonus, Chase's blocks, CMB's truncation and CITIC's fee, as quotes."""
    marriott = Conversion(
        "bonvoy",
        "points",
        "miles",
        Fraction(1, 3),
        bonuses=[ConversionBonus(60_000, 5_000, repeat=True)],
    )
    assert (20_000, 5_000, 25_000) == (
        marriott.quote(60_000).base,
        marriott.quote(60_000).bonus,
        marriott.quote(60_000).credited,
    )
    chase = Conversion("ur", "points", "miles", 1, block=1_000)
    assert (12_000, 345) == (chase.quote(12_345).converted, chase.quote(12_345).leftover)
    cmb = Conversion("cmb", "points", "miles", Fraction(1, 18))
    quote = cmb.quote(100)
    assert (5, Fraction(5, 9)) == (quote.credited, quote.truncated)
    citic = Conversion("citic", "points", "miles", Fraction(1, 25), cash_fee=Money(30, "CNY"))
    assert Money(30, "CNY") == citic.quote(25_000).cash_fee


def test_exchange_problems_are_all_listed() -> None:
    """Duplicate ids and every gaining pair are reported together."""
    with pytest.raises(ConfigurationError) as raised:
        Exchange(
            [
                Conversion("a", "points", "miles", 2),
                Conversion("a", "miles", "beans", 1),
                Conversion("b", "miles", "points", 1),
            ]
        )
    assert [
        "conversions[1].id: 'a' is used twice",
        "conversions 'a', 'b' form the cycle points -> miles -> points, whose ratios multiply to 2 > 1: a member could mint points by going round it",
    ] == list(raised.value.problems)


def test_a_longer_gaining_cycle_is_found() -> None:
    """Three currencies round which the ratios multiply past 1 are refused, with the cycle."""
    with pytest.raises(ConfigurationError) as raised:
        Exchange(
            [
                Conversion("pm", "points", "miles", Fraction(1, 2)),
                Conversion("mb", "miles", "beans", 3),
                Conversion("bp", "beans", "points", Fraction(3, 4)),
            ]
        )
    assert ["9/8 > 1"] == [
        problem.split("multiply to ")[1].split(":")[0] for problem in raised.value.problems
    ]
    kept = Exchange(
        [
            Conversion("pm", "points", "miles", Fraction(1, 2)),
            Conversion("mb", "miles", "beans", 3),
            Conversion("bp", "beans", "points", Fraction(3, 4), enabled=False),
        ]
    )
    assert 3 == len(kept.conversions)


def test_conversion_problems_name_their_fields() -> None:
    """A conversion with several problems lists them all."""
    with pytest.raises(ConfigurationError) as raised:
        Conversion("x", "points", "points", 0, block=100, minimum=150, maximum=10, per="day")
    assert [
        "target: 'points' must differ from the source",
        "ratio: 0 must be more than zero",
        "minimum: 150 must be a multiple of block (100)",
        "maximum: 10 must be at least the minimum (150)",
        "zone: a maximum per day counts local days; give the program's time zone",
    ] == list(raised.value.problems)
    with pytest.raises(ConversionRefusedError, match="is disabled"):
        Conversion("off", "points", "miles", 1, enabled=False).quote(10)
    with pytest.raises(
        InvalidArgumentError, match="converts to 0 miles at 1/18; convert at least 18"
    ):
        Conversion("cmb", "points", "miles", Fraction(1, 18)).quote(17)

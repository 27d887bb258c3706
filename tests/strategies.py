"""Hypothesis strategies for every pointkit value type."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from hypothesis import strategies as st

from pointkit import MemberId, Money, MoneyCurrency, PointCurrency, Points, ProgramId, limits
from pointkit._values import ROUNDING_MODES


def edge_ints(low: int, high: int) -> st.SearchStrategy[int]:
    """Integers in [low, high], biased to the edges and powers of two (TigerBeetle style)."""
    edges = {low, high, low + 1, high - 1, 0, 1, -1}
    edges |= {sign * 2**k + delta for k in range(64) for sign in (1, -1) for delta in (-1, 0, 1)}
    return st.sampled_from(sorted(e for e in edges if low <= e <= high)) | st.integers(low, high)


points = edge_ints(-limits.POINTS_MAX, limits.POINTS_MAX).map(Points)
amounts = edge_ints(1, limits.POINTS_MAX)
texts = st.text(
    alphabet=st.characters(categories=["L", "N", "P", "S"], include_characters=" "),
    min_size=1,
    max_size=limits.MEMBER_ID_LENGTH_MAX,
).filter(lambda text: text.strip() == text)
member_ids = texts.map(MemberId)
program_ids = texts.filter(lambda text: len(text) <= limits.PROGRAM_ID_LENGTH_MAX).map(ProgramId)
point_currencies = st.builds(
    PointCurrency,
    st.from_regex(r"[a-z][a-z0-9_]{0,31}", fullmatch=True),
    decimals=st.integers(0, limits.CURRENCY_DECIMALS_MAX),
)
money_currencies = st.sampled_from(["CNY", "USD", "JPY", "KWD", "CLF", "EUR"]).map(
    MoneyCurrency.iso
)
roundings = st.sampled_from(ROUNDING_MODES)
fractions = st.fractions(max_denominator=10**6)


@st.composite
def moneys(draw: st.DrawFn, currency: MoneyCurrency | None = None) -> Money:
    """Money on the grid of *currency* (or of a drawn one)."""
    chosen = currency or draw(money_currencies)
    bound = 10 ** (limits.MONEY_DIGITS_MAX - 2) - 1
    units = draw(edge_ints(-bound, bound))
    return Money.from_minor_units(units, chosen)


def decimals_for(currency: MoneyCurrency) -> st.SearchStrategy[Decimal]:
    """Decimals exactly on *currency*'s grid."""
    return st.integers(-(10**12), 10**12).map(
        lambda units: Decimal(units).scaleb(-currency.decimals)
    )


aware_datetimes = st.datetimes(
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001 - bounds of a strategy that adds zones
    max_value=datetime(2100, 1, 1),  # noqa: DTZ001
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5))]),
)
naive_datetimes = st.datetimes(
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001
    max_value=datetime(2100, 1, 1),  # noqa: DTZ001
)

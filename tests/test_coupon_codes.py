"""Coupon codes and definitions, purely: formats, the space rule, uniqueness, exact discounts."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pointkit import Money
from pointkit.campaigns import (
    DEFAULT_ALPHABET,
    LOOK_ALIKES,
    AmountOff,
    CodeFormat,
    CouponDefinition,
    FreeShipping,
    Gift,
    Order,
    PercentOff,
    normalize_code,
)
from pointkit.exceptions import ConfigurationError, CouponRefusedError, InvalidArgumentError
from pointkit.pricing import OfferLimit, SeededRandom
from pointkit.program._config_coupons import read_coupons
from pointkit.program._config_reader import ConfigReader
from pointkit.rules import Line


NOW = datetime(2026, 3, 1, 9, tzinfo=UTC)
FULL_RUN = os.environ.get("POINTKIT_COUPON_CODES_FULL") == "1"


def _order(*amounts: str, shipping: str | None = None, category: str = "books") -> Order:
    lines = [Line(f"sku-{i}", category, Money(amount, "CNY")) for i, amount in enumerate(amounts)]
    return Order(lines, shipping=None if shipping is None else Money(shipping, "CNY"))


# -- formats ---------------------------------------------------------------------------------


def test_default_alphabet_has_no_look_alike() -> None:
    """The default alphabet holds no character of any look-alike group."""
    assert [] == [char for group in LOOK_ALIKES for char in group if char in DEFAULT_ALPHABET]


@pytest.mark.parametrize(
    ("alphabet", "message"),
    [
        ("A", "must have 2 to 36 symbols, not 1"),
        ("ABCA", "repeats a symbol"),
        ("abc", "symbols are capitals A-Z and digits 0-9"),
        ("AB-", "symbols are capitals A-Z and digits 0-9"),
        ("0O", "has 0 and O"),
        ("1IL", "has 1 and I and L"),
        ("2Z", "has 2 and Z"),
        ("5S", "has 5 and S"),
        ("8B", "has 8 and B"),
    ],
)
def test_bad_alphabets_are_refused(alphabet: str, message: str) -> None:
    """Each kind of bad alphabet is refused, naming what is wrong."""
    with pytest.raises(InvalidArgumentError, match=message):
        CodeFormat("####", alphabet=alphabet)


def test_a_custom_alphabet_with_one_of_each_group_is_accepted() -> None:
    """Keeping one member of a look-alike group is fine: 0 without O."""
    assert 100 == CodeFormat("##", alphabet="0123456789").space


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("PK-", "has no '#'"),
        ("pk-##", "has 'kp'"),
        ("PK ##", "has ' '"),
        ("#" * 65, "over limits.COUPON_CODE_LENGTH_MAX"),
    ],
)
def test_bad_patterns_are_refused(pattern: str, message: str) -> None:
    """A pattern without a drawn symbol, or with characters a code may not hold, is refused."""
    with pytest.raises(InvalidArgumentError, match=message):
        CodeFormat(pattern)


@given(st.integers(min_value=0, max_value=25**8 - 1))
def test_code_and_number_are_inverse(number: int) -> None:
    """Writing a number as a code and reading it back gives the number: codes are distinct."""
    codes = CodeFormat("PK-####-####")
    code = codes.code(number)
    assert (len(codes.pattern), number) == (len(code), codes.number(code))


def test_every_code_of_a_small_space_is_distinct() -> None:
    """Over a whole small space, the codes are a bijection of the numbers."""
    codes = CodeFormat("A-###", alphabet="34679")
    assert codes.space == len({codes.code(number) for number in range(codes.space)})


def test_number_refuses_codes_of_another_format() -> None:
    """A code of another shape, literal or alphabet reads as no number."""
    codes = CodeFormat("PK-####")
    assert [None, None, None] == [codes.number(c) for c in ("PK-333", "PX-3333", "PK-3330")]


def test_normalize_code_trims_and_capitalises() -> None:
    """A code as typed is trimmed and put in capitals."""
    assert "PK-ABCD-3467" == normalize_code("  pk-abcd-3467 ")


# -- uniqueness ------------------------------------------------------------------------------


def test_codes_drawn_at_scale_are_all_unique() -> None:
    """Millions of draws with the uniqueness check give distinct, well-formed codes.

    10 million under POINTKIT_COUPON_CODES_FULL=1 (about 30 s); 2 million otherwise.
    """
    count = 10_000_000 if FULL_RUN else 2_000_000
    codes = CodeFormat("PK-####-####")
    source = SeededRandom(2026)
    seen: set[str] = set()
    for _ in range(count):
        seen.add(codes.draw(source, seen.__contains__, subject="scale"))
    sample = list(seen)[:1_000]
    assert (count, []) == (len(seen), [code for code in sample if codes.number(code) is None])


def test_collisions_are_drawn_again() -> None:
    """On a half-full space, every draw that hits a taken code draws again: no code repeats."""
    codes = CodeFormat("####", alphabet="34679ACDEF")
    source = SeededRandom(7)
    seen: set[str] = set()
    hits = 0

    def taken(code: str) -> bool:
        nonlocal hits
        hits += code in seen
        return code in seen

    for _ in range(codes.space // 2):
        seen.add(codes.draw(source, taken, subject="half"))
    assert codes.space // 2 == len(seen)
    assert hits > 0


def test_a_full_space_is_refused_not_repeated() -> None:
    """When every code is taken the draw is refused with codes_exhausted, never repeated."""
    codes = CodeFormat("#", alphabet="34")
    with pytest.raises(CouponRefusedError) as refused:
        codes.draw(SeededRandom(1), lambda _code: True, subject="tiny")
    assert "codes_exhausted" == refused.value.reason


def test_the_space_rule_refuses_a_small_pattern() -> None:
    """A pattern spanning under 1,000 codes per coupon of the stock is refused."""
    with pytest.raises(ConfigurationError, match=r"spans 390625 codes.*390 \* 1000|1000 per"):
        CouponDefinition("small", "Small", Gift("mug"), stock=391, pattern="####")
    assert 390 == CouponDefinition("ok", "Ok", Gift("mug"), stock=390, pattern="####").stock


def test_no_stock_is_sized_for_the_stock_limit() -> None:
    """A definition without a stock needs a space for limits.COUPON_STOCK_MAX coupons."""
    with pytest.raises(ConfigurationError, match="no stock"):
        CouponDefinition("open", "Open", Gift("mug"), pattern="PK-######")


# -- definitions and discounts ---------------------------------------------------------------


def test_definition_lists_every_problem() -> None:
    """A definition with several problems reports them all at once, each naming its field."""
    with pytest.raises(ConfigurationError) as error:
        CouponDefinition(
            "a:b",
            "",
            "ten off",  # type: ignore[arg-type]
            uses=0,
            valid_days=0,
            limits=[OfferLimit(1, "day")],
            categories=[],
        )
    fields = [problem.split(":")[0] for problem in error.value.problems]
    assert ["id", "name", "reward", "categories", "valid_days", "uses", "zone"] == fields


@pytest.mark.parametrize(
    ("reward", "order", "expected"),
    [
        (AmountOff(Money(10, "CNY")), _order("59.00"), "10.00"),
        (AmountOff(Money(100, "CNY")), _order("59.00", shipping="8.00"), "59.00"),
        (PercentOff(Fraction(15)), _order("99.99"), "14.99"),
        (PercentOff(Fraction(15), cap=Money(10, "CNY")), _order("99.99"), "10.00"),
        (PercentOff(Fraction(100)), _order("12.34"), "12.34"),
        (PercentOff(Fraction(1, 3)), _order("10.00"), "0.03"),
        (FreeShipping(), _order("10.00", shipping="8.00"), "8.00"),
        (FreeShipping(), _order("10.00"), "0.00"),
        (Gift("mug"), _order("10.00"), "0.00"),
    ],
)
def test_discount_golden(reward: AmountOff, order: Order, expected: str) -> None:
    """Each reward takes exactly this off the order (percentages floor onto the grid)."""
    definition = CouponDefinition("c", "C", reward)
    assert Money(expected, "CNY") == definition.discount(order, rounding="floor").amount


@pytest.mark.parametrize(
    ("options", "order", "reason"),
    [
        ({"minimum_spend": Money(100, "CNY")}, _order("99.99"), "minimum_spend"),
        ({"categories": ["toys"]}, _order("500.00"), "category"),
        ({"minimum_spend": Money(1, "USD")}, _order("5.00"), "currency"),
    ],
)
def test_discount_refusals(options: dict[str, Any], order: Order, reason: str) -> None:
    """An order the coupon does not fit is refused with its reason."""
    off = Money(5, "USD") if reason == "currency" else Money(5, "CNY")
    definition = CouponDefinition("c", "C", AmountOff(off), **options)
    with pytest.raises(CouponRefusedError) as refused:
        definition.discount(order, rounding="floor")
    assert reason == refused.value.reason


def test_categories_narrow_the_base() -> None:
    """Only the lines in the coupon's categories count towards the base and the minimum."""
    definition = CouponDefinition(
        "books",
        "Books",
        PercentOff(Fraction(10)),
        categories=["books"],
        minimum_spend=Money(50, "CNY"),
    )
    order = Order([Line("b", "books", Money(60, "CNY")), Line("t", "toys", Money(400, "CNY"))])
    found = definition.discount(order, rounding="floor")
    assert (Money(60, "CNY"), Money(6, "CNY")) == (found.eligible, found.amount)


@given(
    cents=st.lists(st.integers(min_value=0, max_value=10**7), min_size=1, max_size=5),
    shipping=st.integers(min_value=0, max_value=10**4),
    percent=st.fractions(min_value=Fraction(1, 100), max_value=100),
    cap=st.none() | st.integers(min_value=1, max_value=10**6),
    off=st.integers(min_value=1, max_value=10**7),
)
def test_discount_is_exact_bounded_and_favours_the_issuer(
    cents: list[int], shipping: int, percent: Fraction, cap: int | None, off: int
) -> None:
    """Every discount is on the grid, never negative, never over the total, never over the exact rate."""
    order = Order(
        [Line(f"s{i}", "books", Money.from_minor_units(c, "CNY")) for i, c in enumerate(cents)],
        shipping=Money.from_minor_units(shipping, "CNY"),
    )
    capped = None if cap is None else Money.from_minor_units(cap, "CNY")
    for reward in (PercentOff(percent, cap=capped), AmountOff(Money.from_minor_units(off, "CNY"))):
        amount = CouponDefinition("c", "C", reward).discount(order, rounding="floor").amount
        assert Money(0, "CNY") <= amount <= order.total
        if isinstance(reward, PercentOff):
            assert Fraction(amount.minor_units) <= Fraction(sum(cents)) * percent / 100


def test_window_is_the_earlier_of_end_and_valid_days() -> None:
    """A coupon's window ends at the definition's end or valid_days after issue, whichever first."""
    definition = CouponDefinition(
        "w", "W", Gift("mug"), starts_at=NOW, ends_at=NOW + timedelta(days=10), valid_days=30
    )
    assert (NOW, NOW + timedelta(days=10)) == definition.window(NOW)
    assert (NOW, NOW + timedelta(days=7)) == CouponDefinition(
        "w", "W", Gift("mug"), starts_at=NOW, valid_days=7
    ).window(NOW)


def test_issue_checks_end_stock_and_member_limits_in_order() -> None:
    """Issuing is refused after the end, when sold out, and over a member's limit, in that order."""
    definition = CouponDefinition(
        "d",
        "D",
        Gift("mug"),
        ends_at=NOW,
        stock=1,
        limits=[OfferLimit(1, "day")],
        zone="Asia/Shanghai",
    )
    reasons = []
    for now, issued, held in (
        (NOW, 1, [1]),
        (NOW - timedelta(1), 1, [1]),
        (NOW - timedelta(1), 0, [1]),
    ):
        with pytest.raises(CouponRefusedError) as refused:
            definition.check_issue(now=now, issued=issued, held=held)
        reasons.append(refused.value.reason)
    assert ["ended", "sold_out", "member_limit"] == reasons


# -- the programme file ------------------------------------------------------------------------


def test_read_coupons_reads_every_reward() -> None:
    """Each reward key reads into its reward, with the definition's other fields."""
    reader = ConfigReader()
    read = read_coupons(
        reader,
        [
            {"id": "a", "name": "A", "amount_off": "10.00 CNY", "minimum_spend": "50.00 CNY"},
            {"id": "p", "name": "P", "percent_off": "25/2", "cap": "30.00 CNY", "valid_days": 30},
            {
                "id": "f",
                "name": "F",
                "free_shipping": True,
                "limits": [{"count": 1, "per": "month"}],
            },
            {"id": "g", "name": "G", "gift": "mug", "categories": ["books"], "uses": 3},
        ],
        ZoneInfo("Asia/Shanghai"),
    )
    assert ([], ["a", "p", "f", "g"]) == (reader.problems, [item.id for item in read])
    assert PercentOff(Fraction(25, 2), cap=Money(30, "CNY")) == read[1].reward


def test_read_coupons_reports_every_problem_with_its_path() -> None:
    """Problems in several items are all reported, each at its TOML path."""
    reader = ConfigReader()
    read_coupons(
        reader,
        [
            {"id": "x", "name": "X"},
            {"id": "y", "name": "Y", "gift": "mug", "cap": "1.00 CNY"},
            {"id": "z", "name": "Z", "percent_off": 0.5},
            {"id": "w", "name": "W", "gift": "mug", "stock": 10, "pattern": "W-##"},
            {"id": "w", "name": "W", "gift": "mug", "stock": 10},
            {"id": "w", "name": "W2", "gift": "mug", "stock": 10},
        ],
        ZoneInfo("UTC"),
    )
    paths = [problem.split(":")[0] for problem in reader.problems]
    assert [
        "coupons[0]",
        "coupons[1].cap",
        "coupons[2].percent_off",
        "coupons[3].pattern",
        "coupons[5].id",
    ] == paths

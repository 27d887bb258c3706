"""Hostile values: what a careless or malicious host might pass to any pointkit argument.

``tests/strategies.py`` has a strategy for every *valid* value type; these are the others.
:func:`hostile` draws from every family at once; the typed families (:func:`bad_ints`,
:func:`bad_texts`, :func:`bad_instants`, ...) stay close to what an argument expects, where
the interesting edges are: an int one past a limit, a string that prints nothing, an instant
at the end of time (the years 1 and 9999, with the largest offsets either way).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, time, timedelta, timezone
from decimal import Decimal
from fractions import Fraction
from functools import cache
from typing import Final
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

from pointkit import Money, limits
from strategies import edge_ints


__all__ = [
    "START",
    "bad_choices",
    "bad_currencies",
    "bad_ids",
    "bad_instants",
    "bad_ints",
    "bad_mappings",
    "bad_money",
    "bad_spans",
    "bad_texts",
    "hostile",
    "nasty_texts",
    "printable_texts",
    "texts",
]

START: Final = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
"""Where the fuzzed clocks stand: 10:00 on 1 June 2026 in Shanghai."""

_KB10: Final = 10 * 1024

# -- numbers --------------------------------------------------------------------------------------

floats = st.sampled_from([math.nan, math.inf, -math.inf, 0.0, -0.0, 1.0, 1.5, 1e308, 5e-324]) | (
    st.floats(allow_nan=True, allow_infinity=True)
)
huge_ints = (
    st.sampled_from(
        [
            limits.POINTS_MAX + 1,
            -limits.POINTS_MAX - 1,
            -(2**63) - 1,
            2**64,
            -(2**64),
            2**256,
            10**100,
            -(10**100),
        ]
    )
    | st.integers(min_value=limits.POINTS_MAX + 1)
    | st.integers(max_value=-limits.POINTS_MAX - 1)
)
decimals = st.sampled_from(
    [
        Decimal("NaN"),
        Decimal("-NaN"),
        Decimal("sNaN"),
        Decimal("Infinity"),
        Decimal("-Infinity"),
        Decimal("1E+1000"),
        Decimal("1E-1000"),
        Decimal("0.001"),
        Decimal("-0.01"),
        Decimal("-0"),
        Decimal(10**40),
    ]
) | st.decimals(allow_nan=True, allow_infinity=True)
fractions = st.sampled_from([Fraction(1, 3), Fraction(-1, 2), Fraction(10**30, 7)]) | st.fractions()

# -- text -----------------------------------------------------------------------------------------

_NASTY_CHARACTERS: Final = (
    "\x00",  # NUL
    "\u202e",  # right-to-left override
    "\u200f",  # right-to-left mark
    "\u200b",  # zero-width space
    "\u200d",  # zero-width joiner
    "\ufeff",  # byte order mark
    "\u00a0",  # non-breaking space
    "\u2028",  # line separator
    "\t",
    "\n",
    "\r",
    "\x1b",
    "\x7f",
    "\ud800",  # a lone surrogate: no UTF-8 encoding exists
    "\U0010ffff",
    "\u0301",  # a combining accent, alone
)
_EXOTIC_PRINTABLE: Final = (
    "会员",
    "🎉",
    "é",
    "e\u0301",
    "ﷺ",
    "𝔘𝔫𝔦",  # noqa: RUF001 - letters that look like others, on purpose
    "Ⅻ",
    "٣",
    "ß",
)


@st.composite
def nasty_texts(draw: st.DrawFn) -> str:
    """A short text with a NUL, bidi, zero-width, control or surrogate character somewhere."""
    nasty = draw(st.sampled_from(_NASTY_CHARACTERS))
    head = draw(st.sampled_from(["", "ann", "k", "会员"]))
    tail = draw(st.sampled_from(["", "ann", "1", "x"]))
    return head + nasty + tail


printable_texts = st.sampled_from(_EXOTIC_PRINTABLE) | st.text(
    alphabet=st.characters(categories=["L", "N", "P", "S"]), min_size=1, max_size=20
)
"""Text that is valid where a printable id is: exotic, but every character prints."""

long_texts = st.sampled_from(["x", "会", "🎉", "\u202e", "\x00", " ", "ab"]).map(
    lambda unit: unit * (_KB10 // len(unit))
) | st.integers(1, 2_000).map(lambda length: "k" * length)
"""10 KB strings, and strings just past each length limit."""

near_limits = st.sampled_from(
    [
        limits.MEMBER_ID_LENGTH_MAX + 1,
        limits.PROGRAM_ID_LENGTH_MAX + 1,
        limits.IDEMPOTENCY_KEY_LENGTH_MAX + 1,
        limits.REASON_LENGTH_MAX + 1,
        limits.METADATA_VALUE_LENGTH_MAX + 1,
        limits.ID_LENGTH_MAX + 1,
        limits.RULE_NAME_LENGTH_MAX + 1,
    ]
).map(lambda length: "a" * length)

texts = (
    st.sampled_from(
        [
            "",
            " ",
            "  ",
            " ann",
            "ann ",
            "\t",
            "pointkit:x",
            "pointkit:draw:D1",
            "'; DROP TABLE pk_txn; --",
            "%s",
            "{0}",
            "None",
            "null",
            "0",
            "-1",
            "1.5",
            "NaN",
            "\\",
            '"',
        ]
    )
    | nasty_texts()
    | long_texts
    | near_limits
    | printable_texts
)

# -- time -----------------------------------------------------------------------------------------

_ZONES: Final = (
    UTC,
    timezone(timedelta(hours=14)),
    timezone(timedelta(hours=-14)),
    timezone(timedelta(hours=23, minutes=59)),
    timezone(timedelta(hours=-23, minutes=-59)),
    timezone(timedelta(hours=5, minutes=45)),
    ZoneInfo("Asia/Shanghai"),
    ZoneInfo("America/New_York"),
    ZoneInfo("Pacific/Kiritimati"),
)


_edge_instants = st.sampled_from(
    [
        datetime.min.replace(tzinfo=UTC),
        datetime.max.replace(tzinfo=UTC),
        datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14))),
        datetime(9999, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-14))),
        datetime(2, 1, 1, tzinfo=UTC),
        datetime(9998, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
        datetime(1970, 1, 1, tzinfo=UTC),
        datetime(2038, 1, 19, 3, 14, 8, tzinfo=UTC),
        START,
        START - timedelta(microseconds=1),
        START + timedelta(microseconds=1),
        datetime(2026, 3, 8, 2, 30, tzinfo=ZoneInfo("America/New_York")),  # in a DST gap
        datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=ZoneInfo("America/New_York")),  # a fold
    ]
)
_any_instants = st.datetimes(timezones=st.sampled_from(_ZONES))
_NAIVE: Final = (
    datetime(2026, 6, 1),  # noqa: DTZ001 - naive on purpose
    datetime.min,  # noqa: DTZ901 - naive on purpose
    datetime.max,  # noqa: DTZ901 - naive on purpose
)
naive_datetimes = st.sampled_from(_NAIVE) | st.datetimes()
"""Datetimes without a time zone, which every instant argument refuses."""


@cache
def bad_instants() -> st.SearchStrategy[object]:
    """Instants at the edges of time and of zones, naive datetimes, dates, strings and numbers."""
    return st.one_of(
        _edge_instants,
        _any_instants,
        naive_datetimes,
        st.dates(),
        st.sampled_from(
            [
                "2026-06-01T02:00:00+00:00",
                "2026-06-01",
                1_780_000_000,
                1.78e9,
                time(12, 0),
                time(12, 0, tzinfo=UTC),
            ]
        ),
    )


@cache
def bad_spans() -> st.SearchStrategy[object]:
    """Spans of time: none, negative, a microsecond, huge; and numbers of seconds or days."""
    return st.one_of(
        st.sampled_from(
            [
                timedelta(0),
                timedelta(microseconds=-1),
                timedelta(microseconds=1),
                timedelta(days=-1),
                timedelta.max,
                timedelta.min,
                timedelta(days=3_000_000),
            ]
        ),
        st.timedeltas(),
        st.sampled_from([0, 1, 86_400, 1.5, "P1D", "1 day"]),
    )


# -- money and currencies -------------------------------------------------------------------------


@st.composite
def bad_money(draw: st.DrawFn) -> object:
    """Money in the wrong currency, negative, huge or zero; and amounts that are not Money."""
    code = draw(st.sampled_from(["CNY", "USD", "JPY", "KWD", "EUR"]))
    decimals = {"JPY": 0, "KWD": 3}.get(code, 2)
    bound = 10 ** (limits.MONEY_DIGITS_MAX - decimals) - 1
    units = draw(st.sampled_from([0, -1, 1, -(10**6), bound, -bound]) | st.integers(-bound, bound))
    money = Money(Decimal(units).scaleb(-decimals), code)
    return draw(
        st.just(money) | st.sampled_from([Decimal("1.00"), "1.00 CNY", 100, 1.5, ("1.00", "CNY")])
    )


@cache
def bad_currencies() -> st.SearchStrategy[object]:
    """Point-currency codes a ledger does not hold, near misses, and money codes."""
    return (
        st.sampled_from(
            ["CNY", "POINTS", "Points", "points ", " points", "mile", "miles\x00", "", "stars"]
        )
        | hostile()
    )


# -- the typed families ---------------------------------------------------------------------------


@cache
def bad_ints() -> st.SearchStrategy[object]:
    """Near-ints: bools, floats, huge ints, zero and negatives, decimals, fractions, numeric text."""
    return st.one_of(
        st.booleans(),
        floats,
        huge_ints,
        edge_ints(-limits.POINTS_MAX, 0),
        decimals,
        fractions,
        st.sampled_from(["1", "100", "", "1e3"]),
        st.none(),
    )


@cache
def bad_texts() -> st.SearchStrategy[object]:
    """Strings that are empty, blank, padded, too long, or carry characters that do not print."""
    return texts | st.sampled_from([None, 0, 1, True, b"ann", bytearray(b"ann"), ["ann"]])


@cache
def bad_ids() -> st.SearchStrategy[object]:
    """Ids of holds and transactions that do not exist or are not ids at all."""
    return st.one_of(
        st.uuids().map(str),
        st.uuids(),
        st.sampled_from(
            [
                "00000000-0000-0000-0000-000000000000",
                "not-a-uuid",
                "{12345678-1234-5678-1234-567812345678}",
                "12345678123456781234567812345678",
                "urn:uuid:12345678-1234-5678-1234-567812345678",
                2**128 - 1,
            ]
        ),
        texts,
    )


@cache
def bad_choices(valid: tuple[str, ...]) -> st.SearchStrategy[object]:
    """Near misses of the strings in *valid* (case, padding, a NUL), and other values."""
    near = [
        variant
        for choice in valid
        for variant in (choice.upper(), f" {choice}", f"{choice}\x00", choice[:-1])
    ]
    return st.sampled_from([*near, "", "none"]) | hostile()


@cache
def bad_mappings() -> st.SearchStrategy[object]:
    """Mappings with bad keys or values, too many entries, or that are not mappings at all."""
    keys = st.one_of(texts, st.sampled_from([1, None, (), True]))
    values = st.one_of(texts, st.sampled_from([1, None, 1.5, b"x"]), st.just({"nested": "x"}))
    return st.one_of(
        st.dictionaries(keys, values, min_size=1, max_size=3),
        st.integers(limits.METADATA_ENTRIES_MAX + 1, limits.METADATA_ENTRIES_MAX + 3).map(
            lambda size: {f"k{n}": "v" for n in range(size)}
        ),
        st.sampled_from([[("k", "v")], "k=v", (("k", "v"),), {}, {"k": "v", "": "x"}]),
    )


@cache
def _scalars() -> st.SearchStrategy[object]:
    return st.one_of(
        st.none(),
        st.booleans(),
        floats,
        huge_ints,
        decimals,
        fractions,
        texts,
        st.sampled_from([b"", b"\x00\xff", bytearray(b"x"), object(), NotImplemented, ...]),
        naive_datetimes,
        _edge_instants,
        _any_instants,
        st.dates(),
        st.sampled_from([timedelta(0), timedelta(days=-1), timedelta(seconds=1)]),
        bad_money(),
    )


@cache
def hostile() -> st.SearchStrategy[object]:
    """Any hostile value: every family above, and containers of them."""
    return st.recursive(
        _scalars(),
        lambda children: st.one_of(
            st.lists(children, max_size=3),
            st.lists(children, max_size=3).map(tuple),
            st.dictionaries(st.sampled_from(["a", "", "\x00"]), children, max_size=2),
            st.frozensets(st.sampled_from(["a", "b", ""]), max_size=2),
        ),
        max_leaves=4,
    )

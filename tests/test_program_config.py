"""Program files: the packaged programme loads; every problem is reported at once, with its path."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from pointkit import Money
from pointkit.exceptions import ConfigurationError, InvalidArgumentError
from pointkit.pricing import Offer, Price
from pointkit.program import (
    ProgramConfig,
    TransferPolicy,
    config_from_toml,
    describe,
    load_config,
)


ROOT = Path(__file__).parent.parent
PACKAGED = ROOT / "src" / "pointkit" / "program" / "points_mall.toml"
EXAMPLE = ROOT / "examples" / "points_mall.toml"

MINIMAL = """
[program]
id = "mall"
zone = "Asia/Shanghai"
"""


def _problems(text: str) -> list[str]:
    with pytest.raises(ConfigurationError) as raised:
        config_from_toml(text, source="mall.toml")
    assert raised.value.subject == "mall.toml"
    return list(raised.value.problems)


def test_the_source_materials_programme_loads() -> None:
    """The packaged points_mall.toml (and its copy in examples/) builds every piece."""
    config = load_config(PACKAGED)
    assert EXAMPLE.read_text(encoding="utf-8") == PACKAGED.read_text(encoding="utf-8")
    assert ("points-mall", "Asia/Shanghai") == (config.id, config.zone.key)
    assert (
        ["normal", "silver", "gold"] == [tier.name for tier in config.tiers.tiers]
        if config.tiers
        else False
    )
    assert ["watch", "coupon", "trip", "headphones"] == [offer.id for offer in config.offers]
    watch = config.offer("watch")
    assert (("gold", Fraction(1, 5)), ("silver", Fraction(1, 10))) == watch.tier_discounts
    bundle = watch.option("bundle:0", reference=config.valuation)
    assert Fraction(10) == bundle.premium
    wheel = config.lottery("wheel")
    assert 1 == sum(prize.probability for prize in wheel.prizes)
    assert config.rules is not None
    assert ["spend", "sign-in", "share", "invite", "review"] == [
        rule.name for rule in config.rules.rules
    ]
    assert TransferPolicy(allowed=True, minimum=100, maximum=5_000) == config.transfers
    assert config.exchange is not None


def test_a_minimal_programme() -> None:
    """Only [program] id and zone are required; everything else has a default."""
    config = config_from_toml(MINIMAL)
    assert (("points",), None, (), TransferPolicy()) == (
        tuple(c.code for c in config.currencies),
        config.rules,
        config.offers,
        config.transfers,
    )


def test_every_problem_is_listed_with_its_path() -> None:
    """Problems from every section come back at once, each starting at the top of the file."""
    problems = _problems(
        MINIMAL
        + """
debt_limit = -1

[valuation]
points = 100
worth = "1.00 XYZ"

[expiry]
default = { type = "rolling_weeks", weeks = 4 }

[tiers]
review = { type = "yearly", dates = ["13-01"] }
[[tiers.levels]]
name = "normal"
threshold = 10
earn_multiplier = 1.5

[earning]
caps = [{ period = "day", points = -5 }]

[[offers]]
id = "watch"
name = "Watch"
points = 5000
bundles = [{ points = 6000, cash = "300.00 CNY" }]
limits = [{ count = 1, per = "fortnight" }]

[[lotteries]]
id = "wheel"
name = "Wheel"
cost = 1000
prizes = [{ id = "pen", name = "Pen", probability = "1/2" }]

[[conversions]]
id = "c"
source = "points"
target = "miles"
ratio = 0.5

[colour]
red = true
"""
    )
    assert [
        "colour: unknown section; valid sections are 'program', 'valuation', 'expiry', 'tiers', 'earning', 'offers', 'lotteries', 'conversions', 'transfers', 'segments', 'coupons', 'referrals', 'anti_cheat', 'missions', 'badges', 'group_buys'",
        "program.debt_limit: -1 must be an int from 0 to 9223372036854775807",
        "valuation.worth: 'XYZ' is not an active ISO 4217 currency; build MoneyCurrency('XYZ', decimals=...) for it",
        "expiry.default.type: must be one of 'never', 'rolling_months', 'rolling_days', 'end_of_period', 'fixed_dates', 'inactivity', got 'rolling_weeks'",
        "tiers.levels[0].earn_multiplier: must be an exact fraction like '1/10', not the float 1.5",
        "tiers.review: dates[0] month=13 must be an int from 1 to 12",
        "earning.caps[0].points: -5 must be an int from 1 to 9223372036854775807",
        "offers[0].bundles[0].points: 6000 must be less than the all-points price (5000), or the bundle costs more than paying in points",
        "offers[0].limits[0].per: 'fortnight' must be one of 'day', 'week', 'month', 'lifetime'",
        "lotteries[0].prizes: the probabilities sum to 1/2, not 1 (1/2 missing); declare every outcome, 'nothing' included, with its own probability",
        "conversions[0].ratio: must be an exact fraction like '1/10', not the float 0.5",
    ] == problems


def test_pieces_are_checked_against_each_other() -> None:
    """Currencies the program does not hold and tiers the ladder does not have are refused."""
    problems = _problems(
        MINIMAL
        + """
[tiers]
[[tiers.levels]]
name = "normal"
threshold = 0

[[offers]]
id = "a"
name = "A"
points = 10
tiers = ["platinum"]

[[offers]]
id = "a"
name = "A again"
points = 10
currency = "miles"
"""
    )
    assert [
        "offers[1].currency: 'miles' is not a currency of the program ('points')",
        "offers[1].id: 'a' is used twice",
        "offers[0].tiers: 'platinum' is not a tier of the ladder",
    ] == problems


def test_program_config_from_objects() -> None:
    """A configuration built from objects is checked the same way."""
    with pytest.raises(
        ConfigurationError, match=r"offers\[0\]\.currency: 'miles' is not a currency"
    ):
        ProgramConfig(
            id="mall",
            zone="Asia/Shanghai",
            offers=[Offer("a", "A", Price(points=1), currency="miles")],
        )
    config = ProgramConfig(id="mall", zone="UTC", offers=[Offer("a", "A", Price(points=1))])
    with pytest.raises(InvalidArgumentError, match="offer='b' is not one of 'a'"):
        config.offer("b")
    with pytest.raises(InvalidArgumentError, match="must be at least the minimum"):
        TransferPolicy(allowed=True, minimum=10, maximum=5)


def test_not_toml_and_money_forms() -> None:
    """Text that is not TOML is one problem; money is a string or the rule files' table."""
    assert [
        "document: is not valid TOML (Expected '=' after a key in a key/value pair (at line 1, column 5))"
    ] == _problems("not toml")
    config = config_from_toml(
        MINIMAL
        + """
[valuation]
points = 10
worth = { amount = "2.00", currency = "CNY" }
"""
    )
    assert config.valuation is not None
    assert Money(2, "CNY") == config.valuation.to_money(10, rounding="half_even")


# The packaged mall without its own campaigns, for the campaigns below to be added to.
BASE = PACKAGED.read_text(encoding="utf-8").split("\n# Campaigns.")[0]
CAMPAIGNS = """
[[coupons]]
id = "ten-off"
name = "10 yuan off"
amount_off = "10.00 CNY"
minimum_spend = "100.00 CNY"
categories = ["tea"]
valid_days = 30
stock = 5000

[referrals]
referrer_points = 100
invitee_points = 50
minimum = "50.00 CNY"
cap = 10

[anti_cheat]
velocity = [{ name = "bursts", kinds = ["sign_in"], limit = 3, per = "minute" }]
blocklists = [{ attribute = "device", values = ["d-1", "d-2"] }]

[[missions]]
id = "shop-3"
name = "Three purchases"
period = "month"
goal = { type = "count", kinds = ["purchase"], target = 3, label = "purchases" }
reward = { points = 200, coupon = "ten-off", badge = "regular" }

[[badges]]
id = "regular"
name = "Regular"

[[group_buys]]
id = "tea-3"
name = "Tea for three"
item = "tea-box"
size = 3
points = 800
fill_seconds = 3600
"""


def test_check_describes_every_campaign() -> None:
    """What `pointkit check` prints names each campaign with its terms."""
    config = config_from_toml(BASE + CAMPAIGNS)
    text = describe(config)
    expected = [
        (
            "ten-off (10 yuan off): 10.00 CNY off, on 100.00 CNY or more, in tea, valid 30 days, "
            "1 use, stock 5000"
        ),
        (
            "referrals: 100 points to the referrer and 50 to the invitee after a purchase of 50.00 "
            "CNY or more within 30 days; at most 10 per referrer per month"
        ),
        (
            "shop-3 (Three purchases): 3 purchases (purchase) per month, once: 200 points, coupon "
            "ten-off, badge regular"
        ),
        "badges: regular (Regular)",
        "tea-3 (Tea for three): 3 members at 800 points each, filled within 3,600 s, unlimited",
        "bursts: more than 3 sign_in per minute: refuse",
        "blocklist of device: 2 values",
    ]
    assert [] == [line for line in expected if line not in text.splitlines()]


def test_a_campaign_naming_an_unknown_coupon_or_currency_is_refused() -> None:
    """An offer, a prize or a mission naming no declared coupon is a problem with its path."""
    text = BASE + CAMPAIGNS.replace(
        'coupon = "ten-off", badge', 'coupon = "nine-off", badge'
    ).replace("points = 800", 'points = 800\ncurrency = "stars"')
    with pytest.raises(ConfigurationError) as error:
        config_from_toml(text)
    assert [
        "missions[0].reward.coupon: 'nine-off' is not the id of a [[coupons]] item ('ten-off')",
    ] == [problem for problem in error.value.problems if "coupon" in problem]
    assert any(problem.startswith("group_buys[0].currency") for problem in error.value.problems)

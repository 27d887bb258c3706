"""The population file: how simulated members behave, read and checked with every problem at once.

A population declares chances, never outcomes: the chance per day that an active member buys,
signs in, shares, or has an invitee register; the chance per purchase of a review; baskets as a
lognormal (median and spread) or a weighted table of amounts; redemption and draw chances by
balance; churn; members joining over time. Chances are exact fractions (``"1/20"``) and amounts
are money on the programme currency's grid (strings such as ``"120.00"``): a float anywhere is
refused, as in a programme file.

:func:`population_from_toml` reads a TOML text into a :class:`Population`, reporting every
problem of the text in one :class:`~pointkit.exceptions.ConfigurationError`, each under its
path (``purchases.chance``) with the value and what is valid, as ``load_config`` does for a
programme.
"""

from __future__ import annotations

import tomllib
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal, final

import attrs

from pointkit.exceptions import ConfigurationError
from pointkit.program._config_reader import ConfigReader


if TYPE_CHECKING:
    from collections.abc import Mapping


__all__ = [
    "AMOUNTS_MAX",
    "BANDS_MAX",
    "BalanceBand",
    "Basket",
    "Population",
    "load_population",
    "population_from_toml",
    "typical_population",
]

BANDS_MAX: Final = 100
"""The most balance bands a redemption or draw table may have."""

AMOUNTS_MAX: Final = 1_000
"""The most rows a basket table may have."""

_AMOUNT_MAX: Final = Decimal(1_000_000)
"""The largest basket amount (and lognormal median) a population may declare."""

_SPREAD_MAX: Final = Fraction(3)
"""The largest lognormal spread (sigma of the log of the amount)."""

_JOINING_MAX: Final = Fraction(1)
"""The most members joining per day, as a share of the starting members."""

_LONG_REVIEW_LENGTH: Final = 60
_SHORT_REVIEW_LENGTH: Final = 12


@final
@attrs.frozen
class BalanceBand:
    """From a balance of *start* points up (to the next band), the chance per day of acting.

    Attributes:
        start: The balance the band starts at, in points.
        chance: The chance per day, in ``[0, 1]``.
    """

    start: int
    chance: Fraction


@final
@attrs.frozen
class Basket:
    """How much a purchase is worth, in the programme's money currency.

    Attributes:
        kind: ``"lognormal"`` (a median and a spread) or ``"table"`` (weighted amounts).
        median: The lognormal's median amount (``None`` for a table).
        spread: The lognormal's sigma: the standard deviation of the amount's logarithm.
        amounts: The table's ``(amount, weight)`` rows (empty for a lognormal).
        minimum: The smallest amount a lognormal basket is clamped to.
        maximum: The largest amount a lognormal basket is clamped to.
    """

    kind: Literal["lognormal", "table"]
    median: Decimal | None = None
    spread: Fraction = Fraction(0)
    amounts: tuple[tuple[Decimal, int], ...] = ()
    minimum: Decimal = Decimal("0.01")
    maximum: Decimal = _AMOUNT_MAX


@final
@attrs.frozen
class Population:
    """How a simulated population behaves: chances per member per day, baskets, and bands.

    Build it with :func:`population_from_toml` or :func:`load_population`.

    Attributes:
        name: What the population is called in reports.
        currency: The money currency of baskets; ``None`` takes the programme valuation's.
        churn: The chance per day that an active member stops acting for good.
        joining: New members per day, as a share of the starting members (0: nobody joins).
        purchase: The chance per day of a purchase.
        basket: What a purchase is worth.
        review: The chance per purchase of a review.
        long_review: The share of reviews longer than 20 characters.
        sign_in: The chance per day of a sign-in.
        share: The chance per day of a share.
        invite: The chance per day that someone the member invited registers.
        redeem: Redemption chances by balance, bands in ascending order.
        choice: ``"dearest"`` (the dearest offer the member can afford) or ``"weights"``.
        weights: ``(offer id, weight)`` pairs when *choice* is ``"weights"``.
        draw: Draw chances by balance, bands in ascending order.
        lottery: The lottery members draw in; ``None`` takes the programme's first.
    """

    name: str
    currency: str | None
    churn: Fraction
    joining: Fraction
    purchase: Fraction
    basket: Basket
    review: Fraction
    long_review: Fraction
    sign_in: Fraction
    share: Fraction
    invite: Fraction
    redeem: tuple[BalanceBand, ...]
    choice: Literal["dearest", "weights"]
    weights: tuple[tuple[str, int], ...]
    draw: tuple[BalanceBand, ...]
    lottery: str | None

    def review_length(self, long: bool) -> int:  # noqa: FBT001 - a drawn outcome, not a switch
        """The length of a review: over 20 characters when *long*."""
        return _LONG_REVIEW_LENGTH if long else _SHORT_REVIEW_LENGTH


# -- reading ------------------------------------------------------------------------------------

_TOP: Final = ("population", "members", "purchases", "actions", "redemption", "draws")


def _chance(reader: ConfigReader, data: object, path: str) -> Fraction | None:
    value = reader.exact(data, path)
    if value is None:
        return None
    if not 0 <= value <= 1:
        reader.fail(path, f"must be a chance from '0' to '1' like '1/20', got {data!r}")
        return None
    return value


def _amount(reader: ConfigReader, data: object, path: str) -> Decimal | None:
    if not isinstance(data, str):
        reader.fail(path, f"must be an amount as a string like '120.00', got {data!r}")
        return None
    try:
        amount = Decimal(data)
    except InvalidOperation:
        reader.fail(path, f"must be an amount as a string like '120.00', got {data!r}")
        return None
    if not amount.is_finite() or not Decimal("0.01") <= amount <= _AMOUNT_MAX:
        reader.fail(path, f"must be from '0.01' to '{_AMOUNT_MAX}', got {data!r}")
        return None
    if amount != amount.quantize(Decimal("0.01")):
        reader.fail(path, f"must have at most 2 decimal places (cents), got {data!r}")
        return None
    return amount


def _weight(reader: ConfigReader, data: object, path: str) -> int | None:
    value = reader.integer(data, path)
    if value is not None and not 1 <= value <= 10**6:
        reader.fail(path, f"must be a whole weight from 1 to 1000000, got {data!r}")
        return None
    return value


def _basket(reader: ConfigReader, data: object, path: str) -> Basket | None:
    found = reader.fields(data, path, ("type",), ("median", "spread", "amounts", "min", "max"))
    if found is None:
        return None
    kind = found["type"]
    if kind == "lognormal":
        return _lognormal(reader, found, path)
    if kind == "table":
        return _table(reader, found, path)
    reader.fail(f"{path}.type", f"must be 'lognormal' or 'table', got {kind!r}")
    return None


def _lognormal(reader: ConfigReader, found: Mapping[str, object], path: str) -> Basket | None:
    if "amounts" in found:
        reader.fail(f"{path}.amounts", "belongs to a 'table' basket, not a 'lognormal' one")
    if "median" not in found:
        reader.fail(f"{path}.median", "missing; a 'lognormal' basket needs it")
        return None
    median = _amount(reader, found["median"], f"{path}.median")
    spread = reader.exact(found.get("spread", "0"), f"{path}.spread")
    if spread is not None and not 0 <= spread <= _SPREAD_MAX:
        reader.fail(f"{path}.spread", f"must be from '0' to '{_SPREAD_MAX}', got {spread}")
        spread = None
    low = _amount(reader, found.get("min", "0.01"), f"{path}.min")
    high = _amount(reader, found.get("max", str(_AMOUNT_MAX)), f"{path}.max")
    if low is not None and high is not None and low > high:
        reader.fail(f"{path}.min", f"{low} must not be more than max ({high})")
        return None
    if median is None or spread is None or low is None or high is None:
        return None
    return Basket("lognormal", median=median, spread=spread, minimum=low, maximum=high)


def _table(reader: ConfigReader, found: Mapping[str, object], path: str) -> Basket | None:
    for name in ("median", "spread", "min", "max"):
        if name in found:
            reader.fail(f"{path}.{name}", "belongs to a 'lognormal' basket, not a 'table' one")
    if "amounts" not in found:
        reader.fail(f"{path}.amounts", "missing; a 'table' basket needs it")
        return None
    rows = reader.items(found["amounts"], f"{path}.amounts")
    if not 1 <= len(rows) <= AMOUNTS_MAX:
        reader.fail(f"{path}.amounts", f"must have 1 to {AMOUNTS_MAX} rows, got {len(rows)}")
        return None
    amounts: list[tuple[Decimal, int]] = []
    for row_path, row in rows:
        fields = reader.fields(row, row_path, ("amount", "weight"))
        if fields is None:
            continue
        amount = _amount(reader, fields["amount"], f"{row_path}.amount")
        weight = _weight(reader, fields["weight"], f"{row_path}.weight")
        if amount is not None and weight is not None:
            amounts.append((amount, weight))
    if len(amounts) != len(rows):
        return None
    return Basket("table", amounts=tuple(amounts))


def _bands(reader: ConfigReader, data: object, path: str) -> tuple[BalanceBand, ...] | None:
    rows = reader.items(data, path)
    if len(rows) > BANDS_MAX:
        reader.fail(path, f"must have at most {BANDS_MAX} bands, got {len(rows)}")
        return None
    bands: list[BalanceBand] = []
    for row_path, row in rows:
        fields = reader.fields(row, row_path, ("from", "chance"))
        if fields is None:
            continue
        start = reader.integer(fields["from"], f"{row_path}.from")
        if start is not None and start < 0:
            reader.fail(f"{row_path}.from", f"must be a balance of 0 points or more, got {start}")
            start = None
        chance = _chance(reader, fields["chance"], f"{row_path}.chance")
        if start is not None and chance is not None:
            if bands and start <= bands[-1].start:
                reader.fail(
                    f"{row_path}.from",
                    f"{start} must be more than the band before's ({bands[-1].start}): "
                    "bands go in ascending order of balance",
                )
                continue
            bands.append(BalanceBand(start, chance))
    return tuple(bands) if len(bands) == len(rows) else None


def _weights(reader: ConfigReader, data: object, path: str) -> tuple[tuple[str, int], ...] | None:
    if not isinstance(data, dict) or not data:
        reader.fail(
            path,
            f"must be a table of offer ids to whole weights like {{ coupon = 4 }}, got {data!r}",
        )
        return None
    found: list[tuple[str, int]] = []
    for offer, weight in sorted(data.items()):
        checked = _weight(reader, weight, f"{path}.{offer}")
        if checked is not None:
            found.append((str(offer), checked))
    return tuple(found) if len(found) == len(data) else None


class _Read:
    """The values read so far; a missing one (``None``) means a problem was recorded."""

    def __init__(self, reader: ConfigReader, document: Mapping[str, object]) -> None:
        self.reader = reader
        self.document = document

    def section(self, name: str, optional: tuple[str, ...]) -> Mapping[str, object]:
        data = self.document.get(name, {})
        found = self.reader.fields(data, name, (), optional)
        return {} if found is None else found

    def chance(self, section: Mapping[str, object], path: str, default: str) -> Fraction | None:
        name = path.rpartition(".")[2]
        return _chance(self.reader, section.get(name, default), path)


def _population(  # noqa: C901 - one check per section, every problem collected
    reader: ConfigReader, document: Mapping[str, object]
) -> Population | None:
    read = _Read(reader, document)
    for key in document:
        if key not in _TOP:
            shown = ", ".join(repr(name) for name in _TOP)
            reader.fail(key, f"unknown section; valid sections are {shown}")
    about = read.section("population", ("name", "currency"))
    name = reader.text(about.get("name", "population"), "population.name")
    currency = about.get("currency")
    if currency is not None and (not isinstance(currency, str) or not currency.isalpha()):
        reader.fail("population.currency", f"must be a currency code like 'CNY', got {currency!r}")
    members = read.section("members", ("churn", "joining"))
    churn = read.chance(members, "members.churn", "0")
    joining = reader.exact(members.get("joining", "0"), "members.joining")
    if joining is not None and not 0 <= joining <= _JOINING_MAX:
        reader.fail(
            "members.joining",
            f"must be a share of the starting members per day from '0' to '1', got {joining}",
        )
    purchases = read.section("purchases", ("chance", "basket", "review", "long_review"))
    purchase = read.chance(purchases, "purchases.chance", "0")
    basket = (
        _basket(reader, purchases["basket"], "purchases.basket")
        if "basket" in purchases
        else Basket("table", amounts=((Decimal("100.00"), 1),))
    )
    review = read.chance(purchases, "purchases.review", "0")
    long_review = read.chance(purchases, "purchases.long_review", "1/2")
    actions = read.section("actions", ("sign_in", "share", "invite"))
    sign_in = read.chance(actions, "actions.sign_in", "0")
    share = read.chance(actions, "actions.share", "0")
    invite = read.chance(actions, "actions.invite", "0")
    redemption = read.section("redemption", ("bands", "choice", "weights"))
    redeem = _bands(reader, redemption.get("bands", []), "redemption.bands")
    choice = redemption.get("choice", "dearest")
    weights: tuple[tuple[str, int], ...] | None = ()
    if choice == "weights":
        if "weights" not in redemption:
            reader.fail("redemption.weights", "missing; choice = 'weights' needs it")
        else:
            weights = _weights(reader, redemption["weights"], "redemption.weights")
    elif choice == "dearest":
        if "weights" in redemption:
            reader.fail("redemption.weights", "is used only with choice = 'weights'")
    else:
        reader.fail("redemption.choice", f"must be 'dearest' or 'weights', got {choice!r}")
    draws = read.section("draws", ("bands", "lottery"))
    draw = _bands(reader, draws.get("bands", []), "draws.bands")
    lottery = draws.get("lottery")
    if lottery is not None and not isinstance(lottery, str):
        reader.fail("draws.lottery", f"must be a lottery id, got {lottery!r}")
    values = (name, churn, joining, purchase, basket, review, long_review, sign_in, share)
    if reader.problems or any(value is None for value in (*values, invite, redeem, weights, draw)):
        return None
    return Population(
        name=str(name),
        currency=None if currency is None else str(currency),
        churn=churn,  # type: ignore[arg-type]  # checked above: none is None
        joining=joining,  # type: ignore[arg-type]
        purchase=purchase,  # type: ignore[arg-type]
        basket=basket,  # type: ignore[arg-type]
        review=review,  # type: ignore[arg-type]
        long_review=long_review,  # type: ignore[arg-type]
        sign_in=sign_in,  # type: ignore[arg-type]
        share=share,  # type: ignore[arg-type]
        invite=invite,  # type: ignore[arg-type]
        redeem=redeem,  # type: ignore[arg-type]
        choice=choice,  # type: ignore[arg-type]
        weights=weights,  # type: ignore[arg-type]
        draw=draw,  # type: ignore[arg-type]
        lottery=None if lottery is None else str(lottery),
    )


def population_from_toml(text: str, *, source: str = "population") -> Population:
    """Read a population from TOML *text*.

    Args:
        text: The population file's text.
        source: What to call the text in the error (a file name).

    Returns:
        The population.

    Raises:
        ConfigurationError: Listing every problem of the text, each with its path, the value
            and what is valid.
    """
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigurationError(source, [f"document: is not TOML ({error})"]) from None
    reader = ConfigReader()
    population = _population(reader, document)
    if population is None:
        raise ConfigurationError(source, reader.problems)
    return population


def load_population(path: str | Path) -> Population:
    """Read the population file at *path*.

    Raises:
        ConfigurationError: Listing every problem, each with its path; or if the file is not
            UTF-8 text.
        OSError: If the file cannot be read.
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        problem = f"document: is not UTF-8 text ({error.reason} at byte {error.start})"
        raise ConfigurationError(file.name, [problem]) from None
    return population_from_toml(text, source=file.name)


def typical_population() -> Population:
    """The packaged default population (``typical_population.toml``)."""
    text = resources.files("pointkit.simulate").joinpath("typical_population.toml")
    return population_from_toml(text.read_text(encoding="utf-8"), source="typical_population.toml")

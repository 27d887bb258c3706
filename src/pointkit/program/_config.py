"""A program's configuration: every piece of a points mall, from Python objects or a TOML file.

Maintainer's notes
------------------
:class:`ProgramConfig` holds the built objects (rule set, tier ladder, expiry policy, offers,
lotteries, exchange, ...), each already checked by its own constructor. :func:`load_config`
reads a TOML file an operator edits into one: it reads every section, builds every object,
then checks the pieces against each other (currencies the program holds, tiers the ladder
has), and reports *every* problem at once, each with its TOML path
(``offers[1].limits[0].per: 'fortnight' must be one of ...``). Problems a constructor reports
on its own fields come back prefixed with the path of the object, so paths always start at the
top of the file.

Money is written as ``"300.00 CNY"`` (or the rule files' ``{amount = "300.00", currency =
"CNY"}``); exact fractions as ``"1/10"`` or an integer, never a TOML float; instants as TOML
offset date-times or ISO 8601 strings with an offset; month-day dates as ``"06-30"``.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeVar, final

import attrs

from pointkit import limits
from pointkit._validate import check_int, check_zone, type_name
from pointkit._values import Money, PointCurrency
from pointkit.exceptions import ConfigurationError, InvalidArgumentError
from pointkit.expiry import (
    EndOfPeriod,
    ExpiryPolicy,
    FixedDates,
    Inactivity,
    Never,
    RollingDays,
)
from pointkit.expiry import RollingMonths as ExpiryMonths
from pointkit.ledger import LedgerPolicy
from pointkit.pricing import (
    Bundle,
    Conversion,
    ConversionBonus,
    Exchange,
    Lottery,
    Offer,
    OfferLimit,
    Pity,
    PointsSplit,
    Price,
    Prize,
    Valuation,
)
from pointkit.rules import RuleSet, ruleset_from_dict
from pointkit.rules._serialize import _Loader
from pointkit.tiers import (
    Benefits,
    CalendarYear,
    DowngradePolicy,
    Lifetime,
    NoReview,
    QualifyingMetric,
    ReviewEveryMonths,
    ReviewYearlyOn,
    Tier,
    TierLadder,
)
from pointkit.tiers import RollingMonths as TierMonths


if TYPE_CHECKING:
    from collections.abc import Callable
    from fractions import Fraction
    from zoneinfo import ZoneInfo

    from pointkit.expiry import ExpiryWindow
    from pointkit.tiers import QualificationWindow, ReviewSchedule


__all__ = ["ProgramConfig", "TransferPolicy", "config_from_dict", "config_from_toml", "load_config"]

_T = TypeVar("_T")
_NAMED: Final = re.compile(r"([a-z_]+)=")
_Item = TypeVar("_Item", Offer, Lottery)


def _zone(value: object) -> ZoneInfo:
    return check_zone("zone", value)


def _offers(value: Sequence[Offer]) -> tuple[Offer, ...]:
    return tuple(value)


def _lotteries(value: Sequence[Lottery]) -> tuple[Lottery, ...]:
    return tuple(value)


_SECTIONS: Final = (
    "program",
    "valuation",
    "expiry",
    "tiers",
    "earning",
    "offers",
    "lotteries",
    "conversions",
    "transfers",
)
CONFIG_LENGTH_MAX: Final = limits.RULES_DOCUMENT_LENGTH_MAX


def _transfer_count(value: int | None) -> int | None:
    if value is None:
        return None
    return check_int(
        "maximum", value, minimum=1, maximum=limits.POINTS_MAX, limit_name="POINTS_MAX"
    )


def _transfer_minimum(value: int) -> int:
    return check_int(
        "minimum", value, minimum=1, maximum=limits.POINTS_MAX, limit_name="POINTS_MAX"
    )


def _allowed(value: bool) -> bool:  # noqa: FBT001 - an attrs converter takes the value positionally
    if not isinstance(value, bool):
        raise InvalidArgumentError(f"allowed={value!r} must be true or false")
    return value


@final
@attrs.frozen
class TransferPolicy:
    """Whether members may give points to each other, and how many at once.

    Attributes:
        allowed: Whether transfers between members are allowed at all (off by default).
        minimum: The fewest points one transfer moves.
        maximum: The most points one transfer moves, if limited.
    """

    allowed: bool = attrs.field(default=False, converter=_allowed, kw_only=True)
    minimum: int = attrs.field(default=1, converter=_transfer_minimum, kw_only=True)
    maximum: int | None = attrs.field(default=None, converter=_transfer_count, kw_only=True)

    def __attrs_post_init__(self) -> None:
        if self.maximum is not None and self.maximum < self.minimum:
            raise InvalidArgumentError(
                f"maximum={self.maximum} must be at least the minimum ({self.minimum})"
            )


@final
@attrs.frozen(kw_only=True)
class ProgramConfig:
    """Everything a :class:`~pointkit.program.Program` runs on, as checked objects.

    Build it from Python objects, or read it from TOML with :func:`load_config`.

    Attributes:
        id: The program's id (its tenant in storage).
        zone: The program's IANA time zone: local days, periods and clearing dates.
        currencies: The point currencies, the default first.
        policy: The ledger's clawback and restore policies and debt limit.
        valuation: The default currency's reference value, for liability and offers.
        expiry: When points expire; never if omitted.
        tiers: The tier ladder, if the program has tiers.
        rules: The earning rules, if any.
        offers: The catalogue.
        lotteries: The lotteries.
        exchange: Conversions between point currencies, if any.
        transfers: Whether members may transfer points.
    """

    id: str
    zone: ZoneInfo = attrs.field(converter=_zone)
    currencies: tuple[PointCurrency, ...] = (PointCurrency("points"),)
    policy: LedgerPolicy = attrs.field(factory=LedgerPolicy)
    valuation: Valuation | None = None
    expiry: ExpiryPolicy | None = None
    tiers: TierLadder | None = None
    rules: RuleSet | None = None
    offers: tuple[Offer, ...] = attrs.field(default=(), converter=_offers)
    lotteries: tuple[Lottery, ...] = attrs.field(default=(), converter=_lotteries)
    exchange: Exchange | None = None
    transfers: TransferPolicy = attrs.field(factory=TransferPolicy)

    def __attrs_post_init__(self) -> None:
        problems = check_pieces(self)
        if problems:
            raise ConfigurationError(f"ProgramConfig {self.id!r}", problems)

    @property
    def currency(self) -> str:
        """The default point currency's code."""
        return self.currencies[0].code

    def offer(self, offer_id: str) -> Offer:
        """Return the offer called *offer_id*.

        Raises:
            InvalidArgumentError: If there is none; the message lists the ids.
        """
        return _find("offer", offer_id, self.offers)

    def lottery(self, lottery_id: str) -> Lottery:
        """Return the lottery called *lottery_id*.

        Raises:
            InvalidArgumentError: If there is none; the message lists the ids.
        """
        return _find("lottery", lottery_id, self.lotteries)


def _find(kind: str, wanted: object, items: Sequence[_Item]) -> _Item:
    for item in items:
        if item.id == wanted:
            return item
    valid = ", ".join(repr(item.id) for item in items) or "none"
    raise InvalidArgumentError(f"{kind}={wanted!r} is not one of {valid}")


def check_pieces(config: ProgramConfig) -> list[str]:
    """The problems between a configuration's pieces, each with its path."""
    problems: list[str] = []
    codes = [currency.code for currency in config.currencies]
    if not codes:
        problems.append("program.currencies: the program needs at least one point currency")
    if len(set(codes)) != len(codes):
        problems.append(f"program.currencies: {codes} lists a currency twice")
    used: list[tuple[str, str]] = []
    if config.valuation is not None:
        used.append(("valuation.currency", config.valuation.currency))
    if config.tiers is not None:
        used.append(("tiers.currency", config.tiers.metric.currency))
        if config.tiers.zone != config.zone:
            problems.append("tiers: the ladder's zone is not the program's")
    if config.rules is not None:
        used += [
            (f"earning.rules[{i}].currency", r.currency) for i, r in enumerate(config.rules.rules)
        ]
    used += [(f"offers[{i}].currency", o.currency) for i, o in enumerate(config.offers)]
    used += [(f"lotteries[{i}].currency", o.currency) for i, o in enumerate(config.lotteries)]
    conversions = () if config.exchange is None else config.exchange.conversions
    for index, conversion in enumerate(conversions):
        used += [
            (f"conversions[{index}].source", conversion.source),
            (f"conversions[{index}].target", conversion.target),
        ]
    valid = ", ".join(repr(name) for name in codes)
    problems += [
        f"{path}: {code!r} is not a currency of the program ({valid})"
        for path, code in used
        if code not in codes
    ]
    problems += _repeated("offers", [offer.id for offer in config.offers])
    problems += _repeated("lotteries", [lottery.id for lottery in config.lotteries])
    if config.tiers is not None:
        tier_names = {tier.name for tier in config.tiers.tiers}
        for index, offer in enumerate(config.offers):
            named = (offer.tiers or frozenset()) | {name for name, _ in offer.tier_discounts}
            problems += [
                f"offers[{index}].tiers: {name!r} is not a tier of the ladder"
                for name in sorted(named - tier_names)
            ]
    return problems


def _repeated(section: str, ids: list[str]) -> list[str]:
    return [
        f"{section}[{index}].id: {item!r} is used twice"
        for index, item in enumerate(ids)
        if ids.index(item) != index
    ]


# -- reading TOML -------------------------------------------------------------------------------


class _Reader(_Loader):
    """Reads a program document into checked objects, collecting every problem with its path."""

    def error(self, path: str, error: InvalidArgumentError, name: str | None = None) -> None:
        """Record an argument error under *path*, without the ``name=`` its message starts with."""
        del name  # the message's own prefix is stripped, whatever the argument was called
        message = str(error)
        named = _NAMED.match(message)
        self.fail(path, message if named is None else message[named.end() :])

    def adopt(self, path: str, error: ConfigurationError) -> None:
        """Record a constructor's problems under *path*."""
        for problem in error.problems:
            self.problems.append(f"{path}.{problem}" if path else problem)

    def make(self, path: str, build: Callable[[], _T]) -> _T | None:
        """Build an object, recording its problems under *path*; ``None`` if it fails."""
        try:
            return build()
        except ConfigurationError as error:
            self.adopt(path, error)
        except InvalidArgumentError as error:
            # A constructor names its argument ("per='fortnight' must be ..."): make it the
            # last step of the path.
            message = str(error)
            named = _NAMED.match(message)
            if named is None:
                self.fail(path, message)
            else:
                self.fail(f"{path}.{named[1]}", message[named.end() :])
        return None

    def integer(self, data: object, path: str) -> int | None:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail(path, f"must be an integer, got {data!r}")
            return None
        return data

    def exact(self, data: object, path: str) -> Fraction | None:
        if isinstance(data, float):
            self.fail(path, f"must be an exact fraction like '1/10', not the float {data!r}")
            return None
        return self.fraction(data, path)

    def cash(self, data: object, path: str) -> Money | None:
        if isinstance(data, str):
            amount, _, code = data.partition(" ")
            try:
                return Money(amount, code)
            except InvalidArgumentError as error:
                self.error(path, error, "amount")
                return None
        return self.money(data, path)

    def moment(self, data: object, path: str) -> datetime | None:
        if isinstance(data, datetime):
            if data.tzinfo is None:
                self.fail(
                    path,
                    f"{data.isoformat()} has no UTC offset; write it like 2026-03-01T00:00:00+08:00",
                )
                return None
            return data
        return self.instant(data, path)

    def strings(self, data: object, path: str) -> list[str] | None:
        items = self.listed(data, path)
        if items is None:
            return None
        if not all(isinstance(item, str) for item in items):
            self.fail(path, f"must be a list of strings, got {data!r}")
            return None
        return [str(item) for item in items]

    def month_days(self, data: object, path: str) -> list[tuple[int, int]] | None:
        items = self.strings(data, path)
        if items is None:
            return None
        found: list[tuple[int, int]] = []
        for index, item in enumerate(items):
            month, _, day = item.partition("-")
            if not (month.isdigit() and day.isdigit()):
                self.fail(f"{path}[{index}]", f"must be a month and day like '06-30', got {item!r}")
                return None
            found.append((int(month), int(day)))
        return found

    def options(
        self, data: object, path: str, required: tuple[str, ...], optional: tuple[str, ...]
    ) -> dict[str, Any] | None:
        found = self.fields(data, path, required, optional)
        return None if found is None else dict(found)

    def items(self, data: object, path: str) -> list[tuple[str, object]]:
        listed = self.listed(data, path)
        if listed is None:
            return []
        return [(f"{path}[{index}]", item) for index, item in enumerate(listed)]


def _window(reader: _Reader, data: object, path: str) -> ExpiryWindow | None:  # noqa: PLR0911 - one return per window type
    kinds = (
        "never",
        "rolling_months",
        "rolling_days",
        "end_of_period",
        "fixed_dates",
        "inactivity",
    )
    kind = reader._type(data, path, kinds)  # noqa: SLF001 - the loader's own helper
    if kind is None:
        return None
    fields: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
        "never": ((), ()),
        "rolling_months": (("months",), ()),
        "rolling_days": (("days",), ()),
        "end_of_period": (("period",), ("offset",)),
        "fixed_dates": (("dates",), ("min_days",)),
        "inactivity": (("months",), ()),
    }
    required, optional = fields[kind]
    found = reader.options(data, path, ("type", *required), optional)
    if found is None:
        return None
    match kind:
        case "never":
            return Never()
        case "rolling_months":
            return reader.make(path, lambda: ExpiryMonths(found["months"]))
        case "rolling_days":
            return reader.make(path, lambda: RollingDays(found["days"]))
        case "end_of_period":
            return reader.make(
                path,
                lambda: EndOfPeriod(found["period"], offset=found.get("offset", 0)),
            )
        case "fixed_dates":
            dates = reader.month_days(found["dates"], f"{path}.dates")
            if dates is None:
                return None
            return reader.make(
                path,
                lambda: FixedDates(dates, min_days=found.get("min_days", 0)),
            )
        case _:
            return reader.make(path, lambda: Inactivity(found["months"]))


def _program(reader: _Reader, data: object) -> dict[str, Any] | None:
    found = reader.options(
        data, "program", ("id", "zone"), ("currencies", "clawback", "restore", "debt_limit")
    )
    if found is None:
        return None
    currencies: list[PointCurrency] = []
    for path, item in reader.items(found.get("currencies", ["points"]), "program.currencies"):
        if isinstance(item, str):
            built = reader.make(path, partial(PointCurrency, item))
        else:
            spec = reader.options(item, path, ("code",), ("decimals",))
            built = (
                None
                if spec is None
                else reader.make(
                    path,
                    partial(PointCurrency, spec["code"], decimals=spec.get("decimals", 0)),
                )
            )
        if built is not None:
            currencies.append(built)
    policy = reader.make(
        "program",
        lambda: LedgerPolicy(
            clawback=found.get("clawback", "reject"),
            restore=found.get("restore", "original_expiry"),
            debt_limit=found.get("debt_limit", limits.POINTS_MAX),
        ),
    )
    zone = reader.make("program.zone", lambda: check_zone("zone", found["zone"]))
    if zone is None:  # every other section counts its days in the zone
        return None
    return {
        "id": found["id"],
        "zone": zone,
        "currencies": tuple(currencies),
        "policy": policy or LedgerPolicy(),
    }


def _valuation(reader: _Reader, data: object, default: str) -> Valuation | None:
    found = reader.options(data, "valuation", ("points", "worth"), ("currency",))
    if found is None:
        return None
    worth = reader.cash(found["worth"], "valuation.worth")
    if worth is None:
        return None
    return reader.make(
        "valuation",
        lambda: Valuation(found["points"], worth, currency=found.get("currency", default)),
    )


def _expiry(reader: _Reader, data: object, zone: ZoneInfo) -> ExpiryPolicy | None:
    found = reader.options(data, "expiry", (), ("default", "currencies", "rules"))
    if found is None:
        return None
    default = _window(reader, found["default"], "expiry.default") if "default" in found else Never()
    overrides: dict[str, dict[str, ExpiryWindow]] = {"currencies": {}, "rules": {}}
    for section in ("currencies", "rules"):
        table = found.get(section, {})
        if not isinstance(table, Mapping):
            reader.fail(f"expiry.{section}", f"must be a table of windows, got {table!r}")
            continue
        for key, value in table.items():
            window = _window(reader, value, f"expiry.{section}.{key}")
            if window is not None:
                overrides[section][key] = window
    if default is None:
        return None
    return reader.make(
        "expiry",
        lambda: ExpiryPolicy(
            zone, default, currencies=overrides["currencies"], rules=overrides["rules"]
        ),
    )


def _tiers(reader: _Reader, data: object, zone: ZoneInfo, default: str) -> TierLadder | None:
    found = reader.options(
        data, "tiers", ("levels",), ("currency", "window", "review", "grace_days", "one_step")
    )
    if found is None:
        return None
    levels: list[Tier] = []
    for path, item in reader.items(found["levels"], "tiers.levels"):
        spec = reader.options(
            item, path, ("name", "threshold"), ("earn_multiplier", "price_discount", "perks")
        )
        if spec is None:
            continue
        multiplier = reader.exact(spec.get("earn_multiplier", 1), f"{path}.earn_multiplier")
        discount = reader.exact(spec.get("price_discount", 0), f"{path}.price_discount")
        perks = reader.strings(spec.get("perks", []), f"{path}.perks")
        if multiplier is None or discount is None or perks is None:
            continue
        benefits = reader.make(
            path,
            partial(Benefits, earn_multiplier=multiplier, price_discount=discount, perks=perks),
        )
        tier = (
            None
            if benefits is None
            else reader.make(
                path,
                partial(Tier, spec["name"], spec["threshold"], benefits),
            )
        )
        if tier is not None:
            levels.append(tier)
    window = _tier_window(reader, found.get("window", {"type": "lifetime"}), "tiers.window")
    review = _review(reader, found.get("review", {"type": "none"}), "tiers.review")
    downgrade = (
        None
        if review is None
        else reader.make(
            "tiers",
            lambda: DowngradePolicy(
                review,
                grace_days=found.get("grace_days", 0),
                one_step=found.get("one_step", False),
            ),
        )
    )
    if window is None or downgrade is None:
        return None
    metric = reader.make("tiers.currency", lambda: QualifyingMetric(found.get("currency", default)))
    if metric is None:
        return None
    return reader.make("tiers", lambda: TierLadder(levels, metric, window, downgrade, zone))


def _tier_window(reader: _Reader, data: object, path: str) -> QualificationWindow | None:
    kind = reader._type(data, path, ("lifetime", "rolling_months", "calendar_year"))  # noqa: SLF001
    if kind is None:
        return None
    if kind == "rolling_months":
        found = reader.options(data, path, ("type", "months"), ())
        return None if found is None else reader.make(path, lambda: TierMonths(found["months"]))
    if reader.options(data, path, ("type",), ()) is None:
        return None
    return Lifetime() if kind == "lifetime" else CalendarYear()


def _review(reader: _Reader, data: object, path: str) -> ReviewSchedule | None:
    kind = reader._type(data, path, ("none", "every_months", "yearly"))  # noqa: SLF001
    if kind is None:
        return None
    if kind == "every_months":
        found = reader.options(data, path, ("type", "months"), ())
        if found is None:
            return None
        return reader.make(path, partial(ReviewEveryMonths, found["months"]))
    if kind == "yearly":
        found = reader.options(data, path, ("type", "dates"), ())
        dates = None if found is None else reader.month_days(found["dates"], f"{path}.dates")
        return None if dates is None else reader.make(path, lambda: ReviewYearlyOn(dates))
    return None if reader.options(data, path, ("type",), ()) is None else NoReview()


def _earning(reader: _Reader, data: object, zone: ZoneInfo) -> RuleSet | None:
    if not isinstance(data, Mapping):
        reader.fail("earning", f"must be a table, got {data!r}")
        return None
    document = {"version": 1, "zone": str(zone), "rules": [], **data}
    return reader.make("earning", lambda: ruleset_from_dict(document))


_OFFER_FIELDS: Final = (
    "currency",
    "points",
    "cash",
    "bundles",
    "split",
    "stock",
    "limits",
    "starts_at",
    "ends_at",
    "tiers",
    "tier_discounts",
    "refund",
    "refund_expiry",
    "hold_timeout_seconds",
)


def _price(reader: _Reader, found: Mapping[str, Any], path: str) -> Price | None:
    cash = None if "cash" not in found else reader.cash(found["cash"], f"{path}.cash")
    bundles: list[Bundle] = []
    for item_path, item in reader.items(found.get("bundles", []), f"{path}.bundles"):
        spec = reader.options(item, item_path, ("points", "cash"), ())
        money = None if spec is None else reader.cash(spec["cash"], f"{item_path}.cash")
        if spec is not None and money is not None:
            bundle = reader.make(item_path, partial(Bundle, spec["points"], money))
            if bundle is not None:
                bundles.append(bundle)
    split = None
    if "split" in found:
        spec = reader.options(
            found["split"],
            f"{path}.split",
            ("per_point",),
            ("max_share", "min_cash", "block", "min_points"),
        )
        if spec is not None:
            rate = reader.exact(spec["per_point"], f"{path}.split.per_point")
            share = reader.exact(spec.get("max_share", 1), f"{path}.split.max_share")
            least = (
                None
                if "min_cash" not in spec
                else reader.cash(spec["min_cash"], f"{path}.split.min_cash")
            )
            if rate is not None and share is not None:
                split = reader.make(
                    f"{path}.split",
                    lambda: PointsSplit(
                        rate,
                        max_share=share,
                        min_cash=least,
                        block=spec.get("block", 1),
                        min_points=spec.get("min_points", 0),
                    ),
                )
    return reader.make(
        path,
        lambda: Price(points=found.get("points"), cash=cash, bundles=bundles, split=split),
    )


def _offer(  # noqa: C901 - one branch per optional field
    reader: _Reader,
    data: object,
    path: str,
    zone: ZoneInfo,
    default: str,
    ladder: TierLadder | None,
) -> Offer | None:
    found = reader.options(data, path, ("id", "name"), _OFFER_FIELDS)
    if found is None:
        return None
    price = _price(reader, found, path)
    limits_: list[OfferLimit] = []
    for item_path, item in reader.items(found.get("limits", []), f"{path}.limits"):
        spec = reader.options(item, item_path, ("count",), ("per",))
        if spec is not None:
            limit = reader.make(
                item_path, partial(OfferLimit, spec["count"], spec.get("per", "lifetime"))
            )
            if limit is not None:
                limits_.append(limit)
    starts = (
        None if "starts_at" not in found else reader.moment(found["starts_at"], f"{path}.starts_at")
    )
    ends = None if "ends_at" not in found else reader.moment(found["ends_at"], f"{path}.ends_at")
    tiers = None if "tiers" not in found else reader.strings(found["tiers"], f"{path}.tiers")
    discounts: dict[str, Fraction] = {}
    if "tier_discounts" in found:
        table = found["tier_discounts"]
        if not isinstance(table, Mapping):
            reader.fail(
                f"{path}.tier_discounts", f"must be a table of tier = fraction, got {table!r}"
            )
        else:
            for tier, value in table.items():
                exact = reader.exact(value, f"{path}.tier_discounts.{tier}")
                if exact is not None:
                    discounts[str(tier)] = exact
    elif ladder is not None:
        # Without its own discounts, an offer gives each tier the ladder's price discount.
        discounts = {
            t.name: t.benefits.price_discount for t in ladder.tiers if t.benefits.price_discount
        }
        if tiers is not None:
            discounts = {name: off for name, off in discounts.items() if name in tiers}
    refund_expiry = (
        None
        if "refund_expiry" not in found
        else _window(reader, found["refund_expiry"], f"{path}.refund_expiry")
    )
    if price is None:
        return None
    return reader.make(
        path,
        lambda: Offer(
            found["id"],
            found["name"],
            price,
            currency=found.get("currency", default),
            stock=found.get("stock"),
            limits=limits_,
            starts_at=starts,
            ends_at=ends,
            tiers=tiers,
            tier_discounts=discounts,
            refund=found.get("refund", "original_expiry"),
            refund_expiry=refund_expiry,
            zone=zone,
            hold_timeout_seconds=found.get("hold_timeout_seconds", 7 * 24 * 3600),
        ),
    )


_PRIZE_FIELDS: Final = ("kind", "points", "value", "cost", "stock", "fallback", "name_zh")
_LOTTERY_FIELDS: Final = (
    "currency",
    "pity",
    "participation",
    "daily_limit",
    "starts_at",
    "ends_at",
    "minors",
    "name_zh",
)


def _lottery(
    reader: _Reader,
    data: object,
    path: str,
    zone: ZoneInfo,
    default: str,
    valuation: Valuation | None,
) -> Lottery | None:
    found = reader.options(data, path, ("id", "name", "cost", "prizes"), _LOTTERY_FIELDS)
    if found is None:
        return None
    prizes: list[Prize] = []
    for item_path, item in reader.items(found["prizes"], f"{path}.prizes"):
        spec = reader.options(item, item_path, ("id", "name", "probability"), _PRIZE_FIELDS)
        if spec is None:
            continue
        probability = reader.exact(spec["probability"], f"{item_path}.probability")
        value = None if "value" not in spec else reader.cash(spec["value"], f"{item_path}.value")
        cost = None if "cost" not in spec else reader.cash(spec["cost"], f"{item_path}.cost")
        if probability is None:
            continue
        prize = reader.make(
            item_path,
            partial(
                Prize,
                spec["id"],
                spec["name"],
                probability,
                kind=spec.get("kind", "goods"),
                points=spec.get("points", 0),
                value=value,
                cost=cost,
                stock=spec.get("stock"),
                fallback=spec.get("fallback"),
                name_zh=spec.get("name_zh"),
            ),
        )
        if prize is not None:
            prizes.append(prize)
    pity = None
    if "pity" in found:
        spec = reader.options(
            found["pity"],
            f"{path}.pity",
            ("prizes", "hard"),
            ("soft_start", "soft_step", "resets_on", "counter"),
        )
        if spec is not None:
            step = reader.exact(spec.get("soft_step", 0), f"{path}.pity.soft_step")
            if step is not None:
                pity = reader.make(
                    f"{path}.pity",
                    lambda: Pity(
                        spec["prizes"],
                        hard=spec["hard"],
                        soft_start=spec.get("soft_start"),
                        soft_step=step,
                        resets_on=spec.get("resets_on"),
                        counter=spec.get("counter"),
                    ),
                )
    starts = (
        None if "starts_at" not in found else reader.moment(found["starts_at"], f"{path}.starts_at")
    )
    ends = None if "ends_at" not in found else reader.moment(found["ends_at"], f"{path}.ends_at")
    code = found.get("currency", default)
    return reader.make(
        path,
        lambda: Lottery(
            found["id"],
            found["name"],
            found["cost"],
            prizes,
            currency=code,
            pity=pity,
            participation=found.get("participation"),
            daily_limit=found.get("daily_limit"),
            starts_at=starts,
            ends_at=ends,
            zone=zone,
            minors=found.get("minors", "blocked"),
            valuation=valuation if valuation is not None and valuation.currency == code else None,
            name_zh=found.get("name_zh"),
        ),
    )


_CONVERSION_FIELDS: Final = (
    "block",
    "minimum",
    "maximum",
    "per",
    "fee_points",
    "fee_share",
    "cash_fee",
    "bonuses",
    "enabled",
)


def _conversion(reader: _Reader, data: object, path: str, zone: ZoneInfo) -> Conversion | None:
    found = reader.options(data, path, ("id", "source", "target", "ratio"), _CONVERSION_FIELDS)
    if found is None:
        return None
    ratio = reader.exact(found["ratio"], f"{path}.ratio")
    share = reader.exact(found.get("fee_share", 0), f"{path}.fee_share")
    fee = None if "cash_fee" not in found else reader.cash(found["cash_fee"], f"{path}.cash_fee")
    bonuses: list[ConversionBonus] = []
    for item_path, item in reader.items(found.get("bonuses", []), f"{path}.bonuses"):
        spec = reader.options(item, item_path, ("at_least", "points"), ("repeat",))
        if spec is not None:
            bonus = reader.make(
                item_path,
                partial(
                    ConversionBonus,
                    spec["at_least"],
                    spec["points"],
                    repeat=spec.get("repeat", False),
                ),
            )
            if bonus is not None:
                bonuses.append(bonus)
    if ratio is None or share is None:
        return None
    return reader.make(
        path,
        lambda: Conversion(
            found["id"],
            found["source"],
            found["target"],
            ratio,
            block=found.get("block", 1),
            minimum=found.get("minimum"),
            maximum=found.get("maximum"),
            per=found.get("per", "month"),
            fee_points=found.get("fee_points", 0),
            fee_share=share,
            cash_fee=fee,
            bonuses=bonuses,
            enabled=found.get("enabled", True),
            zone=zone,
        ),
    )


def config_from_dict(  # noqa: C901 - one branch per section
    data: Mapping[str, object], *, source: str = "config"
) -> ProgramConfig:
    """Build a configuration from TOML-shaped data (what :mod:`tomllib` reads).

    Raises:
        ConfigurationError: Listing every problem, each with its path in the document.
    """
    reader = _Reader()
    if not isinstance(data, Mapping):
        raise ConfigurationError(source, [f"document: must be a table, got {data!r}"])
    valid = ", ".join(repr(name) for name in _SECTIONS)
    for key in data:
        if key not in _SECTIONS:
            reader.fail(str(key), f"unknown section; valid sections are {valid}")
    if "program" not in data:
        reader.fail("program", "missing; it is required (id and zone)")
        raise ConfigurationError(source, reader.problems)
    found = data
    head = _program(reader, found["program"])
    if head is None:
        raise ConfigurationError(source, reader.problems)
    zone: ZoneInfo = head["zone"]
    currencies: tuple[PointCurrency, ...] = head["currencies"] or (PointCurrency("points"),)
    default = currencies[0].code
    valuation = (
        None if "valuation" not in found else _valuation(reader, found["valuation"], default)
    )
    expiry = None if "expiry" not in found else _expiry(reader, found["expiry"], zone)
    ladder = None if "tiers" not in found else _tiers(reader, found["tiers"], zone, default)
    rules = None if "earning" not in found else _earning(reader, found["earning"], zone)
    offers = [
        _offer(reader, item, path, zone, default, ladder)
        for path, item in reader.items(found.get("offers", []), "offers")
    ]
    lotteries = [
        _lottery(reader, item, path, zone, default, valuation)
        for path, item in reader.items(found.get("lotteries", []), "lotteries")
    ]
    conversions = [
        _conversion(reader, item, path, zone)
        for path, item in reader.items(found.get("conversions", []), "conversions")
    ]
    exchange = None
    built = [conversion for conversion in conversions if conversion is not None]
    if built and len(built) == len(conversions):
        try:
            exchange = Exchange(built)
        except ConfigurationError as error:  # its problems name their conversions already
            reader.problems.extend(f"conversions: {problem}" for problem in error.problems)
    transfers = TransferPolicy()
    if "transfers" in found:
        spec = reader.options(
            found["transfers"], "transfers", (), ("allowed", "minimum", "maximum")
        )
        if spec is not None:
            transfers = (
                reader.make(
                    "transfers",
                    lambda: TransferPolicy(
                        allowed=spec.get("allowed", False),
                        minimum=spec.get("minimum", 1),
                        maximum=spec.get("maximum"),
                    ),
                )
                or TransferPolicy()
            )
    if reader.problems:
        raise ConfigurationError(source, reader.problems)
    try:
        return ProgramConfig(
            id=head["id"],
            zone=zone,
            currencies=currencies,
            policy=head["policy"],
            valuation=valuation,
            expiry=expiry,
            tiers=ladder,
            rules=rules,
            offers=[offer for offer in offers if offer is not None],
            lotteries=[lottery for lottery in lotteries if lottery is not None],
            exchange=exchange,
            transfers=transfers,
        )
    except ConfigurationError as error:
        raise ConfigurationError(source, error.problems) from None
    except InvalidArgumentError as error:
        raise ConfigurationError(source, [f"program.id: {error}"]) from None


def config_from_toml(text: str, *, source: str = "config") -> ProgramConfig:
    """Build a configuration from TOML *text*.

    Raises:
        ConfigurationError: If the text is not TOML, or listing every problem with its path.
    """
    if not isinstance(text, str):
        raise InvalidArgumentError(f"text must be a str, not {type_name(text)}")
    if len(text) > CONFIG_LENGTH_MAX:
        raise ConfigurationError(source, [f"document: is over {CONFIG_LENGTH_MAX} characters"])
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigurationError(source, [f"document: is not valid TOML ({error})"]) from None
    return config_from_dict(data, source=source)


def load_config(path: str | Path) -> ProgramConfig:
    """Read the TOML file at *path* into a configuration.

    Raises:
        ConfigurationError: Listing every problem, each with its TOML path.
        OSError: If the file cannot be read.
    """
    file = Path(path)
    return config_from_toml(file.read_text(encoding="utf-8"), source=file.name)

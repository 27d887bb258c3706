"""Reading each section of a program document into the object it declares.

One function a section (``read_program``, ``read_valuation``, ``read_expiry``, ``read_tiers``,
``read_earning``) or an item of a list section (``read_offer``, ``read_lottery``,
``read_conversion``). Each reads its fields through a
:class:`~pointkit.program._config_reader.ConfigReader`, builds the object with its own
constructor, and returns ``None`` when anything failed, its problems recorded with their TOML
paths. :func:`~pointkit.program.config_from_dict` calls them in order and checks the pieces
against each other.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import TYPE_CHECKING, Any, Final

from pointkit import limits
from pointkit._validate import check_text, check_zone
from pointkit._values import PointCurrency
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
    from fractions import Fraction
    from zoneinfo import ZoneInfo

    from pointkit.expiry import ExpiryWindow
    from pointkit.program._config_reader import ConfigReader
    from pointkit.rules import Segments
    from pointkit.tiers import QualificationWindow, ReviewSchedule


__all__ = [
    "read_conversion",
    "read_earning",
    "read_expiry",
    "read_lottery",
    "read_offer",
    "read_program",
    "read_tiers",
    "read_valuation",
]


def _window(reader: ConfigReader, data: object, path: str) -> ExpiryWindow | None:  # noqa: PLR0911 - one return per window type
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


def check_program_id(value: object) -> str:
    """A programme's id: what storage keys its rows by, 1 to PROGRAM_ID_LENGTH_MAX characters."""
    return check_text(
        "id", value, max_length=limits.PROGRAM_ID_LENGTH_MAX, limit_name="PROGRAM_ID_LENGTH_MAX"
    )


def read_program(reader: ConfigReader, data: object) -> dict[str, Any] | None:
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
    program_id = reader.make("program", lambda: check_program_id(found["id"]))
    zone = reader.make("program", lambda: check_zone("zone", found["zone"]))
    if zone is None or program_id is None:  # every other section counts its days in the zone
        return None
    return {
        "id": program_id,
        "zone": zone,
        "currencies": tuple(currencies),
        "policy": policy or LedgerPolicy(),
    }


def read_valuation(reader: ConfigReader, data: object, default: str) -> Valuation | None:
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


def read_expiry(reader: ConfigReader, data: object, zone: ZoneInfo) -> ExpiryPolicy | None:
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


def read_tiers(
    reader: ConfigReader, data: object, zone: ZoneInfo, default: str
) -> TierLadder | None:
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
    return reader.make(
        "tiers",
        lambda: TierLadder(levels, metric, window, downgrade, zone),
        renames={"tiers": "levels"},  # the ladder's argument is the file's [[tiers.levels]]
    )


def _tier_window(reader: ConfigReader, data: object, path: str) -> QualificationWindow | None:
    kind = reader._type(data, path, ("lifetime", "rolling_months", "calendar_year"))  # noqa: SLF001
    if kind is None:
        return None
    if kind == "rolling_months":
        found = reader.options(data, path, ("type", "months"), ())
        return None if found is None else reader.make(path, lambda: TierMonths(found["months"]))
    if reader.options(data, path, ("type",), ()) is None:
        return None
    return Lifetime() if kind == "lifetime" else CalendarYear()


def _review(reader: ConfigReader, data: object, path: str) -> ReviewSchedule | None:
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


def read_earning(
    reader: ConfigReader, data: object, zone: ZoneInfo, segments: Segments | None = None
) -> RuleSet | None:
    """Read ``[earning]``: a rule set document whose segment conditions ask *segments*."""
    if not isinstance(data, Mapping):
        reader.fail("earning", f"must be a table, got {data!r}")
        return None
    document = {"version": 1, "zone": str(zone), "rules": [], **data}
    return reader.make("earning", lambda: ruleset_from_dict(document, segments=segments))


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
    "coupon",
    "segments",
)


def _price(reader: ConfigReader, found: Mapping[str, Any], path: str) -> Price | None:
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


def read_offer(  # noqa: C901 - one branch per optional field
    reader: ConfigReader,
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
    segments = (
        () if "segments" not in found else reader.strings(found["segments"], f"{path}.segments")
    )
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
    if price is None or segments is None:
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
            coupon=found.get("coupon"),
            segments=segments,
        ),
    )


_PRIZE_FIELDS: Final = (
    "kind",
    "points",
    "value",
    "cost",
    "stock",
    "fallback",
    "name_zh",
    "coupon",
)
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


def read_lottery(
    reader: ConfigReader,
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
                coupon=spec.get("coupon"),
            ),
        )
        if prize is not None:
            prizes.append(prize)
    pity = _read_pities(reader, found["pity"], f"{path}.pity") if "pity" in found else None
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


def _read_pities(reader: ConfigReader, data: object, path: str) -> Pity | list[Pity] | None:
    """One ``pity`` table, or an array of stacked ones (``pity = [{...}, {...}]``)."""
    if not isinstance(data, list):
        return _read_pity(reader, data, path)
    levels = [_read_pity(reader, item, item_path) for item_path, item in reader.items(data, path)]
    checked = [level for level in levels if level is not None]
    return checked if len(checked) == len(levels) else None


def _read_pity(reader: ConfigReader, data: object, path: str) -> Pity | None:
    spec = reader.options(
        data, path, ("prizes", "hard"), ("soft_start", "soft_step", "resets_on", "counter")
    )
    if spec is None:
        return None
    step = reader.exact(spec.get("soft_step", 0), f"{path}.soft_step")
    if step is None:
        return None
    return reader.make(
        path,
        lambda: Pity(
            spec["prizes"],
            hard=spec["hard"],
            soft_start=spec.get("soft_start"),
            soft_step=step,
            resets_on=spec.get("resets_on"),
            counter=spec.get("counter"),
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


def read_conversion(
    reader: ConfigReader, data: object, path: str, zone: ZoneInfo
) -> Conversion | None:
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

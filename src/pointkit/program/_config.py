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

The reading is split by job: ``_config_reader`` holds the reader that collects problems with
their paths, ``_config_sections`` reads each section into its object, and this module holds
the configuration type, the checks between its pieces, and the entry points that read a whole
document.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Final, TypeVar, final

import attrs

from pointkit import limits
from pointkit._validate import check_int, check_zone, type_name
from pointkit._values import PointCurrency
from pointkit.exceptions import ConfigurationError, InvalidArgumentError
from pointkit.ledger import LedgerPolicy
from pointkit.pricing import Exchange, Lottery, Offer, Valuation
from pointkit.program._config_campaigns import (
    CAMPAIGN_SECTIONS,
    Campaigns,
    campaign_problems,
    read_campaigns,
)
from pointkit.program._config_reader import ConfigReader
from pointkit.program._config_sections import (
    check_program_id,
    read_conversion,
    read_earning,
    read_expiry,
    read_lottery,
    read_offer,
    read_program,
    read_tiers,
    read_valuation,
)
from pointkit.program._config_segments import read_segments
from pointkit.rules import Segments


if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from pointkit.campaigns import Goal
    from pointkit.expiry import ExpiryPolicy
    from pointkit.rules import Condition, RuleSet
    from pointkit.tiers import TierLadder


__all__ = ["ProgramConfig", "TransferPolicy", "config_from_dict", "config_from_toml", "load_config"]

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
    "segments",
    *CAMPAIGN_SECTIONS,
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
        campaigns: Coupons, referrals, anti-cheat, missions and badges, group buys.
        segments: Named conditions over member facts (``[[segments]]``) that rule conditions,
            offer gates and missions name, if any.
    """

    id: str = attrs.field(converter=check_program_id)
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
    campaigns: Campaigns = attrs.field(factory=Campaigns)
    segments: Segments | None = None
    _member_facts: frozenset[str] = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        problems = check_pieces(self)
        if problems:
            raise ConfigurationError(f"ProgramConfig {self.id!r}", problems)
        object.__setattr__(self, "_member_facts", _member_facts(self))

    @property
    def member_facts(self) -> frozenset[str]:
        """The member facts (``member.lifetime_earned``, ...) the programme's conditions read.

        Segments, earning rules and mission goals count; a host or
        :meth:`~pointkit.program.Program.member` fills only these, so a programme that never
        asks about lifetime earnings pays nothing to read them.
        """
        return self._member_facts

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


def _conditions(config: ProgramConfig) -> list[Condition]:
    """Every condition of the programme: segments, earning rules and mission goals."""
    found: list[Condition] = []
    if config.segments is not None:
        found += [segment.when for segment in config.segments.segments]
    for rule in () if config.rules is None else config.rules.rules:
        found += [rule.when] if rule.when is not None else []
        found += [bonus.when for bonus in rule.bonuses]
        found += [m.when for m in rule.multipliers if m.when is not None]
    book = config.campaigns.missions
    goals: list[Goal | None] = [] if book is None else [m.goal for m in book.missions]
    goals += [] if book is None else [badge.goal for badge in book.badges]
    found += [goal.condition for goal in goals if goal is not None and goal.condition is not None]
    return found


def _walk(node: object) -> list[object]:
    """*node* and everything under it (conditions are bounded when built)."""
    nodes = [node]
    if isinstance(node, tuple):
        for item in node:
            nodes += _walk(item)
    elif attrs.has(type(node)):
        for value in attrs.astuple(node, recurse=False):  # type: ignore[arg-type]
            nodes += _walk(value)
    return nodes


def _member_facts(config: ProgramConfig) -> frozenset[str]:
    paths = (getattr(node, "path", None) for c in _conditions(config) for node in _walk(c))
    return frozenset(path for path in paths if isinstance(path, str) and path.startswith("member."))


def _segment_problems(config: ProgramConfig) -> list[str]:
    """Every segment a rule, an offer or a mission names must be declared."""
    segments = config.segments or Segments([], zone=config.zone)
    problems: list[str] = []
    if config.segments is not None and config.segments.zone.key != config.zone.key:
        problems.append("segments: their zone is not the program's")
    # A rule set checked its own conditions against its own segments: they must be these.
    rules = config.rules
    if rules is not None and rules.segments is not None and rules.segments != config.segments:
        problems.append("earning: the rule set's segments are not the program's [[segments]]")
    for index, offer in enumerate(config.offers):
        problems += segments.check_names(sorted(offer.segments), f"offers[{index}].segments")
    book = config.campaigns.missions
    for index, mission in enumerate(() if book is None else book.missions):
        problems += segments.check_names(sorted(mission.segments), f"missions[{index}].segments")
    return problems


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
    problems += campaign_problems(
        config.campaigns,
        currencies=codes,
        offers=config.offers,
        lotteries=config.lotteries,
        rules=config.rules,
    )
    problems += _segment_problems(config)
    return problems


def _repeated(section: str, ids: list[str]) -> list[str]:
    return [
        f"{section}[{index}].id: {item!r} is used twice"
        for index, item in enumerate(ids)
        if ids.index(item) != index
    ]


# -- reading a document --------------------------------------------------------------------------


def config_from_dict(  # noqa: C901 - one branch per section
    data: Mapping[str, object], *, source: str = "config"
) -> ProgramConfig:
    """Build a configuration from TOML-shaped data (what :mod:`tomllib` reads).

    Raises:
        ConfigurationError: Listing every problem, each with its path in the document.
    """
    reader = ConfigReader()
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
    head = read_program(reader, found["program"])
    if head is None:
        raise ConfigurationError(source, reader.problems)
    zone: ZoneInfo = head["zone"]
    currencies: tuple[PointCurrency, ...] = head["currencies"] or (PointCurrency("points"),)
    default = currencies[0].code
    valuation = (
        None if "valuation" not in found else read_valuation(reader, found["valuation"], default)
    )
    expiry = None if "expiry" not in found else read_expiry(reader, found["expiry"], zone)
    ladder = None if "tiers" not in found else read_tiers(reader, found["tiers"], zone, default)
    # Segments first: rule conditions, offers and missions name them.
    segments = None if "segments" not in found else read_segments(reader, found["segments"], zone)
    rules = (
        None if "earning" not in found else read_earning(reader, found["earning"], zone, segments)
    )
    offers = [
        read_offer(reader, item, path, zone, default, ladder)
        for path, item in reader.items(found.get("offers", []), "offers")
    ]
    lotteries = [
        read_lottery(reader, item, path, zone, default, valuation)
        for path, item in reader.items(found.get("lotteries", []), "lotteries")
    ]
    conversions = [
        read_conversion(reader, item, path, zone)
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
    campaigns = read_campaigns(reader, found, zone, default)
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
            campaigns=campaigns,
            segments=segments,
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
        ConfigurationError: Listing every problem, each with its TOML path; or if the file is
            not UTF-8 text.
        OSError: If the file cannot be read.
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        problem = f"document: is not UTF-8 text ({error.reason} at byte {error.start})"
        raise ConfigurationError(file.name, [problem]) from None
    return config_from_toml(text, source=file.name)

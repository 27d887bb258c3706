"""Exchange between point currencies: partner interchange and pooled points, without minting.

Maintainer's notes
------------------
A :class:`Conversion` turns source points into target points at an exact ratio, in blocks
(Chase: 1,000-point increments), above a minimum, under a per-member maximum per period, less
a fee, plus bonus tiers (Marriott: 5,000 bonus miles per 60,000 points), truncating the target
to whole points per transaction (the CMB co-brand card drops fractions of a mile per
transaction). A :class:`ConversionQuote` shows all of it: what is debited, what is credited,
the bonus, the fee, what is left unconverted, what the truncation dropped and the effective
ratio. Conservation holds exactly: ``converted * ratio + bonus == credited + truncated``.

An :class:`Exchange` holds a program's conversions and refuses, when it is built, any cycle of
enabled conversions whose product of ratios exceeds 1, because a member could otherwise mint
points by going round it. Each conversion contributes its *largest* possible ratio (its
ratio plus what its bonuses can add per point), so the check is safe for every amount; fees and
truncation only lower what a round trip returns. Two-currency cycles, the common mistake, are
all listed; a longer cycle is found by an exact Bellman-Ford search on Fractions.
"""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING, final

import attrs

from pointkit import limits
from pointkit._localtime import checked_wall
from pointkit._validate import check_aware, check_int, check_zone, type_name
from pointkit._values import Money, check_point_code, round_fraction
from pointkit.exceptions import (
    ConfigurationError,
    ConversionRefusedError,
    InvalidArgumentError,
)
from pointkit.pricing._config import check_id, check_items, field
from pointkit.pricing._valuation import check_fraction
from pointkit.rules import period_key
from pointkit.rules._state import PERIODS


if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from pointkit.rules import CapPeriod


__all__ = ["Conversion", "ConversionBonus", "ConversionQuote", "Exchange"]


def _positive(name: str, value: object) -> int:
    return check_int(name, value, minimum=1, maximum=limits.POINTS_MAX, limit_name="POINTS_MAX")


def _at_least(value: int) -> int:
    return _positive("at_least", value)


def _bonus_points(value: int) -> int:
    return _positive("points", value)


@final
@attrs.frozen
class ConversionBonus:
    """Bonus target points for converting at least *at_least* source points.

    With ``repeat=True`` the bonus comes once per full *at_least* (Marriott: 5,000 miles per
    60,000 points, ``ConversionBonus(60_000, 5_000, repeat=True)``); otherwise once, and of
    several one-off tiers only the highest reached applies.

    Attributes:
        at_least: Source points converted, at least 1.
        points: Target points of bonus, at least 1.
        repeat: Whether the bonus repeats for every full *at_least*.
    """

    at_least: int = attrs.field(converter=_at_least)
    points: int = attrs.field(converter=_bonus_points)
    repeat: bool = attrs.field(default=False, kw_only=True)


@final
@attrs.frozen
class ConversionQuote:
    """What converting a number of source points does, exactly.

    Attributes:
        conversion: The conversion's id.
        source: The source point currency.
        target: The target point currency.
        requested: The source points the member asked to convert.
        converted: The source points converted: *requested* rounded down to the block.
        fee: Source points charged on top as the fee.
        debited: Source points taken from the member: ``converted + fee``.
        base: ``converted * ratio`` rounded down to whole target points.
        bonus: Bonus target points.
        credited: Target points given to the member: ``base + bonus``.
        truncated: The fraction of a target point the rounding dropped (below 1).
        leftover: Source points not converted (``requested - converted``); they stay.
        effective_ratio: ``credited / debited``, exact.
        cash_fee: A money fee the host charges alongside, if the conversion has one.
        remaining: Source points the member may still convert in the period after this one;
            ``None`` without a maximum.
    """

    conversion: str
    source: str
    target: str
    requested: int
    converted: int
    fee: int
    debited: int
    base: int
    bonus: int
    credited: int
    truncated: Fraction
    leftover: int
    effective_ratio: Fraction
    cash_fee: Money | None
    remaining: int | None


@final
@attrs.frozen(init=False)
class Conversion:
    """One enabled (or disabled) way to turn source points into target points.

    >>> from fractions import Fraction
    >>> marriott = Conversion(
    ...     "bonvoy-to-miles", "bonvoy", "miles", Fraction(1, 3),
    ...     bonuses=[ConversionBonus(60_000, 5_000, repeat=True)],
    ... )
    >>> quote = marriott.quote(60_000)
    >>> quote.base, quote.bonus, quote.credited, quote.effective_ratio
    (20000, 5000, 25000, Fraction(5, 12))

    Args:
        id: The conversion's id, used in keys and counters.
        source: The source point currency's code.
        target: The target point currency's code.
        ratio: Target points per source point, an exact positive Fraction.
        block: Source points convert in multiples of this.
        minimum: The fewest source points one conversion converts (a multiple of *block*);
            one block if omitted.
        maximum: The most source points a member may convert per *per*, if limited.
        per: The period of *maximum*: ``"day"``, ``"week"``, ``"month"`` or ``"lifetime"``.
        fee_points: Source points charged per conversion, on top of those converted.
        fee_share: A share of the converted points charged on top, rounded up.
        cash_fee: A money fee the host collects per conversion (reported in the quote).
        bonuses: Bonus tiers, up to ``limits.CONVERSION_BONUSES_MAX``.
        enabled: Whether members may use it now; a disabled conversion is left out of the
            no-minting check and refused.
        zone: The program's IANA time zone, needed when *maximum* counts per day, week or
            month.

    Raises:
        ConfigurationError: Listing every problem, each naming its field.
    """

    id: str
    source: str
    target: str
    ratio: Fraction
    block: int
    minimum: int
    maximum: int | None
    per: CapPeriod
    fee_points: int
    fee_share: Fraction
    cash_fee: Money | None
    bonuses: tuple[ConversionBonus, ...]
    enabled: bool
    zone: ZoneInfo | None

    def __init__(  # noqa: PLR0913 - every facet of a conversion is a keyword of its own
        self,
        id: str,  # noqa: A002 - the conversion's id
        source: str,
        target: str,
        ratio: Fraction | int,
        *,
        block: int = 1,
        minimum: int | None = None,
        maximum: int | None = None,
        per: CapPeriod = "month",
        fee_points: int = 0,
        fee_share: Fraction | int = 0,
        cash_fee: Money | None = None,
        bonuses: Sequence[ConversionBonus] = (),
        enabled: bool = True,
        zone: ZoneInfo | str | None = None,
    ) -> None:
        problems: list[str] = []
        checked_id = field(problems, "id", lambda: check_id("id", id), "?")
        checked_source = field(problems, "source", lambda: check_point_code("source", source), "?")
        checked_target = field(problems, "target", lambda: check_point_code("target", target), "?")
        if checked_source == checked_target != "?":
            problems.append(f"target: {target!r} must differ from the source")
        checked_ratio = field(problems, "ratio", lambda: _ratio(ratio), Fraction(1))
        checked_block = field(problems, "block", lambda: _positive("block", block), 1)
        checked_minimum = field(
            problems,
            "minimum",
            lambda: checked_block if minimum is None else _positive("minimum", minimum),
            checked_block,
        )
        if checked_minimum % checked_block:
            problems.append(
                f"minimum: {checked_minimum} must be a multiple of block ({checked_block})"
            )
        checked_maximum = (
            None
            if maximum is None
            else field(problems, "maximum", lambda: _positive("maximum", maximum), None)
        )
        if checked_maximum is not None and checked_maximum < checked_minimum:
            problems.append(
                f"maximum: {checked_maximum} must be at least the minimum ({checked_minimum})"
            )
        if per not in PERIODS:
            valid = ", ".join(repr(period) for period in PERIODS)
            problems.append(f"per: {per!r} must be one of {valid}")
        checked_fee = field(
            problems,
            "fee_points",
            lambda: check_int("fee_points", fee_points, minimum=0, maximum=limits.POINTS_MAX),
            0,
        )
        checked_share = field(
            problems,
            "fee_share",
            lambda: check_fraction(
                "fee_share", fee_share, minimum=Fraction(0), maximum=Fraction(1)
            ),
            Fraction(0),
        )
        fee: object = cash_fee  # checked at run time whatever the annotation says
        if fee is not None and (not isinstance(fee, Money) or fee.amount <= 0):
            problems.append(f"cash_fee: {fee!r} must be positive Money or None")
        checked_bonuses = _bonuses(problems, bonuses)
        switch: object = enabled
        if not isinstance(switch, bool):
            problems.append(f"enabled: {switch!r} must be a bool, not {type_name(switch)}")
        checked_zone = (
            None
            if zone is None
            else field(problems, "zone", lambda: check_zone("zone", zone), None)
        )
        if checked_maximum is not None and per != "lifetime" and zone is None:
            problems.append(
                f"zone: a maximum per {per} counts local {per}s; give the program's time zone"
            )
        if problems:
            raise ConfigurationError(f"Conversion {id!r}", problems)
        self.__attrs_init__(
            checked_id,
            checked_source,
            checked_target,
            checked_ratio,
            checked_block,
            checked_minimum,
            checked_maximum,
            per,
            checked_fee,
            checked_share,
            cash_fee,
            checked_bonuses,
            enabled,
            checked_zone,
        )

    def max_ratio(self) -> Fraction:
        """The most target points this conversion can ever credit per source point debited.

        The ratio, plus what repeating bonuses add per point, plus the best one-off bonus per
        point at its threshold. The no-minting check multiplies these round each cycle.
        """
        repeating = sum(
            (Fraction(bonus.points, bonus.at_least) for bonus in self.bonuses if bonus.repeat),
            Fraction(0),
        )
        once = max(
            (Fraction(bonus.points, bonus.at_least) for bonus in self.bonuses if not bonus.repeat),
            default=Fraction(0),
        )
        return self.ratio + repeating + once

    def counter_key(self, now: datetime) -> tuple[str, str] | None:
        """The member counter of this conversion's per-period maximum at *now*, if it has one.

        Raises:
            InvalidArgumentError: If *now*'s local time falls outside the years 1 to 9999.
        """
        if self.maximum is None:
            return None
        at = check_aware("now", now)
        day = checked_wall("now", at, self.zone).date() if self.zone is not None else at.date()
        return (f"pointkit:conversion:{self.id}", period_key(self.per, day))

    def quote(self, points: int, *, used: int = 0) -> ConversionQuote:
        """Quote converting *points* source points, *used* already converted this period.

        >>> chase = Conversion("ur-to-miles", "ur", "miles", 1, block=1_000)
        >>> quote = chase.quote(2_500)
        >>> quote.converted, quote.leftover, quote.credited
        (2000, 500, 2000)

        Raises:
            InvalidArgumentError: If *points* converts less than the minimum, or to nothing.
            ConversionRefusedError: If the conversion is disabled (``disabled``), or it would
                take the member past the maximum for the period (``period_maximum``).
        """
        requested = check_int(
            "points", points, minimum=1, maximum=limits.POINTS_MAX, limit_name="POINTS_MAX"
        )
        before = check_int("used", used, minimum=0, maximum=limits.POINTS_MAX)
        if not self.enabled:
            raise ConversionRefusedError(self.id, "disabled", f"conversion {self.id!r} is disabled")
        converted = requested // self.block * self.block
        if converted < self.minimum:
            raise InvalidArgumentError(
                f"points={requested} converts {converted} {self.source} in blocks of "
                f"{self.block}; conversion {self.id!r} needs at least {self.minimum}"
            )
        remaining = None
        if self.maximum is not None:
            allowed = max(self.maximum - before, 0)
            if converted > allowed:
                raise ConversionRefusedError(
                    self.id,
                    "period_maximum",
                    f"conversion {self.id!r} allows {self.maximum} {self.source} per {self.per}; "
                    f"{before} were converted already, so at most {allowed} more",
                )
            remaining = allowed - converted
        exact = converted * self.ratio
        base = round_fraction(exact, rounding="floor")
        bonus = self._bonus(converted)
        credited = base + bonus
        if credited == 0:
            raise InvalidArgumentError(
                f"points={requested} converts to 0 {self.target} at {self.ratio}; "
                f"convert at least {round_fraction(1 / self.ratio, rounding='ceiling')}"
            )
        fee = self.fee_points + round_fraction(converted * self.fee_share, rounding="ceiling")
        debited = converted + fee
        return ConversionQuote(
            conversion=self.id,
            source=self.source,
            target=self.target,
            requested=requested,
            converted=converted,
            fee=fee,
            debited=debited,
            base=base,
            bonus=bonus,
            credited=credited,
            truncated=exact - base,
            leftover=requested - converted,
            effective_ratio=Fraction(credited, debited),
            cash_fee=self.cash_fee,
            remaining=remaining,
        )

    def _bonus(self, converted: int) -> int:
        repeating = sum(
            converted // bonus.at_least * bonus.points for bonus in self.bonuses if bonus.repeat
        )
        once = max(
            (
                bonus.points
                for bonus in self.bonuses
                if not bonus.repeat and converted >= bonus.at_least
            ),
            default=0,
        )
        return repeating + once


def _ratio(value: object) -> Fraction:
    ratio = check_fraction("ratio", value)
    if ratio <= 0:
        raise InvalidArgumentError(f"ratio={ratio} must be more than zero")
    return ratio


def _bonuses(problems: list[str], bonuses: object) -> tuple[ConversionBonus, ...]:
    items = check_items(
        problems,
        "bonuses",
        bonuses,
        ConversionBonus,
        limit=limits.CONVERSION_BONUSES_MAX,
        limit_name="CONVERSION_BONUSES_MAX",
    )
    return tuple(bonus for _, bonus in items)


@final
@attrs.frozen
class _Gain:
    """A cycle of conversions whose largest ratios multiply to more than 1."""

    conversions: tuple[Conversion, ...]
    product: Fraction

    def describe(self) -> str:
        path = " -> ".join([self.conversions[0].source, *(c.target for c in self.conversions)])
        ids = ", ".join(repr(c.id) for c in self.conversions)
        return (
            f"conversions {ids} form the cycle {path}, whose ratios multiply to "
            f"{self.product} > 1: a member could mint points by going round it"
        )


def _gaining_pairs(enabled: Sequence[Conversion]) -> list[_Gain]:
    found = []
    for index, first in enumerate(enabled):
        for second in enabled[index + 1 :]:
            if (first.source, first.target) == (second.target, second.source):
                product = first.max_ratio() * second.max_ratio()
                if product > 1:
                    found.append(_Gain((first, second), product))
    return found


def _gaining_cycle(enabled: Sequence[Conversion]) -> _Gain | None:
    """Find one cycle whose largest ratios multiply to more than 1: exact Bellman-Ford."""
    nodes = sorted({c.source for c in enabled} | {c.target for c in enabled})
    best = dict.fromkeys(nodes, Fraction(1))
    through: dict[str, Conversion] = {}
    changed: Conversion | None = None
    for _ in range(len(nodes)):
        changed = None
        for conversion in enabled:
            candidate = best[conversion.source] * conversion.max_ratio()
            if candidate > best[conversion.target]:
                best[conversion.target] = candidate
                through[conversion.target] = conversion
                changed = conversion
        if changed is None:
            return None
    if changed is None:  # pragma: no cover - the loop returns when nothing changes
        return None
    # After as many rounds as there are currencies, a change means a gaining cycle; walking
    # back that many steps lands inside it.
    node = changed.target
    for _ in range(len(nodes)):
        node = through[node].source
    cycle: list[Conversion] = []
    current = node
    while True:
        conversion = through[current]
        cycle.append(conversion)
        current = conversion.source
        if current == node:
            break
    cycle.reverse()
    product = Fraction(1)
    for conversion in cycle:
        product *= conversion.max_ratio()
    return _Gain(tuple(cycle), product)


@final
@attrs.frozen(init=False)
class Exchange:
    """A program's conversions between point currencies, checked so that none mints points.

    >>> from fractions import Fraction
    >>> Exchange([
    ...     Conversion("mall-to-miles", "points", "miles", Fraction(1, 2)),
    ...     Conversion("miles-to-mall", "miles", "points", 3),
    ... ])
    Traceback (most recent call last):
    ...
    pointkit.exceptions.ConfigurationError: Exchange has 1 problem:
      - conversions 'mall-to-miles', 'miles-to-mall' form the cycle points -> miles -> points, whose ratios multiply to 3/2 > 1: a member could mint points by going round it

    Args:
        conversions: The conversions, with distinct ids, up to ``limits.CONVERSIONS_MAX``.

    Raises:
        ConfigurationError: If ids repeat, or enabled conversions form a gaining cycle.
    """

    conversions: tuple[Conversion, ...]

    def __init__(self, conversions: Sequence[Conversion]) -> None:
        problems: list[str] = []
        checked: list[Conversion] = []
        ids: set[str] = set()
        for index, conversion in check_items(
            problems,
            "conversions",
            conversions,
            Conversion,
            limit=limits.CONVERSIONS_MAX,
            limit_name="CONVERSIONS_MAX",
        ):
            if conversion.id in ids:
                problems.append(f"conversions[{index}].id: {conversion.id!r} is used twice")
            else:
                ids.add(conversion.id)
                checked.append(conversion)
        enabled = [conversion for conversion in checked if conversion.enabled]
        gains = _gaining_pairs(enabled)
        if not gains:
            cycle = _gaining_cycle(enabled)
            gains = [] if cycle is None else [cycle]
        problems.extend(gain.describe() for gain in gains)
        if problems:
            raise ConfigurationError("Exchange", problems)
        self.__attrs_init__(tuple(checked))

    def conversion(self, conversion_id: str) -> Conversion:
        """Return the conversion called *conversion_id*.

        Raises:
            InvalidArgumentError: If there is none; the message lists the ids.
        """
        for conversion in self.conversions:
            if conversion.id == conversion_id:
                return conversion
        valid = ", ".join(repr(conversion.id) for conversion in self.conversions) or "none"
        raise InvalidArgumentError(f"conversion={conversion_id!r} is not one of {valid}")

    def quote(self, conversion_id: str, points: int, *, used: int = 0) -> ConversionQuote:
        """Quote converting *points* with the conversion called *conversion_id*.

        See :meth:`Conversion.quote`.
        """
        return self.conversion(conversion_id).quote(points, used=used)

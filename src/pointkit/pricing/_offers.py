"""Offers: the reward catalogue's rules, decided purely.

Maintainer's notes
------------------
An :class:`Offer` is one catalogue entry: its price options (:class:`~pointkit.pricing.Price`),
its stock, per-member limits per period, a half-open time window (a flash sale), a tier gate,
tier discounts on the points side, and a declared refund policy. Everything here is a pure
decision on explicit inputs; the catalogue's ``Catalogue.redeem`` locks the stock and the member's
wallet, reads the counters, asks :meth:`Offer.check`, and commits the hold, the stock and the
counters together, so stock is never oversold however many members redeem at once.

Counters and stock live behind the storage protocol under reserved names built here
(:meth:`Offer.stock_key`, :meth:`Offer.counter_keys`), so a release made on a later day gives
back the count of the day the redemption was made.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from fractions import Fraction
from typing import TYPE_CHECKING, Final, Literal, TypeAlias, final

import attrs

from pointkit import limits as _limits
from pointkit._localtime import checked_wall
from pointkit._validate import (
    check_aware,
    check_choice,
    check_int,
    check_text,
    check_zone,
    type_name,
)
from pointkit._values import check_point_code
from pointkit.exceptions import ConfigurationError, InvalidArgumentError, OfferUnavailableError
from pointkit.expiry._windows import WINDOW_TYPES, ExpiryWindow, Inactivity
from pointkit.pricing._config import check_id, check_items, check_name, check_window, field
from pointkit.pricing._split import Price, PriceOption
from pointkit.pricing._valuation import check_fraction
from pointkit.rules import period_key
from pointkit.rules._segments import check_segment_names
from pointkit.rules._state import PERIODS


if TYPE_CHECKING:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from pointkit.pricing._valuation import Valuation
    from pointkit.rules import CapPeriod


__all__ = ["REFUND_POLICIES", "Offer", "OfferLimit", "RefundPolicy"]

RefundPolicy: TypeAlias = Literal["no_points_back", "original_expiry", "new_expiry"]
"""What refunding a fulfilled redemption does with its points: gives none back ("points are not
refunded after a return"), gives them back into the lots they came from with their original
expiry, or gives them back as new points with a new expiry."""

REFUND_POLICIES: Final[tuple[RefundPolicy, ...]] = (
    "no_points_back",
    "original_expiry",
    "new_expiry",
)
"""Every refund policy, in the order they are listed in messages."""

_DAY_SECONDS: Final = 24 * 3600


def _limit_count(value: int) -> int:
    return check_int("count", value, minimum=1, maximum=_limits.POINTS_MAX, limit_name="POINTS_MAX")


def _limit_period(value: str) -> CapPeriod:
    return check_choice("per", value, PERIODS)


@final
@attrs.frozen
class OfferLimit:
    """At most *count* units of an offer per member per *per*: ``OfferLimit(1, "day")``.

    Attributes:
        count: Units per period, at least 1.
        per: ``"day"``, ``"week"`` (ISO, Monday first), ``"month"`` or ``"lifetime"``, in
            the offer's time zone.
    """

    count: int = attrs.field(converter=_limit_count)
    per: CapPeriod = attrs.field(default="lifetime", converter=_limit_period)


def check_member_limits(problems: list[str], value: object) -> tuple[OfferLimit, ...]:
    """Per-member limits, at most one per period; each problem appended with its path."""
    checked: list[OfferLimit] = []
    for index, limit in check_items(
        problems,
        "limits",
        value,
        OfferLimit,
        limit=_limits.OFFER_LIMITS_MAX,
        limit_name="OFFER_LIMITS_MAX",
    ):
        if any(other.per == limit.per for other in checked):
            problems.append(f"limits[{index}].per: {limit.per!r} has a limit already; keep one")
        else:
            checked.append(limit)
    return tuple(checked)


def _refund_expiry(problems: list[str], refund: object, window: object) -> None:
    if window is None:
        return
    if not isinstance(window, WINDOW_TYPES):
        problems.append(
            f"refund_expiry: {window!r} must be an expiry window such as RollingMonths(6), "
            f"not {type_name(window)}"
        )
    elif isinstance(window, Inactivity):
        problems.append(
            "refund_expiry: an Inactivity window belongs to a currency's expiry policy, not "
            "to refunded points"
        )
    if refund != "new_expiry":
        problems.append(
            f"refund_expiry: applies only with refund='new_expiry', not refund={refund!r}"
        )


def _tier_names(problems: list[str], value: object) -> frozenset[str] | None:
    if value is None:
        return None
    if isinstance(value, str | bytes) or not isinstance(value, Sequence | frozenset | set):
        problems.append(f"tiers: {value!r} must be a collection of tier names")
        return None
    names: set[str] = set()
    for index, name in enumerate(sorted(value) if isinstance(value, frozenset | set) else value):
        try:
            names.add(
                check_text(
                    f"tiers[{index}]",
                    name,
                    max_length=_limits.TIER_NAME_LENGTH_MAX,
                    limit_name="TIER_NAME_LENGTH_MAX",
                )
            )
        except InvalidArgumentError as error:
            problems.append(f"tiers[{index}]: {str(error).removeprefix(f'tiers[{index}]=')}")
    if not names:
        problems.append("tiers: an empty gate lets nobody in; leave tiers out to let everyone in")
    return frozenset(names)


def _discounts(
    problems: list[str], value: object, tiers: frozenset[str] | None
) -> tuple[tuple[str, Fraction], ...]:
    if not isinstance(value, Mapping):
        problems.append(f"tier_discounts: {value!r} must be a mapping of tier name to Fraction")
        return ()
    checked: list[tuple[str, Fraction]] = []
    for tier, discount in sorted(value.items(), key=lambda item: str(item[0])):
        field = f"tier_discounts[{tier!r}]"
        try:
            exact = check_fraction(field, discount, minimum=Fraction(0))
        except InvalidArgumentError as error:
            problems.append(f"{field}: {str(error).removeprefix(f'{field}=')}")
            continue
        if exact >= 1:
            problems.append(f"{field}: {exact} must be less than 1 (Fraction(1, 10) pays 90%)")
        elif tiers is not None and tier not in tiers:
            problems.append(f"{field}: {tier!r} is not one of the tiers that may redeem the offer")
        else:
            checked.append((str(tier), exact))
    return tuple(checked)


@final
@attrs.frozen(init=False)
class Offer:
    """A reward in the catalogue: how it is priced, how many there are, who may take it, when.

    >>> from datetime import UTC, datetime
    >>> from pointkit import Money
    >>> from pointkit.pricing import Bundle
    >>> watch = Offer(
    ...     "watch", "Watch", Price(points=5_000, bundles=[Bundle(2_000, Money(300, "CNY"))]),
    ...     stock=50, limits=[OfferLimit(1, "lifetime")],
    ... )
    >>> [option.id for option in watch.options()]
    ['points', 'bundle:0']
    >>> Offer("flash", "Flash sale", Price(points=100), limits=[OfferLimit(1, "day")], refund="store credit")
    Traceback (most recent call last):
    ...
    pointkit.exceptions.ConfigurationError: Offer 'flash' has 2 problems:
      - refund: 'store credit' must be one of 'no_points_back', 'original_expiry', 'new_expiry'
      - zone: a limit per day counts local days; give the program's time zone

    Args:
        id: The offer's id, used in keys and counters.
        name: Its display name.
        price: Its price options.
        currency: The point currency it is paid in.
        stock: Units available in all; ``None`` for unlimited. Raising it restocks.
        limits: Per-member limits, each on its own period, up to ``limits.OFFER_LIMITS_MAX``.
        starts_at: When it opens (a flash sale's start), inclusive; always open if omitted.
        ends_at: When it closes, exclusive.
        tiers: The tiers that may redeem it; every member if omitted.
        tier_discounts: A discount on the points side per tier, each a Fraction in ``[0, 1)``.
        refund: What refunding a fulfilled redemption gives back (see :data:`RefundPolicy`).
        refund_expiry: For ``refund="new_expiry"``: the window the points given back get; the
            ledger's expiry policy if omitted (never, without one).
        zone: The program's IANA time zone: needed for limits per day, week or month and for a
            refund expiry window.
        hold_timeout_seconds: How long a redemption may wait for fulfilment before its hold
            times out and its points and stock go back.
        coupon: The coupon definition a redemption issues (one coupon per unit), in the same
            unit of work; the catalogue needs a coupon issuer for it. None if omitted.
        segments: The segments (:class:`~pointkit.rules.Segments`) whose members may redeem
            it: a member in none of them is refused and does not see it; every member if
            empty.

    Raises:
        ConfigurationError: Listing every problem, each naming its field.
    """

    id: str
    name: str
    price: Price
    currency: str
    stock: int | None
    limits: tuple[OfferLimit, ...]
    starts_at: datetime | None
    ends_at: datetime | None
    tiers: frozenset[str] | None
    tier_discounts: tuple[tuple[str, Fraction], ...]
    refund: RefundPolicy
    refund_expiry: ExpiryWindow | None
    zone: ZoneInfo | None
    hold_timeout_seconds: int
    coupon: str | None
    segments: frozenset[str]

    def __init__(  # noqa: PLR0913 - every facet of an offer is a keyword of its own
        self,
        id: str,  # noqa: A002 - the offer's id
        name: str,
        price: Price,
        *,
        currency: str = "points",
        stock: int | None = None,
        limits: Sequence[OfferLimit] = (),
        starts_at: datetime | None = None,
        ends_at: datetime | None = None,
        tiers: Sequence[str] | frozenset[str] | None = None,
        tier_discounts: Mapping[str, Fraction | int] | None = None,
        refund: RefundPolicy = "original_expiry",
        refund_expiry: ExpiryWindow | None = None,
        zone: ZoneInfo | str | None = None,
        hold_timeout_seconds: int = 7 * _DAY_SECONDS,
        coupon: str | None = None,
        segments: Iterable[str] = frozenset(),
    ) -> None:
        problems: list[str] = []
        checked_id = field(problems, "id", lambda: check_id("id", id), "?")
        checked_name = field(problems, "name", lambda: check_name("name", name), "?")
        given_price: object = price  # checked at run time whatever the annotation says
        if not isinstance(given_price, Price):
            problems.append(f"price: {given_price!r} must be a Price, not {type_name(given_price)}")
        checked_currency = field(
            problems, "currency", lambda: check_point_code("currency", currency), "points"
        )
        checked_stock = (
            None
            if stock is None
            else field(
                problems,
                "stock",
                lambda: check_int(
                    "stock", stock, minimum=0, maximum=_limits.STOCK_MAX, limit_name="STOCK_MAX"
                ),
                None,
            )
        )
        checked_limits = check_member_limits(problems, limits)
        start, end = check_window(problems, starts_at, ends_at)
        checked_tiers = _tier_names(problems, tiers)
        discounts = _discounts(
            problems, {} if tier_discounts is None else tier_discounts, checked_tiers
        )
        if refund not in REFUND_POLICIES:
            valid = ", ".join(repr(policy) for policy in REFUND_POLICIES)
            problems.append(f"refund: {refund!r} must be one of {valid}")
        _refund_expiry(problems, refund, refund_expiry)
        checked_zone = (
            None
            if zone is None
            else field(problems, "zone", lambda: check_zone("zone", zone), None)
        )
        periodic = sorted({limit.per for limit in checked_limits if limit.per != "lifetime"})
        if zone is None and periodic:
            problems.append(
                f"zone: a limit per {periodic[0]} counts local {periodic[0]}s; give the program's "
                "time zone"
            )
        if zone is None and refund_expiry is not None:
            problems.append("zone: a refund expiry window is counted in local time; give the zone")
        timeout = field(
            problems,
            "hold_timeout_seconds",
            lambda: check_int(
                "hold_timeout_seconds",
                hold_timeout_seconds,
                minimum=1,
                maximum=_limits.HOLD_TIMEOUT_SECONDS_MAX,
                limit_name="HOLD_TIMEOUT_SECONDS_MAX",
            ),
            1,
        )
        checked_coupon = (
            None
            if coupon is None
            else field(problems, "coupon", lambda: check_id("coupon", coupon), None)
        )
        checked_segments = check_segment_names(problems, segments)
        if problems:
            raise ConfigurationError(f"Offer {id!r}", problems)
        self.__attrs_init__(
            checked_id,
            checked_name,
            price,
            checked_currency,
            checked_stock,
            checked_limits,
            start,
            end,
            checked_tiers,
            discounts,
            refund,
            refund_expiry,
            checked_zone,
            timeout,
            checked_coupon,
            checked_segments,
        )

    # -- pricing ----------------------------------------------------------------------------

    def discount(self, tier: str | None) -> Fraction:
        """The discount on the points side for a member of *tier* (0 without one)."""
        for name, discount in self.tier_discounts:
            if name == tier:
                return discount
        return Fraction(0)

    def options(
        self, *, tier: str | None = None, reference: Valuation | None = None
    ) -> tuple[PriceOption, ...]:
        """The price options a member of *tier* sees, with implied values against *reference*."""
        return self.price.options(reference=reference, discount=self.discount(tier))

    def option(
        self,
        option_id: str,
        *,
        tier: str | None = None,
        reference: Valuation | None = None,
        points: int | None = None,
    ) -> PriceOption:
        """The option called *option_id* for a member of *tier* (*points* for a split).

        Raises:
            InvalidArgumentError: If there is no such option, or *points* does not fit.
        """
        return self.price.option(
            option_id, reference=reference, discount=self.discount(tier), points=points
        )

    # -- availability -----------------------------------------------------------------------

    @property
    def stock_key(self) -> str:
        """The budget that counts the units redeemed (the stock used)."""
        return f"pointkit:stock:offer:{self.id}"

    def counter_keys(self, now: datetime) -> tuple[tuple[str, str], ...]:
        """The member counters of this offer's limits at *now*, one per limit, in order.

        Raises:
            InvalidArgumentError: If *now*'s local time falls outside the years 1 to 9999.
        """
        return limit_counter_keys(f"pointkit:offer:{self.id}", self.limits, self.zone, now)

    def open_to(self, segments: Iterable[str] | None) -> bool:
        """Whether a member in *segments* (their segments' names) passes the segment gate.

        ``None`` means the member's segments are unknown: only an offer without a gate is open.
        """
        if not self.segments:
            return True
        return segments is not None and not self.segments.isdisjoint(segments)

    def check(
        self,
        *,
        now: datetime,
        tier: str | None,
        quantity: int,
        sold: int,
        used: Sequence[int],
        segments: Iterable[str] | None = None,
    ) -> None:
        """Refuse a redemption of *quantity* units that the offer's rules forbid at *now*.

        Args:
            now: The instant of the redemption.
            tier: The member's tier.
            quantity: The units wanted.
            sold: Units redeemed so far (the stock used).
            used: The member's units so far in each limit's current period, in the order of
                :meth:`counter_keys`.
            segments: The names of the segments the member is in, for the segment gate;
                ``None`` if unknown (only an offer without a gate passes).

        Raises:
            OfferUnavailableError: With reason ``not_started``, ``ended``, ``tier``,
                ``segment``, ``sold_out`` or ``member_limit``, checked in that order.
        """
        at = check_aware("now", now)
        if self.starts_at is not None and at < self.starts_at:
            self._refuse("not_started", f"opens at {self.starts_at.isoformat()}")
        if self.ends_at is not None and at >= self.ends_at:
            self._refuse("ended", f"closed at {self.ends_at.isoformat()}")
        if self.tiers is not None and tier not in self.tiers:
            allowed = ", ".join(repr(name) for name in sorted(self.tiers))
            self._refuse("tier", f"is for tiers {allowed}, not tier={tier!r}")
        if not self.open_to(segments):
            allowed = ", ".join(repr(name) for name in sorted(self.segments))
            self._refuse("segment", f"is for members of segments {allowed}; this member is in none")
        if self.stock is not None and sold + quantity > self.stock:
            left = max(self.stock - sold, 0)
            self._refuse("sold_out", f"has {left} of {self.stock} left, {quantity} wanted")
        for limit, count in zip(self.limits, used, strict=True):
            if count + quantity > limit.count:
                period = "in all" if limit.per == "lifetime" else f"per {limit.per}"
                self._refuse(
                    "member_limit",
                    f"allows {limit.count} {period} per member; this member has {count}, "
                    f"{quantity} wanted",
                )

    def _refuse(self, reason: str, detail: str) -> None:
        raise OfferUnavailableError(self.id, reason, f"offer {self.id!r} {detail}")


def limit_counter_keys(
    scope: str, limits: Sequence[OfferLimit], zone: ZoneInfo | None, now: datetime
) -> tuple[tuple[str, str], ...]:
    """The member counters of *limits* at *now* under *scope*, one per limit, in order.

    The local day in *zone* (UTC without one) picks each limit's period. Offers and coupon
    definitions count their per-member limits this way.

    Raises:
        InvalidArgumentError: If *now*'s local time falls outside the years 1 to 9999.
    """
    at = check_aware("now", now)
    day = checked_wall("now", at, zone).date() if zone is not None else at.date()
    return tuple((scope, period_key(limit.per, day)) for limit in limits)

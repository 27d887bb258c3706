"""Coupons and vouchers, decided purely: definitions, orders, discounts, issued coupons, uses.

Maintainer's notes
------------------
A :class:`CouponDefinition` is one kind of coupon a programme hands out: its reward (money off,
a percentage off with a cap, free shipping, or a gift), its conditions (a minimum spend, product
categories, a validity window), how many times one coupon may be used, how many may be issued
(stock) and how many one member may hold per period (the offers' :class:`OfferLimit`, counted
the same way). An :class:`IssuedCoupon` is one code given to one member, with its own window
fixed at issue. Everything here is a pure decision on explicit inputs; the coupons feature
(``pointkit.features.Coupons``) locks and counts in storage and asks these functions.

What a coupon takes off an order is exact (:meth:`CouponDefinition.discount`): the eligible
lines' subtotal (the lines in the coupon's categories, or all of them), the minimum spend
compared with that subtotal, a percentage quantised onto the currency's grid with an explicit
rounding mode that the caller names (the feature uses ``"floor"``, which favours the issuer:
never a fraction of a cent more off than the percentage says), a cap, and never more than the
order's total. Free shipping takes the order's shipping off; a gift takes no money off and names
the item.

A coupon's window is fixed when it is issued: from the definition's ``starts_at`` (or the issue)
to the earlier of its ``ends_at`` and ``valid_days`` days of 24 hours after the issue, half-open.
Issuing is refused once the definition has ended, and allowed before it starts (the coupon then
waits for its start).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Final, TypeAlias, final

import attrs

from pointkit import limits as _limits
from pointkit._validate import check_aware, check_int, check_text, check_zone, type_name
from pointkit._values import MemberId, Money, MoneyCurrency
from pointkit.campaigns._codes import DEFAULT_PATTERN, SPACE_PER_COUPON_MIN, CodeFormat
from pointkit.exceptions import (
    ArgumentTypeError,
    ConfigurationError,
    CouponRefusedError,
    InvalidArgumentError,
    InvariantViolation,
)
from pointkit.pricing._config import check_id, check_name, check_window, field
from pointkit.pricing._offers import check_member_limits, limit_counter_keys
from pointkit.rules import Line


if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from pointkit._values import Rounding
    from pointkit.pricing import OfferLimit


__all__ = [
    "AmountOff",
    "CouponDefinition",
    "CouponReward",
    "CouponUse",
    "Discount",
    "FreeShipping",
    "Gift",
    "IssuedCoupon",
    "Order",
    "PercentOff",
]

_HUNDRED: Final = Fraction(100)


def _positive_money(name: str, value: object) -> Money:
    if not isinstance(value, Money):
        raise ArgumentTypeError(f"{name}={value!r} must be Money, not {type_name(value)}")
    if value.amount <= 0:
        raise InvalidArgumentError(f"{name}={value} must be more than zero")
    return value


def _amount(value: Money) -> Money:
    return _positive_money("amount", value)


def _percent(value: Fraction | int) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, Fraction | int):
        raise ArgumentTypeError(
            f"percent={value!r} must be a Fraction or an int, not {type_name(value)}"
        )
    exact = Fraction(value)
    if not 0 < exact <= _HUNDRED:
        raise InvalidArgumentError(f"percent={exact} must be in (0, 100]: Fraction(15) is 15% off")
    return exact


def _cap(value: Money | None) -> Money | None:
    return None if value is None else _positive_money("cap", value)


def _item(value: str) -> str:
    return check_id("item", value)


@final
@attrs.frozen
class AmountOff:
    """A fixed amount off the eligible lines: ``AmountOff(Money(10, "CNY"))``.

    Attributes:
        amount: The money off, more than zero; never more than the eligible subtotal.
    """

    amount: Money = attrs.field(converter=_amount)


@final
@attrs.frozen
class PercentOff:
    """A percentage off the eligible lines, at most *cap*: ``PercentOff(Fraction(15))`` is 15%.

    Attributes:
        percent: The exact percentage, in ``(0, 100]``.
        cap: The most it takes off; no cap if omitted.
    """

    percent: Fraction = attrs.field(converter=_percent)
    cap: Money | None = attrs.field(default=None, converter=_cap)


@final
@attrs.frozen
class FreeShipping:
    """The order's shipping is free: its whole shipping charge comes off."""


@final
@attrs.frozen
class Gift:
    """A gift handed over with the order: no money off.

    Attributes:
        item: The gift's id in the host's catalogue.
    """

    item: str = attrs.field(converter=_item)


CouponReward: TypeAlias = AmountOff | PercentOff | FreeShipping | Gift
"""What a coupon gives."""

_REWARDS: Final = (AmountOff, PercentOff, FreeShipping, Gift)


def _lines(lines: Sequence[Line]) -> tuple[Line, ...]:
    value: object = lines  # checked at run time whatever the annotation says
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise ArgumentTypeError(f"lines={value!r} must be a sequence of Line")
    if len(value) > _limits.EVENT_LINES_MAX:
        raise InvalidArgumentError(
            f"lines has {len(value)} lines, over limits.EVENT_LINES_MAX ({_limits.EVENT_LINES_MAX})"
        )
    for index, line in enumerate(value):
        if not isinstance(line, Line):
            raise ArgumentTypeError(
                f"lines[{index}]={line!r} must be a Line, not {type_name(line)}"
            )
    if not value:
        raise InvalidArgumentError("lines=() must hold at least one line")
    return tuple(value)


def _shipping(value: Money | None) -> Money | None:
    if value is None:
        return None
    if not isinstance(value, Money):
        raise ArgumentTypeError(f"shipping={value!r} must be Money, not {type_name(value)}")
    if value.amount < 0:
        raise InvalidArgumentError(f"shipping={value} must not be negative")
    return value


@final
@attrs.frozen
class Order:
    """An order a coupon is used on: its lines (the rules' :class:`~pointkit.rules.Line`) and shipping.

    >>> from pointkit.rules import Line
    >>> order = Order([Line("sku-1", "books", Money("59.00", "CNY"), quantity=2)], shipping=Money(8, "CNY"))
    >>> str(order.total)
    '67.00 CNY'

    Attributes:
        lines: One to ``limits.EVENT_LINES_MAX`` lines, all in one money currency.
        shipping: The shipping charge; none if omitted.
    """

    lines: tuple[Line, ...] = attrs.field(converter=_lines)
    shipping: Money | None = attrs.field(default=None, converter=_shipping)

    def __attrs_post_init__(self) -> None:
        currency = self.currency
        odd = [line for line in self.lines if line.amount.currency != currency]
        if odd or (self.shipping is not None and self.shipping.currency != currency):
            raise InvalidArgumentError(
                f"order lines and shipping must all be in {currency.code}; convert first"
            )

    @property
    def currency(self) -> MoneyCurrency:
        """The order's money currency."""
        return self.lines[0].amount.currency

    @property
    def subtotal(self) -> Money:
        """The lines' total, without shipping."""
        return sum((line.amount for line in self.lines[1:]), self.lines[0].amount)

    @property
    def total(self) -> Money:
        """What the order costs: the lines and the shipping."""
        return self.subtotal if self.shipping is None else self.subtotal + self.shipping

    def canonical(self) -> list[list[str | int]]:
        """The order as plain JSON lists, equal for equal orders: an idempotency payload field."""
        rows: list[list[str | int]] = [
            [line.product, line.category, str(line.amount), line.quantity] for line in self.lines
        ]
        rows.append(["shipping", "", "" if self.shipping is None else str(self.shipping), 0])
        return rows


@final
@attrs.frozen
class Discount:
    """What a coupon takes off an order.

    Attributes:
        coupon: The coupon definition's id.
        amount: The money off (the shipping, for free shipping); zero for a gift; never more
            than the order's total.
        eligible: The subtotal of the lines the coupon applies to.
        gift: The gift's item id, for a gift coupon.
    """

    coupon: str
    amount: Money
    eligible: Money
    gift: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        """The discount as JSON values."""
        return {
            "coupon": self.coupon,
            "amount": str(self.amount),
            "eligible": str(self.eligible),
            "gift": self.gift,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Discount:
        """The discount :meth:`to_dict` wrote."""
        return cls(
            str(data["coupon"]), _money(data["amount"]), _money(data["eligible"]), data["gift"]
        )


def _money(text: object) -> Money:
    amount, code = str(text).split(" ")
    return Money(amount, code)


def _categories(problems: list[str], value: object) -> frozenset[str] | None:
    if value is None:
        return None
    if isinstance(value, str | bytes) or not isinstance(value, Sequence | frozenset | set):
        problems.append(f"categories: {value!r} must be a collection of category names")
        return None
    items = sorted(value) if isinstance(value, frozenset | set) else list(value)
    if len(items) > _limits.COUPON_CATEGORIES_MAX:
        problems.append(
            f"categories: {len(items)} names, over limits.COUPON_CATEGORIES_MAX "
            f"({_limits.COUPON_CATEGORIES_MAX})"
        )
        return None
    names: set[str] = set()
    before = len(problems)
    for index, name in enumerate(items):
        try:
            names.add(
                check_text(
                    f"categories[{index}]",
                    name,
                    max_length=_limits.RULE_NAME_LENGTH_MAX,
                    limit_name="RULE_NAME_LENGTH_MAX",
                )
            )
        except InvalidArgumentError as error:
            problems.append(f"categories[{index}]: {str(error).split('=', 1)[-1]}")
    if not names and len(problems) == before:
        problems.append("categories: an empty list fits no line; leave categories out for all")
    return frozenset(names)


def _money_currency(
    problems: list[str], reward: object, minimum: Money | None
) -> MoneyCurrency | None:
    """The one money currency a definition's amounts share, or ``None`` if it has none."""
    amounts = [minimum]
    if isinstance(reward, AmountOff):
        amounts.append(reward.amount)
    elif isinstance(reward, PercentOff):
        amounts.append(reward.cap)
    found = {money.currency for money in amounts if money is not None}
    if len(found) > 1:
        codes = ", ".join(sorted(currency.code for currency in found))
        problems.append(f"currency: the amounts are in {codes}; give them in one currency")
        return None
    return next(iter(found), None)


@final
@attrs.frozen(init=False)
class CouponDefinition:
    """One kind of coupon: what it gives, on which orders, when, how often, and how many.

    >>> from fractions import Fraction
    >>> from pointkit import Money
    >>> welcome = CouponDefinition(
    ...     "welcome-15", "15% off your first order", PercentOff(Fraction(15), cap=Money(50, "CNY")),
    ...     minimum_spend=Money(100, "CNY"), valid_days=30,
    ... )
    >>> welcome.codes.pattern, welcome.uses
    ('PK-####-####', 1)
    >>> CouponDefinition("tiny", "Tiny", Gift("mug"), stock=1_000, pattern="T-###")
    Traceback (most recent call last):
    ...
    pointkit.exceptions.ConfigurationError: CouponDefinition 'tiny' has 1 problem:
      - pattern: 'T-###' spans 15625 codes, under 1000 per coupon of a stock of 1000 (1000000 needed); add '#'s

    Args:
        id: The definition's id, used in records and counters (no ``:``).
        name: Its display name.
        reward: What it gives: :class:`AmountOff`, :class:`PercentOff`, :class:`FreeShipping`
            or :class:`Gift`.
        minimum_spend: The least the eligible lines must come to; none if omitted.
        categories: The product categories it applies to (a line applies when its category is
            one of them); every line if omitted.
        starts_at: When its coupons become usable, inclusive; from their issue if omitted.
        ends_at: When they stop being usable, exclusive; issuing stops then too.
        valid_days: Each coupon is usable for this many days of 24 hours after its issue
            (and not past *ends_at*); up to ``limits.COUPON_VALID_DAYS_MAX``.
        uses: How many times one coupon may be used: 1 for a single-use coupon.
        stock: How many coupons may be issued in all; ``None`` for no stock (sized for
            ``limits.COUPON_STOCK_MAX`` by the space rule). Raising it restocks.
        limits: Per-member limits on issues, each on its own period (the offers'
            :class:`~pointkit.pricing.OfferLimit`).
        zone: The programme's IANA time zone: needed for limits per day, week or month.
        pattern: The codes' pattern (:class:`~pointkit.campaigns.CodeFormat`); it must span at
            least 1,000 codes per coupon of the stock.
        alphabet: The symbols a ``#`` of the pattern takes; the default leaves out look-alikes.

    Raises:
        ConfigurationError: Listing every problem, each naming its field.
    """

    id: str
    name: str
    reward: CouponReward
    minimum_spend: Money | None
    categories: frozenset[str] | None
    starts_at: datetime | None
    ends_at: datetime | None
    valid_days: int | None
    uses: int
    stock: int | None
    limits: tuple[OfferLimit, ...]
    zone: ZoneInfo | None
    codes: CodeFormat
    currency: MoneyCurrency | None

    def __init__(  # noqa: PLR0913 - every facet of a coupon is a keyword of its own
        self,
        id: str,  # noqa: A002 - the definition's id
        name: str,
        reward: CouponReward,
        *,
        minimum_spend: Money | None = None,
        categories: Sequence[str] | frozenset[str] | None = None,
        starts_at: datetime | None = None,
        ends_at: datetime | None = None,
        valid_days: int | None = None,
        uses: int = 1,
        stock: int | None = None,
        limits: Sequence[OfferLimit] = (),
        zone: ZoneInfo | str | None = None,
        pattern: str = DEFAULT_PATTERN,
        alphabet: str | None = None,
    ) -> None:
        problems: list[str] = []
        checked_id = field(problems, "id", lambda: check_id("id", id), "?")
        checked_name = field(problems, "name", lambda: check_name("name", name), "?")
        given: object = reward  # checked at run time whatever the annotation says
        if not isinstance(given, _REWARDS):
            problems.append(
                f"reward: {given!r} must be an AmountOff, PercentOff, FreeShipping or Gift, "
                f"not {type_name(given)}"
            )
        minimum = (
            None
            if minimum_spend is None
            else field(
                problems,
                "minimum_spend",
                lambda: _positive_money("minimum_spend", minimum_spend),
                None,
            )
        )
        currency = _money_currency(problems, given, minimum)
        checked_categories = _categories(problems, categories)
        start, end = check_window(problems, starts_at, ends_at)
        days = (
            None
            if valid_days is None
            else field(
                problems,
                "valid_days",
                lambda: check_int(
                    "valid_days",
                    valid_days,
                    minimum=1,
                    maximum=_limits.COUPON_VALID_DAYS_MAX,
                    limit_name="COUPON_VALID_DAYS_MAX",
                ),
                None,
            )
        )
        checked_uses = field(
            problems,
            "uses",
            lambda: check_int(
                "uses",
                uses,
                minimum=1,
                maximum=_limits.COUPON_USES_MAX,
                limit_name="COUPON_USES_MAX",
            ),
            1,
        )
        checked_stock = (
            None
            if stock is None
            else field(
                problems,
                "stock",
                lambda: check_int(
                    "stock",
                    stock,
                    minimum=0,
                    maximum=_limits.COUPON_STOCK_MAX,
                    limit_name="COUPON_STOCK_MAX",
                ),
                None,
            )
        )
        checked_limits = check_member_limits(problems, limits)
        checked_zone = (
            None
            if zone is None
            else field(problems, "zone", lambda: check_zone("zone", zone), None)
        )
        periodic = sorted({limit.per for limit in checked_limits if limit.per != "lifetime"})
        if zone is None and periodic:
            problems.append(
                f"zone: a limit per {periodic[0]} counts local {periodic[0]}s; give the "
                "programme's time zone"
            )
        codes = _code_format(problems, pattern, alphabet, checked_stock)
        if problems:
            raise ConfigurationError(f"CouponDefinition {id!r}", problems)
        self.__attrs_init__(
            checked_id,
            checked_name,
            reward,
            minimum,
            checked_categories,
            start,
            end,
            days,
            checked_uses,
            checked_stock,
            checked_limits,
            checked_zone,
            codes,
            currency,
        )

    # -- issuing ----------------------------------------------------------------------------

    @property
    def stock_key(self) -> str:
        """The programme budget that counts the coupons issued (the stock used)."""
        return f"pointkit:stock:coupon:{self.id}"

    def counter_keys(self, now: datetime) -> tuple[tuple[str, str], ...]:
        """The member counters of this definition's limits at *now*, one per limit, in order.

        Raises:
            InvalidArgumentError: If *now*'s local time falls outside the years 1 to 9999.
        """
        return limit_counter_keys(f"pointkit:coupon:{self.id}", self.limits, self.zone, now)

    def check_issue(self, *, now: datetime, issued: int, held: Sequence[int]) -> None:
        """Refuse an issue that the definition forbids at *now*.

        Args:
            now: The instant of the issue.
            issued: Coupons issued so far (the stock used).
            held: The member's issues so far in each limit's current period, in the order of
                :meth:`counter_keys`.

        Raises:
            CouponRefusedError: With reason ``ended``, ``sold_out`` or ``member_limit``,
                checked in that order.
        """
        at = check_aware("now", now)
        if self.ends_at is not None and at >= self.ends_at:
            self._refuse("ended", f"ended at {self.ends_at.isoformat()}")
        if self.stock is not None and issued >= self.stock:
            self._refuse("sold_out", f"has all {self.stock} coupons issued")
        for limit, count in zip(self.limits, held, strict=True):
            if count >= limit.count:
                period = "in all" if limit.per == "lifetime" else f"per {limit.per}"
                self._refuse(
                    "member_limit",
                    f"allows {limit.count} {period} per member; this member has {count}",
                )

    def window(self, issued_at: datetime) -> tuple[datetime | None, datetime | None]:
        """The half-open window in which a coupon issued at *issued_at* may be used."""
        end = self.ends_at
        if self.valid_days is not None:
            after = issued_at + timedelta(days=self.valid_days)
            end = after if end is None else min(end, after)
        return (self.starts_at, end)

    def _refuse(self, reason: str, detail: str) -> None:
        raise CouponRefusedError(self.id, reason, f"coupon {self.id!r} {detail}")

    # -- discounts --------------------------------------------------------------------------

    def discount(self, order: Order, *, rounding: Rounding) -> Discount:
        """What one coupon of this definition takes off *order*.

        Args:
            order: The order.
            rounding: How a percentage is quantised onto the currency's grid, stated by every
                caller: ``"floor"`` favours the issuer (the coupons feature uses it).

        Returns:
            The discount: exact, on the currency's grid, never more than the order's total.

        Raises:
            ArgumentTypeError: If *order* is not an :class:`Order`.
            CouponRefusedError: ``currency`` if the order is in another currency than the
                coupon's amounts; ``category`` if no line is in the coupon's categories;
                ``minimum_spend`` if the eligible lines come to less than the minimum spend.
        """
        if not isinstance(order, Order):
            raise ArgumentTypeError(f"order={order!r} must be an Order, not {type_name(order)}")
        if self.currency is not None and order.currency != self.currency:
            self._refuse(
                "currency", f"is in {self.currency.code}; the order is in {order.currency.code}"
            )
        eligible = [
            line
            for line in order.lines
            if self.categories is None or line.category in self.categories
        ]
        if not eligible:
            wanted = ", ".join(repr(name) for name in sorted(self.categories or ()))
            self._refuse("category", f"applies to categories {wanted}; no line of the order is")
        base = Money(0, order.currency)
        for line in eligible:
            base += line.amount
        if self.minimum_spend is not None and base < self.minimum_spend:
            self._refuse(
                "minimum_spend", f"needs a spend of {self.minimum_spend}; the order has {base}"
            )
        off, gift = _off(self.reward, base, order, rounding)
        off = min(off, order.total)
        if off.amount < 0:  # pragma: no cover - every branch above is non-negative
            raise InvariantViolation(f"coupon {self.id!r} computed a negative discount {off}")
        return Discount(self.id, off, base, gift)


def _off(
    reward: CouponReward, base: Money, order: Order, rounding: Rounding
) -> tuple[Money, str | None]:
    """The money *reward* takes off *order* whose eligible subtotal is *base*, and any gift."""
    zero = Money(0, order.currency)
    if isinstance(reward, AmountOff):
        return (min(reward.amount, base), None)
    if isinstance(reward, PercentOff):
        off = base.multiply(reward.percent / _HUNDRED, rounding=rounding)
        return (off if reward.cap is None else min(off, reward.cap), None)
    if isinstance(reward, FreeShipping):
        return (zero if order.shipping is None else order.shipping, None)
    return (zero, reward.item)


def _code_format(
    problems: list[str], pattern: object, alphabet: object, stock: int | None
) -> CodeFormat:
    codes = field(
        problems,
        "pattern",
        lambda: CodeFormat(pattern) if alphabet is None else CodeFormat(pattern, alphabet),
        None,
    )
    if codes is None:
        return CodeFormat(DEFAULT_PATTERN)
    sized = _limits.COUPON_STOCK_MAX if stock is None else stock
    needed = sized * SPACE_PER_COUPON_MIN
    if codes.space < needed:
        what = "no stock (sized for limits.COUPON_STOCK_MAX)" if stock is None else "a stock of"
        amount = "" if stock is None else f" {stock}"
        problems.append(
            f"pattern: {codes.pattern!r} spans {codes.space} codes, under "
            f"{SPACE_PER_COUPON_MIN} per coupon of {what}{amount} ({needed} needed); add '#'s"
        )
    return codes


# -- issued coupons and their uses --------------------------------------------------------------


@final
@attrs.frozen
class IssuedCoupon:
    """One coupon given to one member: its code, owner, window and uses.

    Attributes:
        code: The code the member types.
        coupon: The definition's id.
        member: The owner: only they may use it.
        issued_at: When it was issued.
        starts_at: When it becomes usable (inclusive); at once if ``None``.
        ends_at: When it stops being usable (exclusive); never if ``None``.
        uses: How many times it may be used in all.
        used: How many uses are spent now (uses given back do not count).
        source: What issued it: ``"key:<host key>"`` or the issuer's source
            (``"redemption:<hold>:0"``, ``"draw:<draw id>"``, ``"mission:..."``).
        replayed: Whether this is a replay of an issue made before.
    """

    code: str
    coupon: str
    member: MemberId
    issued_at: datetime
    starts_at: datetime | None
    ends_at: datetime | None
    uses: int
    used: int
    source: str
    replayed: bool = False

    @property
    def uses_left(self) -> int:
        """Uses still open."""
        return self.uses - self.used

    def usable(self, now: datetime) -> bool:
        """Whether it is in its window at *now* with a use left (for any order)."""
        return (
            self.uses_left > 0
            and (self.starts_at is None or now >= self.starts_at)
            and (self.ends_at is None or now < self.ends_at)
        )

    def check_use(self, *, now: datetime, member: MemberId) -> None:
        """Refuse a use by *member* at *now* that the coupon itself forbids.

        Raises:
            CouponRefusedError: With reason ``not_owner``, ``not_started``, ``expired`` or
                ``used_up``, checked in that order.
        """
        at = check_aware("now", now)
        if member != self.member:
            self._refuse("not_owner", "belongs to another member")
        if self.starts_at is not None and at < self.starts_at:
            self._refuse("not_started", f"is usable from {self.starts_at.isoformat()}")
        if self.ends_at is not None and at >= self.ends_at:
            self._refuse("expired", f"expired at {self.ends_at.isoformat()}")
        if self.used >= self.uses:
            self._refuse("used_up", f"has all {self.uses} uses spent")

    def _refuse(self, reason: str, detail: str) -> None:
        raise CouponRefusedError(self.code, reason, f"coupon code {self.code!r} {detail}")

    def to_json(self) -> str:
        """The coupon as stored (without its uses spent, which its budget counts)."""
        return json.dumps(
            {
                "code": self.code,
                "coupon": self.coupon,
                "member": str(self.member),
                "issued_at": self.issued_at.isoformat(),
                "starts_at": None if self.starts_at is None else self.starts_at.isoformat(),
                "ends_at": None if self.ends_at is None else self.ends_at.isoformat(),
                "uses": self.uses,
                "source": self.source,
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str, *, used: int) -> IssuedCoupon:
        """The coupon :meth:`to_json` stored, with *used* uses spent."""
        data = json.loads(text)
        return cls(
            code=data["code"],
            coupon=data["coupon"],
            member=MemberId(data["member"]),
            issued_at=datetime.fromisoformat(data["issued_at"]),
            starts_at=_instant(data["starts_at"]),
            ends_at=_instant(data["ends_at"]),
            uses=int(data["uses"]),
            used=used,
            source=data["source"],
        )


def _instant(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


@final
@attrs.frozen
class CouponUse:
    """One use of a coupon on an order.

    Attributes:
        key: The use's idempotency key (the host's order id, say).
        code: The coupon's code.
        member: Who used it.
        at: When.
        order_total: The order's total before the discount.
        discount: What the coupon took off.
        given_back: Whether the use was given back (a refund): the coupon may be used again.
        replayed: Whether this is a replay of a command made before.
    """

    key: str
    code: str
    member: MemberId
    at: datetime
    order_total: Money
    discount: Discount
    given_back: bool = False
    replayed: bool = False

    def to_dict(self) -> dict[str, object]:
        """The use as JSON values (without ``given_back``, which its own record says)."""
        return {
            "key": self.key,
            "code": self.code,
            "member": str(self.member),
            "at": self.at.isoformat(),
            "order_total": str(self.order_total),
            "discount": self.discount.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, given_back: bool) -> CouponUse:
        """The use :meth:`to_dict` wrote."""
        return cls(
            key=data["key"],
            code=data["code"],
            member=MemberId(data["member"]),
            at=datetime.fromisoformat(data["at"]),
            order_total=_money(data["order_total"]),
            discount=Discount.from_dict(data["discount"]),
            given_back=given_back,
        )

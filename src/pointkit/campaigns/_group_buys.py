"""Group buys (拼团): a deal that several members fill together, at a group price in points.

Maintainer's notes
------------------
A :class:`GroupBuyDeal` is the definition: what is bought (a catalogue offer's id or an item of
its own), how many members fill a group, what each pays (points, and optionally cash the host
collects), how long a group has to fill, and how much stock there is — counted in groups or in
units (one unit a member). Stock is taken when a group *opens*, for the whole group, so a group
that fills never finds the stock gone; a group that fails gives it back.

The feature (:class:`pointkit.features.GroupBuys`) holds each member's points in a ledger hold
and captures every hold in one unit of work when the last member joins. A hold's timeout is the
group's deadline plus :attr:`GroupBuyDeal.hold_grace_seconds`: a group fills only before its
deadline, so a filled group's holds are all open when they are captured; an unfilled group's
holds are released together by the group's own timeout, and the ledger's own timeout of any of
them (if nobody ran the group's) only ever releases — never leaving a group half captured.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final, Literal, TypeAlias, final

import attrs

from pointkit import limits
from pointkit._validate import check_deadline, check_int
from pointkit._values import Money, check_point_code
from pointkit.exceptions import ConfigurationError, GroupBuyRefusedError
from pointkit.pricing._config import check_id, check_name, check_window, field


if TYPE_CHECKING:
    from collections.abc import Sequence


__all__ = ["GroupBuyDeal", "GroupStatus", "StockUnit", "check_deals"]

StockUnit: TypeAlias = Literal["groups", "units"]
"""What a group-buy deal's stock counts: whole groups, or units (one per member)."""

GroupStatus: TypeAlias = Literal["open", "completed", "cancelled", "expired", "failed"]
"""Where a group stands: filling, filled (every hold captured), cancelled by its opener, timed
out unfilled, or failed (a member's hold was released from outside the group)."""

_STOCK_UNITS: Final[tuple[StockUnit, ...]] = ("groups", "units")
_DAY_SECONDS: Final = 24 * 3600
_SIZE_MIN: Final = 2


@final
@attrs.frozen(init=False)
class GroupBuyDeal:
    """A group-buy deal: N members each pay the group price once the group fills in time.

    >>> from pointkit import Money
    >>> deal = GroupBuyDeal("tea-3", "Tea for three", item="tea-gift-box", size=3, points=800,
    ...                     cash=Money("9.90", "CNY"), fill_seconds=86_400, stock=10, stock_unit="groups")
    >>> deal.stock_taken_per_group
    1
    >>> GroupBuyDeal("solo", "Solo", item="x", size=1, points=10, fill_seconds=60)
    Traceback (most recent call last):
    ...
    pointkit.exceptions.ConfigurationError: GroupBuyDeal 'solo' has 1 problem:
      - size: 1 must be from 2 to limits.GROUP_BUY_SIZE_MAX (100)

    Args:
        id: The deal's id (no ``:``), used in keys and stock rows.
        name: Its display name.
        item: What is bought: a catalogue offer's id or an item of the deal's own.
        size: How many members fill a group: 2 to ``limits.GROUP_BUY_SIZE_MAX``.
        points: What each member pays, in points (at least 1).
        cash: What each member also pays in cash, collected by the host; ``None`` for none.
        currency: The point currency paid in.
        fill_seconds: How long a group has to fill after it opens.
        stock: Stock in all (in *stock_unit*); ``None`` for unlimited.
        stock_unit: ``"groups"`` (one a group) or ``"units"`` (*size* a group).
        hold_grace_seconds: How long after a group's deadline its members' holds time out in
            the ledger; the group's own timeout releases them first.
        starts_at: When groups may start to open, inclusive.
        ends_at: When groups stop opening, exclusive (open groups may still fill).

    Raises:
        ConfigurationError: Listing every problem, each naming its field.
    """

    id: str
    name: str
    item: str
    size: int
    points: int
    cash: Money | None
    currency: str
    fill_seconds: int
    stock: int | None
    stock_unit: StockUnit
    hold_grace_seconds: int
    starts_at: datetime | None
    ends_at: datetime | None

    def __init__(  # noqa: PLR0913 - every facet of a deal is a keyword of its own
        self,
        id: str,  # noqa: A002 - the deal's id
        name: str,
        *,
        item: str,
        size: int,
        points: int,
        fill_seconds: int,
        cash: Money | None = None,
        currency: str = "points",
        stock: int | None = None,
        stock_unit: StockUnit = "groups",
        hold_grace_seconds: int = _DAY_SECONDS,
        starts_at: datetime | None = None,
        ends_at: datetime | None = None,
    ) -> None:
        problems: list[str] = []
        checked_id = field(problems, "id", lambda: check_id("id", id), "?")
        checked_name = field(problems, "name", lambda: check_name("name", name), "?")
        checked_item = field(problems, "item", lambda: check_id("item", item), "?")
        if isinstance(size, bool) or not isinstance(size, int):
            problems.append(f"size: {size!r} must be an int")
            size = 2
        elif not _SIZE_MIN <= size <= limits.GROUP_BUY_SIZE_MAX:
            problems.append(
                f"size: {size} must be from 2 to limits.GROUP_BUY_SIZE_MAX ({limits.GROUP_BUY_SIZE_MAX})"
            )
        checked_points = field(
            problems,
            "points",
            lambda: check_int(
                "points", points, minimum=1, maximum=limits.POINTS_MAX, limit_name="POINTS_MAX"
            ),
            1,
        )
        if checked_points * max(size, 1) > limits.POINTS_MAX:
            problems.append(
                f"points: {checked_points} for each of {size} members is over limits.POINTS_MAX"
            )
        given_cash: object = cash  # checked at run time whatever the annotation says
        if given_cash is not None and not isinstance(given_cash, Money):
            problems.append(f"cash: {given_cash!r} must be Money or None")
        checked_currency = field(
            problems, "currency", lambda: check_point_code("currency", currency), "points"
        )
        fill = field(
            problems,
            "fill_seconds",
            lambda: check_int(
                "fill_seconds",
                fill_seconds,
                minimum=1,
                maximum=limits.HOLD_TIMEOUT_SECONDS_MAX,
                limit_name="HOLD_TIMEOUT_SECONDS_MAX",
            ),
            1,
        )
        grace = field(
            problems,
            "hold_grace_seconds",
            lambda: check_int(
                "hold_grace_seconds",
                hold_grace_seconds,
                minimum=1,
                maximum=limits.HOLD_TIMEOUT_SECONDS_MAX,
                limit_name="HOLD_TIMEOUT_SECONDS_MAX",
            ),
            1,
        )
        if fill + grace > limits.HOLD_TIMEOUT_SECONDS_MAX:
            problems.append(
                f"hold_grace_seconds: {grace} after fill_seconds={fill} passes "
                f"limits.HOLD_TIMEOUT_SECONDS_MAX ({limits.HOLD_TIMEOUT_SECONDS_MAX}), the longest a hold may stay open"
            )
        checked_stock = (
            None
            if stock is None
            else field(
                problems,
                "stock",
                lambda: check_int(
                    "stock", stock, minimum=0, maximum=limits.STOCK_MAX, limit_name="STOCK_MAX"
                ),
                None,
            )
        )
        if stock_unit not in _STOCK_UNITS:
            problems.append(f"stock_unit: {stock_unit!r} must be 'groups' or 'units'")
        start, end = check_window(problems, starts_at, ends_at)
        if problems:
            raise ConfigurationError(f"GroupBuyDeal {id!r}", problems)
        self.__attrs_init__(
            checked_id,
            checked_name,
            checked_item,
            size,
            checked_points,
            cash,
            checked_currency,
            fill,
            checked_stock,
            stock_unit,
            grace,
            start,
            end,
        )

    @property
    def stock_key(self) -> str:
        """The programme budget counting the stock taken by this deal's groups."""
        return f"pointkit:group-buy-stock:{self.id}"

    @property
    def stock_taken_per_group(self) -> int:
        """What one group takes from the stock when it opens: 1 group, or *size* units."""
        return 1 if self.stock_unit == "groups" else self.size

    def deadline(self, opened_at: datetime) -> datetime:
        """When a group opened at *opened_at* stops accepting members."""
        return check_deadline("fill_seconds", opened_at, timedelta(seconds=self.fill_seconds))

    def hold_expiry(self, deadline: datetime) -> datetime:
        """When the holds of a group with *deadline* time out in the ledger."""
        return check_deadline(
            "hold_grace_seconds", deadline, timedelta(seconds=self.hold_grace_seconds)
        )

    def check_open(self, group: str, *, now: datetime, taken: int) -> None:
        """Refuse to open a group now, or with *taken* stock already taken.

        Raises:
            GroupBuyRefusedError: ``not_started``, ``ended`` or ``sold_out``.
        """
        if self.starts_at is not None and now < self.starts_at:
            raise GroupBuyRefusedError(
                group,
                "not_started",
                f"deal {self.id!r} opens groups from {self.starts_at.isoformat()}",
            )
        if self.ends_at is not None and now >= self.ends_at:
            raise GroupBuyRefusedError(
                group,
                "ended",
                f"deal {self.id!r} stopped opening groups at {self.ends_at.isoformat()}",
            )
        if self.stock is not None and taken + self.stock_taken_per_group > self.stock:
            raise GroupBuyRefusedError(
                group,
                "sold_out",
                f"deal {self.id!r} has {self.stock - taken} of {self.stock} {self.stock_unit} left; "
                f"a group takes {self.stock_taken_per_group}",
            )

    @staticmethod
    def check_join(
        group: str,
        *,
        status: GroupStatus,
        deadline: datetime,
        now: datetime,
        seats: int,
        size: int,
        joined: bool,
    ) -> None:
        """Refuse a member joining a group that is not open to them now.

        Raises:
            GroupBuyRefusedError: ``already_joined``, ``closed`` (completed, cancelled, failed),
                ``timed_out`` or ``full``, checked in that order.
        """
        if joined:
            raise GroupBuyRefusedError(
                group, "already_joined", f"the member is in group {group!r} already"
            )
        if status != "open":
            raise GroupBuyRefusedError(group, "closed", f"group {group!r} is {status}")
        if now >= deadline:
            raise GroupBuyRefusedError(
                group, "timed_out", f"group {group!r} stopped filling at {deadline.isoformat()}"
            )
        if seats >= size:  # pragma: no cover - a full group is completed in the same unit
            raise GroupBuyRefusedError(group, "full", f"group {group!r} has all {size} members")


def check_deals(deals: Sequence[GroupBuyDeal]) -> tuple[GroupBuyDeal, ...]:
    """Check a programme's deals: at most ``limits.GROUP_BUYS_MAX``, ids unique.

    Raises:
        ConfigurationError: Listing every problem.
    """
    problems: list[str] = []
    found = tuple(deals)
    if len(found) > limits.GROUP_BUYS_MAX:
        problems.append(
            f"group_buys: {len(found)} deals are over limits.GROUP_BUYS_MAX ({limits.GROUP_BUYS_MAX})"
        )
    seen: set[str] = set()
    for index, deal in enumerate(found):
        given: object = deal  # checked at run time whatever the annotation says
        if not isinstance(given, GroupBuyDeal):
            problems.append(f"group_buys[{index}]: {deal!r} must be a GroupBuyDeal")
            continue
        if deal.id in seen:
            problems.append(f"group_buys[{index}]: id {deal.id!r} is declared twice")
        seen.add(deal.id)
    if problems:
        raise ConfigurationError("group buys", problems)
    return found

"""The reports part of storage: the aggregate reads that operators' reports need.

Maintainer's notes
------------------
:mod:`pointkit.reports` can answer every report by reading the whole journal, every lot and
every record in Python, which is exact and takes minutes at a million transactions. An
adapter that has this part answers each report with a few aggregate queries instead (SQL
``GROUP BY`` and ``SUM`` over indexes in pointkit's SQLite and PostgreSQL adapters, plain
Python over the dictionaries in the in-memory one). The part is optional, like the audit reads:
the reports check it once per unit type and fall back to the scan, saying so, when it is
missing.

What the part reads is defined here, so that every adapter answers the same question:

* **local days** are ``[local midnight, next local midnight)`` in the programme's zone, each
  midnight turned into an instant by :func:`pointkit._localtime.resolve` (a midnight in a
  daylight-saving gap moves forward, an ambiguous one takes the earlier instant). That is the
  day :func:`pointkit._localtime.wall` gives an instant, so the scan and the part agree on
  every instant, including the second pass of a fold. :func:`local_days` computes them;
  adapters aggregate by these instant ranges and never do calendar arithmetic themselves;
* **flows** are sums of the posted postings to each system account in a currency;
  **redemptions** are the catalogue's offer redemptions (records of kind
  :data:`REDEMPTION_KIND`, whose document names the currency) and **draws** the lottery's draw
  transactions (records of kind :data:`DRAW_KIND`, each naming its ``draw`` transaction by key);
* **offer sales** are the redemptions made in a span with what became of them: the hold's
  status now (captured: fulfilled; released or timed out: cancelled) and the units refunded
  since (the catalogue's refunded counter of the hold);
* **the issued cohort** of a span is the lots that earn transactions created in it: what they
  held, what has expired from them since and what is still in them.

Money-like figures are ints; nothing here is a float.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Final, Protocol, cast, final

import attrs

from pointkit._localtime import TICK, resolve, wall
from pointkit.exceptions import ArgumentTypeError
from pointkit.features._parts import missing_methods
from pointkit.ledger import AccountKind


if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from zoneinfo import ZoneInfo


__all__ = [
    "DRAW_KIND",
    "DRAW_PREFIX",
    "REDEMPTION_KIND",
    "REDEMPTION_PREFIX",
    "REFUNDED_PREFIX",
    "CohortPoints",
    "DayFlows",
    "LocalDay",
    "OfferSales",
    "PrizeDraws",
    "ReportReadUnit",
    "day_flows",
    "day_span",
    "local_days",
    "report_reader",
]

REDEMPTION_KIND: Final = "offer_redemption"
"""The kind of the catalogue's redemption records."""
REDEMPTION_PREFIX: Final = "pointkit:redemption:"
"""A redemption record's id: this prefix, then the id of the hold (its ``reserve`` transaction)."""
REFUNDED_PREFIX: Final = "pointkit:refunded:"
"""The scope of a redemption's refunded counter (period ``lifetime``): this prefix, the hold's id."""
DRAW_KIND: Final = "lottery_draw"
"""The kind of the lottery's draw records."""
DRAW_PREFIX: Final = "pointkit:draw:"
"""A draw record's id: this prefix, then the key of the draw's ``draw`` transaction."""

_FLOW_KINDS: Final = {
    AccountKind.ISSUANCE.value: ("issued", -1),
    AccountKind.REDEMPTION.value: ("redeemed", 1),
    AccountKind.EXPIRED.value: ("expired", 1),
    AccountKind.ADJUSTMENT.value: ("adjusted", -1),
    AccountKind.LOTTERY.value: ("lottery", 1),
    AccountKind.CLEARING.value: ("clearing", 1),
    AccountKind.WRITE_OFF.value: ("write_off", 1),
    "redemptions": ("redemptions", 1),
    "draws": ("draws", 1),
}
"""How each stored figure of a day goes into :class:`DayFlows`: the field and its sign."""


@final
@attrs.frozen
class LocalDay:
    """One local day as a span of instants, ``[start, end)``.

    Attributes:
        day: The local date.
        start: Its first instant (local midnight); ``None`` when that is before the first
            instant a ``datetime`` holds (the day begins before 0001-01-01 in UTC).
        end: The first instant of the next day; ``None`` when that is after the last instant a
            ``datetime`` holds.
    """

    day: date
    start: datetime | None
    end: datetime | None


@final
@attrs.frozen
class DayFlows:
    """One local day's posted flows in a currency, and its redemptions and draws.

    Each flow is the sum of that day's posted postings to one system account, signed so that
    the usual direction is positive.

    Attributes:
        day: The local date.
        issued: Points that left the issuance account (earns, less clawbacks of earns).
        redeemed: Points that reached the redemption account (redemptions and captures, less
            restores).
        expired: Points that reached the expired account.
        adjusted: Points that left the adjustment account (given by hand, less taken).
        lottery: Points that reached the lottery account (draws' costs, less points prizes).
        clearing: Points that reached partner clearing (converted out, less converted in).
        write_off: Points that reached the write-off account (negative: written off).
        redemptions: Offer redemptions made in the currency.
        draws: Lottery draws made in the currency.
    """

    day: date
    issued: int = 0
    redeemed: int = 0
    expired: int = 0
    adjusted: int = 0
    lottery: int = 0
    clearing: int = 0
    write_off: int = 0
    redemptions: int = 0
    draws: int = 0


@final
@attrs.frozen
class OfferSales:
    """One offer's redemptions made in a span, and what became of them since.

    Attributes:
        offer: The offer's id.
        redemptions: Redemptions made.
        units: Units redeemed.
        points: Points the redemptions held.
        fulfilled: Units of redemptions fulfilled (their hold captured).
        cancelled: Units of redemptions cancelled or timed out (their hold released).
        refunded: Units refunded after fulfilment.
    """

    offer: str
    redemptions: int
    units: int
    points: int
    fulfilled: int
    cancelled: int
    refunded: int


@final
@attrs.frozen
class PrizeDraws:
    """The draws of one lottery, made in a span, that won one prize.

    Attributes:
        lottery: The lottery's id.
        prize: The prize won.
        draws: Draws that won it.
        points_in: Points those draws cost.
        points_back: Points the prize credited back.
    """

    lottery: str
    prize: str
    draws: int
    points_in: int
    points_back: int


@final
@attrs.frozen
class CohortPoints:
    """The lots earned in a span, as they stand now.

    Attributes:
        issued: Points the lots were credited with (an earn's points, less any debt it repaid).
        expired: Points that have expired from them since.
        outstanding: Points still in them (held ones included).
    """

    issued: int
    expired: int
    outstanding: int


class ReportReadUnit(Protocol):
    """The reports part: aggregate reads for :mod:`pointkit.reports` (optional).

    Every method reads one snapshot of one program. Sequences come sorted: days by date,
    offers by id, prize draws by lottery then prize, tiers by name with ``None`` first.
    """

    def flows_by_day(
        self, currency: str, zone: ZoneInfo, first: date, last: date
    ) -> Sequence[DayFlows]:
        """Return the flows of each local day from *first* to *last* in *zone* that had any.

        Days whose figures are all zero are left out. :func:`local_days` gives the days as
        instants; an adapter may skip days outside the instants its data spans.
        """
        ...

    def outstanding_by_expiry(
        self, currency: str, bounds: Sequence[datetime | None]
    ) -> Sequence[int]:
        """Return the open points (lots' remaining, held included) by when they expire.

        *bounds* are increasing instants (``None``: past the last instant a datetime holds);
        the result has ``len(bounds) + 2`` sums: expiring at or before ``bounds[0]``, then in
        ``(bounds[i - 1], bounds[i]]`` for each next bound, then after the last bound, then
        never.
        """
        ...

    def issued_cohort(
        self, currency: str, since: datetime | None, until: datetime | None
    ) -> CohortPoints:
        """Return what the lots that earn transactions created in ``[since, until)`` hold now.

        ``None`` leaves that end open.
        """
        ...

    def offer_sales(self, since: datetime | None, until: datetime | None) -> Sequence[OfferSales]:
        """Return each offer's redemptions made in ``[since, until)``, and what became of them."""
        ...

    def lottery_draws(self, since: datetime | None, until: datetime | None) -> Sequence[PrizeDraws]:
        """Return the draws made in ``[since, until)`` by lottery and prize won."""
        ...

    def tier_members(self) -> Sequence[tuple[str | None, int]]:
        """Return ``(tier, members)`` of the members with a wallet; ``None``: no tier state."""
        ...


def report_reader(unit: object) -> tuple[ReportReadUnit | None, str]:
    """Return *unit* as a reader of the reports part and ``""``, or ``None`` and why not.

    The unit's type is checked once (:func:`~pointkit.features._parts.missing_methods`).
    """
    missing = missing_methods(unit, "reports")
    if missing:
        return None, (
            f"the storage's unit {type(unit).__name__} does not implement the reports part "
            f"(missing {', '.join(missing)}); see docs/custom-storage.md"
        )
    return cast("ReportReadUnit", unit), ""


def require_reports(unit: object, feature: str) -> ReportReadUnit:
    """Return *unit* as a reader of the reports part, or raise naming what it lacks.

    Raises:
        ArgumentTypeError: If the unit lacks a method of the part.
    """
    reader, why = report_reader(unit)
    if reader is None:
        raise ArgumentTypeError(f"{why}; {feature} needs it")
    return reader


def _local_date(instant: datetime, zone: ZoneInfo) -> date | None:
    try:
        return wall(instant, zone).date()
    except OverflowError:
        return None


def _start(day: date, zone: ZoneInfo) -> datetime | None:
    """The first instant of *day* in *zone*; ``None`` before the first instant a datetime holds."""
    try:
        return resolve(datetime.combine(day, time()), zone)
    except OverflowError:
        return None


def _end(day: date, zone: ZoneInfo) -> datetime | None:
    """The first instant after *day* in *zone*; ``None`` after the last instant a datetime holds."""
    if day < date.max:
        return _start(day + timedelta(days=1), zone)
    # The local midnight after 9999-12-31, which no datetime names, is the last instant a
    # datetime holds, plus a microsecond, less the zone's offset on that day: an instant east
    # of Greenwich only; west of it every instant falls on or before 9999-12-31.
    offset = zone.utcoffset(datetime.combine(day, time(12))) or timedelta(0)
    last = datetime.max.replace(tzinfo=UTC)
    return last - offset + TICK if offset > timedelta(0) else None


def day_span(zone: ZoneInfo, first: date, last: date) -> tuple[datetime | None, datetime | None]:
    """Return ``[start, end)`` of the local days *first* to *last*; ``None`` for no bound.

    The bounds are those of :func:`local_days`: an open one is before the first instant a
    datetime holds, or after the last.
    """
    return _start(first, zone), _end(last, zone)


def local_days(
    zone: ZoneInfo,
    first: date,
    last: date,
    *,
    within: tuple[datetime, datetime] | None = None,
) -> list[LocalDay]:
    """Return the local days from *first* to *last* in *zone* as spans of instants.

    Args:
        zone: The programme's zone.
        first: The first day.
        last: The last day (inclusive).
        within: ``(earliest, latest)`` instants the data spans: days before the one holding
            *earliest* and after the one holding *latest* are left out, since they are quiet.

    Returns:
        The days, oldest first, each ``[local midnight, next local midnight)``; a bound a
        ``datetime`` cannot hold is ``None``.
    """
    if within is not None:
        earliest = _local_date(within[0], zone)
        latest = _local_date(within[1], zone)
        first = first if earliest is None else max(first, earliest)
        last = last if latest is None else min(last, latest)
    days: list[LocalDay] = []
    if last < first:
        return days
    day, start = first, _start(first, zone)
    while True:
        end = _end(day, zone)
        days.append(LocalDay(day, start, end))
        if day >= last:
            return days
        day, start = day + timedelta(days=1), end


def day_flows(rows: Iterable[tuple[date, str, int]]) -> tuple[DayFlows, ...]:
    """Assemble ``(day, figure, amount)`` rows into :class:`DayFlows`, days with figures only.

    A figure is a system account's kind (its posted postings' sum) or ``"redemptions"`` or
    ``"draws"``; rows of one day and figure add up. Every adapter builds its answer here, so
    all three leave out the same quiet days and sign the flows alike.
    """
    sums: defaultdict[date, defaultdict[str, int]] = defaultdict(lambda: defaultdict(int))
    for day, figure, amount in rows:
        name, sign = _FLOW_KINDS[figure]
        sums[day][name] += sign * amount
    return tuple(
        DayFlows(day, **{name: value for name, value in figures.items() if value})
        for day, figures in sorted(sums.items())
        if any(figures.values())
    )

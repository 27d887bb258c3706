"""Reports for operators: liability, daily flows and breakage, hottest offers, lottery cost, tiers.

Each report is a typed, frozen result, and also a plain-text table (``to_text()``), JSON data
(``to_dict()``, through :mod:`pointkit.jsonable`) and CSV (``to_csv()``); the functions
:func:`to_dict` and :func:`to_csv` take the liability report too (a
:class:`~pointkit.pricing.Liability`). Times and days are in the programme's zone.

Where the figures come from: a storage with the reports part
(:class:`~pointkit.features.ReportReadUnit`; pointkit's SQLite, PostgreSQL and in-memory
adapters have it) answers each report with a few aggregate queries in one read unit (one
snapshot). Any other storage is scanned in Python — the journal through
:meth:`pointkit.program.Program.transactions`, and the records, holds, lots and tier states —
which is exact but reads everything (about 90 seconds at a million transactions). Each report
says which it used (``source``, ``source_detail``); ``via="scan"`` asks for the scan, and
``via="part"`` refuses to scan.

Daily flows are sums of the postings to the system accounts, per local day in the program's
zone: *issued* is what left the issuance account (earns, less clawbacks of earns), *consumed*
what reached the redemption account (redemptions and captures, less restores) and the lottery
account (draws' costs less points prizes), *expired* what reached the expired account, and
*adjusted* what left the adjustment account. Two breakage figures come with them, each labelled
with what it measures, since neither alone is "the breakage rate": the *flow ratio* is points
expired in the span over points issued in it (points issued before the span count when they
expire in it, so after an import of old points it says little), and the *cohort breakage* is,
of the points earned in the span, the share that has expired since.

Hottest offers rank the offers by units net of cancellations (released or timed-out holds) and
refunds.
"""

from __future__ import annotations

import csv
import io
import sys
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import TYPE_CHECKING, Final, Literal, final

import attrs

from pointkit import jsonable
from pointkit._localtime import TICK
from pointkit._report_scan import ScanReader
from pointkit._text import table
from pointkit._validate import check_aware, check_int, type_name
from pointkit._values import Money
from pointkit.exceptions import ArgumentTypeError, InvalidArgumentError
from pointkit.features._report_parts import day_span, report_reader
from pointkit.pricing import DEFAULT_BUCKETS, Liability, LiabilityBucket, Lottery, liability


if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from pointkit.features import ReportReadUnit
    from pointkit.program import Program


__all__ = [
    "Breakage",
    "DailyReport",
    "DailyRow",
    "LotteryReport",
    "LotteryRow",
    "OfferReport",
    "OfferRow",
    "ReportSource",
    "ReportVia",
    "TierReport",
    "daily_report",
    "hottest_offers",
    "liability_report",
    "lottery_cost",
    "tier_distribution",
    "to_csv",
    "to_dict",
]

ReportVia = Literal["auto", "part", "scan"]
"""How a report reads: the storage's reports part when it has one (``"auto"``), only the part
(``"part"``: refuse a storage without it), or a scan in Python (``"scan"``)."""
ReportSource = Literal["part", "scan"]
"""Where a report's figures came from: the storage's reports part, or a scan in Python."""
_VIAS: Final = ("auto", "part", "scan")


@contextmanager
def _reader(
    program: Program, via: str, report: str
) -> Iterator[tuple[ReportReadUnit, ReportSource, str]]:
    """Yield the reader a report asks, whether it is the part or the scan, and in words why.

    The part's reads share one read unit, so a report that reads twice sees one snapshot.

    Raises:
        InvalidArgumentError: If *via* is not one of ``"auto"``, ``"part"``, ``"scan"``.
        ArgumentTypeError: If *via* is ``"part"`` and the storage lacks the reports part.
    """
    if via not in _VIAS:
        raise InvalidArgumentError(f"via={via!r} must be one of {', '.join(map(repr, _VIAS))}")
    if via == "scan":
        yield ScanReader(program), "scan", "a scan in Python was asked for (via='scan')"
        return
    ledger = program.ledger
    with ledger.storage.reading(ledger.program) as unit:
        part, why = report_reader(unit)
        if part is not None:
            yield part, "part", f"the storage's reports part ({type(unit).__name__})"
            return
    if via == "part":
        raise ArgumentTypeError(f"{why}; {report} was asked to use it (via='part')")
    yield ScanReader(program), "scan", f"a scan in Python: {why}"


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]], align: str = "") -> list[str]:
    """Rows as aligned text, figures formatted (by default: the first column left, the rest right)."""
    return table([list(headers), *([_cell(value) for value in row] for row in rows)], align)


def _cell(value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    if isinstance(value, Fraction):
        return f"{float(value) * 100:.2f}%"
    return str(value)


def _csv_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, Fraction):
        return f"{value.numerator}/{value.denominator}"
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)


def _csv(*tables: Sequence[Sequence[object]]) -> str:
    """Tables as CSV, a blank line between them; fractions exact (``n/d``), dates ISO 8601."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for number, rows in enumerate(tables):
        if number:
            writer.writerow([])
        writer.writerows([_csv_cell(value) for value in row] for row in rows)
    return out.getvalue()


def _percent(ratio: Fraction | None) -> str:
    return "" if ratio is None else _cell(ratio)


def _records(kind: type, rows: Sequence[object]) -> list[list[object]]:
    """Records as a table: the names of *kind*'s fields, then each record's values."""
    names = [field.name for field in attrs.fields(kind)]
    return [list[object](names), *([getattr(row, name) for name in names] for row in rows)]


def _about(**values: object) -> list[list[object]]:
    """What a report says about its table, as a two-row table: names, then values."""
    return [list[object](values), list(values.values())]


# -- liability ----------------------------------------------------------------------------------


def liability_report(
    program: Program,
    *,
    currency: str | None = None,
    buckets: Sequence[timedelta] = DEFAULT_BUCKETS,
    via: ReportVia = "auto",
) -> Liability:
    """Outstanding points valued at the program's reference valuation, by expiry bucket.

    The storage's reports part sums the open points per bucket; without it every lot is read.

    Raises:
        InvalidArgumentError: If the program has no valuation, or an argument is invalid.
        UnknownCurrencyError: If the program does not hold *currency*.
    """
    valuation = program.config.valuation
    if valuation is None:
        raise InvalidArgumentError("this program has no valuation ([valuation] in its file)")
    code = program.ledger.currency(currency or valuation.currency)
    now = program.clock.now()
    liability((), valuation, now=now, buckets=buckets)  # checks now and the bucket edges
    bounds: list[datetime | None] = [now]
    for edge in buckets:
        try:
            bounds.append(now + edge)
        except OverflowError:
            bounds.append(None)  # past the last instant a datetime holds: bounds nothing
    with _reader(program, via, "liability_report") as (reader, _, _):
        sums = reader.outstanding_by_expiry(code, bounds)
    # One instant inside each bucket stands for its points: the bucket's lower bound plus a
    # microsecond (edges are whole days); a bucket past an unbounded edge is empty.
    pairs: list[tuple[datetime | None, int]] = [(now, sums[0]), (None, sums[-1])]
    pairs += [
        (bound + TICK, points)
        for bound, points in zip(bounds, sums[1:-1], strict=True)
        if bound is not None and points
    ]
    return liability(pairs, valuation, now=now, buckets=buckets)


# -- daily flows --------------------------------------------------------------------------------


@final
@attrs.frozen
class DailyRow:
    """One local day's flows of points.

    Attributes:
        day: The local day.
        issued: Points issued (earned, less clawbacks of earns).
        consumed: Points consumed: redeemed, and spent on draws less points prizes.
        expired: Points expired.
        adjusted: Points given (positive) or taken (negative) by hand.
        redemptions: Offer redemptions made.
        draws: Lottery draws made.
        clearing: Points converted out to another currency, less converted in.
        write_off: Points written off by clawbacks that could not take them back (negative).
    """

    day: date
    issued: int
    consumed: int
    expired: int
    adjusted: int
    redemptions: int
    draws: int
    clearing: int = 0
    write_off: int = 0


@final
@attrs.frozen
class Breakage:
    """A breakage figure, with what it measures.

    Attributes:
        label: What the figure is, in words: read it before the figure.
        expired: Points expired (the numerator).
        issued: Points issued (the denominator).
        outstanding: For a cohort, the points of it still open; ``None`` for a flow ratio.
        ratio: ``expired / issued``, exact; ``None`` when nothing was issued.
    """

    label: str
    expired: int
    issued: int
    outstanding: int | None
    ratio: Fraction | None

    @classmethod
    def of(cls, label: str, expired: int, issued: int, outstanding: int | None) -> Breakage:
        """The figure for *expired* of *issued* points."""
        ratio = Fraction(expired, issued) if issued > 0 else None
        return cls(label, expired, issued, outstanding, ratio)

    def to_text(self) -> str:
        """The figure after its label, with the points it divides."""
        ratio = "n/a" if self.ratio is None else _cell(self.ratio)
        rest = "" if self.outstanding is None else f", {self.outstanding:,} still outstanding"
        return f"{self.label}: {ratio} ({self.expired:,} of {self.issued:,}{rest})"


_FLOW_RATIO_LABEL: Final = (
    "flow ratio (expired in these days / issued in these days; points issued earlier count "
    "when they expire here, so this is not breakage)"
)
_COHORT_LABEL: Final = (
    "cohort breakage (of the points earned in these days, the share expired since, as of the "
    "report)"
)


@final
@attrs.frozen
class DailyReport:
    """Points issued, consumed and expired per day, and two labelled breakage figures.

    Attributes:
        currency: The point currency.
        rows: One row per local day in the span, oldest first, quiet days included.
        issued: Issued over the span.
        consumed: Consumed over the span.
        expired: Expired over the span.
        flow_ratio: Points expired in the span over points issued in it. Points issued before
            the span count when they expire in it, so this is not a breakage rate.
        cohort: Of the points earned in the span (the lots earns created), the share that has
            expired since, with what is still outstanding.
        zone: The programme's zone, whose local days the rows are.
        source: ``"part"`` (the storage's reports part) or ``"scan"`` (Python over everything).
        source_detail: Which part, or why the report scanned.
    """

    currency: str
    rows: tuple[DailyRow, ...]
    issued: int
    consumed: int
    expired: int
    flow_ratio: Breakage
    cohort: Breakage
    zone: str
    source: ReportSource
    source_detail: str

    @property
    def breakage(self) -> Fraction | None:
        """The flow ratio's value, ``expired / issued`` over the span (see :attr:`flow_ratio`)."""
        return self.flow_ratio.ratio

    def to_text(self) -> str:
        """The report as an aligned plain-text table."""
        rows = [
            [
                row.day.isoformat(),
                row.issued,
                row.consumed,
                row.expired,
                row.adjusted,
                row.redemptions,
                row.draws,
            ]
            for row in self.rows
        ]
        rows.append(["total", self.issued, self.consumed, self.expired, "", "", ""])
        lines = [f"Daily flows of {self.currency} (local days in {self.zone})"]
        lines += _table(
            ["day", "issued", "consumed", "expired", "adjusted", "redemptions", "draws"], rows
        )
        lines += [self.flow_ratio.to_text(), self.cohort.to_text()]
        lines.append(f"source: {self.source_detail}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, jsonable.JSON]:
        """The report as JSON data (:func:`pointkit.jsonable.dump`)."""
        return to_dict(self)

    def to_csv(self) -> str:
        """The days as CSV, then the breakage figures with their labels, then the source."""
        names = [field.name for field in attrs.fields(Breakage)]
        figures = [["figure", *names, "percent"]]
        figures += [
            [name, *(getattr(figure, field) for field in names), _percent(figure.ratio)]
            for name, figure in (("flow_ratio", self.flow_ratio), ("cohort", self.cohort))
        ]
        about = _about(
            currency=self.currency,
            zone=self.zone,
            source=self.source,
            source_detail=self.source_detail,
        )
        return _csv(_records(DailyRow, self.rows), figures, about)


def daily_report(
    program: Program,
    *,
    since: date,
    until: date,
    currency: str | None = None,
    via: ReportVia = "auto",
) -> DailyReport:
    """Points issued, consumed and expired on each local day from *since* to *until*, inclusive.

    With the flow ratio (expired over issued in the span) and the cohort breakage (of the
    points earned in the span, the share expired since), each labelled.

    Raises:
        ArgumentTypeError: If *since* or *until* is not a date.
        UnknownCurrencyError: If the program does not hold *currency*.
    """
    given: tuple[tuple[str, object], ...] = (("since", since), ("until", until))
    for name, value in given:
        if not isinstance(value, date) or isinstance(value, datetime):
            raise ArgumentTypeError(f"{name}={value!r} must be a date, not {type_name(value)}")
    code = program.ledger.currency(currency or None)
    zone = program.config.zone
    start, end = day_span(zone, since, until)
    with _reader(program, via, "daily_report") as (reader, source, detail):
        flows = {flow.day: flow for flow in reader.flows_by_day(code, zone, since, until)}
        cohort = reader.issued_cohort(code, start, end)
    rows = []
    for offset in range((until - since).days + 1):
        day = since + timedelta(days=offset)
        flow = flows.get(day)
        if flow is None:
            rows.append(DailyRow(day, 0, 0, 0, 0, 0, 0))
            continue
        rows.append(
            DailyRow(
                day=day,
                issued=flow.issued,
                consumed=flow.redeemed + flow.lottery,
                expired=flow.expired,
                adjusted=flow.adjusted,
                redemptions=flow.redemptions,
                draws=flow.draws,
                clearing=flow.clearing,
                write_off=flow.write_off,
            )
        )
    issued = sum(row.issued for row in rows)
    expired = sum(row.expired for row in rows)
    return DailyReport(
        currency=code,
        rows=tuple(rows),
        issued=issued,
        consumed=sum(row.consumed for row in rows),
        expired=expired,
        flow_ratio=Breakage.of(_FLOW_RATIO_LABEL, expired, issued, None),
        cohort=Breakage.of(_COHORT_LABEL, cohort.expired, cohort.issued, cohort.outstanding),
        zone=zone.key,
        source=source,
        source_detail=detail,
    )


# -- offers -------------------------------------------------------------------------------------

_NET_UNITS: Final = (
    "units net of cancellations (released or timed-out holds) and refunds; "
    "offers ranked by net units"
)


@final
@attrs.frozen
class OfferRow:
    """One offer's redemptions over a span, and what became of them since.

    Attributes:
        offer: The offer's id.
        name: Its name.
        redemptions: Redemptions made.
        units: Units redeemed.
        points: Points those redemptions held.
        fulfilled: Units whose redemption was fulfilled.
        cancelled: Units whose redemption was cancelled or timed out.
        refunded: Units refunded after fulfilment.
        net: Units net of cancellations and refunds: ``units - cancelled - refunded``.
    """

    offer: str
    name: str
    redemptions: int
    units: int
    points: int
    fulfilled: int
    cancelled: int
    refunded: int = 0
    net: int = attrs.field(
        default=attrs.Factory(
            lambda row: row.units - row.cancelled - row.refunded,
            takes_self=True,
        )
    )


@final
@attrs.frozen
class OfferReport:
    """The offers redeemed most, by units net of cancellations and refunds.

    Attributes:
        rows: The offers, most net units first.
        basis: What the units count, in words.
        source: ``"part"`` (the storage's reports part) or ``"scan"`` (Python over everything).
        source_detail: Which part, or why the report scanned.
    """

    rows: tuple[OfferRow, ...]
    basis: str = _NET_UNITS
    source: ReportSource = "scan"
    source_detail: str = ""

    def to_text(self) -> str:
        """The report as an aligned plain-text table."""
        rows = [
            [
                row.offer,
                row.name,
                row.redemptions,
                row.units,
                row.points,
                row.fulfilled,
                row.cancelled,
                row.refunded,
                row.net,
            ]
            for row in self.rows
        ]
        lines = ["Hottest offers"]
        lines += _table(
            [
                "offer",
                "name",
                "redemptions",
                "units",
                "points",
                "fulfilled",
                "cancelled",
                "refunded",
                "net units",
            ],
            rows,
            "llrrrrrrr",
        )
        lines.append(f"({self.basis})")
        lines.append(f"source: {self.source_detail}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, jsonable.JSON]:
        """The report as JSON data (:func:`pointkit.jsonable.dump`)."""
        return to_dict(self)

    def to_csv(self) -> str:
        """The offers as CSV, then what the units count and the source."""
        about = _about(basis=self.basis, source=self.source, source_detail=self.source_detail)
        return _csv(_records(OfferRow, self.rows), about)


def hottest_offers(
    program: Program,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 10,
    via: ReportVia = "auto",
) -> OfferReport:
    """The offers with the most units redeemed in ``[since, until)``, net of what came back.

    A redemption counts in the span it was made in; its cancellation (a released or timed-out
    hold) and its refunds count against it whenever they happened.

    Raises:
        InvalidArgumentError: If *limit* is not a positive int.
    """
    top = check_int("limit", limit, minimum=1, maximum=sys.maxsize)
    start = None if since is None else check_aware("since", since)
    end = None if until is None else check_aware("until", until)
    names = {offer.id: offer.name for offer in program.config.offers}
    with _reader(program, via, "hottest_offers") as (reader, source, detail):
        sales = reader.offer_sales(start, end)
    rows = sorted(
        (
            OfferRow(
                offer=sold.offer,
                name=names.get(sold.offer, sold.offer),
                redemptions=sold.redemptions,
                units=sold.units,
                points=sold.points,
                fulfilled=sold.fulfilled,
                cancelled=sold.cancelled,
                refunded=sold.refunded,
            )
            for sold in sales
        ),
        key=lambda row: (-row.net, -row.units, row.offer),
    )
    return OfferReport(tuple(rows[:top]), source=source, source_detail=detail)


# -- lotteries ----------------------------------------------------------------------------------


@final
@attrs.frozen
class LotteryRow:
    """One lottery's draws over a span.

    Attributes:
        lottery: The lottery's id.
        draws: Draws made.
        points_in: Points the draws cost.
        points_back: Points the points prizes credited.
        prizes: ``(prize, times won)``, in the table's order.
        prize_cost: What the prizes won cost the operator, in money (``None`` if unknown).
        expected_cost: What they were expected to cost, at the table's consolidated rates.
    """

    lottery: str
    draws: int
    points_in: int
    points_back: int
    prizes: tuple[tuple[str, int], ...]
    prize_cost: Fraction | None
    expected_cost: Fraction | None


@final
@attrs.frozen
class LotteryReport:
    """What the lotteries cost and gave.

    Attributes:
        rows: One per lottery of the program.
        money: The money currency of the costs, if known.
        source: ``"part"`` (the storage's reports part) or ``"scan"`` (Python over everything).
        source_detail: Which part, or why the report scanned.
    """

    rows: tuple[LotteryRow, ...]
    money: str | None
    source: ReportSource = "scan"
    source_detail: str = ""

    def to_text(self) -> str:
        """The report as an aligned plain-text table."""
        code = self.money or ""
        rows = [
            [
                row.lottery,
                row.draws,
                row.points_in,
                row.points_back,
                ", ".join(f"{prize} {won}" for prize, won in row.prizes if won),
                "" if row.prize_cost is None else f"{float(row.prize_cost):,.2f} {code}",
                "" if row.expected_cost is None else f"{float(row.expected_cost):,.2f} {code}",
            ]
            for row in self.rows
        ]
        lines = ["Lottery cost"]
        lines += _table(
            [
                "lottery",
                "draws",
                "points in",
                "points back",
                "prizes won",
                "prize cost",
                "expected",
            ],
            rows,
        )
        lines.append(f"source: {self.source_detail}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, jsonable.JSON]:
        """The report as JSON data (:func:`pointkit.jsonable.dump`)."""
        return to_dict(self)

    def to_csv(self) -> str:
        """The lotteries as CSV, then the prizes each won, then the source.

        Costs are exact fractions of the money currency, each beside its amount rounded
        half-even onto the currency's grid, for reading.
        """
        names = ["draws", "points_in", "points_back", "prize_cost", "expected_cost"]
        lotteries: list[list[object]] = [
            ["lottery", *names, "prize_cost_rounded", "expected_cost_rounded"]
        ]
        for row in self.rows:
            rounded = [self._money(row.prize_cost), self._money(row.expected_cost)]
            lotteries.append([row.lottery, *(getattr(row, name) for name in names), *rounded])
        prizes: list[list[object]] = [["lottery", "prize", "won"]]
        prizes += [[row.lottery, prize, won] for row in self.rows for prize, won in row.prizes]
        about = _about(money=self.money, source=self.source, source_detail=self.source_detail)
        return _csv(lotteries, prizes, about)

    def _money(self, cost: Fraction | None) -> Money | None:
        if cost is None or self.money is None:
            return None
        return Money.of(cost, self.money, rounding="half_even")


def lottery_cost(
    program: Program,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    via: ReportVia = "auto",
) -> LotteryReport:
    """Each lottery's draws in ``[since, until)``: points in and out, prizes won, their cost."""
    start = None if since is None else check_aware("since", since)
    end = None if until is None else check_aware("until", until)
    with _reader(program, via, "lottery_cost") as (reader, source, detail):
        found = reader.lottery_draws(start, end)
    won: dict[tuple[str, str], int] = {}
    draws: dict[str, int] = {}
    points: dict[str, tuple[int, int]] = {}
    for prize_draws in found:
        name = prize_draws.lottery
        won[(name, prize_draws.prize)] = prize_draws.draws
        draws[name] = draws.get(name, 0) + prize_draws.draws
        points_in, points_back = points.get(name, (0, 0))
        points[name] = (points_in + prize_draws.points_in, points_back + prize_draws.points_back)
    money: str | None = None
    rows = []
    for lottery in program.config.lotteries:
        costs: list[Fraction] = []
        for prize in lottery.prizes:
            cost = _prize_cost(lottery, prize.id)
            costs.append(Fraction(0) if cost is None else cost)
            if prize.cost is not None:
                money = prize.cost.currency.code
        count = draws.get(lottery.id, 0)
        try:
            expected: Fraction | None = lottery.expectation().prize_cost * count
        except InvalidArgumentError:  # a prize without a cost: nothing to expect
            expected = None
        total = sum(
            (
                won.get((lottery.id, prize.id), 0) * cost
                for prize, cost in zip(lottery.prizes, costs, strict=True)
            ),
            Fraction(0),
        )
        points_in, points_back = points.get(lottery.id, (0, 0))
        rows.append(
            LotteryRow(
                lottery=lottery.id,
                draws=count,
                points_in=points_in,
                points_back=points_back,
                prizes=tuple(
                    (prize.id, won.get((lottery.id, prize.id), 0)) for prize in lottery.prizes
                ),
                prize_cost=total if expected is not None else None,
                expected_cost=expected,
            )
        )
    return LotteryReport(tuple(rows), money, source=source, source_detail=detail)


def _prize_cost(lottery: Lottery, prize_id: str) -> Fraction | None:
    prize = lottery.prize(prize_id)
    if prize.kind == "points" and lottery.valuation is not None:
        return (
            lottery.valuation.value(prize.points)
            if prize.cost is None
            else Fraction(prize.cost.amount)
        )
    return None if prize.cost is None else Fraction(prize.cost.amount)


# -- tiers --------------------------------------------------------------------------------------


@final
@attrs.frozen
class TierReport:
    """How many members are in each tier now.

    Attributes:
        counts: ``(tier, members)`` in the ladder's order, lowest first.
        unreviewed: Members with points but no stored tier yet (they count in the lowest).
        source: ``"part"`` (the storage's reports part) or ``"scan"`` (Python over everything).
        source_detail: Which part, or why the report scanned.
    """

    counts: tuple[tuple[str, int], ...]
    unreviewed: int
    source: ReportSource = "scan"
    source_detail: str = ""

    def to_text(self) -> str:
        """The report as an aligned plain-text table."""
        total = sum(count for _, count in self.counts) or 1
        rows = [[tier, count, Fraction(count, total)] for tier, count in self.counts]
        lines = ["Tier distribution"]
        lines += _table(["tier", "members", "share"], rows)
        if self.unreviewed:
            lines.append(f"({self.unreviewed} not reviewed yet, counted in the lowest tier)")
        lines.append(f"source: {self.source_detail}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, jsonable.JSON]:
        """The report as JSON data (:func:`pointkit.jsonable.dump`)."""
        return to_dict(self)

    def to_csv(self) -> str:
        """The tiers as CSV, then the source."""
        tiers: list[list[object]] = [["tier", "members"]]
        tiers += [[tier, count] for tier, count in self.counts]
        about = _about(
            unreviewed=self.unreviewed, source=self.source, source_detail=self.source_detail
        )
        return _csv(tiers, about)


def tier_distribution(program: Program, *, via: ReportVia = "auto") -> TierReport:
    """Members per tier now (members with a wallet); members never reviewed count in the lowest.

    Raises:
        InvalidArgumentError: If the program has no tier ladder.
    """
    ladder = program.config.tiers
    if ladder is None:
        raise InvalidArgumentError("this program has no tiers ([tiers] in its file)")
    with _reader(program, via, "tier_distribution") as (reader, source, detail):
        found = reader.tier_members()
    counts = dict(found)
    unreviewed = counts.pop(None, 0)
    lowest = ladder.tiers[0].name
    return TierReport(
        tuple(
            (tier.name, counts.get(tier.name, 0) + (unreviewed if tier.name == lowest else 0))
            for tier in ladder.tiers
        ),
        unreviewed,
        source=source,
        source_detail=detail,
    )


# -- JSON and CSV -------------------------------------------------------------------------------


_Report = Liability | DailyReport | OfferReport | LotteryReport | TierReport


def to_dict(report: _Report) -> dict[str, jsonable.JSON]:
    """Return *report* as JSON data: :func:`pointkit.jsonable.dump`, which loads back.

    Raises:
        ArgumentTypeError: If *report* is not one of the reports.
    """
    if not isinstance(report, _Report):
        raise ArgumentTypeError(f"report={report!r} must be a report, not {type_name(report)}")
    data = jsonable.dump(report)
    if not isinstance(data, dict):  # pragma: no cover - every report is a record
        raise ArgumentTypeError(f"report={report!r} did not dump to an object")
    return data


def to_csv(report: _Report) -> str:
    """Return *report* as CSV: its table, then (after a blank line) what it says about it.

    Figures are exact: points as ints, ratios as ``n/d`` (with a rounded percent beside
    them), money as its amount and currency, days and instants in ISO 8601.

    Raises:
        ArgumentTypeError: If *report* is not one of the reports.
    """
    if isinstance(report, Liability):
        about = _about(
            currency=report.currency,
            as_of=report.as_of,
            points=report.points,
            value=report.value,
            money=report.money,
        )
        return _csv(_records(LiabilityBucket, report.buckets), about)
    if isinstance(report, DailyReport | OfferReport | LotteryReport | TierReport):
        return report.to_csv()
    raise ArgumentTypeError(f"report={report!r} must be a report, not {type_name(report)}")

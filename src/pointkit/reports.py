"""Reports for operators: liability, daily flows and breakage, hottest offers, lottery cost, tiers.

Each report is a typed, frozen result and also a plain-text table (``to_text()``). They read
the journal through :meth:`pointkit.program.Program.transactions` and the records the ledger
keeps, so they agree with the audit by construction; run them from a reporting job, since each
reads the whole journal.

Daily flows are sums of the postings to the system accounts, per local day in the program's
zone: *issued* is what left the issuance account (earns, less clawbacks of earns), *consumed*
what reached the redemption account (redemptions and captures, less restores) and the lottery
account (draws' costs less points prizes), *expired* what reached the expired account, and
*adjusted* what left the adjustment account. Breakage is expired points over issued points.
"""

from __future__ import annotations

import json
import sys
from collections import Counter, defaultdict
from datetime import date, datetime, time, timedelta
from fractions import Fraction
from typing import TYPE_CHECKING, final

import attrs

from pointkit._localtime import resolve, wall
from pointkit._text import table
from pointkit._validate import check_int, type_name
from pointkit.exceptions import ArgumentTypeError, InvalidArgumentError
from pointkit.ledger import AccountKind, Phase, TransactionKind
from pointkit.pricing import DEFAULT_BUCKETS, DrawRecord, Liability, Lottery, liability


if TYPE_CHECKING:
    from collections.abc import Sequence

    from pointkit.ledger import Transaction
    from pointkit.program import Program


__all__ = [
    "DailyReport",
    "DailyRow",
    "LotteryReport",
    "LotteryRow",
    "OfferReport",
    "OfferRow",
    "TierReport",
    "daily_report",
    "hottest_offers",
    "liability_report",
    "lottery_cost",
    "tier_distribution",
]


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]], align: str = "") -> list[str]:
    """Rows as aligned text, figures formatted (by default: the first column left, the rest right)."""
    return table([list(headers), *([_cell(value) for value in row] for row in rows)], align)


def _cell(value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    if isinstance(value, Fraction):
        return f"{float(value) * 100:.2f}%"
    return str(value)


# -- liability ----------------------------------------------------------------------------------


def liability_report(
    program: Program, *, currency: str | None = None, buckets: Sequence[timedelta] = DEFAULT_BUCKETS
) -> Liability:
    """Outstanding points valued at the program's reference valuation, by expiry bucket.

    Raises:
        InvalidArgumentError: If the program has no valuation.
    """
    valuation = program.config.valuation
    if valuation is None:
        raise InvalidArgumentError("this program has no valuation ([valuation] in its file)")
    code = currency or valuation.currency
    return liability(program.outstanding(code), valuation, now=program.clock.now(), buckets=buckets)


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
    """

    day: date
    issued: int
    consumed: int
    expired: int
    adjusted: int
    redemptions: int
    draws: int


@final
@attrs.frozen
class DailyReport:
    """Points issued, consumed and expired per day, and the breakage over the span.

    Attributes:
        currency: The point currency.
        rows: One row per local day in the span, oldest first, quiet days included.
        issued: Issued over the span.
        consumed: Consumed over the span.
        expired: Expired over the span.
        breakage: ``expired / issued`` over the span (``None`` when nothing was issued).
    """

    currency: str
    rows: tuple[DailyRow, ...]
    issued: int
    consumed: int
    expired: int
    breakage: Fraction | None

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
        lines = [f"Daily flows of {self.currency}"]
        lines += _table(
            ["day", "issued", "consumed", "expired", "adjusted", "redemptions", "draws"], rows
        )
        breakage = "n/a" if self.breakage is None else _cell(self.breakage)
        lines.append(f"breakage (expired / issued): {breakage}")
        return "\n".join(lines)


def _day_bounds(
    program: Program, first: date, last: date
) -> tuple[datetime | None, datetime | None]:
    """Return ``[start, end)`` of the local days *first* to *last*; ``None`` for no bound.

    A bound outside the years 1 to 9999 in UTC (the start of 0001-01-01 east of Greenwich, the
    end of 9999-12-31) bounds nothing: every instant a datetime holds is on its side.
    """
    zone = program.config.zone
    try:
        start = resolve(datetime.combine(first, time()), zone)
    except OverflowError:
        start = None
    try:
        end = resolve(datetime.combine(last + timedelta(days=1), time()), zone)
    except OverflowError:
        end = None
    return start, end


def _flows(transaction: Transaction, currency: str) -> dict[AccountKind, int]:
    flows: Counter[AccountKind] = Counter()
    for posting in transaction.postings:
        if posting.phase is Phase.POSTED and posting.account.currency == currency:
            flows[posting.account.kind] += posting.amount
    return flows


def daily_report(
    program: Program, *, since: date, until: date, currency: str | None = None
) -> DailyReport:
    """Points issued, consumed and expired on each local day from *since* to *until*, inclusive.

    Raises:
        ArgumentTypeError: If *since* or *until* is not a date.
    """
    given: tuple[tuple[str, object], ...] = (("since", since), ("until", until))
    for name, value in given:
        if not isinstance(value, date) or isinstance(value, datetime):
            raise ArgumentTypeError(f"{name}={value!r} must be a date, not {type_name(value)}")
    code = currency or program.config.currency
    start, end = _day_bounds(program, since, until)
    totals: defaultdict[date, Counter[str]] = defaultdict(Counter)
    for transaction in program.transactions(since=start, until=end):
        if transaction.currency != code:
            continue
        try:
            day = wall(transaction.created_at, program.config.zone).date()
        except OverflowError:
            continue  # a local day after 9999-12-31 or before 0001-01-01 is outside the span
        flows = _flows(transaction, code)
        counts = totals[day]
        counts["issued"] -= flows[AccountKind.ISSUANCE]
        counts["consumed"] += flows[AccountKind.REDEMPTION] + flows[AccountKind.LOTTERY]
        counts["expired"] += flows[AccountKind.EXPIRED]
        counts["adjusted"] -= flows[AccountKind.ADJUSTMENT]
        if transaction.kind is TransactionKind.RESERVE and _command(transaction) == "redeem_offer":
            counts["redemptions"] += 1
        if transaction.kind is TransactionKind.DRAW:
            counts["draws"] += 1
    rows = []
    for offset in range((until - since).days + 1):
        day = since + timedelta(days=offset)
        counts = totals.get(day, Counter())
        rows.append(
            DailyRow(
                day=day,
                issued=counts["issued"],
                consumed=counts["consumed"],
                expired=counts["expired"],
                adjusted=counts["adjusted"],
                redemptions=counts["redemptions"],
                draws=counts["draws"],
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
        breakage=Fraction(expired, issued) if issued > 0 else None,
    )


def _command(transaction: Transaction) -> str:
    """The command a transaction was recorded by (the payload's first field, plain text)."""
    return dict(transaction.request).get("command", "")


def _field(transaction: Transaction, name: str) -> object:
    return json.loads(dict(transaction.request).get(name, "null"))


# -- offers -------------------------------------------------------------------------------------


@final
@attrs.frozen
class OfferRow:
    """One offer's redemptions over a span.

    Attributes:
        offer: The offer's id.
        name: Its name.
        redemptions: Redemptions made.
        units: Units redeemed.
        points: Points those redemptions held.
        fulfilled: Units whose redemption was fulfilled.
        cancelled: Units whose redemption was cancelled or timed out.
    """

    offer: str
    name: str
    redemptions: int
    units: int
    points: int
    fulfilled: int
    cancelled: int


@final
@attrs.frozen
class OfferReport:
    """The offers redeemed most, by units.

    Attributes:
        rows: The offers, most units first.
    """

    rows: tuple[OfferRow, ...]

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
            ]
            for row in self.rows
        ]
        lines = ["Hottest offers"]
        lines += _table(
            ["offer", "name", "redemptions", "units", "points", "fulfilled", "cancelled"],
            rows,
            "llrrrrr",
        )
        return "\n".join(lines)


def hottest_offers(
    program: Program,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 10,
) -> OfferReport:
    """The offers with the most units redeemed in ``[since, until)``, with what became of them.

    Raises:
        InvalidArgumentError: If *limit* is not a positive int.
    """
    top = check_int("limit", limit, minimum=1, maximum=sys.maxsize)
    names = {offer.id: offer.name for offer in program.config.offers}
    counts: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for transaction in program.transactions(since=since, until=until):
        if (
            transaction.kind is not TransactionKind.RESERVE
            or _command(transaction) != "redeem_offer"
        ):
            continue
        offer = str(_field(transaction, "offer"))
        units = int(str(_field(transaction, "quantity")))
        row = counts[offer]
        row["redemptions"] += 1
        row["units"] += units
        row["points"] += transaction.amount
        status = program.hold(transaction.id).status.value
        if status == "captured":
            row["fulfilled"] += units
        elif status in {"released", "expired"}:
            row["cancelled"] += units
    ranked = sorted(counts.items(), key=lambda item: (-item[1]["units"], item[0]))[:top]
    return OfferReport(
        tuple(
            OfferRow(
                offer=offer,
                name=names.get(offer, offer),
                redemptions=row["redemptions"],
                units=row["units"],
                points=row["points"],
                fulfilled=row["fulfilled"],
                cancelled=row["cancelled"],
            )
            for offer, row in ranked
        )
    )


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
    """

    rows: tuple[LotteryRow, ...]
    money: str | None

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
        return "\n".join(lines)


def lottery_cost(
    program: Program, *, since: datetime | None = None, until: datetime | None = None
) -> LotteryReport:
    """Each lottery's draws in ``[since, until)``: points in and out, prizes won, their cost."""
    won: defaultdict[str, Counter[str]] = defaultdict(Counter)
    draws: Counter[str] = Counter()
    points: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for transaction in program.transactions(since=since, until=until):
        if transaction.kind is not TransactionKind.DRAW:
            continue
        stored = program.record_of(f"pointkit:draw:{transaction.key}")
        if stored is None:  # pragma: no cover - recorded with the draw
            continue
        record = DrawRecord.from_dict(json.loads(stored))
        draws[record.lottery] += 1
        won[record.lottery][record.prize] += 1
        points[record.lottery]["in"] += record.cost
        points[record.lottery]["back"] += record.points_back
    money: str | None = None
    rows = []
    for lottery in program.config.lotteries:
        costs: list[Fraction] = []
        for prize in lottery.prizes:
            cost = _prize_cost(lottery, prize.id)
            costs.append(Fraction(0) if cost is None else cost)
            if prize.cost is not None:
                money = prize.cost.currency.code
        try:
            expected: Fraction | None = lottery.expectation().prize_cost * draws[lottery.id]
        except InvalidArgumentError:  # a prize without a cost: nothing to expect
            expected = None
        total = sum(
            (
                won[lottery.id][prize.id] * cost
                for prize, cost in zip(lottery.prizes, costs, strict=True)
            ),
            Fraction(0),
        )
        rows.append(
            LotteryRow(
                lottery=lottery.id,
                draws=draws[lottery.id],
                points_in=points[lottery.id]["in"],
                points_back=points[lottery.id]["back"],
                prizes=tuple((prize.id, won[lottery.id][prize.id]) for prize in lottery.prizes),
                prize_cost=total if expected is not None else None,
                expected_cost=expected,
            )
        )
    return LotteryReport(tuple(rows), money)


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
    """

    counts: tuple[tuple[str, int], ...]
    unreviewed: int

    def to_text(self) -> str:
        """The report as an aligned plain-text table."""
        total = sum(count for _, count in self.counts) or 1
        rows = [[tier, count, Fraction(count, total)] for tier, count in self.counts]
        lines = ["Tier distribution"]
        lines += _table(["tier", "members", "share"], rows)
        if self.unreviewed:
            lines.append(f"({self.unreviewed} not reviewed yet, counted in the lowest tier)")
        return "\n".join(lines)


def tier_distribution(program: Program) -> TierReport:
    """Members per tier now; members never reviewed count in the lowest tier.

    Raises:
        InvalidArgumentError: If the program has no tier ladder.
    """
    ladder = program.config.tiers
    if ladder is None:
        raise InvalidArgumentError("this program has no tiers ([tiers] in its file)")
    counts: Counter[str] = Counter()
    unreviewed = 0
    for member in program.members():
        status = program.tier_status(member)
        if status is None or status.state is None:
            unreviewed += 1
            counts[ladder.tiers[0].name] += 1
        else:
            counts[status.state.tier] += 1
    return TierReport(tuple((tier.name, counts[tier.name]) for tier in ladder.tiers), unreviewed)

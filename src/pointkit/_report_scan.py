"""The reports' fallback: the reports part's aggregates computed by scanning a program in Python.

Maintainer's notes
------------------
:mod:`pointkit.reports` asks the storage's reports part
(:class:`~pointkit.features.ReportReadUnit`) for its aggregates. A storage without the part
gets :class:`ScanReader` instead: the same questions answered the way the reports always
answered them, by reading the whole journal through :meth:`~pointkit.program.Program.transactions`
and the records, holds, lots and tier states through the programme. It is exact and slow
(about 90 seconds at a million transactions), so the reports say when they used it.

Both answer in the part's types, so a report is built the same way whichever answered, and the
tests compare the two on every adapter.

The scan streams: the journal is read a transaction at a time in one read unit
(:func:`_journal`), never gathered, and every figure is a sum, so the order does not matter.
Where a figure needs another read of the programme per transaction (a redemption's record, a
draw's), the few transactions it needs are kept and read after the unit has closed, since a
read unit cannot open inside another on the same connection.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from typing import TYPE_CHECKING, final

from pointkit._localtime import wall
from pointkit._validate import check_aware
from pointkit.features import CohortPoints, OfferSales, PrizeDraws, day_flows
from pointkit.features._report_parts import DRAW_PREFIX, day_span
from pointkit.ledger import AccountKind, Phase, TransactionKind
from pointkit.pricing import DrawRecord


if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence
    from datetime import date, datetime
    from zoneinfo import ZoneInfo

    from pointkit.features import DayFlows
    from pointkit.ledger import Transaction
    from pointkit.program import Program


__all__ = ["ScanReader"]


def _command(transaction: Transaction) -> str:
    """The command a transaction was recorded by (the payload's first field, plain text)."""
    return dict(transaction.request).get("command", "")


def _journal(
    program: Program,
    since: datetime | None,
    until: datetime | None,
    keep: Callable[[Transaction], bool],
) -> Iterator[Transaction]:
    """The transactions recorded in ``[since, until)`` that *keep* accepts, in storage order.

    Streamed from one read unit; do not open another read of the programme while iterating.
    """
    start = None if since is None else check_aware("since", since)
    end = None if until is None else check_aware("until", until)
    with program.ledger.storage.reading(program.ledger.program) as unit:
        for transaction in unit.all_transactions():
            at = transaction.created_at
            if (start is None or at >= start) and (end is None or at < end) and keep(transaction):
                yield transaction


def _any(_: Transaction) -> bool:
    return True


def _redemption(transaction: Transaction) -> bool:
    return transaction.kind is TransactionKind.RESERVE and _command(transaction) == "redeem_offer"


def _draw(transaction: Transaction) -> bool:
    return transaction.kind is TransactionKind.DRAW


@final
class ScanReader:
    """The reports part's reads, answered by scanning *program* in Python."""

    def __init__(self, program: Program) -> None:
        self._program = program

    def flows_by_day(
        self, currency: str, zone: ZoneInfo, first: date, last: date
    ) -> Sequence[DayFlows]:
        start, end = day_span(zone, first, last)
        rows: list[tuple[date, str, int]] = []
        for transaction in _journal(self._program, start, end, _any):
            try:
                day = wall(transaction.created_at, zone).date()
            except OverflowError:
                continue  # a local day after 9999-12-31 or before 0001-01-01 is outside the span
            for posting in transaction.postings:
                account = posting.account
                if (
                    posting.phase is Phase.POSTED
                    and account.currency == currency
                    and account.kind is not AccountKind.MEMBER
                ):
                    rows.append((day, account.kind.value, posting.amount))
            if transaction.currency != currency:
                continue
            if transaction.kind is TransactionKind.RESERVE and _command(transaction) == (
                "redeem_offer"
            ):
                rows.append((day, "redemptions", 1))
            if transaction.kind is TransactionKind.DRAW:
                rows.append((day, "draws", 1))
        return day_flows(rows)

    def outstanding_by_expiry(
        self, currency: str, bounds: Sequence[datetime | None]
    ) -> Sequence[int]:
        sums = [0] * (len(bounds) + 2)
        for expires_at, points in self._program.outstanding(currency):
            if expires_at is None:
                sums[-1] += points
                continue
            index = next(
                (i for i, bound in enumerate(bounds) if bound is None or expires_at <= bound),
                len(bounds),
            )
            sums[index] += points
        return sums

    def issued_cohort(
        self, currency: str, since: datetime | None, until: datetime | None
    ) -> CohortPoints:
        program = self._program
        start = None if since is None else check_aware("since", since)
        end = None if until is None else check_aware("until", until)
        issued = expired = outstanding = 0
        with program.ledger.storage.reading(program.ledger.program) as unit:
            for lot in unit.all_lots():
                if lot.currency != currency:
                    continue
                # The lot counts if an earn in the span created it: its source, read per lot
                # rather than every earn's id held in a set.
                source = unit.transaction(lot.source)
                if (
                    source is not None
                    and source.kind is TransactionKind.EARN
                    and (start is None or source.created_at >= start)
                    and (end is None or source.created_at < end)
                ):
                    issued += lot.amount
                    expired += lot.expired
                    outstanding += lot.remaining
        return CohortPoints(issued, expired, outstanding)

    def offer_sales(self, since: datetime | None, until: datetime | None) -> Sequence[OfferSales]:
        program = self._program
        counts: defaultdict[str, Counter[str]] = defaultdict(Counter)
        made = [(t.key, t.amount) for t in _journal(program, since, until, _redemption)]
        for key, amount in made:
            redemption = program.redemption(key)
            units = redemption.quantity
            row = counts[redemption.offer]
            row["redemptions"] += 1
            row["units"] += units
            row["points"] += amount
            status = redemption.status.value
            if status == "fulfilled":
                row["fulfilled"] += units
            elif status in {"cancelled", "expired"}:
                row["cancelled"] += units
            row["refunded"] += redemption.refunded
        return [
            OfferSales(
                offer=offer,
                redemptions=row["redemptions"],
                units=row["units"],
                points=row["points"],
                fulfilled=row["fulfilled"],
                cancelled=row["cancelled"],
                refunded=row["refunded"],
            )
            for offer, row in sorted(counts.items())
        ]

    def lottery_draws(self, since: datetime | None, until: datetime | None) -> Sequence[PrizeDraws]:
        program = self._program
        counts: defaultdict[tuple[str, str], Counter[str]] = defaultdict(Counter)
        keys = [transaction.key for transaction in _journal(program, since, until, _draw)]
        for key in keys:
            stored = program.record_of(f"{DRAW_PREFIX}{key}")
            if stored is None:  # pragma: no cover - recorded with the draw
                continue
            record = DrawRecord.from_dict(json.loads(stored))
            row = counts[(record.lottery, record.prize)]
            row["draws"] += 1
            row["points_in"] += record.cost
            row["points_back"] += record.points_back
        return [
            PrizeDraws(lottery, prize, row["draws"], row["points_in"], row["points_back"])
            for (lottery, prize), row in sorted(counts.items())
        ]

    def tier_members(self) -> Sequence[tuple[str | None, int]]:
        program = self._program
        counts: Counter[str | None] = Counter()
        for member in program.members():
            status = program.tier_status(member)
            counts[None if status is None or status.state is None else status.state.tier] += 1
        return sorted(counts.items(), key=lambda item: (item[0] is not None, item[0] or ""))

"""The in-memory adapter's reports part: the reports' aggregates, in plain Python over its data.

This is the reference the SQL adapters are checked against (``pointkit.testing``), so it is
written as directly as the definitions in :mod:`pointkit.features._report_parts` allow: one
pass over the journal, the lots, the records or the wallets, no index.
"""

from __future__ import annotations

import bisect
import json
import uuid
from collections import Counter, defaultdict
from typing import TYPE_CHECKING

from pointkit.features._report_parts import (
    DRAW_KIND,
    DRAW_PREFIX,
    REDEMPTION_KIND,
    REDEMPTION_PREFIX,
    REFUNDED_PREFIX,
    CohortPoints,
    DayFlows,
    LocalDay,
    OfferSales,
    PrizeDraws,
    day_flows,
    local_days,
)
from pointkit.ledger._records import AccountKind, HoldId, HoldStatus, Phase, TransactionKind


if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import date, datetime
    from zoneinfo import ZoneInfo

    from pointkit.storage.memory import _ProgramData


__all__ = ["MemoryReportRows"]


def _within(at: datetime, since: datetime | None, until: datetime | None) -> bool:
    return (since is None or at >= since) and (until is None or at < until)


class _Days:
    """Local days, and the day an instant falls on."""

    def __init__(self, days: Sequence[LocalDay]) -> None:
        self._days = days
        # Day i + 1 starts at starts[i] (only the first day's start and the last day's end
        # may be open), so the starts at or before an instant count the days before its own.
        self._starts = [day.start for day in days[1:] if day.start is not None]

    def of(self, at: datetime) -> date | None:
        """The day *at* falls on, or ``None`` outside the days."""
        days = self._days
        if not days or not _within(at, days[0].start, days[-1].end):
            return None
        return days[bisect.bisect_right(self._starts, at)].day


class MemoryReportRows:
    """The reports part of the in-memory unit of work; mixed into it."""

    _data: _ProgramData

    def flows_by_day(
        self, currency: str, zone: ZoneInfo, first: date, last: date
    ) -> Sequence[DayFlows]:
        data = self._data
        instants = [transaction.created_at for transaction in data.transactions.values()]
        instants += [record.at for record in data.rule_events.values()]
        if not instants:
            return ()
        days = _Days(local_days(zone, first, last, within=(min(instants), max(instants))))
        rows: list[tuple[date, str, int]] = []
        for transaction in data.transactions.values():
            day = days.of(transaction.created_at)
            if day is None:
                continue
            rows += [
                (day, posting.account.kind.value, posting.amount)
                for posting in transaction.postings
                if posting.phase is Phase.POSTED
                and posting.account.currency == currency
                and posting.account.kind is not AccountKind.MEMBER
            ]
            if transaction.kind is TransactionKind.DRAW and transaction.currency == currency:
                rows.append((day, "draws", 1))
        for record in data.rule_events.values():
            day = None if record.kind != REDEMPTION_KIND else days.of(record.at)
            if day is not None and json.loads(record.decision)["currency"] == currency:
                rows.append((day, "redemptions", 1))
        return day_flows(rows)

    def outstanding_by_expiry(
        self, currency: str, bounds: Sequence[datetime | None]
    ) -> Sequence[int]:
        sums = [0] * (len(bounds) + 2)
        for lot in self._data.lots.values():
            if lot.currency != currency or lot.remaining <= 0:
                continue
            if lot.expires_at is None:
                sums[-1] += lot.remaining
                continue
            index = next(
                (i for i, bound in enumerate(bounds) if bound is None or lot.expires_at <= bound),
                len(bounds),
            )
            sums[index] += lot.remaining
        return sums

    def issued_cohort(
        self, currency: str, since: datetime | None, until: datetime | None
    ) -> CohortPoints:
        data = self._data
        issued = expired = outstanding = 0
        for lot in data.lots.values():
            source = data.transactions.get(lot.source)
            if (
                lot.currency != currency
                or source is None
                or source.kind is not TransactionKind.EARN
                or not _within(lot.earned_at, since, until)
            ):
                continue
            issued += lot.amount
            expired += lot.expired
            outstanding += lot.remaining
        return CohortPoints(issued, expired, outstanding)

    def offer_sales(self, since: datetime | None, until: datetime | None) -> Sequence[OfferSales]:
        data = self._data
        sums: defaultdict[str, Counter[str]] = defaultdict(Counter)
        for event_id, record in data.rule_events.items():
            if record.kind != REDEMPTION_KIND or not _within(record.at, since, until):
                continue
            hold_id = event_id.removeprefix(REDEMPTION_PREFIX)
            hold = data.holds.get(HoldId(uuid.UUID(hold_id)))
            document = json.loads(record.decision)
            units = int(document["quantity"])
            row = sums[str(document["offer"])]
            row["redemptions"] += 1
            row["units"] += units
            row["points"] += int(document["points"])
            status = None if hold is None else hold.status
            if status is HoldStatus.CAPTURED:
                row["fulfilled"] += units
            elif status in {HoldStatus.RELEASED, HoldStatus.EXPIRED}:
                row["cancelled"] += units
            refunded = data.counters.get((record.member, (REFUNDED_PREFIX + hold_id, "lifetime")))
            row["refunded"] += 0 if refunded is None else refunded[1]
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
            for offer, row in sorted(sums.items())
        ]

    def lottery_draws(self, since: datetime | None, until: datetime | None) -> Sequence[PrizeDraws]:
        sums: defaultdict[tuple[str, str], Counter[str]] = defaultdict(Counter)
        for event_id, record in self._data.rule_events.items():
            if record.kind != DRAW_KIND or not _within(record.at, since, until):
                continue
            if not event_id.startswith(DRAW_PREFIX):  # pragma: no cover - the lottery's ids
                continue
            document = json.loads(record.decision)
            row = sums[(str(document["lottery"]), str(document["prize"]))]
            row["draws"] += 1
            row["points_in"] += int(document["cost"])
            row["points_back"] += int(document["points_back"])
        return [
            PrizeDraws(lottery, prize, row["draws"], row["points_in"], row["points_back"])
            for (lottery, prize), row in sorted(sums.items())
        ]

    def tier_members(self) -> Sequence[tuple[str | None, int]]:
        data = self._data
        members = {member for member, _ in data.wallets}
        counts: Counter[str | None] = Counter()
        for member in members:
            stored = data.tiers.get(member)
            counts[None if stored is None else stored[0].tier] += 1
        return sorted(counts.items(), key=lambda item: (item[0] is not None, item[0] or ""))

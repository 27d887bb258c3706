"""The PostgreSQL adapter's reports part: each report's aggregate as one or two SQL queries.

Maintainer's notes
------------------
Instants are ``timestamptz``. A local day is a range of instants computed in Python
(:func:`~pointkit.features.local_days`, which knows the zone's daylight-saving rules, so the
three adapters agree to the microsecond). The query reads the whole span in one range scan of
an index (schema version 6 adds them) and puts each row in its day with
``width_bucket(instant, starts)``, a binary search in the array of the days' first instants.
Joining the rows to a table of days by range was measured slower: the planner cannot estimate
such a join, rescans the smaller side once a day and compiles the query with JIT. Bucketing
with ``AT TIME ZONE`` would depend on the server's copy of the zone database and on its rules
for gaps and folds, not pointkit's. The first and last instants with data bound the days, so a
report over centuries costs no more than one over the years that hold points.

Bounds are sent as text (``'-infinity'``/``'infinity'`` for an open end, which ``datetime``
cannot hold) and cast to ``timestamptz``. ``SUM`` of ``bigint`` is ``numeric``: totals never
overflow. Documents are parsed once per row, as ``jsonb``, in a materialised subquery.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from pointkit.features._report_parts import (
    DRAW_KIND,
    DRAW_PREFIX,
    REDEMPTION_KIND,
    REDEMPTION_PREFIX,
    REFUNDED_PREFIX,
    CohortPoints,
    DayFlows,
    OfferSales,
    PrizeDraws,
    day_flows,
    local_days,
)


if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from datetime import date, datetime
    from zoneinfo import ZoneInfo

    import psycopg


__all__ = ["ReportRows"]

_FLOWS: Final = (
    "SELECT width_bucket(created_at, %(starts)s::timestamptz[]), account_kind, SUM(amount) "
    "FROM {s}.pk_posting WHERE program_id = %(program)s AND currency = %(currency)s "
    "AND phase = 'posted' AND account_kind <> 'member' "
    "AND created_at >= %(low)s::timestamptz AND created_at < %(high)s::timestamptz "
    "GROUP BY 1, 2 "
    "UNION ALL SELECT width_bucket(at, %(starts)s::timestamptz[]), 'redemptions', COUNT(*) "
    "FROM {s}.pk_rule_event WHERE program_id = %(program)s AND kind = %(redemption)s "
    "AND at >= %(low)s::timestamptz AND at < %(high)s::timestamptz "
    "AND decision::json ->> 'currency' = %(currency)s GROUP BY 1 "
    "UNION ALL SELECT width_bucket(e.at, %(starts)s::timestamptz[]), 'draws', COUNT(*) "
    "FROM {s}.pk_rule_event AS e JOIN {s}.pk_txn AS t ON t.program_id = e.program_id "
    "AND t.member = e.member AND t.idem_key = substr(e.event_id, %(prefix)s) "
    "WHERE e.program_id = %(program)s AND e.kind = %(draw)s AND e.at >= %(low)s::timestamptz "
    "AND e.at < %(high)s::timestamptz AND t.body::json ->> 'currency' = %(currency)s GROUP BY 1"
)


def _low(at: datetime | None) -> str:
    return "-infinity" if at is None else at.isoformat()


def _high(at: datetime | None) -> str:
    return "infinity" if at is None else at.isoformat()


class ReportRows:
    """The reports part of a unit of work; mixed into the adapter's unit."""

    _db: psycopg.Connection[Any]
    _s: str
    _program: str

    def _rows(
        self, sql: str, parameters: Sequence[object] | Mapping[str, object]
    ) -> list[tuple[Any, ...]]:
        return self._db.execute(sql.replace("{s}", self._s), parameters).fetchall()

    def _span(self, currency: str) -> tuple[datetime, datetime] | None:
        """The first and last instants of the flows, redemptions and draws, if there are any."""
        flows = (
            "(SELECT {f}(created_at) FROM {s}.pk_posting WHERE program_id = %s "
            "AND currency = %s AND phase = 'posted' AND account_kind <> 'member')"
        )
        records = "(SELECT {f}(at) FROM {s}.pk_rule_event WHERE program_id = %s AND kind = %s)"
        each = (flows, records, records)
        program = self._program
        parameters = (program, currency, program, REDEMPTION_KIND, program, DRAW_KIND)
        found: list[datetime] = []
        for function in ("MIN", "MAX"):
            selects = ", ".join(part.replace("{f}", function) for part in each)
            found += [value for value in self._rows(f"SELECT {selects}", parameters)[0] if value]
        if not found:
            return None
        return min(found), max(found)

    def flows_by_day(
        self, currency: str, zone: ZoneInfo, first: date, last: date
    ) -> Sequence[DayFlows]:
        span = self._span(currency)
        if span is None:
            return ()
        days = local_days(zone, first, last, within=span)
        if not days:
            return ()
        found = self._rows(
            _FLOWS,
            {
                "starts": [_low(day.start) for day in days],
                "low": _low(days[0].start),
                "high": _high(days[-1].end),
                "program": self._program,
                "currency": currency,
                "redemption": REDEMPTION_KIND,
                "draw": DRAW_KIND,
                "prefix": len(DRAW_PREFIX) + 1,
            },
        )
        # width_bucket counts from 1: the rows of days[0] are in bucket 1.
        return day_flows(
            (days[bucket - 1].day, figure, int(total)) for bucket, figure, total in found
        )

    def outstanding_by_expiry(
        self, currency: str, bounds: Sequence[datetime | None]
    ) -> Sequence[int]:
        cases = " ".join(
            f"WHEN expires_at <= %s::timestamptz THEN {index}" for index in range(len(bounds))
        )
        rows = self._rows(
            f"SELECT CASE WHEN expires_at IS NULL THEN -1 {cases} ELSE {len(bounds)} END "
            "AS bucket, SUM(remaining) FROM {s}.pk_lot WHERE program_id = %s "
            "AND currency = %s AND remaining > 0 GROUP BY bucket",
            [*(_high(bound) for bound in bounds), self._program, currency],
        )
        found = [0] * (len(bounds) + 2)
        for index, total in rows:
            found[index] = int(total)
        return found

    def issued_cohort(
        self, currency: str, since: datetime | None, until: datetime | None
    ) -> CohortPoints:
        rows = self._rows(
            "SELECT COALESCE(SUM(l.amount), 0), COALESCE(SUM(l.expired), 0), "
            "COALESCE(SUM(l.remaining), 0) FROM {s}.pk_lot AS l JOIN {s}.pk_txn AS t "
            "ON t.program_id = l.program_id AND t.member = l.member AND t.txn_id = l.source "
            "WHERE l.program_id = %s "
            "AND l.currency = %s AND l.earned_at >= %s::timestamptz "
            "AND l.earned_at < %s::timestamptz AND t.kind = 'earn'",
            [self._program, currency, _low(since), _high(until)],
        )
        issued, expired, outstanding = rows[0]
        return CohortPoints(int(issued), int(expired), int(outstanding))

    def offer_sales(self, since: datetime | None, until: datetime | None) -> Sequence[OfferSales]:
        program = self._program
        rows = self._rows(
            "WITH r AS MATERIALIZED (SELECT member, substr(event_id, %s) AS hold, "
            "decision::jsonb AS j FROM {s}.pk_rule_event WHERE program_id = %s AND kind = %s "
            "AND at >= %s::timestamptz AND at < %s::timestamptz), "
            "q AS (SELECT member, hold, j ->> 'offer' AS offer, "
            "(j ->> 'quantity')::bigint AS quantity, (j ->> 'points')::numeric AS points "
            "FROM r) "
            "SELECT q.offer, COUNT(*), SUM(q.quantity), SUM(q.points), "
            "SUM(CASE WHEN h.status = 'captured' THEN q.quantity ELSE 0 END), "
            "SUM(CASE WHEN h.status IN ('released', 'expired') THEN q.quantity ELSE 0 END), "
            "SUM(COALESCE(c.tasks, 0)) FROM q LEFT JOIN {s}.pk_hold AS h "
            "ON h.program_id = %s AND h.member = q.member AND h.hold_id = q.hold::uuid "
            "LEFT JOIN {s}.pk_counter AS c ON c.program_id = %s AND c.member = q.member "
            "AND c.scope = %s || q.hold AND c.period = 'lifetime' GROUP BY q.offer",
            [
                len(REDEMPTION_PREFIX) + 1,
                program,
                REDEMPTION_KIND,
                _low(since),
                _high(until),
                program,
                program,
                REFUNDED_PREFIX,
            ],
        )
        return sorted(
            (OfferSales(str(offer), *(int(value) for value in sums)) for offer, *sums in rows),
            key=lambda sales: sales.offer,
        )

    def lottery_draws(self, since: datetime | None, until: datetime | None) -> Sequence[PrizeDraws]:
        rows = self._rows(
            "WITH r AS MATERIALIZED (SELECT decision::jsonb AS j FROM {s}.pk_rule_event "
            "WHERE program_id = %s AND kind = %s AND at >= %s::timestamptz "
            "AND at < %s::timestamptz) "
            "SELECT j ->> 'lottery', j ->> 'prize', COUNT(*), SUM((j ->> 'cost')::numeric), "
            "SUM((j ->> 'points_back')::numeric) FROM r GROUP BY 1, 2",
            [self._program, DRAW_KIND, _low(since), _high(until)],
        )
        return sorted(
            (
                PrizeDraws(str(lottery), str(prize), int(draws), int(cost), int(back))
                for lottery, prize, draws, cost, back in rows
            ),
            key=lambda won: (won.lottery, won.prize),
        )

    def tier_members(self) -> Sequence[tuple[str | None, int]]:
        rows = self._rows(
            "SELECT t.tier, COUNT(*) FROM (SELECT DISTINCT member FROM {s}.pk_wallet "
            "WHERE program_id = %s AND version > 0) AS w LEFT JOIN {s}.pk_tier AS t "
            "ON t.program_id = %s AND t.member = w.member GROUP BY t.tier",
            [self._program, self._program],
        )
        return sorted(
            ((tier, int(count)) for tier, count in rows),
            key=lambda item: (item[0] is not None, item[0] or ""),
        )

    def members_page(self, after: str | None, limit: int) -> Sequence[str]:
        """Up to *limit* members with a wallet after *after* (from the first if ``None``), sorted.

        A keyset page: exports walk the members with it, a page at a time, instead of holding
        them all. Sorted in the "C" collation, by code point, as Python sorts.
        """
        rows = self._rows(
            'SELECT DISTINCT member COLLATE "C" FROM {s}.pk_wallet WHERE program_id = %s '
            'AND version > 0 AND member COLLATE "C" > %s ORDER BY 1 LIMIT %s',
            [self._program, "" if after is None else after, limit],
        )
        return [member for (member,) in rows]

"""The SQLite adapter's reports part: each report's aggregate as one or two SQL queries.

Maintainer's notes
------------------
Instants are integer microseconds (``_schema``), so a local day is a range of integers: the
days are turned into ``[start, end)`` pairs in Python (:func:`~pointkit.features.local_days`,
which knows the zone's daylight-saving rules), and each day is summed by one query whose range
scan reads a covering index (schema version 6 adds them). One statement per day, prepared once
and cached, was measured three to ten times faster at a million transactions than joining the
rows to a ``VALUES`` table of the days: for such a join SQLite 3.38+ builds a Bloom filter by
reading every row of the index (or of ``pk_txn``) before the first day. The first and last
instants with data bound the days, so a report over centuries costs no more than one over the
years that hold points.

SQLite's ``SUM`` of integers fails on overflow instead of wrapping; every figure here is
summed in SQL and, on the rare total past 2**63 - 1 (each member may hold ``POINTS_MAX``),
again row by row in Python, exactly.

Documents are read with ``json_extract`` in a materialised subquery, so each field is parsed
once per row.
"""

from __future__ import annotations

import sqlite3
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
from pointkit.ledger._codec import from_micros, to_micros


if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from datetime import date, datetime
    from zoneinfo import ZoneInfo

    from pointkit.ledger import Lot


__all__ = ["ReportRows"]

_LOWEST: Final = -(2**63)
_HIGHEST: Final = 2**63 - 1
_FLOWS: Final = (
    "FROM pk_posting WHERE program_id = ? AND currency = ? AND phase = 'posted' "
    "AND account_kind <> 'member' AND created_at >= ? AND created_at < ?"
)
_COUNTS: Final = (
    "SELECT (SELECT COUNT(*) FROM pk_rule_event WHERE program_id = ? AND kind = ? "
    "AND at >= ? AND at < ? AND json_extract(decision, '$.currency') = ?), "
    "(SELECT COUNT(*) FROM pk_rule_event AS e JOIN pk_txn AS t "
    "ON t.program_id = e.program_id AND t.idem_key = substr(e.event_id, ?) "
    "WHERE e.program_id = ? AND e.kind = ? AND e.at >= ? AND e.at < ? "
    "AND json_extract(t.body, '$.currency') = ?)"
)


def _low(at: datetime | None) -> int:
    return _LOWEST if at is None else to_micros(at)


def _high(at: datetime | None) -> int:
    return _HIGHEST if at is None else to_micros(at)


class ReportRows:
    """The reports part of a unit of work; mixed into the adapter's unit."""

    _db: sqlite3.Connection
    _program: str

    def _sums(
        self, keys: Sequence[str], sums: Sequence[str], source: str, parameters: Sequence[object]
    ) -> dict[tuple[Any, ...], list[int]]:
        """``SUM`` each of *sums* over *source* (``[WITH ...] FROM ... WHERE ...``) by *keys*.

        Returns the groups that have rows. *source* may start with a ``WITH`` clause, written
        before the SELECT.
        """
        prefix, _, body = source.rpartition("\nSELECT\n")
        head = f"{prefix} SELECT" if prefix else "SELECT"
        key_list = ", ".join(keys)
        group = f" GROUP BY {key_list}" if keys else ""
        selected = ", ".join([*keys, *(f"SUM({value})" for value in sums), "COUNT(*)"])
        totals: dict[tuple[Any, ...], list[int]] = {}
        try:
            rows = self._db.execute(f"{head} {selected} {body}{group}", parameters).fetchall()
        except sqlite3.OperationalError as error:
            if "integer overflow" not in str(error):
                raise
            raw = ", ".join([*keys, *sums])
            for row in self._db.execute(f"{head} {raw} {body}", parameters):
                slot = totals.setdefault(tuple(row[: len(keys)]), [0] * len(sums))
                for index, value in enumerate(row[len(keys) :]):
                    slot[index] += int(value)
            return totals
        for row in rows:
            if row[-1]:  # an aggregate without GROUP BY gives one row even over no rows
                totals[tuple(row[: len(keys)])] = [int(value) for value in row[len(keys) : -1]]
        return totals

    def _span(self, currency: str) -> tuple[datetime, datetime] | None:
        """The first and last instants of the flows, redemptions and draws, if there are any."""
        flows = (
            "(SELECT {f}(created_at) FROM pk_posting WHERE program_id = ? AND currency = ? "
            "AND phase = 'posted' AND account_kind <> 'member')"
        )
        records = "(SELECT {f}(at) FROM pk_rule_event WHERE program_id = ? AND kind = ?)"
        each = (flows, records, records)
        program = self._program
        parameters = (program, currency, program, REDEMPTION_KIND, program, DRAW_KIND)
        found: list[int] = []
        for function in ("MIN", "MAX"):
            row = self._db.execute(
                "SELECT " + ", ".join(part.format(f=function) for part in each), parameters
            ).fetchone()
            found += [value for value in row if value is not None]
        if not found:
            return None
        return from_micros(min(found)), from_micros(max(found))

    def flows_by_day(
        self, currency: str, zone: ZoneInfo, first: date, last: date
    ) -> Sequence[DayFlows]:
        span = self._span(currency)
        if span is None:
            return ()
        days = local_days(zone, first, last, within=span)
        rows: list[tuple[date, str, int]] = []
        program, prefix = self._program, len(DRAW_PREFIX) + 1
        for day in days:
            low, high = _low(day.start), _high(day.end)
            flows = self._sums(["account_kind"], ["amount"], _FLOWS, [program, currency, low, high])
            rows += [(day.day, kind, total[0]) for (kind,), total in flows.items()]
            redemptions = (program, REDEMPTION_KIND, low, high, currency)
            draws = (prefix, program, DRAW_KIND, low, high, currency)
            counted = self._db.execute(_COUNTS, (*redemptions, *draws)).fetchone()
            rows += [(day.day, "redemptions", counted[0]), (day.day, "draws", counted[1])]
        return day_flows(rows)

    def outstanding_by_expiry(
        self, currency: str, bounds: Sequence[datetime | None]
    ) -> Sequence[int]:
        cases = " ".join(f"WHEN expires_at <= ? THEN {index}" for index in range(len(bounds)))
        bucket = f"CASE WHEN expires_at IS NULL THEN -1 {cases} ELSE {len(bounds)} END"
        sums = self._sums(
            ["bucket"],
            ["remaining"],
            f"WITH lots_open (bucket, remaining) AS (SELECT {bucket}, remaining FROM pk_lot "
            "WHERE program_id = ? AND currency = ? AND remaining > 0)\nSELECT\nFROM lots_open",
            [*(_high(bound) for bound in bounds), self._program, currency],
        )
        found = [0] * (len(bounds) + 2)
        for (index,), total in sums.items():
            found[index] = total[0]
        return found

    def issued_cohort(
        self, currency: str, since: datetime | None, until: datetime | None
    ) -> CohortPoints:
        sums = self._sums(
            [],
            ["l.amount", "l.expired", "l.remaining"],
            "FROM pk_lot AS l JOIN pk_txn AS t ON t.program_id = l.program_id "
            "AND t.txn_id = l.source WHERE l.program_id = ? AND l.currency = ? "
            "AND l.earned_at >= ? AND l.earned_at < ? AND t.kind = 'earn'",
            [self._program, currency, _low(since), _high(until)],
        )
        issued, expired, outstanding = sums.get((), [0, 0, 0])
        return CohortPoints(issued, expired, outstanding)

    def offer_sales(self, since: datetime | None, until: datetime | None) -> Sequence[OfferSales]:
        program = self._program
        sums = self._sums(
            ["r.offer"],
            [
                "1",
                "r.quantity",
                "r.points",
                "CASE WHEN h.status = 'captured' THEN r.quantity ELSE 0 END",
                "CASE WHEN h.status IN ('released', 'expired') THEN r.quantity ELSE 0 END",
                "COALESCE(c.tasks, 0)",
            ],
            "WITH r AS MATERIALIZED (SELECT member, substr(event_id, ?) AS hold, "
            "json_extract(decision, '$.offer') AS offer, "
            "json_extract(decision, '$.quantity') AS quantity, "
            "json_extract(decision, '$.points') AS points, "
            "json_extract(decision, '$.key') AS key FROM pk_rule_event "
            "WHERE program_id = ? AND kind = ? AND at >= ? AND at < ?)\nSELECT\n"
            "FROM r LEFT JOIN pk_txn AS t ON t.program_id = ? AND t.idem_key = r.key "
            "LEFT JOIN pk_hold AS h ON h.program_id = ? AND h.hold_id = t.txn_id "
            "LEFT JOIN pk_counter AS c ON c.program_id = ? AND c.member = r.member "
            "AND c.scope = ? || r.hold AND c.period = 'lifetime'",
            [
                len(REDEMPTION_PREFIX) + 1,
                program,
                REDEMPTION_KIND,
                _low(since),
                _high(until),
                program,
                program,
                program,
                REFUNDED_PREFIX,
            ],
        )
        return [OfferSales(str(offer), *total) for (offer,), total in sorted(sums.items())]

    def lottery_draws(self, since: datetime | None, until: datetime | None) -> Sequence[PrizeDraws]:
        sums = self._sums(
            ["r.lottery", "r.prize"],
            ["1", "r.cost", "r.back"],
            "WITH r AS MATERIALIZED (SELECT json_extract(decision, '$.lottery') AS lottery, "
            "json_extract(decision, '$.prize') AS prize, "
            "json_extract(decision, '$.cost') AS cost, "
            "json_extract(decision, '$.points_back') AS back FROM pk_rule_event "
            "WHERE program_id = ? AND kind = ? AND at >= ? AND at < ?)\nSELECT\nFROM r",
            [self._program, DRAW_KIND, _low(since), _high(until)],
        )
        return [
            PrizeDraws(str(lottery), str(prize), *total)
            for (lottery, prize), total in sorted(sums.items())
        ]

    def tier_members(self) -> Sequence[tuple[str | None, int]]:
        rows = self._db.execute(
            "SELECT t.tier, COUNT(*) FROM (SELECT DISTINCT member FROM pk_wallet "
            "WHERE program_id = ?) AS w LEFT JOIN pk_tier AS t ON t.program_id = ? "
            "AND t.member = w.member GROUP BY t.tier",
            (self._program, self._program),
        ).fetchall()
        return sorted(
            ((tier, int(count)) for tier, count in rows),
            key=lambda item: (item[0] is not None, item[0] or ""),
        )

    def members_page(self, after: str | None, limit: int) -> Sequence[str]:
        """Up to *limit* members with a wallet after *after* (from the first if ``None``), sorted.

        A keyset page on the wallets' primary key: exports walk the members with it, a page at
        a time, instead of holding them all (SQLite's text order is Python's).
        """
        rows = self._db.execute(
            "SELECT DISTINCT member FROM pk_wallet WHERE program_id = ? AND member > ? "
            "ORDER BY member LIMIT ?",
            (self._program, "" if after is None else after, limit),
        ).fetchall()
        return [member for (member,) in rows]

    def lots_in_order(self, currencies: Sequence[str]) -> Iterator[Lot]:
        """Every lot in *currencies*, closed ones included, streamed a row at a time.

        By member (as Python sorts them), then currency in the order of *currencies*, then
        spending order (each member's ``wallet_lots``). The lots export reads them with this:
        one sorted scan, where a member at a time would scan the table once per member, since
        closed lots have no index by member.
        """
        from pointkit.storage.sqlite._storage import (  # noqa: PLC0415 - it imports this module
            _LOT_COLUMNS,
            _lot,
        )

        order = " ".join(f"WHEN ? THEN {index}" for index in range(len(currencies)))
        marks = ", ".join("?" * len(currencies))
        rows = self._db.execute(
            f"SELECT {_LOT_COLUMNS} FROM pk_lot WHERE program_id = ? AND currency IN ({marks}) "
            f"ORDER BY member, CASE currency {order} END, expiry_order, available_at, lot_id",
            (self._program, *currencies, *currencies),
        )
        return (_lot(row) for row in rows)

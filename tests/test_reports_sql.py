"""Reports that scale: the storage's reports part gives what the Python scan gives, on every adapter.

The scripted programme (``pointkit.testing._report_checks.play_report_scenario``) has events,
redemptions fulfilled, cancelled, timed out and refunded, draws with points prizes, a transfer, a
conversion, a clawback that writes off, and points expiring at local midnights around the
daylight-saving change in Europe/Berlin.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import sqlite3
import uuid
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Final
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pointkit import FixedClock, Ledger, MemoryStorage, jsonable, limits
from pointkit._localtime import wall
from pointkit.exceptions import ArgumentTypeError, InvalidArgumentError, UnknownCurrencyError
from pointkit.features import local_days
from pointkit.features._catalogue import _redemption_record, _refunded_counter
from pointkit.features._lottery import _draw_record
from pointkit.features._report_parts import DRAW_PREFIX, REDEMPTION_PREFIX, REFUNDED_PREFIX
from pointkit.ledger import TransactionId
from pointkit.program import Program
from pointkit.reports import (
    DailyReport,
    LotteryReport,
    OfferReport,
    TierReport,
    daily_report,
    hottest_offers,
    liability_report,
    lottery_cost,
    tier_distribution,
    to_csv,
    to_dict,
)
from pointkit.storage.sqlite import SQLiteStorage
from pointkit.storage.sqlite._report_rows import _FLOWS
from pointkit.testing import check_storage_conformance
from pointkit.testing._report_checks import (
    REPORT_SCENARIO,
    check_report_part,
    play_report_scenario,
)


if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence
    from pathlib import Path

    from pointkit._values import ProgramId
    from pointkit.features import OfferSales
    from pointkit.ledger import Storage
    from pointkit.pricing import Liability


BERLIN: Final = ZoneInfo("Europe/Berlin")
DAY: Final = timedelta(days=1)
REPORT_METHODS: Final = (
    "flows_by_day",
    "outstanding_by_expiry",
    "issued_cohort",
    "offer_sales",
    "lottery_draws",
    "tier_members",
)


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@pytest.fixture
def scenario(any_storage: Storage) -> Program:
    """The scripted programme, played on each adapter in turn."""
    return play_report_scenario(any_storage)


def _unsourced(report: Any) -> Any:  # noqa: ANN401 - any of the report types
    """The report without what says where it came from, to compare the part with the scan."""
    return attrs.evolve(report, source="scan", source_detail="")


SPANS: Final = (
    (date(2026, 3, 26), date(2026, 4, 2)),
    (date(2026, 3, 29), date(2026, 3, 29)),
    (date(2026, 1, 1), date(2026, 12, 31)),
    (date(1999, 1, 1), date(1999, 1, 3)),
)
INSTANT_SPANS: Final = (
    (None, None),
    (_at("2026-03-28T00:00:00+01:00"), _at("2026-03-29T00:00:00+01:00")),
    (_at("2026-03-27T23:59:59.999999+01:00"), _at("2026-03-28T00:00:00+01:00")),
    (_at("2026-03-29T00:00:00+01:00"), None),
)


def test_the_part_gives_what_the_scan_gives(scenario: Program) -> None:
    """Every report, over several spans, is the same from the reports part and from the scan."""
    for since, until in SPANS:
        part = daily_report(scenario, since=since, until=until, via="part")
        assert "part" == part.source
        assert _unsourced(daily_report(scenario, since=since, until=until, via="scan")) == (
            _unsourced(part)
        )
    miles = daily_report(scenario, since=SPANS[0][0], until=SPANS[0][1], currency="miles")
    scanned = daily_report(
        scenario, since=SPANS[0][0], until=SPANS[0][1], currency="miles", via="scan"
    )
    assert _unsourced(scanned) == _unsourced(miles)
    for start, end in INSTANT_SPANS:
        offers = hottest_offers(scenario, since=start, until=end, via="part")
        assert _unsourced(hottest_offers(scenario, since=start, until=end, via="scan")) == (
            _unsourced(offers)
        )
        cost = lottery_cost(scenario, since=start, until=end, via="part")
        assert _unsourced(lottery_cost(scenario, since=start, until=end, via="scan")) == (
            _unsourced(cost)
        )
    tiers = tier_distribution(scenario, via="part")
    assert _unsourced(tier_distribution(scenario, via="scan")) == _unsourced(tiers)
    buckets = (timedelta(days=1), timedelta(days=2), timedelta(days=400))
    for edges in ((), buckets):
        assert liability_report(scenario, buckets=edges, via="scan") == liability_report(
            scenario, buckets=edges, via="part"
        )


def test_days_end_at_local_midnight_across_the_clock_change(scenario: Program) -> None:
    """23:59:59.999999 is the day before, 00:00 the next; 29 March has 23 hours in Berlin."""
    report = daily_report(scenario, since=date(2026, 3, 27), until=date(2026, 3, 30))
    expected = [
        # day, issued, consumed, expired, adjusted, redemptions, draws, clearing, write_off
        (date(2026, 3, 27), 120, 0, 0, 0, 0, 0, 0, 0),
        (date(2026, 3, 28), 580, 800, 0, 0, 4, 0, 0, 0),
        (date(2026, 3, 29), 0, 400, 2_200, 0, 1, 4, 100, 0),
        (date(2026, 3, 30), -180, 150, 500, -50, 0, 0, 0, -150),
    ]
    assert expected == [attrs.astuple(row) for row in report.rows]
    assert ("part", "Europe/Berlin") == (report.source, report.zone)


def test_a_midnight_instant_moves_with_the_zone(any_storage: Storage) -> None:
    """An earn at 00:00 Berlin is the day before in UTC, and both the part and the scan say so."""
    program = play_report_scenario(any_storage, zone="UTC")
    report = daily_report(program, since=date(2026, 3, 27), until=date(2026, 3, 28))
    assert [(date(2026, 3, 27), 300), (date(2026, 3, 28), 400)] == [
        (row.day, row.issued) for row in report.rows
    ]
    scanned = daily_report(program, since=date(2026, 3, 27), until=date(2026, 3, 28), via="scan")
    assert _unsourced(scanned) == _unsourced(report)


@pytest.mark.parametrize(
    "zone", ["America/Havana", "America/Santiago", "Asia/Kathmandu", "Pacific/Kiritimati"]
)
def test_zones_whose_clocks_change_at_midnight(zone: str, tmp_path: Path) -> None:
    """Where midnight is skipped or repeated, SQLite and memory agree with the scan, day by day."""
    for storage in (MemoryStorage(), SQLiteStorage(tmp_path / f"{uuid.uuid4().hex}.db")):
        program = play_report_scenario(storage, zone=zone)
        for since, until in SPANS:
            part = daily_report(program, since=since, until=until)
            assert "part" == part.source
            scanned = daily_report(program, since=since, until=until, via="scan")
            assert _unsourced(scanned) == _unsourced(part)


ZONES = st.sampled_from(
    ["Europe/Berlin", "America/Havana", "America/Santiago", "Australia/Lord_Howe", "UTC"]
)


@given(
    zone=ZONES,
    instant=st.datetimes(
        min_value=datetime(1990, 1, 1),  # noqa: DTZ001 - Hypothesis takes naive bounds
        max_value=datetime(2040, 1, 1),  # noqa: DTZ001
        timezones=st.just(UTC),
    ),
)
def test_local_days_hold_the_instants_whose_wall_date_they_are(
    zone: str, instant: datetime
) -> None:
    """Every instant falls in the local day its wall time names: gaps and folds included."""
    where = ZoneInfo(zone)
    day = wall(instant, where).date()
    days = local_days(where, day - timedelta(days=1), day + timedelta(days=1))
    holding = [
        each.day
        for each in days
        if each.start is not None and each.end is not None and each.start <= instant < each.end
    ]
    assert [day] == holding
    assert all(a.end == b.start for a, b in itertools.pairwise(days))


def test_local_days_at_the_ends_of_the_calendar() -> None:
    """The first and last days a datetime holds are bounded where an instant can name them."""
    east, west = ZoneInfo("Etc/GMT-14"), ZoneInfo("Etc/GMT+12")
    first = local_days(east, date.min, date.min)[0]
    assert (None, datetime(1, 1, 1, 10, tzinfo=UTC)) == (first.start, first.end)
    last = local_days(east, date.max, date.max)[0]
    assert datetime(9999, 12, 31, 10, tzinfo=UTC) == last.end
    assert local_days(west, date.max, date.max)[0].end is None
    assert [] == local_days(east, date(2026, 1, 2), date(2026, 1, 1))


def test_breakage_is_two_labelled_figures(scenario: Program) -> None:
    """Expiries of imported points make the flow ratio 538%; of the points earned, 1/7 expired."""
    report = daily_report(scenario, since=date(2026, 3, 26), until=date(2026, 4, 1))
    flow, cohort = report.flow_ratio, report.cohort
    assert (2_800, 520, None) == (flow.expired, flow.issued, flow.outstanding)
    assert Fraction(2_800, 520) == flow.ratio == report.breakage
    assert (100, 700, 70) == (cohort.expired, cohort.issued, cohort.outstanding)
    assert Fraction(1, 7) == cohort.ratio
    assert "not breakage" in flow.label
    assert flow.label.startswith("flow ratio")
    assert cohort.label.startswith("cohort breakage")
    text = report.to_text()
    assert f"{flow.label}: 538.46% (2,800 of 520)" in text
    assert f"{cohort.label}: 14.29% (100 of 700, 70 still outstanding)" in text
    quiet = daily_report(scenario, since=date(1999, 1, 1), until=date(1999, 1, 1))
    assert (None, None) == (quiet.flow_ratio.ratio, quiet.cohort.ratio)
    assert "flow ratio" in quiet.to_text()
    assert ": n/a (0 of 0)" in quiet.to_text()


def test_hottest_offers_count_units_net_of_what_came_back(scenario: Program) -> None:
    """The mug: 5 units, 2 cancelled (one timed out), 1 refunded, 2 net; the bag's refund nets 0."""
    report = hottest_offers(scenario)
    assert [("mug", 5, 3, 2, 1, 2), ("bag", 1, 1, 0, 1, 0)] == [
        (row.offer, row.units, row.fulfilled, row.cancelled, row.refunded, row.net)
        for row in report.rows
    ]
    assert "net units" in report.to_text()
    assert "units net of cancellations" in report.to_text()
    assert [("mug", 2)] == [(row.offer, row.net) for row in hottest_offers(scenario, limit=1).rows]


def test_csv_holds_every_figure_exactly(scenario: Program) -> None:
    """Each report's CSV has its table, exact ratios and the labels; the liability's too."""
    daily = daily_report(scenario, since=date(2026, 3, 27), until=date(2026, 3, 30))
    tables = [list(csv.reader(io.StringIO(part))) for part in daily.to_csv().strip().split("\n\n")]
    days, figures, about = tables
    assert ["day", "issued", "consumed", "expired", "adjusted", "redemptions", "draws",
            "clearing", "write_off"] == days[0]  # fmt: skip
    assert ["2026-03-30", "-180", "150", "500", "-50", "0", "0", "0", "-150"] == days[4]
    flow = dict(zip(figures[0], figures[1], strict=True))
    assert ("flow_ratio", "135/26", daily.flow_ratio.label) == (
        flow["figure"],
        flow["ratio"],
        flow["label"],
    )
    assert ["points", "Europe/Berlin", "part"] == about[1][:3]
    assert to_csv(daily) == daily.to_csv()
    offers = list(csv.reader(io.StringIO(hottest_offers(scenario).to_csv())))
    assert ["mug", "Mug", "4", "5", "1500", "3", "2", "1", "2"] == offers[1]
    lotteries = lottery_cost(scenario).to_csv()
    assert "spin,4,400,300,16/5,16/5,3.20 EUR,3.20 EUR" in lotteries
    assert "spin,back,2\nspin,thanks,2" in lotteries
    assert "tier,members\nbasic,1\nplus,3\n" in tier_distribution(scenario).to_csv()
    liability = to_csv(liability_report(scenario))
    assert "never,1070,107/10,10.70 EUR" in liability
    with pytest.raises(ArgumentTypeError, match="must be a report"):
        to_csv("daily")  # type: ignore[arg-type]


def test_json_dumps_and_loads_back(scenario: Program) -> None:
    """Every report is JSON data through pointkit.jsonable and loads back as the same value."""
    reports: list[tuple[type, Any]] = [
        (DailyReport, daily_report(scenario, since=date(2026, 3, 27), until=date(2026, 3, 30))),
        (OfferReport, hottest_offers(scenario)),
        (LotteryReport, lottery_cost(scenario)),
        (TierReport, tier_distribution(scenario)),
    ]
    for kind, report in reports:
        data = json.loads(json.dumps(report.to_dict()))
        assert report == jsonable.load(kind, data)
        assert to_dict(report) == report.to_dict()
    daily = reports[0][1].to_dict()
    assert ("135/26", "part") == (daily["flow_ratio"]["ratio"], daily["source"])
    assert "not breakage" in daily["flow_ratio"]["label"]
    liability: Liability = liability_report(scenario)
    data = json.loads(json.dumps(to_dict(liability)))
    assert (1_070, "10.70 EUR") == (data["points"], data["money"])
    with pytest.raises(ArgumentTypeError, match="must be a report"):
        to_dict("daily")  # type: ignore[arg-type]


@contextmanager
def _units(
    storage: Storage, program: ProgramId, wrap: Callable[[object], object], *, write: bool
) -> Iterator[Any]:
    opened = storage.writing(program) if write else storage.reading(program)
    with opened as unit:
        yield wrap(unit)


class _Hiding:
    """A unit that forwards everything but the reports part."""

    def __init__(self, unit: object) -> None:
        self._unit = unit

    def __getattr__(self, name: str) -> object:
        if name in REPORT_METHODS:
            raise AttributeError(name)
        return getattr(self._unit, name)


class _Partial(_Hiding):
    """A unit with one method of the reports part and not the others."""

    def tier_members(self) -> Sequence[tuple[str | None, int]]:
        return self._unit.tier_members()  # type: ignore[attr-defined, no-any-return]


class _Lying:
    """A unit whose reports part counts one unit more of every offer sold."""

    def __init__(self, unit: object) -> None:
        self._unit = unit

    def __getattr__(self, name: str) -> object:
        return getattr(self._unit, name)

    def offer_sales(self, since: datetime | None, until: datetime | None) -> list[OfferSales]:
        found = self._unit.offer_sales(since, until)  # type: ignore[attr-defined]
        return [attrs.evolve(sold, units=sold.units + 1) for sold in found]

    def outstanding_by_expiry(
        self, currency: str, bounds: Sequence[datetime | None]
    ) -> Sequence[int]:
        found = list(self._unit.outstanding_by_expiry(currency, bounds))  # type: ignore[attr-defined]
        return [*found[:-1], found[-1] + 1]


class _Wrapped:
    """A storage whose units are wrapped (to hide or falsify the reports part)."""

    def __init__(self, inner: Storage, wrap: Callable[[object], object]) -> None:
        self._inner = inner
        self._wrap = wrap

    def reading(self, program: ProgramId) -> Any:  # noqa: ANN401 - a context manager of units
        return _units(self._inner, program, self._wrap, write=False)

    def writing(self, program: ProgramId) -> Any:  # noqa: ANN401 - a context manager of units
        return _units(self._inner, program, self._wrap, write=True)


def test_a_storage_without_the_part_is_scanned_and_says_so() -> None:
    """No reports part: the reports scan, name the missing methods, and refuse via='part'."""
    program = play_report_scenario(_Wrapped(MemoryStorage(), _Hiding))
    report = daily_report(program, since=date(2026, 3, 27), until=date(2026, 3, 30))
    assert "scan" == report.source
    missing = ", ".join(REPORT_METHODS)
    assert f"_Hiding does not implement the reports part (missing {missing})" in (
        report.source_detail
    )
    assert f"source: {report.source_detail}" in report.to_text()
    assert "scan" == tier_distribution(program).source
    with pytest.raises(ArgumentTypeError, match=r"missing flows_by_day, .*via='part'"):
        daily_report(program, since=date(2026, 3, 27), until=date(2026, 3, 30), via="part")
    with pytest.raises(InvalidArgumentError, match="via='sql' must be one of 'auto', 'part'"):
        hottest_offers(program, via="sql")  # type: ignore[arg-type]


def test_conformance_fails_an_adapter_whose_part_is_wrong() -> None:
    """A reports part that disagrees with the reference, or is half there, fails conformance."""
    lying = _Wrapped(MemoryStorage(), _Lying)
    with pytest.raises(AssertionError, match=r"reports part's read #.* differs"):
        check_report_part(lambda: lying)
    with pytest.raises(AssertionError, match="hold different states"):
        check_storage_conformance(
            lambda: lying,
            max_examples=5,
            golden=False,
            parts=("accounts",),
        )
    partial = _Wrapped(MemoryStorage(), _Partial)
    with pytest.raises(AssertionError, match="some of the reports part's methods but not"):
        check_report_part(lambda: partial)


def test_totals_past_the_64_bit_range_are_exact_on_sqlite(tmp_path: Path) -> None:
    """Two members at POINTS_MAX overflow SQLite's SUM; the part adds them exactly instead."""
    clock = FixedClock(datetime(2026, 3, 28, 12, tzinfo=UTC))
    answers = []
    for storage in (MemoryStorage(), SQLiteStorage(tmp_path / "big.db")):
        ledger = Ledger(storage, clock=clock, program="big")
        for member in ("ann", "bob"):
            ledger.earn(member, limits.POINTS_MAX, key=member, expires_at=clock.now() + DAY)
        with storage.reading("big") as unit:  # type: ignore[arg-type]
            answers.append(
                (
                    list(unit.flows_by_day("points", BERLIN, date(2026, 3, 1), date(2026, 4, 1))),
                    list(unit.outstanding_by_expiry("points", [clock.now()])),
                    unit.issued_cohort("points", None, None),
                )
            )
    assert answers[0] == answers[1]
    assert 2 * limits.POINTS_MAX == answers[1][0][0].issued


def test_an_empty_programme_reports_quiet_days(any_storage: Storage) -> None:
    """With nothing recorded, every day is quiet and every figure zero, from part and scan."""
    program = Program.from_toml(
        REPORT_SCENARIO.replace('id = "reports-check"', f'id = "empty-{uuid.uuid4().hex[:8]}"'),
        storage=any_storage,
        clock=FixedClock(datetime(2026, 3, 28, tzinfo=UTC)),
    )
    report = daily_report(program, since=date(2026, 3, 27), until=date(2026, 3, 28))
    assert [(date(2026, 3, 27), 0), (date(2026, 3, 28), 0)] == [
        (row.day, row.issued) for row in report.rows
    ]
    assert ("part", 0, None) == (report.source, report.cohort.issued, report.cohort.ratio)
    scanned = daily_report(program, since=date(2026, 3, 27), until=date(2026, 3, 28), via="scan")
    assert _unsourced(scanned) == _unsourced(report)
    assert () == hottest_offers(program).rows
    assert [("basic", 0), ("plus", 0)] == list(tier_distribution(program).counts)
    assert 0 == liability_report(program).points


def test_the_record_ids_the_part_reads_are_the_features_own() -> None:
    """The reports part reads the catalogue's and the lottery's records by their own ids."""
    hold = TransactionId(uuid.uuid4())
    assert REDEMPTION_PREFIX + str(hold) == _redemption_record(hold)
    assert (REFUNDED_PREFIX + str(hold), "lifetime") == _refunded_counter(hold)
    assert DRAW_PREFIX + "d1" == _draw_record("d1")


def test_unknown_currencies_are_refused(scenario: Program) -> None:
    """A currency the programme does not hold is refused by name, not reported as empty."""
    with pytest.raises(UnknownCurrencyError, match="currency='gold'"):
        daily_report(scenario, since=date(2026, 3, 27), until=date(2026, 3, 30), currency="gold")
    with pytest.raises(UnknownCurrencyError, match="currency='gold'"):
        liability_report(scenario, currency="gold")


def test_schema_6_indexes_serve_the_reports(tmp_path: Path) -> None:
    """SQLite sums a day's flows from the covering partial index, one range scan a day."""
    storage = SQLiteStorage(tmp_path / "plan.db")
    play_report_scenario(storage)
    with sqlite3.connect(storage.path) as raw:
        names = {
            row[0] for row in raw.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
        }
        plan = " ".join(
            str(row[-1])
            for row in raw.execute(
                f"EXPLAIN QUERY PLAN SELECT account_kind, SUM(amount) {_FLOWS} "
                "GROUP BY account_kind",
                ("x", "points", 0, 1),
            )
        )
    assert {"pk_posting_flow", "pk_rule_event_kind", "pk_lot_outstanding", "pk_lot_earned"} <= names
    assert "USING COVERING INDEX pk_posting_flow" in plan
    storage.close()

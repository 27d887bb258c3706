"""Jobs that read everything stream it: the journal, the lots, the wallets and the members.

The expiry job, the reports and the exports must run in bounded memory at millions of rows
(bench/memory_bench.py measures them at 1,000,000 members and 10,000,000 lots); these tests pin
the mechanisms: SQLite's reads of everything come from the cursor a row at a time, the exports
walk the members a page at a time where the storage pages them, and the reports' scan reads
the journal without gathering it. Each gives the same rows as before.
"""

from __future__ import annotations

import gc
import io
import tracemalloc
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import pytest

from pointkit import FixedClock, Ledger
from pointkit.ledger import Earn
from pointkit.program import Program, export
from pointkit.program import _export as export_module
from pointkit.reports import daily_report, hottest_offers, lottery_cost
from pointkit.storage.sqlite import SQLiteStorage
from pointkit.testing._report_checks import play_report_scenario


if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence
    from pathlib import Path

    from pointkit.ledger import Storage


START = datetime(2026, 1, 1, tzinfo=UTC)
MEMBERS = ["b", "B", "a", "Zoë", "zoe", "émile", "Émile", "m10", "m9", "m-1", "日本"]
"""Member ids whose orders differ by case, accents and script: sorted by code point."""


@runtime_checkable
class _NoRead(Protocol):
    """A read no unit has."""

    def no_such_read(self) -> None:
        """Nothing."""


def _program(storage: Storage) -> Program:
    """A programme of two currencies, each member earning lots in the first, some in both."""
    text = f"""
[program]
id = "stream-{uuid.uuid4().hex[:8]}"
zone = "Europe/Berlin"
currencies = ["points", "miles"]
"""
    clock = FixedClock(START)
    program = Program.from_toml(text, storage=storage, clock=clock)
    for index, member in enumerate(MEMBERS):
        for lot in range(1 + index % 3):
            clock.set(START + timedelta(hours=index, minutes=lot))
            program.ledger.earn(
                member, 10 + lot, key=f"e-{index}-{lot}", expires_at=START + timedelta(days=30)
            )
        if index % 2:
            program.ledger.earn(member, 5, currency="miles", key=f"m-{index}")
    return program


def _exported(program: Program, what: str, format: str) -> str:  # noqa: A002
    out = io.StringIO(newline="")
    export(program, what, out, format=format)
    return out.getvalue()


def test_exports_walk_the_members_a_page_at_a_time(
    any_storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Balances and lots come out as from the sorted list of every member, paged or not.

    SQLite streams the lots from one sorted scan instead, in the same order.
    """
    program = _program(any_storage)
    with monkeypatch.context() as listed:
        listed.setattr(
            export_module, "_members", lambda program: map(str, program.members())
        )  # the export as it was: every member at once, and their lots a member at a time
        listed.setattr(export_module, "_LotStream", _NoRead)
        expected = {
            (what, fmt): _exported(program, what, fmt)
            for what in ("balances", "lots")
            for fmt in ("csv", "jsonl")
        }
    pages: list[tuple[str | None, int]] = []
    with any_storage.reading(program.ledger.program) as unit:
        pages_unit = isinstance(unit, export_module._MemberPages)
    if pages_unit:
        unit_type = type(unit)
        read_page = unit_type.members_page  # type: ignore[attr-defined]

        def spy(self: Any, after: str | None, limit: int) -> Sequence[str]:  # noqa: ANN401
            pages.append((after, limit))
            return read_page(self, after, limit)  # type: ignore[no-any-return]

        monkeypatch.setattr(unit_type, "members_page", spy)

        def refuse(_self: Program) -> tuple[str, ...]:
            raise AssertionError("the export listed every member at once")

        monkeypatch.setattr(Program, "members", refuse)
    lots_streamed = isinstance(unit, export_module._LotStream)
    monkeypatch.setattr(export_module, "MEMBERS_PAGE", 3)
    for (what, fmt), text in expected.items():
        assert _exported(program, what, fmt) == text
    first = sorted(MEMBERS)[:3]
    assert first[0] in expected[("balances", "csv")].splitlines()[1]
    if pages_unit:  # SQLite and PostgreSQL: 11 members in pages of 3, each balances export
        walk = [(None, 3), (first[-1], 3), (sorted(MEMBERS)[5], 3), (sorted(MEMBERS)[8], 3)]
        lots_walk = [] if lots_streamed else walk * 2
        assert pages == walk * 2 + lots_walk
        assert lots_streamed == (type(unit).__module__.startswith("pointkit.storage.sqlite"))


def test_a_members_page_is_sorted_as_python_sorts(any_storage: Storage) -> None:
    """Pages of the members with a wallet, by code point, whatever the database's collation."""
    program = _program(any_storage)
    with any_storage.reading(program.ledger.program) as unit:
        if not isinstance(unit, export_module._MemberPages):
            pytest.skip("this storage does not page its members; the export lists them")
        walked: list[str] = []
        after: str | None = None
        while page := unit.members_page(after, 4):
            assert len(page) <= 4
            walked += page
            after = page[-1]
        assert unit.members_page(None, 100) == sorted(MEMBERS)
    assert walked == sorted(MEMBERS) == list(program.members())


def _peak(read: Callable[[], Iterator[object]], keep: bool) -> int:
    """The most memory Python allocated while going through *read*, keeping each item or not."""
    gc.collect()
    tracemalloc.start()
    try:
        if keep:
            kept = list(read())
            assert kept
        else:
            seen = 0
            for _ in read():
                seen += 1
            assert seen
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_sqlite_reads_of_everything_come_a_row_at_a_time(tmp_path: Path) -> None:
    """all_transactions, all_wallets and all_lots hold one row at a time, not the table.

    Going through each without keeping the items peaks at a small part of what keeping them
    takes: the rows are not fetched whole first.
    """
    storage = SQLiteStorage(tmp_path / "points.db", synchronous="NORMAL")
    ledger = Ledger(storage, clock=FixedClock(START))
    for batch in range(3):
        ledger.earn_many(
            [Earn(member=f"m{batch}-{n}", amount=10, key=f"k{batch}-{n}") for n in range(1_000)]
        )
    with storage.reading(ledger.program) as unit:
        for read in (unit.all_transactions, unit.all_wallets, unit.all_lots):
            streamed, kept = _peak(read, keep=False), _peak(read, keep=True)
            assert streamed * 5 < kept, (read.__name__, streamed, kept)
    storage.close()


def test_the_scan_reads_the_journal_without_gathering_it(
    any_storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reports' Python scan streams the journal: it never asks for the whole of it."""
    program = play_report_scenario(any_storage)
    since, until = date(2026, 1, 1), date(2026, 12, 31)
    daily = daily_report(program, since=since, until=until, via="part")
    offers = hottest_offers(program, via="part")
    draws = lottery_cost(program, via="part")

    def refuse(_self: Program, **_: object) -> tuple[object, ...]:
        raise AssertionError("the scan gathered the whole journal")

    monkeypatch.setattr(Program, "transactions", refuse)
    scanned_daily = daily_report(program, since=since, until=until, via="scan")
    scanned_offers = hottest_offers(program, via="scan")
    scanned_draws = lottery_cost(program, via="scan")
    assert (scanned_daily.source, scanned_offers.source, scanned_draws.source) == ("scan",) * 3
    assert scanned_daily.rows == daily.rows
    assert scanned_daily.cohort == daily.cohort
    assert scanned_offers.rows == offers.rows
    assert scanned_draws.rows == draws.rows
    assert any(row.issued for row in scanned_daily.rows)
    assert any(row.redemptions for row in scanned_offers.rows)
    assert any(row.draws for row in scanned_draws.rows)

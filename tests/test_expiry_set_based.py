"""Set-based expiry (SQLite, PostgreSQL) writes exactly the rows the Python plan writes.

Each scenario runs twice on the same database, in two programs: once through the adapter's
``expire_due_lots`` and once through the Python plan (the same storage, its units without that
method). Every row of every table the run writes — documents and checksums byte for byte,
postings, wallet entries, lots, wallets, outbox events — must be the same in both, and the
same transactions as the in-memory reference's.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import citus_layout
from pointkit import FixedClock, Ledger, MemoryStorage, PointCurrency, limits
from pointkit._values import ProgramId
from pointkit.exceptions import StorageError
from pointkit.expiry import ExpiryPolicy, Inactivity, RollingDays
from pointkit.ledger import ExpiryRun, LedgerPolicy
from pointkit.ledger._codec import checksum, encode_transaction
from pointkit.ledger._outbox import event_id, transaction_event
from pointkit.ledger._records import transaction_id_for
from pointkit.ledger._set_expiry import (
    EXPIRED_EVENT_DATA,
    EXPIRY_DOCUMENT,
    event_id_bytes,
    id_prefix,
    python_format,
    take_wallets,
    transaction_id_bytes,
)
from pointkit.storage.sqlite import SQLiteStorage
from pointkit.storage.sqlite._expiry_rows import _uuid_text
from pointkit.testing._expiry_runs import PythonPlanned


if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from pointkit import MemberId
    from pointkit.ledger import Storage, WriteUnit


START = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
LATER = START + timedelta(days=60)
CURRENCIES = (PointCurrency("points"), PointCurrency("miles"))
ODD_MEMBER = 'zoë "quoted" \\ back'


class _RefusedError(Exception):
    """A guard's refusal."""


def _ledger(
    storage: Storage, clock: FixedClock, program: str, *, seal_key: bytes | None = None
) -> Ledger:
    return Ledger(
        storage,
        clock=clock,
        program=program,
        currencies=CURRENCIES,
        expiry=ExpiryPolicy("UTC", RollingDays(30)),
        policy=LedgerPolicy(clawback="debt", debt_limit=1_000),
        seal_key=seal_key,
    )


def _scenario(ledger: Ledger, clock: FixedClock) -> None:
    """Due lots of every kind: many per wallet, part spent, part held, after a debt, odd ids."""
    for n in range(6):
        ledger.earn("ann", 10 + n, key=f"ann-{n}")
        clock.advance(timedelta(minutes=1))
    ledger.earn("ben", 50, key="ben-1", currency="miles")
    ledger.earn("ben", 70, key="ben-2")
    ledger.earn(ODD_MEMBER, 33, key="odd-1")
    ledger.earn("held", 100, key="held-1")
    ledger.reserve("held", 60, key="held-hold", timeout_seconds=90 * 24 * 3600)
    ledger.redeem("ann", 15, key="ann-spend")
    refund = ledger.earn("debtor", 30, key="refund-me", expires_at=START + timedelta(days=20))
    ledger.redeem("debtor", 30, key="debtor-spend")
    ledger.earn("debtor", 40, key="debtor-earn")
    hold = ledger.reserve("debtor", 40, key="debtor-hold", timeout_seconds=3600)
    ledger.reverse(refund.id, key="refund")  # nothing free to claw back: a debt
    ledger.release(hold.id, key="debtor-release")  # settles the debt from the released points
    ledger.earn("late", 5, key="late-1", expires_at=LATER + timedelta(days=1))


def _run(ledger: Ledger, clock: FixedClock, *, limit: int = 10_000) -> list[ExpiryRun]:
    clock.set(LATER)
    runs = []
    while True:
        run = ledger.expire_due(limit=limit, transactions=True)
        runs.append(run)
        if run.complete:
            return runs


def _sqlite_rows(path: str | Path, program: str) -> list[list[tuple[Any, ...]]]:
    with sqlite3.connect(path) as db:
        return [
            db.execute(sql, (program,)).fetchall()
            for sql in (
                (
                    "SELECT txn_id, idem_key, kind, created_at, reverses, body, checksum FROM pk_txn "
                    "WHERE program_id = ? ORDER BY txn_id"
                ),
                (
                    "SELECT txn_id, seq, account_kind, member, currency, phase, amount, created_at "
                    "FROM pk_posting WHERE program_id = ? ORDER BY txn_id, seq"
                ),
                (
                    "SELECT member, currency, version, txn_id, posted, held, debt, posted_change "
                    "FROM pk_entry WHERE program_id = ? ORDER BY member, currency, version"
                ),
                (
                    "SELECT lot_id, member, currency, amount, remaining, held, expired, earned_at, "
                    "available_at, expires_at, source, follows_activity FROM pk_lot "
                    "WHERE program_id = ? ORDER BY lot_id"
                ),
                (
                    "SELECT member, currency, version, posted, held, debt FROM pk_wallet "
                    "WHERE program_id = ? ORDER BY member, currency"
                ),
                (
                    "SELECT seq, event_id, type, version, occurred_at, data FROM pk_outbox "
                    "WHERE program_id = ? ORDER BY seq"
                ),
            )
        ]


def _postgres_rows(dsn: str, schema: str, program: str) -> list[list[tuple[Any, ...]]]:
    import psycopg  # noqa: PLC0415 - the postgres extra is optional

    with psycopg.connect(dsn) as db:
        return [
            db.execute(sql.replace("{s}", schema), (program,)).fetchall()
            for sql in (
                (
                    "SELECT txn_id, idem_key, kind, created_at, reverses, body, checksum, member "
                    "FROM {s}.pk_txn WHERE program_id = %s ORDER BY txn_id"
                ),
                (
                    "SELECT txn_id, seq, account_kind, member, currency, phase, amount, "
                    "created_at, txn_member FROM {s}.pk_posting WHERE program_id = %s "
                    "ORDER BY txn_id, seq"
                ),
                (
                    "SELECT member, currency, version, txn_id, posted, held, debt, posted_change "
                    'FROM {s}.pk_entry WHERE program_id = %s ORDER BY member COLLATE "C", '
                    "currency, version"
                ),
                (
                    "SELECT lot_id, member, currency, amount, remaining, held, expired, earned_at, "
                    "available_at, expires_at, source, follows_activity FROM {s}.pk_lot "
                    "WHERE program_id = %s ORDER BY lot_id"
                ),
                (
                    "SELECT member, currency, version, posted, held, debt FROM {s}.pk_wallet "
                    'WHERE program_id = %s AND version > 0 ORDER BY member COLLATE "C", currency'
                ),
                (
                    "SELECT event_id, type, version, occurred_at, data FROM {s}.pk_outbox "
                    "WHERE program_id = %s ORDER BY xid, seq"
                ),
            )
        ]


def _unique(name: str) -> str:
    return f"{name}-{time.monotonic_ns()}"


def _both_paths(storage: Storage, name: str) -> Iterator[tuple[str, Ledger, FixedClock]]:
    """A program on *storage* expired set-based, then one whose expiry is planned in Python."""
    for path in ("sql", "python"):
        program = _unique(f"{name}-{path}")
        clock = FixedClock(START)
        used = storage if path == "sql" else PythonPlanned(storage)
        yield program, _ledger(used, clock, program), clock


@pytest.fixture(params=["sqlite", "postgres"])
def sql_storage(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[Storage, Callable[[str], list[list[tuple[Any, ...]]]]]]:
    """A SQL adapter, with a reader of a program's raw rows."""
    if request.param == "sqlite":
        path = tmp_path / "points.db"
        storage: Storage = SQLiteStorage(path)
        yield storage, lambda program: _sqlite_rows(path, program)
        storage.close()  # type: ignore[attr-defined]  # SQLiteStorage
        return
    if citus_layout() is not None:
        pytest.skip("on Citus expiry is planned in Python (docs/scaling.md)")
    storage = request.getfixturevalue("postgres_storage")
    dsn = request.getfixturevalue("postgres_dsn")
    schema = request.getfixturevalue("postgres_schema")
    yield storage, lambda program: _postgres_rows(dsn, schema, program)


def test_set_based_rows_equal_the_python_plans(
    sql_storage: tuple[Storage, Callable[[str], list[list[tuple[Any, ...]]]]],
) -> None:
    """Every row a set-based run writes is the Python plan's, byte for byte, and memory's."""
    storage, rows = sql_storage
    programs = {"sql": _unique("sql"), "python": _unique("python")}
    journals = {}
    for name, program in programs.items():
        clock = FixedClock(START)
        used = storage if name == "sql" else PythonPlanned(storage)
        ledger = _ledger(used, clock, program)
        _scenario(ledger, clock)
        journals[name] = [t for run in _run(ledger, clock, limit=3) for t in run.transactions]
    clock = FixedClock(START)
    reference = _ledger(MemoryStorage(), clock, "memory")
    _scenario(reference, clock)
    expected = [t for run in _run(reference, clock, limit=3) for t in run.transactions]
    assert expected == journals["python"] == journals["sql"]
    expiries = [t for t in expected if t.kind.value == "expiry"]
    assert (6, 10) == (len(expiries), sum(len(t.lot_moves) for t in expiries))
    assert rows(programs["python"]) == rows(programs["sql"])


@pytest.mark.parametrize("limit", [1, 4, 10_000])
def test_a_runs_limit_and_units_do_not_change_the_journal(
    sql_storage: tuple[Storage, Callable[[str], list[list[tuple[Any, ...]]]]],
    monkeypatch: pytest.MonkeyPatch,
    limit: int,
) -> None:
    """A wallet's due lots expire together however runs and units are cut, on both paths."""
    storage, rows = sql_storage
    monkeypatch.setattr(limits, "EXPIRY_LOTS_PER_UNIT", 3)
    monkeypatch.setattr(limits, "EXPIRY_LOTS_PER_SET_UNIT", 3)
    programs = []
    for program, ledger, clock in _both_paths(storage, "cut"):
        _scenario(ledger, clock)
        runs = _run(ledger, clock, limit=limit)
        assert 10 == sum(run.lots_expired for run in runs)
        programs.append(program)
    whole = _unique("whole")
    clock = FixedClock(START)
    ledger = _ledger(storage, clock, whole)
    _scenario(ledger, clock)
    monkeypatch.undo()
    _run(ledger, clock)
    assert rows(programs[1]) == rows(programs[0]) == rows(whole)


def test_documents_and_events_are_the_codecs_bytes(
    sql_storage: tuple[Storage, Callable[[str], list[list[tuple[Any, ...]]]]],
) -> None:
    """Stored expiry documents, checksums and event data are what the Python codec writes."""
    storage, rows = sql_storage
    program = _unique("golden")
    clock = FixedClock(START)
    ledger = _ledger(storage, clock, program)
    _scenario(ledger, clock)
    done = [t for run in _run(ledger, clock) for t in run.transactions]
    expiries = [t for t in done if t.kind.value == "expiry"]
    txns, *_, events = rows(program)
    stored = {str(row[1]): (row[5], bytes(row[6])) for row in txns}
    for transaction in expiries:
        document = encode_transaction(transaction)
        assert (document, checksum(document)) == stored[transaction.key]
    data = {row[-1] for row in events}
    assert {transaction_event(t).body() for t in expiries} <= data


def test_a_second_run_expires_nothing(
    sql_storage: tuple[Storage, Callable[[str], list[list[tuple[Any, ...]]]]],
) -> None:
    """Each lot expires once: a run again, or a Python-path run after, finds nothing due."""
    storage, rows = sql_storage
    program = _unique("again")
    clock = FixedClock(START)
    ledger = _ledger(storage, clock, program)
    _scenario(ledger, clock)
    first = _run(ledger, clock)
    before = rows(program)
    again = ledger.expire_due(transactions=True)
    python = _ledger(PythonPlanned(storage), clock, program).expire_due()
    assert (10, 0, 0) == (
        sum(run.lots_expired for run in first),
        again.lots_expired,
        python.lots_expired,
    )
    assert ((), True) == (again.transactions, again.complete)
    assert before == rows(program)
    ledger.audit()


def test_held_and_inactivity_lots(
    sql_storage: tuple[Storage, Callable[[str], list[list[tuple[Any, ...]]]]],
) -> None:
    """Only free points expire; lots that follow activity expire like the Python plan's."""
    storage, rows = sql_storage
    programs = {"sql": _unique("idle-sql"), "python": _unique("idle-python")}
    outcomes = []
    for name, program in [*programs.items(), ("memory", "memory")]:
        clock = FixedClock(START)
        used = {"sql": storage, "python": PythonPlanned(storage), "memory": MemoryStorage()}[name]
        ledger = Ledger(
            used,
            clock=clock,
            program=program,
            expiry=ExpiryPolicy("UTC", Inactivity(1)),
        )
        ledger.earn("ann", 100, key="a1")
        clock.advance(timedelta(days=1))
        ledger.earn("ann", 20, key="a2")  # activity: the first lot now expires with this one
        ledger.reserve("ann", 110, key="hold", timeout_seconds=90 * 24 * 3600)
        clock.advance(timedelta(days=40))
        run = ledger.expire_due(transactions=True)
        balance = ledger.balance("ann")
        outcomes.append((run, balance.posted, balance.held))
        assert (110, 110, (("points", 10),)) == (balance.posted, balance.held, run.points_expired)
        ledger.audit()
    assert outcomes[0] == outcomes[1] == outcomes[2]
    assert rows(programs["python"]) == rows(programs["sql"])


def test_many_lots_of_one_wallet_in_one_transaction(
    sql_storage: tuple[Storage, Callable[[str], list[list[tuple[Any, ...]]]]],
) -> None:
    """One wallet's due lots expire in one transaction, moved in expiry order."""
    storage, rows = sql_storage
    programs = []
    for program, ledger, clock in _both_paths(storage, "one"):
        programs.append(program)
        earned = []
        for n in range(40):
            expires_at = START + timedelta(hours=1 + n % 5)
            earn = ledger.earn("ann", 1 + n % 7, key=f"e{n}", expires_at=expires_at)
            earned.append((expires_at, earn.lots_created[0].id.int, earn.lots_created[0].id))
        clock.advance(timedelta(days=1))
        run = ledger.expire_due(transactions=True)
        (expiry,) = run.transactions
        assert (41, 40) == (expiry.wallet_changes[0].version, run.lots_expired)
        assert [lot for _, _, lot in sorted(earned)] == [move.lot for move in expiry.lot_moves]
        assert expiry.key == f"pointkit:expiry:{min(earned)[2]}"
        assert 0 == ledger.balance("ann").posted
    assert rows(programs[1]) == rows(programs[0])


def test_a_wallet_with_more_lots_than_a_command_takes_several(
    sql_storage: tuple[Storage, Callable[[str], list[list[tuple[Any, ...]]]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Past limits.LOTS_PER_COMMAND_MAX lots a wallet's expiry goes on in a second transaction."""
    storage, rows = sql_storage
    monkeypatch.setattr(limits, "LOTS_PER_COMMAND_MAX", 4)
    programs = []
    for program, ledger, clock in _both_paths(storage, "big"):
        programs.append(program)
        for n in range(10):
            ledger.earn("ann", 1 + n, key=f"a{n}", expires_at=START + timedelta(hours=1))
            ledger.earn("ben", 1, key=f"b{n}", expires_at=START + timedelta(hours=2))
        clock.advance(timedelta(days=1))
        done = [t for run in _run(ledger, clock, limit=10_000) for t in run.transactions]
        assert [4, 4, 2, 4, 4, 2] == [len(t.lot_moves) for t in done]
        assert (0, 0) == (ledger.balance("ann").posted, ledger.balance("ben").posted)
        ledger.audit()
    assert rows(programs[1]) == rows(programs[0])


def test_transactions_are_returned_only_when_asked(sqlite_storage: SQLiteStorage) -> None:
    """By default a run reports counts and points, and keeps no transactions."""
    clock = FixedClock(START)
    ledger = _ledger(sqlite_storage, clock, "counts")
    _scenario(ledger, clock)
    clock.set(LATER)
    run = ledger.expire_due()
    assert ((), 10, (("miles", 50), ("points", 213))) == (
        run.transactions,
        run.lots_expired,
        run.points_expired,
    )
    with pytest.raises(TypeError, match=r"transactions=1 must be a bool"):
        ledger.expire_due(transactions=1)  # type: ignore[arg-type]


def test_a_seal_key_takes_the_python_path(sqlite_storage: SQLiteStorage) -> None:
    """Sealed transactions carry an HMAC the SQL does not compute: they are planned in Python."""
    clock = FixedClock(START)
    ledger = _ledger(sqlite_storage, clock, "sealed", seal_key=b"k" * 32)
    _scenario(ledger, clock)
    done = [t for run in _run(ledger, clock) for t in run.transactions]
    expiries = [t for t in done if t.kind.value == "expiry"]
    assert (6, 10) == (len(expiries), sum(len(t.lot_moves) for t in expiries))
    assert all(t.seal is not None for t in expiries)
    ledger.audit()


def test_guards_see_each_member_and_may_refuse(sqlite_storage: SQLiteStorage) -> None:
    """Guards run once per member of a batch, as "expiry"; a refusal writes nothing."""
    clock = FixedClock(START)
    ledger = _ledger(sqlite_storage, clock, "guarded")
    _scenario(ledger, clock)
    seen: list[tuple[str, tuple[MemberId, ...]]] = []
    ledger.add_guard("watch", lambda _unit, command, members: seen.append((command, members)))
    clock.set(LATER)
    refused = False

    def refuse(unit: WriteUnit, command: str, members: tuple[MemberId, ...]) -> None:  # noqa: ARG001 - a guard's signature
        if refused and "ben" in members:
            raise _RefusedError(command)

    ledger.add_guard("refuse", refuse)
    refused = True
    before = _sqlite_rows(sqlite_storage.path, "guarded")
    with pytest.raises(_RefusedError):
        ledger.expire_due()
    assert before == _sqlite_rows(sqlite_storage.path, "guarded")
    refused = False
    assert 10 == ledger.expire_due().lots_expired
    members = sorted({m for command, ms in seen if command == "expiry" for m in ms})
    assert ["ann", "ben", "debtor", "held", ODD_MEMBER] == members


def test_a_failure_mid_batch_writes_nothing(
    sql_storage: tuple[Storage, Callable[[str], list[list[tuple[Any, ...]]]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A batch that fails after its first writes rolls back whole; the next run does it all."""
    storage, rows = sql_storage
    program = _unique("fails")
    clock = FixedClock(START)
    ledger = _ledger(storage, clock, program)
    _scenario(ledger, clock)
    before = rows(program)
    clock.set(LATER)

    def broken(_text: str) -> bytes:
        raise RuntimeError("the event ids are broken")

    # The events are written last, from the transactions' ids: every other row is written.
    monkeypatch.setattr("pointkit.storage.sqlite._expiry_rows.event_id_bytes", broken)
    monkeypatch.setattr("pointkit.storage.postgres._expiry_rows.event_id_bytes", broken)
    with pytest.raises((RuntimeError, StorageError)):
        ledger.expire_due()
    assert before == rows(program)
    monkeypatch.undo()
    assert 10 == ledger.expire_due().lots_expired
    ledger.audit()


def test_a_lot_emptied_while_the_run_waits_for_its_wallet(
    postgres_storage: Storage,
) -> None:
    """A due lot clawed back by a unit the run waits for is skipped, not expired from stale rows."""
    program = _unique("race")
    clock = FixedClock(START)
    ledger = _ledger(postgres_storage, clock, program)
    earn = ledger.earn("ann", 100, key="e1", expires_at=START + timedelta(hours=1))
    ledger.earn("ben", 10, key="e2", expires_at=START + timedelta(hours=1))
    clock.advance(timedelta(hours=2))
    holding = threading.Event()
    release = threading.Event()
    outcome: list[object] = []

    def claw_back() -> None:
        with ledger.linked() as link:
            link.reverse(earn.id, key="refund")
            holding.set()
            release.wait(10)

    competitor = threading.Thread(target=claw_back)
    competitor.start()
    holding.wait(10)
    runner = threading.Thread(target=lambda: outcome.append(ledger.expire_due()))
    runner.start()
    time.sleep(0.5)  # the run reads both lots as due, then waits for ann's wallet
    release.set()
    competitor.join(10)
    runner.join(10)
    (run,) = outcome
    assert (1, (("points", 10),)) == (run.lots_expired, run.points_expired)  # type: ignore[attr-defined]
    assert (0, 0) == (ledger.balance("ann").posted, ledger.balance("ben").posted)
    ledger.audit()


@given(
    key=st.text(min_size=1, max_size=80),
    micros=st.integers(min_value=0, max_value=253_402_300_799_999_999),
)
def test_ids_are_the_ledgers(key: str, micros: int) -> None:
    """The ids SQL and the SQLite functions build are transaction_id_for's and event_id's."""
    at = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros)
    expected = transaction_id_for(key, at)
    assert expected.bytes == transaction_id_bytes(id_prefix(at), key)
    assert event_id("points.expired", str(expected)).bytes == event_id_bytes(str(expected))


@given(raw=st.binary(min_size=16, max_size=16))
def test_uuid_text_is_the_uuids(raw: bytes) -> None:
    """The SQLite batch writes ids as text the way ``str(UUID)`` does."""
    assert str(uuid.UUID(bytes=raw)) == _uuid_text(raw)


@pytest.mark.parametrize("template", [EXPIRY_DOCUMENT, EXPIRED_EVENT_DATA])
def test_python_format_fills_each_name(template: str) -> None:
    """A template as a format pattern: its literal text kept, each <name> its value."""
    names = re.findall(r"<(\w+)>", template)
    assert template == python_format(template).format_map({name: f"<{name}>" for name in names})


def test_the_connections_page_cache_is_set_back(sqlite_storage: SQLiteStorage) -> None:
    """The larger page cache of a set-based batch is the batch's only."""

    def cache_size() -> int:
        with sqlite_storage.reading(ProgramId("counts")) as unit:
            (size,) = unit._db.execute("PRAGMA cache_size").fetchone()
        return int(size)

    before = cache_size()
    clock = FixedClock(START)
    ledger = _ledger(sqlite_storage, clock, "counts")
    _scenario(ledger, clock)
    clock.set(LATER)
    assert 10 == ledger.expire_due().lots_expired
    assert before == cache_size()


def test_sqlite_expires_as_much_once_its_tables_are_analysed(tmp_path: Path) -> None:
    """Statistics change SQLite's plans, never what a set-based run writes."""
    path = tmp_path / "analysed.db"
    storage = SQLiteStorage(path)
    clock = FixedClock(START)
    ledger = _ledger(storage, clock, "analysed")
    _scenario(ledger, clock)
    with sqlite3.connect(path) as db:
        db.execute("ANALYZE")
    runs = _run(ledger, clock)
    assert (10, 6) == (
        sum(run.lots_expired for run in runs),
        sum(t.kind.value == "expiry" for run in runs for t in run.transactions),
    )
    ledger.audit()
    storage.close()


def test_sqlite_finds_each_lot_by_its_key(sqlite_storage: SQLiteStorage) -> None:
    """The batch reads and updates lots by key, never by a walk of the programme's lots."""
    from pointkit.storage.sqlite import _expiry_rows  # noqa: PLC0415 - the statements under test

    with sqlite_storage.writing(ProgramId("plans")) as unit:
        db = unit._db
        for create in _expiry_rows._CREATE:
            db.execute(create)

        def plan(sql: str, arguments: tuple[object, ...]) -> list[str]:
            return [row[-1] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}", arguments)]

        reads = plan(_expiry_rows._WALLET_LOTS, (1, "ann", "points", 2))
        (update, _), *_ = [w for w in _expiry_rows._WRITES if w[0].startswith("UPDATE pk_lot")]
        writes = plan(update, (1,))
    wallet_index = "USING INDEX pk_lot_open (program_id=? AND member=? AND currency=?"
    assert any(wallet_index in step for step in reads), reads
    assert [
        "SCAN b",
        "SEARCH pk_lot USING INDEX sqlite_autoindex_pk_lot_1 (program_id=? AND lot_id=?)",
    ] == writes


def _asking(counts: list[int]) -> tuple[Callable[[int, int], list[int]], list[tuple[int, int]]]:
    asked: list[tuple[int, int]] = []

    def sizes(start: int, stop: int) -> list[int]:
        asked.append((start, stop))
        return counts[start:stop]

    return sizes, asked


def test_a_batch_reads_about_the_wallets_it_takes() -> None:
    """Wallets of many due lots are read a few at a time, not every candidate's at once."""
    sizes, asked = _asking([30] * 1_000)
    assert (166, False) == take_wallets(1_000, sizes, 5_000)  # 167 would hold 5,010 lots
    assert [(0, 256)] == asked
    sizes, asked = _asking([1] * 5_000)
    assert (5_000, True) == take_wallets(5_000, sizes, 5_000)
    assert [(0, 256), (256, 2_304), (2_304, 4_352), (4_352, 5_000)] == asked
    sizes, asked = _asking([3] * 300)
    assert (300, True) == take_wallets(300, sizes, 5_000)
    assert [(0, 256), (256, 300)] == asked


@pytest.mark.parametrize(
    ("counts", "limit", "most", "taken"),
    [
        ([50, 1], 10, 100, (1, False)),  # the first wallet always, however many lots
        ([0, 20, 1], 10, 100, (2, False)),  # one with none does not count as taken
        ([4, 6, 1], 10, 100, (2, False)),  # full
        ([4, 6], 10, 100, (2, True)),
        ([2, 5, 1], 100, 4, (2, False)),  # more than a transaction takes: the batch's last
        ([2, 4, 1], 100, 4, (3, True)),
    ],
)
def test_which_wallets_a_batch_takes(
    counts: list[int],
    limit: int,
    most: int,
    taken: tuple[int, bool],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Wallets in order while their lots fit the limit; one over a transaction's most ends it."""
    monkeypatch.setattr(limits, "LOTS_PER_COMMAND_MAX", most)
    sizes, _ = _asking(counts)
    assert taken == take_wallets(len(counts), sizes, limit)

"""The programme's audit recomputes every derived row: counters, streaks, budgets, tier states.

Hardening review #8: stock reset with ``UPDATE pk_budget SET used = 0``, limits and pity wiped with
``DELETE FROM pk_counter``, and edited tier rows all passed the audit, which replayed only the
journal. Each record now keeps its increments, and ``Program.audit`` replays them.
"""

from __future__ import annotations

import hashlib
import sqlite3
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import pytest

from pointkit import FixedClock, MemberId, MemoryStorage, Money, ProgramId
from pointkit.exceptions import InvariantViolation
from pointkit.pricing import ProvablyFair, SeededRandom
from pointkit.program import Campaigns, Program, load_config
from pointkit.rules import Event
from pointkit.storage.sqlite import SQLiteStorage
from pointkit.tiers import TierChange, TierChangeReason


if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from pointkit.ledger import ReadUnit, Storage, WriteUnit


MALL = Path(__file__).parent.parent / "src" / "pointkit" / "program" / "points_mall.toml"
GOLDEN_V3 = Path(__file__).parent / "golden" / "sqlite_v3_records.sql"
START = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
DAY4 = "2026-06-04T02:00:00+00:00"
FAIR = ProvablyFair(bytes(range(32)), client_seed="5f0c9e2b7a1d4e36")
NONCES = f"pointkit:fair:{FAIR.commitment}:{FAIR.client_seed}"
"""The budget that numbers the fair draws under FAIR's seed pair: their nonces."""


def _mall(storage: Storage, clock: FixedClock, program: str | None = None) -> Program:
    # The mall without its campaigns: the counts below are the core features' records.
    config = attrs.evolve(
        load_config(MALL), id=program or f"audit-{uuid.uuid4().hex[:8]}", campaigns=Campaigns()
    )
    return Program(config, storage=storage, clock=clock)


def _populate(mall: Program, clock: FixedClock) -> None:
    """Events, a streak, redemptions (one cancelled), draws, a fair draw, a conversion, tiers."""
    mall.adjust("ann", 20_000, key="gift-ann", reason="test balance")
    mall.adjust("bob", 20_000, key="gift-bob", reason="test balance")
    for day in range(3):
        mall.record(Event.sign_in(f"sign-in-{day}", "ann", clock.now()))
        clock.advance(timedelta(days=1))
    order = Money(880, "CNY")
    mall.record(Event.purchase("order-1", "ann", clock.now(), amount=order, order_id="order-1"))
    mall.record(Event.share("share-1", "bob", clock.now()))
    coupon = mall.redeem("ann", "coupon", key="coupon-1")
    mall.fulfil(coupon.key, key="fulfil-1")
    cancelled = mall.redeem("bob", "coupon", key="coupon-2")
    mall.cancel(cancelled.key, key="cancel-2")
    mall.redeem("bob", "watch", key="watch-1")
    for n in range(2):
        mall.draw("ann", "wheel", draw_id=f"draw-{n}", minor=False, random=SeededRandom(n))
    mall.draw("bob", "wheel", draw_id="fair-1", minor=False, random=FAIR)
    mall.convert("ann", "points-to-miles", 1000, key="convert-1")
    mall.set_tier("bob", "gold", never_downgrade=True)
    mall.review_tier("ann")


def _raised(mall: Program) -> str:
    with pytest.raises(InvariantViolation) as raised:
        mall.audit()
    return str(raised.value)


# -- a clean programme -------------------------------------------------------------------------


def test_a_programme_audits_clean_on_every_adapter(any_storage: Storage) -> None:
    """Every record, counter, streak, budget and tier state is replayed and found as stored."""
    clock = FixedClock(START)
    mall = _mall(any_storage, clock)
    _populate(mall, clock)
    report = mall.audit()
    assert (17, 3, 8, 3) == (report.transactions, report.wallets, report.lots, report.holds)
    assert (13, 14, 1, 6, 2, 3) == (
        report.records,
        report.counters,
        report.streaks,
        report.budgets,
        report.tier_states,
        report.tier_changes,
    )
    assert (0, 0, ()) == (
        report.records_without_effects,
        report.not_recomputed,
        report.not_audited,
    )


def test_the_programme_audit_checks_the_seals_too() -> None:
    """With a seal key, the journal part of the programme's audit checks every seal."""
    clock = FixedClock(START)
    config = attrs.evolve(load_config(MALL), id="sealed", campaigns=Campaigns())
    mall = Program(config, storage=MemoryStorage(), clock=clock, seal_key=bytes(range(32)))
    _populate(mall, clock)
    report = mall.audit()
    assert (17, 17, 13) == (report.transactions, report.sealed, report.records)


# -- tampering with the derived rows in SQL ------------------------------------------------------

TAMPERING = [
    pytest.param(
        "UPDATE {s}pk_budget SET used = 0 WHERE program_id = {p}",
        3,
        [
            "budget pointkit:stock:offer:coupon is used=0; its records give used=1",
            "budget pointkit:stock:offer:watch is used=0; its records give used=1",
            f"budget {NONCES} is used=0; its records give used=1",
        ],
        id="stock-reset",
    ),
    pytest.param(
        "DELETE FROM {s}pk_budget WHERE program_id = {p}",
        3,
        [
            "budget pointkit:stock:offer:coupon is missing; its records give used=1",
            "budget pointkit:stock:offer:watch is missing; its records give used=1",
            f"budget {NONCES} is missing; its records give used=1",
        ],
        id="stock-deleted",
    ),
    pytest.param(
        "DELETE FROM {s}pk_counter WHERE program_id = {p}",
        14,
        [
            (
                "counter pointkit:conversion:points-to-miles/month:2026-06 of 'ann' is missing; "
                "its records give points=1000 tasks=1"
            ),
            (
                "counter pointkit:pity:wheel/lifetime of 'ann' is missing; "
                "its records give points=0 tasks=2"
            ),
            "counter program/day:2026-06-04 of 'ann' is missing; its records give points=88 tasks=1",
            (
                "counter pointkit:offer:watch/lifetime of 'bob' is missing; "
                "its records give points=0 tasks=1"
            ),
        ],
        id="counters-deleted",
    ),
    pytest.param(
        "UPDATE {s}pk_counter SET tasks = 0 WHERE program_id = {p}",
        13,
        [
            (
                "counter pointkit:draws:wheel/day:2026-06-04 of 'ann' is points=0 tasks=0; "
                "its records give points=0 tasks=2"
            ),
            (
                "counter rule:share/day:2026-06-04 of 'bob' is points=50 tasks=0; "
                "its records give points=50 tasks=1"
            ),
        ],
        id="tasks-reset",
    ),
    pytest.param(
        "INSERT INTO {s}pk_counter (program_id, member, scope, period, points, tasks) "
        "VALUES ({p}, 'eve', 'program', 'day:2026-06-04', 100, 15)",
        1,
        [
            (
                "counter program/day:2026-06-04 of 'eve' is stored (points=100, tasks=15) but no "
                "record counts it"
            )
        ],
        id="counter-invented",
    ),
    pytest.param(
        "UPDATE {s}pk_streak SET length = 1 WHERE program_id = {p}",
        1,
        [
            (
                "streak sign-in of 'ann' is last day 2026-06-03, length 1; its records give "
                "last day 2026-06-03, length 3"
            )
        ],
        id="streak-shortened",
    ),
    pytest.param(
        "UPDATE {s}pk_tier SET tier = 'silver' WHERE program_id = {p} AND member = 'bob'",
        1,
        [
            f"the tier state of 'bob' is 'silver'; its last tier change (manual at {DAY4}) gives 'gold'"
        ],
        id="tier-edited",
    ),
    pytest.param(
        "DELETE FROM {s}pk_tier WHERE program_id = {p}",
        2,
        [
            (
                "the tier state of 'ann' is missing; its 1 tier change(s) end in 'normal' "
                "(joined at 2026-06-01T02:00:00+00:00)"
            ),
            (
                "the tier state of 'bob' is missing; its 2 tier change(s) end in 'gold' "
                f"(manual at {DAY4})"
            ),
        ],
        id="tiers-deleted",
    ),
]


@pytest.fixture(params=["sqlite", "postgres"])
def database(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[Storage, Callable[[str, str], None]]]:
    """A storage on a real database, and a way to run raw SQL on it as an intruder would.

    The SQL names tables as ``{s}pk_...`` and the program as ``{p}``.
    """
    if request.param == "sqlite":
        storage = SQLiteStorage(tmp_path / "points.db")

        def tamper(sql: str, program: str) -> None:
            raw = sqlite3.connect(storage.path, isolation_level=None)
            raw.execute(sql.format(s="", p="?"), (program,))
            raw.close()

        yield storage, tamper
        storage.close()
        return
    import psycopg  # noqa: PLC0415 - the postgres extra

    from pointkit.storage.postgres import PostgresStorage  # noqa: PLC0415 - the postgres extra

    dsn: str = request.getfixturevalue("postgres_dsn")
    schema: str = request.getfixturevalue("postgres_schema")
    pg = PostgresStorage(dsn, schema=schema)

    def tamper_pg(sql: str, program: str) -> None:
        with psycopg.connect(dsn, autocommit=True) as raw:
            raw.execute(sql.format(s=f"{schema}.", p="%s"), (program,))

    yield pg, tamper_pg
    pg.close()


@pytest.mark.parametrize(("sql", "problems", "named"), TAMPERING)
def test_an_edited_derived_row_fails_the_audit(
    database: tuple[Storage, Callable[[str, str], None]],
    sql: str,
    problems: int,
    named: list[str],
) -> None:
    """Each edit of a counter, streak, budget or tier row is a problem naming the row."""
    storage, tamper = database
    clock = FixedClock(START)
    mall = _mall(storage, clock)
    _populate(mall, clock)
    mall.audit()
    tamper(sql, mall.ledger.program)
    message = _raised(mall)
    assert message.startswith(f"the audit found {problems} problem(s) in the records and tiers:")
    assert problems == message.count("\n  ")
    assert [] == [line for line in named if f"\n  {line}" not in message]


def test_every_changed_row_is_listed_at_once(tmp_path: Path) -> None:
    """Stock, counters and tiers edited together come back in one error, each problem named."""
    storage = SQLiteStorage(tmp_path / "points.db")
    clock = FixedClock(START)
    mall = _mall(storage, clock)
    _populate(mall, clock)
    raw = sqlite3.connect(storage.path, isolation_level=None)
    raw.execute("UPDATE pk_budget SET used = 0 WHERE name = 'pointkit:stock:offer:watch'")
    raw.execute("UPDATE pk_counter SET tasks = 0 WHERE scope = 'pointkit:pity:wheel'")
    raw.execute("UPDATE pk_tier SET tier = 'gold' WHERE member = 'ann'")
    raw.close()
    assert (
        "the audit found 4 problem(s) in the records and tiers:\n"
        "  counter pointkit:pity:wheel/lifetime of 'ann' is points=0 tasks=0; its records give "
        "points=0 tasks=2\n"
        "  counter pointkit:pity:wheel/lifetime of 'bob' is points=0 tasks=0; its records give "
        "points=0 tasks=1\n"
        "  budget pointkit:stock:offer:watch is used=0; its records give used=1\n"
        "  the tier state of 'ann' is 'gold'; its last tier change "
        "(joined at 2026-06-01T02:00:00+00:00) gives 'normal'"
    ) == _raised(mall)
    storage.close()


def test_journal_and_record_problems_come_in_one_error(tmp_path: Path) -> None:
    """A tampered hold and a tampered budget are both reported, the journal's first."""
    storage = SQLiteStorage(tmp_path / "points.db")
    clock = FixedClock(START)
    mall = _mall(storage, clock)
    _populate(mall, clock)
    raw = sqlite3.connect(storage.path, isolation_level=None)
    raw.execute("UPDATE pk_budget SET used = 5 WHERE name = 'pointkit:stock:offer:coupon'")
    raw.execute("UPDATE pk_hold SET expires_at = expires_at + 1 WHERE status = 'open'")
    raw.close()
    message = _raised(mall)
    assert message.startswith("the audit found 1 problem(s):\n  hold ")
    assert message.endswith(
        "\nand the audit found 1 problem(s) in the records and tiers:\n"
        "  budget pointkit:stock:offer:coupon is used=5; its records give used=1"
    )
    storage.close()


def _drop_record_guards(raw: sqlite3.Connection) -> None:
    """What an intruder must do first: pk_rule_event is append-only."""
    raw.execute("DROP TRIGGER pk_rule_event_no_update")


def test_a_record_and_its_increments_share_a_checksum(tmp_path: Path) -> None:
    """Editing a record's stored increments to match an edited row fails the checksum."""
    storage = SQLiteStorage(tmp_path / "points.db")
    clock = FixedClock(START)
    mall = _mall(storage, clock)
    _populate(mall, clock)
    raw = sqlite3.connect(storage.path, isolation_level=None)
    _drop_record_guards(raw)
    raw.execute(
        "UPDATE pk_rule_event SET effects = replace(effects, '88,1', '0,1') "
        "WHERE event_id = 'order-1'"
    )
    raw.execute("UPDATE pk_counter SET points = 0 WHERE period = 'day:2026-06-04' AND points = 88")
    raw.close()
    assert (
        "the audit found 1 problem(s) in the records and tiers:\n"
        "  the records could not be read: the stored record of event 'order-1' does not match "
        "its checksum"
    ) == _raised(mall)
    order = Event.purchase("order-1", "ann", START, amount=Money(880, "CNY"), order_id="order-1")
    with pytest.raises(InvariantViolation, match="'order-1' does not match its checksum"):
        mall.record(order)
    storage.close()


def test_a_record_stripped_of_its_increments_is_found(tmp_path: Path) -> None:
    """A record made to look older than the migration, checksum and all, is out of order."""
    storage = SQLiteStorage(tmp_path / "points.db")
    clock = FixedClock(START)
    mall = _mall(storage, clock)
    _populate(mall, clock)
    raw = sqlite3.connect(storage.path, isolation_level=None)
    _drop_record_guards(raw)
    decision = raw.execute("SELECT decision FROM pk_rule_event WHERE event_id = 'share-1'")
    digest = hashlib.sha256(decision.fetchone()[0].encode()).digest()
    raw.execute(
        "UPDATE pk_rule_event SET effects = NULL, checksum = ? WHERE event_id = 'share-1'",
        (digest,),
    )
    raw.close()
    message = _raised(mall)
    assert (
        "record 'share-1' has no stored increments, yet it was saved after record 'order-1', "
        "which has them"
    ) in message
    storage.close()


# -- the tier history decides the tier state ------------------------------------------------------


@contextmanager
def _memory_rows(storage: MemoryStorage, program: str) -> Iterator[Any]:
    """The in-memory adapter's rows of *program*, to edit as a bug in an adapter would."""
    yield storage._programs[ProgramId(program)]


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        pytest.param(
            lambda state: attrs.evolve(state, since=START + timedelta(hours=1)),
            "the tier state of 'ann' has since=2026-06-01T03:00:00+00:00; its tier changes "
            "give 2026-06-01T02:00:00+00:00 (joined at 2026-06-01T02:00:00+00:00)",
            id="since",
        ),
        pytest.param(
            lambda state: attrs.evolve(state, grace_until=START + timedelta(days=30)),
            "the tier state of 'ann' has grace_until=2026-07-01T02:00:00+00:00; its last tier "
            "change (joined at 2026-06-01T02:00:00+00:00) leaves no grace running",
            id="grace",
        ),
        pytest.param(
            lambda state: attrs.evolve(state, never_downgrade=True),
            "the tier state of 'ann' never goes down, but no manual tier change made it so",
            id="never-downgrade",
        ),
    ],
)
def test_a_tier_state_its_history_does_not_give_is_found(
    edit: Callable[[Any], Any], expected: str
) -> None:
    """since, a running grace and never-downgrade follow from the changes; edits are found."""
    storage, clock = MemoryStorage(), FixedClock(START)
    mall = _mall(storage, clock)
    _populate(mall, clock)
    with _memory_rows(storage, mall.ledger.program) as rows:
        state, version = rows.tiers[MemberId("ann")]
        rows.tiers[MemberId("ann")] = (edit(state), version)
    assert f"the audit found 1 problem(s) in the records and tiers:\n  {expected}" == _raised(mall)


def test_a_broken_tier_history_is_found() -> None:
    """Each change is from the tier the one before it left; a state needs a change behind it."""
    storage, clock = MemoryStorage(), FixedClock(START)
    mall = _mall(storage, clock)
    _populate(mall, clock)
    with _memory_rows(storage, mall.ledger.program) as rows:
        at = START + timedelta(days=5)
        rows.tier_log[MemberId("ann")].append(
            TierChange("ann", at, "silver", "normal", TierChangeReason.DOWNGRADE, 0)
        )
        state, version = rows.tiers[MemberId("bob")]
        rows.tiers[MemberId("cy")] = (attrs.evolve(state, member="cy"), version)
    assert (
        "the audit found 3 problem(s) in the records and tiers:\n"
        "  tier change 2 of 'ann' (downgrade at 2026-06-06T02:00:00+00:00) is from 'silver', "
        "but the change before it left 'normal'\n"
        "  the tier state of 'ann' has since=2026-06-01T02:00:00+00:00; its tier changes give "
        "2026-06-06T02:00:00+00:00 (downgrade at 2026-06-06T02:00:00+00:00)\n"
        f"  the tier state of 'cy' ('gold' since {DAY4}) has no tier change behind it"
    ) == _raised(mall)


def test_a_give_back_without_a_count_is_found() -> None:
    """Replaying applies give-backs as the adapters do: never to a row no record counted."""
    storage, clock = MemoryStorage(), FixedClock(START)
    mall = _mall(storage, clock)
    _populate(mall, clock)
    with _memory_rows(storage, mall.ledger.program) as rows:
        returned = next(key for key in rows.rule_events if "redemption-return" in key)
        record = rows.rule_events[returned]
        rows.rule_events[returned] = attrs.evolve(
            record,
            counters=((("pointkit:offer:coupon", "day:2026-06-01"), 0, -1),),
            budgets=(("pointkit:stock:offer:coupon", -3),),
        )
    message = _raised(mall)
    assert (
        f"record {returned!r} gives back to counter pointkit:offer:coupon/day:2026-06-01 of "
        "'bob', which no record before it counts"
    ) in message
    assert f"record {returned!r} takes budget pointkit:stock:offer:coupon below zero (2 -3)" in (
        message
    )


# -- storages without the audit reads -----------------------------------------------------------


class _OlderUnit:
    """A unit of an adapter written before the audit reads: it lacks every ``all_*`` of them."""

    _LACKS = frozenset(
        {
            "all_rule_events",
            "all_counters",
            "all_streaks",
            "all_budgets",
            "all_tiers",
            "all_tier_changes",
        }
    )

    def __init__(self, inner: object) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:  # noqa: ANN401 - delegates anything
        if name in self._LACKS:
            raise AttributeError(name)
        return getattr(self._inner, name)


class _OlderStorage:
    """Delegates to a storage; its units lack the audit reads."""

    def __init__(self, inner: Storage) -> None:
        self.inner = inner

    @contextmanager
    def reading(self, program: ProgramId) -> Iterator[ReadUnit]:
        with self.inner.reading(program) as unit:
            yield _OlderUnit(unit)

    @contextmanager
    def writing(self, program: ProgramId) -> Iterator[WriteUnit]:
        with self.inner.writing(program) as unit:
            yield _OlderUnit(unit)


def test_a_storage_without_the_audit_reads_is_reported_not_audited() -> None:
    """An older adapter still runs; the report says records and tiers were not audited."""
    inner, clock = MemoryStorage(), FixedClock(START)
    mall = _mall(_OlderStorage(inner), clock)
    _populate(mall, clock)
    report = mall.audit()
    assert (None, None, None, None, None, None) == (
        report.records,
        report.counters,
        report.streaks,
        report.budgets,
        report.tier_states,
        report.tier_changes,
    )
    assert (
        (
            "records: the storage's unit _OlderUnit does not implement all_rule_events, "
            "all_counters, all_streaks, all_budgets; see docs/custom-storage.md"
        ),
        (
            "tiers: the storage's unit _OlderUnit does not implement all_tiers, all_tier_changes; "
            "see docs/custom-storage.md"
        ),
    ) == report.not_audited
    assert 17 == report.transactions


# -- databases written before records kept their increments --------------------------------------


def test_a_schema_3_sqlite_database_upgrades_and_audits_honestly(tmp_path: Path) -> None:
    """Old records cannot be replayed: the rows they touched are counted, never judged."""
    path = tmp_path / "v3.db"
    raw = sqlite3.connect(path)
    raw.executescript(GOLDEN_V3.read_text(encoding="utf-8"))
    raw.close()
    storage = SQLiteStorage(path)
    clock = FixedClock(datetime(2026, 6, 3, 2, 0, tzinfo=UTC))
    mall = _mall(storage, clock, "golden-v3")
    report = mall.audit()
    # ann's 5 counters and 1 streak, and all 4 budgets, may have been changed by the 6 records.
    assert (6, 6, 10) == (report.records, report.records_without_effects, report.not_recomputed)
    mall.record(Event.sign_in("sign-in-2", "ann", clock.now()))
    mall.adjust("bob", 2_000, key="gift-bob", reason="test balance")
    mall.redeem("bob", "coupon", key="coupon-bob")
    report = mall.audit()
    assert (8, 6, 11) == (report.records, report.records_without_effects, report.not_recomputed)
    assert (7, 1, 4) == (report.counters, report.streaks, report.budgets)
    raw = sqlite3.connect(path, isolation_level=None)
    raw.execute("UPDATE pk_counter SET tasks = 0 WHERE member = 'ann'")
    raw.close()
    mall.audit()  # ann's counters are not recomputable: counted above, not reported
    raw = sqlite3.connect(path, isolation_level=None)
    raw.execute("UPDATE pk_counter SET tasks = 2 WHERE member = 'bob'")
    raw.close()
    assert (
        "the audit found 1 problem(s) in the records and tiers:\n"
        "  counter pointkit:offer:coupon/day:2026-06-03 of 'bob' is points=0 tasks=2; its "
        "records give points=0 tasks=1"
    ) == _raised(mall)
    storage.close()


def test_a_schema_3_postgres_database_upgrades_and_audits_honestly(postgres_dsn: str) -> None:
    """Rows from before the migration are numbered first, without increments, and counted."""
    import psycopg  # noqa: PLC0415 - the postgres extra

    from pointkit.storage.postgres import PostgresStorage  # noqa: PLC0415 - the postgres extra
    from pointkit.storage.postgres._schema import _MIGRATIONS  # noqa: PLC0415 - the old schema

    schema = f"pointkit_v3_{uuid.uuid4().hex[:8]}"
    decision = '{"event": "old-1"}'
    try:
        old_rows: list[tuple[str, tuple[object, ...]]] = [
            ("CREATE SCHEMA {s}", ()),
            (
                (
                    "CREATE TABLE {s}.pk_schema "
                    "(version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
                ),
                (),
            ),
            *[(_MIGRATIONS[version], ()) for version in (1, 2, 3)],
            ("INSERT INTO {s}.pk_schema (version) VALUES (1), (2), (3)", ()),
            (
                (
                    "INSERT INTO {s}.pk_rule_event VALUES "
                    "('old', 'old-1', 'ann', 'sign_in', %s, %s, %s)"
                ),
                (START, decision, hashlib.sha256(decision.encode()).digest()),
            ),
            (
                (
                    "INSERT INTO {s}.pk_counter VALUES "
                    "('old', 'ann', 'program', 'day:2026-06-01', 1, 1)"
                ),
                (),
            ),
            ("INSERT INTO {s}.pk_budget VALUES ('old', 'launch', 5)", ()),
        ]
        with psycopg.connect(postgres_dsn, autocommit=True) as raw:
            for statement, parameters in old_rows:
                raw.execute(statement.replace("{s}", schema), parameters or None)
        storage = PostgresStorage(postgres_dsn, schema=schema, migrate=True)
        clock = FixedClock(START + timedelta(days=1))
        mall = _mall(storage, clock, "old")
        mall.record(Event.sign_in("new-1", "bob", clock.now()))
        report = mall.audit()
        assert (2, 1, 2) == (report.records, report.records_without_effects, report.not_recomputed)
        with storage.reading(ProgramId("old")) as unit:
            order = [
                (stored.record.event_id, stored.has_effects) for stored in unit.all_rule_events()
            ]
        assert [("old-1", False), ("new-1", True)] == order
        with psycopg.connect(postgres_dsn, autocommit=True) as raw:
            raw.execute(
                "UPDATE {s}.pk_streak SET length = 4 WHERE member = 'bob'".replace("{s}", schema)
            )
        assert (
            "the audit found 1 problem(s) in the records and tiers:\n"
            "  streak sign-in of 'bob' is last day 2026-06-02, length 4; its records give "
            "last day 2026-06-02, length 1"
        ) == _raised(mall)
        storage.close()
    finally:
        with psycopg.connect(postgres_dsn, autocommit=True) as raw:
            raw.execute("DROP SCHEMA IF EXISTS {s} CASCADE".replace("{s}", schema))

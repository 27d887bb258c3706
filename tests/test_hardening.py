"""Regressions of defects an adversarial review found: each fails on the code before its fix."""

from __future__ import annotations

import re
import sqlite3
import uuid
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import pytest

from pointkit import (
    FixedClock,
    IdempotencyConflictError,
    Ledger,
    MemberId,
    MemoryStorage,
    Money,
    limits,
)
from pointkit.cli import main
from pointkit.exceptions import (
    ArgumentTypeError,
    CapturedHoldReleaseError,
    ConfigurationError,
    HoldAlreadyCapturedError,
    InvalidArgumentError,
    InvariantViolation,
    ReleasedHoldCaptureError,
    StorageError,
)
from pointkit.expiry import ExpiryPolicy, RollingDays
from pointkit.ledger import AccountKind
from pointkit.ledger._codec import checksum, encode_transaction
from pointkit.pricing import PointsSplit, Price, SeededRandom
from pointkit.program import Program, load_config
from pointkit.rules import Event
from pointkit.storage.sqlite import SQLiteStorage


if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from pointkit.ledger import Storage


MALL = Path(__file__).parent.parent / "src" / "pointkit" / "program" / "points_mall.toml"
START = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)


@pytest.fixture
def mall(any_storage: Storage) -> Program:
    """The packaged programme, in a program of its own, on each adapter in turn."""
    config = attrs.evolve(load_config(MALL), id=f"hardening-{uuid.uuid4().hex[:8]}")
    return Program(config, storage=any_storage, clock=FixedClock(START))


@pytest.mark.parametrize(
    "event_id", ["pointkit:draw:D1", "pointkit:conversion:c1", "pointkit:redemption:x"]
)
def test_reserved_event_ids_are_refused_and_block_nobody(mall: Program, event_id: str) -> None:
    """An event id in pointkit's namespace is refused, so no member can deny another a draw."""
    with pytest.raises(
        InvalidArgumentError, match=r"event\.id='pointkit:.*' starts with 'pointkit:'"
    ):
        mall.record(Event.sign_in(event_id, "eve", START))
    with pytest.raises(
        InvalidArgumentError, match=r"event_id='pointkit:.*' starts with 'pointkit:'"
    ):
        mall.refund_event(event_id, key="refund-1")
    mall.adjust("bob", 2_000, key="gift", reason="test balance")
    drawn = mall.draw("bob", "wheel", draw_id="D1", minor=False, random=SeededRandom(1))
    again = mall.draw("bob", "wheel", draw_id="D1", minor=False, random=SeededRandom(1))
    assert ("D1", False, True) == (drawn.record.draw_id, drawn.replayed, again.replayed)
    assert drawn.record == mall.draw_record("D1")
    change = drawn.transaction.change_for(MemberId("bob"))
    assert change is not None
    assert 2_000 + change.posted_change == mall.balance("bob").posted
    mall.audit()


def test_an_event_conflict_names_the_attribute_that_differs(mall: Program) -> None:
    """An event id resent with another amount names attributes.amount, with both values."""
    order = Event.purchase("o-7", "ann", START, amount=Money(880, "CNY"), order_id="o-7")
    mall.record(order)
    changed = Event.purchase("o-7", "ann", START, amount=Money(990, "CNY"), order_id="o-7")
    with pytest.raises(IdempotencyConflictError) as raised:
        mall.record(changed)
    assert (
        "key='o-7' was already used for a different command (attributes.amount: "
        '{"amount": "880.00", "currency": "CNY"} was stored, '
        '{"amount": "990.00", "currency": "CNY"} was given)'
    ) == str(raised.value)
    assert "" == raised.value.hint


def test_an_event_resent_with_another_time_says_what_to_send(mall: Program) -> None:
    """The trap of stamping an event with the sending time: the conflict says what to do."""
    mall.record(Event.sign_in("s-1", "ann", START))
    with pytest.raises(IdempotencyConflictError) as raised:
        mall.record(Event.sign_in("s-1", "ann", START + timedelta(seconds=3)))
    assert [field for field, _, _ in raised.value.differences] == ["at"]
    assert "send the time it happened (the order's creation time" in str(raised.value)
    assert raised.value.hint in str(raised.value)
    assert mall.record(Event.sign_in("s-1", "ann", START)).outcome.replayed


@pytest.mark.parametrize("given", [None, START + timedelta(days=3)])
def test_reissued_points_expire_by_the_policy_unless_told(given: datetime | None) -> None:
    """A reissue without reissue_expires_at follows the expiry policy; a given instant wins."""
    clock = FixedClock(START)
    ledger = Ledger(
        MemoryStorage(), clock=clock, expiry=ExpiryPolicy("UTC", default=RollingDays(30))
    )
    ledger.earn("ann", 100, key="order-1")
    spent = ledger.redeem("ann", 60, key="shop-1")
    clock.advance(timedelta(days=1))
    ledger.reverse(spent.id, key="refund-1", restore="reissue", reissue_expires_at=given)
    reissued = [lot for lot in ledger.lots("ann") if lot.earned_at == clock.now()]
    expected = clock.now() + timedelta(days=30) if given is None else given
    assert [(60, expected)] == [(lot.amount, lot.expires_at) for lot in reissued]


def test_a_schema_named_by_a_reserved_word_works(postgres_dsn: str) -> None:
    """A schema called "select" is quoted in every statement, not a raw syntax error."""
    import psycopg  # noqa: PLC0415 - the postgres extra

    from pointkit.storage.postgres import (  # noqa: PLC0415 - the postgres extra
        SCHEMA_VERSION,
        PostgresStorage,
    )

    with psycopg.connect(postgres_dsn, autocommit=True) as guard:
        # One run at a time may own the fixed schema name, whoever else tests on this server.
        guard.execute("SELECT pg_advisory_lock(hashtext('pointkit-test-schema-select'))")
        try:
            storage = PostgresStorage(postgres_dsn, schema="select", migrate=True)
            ledger = Ledger(storage, clock=FixedClock(START), program=f"p-{uuid.uuid4().hex[:8]}")
            ledger.earn("ann", 100, key="order-1")
            ledger.redeem("ann", 30, key="shop-1")
            assert (70, SCHEMA_VERSION) == (
                ledger.balance("ann").available,
                storage.schema_version(),
            )
            ledger.audit()
            storage.close()
        finally:
            guard.execute('DROP SCHEMA IF EXISTS "select" CASCADE')
            guard.execute("SELECT pg_advisory_unlock(hashtext('pointkit-test-schema-select'))")


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        (
            'caps = [{ period = "day", points = 100, tasks = 15 }]',
            'caps = [{ period = "day", points = 100, tasks = 15, bogus = 1 }]',
            "earning.caps[0].bogus: unknown field; valid fields are 'period', 'points', 'tasks'",
        ),
        (
            "streak = { rewards = [1, 2, 3, 5, 10] }",
            "streak = { rewards = [1, 2, 3, 5, 10], bogus = 1 }",
            (
                "earning.rules[1].streak.bogus: unknown field; valid fields are 'rewards', "
                "'reset', 'repeat'"
            ),
        ),
        ('id = "points-mall"', 'id = ""', "program.id: '' must be non-empty"),
        ('id = "points-mall"', "id = 5", "program.id: 5 must be a str, not int"),
        ('id = "points-mall"', "id = []", "program.id: [] must be a str, not list"),
        ('id = "points-mall"', f'id = "{"x" * 65}"', "over limits.PROGRAM_ID_LENGTH_MAX (64)"),
        (
            'zone = "Asia/Shanghai"',
            'zone = "Mars/Base"',
            "- program.zone: 'Mars/Base' is not an IANA time zone",
        ),
        (
            'name = "silver"',
            'name = "normal"',
            "- tiers.levels[1].name: 'normal' is already the name of levels[0]",
        ),
    ],
)
def test_check_and_load_refuse_the_same_files_with_a_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], old: str, new: str, problem: str
) -> None:
    """Unknown fields in caps and streaks and bad programme ids are problems with a path, not tracebacks."""
    text = MALL.read_text(encoding="utf-8")
    assert old in text
    broken = tmp_path / "mall.toml"
    broken.write_text(text.replace(old, new, 1), encoding="utf-8")
    assert 1 == main(["check", str(broken)])
    assert problem in capsys.readouterr().err
    with pytest.raises(ConfigurationError, match=re.escape(problem)):
        Program.from_file(broken, storage=MemoryStorage(), clock=FixedClock(START))


def test_system_totals_past_the_integer_range_are_exact(any_storage: Storage) -> None:
    """Two members at POINTS_MAX put issuance past 2**63 - 1: balances and the audit stay exact."""
    ledger = Ledger(any_storage, clock=FixedClock(START), program=f"p-{uuid.uuid4().hex[:8]}")
    ledger.earn("a", limits.POINTS_MAX, key="1")
    ledger.earn("b", limits.POINTS_MAX, key="2")
    assert -2 * limits.POINTS_MAX == ledger.system_balance(AccountKind.ISSUANCE).posted
    ledger.audit()


def test_a_split_past_points_max_is_refused_when_the_price_is_made() -> None:
    """A split whose largest option needs more than POINTS_MAX points is a configuration problem."""
    with pytest.raises(
        ConfigurationError, match=r"split: its largest option takes \d+ points, over"
    ):
        Price(
            cash=Money.from_minor_units(999_803_004_005, "CNY"),
            split=PointsSplit(Fraction(1, 922518937)),
        )
    fine = Price(cash=Money("88.80", "CNY"), split=PointsSplit(Fraction(1, 100)))
    assert (0, 8_880) == fine.split_range()


def _until_full(ledger: Ledger) -> StorageError:
    """Earn until the database cannot grow; return the storage error that stopped it."""
    for n in range(5_000):
        try:
            ledger.earn("ann", 1, key=f"order-{n}", reason="x" * 500)
        except StorageError as error:
            return error
    raise AssertionError("the database never filled up")


def test_a_full_sqlite_disk_is_a_storage_error_and_the_key_completes_later(
    sqlite_storage: SQLiteStorage,
) -> None:
    """A full database names the command, key and cause; reads go on; freed, the key lands once."""
    ledger = Ledger(sqlite_storage, clock=FixedClock(START))
    ledger.earn("ann", 10, key="seed")
    connection = sqlite_storage._connection()
    pages = connection.execute("PRAGMA page_count").fetchone()[0]
    connection.execute(f"PRAGMA max_page_count = {pages}")  # the disk is full: no page more
    try:
        error = _until_full(ledger)
        assert "database or disk is full" in str(error)
        assert "earn" == error.command
        assert error.key is not None
        assert error.key.startswith("order-")
        assert ledger.transaction_by_key(error.key) is None  # reads keep working
        before = ledger.balance("ann").posted
    finally:
        connection.execute("PRAGMA max_page_count = 1073741823")
    done = ledger.earn("ann", 1, key=error.key, reason="x" * 500)
    again = ledger.earn("ann", 1, key=error.key, reason="x" * 500)
    assert (False, True) == (done.replayed, again.replayed)
    assert before + 1 == ledger.balance("ann").posted
    ledger.audit()


class _FullAtCommit:
    """A connection whose COMMIT meets a full disk: SQLite rolls back by itself, then says so."""

    def __init__(self, real: sqlite3.Connection) -> None:
        self.real = real
        self.full = True
        self.writing = False

    def __getattr__(self, name: str) -> object:
        return getattr(self.real, name)

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:  # noqa: ANN401 - passed through
        if sql.startswith("BEGIN"):
            self.writing = sql == "BEGIN IMMEDIATE"
        if sql == "COMMIT" and self.writing and self.full:
            self.real.execute("ROLLBACK")
            raise sqlite3.OperationalError("database or disk is full")
        return self.real.execute(sql, *args)


def test_a_commit_on_a_full_disk_says_so(
    sqlite_storage: SQLiteStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A COMMIT that SQLite already rolled back reports the full disk, not "no transaction"."""
    ledger = Ledger(sqlite_storage, clock=FixedClock(START))
    ledger.earn("ann", 10, key="seed")
    shim = _FullAtCommit(sqlite_storage._connection())
    monkeypatch.setattr(sqlite_storage, "_connection", lambda: shim)
    with pytest.raises(StorageError, match="database or disk is full") as raised:
        ledger.earn("ann", 5, key="order-1")
    assert ("earn", "order-1") == (raised.value.command, raised.value.key)
    assert 10 == ledger.balance("ann").posted
    shim.full = False
    assert not ledger.earn("ann", 5, key="order-1").replayed
    assert ledger.earn("ann", 5, key="order-1").replayed
    assert 15 == ledger.balance("ann").posted


def test_a_release_after_a_capture_has_its_own_error(any_storage: Storage) -> None:
    """Release after capture and capture after release each say what happened; seconds stay."""
    ledger = Ledger(any_storage, clock=FixedClock(START), program=f"p-{uuid.uuid4().hex[:8]}")
    ledger.earn("ann", 100, key="seed")
    spent = ledger.reserve("ann", 30, key="h1", timeout_seconds=60)
    freed = ledger.reserve("ann", 30, key="h2", timeout_seconds=60)
    ledger.capture(spent.id, key="c1")
    ledger.release(freed.id, key="r2")
    with pytest.raises(CapturedHoldReleaseError, match="reverse the capture") as released:
        ledger.release(spent.id, key="r1")
    with pytest.raises(ReleasedHoldCaptureError, match="reserve the points again") as captured:
        ledger.capture(freed.id, key="c2")
    assert ("captured_hold_not_releasable", "released_hold_not_capturable") == (
        released.value.code,
        captured.value.code,
    )
    with pytest.raises(HoldAlreadyCapturedError) as twice:
        ledger.capture(spent.id, key="c3")
    assert CapturedHoldReleaseError is not type(twice.value)


def test_errors_name_the_sender_the_recipient_and_the_draw_id(mall: Program) -> None:
    """A bad transfer party names which one it is; a bad draw id is called draw_id, not key."""
    with pytest.raises(InvalidArgumentError, match=r"^sender=' ann' must be non-empty"):
        mall.transfer(" ann", "bob", 500, key="gift-1")
    with pytest.raises(InvalidArgumentError, match=r"^recipient='' must be non-empty"):
        mall.transfer("ann", "", 500, key="gift-1")
    with pytest.raises(InvalidArgumentError, match=r"^draw_id='pointkit:d1' starts with"):
        mall.draw("ann", "wheel", draw_id="pointkit:d1", minor=False)
    with pytest.raises(InvalidArgumentError, match=r"^draw_id='' must be non-empty"):
        mall.draw("ann", "wheel", draw_id="", minor=False)


@pytest.fixture(params=["sqlite", "postgres"])
def sql_storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    """Each adapter whose rows can be edited behind the ledger's back."""
    if request.param == "sqlite":
        storage = SQLiteStorage(tmp_path / "points.db")
        yield storage
        storage.close()
    else:
        yield request.getfixturevalue("postgres_storage")


def _tamper(storage: Storage, request: pytest.FixtureRequest, statement: str) -> None:
    """Run *statement* on the adapter's database behind the ledger's back (``{s}.``: schema)."""
    schema = getattr(storage, "schema", None)
    if schema is None:
        raw = sqlite3.connect(storage.path, isolation_level=None)  # type: ignore[attr-defined]
        raw.execute(statement.format(s="main"))
        raw.close()
        return
    import psycopg  # noqa: PLC0415

    dsn = request.getfixturevalue("postgres_dsn")
    with psycopg.connect(dsn, autocommit=True) as raw_pg:
        raw_pg.execute(statement.format(s=schema))


def test_writes_refuse_a_wallet_row_that_reads_refuse(
    sql_storage: Storage, request: pytest.FixtureRequest
) -> None:
    """An edited wallet row stops commands as it stops balance(): no entry carries it on."""
    program = f"tamper-{uuid.uuid4().hex[:8]}"
    ledger = Ledger(sql_storage, clock=FixedClock(START), program=program)
    ledger.earn("alice", 5_000, key="e1")
    moved = "UPDATE {s}.pk_wallet SET posted = posted %s 1000 WHERE program_id = '%s'"
    _tamper(sql_storage, request, moved % ("+", program))
    with pytest.raises(InvariantViolation, match="disagrees with its journal entry"):
        ledger.balance("alice")
    commands: list[Callable[[], object]] = [
        lambda: ledger.redeem("alice", 1, key="r1"),
        lambda: ledger.earn("alice", 1, key="e2"),
        lambda: ledger.reserve("alice", 1, key="h1", timeout_seconds=60),
        lambda: ledger.transfer("alice", "bob", 1, key="t1"),
    ]
    for command in commands:
        with pytest.raises(InvariantViolation, match="disagrees with its journal entry"):
            command()
    for key in ("r1", "e2", "h1", "t1"):
        assert ledger.transaction_by_key(key) is None
    _tamper(sql_storage, request, moved % ("-", program))
    ledger.redeem("alice", 1, key="r1")
    assert 4_999 == ledger.balance("alice").posted
    ledger.audit()


def test_a_clamped_clawback_is_written_off_where_everyone_can_see_it(any_storage: Storage) -> None:
    """Reversing a 100-point earn with 20 left: 20 clawed, 80 on the write-off account."""
    ledger = Ledger(any_storage, clock=FixedClock(START), program=f"wo-{uuid.uuid4().hex[:8]}")
    earned = ledger.earn("alice", 100, key="e1")
    ledger.redeem("alice", 80, key="r1")
    reversal = ledger.reverse(earned.id, key="refund", clawback="clamp")
    assert 80 == reversal.written_off
    assert 0 == ledger.balance("alice").posted
    assert 0 == ledger.system_balance(AccountKind.ISSUANCE).posted  # the earn no longer stands
    assert -80 == ledger.system_balance(AccountKind.WRITE_OFF).posted
    assert 80 == ledger.system_balance(AccountKind.REDEMPTION).posted
    assert reversal == ledger.transaction_by_key("refund")  # stored, not just returned

    # A debit adjustment and a transfer's reversal report what they could not take; no
    # system account gave those points, so none is written off to the account.
    ledger.earn("bob", 30, key="e2")
    debit = ledger.adjust("bob", -50, key="a1", reason="chargeback", clawback="clamp")
    assert (50, 20) == (debit.amount, debit.written_off)
    ledger.earn("carol", 10, key="e3")
    sent = ledger.transfer("carol", "dan", 10, key="t1")
    ledger.redeem("dan", 6, key="r2")
    back = ledger.reverse(sent.id, key="t1-back", clawback="clamp")
    assert 6 == back.written_off
    assert (4, 0) == (ledger.balance("carol").posted, ledger.balance("dan").posted)
    assert -80 == ledger.system_balance(AccountKind.WRITE_OFF).posted
    ledger.audit()


KEY = bytes(range(32))


def test_a_sealed_journal_finds_an_edit_that_recomputes_the_checksum(
    sqlite_storage: SQLiteStorage,
) -> None:
    """Rewriting a reason and its checksum passes the unkeyed audit, never the sealed one."""
    ledger = Ledger(sqlite_storage, clock=FixedClock(START), seal_key=KEY)
    earned = ledger.earn("alice", 100, key="e1", reason="order 1")
    ledger.redeem("alice", 30, key="r1")
    assert earned.seal is not None
    assert earned == ledger.transaction(earned.id)
    assert 2 == ledger.audit().sealed
    forged = attrs.evolve(earned, reason="order 999")
    raw = sqlite3.connect(sqlite_storage.path, isolation_level=None)
    raw.execute("DROP TRIGGER pk_txn_no_update")
    raw.execute(
        "UPDATE pk_txn SET body = ?, checksum = ? WHERE idem_key = 'e1'",
        (encode_transaction(forged), checksum(encode_transaction(forged))),
    )
    assert "order 999" == ledger.transaction(earned.id).reason  # the checksum is satisfied
    Ledger(sqlite_storage, clock=FixedClock(START)).audit()  # and so is an unkeyed audit
    with pytest.raises(InvariantViolation, match=r"(?s)1 problem.*e1.*does not match its seal"):
        ledger.audit()
    unsealed = attrs.evolve(forged, seal=None)
    raw.execute(
        "UPDATE pk_txn SET body = ?, checksum = ? WHERE idem_key = 'e1'",
        (encode_transaction(unsealed), checksum(encode_transaction(unsealed))),
    )
    with pytest.raises(InvariantViolation, match=r"'e1'\) has no seal"):
        ledger.audit()
    raw.close()
    with pytest.raises(InvariantViolation, match="does not match its seal"):
        Ledger(sqlite_storage, clock=FixedClock(START), seal_key=b"another key, 16+").audit()


@pytest.mark.parametrize(
    ("key", "error", "message"),
    [
        (b"short", InvalidArgumentError, "seal_key has 5 bytes; it needs at least 16"),
        ("a string key of 32 characters!!!", ArgumentTypeError, "seal_key must be bytes"),
    ],
)
def test_a_seal_key_is_checked(key: object, error: type[Exception], message: str) -> None:
    """A seal key is bytes, long enough to be a secret."""
    with pytest.raises(error, match=message):
        Ledger(MemoryStorage(), clock=FixedClock(START), seal_key=key)  # type: ignore[arg-type]


def test_every_command_of_a_program_is_sealed(any_storage: Storage) -> None:
    """Events, offers, draws and conversions post sealed transactions, on every adapter."""
    config = attrs.evolve(load_config(MALL), id=f"sealed-{uuid.uuid4().hex[:8]}")
    mall = Program(config, storage=any_storage, clock=FixedClock(START), seal_key=KEY)
    mall.record(Event.purchase("o1", "ann", START, amount=Money("5000.00", "CNY"), order_id="o1"))
    mall.record(Event.sign_in("s1", "ann", START))
    mall.adjust("ann", 5_000, key="gift", reason="welcome gift")
    mall.redeem("ann", "coupon", key="buy-1")
    mall.draw("ann", "wheel", draw_id="d1", minor=False, random=SeededRandom(7))
    report = mall.audit()
    assert report.transactions == report.sealed > 0
    assert all(txn.seal for txn in mall.transactions())


def test_a_read_only_sqlite_database_refuses_writes_and_serves_reads(
    sqlite_storage: SQLiteStorage,
) -> None:
    """Writes on a read-only database are a StorageError naming the command; reads go on."""
    ledger = Ledger(sqlite_storage, clock=FixedClock(START))
    ledger.earn("ann", 10, key="seed")
    connection = sqlite_storage._connection()
    connection.execute("PRAGMA query_only = 1")  # what a read-only file or mount gives
    try:
        with pytest.raises(StorageError, match="readonly database") as raised:
            ledger.earn("ann", 5, key="order-1")
        assert ("earn", "order-1") == (raised.value.command, raised.value.key)
        assert 10 == ledger.balance("ann").posted
        assert ledger.transaction_by_key("order-1") is None
        ledger.audit()
    finally:
        connection.execute("PRAGMA query_only = 0")
    assert not ledger.earn("ann", 5, key="order-1").replayed
    assert 15 == ledger.balance("ann").posted

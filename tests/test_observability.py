"""Observability: a log record per command and per unit of work, OpenTelemetry spans and metrics.

The records' fields and levels for every outcome, the member hashed and nothing secret in any
record or span, the spans' nesting and the metrics on memory, SQLite and PostgreSQL, the
features and Program covered by the same hooks, and pointkit without opentelemetry installed.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import subprocess
import sys
import textwrap
import uuid
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import pytest
from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, NumberDataPoint
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from pointkit import (
    FixedClock,
    InsufficientPointsError,
    Ledger,
    MemoryStorage,
    Money,
    ProgramId,
    limits,
)
from pointkit.exceptions import (
    ArgumentTypeError,
    InvalidArgumentError,
    InvariantViolation,
    LinkedCommandError,
    StorageError,
    TransientStorageError,
)
from pointkit.ledger import AsyncLedger, _observe
from pointkit.observe import (
    disable_opentelemetry,
    enable_opentelemetry,
    member_hash,
    set_member_hash_key,
)
from pointkit.pricing import ProvablyFair, SeededRandom
from pointkit.program import Program, load_config
from pointkit.rules import Event
from pointkit.storage.sqlite import SQLiteStorage


if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from contextlib import AbstractContextManager

    from opentelemetry.sdk.trace import ReadableSpan

    from pointkit.ledger import Linked, ReadUnit, Storage, WriteUnit


MALL = Path(__file__).parent.parent / "src" / "pointkit" / "program" / "points_mall.toml"
FIELDS = (
    "command",
    "key",
    "program",
    "member_hash",
    "outcome",
    "error_code",
    "retries",
    "linked",
)
# Distinctive values, so that a scan for them finds nothing by chance.
MEMBER = "member-ZQX-7781"
SEAL_KEY = b"seal-key-SECRET-0123456789abcdef"
SERVER_SEED = b"server-seed-SECRET-0123456789abc"
PASSWORD = "dsn-password-SECRET-42"  # noqa: S105 - a password to look for, for no server


@pytest.fixture(autouse=True)
def _no_hooks_or_key() -> Iterator[None]:
    """Every test starts and ends with no hooks and the unkeyed member hash."""
    yield
    disable_opentelemetry()
    set_member_hash_key(None)


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Every pointkit record, DEBUG and up."""
    caplog.set_level(logging.DEBUG, logger="pointkit")
    return caplog


@attrs.frozen
class Telemetry:
    provider: TracerProvider
    spans: InMemorySpanExporter
    metrics: InMemoryMetricReader

    def finished(self) -> list[ReadableSpan]:
        return list(self.spans.get_finished_spans())

    def points(self, name: str) -> list[tuple[dict[str, Any], float]]:
        """Each data point of the metric *name*: its attributes and its value (or count)."""
        found: list[tuple[dict[str, Any], float]] = []
        data = self.metrics.get_metrics_data()
        for resource in data.resource_metrics if data is not None else ():
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name == name:
                        found.extend(
                            (
                                dict(point.attributes or {}),
                                point.value if isinstance(point, NumberDataPoint) else point.count,
                            )
                            for point in metric.data.data_points
                        )
        return found


@pytest.fixture
def telemetry() -> Iterator[Telemetry]:
    """OpenTelemetry enabled with the SDK's in-memory span exporter and metric reader."""
    spans = InMemorySpanExporter()
    tracer = TracerProvider(shutdown_on_exit=False)
    tracer.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    meter = MeterProvider(metric_readers=[reader], shutdown_on_exit=False)
    enable_opentelemetry(tracer_provider=tracer, meter_provider=meter)
    yield Telemetry(tracer, spans, reader)
    disable_opentelemetry()
    tracer.shutdown()
    meter.shutdown()


def _commands(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "pointkit.ledger"]


def _fields(record: logging.LogRecord) -> dict[str, object]:
    return {name: record.__dict__[name] for name in FIELDS}


@attrs.define
class Flaky:
    """A storage whose write units fail with *error* as they begin, *failures* times."""

    inner: Storage
    error: Exception
    failures: int

    def reading(self, program: ProgramId) -> AbstractContextManager[ReadUnit]:
        return self.inner.reading(program)

    @contextmanager
    def writing(self, program: ProgramId) -> Iterator[WriteUnit]:
        if self.failures > 0:
            self.failures -= 1
            raise self.error
        with self.inner.writing(program) as unit:
            yield unit


def _flaky_ledger(clock: FixedClock, error: Exception, failures: int) -> Ledger:
    return Ledger(Flaky(MemoryStorage(), error, failures), clock=clock)


# -- logging ---------------------------------------------------------------------------------


def test_an_ok_and_a_replayed_command_are_one_debug_record_each(
    ledger: Ledger, logs: pytest.LogCaptureFixture
) -> None:
    """earn, then the same earn: DEBUG ok, DEBUG replayed, with every field and no member id."""
    ledger.earn(MEMBER, 500, key="order-1")
    ledger.earn(MEMBER, 500, key="order-1")
    records = _commands(logs)
    assert [logging.DEBUG, logging.DEBUG] == [record.levelno for record in records]
    common = {
        "command": "earn",
        "key": "order-1",
        "program": "default",
        "member_hash": member_hash(MEMBER),
        "error_code": None,
        "retries": 0,
        "linked": False,
    }
    assert [{**common, "outcome": "ok"}, {**common, "outcome": "replayed"}] == [
        _fields(record) for record in records
    ]
    assert all(record.__dict__["duration_ms"] >= 0 for record in records)
    assert all(MEMBER not in record.getMessage() for record in records)


@pytest.mark.parametrize(
    ("send", "code"),
    [
        (lambda ledger: ledger.redeem(MEMBER, 5_000, key="r-1"), "insufficient_points"),
        (lambda ledger: ledger.redeem(MEMBER, 0, key="r-2"), "invalid_argument"),
        (lambda ledger: ledger.redeem(MEMBER, 1.5, key="r-3"), "argument_type"),
        (lambda ledger: ledger.earn(MEMBER, 1, key="order-1"), "idempotency_conflict"),
    ],
)
def test_a_refusal_is_an_info_record_with_its_code(
    ledger: Ledger, logs: pytest.LogCaptureFixture, send: Callable[[Ledger], object], code: str
) -> None:
    """A business refusal or a bad argument: INFO, outcome refused, the error's stable code."""
    ledger.earn(MEMBER, 500, key="order-1")
    logs.clear()
    with pytest.raises(Exception) as refused:  # noqa: PT011 - each case raises its own error
        send(ledger)
    assert code == refused.value.code  # type: ignore[attr-defined]  # every pointkit error has one
    [record] = _commands(logs)
    assert (logging.INFO, "refused", code, MEMBER in record.getMessage()) == (
        record.levelno,
        record.__dict__["outcome"],
        record.__dict__["error_code"],
        False,
    )


def test_a_transient_failure_is_a_warning_per_retry_and_one_record(
    clock: FixedClock, logs: pytest.LogCaptureFixture
) -> None:
    """Two busy databases, then success: two WARNING retries, then one DEBUG ok with retries=2."""
    ledger = _flaky_ledger(clock, TransientStorageError("SQLite: database is locked"), 2)
    ledger.earn(MEMBER, 10, key="order-1")
    records = _commands(logs)
    assert [
        (logging.WARNING, "retrying", 1, "storage_transient"),
        (logging.WARNING, "retrying", 2, "storage_transient"),
        (logging.DEBUG, "ok", 2, None),
    ] == [
        (r.levelno, r.__dict__["outcome"], r.__dict__["retries"], r.__dict__["error_code"])
        for r in records
    ]
    assert [2.0, 4.0] == [record.__dict__["pause_ms"] for record in records[:2]]


@pytest.mark.parametrize(
    ("error", "failures", "code", "retries"),
    [
        (StorageError(f"disk I/O error for {MEMBER}"), 1, "storage_error", 0),
        (InvariantViolation(f"pointkit: wallet {MEMBER!r} is off"), 1, "invariant_violation", 0),
        (
            TransientStorageError("busy"),
            limits.STORAGE_RETRIES_MAX + 1,
            "storage_transient",
            limits.STORAGE_RETRIES_MAX,
        ),
    ],
)
def test_a_failure_is_an_error_record_without_the_message(
    clock: FixedClock,
    logs: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    error: Exception,
    failures: int,
    code: str,
    retries: int,
) -> None:
    """A storage error, an invariant violation, retries run out: ERROR, failed, no message text."""
    monkeypatch.setattr("pointkit.ledger._envelope.time.sleep", lambda _: None)
    ledger = _flaky_ledger(clock, error, failures)
    with pytest.raises(type(error)):
        ledger.earn(MEMBER, 10, key="order-1")
    *_, record = _commands(logs)
    assert (logging.ERROR, "failed", code, retries) == (
        record.levelno,
        record.__dict__["outcome"],
        record.__dict__["error_code"],
        record.__dict__["retries"],
    )
    assert record.exc_info is None
    assert all(MEMBER not in str(value) for value in vars(record).values())


def test_an_error_from_outside_pointkit_is_a_failure_without_a_code(
    ledger: Ledger, logs: pytest.LogCaptureFixture
) -> None:
    """A host's own error in run_linked: ERROR, failed, no code, its class named."""

    def work(link: Linked) -> None:
        link.earn(MEMBER, 10, key="order-1")
        raise LookupError(MEMBER)

    with pytest.raises(LookupError):
        ledger.run_linked(work, key="block-1")
    *_, record = _commands(logs)
    assert (logging.ERROR, "linked", "failed", None, "LookupError") == (
        record.levelno,
        record.__dict__["command"],
        record.__dict__["outcome"],
        record.__dict__["error_code"],
        record.__dict__["error_type"],
    )


def test_a_key_that_is_not_a_str_is_not_shown(
    ledger: Ledger, logs: pytest.LogCaptureFixture
) -> None:
    """A refused key of the wrong type shows as None; a long one is cut to the longest key."""
    with pytest.raises(ArgumentTypeError):
        ledger.earn(MEMBER, 10, key=7)  # type: ignore[arg-type]  # what the test sends
    with pytest.raises(InvalidArgumentError):
        ledger.earn(MEMBER, 10, key="k" * 10_000)
    assert [None, "k" * limits.IDEMPOTENCY_KEY_LENGTH_MAX] == [
        record.__dict__["key"] for record in _commands(logs)
    ]


def test_linked_commands_and_their_block_are_each_a_record(
    ledger: Ledger, logs: pytest.LogCaptureFixture
) -> None:
    """In run_linked, each command is linked=True and the block is a command of its own."""
    ledger.earn(MEMBER, 100, key="seed")
    logs.clear()

    def work(link: Linked) -> None:
        link.transfer(MEMBER, "bob", 10, key="gift-1")
        link.redeem(MEMBER, 500, key="shop-1")

    with pytest.raises(InsufficientPointsError):
        ledger.run_linked(work, key="block-1")
    assert [
        ("transfer", "ok", True, "gift-1"),
        ("redeem", "refused", True, "shop-1"),
        ("linked", "refused", False, "block-1"),
    ] == [
        (r.__dict__["command"], r.__dict__["outcome"], r.__dict__["linked"], r.__dict__["key"])
        for r in _commands(logs)
    ]
    assert {member_hash(MEMBER)} == {r.__dict__["member_hash"] for r in _commands(logs)}


def test_a_link_used_after_a_refusal_is_refused_as_linked(
    ledger: Ledger, logs: pytest.LogCaptureFixture
) -> None:
    """A command sent on a failed link is a refused record with the linked_command_refused code."""
    with pytest.raises(LinkedCommandError), ledger.linked() as link:  # noqa: PT012 - the link is the unit
        with pytest.raises(InsufficientPointsError):
            link.redeem(MEMBER, 1, key="shop-1")
        link.earn(MEMBER, 1, key="order-2")
    assert ["insufficient_points", "linked_command_refused"] == [
        record.__dict__["error_code"] for record in _commands(logs)
    ]


def test_units_of_work_are_debug_records_on_the_storage_logger(
    ledger: Ledger, logs: pytest.LogCaptureFixture
) -> None:
    """A committed write, a rolled-back write and a read: one DEBUG record each, by adapter."""
    ledger.earn(MEMBER, 10, key="order-1")
    with pytest.raises(InsufficientPointsError):
        ledger.redeem(MEMBER, 50, key="shop-1")
    ledger.balance(MEMBER)
    units = [record for record in logs.records if record.name == "pointkit.storage"]
    assert [
        ("memory", "write", "commit", None, "earn"),
        ("memory", "write", "rollback", "insufficient_points", "redeem"),
        ("memory", "read", "commit", None, None),
    ] == [
        (f["adapter"], f["mode"], f["outcome"], f["error_code"], f["command"])
        for f in (record.__dict__ for record in units)
    ]
    assert {logging.DEBUG} == {record.levelno for record in units}


def test_a_unit_that_cannot_begin_is_a_failed_unit(
    tmp_path: Path, logs: pytest.LogCaptureFixture, telemetry: Telemetry
) -> None:
    """SQLite busy at BEGIN: a rollback record with the code, an ERROR span with the exception."""
    path = tmp_path / "busy.db"
    storage = SQLiteStorage(path, busy_timeout_ms=1)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(TransientStorageError), storage.writing(ProgramId("busy")):
            pass
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with pytest.raises(StorageError), storage.reading(ProgramId("busy")) as unit:
        unit._db.execute("SELECT * FROM no_such_table")
    storage.close()
    records = [record for record in logs.records if record.name == "pointkit.storage"]
    assert [
        ("write", "rollback", "storage_transient"),
        ("read", "rollback", "storage_error"),
    ] == [(r.__dict__["mode"], r.__dict__["outcome"], r.__dict__["error_code"]) for r in records]
    assert {("sqlite", None)} == {(r.__dict__["adapter"], r.__dict__["command"]) for r in records}
    assert [
        ("pointkit.storage.write", StatusCode.ERROR, ["exception"]),
        ("pointkit.storage.read", StatusCode.ERROR, ["exception"]),
    ] == [
        (span.name, span.status.status_code, [event.name for event in span.events])
        for span in telemetry.finished()
    ]


def test_nothing_is_tracked_when_no_one_listens(
    clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    """With pointkit's loggers off and no hooks, a command opens no scope and writes no record."""
    seen: list[object] = []

    @attrs.define
    class Peeking:
        inner: Storage

        def reading(self, program: ProgramId) -> AbstractContextManager[ReadUnit]:
            return self.inner.reading(program)

        def writing(self, program: ProgramId) -> AbstractContextManager[WriteUnit]:
            seen.append(_observe.current())
            return self.inner.writing(program)

    ledger = Ledger(Peeking(MemoryStorage()), clock=clock)
    caplog.set_level(logging.CRITICAL + 1, logger="pointkit")
    ledger.earn(MEMBER, 10, key="order-1")
    caplog.set_level(logging.ERROR, logger="pointkit")
    ledger.earn(MEMBER, 10, key="order-2")
    assert [None, "earn"] == [getattr(scope, "command", None) for scope in seen]
    caplog.set_level(logging.CRITICAL + 1, logger="pointkit")
    _flaky_ledger(clock, TransientStorageError("busy"), 1).earn(MEMBER, 10, key="order-3")
    assert [] == caplog.records


def test_the_member_hash_can_be_keyed(ledger: Ledger, logs: pytest.LogCaptureFixture) -> None:
    """Under a host's key, records carry an HMAC labelled as such, not the plain SHA-256."""
    set_member_hash_key(b"k" * 32)
    ledger.earn(MEMBER, 10, key="order-1")
    [record] = _commands(logs)
    shown = record.__dict__["member_hash"]
    assert shown.startswith("hmac-sha256:")
    assert (shown, 28) == (member_hash(MEMBER), len(shown))
    set_member_hash_key(None)
    assert member_hash(MEMBER).startswith("sha256:")
    assert shown != member_hash(MEMBER)


@pytest.mark.parametrize(
    ("key", "error", "message"),
    [
        ("text", ArgumentTypeError, "key must be bytes (e.g. secrets.token_bytes(32)) or None, not str"),
        (b"short", InvalidArgumentError, "key has 5 bytes; it needs at least 16 (e.g. secrets.token_bytes(32))"),
    ],
)  # fmt: skip
def test_a_member_hash_key_is_checked(key: object, error: type[Exception], message: str) -> None:
    """A key that is not bytes, or too short to be a secret, is refused, naming what is valid."""
    with pytest.raises(error) as refused:
        set_member_hash_key(key)
    assert message == str(refused.value)


def test_features_and_program_commands_are_observed_with_the_member_hashed(
    sqlite_storage: Storage, clock: FixedClock, logs: pytest.LogCaptureFixture
) -> None:
    """record, redeem, fulfil, draw, convert, refund, tiers: one record each, hashed member."""
    mall = Program(
        attrs.evolve(load_config(MALL), id=f"mall-{uuid.uuid4().hex[:8]}"),
        storage=sqlite_storage,
        clock=clock,
    )
    mall.adjust(MEMBER, 10_000, key="gift", reason="test balance")
    mall.record(Event.purchase("o1", MEMBER, clock.now(), amount=Money(700, "CNY"), order_id="o1"))
    mall.redeem(MEMBER, "coupon", key="c1")
    mall.fulfil("c1", key="s1")
    mall.draw(MEMBER, "wheel", draw_id="d1", minor=False, random=SeededRandom(3))
    mall.convert(MEMBER, "points-to-miles", 1_000, key="cv")
    mall.refund_event("o1", key="refund-1", amount=Money(400, "CNY"))
    mall.set_tier(MEMBER, "silver")
    records = [r for r in _commands(logs) if not r.__dict__["linked"]]
    assert [
        "adjust",
        "record_event",
        "review_tier",
        "redeem_offer",
        "linked",
        "draw",
        "convert",
        "reverse_event",
        "set_tier",
    ] == [record.__dict__["command"] for record in records]
    assert {("ok", mall.ledger.program, member_hash(MEMBER))} == {
        (r.__dict__["outcome"], r.__dict__["program"], r.__dict__["member_hash"]) for r in records
    }
    assert f"tier:{member_hash(MEMBER)}" == records[-1].__dict__["key"]
    everything = [str(value) for record in logs.records for value in vars(record).values()]
    assert [] == [value for value in everything if MEMBER in value]


def test_a_feature_command_counts_its_own_retries(
    clock: FixedClock, logs: pytest.LogCaptureFixture
) -> None:
    """A redemption whose unit meets a busy database once: one retry, on redeem_offer's record."""
    flaky = Flaky(MemoryStorage(), TransientStorageError("busy"), 0)
    mall = Program(load_config(MALL), storage=flaky, clock=clock)
    mall.adjust(MEMBER, 10_000, key="gift", reason="test balance")
    flaky.failures = 1
    logs.clear()
    mall.redeem(MEMBER, "coupon", key="c1")
    assert [
        (logging.WARNING, "redeem_offer", "retrying", 1),
        (logging.DEBUG, "redeem_offer", "ok", 1),
    ] == [
        (r.levelno, r.__dict__["command"], r.__dict__["outcome"], r.__dict__["retries"])
        for r in _commands(logs)
    ]


def test_no_record_or_span_holds_a_member_id_or_a_secret(
    postgres_dsn: str,
    postgres_schema: str,
    clock: FixedClock,
    caplog: pytest.LogCaptureFixture,
    telemetry: Telemetry,
) -> None:
    """A run with a seal key, a fair lottery's server seed and a DSN with a password: none leaks."""
    from pointkit.storage.postgres import PostgresStorage  # noqa: PLC0415 - the postgres extra

    caplog.set_level(logging.DEBUG)  # every logger, psycopg's included
    set_member_hash_key(b"h" * 32)
    storage = PostgresStorage(f"{postgres_dsn} password={PASSWORD}", schema=postgres_schema)
    try:
        mall = Program(
            attrs.evolve(load_config(MALL), id=f"mall-{uuid.uuid4().hex[:8]}"),
            storage=storage,
            clock=clock,
            seal_key=SEAL_KEY,
        )
        mall.adjust(MEMBER, 10_000, key="gift", reason="test balance")
        fair = ProvablyFair(SERVER_SEED, client_seed="house")
        mall.draw(MEMBER, "wheel", draw_id="d1", minor=False, random=fair)
        with pytest.raises(InsufficientPointsError):
            mall.transfer("bob", MEMBER, 100, key="t1")
        mall.set_tier(MEMBER, "silver")
        clock.advance(timedelta(days=400))
        mall.run_expiry()
        mall.audit()
    finally:
        storage.close()
    with pytest.raises(StorageError):
        PostgresStorage(f"host=127.0.0.1 port=1 password={PASSWORD} connect_timeout=1")
    texts = [
        text
        for record in caplog.records
        for text in (record.getMessage(), *map(str, vars(record).values()))
    ]
    for span in telemetry.finished():
        texts.extend(str(value) for value in (span.attributes or {}).values())
        texts.extend(
            str(value) for event in span.events for value in (event.attributes or {}).values()
        )
    assert len([t for t in texts if "pointkit" in t]) > 10  # the run was observed
    secrets = (
        MEMBER,
        PASSWORD,
        SEAL_KEY.decode(),
        SERVER_SEED.decode(),
        SEAL_KEY.hex(),
        SERVER_SEED.hex(),
    )
    assert [] == [(secret, text) for text in texts for secret in secrets if secret in text]


# -- OpenTelemetry ---------------------------------------------------------------------------


@pytest.fixture(params=["memory", "sqlite"])
def local_storage(request: pytest.FixtureRequest) -> Storage:
    """Memory, then SQLite."""
    if request.param == "memory":
        return MemoryStorage()
    storage: Storage = request.getfixturevalue("sqlite_storage")
    return storage


def test_a_command_is_a_span_with_its_units_of_work_as_children(
    local_storage: Storage, clock: FixedClock, telemetry: Telemetry
) -> None:
    """pointkit.earn holds a pointkit.storage.write child; both carry their attributes."""
    ledger = Ledger(local_storage, clock=clock, program="spans")
    ledger.earn(MEMBER, 10, key="order-1")
    unit, command = telemetry.finished()
    assert ("pointkit.storage.write", "pointkit.earn") == (unit.name, command.name)
    assert unit.parent is not None
    assert command.context is not None
    assert command.context.span_id == unit.parent.span_id
    assert {
        "pointkit.command": "earn",
        "pointkit.key": "order-1",
        "pointkit.program": "spans",
        "pointkit.member_hash": member_hash(MEMBER),
        "pointkit.outcome": "ok",
        "pointkit.retries": 0,
        "pointkit.linked": False,
    } == dict(command.attributes or {})
    adapter = "memory" if isinstance(local_storage, MemoryStorage) else "sqlite"
    assert (adapter, "write", "commit", StatusCode.UNSET) == (
        (unit.attributes or {})["pointkit.storage.adapter"],
        (unit.attributes or {})["pointkit.storage.mode"],
        (unit.attributes or {})["pointkit.storage.outcome"],
        command.status.status_code,
    )


def test_a_refusal_span_names_its_code_and_is_not_an_error(
    local_storage: Storage, clock: FixedClock, telemetry: Telemetry
) -> None:
    """A refused redeem: outcome refused, error.type the code, status unset, no exception event."""
    ledger = Ledger(local_storage, clock=clock, program="refusals")
    with pytest.raises(InsufficientPointsError):
        ledger.redeem(MEMBER, 10, key="shop-1")
    *_, command = telemetry.finished()
    attributes = dict(command.attributes or {})
    assert ("refused", "insufficient_points", "insufficient_points", StatusCode.UNSET, ()) == (
        attributes["pointkit.outcome"],
        attributes["pointkit.error_code"],
        attributes["error.type"],
        command.status.status_code,
        tuple(command.events),
    )


def test_a_failed_span_records_the_exception_without_its_message(
    clock: FixedClock, telemetry: Telemetry
) -> None:
    """A storage failure: status ERROR and an exception event with the code, not the message."""
    ledger = _flaky_ledger(clock, StorageError(f"disk I/O error for {MEMBER}"), 1)
    with pytest.raises(StorageError):
        ledger.earn(MEMBER, 10, key="order-1")
    [command] = telemetry.finished()
    [event] = command.events
    attributes = dict(event.attributes or {})
    assert (StatusCode.ERROR, "exception", "storage_error") == (
        command.status.status_code,
        event.name,
        attributes["exception.message"],
    )
    assert "pointkit.exceptions.StorageError" == attributes["exception.type"]
    assert "_envelope.py" in str(attributes["exception.stacktrace"])
    assert [] == [value for value in attributes.values() if MEMBER in str(value)]


def test_retries_are_span_events_and_counted(clock: FixedClock, telemetry: Telemetry) -> None:
    """Two transient failures: two retry events on the span, two on the retries counter."""
    ledger = _flaky_ledger(clock, TransientStorageError("busy"), 2)
    ledger.earn(MEMBER, 10, key="order-1")
    [command] = [span for span in telemetry.finished() if span.name == "pointkit.earn"]
    assert [1, 2] == [(event.attributes or {})["pointkit.retry"] for event in command.events]
    assert 2 == (command.attributes or {})["pointkit.retries"]
    assert [
        ({"pointkit.command": "earn", "error.type": "storage_transient"}, 2)
    ] == telemetry.points("pointkit.command.retries")


def test_commands_are_counted_and_timed_by_command_and_outcome(
    local_storage: Storage, clock: FixedClock, telemetry: Telemetry
) -> None:
    """Two earns, one replay, one refusal: the counter and the histograms say so."""
    ledger = Ledger(local_storage, clock=clock, program="metrics")
    ledger.earn(MEMBER, 10, key="order-1")
    ledger.earn(MEMBER, 10, key="order-2")
    ledger.earn(MEMBER, 10, key="order-2")
    with pytest.raises(InsufficientPointsError):
        ledger.redeem(MEMBER, 100, key="shop-1")
    counted = {
        (a["pointkit.command"], a["pointkit.outcome"], a.get("pointkit.error_code")): value
        for a, value in telemetry.points("pointkit.commands")
    }
    assert {
        ("earn", "ok", None): 2,
        ("earn", "replayed", None): 1,
        ("redeem", "refused", "insufficient_points"): 1,
    } == counted
    timed = {
        (a["pointkit.command"], a["pointkit.outcome"]): count
        for a, count in telemetry.points("pointkit.command.duration")
    }
    assert {("earn", "ok"): 2, ("earn", "replayed"): 1, ("redeem", "refused"): 1} == timed
    units = {
        a["pointkit.storage.outcome"]: count
        for a, count in telemetry.points("pointkit.storage.duration")
    }
    assert {"commit": 3, "rollback": 1} == units


def test_a_linked_block_is_the_parent_of_its_commands(
    local_storage: Storage, clock: FixedClock, telemetry: Telemetry
) -> None:
    """run_linked: pointkit.linked holds its unit of work, which holds each linked command."""
    ledger = Ledger(local_storage, clock=clock, program="blocks")

    def work(link: Linked) -> None:
        link.earn(MEMBER, 10, key="order-1")
        link.redeem(MEMBER, 5, key="shop-1")

    ledger.run_linked(work, key="block-1")
    by_name = {span.name: span for span in telemetry.finished()}
    block, unit = by_name["pointkit.linked"], by_name["pointkit.storage.write"]
    assert block.context is not None
    assert unit.context is not None
    parents = {
        name: span.parent.span_id for name, span in by_name.items() if span.parent is not None
    }
    assert {
        "pointkit.earn": unit.context.span_id,
        "pointkit.redeem": unit.context.span_id,
        "pointkit.storage.write": block.context.span_id,
    } == parents
    assert (True, "blocks") == (
        (by_name["pointkit.earn"].attributes or {})["pointkit.linked"],
        (block.attributes or {})["pointkit.program"],
    )


def test_feature_commands_are_spans_on_postgres(
    postgres_storage: Storage, clock: FixedClock, telemetry: Telemetry
) -> None:
    """On PostgreSQL: a Program's record, redeem and draw are spans with postgresql units."""
    mall = Program(
        attrs.evolve(load_config(MALL), id=f"mall-{uuid.uuid4().hex[:8]}"),
        storage=postgres_storage,
        clock=clock,
    )
    mall.adjust(MEMBER, 10_000, key="gift", reason="test balance")
    mall.record(Event.purchase("o1", MEMBER, clock.now(), amount=Money(700, "CNY"), order_id="o1"))
    mall.redeem(MEMBER, "coupon", key="c1")
    mall.draw(MEMBER, "wheel", draw_id="d1", minor=False, random=SeededRandom(3))
    spans = telemetry.finished()
    commands = [span.name for span in spans if not span.name.startswith("pointkit.storage")]
    assert [
        "pointkit.adjust",
        "pointkit.record_event",
        "pointkit.review_tier",
        "pointkit.redeem_offer",
        "pointkit.draw",
    ] == commands
    writes = [span for span in spans if span.name == "pointkit.storage.write"]
    assert {("postgres", "postgresql", "commit")} == {
        (
            (span.attributes or {})["pointkit.storage.adapter"],
            (span.attributes or {})["db.system.name"],
            (span.attributes or {})["pointkit.storage.outcome"],
        )
        for span in writes
    }
    assert all(span.parent is not None for span in writes)


def test_an_awaited_command_is_a_child_of_the_callers_span(
    ledger: Ledger, telemetry: Telemetry, logs: pytest.LogCaptureFixture
) -> None:
    """Through AsyncLedger, on a worker thread: one record, and the span under the caller's."""

    async def main() -> None:
        async with AsyncLedger(ledger) as awaited:
            await awaited.earn(MEMBER, 10, key="order-1")

    tracer = trace.get_tracer("host", tracer_provider=telemetry.provider)
    with tracer.start_as_current_span("request"):
        asyncio.run(main())
    by_name = {span.name: span for span in telemetry.finished()}
    request, earn = by_name["request"], by_name["pointkit.earn"]
    assert request.context is not None
    assert earn.parent is not None
    assert request.context.span_id == earn.parent.span_id
    assert [("earn", "ok")] == [
        (record.__dict__["command"], record.__dict__["outcome"]) for record in _commands(logs)
    ]


def test_disabling_stops_the_spans(ledger: Ledger, telemetry: Telemetry) -> None:
    """After disable_opentelemetry, commands make no spans."""
    ledger.earn(MEMBER, 10, key="order-1")
    disable_opentelemetry()
    ledger.earn(MEMBER, 10, key="order-2")
    assert ["pointkit.storage.write", "pointkit.earn"] == [s.name for s in telemetry.finished()]


# -- without opentelemetry -------------------------------------------------------------------

_RUN = """
import logging, sys, tempfile
from datetime import UTC, datetime
from pathlib import Path
from pointkit import FixedClock, Ledger, MemoryStorage, Money
from pointkit.observe import enable_opentelemetry
from pointkit.program import Program, load_config
from pointkit.rules import Event
from pointkit.storage.sqlite import SQLiteStorage

records = []
handler = logging.Handler()
handler.emit = records.append
logging.getLogger("pointkit").addHandler(handler)
logging.getLogger("pointkit").setLevel(logging.DEBUG)
clock = FixedClock(datetime(2026, 6, 1, 2, tzinfo=UTC))
for storage in (MemoryStorage(), SQLiteStorage(Path(tempfile.mkdtemp()) / "p.db")):
    ledger = Ledger(storage, clock=clock)
    ledger.earn("alice", 10, key="o1")
    mall = Program(load_config(Path(sys.argv[1])), storage=storage, clock=clock)
    mall.record(Event.purchase("e1", "bob", clock.now(), amount=Money(700, "CNY"), order_id="e1"))
try:
    enable_opentelemetry()
except ImportError as error:
    print("refused:", error)
print("records:", len(records))
print("otel imported:", any(name.startswith("opentelemetry") for name in sys.modules))
"""

_BLOCK = """
import importlib.abc, sys

class NoOpenTelemetry(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "opentelemetry" or name.startswith("opentelemetry."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, NoOpenTelemetry())
"""


def _run(script: str) -> list[str]:
    done = subprocess.run(  # noqa: S603 - this interpreter, on a script of this file's
        [sys.executable, "-c", script, str(MALL)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert 0 == done.returncode, done.stderr
    return done.stdout.splitlines()


def test_pointkit_runs_and_logs_without_opentelemetry() -> None:
    """With opentelemetry not importable, commands and features run and log; enabling says why."""
    out = _run(_BLOCK + textwrap.dedent(_RUN))
    assert [
        "refused: enable_opentelemetry() needs opentelemetry-api: pip install 'pointkit[otel]'",
        "otel imported: False",
    ] == [line for line in out if not line.startswith("records:")]
    [count] = [int(line.split()[1]) for line in out if line.startswith("records:")]
    assert count >= 10  # commands and units of work, on both adapters


def test_pointkit_imports_no_opentelemetry_unless_enabled() -> None:
    """Installed but not enabled, opentelemetry is never imported (no cost, no surprise)."""
    script = textwrap.dedent(_RUN).replace(
        "try:\n    enable_opentelemetry()", "try:\n    raise ImportError('not asked')"
    )
    out = _run(script)
    assert "otel imported: False" in out

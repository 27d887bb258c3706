"""The outbox relays: the core on fakes, then each transport against its real server.

The broker tests need Redis, RabbitMQ and NATS with JetStream on this machine (URLs from
POINTKIT_TEST_REDIS_URL, POINTKIT_TEST_AMQP_URL, POINTKIT_TEST_NATS_URL); each skips with the
reason when its server does not answer, and fails instead under CI=true. They read the real
outbox, on SQLite, of events written by ledger commands.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, ClassVar

import attrs
import pytest

from pointkit import FixedClock, Ledger
from pointkit.exceptions import (
    ArgumentTypeError,
    InvalidArgumentError,
    LimitExceededError,
    TransientStorageError,
)
from pointkit.ledger import Outbox, OutboxBatch, OutboxEvent
from pointkit.relays import (
    DeliveryFailedError,
    DestinationUnavailableError,
    EventRejectedError,
    Relay,
    RelayPolicy,
    Transport,
    event_body,
)
from pointkit.relays.webhook import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookSignatureError,
    WebhookTransport,
    sign,
    verify_signature,
)
from pointkit.storage.sqlite import SQLiteStorage


if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    import pika
    import redis
    from nats.js import JetStreamContext


REDIS_URL = os.environ.get("POINTKIT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
AMQP_URL = os.environ.get("POINTKIT_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
NATS_URL = os.environ.get("POINTKIT_TEST_NATS_URL", "nats://127.0.0.1:4222")
START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
SECRET = b"test-secret-0123456789abcdef"
LOG = logging.getLogger(__name__)


def _service_or_skip(service: str, where: str, probe: Callable[[], object]) -> None:
    """Skip (or fail under CI=true) unless *probe* reaches the server."""
    try:
        probe()
    except Exception as error:  # noqa: BLE001 - any failure to reach the server means the same
        reason = f"no {service} at {where} ({type(error).__name__}: {error})"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{service} tests are mandatory under CI=true: {reason}")
        pytest.skip(reason)


# -- fakes for the core ------------------------------------------------------------------------


def _event(number: int) -> OutboxEvent:
    return OutboxEvent(
        id=uuid.UUID(int=number),
        type="points.earned",
        version=1,
        program="mall",
        occurred_at=START + timedelta(seconds=number),
        data={"amount": number},
        cursor=str(number),
    )


class FakeOutbox:
    """An outbox of events 1..n in memory, with one position per consumer."""

    def __init__(self, count: int) -> None:
        self.events = [_event(number) for number in range(1, count + 1)]
        self.positions: dict[str, int] = {}
        self.acks: list[str] = []
        self.parked: list[tuple[OutboxEvent, str]] = []
        self.read_error: Exception | None = None

    def read(self, consumer: str, *, limit: int = 100) -> OutboxBatch:
        if self.read_error is not None:
            error, self.read_error = self.read_error, None
            raise error
        position = self.positions.get(consumer, 0)
        events = tuple(self.events[position : position + limit])
        return OutboxBatch(events, events[-1].cursor if events else str(position))

    def ack(self, consumer: str, cursor: str) -> None:
        self.acks.append(cursor)
        self.positions[consumer] = max(self.positions.get(consumer, 0), int(cursor))

    def dead_letter(self, consumer: str, event: OutboxEvent, reason: str) -> None:
        assert consumer
        self.parked.append((event, reason))


class FakeTransport:
    """Delivers by recording; raises the scripted errors first, in order, per event number."""

    def __init__(self, failures: dict[int, list[Exception]] | None = None) -> None:
        self.failures = failures or {}
        self.delivered: list[int] = []
        self.tries: list[int] = []

    def deliver(self, event: OutboxEvent) -> None:
        number = event.id.int
        self.tries.append(number)
        if self.failures.get(number):
            raise self.failures[number].pop(0)
        self.delivered.append(number)


class FixedJitter(random.Random):
    """A random source whose ``random()`` is always the same: delays become exact."""

    def __init__(self, value: float) -> None:
        super().__init__(0)
        self.value = value

    def random(self) -> float:
        return self.value


def _relay(
    outbox: FakeOutbox,
    transport: FakeTransport,
    sleeps: list[float],
    *,
    attempts: int = 8,
    batch_size: int = 100,
) -> Relay:
    policy = RelayPolicy(
        batch_size=batch_size, attempts=attempts, backoff_initial_seconds=1, backoff_max_seconds=8
    )
    return Relay(
        outbox,
        transport,
        consumer="crm",
        policy=policy,
        rng=FixedJitter(0.0),
        sleep=sleeps.append,
    )


# -- the core ----------------------------------------------------------------------------------


def test_a_batch_is_delivered_in_order_then_acknowledged() -> None:
    """run_once delivers the batch's events in order and acknowledges the batch's cursor once."""
    outbox, transport, sleeps = FakeOutbox(5), FakeTransport(), list[float]()
    done = _relay(outbox, transport, sleeps, batch_size=3).run_once()
    assert [1, 2, 3] == transport.delivered
    assert [1, 2, 3] == [event.id.int for event in done.delivered]
    assert (3, (), False) == (done.read, done.dead_lettered, done.stopped)
    assert ["3"] == outbox.acks
    assert [] == sleeps


def test_an_empty_outbox_acknowledges_nothing() -> None:
    """With no event to read, run_once delivers nothing and writes no position."""
    outbox = FakeOutbox(0)
    done = _relay(outbox, FakeTransport(), []).run_once()
    assert (0, (), []) == (done.read, done.delivered, outbox.acks)


def test_a_failed_event_is_retried_with_exponential_backoff() -> None:
    """Each failed try waits initial * 2**(n-1), halved at jitter 0, before the next."""
    failures: dict[int, list[Exception]] = {2: [DeliveryFailedError("503")] * 5}
    outbox, transport, sleeps = FakeOutbox(3), FakeTransport(failures), list[float]()
    done = _relay(outbox, transport, sleeps, attempts=6).run_once()
    assert [0.5, 1.0, 2.0, 4.0, 4.0] == sleeps  # 8 s is the longest, halved by the jitter
    assert [1, 2, 3] == transport.delivered
    assert [1, 2, 2, 2, 2, 2, 2, 3] == transport.tries
    assert () == done.dead_lettered


def test_jitter_spreads_a_delay_between_half_and_all_of_it() -> None:
    """The random factor is 0.5 + jitter/2: from half the delay up to (not including) all of it."""
    policy = RelayPolicy(backoff_initial_seconds=2, backoff_max_seconds=60)
    assert 1.0 == policy.backoff_seconds(1, 0.0)
    assert 3.0 == policy.backoff_seconds(2, 0.5)
    assert 60 * 0.75 == policy.backoff_seconds(10_000, 0.5)
    # Seeded Mersenne Twisters: jitter is no secret, and the run is repeatable.
    relays = [
        Relay(FakeOutbox(0), FakeTransport(), consumer="c", policy=policy, rng=random.Random(seed))  # noqa: S311
        for seed in range(50)
    ]
    delays = {relay._delay(3, DeliveryFailedError("x")) for relay in relays}
    assert all(4.0 <= delay < 8.0 for delay in delays)
    assert len(delays) > 40


def test_after_the_last_attempt_an_event_is_dead_lettered_and_the_relay_goes_on() -> None:
    """An event failing every try is parked with its reason; later events are delivered."""
    failures: dict[int, list[Exception]] = {2: [DeliveryFailedError("HTTP 503")] * 9}
    outbox, transport, sleeps = FakeOutbox(3), FakeTransport(failures), list[float]()
    done = _relay(outbox, transport, sleeps, attempts=3).run_once()
    reason = "failed 3 time(s), the last with: HTTP 503"
    assert [(2, reason)] == [(event.id.int, why) for event, why in outbox.parked]
    assert [(2, reason)] == [(event.id.int, why) for event, why in done.dead_lettered]
    assert [1, 3] == transport.delivered
    assert [0.5, 1.0] == sleeps
    assert ["3"] == outbox.acks


def test_a_rejected_event_is_dead_lettered_at_once() -> None:
    """EventRejectedError parks the event without a retry or a wait."""
    failures: dict[int, list[Exception]] = {1: [EventRejectedError("HTTP 400: bad member")]}
    outbox, transport, sleeps = FakeOutbox(2), FakeTransport(failures), list[float]()
    _relay(outbox, transport, sleeps).run_once()
    assert [(1, "rejected: HTTP 400: bad member")] == [
        (event.id.int, why) for event, why in outbox.parked
    ]
    assert ([1, 2], [], ["2"]) == (transport.tries, sleeps, outbox.acks)


def test_an_unavailable_destination_blocks_and_is_never_dead_lettered() -> None:
    """Past the attempts, a down destination is still waited for; the event then goes through."""
    down: dict[int, list[Exception]] = {1: [DestinationUnavailableError("refused")] * 12}
    outbox, transport, sleeps = FakeOutbox(2), FakeTransport(down), list[float]()
    done = _relay(outbox, transport, sleeps, attempts=2).run_once()
    assert ([1, 2], [], ()) == (transport.delivered, outbox.parked, done.dead_lettered)
    assert [0.5, 1.0, 2.0] + [4.0] * 9 == sleeps


def test_retry_after_lengthens_a_delay_up_to_the_longest() -> None:
    """A destination's Retry-After is waited for, but never past backoff_max_seconds."""
    failures: dict[int, list[Exception]] = {
        1: [
            DeliveryFailedError("429", retry_after_seconds=3),
            DeliveryFailedError("429", retry_after_seconds=3600),
        ]
    }
    sleeps: list[float] = []
    _relay(FakeOutbox(1), FakeTransport(failures), sleeps).run_once()
    assert [3.0, 8.0] == sleeps


def test_a_stop_while_waiting_acknowledges_only_what_was_delivered() -> None:
    """Stopped during a wait, run_once acks the events before; the next run starts there."""
    stop = threading.Event()
    down: dict[int, list[Exception]] = {3: [DestinationUnavailableError("down")] * 3}
    outbox, transport = FakeOutbox(4), FakeTransport(down)
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 2:
            stop.set()

    relay = Relay(outbox, transport, consumer="crm", rng=FixedJitter(0.0), sleep=sleep)
    first = relay.run_once(stop)
    assert (True, [1, 2], ["2"]) == (first.stopped, transport.delivered, outbox.acks)
    second = relay.run_once()
    assert [3, 4] == [event.id.int for event in second.delivered]
    assert [1, 2, 3, 4] == transport.delivered
    assert ["2", "4"] == outbox.acks


def test_a_stop_set_before_an_event_ends_the_batch_there() -> None:
    """A stop seen between two events stops before the next one, with the earlier ones acked."""
    stop = threading.Event()

    class StopAfterTwo(FakeTransport):
        def deliver(self, event: OutboxEvent) -> None:
            super().deliver(event)
            if len(self.delivered) == 2:
                stop.set()

    outbox, transport = FakeOutbox(5), StopAfterTwo()
    done = _relay(outbox, transport, []).run_once(stop)
    assert (True, [1, 2], ["2"]) == (done.stopped, transport.delivered, outbox.acks)


def test_an_unexpected_error_acknowledges_the_progress_and_propagates() -> None:
    """A transport bug stops the relay with the events before it acknowledged."""
    failures: dict[int, list[Exception]] = {3: [RuntimeError("bug")]}
    outbox, transport = FakeOutbox(5), FakeTransport(failures)
    relay = _relay(outbox, transport, [])
    with pytest.raises(RuntimeError, match="bug"):
        relay.run_once()
    assert (["2"], [1, 2]) == (outbox.acks, transport.delivered)
    relay.run_once()
    assert [1, 2, 3, 4, 5] == transport.delivered


def test_run_polls_until_stopped_and_picks_up_new_events() -> None:
    """run() drains the outbox, waits a poll interval when caught up, and stops on the signal."""
    outbox, transport = FakeOutbox(3), FakeTransport()
    relay = Relay(
        outbox,
        transport,
        consumer="crm",
        policy=RelayPolicy(batch_size=2, poll_interval_seconds=0.01),
    )
    stop = threading.Event()
    worker = threading.Thread(target=relay.run, args=(stop,))
    worker.start()
    try:
        _wait_for(lambda: len(transport.delivered) == 3)
        outbox.events.append(_event(4))
        _wait_for(lambda: len(transport.delivered) == 4)
    finally:
        stop.set()
        worker.join(timeout=5)
    assert not worker.is_alive()
    assert [1, 2, 3, 4] == transport.delivered
    assert "4" == outbox.acks[-1]


def test_run_waits_out_a_transient_outbox_failure() -> None:
    """A TransientStorageError from the outbox is logged and read again, not raised."""
    outbox, transport = FakeOutbox(2), FakeTransport()
    outbox.read_error = TransientStorageError("database is locked")
    stop = threading.Event()
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 2:
            stop.set()

    policy = RelayPolicy(poll_interval_seconds=0.25)
    Relay(outbox, transport, consumer="crm", policy=policy, sleep=sleep).run(stop)
    assert ([1, 2], [0.25, 0.25]) == (transport.delivered, sleeps)


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"batch_size": 0}, InvalidArgumentError, "batch_size=0 must be an int from 1 to 10000"),
        ({"batch_size": 10_001}, LimitExceededError, "batch_size=10001 is over limits.OUTBOX_READ_MAX (10000)"),
        ({"batch_size": True}, ArgumentTypeError, "batch_size=True must be an int, not bool"),
        ({"attempts": 1_001}, InvalidArgumentError, "attempts=1001 must be an int from 1 to 1000"),
        ({"backoff_initial_seconds": -1}, InvalidArgumentError, "backoff_initial_seconds=-1 must be a number of seconds from 0.0 to BACKOFF_SECONDS_MAX (86400)"),
        ({"backoff_max_seconds": float("nan")}, InvalidArgumentError, "backoff_max_seconds=nan must be a number of seconds from 0.0 to BACKOFF_SECONDS_MAX (86400)"),
        ({"poll_interval_seconds": "1"}, ArgumentTypeError, "poll_interval_seconds='1' must be an int or float number of seconds, not str"),
        ({"backoff_initial_seconds": 10, "backoff_max_seconds": 5}, InvalidArgumentError, "backoff_initial_seconds=10 must not be longer than backoff_max_seconds=5"),
    ],
)  # fmt: skip
def test_policy_refuses_bad_values(
    arguments: dict[str, Any], error: type[Exception], message: str
) -> None:
    """Each bad policy value is refused with a message naming it and what is valid."""
    with pytest.raises(error) as raised:
        RelayPolicy(**arguments)
    assert message == str(raised.value)


def test_a_consumer_name_is_checked() -> None:
    """A blank consumer name is refused at construction."""
    with pytest.raises(InvalidArgumentError, match="consumer=''"):
        Relay(FakeOutbox(0), FakeTransport(), consumer="")


def test_the_body_is_the_events_json() -> None:
    """event_body is to_json() as compact UTF-8 JSON, the same bytes on every call."""
    event = _event(7)
    assert event.to_json() == json.loads(event_body(event))
    assert event_body(event) == event_body(event)
    assert b", " not in event_body(event)


# -- the real outbox, written by ledger commands -----------------------------------------------

ROUND_TYPES = [
    "points.earned",
    "hold.created",
    "hold.captured",
    "points.redeemed",
    "points.transferred",
]


@attrs.frozen
class Written:
    """A SQLite ledger's outbox, the file it is in, and the events written to it, in order."""

    outbox: Outbox
    path: Path
    events: tuple[OutboxEvent, ...]

    @property
    def ids(self) -> list[str]:
        return [str(event.id) for event in self.events]


def _write(tmp_path: Path, rounds: int) -> Written:
    """Run *rounds* rounds of five ledger commands, each writing one outbox event."""
    path = tmp_path / "points.db"
    storage = SQLiteStorage(path)
    ledger = Ledger(storage, clock=FixedClock(START))
    for number in range(rounds):
        ledger.earn("alice", 100, key=f"earn-{number}")
        hold = ledger.reserve("alice", 30, key=f"hold-{number}", timeout_seconds=3600)
        ledger.capture(str(hold.id), key=f"capture-{number}")
        ledger.redeem("alice", 10, key=f"redeem-{number}")
        ledger.transfer("alice", "bob", 5, key=f"gift-{number}")
    outbox = Outbox.of(ledger)
    events = outbox.read("test-expected", limit=10_000).events
    assert ROUND_TYPES * rounds == [event.type for event in events]
    return Written(outbox, path, events)


@pytest.fixture
def written(tmp_path: Path) -> Written:
    """Twelve rounds: 60 events in the outbox of a SQLite ledger."""
    return _write(tmp_path, 12)


class Killed(BaseException):
    """The process died here: nothing after it runs, not even the acknowledgement."""


class KilledBeforeAck:
    """The real outbox, except that the process dies when it would acknowledge."""

    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox

    def read(self, consumer: str, *, limit: int = 100) -> OutboxBatch:
        return self.outbox.read(consumer, limit=limit)

    def ack(self, consumer: str, cursor: str) -> None:
        raise Killed(f"killed before acknowledging {cursor} for {consumer}")

    def dead_letter(self, consumer: str, event: OutboxEvent, reason: str) -> None:
        self.outbox.dead_letter(consumer, event, reason)


class Counting:
    """Wraps a transport: counts deliveries, and can die after a number of them."""

    def __init__(self, inner: Transport, *, die_after: int | None = None) -> None:
        self.inner = inner
        self.die_after = die_after
        self.ids: list[str] = []

    def deliver(self, event: OutboxEvent) -> None:
        if self.die_after is not None and len(self.ids) == self.die_after:
            raise Killed(f"killed after {self.die_after} deliveries")
        self.inner.deliver(event)
        self.ids.append(str(event.id))


def _crash_then_restart(
    written: Written, transport: Transport, consumer: str, *, batch_size: int, die_after: int
) -> Counting:
    """Relay until the process dies between delivering and acknowledging; restart; drain.

    The first relay delivers *die_after* events, the first of them in acknowledged batches,
    then dies with the last batch delivered in part and not acknowledged. The second relay,
    on the same consumer, delivers from the last acknowledgement to the end.
    """
    policy = RelayPolicy(batch_size=batch_size)
    dying = Counting(transport, die_after=die_after)
    acked_batches = die_after // batch_size
    first = Relay(written.outbox, dying, consumer=consumer, policy=policy)
    for _ in range(acked_batches):
        first.run_once()
    doomed = Relay(KilledBeforeAck(written.outbox), dying, consumer=consumer, policy=policy)
    with pytest.raises(Killed):
        doomed.run_once()
    assert die_after == len(dying.ids)
    restarted = Counting(transport)
    relay = Relay(written.outbox, restarted, consumer=consumer, policy=policy)
    while relay.run_once().read:
        pass
    restarted.ids[:0] = dying.ids
    return restarted


def _check_at_least_once(written: Written, received: list[str], *, acked: int, label: str) -> int:
    """Every written event received, in order, once more for each unacknowledged delivery.

    Returns the number of duplicates, after logging the figures.
    """
    expected = written.ids
    duplicates = len(received) - len(expected)
    lost = set(expected) - set(received)
    LOG.info(
        "%s: written %d, delivered %d, duplicates %d, lost %d",
        label,
        len(expected),
        len(received),
        duplicates,
        len(lost),
    )
    assert set() == lost
    # What was delivered before the crash, then everything again from the last acknowledgement.
    assert expected[: acked + duplicates] + expected[acked:] == received
    return duplicates


def _wait_for(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


# -- Redis Streams -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def redis_client() -> Iterator[redis.Redis]:
    """A client of the test Redis."""
    import redis as redis_py  # noqa: PLC0415 - the redis extra is optional

    client = redis_py.Redis.from_url(REDIS_URL, socket_timeout=5)
    _service_or_skip("Redis", REDIS_URL, client.ping)
    yield client
    client.close()


@pytest.fixture
def stream(redis_client: redis.Redis) -> Iterator[str]:
    """A stream name of this test's own; the stream and its dedupe keys are deleted after."""
    name = f"pointkit-test:{uuid.uuid4().hex}"
    yield name
    keys = [name, *redis_client.scan_iter(match=f"{name}:pointkit-dedupe:*", count=1000)]
    redis_client.delete(*keys)


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _entries(client: redis.Redis, stream: str) -> list[dict[str, str]]:
    """The stream's entries' fields, oldest first, as text."""
    entries = client.xrange(stream)
    assert isinstance(entries, list)
    return [
        {_text(key): _text(value) for key, value in (fields or {}).items()} for _, fields in entries
    ]


def _stream_ids(client: redis.Redis, stream: str) -> list[str]:
    return [fields["id"] for fields in _entries(client, stream)]


def test_redis_events_arrive_in_order_with_their_ids(
    written: Written, redis_client: redis.Redis, stream: str
) -> None:
    """Every event from the ledger is one stream entry, in order, with id, type and body."""
    from pointkit.relays.redis import RedisStreamTransport  # noqa: PLC0415

    relay = Relay(
        written.outbox,
        RedisStreamTransport(redis_client, stream=stream, maxlen=1_000),
        consumer="redis",
        policy=RelayPolicy(batch_size=25),
    )
    assert [25, 25, 10, 0] == [relay.run_once().read for _ in range(4)]
    entries = _entries(redis_client, stream)
    assert written.ids == [fields["id"] for fields in entries]
    assert ROUND_TYPES * 12 == [fields["type"] for fields in entries]
    assert written.events[0].to_json() == json.loads(entries[0]["event"])
    assert written.events[-1].cursor == written.outbox.position("redis")


def test_redis_redelivery_after_a_crash_is_appended_once(
    written: Written, redis_client: redis.Redis, stream: str
) -> None:
    """Killed before its ack and restarted, the relay delivers again; the stream keeps one copy."""
    from pointkit.relays.redis import RedisStreamTransport  # noqa: PLC0415

    transport = RedisStreamTransport(redis_client, stream=stream)
    delivered = _crash_then_restart(written, transport, "redis", batch_size=20, die_after=33)
    duplicates = _check_at_least_once(written, delivered.ids, acked=20, label="redis deliveries")
    assert 13 == duplicates
    assert written.ids == _stream_ids(redis_client, stream)
    assert redis_client.ttl(transport.dedupe_key(written.events[0])) > 0


CHILD = """
import sys, time
import redis
from pointkit.ledger import Outbox
from pointkit.relays import Relay, RelayPolicy
from pointkit.relays.redis import RedisStreamTransport
from pointkit.storage.sqlite import SQLiteStorage

path, url, stream = sys.argv[1:4]
inner = RedisStreamTransport(redis.Redis.from_url(url), stream=stream, dedupe_seconds=0)

class Slow:
    def deliver(self, event):
        inner.deliver(event)
        time.sleep(0.02)

outbox = Outbox(SQLiteStorage(path), program="default")
relay = Relay(outbox, Slow(), consumer="redis", policy=RelayPolicy(batch_size=25))
while relay.run_once().read:
    pass
"""


def test_redis_relay_killed_by_sigkill_loses_nothing(
    written: Written, redis_client: redis.Redis, stream: str
) -> None:
    """A relay process SIGKILLed mid-batch, then restarted: every event lands, some twice."""
    from pointkit.relays.redis import RedisStreamTransport  # noqa: PLC0415

    child = subprocess.Popen(  # noqa: S603 - this interpreter, on this test's own code
        [sys.executable, "-c", CHILD, str(written.path), REDIS_URL, stream],
        stderr=subprocess.PIPE,
    )
    try:
        _wait_for(lambda: redis_client.xlen(stream) >= 35 or child.poll() is not None, 30)
    finally:
        child.send_signal(signal.SIGKILL)
        _, errors = child.communicate(timeout=10)
    assert -signal.SIGKILL == child.returncode, errors.decode()
    cursors = [event.cursor for event in written.events]
    acked = cursors.index(written.outbox.position("redis")) + 1
    assert 25 == acked  # the first batch; the second was cut short by the kill
    relay = Relay(
        written.outbox,
        RedisStreamTransport(redis_client, stream=stream, dedupe_seconds=0),
        consumer="redis",
        policy=RelayPolicy(batch_size=25),
    )
    while relay.run_once().read:
        pass
    received = _stream_ids(redis_client, stream)
    duplicates = _check_at_least_once(written, received, acked=25, label="redis after SIGKILL")
    assert duplicates >= 10


def test_redis_down_blocks_without_dead_letters(written: Written) -> None:
    """With no Redis on the port, the relay waits and retries, parks nothing, and stops."""
    import redis as redis_py  # noqa: PLC0415
    from redis.backoff import NoBackoff  # noqa: PLC0415
    from redis.retry import Retry  # noqa: PLC0415

    from pointkit.relays.redis import RedisStreamTransport  # noqa: PLC0415

    # redis-py retries a failed connection itself first; here the relay's backoff does.
    client = redis_py.Redis(
        host="127.0.0.1", port=_closed_port(), socket_connect_timeout=1, retry=Retry(NoBackoff(), 0)
    )
    stop = threading.Event()
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 4:
            stop.set()

    transport = RedisStreamTransport(client, stream="never")
    relay = Relay(
        written.outbox, transport, consumer="redis", policy=RelayPolicy(attempts=2), sleep=sleep
    )
    done = relay.run_once(stop)
    assert (True, (), ()) == (done.stopped, done.delivered, done.dead_lettered)
    assert () == written.outbox.dead_letters("redis")
    assert "" == written.outbox.position("redis")


def test_redis_errors_block_without_dead_letters(
    written: Written, redis_client: redis.Redis, stream: str
) -> None:
    """A key of another type refuses every append: the relay waits, then delivers once fixed."""
    from pointkit.relays.redis import RedisStreamTransport  # noqa: PLC0415

    redis_client.set(stream, "not a stream")
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 3:
            redis_client.delete(stream)

    transport = RedisStreamTransport(redis_client, stream=stream)
    assert "RedisStreamTransport(stream=" in repr(transport)
    with pytest.raises(DestinationUnavailableError, match="WRONGTYPE"):
        transport.deliver(written.events[0])
    relay = Relay(
        written.outbox,
        transport,
        consumer="redis",
        policy=RelayPolicy(batch_size=5, attempts=1),
        sleep=sleep,
    )
    done = relay.run_once()
    assert (5, (), 3) == (len(done.delivered), done.dead_lettered, len(sleeps))
    assert written.ids[:5] == _stream_ids(redis_client, stream)


def test_redis_arguments_are_checked(redis_client: redis.Redis) -> None:
    """A stream name over the limit, a bad maxlen or dedupe window: refused."""
    from pointkit.relays.redis import RedisStreamTransport  # noqa: PLC0415

    with pytest.raises(LimitExceededError) as raised:
        RedisStreamTransport(redis_client, stream="s" * 257)
    assert (
        "stream is 257 characters long, over pointkit.relays.redis.STREAM_NAME_LENGTH_MAX (256)"
        == str(raised.value)
    )
    with pytest.raises(InvalidArgumentError, match="maxlen=0 must be an int from 1"):
        RedisStreamTransport(redis_client, stream="s", maxlen=0)
    with pytest.raises(InvalidArgumentError, match="dedupe_seconds=-1 must be an int from 0"):
        RedisStreamTransport(redis_client, stream="s", dedupe_seconds=-1)


def test_redis_exact_maxlen_trims_and_no_dedupe_appends_again(
    written: Written, redis_client: redis.Redis, stream: str
) -> None:
    """MAXLEN = keeps exactly the newest entries; dedupe_seconds=0 appends a redelivery again."""
    from pointkit.relays.redis import RedisStreamTransport  # noqa: PLC0415

    transport = RedisStreamTransport(
        redis_client, stream=stream, maxlen=3, exact_maxlen=True, dedupe_seconds=0
    )
    for event in written.events[:5]:
        transport.deliver(event)
    transport.deliver(written.events[4])
    assert [*written.ids[3:5], written.ids[4]] == _stream_ids(redis_client, stream)
    assert 0 == redis_client.exists(transport.dedupe_key(written.events[4]))


def _closed_port() -> int:
    """A local TCP port nothing listens on."""
    import socket  # noqa: PLC0415

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# -- RabbitMQ ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def amqp() -> Iterator[Any]:
    """A blocking connection to the test RabbitMQ, for declaring and reading queues."""
    import pika  # noqa: PLC0415 - the rabbitmq extra is optional

    holder: list[Any] = []
    _service_or_skip(
        "RabbitMQ",
        AMQP_URL,
        lambda: holder.append(pika.BlockingConnection(pika.URLParameters(AMQP_URL))),
    )
    connection = holder[0]
    yield connection
    connection.close()


@pytest.fixture
def exchange(amqp: pika.BlockingConnection) -> Iterator[tuple[str, str]]:
    """A topic exchange and a durable queue bound to it on every key, deleted after."""
    channel = amqp.channel()
    name = f"pointkit-test-{uuid.uuid4().hex}"
    channel.exchange_declare(name, exchange_type="topic", durable=False)
    channel.queue_declare(name, durable=True)
    channel.queue_bind(name, name, routing_key="#")
    yield name, name
    channel.queue_delete(name)
    channel.exchange_delete(name)
    channel.close()


def _drain(amqp: pika.BlockingConnection, queue: str) -> list[tuple[Any, bytes]]:
    channel = amqp.channel()
    messages = []
    while True:
        method, properties, body = channel.basic_get(queue, auto_ack=True)
        if method is None:
            break
        messages.append((properties, body))
    channel.close()
    return messages


def test_rabbitmq_events_arrive_in_order_confirmed_and_persistent(
    written: Written, amqp: pika.BlockingConnection, exchange: tuple[str, str]
) -> None:
    """Every event is one persistent message, in order, message_id the event id, type its type."""
    from pointkit.relays.rabbitmq import RabbitMQTransport  # noqa: PLC0415

    name, queue = exchange
    with RabbitMQTransport(AMQP_URL, exchange=name) as transport:
        relay = Relay(
            written.outbox, transport, consumer="rabbit", policy=RelayPolicy(batch_size=50)
        )
        assert [50, 10, 0] == [relay.run_once().read for _ in range(3)]
    messages = _drain(amqp, queue)
    assert written.ids == [properties.message_id for properties, _ in messages]
    assert ROUND_TYPES * 12 == [properties.type for properties, _ in messages]
    assert {2} == {properties.delivery_mode for properties, _ in messages}
    properties, body = messages[0]
    assert written.events[0].to_json() == json.loads(body)
    assert ("application/json", 1, "default") == (
        properties.content_type,
        properties.headers["pointkit-version"],
        properties.headers["pointkit-program"],
    )


def test_rabbitmq_redelivers_after_a_crash_with_the_same_message_ids(
    written: Written, amqp: pika.BlockingConnection, exchange: tuple[str, str]
) -> None:
    """Killed before its ack and restarted: nothing lost; the copies carry the same message_id."""
    from pointkit.relays.rabbitmq import RabbitMQTransport  # noqa: PLC0415

    name, queue = exchange
    with RabbitMQTransport(AMQP_URL, exchange=name) as transport:
        _crash_then_restart(written, transport, "rabbit", batch_size=16, die_after=40)
    received = [properties.message_id for properties, _ in _drain(amqp, queue)]
    duplicates = _check_at_least_once(written, received, acked=32, label="rabbitmq")
    assert 8 == duplicates


def test_rabbitmq_unroutable_events_are_dead_lettered(
    written: Written, amqp: pika.BlockingConnection
) -> None:
    """With no queue bound, each message comes back unroutable: retried, then parked."""
    from pointkit.relays.rabbitmq import RabbitMQTransport  # noqa: PLC0415

    channel = amqp.channel()
    name = f"pointkit-test-{uuid.uuid4().hex}"
    channel.exchange_declare(name, exchange_type="topic")
    sleeps: list[float] = []
    try:
        with RabbitMQTransport(AMQP_URL, exchange=name) as transport:
            relay = Relay(
                written.outbox,
                transport,
                consumer="rabbit",
                policy=RelayPolicy(batch_size=2, attempts=2),
                sleep=sleeps.append,
            )
            done = relay.run_once()
    finally:
        channel.exchange_delete(name)
        channel.close()
    assert (2, ()) == (len(done.dead_lettered), done.delivered)
    parked = written.outbox.dead_letters("rabbit")
    assert written.ids[:2] == [str(event.id) for event, _ in parked]
    assert "returned unroutable" in parked[0][1]
    assert 2 == len(sleeps)
    assert written.events[1].cursor == written.outbox.position("rabbit")


def test_rabbitmq_missing_exchange_blocks_without_dead_letters(
    written: Written, amqp: pika.BlockingConnection
) -> None:
    """An exchange that does not exist makes the broker unavailable: the relay waits."""
    from pointkit.relays.rabbitmq import RabbitMQTransport  # noqa: PLC0415

    assert amqp.is_open
    stop = threading.Event()
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 3:
            stop.set()

    with RabbitMQTransport(AMQP_URL, exchange=f"pointkit-missing-{uuid.uuid4().hex}") as transport:
        relay = Relay(
            written.outbox,
            transport,
            consumer="rabbit",
            policy=RelayPolicy(attempts=1),
            sleep=sleep,
        )
        done = relay.run_once(stop)
    assert (True, ()) == (done.stopped, done.dead_lettered)
    assert () == written.outbox.dead_letters("rabbit")


def test_rabbitmq_full_queue_nacks_block_until_drained(
    written: Written, amqp: pika.BlockingConnection
) -> None:
    """A queue full with reject-publish nacks: the relay waits, and delivers once it drains."""
    from pointkit.relays.rabbitmq import RabbitMQTransport  # noqa: PLC0415

    channel = amqp.channel()
    name = f"pointkit-test-{uuid.uuid4().hex}"
    channel.exchange_declare(name, exchange_type="topic")
    channel.queue_declare(name, arguments={"x-max-length": 2, "x-overflow": "reject-publish"})
    channel.queue_bind(name, name, routing_key="#")
    sleeps: list[float] = []
    drained: list[bytes] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        drained.extend(body for _, body in _drain(amqp, name))

    try:
        with RabbitMQTransport(AMQP_URL, exchange=name) as transport:
            relay = Relay(
                written.outbox,
                transport,
                consumer="rabbit",
                policy=RelayPolicy(batch_size=5, attempts=1),
                sleep=sleep,
            )
            done = relay.run_once()
        drained.extend(body for _, body in _drain(amqp, name))
    finally:
        channel.queue_delete(name)
        channel.exchange_delete(name)
        channel.close()
    assert (5, ()) == (len(done.delivered), done.dead_lettered)
    assert written.ids[:5] == [json.loads(body)["id"] for body in drained]
    assert len(sleeps) >= 1


def test_rabbitmq_a_lost_connection_is_replaced_before_the_next_publish(
    written: Written, amqp: pika.BlockingConnection, exchange: tuple[str, str]
) -> None:
    """A connection cut while idle (a broker restart) is found and replaced; nothing fails."""
    import socket  # noqa: PLC0415

    from pointkit.relays.rabbitmq import RabbitMQTransport  # noqa: PLC0415

    name, queue = exchange
    with RabbitMQTransport(AMQP_URL, exchange=name) as transport:
        transport.deliver(written.events[0])
        first = transport._connection
        # Cut the TCP stream under pika, as a restarting broker would.
        first._impl._transport._sock.shutdown(socket.SHUT_RDWR)
        transport.deliver(written.events[1])
        assert first is not transport._connection
    assert written.ids[:2] == [properties.message_id for properties, _ in _drain(amqp, queue)]


def test_rabbitmq_down_is_unavailable_and_arguments_are_checked() -> None:
    """No broker on the port: unavailable. Bad parameters, exchange or key: refused."""
    from pointkit.relays.rabbitmq import RabbitMQTransport  # noqa: PLC0415

    url = f"amqp://guest:guest@127.0.0.1:{_closed_port()}/%2F?connection_attempts=1"
    with (
        RabbitMQTransport(url, exchange="x") as transport,
        pytest.raises(DestinationUnavailableError, match="AMQPConnectionError"),
    ):
        transport.deliver(_event(1))
    with pytest.raises(ArgumentTypeError, match="must be an AMQP URL"):
        RabbitMQTransport(b"amqp://", exchange="x")  # pika's types are Any: no mypy error
    with pytest.raises(ArgumentTypeError, match="exchange=None must be a str"):
        RabbitMQTransport("amqp://", exchange=None)  # type: ignore[arg-type]
    with pytest.raises(ArgumentTypeError, match="routing_key=1 must be a str or None"):
        RabbitMQTransport("amqp://", exchange="", routing_key=1)  # type: ignore[arg-type]


# -- NATS JetStream ----------------------------------------------------------------------------


async def _jetstream(work: Callable[[Any], Any]) -> Any:  # noqa: ANN401 - test plumbing
    import nats  # noqa: PLC0415 - the nats extra is optional

    client = await nats.connect(NATS_URL, connect_timeout=2, allow_reconnect=False)
    try:
        return await work(client.jetstream())
    finally:
        await client.close()


def _temporary_stream(**config: Any) -> Iterator[tuple[str, str]]:  # noqa: ANN401 - StreamConfig
    """A stream of this test's own capturing ``{prefix}.>``, deleted after: (name, prefix)."""
    name = f"pointkit-test-{uuid.uuid4().hex}"
    prefix = f"pointkit-test.{uuid.uuid4().hex}"

    async def create(js: JetStreamContext) -> None:
        await js.add_stream(name=name, subjects=[f"{prefix}.>"], **config)

    _service_or_skip("NATS JetStream", NATS_URL, lambda: asyncio.run(_jetstream(create)))
    yield name, prefix

    async def delete(js: JetStreamContext) -> None:
        await js.delete_stream(name)

    asyncio.run(_jetstream(delete))


@pytest.fixture
def jetstream() -> Iterator[tuple[str, str]]:
    """A stream with a one-hour duplicate window."""
    yield from _temporary_stream(duplicate_window=3600.0)


@pytest.fixture
def small_stream() -> Iterator[tuple[str, str]]:
    """A stream that refuses messages over 256 bytes."""
    yield from _temporary_stream(max_msg_size=256)


def _stored(stream: str) -> list[Any]:
    async def read(js: JetStreamContext) -> list[Any]:
        info = await js.stream_info(stream)
        return [
            await js.get_msg(stream, sequence) for sequence in range(1, info.state.last_seq + 1)
        ]

    result: list[Any] = asyncio.run(_jetstream(read))
    return result


def test_nats_events_arrive_in_order_with_msg_ids(
    written: Written, jetstream: tuple[str, str]
) -> None:
    """Every event is stored once, in order, on its type's subject, Nats-Msg-Id its id."""
    from pointkit.relays.nats import JetStreamTransport  # noqa: PLC0415

    name, prefix = jetstream
    with JetStreamTransport(NATS_URL, subject=prefix, stream=name) as transport:
        relay = Relay(written.outbox, transport, consumer="nats", policy=RelayPolicy(batch_size=40))
        assert [40, 20, 0] == [relay.run_once().read for _ in range(3)]
    stored = _stored(name)
    assert written.ids == [message.headers["Nats-Msg-Id"] for message in stored]
    assert [f"{prefix}.{kind}" for kind in ROUND_TYPES * 12] == [
        message.subject for message in stored
    ]
    assert written.events[0].to_json() == json.loads(stored[0].data)


def test_nats_redelivery_after_a_crash_is_dropped_by_jetstream(
    written: Written, jetstream: tuple[str, str]
) -> None:
    """Killed before its ack and restarted: JetStream stores each Nats-Msg-Id once."""
    from pointkit.relays.nats import JetStreamTransport  # noqa: PLC0415

    name, prefix = jetstream
    with JetStreamTransport(NATS_URL, subject=prefix) as transport:
        delivered = _crash_then_restart(written, transport, "nats", batch_size=15, die_after=37)
    duplicates = _check_at_least_once(written, delivered.ids, acked=30, label="nats deliveries")
    assert 7 == duplicates
    assert written.ids == [message.headers["Nats-Msg-Id"] for message in _stored(name)]


def test_nats_without_a_stream_blocks_without_dead_letters(
    written: Written, jetstream: tuple[str, str]
) -> None:
    """A subject no stream captures is unavailable, not a reason to park events."""
    from pointkit.relays.nats import JetStreamTransport  # noqa: PLC0415

    assert jetstream
    stop = threading.Event()
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 2:
            stop.set()

    with JetStreamTransport(
        NATS_URL, subject=f"pointkit-nowhere.{uuid.uuid4().hex}", timeout_seconds=1
    ) as transport:
        relay = Relay(
            written.outbox, transport, consumer="nats", policy=RelayPolicy(attempts=1), sleep=sleep
        )
        done = relay.run_once(stop)
    assert (True, ()) == (done.stopped, done.dead_lettered)
    assert () == written.outbox.dead_letters("nats")


def test_nats_no_server_is_unavailable(written: Written, jetstream: tuple[str, str]) -> None:
    """No server on the port: unavailable. A live one stores an event sent twice once."""
    from pointkit.relays.nats import JetStreamTransport  # noqa: PLC0415

    name, prefix = jetstream
    down = JetStreamTransport(
        f"nats://127.0.0.1:{_closed_port()}", subject=prefix, timeout_seconds=1
    )
    with pytest.raises(DestinationUnavailableError, match="NoServersError"):
        down.deliver(written.events[0])
    down.close()
    with JetStreamTransport(NATS_URL, subject=prefix) as transport:
        transport.deliver(written.events[0])
        transport.deliver(written.events[0])
    assert [written.ids[0]] == [message.headers["Nats-Msg-Id"] for message in _stored(name)]


def test_nats_a_message_the_stream_refuses_is_dead_lettered(
    written: Written, small_stream: tuple[str, str]
) -> None:
    """Over the stream's max_msg_size, each event is refused: retried, then parked."""
    from pointkit.relays.nats import JetStreamTransport  # noqa: PLC0415

    name, prefix = small_stream
    sleeps: list[float] = []
    with JetStreamTransport(NATS_URL, subject=prefix, stream=name) as transport:
        relay = Relay(
            written.outbox,
            transport,
            consumer="nats",
            policy=RelayPolicy(batch_size=2, attempts=2),
            sleep=sleeps.append,
        )
        done = relay.run_once()
    assert (2, (), 2) == (len(done.dead_lettered), done.delivered, len(sleeps))
    parked = written.outbox.dead_letters("nats")
    assert written.ids[:2] == [str(event.id) for event, _ in parked]
    assert "JetStream refused it: message size exceeds maximum allowed" in parked[0][1]
    assert [] == _stored(name)


def test_nats_another_stream_than_expected_blocks(
    written: Written, jetstream: tuple[str, str]
) -> None:
    """A subject bound to another stream than the one named is unavailable, never parked."""
    from pointkit.relays.nats import JetStreamTransport  # noqa: PLC0415

    _, prefix = jetstream
    stop = threading.Event()

    def sleep(_: float) -> None:
        stop.set()

    with JetStreamTransport(NATS_URL, subject=prefix, stream="pointkit-other") as transport:
        relay = Relay(written.outbox, transport, consumer="nats", sleep=sleep)
        with pytest.raises(DestinationUnavailableError, match="expected stream does not match"):
            transport.deliver(written.events[0])
        assert relay.run_once(stop).stopped
    assert () == written.outbox.dead_letters("nats")


def test_nats_events_no_subject_or_server_can_take_are_rejected(
    written: Written, jetstream: tuple[str, str]
) -> None:
    """A type that is no subject token, or a body over the server's max payload: parked at once."""
    from pointkit.relays.nats import JetStreamTransport  # noqa: PLC0415

    name, prefix = jetstream
    spaced = attrs.evolve(written.events[0], type="points earned")
    huge = attrs.evolve(written.events[1], data={"note": "x" * 1_100_000})
    with JetStreamTransport(NATS_URL, subject=prefix) as transport:
        with pytest.raises(EventRejectedError, match="must be dot-separated tokens"):
            transport.deliver(spaced)
        with pytest.raises(EventRejectedError, match="over the server's maximum payload"):
            transport.deliver(huge)
        transport.deliver(written.events[2])
    assert [written.ids[2]] == [message.headers["Nats-Msg-Id"] for message in _stored(name)]


def test_nats_arguments_are_checked() -> None:
    """A subject with a wildcard, space or empty token, or no server, is refused."""
    from pointkit.relays.nats import JetStreamTransport  # noqa: PLC0415

    for subject in ("pointkit.*", "pointkit..events", "pointkit events", "pointkit.>"):
        with pytest.raises(InvalidArgumentError, match="must be dot-separated tokens"):
            JetStreamTransport(NATS_URL, subject=subject)
    with pytest.raises(ArgumentTypeError, match=r"servers=\[\] must be a URL"):
        JetStreamTransport([], subject="pointkit")
    with pytest.raises(
        LimitExceededError, match=r"over pointkit\.relays\.nats\.SUBJECT_LENGTH_MAX"
    ):
        JetStreamTransport(NATS_URL, subject="p" * 257)
    JetStreamTransport(NATS_URL, subject="pointkit").close()  # never started: nothing to stop


# -- webhooks ----------------------------------------------------------------------------------


class Receiver(BaseHTTPRequestHandler):
    """Records each POST and answers with the next scripted status (200 when none is left)."""

    requests: ClassVar[list[tuple[dict[str, str], bytes]]]
    script: ClassVar[list[tuple[int, dict[str, str], float]]]

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        body = self.rfile.read(length)
        status, headers, delay = self.script.pop(0) if self.script else (200, {}, 0.0)
        self.requests.append((dict(self.headers.items()), body))
        if delay:
            time.sleep(delay)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        answer = HTTPStatus(status).phrase.encode()
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *_: object) -> None:
        pass


@attrs.frozen
class Endpoint:
    """A local webhook receiver: its URL, what it received, and what it will answer next."""

    url: str
    requests: list[tuple[dict[str, str], bytes]]
    script: list[tuple[int, dict[str, str], float]]

    def ids(self) -> list[str]:
        return [headers["Pointkit-Event-Id"] for headers, _ in self.requests]


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    """An HTTP receiver on a free local port, in a thread; it can be told to fail."""
    handler: type[Receiver] = type("Handler", (Receiver,), {"requests": [], "script": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    worker = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    worker.start()
    yield Endpoint(
        f"http://127.0.0.1:{server.server_address[1]}/hooks/points",
        handler.requests,
        handler.script,
    )
    server.shutdown()
    server.server_close()
    worker.join()


def _webhook(
    endpoint: Endpoint, clock: FixedClock, *, timeout_seconds: float = 10.0
) -> WebhookTransport:
    return WebhookTransport(
        endpoint.url,
        secret=SECRET,
        clock=clock,
        allow_http=True,
        timeout_seconds=timeout_seconds,
    )


def test_webhooks_arrive_in_order_signed(written: Written, endpoint: Endpoint) -> None:
    """Every event is POSTed in order, with its id and type, and its signature verifies."""
    clock = FixedClock(START + timedelta(days=1))
    relay = Relay(
        written.outbox, _webhook(endpoint, clock), consumer="crm", policy=RelayPolicy(batch_size=60)
    )
    assert 60 == len(relay.run_once().delivered)
    assert written.ids == endpoint.ids()
    assert ROUND_TYPES * 12 == [headers["Pointkit-Event-Type"] for headers, _ in endpoint.requests]
    for headers, body in endpoint.requests:
        verify_signature(SECRET, headers, body, now=clock.now() + timedelta(seconds=30))
    headers, body = endpoint.requests[0]
    assert written.events[0].to_json() == json.loads(body)
    assert str(int(clock.now().timestamp())) == headers[TIMESTAMP_HEADER]
    with pytest.raises(WebhookSignatureError, match="no v1 signature"):
        verify_signature(b"another-secret-0123456789", headers, body, now=clock.now())


def test_webhook_retries_5xx_and_timeouts_then_delivers(
    written: Written, endpoint: Endpoint
) -> None:
    """503, a timeout and 429 with Retry-After are retried; the event is then delivered."""
    endpoint.script.extend([(503, {}, 0.0), (200, {}, 0.6), (429, {"Retry-After": "7"}, 0.0)])
    sleeps: list[float] = []
    relay = Relay(
        written.outbox,
        _webhook(endpoint, FixedClock(START), timeout_seconds=0.3),
        consumer="crm",
        policy=RelayPolicy(batch_size=2, attempts=5, backoff_max_seconds=30),
        rng=FixedJitter(0.0),
        sleep=sleeps.append,
    )
    done = relay.run_once()
    assert written.ids[:2] == [str(event.id) for event in done.delivered]
    assert [0.25, 0.5, 7.0] == sleeps
    assert [written.ids[0]] * 4 + [written.ids[1]] == endpoint.ids()


def test_webhook_4xx_is_dead_lettered_at_once_and_5xx_after_the_attempts(
    written: Written, endpoint: Endpoint
) -> None:
    """400 parks the event at once; 500 on every try parks it after the attempts."""
    endpoint.script.extend([(400, {}, 0.0)] + [(500, {}, 0.0)] * 3)
    sleeps: list[float] = []
    relay = Relay(
        written.outbox,
        _webhook(endpoint, FixedClock(START)),
        consumer="crm",
        policy=RelayPolicy(batch_size=3, attempts=3),
        sleep=sleeps.append,
    )
    done = relay.run_once()
    assert [written.ids[2]] == [str(event.id) for event in done.delivered]
    parked = written.outbox.dead_letters("crm")
    assert written.ids[:2] == [str(event.id) for event, _ in parked]
    assert f"rejected: POST {endpoint.url}: HTTP 400: Bad Request" == parked[0][1]
    assert (
        f"failed 3 time(s), the last with: POST {endpoint.url}: HTTP 500: Internal Server Error"
        == parked[1][1]
    )
    assert 2 == len(sleeps)
    assert written.events[2].cursor == written.outbox.position("crm")


def test_webhook_redirects_are_not_followed(written: Written, endpoint: Endpoint) -> None:
    """A 302 is a failed delivery: the signed event is not sent where the relay was not told."""
    endpoint.script.append((302, {"Location": "http://127.0.0.1:9/elsewhere"}, 0.0))
    transport = _webhook(endpoint, FixedClock(START))
    with pytest.raises(DeliveryFailedError, match="HTTP 302"):
        transport.deliver(written.events[0])
    assert 1 == len(endpoint.requests)


def test_webhook_redelivery_after_a_crash_has_the_same_event_ids(
    written: Written, endpoint: Endpoint
) -> None:
    """Killed before its ack and restarted: nothing lost; the receiver sees the same ids again."""
    transport = _webhook(endpoint, FixedClock(START))
    _crash_then_restart(written, transport, "crm", batch_size=10, die_after=25)
    duplicates = _check_at_least_once(written, endpoint.ids(), acked=20, label="webhooks")
    assert 5 == duplicates


def test_webhook_relay_thread_stopped_mid_batch_resumes_without_loss(
    written: Written, endpoint: Endpoint
) -> None:
    """A relay thread stopped mid-batch acknowledges what it sent; a new one sends the rest."""
    stop = threading.Event()

    class StopAt(Counting):
        def deliver(self, event: OutboxEvent) -> None:
            super().deliver(event)
            if len(self.ids) == 27:
                stop.set()

    policy = RelayPolicy(batch_size=20, poll_interval_seconds=0.01)
    transport = _webhook(endpoint, FixedClock(START))
    worker = threading.Thread(
        target=Relay(written.outbox, StopAt(transport), consumer="crm", policy=policy).run,
        args=(stop,),
    )
    worker.start()
    worker.join(timeout=20)
    assert not worker.is_alive()
    assert written.events[26].cursor == written.outbox.position("crm")
    relay = Relay(written.outbox, transport, consumer="crm", policy=policy)
    while relay.run_once().read:
        pass
    assert 0 == _check_at_least_once(written, endpoint.ids(), acked=27, label="webhooks, stopped")


def test_webhook_retry_after_as_an_http_date(written: Written, endpoint: Endpoint) -> None:
    """A Retry-After given as an HTTP date is waited for until that instant."""
    clock = FixedClock(START)
    later = (START + timedelta(seconds=20)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    endpoint.script.extend(
        [(503, {"Retry-After": later}, 0.0), (503, {"Retry-After": "soon"}, 0.0)]
    )
    sleeps: list[float] = []
    relay = Relay(
        written.outbox,
        _webhook(endpoint, clock),
        consumer="crm",
        policy=RelayPolicy(batch_size=1, backoff_max_seconds=60),
        rng=FixedJitter(0.0),
        sleep=sleeps.append,
    )
    assert 1 == len(relay.run_once().delivered)
    assert [20.0, 0.5] == sleeps


def test_webhook_a_refused_connection_is_retried(written: Written) -> None:
    """Nothing listening: a failed delivery, retried and then parked with the reason."""
    transport = WebhookTransport(
        f"http://127.0.0.1:{_closed_port()}/hooks",
        secret=SECRET,
        clock=FixedClock(START),
        allow_http=True,
    )
    with pytest.raises(DeliveryFailedError, match="ConnectionRefusedError"):
        transport.deliver(written.events[0])
    assert "WebhookTransport(url='http://127.0.0.1:" in repr(transport)


# -- webhook signatures ------------------------------------------------------------------------

BODY = b'{"id":"00000000-0000-0000-0000-000000000001"}'
NOW = datetime(2026, 1, 1, tzinfo=UTC)
STAMP = int(NOW.timestamp())


def test_a_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    """The v1 signature is the hex HMAC-SHA256 over f"{timestamp}.{body}" with the secret."""
    import hashlib  # noqa: PLC0415
    import hmac  # noqa: PLC0415

    digest = hmac.new(SECRET, f"{STAMP}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert f"v1={digest}" == sign(SECRET, STAMP, BODY)
    assert sign(SECRET, STAMP, BODY) == sign(SECRET.decode(), STAMP, BODY)


def test_verify_accepts_any_matching_signature_and_any_header_case() -> None:
    """Several comma-separated signatures (a rotation) pass if one matches; names are any case."""
    headers = {
        "pointkit-timestamp": str(STAMP),
        "POINTKIT-SIGNATURE": f"v1={'0' * 64}, {sign(SECRET, STAMP, BODY)}",
    }
    verify_signature(SECRET, headers, BODY, now=NOW + timedelta(seconds=299))
    verify_signature(SECRET, headers, BODY, now=NOW - timedelta(seconds=299))


@pytest.mark.parametrize(
    ("headers", "now", "message"),
    [
        ({SIGNATURE_HEADER: "v1=00"}, NOW, "the Pointkit-Timestamp header is missing"),
        ({TIMESTAMP_HEADER: str(STAMP)}, NOW, "the Pointkit-Signature header is missing"),
        ({TIMESTAMP_HEADER: "-5", SIGNATURE_HEADER: "v1=00"}, NOW, "Pointkit-Timestamp='-5' is not Unix seconds"),
        ({TIMESTAMP_HEADER: str(STAMP), SIGNATURE_HEADER: "v1=00"}, NOW + timedelta(seconds=301), f"Pointkit-Timestamp={STAMP} is 301 s from now, over the tolerance (300 s)"),
        ({TIMESTAMP_HEADER: str(STAMP), SIGNATURE_HEADER: "v1=00"}, NOW - timedelta(seconds=400), f"Pointkit-Timestamp={STAMP} is 400 s from now, over the tolerance (300 s)"),
        ({TIMESTAMP_HEADER: str(STAMP), SIGNATURE_HEADER: sign(SECRET, STAMP + 1, BODY)}, NOW, "no v1 signature in Pointkit-Signature matches the body"),
        ({TIMESTAMP_HEADER: str(STAMP), SIGNATURE_HEADER: sign(SECRET, STAMP, BODY)[3:]}, NOW, "no v1 signature in Pointkit-Signature matches the body"),
    ],
)  # fmt: skip
def test_verify_refuses(headers: dict[str, str], now: datetime, message: str) -> None:
    """Each way a webhook fails verification is refused with its reason."""
    with pytest.raises(WebhookSignatureError) as raised:
        verify_signature(SECRET, headers, BODY, now=now)
    assert message == str(raised.value)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: sign(b"short", 1, b""), "secret is 5 bytes long, under SECRET_LENGTH_MIN (16); use secrets.token_bytes(32)"),
        (lambda: WebhookTransport("ftp://x/y", secret=SECRET, clock=FixedClock(NOW)), "url='ftp://x/y' must be an absolute https URL (allow_http=True for plain http)"),
        (lambda: WebhookTransport("http://x/y", secret=SECRET, clock=FixedClock(NOW)), "url='http://x/y' must be an absolute https URL (allow_http=True for plain http)"),
        (lambda: verify_signature(SECRET, {}, BODY, now=NOW, tolerance_seconds=86_401), "tolerance_seconds=86401 must be an int from 0 to 86400"),
    ],
)  # fmt: skip
def test_webhook_arguments_are_checked(make: Callable[[], object], message: str) -> None:
    """A short secret, a URL that is not https, a tolerance over the maximum: refused."""
    with pytest.raises(InvalidArgumentError) as raised:
        make()
    assert message == str(raised.value)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: sign(1, 1, b""), "secret must be bytes or str, not int"),  # type: ignore[arg-type]
        (lambda: sign(SECRET, 1, "{}"), "body must be bytes, not str"),  # type: ignore[arg-type]
        (lambda: verify_signature(SECRET, {}, "{}", now=NOW), "body must be bytes, not str"),  # type: ignore[arg-type]
        (lambda: WebhookTransport(None, secret=SECRET, clock=FixedClock(NOW)), "url=None must be a str"),  # type: ignore[arg-type]
    ],
    ids=["secret", "sign-body", "verify-body", "url"],
)  # fmt: skip
def test_webhook_argument_types_are_checked(make: Callable[[], object], message: str) -> None:
    """A secret, body or URL of the wrong type is refused with its type named."""
    with pytest.raises(ArgumentTypeError) as raised:
        make()
    assert message == str(raised.value)


def test_a_relay_shows_its_consumer_and_policy() -> None:
    """A relay exposes its consumer name and policy, and names its transport in its repr."""
    policy = RelayPolicy(batch_size=7)
    relay = Relay(FakeOutbox(0), FakeTransport(), consumer="crm", policy=policy)
    assert ("crm", policy) == (relay.consumer, relay.policy)
    assert repr(relay).startswith("Relay(consumer='crm', transport=<")

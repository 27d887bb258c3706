"""The relay core: read the outbox, deliver each event through a transport, acknowledge.

A :class:`Relay` owns the loop and its failure policy; a :class:`Transport` owns one destination
(a Redis stream, a RabbitMQ exchange, a JetStream subject, a webhook URL) and says, by the error it
raises, what kind of failure it met.

Maintainer's notes
------------------
Delivery is at least once. A relay reads a batch from its consumer's acknowledged position,
delivers the events in order, and only then acknowledges. If the process dies between a delivery
and the acknowledgement, the next run reads the same events again and delivers them twice; nothing
is ever acknowledged before it was delivered (or parked as a dead letter), so nothing is lost.
Receivers deduplicate on the event id, which is the same on every delivery of an event.

A stop (the ``stop`` event, or an error the relay does not handle) acknowledges what was delivered
so far, event by event through each event's own cursor, so a clean stop mid-batch causes no
redelivery; only a crash does.

Failures fall into three kinds, told apart by the transport and never guessed by the relay:

* :class:`DestinationUnavailableError`: the destination cannot take *any* event (the broker is
  down, the connection is lost, the stream or exchange is missing). Dead-lettering would park
  every event until the destination is back, so the relay blocks instead: it waits, with
  backoff, and tries the same event again until it goes through or the relay is stopped.
* :class:`DeliveryFailedError`: this event failed in a way a retry may cure (a webhook answered
  503 or timed out, a broker refused one message). The relay retries it with exponential backoff
  and jitter; after ``RelayPolicy.attempts`` tries it parks it with
  :meth:`OutboxSource.dead_letter` and goes on with the next event.
* :class:`EventRejectedError`: the destination refused this event for good (a webhook answered
  400). The relay parks it at once.

Any other exception is a bug (in a transport or the host's code): the relay acknowledges what it
delivered and lets the exception out, so the host's supervisor sees it and restarts the relay.

Waiting goes through ``stop.wait(seconds)``, so a stop interrupts a backoff at once; tests pass a
``sleep`` function instead and see every delay the relay chose.
"""

from __future__ import annotations

import json
import logging
import math
import random
import threading
from typing import TYPE_CHECKING, ClassVar, Final, Protocol, final

import attrs

from pointkit import limits
from pointkit._validate import check_int, check_text, type_name
from pointkit.exceptions import (
    ArgumentTypeError,
    InvalidArgumentError,
    LimitExceededError,
    PointkitError,
    TransientStorageError,
)


if TYPE_CHECKING:
    from collections.abc import Callable

    from pointkit.ledger import OutboxBatch, OutboxEvent


__all__ = [
    "ATTEMPTS_MAX",
    "BACKOFF_SECONDS_MAX",
    "DeliveryError",
    "DeliveryFailedError",
    "DestinationUnavailableError",
    "EventRejectedError",
    "OutboxSource",
    "Relay",
    "RelayPolicy",
    "RelayRun",
    "Transport",
    "event_body",
]

ATTEMPTS_MAX: Final = 1_000
"""The most tries of one event a :class:`RelayPolicy` may allow before the event is parked."""

BACKOFF_SECONDS_MAX: Final = 24 * 3600
"""The longest wait between two tries, or between two polls of the outbox: a day."""

_LOG = logging.getLogger("pointkit.relays")


@final
class _Stopped:
    """What :meth:`Relay._deliver` returns when a stop ended the wait for a retry."""

    __slots__ = ()


_STOPPED: Final = _Stopped()


class DeliveryError(PointkitError):
    """A transport could not deliver an event; the subclass says what the relay does next.

    Args:
        message: What happened, for the log and the dead letter's reason.
        retry_after_seconds: The earliest the destination asked to be tried again (a webhook's
            ``Retry-After``), or None.
    """

    code: ClassVar[str] = "delivery_error"

    def __init__(self, message: str, *, retry_after_seconds: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class DestinationUnavailableError(DeliveryError, ConnectionError):
    """The destination takes no event now: the relay waits and tries again, never parks it."""

    code: ClassVar[str] = "destination_unavailable"


class DeliveryFailedError(DeliveryError):
    """This event failed and a retry may cure it: retried with backoff, then parked."""

    code: ClassVar[str] = "delivery_failed"


class EventRejectedError(DeliveryError, ValueError):
    """The destination refused this event for good: parked at once."""

    code: ClassVar[str] = "event_rejected"


class Transport(Protocol):
    """One destination for outbox events. Implement it to relay to a destination of your own.

    ``deliver`` returns once the destination has the event (a broker's confirmation, a 2xx
    answer), or raises a :class:`DeliveryError` subclass saying what kind of failure it was.
    It may be called again with an event it already delivered (at-least-once), and it must put
    the event's id where the receiver can deduplicate on it.
    """

    def deliver(self, event: OutboxEvent) -> None:
        """Deliver *event*, or raise a :class:`DeliveryError` subclass."""
        ...


class OutboxSource(Protocol):
    """What a relay needs of an outbox: :class:`pointkit.ledger.Outbox` is one."""

    def read(self, consumer: str, *, limit: int = ...) -> OutboxBatch:
        """The events after *consumer*'s acknowledged position, in order, at most *limit*."""
        ...

    def ack(self, consumer: str, cursor: str) -> None:
        """Move *consumer*'s position to *cursor* (never backwards)."""
        ...

    def dead_letter(self, consumer: str, event: OutboxEvent, reason: str) -> None:
        """Park *event*, which *consumer* gave up on, with *reason*."""
        ...


def event_body(event: OutboxEvent) -> bytes:
    """The JSON every transport sends for *event*: ``event.to_json()`` as compact UTF-8.

    Its keys are ``id``, ``type``, ``version``, ``program``, ``occurred_at`` and ``data``; a
    redelivered event has the same body byte for byte.
    """
    text = json.dumps(event.to_json(), ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return text.encode("utf-8")


def check_name(name: str, value: object, *, maximum: int, limit: str) -> str:
    """Return *value* if it is a non-blank printable str of at most *maximum* characters.

    *limit* is the full name of the limit, for the message (``pointkit.relays.redis.X_MAX``).
    """
    if isinstance(value, str) and len(value) > maximum:
        raise LimitExceededError(
            f"{name} is {len(value)} characters long, over {limit} ({maximum})"
        )
    return check_text(name, value, max_length=maximum, limit_name=limit)


def check_seconds(name: str, value: object, *, minimum: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ArgumentTypeError(
            f"{name}={value!r} must be an int or float number of seconds, not {type_name(value)}"
        )
    if not math.isfinite(value) or not minimum <= value <= BACKOFF_SECONDS_MAX:
        raise InvalidArgumentError(
            f"{name}={value!r} must be a number of seconds from {minimum} to "
            f"BACKOFF_SECONDS_MAX ({BACKOFF_SECONDS_MAX})"
        )
    return float(value)


@final
@attrs.frozen
class RelayPolicy:
    """How a relay reads, retries and waits.

    The delay before try *n + 1* of an event (and between two checks of an unavailable
    destination) is ``min(backoff_max_seconds, backoff_initial_seconds * 2 ** (n - 1))``,
    multiplied by a random factor in ``[0.5, 1.0)`` so that relays restarted together do not
    retry in step ("equal jitter"). A destination's ``Retry-After`` lengthens a delay, up to
    ``backoff_max_seconds``.

    Attributes:
        batch_size: Events read from the outbox at a time, 1 to ``limits.OUTBOX_READ_MAX``.
        attempts: Tries of one event that failed with :class:`DeliveryFailedError` before it is
            parked as a dead letter, 1 to :data:`ATTEMPTS_MAX`.
        backoff_initial_seconds: The delay after the first failed try.
        backoff_max_seconds: The longest delay.
        poll_interval_seconds: How long :meth:`Relay.run` waits when the outbox had fewer events
            than a batch.

    Raises:
        ArgumentTypeError: If a count is not an int, or a duration not a number of seconds.
        InvalidArgumentError: If a value is out of range, or the initial delay is longer than
            the longest.

    >>> RelayPolicy(attempts=0)
    Traceback (most recent call last):
    ...
    pointkit.exceptions.InvalidArgumentError: attempts=0 must be an int from 1 to 1000
    """

    batch_size: int = attrs.field(default=100, kw_only=True)
    attempts: int = attrs.field(default=8, kw_only=True)
    backoff_initial_seconds: float = attrs.field(default=0.5, kw_only=True)
    backoff_max_seconds: float = attrs.field(default=60.0, kw_only=True)
    poll_interval_seconds: float = attrs.field(default=1.0, kw_only=True)

    def __attrs_post_init__(self) -> None:
        check_int(
            "batch_size",
            self.batch_size,
            minimum=1,
            maximum=limits.OUTBOX_READ_MAX,
            limit_name="OUTBOX_READ_MAX",
        )
        check_int("attempts", self.attempts, minimum=1, maximum=ATTEMPTS_MAX)
        initial = check_seconds(
            "backoff_initial_seconds", self.backoff_initial_seconds, minimum=0.0
        )
        longest = check_seconds("backoff_max_seconds", self.backoff_max_seconds, minimum=0.0)
        check_seconds("poll_interval_seconds", self.poll_interval_seconds, minimum=0.0)
        if initial > longest:
            raise InvalidArgumentError(
                f"backoff_initial_seconds={self.backoff_initial_seconds!r} must not be longer "
                f"than backoff_max_seconds={self.backoff_max_seconds!r}"
            )

    def backoff_seconds(self, failures: int, jitter: float) -> float:
        """The delay after *failures* failed tries in a row, for a *jitter* in ``[0, 1)``."""
        # 2 ** 64 is past any sane ratio of the longest to the initial delay: stop doubling there.
        exponent = min(failures - 1, 64)
        delay = min(self.backoff_max_seconds, self.backoff_initial_seconds * 2.0**exponent)
        return delay * (0.5 + jitter / 2)


@final
@attrs.frozen
class RelayRun:
    """What one :meth:`Relay.run_once` did.

    Attributes:
        read: How many events the batch held.
        delivered: The events delivered, in order.
        dead_lettered: The events parked as dead letters, each with its reason as the relay
            gave it (the outbox stores it as one line of at most ``limits.REASON_LENGTH_MAX``).
        stopped: Whether a stop cut the batch short; the events after the last one delivered
            or parked are read again by the next run.
    """

    read: int
    delivered: tuple[OutboxEvent, ...]
    dead_lettered: tuple[tuple[OutboxEvent, str], ...]
    stopped: bool


@final
class Relay:
    """Relays an outbox to a transport: read a batch, deliver each event, acknowledge.

    One relay is one outbox consumer: its position is the *consumer*'s acknowledged position in
    the outbox, so two relays to two destinations use two consumer names, and a restarted relay
    goes on where the last acknowledgement left off. Run one relay per consumer at a time.

    Args:
        outbox: The outbox to read (a :class:`pointkit.ledger.Outbox`).
        transport: Where the events go.
        consumer: The consumer name the outbox keeps this relay's position under.
        policy: Batch size, retries, backoff and polling.
        rng: The random source of the backoff's jitter; a ``random.Random()`` seeded by the
            operating system when None. Pass a seeded one for repeatable delays.
        sleep: Waits that many seconds instead of ``stop.wait``: for tests, which then see every
            delay. The stop is still checked after each wait.

    Raises:
        InvalidArgumentError: If *consumer* is blank, too long or has characters that do not
            print.
    """

    __slots__ = ("_consumer", "_outbox", "_policy", "_rng", "_sleep", "_transport")

    def __init__(
        self,
        outbox: OutboxSource,
        transport: Transport,
        *,
        consumer: str,
        policy: RelayPolicy | None = None,
        rng: random.Random | None = None,
        sleep: Callable[[float], object] | None = None,
    ) -> None:
        self._outbox = outbox
        self._transport = transport
        self._consumer = check_text(
            "consumer",
            consumer,
            max_length=limits.OUTBOX_CONSUMER_LENGTH_MAX,
            limit_name="OUTBOX_CONSUMER_LENGTH_MAX",
        )
        self._policy = RelayPolicy() if policy is None else policy
        # Jitter only spreads retries out; it decides nothing, so the OS-seeded default is safe.
        self._rng = random.Random() if rng is None else rng  # noqa: S311 - jitter, not secrets
        self._sleep = sleep

    @property
    def consumer(self) -> str:
        """The consumer name this relay's position is kept under."""
        return self._consumer

    @property
    def policy(self) -> RelayPolicy:
        """The relay's batch size, retries, backoff and polling."""
        return self._policy

    def run_once(self, stop: threading.Event | None = None) -> RelayRun:
        """Relay one batch: read it, deliver each event, acknowledge what was done.

        An event that fails with :class:`DeliveryFailedError` is tried up to
        ``policy.attempts`` times, then parked; one refused with :class:`EventRejectedError` is
        parked at once. While the destination is unavailable, the relay waits and tries the
        same event again until it goes through or *stop* is set, so without a *stop* this
        blocks until the destination is back.

        Args:
            stop: Set it to stop after the event being delivered (or at once, while waiting).

        Returns:
            What was read, delivered and parked, and whether *stop* cut the batch short.

        Raises:
            Exception: Whatever the outbox raises, or a transport raises that is not a
                :class:`DeliveryError`; what was delivered before it is acknowledged first.
        """
        stop = threading.Event() if stop is None else stop
        batch = self._outbox.read(self._consumer, limit=self._policy.batch_size)
        delivered: list[OutboxEvent] = []
        dead: list[tuple[OutboxEvent, str]] = []
        done: str | None = None  # the cursor of the last event delivered or parked
        stopped = False
        try:
            for event in batch.events:
                if stop.is_set():
                    stopped = True
                    break
                outcome = self._deliver(event, stop)
                if isinstance(outcome, _Stopped):
                    stopped = True
                    break
                if outcome is None:
                    delivered.append(event)
                else:
                    dead.append((event, outcome))
                done = event.cursor
            else:
                if batch.events:
                    done = batch.cursor
        finally:
            if done is not None:
                self._outbox.ack(self._consumer, done)
        return RelayRun(
            read=len(batch.events),
            delivered=tuple(delivered),
            dead_lettered=tuple(dead),
            stopped=stopped,
        )

    def run(self, stop: threading.Event) -> None:
        """Relay until *stop* is set: batch after batch, polling when the outbox is drained.

        A full batch is followed at once by the next; a shorter one means the relay has caught
        up, and it waits ``policy.poll_interval_seconds`` (or until *stop*) before reading again.
        Run it on a thread of its own, and set *stop* to end it::

            stop = threading.Event()
            worker = threading.Thread(target=relay.run, args=(stop,))
            worker.start()
            ...
            stop.set()
            worker.join()

        Raises:
            Exception: As :meth:`run_once`, except a
                :class:`~pointkit.exceptions.TransientStorageError` of the outbox, after which
                the relay waits a poll interval and reads again. The relay stops there, with
                what it delivered acknowledged, and its supervisor should start it again.
        """
        while not stop.is_set():
            try:
                done = self.run_once(stop)
            except TransientStorageError as error:
                # The outbox's database is busy or failing over: like an unavailable
                # destination, wait and read again rather than stop the relay.
                _LOG.warning(
                    "relay %s: the outbox failed (%s); reading again", self._consumer, error
                )
                read = 0
            else:
                read = done.read
            if read < self._policy.batch_size and self._pause(
                self._policy.poll_interval_seconds, stop
            ):
                return

    def _deliver(self, event: OutboxEvent, stop: threading.Event) -> str | _Stopped | None:
        """Deliver *event*: None once delivered, the reason once parked, or ``_STOPPED``."""
        failures = 0
        unavailable = 0
        while True:
            try:
                self._transport.deliver(event)
            except EventRejectedError as error:
                return self._park(event, f"rejected: {error}")
            except DestinationUnavailableError as error:
                unavailable += 1
                delay = self._delay(unavailable, error)
                _LOG.warning(
                    "relay %s: destination unavailable (%s); event %s waits %.3f s",
                    self._consumer,
                    error,
                    event.id,
                    delay,
                )
            except DeliveryFailedError as error:
                failures += 1
                if failures >= self._policy.attempts:
                    return self._park(event, f"failed {failures} time(s), the last with: {error}")
                delay = self._delay(failures, error)
                _LOG.warning(
                    "relay %s: event %s failed (try %d of %d: %s); retrying in %.3f s",
                    self._consumer,
                    event.id,
                    failures,
                    self._policy.attempts,
                    error,
                    delay,
                )
            else:
                return None
            if self._pause(delay, stop):
                return _STOPPED

    def _delay(self, failures: int, error: DeliveryError) -> float:
        delay = self._policy.backoff_seconds(failures, self._rng.random())
        asked = error.retry_after_seconds
        if asked is not None and math.isfinite(asked):
            delay = max(delay, min(asked, self._policy.backoff_max_seconds))
        return delay

    def _park(self, event: OutboxEvent, reason: str) -> str:
        self._outbox.dead_letter(self._consumer, event, reason)
        _LOG.error(
            "relay %s: event %s parked as a dead letter: %s", self._consumer, event.id, reason
        )
        return reason

    def _pause(self, seconds: float, stop: threading.Event) -> bool:
        """Wait *seconds* or until *stop*; return whether the relay should stop."""
        if self._sleep is None:
            return stop.wait(seconds)
        self._sleep(seconds)
        return stop.is_set()

    def __repr__(self) -> str:
        return f"Relay(consumer={self._consumer!r}, transport={self._transport!r})"

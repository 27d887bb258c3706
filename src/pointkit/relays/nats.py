"""Relay outbox events to NATS JetStream, deduplicated by the server on the event id.

Install with ``pip install 'pointkit[nats]'`` (nats-py). Each event is published to the subject
``{subject}.{event type}`` (``pointkit.events.points.earned``) with the JSON body of
:func:`pointkit.relays.event_body` and the headers ``Nats-Msg-Id`` (the event id),
``Pointkit-Event-Type`` and ``Pointkit-Event-Version``. :meth:`JetStreamTransport.deliver` returns
once JetStream has acknowledged the message (its ``PubAck``), that is once a stream has stored it.

JetStream drops a message whose ``Nats-Msg-Id`` it has seen within the stream's duplicate window
(``duplicate_window``, two minutes unless the stream says otherwise) and answers it as a
duplicate: a relay restarted after a crash does not store an event twice as long as it is back
within the window. Past the window, readers deduplicate on the id.

Maintainer's notes
------------------
nats-py is an asyncio library and the relay is synchronous. The transport runs one event loop
on a daemon thread of its own, started on the first delivery, with one connection on it, and
hands each publish to that loop, waiting for its result; the connection's pings and reads go
on between deliveries, because the loop keeps running. The connection is made with nats-py's
own reconnection off: the relay's backoff is the reconnection loop, so a lost server is retried
at the relay's pace and every wait can be cut short by the relay's stop.

Failures: no server, a lost or closed connection, a timeout waiting for the ``PubAck``, no
stream bound to the subject, the subject bound to another stream than ``stream``, and JetStream
answering 503 make the destination unavailable: the relay waits and tries again (a retried
publish after a timeout is deduplicated), since the next event would fail the same way.
JetStream refusing the message otherwise (an API error, such as a message over the stream's
``max_msg_size``) fails the event, which is retried and then parked; a message over the
server's maximum payload is parked at once.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from typing import TYPE_CHECKING, Any, Final, final

import nats
import nats.errors
import nats.js.errors

from pointkit.exceptions import ArgumentTypeError, InvalidArgumentError
from pointkit.relays._relay import (
    DeliveryFailedError,
    DestinationUnavailableError,
    EventRejectedError,
    check_name,
    check_seconds,
    event_body,
)


if TYPE_CHECKING:
    from collections.abc import Coroutine, Mapping, Sequence

    from nats.aio.client import Client
    from nats.js import JetStreamContext
    from nats.js.api import PubAck

    from pointkit.ledger import OutboxEvent


__all__ = ["SUBJECT_LENGTH_MAX", "JetStreamTransport"]

SUBJECT_LENGTH_MAX: Final = 256
"""The longest subject prefix a transport accepts, in characters."""

_LOG = logging.getLogger("pointkit.relays.nats")

# JetStream's "expected stream does not match": the subject is bound to another stream.
_STREAM_NOT_MATCH: Final = 10060

_UNAVAILABLE: Final = (
    nats.errors.NoServersError,
    nats.errors.ConnectionClosedError,
    nats.errors.ConnectionReconnectingError,
    nats.errors.ConnectionDrainingError,
    nats.errors.StaleConnectionError,
    nats.errors.AuthorizationError,
    nats.errors.TimeoutError,
    nats.js.errors.NoStreamResponseError,
    nats.js.errors.ServiceUnavailableError,
    TimeoutError,
    OSError,
)


def _check_subject(name: str, value: str) -> str:
    tokens = value.split(".")
    if any(not token or token in {"*", ">"} or not token.isprintable() for token in tokens) or any(
        character.isspace() for character in value
    ):
        raise InvalidArgumentError(
            f"{name}={value!r} must be dot-separated tokens without spaces or wildcards "
            "(pointkit.events)"
        )
    return value


async def _log_error(error: Exception) -> None:
    _LOG.debug("nats: %s: %s", type(error).__name__, error)


@final
class JetStreamTransport:
    """Publishes each event to a JetStream subject and waits for the stream's acknowledgement.

    A stream must capture the subjects (``pointkit.events.>``); the host creates it, with the
    duplicate window it wants. The connection opens on the first delivery.

    >>> transport = JetStreamTransport("nats://127.0.0.1:4222", subject="pointkit.events")
    >>> transport
    JetStreamTransport(subject='pointkit.events', stream=None)
    >>> transport.subject_of("points.earned")
    'pointkit.events.points.earned'

    Args:
        servers: The server URL, or several.
        subject: The subjects' prefix; each event goes to ``{subject}.{event type}``.
        stream: The stream that must store the events: JetStream refuses a message that
            another stream would capture (``Nats-Expected-Stream``). None accepts any.
        timeout_seconds: How long to wait for a connection, and for each ``PubAck``.
        connect_options: More keyword arguments for ``nats.connect`` (credentials, TLS, ...).

    Raises:
        ArgumentTypeError: If an argument has the wrong type.
        InvalidArgumentError: If *subject* has spaces, wildcards or empty tokens.
    """

    __slots__ = (
        "_client",
        "_jetstream",
        "_lock",
        "_loop",
        "_options",
        "_servers",
        "_stream",
        "_subject",
        "_thread",
        "_timeout",
    )

    def __init__(
        self,
        servers: str | Sequence[str] = "nats://127.0.0.1:4222",
        *,
        subject: str,
        stream: str | None = None,
        timeout_seconds: float = 5.0,
        connect_options: Mapping[str, Any] | None = None,
    ) -> None:
        if isinstance(servers, str):
            servers = [servers]
        if not servers or not all(isinstance(server, str) for server in servers):
            raise ArgumentTypeError(f"servers={servers!r} must be a URL or a sequence of URLs")
        self._servers = list(servers)
        prefix = check_name(
            "subject",
            subject,
            maximum=SUBJECT_LENGTH_MAX,
            limit="pointkit.relays.nats.SUBJECT_LENGTH_MAX",
        )
        self._subject = _check_subject("subject", prefix)
        if stream is not None:
            stream = check_name(
                "stream",
                stream,
                maximum=SUBJECT_LENGTH_MAX,
                limit="pointkit.relays.nats.SUBJECT_LENGTH_MAX",
            )
        self._stream = stream
        self._timeout = check_seconds("timeout_seconds", timeout_seconds, minimum=0.001)
        self._options = dict(connect_options or {})
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._client: Client | None = None
        self._jetstream: JetStreamContext | None = None

    def subject_of(self, event_type: str) -> str:
        """The subject an event of *event_type* is published to."""
        return f"{self._subject}.{event_type}"

    def deliver(self, event: OutboxEvent) -> None:
        """Publish *event* and wait for JetStream's ``PubAck``.

        Raises:
            DestinationUnavailableError: If no server or no stream takes the message now.
            DeliveryFailedError: If JetStream refused the message.
            EventRejectedError: If the event's type is not a subject token, or the message is
                over the server's maximum payload.
        """
        try:
            subject = _check_subject("event.type", self.subject_of(event.type))
        except InvalidArgumentError as error:
            raise EventRejectedError(f"no NATS subject for the event: {error}") from error
        headers = {
            "Nats-Msg-Id": str(event.id),
            "Pointkit-Event-Type": event.type,
            "Pointkit-Event-Version": str(event.version),
        }
        where = f"NATS subject {subject!r}"
        try:
            ack = self._run(self._publish(subject, event_body(event), headers))
        except nats.errors.MaxPayloadError as error:
            raise EventRejectedError(f"{where}: over the server's maximum payload") from error
        except _UNAVAILABLE as error:
            self._run_quietly(self._disconnect())
            raise DestinationUnavailableError(
                f"{where}: {type(error).__name__}: {error}"
            ) from error
        except nats.js.errors.APIError as error:
            message = f"{where}: JetStream refused it: {error.description} ({error.err_code})"
            if error.err_code == _STREAM_NOT_MATCH:
                raise DestinationUnavailableError(message) from error
            raise DeliveryFailedError(message) from error
        except nats.errors.Error as error:
            raise DeliveryFailedError(f"{where}: {type(error).__name__}: {error}") from error
        if ack.duplicate:
            _LOG.info("nats: event %s was stored before; JetStream dropped the copy", event.id)

    def close(self) -> None:
        """Close the connection and stop the transport's event loop thread."""
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._disconnect(), loop).result(self._timeout)
        except (concurrent.futures.TimeoutError, nats.errors.Error, OSError):
            _LOG.debug("nats: the connection did not close cleanly")
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()

    def __enter__(self) -> JetStreamTransport:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    async def _publish(self, subject: str, body: bytes, headers: dict[str, str]) -> PubAck:
        if self._client is None or self._jetstream is None or self._client.is_closed:
            options: dict[str, Any] = {
                "allow_reconnect": False,
                "max_reconnect_attempts": 1,
                "reconnect_time_wait": 0,
                "connect_timeout": max(1, round(self._timeout)),
                "error_cb": _log_error,
                **self._options,
            }
            self._client = await nats.connect(self._servers, **options)
            self._jetstream = self._client.jetstream(timeout=self._timeout)
        return await self._jetstream.publish(
            subject, body, timeout=self._timeout, stream=self._stream, headers=headers
        )

    async def _disconnect(self) -> None:
        client, self._client, self._jetstream = self._client, None, None
        if client is not None and not client.is_closed:
            await client.close()

    def _started(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=loop.run_forever, name="pointkit-relay-nats", daemon=True
                )
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop

    def _run(self, work: Coroutine[Any, Any, PubAck]) -> PubAck:
        future = asyncio.run_coroutine_threadsafe(work, self._started())
        # Connecting and publishing each have their own timeout; this one only guards against
        # a loop that stopped answering.
        try:
            return future.result(timeout=2 * self._timeout + 5)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise

    def _run_quietly(self, work: Coroutine[Any, Any, None]) -> None:
        future = asyncio.run_coroutine_threadsafe(work, self._started())
        try:
            future.result(timeout=self._timeout)
        except (concurrent.futures.TimeoutError, nats.errors.Error, OSError):
            _LOG.debug("nats: the failed connection did not close cleanly")

    def __repr__(self) -> str:
        return f"JetStreamTransport(subject={self._subject!r}, stream={self._stream!r})"

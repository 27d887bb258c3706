"""Relay outbox events to an HTTPS endpoint as signed webhooks, and verify them on receipt.

Each event is one ``POST`` of the JSON body of :func:`pointkit.relays.event_body`, with these
headers:

* ``Pointkit-Event-Id``: the event id, the same on every delivery: deduplicate on it;
* ``Pointkit-Event-Type``: the event type (``points.earned``);
* ``Pointkit-Timestamp``: when this delivery was signed, in Unix seconds;
* ``Pointkit-Signature``: ``v1=`` and the hex HMAC-SHA256, keyed with the endpoint's secret, of
  the timestamp, a dot and the body: ``f"{timestamp}.".encode() + body``.

A receiver verifies with :func:`verify_signature` (or the same few lines in any language): take
the raw body as received, before any JSON parsing; recompute the HMAC over the timestamp header,
a dot and that body; compare it in constant time with each ``v1=`` value of the signature header
(there may be several, comma-separated); and refuse a timestamp further from its own clock than
a tolerance (five minutes), so that a captured request cannot be replayed later. Signing the
timestamp with the body is what makes the tolerance hold: a replayed body with a new timestamp
does not verify.

Answers: a ``2xx`` is delivered. ``408`` and ``429`` (honouring ``Retry-After``), other
statuses, redirects (never followed: the relay does not send signed events where it was not
told to), timeouts and connection failures fail the event: it is retried with backoff and parked
as a dead letter after ``RelayPolicy.attempts`` tries. Any other ``4xx`` means the receiver
refuses this event for good: it is parked at once.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import http.client
import importlib.metadata
import urllib.parse
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, ClassVar, Final, NoReturn, final

from pointkit._validate import check_aware, check_int
from pointkit.exceptions import ArgumentTypeError, InvalidArgumentError, PointkitError
from pointkit.relays._relay import (
    DeliveryFailedError,
    EventRejectedError,
    check_seconds,
    event_body,
)


if TYPE_CHECKING:
    import ssl
    from collections.abc import Mapping

    from pointkit.clock import Clock
    from pointkit.ledger import OutboxEvent


__all__ = [
    "EVENT_ID_HEADER",
    "EVENT_TYPE_HEADER",
    "SECRET_LENGTH_MIN",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "TOLERANCE_SECONDS_MAX",
    "WebhookSignatureError",
    "WebhookTransport",
    "sign",
    "verify_signature",
]

EVENT_ID_HEADER: Final = "Pointkit-Event-Id"
"""The header with the event's id, to deduplicate on."""

EVENT_TYPE_HEADER: Final = "Pointkit-Event-Type"
"""The header with the event's type."""

TIMESTAMP_HEADER: Final = "Pointkit-Timestamp"
"""The header with the Unix time (seconds) the delivery was signed at."""

SIGNATURE_HEADER: Final = "Pointkit-Signature"
"""The header with the signatures: ``v1=<hex HMAC-SHA256>``, comma-separated if several."""

SECRET_LENGTH_MIN: Final = 16
"""The shortest signing secret accepted, in bytes: shorter ones can be guessed."""

TOLERANCE_SECONDS_MAX: Final = 24 * 3600
"""The widest tolerance :func:`verify_signature` accepts between a timestamp and its clock."""

_RESPONSE_READ_MAX: Final = 4_096
_REASON_BODY_MAX: Final = 200
_TIMESTAMP_DIGITS_MAX: Final = 12
_OK = range(200, 300)
_RETRY_STATUSES: Final = frozenset({408, 429})


class WebhookSignatureError(PointkitError, ValueError):
    """A webhook's signature did not verify: a missing header, a stale timestamp, no match."""

    code: ClassVar[str] = "webhook_signature"


def _secret(secret: object) -> bytes:
    if isinstance(secret, str):
        secret = secret.encode("utf-8")
    if not isinstance(secret, bytes):
        raise ArgumentTypeError(f"secret must be bytes or str, not {type(secret).__name__}")
    if len(secret) < SECRET_LENGTH_MIN:
        raise InvalidArgumentError(
            f"secret is {len(secret)} bytes long, under SECRET_LENGTH_MIN ({SECRET_LENGTH_MIN}); "
            "use secrets.token_bytes(32)"
        )
    return secret


def sign(secret: bytes | str, timestamp: int, body: bytes) -> str:
    """The signature of *body* sent at *timestamp*: ``v1=`` and the hex HMAC-SHA256.

    >>> sign(b"0123456789abcdef", 1767225600, b'{"id":"..."}')
    'v1=6ad74b3bde5b531f9b65067f6c093c3864b779b8b049fc71c9d82f4237c62e34'

    Args:
        secret: The endpoint's secret (a str is taken as UTF-8).
        timestamp: Unix seconds.
        body: The request body, byte for byte.

    Raises:
        ArgumentTypeError: If *secret* is neither bytes nor str, or *body* not bytes.
        InvalidArgumentError: If *secret* is shorter than :data:`SECRET_LENGTH_MIN` bytes.
    """
    key = _secret(secret)
    if not isinstance(body, bytes):
        raise ArgumentTypeError(f"body must be bytes, not {type(body).__name__}")
    when = check_int("timestamp", timestamp, minimum=0, maximum=10**_TIMESTAMP_DIGITS_MAX - 1)
    digest = hmac.new(key, f"{when}.".encode() + body, hashlib.sha256).hexdigest()
    return f"v1={digest}"


def _header(headers: Mapping[str, str], name: str) -> str:
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    raise WebhookSignatureError(f"the {name} header is missing")


def verify_signature(
    secret: bytes | str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: datetime,
    tolerance_seconds: int = 300,
) -> None:
    """Check that a webhook came from pointkit with this *secret*, recently, and unchanged.

    >>> from datetime import UTC, datetime
    >>> secret = b"0123456789abcdef"
    >>> body = b'{"id":"..."}'
    >>> headers = {"Pointkit-Timestamp": "1767225600", "Pointkit-Signature": sign(secret, 1767225600, body)}
    >>> verify_signature(secret, headers, body, now=datetime(2026, 1, 1, 0, 1, tzinfo=UTC))
    >>> verify_signature(secret, headers, body + b" ", now=datetime(2026, 1, 1, 0, 1, tzinfo=UTC))
    Traceback (most recent call last):
    ...
    pointkit.relays.webhook.WebhookSignatureError: no v1 signature in Pointkit-Signature matches the body

    Args:
        secret: The endpoint's secret. During a rotation, try the new one, then the old one.
        headers: The request's headers (any case).
        body: The raw request body, as received, before parsing it.
        now: The receiver's current time (aware).
        tolerance_seconds: How far the timestamp may be from *now*, either way, up to
            :data:`TOLERANCE_SECONDS_MAX`.

    Raises:
        WebhookSignatureError: If a header is missing or malformed, the timestamp is outside the
            tolerance, or no signature matches.
        InvalidArgumentError: If *secret*, *now* or *tolerance_seconds* is invalid.
    """
    key = _secret(secret)
    moment = check_aware("now", now)
    tolerance = check_int(
        "tolerance_seconds", tolerance_seconds, minimum=0, maximum=TOLERANCE_SECONDS_MAX
    )
    if not isinstance(body, bytes):
        raise ArgumentTypeError(f"body must be bytes, not {type(body).__name__}")
    stamp = _header(headers, TIMESTAMP_HEADER).strip()
    if not stamp.isdigit() or not stamp.isascii() or len(stamp) > _TIMESTAMP_DIGITS_MAX:
        raise WebhookSignatureError(f"{TIMESTAMP_HEADER}={stamp!r} is not Unix seconds")
    age = moment.timestamp() - int(stamp)
    if abs(age) > tolerance:
        raise WebhookSignatureError(
            f"{TIMESTAMP_HEADER}={stamp} is {abs(age):.0f} s from now, over the tolerance "
            f"({tolerance} s)"
        )
    expected = sign(key, int(stamp), body)
    offered = [part.strip() for part in _header(headers, SIGNATURE_HEADER).split(",")]
    if not any(hmac.compare_digest(expected, part) for part in offered if part.startswith("v1=")):
        raise WebhookSignatureError(f"no v1 signature in {SIGNATURE_HEADER} matches the body")


@functools.cache
def _version() -> str:
    try:
        return importlib.metadata.version("pointkit")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - run from a checkout
        return "0"


@final
class WebhookTransport:
    """POSTs each event, signed, to one HTTPS endpoint.

    >>> from pointkit import SystemClock
    >>> WebhookTransport("https://crm.example.com/hooks/points", secret=b"0123456789abcdef", clock=SystemClock())
    WebhookTransport(url='https://crm.example.com/hooks/points')

    Args:
        url: The endpoint; ``https://`` unless *allow_http*.
        secret: The endpoint's signing secret (at least :data:`SECRET_LENGTH_MIN` bytes; a
            str is taken as UTF-8). Share it with the receiver only.
        clock: The clock that stamps each delivery's signature.
        timeout_seconds: How long to wait for the endpoint to connect and to answer.
        allow_http: Allow a plain ``http://`` URL (a receiver on the same host, tests).
        headers: More headers for every request (an API key of the receiver's, say).
        ssl_context: The TLS settings, for a private certificate authority or a client
            certificate; the system's defaults (certificates verified) when None.

    Raises:
        InvalidArgumentError: If *url* is not an absolute https (or allowed http) URL, or the
            secret is too short.
    """

    __slots__ = ("_clock", "_context", "_headers", "_parts", "_secret", "_timeout", "_url")

    def __init__(
        self,
        url: str,
        *,
        secret: bytes | str,
        clock: Clock,
        timeout_seconds: float = 10.0,
        allow_http: bool = False,
        headers: Mapping[str, str] | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if not isinstance(url, str):
            raise ArgumentTypeError(f"url={url!r} must be a str")
        parts = urllib.parse.urlsplit(url)
        schemes = ("https", "http") if allow_http else ("https",)
        if parts.scheme not in schemes or not parts.hostname:
            raise InvalidArgumentError(
                f"url={url!r} must be an absolute {' or '.join(schemes)} URL"
                + ("" if allow_http else " (allow_http=True for plain http)")
            )
        self._url = url
        self._secret = _secret(secret)
        self._clock = clock
        self._timeout = check_seconds("timeout_seconds", timeout_seconds, minimum=0.001)
        self._headers = dict(headers or {})
        self._parts = parts
        self._context = ssl_context

    def deliver(self, event: OutboxEvent) -> None:
        """POST *event*, signed; return once the endpoint answered ``2xx``.

        Raises:
            DeliveryFailedError: On a timeout, a failed connection, a redirect, ``408``,
                ``429``, a ``5xx`` or another non-``2xx``, non-``4xx`` answer.
            EventRejectedError: On any other ``4xx``.
        """
        body = event_body(event)
        now = check_aware("clock.now()", self._clock.now())
        timestamp = int(now.timestamp())
        headers = {
            **self._headers,
            "Content-Type": "application/json",
            "User-Agent": f"pointkit-relay/{_version()}",
            EVENT_ID_HEADER: str(event.id),
            EVENT_TYPE_HEADER: event.type,
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: sign(self._secret, timestamp, body),
        }
        where = f"POST {self._url}"
        # http.client, not urllib: it follows no redirect, reads no proxy from the environment
        # and sends the header names as written.
        connection = (
            http.client.HTTPSConnection(
                self._parts.netloc, timeout=self._timeout, context=self._context
            )
            if self._parts.scheme == "https"
            else http.client.HTTPConnection(self._parts.netloc, timeout=self._timeout)
        )
        target = urllib.parse.urlunsplit(("", "", self._parts.path or "/", self._parts.query, ""))
        try:
            connection.request("POST", target, body=body, headers=headers)
            response = connection.getresponse()
            answer = response.read(_RESPONSE_READ_MAX)
            status = response.status
            retry_after = response.getheader("Retry-After")
        except (http.client.HTTPException, OSError) as error:
            raise DeliveryFailedError(f"{where}: {type(error).__name__}: {error}") from error
        finally:
            connection.close()
        if status not in _OK:
            _refused(where, status, _snippet(answer), _retry_after(retry_after, now))

    def __repr__(self) -> str:
        return f"WebhookTransport(url={self._url!r})"


def _refused(where: str, status: int, answer: str, retry_after: float | None) -> NoReturn:
    message = f"{where}: HTTP {status}" + (f": {answer}" if answer else "")
    if 400 <= status < 500 and status not in _RETRY_STATUSES:  # noqa: PLR2004 - the 4xx range
        raise EventRejectedError(message)
    raise DeliveryFailedError(message, retry_after_seconds=retry_after)


def _snippet(data: bytes) -> str:
    text = " ".join(data.decode("utf-8", errors="replace").split())
    return text if len(text) <= _REASON_BODY_MAX else text[: _REASON_BODY_MAX - 1] + "…"


def _retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delay-seconds or an HTTP date."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit() and value.isascii():
        return float(value[:_TIMESTAMP_DIGITS_MAX])
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())

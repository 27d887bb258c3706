"""Relay outbox events to a Redis stream (``XADD``), each event id at most once per window.

Install with ``pip install 'pointkit[redis]'`` (redis-py). Each event becomes one stream entry
with the fields ``id`` (the event id), ``type`` (the event type) and ``event`` (the JSON body of
:func:`pointkit.relays.event_body`).

Maintainer's notes
------------------
The relay delivers at least once, so an event can reach :meth:`RedisStreamTransport.deliver`
twice (a relay killed before it acknowledged). Redis streams have no deduplication of their own,
so one Lua script makes the append idempotent: it looks up the key ``{stream}:pointkit-dedupe:{id}``
and, if the event was appended already, returns that entry; otherwise it appends the entry and
then sets the key, with a time to live. A script runs atomically, and a write that failed (a
``WRONGTYPE`` stream, say) leaves no key behind, because the key is set only after the append:
a redelivery within the window adds nothing, and a failed append is tried again. Past the window
(``dedupe_seconds``) a redelivery appends again, and readers still deduplicate on ``id``.

The dedupe key begins with the stream's name, so on a Redis Cluster a hash tag in the stream's
name (``"{pointkit}.events"``) puts both keys in one slot.

Failures: every failure makes the destination unavailable, and the relay waits and tries the
same event again; Redis never parks an event. A lost connection, a timeout, a server loading or
read-only, out of memory, a key of another type, keys in two slots, a stream at its last possible
id: none of them depends on the event, so the next event would fail the same way, and parking
them would empty the outbox into dead letters until Redis is fixed. redis-py retries a failed
connection itself (its ``retry=`` setting) before the relay sees the error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, final

from redis import exceptions as redis_errors

from pointkit._validate import check_int
from pointkit.relays._relay import DestinationUnavailableError, check_name, event_body


if TYPE_CHECKING:
    import redis

    from pointkit.ledger import OutboxEvent


__all__ = ["DEDUPE_SECONDS_MAX", "STREAM_NAME_LENGTH_MAX", "RedisStreamTransport"]

DEDUPE_SECONDS_MAX: Final = 90 * 24 * 3600
"""The longest a Redis stream remembers an event id to skip a redelivery: 90 days."""

STREAM_NAME_LENGTH_MAX: Final = 256
"""The longest Redis stream name a transport accepts, in characters."""

# KEYS: the stream, the event's dedupe key.
# ARGV: the dedupe key's time to live in seconds ("0": no deduplication), MAXLEN ("": none),
# "~" or "=" for an approximate or exact trim, then the entry's field/value pairs.
# Returns {1, entry id} for a new entry, {0, entry id} for an event appended before.
_APPEND: Final = """
local ttl = tonumber(ARGV[1])
if ttl > 0 then
  local seen = redis.call('GET', KEYS[2])
  if seen then
    return {0, seen}
  end
end
local command = {'XADD', KEYS[1]}
if ARGV[2] ~= '' then
  table.insert(command, 'MAXLEN')
  table.insert(command, ARGV[3])
  table.insert(command, ARGV[2])
end
table.insert(command, '*')
for i = 4, #ARGV do
  table.insert(command, ARGV[i])
end
local entry = redis.call(unpack(command))
if ttl > 0 then
  redis.call('SET', KEYS[2], entry, 'EX', ttl)
end
return {1, entry}
"""


@final
class RedisStreamTransport:
    """Appends each event to a Redis stream: one entry per event id within the window.

    >>> import redis
    >>> transport = RedisStreamTransport(redis.Redis(), stream="pointkit.events", maxlen=100_000)
    >>> transport
    RedisStreamTransport(stream='pointkit.events', maxlen=100000, dedupe_seconds=86400)

    Args:
        client: A redis-py client (``redis.Redis.from_url(...)``); the host owns and closes it.
        stream: The stream's key.
        maxlen: Trim the stream to about this many entries on each append (``MAXLEN ~``), or
            keep every entry when None.
        exact_maxlen: Trim to exactly *maxlen* (``MAXLEN =``), which costs Redis more.
        dedupe_seconds: How long the stream remembers an event id to skip a redelivery, up to
            :data:`DEDUPE_SECONDS_MAX`; 0 turns the deduplication off.

    Raises:
        ArgumentTypeError: If a count is not an int.
        InvalidArgumentError: If *stream* is blank or a count is out of range.
    """

    __slots__ = ("_append", "_client", "_dedupe_seconds", "_exact", "_maxlen", "_stream")

    def __init__(
        self,
        client: redis.Redis,
        *,
        stream: str,
        maxlen: int | None = None,
        exact_maxlen: bool = False,
        dedupe_seconds: int = 24 * 3600,
    ) -> None:
        self._client = client
        self._stream = check_name(
            "stream",
            stream,
            maximum=STREAM_NAME_LENGTH_MAX,
            limit="pointkit.relays.redis.STREAM_NAME_LENGTH_MAX",
        )
        self._maxlen = (
            None if maxlen is None else check_int("maxlen", maxlen, minimum=1, maximum=2**63 - 1)
        )
        self._exact = bool(exact_maxlen)
        self._dedupe_seconds = check_int(
            "dedupe_seconds", dedupe_seconds, minimum=0, maximum=DEDUPE_SECONDS_MAX
        )
        self._append = client.register_script(_APPEND)

    @property
    def stream(self) -> str:
        """The stream's key."""
        return self._stream

    def dedupe_key(self, event: OutboxEvent) -> str:
        """The key that remembers that *event* was appended (while ``dedupe_seconds`` last)."""
        return f"{self._stream}:pointkit-dedupe:{event.id}"

    def deliver(self, event: OutboxEvent) -> None:
        """Append *event* to the stream, unless it was appended within the window.

        Raises:
            DestinationUnavailableError: If Redis failed or refused the append.
        """
        arguments: list[str | bytes | int] = [
            self._dedupe_seconds,
            "" if self._maxlen is None else self._maxlen,
            "=" if self._exact else "~",
            "id",
            str(event.id),
            "type",
            event.type,
            "event",
            event_body(event),
        ]
        try:
            self._append(keys=[self._stream, self.dedupe_key(event)], args=arguments)
        except redis_errors.RedisError as error:
            raise DestinationUnavailableError(
                f"Redis stream {self._stream!r}: {type(error).__name__}: {error}"
            ) from error

    def __repr__(self) -> str:
        return (
            f"RedisStreamTransport(stream={self._stream!r}, maxlen={self._maxlen!r}, "
            f"dedupe_seconds={self._dedupe_seconds!r})"
        )

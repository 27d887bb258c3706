"""Relay outbox events to a RabbitMQ exchange, each confirmed by the broker before it counts.

Install with ``pip install 'pointkit[rabbitmq]'`` (pika). Each event is one persistent message
(``delivery_mode`` 2) with the JSON body of :func:`pointkit.relays.event_body`, published with
the channel in publisher-confirm mode: :meth:`RabbitMQTransport.deliver` returns only once the
broker has confirmed the message, so an acknowledged outbox position never runs ahead of what
RabbitMQ holds. The message's properties carry the event:

* ``message_id``: the event id, to deduplicate on (RabbitMQ does not deduplicate by itself);
* ``type``: the event type (``points.earned``), also the routing key unless one is given;
* ``timestamp``: when it happened, in Unix seconds; ``content_type``: ``application/json``;
* ``app_id``: ``pointkit``; headers ``pointkit-version`` and ``pointkit-program``.

Maintainer's notes
------------------
Declaring exchanges, queues and bindings is the host's (its infrastructure code or RabbitMQ's
definitions), not the relay's: a relay that declared them would have to agree with every other
declaration of the same names.

Failures: a connection that cannot be opened or is lost, a connection blocked by the broker's
resource alarms past ``blocked_connection_timeout``, an exchange that does not exist or may not
be published to (the channel closed with 404 or 403), and a message the broker nacks (a queue
full with ``x-overflow: reject-publish``) make the destination unavailable: the relay waits and
tries again, since the next event would fail the same way, and the transport opens a new
connection or channel on the next try. A message returned as unroutable (published with
``mandatory``, no queue bound for its routing key, which is the event's type by default) and
any other channel error fail the event, which is retried and then parked: without
``mandatory`` an unroutable message would be dropped by RabbitMQ and counted delivered.

A :class:`pika.BlockingConnection` answers heartbeats only while it is called, so the transport
lets it catch up before each publish; a connection lost during a long idle time (the broker
restarted, or closed it for missed heartbeats) is found there and replaced before the publish.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, Final, final

import pika
from pika import exceptions as amqp_errors

from pointkit.exceptions import ArgumentTypeError
from pointkit.relays._relay import (
    DeliveryFailedError,
    DestinationUnavailableError,
    event_body,
)


if TYPE_CHECKING:
    from pointkit.ledger import OutboxEvent


__all__ = ["RabbitMQTransport"]

# Channel closes that no message gets past: the exchange is missing, or may not be published to.
_UNAVAILABLE_CODES: Final = frozenset({403, 404})


@final
class RabbitMQTransport:
    """Publishes each event to a RabbitMQ exchange as a persistent, confirmed message.

    The connection opens on the first delivery, so a transport can be made while the broker is
    down.

    >>> transport = RabbitMQTransport("amqp://guest:guest@127.0.0.1:5672/%2F", exchange="pointkit")
    >>> transport
    RabbitMQTransport(exchange='pointkit', routing_key=None, mandatory=True)

    Args:
        parameters: Where RabbitMQ is: an AMQP URL (``amqp://user:password@host:5672/%2F``,
            ``?heartbeat=30&blocked_connection_timeout=60`` and the like as its query) or a
            ``pika.ConnectionParameters``. Set a ``blocked_connection_timeout``: without one a
            publish waits as long as the broker's resource alarm lasts.
        exchange: The exchange to publish to; ``""`` is the default exchange, which routes by
            queue name.
        routing_key: Every message's routing key, or None for the event's type (``points.earned``),
            which a topic exchange can route on (``points.*``).
        mandatory: Have the broker return a message no queue takes, which then fails (and is
            retried, then parked) instead of being dropped.

    Raises:
        ArgumentTypeError: If *exchange* or *routing_key* is not a str, or *parameters* neither
            a str nor connection parameters.
    """

    __slots__ = (
        "_channel",
        "_connection",
        "_exchange",
        "_mandatory",
        "_parameters",
        "_routing_key",
    )

    def __init__(
        self,
        parameters: str | pika.connection.Parameters,
        *,
        exchange: str,
        routing_key: str | None = None,
        mandatory: bool = True,
    ) -> None:
        if isinstance(parameters, str):
            parameters = pika.URLParameters(parameters)
        elif not isinstance(parameters, pika.connection.Parameters):
            raise ArgumentTypeError(
                f"parameters={parameters!r} must be an AMQP URL (str) or pika connection "
                f"parameters, not {type(parameters).__name__}"
            )
        if not isinstance(exchange, str):
            raise ArgumentTypeError(f"exchange={exchange!r} must be a str")
        if routing_key is not None and not isinstance(routing_key, str):
            raise ArgumentTypeError(f"routing_key={routing_key!r} must be a str or None")
        self._parameters: Any = parameters
        self._exchange = exchange
        self._routing_key = routing_key
        self._mandatory = bool(mandatory)
        self._connection: Any = None
        self._channel: Any = None

    def deliver(self, event: OutboxEvent) -> None:
        """Publish *event* and wait for the broker's confirmation.

        Raises:
            DestinationUnavailableError: If RabbitMQ cannot be reached, the exchange is missing
                or refused, or the broker nacked the message.
            DeliveryFailedError: If the broker returned the message as unroutable, or the
                channel failed otherwise.
        """
        routing_key = event.type if self._routing_key is None else self._routing_key
        properties = pika.BasicProperties(
            content_type="application/json",
            delivery_mode=pika.DeliveryMode.Persistent,
            message_id=str(event.id),
            type=event.type,
            timestamp=int(event.occurred_at.timestamp()),
            app_id="pointkit",
            headers={"pointkit-version": event.version, "pointkit-program": event.program},
        )
        where = f"RabbitMQ exchange {self._exchange!r}, routing key {routing_key!r}"
        try:
            channel = self._open()
            channel.basic_publish(
                exchange=self._exchange,
                routing_key=routing_key,
                body=event_body(event),
                properties=properties,
                mandatory=self._mandatory,
            )
        except amqp_errors.UnroutableError as error:
            raise DeliveryFailedError(
                f"{where}: returned unroutable (no queue is bound for it)"
            ) from error
        except amqp_errors.NackError as error:
            raise DestinationUnavailableError(
                f"{where}: the broker nacked the message (a queue is full?)"
            ) from error
        except amqp_errors.ChannelClosedByBroker as error:
            self._channel = None
            message = (
                f"{where}: channel closed by the broker: {error.reply_code} {error.reply_text}"
            )
            if error.reply_code in _UNAVAILABLE_CODES:
                raise DestinationUnavailableError(message) from error
            raise DeliveryFailedError(message) from error
        except (amqp_errors.AMQPConnectionError, amqp_errors.AMQPChannelError, OSError) as error:
            self._drop()
            raise DestinationUnavailableError(
                f"{where}: {type(error).__name__}: {error}"
            ) from error

    def close(self) -> None:
        """Close the connection, if one is open; the next delivery opens another."""
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None and connection.is_open:
            connection.close()

    def __enter__(self) -> RabbitMQTransport:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _open(self) -> Any:  # noqa: ANN401 - pika ships no types
        """The channel to publish on, opening a connection or channel when there is none."""
        if self._connection is not None and self._connection.is_open:
            # Answer heartbeats and see a connection lost while the relay was idle (a broker
            # restart, missed heartbeats): then open a new one at once, without a failed try.
            try:
                self._connection.process_data_events(time_limit=0)
            except (amqp_errors.AMQPConnectionError, OSError):
                self._drop()
        if self._connection is None or not self._connection.is_open:
            self._channel = None
            self._connection = pika.BlockingConnection(self._parameters)
        if self._channel is None or not self._channel.is_open:
            channel = self._connection.channel()
            channel.confirm_delivery()
            self._channel = channel
        return self._channel

    def _drop(self) -> None:
        """Forget a failed connection, closing it if it still seems open."""
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None and connection.is_open:
            # Already broken: there is nothing more to do with it.
            with contextlib.suppress(amqp_errors.AMQPError, OSError):
                connection.close()

    def __repr__(self) -> str:
        return (
            f"RabbitMQTransport(exchange={self._exchange!r}, routing_key={self._routing_key!r}, "
            f"mandatory={self._mandatory!r})"
        )

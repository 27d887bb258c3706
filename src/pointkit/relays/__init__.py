"""Relays: deliver the ledger's transactional outbox to brokers and webhooks.

A :class:`Relay` reads a consumer's events from a :class:`pointkit.ledger.Outbox`, hands each to
a :class:`Transport`, and acknowledges the batch once it is delivered: at least once, in order,
each event with its stable id for the receiver to deduplicate on. The transports are modules of
their own, each needing its client library only when imported:

* :mod:`pointkit.relays.redis`: Redis Streams (extra ``redis``);
* :mod:`pointkit.relays.rabbitmq`: RabbitMQ with publisher confirms (extra ``rabbitmq``);
* :mod:`pointkit.relays.nats`: NATS JetStream, deduplicated by ``Nats-Msg-Id`` (extra ``nats``);
* :mod:`pointkit.relays.webhook`: signed HTTPS webhooks (the standard library only).

Relays are the top layer, like the integrations: they use the ledger, and nothing in pointkit
imports them. See docs/relays.md.
"""

from pointkit.relays._relay import (
    ATTEMPTS_MAX,
    BACKOFF_SECONDS_MAX,
    DeliveryError,
    DeliveryFailedError,
    DestinationUnavailableError,
    EventRejectedError,
    OutboxSource,
    Relay,
    RelayPolicy,
    RelayRun,
    Transport,
    event_body,
)


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

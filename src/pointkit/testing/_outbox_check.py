"""The conformance check of the outbox part: the events match the journal, one to one.

After every step of the stateful suite, on a storage with the outbox part: every transaction
in the journal has exactly one event, the one :func:`pointkit.ledger.transaction_event` makes
of it, and no ``points.*`` or ``hold.*`` event reports a transaction the journal does not have.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from pointkit.ledger._outbox import EVENT_TYPES, outbox_writer, transaction_event


if TYPE_CHECKING:
    from pointkit.ledger import OutboxEvent, OutboxReadUnit, ReadUnit


__all__ = ["outbox_problems"]


def _shape(event: Any) -> tuple[object, ...]:  # noqa: ANN401 - a stored or a new event
    return (event.id, event.type, event.version, event.occurred_at, dict(event.data))


def outbox_problems(unit: ReadUnit) -> list[str]:
    """What is wrong with *unit*'s outbox against its journal (nothing without an outbox)."""
    if outbox_writer(unit) is None:
        return []
    problems: list[str] = []
    by_transaction: dict[str, OutboxEvent] = {}
    for event in cast("OutboxReadUnit", unit).all_events():
        if event.type not in EVENT_TYPES:
            problems.append(f"event {event.id} has an unknown type {event.type!r}")
        elif EVENT_TYPES[event.type][1] == "PointsEvent":
            reported = str(event.data.get("transaction"))
            if reported in by_transaction:
                problems.append(f"transaction {reported} has more than one event")
            by_transaction[reported] = event
    for transaction in unit.all_transactions():
        found = by_transaction.pop(str(transaction.id), None)
        if found is None:
            problems.append(f"transaction {transaction.id} ({transaction.key!r}) has no event")
        elif _shape(found) != _shape(expected := transaction_event(transaction)):
            problems.append(
                f"the event of transaction {transaction.id} is {_shape(found)}, "
                f"expected {_shape(expected)}"
            )
    problems += [
        f"an event reports an unknown transaction {name}" for name in sorted(by_transaction)
    ]
    return problems

"""The transactional outbox: domain events written in the unit of work that made the change.

Every transaction the ledger writes is also written as an event (``points.earned``,
``hold.captured``, ...) in the same unit of work, so an event exists exactly when its change
committed; features add theirs (``tier.changed``, ``redemption.fulfilled``, ``draw.won``, ...)
the same way, and the reminder job adds ``points.expiring``. Consumers read the events in order
from a position they acknowledge (:class:`Outbox`): delivery is at least once, and every event
has a stable id to deduplicate on.

The outbox is a storage part of its own: an adapter without it runs the ledger as before and
writes no events. Its methods, on the unit of work:

* ``append_events(events)`` — store new events; an id already stored is skipped (a reminder
  sent once is never sent twice);
* ``events_after(position, limit)`` — events after *position* (``""``: the start), in the order
  consumers must see them, each with its own position; a position is the adapter's, opaque to
  everyone else. An adapter returns only events no later-committing unit can precede;
* ``all_events()`` — every committed event, without that wait (for audits);
* ``outbox_position(consumer)``, ``set_outbox_position(consumer, position)`` (never backwards);
* ``add_dead_letter(consumer, event, reason, at)``, ``dead_letters(consumer)``.

Maintainer's notes
------------------
On PostgreSQL, sequence numbers are handed out at insert, not at commit, so a reader that went
by them alone could pass a row whose unit commits later. Each row keeps the id of the
transaction that wrote it (``xid8``), and readers take rows only below the oldest transaction
still running (``pg_snapshot_xmin``), in transaction-id order: nothing can commit below that.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, Protocol, final, runtime_checkable

import attrs

from pointkit import limits
from pointkit._validate import check_int, check_text, type_name
from pointkit._values import ProgramId
from pointkit.clock import SystemClock
from pointkit.exceptions import ArgumentTypeError, InvalidArgumentError
from pointkit.ledger._records import TransactionKind


if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from pointkit.clock import Clock
    from pointkit.ledger._ledger import Ledger
    from pointkit.ledger._records import Transaction
    from pointkit.ledger._storage import Plan, Storage, WriteUnit


__all__ = [
    "EVENT_TYPES",
    "NewEvent",
    "Outbox",
    "OutboxBatch",
    "OutboxEvent",
    "OutboxReadUnit",
    "OutboxWriteUnit",
    "PointsEvent",
    "PointsExpiring",
    "WalletEffect",
    "apply_plans",
    "emit_event",
    "event_id",
    "outbox_writer",
    "remind_expiring",
    "sequence_position",
    "transaction_event",
]

_NAMESPACE: Final = uuid.UUID("6f1d5a6e-3c1b-5d0a-9a57-70b1b6f0c0de")
_NAMESPACE_BYTES: Final = _NAMESPACE.bytes
# The bits uuid.uuid5 sets: the RFC 4122 variant and version 5.
_VARIANT_CLEAR: Final = ~(0xC000 << 48)
_VARIANT: Final = 0x8000 << 48
_VERSION_CLEAR: Final = ~(0xF000 << 64)
_VERSION_5: Final = 5 << 76
# What json.dumps(text, ensure_ascii=False) writes a str with.
_text: Final = json.encoder.encode_basestring

_TRANSACTION_TYPES: Final[dict[TransactionKind, str]] = {
    TransactionKind.EARN: "points.earned",
    TransactionKind.REDEEM: "points.redeemed",
    TransactionKind.EXPIRY: "points.expired",
    TransactionKind.REVERSAL: "points.reversed",
    TransactionKind.ADJUSTMENT: "points.adjusted",
    TransactionKind.TRANSFER: "points.transferred",
    TransactionKind.CONVERSION: "points.converted",
    TransactionKind.DRAW: "points.drawn",
    TransactionKind.RESERVE: "hold.created",
    TransactionKind.CAPTURE: "hold.captured",
    TransactionKind.RELEASE: "hold.released",
    TransactionKind.HOLD_TIMEOUT: "hold.timed_out",
}

EVENT_TYPES: Final[dict[str, tuple[int, str]]] = {
    **dict.fromkeys(_TRANSACTION_TYPES.values(), (1, "PointsEvent")),
    "tier.changed": (1, "TierChanged"),
    "redemption.reserved": (1, "RedemptionChanged"),
    "redemption.fulfilled": (1, "RedemptionChanged"),
    "redemption.cancelled": (1, "RedemptionChanged"),
    "redemption.refunded": (1, "RedemptionChanged"),
    "draw.won": (1, "DrawWon"),
    "conversion.done": (1, "ConversionDone"),
    "points.expiring": (1, "PointsExpiring"),
    "coupon.issued": (1, "CouponIssued"),
    "coupon.used": (1, "CouponUseChanged"),
    "coupon.returned": (1, "CouponUseChanged"),
    "coupon.revoked": (1, "CouponRevoked"),
    "referral.attributed": (1, "ReferralChanged"),
    "referral.settled": (1, "ReferralChanged"),
    "mission.completed": (1, "MissionCompleted"),
    "badge.earned": (1, "BadgeEarned"),
    "group_buy.opened": (1, "GroupBuyChanged"),
    "group_buy.completed": (1, "GroupBuyChanged"),
    "group_buy.ended": (1, "GroupBuyChanged"),
    "member.frozen": (1, "MemberFreezeChanged"),
    "member.unfrozen": (1, "MemberFreezeChanged"),
    "event.held": (1, "ReviewChanged"),
    "event.reviewed": (1, "ReviewChanged"),
}
"""Every event type: ``(version of its data, the record type of its data)``.

The data of a type changes only by adding optional fields; anything else is a new version.
``pointkit.jsonable.schema`` of the record type is the data's JSON Schema.
"""


def event_id(kind: str, source: str) -> uuid.UUID:
    """The stable id of the *kind* event of *source* (a transaction id, a record's key, ...).

    It is ``uuid.uuid5`` of pointkit's namespace and ``"kind:source"``, worked out without
    its per-call set-up: every transaction written has an event.
    """
    digest = hashlib.sha1(_NAMESPACE_BYTES + f"{kind}:{source}".encode()).digest()  # noqa: S324 - uuid5's hash, not for security
    value = int.from_bytes(digest[:16], "big")
    return uuid.UUID(int=(value & _VARIANT_CLEAR | _VARIANT) & _VERSION_CLEAR | _VERSION_5)


@final
@attrs.frozen
class WalletEffect:
    """What a transaction did to one wallet.

    Attributes:
        member: The member.
        change: Points posted to the wallet (negative: taken).
        balance: The wallet's posted points afterwards.
        held: Points held in the wallet afterwards.
    """

    member: str
    change: int
    balance: int
    held: int


@final
@attrs.frozen
class PointsEvent:
    """The data of a ``points.*`` or ``hold.*`` event: one ledger transaction.

    Attributes:
        transaction: The transaction's id.
        key: Its idempotency key.
        kind: The transaction's kind (``earn``, ``capture``, ...).
        currency: The point currency.
        amount: The points the command asked for.
        wallets: What it did to each wallet it touched.
        reason: Its reason, if any.
        hold: The hold it created or resolved, if any.
        reverses: The transaction it reverses, if any.
        written_off: Points a clamped clawback could not take.
        metadata: The host's metadata.
    """

    transaction: str
    key: str
    kind: str
    currency: str
    amount: int
    wallets: tuple[WalletEffect, ...]
    reason: str | None = None
    hold: str | None = None
    reverses: str | None = None
    written_off: int = 0
    metadata: tuple[tuple[str, str], ...] = ()


@final
@attrs.frozen
class PointsExpiring:
    """The data of ``points.expiring``: a member loses points soon unless they spend them.

    Attributes:
        member: The member.
        currency: The point currency.
        points: The free points that expire then.
        expires_at: When.
    """

    member: str
    currency: str
    points: int
    expires_at: datetime


@final
@attrs.frozen
class NewEvent:
    """An event to append: its id, type, data version, time and data (JSON-safe)."""

    id: uuid.UUID
    type: str
    version: int
    occurred_at: datetime
    data: Mapping[str, Any]
    # The body, when the maker wrote it with the data (transaction_event); not an argument,
    # so attrs.evolve drops it and a changed copy writes its own from its data.
    _body: str | None = attrs.field(default=None, init=False, eq=False, repr=False)

    def body(self) -> str:
        """The data as compact JSON with sorted keys: what is stored."""
        if self._body is not None:
            return self._body
        return json.dumps(self.data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@final
@attrs.frozen
class OutboxEvent:
    """An event as a consumer reads it.

    Attributes:
        id: Stable: a redelivered event has the same id; consumers deduplicate on it.
        type: What happened (see :data:`EVENT_TYPES`).
        version: The version of the type's data.
        program: The program it happened in.
        occurred_at: When the change was made.
        data: What happened, as JSON data.
        cursor: The event's position, to acknowledge.
    """

    id: uuid.UUID
    type: str
    version: int
    program: str
    occurred_at: datetime
    data: Mapping[str, Any]
    cursor: str

    def to_json(self) -> dict[str, Any]:
        """The event as a message: ``id``, ``type``, ``version``, ``program``, ``occurred_at``, ``data``."""
        return {
            "id": str(self.id),
            "type": self.type,
            "version": self.version,
            "program": self.program,
            "occurred_at": self.occurred_at.isoformat(),
            "data": dict(self.data),
        }


@final
@attrs.frozen
class OutboxBatch:
    """Events a consumer read, and the position to acknowledge once they are handled."""

    events: tuple[OutboxEvent, ...]
    cursor: str


@runtime_checkable
class OutboxWriteUnit(Protocol):
    """The outbox part, on a write unit: appending events with the change they report."""

    def append_events(self, events: Sequence[NewEvent]) -> int:
        """Store *events* in this unit of work; an id already stored is skipped.

        Returns:
            How many were stored (those not stored before).
        """
        ...


class OutboxReadUnit(Protocol):
    """The outbox part's reads and the consumers' positions and dead letters."""

    def events_after(self, position: str, limit: int) -> Sequence[OutboxEvent]:
        """Up to *limit* events after *position* (``""``: the start), in order."""
        ...

    def all_events(self) -> Sequence[OutboxEvent]:
        """Every event stored, committed ones only but without waiting for units still open.

        For audits and the conformance suite, which compare what is stored with the journal;
        consumers read with :meth:`events_after`.
        """
        ...

    def outbox_position(self, consumer: str) -> str:
        """The position *consumer* acknowledged (``""`` if none)."""
        ...

    def set_outbox_position(self, consumer: str, position: str) -> None:
        """Move *consumer* to *position*, unless it is there or further already."""
        ...

    def add_dead_letter(self, consumer: str, event: OutboxEvent, reason: str, at: datetime) -> None:
        """Park *event*, which *consumer* gave up on, with the reason."""
        ...

    def dead_letters(self, consumer: str) -> Sequence[tuple[OutboxEvent, str]]:
        """The events *consumer* parked, oldest first, with their reasons."""
        ...


_READ_METHODS: Final = (
    "events_after",
    "all_events",
    "outbox_position",
    "set_outbox_position",
    "add_dead_letter",
    "dead_letters",
)
_WRITERS: dict[type, bool] = {}


def outbox_writer(unit: object) -> OutboxWriteUnit | None:
    """*unit* as an outbox writer, or ``None`` if its adapter has no outbox part."""
    kind = type(unit)
    has = _WRITERS.get(kind)
    if has is None:
        has = _WRITERS[kind] = callable(getattr(unit, "append_events", None))
    return unit if has else None  # type: ignore[return-value]  # checked just above


def _reader(unit: object) -> OutboxReadUnit:
    missing = [name for name in _READ_METHODS if not callable(getattr(unit, name, None))]
    if missing:
        raise ArgumentTypeError(
            f"the storage has no outbox part: its units lack {', '.join(missing)} "
            "(see the custom storage guide)"
        )
    return unit  # type: ignore[return-value]  # checked just above


def apply_plans(unit: WriteUnit, plans: Sequence[Plan]) -> None:
    """Write *plans* in *unit*, and the events that report them if the storage has an outbox.

    Every plan the ledger and the features write goes through here, so an event exists
    exactly when its transaction does.
    """
    if not plans:
        return
    writer = outbox_writer(unit)
    events = [] if writer is None else [transaction_event(plan.transaction) for plan in plans]
    together = None if writer is None else _together(unit)
    if together is not None:
        # One call for both: an adapter may send them as one statement (PostgreSQL does).
        together(unit, plans, events)
        return
    apply_batch = getattr(unit, "apply_batch", None) if len(plans) > 1 else None
    if apply_batch is not None:
        apply_batch(plans)
    else:
        for plan in plans:
            unit.apply(plan)
    if writer is not None:
        writer.append_events(events)


_TOGETHER: dict[type, Callable[[Any, Sequence[Plan], Sequence[NewEvent]], None] | None] = {}


def _together(unit: object) -> Callable[[Any, Sequence[Plan], Sequence[NewEvent]], None] | None:
    """The ``apply_with_events`` of *unit*'s class, if it defines one (see apply_plans).

    Looked up on the class, not the unit: a wrapper that forwards attributes to a unit and
    overrides its ``apply`` is then written through its ``apply``.
    """
    kind = type(unit)
    if kind not in _TOGETHER:
        _TOGETHER[kind] = getattr(kind, "apply_with_events", None)
    return _TOGETHER[kind]


def emit_event(unit: object, kind: str, source: str, at: datetime, data: object) -> None:
    """Write the *kind* event of *source* with *data* (a record) in *unit*'s outbox, if any.

    The id is made from *kind* and *source*, so writing it again (a retried unit, a command
    sent twice) stores nothing new.
    """
    writer = outbox_writer(unit)
    if writer is not None:
        version = EVENT_TYPES[kind][0]
        writer.append_events([NewEvent(event_id(kind, source), kind, version, at, _jsonable(data))])


def remind_expiring(
    ledger: Ledger, within: timedelta, *, currency: str | None = None, page: int = 1_000
) -> tuple[int, int]:
    """Write ``points.expiring`` for points that expire within *within* from now.

    One event per member, currency and expiry instant, ever: the id is made from those, so a
    job run again (or by two workers) writes nothing it wrote before. Each page of
    :meth:`Ledger.expiring` is written in a unit of its own.

    Returns:
        ``(reminders due, events written now)``: the second is smaller when some were sent by
        an earlier run.

    Raises:
        ArgumentTypeError: If the ledger's storage has no outbox part.
    """
    due = written = 0
    after = None
    while True:
        found = ledger.expiring(within, currency=currency, after=after, limit=page)
        events = [
            NewEvent(
                event_id(
                    "points.expiring",
                    f"{item.member}:{item.currency}:{item.expires_at.isoformat()}",
                ),
                "points.expiring",
                EVENT_TYPES["points.expiring"][0],
                ledger.clock.now(),
                _jsonable(
                    PointsExpiring(str(item.member), item.currency, item.points, item.expires_at)
                ),
            )
            for item in found.items
        ]
        if events:
            with ledger.storage.writing(ledger.program) as unit:
                writer = outbox_writer(unit)
                if writer is None:
                    _reader(unit)  # raises, naming what the storage lacks
                    raise ArgumentTypeError("the storage has no outbox part")  # pragma: no cover
                written += writer.append_events(events)
        due += len(events)
        if found.after is None:
            return due, written
        after = found.after


def _consumer(consumer: object) -> str:
    return check_text(
        "consumer",
        consumer,
        max_length=limits.OUTBOX_CONSUMER_LENGTH_MAX,
        limit_name="OUTBOX_CONSUMER_LENGTH_MAX",
    )


def _reason(reason: object) -> str:
    """A dead letter's reason as one printable line (an error's text may hold line breaks)."""
    if not isinstance(reason, str):
        raise ArgumentTypeError(f"reason={reason!r} must be a str, not {type_name(reason)}")
    line = " ".join("".join(c if c.isprintable() else " " for c in reason).split())
    if len(line) > limits.REASON_LENGTH_MAX:
        line = line[: limits.REASON_LENGTH_MAX - 1] + "…"
    return check_text(
        "reason", line, max_length=limits.REASON_LENGTH_MAX, limit_name="REASON_LENGTH_MAX"
    )


def sequence_position(position: str) -> int:
    """A position that is a sequence number (``""``: before the first).

    For adapters that number events in commit order (one writer at a time).

    Raises:
        InvalidArgumentError: If *position* is not one.
    """
    if position == "":
        return 0
    if not position.isdigit() or len(position) > 19:  # noqa: PLR2004 - a 64-bit integer
        raise InvalidArgumentError(
            f"cursor={position!r} is not a position of this storage (a batch's cursor is)"
        )
    return int(position)


def transaction_event(transaction: Transaction) -> NewEvent:
    """The event a ledger transaction is reported by."""
    kind = _TRANSACTION_TYPES[transaction.kind]
    kind_value = transaction.kind.value  # an enum member's value is a property: read it once
    transaction_id = str(transaction.id)
    changes = transaction.wallet_changes
    pairs = transaction.metadata
    # A PointsEvent's fields as _jsonable writes them, built directly: every transaction
    # written has its event (tests/test_outbox.py checks the two agree).
    data: dict[str, Any] = {
        "transaction": transaction_id,
        "key": transaction.key,
        "kind": kind_value,
        "currency": transaction.currency,
        "amount": transaction.amount,
        "wallets": [
            {
                "member": str(change.member),
                "change": change.posted_change,
                "balance": change.posted,
                "held": change.held,
            }
            for change in changes
        ],
        "reason": transaction.reason,
        "hold": None if transaction.hold is None else str(transaction.hold),
        "reverses": None if transaction.reverses is None else str(transaction.reverses),
        "written_off": transaction.written_off,
        "metadata": [list(pair) for pair in pairs] if pairs else [],
    }
    # The body too, exactly as NewEvent.body's json.dumps writes *data* (keys sorted; a
    # test checks the two agree), without walking the data again.
    hold = "null" if transaction.hold is None else f'"{transaction.hold}"'
    reverses = "null" if transaction.reverses is None else f'"{transaction.reverses}"'
    reason = "null" if transaction.reason is None else _text(transaction.reason)
    metadata = (
        ",".join([f"[{_text(name)},{_text(value)}]" for name, value in pairs]) if pairs else ""
    )
    wallets = ",".join(
        [
            f'{{"balance":{change.posted},"change":{change.posted_change},'
            f'"held":{change.held},"member":{_text(change.member)}}}'
            for change in changes
        ]
    )
    text = (
        f'{{"amount":{transaction.amount},"currency":{_text(transaction.currency)},'
        f'"hold":{hold},"key":{_text(transaction.key)},"kind":"{kind_value}",'
        f'"metadata":[{metadata}],"reason":{reason},"reverses":{reverses},'
        f'"transaction":"{transaction_id}","wallets":[{wallets}],'
        f'"written_off":{transaction.written_off}}}'
    )
    event = NewEvent(
        event_id(kind, transaction_id), kind, EVENT_TYPES[kind][0], transaction.created_at, data
    )
    object.__setattr__(event, "_body", text)  # frozen: set once, by its maker
    return event


_FIELD_NAMES: dict[type, tuple[str, ...] | None] = {}


def _field_names(kind: type) -> tuple[str, ...] | None:
    """The field names of an attrs record type, in order; ``None`` for any other type."""
    try:
        return _FIELD_NAMES[kind]
    except KeyError:
        names = tuple(field.name for field in attrs.fields(kind)) if attrs.has(kind) else None
        _FIELD_NAMES[kind] = names  # a handful of types: the records and the JSON values
        return names


def _jsonable(record: object) -> dict[str, Any]:
    """A record as JSON data: fields by name, tuples as lists, nested records as objects."""
    converted = _convert(record)
    if not isinstance(converted, dict):  # pragma: no cover - records only
        raise TypeError(f"{record!r} is not a record")
    return converted


def _convert(value: object) -> Any:  # noqa: ANN401 - JSON data
    # A module function, not a closure: a recursive closure is a reference cycle per call,
    # left for the garbage collector (every ledger event is converted here).
    kind = type(value)
    if kind is str or kind is int or value is None:
        return value  # most values: no record, no list (every ledger event has dozens)
    names = _field_names(kind)
    if names is not None:
        return {name: _convert(getattr(value, name)) for name in names}
    if isinstance(value, tuple | list):
        return [_convert(item) for item in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


@final
class Outbox:
    """A program's events, for consumers: read in order, acknowledge, park what fails.

    >>> from datetime import UTC, datetime
    >>> from pointkit import FixedClock, Ledger, MemoryStorage
    >>> ledger = Ledger(MemoryStorage(), clock=FixedClock(datetime(2026, 3, 1, tzinfo=UTC)))
    >>> _ = ledger.earn("alice", 500, key="order-1001")
    >>> outbox = Outbox.of(ledger)
    >>> batch = outbox.read("crm")
    >>> [(event.type, event.data["wallets"][0]["balance"]) for event in batch.events]
    [('points.earned', 500)]
    >>> outbox.ack("crm", batch.cursor)
    >>> outbox.read("crm").events
    ()

    Each consumer (a name of the host's: ``"crm"``, ``"webhooks"``) has its own position.
    Delivery is at least once: a consumer that stops between handling a batch and
    acknowledging it reads the batch again, so it deduplicates on :attr:`OutboxEvent.id`.

    Args:
        storage: The storage (an adapter with the outbox part).
        program: The program whose events to read.
        clock: Stamps dead letters (the ledger's clock, with :meth:`of`).
    """

    def __init__(self, storage: Storage, *, program: str, clock: Clock | None = None) -> None:
        self._storage = storage
        self._program = ProgramId(program)
        self._clock = clock or SystemClock()

    @classmethod
    def of(cls, ledger: Ledger) -> Outbox:
        """The outbox of *ledger*'s program, on its storage and clock."""
        return cls(ledger.storage, program=str(ledger.program), clock=ledger.clock)

    def read(self, consumer: str, *, limit: int = 100) -> OutboxBatch:
        """The next events for *consumer*, after its acknowledged position, in order."""
        name = _consumer(consumer)
        count = check_int(
            "limit", limit, minimum=1, maximum=limits.OUTBOX_READ_MAX, limit_name="OUTBOX_READ_MAX"
        )
        with self._storage.reading(self._program) as unit:
            reader = _reader(unit)
            position = reader.outbox_position(name)
            events = tuple(reader.events_after(position, count))
        program = str(self._program)
        events = tuple(attrs.evolve(event, program=program) for event in events)
        return OutboxBatch(events, events[-1].cursor if events else position)

    def ack(self, consumer: str, cursor: str) -> None:
        """Move *consumer* past everything up to *cursor* (a batch's); never backwards."""
        name = _consumer(consumer)
        if not isinstance(cursor, str):
            raise ArgumentTypeError(f"cursor={cursor!r} must be a str (a batch's cursor)")
        with self._storage.writing(self._program) as unit:
            _reader(unit).set_outbox_position(name, cursor)

    def position(self, consumer: str) -> str:
        """*consumer*'s acknowledged position (``""``: nothing acknowledged yet)."""
        name = _consumer(consumer)
        with self._storage.reading(self._program) as unit:
            return _reader(unit).outbox_position(name)

    def dead_letter(self, consumer: str, event: OutboxEvent, reason: str) -> None:
        """Park *event*, which *consumer* gave up delivering, with the reason."""
        name = _consumer(consumer)
        why = _reason(reason)
        with self._storage.writing(self._program) as unit:
            _reader(unit).add_dead_letter(name, event, why, self._clock.now())

    def dead_letters(self, consumer: str) -> tuple[tuple[OutboxEvent, str], ...]:
        """The events *consumer* parked, oldest first, with their reasons."""
        name = _consumer(consumer)
        with self._storage.reading(self._program) as unit:
            parked = tuple(_reader(unit).dead_letters(name))
        program = str(self._program)
        return tuple((attrs.evolve(event, program=program), reason) for event, reason in parked)

"""The storage parts of the features above the ledger: records and tiers.

Maintainer's notes
------------------
The ledger needs only the accounts part of storage (:class:`~pointkit.ledger.ReadUnit`,
:class:`~pointkit.ledger.WriteUnit`). The features add two parts, which an adapter implements
on the same unit of work as the accounts, so that what a feature records commits with the
points it posts:

* the **records** part — keyed records, per-member counters, streaks and programme budgets.
  Earning keeps events, counters, streaks and campaign budgets here; the catalogue keeps
  redemptions, stock and per-member counts; the lottery keeps draws, pity counters, stock and
  nonces; the exchange keeps conversions and per-period totals. Their own names are under the
  reserved ``pointkit:`` prefix;
* the **tiers** part — each member's tier state with its history, and the points a member
  earned in a window (a tier's qualifying credit).

An adapter that implements neither still runs the ledger; a feature checks its part the first
time it opens a unit on a storage, and names the missing methods if the adapter lacks them.

Each part has audit reads beside it (:class:`RecordAuditUnit`, :class:`TierAuditUnit`): every
record with the increments stored with it, and every counter, streak, budget, tier state and
tier change. They are a protocol of their own, so an adapter written before them keeps working;
the programme's audit says that it could not audit a part whose reads are missing, instead of
claiming it did. Counters, streaks and budgets are derived rows: replaying every record's
increments in the order stored gives them back, which is what the audit checks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, Protocol, cast, final

import attrs

from pointkit.exceptions import ArgumentTypeError
from pointkit.ledger import ReadUnit, WriteUnit


if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence
    from datetime import date, datetime

    from pointkit._values import MemberId
    from pointkit.tiers import TierChange, TierState


__all__ = [
    "CounterKey",
    "RecordAuditUnit",
    "RecordReadUnit",
    "RecordWriteUnit",
    "RecordsReading",
    "RecordsWriting",
    "RuleEventRecord",
    "StoredRuleEvent",
    "TierAuditUnit",
    "TierReadUnit",
    "TierWriteUnit",
    "TiersReading",
    "TiersWriting",
    "defer",
    "deferred_text",
    "missing_methods",
    "record_reader",
    "record_writer",
    "tier_reader",
    "tier_writer",
]

CounterKey = tuple[str, str]
"""A rule counter's key: ``(scope, period)``, e.g. ``("rule:sign-in", "day:2026-03-01")``."""


@final
@attrs.frozen
class RuleEventRecord:
    """What recording one evaluated event writes besides its ledger transactions.

    Attributes:
        event_id: The event's id, unique per program.
        member: The member the event is about.
        kind: The event's kind.
        at: When the event happened.
        decision: The decision, as JSON, returned when the event is sent again.
        counters: ``(key, points, tasks)`` increments of the member's counters.
        streaks: ``(rule, last local day, length)``: the member's new streak values.
        budgets: ``(name, points)`` increments of program budgets.

    The features record more than earning events here, under reserved ``pointkit:`` ids: event
    refunds, offer redemptions and their returns and refunds, conversions and lottery draws.
    An increment with negative tasks (or a negative budget increment) gives back what an
    earlier record added: an offer's stock and counts when its hold is released, a pity
    counter when it resets. It applies to a counter or budget that exists, and never takes
    tasks or a budget's use below zero.
    """

    event_id: str
    member: MemberId
    kind: str
    at: datetime
    decision: str
    counters: tuple[tuple[CounterKey, int, int], ...] = ()
    streaks: tuple[tuple[str, date, int], ...] = ()
    budgets: tuple[tuple[str, int], ...] = ()
    # What encodes ``decision`` while it is unset (see ``deferred``); not part of the value.
    _encode: Callable[[], str] | None = attrs.field(default=None, init=False, eq=False, repr=False)

    @classmethod
    def deferred(
        cls,
        encode: Callable[[], str],
        *,
        event_id: str,
        member: MemberId,
        kind: str,
        at: datetime,
        counters: tuple[tuple[CounterKey, int, int], ...] = (),
        streaks: tuple[tuple[str, date, int], ...] = (),
        budgets: tuple[tuple[str, int], ...] = (),
    ) -> RuleEventRecord:
        """A record whose ``decision`` is encoded by *encode* the first time it is read.

        The record is the one ``RuleEventRecord(decision=encode(), ...)`` makes: equal to it,
        with the same text, only encoded later. Memory storage keeps the record as it is, so
        a decision nothing reads back (a simulation's) is never encoded; an adapter that
        writes rows reads it as it saves. *encode* must return the same text whenever it is
        called (a frozen decision's ``to_json``).
        """
        record = cls(event_id, member, kind, at, "", counters, streaks, budgets)
        defer(record, "decision", encode)
        return record

    if not TYPE_CHECKING:  # typed attributes stay checked: only an unset text lands here

        def __getattr__(self, name: str) -> str:
            return deferred_text(self, name, "decision")

    def split_counters(
        self,
    ) -> tuple[list[tuple[CounterKey, int, int]], list[tuple[CounterKey, int, int]]]:
        """Return the counter increments as ``(additions, give-backs)``: negative tasks give back.

        Additions may create their counter (an upsert); give-backs update an existing one.
        """
        adds = [item for item in self.counters if item[2] >= 0]
        takes = [item for item in self.counters if item[2] < 0]
        return (adds, takes)

    def split_budgets(self) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
        """Return the budget increments as ``(additions, give-backs)``."""
        return (
            [item for item in self.budgets if item[1] >= 0],
            [item for item in self.budgets if item[1] < 0],
        )


def defer(instance: object, name: str, encode: Callable[[], str]) -> None:
    """Unset the text field *name* of the frozen, slotted *instance*: *encode* makes it when read.

    The class reads it back through :func:`deferred_text` in its ``__getattr__``, which Python
    calls only for an attribute that is unset, and keeps *encode* in a private ``_encode`` slot.
    """
    object.__setattr__(instance, "_encode", encode)
    object.__delattr__(instance, name)


def deferred_text(instance: object, name: str, field: str) -> str:
    """The text *field* of *instance* that :func:`defer` unset, asked for as *name*: encoded now.

    Raises:
        AttributeError: If *name* is not *field* (an attribute *instance* does not have).
    """
    if name != field:
        raise AttributeError(f"{type(instance).__name__!r} object has no attribute {name!r}")
    encode: Callable[[], str] | None = object.__getattribute__(instance, "_encode")
    if encode is None:
        # Another thread may have just filled it in: read it again, or fail as Python does.
        found: str = object.__getattribute__(instance, name)
        return found
    text = encode()
    object.__setattr__(instance, name, text)
    object.__setattr__(instance, "_encode", None)
    return text


@final
@attrs.frozen
class StoredRuleEvent:
    """A stored record as the audit reads it back: the record, and whether its increments are known.

    Attributes:
        record: The record; its ``counters``, ``streaks`` and ``budgets`` are the increments
            stored with it.
        has_effects: Whether the increments were stored with the record. A record written
            before storage kept them (SQLite and PostgreSQL schema version 3) has none: its
            ``counters``, ``streaks`` and ``budgets`` are empty because they are unknown, not
            because it had none.
    """

    record: RuleEventRecord
    has_effects: bool


class RecordReadUnit(Protocol):
    """Reads of the records part: keyed records, counters, streaks and budgets."""

    def rule_event(self, event_id: str) -> str | None:
        """Return the stored decision (JSON) of the event recorded under *event_id*, or ``None``."""
        ...

    def counters(
        self, member: MemberId, keys: Sequence[CounterKey]
    ) -> dict[CounterKey, tuple[int, int]]:
        """Return ``(points, tasks)`` of each of *member*'s counters that exists among *keys*."""
        ...

    def streaks(self, member: MemberId, rules: Sequence[str]) -> dict[str, tuple[date, int]]:
        """Return ``(last local day, length)`` of each of *member*'s streaks among *rules*."""
        ...

    def budgets(self, names: Sequence[str]) -> dict[str, int]:
        """Return the points used of each budget that exists among *names*."""
        ...


class RecordWriteUnit(RecordReadUnit, Protocol):
    """Writes of the records part, in the unit of work that posts the points."""

    def lock_budgets(self, names: Sequence[str]) -> dict[str, int]:
        """Lock the budgets in sorted order, creating missing ones at 0; return points used.

        Locks are held until the unit ends, so two units never both spend the last points of
        a budget. Wallets are locked before budgets, always.
        """
        ...

    def save_rule_event(self, record: RuleEventRecord) -> None:
        """Record an evaluated event: its decision, and its counter, streak and budget updates.

        Counter and budget values in *record* are increments to add; streaks are new values.
        An adapter with the audit reads (:class:`RecordAuditUnit`) keeps the increments with
        the record, and the order records are saved in, so an audit can replay them.

        Raises:
            TransientStorageError: If the event id is already recorded (a concurrent unit got
                there first): the unit rolls back and the ledger looks the event up again.
        """
        ...


class RecordAuditUnit(Protocol):
    """The records part's audit reads: every record and every derived row of a program."""

    def all_rule_events(self) -> Iterator[StoredRuleEvent]:
        """Return every record of the program in the order stored, with its increments.

        The order is the order the records were saved in (a sequence the adapter keeps, not a
        time): replaying their increments in it must give every counter, streak and budget.
        Records written before the adapter stored increments come first, without them.

        Raises:
            InvariantViolation: If a stored record does not match its checksum.
        """
        ...

    def all_counters(self) -> Iterator[tuple[MemberId, CounterKey, int, int]]:
        """Return every counter of the program as ``(member, key, points, tasks)``."""
        ...

    def all_streaks(self) -> Iterator[tuple[MemberId, str, date, int]]:
        """Return every streak of the program as ``(member, rule, last local day, length)``."""
        ...

    def all_budgets(self) -> Iterator[tuple[str, int]]:
        """Return every budget of the program as ``(name, points used)``."""
        ...


class TierReadUnit(Protocol):
    """Reads of the tiers part: tier states, their history, and points earned in a window."""

    def earned(
        self, member: MemberId, currency: str, since: datetime | None, until: datetime
    ) -> int:
        """Return the points *member* earned in ``[since, until)``, less what was clawed back.

        Earn transactions recorded in the span count in full; reversals of earns recorded in
        the span count against them (what they actually took from the wallet). Redemptions,
        transfers, adjustments and expiry do not count: this is a tier's qualifying credit.
        *since* ``None`` means from the beginning.
        """
        ...

    def tier(self, member: MemberId) -> tuple[TierState, int] | None:
        """Return *member*'s stored tier state and its version, or ``None`` if never stored."""
        ...

    def tier_changes(self, member: MemberId, *, limit: int) -> Sequence[TierChange]:
        """Return *member*'s latest *limit* tier changes, oldest first."""
        ...


class TierWriteUnit(TierReadUnit, Protocol):
    """Writes of the tiers part."""

    def save_tier(self, state: TierState, changes: Sequence[TierChange], *, version: int) -> None:
        """Store *state* as version *version* of the member's tier state and append *changes*.

        The stored state must be at ``version - 1`` (absent for version 1): a concurrent
        review that got there first makes this raise
        :class:`~pointkit.exceptions.TransientStorageError`, and the ledger reviews again.
        Changes are kept forever, in the order appended.
        """
        ...


class TierAuditUnit(Protocol):
    """The tiers part's audit reads: every tier state and every tier change of a program."""

    def all_tiers(self) -> Iterator[tuple[TierState, int]]:
        """Return every stored tier state of the program with its version."""
        ...

    def all_tier_changes(self) -> Iterator[TierChange]:
        """Return every tier change of the program, each member's in the order appended."""
        ...


class RecordsReading(ReadUnit, RecordReadUnit, Protocol):
    """A read unit of a storage that has the accounts and the records parts."""


class RecordsWriting(WriteUnit, RecordWriteUnit, Protocol):
    """A write unit of a storage that has the accounts and the records parts."""


class TiersReading(ReadUnit, TierReadUnit, Protocol):
    """A read unit of a storage that has the accounts and the tiers parts."""


class TiersWriting(WriteUnit, TierWriteUnit, Protocol):
    """A write unit of a storage that has the accounts and the tiers parts."""


_PARTS: Final = {
    "records": ("rule_event", "counters", "streaks", "budgets"),
    "records (writing)": ("lock_budgets", "save_rule_event"),
    "records (audit)": ("all_rule_events", "all_counters", "all_streaks", "all_budgets"),
    "tiers": ("earned", "tier", "tier_changes"),
    "tiers (writing)": ("save_tier",),
    "tiers (audit)": ("all_tiers", "all_tier_changes"),
    # The optional reports part (features/_report_parts.py: ReportReadUnit).
    "reports": (
        "flows_by_day",
        "outstanding_by_expiry",
        "issued_cohort",
        "offer_sales",
        "lottery_draws",
        "tier_members",
    ),
}
_checked: dict[tuple[type, str], tuple[str, ...]] = {}


def missing_methods(unit: object, part: str) -> tuple[str, ...]:
    """Return the methods of *part* (``"records (audit)"``, ...) that *unit* lacks, if any."""
    missing = _checked.get((type(unit), part))
    if missing is None:
        missing = tuple(name for name in _PARTS[part] if not callable(getattr(unit, name, None)))
        _checked[(type(unit), part)] = missing
    return missing


def _require(unit: object, part: str, feature: str) -> None:
    """Raise unless *unit* has every method of *part*; checked once per unit type."""
    missing = missing_methods(unit, part)
    if missing:
        raise ArgumentTypeError(
            f"the storage's unit {type(unit).__name__} does not implement the {part} part "
            f"(missing {', '.join(missing)}), which {feature} needs; "
            "see docs/custom-storage.md"
        )


def record_reader(unit: object, feature: str) -> RecordsReading:
    """Return *unit* as a reader of the records part, or raise naming what it lacks."""
    _require(unit, "records", feature)
    return cast("RecordsReading", unit)


def record_writer(unit: object, feature: str) -> RecordsWriting:
    """Return *unit* as a writer of the records part, or raise naming what it lacks."""
    _require(unit, "records", feature)
    _require(unit, "records (writing)", feature)
    return cast("RecordsWriting", unit)


def tier_reader(unit: object, feature: str) -> TiersReading:
    """Return *unit* as a reader of the tiers part, or raise naming what it lacks."""
    _require(unit, "tiers", feature)
    return cast("TiersReading", unit)


def tier_writer(unit: object, feature: str) -> TiersWriting:
    """Return *unit* as a writer of the tiers part, or raise naming what it lacks."""
    _require(unit, "tiers", feature)
    _require(unit, "tiers (writing)", feature)
    return cast("TiersWriting", unit)

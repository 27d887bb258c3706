"""The programme's audit: the journal, then every derived row of the records and tiers parts.

Maintainer's notes
------------------
The ledger's audit (:func:`pointkit.ledger.audit`) rebuilds wallets, lots and holds from the
journal. The features keep derived rows of their own, which the journal does not describe and
which a host's database will let anyone edit: counters (rule limits, per-member offer counts,
conversion maxima, daily draws, pity), streaks, budgets (campaign budgets, offer and prize
stock, fair-draw nonces) and tier states. :func:`audit_program` recomputes them, in the same read unit as the
journal's audit, so both judge one snapshot:

* **records** — every record is stored with its increments, in the order saved. Replaying them
  with the adapters' own semantics (an addition creates its counter or budget or adds to it; a
  give-back — negative tasks, a negative budget increment — needs a counter or budget that
  exists and never takes tasks or a budget's use below zero; a streak takes the new value)
  gives every counter, streak and budget, and each stored row must be exactly that. A budget
  that is absent is one at 0: locking a budget creates its row at 0 before anything is spent.
  Records saved before storage kept increments (SQLite and PostgreSQL schema version 3) cannot
  be replayed: the rows they may have touched — their members' counters and streaks, and every
  budget — are counted as not recomputed, never reported as wrong.
* **tiers** — the tier changes are append-only; the state is derived from them. The state's
  tier is the last change's ``to_tier``; ``since`` is the instant of the last change that put
  the member in a tier (joined, upgrade, downgrade, manual), as :class:`~pointkit.tiers.TierLadder`
  sets it; a grace runs exactly when the last change started one; a member who never goes down
  was made so by a manual change with no downgrade or started grace after it. Every member with
  changes has a state and every state has changes, and the changes chain: each is from the tier
  the one before it left, the first from none. What the history does not determine is left
  alone: ``next_review`` (it moves on at reviews that change nothing), the instant a grace ends
  (the ladder's grace length when it started), the version (saves without a change count too),
  a change's metric, and ``never_downgrade`` being off.

The ledger's audit raises when it finds a problem; its message is kept whole and the problems
found here follow it, so one :class:`~pointkit.exceptions.InvariantViolation` lists everything.
An adapter without the audit reads of a part (:class:`~pointkit.features.RecordAuditUnit`,
:class:`~pointkit.features.TierAuditUnit`) is not failed for it: the report names the part as
not audited.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Final, cast, final

import attrs

from pointkit.exceptions import InvariantViolation
from pointkit.features._parts import missing_methods
from pointkit.ledger import audit
from pointkit.tiers import TierChangeReason


if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import date, datetime

    from pointkit._values import MemberId
    from pointkit.features._parts import (
        CounterKey,
        RecordAuditUnit,
        RuleEventRecord,
        StoredRuleEvent,
        TierAuditUnit,
    )
    from pointkit.ledger import AuditReport, ReadUnit
    from pointkit.tiers import TierChange, TierState


__all__ = ["ProgramAuditReport", "audit_program"]

_PROBLEMS_SHOWN: Final = 20
_ENTERS_TIER: Final = frozenset(
    {
        TierChangeReason.JOINED,
        TierChangeReason.UPGRADE,
        TierChangeReason.DOWNGRADE,
        TierChangeReason.MANUAL,
    }
)
"""The changes that put a member in a tier, and so set the state's ``since``."""
_LOWERS: Final = frozenset({TierChangeReason.DOWNGRADE, TierChangeReason.GRACE_STARTED})


@final
@attrs.frozen
class ProgramAuditReport:
    """What :meth:`pointkit.program.Program.audit` checked; it raises when anything is wrong.

    A count is ``None`` when its part was not audited: the storage lacks that part's audit reads
    (``not_audited`` says which).

    Attributes:
        ledger: The journal's audit: transactions replayed, wallets, lots and holds rebuilt.
        records: Records replayed.
        counters: Stored counters checked.
        streaks: Stored streaks checked.
        budgets: Stored budgets checked.
        tier_states: Stored tier states checked.
        tier_changes: Tier changes read.
        records_without_effects: Records saved before their increments were stored (schema
            version 3), which cannot be replayed.
        not_recomputed: Stored counters, streaks and budgets such records may have changed:
            they were read but could not be recomputed.
        not_audited: Each part that was not audited, and why.
    """

    ledger: AuditReport
    records: int | None
    counters: int | None
    streaks: int | None
    budgets: int | None
    tier_states: int | None
    tier_changes: int | None
    records_without_effects: int = 0
    not_recomputed: int = 0
    not_audited: tuple[str, ...] = ()

    @property
    def transactions(self) -> int:
        """Transactions replayed (the journal's audit)."""
        return self.ledger.transactions

    @property
    def wallets(self) -> int:
        """Member wallets rebuilt (the journal's audit)."""
        return self.ledger.wallets

    @property
    def lots(self) -> int:
        """Lots rebuilt (the journal's audit)."""
        return self.ledger.lots

    @property
    def holds(self) -> int:
        """Holds rebuilt (the journal's audit)."""
        return self.ledger.holds

    @property
    def sealed(self) -> int:
        """Transaction seals checked (the journal's audit; 0 without a seal key)."""
        return self.ledger.sealed


@attrs.define
class _Replay:
    """The counters, streaks and budgets the records imply, built up record by record."""

    counters: dict[tuple[MemberId, CounterKey], tuple[int, int]] = attrs.field(factory=dict)
    streaks: dict[tuple[MemberId, str], tuple[date, int]] = attrs.field(factory=dict)
    budgets: dict[str, int] = attrs.field(factory=dict)
    blind: set[MemberId] = attrs.field(factory=set)
    """Members with a record whose increments are unknown."""
    records: int = 0
    without_effects: int = 0
    not_recomputed: int = 0
    problems: list[str] = attrs.field(factory=list)


def _counter_name(member: MemberId, key: CounterKey) -> str:
    return f"counter {key[0]}/{key[1]} of {str(member)!r}"


def _replay(replay: _Replay, events: Iterable[StoredRuleEvent]) -> None:
    seen: set[str] = set()
    last_with_effects: str | None = None
    for stored in events:
        record = stored.record
        replay.records += 1
        if record.event_id in seen:
            replay.problems.append(f"record {record.event_id!r} is stored twice")
        seen.add(record.event_id)
        if not stored.has_effects:
            replay.without_effects += 1
            replay.blind.add(record.member)
            if last_with_effects is not None:
                replay.problems.append(
                    f"record {record.event_id!r} has no stored increments, yet it was saved "
                    f"after record {last_with_effects!r}, which has them"
                )
            continue
        last_with_effects = record.event_id
        _apply(replay, record)


def _apply(replay: _Replay, record: RuleEventRecord) -> None:
    """Apply one record's increments as every adapter's ``save_rule_event`` does."""
    member, problems = record.member, replay.problems
    additions, give_backs = record.split_counters()
    for key, points, tasks in additions:
        before = replay.counters.get((member, key), (0, 0))
        replay.counters[(member, key)] = (before[0] + points, before[1] + tasks)
    for key, points, tasks in give_backs:
        counted = replay.counters.get((member, key))
        if counted is None:
            problems.append(
                f"record {record.event_id!r} gives back to {_counter_name(member, key)}, "
                "which no record before it counts"
            )
        elif counted[1] + tasks < 0:
            problems.append(
                f"record {record.event_id!r} takes {_counter_name(member, key)} below zero "
                f"tasks ({counted[1]} {tasks:+d})"
            )
        else:
            replay.counters[(member, key)] = (counted[0] + points, counted[1] + tasks)
    for rule, day, length in record.streaks:
        replay.streaks[(member, rule)] = (day, length)
    budget_additions, budget_give_backs = record.split_budgets()
    for name, points in budget_additions:
        replay.budgets[name] = replay.budgets.get(name, 0) + points
    for name, points in budget_give_backs:
        used = replay.budgets.get(name, 0)
        if used + points < 0:
            problems.append(
                f"record {record.event_id!r} takes budget {name} below zero ({used} {points:+d})"
            )
        else:
            replay.budgets[name] = used + points


def _compare_counters(
    replay: _Replay, stored: dict[tuple[MemberId, CounterKey], tuple[int, int]]
) -> None:
    for slot in sorted(stored.keys() | replay.counters.keys()):
        member, key = slot
        row, derived = stored.get(slot), replay.counters.get(slot)
        if member in replay.blind:
            replay.not_recomputed += row is not None
            continue
        name = _counter_name(member, key)
        if derived is None and row is not None:
            replay.problems.append(
                f"{name} is stored (points={row[0]}, tasks={row[1]}) but no record counts it"
            )
        elif row is None and derived is not None:
            replay.problems.append(
                f"{name} is missing; its records give points={derived[0]} tasks={derived[1]}"
            )
        elif row is not None and derived is not None and row != derived:
            replay.problems.append(
                f"{name} is points={row[0]} tasks={row[1]}; its records give "
                f"points={derived[0]} tasks={derived[1]}"
            )


def _compare_streaks(replay: _Replay, stored: dict[tuple[MemberId, str], tuple[date, int]]) -> None:
    for slot in sorted(stored.keys() | replay.streaks.keys()):
        member, rule = slot
        row, derived = stored.get(slot), replay.streaks.get(slot)
        if member in replay.blind:
            replay.not_recomputed += row is not None
            continue
        name = f"streak {rule} of {str(member)!r}"
        if derived is None and row is not None:
            replay.problems.append(
                f"{name} is stored (last day {row[0].isoformat()}, length {row[1]}) but no "
                "record sets it"
            )
        elif row is None and derived is not None:
            replay.problems.append(
                f"{name} is missing; its records give last day {derived[0].isoformat()}, "
                f"length {derived[1]}"
            )
        elif row is not None and derived is not None and row != derived:
            replay.problems.append(
                f"{name} is last day {row[0].isoformat()}, length {row[1]}; its records give "
                f"last day {derived[0].isoformat()}, length {derived[1]}"
            )


def _compare_budgets(replay: _Replay, stored: dict[str, int]) -> None:
    if replay.without_effects:
        # Any record may have drawn on any budget: none can be recomputed.
        replay.not_recomputed += len(stored)
        return
    for name in sorted(stored.keys() | replay.budgets.keys()):
        used, derived = stored.get(name), replay.budgets.get(name, 0)
        if used is None and derived != 0:
            replay.problems.append(f"budget {name} is missing; its records give used={derived}")
        elif used is not None and used != derived:
            replay.problems.append(f"budget {name} is used={used}; its records give used={derived}")


@attrs.frozen
class _RecordCounts:
    records: int
    counters: int
    streaks: int
    budgets: int
    without_effects: int
    not_recomputed: int


def _audit_records(unit: RecordAuditUnit, problems: list[str]) -> _RecordCounts:
    replay = _Replay()
    try:
        _replay(replay, unit.all_rule_events())
        counters = {
            (member, key): (points, tasks) for member, key, points, tasks in unit.all_counters()
        }
        streaks = {
            (member, rule): (day, length) for member, rule, day, length in unit.all_streaks()
        }
        budgets = dict(unit.all_budgets())
    except InvariantViolation as error:
        problems.extend(replay.problems)
        problems.append(f"the records could not be read: {error}")
        return _RecordCounts(replay.records, 0, 0, 0, replay.without_effects, 0)
    _compare_counters(replay, counters)
    _compare_streaks(replay, streaks)
    _compare_budgets(replay, budgets)
    problems.extend(replay.problems)
    return _RecordCounts(
        replay.records,
        len(counters),
        len(streaks),
        len(budgets),
        replay.without_effects,
        replay.not_recomputed,
    )


def _when(change: TierChange) -> str:
    return f"{change.reason.value} at {change.at.isoformat()}"


def _check_history(member: MemberId, changes: list[TierChange], problems: list[str]) -> None:
    """Each change is from the tier the one before it left; the first is from none."""
    left: str | None = None
    for number, change in enumerate(changes, start=1):
        if change.from_tier != left:
            problems.append(
                f"tier change {number} of {str(member)!r} ({_when(change)}) is from "
                f"{change.from_tier!r}, but the change before it left {left!r}"
            )
        grace = change.reason in (TierChangeReason.GRACE_STARTED, TierChangeReason.GRACE_CANCELLED)
        if grace and change.from_tier != change.to_tier:
            problems.append(
                f"tier change {number} of {str(member)!r} ({_when(change)}) moves from "
                f"{change.from_tier!r} to {change.to_tier!r}; a grace keeps the tier"
            )
        left = change.to_tier


def _check_state(state: TierState, changes: list[TierChange], problems: list[str]) -> None:
    """Check a stored tier state against what its history determines."""
    name = f"the tier state of {str(state.member)!r}"
    last = changes[-1]
    if state.tier != last.to_tier:
        problems.append(
            f"{name} is {state.tier!r}; its last tier change ({_when(last)}) gives {last.to_tier!r}"
        )
    entered = next((c for c in reversed(changes) if c.reason in _ENTERS_TIER), None)
    if entered is not None and state.since != entered.at:
        problems.append(
            f"{name} has since={state.since.isoformat()}; its tier changes give "
            f"{entered.at.isoformat()} ({_when(entered)})"
        )
    started = last.reason is TierChangeReason.GRACE_STARTED
    if started and state.grace_until is None:
        problems.append(f"{name} has no grace; its last tier change ({_when(last)}) starts one")
    elif not started and state.grace_until is not None:
        problems.append(
            f"{name} has grace_until={state.grace_until.isoformat()}; its last tier change "
            f"({_when(last)}) leaves no grace running"
        )
    if state.never_downgrade:
        manual = [n for n, c in enumerate(changes) if c.reason is TierChangeReason.MANUAL]
        if not manual:
            problems.append(f"{name} never goes down, but no manual tier change made it so")
        else:
            lowered = [c for c in changes[manual[-1] + 1 :] if c.reason in _LOWERS]
            if lowered:
                problems.append(
                    f"{name} never goes down, yet its tier change ({_when(lowered[0])}) came "
                    "after the last manual change, which alone sets that"
                )


def _audit_tiers(unit: TierAuditUnit, problems: list[str]) -> tuple[int, int]:
    try:
        states = {state.member: state for state, _version in unit.all_tiers()}
        history: defaultdict[MemberId, list[TierChange]] = defaultdict(list)
        count = 0
        for change in unit.all_tier_changes():
            history[change.member].append(change)
            count += 1
    except InvariantViolation as error:
        problems.append(f"the tier rows could not be read: {error}")
        return (0, 0)
    for member in sorted(states.keys() | history.keys()):
        state, changes = states.get(member), history.get(member, [])
        if not changes:
            if state is not None:
                problems.append(
                    f"the tier state of {str(member)!r} ({state.tier!r} since "
                    f"{state.since.isoformat()}) has no tier change behind it"
                )
            continue
        _check_history(member, changes, problems)
        if state is None:
            problems.append(
                f"the tier state of {str(member)!r} is missing; its {len(changes)} tier "
                f"change(s) end in {changes[-1].to_tier!r} ({_when(changes[-1])})"
            )
        else:
            _check_state(state, changes, problems)
    return (len(states), count)


def _unaudited(unit: object, part: str) -> str | None:
    """Why *part* cannot be audited on *unit*, or ``None`` if it can."""
    missing = missing_methods(unit, part) + missing_methods(unit, f"{part} (audit)")
    if not missing:
        return None
    return (
        f"{part}: the storage's unit {type(unit).__name__} does not implement "
        f"{', '.join(missing)}; see docs/custom-storage.md"
    )


def audit_program(
    unit: ReadUnit, *, now: datetime, seal_key: bytes | None = None
) -> ProgramAuditReport:
    """Audit the journal, the records and the tiers of a program in one read unit.

    The journal is replayed by :func:`pointkit.ledger.audit`; then every record's increments
    are replayed in the order saved and compared with the stored counters, streaks and
    budgets, and every tier state with the history behind it.

    Args:
        unit: A read unit on the program's storage: one snapshot for everything.
        now: The instant to judge time-dependent invariants at (what is due).
        seal_key: The ledger's seal key, if it has one: every transaction's seal is checked.

    Returns:
        What was checked, and which parts could not be.

    Raises:
        InvariantViolation: Listing every problem found: the journal's (as its audit words
            them), then the first 20 of the records' and the tiers', each naming its row, the
            stored value and the recomputed one.
    """
    journal: InvariantViolation | None = None
    ledger = None
    try:
        ledger = audit(unit, now=now, seal_key=seal_key)
    except InvariantViolation as error:
        journal = error
    problems: list[str] = []
    not_audited: list[str] = []
    records = None
    reason = _unaudited(unit, "records")
    if reason is None:
        records = _audit_records(cast("RecordAuditUnit", unit), problems)
    else:
        not_audited.append(reason)
    tiers = None
    reason = _unaudited(unit, "tiers")
    if reason is None:
        tiers = _audit_tiers(cast("TierAuditUnit", unit), problems)
    else:
        not_audited.append(reason)
    if journal is not None or problems:
        raise _violation(journal, problems)
    if ledger is None:  # pragma: no cover - the journal's audit returns or raises
        raise InvariantViolation("the journal's audit returned nothing")
    return ProgramAuditReport(
        ledger=ledger,
        records=None if records is None else records.records,
        counters=None if records is None else records.counters,
        streaks=None if records is None else records.streaks,
        budgets=None if records is None else records.budgets,
        tier_states=None if tiers is None else tiers[0],
        tier_changes=None if tiers is None else tiers[1],
        records_without_effects=0 if records is None else records.without_effects,
        not_recomputed=0 if records is None else records.not_recomputed,
        not_audited=tuple(not_audited),
    )


def _violation(journal: InvariantViolation | None, problems: list[str]) -> InvariantViolation:
    """One error listing the journal's problems and the records' and tiers'."""
    lines = problems[:_PROBLEMS_SHOWN]
    if len(problems) > _PROBLEMS_SHOWN:
        lines.append(f"... and {len(problems) - _PROBLEMS_SHOWN} more")
    shown = "\n  ".join(lines)
    found = f"{len(problems)} problem(s) in the records and tiers:\n  {shown}"
    if journal is None:
        return InvariantViolation(f"the audit found {found}")
    if not problems:
        return journal
    return InvariantViolation(f"{journal}\nand the audit found {found}")

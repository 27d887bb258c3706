"""The SQLite adapter's records and tiers parts: the rows the features above the ledger keep.

Events, counters, streaks and budgets (the records part), and tier states with their history
(the tiers part), written in the same transaction as the points they go with; and the audit
reads of both parts. Each record is stored with its increments and a sequence number, so the
audit can replay the records in the order they were saved.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from pointkit._values import MemberId
from pointkit.exceptions import (
    InvariantViolation,
    TransientStorageError,
)
from pointkit.ledger._codec import (
    from_micros,
    to_micros,
)
from pointkit.storage._record_rows import (
    checked_decision,
    effects_document,
    record_checksum,
    stored_rule_event,
)
from pointkit.storage._tier_rows import checked_tier, checked_tier_change


if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Iterator, Sequence
    from datetime import datetime

    from pointkit.features import CounterKey, RuleEventRecord, StoredRuleEvent
    from pointkit.tiers import TierChange, TierState


__all__ = ["FeatureRows"]


class FeatureRows:
    """The records and tiers parts of a unit of work; mixed into the adapter's unit."""

    _db: sqlite3.Connection
    _program: str

    if TYPE_CHECKING:

        def _one(self, sql: str, *args: object) -> tuple[Any, ...] | None: ...

        def _all(self, sql: str, *args: object) -> list[tuple[Any, ...]]: ...

    def earned(
        self, member: MemberId, currency: str, since: datetime | None, until: datetime
    ) -> int:
        row = self._one(
            "SELECT COALESCE(SUM(p.amount), 0) FROM pk_posting AS p JOIN pk_txn AS t "
            "ON t.program_id = p.program_id AND t.txn_id = p.txn_id "
            "WHERE p.program_id = ? AND p.member = ? AND p.currency = ? "
            "AND p.account_kind = 'member' AND p.phase = 'posted' "
            "AND p.created_at >= ? AND p.created_at < ? AND (t.kind = 'earn' OR "
            "(t.kind = 'reversal' AND EXISTS (SELECT 1 FROM pk_txn AS o "
            "WHERE o.program_id = t.program_id AND o.txn_id = t.reverses AND o.kind = 'earn')))",
            str(member),
            currency,
            -(2**63) if since is None else to_micros(since),
            to_micros(until),
        )
        return 0 if row is None else int(row[0])

    def tier(self, member: MemberId) -> tuple[TierState, int] | None:
        row = self._one(
            "SELECT version, tier, since, next_review, grace_until, never_downgrade FROM pk_tier "
            "WHERE program_id = ? AND member = ?",
            str(member),
        )
        return None if row is None else _tier(str(member), *row)

    def tier_changes(self, member: MemberId, *, limit: int) -> Sequence[TierChange]:
        rows = self._all(
            "SELECT at, from_tier, to_tier, reason, metric FROM pk_tier_change "
            "WHERE program_id = ? AND member = ? ORDER BY seq DESC LIMIT ?",
            str(member),
            limit,
        )
        return [
            checked_tier_change(str(member), from_micros(at), old, new, reason, metric)
            for at, old, new, reason, metric in reversed(rows)
        ]

    def rule_event(self, event_id: str) -> str | None:
        row = self._one(
            "SELECT decision, effects, checksum FROM pk_rule_event "
            "WHERE program_id = ? AND event_id = ?",
            event_id,
        )
        if row is None:
            return None
        decision, effects, digest = row
        return checked_decision(decision, effects, bytes(digest), event_id)

    def counters(
        self, member: MemberId, keys: Sequence[CounterKey]
    ) -> dict[CounterKey, tuple[int, int]]:
        found: dict[CounterKey, tuple[int, int]] = {}
        for scope, period in keys:
            row = self._one(
                "SELECT points, tasks FROM pk_counter WHERE program_id = ? AND member = ? "
                "AND scope = ? AND period = ?",
                str(member),
                scope,
                period,
            )
            if row is not None:
                found[(scope, period)] = (int(row[0]), int(row[1]))
        return found

    def streaks(self, member: MemberId, rules: Sequence[str]) -> dict[str, tuple[date, int]]:
        found: dict[str, tuple[date, int]] = {}
        for rule in rules:
            row = self._one(
                "SELECT last_day, length FROM pk_streak WHERE program_id = ? AND member = ? "
                "AND rule = ?",
                str(member),
                rule,
            )
            if row is not None:
                found[rule] = (date.fromisoformat(row[0]), int(row[1]))
        return found

    def budgets(self, names: Sequence[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for name in names:
            row = self._one("SELECT used FROM pk_budget WHERE program_id = ? AND name = ?", name)
            if row is not None:
                found[name] = int(row[0])
        return found

    def lock_budgets(self, names: Sequence[str]) -> dict[str, int]:
        # BEGIN IMMEDIATE already holds the database's write lock: locking is reading the rows.
        wanted = sorted(set(names))
        self._db.executemany(
            "INSERT INTO pk_budget (program_id, name, used) VALUES (?, ?, 0) "
            "ON CONFLICT (program_id, name) DO NOTHING",
            [(self._program, name) for name in wanted],
        )
        return self.budgets(wanted)

    def save_rule_event(self, record: RuleEventRecord) -> None:
        program, member = self._program, str(record.member)
        if self.rule_event(record.event_id) is not None:
            raise TransientStorageError(
                f"event {record.event_id!r} was recorded meanwhile; look it up again"
            )
        effects = effects_document(record)
        # The write lock is held (BEGIN IMMEDIATE): the program's last seq cannot move.
        self._db.execute(
            "INSERT INTO pk_rule_event (program_id, event_id, member, kind, at, decision, "
            "effects, seq, checksum) VALUES (?, ?, ?, ?, ?, ?, ?, (SELECT COALESCE(MAX(seq), 0) "
            "+ 1 FROM pk_rule_event WHERE program_id = ?), ?)",
            (
                program,
                record.event_id,
                member,
                record.kind,
                to_micros(record.at),
                record.decision,
                effects,
                program,
                record_checksum(record.decision, effects),
            ),
        )
        counter_adds, counter_takes = record.split_counters()
        self._db.executemany(
            "INSERT INTO pk_counter (program_id, member, scope, period, points, tasks) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (program_id, member, scope, period) "
            "DO UPDATE SET points = points + excluded.points, tasks = tasks + excluded.tasks",
            [
                (program, member, scope, period, points, tasks)
                for (scope, period), points, tasks in counter_adds
            ],
        )
        for (scope, period), points, tasks in counter_takes:
            self._give_back(
                "UPDATE pk_counter SET points = points + ?, tasks = tasks + ? "
                "WHERE program_id = ? AND member = ? AND scope = ? AND period = ?",
                (points, tasks, program, member, scope, period),
                f"counter {scope}/{period} of {member!r}",
            )
        self._db.executemany(
            "INSERT INTO pk_streak (program_id, member, rule, last_day, length) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (program_id, member, rule) "
            "DO UPDATE SET last_day = excluded.last_day, length = excluded.length",
            [
                (program, member, rule, day.isoformat(), length)
                for rule, day, length in record.streaks
            ],
        )
        budget_adds, budget_takes = record.split_budgets()
        self._db.executemany(
            "INSERT INTO pk_budget (program_id, name, used) VALUES (?, ?, ?) "
            "ON CONFLICT (program_id, name) DO UPDATE SET used = used + excluded.used",
            [(program, name, points) for name, points in budget_adds],
        )
        for name, points in budget_takes:
            self._give_back(
                "UPDATE pk_budget SET used = used + ? WHERE program_id = ? AND name = ?",
                (points, program, name),
                f"budget {name}",
            )

    def _give_back(self, sql: str, parameters: tuple[object, ...], what: str) -> None:
        """Run a give-back UPDATE; the row it gives back to must exist."""
        if self._db.execute(sql, parameters).rowcount != 1:
            raise InvariantViolation(f"{what} is given back to but was never counted")

    def save_tier(self, state: TierState, changes: Sequence[TierChange], *, version: int) -> None:
        program, member = self._program, str(state.member)
        values = (
            state.tier,
            to_micros(state.since),
            None if state.next_review is None else to_micros(state.next_review),
            None if state.grace_until is None else to_micros(state.grace_until),
            int(state.never_downgrade),
        )
        if version == 1:
            written = self._db.execute(
                "INSERT INTO pk_tier (program_id, member, version, tier, since, next_review, "
                "grace_until, never_downgrade) VALUES (?, ?, 1, ?, ?, ?, ?, ?) "
                "ON CONFLICT (program_id, member) DO NOTHING",
                (program, member, *values),
            ).rowcount
        else:
            written = self._db.execute(
                "UPDATE pk_tier SET version = ?, tier = ?, since = ?, next_review = ?, "
                "grace_until = ?, never_downgrade = ? WHERE program_id = ? AND member = ? "
                "AND version = ?",
                (version, *values, program, member, version - 1),
            ).rowcount
        if written != 1:
            raise TransientStorageError(
                f"the tier state of {member!r} changed meanwhile; review it again"
            )
        row = self._one(
            "SELECT COALESCE(MAX(seq), 0) FROM pk_tier_change WHERE program_id = ? AND member = ?",
            member,
        )
        last = 0 if row is None else int(row[0])
        self._db.executemany(
            "INSERT INTO pk_tier_change (program_id, member, seq, at, from_tier, to_tier, reason, "
            "metric) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    program,
                    member,
                    last + index,
                    to_micros(change.at),
                    change.from_tier,
                    change.to_tier,
                    change.reason.value,
                    change.metric,
                )
                for index, change in enumerate(changes, start=1)
            ],
        )

    # -- audit reads -----------------------------------------------------------------------

    def all_rule_events(self) -> Iterator[StoredRuleEvent]:
        rows = self._all(
            "SELECT event_id, member, kind, at, decision, effects, checksum FROM pk_rule_event "
            "WHERE program_id = ? ORDER BY seq, event_id"
        )
        return (
            stored_rule_event(event_id, member, kind, from_micros(at), decision, effects, digest)
            for event_id, member, kind, at, decision, effects, digest in rows
        )

    def all_counters(self) -> Iterator[tuple[MemberId, CounterKey, int, int]]:
        rows = self._all(
            "SELECT member, scope, period, points, tasks FROM pk_counter WHERE program_id = ? "
            "ORDER BY member, scope, period"
        )
        return (
            (MemberId(member), (scope, period), int(points), int(tasks))
            for member, scope, period, points, tasks in rows
        )

    def all_streaks(self) -> Iterator[tuple[MemberId, str, date, int]]:
        rows = self._all(
            "SELECT member, rule, last_day, length FROM pk_streak WHERE program_id = ? "
            "ORDER BY member, rule"
        )
        return (
            (MemberId(member), rule, date.fromisoformat(day), int(length))
            for member, rule, day, length in rows
        )

    def all_budgets(self) -> Iterator[tuple[str, int]]:
        rows = self._all("SELECT name, used FROM pk_budget WHERE program_id = ? ORDER BY name")
        return ((name, int(used)) for name, used in rows)

    def all_tiers(self) -> Iterator[tuple[TierState, int]]:
        rows = self._all(
            "SELECT member, version, tier, since, next_review, grace_until, never_downgrade "
            "FROM pk_tier WHERE program_id = ? ORDER BY member"
        )
        return (_tier(member, *rest) for member, *rest in rows)

    def all_tier_changes(self) -> Iterator[TierChange]:
        rows = self._all(
            "SELECT member, at, from_tier, to_tier, reason, metric FROM pk_tier_change "
            "WHERE program_id = ? ORDER BY member, seq"
        )
        return (
            checked_tier_change(member, from_micros(at), old, new, reason, metric)
            for member, at, old, new, reason, metric in rows
        )


def _tier(
    member: str,
    version: int,
    tier: object,
    since: int,
    review: int | None,
    grace: int | None,
    never: int,
) -> tuple[TierState, int]:
    """A stored tier row as a checked state and its version."""
    state = checked_tier(
        member,
        tier,
        from_micros(since),
        None if review is None else from_micros(review),
        None if grace is None else from_micros(grace),
        bool(never),
    )
    return state, int(version)

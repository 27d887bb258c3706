"""The PostgreSQL adapter's records and tiers parts: the rows the features above the ledger keep.

Events, counters, streaks and budgets (the records part), and tier states with their history
(the tiers part), written in the same transaction as the points they go with; and the audit
reads of both parts. Each record is stored with its increments and an identity number, so the
audit can replay the records in the order they were saved.
"""

from __future__ import annotations

from datetime import UTC
from typing import TYPE_CHECKING, Any, Final

import psycopg
from psycopg import errors as pg_errors

from pointkit._values import MemberId
from pointkit.exceptions import (
    InvariantViolation,
    TransientStorageError,
)
from pointkit.storage._record_rows import (
    checked_decision,
    effects_document,
    record_checksum,
    stored_rule_event,
)
from pointkit.storage._tier_rows import checked_tier, checked_tier_change
from pointkit.storage.postgres._rows import only_row


if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from datetime import date, datetime

    from pointkit.features import CounterKey, RuleEventRecord, StoredRuleEvent
    from pointkit.tiers import TierChange, TierState


__all__ = ["FeatureRows"]


# Budgets by name on one server: a lookup per name (a LATERAL subquery with a limit runs once
# per name, in the order given), so the plan stays index lookups whatever the statistics say.
# By ``name = ANY(...)`` a plan cached while pk_budget was small read every budget of the
# program for each call (5,500 rows a call, seen at 16,000 budgets).
_BUDGETS_BY_NAME: Final = (
    "SELECT k.name, b.used FROM unnest(%s::text[]) AS k(name) CROSS JOIN LATERAL "
    "(SELECT b.used FROM {s}.pk_budget AS b WHERE b.program_id = %s AND b.name = k.name "
    "LIMIT 1{lock}) AS b"
)


class FeatureRows:
    """The records and tiers parts of a unit of work; mixed into the adapter's unit."""

    _db: psycopg.Connection[Any]
    _s: str
    _program: str
    _together: bool  # one server (not distributed): budgets are read by name, a lookup each

    if TYPE_CHECKING:

        def _one(self, sql: str, *args: object) -> tuple[Any, ...] | None: ...

        def _all(self, sql: str, *args: object) -> list[tuple[Any, ...]]: ...

        def _settle(self) -> None: ...

    def earned(
        self, member: MemberId, currency: str, since: datetime | None, until: datetime
    ) -> int:
        # An earn is stored with its member, and so is its reversal: the member's own
        # transactions are all this reads (one shard, distributed by member).
        row = self._one(
            "SELECT COALESCE(SUM(p.amount), 0) FROM {s}.pk_posting AS p JOIN {s}.pk_txn AS t "
            "ON t.program_id = p.program_id AND t.member = p.txn_member AND t.txn_id = p.txn_id "
            "WHERE p.program_id = %s AND p.txn_member = %s AND p.member = %s AND p.currency = %s "
            "AND p.account_kind = 'member' AND p.phase = 'posted' "
            "AND p.created_at >= COALESCE(%s::timestamptz, '-infinity') AND p.created_at < %s "
            "AND (t.kind = 'earn' OR (t.kind = 'reversal' AND EXISTS (SELECT 1 FROM {s}.pk_txn "
            "AS o WHERE o.program_id = %s AND o.member = %s AND o.txn_id = t.reverses "
            "AND o.kind = 'earn')))",
            str(member),
            str(member),
            currency,
            since,
            until,
            self._program,
            str(member),
        )
        return 0 if row is None else int(row[0])

    def tier(self, member: MemberId) -> tuple[TierState, int] | None:
        row = self._one(
            "SELECT version, tier, since, next_review, grace_until, never_downgrade "
            "FROM {s}.pk_tier WHERE program_id = %s AND member = %s",
            str(member),
        )
        return None if row is None else _tier(str(member), *row)

    def tier_changes(self, member: MemberId, *, limit: int) -> Sequence[TierChange]:
        rows = self._all(
            "SELECT at, from_tier, to_tier, reason, metric FROM {s}.pk_tier_change "
            "WHERE program_id = %s AND member = %s ORDER BY seq DESC LIMIT %s",
            str(member),
            limit,
        )
        return [
            checked_tier_change(str(member), at.astimezone(UTC), old, new, reason, metric)
            for at, old, new, reason, metric in reversed(rows)
        ]

    def rule_event(self, event_id: str) -> str | None:
        rows = self._all(
            "SELECT decision, effects, checksum FROM {s}.pk_rule_event WHERE program_id = %s "
            "AND event_id = %s LIMIT 2",
            event_id,
        )
        row = only_row(rows, f"event id {event_id!r}")
        if row is None:
            return None
        decision, effects, digest = row
        return checked_decision(decision, effects, bytes(digest), event_id)

    def counters(
        self, member: MemberId, keys: Sequence[CounterKey]
    ) -> dict[CounterKey, tuple[int, int]]:
        if not keys:
            return {}
        rows = self._all(
            "SELECT scope, period, points, tasks FROM {s}.pk_counter "
            "WHERE program_id = %s AND member = %s AND (scope, period) IN "
            "(SELECT * FROM unnest(%s::text[], %s::text[]))",
            str(member),
            [scope for scope, _ in keys],
            [period for _, period in keys],
        )
        return {(scope, period): (int(points), int(tasks)) for scope, period, points, tasks in rows}

    def streaks(self, member: MemberId, rules: Sequence[str]) -> dict[str, tuple[date, int]]:
        if not rules:
            return {}
        rows = self._all(
            "SELECT rule, last_day, length FROM {s}.pk_streak WHERE program_id = %s "
            "AND member = %s AND rule = ANY(%s)",
            str(member),
            list(rules),
        )
        return {rule: (day, int(length)) for rule, day, length in rows}

    def budgets(self, names: Sequence[str]) -> dict[str, int]:
        if not names:
            return {}
        if self._together:
            rows = self._db.execute(
                _BUDGETS_BY_NAME.format(s=self._s, lock=""), (list(names), self._program)
            ).fetchall()
        else:
            rows = self._all(
                "SELECT name, used FROM {s}.pk_budget WHERE program_id = %s AND name = ANY(%s)",
                list(names),
            )
        return {name: int(used) for name, used in rows}

    def lock_budgets(self, names: Sequence[str]) -> dict[str, int]:
        wanted = sorted(set(names))
        if not wanted:
            return {}
        s = self._s
        # Create missing rows, then lock all in name order: a budget is one hot row that
        # every award from it must serialise on. Rows are created with VALUES (one row per
        # name, in name order), which a distributed PostgreSQL routes to the program's shard.
        values = ", ".join(["(%s, %s, 0)"] * len(wanted))
        self._db.execute(
            f"INSERT INTO {s}.pk_budget (program_id, name, used) VALUES {values} "
            "ON CONFLICT DO NOTHING",
            [value for name in wanted for value in (self._program, name)],
        )
        if self._together:
            # Each name looked up in turn, in name order, and locked as it is found.
            rows = self._db.execute(
                _BUDGETS_BY_NAME.format(s=s, lock=" FOR NO KEY UPDATE"), (wanted, self._program)
            ).fetchall()
        else:
            rows = self._db.execute(
                f"SELECT name, used FROM {s}.pk_budget WHERE program_id = %s "
                "AND name = ANY(%s) ORDER BY name FOR NO KEY UPDATE",
                (self._program, wanted),
            ).fetchall()
        return {name: int(used) for name, used in rows}

    def save_rule_event(self, record: RuleEventRecord) -> None:
        program, member, s = self._program, str(record.member), self._s
        try:
            self._write_rule_event(record, program, member, s)
        except pg_errors.UniqueViolation as error:
            # The same event id sent for another member at the same moment: their wallet
            # locks did not meet. The ledger runs the command again and finds the record.
            raise TransientStorageError(
                f"event {record.event_id!r} was recorded meanwhile; look it up again"
            ) from error

    def _write_rule_event(self, record: RuleEventRecord, program: str, member: str, s: str) -> None:
        effects = effects_document(record)
        with self._db.pipeline(), self._db.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {s}.pk_rule_event (program_id, event_id, member, kind, at, "
                "decision, effects, checksum) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    program,
                    record.event_id,
                    member,
                    record.kind,
                    record.at,
                    record.decision,
                    effects,
                    record_checksum(record.decision, effects),
                ),
            )
            counter_adds, counter_takes = record.split_counters()
            budget_adds, budget_takes = record.split_budgets()
            if counter_adds:
                cursor.executemany(
                    f"INSERT INTO {s}.pk_counter (program_id, member, scope, period, points, "
                    "tasks) VALUES (%s, %s, %s, %s, %s, %s) "
                    "ON CONFLICT (program_id, member, scope, period) DO UPDATE SET "
                    "points = pk_counter.points + excluded.points, "
                    "tasks = pk_counter.tasks + excluded.tasks",
                    [
                        (program, member, scope, period, points, tasks)
                        for (scope, period), points, tasks in counter_adds
                    ],
                )
            if record.streaks:
                cursor.executemany(
                    f"INSERT INTO {s}.pk_streak (program_id, member, rule, last_day, length) "
                    "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (program_id, member, rule) "
                    "DO UPDATE SET last_day = excluded.last_day, length = excluded.length",
                    [(program, member, rule, day, length) for rule, day, length in record.streaks],
                )
            if budget_adds:
                cursor.executemany(
                    f"INSERT INTO {s}.pk_budget (program_id, name, used) VALUES (%s, %s, %s) "
                    "ON CONFLICT (program_id, name) DO UPDATE SET "
                    "used = pk_budget.used + excluded.used",
                    [(program, name, points) for name, points in budget_adds],
                )
        # Give-backs (a released redemption's stock, a pity reset) update rows that exist;
        # each is checked, so they run after the pipeline, one statement each.
        for (scope, period), points, tasks in counter_takes:
            self._give_back(
                f"UPDATE {s}.pk_counter SET points = points + %s, tasks = tasks + %s "
                "WHERE program_id = %s AND member = %s AND scope = %s AND period = %s",
                (points, tasks, program, member, scope, period),
                f"counter {scope}/{period} of {member!r}",
            )
        for name, points in budget_takes:
            self._give_back(
                f"UPDATE {s}.pk_budget SET used = used + %s WHERE program_id = %s AND name = %s",
                (points, program, name),
                f"budget {name}",
            )

    def _give_back(self, sql: str, parameters: tuple[object, ...], what: str) -> None:
        """Run a give-back UPDATE; the row it gives back to must exist."""
        cursor = self._db.execute(sql, parameters)
        self._settle()  # a row count is known once the statement is answered
        if cursor.rowcount != 1:
            raise InvariantViolation(f"{what} is given back to but was never counted")

    def save_tier(self, state: TierState, changes: Sequence[TierChange], *, version: int) -> None:
        program, member = self._program, str(state.member)
        values = (
            state.tier,
            state.since,
            state.next_review,
            state.grace_until,
            state.never_downgrade,
        )
        if version == 1:
            cursor = self._db.execute(
                f"INSERT INTO {self._s}.pk_tier (program_id, member, version, tier, since, "
                "next_review, grace_until, never_downgrade) VALUES (%s, %s, 1, %s, %s, %s, %s, %s) "
                "ON CONFLICT (program_id, member) DO NOTHING",
                (program, member, *values),
            )
        else:
            # The version guard under READ COMMITTED: a concurrent review that committed first
            # leaves no row at the old version, so this one retries on the new state.
            cursor = self._db.execute(
                f"UPDATE {self._s}.pk_tier SET version = %s, tier = %s, since = %s, "
                "next_review = %s, grace_until = %s, never_downgrade = %s "
                "WHERE program_id = %s AND member = %s AND version = %s",
                (version, *values, program, member, version - 1),
            )
        self._settle()  # a row count is known once the statement is answered
        if cursor.rowcount != 1:
            raise TransientStorageError(
                f"the tier state of {member!r} changed meanwhile; review it again"
            )
        if changes:
            # Appended under the row the statement above locked, so seq numbers cannot race;
            # rows created with VALUES, which a distributed PostgreSQL routes to one shard.
            row = self._db.execute(
                f"SELECT COALESCE(MAX(seq), 0) FROM {self._s}.pk_tier_change "
                "WHERE program_id = %s AND member = %s",
                (program, member),
            ).fetchone()
            last = 0 if row is None else int(row[0])
            with self._db.cursor() as cursor:
                cursor.executemany(
                    f"INSERT INTO {self._s}.pk_tier_change (program_id, member, seq, at, from_tier, "
                    "to_tier, reason, metric) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                    [
                        (
                            program,
                            member,
                            last + n,
                            c.at,
                            c.from_tier,
                            c.to_tier,
                            c.reason.value,
                            c.metric,
                        )
                        for n, c in enumerate(changes, start=1)
                    ],
                )

    # -- audit reads -----------------------------------------------------------------------

    def all_rule_events(self) -> Iterator[StoredRuleEvent]:
        rows = self._all(
            "SELECT event_id, member, kind, at, decision, effects, checksum "
            "FROM {s}.pk_rule_event WHERE program_id = %s ORDER BY seq"
        )
        return (
            stored_rule_event(
                event_id, member, kind, at.astimezone(UTC), decision, effects, bytes(digest)
            )
            for event_id, member, kind, at, decision, effects, digest in rows
        )

    def all_counters(self) -> Iterator[tuple[MemberId, CounterKey, int, int]]:
        rows = self._all(
            "SELECT member, scope, period, points, tasks FROM {s}.pk_counter "
            "WHERE program_id = %s ORDER BY member, scope, period"
        )
        return (
            (MemberId(member), (scope, period), int(points), int(tasks))
            for member, scope, period, points, tasks in rows
        )

    def all_streaks(self) -> Iterator[tuple[MemberId, str, date, int]]:
        rows = self._all(
            "SELECT member, rule, last_day, length FROM {s}.pk_streak WHERE program_id = %s "
            "ORDER BY member, rule"
        )
        return ((MemberId(member), rule, day, int(length)) for member, rule, day, length in rows)

    def all_budgets(self) -> Iterator[tuple[str, int]]:
        rows = self._all("SELECT name, used FROM {s}.pk_budget WHERE program_id = %s ORDER BY name")
        return ((name, int(used)) for name, used in rows)

    def all_tiers(self) -> Iterator[tuple[TierState, int]]:
        rows = self._all(
            "SELECT member, version, tier, since, next_review, grace_until, never_downgrade "
            "FROM {s}.pk_tier WHERE program_id = %s ORDER BY member"
        )
        return (_tier(member, *rest) for member, *rest in rows)

    def all_tier_changes(self) -> Iterator[TierChange]:
        rows = self._all(
            "SELECT member, at, from_tier, to_tier, reason, metric FROM {s}.pk_tier_change "
            "WHERE program_id = %s ORDER BY member, seq"
        )
        return (
            checked_tier_change(member, at.astimezone(UTC), old, new, reason, metric)
            for member, at, old, new, reason, metric in rows
        )


def _tier(
    member: str,
    version: int,
    tier: object,
    since: datetime,
    review: datetime | None,
    grace: datetime | None,
    never: object,
) -> tuple[TierState, int]:
    """A stored tier row as a checked state and its version."""
    state = checked_tier(
        member,
        tier,
        since.astimezone(UTC),
        None if review is None else review.astimezone(UTC),
        None if grace is None else grace.astimezone(UTC),
        never,
    )
    return state, int(version)

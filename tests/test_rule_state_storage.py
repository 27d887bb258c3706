"""The rule state behind the storage protocol: events, counters, streaks and budgets."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

import pytest

from pointkit import MemberId, ProgramId
from pointkit.exceptions import TransientStorageError
from pointkit.features import RuleEventRecord
from pointkit.features._parts import record_reader, record_writer


if TYPE_CHECKING:
    from pointkit.ledger import Storage

AT = datetime(2026, 3, 1, 4, 0, tzinfo=UTC)
ALICE = MemberId("alice")
DAY = ("program", "day:2026-03-01")
RULE_DAY = ("rule:sign-in", "day:2026-03-01")


def _record(event_id: str, **changes: object) -> RuleEventRecord:
    fields: dict[str, object] = {
        "event_id": event_id,
        "member": ALICE,
        "kind": "sign_in",
        "at": AT,
        "decision": f'{{"event":"{event_id}"}}',
    }
    fields.update(changes)
    return RuleEventRecord(**fields)  # type: ignore[arg-type]


def test_rule_state_accumulates(any_storage: Storage) -> None:
    """Counters and budgets add increments, streaks take new values, events are kept."""
    program = ProgramId(f"state-{uuid.uuid4().hex}")
    with any_storage.writing(program) as unit:
        writer = record_writer(unit, "test")
        assert {"launch": 0, "vip": 0} == writer.lock_budgets(["vip", "launch"])
        writer.save_rule_event(
            _record(
                "e1",
                counters=((DAY, 10, 1), (RULE_DAY, 10, 1)),
                streaks=(("sign-in", date(2026, 3, 1), 1),),
                budgets=(("launch", 10),),
            )
        )
    with any_storage.writing(program) as unit:
        writer = record_writer(unit, "test")
        assert {"launch": 10} == writer.lock_budgets(["launch"])
        writer.save_rule_event(
            _record(
                "e2",
                counters=((DAY, 5, 1),),
                streaks=(("sign-in", date(2026, 3, 2), 2),),
                budgets=(("launch", 5),),
            )
        )
    with any_storage.reading(program) as unit:
        reader = record_reader(unit, "test")
        assert '{"event":"e1"}' == reader.rule_event("e1")
        assert reader.rule_event("e3") is None
        assert {DAY: (15, 2), RULE_DAY: (10, 1)} == reader.counters(
            ALICE, [DAY, RULE_DAY, ("program", "day:2026-03-02")]
        )
        assert {} == reader.counters(MemberId("bob"), [DAY])
        assert {"sign-in": (date(2026, 3, 2), 2)} == reader.streaks(ALICE, ["sign-in", "share"])
        assert {"launch": 15, "vip": 0} == reader.budgets(["launch", "vip", "none"])


def test_an_event_is_recorded_once(any_storage: Storage) -> None:
    """Recording an event id twice is refused as transient, and the unit rolls back whole."""
    program = ProgramId(f"state-{uuid.uuid4().hex}")
    with any_storage.writing(program) as unit:
        writer = record_writer(unit, "test")
        writer.save_rule_event(_record("e1", counters=((DAY, 1, 1),)))
    with pytest.raises(TransientStorageError), any_storage.writing(program) as unit:
        record_writer(unit, "test").save_rule_event(_record("e1", counters=((DAY, 1, 1),)))
    with any_storage.reading(program) as unit:
        reader = record_reader(unit, "test")
        assert {DAY: (1, 1)} == reader.counters(ALICE, [DAY])

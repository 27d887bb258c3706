"""Records as the SQLite and PostgreSQL adapters store them: the increments and the checksum.

Maintainer's notes
------------------
A record row keeps its decision and, from schema version 4, its increments ("effects": the
counter, streak and budget changes it made) as a JSON document beside it, so that an audit can
replay every record and recompute the derived rows. The checksum of a row with effects covers
both documents: the SHA-256 of the decision's length in characters, a colon, the decision and
the effects, so no text can move from one document to the other unnoticed. A row written
before version 4 has no effects, and its checksum covers the decision alone; it stays readable.
"""

from __future__ import annotations

import json
from datetime import date
from typing import TYPE_CHECKING, Any

from pointkit._values import MemberId
from pointkit.exceptions import InvariantViolation
from pointkit.features._parts import RuleEventRecord, StoredRuleEvent
from pointkit.ledger._codec import checked_document, checksum


if TYPE_CHECKING:
    from datetime import datetime


__all__ = ["checked_decision", "effects_document", "record_checksum", "stored_rule_event"]


def effects_document(record: RuleEventRecord) -> str:
    """The increments of *record* as the JSON document stored with it."""
    return json.dumps(
        {
            "budgets": [[name, points] for name, points in record.budgets],
            "counters": [
                [scope, period, points, tasks] for (scope, period), points, tasks in record.counters
            ],
            "streaks": [[rule, day.isoformat(), length] for rule, day, length in record.streaks],
        },
        sort_keys=True,
        separators=(",", ":"),
    )


def record_checksum(decision: str, effects: str | None) -> bytes:
    """The checksum stored with a record: of the decision alone for a row without effects."""
    if effects is None:
        return checksum(decision)
    return checksum(f"{len(decision)}:{decision}{effects}")


def checked_decision(decision: str, effects: str | None, digest: bytes, event_id: str) -> str:
    """Return a stored record's decision if the row matches its checksum; raise if not."""
    what = f"event {event_id!r}"
    if effects is None:
        return checked_document(decision, digest, what)
    if record_checksum(decision, effects) != bytes(digest):
        raise InvariantViolation(f"the stored record of {what} does not match its checksum")
    return decision


def stored_rule_event(
    event_id: str,
    member: str,
    kind: str,
    at: datetime,
    decision: str,
    effects: str | None,
    digest: bytes,
) -> StoredRuleEvent:
    """A stored record row, checked against its checksum, with its increments decoded."""
    checked_decision(decision, effects, digest, event_id)
    record = RuleEventRecord(
        event_id=event_id, member=MemberId(member), kind=kind, at=at, decision=decision
    )
    if effects is None:
        return StoredRuleEvent(record, has_effects=False)
    try:
        counters, streaks, budgets = _decoded(json.loads(effects))
    except (ValueError, TypeError, KeyError) as error:
        raise InvariantViolation(
            f"the stored increments of event {event_id!r} are corrupt: {error}"
        ) from None
    return StoredRuleEvent(
        RuleEventRecord(
            event_id=event_id,
            member=MemberId(member),
            kind=kind,
            at=at,
            decision=decision,
            counters=counters,
            streaks=streaks,
            budgets=budgets,
        ),
        has_effects=True,
    )


def _decoded(
    document: Any,  # noqa: ANN401 - parsed JSON, checked here
) -> tuple[
    tuple[tuple[tuple[str, str], int, int], ...],
    tuple[tuple[str, date, int], ...],
    tuple[tuple[str, int], ...],
]:
    """Check and convert a parsed effects document; raise ValueError naming what is wrong."""
    if not isinstance(document, dict) or set(document) != {"budgets", "counters", "streaks"}:
        raise ValueError(f"{document!r} is not a document of budgets, counters and streaks")
    counters = tuple(
        ((_text(scope), _text(period)), _int(points), _int(tasks))
        for scope, period, points, tasks in _rows(document["counters"], 4)
    )
    streaks = tuple(
        (_text(rule), date.fromisoformat(_text(day)), _int(length))
        for rule, day, length in _rows(document["streaks"], 3)
    )
    budgets = tuple((_text(name), _int(points)) for name, points in _rows(document["budgets"], 2))
    return counters, streaks, budgets


def _rows(value: object, width: int) -> list[list[object]]:
    if not isinstance(value, list) or not all(
        isinstance(row, list) and len(row) == width for row in value
    ):
        raise ValueError(f"{value!r} is not a list of rows of {width}")
    return value


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{value!r} is not a string")
    return value


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{value!r} is not an integer")
    return value

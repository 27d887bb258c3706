"""Decisions encoded when read, and memory storage's expiry pass skipped until a lot is due."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import attrs
import pytest

from pointkit import FixedClock, Ledger, MemberId, Money
from pointkit.features import Earning, EventOutcome, RuleEventRecord
from pointkit.rules import Event, Fixed, Rate, Rule, RuleSet
from pointkit.storage.memory import MemoryStorage


T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
DAY = timedelta(days=1)
RULES = RuleSet(
    [
        Rule("spend", ("purchase",), Rate(1, per=Money("10", "CNY"), rounding="floor")),
        Rule("sign-in", ("sign_in",), Fixed(5)),
    ],
    zone="Asia/Shanghai",
)


def _order(event_id: str, amount: str) -> Event:
    return Event.purchase(event_id, "alice", T0, amount=Money(amount, "CNY"), order_id=event_id)


def test_a_deferred_record_is_the_record_it_encodes() -> None:
    """A deferred record equals, hashes and prints as the eager one, and encodes once."""
    calls: list[int] = []

    def encode() -> str:
        calls.append(1)
        return '{"a":1}'

    alice = MemberId("alice")
    deferred = RuleEventRecord.deferred(encode, event_id="e1", member=alice, kind="sign_in", at=T0)
    eager = RuleEventRecord(event_id="e1", member=alice, kind="sign_in", at=T0, decision='{"a":1}')
    assert [] == calls
    assert (eager, hash(eager), repr(eager)) == (deferred, hash(deferred), repr(deferred))
    assert ('{"a":1}', [1]) == (deferred.decision, calls)
    assert '{"a":1}' == attrs.evolve(deferred).decision
    with pytest.raises(AttributeError, match="has no attribute 'decisions'"):
        _ = deferred.decisions  # type: ignore[attr-defined]


def test_an_outcome_document_is_the_decision_as_json() -> None:
    """An event's document, read later, is its decision's JSON, as the replay returns it."""
    ledger = Ledger(MemoryStorage(), clock=FixedClock(T0))
    earning = Earning(ledger)
    outcome = earning.record(_order("order-1", "120.00"), RULES)
    assert outcome.decision is not None
    again = earning.record(_order("order-1", "120.00"), RULES)
    assert (outcome.decision.to_json(), True) == (again.document, again.replayed)
    assert outcome.document == again.document
    assert isinstance(outcome, EventOutcome)
    assert outcome == attrs.evolve(outcome)


def test_threads_reading_a_deferred_text_agree() -> None:
    """Threads reading one deferred text at once all get the same text."""
    record = RuleEventRecord.deferred(
        lambda: '{"b":2}',
        event_id="e2",
        member=MemberId("bob"),
        kind="share",
        at=T0,
    )
    seen: list[str] = []
    threads = [threading.Thread(target=lambda: seen.append(record.decision)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert ['{"b":2}'] * 8 == seen


def test_memory_expiry_finds_a_lot_opened_after_a_quiet_pass() -> None:
    """A pass that found nothing due does not hide a lot opened later that expires sooner."""
    clock = FixedClock(T0)
    ledger = Ledger(MemoryStorage(), clock=clock)
    ledger.earn("alice", 10, key="late", expires_at=T0 + 30 * DAY)
    assert 0 == ledger.expire_due().lots_expired
    ledger.earn("bob", 7, key="soon", expires_at=T0 + DAY)
    clock.advance(2 * DAY)
    assert (1, 0) == (ledger.expire_due().lots_expired, ledger.balance("bob").posted)
    clock.advance(30 * DAY)
    assert (1, 0) == (ledger.expire_due().lots_expired, ledger.balance("alice").posted)


class _AbortError(Exception):
    """Raised to roll a unit back."""


def test_memory_expiry_looks_again_after_a_rolled_back_unit() -> None:
    """A lot a rolled-back unit closed is open again, and expires when due."""
    clock = FixedClock(T0)
    ledger = Ledger(MemoryStorage(), clock=clock)
    ledger.earn("alice", 10, key="e1", expires_at=T0 + DAY)
    passes: list[int] = []

    def spend_then_fail() -> None:
        with ledger.linked() as link:
            link.redeem("alice", 10, key="spend")
            clock.advance(2 * DAY)
            # The storage's lock is re-entrant: a pass runs inside, with the lot closed.
            passes.append(ledger.expire_due().lots_expired)
            raise _AbortError

    with pytest.raises(_AbortError):
        spend_then_fail()
    assert ([0], 1) == (passes, ledger.expire_due().lots_expired)
    assert 0 == ledger.balance("alice").posted

"""The transactional outbox: an event exactly when its change commits, read in order, at least once."""

from __future__ import annotations

import runpy
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import attrs
import pytest

from pointkit import (
    FixedClock,
    InsufficientPointsError,
    Ledger,
    LedgerPolicy,
    MemoryStorage,
    ProgramId,
)
from pointkit.exceptions import (
    ArgumentTypeError,
    InvalidArgumentError,
    LimitExceededError,
    TransientStorageError,
)
from pointkit.ledger import (
    EVENT_TYPES,
    Outbox,
    PointsEvent,
    WalletEffect,
    remind_expiring,
    transaction_event,
)
from pointkit.ledger._outbox import _jsonable
from pointkit.pricing import SeededRandom
from pointkit.program import Program, load_config
from pointkit.storage.postgres import _outbox_rows as outbox_rows
from pointkit.storage.postgres._outbox_rows import OutboxRows


if TYPE_CHECKING:
    from pointkit.ledger import OutboxEvent, Storage


MALL = Path(__file__).parent.parent / "src" / "pointkit" / "program" / "points_mall.toml"
START = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)


def _ledger(storage: Storage, clock: FixedClock | None = None) -> Ledger:
    return Ledger(
        storage, clock=clock or FixedClock(START), program=f"outbox-{uuid.uuid4().hex[:8]}"
    )


def _all(outbox: Outbox, consumer: str = "all") -> list[OutboxEvent]:
    events: list[OutboxEvent] = []
    while batch := outbox.read(consumer, limit=7).events:
        events += batch
        outbox.ack(consumer, batch[-1].cursor)
    return events


def test_every_command_writes_its_event_with_the_change(any_storage: Storage) -> None:
    """One event per transaction, in commit order; refused and rolled-back work writes none."""
    ledger = _ledger(any_storage)
    earned = ledger.earn("ann", 100, key="e1")
    ledger.redeem("ann", 30, key="r1")
    hold = ledger.reserve("ann", 20, key="h1", timeout_seconds=60)
    assert hold.hold is not None
    ledger.capture(hold.hold, key="c1")
    ledger.transfer("ann", "bob", 10, key="t1")
    ledger.reverse(earned.id, key="back", amount=5)
    ledger.adjust("bob", 3, key="a1", reason="goodwill")
    with pytest.raises(InsufficientPointsError):
        ledger.redeem("bob", 1_000, key="r2")

    def host_fails() -> None:
        with ledger.linked() as link:
            link.earn("ann", 7, key="linked-1")
            raise RuntimeError("host failed")

    with pytest.raises(RuntimeError, match="host failed"):
        host_fails()
    ledger.earn("ann", 100, key="e1")  # a replay writes nothing new
    events = _all(Outbox.of(ledger))
    assert [event.type for event in events] == [
        "points.earned",
        "points.redeemed",
        "hold.created",
        "hold.captured",
        "points.transferred",
        "points.reversed",
        "points.adjusted",
    ]
    with any_storage.reading(ledger.program) as unit:
        journal = {str(txn.id): txn for txn in unit.all_transactions()}
    for event in events:
        expected = transaction_event(journal[event.data["transaction"]])
        assert (event.id, event.type, dict(event.data)) == (
            expected.id,
            expected.type,
            dict(expected.data),
        )
        assert event.program == str(ledger.program)
    transfer = events[4].data
    assert [(w["member"], w["change"], w["balance"]) for w in transfer["wallets"]] == [
        ("ann", -10, 40),
        ("bob", 10, 10),
    ]


def test_consumers_read_in_order_acknowledge_and_get_again_what_they_did_not(
    any_storage: Storage,
) -> None:
    """At least once: an unacknowledged batch comes again; consumers are independent."""
    ledger = _ledger(any_storage)
    for n in range(5):
        ledger.earn("ann", n + 1, key=f"e{n}")
    outbox = Outbox.of(ledger)
    first = outbox.read("crm", limit=3)
    assert [event.data["amount"] for event in first.events] == [1, 2, 3]
    again = outbox.read("crm", limit=3)  # not acknowledged: delivered again, same ids
    assert [event.id for event in again.events] == [event.id for event in first.events]
    outbox.ack("crm", first.cursor)
    rest = outbox.read("crm")
    assert [event.data["amount"] for event in rest.events] == [4, 5]
    outbox.ack("crm", rest.cursor)
    outbox.ack("crm", first.cursor)  # never backwards
    assert outbox.read("crm").events == ()
    assert outbox.position("crm") == rest.cursor
    assert len(outbox.read("webhooks").events) == 5  # another consumer starts at the start
    ledger.earn("ann", 6, key="e5")
    assert [event.data["amount"] for event in outbox.read("crm").events] == [6]


def test_dead_letters_are_parked_with_their_reason(any_storage: Storage) -> None:
    """A consumer parks what it gave up on; the reason is one printable line."""
    ledger = _ledger(any_storage)
    ledger.earn("ann", 1, key="e1")
    outbox = Outbox.of(ledger)
    event = outbox.read("hooks").events[0]
    outbox.dead_letter("hooks", event, "HTTP 410 Gone\nfrom https://crm.example")
    outbox.dead_letter("hooks", event, "again")  # parked once
    assert [(p.id, p.program, reason) for p, reason in outbox.dead_letters("hooks")] == [
        (event.id, str(ledger.program), "HTTP 410 Gone from https://crm.example")
    ]
    assert outbox.dead_letters("crm") == ()


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda o: o.read(""), InvalidArgumentError, "consumer='' must be non-empty"),
        (lambda o: o.read("x" * 65), LimitExceededError, "OUTBOX_CONSUMER_LENGTH_MAX"),
        (lambda o: o.read("crm", limit=0), InvalidArgumentError, "limit=0"),
        (lambda o: o.read("crm", limit=10_001), LimitExceededError, "OUTBOX_READ_MAX"),
        (lambda o: o.ack("crm", "yesterday"), InvalidArgumentError, "cursor='yesterday' is not"),
        (lambda o: o.ack("crm", 5), ArgumentTypeError, "cursor=5 must be a str"),
    ],
)
def test_bad_arguments_are_refused(
    any_storage: Storage, call: object, error: type[Exception], message: str
) -> None:
    """Names, limits and cursors are checked before anything is read or written."""
    outbox = Outbox.of(_ledger(any_storage))
    with pytest.raises(error, match=message):
        call(outbox)  # type: ignore[operator]


def test_a_storage_without_the_outbox_part_runs_the_ledger_and_says_so() -> None:
    """The points-only adapter of the examples has no outbox: commands work, reads explain."""
    namespace = runpy.run_path(
        str(Path(__file__).parent.parent / "examples" / "points_only_storage.py")
    )
    ledger = _ledger(namespace["DictStorage"]())
    ledger.earn("ann", 5, key="e1")
    with pytest.raises(ArgumentTypeError, match="has no outbox part: its units lack"):
        Outbox.of(ledger).read("crm")


def test_features_write_their_events(any_storage: Storage) -> None:
    """Tiers, redemptions, draws and conversions report themselves with the points."""
    config = attrs.evolve(load_config(MALL), id=f"outbox-{uuid.uuid4().hex[:8]}")
    mall = Program(config, storage=any_storage, clock=FixedClock(START))
    mall.adjust("ann", 60_000, key="gift", reason="welcome")
    mall.set_tier("ann", "gold")
    coupon = mall.redeem("ann", "coupon", key="buy-1")
    mall.fulfil(coupon.key, key="ship-1")
    mall.fulfil(coupon.key, key="ship-1")  # sent again: no second event
    watch = mall.redeem("ann", "watch", key="buy-2")
    mall.cancel(watch.key, key="cancel-2")
    won = None
    for n in range(40):
        drawn = mall.draw("ann", "wheel", draw_id=f"d{n}", minor=False, random=SeededRandom(n))
        if drawn.record.kind != "nothing":
            won = drawn
            break
    mall.convert("ann", "points-to-miles", 2_000, key="c1")
    events = _all(Outbox(any_storage, program=config.id))
    kinds = [event.type for event in events]
    for kind in ("redemption.reserved", "redemption.fulfilled", "redemption.cancelled",
                 "conversion.done"):  # fmt: skip
        assert kind in kinds, kind
    assert kinds.count("redemption.fulfilled") == 1
    fulfilled = next(event for event in events if event.type == "redemption.fulfilled")
    assert (fulfilled.data["redemption"], fulfilled.data["offer"]) == ("buy-1", "coupon")
    assert any(e.type == "tier.changed" and e.data["to_tier"] == "gold" for e in events)
    if won is not None:
        award = next(event for event in events if event.type == "draw.won")
        assert (award.data["draw_id"], award.data["prize"]) == (
            won.record.draw_id,
            won.record.prize,
        )
    assert set(kinds) <= set(EVENT_TYPES)


def test_expiring_points_are_announced_once(any_storage: Storage) -> None:
    """The reminder job writes one event per member and expiry, however often it runs."""
    clock = FixedClock(START)
    ledger = _ledger(any_storage, clock)
    ledger.earn("ann", 10, key="e1", expires_at=START + timedelta(days=3))
    ledger.earn("bob", 20, key="e2", expires_at=START + timedelta(days=3))
    ledger.earn("cy", 30, key="e3", expires_at=START + timedelta(days=90))
    assert (2, 2) == remind_expiring(ledger, timedelta(days=7))
    assert (2, 0) == remind_expiring(ledger, timedelta(days=7))  # nothing twice
    ledger.earn("ann", 5, key="e4", expires_at=START + timedelta(days=4))
    assert (3, 1) == remind_expiring(ledger, timedelta(days=7), page=1)
    reminders = [e for e in _all(Outbox.of(ledger)) if e.type == "points.expiring"]
    assert sorted((e.data["member"], e.data["points"]) for e in reminders) == [
        ("ann", 5),
        ("ann", 10),
        ("bob", 20),
    ]


def test_a_unit_still_open_holds_back_later_events_on_postgres(
    postgres_storage: Storage,
) -> None:
    """PostgreSQL hands out numbers at insert: a reader waits for the unit that got one first."""
    ledger = _ledger(postgres_storage)
    ledger.earn("ann", 1, key="e0")
    outbox = Outbox.of(ledger)
    assert len(outbox.read("crm").events) == 1
    storage = postgres_storage
    with storage.writing(ProgramId(str(ledger.program))) as slow:
        first = ledger.transaction_by_key("e0")
        assert first is not None
        slow.append_events(  # type: ignore[attr-defined]
            [attrs.evolve(transaction_event(first), id=uuid.uuid4())]
        )
        ledger.earn("bob", 2, key="e1")  # commits while the slow unit is still open
        assert [event.data["key"] for event in outbox.read("crm").events] == ["e0"]
    events = outbox.read("crm").events
    assert [event.data["key"] for event in events] == ["e0", "e0", "e1"]  # the slow one first


def test_program_events_are_json_documents(any_storage: Storage) -> None:
    """to_json gives the message relays send: the envelope and the data."""
    ledger = _ledger(any_storage)
    ledger.earn("ann", 10, key="e1", metadata={"order": "o-1"})
    (event,) = Outbox.of(ledger).read("crm").events
    message = event.to_json()
    assert set(message) == {"id", "type", "version", "program", "occurred_at", "data"}
    assert message["data"]["metadata"] == [["order", "o-1"]]
    assert message["occurred_at"] == START.isoformat()


def test_a_transaction_event_holds_its_points_event_record() -> None:
    """transaction_event's data is the PointsEvent record as JSON data, for every kind."""
    clock = FixedClock(START)
    ledger = Ledger(MemoryStorage(), clock=clock, policy=LedgerPolicy(clawback="clamp"))
    earned = ledger.earn("ann", 100, key="e1", reason="order «1»", metadata={"k": 'v"«»'})
    hold = ledger.reserve("ann", 20, key="h1", timeout_seconds=60)
    assert hold.hold is not None
    captured = ledger.capture(hold.hold, key="c1")
    released = ledger.release(ledger.reserve("ann", 5, key="h2", timeout_seconds=60).id, key="l1")
    moved = ledger.transfer("ann", "bob", 60, key="t1")
    reversed_ = ledger.reverse(earned.id, key="back")
    adjusted = ledger.adjust("bob", -500, key="a1", reason="fix")
    for transaction in (earned, hold, captured, released, moved, reversed_, adjusted):
        record = PointsEvent(
            transaction=str(transaction.id),
            key=transaction.key,
            kind=transaction.kind.value,
            currency=transaction.currency,
            amount=transaction.amount,
            wallets=tuple(
                WalletEffect(str(change.member), change.posted_change, change.posted, change.held)
                for change in transaction.wallet_changes
            ),
            reason=transaction.reason,
            hold=None if transaction.hold is None else str(transaction.hold),
            reverses=None if transaction.reverses is None else str(transaction.reverses),
            written_off=transaction.written_off,
            metadata=transaction.metadata,
        )
        event = transaction_event(transaction)
        assert _jsonable(record) == event.data
        assert list(_jsonable(record)) == list(event.data)  # the fields in the record's order
    assert adjusted.written_off > 0


class _PreparedOnWorkers(OutboxRows):
    """The outbox part with the workers' prepared transactions scripted, look by look."""

    def __init__(self, looks: list[set[str]]) -> None:
        self.looks = looks
        self.seen = 0

    def _prepared(self) -> set[str]:
        found = self.looks[min(self.seen, len(self.looks) - 1)]
        self.seen += 1
        return set(found)


def test_distributed_by_member_the_reader_waits_out_what_was_prepared() -> None:
    """It waits until the transactions prepared when it looked have ended, not for later ones.

    Distributed by member, a unit on two workers commits in two phases: its events appear only
    when the workers commit what they prepared (storage/postgres/_outbox_rows.py).
    """
    unit = _PreparedOnWorkers([{"w1:a", "w2:b"}, {"w2:b", "w1:c"}, {"w1:c", "w2:d"}])
    unit._wait_for_prepared()
    assert unit.seen == 3  # a ended by the second look, b by the third; c and d came later
    idle = _PreparedOnWorkers([set()])
    idle._wait_for_prepared()
    assert idle.seen == 1


def test_distributed_by_member_a_transaction_that_stays_prepared_is_transient(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A worker that never commits what it prepared fails the read as transient, not forever."""
    monkeypatch.setattr(outbox_rows, "_PREPARED_WAIT_SECONDS", 0.02)
    stuck = _PreparedOnWorkers([{"w1:a"}])
    with pytest.raises(TransientStorageError, match="stayed prepared"):
        stuck._wait_for_prepared()
    assert stuck.seen > 2

"""The write path's shortcuts write exactly what the plain code they stand for would.

Event ids are worked out without ``uuid.uuid5``'s set-up, a transaction's event body is written
with its data rather than by ``json.dumps``, SQLite's batch read of wallets reuses the member
ids it was asked for, and lots made at the transaction's instant reuse its written time: each
is checked here against the long way round.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pointkit import FixedClock, Ledger, LedgerPolicy, MemberId, ProgramId
from pointkit.exceptions import InvariantViolation
from pointkit.ledger import Earn, event_id, transaction_event
from pointkit.ledger._codec import to_micros
from pointkit.ledger._outbox import _NAMESPACE
from pointkit.storage.memory import MemoryStorage


if TYPE_CHECKING:
    from pointkit.ledger import Transaction
    from pointkit.storage.sqlite import SQLiteStorage


@given(kind=st.text(max_size=20), source=st.text(max_size=60))
def test_event_ids_are_uuid5(kind: str, source: str) -> None:
    """event_id is uuid.uuid5 of pointkit's namespace and "kind:source", for any text."""
    expected = uuid.uuid5(_NAMESPACE, f"{kind}:{source}")
    actual = event_id(kind, source)
    assert expected == actual
    assert (expected.version, expected.variant) == (actual.version, actual.variant)


def _every_kind(clock: FixedClock) -> list[Transaction]:
    """One transaction of each kind, with text JSON escapes and text it keeps as it is."""
    ledger = Ledger(MemoryStorage(), clock=clock, policy=LedgerPolicy(clawback="clamp"))
    earned = ledger.earn(
        'ann "«q»"', 100, key="e\\1", reason='order «1» \\ "x"', metadata={"k": 'v"«»', "z": "é"}
    )
    hold = ledger.reserve('ann "«q»"', 20, key="h1", timeout_seconds=60)
    assert hold.hold is not None
    captured = ledger.capture(hold.hold, key="c1")
    reserved = ledger.reserve('ann "«q»"', 5, key="h2", timeout_seconds=60)
    released = ledger.release(reserved.id, key="l1")
    moved = ledger.transfer('ann "«q»"', "bob", 60, key="t1")
    reversed_ = ledger.reverse(earned.id, key="back")
    adjusted = ledger.adjust("bob", -500, key="a1", reason="fix")
    assert adjusted.written_off > 0
    return [earned, hold, captured, released, moved, reversed_, adjusted]


def test_transaction_event_bodies_are_what_json_dumps_writes(clock: FixedClock) -> None:
    """A transaction event's body is its data as json.dumps writes it, for every kind."""
    for transaction in _every_kind(clock):
        event = transaction_event(transaction)
        expected = json.dumps(event.data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert expected == event.body()


def test_a_changed_event_writes_its_own_body(clock: FixedClock) -> None:
    """attrs.evolve with other data gives a body of that data, not the original's."""
    event = transaction_event(_every_kind(clock)[0])
    changed = attrs.evolve(event, data={"key": "other"})
    assert '{"key":"other"}' == changed.body()
    assert event.body() != changed.body()


def _lot_rows(storage: SQLiteStorage) -> list[tuple[object, ...]]:
    with sqlite3.connect(storage.path) as raw:
        return raw.execute(
            "SELECT lot_id, member, amount, earned_at, available_at, expires_at, source "
            "FROM pk_lot ORDER BY lot_id"
        ).fetchall()


def test_batched_lots_keep_their_own_instants(
    sqlite_storage: SQLiteStorage, clock: FixedClock
) -> None:
    """Lots written by earn_many carry their own times and source, pending or not."""
    ledger = Ledger(sqlite_storage, clock=clock)
    later = clock.now() + timedelta(days=2)
    expiry = clock.now() + timedelta(days=30)
    done = ledger.earn_many(
        [
            Earn(member="ann", amount=10, key="now"),
            Earn(member="bob", amount=20, key="pending", available_at=later, expires_at=expiry),
            Earn(member="ann", amount=30, key="expiring", expires_at=expiry),
        ]
    )
    expected = sorted(
        (
            lot.id.bytes,
            str(lot.member),
            lot.amount,
            to_micros(lot.earned_at),
            to_micros(lot.available_at),
            None if lot.expires_at is None else to_micros(lot.expires_at),
            lot.source.bytes,
        )
        for transaction in done
        for lot in transaction.lots_created
    )
    assert expected == _lot_rows(sqlite_storage)
    (pending,) = [row for row in expected if row[2] == 20]
    assert to_micros(later) == pending[4]


def test_the_batch_read_of_wallets_is_the_keyed_read(
    sqlite_storage: SQLiteStorage, clock: FixedClock
) -> None:
    """lock_wallets of many wallets gives what each one's own read gives, new ones included."""
    ledger = Ledger(sqlite_storage, clock=clock)
    ledger.earn_many([Earn(member=f"m{n}", amount=10 + n, key=f"k{n}") for n in range(5)])
    ledger.redeem("m1", 4, key="r1")
    keys = [(MemberId(f"m{n}"), "points") for n in range(7)]  # m5 and m6 are new
    with sqlite_storage.writing(ProgramId(str(ledger.program))) as unit:
        many = unit.lock_wallets(keys)
        one_by_one = {key: unit.lock_wallets([key])[key] for key in keys}
    assert one_by_one == many
    assert [10, 7, 12, 13, 14, 0, 0] == [many[key].posted for key in keys]
    assert all(type(state.member) is MemberId for state in many.values())


def test_a_tampered_wallet_is_refused_by_a_batch(
    sqlite_storage: SQLiteStorage, clock: FixedClock
) -> None:
    """A wallet row that disagrees with its journal entry stops earn_many; nothing is written."""
    ledger = Ledger(sqlite_storage, clock=clock)
    ledger.earn_many([Earn(member=f"m{n}", amount=10, key=f"k{n}") for n in range(3)])
    with sqlite3.connect(sqlite_storage.path, isolation_level=None) as raw:
        raw.execute("UPDATE pk_wallet SET posted = 99 WHERE member = 'm1'")
    with pytest.raises(InvariantViolation, match="disagrees with its journal entry"):
        ledger.earn_many([Earn(member=f"m{n}", amount=5, key=f"again{n}") for n in range(3)])
    assert ledger.transaction_by_key("again0") is None


def test_an_earns_payload_names_its_member_as_json_does(clock: FixedClock) -> None:
    """The member in an earn's recorded payload is json.dumps of its id, however it was given."""
    ledger = Ledger(MemoryStorage(), clock=clock)
    member = 'ann "«q»" \\'
    by_text = ledger.earn(member, 10, key="text")
    by_id = ledger.earn(MemberId(member), 10, key="id")
    batched = ledger.earn_many([Earn(member=member, amount=10, key="batch")])[0]
    expected = json.dumps(member, ensure_ascii=False)
    for transaction in (by_text, by_id, batched):
        assert expected == dict(transaction.request)["member"]
    assert ledger.earn(MemberId(member), 10, key="text").replayed

"""The write path's shortcuts write exactly what the plain code they stand for would.

Event ids are worked out without ``uuid.uuid5``'s set-up, a transaction's event body is written
with its data rather than by ``json.dumps``, SQLite's batch read of wallets reuses the member
ids it was asked for, lots made at the transaction's instant reuse its written time, postings
and transactions bind their kinds as plain text, a request writes its common fields without
``canon``, and the plan checks are written out rather than called: each is checked here
against the long way round.
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

from conftest import START
from pointkit import FixedClock, Ledger, LedgerPolicy, MemberId, ProgramId, limits
from pointkit.exceptions import InvariantViolation
from pointkit.ledger import Earn, event_id, transaction_event
from pointkit.ledger._booking import Booking
from pointkit.ledger._codec import to_micros
from pointkit.ledger._envelope import canon, request
from pointkit.ledger._outbox import _NAMESPACE
from pointkit.ledger._plan_checks import check_plan, require
from pointkit.ledger._records import (
    AccountId,
    AccountKind,
    Phase,
    Posting,
    TransactionKind,
    transaction_id_for,
)
from pointkit.ledger._storage import WalletState
from pointkit.storage.memory import MemoryStorage


if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from datetime import datetime

    from pointkit.ledger import Transaction
    from pointkit.ledger._booking import _WalletWork
    from pointkit.ledger._records import LotId
    from pointkit.ledger._storage import Plan, WalletKey
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


def test_posting_and_transaction_rows_are_the_enum_values(
    sqlite_storage: SQLiteStorage, clock: FixedClock
) -> None:
    """apply_batch binds kinds, phases and members as plain text: the values the enums hold.

    The rows are what binding the StrEnums and member ids themselves wrote: their values, as
    text (a member of a system account stays NULL), pending postings included.
    """
    ledger = Ledger(sqlite_storage, clock=clock, policy=LedgerPolicy(clawback="clamp"))
    done = [
        *ledger.earn_many(
            [Earn(member='ann "«q»"', amount=50, key="e1"), Earn(member="bob", amount=5, key="e2")]
        ),
        ledger.reserve('ann "«q»"', 20, key="h1", timeout_seconds=60),
        ledger.transfer('ann "«q»"', "bob", 10, key="t1"),
        ledger.adjust("bob", -100, key="a1", reason="fix"),
    ]
    hold = done[2].hold
    assert hold is not None
    done.append(ledger.capture(hold, key="c1"))
    postings = sorted(
        (
            transaction.id.bytes,
            seq,
            posting.account.kind.value,
            None if posting.account.member is None else str(posting.account.member),
            posting.phase.value,
            posting.amount,
            to_micros(transaction.created_at),
            "text",
            "null" if posting.account.member is None else "text",
            "text",
        )
        for transaction in done
        for seq, posting in enumerate(transaction.postings)
    )
    assert any(row[4] == "pending" for row in postings)
    kinds = sorted((t.id.bytes, t.kind.value, "text") for t in done)
    with sqlite3.connect(sqlite_storage.path) as raw:
        assert (
            postings
            == raw.execute(
                "SELECT txn_id, seq, account_kind, member, phase, amount, created_at, "
                "typeof(account_kind), typeof(member), typeof(phase) FROM pk_posting "
                "ORDER BY txn_id, seq"
            ).fetchall()
        )
        assert (
            kinds
            == raw.execute(
                "SELECT txn_id, kind, typeof(kind) FROM pk_txn ORDER BY txn_id"
            ).fetchall()
        )


_REQUEST_VALUES: list[object] = [
    None,
    0,
    -7,
    10**30,
    True,
    False,
    "",
    'a "«q»" \\ ☃',
    MemberId('ann "x"'),
    TransactionKind.EARN,
    1.5,
    (),
    (("k", 'v"«»'), ("é", "z")),
    START,
    uuid.UUID(int=12345),
]


def test_a_requests_fields_are_written_as_canon_writes_them() -> None:
    """A request writes None, text and ints without canon; each field is still canon's text."""
    fields = {f"f{n:02}": value for n, value in enumerate(_REQUEST_VALUES)}
    expected = (("command", "cmd"), *sorted((name, canon(value)) for name, value in fields.items()))
    assert expected == request("cmd", **fields)
    assert ("f04", "true") in expected  # a bool is not written as an int
    assert ("f01", "0") in expected


def _check_plan_long_way(plan: Plan, before: dict[WalletKey, _WalletWork], now: datetime) -> None:
    """check_plan as first written: a dict of phase totals and a require call per check."""
    transaction = plan.transaction
    totals = dict.fromkeys(tuple(Phase), 0)
    posted: dict[tuple[str, str, Phase], int] = {}
    for posting in transaction.postings:
        account = posting.account
        totals[posting.phase] += posting.amount
        require(
            account.currency == transaction.currency,
            "transaction {} posts to {} in another currency",
            transaction.id,
            account,
        )
        if account.member is not None:
            at = (account.member, account.currency, posting.phase)
            posted[at] = posted.get(at, 0) + posting.amount
    for phase, total in totals.items():
        require(total == 0, "transaction {} {} postings sum to {}", transaction.id, phase, total)
    remaining: dict[LotId, int] = {lot.id: lot.amount for lot in transaction.lots_created}
    held: dict[LotId, int] = {}
    for move in transaction.lot_moves:
        remaining[move.lot] = remaining.get(move.lot, 0) + move.remaining
        held[move.lot] = held.get(move.lot, 0) + move.held
    for state in plan.wallets:
        work = before[state.key]
        account = work.account
        lots_change = sum(change for lot, change in remaining.items() if lot in work.lots)
        held_change = sum(change for lot, change in held.items() if lot in work.lots)
        previous = work.state
        require(state.debt >= 0, "wallet {} has negative debt {}", account, state.debt)
        require(state.posted <= limits.POINTS_MAX, "wallet {} is over POINTS_MAX", account)
        require(
            state.posted - previous.posted == lots_change - (state.debt - previous.debt),
            "wallet {}: posted change is not its lots' change less its debt's",
            account,
        )
        require(
            state.held - previous.held == held_change,
            "wallet {}: held change is not its lots' held change",
            account,
        )
        require(
            state.posted - previous.posted
            == posted.get((state.member, state.currency, Phase.POSTED), 0),
            "wallet {}: posted change does not match the transaction's postings",
            account,
        )
        require(
            previous.held - state.held
            == posted.get((state.member, state.currency, Phase.PENDING), 0),
            "wallet {}: held change does not match the transaction's pending postings",
            account,
        )
        for lot in work.lots.values():
            require(0 <= lot.held <= lot.remaining, "lot {} holds more than it has", lot)
            require(lot.expired >= 0, "lot {} has negative expired points", lot)
            require(lot.remaining + lot.expired <= lot.lot.amount, "lot {} exceeds its amount", lot)
            require(
                state.debt == 0 or lot.free == 0 or lot.lot.is_due(now),
                "wallet {} owes points but lot {} has free points",
                account,
                lot,
            )


def _verdict(check: Callable[[], None]) -> str | None:
    try:
        check()
    except InvariantViolation as error:
        return str(error)
    return None


def _earn_booking() -> tuple[Booking, Plan]:
    """A booked earn of 10 points into a wallet at version 3 with 30 points."""
    member = MemberId("ann")
    booking = Booking(
        transaction_id=transaction_id_for("k1", START),
        key="k1",
        currency="points",
        now=START,
        wallets={(member, "points"): WalletState(member, "points", 3, 30, 0, 0)},
        open_lots=lambda _member, _currency: iter(()),
    )
    booking.credit(member, 10, source=AccountKind.ISSUANCE, available_at=START, expires_at=None)
    return booking, booking.finish(kind=TransactionKind.EARN, amount=10, request=())


def _broken_plans() -> Iterator[tuple[str, Booking, Plan]]:
    """A plan breaking each invariant check_plan names, and one that breaks none."""
    booking, plan = _earn_booking()
    yield "valid", booking, plan
    transaction, (state,) = plan.transaction, plan.wallets
    issuance, wallet = (posting.account for posting in transaction.postings)

    def postings(*legs: Posting) -> Plan:
        return attrs.evolve(plan, transaction=attrs.evolve(transaction, postings=legs))

    def wallet_row(row: WalletState) -> Plan:
        return attrs.evolve(plan, wallets=(row,))

    yield "unbalanced", booking, postings(Posting(issuance, -9), Posting(wallet, 10))
    miles = AccountId.system(AccountKind.ISSUANCE, "miles")
    yield "currency", booking, postings(Posting(miles, -10), Posting(wallet, 10))
    pending = Posting(wallet, -5, Phase.PENDING)
    yield "pending sum", booking, postings(Posting(issuance, -10), Posting(wallet, 10), pending)
    redemption = AccountId.system(AccountKind.REDEMPTION, "points")
    yield (
        "pending",
        booking,
        postings(
            Posting(issuance, -10),
            Posting(wallet, 10),
            pending,
            Posting(redemption, 5, Phase.PENDING),
        ),
    )
    yield "postings", booking, postings(Posting(issuance, -11), Posting(wallet, 11))
    yield "debt", booking, wallet_row(attrs.evolve(state, debt=-1))
    yield "max", booking, wallet_row(attrs.evolve(state, posted=limits.POINTS_MAX + 1))
    yield "posted", booking, wallet_row(attrs.evolve(state, posted=state.posted + 1))
    yield "held", booking, wallet_row(attrs.evolve(state, held=1))
    for name, field, value in (("lot held", "held", 20), ("lot expired", "expired", -1)):
        broken, fresh = _earn_booking()
        (work,) = broken._wallets.values()
        (lot,) = work.lots.values()
        setattr(lot, field, value)
        yield name, broken, fresh
    owing, fresh = _earn_booking()
    (work,) = owing._wallets.values()
    work.state = attrs.evolve(work.state, debt=1)  # the wallet owed before: the lot is free
    yield "free lot", owing, attrs.evolve(fresh, wallets=(attrs.evolve(fresh.wallets[0], debt=1),))


def test_plan_checks_raise_as_the_long_way_does() -> None:
    """check_plan passes and fails exactly as the require-per-check version, with its message."""
    verdicts = {}
    for name, booking, plan in _broken_plans():
        before = {work.state.key: work for work in booking._wallets.values()}
        expected = _verdict(lambda: _check_plan_long_way(plan, before, START))  # noqa: B023
        assert expected == _verdict(lambda: check_plan(plan, before, START)), name  # noqa: B023
        verdicts[name] = expected
    assert verdicts.pop("valid") is None
    assert all(verdicts.values()), verdicts  # every broken plan is refused
    assert len(set(verdicts.values())) == len(verdicts)  # each for its own reason


def test_the_records_booking_builds_by_position_keep_their_field_order() -> None:
    """Booking makes lots, transactions and plans with positional arguments, in this order."""
    from pointkit.ledger._records import Lot, Transaction  # noqa: PLC0415 - only here
    from pointkit.ledger._storage import Plan  # noqa: PLC0415 - only here

    names = {
        kind: [field.name for field in attrs.fields(kind)] for kind in (Lot, Transaction, Plan)
    }
    assert names[Lot] == [
        "id", "member", "currency", "amount", "remaining", "held", "expired", "earned_at",
        "available_at", "expires_at", "source", "follows_activity",
    ]  # fmt: skip
    assert names[Transaction][:19] == [
        "id", "key", "kind", "created_at", "currency", "amount", "postings", "lots_created",
        "lot_moves", "debt_moves", "wallet_changes", "hold", "hold_expires_at", "reverses",
        "expiry_extensions", "reason", "metadata", "request", "written_off",
    ]  # fmt: skip
    assert names[Plan] == ["transaction", "wallets", "lots", "holds"]

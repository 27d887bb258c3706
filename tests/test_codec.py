"""The stored format of transactions: documents written by this version must always load.

Maintainer's note: never edit the documents below. FORMAT_1 is what pointkit 0.1 wrote; FORMAT_2
is what this version writes for inactivity expiry. Every later version must read them into the
same transactions. A new format gets a new version number and new documents beside these.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from pointkit import FixedClock, Ledger, LedgerPolicy, MemoryStorage
from pointkit.exceptions import InvariantViolation
from pointkit.expiry import ExpiryPolicy, Inactivity
from pointkit.ledger._codec import checksum, decode_transaction, encode_transaction, to_micros


if TYPE_CHECKING:
    from pointkit.ledger._records import Lot, Transaction


FORMAT_1 = [
    '{"amount":500,"created_at":1772357400000000,"currency":"points","debt_moves":[],"hold":null,"hold_expires_at":null,"id":"019ca8bb-b5c0-70ba-a221-56d2698c143b","key":"order-1","kind":"earn","lot_moves":[],"lots_created":[["019ca8bb-b5c0-7755-ae2f-98163a1fb4e2","alice","points",500,500,0,0,1772357400000000,1772962200000000,1798732800000000,"019ca8bb-b5c0-70ba-a221-56d2698c143b"]],"metadata":[["channel","app"]],"postings":[["issuance",null,"posted",-500],["member","alice","posted",500]],"reason":"order 1","request":[["command","earn"],["amount","500"],["available_at","\\"2026-03-08T09:30:00+00:00\\""],["currency","\\"points\\""],["expires_at","\\"2026-12-31T16:00:00+00:00\\""],["member","\\"alice\\""],["metadata","{\\"channel\\": \\"app\\"}"],["reason","\\"order 1\\""]],"reverses":null,"v":1,"wallet_changes":[["alice",1,500,0,0,500]]}',
    '{"amount":150,"created_at":1773048600000000,"currency":"points","debt_moves":[],"hold":"019cd1ee-95c0-7eee-8715-5659e77fdd5a","hold_expires_at":null,"id":"019cd1ee-95c0-78ed-bfaf-0f2d0f171748","key":"ship-1","kind":"capture","lot_moves":[["019ca8bb-b5c0-7755-ae2f-98163a1fb4e2",-150,-200,0,"capture"]],"lots_created":[],"metadata":[],"postings":[["member","alice","pending",200],["redemption",null,"pending",-200],["member","alice","posted",-150],["redemption",null,"posted",150]],"reason":null,"request":[["command","capture"],["amount","150"],["hold","\\"019cd1ee-95c0-7eee-8715-5659e77fdd5a\\""],["metadata","{}"],["reason","null"]],"reverses":null,"v":1,"wallet_changes":[["alice",3,350,0,0,-150]]}',
    '{"amount":500,"created_at":1773048600000000,"currency":"points","debt_moves":[["alice",150]],"hold":null,"hold_expires_at":null,"id":"019cd1ee-95c0-704f-b20a-08d7710b246f","key":"refund-1","kind":"reversal","lot_moves":[["019ca8bb-b5c0-7755-ae2f-98163a1fb4e2",-350,0,0,"clawback"]],"lots_created":[],"metadata":[],"postings":[["issuance",null,"posted",500],["member","alice","posted",-500]],"reason":null,"request":[["command","reverse"],["amount","null"],["clawback","\\"debt\\""],["metadata","{}"],["reason","null"],["reissue_expires_at","null"],["restore","\\"original_expiry\\""],["transaction","\\"019ca8bb-b5c0-70ba-a221-56d2698c143b\\""]],"reverses":"019ca8bb-b5c0-70ba-a221-56d2698c143b","v":1,"wallet_changes":[["alice",4,-150,0,150,-500]]}',
]


FORMAT_2 = [
    '{"amount":300,"created_at":1772357400000000,"currency":"points","debt_moves":[],"expiry_extensions":[["alice","points",1788255000000000]],"hold":null,"hold_expires_at":null,"id":"019ca8bb-b5c0-7dd4-b517-653e60e918cd","key":"order-9","kind":"earn","lot_moves":[],"lots_created":[["019ca8bb-b5c0-712d-a497-f514de87af77","alice","points",300,300,0,0,1772357400000000,1772357400000000,1788255000000000,"019ca8bb-b5c0-7dd4-b517-653e60e918cd",true]],"metadata":[],"postings":[["issuance",null,"posted",-300],["member","alice","posted",300]],"reason":null,"request":[["command","earn"],["amount","300"],["available_at","null"],["currency","\\"points\\""],["expires_at","null"],["member","\\"alice\\""],["metadata","{}"],["reason","null"],["rule","\\"welcome\\""]],"reverses":null,"v":2,"wallet_changes":[["alice",1,300,0,0,300]]}',
    '{"amount":100,"created_at":1774085400000000,"currency":"points","debt_moves":[],"expiry_extensions":[["alice","points",1789983000000000]],"hold":null,"hold_expires_at":null,"id":"019d0fba-e5c0-7574-aa30-d7568695f519","key":"coupon-9","kind":"redeem","lot_moves":[["019ca8bb-b5c0-712d-a497-f514de87af77",-100,0,0,"spend"]],"lots_created":[],"metadata":[],"postings":[["member","alice","posted",-100],["redemption",null,"posted",100]],"reason":null,"request":[["command","redeem"],["amount","100"],["currency","\\"points\\""],["member","\\"alice\\""],["metadata","{}"],["reason","null"]],"reverses":null,"v":2,"wallet_changes":[["alice",2,200,0,0,-100]]}',
]


def _write_them_today() -> list[str]:
    """Run the commands that produced FORMAT_1, with this version of pointkit."""
    clock = FixedClock(datetime(2026, 3, 1, 9, 30, tzinfo=UTC))
    ledger = Ledger(MemoryStorage(), clock=clock, policy=LedgerPolicy(clawback="debt"))
    earned = ledger.earn(
        "alice",
        500,
        key="order-1",
        expires_at=datetime(2026, 12, 31, 16, 0, tzinfo=UTC),
        available_at=clock.now() + timedelta(days=7),
        reason="order 1",
        metadata={"channel": "app"},
    )
    clock.advance(timedelta(days=8))
    hold = ledger.reserve("alice", 200, key="hold-1", timeout_seconds=600)
    captured = ledger.capture(hold.id, 150, key="ship-1")
    refund = ledger.reverse(earned.id, key="refund-1")
    return [encode_transaction(t) for t in (earned, captured, refund)]


def test_format_1_documents_still_load() -> None:
    """Documents written by pointkit 0.1 decode to exactly what the same commands give today."""
    today = _write_them_today()
    for stored, written in zip(FORMAT_1, today, strict=True):
        assert decode_transaction(written) == decode_transaction(stored, checksum(stored))


def test_this_version_still_writes_format_1() -> None:
    """This version writes the pinned documents byte for byte; a new format needs a new number."""
    assert _write_them_today() == FORMAT_1


def _write_format_2_today() -> list[str]:
    """Run the commands that produced FORMAT_2: an inactivity earn and a redemption."""
    clock = FixedClock(datetime(2026, 3, 1, 9, 30, tzinfo=UTC))
    policy = ExpiryPolicy("Asia/Shanghai", default=Inactivity(6))
    ledger = Ledger(MemoryStorage(), clock=clock, expiry=policy)
    earned = ledger.earn("alice", 300, key="order-9", rule="welcome")
    clock.advance(timedelta(days=20))
    spent = ledger.redeem("alice", 100, key="coupon-9")
    return [encode_transaction(t) for t in (earned, spent)]


def test_format_2_documents_still_load() -> None:
    """Inactivity documents keep the lot's flag and the extensions, and write byte for byte."""
    written = _write_format_2_today()
    assert FORMAT_2 == written
    earned, spent = (decode_transaction(d, checksum(d)) for d in FORMAT_2)
    assert earned.lots_created[0].follows_activity
    assert [datetime(2026, 9, 1, 9, 30, tzinfo=UTC)] == [
        e.expires_at for e in earned.expiry_extensions
    ]
    assert [datetime(2026, 9, 21, 9, 30, tzinfo=UTC)] == [
        e.expires_at for e in spent.expiry_extensions
    ]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("not json", "is corrupt"),
        ("[]", "not an object"),
        (FORMAT_1[0].replace('"v":1', '"v":3'), r"format version 3 is not one of \[1, 2\]"),
        (FORMAT_1[0].replace('"v":1', '"v":2'), "does not have 12 items"),
        (FORMAT_2[0].replace(",true]", ',"yes"]'), "is not true or false"),
        (FORMAT_2[0].replace('["alice","points",1788', '["alice",1788'), "does not have 3 items"),
        (FORMAT_1[0].replace('"amount":500,', ""), "is corrupt"),
        (FORMAT_1[0].replace('"posted",-500', '"posted",-499'), "summing to 1"),
        (FORMAT_1[0].replace("500,500,0,0", "500,501,0,0"), "stored lot .* is corrupt"),
        (FORMAT_1[0].replace('"amount":500', '"amount":"500"'), "is not an integer"),
    ],
)
def test_corrupt_documents_raise(document: str, message: str) -> None:
    """A document that is not a valid transaction in a known format raises, never loads wrong."""
    with pytest.raises(InvariantViolation, match=message):
        decode_transaction(document)


def test_checksums_catch_changes() -> None:
    """A document that does not match its stored checksum raises."""
    changed = FORMAT_1[0].replace('"reason":"order 1"', '"reason":"order 2"')
    json.loads(changed)
    with pytest.raises(InvariantViolation, match="checksum"):
        decode_transaction(changed, checksum(FORMAT_1[0]))


def _reference(transaction: Transaction) -> str:
    """The document as json.dumps writes it: what encode_transaction writes without json."""
    version = (
        2
        if transaction.expiry_extensions
        or any(lot.follows_activity for lot in transaction.lots_created)
        else 1
    )

    def at(value: datetime | None) -> int | None:
        return None if value is None else to_micros(value)

    def lot(row: Lot) -> list[object]:
        fields: list[object] = [
            str(row.id), str(row.member), row.currency, row.amount, row.remaining, row.held,
            row.expired, to_micros(row.earned_at), to_micros(row.available_at),
            at(row.expires_at), str(row.source),
        ]  # fmt: skip
        return [*fields, row.follows_activity] if version == 2 else fields

    document: dict[str, object] = {
        "v": version,
        "id": str(transaction.id),
        "key": transaction.key,
        "kind": transaction.kind.value,
        "created_at": to_micros(transaction.created_at),
        "currency": transaction.currency,
        "amount": transaction.amount,
        "postings": [
            [p.account.kind.value, p.account.member, p.phase.value, p.amount]
            for p in transaction.postings
        ],
        "lots_created": [lot(row) for row in transaction.lots_created],
        "lot_moves": [
            [str(m.lot), m.remaining, m.held, m.expired, m.reason.value]
            for m in transaction.lot_moves
        ],
        "debt_moves": [[str(m.member), m.amount] for m in transaction.debt_moves],
        "wallet_changes": [
            [str(c.member), c.version, c.posted, c.held, c.debt, c.posted_change]
            for c in transaction.wallet_changes
        ],
        "hold": None if transaction.hold is None else str(transaction.hold),
        "hold_expires_at": at(transaction.hold_expires_at),
        "reverses": None if transaction.reverses is None else str(transaction.reverses),
        "reason": transaction.reason,
        "metadata": [list(pair) for pair in transaction.metadata],
        "request": [list(pair) for pair in transaction.request],
    }
    if transaction.written_off:
        document["written_off"] = transaction.written_off
    if transaction.seal is not None:
        document["seal"] = transaction.seal
    if version == 2:
        document["expiry_extensions"] = [
            [str(e.member), e.currency, to_micros(e.expires_at)]
            for e in transaction.expiry_extensions
        ]
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def test_documents_are_what_json_dumps_writes() -> None:
    """Every kind of transaction is written as json.dumps writes its document, byte for byte.

    encode_transaction writes the text directly; this pins it to the document it stands for:
    holds, reversals with debt and write-offs, seals, inactivity extensions, text that JSON
    escapes, and text it does not (ensure_ascii=False).
    """
    clock = FixedClock(datetime(2026, 3, 1, 9, 30, tzinfo=UTC))
    policy = ExpiryPolicy("Asia/Shanghai", default=Inactivity(6))
    written: list[Transaction] = []
    for ledger in (
        Ledger(MemoryStorage(), clock=clock, policy=LedgerPolicy(clawback="debt")),
        Ledger(
            MemoryStorage(),
            clock=clock,
            policy=LedgerPolicy(clawback="debt"),
            expiry=policy,
            seal_key=b"0123456789abcdef",
        ),
    ):
        earned = ledger.earn(
            'ålice "q" \\ ☃',
            500,
            key="order «1» \U0001f600",
            reason='quote ", slash / and backslash \\',
            metadata={"channel": "app ☃", "é": '"x"'},
        )
        other = ledger.earn("bob", 40, key="e2", expires_at=clock.now() + timedelta(days=900))
        hold = ledger.reserve('ålice "q" \\ ☃', 200, key="hold-1", timeout_seconds=600)
        captured = ledger.capture(hold.id, 150, key="ship-1")
        released = ledger.release(
            ledger.reserve("bob", 10, key="hold-2", timeout_seconds=600).id, key="back-2"
        )
        moved = ledger.transfer("bob", "carol", 20, key="t1")
        refund = ledger.reverse(earned.id, key="refund-1")
        clamped = ledger.adjust("carol", -50, key="a1", reason="fix", clawback="clamp")
        written += [earned, other, hold, captured, released, moved, refund, clamped]
    assert any(t.seal for t in written)
    assert any(t.expiry_extensions for t in written)
    assert any(t.written_off for t in written)
    assert any(t.debt_moves for t in written)
    assert any(t.hold_expires_at for t in written)
    for transaction in written:
        assert _reference(transaction) == encode_transaction(transaction)
        stored = encode_transaction(transaction)
        assert stored == encode_transaction(decode_transaction(stored, checksum(stored)))

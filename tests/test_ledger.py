"""The ledger's behaviour, one rule per test, on small readable cases."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import attrs
import pytest

from pointkit import (
    FixedClock,
    Ledger,
    LedgerPolicy,
    MemberId,
    MemoryStorage,
    PointCurrency,
    limits,
)
from pointkit.exceptions import (
    ArgumentTypeError,
    HoldNotFoundError,
    IdempotencyConflictError,
    InsufficientPointsError,
    InvalidArgumentError,
    InvariantViolation,
    LimitExceededError,
    TransactionNotFoundError,
    UnknownCurrencyError,
)
from pointkit.ledger import (
    AccountId,
    AccountKind,
    HoldStatus,
    LotStatus,
    MoveReason,
    Phase,
    Plan,
    TransactionKind,
    WalletState,
    transaction_id_for,
)
from pointkit.ledger._booking import Booking
from pointkit.testing import snapshot


if TYPE_CHECKING:
    from pointkit.ledger import Lot


HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def _remaining(lots: tuple[Lot, ...]) -> list[int]:
    return [lot.remaining for lot in lots]


def test_earn_credits_a_lot_from_issuance(ledger: Ledger, clock: FixedClock) -> None:
    """An earn is a lot in the wallet and a balanced pair of postings against issuance."""
    transaction = ledger.earn("alice", 100, key="order-1", reason="order 1")
    assert transaction.kind is TransactionKind.EARN
    assert [(str(p.account), p.amount, p.phase) for p in transaction.postings] == [
        ("issuance/points", -100, Phase.POSTED),
        ("member:alice/points", 100, Phase.POSTED),
    ]
    (lot,) = ledger.lots("alice")
    assert (lot.amount, lot.remaining, lot.earned_at, lot.expires_at) == (
        100,
        100,
        clock.now(),
        None,
    )
    assert lot.source == transaction.id
    assert ledger.balance("alice").available == 100
    assert ledger.system_balance(AccountKind.ISSUANCE).posted == -100


def test_pending_points_become_available_at_their_time(ledger: Ledger, clock: FixedClock) -> None:
    """Points with a later available_at are posted but cannot be spent until then."""
    ledger.earn("alice", 50, key="order-1", available_at=clock.now() + 7 * DAY)
    ledger.earn("alice", 10, key="order-0", available_at=clock.now() - DAY)
    balance = ledger.balance("alice")
    assert (balance.posted, balance.pending, balance.available) == (60, 50, 10)
    with pytest.raises(InsufficientPointsError):
        ledger.redeem("alice", 11, key="r1")
    clock.advance(7 * DAY)
    assert ledger.balance("alice").available == 60
    assert ledger.lots("alice")[0].status(clock.now()) is LotStatus.AVAILABLE


def test_spending_order_is_soonest_expiry_first(ledger: Ledger, clock: FixedClock) -> None:
    """Lots are spent soonest-expiring first, never-expiring last, ties by availability."""
    now = clock.now()
    ledger.earn("alice", 10, key="never")
    ledger.earn("alice", 10, key="june", expires_at=now + 180 * DAY)
    ledger.earn("alice", 10, key="march", expires_at=now + 60 * DAY)
    ledger.earn("alice", 10, key="march-late", expires_at=now + 60 * DAY, available_at=now + HOUR)
    clock.advance(HOUR)
    spent = ledger.redeem("alice", 15, key="r1")
    by_key = {ledger.transaction(lot.source).key: lot.remaining for lot in ledger.lots("alice")}
    assert by_key == {"march-late": 5, "june": 10, "never": 10}
    assert [move.reason for move in spent.lot_moves] == [MoveReason.SPEND] * 2
    ledger.redeem("alice", 10, key="r2")
    by_key = {ledger.transaction(lot.source).key: lot.remaining for lot in ledger.lots("alice")}
    assert by_key == {"june": 5, "never": 10}


def test_redeem_takes_exactly_the_balance(ledger: Ledger) -> None:
    """The whole available balance can be spent; one point more cannot."""
    ledger.earn("alice", 100, key="e1")
    with pytest.raises(InsufficientPointsError) as refused:
        ledger.redeem("alice", 101, key="r1")
    assert (refused.value.requested, refused.value.available) == (101, 100)
    ledger.redeem("alice", 100, key="r1")
    assert ledger.balance("alice").posted == 0
    assert ledger.lots("alice") == ()


def test_partial_capture_releases_the_rest(ledger: Ledger) -> None:
    """Capturing part of a hold spends that part and makes the rest available again."""
    ledger.earn("alice", 100, key="e1")
    hold = ledger.reserve("alice", 60, key="h1", timeout_seconds=600)
    assert hold.hold == hold.id
    assert ledger.balance("alice").available == 40
    capture = ledger.capture(hold.id, 45, key="c1")
    balance = ledger.balance("alice")
    assert (balance.posted, balance.held, balance.available) == (55, 0, 55)
    stored = ledger.hold(hold.id)
    assert (stored.status, stored.captured, stored.resolved_by) == (
        HoldStatus.CAPTURED,
        45,
        capture.id,
    )
    assert ledger.system_balance(AccountKind.REDEMPTION).posted == 45
    assert ledger.system_balance(AccountKind.REDEMPTION).pending == 0


def test_timed_out_holds_are_released_once(ledger: Ledger, clock: FixedClock) -> None:
    """The expiry run releases a timed-out hold exactly once; never before its timeout."""
    ledger.earn("alice", 100, key="e1")
    hold = ledger.reserve("alice", 70, key="h1", timeout_seconds=600)
    clock.advance(timedelta(seconds=599))
    assert ledger.expire_due().holds_expired == 0
    clock.advance(timedelta(seconds=1))
    run = ledger.expire_due(transactions=True)
    assert (run.holds_expired, run.lots_expired, run.complete) == (1, 0, True)
    assert run.transactions[0].kind is TransactionKind.HOLD_TIMEOUT
    assert ledger.hold(hold.id).status is HoldStatus.EXPIRED
    assert ledger.balance("alice").available == 100
    assert ledger.expire_due(transactions=True).transactions == ()


def test_a_hold_protects_points_past_their_expiry(ledger: Ledger, clock: FixedClock) -> None:
    """Held points survive their lot's expiry until the hold resolves; released ones expire."""
    ledger.earn("alice", 100, key="e1", expires_at=clock.now() + HOUR)
    hold = ledger.reserve("alice", 80, key="h1", timeout_seconds=86_400)
    clock.advance(2 * HOUR)
    run = ledger.expire_due()
    assert dict(run.points_expired) == {"points": 20}
    assert ledger.balance("alice").held == 80
    capture = ledger.capture(hold.id, 30, key="c1")
    assert capture.posted_to(_account(ledger, AccountKind.EXPIRED)) == 50
    assert ledger.balance("alice").posted == 0
    (lot,) = ledger.lots("alice", include_closed=True)
    assert (lot.remaining, lot.expired) == (0, 70)


def _account(ledger: Ledger, kind: AccountKind) -> AccountId:
    return ledger.system_balance(kind).account


def test_transfer_keeps_the_points_expiry(ledger: Ledger, clock: FixedClock) -> None:
    """Transferred points keep their expiry: one recipient lot per expiry date they had."""
    soon, later = clock.now() + 10 * DAY, clock.now() + 100 * DAY
    ledger.earn("alice", 30, key="e1", expires_at=soon)
    ledger.earn("alice", 30, key="e2", expires_at=later)
    ledger.earn("alice", 30, key="e3", expires_at=soon)
    transfer = ledger.transfer("alice", "bob", 70, key="t1")
    assert [(lot.amount, lot.expires_at) for lot in transfer.lots_created] == [
        (60, soon),
        (10, later),
    ]
    assert ledger.balance("alice").available == 20
    assert [lot.expires_at for lot in ledger.lots("bob")] == [soon, later]


def test_debt_is_paid_first_by_any_credit(debt_ledger: Ledger, clock: FixedClock) -> None:
    """Under the debt policy a short clawback becomes debt; the next credits pay it off."""
    earn = debt_ledger.earn("alice", 100, key="e1")
    debt_ledger.redeem("alice", 90, key="r1")
    debt_ledger.reverse(earn.id, key="refund-1")
    balance = debt_ledger.balance("alice")
    assert (balance.posted, balance.debt, balance.available) == (-90, 90, 0)
    debt_ledger.earn("alice", 50, key="e2", available_at=clock.now() + DAY)
    assert debt_ledger.balance("alice").debt == 40
    debt_ledger.earn("bob", 100, key="e3")
    debt_ledger.transfer("bob", "alice", 60, key="t1")
    balance = debt_ledger.balance("alice")
    assert (balance.posted, balance.debt, balance.available) == (20, 0, 20)


def test_clawback_takes_own_lot_then_others_then_policy(ledger: Ledger, clock: FixedClock) -> None:
    """An earn's clawback takes its own lot, then other points (pending too), then the policy.

    Reject refuses, clamp writes the shortfall off (debt is tested elsewhere).
    """
    earn = ledger.earn("alice", 100, key="e1")
    ledger.earn("alice", 30, key="e2", available_at=clock.now() + DAY)
    ledger.redeem("alice", 80, key="r1")
    with pytest.raises(InsufficientPointsError) as refused:
        ledger.reverse(earn.id, key="refund")
    assert (refused.value.requested, refused.value.available) == (100, 50)
    clamped = ledger.reverse(earn.id, key="refund", clawback="clamp")
    assert (clamped.amount, clamped.written_off) == (100, 50)
    assert clamped.posted_to(_account(ledger, AccountKind.ISSUANCE)) == 100
    assert clamped.posted_to(_account(ledger, AccountKind.WRITE_OFF)) == -50
    assert -50 == ledger.system_balance(AccountKind.WRITE_OFF).posted
    assert clamped == ledger.transaction(clamped.id)
    balance = ledger.balance("alice")
    assert (balance.posted, balance.pending, balance.debt) == (0, 0, 0)


def test_clawback_recovers_expired_points_first(ledger: Ledger, clock: FixedClock) -> None:
    """A refund after expiry takes the earn's expired points back, not the member's others."""
    earn = ledger.earn("alice", 100, key="e1", expires_at=clock.now() + DAY)
    clock.advance(2 * DAY)
    ledger.expire_due()
    ledger.earn("alice", 40, key="e2")
    reversal = ledger.reverse(earn.id, key="refund")
    assert reversal.posted_to(_account(ledger, AccountKind.EXPIRED)) == -100
    assert ledger.balance("alice").available == 40
    assert ledger.system_balance(AccountKind.EXPIRED).posted == 0
    (lot, _) = ledger.lots("alice", include_closed=True)
    assert (lot.remaining, lot.expired) == (0, 0)


def test_reversing_a_redemption_restores_the_original_lots(
    ledger: Ledger, clock: FixedClock
) -> None:
    """original_expiry restores spent points into their lots; a due lot's share expires at once."""
    now = clock.now()
    ledger.earn("alice", 50, key="soon", expires_at=now + DAY)
    ledger.earn("alice", 50, key="later", expires_at=now + 30 * DAY)
    redeem = ledger.redeem("alice", 80, key="r1")
    first = ledger.reverse(redeem.id, 30, key="refund-1")
    assert [move.reason for move in first.lot_moves] == [MoveReason.RESTORE]
    assert _remaining(ledger.lots("alice")) == [30, 20]
    clock.advance(2 * DAY)
    second = ledger.reverse(redeem.id, 50, key="refund-2")
    assert second.posted_to(_account(ledger, AccountKind.EXPIRED)) == 20
    assert ledger.balance("alice").available == 50
    restored = [(move.reason, move.remaining) for move in second.lot_moves if move.remaining]
    assert restored == [
        (MoveReason.RESTORE, 20),
        (MoveReason.EXPIRE, -20),
        (MoveReason.RESTORE, 30),
    ]


def test_reissue_gives_a_new_lot(ledger: Ledger, clock: FixedClock) -> None:
    """With reissue, refunded points come back as a new lot with the expiry given."""
    ledger.earn("alice", 50, key="e1", expires_at=clock.now() + DAY)
    redeem = ledger.redeem("alice", 50, key="r1")
    clock.advance(2 * DAY)
    new_expiry = clock.now() + 90 * DAY
    reversal = ledger.reverse(
        redeem.id, key="refund", restore="reissue", reissue_expires_at=new_expiry
    )
    (lot,) = reversal.lots_created
    assert (lot.amount, lot.expires_at) == (50, new_expiry)
    assert ledger.balance("alice").available == 50


def test_reversing_a_capture_and_a_transfer(ledger: Ledger) -> None:
    """A captured hold and a transfer reverse like any spend: back into the source's lots."""
    ledger.earn("alice", 100, key="e1")
    hold = ledger.reserve("alice", 40, key="h1", timeout_seconds=60)
    capture = ledger.capture(hold.id, key="c1")
    ledger.reverse(capture.id, key="refund-c1")
    assert ledger.balance("alice").available == 100
    transfer = ledger.transfer("alice", "bob", 70, key="t1")
    ledger.reverse(transfer.id, key="undo-t1")
    assert (ledger.balance("alice").available, ledger.balance("bob").posted) == (100, 0)
    assert ledger.system_balance(AccountKind.REDEMPTION).posted == 0


def test_reversing_a_debit_cancels_its_debt(debt_ledger: Ledger) -> None:
    """A debit adjustment that made debt, once reversed, cancels the debt and restores lots."""
    debt_ledger.earn("alice", 30, key="e1")
    debit = debt_ledger.adjust("alice", -100, key="a1", reason="abusive reviews")
    assert debt_ledger.balance("alice").debt == 70
    debt_ledger.reverse(debit.id, key="undo-a1")
    balance = debt_ledger.balance("alice")
    assert (balance.posted, balance.debt, balance.available) == (30, 0, 30)
    assert debt_ledger.system_balance(AccountKind.ADJUSTMENT).posted == 0


def test_adjustments_need_a_reason_and_credit_lots(ledger: Ledger, clock: FixedClock) -> None:
    """A credit adjustment is a lot from the adjustment account; a debit takes points."""
    expires = clock.now() + DAY
    credit = ledger.adjust("alice", 25, key="a1", reason="goodwill", expires_at=expires)
    assert credit.reason == "goodwill"
    assert credit.lots_created[0].expires_at == expires
    ledger.adjust("alice", -5, key="a2", reason="duplicate review")
    assert ledger.balance("alice").posted == 20
    assert ledger.system_balance(AccountKind.ADJUSTMENT).posted == -20


def test_expiry_runs_exactly_once_in_order(ledger: Ledger, clock: FixedClock) -> None:
    """The expiry run takes wallets by their first due lot, in batches, and never twice."""
    now = clock.now()
    for day in (3, 1, 2):
        ledger.earn("alice", 10 * day, key=f"e{day}", expires_at=now + day * DAY)
    ledger.earn("bob", 5, key="b1", expires_at=now + DAY)
    clock.advance(DAY - timedelta(seconds=1))
    assert ledger.expire_due().lots_expired == 0
    clock.advance(10 * DAY)
    first = ledger.expire_due(limit=1, transactions=True)
    # The first due lot is alice's: all three of hers expire with it, in one transaction.
    assert (first.lots_expired, first.complete) == (3, False)
    (alice,) = first.transactions
    assert (alice.amount, [move.expired for move in alice.lot_moves]) == (60, [10, 20, 30])
    rest = ledger.expire_due(transactions=True)
    assert (rest.lots_expired, rest.complete) == (1, True)
    assert [t.amount for t in rest.transactions] == [5]
    assert ledger.expire_due().lots_expired == 0
    assert ledger.system_balance(AccountKind.EXPIRED).posted == 65
    assert all(t.reason == "points expired" for t in first.transactions + rest.transactions)


def test_statement_pages_with_running_balance(ledger: Ledger) -> None:
    """A statement lists each transaction with the balance after it, page by page."""
    for n in range(5):
        ledger.earn("alice", 10, key=f"e{n}")
    ledger.redeem("alice", 15, key="r1")
    first = ledger.statement("alice", limit=4)
    assert [line.balance for line in first.lines] == [10, 20, 30, 40]
    assert first.next_after == 4
    second = ledger.statement("alice", after=first.next_after, limit=4)
    assert [(line.change, line.balance) for line in second.lines] == [(10, 50), (-15, 35)]
    assert second.next_after is None
    assert [line.version for line in first.lines + second.lines] == [1, 2, 3, 4, 5, 6]


def test_reads_of_unknown_things(ledger: Ledger) -> None:
    """A member never seen has a zero balance; unknown holds and transactions are errors."""
    balance = ledger.balance("nobody")
    assert (balance.posted, balance.available, balance.debt) == (0, 0, 0)
    assert ledger.statement("nobody").lines == ()
    assert ledger.lots("nobody", include_closed=True) == ()
    assert ledger.transaction_by_key("nothing") is None
    missing = "00000000-0000-7000-8000-000000000000"
    with pytest.raises(HoldNotFoundError):
        ledger.hold(missing)
    with pytest.raises(TransactionNotFoundError):
        ledger.transaction(missing)
    with pytest.raises(InvalidArgumentError, match="is not a transaction id"):
        ledger.transaction("order-1")
    with pytest.raises(ArgumentTypeError):
        ledger.transaction(42)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="must be a system AccountKind"):
        ledger.system_balance(AccountKind.MEMBER)


def test_currencies_keep_separate_wallets(clock: FixedClock) -> None:
    """Each point currency has its own wallets and system accounts; the first is the default."""
    ledger = Ledger(
        MemoryStorage(),
        clock=clock,
        currencies=[PointCurrency("points"), PointCurrency("tier_credits")],
    )
    ledger.earn("alice", 100, key="e1")
    ledger.earn("alice", 7, key="e2", currency="tier_credits")
    assert ledger.balance("alice").posted == 100
    assert ledger.balance("alice", "tier_credits").posted == 7
    assert ledger.system_balance(AccountKind.ISSUANCE, "tier_credits").posted == -7
    with pytest.raises(UnknownCurrencyError, match="currency='miles' is not one of"):
        ledger.balance("alice", "miles")
    with pytest.raises(ArgumentTypeError):
        ledger.balance("alice", 5)  # type: ignore[arg-type]
    assert [c.code for c in ledger.currencies] == ["points", "tier_credits"]
    ledger.audit()


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"currencies": []}, InvalidArgumentError, "at least one"),
        ({"currencies": "points"}, ArgumentTypeError, "sequence of PointCurrency"),
        ({"currencies": ["points"]}, ArgumentTypeError, "each must be a PointCurrency"),
        (
            {"currencies": [PointCurrency("p"), PointCurrency("p")]},
            InvalidArgumentError,
            "twice",
        ),
        (
            {"currencies": [PointCurrency(f"c{n}") for n in range(65)]},
            LimitExceededError,
            "CURRENCIES_MAX",
        ),
        ({"policy": "reject"}, ArgumentTypeError, "must be a LedgerPolicy"),
        ({"program": ""}, InvalidArgumentError, "program=''"),
    ],
)
def test_ledger_configuration_is_checked(
    clock: FixedClock, kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    """A ledger is refused a configuration that cannot work, with a message saying why."""
    with pytest.raises(error, match=message):
        Ledger(MemoryStorage(), clock=clock, **kwargs)  # type: ignore[arg-type]


def test_ledger_needs_a_storage_and_a_clock(clock: FixedClock) -> None:
    """Storage and clock are checked for the protocols they must follow."""
    with pytest.raises(ArgumentTypeError, match="Storage protocol"):
        Ledger(object(), clock=clock)  # type: ignore[arg-type]
    with pytest.raises(ArgumentTypeError, match="now"):
        Ledger(MemoryStorage(), clock=datetime.now)  # type: ignore[arg-type]
    assert repr(Ledger(MemoryStorage(), clock=clock)).startswith("Ledger(program='default'")


def test_policy_values_are_checked() -> None:
    """Policies accept only the documented values."""
    with pytest.raises(InvalidArgumentError, match="clawback='forgive' must be one of"):
        LedgerPolicy(clawback="forgive")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="restore='later' must be one of"):
        LedgerPolicy(restore="later")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError):
        LedgerPolicy(debt_limit=-1)


def test_replay_and_conflict(ledger: Ledger) -> None:
    """A retry with the same payload is the original; another payload names the difference."""
    first = ledger.earn("alice", 100, key="order-1", metadata={"channel": "app"})
    again = ledger.earn("alice", 100, key="order-1", metadata={"channel": "app"})
    assert (again.replayed, first.replayed) == (True, False)
    assert again == first
    with pytest.raises(IdempotencyConflictError) as conflict:
        ledger.redeem("alice", 100, key="order-1")
    assert conflict.value.differences[0] == ("command", "earn", "redeem")
    assert ledger.transaction_by_key("order-1") == first


def test_metadata_is_checked(ledger: Ledger) -> None:
    """Metadata is a small mapping of text to text."""
    with pytest.raises(ArgumentTypeError):
        ledger.earn("alice", 1, key="e1", metadata=["a"])  # type: ignore[arg-type]
    with pytest.raises(ArgumentTypeError):
        ledger.earn("alice", 1, key="e1", metadata={"n": 1})  # type: ignore[dict-item]
    too_many = {f"k{n}": "v" for n in range(limits.METADATA_ENTRIES_MAX + 1)}
    with pytest.raises(LimitExceededError):
        ledger.earn("alice", 1, key="e1", metadata=too_many)
    done = ledger.earn("alice", 1, key="e1", metadata={"b": "2", "a": "1"})
    assert done.metadata == (("a", "1"), ("b", "2"))


def test_programs_in_one_storage_are_separate(clock: FixedClock) -> None:
    """Two programs share a storage but no keys, wallets or balances."""
    storage = MemoryStorage()
    mall = Ledger(storage, clock=clock, program="mall")
    cafe = Ledger(storage, clock=clock, program="cafe")
    mall.earn("alice", 100, key="k1")
    cafe.earn("alice", 5, key="k1")
    assert (mall.balance("alice").posted, cafe.balance("alice").posted) == (100, 5)
    assert mall.program == "mall"


def test_a_command_over_the_lot_limit_writes_nothing(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A command that would touch more lots than LOTS_PER_COMMAND_MAX is refused whole."""
    monkeypatch.setattr(limits, "LOTS_PER_COMMAND_MAX", 3)
    for n in range(4):
        ledger.earn("alice", 1, key=f"e{n}")
    with pytest.raises(LimitExceededError, match="LOTS_PER_COMMAND_MAX"):
        ledger.redeem("alice", 4, key="r1")
    assert ledger.balance("alice").available == 4
    ledger.redeem("alice", 3, key="r1")


def test_memory_storage_rolls_back_a_failed_unit(ledger: Ledger, clock: FixedClock) -> None:
    """Everything a unit wrote is undone when the unit ends with an exception."""
    ledger.earn("alice", 100, key="e1")
    before = snapshot(ledger._storage, ledger.program)
    message = "the host's own write failed after pointkit's"

    def write_then_fail() -> None:
        with ledger._storage.writing(ledger.program) as unit:
            wallets = unit.lock_wallets([(MemberId("alice"), "points")])
            booking = Booking(
                transaction_id=transaction_id_for("r1", clock.now()),
                key="r1",
                currency="points",
                now=clock.now(),
                wallets=wallets,
                open_lots=unit.open_lots,
            )
            booking.redeem(MemberId("alice"), 30)
            unit.apply(booking.finish(kind=TransactionKind.REDEEM, amount=30, request=()))
            assert unit.transaction_by_key("r1") is not None
            raise RuntimeError(message)

    with pytest.raises(RuntimeError, match=message):
        write_then_fail()
    assert before == snapshot(ledger._storage, ledger.program)
    assert ledger.balance("alice").available == 100
    ledger.audit()


def test_storage_refuses_a_plan_that_skips_a_version(ledger: Ledger) -> None:
    """Storage checks a plan's wallet versions and keys before writing (pair assertion)."""
    earn = ledger.earn("alice", 100, key="e1")
    with (
        pytest.raises(InvariantViolation, match="already stored"),
        ledger._storage.writing(ledger.program) as unit,
    ):
        unit.apply(Plan(transaction=earn, wallets=(), lots=(), holds=()))
    other = Ledger(MemoryStorage(), clock=ledger._clock)
    second = other.earn("alice", 1, key="e2")
    with (
        pytest.raises(InvariantViolation, match="expected 2"),
        ledger._storage.writing(ledger.program) as unit,
    ):
        unit.apply(
            Plan(
                transaction=second,
                wallets=(WalletState("alice", "points", version=5),),  # type: ignore[arg-type]
                lots=(),
                holds=(),
            )
        )


def test_audit_finds_tampering(ledger: Ledger, clock: FixedClock) -> None:
    """The audit rebuilds state from the journal and reports any cache that disagrees."""
    ledger.earn("alice", 100, key="e1", expires_at=clock.now() + DAY)
    ledger.reserve("alice", 10, key="h1", timeout_seconds=60)
    ledger.audit()
    data = ledger._storage._programs[ledger.program]  # type: ignore[attr-defined]
    (lot_id,) = data.lots
    lot = data.lots[lot_id]
    data.lots[lot_id] = attrs.evolve(lot, remaining=1_000)
    with pytest.raises(InvariantViolation, match="problem"):
        ledger.audit()
    data.lots[lot_id] = lot
    key = next(iter(data.wallets))
    wallet = data.wallets[key]
    data.wallets[key] = type(wallet)(wallet.member, wallet.currency, version=9, posted=100)
    with pytest.raises(InvariantViolation, match=r"wallet .* is WalletState"):
        ledger.audit()


def test_lot_status_at_an_instant(ledger: Ledger, clock: FixedClock) -> None:
    """A lot is pending, available, due or closed depending on the instant it is read at."""
    ledger.earn(
        "alice", 10, key="e1", available_at=clock.now() + HOUR, expires_at=clock.now() + DAY
    )
    (lot,) = ledger.lots("alice")
    assert lot.status(clock.now()) is LotStatus.PENDING
    assert lot.status(clock.now() + HOUR) is LotStatus.AVAILABLE
    assert lot.status(clock.now() + DAY) is LotStatus.DUE
    assert attrs.evolve(lot, remaining=0).status(clock.now()) is LotStatus.CLOSED


def test_account_ids_name_a_member_only_for_wallets() -> None:
    """A wallet names its member; a system account names none."""
    assert str(AccountId.wallet(MemberId("alice"), "points")) == "member:alice/points"
    with pytest.raises(InvalidArgumentError, match="must be given for a member account"):
        AccountId(AccountKind.ISSUANCE, "points", MemberId("alice"))
    with pytest.raises(InvalidArgumentError):
        AccountId(AccountKind.MEMBER, "points")


def test_ledger_exposes_its_policy(debt_ledger: Ledger) -> None:
    """The ledger reports the policies it was built with."""
    assert debt_ledger.policy == LedgerPolicy(clawback="debt", debt_limit=1_000)

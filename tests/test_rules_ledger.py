"""Earning rules in the ledger: awards and rule state commit together, once, on every adapter."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import TYPE_CHECKING

import pytest

from pointkit import FixedClock, Ledger, LedgerPolicy, Money
from pointkit.exceptions import (
    ArgumentTypeError,
    IdempotencyConflictError,
    TransactionNotFoundError,
)
from pointkit.expiry import ExpiryPolicy, RollingDays
from pointkit.features import Earning
from pointkit.ledger import TransactionKind
from pointkit.rules import (
    Bonus,
    Cap,
    Compare,
    Const,
    Event,
    EventRegistry,
    EventSchema,
    Fact,
    FieldSpec,
    Fixed,
    Line,
    MemberContext,
    Rate,
    Rule,
    RuleSet,
    Status,
    StreakLadder,
)
from pointkit.storage.sqlite import SQLiteStorage


if TYPE_CHECKING:
    from pathlib import Path

    from pointkit.ledger import Storage

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, a Monday
CNY = "CNY"
# A host-defined kind: a review that moderators flagged as abusive.
REGISTRY = EventRegistry.default().register(
    EventSchema("abusive_review", {"review": FieldSpec("str", required=False)})
)

MALL = RuleSet(
    [
        Rule("spend", ("purchase",), Rate(1, per=Money("10", CNY), rounding="floor")),
        Rule("sign-in", ("sign_in",), Fixed(0), streak=StreakLadder((1, 2, 3, 5, 10))),
        Rule("share", ("share",), Fixed(50), caps=(Cap("day", tasks=1),)),
        Rule(
            "review",
            ("review",),
            Fixed(5),
            bonuses=(Bonus(5, Compare(Fact("event.length"), ">", Const(20))),),
        ),
        Rule("abuse", ("abusive_review",), Fixed(-30), tier_multiplier=False),
        Rule("launch", ("registration",), Fixed(100), budget="launch", at_cap="nothing"),
    ],
    zone="Asia/Shanghai",
    caps=(Cap("day", points=100, tasks=15),),
    budgets={"launch": 250},
    registry=REGISTRY,
)


def _ledger(storage: Storage, **options: object) -> tuple[Ledger, Earning, FixedClock]:
    """A ledger on *storage* in a program of its own, its earning feature, and its clock."""
    clock = FixedClock(T0)
    ledger = Ledger(
        storage,
        clock=clock,
        program=f"rules-{uuid.uuid4().hex}",
        **options,  # type: ignore[arg-type]
    )
    return ledger, Earning(ledger), clock


def _order(event_id: str, amount: str, *, at: datetime = T0) -> Event:
    return Event.purchase(
        event_id,
        "alice",
        at,
        amount=Money(amount, CNY),
        order_id=event_id,
        lines=(
            Line("watch", "electronics", Money("300", CNY)),
            Line("book", "books", Money(str(int(amount) - 300), CNY)),
        ),
    )


def test_a_purchase_earns_once(any_storage: Storage) -> None:
    """An order earns by its rate; sending it again replays without writing anything."""
    ledger, earning, _ = _ledger(any_storage)
    outcome = earning.record(_order("order-1", "1000"), MALL)
    assert outcome.decision is not None
    assert (100, 100) == (outcome.decision.total(), ledger.balance("alice").posted)
    assert [("spend", TransactionKind.EARN, 100)] == [
        (dict(t.metadata)["rule"], t.kind, t.amount) for t in outcome.transactions
    ]
    again = earning.record(_order("order-1", "1000"), MALL)
    assert (True, outcome.document) == (again.replayed, again.document)
    assert [t.id for t in outcome.transactions] == [t.id for t in again.transactions]
    assert 100 == ledger.balance("alice").posted
    ledger.audit()


def test_the_same_id_with_other_content_conflicts(any_storage: Storage) -> None:
    """An event id is an idempotency key: other content under it is refused, naming the field."""
    _, earning, _ = _ledger(any_storage)
    earning.record(_order("order-1", "1000"), MALL)
    with pytest.raises(IdempotencyConflictError) as raised:
        earning.record(_order("order-1", "1200"), MALL)
    assert ["attributes.amount", "attributes.lines"] == [
        field for field, _, _ in raised.value.differences
    ]


def test_daily_caps_hold_across_events(any_storage: Storage) -> None:
    """The 100-points daily cap is stored with the awards: the second order earns what is left."""
    _, earning, clock = _ledger(any_storage)
    first = earning.record(_order("order-1", "800"), MALL)
    second = earning.record(_order("order-2", "500"), MALL)
    assert second.decision is not None
    assert (80, 20) == (first.transactions[0].amount, second.transactions[0].amount)
    assert Status.PARTIALLY_AWARDED is second.decision.explanation("spend").status
    clock.advance(timedelta(days=1))
    third = earning.record(_order("order-3", "500", at=clock.now()), MALL)
    assert 50 == third.transactions[0].amount


def test_sign_in_streaks_are_stored(any_storage: Storage) -> None:
    """Consecutive local days climb the ladder; a second sign-in the same day earns nothing."""
    _, earning, clock = _ledger(any_storage)
    earned = []
    for day in range(4):
        at = T0 + timedelta(days=day)
        clock.set(at)
        earned.append(earning.record(Event.sign_in(f"s{day}", "alice", at), MALL))
    twice = earning.record(Event.sign_in("s3-again", "alice", clock.now()), MALL)
    assert [1, 2, 3, 5] == [outcome.transactions[0].amount for outcome in earned]
    assert twice.decision is not None
    assert (0, Status.DUPLICATE) == (
        twice.decision.total(),
        twice.decision.explanation("sign-in").status,
    )


def test_deductions_follow_the_clawback_policy(any_storage: Storage) -> None:
    """A negative effect debits the member as an adjustment, clamped under the clamp policy."""
    ledger, earning, _ = _ledger(any_storage, policy=LedgerPolicy(clawback="clamp"))
    earning.record(Event.share("sh-1", "alice", T0, channel="wechat"), MALL)
    outcome = earning.record(Event("bad-1", "abusive_review", "alice", T0), MALL)
    assert [(TransactionKind.ADJUSTMENT, -30)] == [(t.kind, t.amount) for t in outcome.transactions]
    assert 20 == ledger.balance("alice").posted


def test_budgets_are_never_overspent(tmp_path: Path) -> None:
    """Registrations racing for a 250-point budget: two win 100 each, the rest nothing."""
    storage = SQLiteStorage(tmp_path / "rules.db")
    ledger, earning, _ = _ledger(storage)
    members = [f"m{index}" for index in range(8)]

    def register(member: str) -> None:
        earning.record(Event.registration(f"reg-{member}", member, T0), MALL)

    threads = [threading.Thread(target=register, args=(member,)) for member in members]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    awarded = sorted(ledger.balance(member).posted for member in members)
    assert [0] * 6 + [100, 100] == awarded
    storage.close()


def test_budgets_are_never_overspent_on_postgres(postgres_storage: Storage) -> None:
    """On PostgreSQL too: the budget row is locked, so racing awards cannot overspend it."""
    ledger, earning, _ = _ledger(postgres_storage)
    members = [f"m{index}" for index in range(8)]
    errors: list[BaseException] = []

    def register(member: str) -> None:
        try:
            earning.record(Event.registration(f"reg-{member}", member, T0), MALL)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=register, args=(member,)) for member in members]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [] == errors
    assert [0] * 6 + [100, 100] == sorted(ledger.balance(member).posted for member in members)


def test_concurrent_duplicates_record_once(any_storage: Storage) -> None:
    """The same event sent from many threads at once is awarded once."""
    ledger, earning, _ = _ledger(any_storage)
    threads = [
        threading.Thread(target=earning.record, args=(_order("order-1", "1000"), MALL))
        for _ in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert 100 == ledger.balance("alice").posted


def test_a_dry_run_writes_nothing(any_storage: Storage) -> None:
    """A dry run decides against the stored state and leaves it untouched."""
    ledger, earning, _ = _ledger(any_storage)
    earning.record(_order("order-1", "800"), MALL)
    preview = earning.record(_order("order-2", "500"), MALL, dry_run=True)
    assert preview.decision is not None
    assert (True, 20, ()) == (preview.dry_run, preview.decision.total(), preview.transactions)
    assert 80 == ledger.balance("alice").posted
    assert 20 == earning.record(_order("order-2", "500"), MALL).transactions[0].amount


def test_refunds_claw_back_in_proportion(any_storage: Storage) -> None:
    """Partial refunds take back their share, rounded so the total never passes the award."""
    ledger, earning, _ = _ledger(any_storage)
    earning.record(_order("order-1", "990"), MALL)  # 99 points
    first = earning.refund("order-1", MALL, key="refund-1", lines=[0])  # 300 of 990
    second = earning.refund("order-1", MALL, key="refund-2", amount=Money("345", CNY))
    rest = earning.refund("order-1", MALL, key="refund-3")
    taken = [t.amount for t in (*first, *second, *rest)]
    assert [30, 34, 35] == taken
    assert (0, 99) == (ledger.balance("alice").posted, sum(taken))
    again = earning.refund("order-1", MALL, key="refund-1", lines=[0])
    assert [True] == [t.replayed for t in again]
    with pytest.raises(IdempotencyConflictError):
        earning.refund("order-1", MALL, key="refund-1", lines=[1])
    ledger.audit()


def test_refunds_after_spending_follow_the_policy(any_storage: Storage) -> None:
    """Points already spent are clawed back into debt under the debt policy."""
    ledger, earning, _ = _ledger(
        any_storage, policy=LedgerPolicy(clawback="debt", debt_limit=1_000)
    )
    earning.record(_order("order-1", "1000"), MALL)
    ledger.redeem("alice", 100, key="coupon-1")
    earning.refund("order-1", MALL, key="refund-1")
    balance = ledger.balance("alice")
    assert (-100, 100) == (balance.posted, balance.debt)


def test_awards_expire_by_rule(any_storage: Storage) -> None:
    """Each award is its own transaction, so per-rule expiry windows apply to it."""
    expiry = ExpiryPolicy("Asia/Shanghai", rules={"review": RollingDays(7)})
    ledger, earning, _ = _ledger(any_storage, expiry=expiry)
    earning.record(Event.review("r-1", "alice", T0, length=30, rating=5), MALL)
    earning.record(_order("order-1", "400"), MALL)
    assert [T0 + timedelta(days=7), None] == [lot.expires_at for lot in ledger.lots("alice")]


def test_unknown_events_and_bad_arguments(ledger: Ledger) -> None:
    """Arguments are checked; refunding an event never recorded names it."""
    earning = Earning(ledger)
    with pytest.raises(ArgumentTypeError) as raised:
        earning.record(_order("o", "1000"), "mall")  # type: ignore[arg-type]
    assert "rules='mall' must be a RuleSet, not str" == str(raised.value)
    with pytest.raises(ArgumentTypeError):
        earning.record(_order("o", "1000"), MALL, member="gold")  # type: ignore[arg-type]
    with pytest.raises(TransactionNotFoundError) as missing:
        earning.refund("nope", MALL, key="refund-x")
    assert "event_id='nope' was not recorded" == str(missing.value)
    with pytest.raises(ArgumentTypeError) as wrong:
        earning.refund(7, MALL, key="refund-x")  # type: ignore[arg-type]
    assert "event_id=7 must be a str, not int" == str(wrong.value)


def test_tier_multipliers_come_from_the_member(any_storage: Storage) -> None:
    """The member's earn multiplier (silver doubles) applies to rules that take it."""
    ledger, earning, _ = _ledger(any_storage)
    silver = MemberContext(tier="silver", earn_multiplier=Fraction(2))
    outcome = earning.record(_order("order-1", "400"), MALL, member=silver)
    assert 80 == ledger.balance("alice").posted
    assert outcome.decision is not None


def test_refund_shares_add_up_even_when_they_round_to_nothing(any_storage: Storage) -> None:
    """Three thirds of a 1-point order take nothing, nothing, then the point: shares are kept."""
    ledger, earning, _ = _ledger(any_storage)
    order = Event.purchase("order-1", "alice", T0, amount=Money("15", CNY), order_id="order-1")
    assert 1 == earning.record(order, MALL).transactions[0].amount
    third = Money("5", CNY)
    taken = [
        [t.amount for t in earning.refund("order-1", MALL, key=f"r{n}", amount=third)]
        for n in range(3)
    ]
    assert [[], [], [1]] == taken
    assert 0 == ledger.balance("alice").posted
    assert () == earning.refund("order-1", MALL, key="r0", amount=third)

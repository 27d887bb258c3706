"""The expiry policy inside the ledger: lots get their expiry from it, activity extends inactivity."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from dateutil.relativedelta import relativedelta

from pointkit import FixedClock, Ledger, MemberId, PointCurrency
from pointkit.exceptions import ArgumentTypeError, ConfigurationError, IdempotencyConflictError
from pointkit.expiry import (
    EndOfPeriod,
    ExpiryPolicy,
    ExpiryWindow,
    Inactivity,
    Never,
    RollingDays,
    RollingMonths,
)
from pointkit.ledger import ExpiryExtension, TransactionKind


if TYPE_CHECKING:
    from pointkit.ledger import Storage

SHANGHAI = "Asia/Shanghai"
T0 = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
DAY = timedelta(days=1)


def _ledger(storage: Storage, expiry: ExpiryPolicy) -> tuple[Ledger, FixedClock]:
    clock = FixedClock(T0)
    currencies = (PointCurrency("points"), PointCurrency("miles"))
    ledger = Ledger(
        storage,
        clock=clock,
        program=f"expiry-{uuid.uuid4().hex}",
        currencies=currencies,
        expiry=expiry,
    )
    return ledger, clock


def _local(year: int, month: int, day: int, hour: int = 0) -> datetime:
    """A Shanghai wall time (UTC+8, no DST) as a UTC instant."""
    return datetime(year, month, day, hour, tzinfo=UTC) - timedelta(hours=8)


def _expiries(ledger: Ledger, member: str, currency: str | None = None) -> list[datetime | None]:
    return [lot.expires_at for lot in ledger.lots(member, currency)]


def test_policy_sets_each_lots_expiry(any_storage: Storage) -> None:
    """Without expires_at, the window for the rule, else the currency, else the default applies."""
    policy = ExpiryPolicy(
        zone=SHANGHAI,
        default=EndOfPeriod("half_year"),
        currencies={"miles": RollingMonths(24)},
        rules={"double-11": RollingDays(30)},
    )
    ledger, _ = _ledger(any_storage, policy)
    ledger.earn("alice", 100, key="order-1")
    ledger.earn("alice", 10, key="bonus-1", rule="double-11")
    ledger.earn("alice", 5, key="fixed-1", expires_at=T0 + 2 * DAY)
    ledger.earn("alice", 7, key="miles-1", currency="miles")
    assert [T0 + 2 * DAY, T0 + 30 * DAY, _local(2026, 7, 1)] == _expiries(ledger, "alice")
    assert [T0 + relativedelta(months=24)] == _expiries(ledger, "alice", "miles")
    assert all(not lot.follows_activity for lot in ledger.lots("alice"))


def test_pending_points_count_from_when_they_become_available(any_storage: Storage) -> None:
    """A lot locked through a return window starts its expiry window when it unlocks."""
    ledger, _ = _ledger(any_storage, ExpiryPolicy(zone=SHANGHAI, default=RollingDays(10)))
    ledger.earn("alice", 100, key="order-1", available_at=T0 + 7 * DAY)
    assert [T0 + 17 * DAY] == _expiries(ledger, "alice")


def test_never_window_and_no_policy_mean_no_expiry(any_storage: Storage) -> None:
    """Never, like a ledger without a policy, leaves the lot without an expiry."""
    ledger, _ = _ledger(any_storage, ExpiryPolicy(zone=SHANGHAI, default=Never()))
    ledger.earn("alice", 100, key="order-1")
    assert [None] == _expiries(ledger, "alice")


def test_rule_is_part_of_the_idempotent_payload(ledger: Ledger) -> None:
    """Replaying an earn with its rule replays it; a different rule is a conflict."""
    first = ledger.earn("alice", 10, key="bonus-1", rule="double-11")
    assert ledger.earn("alice", 10, key="bonus-1", rule="double-11").replayed
    with pytest.raises(IdempotencyConflictError) as raised:
        ledger.earn("alice", 10, key="bonus-1", rule="birthday")
    assert (("rule", '"double-11"', '"birthday"'),) == raised.value.differences
    assert ("rule", '"double-11"') in first.request
    # An earn without a rule keeps the payload it always had.
    assert "rule" not in dict(ledger.earn("alice", 10, key="order-1").request)


def test_expiry_must_be_a_policy(any_storage: Storage) -> None:
    """A ledger refuses an expiry argument that is not an ExpiryPolicy."""
    with pytest.raises(ArgumentTypeError) as raised:
        Ledger(any_storage, clock=FixedClock(T0), expiry=RollingDays(3))  # type: ignore[arg-type]
    assert "expiry=RollingDays(days=3) must be an ExpiryPolicy" == str(raised.value)


def _inactivity(storage: Storage) -> tuple[Ledger, FixedClock]:
    return _ledger(storage, ExpiryPolicy(zone=SHANGHAI, default=Inactivity(3)))


def test_activity_extends_every_open_lot(any_storage: Storage) -> None:
    """Earning and redeeming move all inactivity lots to three months after the activity."""
    ledger, clock = _inactivity(any_storage)
    first = ledger.earn("alice", 100, key="order-1")
    assert [T0 + relativedelta(months=3)] == _expiries(ledger, "alice")
    assert first.lots_created[0].follows_activity
    assert (ExpiryExtension(MemberId("alice"), "points", T0 + relativedelta(months=3)),) == (
        first.expiry_extensions
    )
    clock.advance(60 * DAY)
    ledger.earn("alice", 50, key="order-2")
    later = clock.now() + relativedelta(months=3)
    assert [later, later] == _expiries(ledger, "alice")
    clock.advance(60 * DAY)
    ledger.redeem("alice", 30, key="coupon-1")
    latest = clock.now() + relativedelta(months=3)
    assert [latest, latest] == _expiries(ledger, "alice")
    assert ledger.audit().lots == 2


def test_holds_extend_on_capture_only(any_storage: Storage) -> None:
    """A reserve or a release is not activity; a capture is."""
    ledger, clock = _inactivity(any_storage)
    ledger.earn("alice", 100, key="order-1")
    start = T0 + relativedelta(months=3)
    clock.advance(10 * DAY)
    hold = ledger.reserve("alice", 40, key="hold-1", timeout_seconds=3600)
    ledger.release(hold.id, key="release-1")
    assert [start] == _expiries(ledger, "alice")
    hold = ledger.reserve("alice", 40, key="hold-2", timeout_seconds=3600)
    ledger.capture(hold.id, key="capture-2")
    assert [clock.now() + relativedelta(months=3)] == _expiries(ledger, "alice")


def test_inactive_members_lose_everything_once(any_storage: Storage) -> None:
    """After three quiet months the expiry run takes every inactivity lot, exactly once."""
    ledger, clock = _inactivity(any_storage)
    ledger.earn("alice", 100, key="order-1")
    clock.advance(30 * DAY)
    ledger.earn("alice", 50, key="order-2")
    clock.set(clock.now() + relativedelta(months=3))
    first = ledger.expire_due()
    again = ledger.expire_due()
    assert (2, 150) == (first.lots_expired, dict(first.points_expired)["points"])
    assert 0 == again.lots_expired
    assert 0 == ledger.balance("alice").posted
    assert ledger.audit().transactions == 3  # both lots expire in one transaction


def test_activity_after_expiry_does_not_revive_due_points(any_storage: Storage) -> None:
    """Points past their inactivity expiry stay due even if the run has not taken them yet."""
    ledger, clock = _inactivity(any_storage)
    ledger.earn("alice", 100, key="order-1")
    due_at = T0 + relativedelta(months=3)
    clock.set(due_at + DAY)
    ledger.earn("alice", 5, key="order-2")
    assert [due_at, clock.now() + relativedelta(months=3)] == _expiries(ledger, "alice")
    assert 100 == ledger.balance("alice").awaiting_expiry
    run = ledger.expire_due()
    assert (1, 5) == (run.lots_expired, ledger.balance("alice").posted)
    assert ledger.audit().lots == 2


def test_rule_windows_do_not_follow_activity(any_storage: Storage) -> None:
    """A campaign lot with its own rolling window keeps it while activity extends the rest."""
    policy = ExpiryPolicy(zone=SHANGHAI, default=Inactivity(3), rules={"flash": RollingDays(7)})
    ledger, clock = _ledger(any_storage, policy)
    ledger.earn("alice", 10, key="bonus-1", rule="flash")
    ledger.earn("alice", 100, key="order-1")
    clock.advance(DAY)
    ledger.redeem("alice", 1, key="coupon-1")
    assert [T0 + 7 * DAY, clock.now() + relativedelta(months=3)] == _expiries(ledger, "alice")


def test_transfers_keep_the_inactivity_flag(any_storage: Storage) -> None:
    """Transferred inactivity points follow the recipient's activity from then on."""
    ledger, clock = _inactivity(any_storage)
    ledger.earn("alice", 100, key="order-1")
    clock.advance(DAY)
    transfer = ledger.transfer("alice", "bob", 40, key="gift-1")
    assert TransactionKind.TRANSFER is transfer.kind
    received = ledger.lots("bob")
    assert [(40, True, T0 + relativedelta(months=3))] == [
        (lot.remaining, lot.follows_activity, lot.expires_at) for lot in received
    ]
    clock.advance(DAY)
    ledger.earn("bob", 1, key="order-2")
    assert [clock.now() + relativedelta(months=3)] * 2 == _expiries(ledger, "bob")
    assert ledger.audit().wallets == 2


def test_earn_many_extends_like_earn(any_storage: Storage) -> None:
    """The batch API extends inactivity lots the same way single earns do."""
    from pointkit.ledger import Earn  # noqa: PLC0415 - only this test uses it

    ledger, clock = _inactivity(any_storage)
    ledger.earn("alice", 100, key="order-1")
    clock.advance(10 * DAY)
    ledger.earn_many(
        [Earn(member="alice", amount=5, key="b1"), Earn(member="bob", amount=5, key="b2")]
    )
    until = clock.now() + relativedelta(months=3)
    assert [until, until] == _expiries(ledger, "alice")
    assert ledger.audit().transactions == 3


def test_inactivity_is_not_a_rule_window() -> None:
    """Inactivity covers a currency's whole balance, so a rule cannot have one of its own."""
    rules: dict[str, ExpiryWindow] = {"flash": Inactivity(3), "ok": RollingDays(7)}
    with pytest.raises(ConfigurationError) as raised:
        ExpiryPolicy(zone="UTC", rules=rules)
    expected = (
        (
            "rules['flash']=Inactivity(months=3): an inactivity window applies to a whole "
            "currency; set it as the default or in currencies"
        ),
    )
    assert expected == raised.value.problems

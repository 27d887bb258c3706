"""Tiers through the ledger: the metric from the journal, state and history in storage."""

from __future__ import annotations

import sqlite3
import threading
import uuid
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import TYPE_CHECKING

import pytest

from pointkit import FixedClock, Ledger, LedgerPolicy, MemberId, PointCurrency
from pointkit.exceptions import (
    ArgumentTypeError,
    InvalidArgumentError,
    InvariantViolation,
    UnknownCurrencyError,
)
from pointkit.features import Tiers
from pointkit.storage.sqlite import SQLiteStorage
from pointkit.tiers import (
    Benefits,
    CalendarYear,
    DowngradePolicy,
    Lifetime,
    QualifyingMetric,
    ReviewEveryMonths,
    ReviewYearlyOn,
    Tier,
    TierChangeReason,
    TierLadder,
)


if TYPE_CHECKING:
    from pathlib import Path

    from pointkit.ledger import Storage

T0 = datetime(2026, 2, 1, 4, 0, tzinfo=UTC)  # noon in Shanghai
NEW_YEAR = datetime(2026, 12, 31, 16, 0, tzinfo=UTC)  # 2027-01-01 00:00 in Shanghai

LIFETIME = TierLadder(
    [Tier("junior", 0), Tier("intermediate", 5_000), Tier("senior", 10_000)],
    QualifyingMetric("points"),
    Lifetime(),
    DowngradePolicy(),
    "Asia/Shanghai",
)
YEARLY = TierLadder(
    [
        Tier("normal", 0),
        Tier("silver", 1_000, Benefits(earn_multiplier=2)),
        Tier("gold", 5_000, Benefits(earn_multiplier=3, price_discount=Fraction(1, 10))),
    ],
    QualifyingMetric("points"),
    CalendarYear(),
    DowngradePolicy(ReviewYearlyOn(((1, 1),)), one_step=True),
    "Asia/Shanghai",
)


def _ledger(storage: Storage) -> tuple[Ledger, Tiers, FixedClock]:
    """A ledger on *storage* in a program of its own, its tiers feature, and its clock."""
    clock = FixedClock(T0)
    ledger = Ledger(
        storage,
        clock=clock,
        program=f"tiers-{uuid.uuid4().hex}",
        policy=LedgerPolicy(clawback="debt", debt_limit=100_000),
    )
    return ledger, Tiers(ledger), clock


def _history(tiers: Tiers, member: str) -> list[tuple[str | None, str, str, int | None]]:
    return [(c.from_tier, c.to_tier, c.reason.value, c.metric) for c in tiers.history(member)]


def test_members_join_and_climb_at_once(any_storage: Storage) -> None:
    """A first review places the member; earning past a threshold upgrades on the next review."""
    ledger, tiers, clock = _ledger(any_storage)
    assert "junior" == tiers.review("alice", LIFETIME).state.tier
    ledger.earn("alice", 6_000, key="order-1")
    clock.advance(timedelta(hours=1))
    decision = tiers.review("alice", LIFETIME)
    assert ("intermediate", T0 + timedelta(hours=1)) == (decision.state.tier, decision.state.since)
    expected = [(None, "junior", "joined", 0), ("junior", "intermediate", "upgrade", 6_000)]
    assert expected == _history(tiers, "alice")


def test_reviewing_again_without_news_changes_nothing(any_storage: Storage) -> None:
    """A review that decides nothing new writes nothing and records no change."""
    _, tiers, _ = _ledger(any_storage)
    first = tiers.review("alice", LIFETIME)
    again = tiers.review("alice", LIFETIME)
    assert (first.state, ()) == (again.state, again.changes)
    assert 1 == len(tiers.history("alice"))


def test_redemptions_keep_the_metric_clawbacks_lower_it(any_storage: Storage) -> None:
    """Spending points never costs qualifying credit; reversing an earning does."""
    ledger, tiers, _ = _ledger(any_storage)
    earned = ledger.earn("alice", 7_000, key="order-1")
    ledger.earn("alice", 500, key="order-2")
    ledger.redeem("alice", 7_000, key="watch-1")
    ledger.transfer("alice", "bob", 100, key="gift-1")
    assert (7_500, 0) == (
        tiers.status("alice", LIFETIME).metric,
        tiers.status("bob", LIFETIME).metric,
    )
    ledger.reverse(earned.id, amount=3_000, key="refund-1")  # into debt: the points were spent
    assert 4_500 == tiers.status("alice", LIFETIME).metric


def test_a_calendar_year_ladder_reviews_the_year_that_ended(any_storage: Storage) -> None:
    """On 1 January the closed year is judged: one step down, and only at the review."""
    ledger, tiers, clock = _ledger(any_storage)
    ledger.earn("alice", 6_000, key="order-1")
    assert "gold" == tiers.review("alice", YEARLY).state.tier
    clock.set(NEW_YEAR - timedelta(seconds=1))
    assert "gold" == tiers.review("alice", YEARLY).state.tier
    clock.set(NEW_YEAR + timedelta(hours=1))
    assert "gold" == tiers.review("alice", YEARLY).state.tier  # 2026 qualified for gold
    clock.set(NEW_YEAR + timedelta(days=366))
    decision = tiers.review("alice", YEARLY)
    assert ("silver", [TierChangeReason.DOWNGRADE]) == (
        decision.state.tier,
        [change.reason for change in decision.changes],
    )


def test_status_shows_the_metric_and_progress(any_storage: Storage) -> None:
    """status() reads without writing: the metric now and how far the next tier is."""
    ledger, tiers, _ = _ledger(any_storage)
    ledger.earn("alice", 1_200, key="order-1")
    before = tiers.status("alice", YEARLY)
    assert (MemberId("alice"), None, 1_200, None) == (
        before.member,
        before.state,
        before.metric,
        before.progress,
    )
    tiers.review("alice", YEARLY)
    status = tiers.status("alice", YEARLY)
    assert status.progress is not None
    assert ("silver", "gold", 3_800, NEW_YEAR) == (
        status.progress.current.name,
        status.progress.next.name if status.progress.next else None,
        status.progress.needed,
        status.progress.by,
    )
    assert Fraction(2) == YEARLY.benefits(status.state or "normal").earn_multiplier


def test_hosts_may_supply_the_metric(any_storage: Storage) -> None:
    """A ladder on money spent takes the host's figure instead of the journal's."""
    _, tiers, _ = _ledger(any_storage)
    assert "senior" == tiers.review("alice", LIFETIME, metric=12_000).state.tier
    with pytest.raises(ArgumentTypeError) as raised:
        tiers.review("alice", LIFETIME, metric=1.5)  # type: ignore[arg-type]
    assert "metric=1.5 must be an int, not float" == str(raised.value)


def test_vip_members_never_go_down(any_storage: Storage) -> None:
    """A manual tier with never_downgrade survives reviews that would lower it."""
    _, tiers, clock = _ledger(any_storage)
    decision = tiers.set("alice", YEARLY, "gold", never_downgrade=True)
    assert (TierChangeReason.MANUAL, True) == (
        decision.changes[0].reason,
        decision.state.never_downgrade,
    )
    clock.set(NEW_YEAR + timedelta(days=1))
    assert "gold" == tiers.review("alice", YEARLY).state.tier
    with pytest.raises(InvalidArgumentError):
        tiers.set("alice", YEARLY, "platinum")


def test_concurrent_reviews_join_once(tmp_path: Path) -> None:
    """Reviews of one member from many threads store one join and sequential versions."""
    storage = SQLiteStorage(tmp_path / "tiers.db")
    ledger, tiers, _ = _ledger(storage)
    ledger.earn("alice", 6_000, key="order-1")
    threads = [threading.Thread(target=tiers.review, args=("alice", LIFETIME)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [(None, "intermediate", "joined", 6_000)] == _history(tiers, "alice")
    storage.close()


def test_concurrent_reviews_join_once_on_postgres(postgres_storage: Storage) -> None:
    """On PostgreSQL too, racing reviews retry on the winner's state: one join."""
    ledger, tiers, _ = _ledger(postgres_storage)
    ledger.earn("alice", 6_000, key="order-1")
    errors: list[BaseException] = []

    def review() -> None:
        try:
            tiers.review("alice", LIFETIME)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=review) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [] == errors
    assert [(None, "intermediate", "joined", 6_000)] == _history(tiers, "alice")


def test_tier_arguments_are_checked(ledger: Ledger) -> None:
    """A ladder must be a TierLadder on a currency the ledger holds; history limits are bounded."""
    tiers = Tiers(ledger)
    with pytest.raises(ArgumentTypeError) as raised:
        tiers.status("alice", "gold")  # type: ignore[arg-type]
    assert "ladder='gold' must be a TierLadder, not str" == str(raised.value)
    credit_ladder = TierLadder(
        [Tier("base", 0)], QualifyingMetric("tier_credits"), Lifetime(), DowngradePolicy(), "UTC"
    )
    with pytest.raises(UnknownCurrencyError):
        tiers.review("alice", credit_ladder)
    with pytest.raises(InvalidArgumentError) as limit:
        tiers.history("alice", limit=0)
    assert "limit=0 must be an int from 1 to 10000" == str(limit.value)


def test_status_currencies_qualify(any_storage: Storage) -> None:
    """A status-only currency (tier credits) is a ladder's metric like any other."""
    clock = FixedClock(T0)
    ledger = Ledger(
        any_storage,
        clock=clock,
        program=f"credits-{uuid.uuid4().hex}",
        currencies=(PointCurrency("points"), PointCurrency("tier_credits")),
    )
    tiers = Tiers(ledger)
    credit_ladder = TierLadder(
        [Tier("base", 0), Tier("elite", 50)],
        QualifyingMetric("tier_credits"),
        Lifetime(),
        DowngradePolicy(),
        "UTC",
    )
    ledger.earn("alice", 10_000, key="order-1")
    ledger.earn("alice", 60, key="credits-1", currency="tier_credits")
    assert ("elite", 60) == (
        tiers.review("alice", credit_ladder).state.tier,
        tiers.status("alice", credit_ladder).metric,
    )


def test_a_corrupt_tier_row_raises(tmp_path: Path) -> None:
    """A stored tier state that breaks its invariants raises instead of deciding on it."""
    path = tmp_path / "tiers.db"
    storage = SQLiteStorage(path)
    _, tiers, _ = _ledger(storage)
    tiers.review("alice", LIFETIME)
    raw = sqlite3.connect(path)
    raw.execute("UPDATE pk_tier SET tier = ' '")
    raw.commit()
    raw.close()
    with pytest.raises(InvariantViolation, match="the stored tier state of 'alice' is corrupt"):
        tiers.status("alice", LIFETIME)
    storage.close()


def test_a_due_review_does_not_hold_back_an_upgrade(any_storage: Storage) -> None:
    """A review judges the closed window, then the points earned since still upgrade at once."""
    monthly = TierLadder(
        [Tier("base", 0), Tier("silver", 300)],
        QualifyingMetric("points"),
        Lifetime(),
        DowngradePolicy(ReviewEveryMonths(1)),
        "UTC",
    )
    ledger, tiers, clock = _ledger(any_storage)
    ledger.earn("ben", 200, key="order-1")
    tiers.review("ben", monthly)
    clock.set(T0 + timedelta(days=40))  # the review of 1 March is due
    ledger.earn("ben", 100, key="order-2")
    decision = tiers.review("ben", monthly)
    assert ("silver", [TierChangeReason.UPGRADE]) == (
        decision.state.tier,
        [change.reason for change in decision.changes],
    )
    assert () == tiers.review("ben", monthly).changes

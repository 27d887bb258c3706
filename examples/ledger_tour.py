"""A tour of the ledger: a points mall's ledger in one page, without a Program.

Run it with ``python examples/ledger_tour.py``. It earns points for orders (pending until the
return window closes), redeems a reward in two phases, refunds an order whose points were partly
spent, lets a review bonus expire at the year-end clearing, and prints the statement.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pointkit import FixedClock, Ledger, LedgerPolicy, MemoryStorage
from pointkit.exceptions import InsufficientPointsError


def main() -> None:
    """Run the tour and print what happens."""
    clock = FixedClock(datetime(2026, 5, 20, 10, 0, tzinfo=UTC))  # SystemClock() in production
    ledger = Ledger(
        MemoryStorage(),
        clock=clock,
        program="ledger-tour",
        policy=LedgerPolicy(clawback="clamp"),  # a refund never creates debt here
    )
    end_of_year = datetime(2026, 12, 31, 16, 0, tzinfo=UTC)  # midnight in Shanghai

    # 1 point per yuan; points stay pending for the 7-day return window.
    order = ledger.earn(
        "mei",
        880,
        key="order-7001",
        available_at=clock.now() + timedelta(days=7),
        expires_at=end_of_year,
        reason="order 7001",
    )
    print(f"earned {order.amount} points, pending: {ledger.balance('mei').pending}")

    try:
        ledger.redeem("mei", 500, key="voucher-1")
    except InsufficientPointsError as refused:
        print(f"refused while pending: {refused}")

    clock.advance(timedelta(days=7))
    hold = ledger.reserve("mei", 500, key="voucher-1", timeout_seconds=600)
    ledger.capture(hold.id, key="voucher-1-issued")
    print(f"after the voucher: {ledger.balance('mei').available} points available")

    # The order is returned after the voucher was issued: 880 points to take back, 380 left.
    refund = ledger.reverse(order.id, key="refund-7001", reason="order 7001 returned")
    print(f"refund asked for {refund.amount}, balance now {ledger.balance('mei').posted}")

    ledger.earn("mei", 120, key="review-88", expires_at=end_of_year, reason="product review")
    clock.set(datetime(2027, 1, 1, 0, 0, tzinfo=UTC))
    run = ledger.expire_due()
    print(f"expiry run: {run.lots_expired} lot(s) expired, {dict(run.points_expired)}")

    for line in ledger.statement("mei").lines:
        print(f"  {line.at:%Y-%m-%d}  {line.kind.value:<9} {line.change:>6}  = {line.balance}")
    ledger.audit()


if __name__ == "__main__":
    main()

"""Quickstart: a whole points mall from one TOML file and one object.

Run it with ``python examples/quickstart.py``. It loads ``points_mall.toml`` (next to this
file), keeps the points in a SQLite file, and then does what a host service does all day:
records purchases and sign-ins (silver members earn double; three purchases in a month complete
a mission), redeems the watch for points + cash, draws once in the lottery, and prints the
member's balance, tier and statement.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pointkit import FixedClock, Money
from pointkit.pricing import SeededRandom
from pointkit.program import Program
from pointkit.rules import Event
from pointkit.storage.sqlite import SQLiteStorage


HERE = Path(__file__).parent


def main() -> None:
    """Run the quickstart and print what happens."""
    clock = FixedClock(datetime(2026, 6, 1, 2, 0, tzinfo=UTC))  # SystemClock() in production
    with tempfile.TemporaryDirectory() as folder:
        storage = SQLiteStorage(Path(folder) / "mall.db")
        mall = Program.from_file(HERE / "points_mall.toml", storage=storage, clock=clock)

        # A week of purchases: 1 point per 10 yuan, at most 100 points a day; the third
        # purchase of the month completes the mission (200 points, a coupon and a badge).
        for day in range(7):
            order = f"order-{day}"
            event = Event.purchase(
                order, "mei", clock.now(), amount=Money(1_200, "CNY"), order_id=order
            )
            mall.record(event)
            mall.record(Event.sign_in(f"sign-in-{day}", "mei", clock.now()))
            clock.advance(timedelta(days=1))
        status = mall.tier_status("mei")
        tier = status.state.tier if status and status.state else "none"
        print(f"after a week: {mall.balance('mei').available} points, tier {tier}")
        badges = [badge.badge for badge in mall.missions.badges("mei") if badge.earned]
        coupons = [coupon.code for coupon in mall.coupons.coupons_of("mei")]
        print(f"mission done: badges {badges}, {len(coupons)} coupon(s)")

        # Retrying an event is safe: it is recorded once.
        again = mall.record(
            Event.purchase(
                "order-0",
                "mei",
                datetime(2026, 6, 1, 2, 0, tzinfo=UTC),
                amount=Money(1_200, "CNY"),
                order_id="order-0",
            )
        )
        print(f"order-0 sent again: replayed={again.outcome.replayed}")

        # Silver earns double: 300 yuan is 60 points now.
        doubled = mall.record(
            Event.purchase(
                "order-7", "mei", clock.now(), amount=Money(300, "CNY"), order_id="order-7"
            )
        )
        print(f"order-7 earns {sum(t.amount for t in doubled.outcome.transactions)} points")

        # The catalogue: what the watch costs mei, and what a point is worth in each option.
        for offer_id, options in mall.offers_for("mei"):
            if offer_id == "watch":
                for option in options:
                    print(f"watch, {option.id}: {option.describe()}")

        mall.adjust("mei", 3_000, key="welcome-gift", reason="welcome gift")
        redemption = mall.redeem("mei", "watch", key="mall-order-1", option="bundle:0")
        mall.fulfil("mall-order-1", key="shipped-1")
        print(f"watch redeemed for {redemption.points} points + {redemption.cash}")

        draw = mall.draw("mei", "wheel", draw_id="draw-1", minor=False, random=SeededRandom(7))
        print(f"lottery: {mall.config.lottery('wheel').prize(draw.prize).name}")

        print(f"balance now: {mall.balance('mei').available} points")
        for line in mall.statement("mei").lines[-4:]:
            print(f"  {line.kind.value:<10} {line.change:+6}  {line.reason or ''}")
        storage.close()


if __name__ == "__main__":
    main()

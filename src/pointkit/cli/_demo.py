"""``pointkit demo``: a month of a points mall on SQLite, from the packaged programme."""

from __future__ import annotations

import random
import sys
import tempfile
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from typing import TextIO

import pointkit
from pointkit._text import table
from pointkit._values import Money
from pointkit.campaigns import Order
from pointkit.clock import FixedClock
from pointkit.exceptions import (
    ActivityRefusedError,
    DrawRefusedError,
    InsufficientPointsError,
    OfferUnavailableError,
)
from pointkit.pricing import SeededRandom
from pointkit.program import (
    Program,
)
from pointkit.reports import (
    daily_report,
    hottest_offers,
    liability_report,
    lottery_cost,
    tier_distribution,
)
from pointkit.rules import Event, Line
from pointkit.storage.sqlite import SQLiteStorage


MALL: str = "points_mall.toml"
"""The packaged programme the demo runs (``pointkit/program/points_mall.toml``)."""

_MEMBERS = ("alice", "bob", "carol", "dave", "erin")
_OPENING = {"alice": 6_000, "bob": 3_000, "carol": 4_500, "dave": 2_500, "erin": 4_000}
_SPINS_FROM = 3_000  # members spin the wheel only while they keep this much
_SHANGHAI = timedelta(hours=8)


def _mall_text() -> str:
    return (resources.files("pointkit.program") / MALL).read_text(encoding="utf-8")


class _Progress:
    """A progress bar on standard error, drawn only when it is a terminal."""

    def __init__(self, label: str, total: int) -> None:
        self.label = label
        self.total = total
        self.shown = sys.stderr.isatty()

    def update(self, done: int) -> None:
        if not self.shown:
            return
        filled = done * 30 // self.total
        bar = "#" * filled + "." * (30 - filled)
        sys.stderr.write(f"\r{self.label} [{bar}] {done}/{self.total}")
        if done == self.total:
            sys.stderr.write("\n")
        sys.stderr.flush()


class _Month:
    """June 2026 in a points mall, told as it runs."""

    def __init__(self, out: TextIO, storage: SQLiteStorage) -> None:
        self.out = out
        self.storage = storage
        self.clock = FixedClock(datetime(2026, 5, 20, 2, 0, tzinfo=UTC))  # 10:00 in Shanghai
        self.mall = Program.from_toml(_mall_text(), storage=storage, clock=self.clock)
        self.dice = random.Random(2026)  # noqa: S311 - the story is seeded, so it reads the same
        self.draws = SeededRandom(2026)
        self.keys = 0
        self.active = list(_MEMBERS)  # frank joins on 5 June

    def say(self, text: str = "") -> None:
        print(text, file=self.out)

    def key(self, prefix: str) -> str:
        self.keys += 1
        return f"{prefix}-{self.keys}"

    def at(self, day: int, hour: int, minute: int = 0) -> None:
        """Move the clock to June *day*, *hour*:*minute* in Shanghai."""
        local = datetime(2026, 6, day, hour, minute, tzinfo=UTC)
        self.clock.set(local - _SHANGHAI)

    def note(self, text: str) -> None:
        local = self.clock.now() + _SHANGHAI
        self.say(f"{local:%m-%d %H:%M}  {text}")

    def record(self, event: Event) -> int:
        recorded = self.mall.record(event)
        for change in () if recorded.tier is None else recorded.tier.changes:
            if change.reason.value == "joined":
                continue
            self.note(f"{event.member} moves up to {change.to_tier} ({change.reason.value})")
        return sum(transaction.amount for transaction in recorded.outcome.transactions)

    def run(self) -> None:
        mall = self.mall
        self.say(f"pointkit {pointkit.__version__} demo: a month of a points mall on SQLite")
        self.say(f"(database: {self.storage.path}; programme: pointkit/program/{MALL})")
        self.say()
        for member, points in _OPENING.items():
            mall.adjust(
                member, points, key=f"import-{member}", reason="balance from the old system"
            )
        self.note(
            "opening balances imported from the old system: "
            + ", ".join(f"{member} {points:,}" for member, points in _OPENING.items())
            + " (they expire at the 30 June clearing)"
        )
        self.say()
        progress = _Progress("June", 30)
        for day in range(1, 31):
            self.day(day)
            progress.update(day)
        self.say()
        self.clock.set(datetime(2026, 6, 30, 18, 0, tzinfo=UTC))  # 1 July, 02:00 in Shanghai
        run = mall.run_expiry()
        expired = dict(run.points_expired).get("points", 0)
        self.note(
            f"the half-yearly clearing: {run.lots_expired} lots expired, {expired:,} points; "
            "points earned in June survive to 31 December"
        )
        self.say()
        self.campaigns()
        self.say()
        self.reports()

    def campaigns(self) -> None:
        """One of each campaign, on 1 July: missions, a coupon, a referral, a group buy, anti-cheat."""
        mall = self.mall
        self.clock.set(datetime(2026, 7, 1, 2, 0, tzinfo=UTC))  # 1 July, 10:00 in Shanghai
        done = [m for m in self.active if any(b.earned for b in mall.missions.badges(m))]
        self.note(
            "June's mission (three purchases in a month: 200 points, a coupon, the Regular "
            f"badge) was completed by {', '.join(done) or 'no one'}"
        )
        owned = [(m, c) for m in done for c in mall.coupons.coupons_of(m)]
        if owned:
            member, coupon = owned[0]
            order = Order([Line("tea-1", "tea", Money(168, "CNY"))])
            use = mall.coupons.redeem(coupon.code, member, order, key=self.key("coupon-use"))
            self.note(
                f"{member} uses coupon {coupon.code} on a 168-yuan order: {use.discount.amount} off"
            )
        code = mall.referrals.code_for("alice", key="alice-referral-code")
        mall.referrals.attribute(code, "gina", identity=None, at=self.clock.now(), key="gina-joins")
        before = mall.balance("alice").available
        self.record(
            Event.purchase(
                "gina-first", "gina", self.clock.now(), amount=Money(120, "CNY"), order_id="g1"
            )
        )
        self.note(
            f"gina joins with alice's code {code} and buys for 120 yuan: alice gets "
            f"{mall.balance('alice').available - before} points, gina "
            f"{mall.balance('gina').available} (her 12 and the invitee's 50)"
        )
        buyers = [m for m in self.active if mall.balance(m).available >= 800][:3]  # noqa: PLR2004
        if len(buyers) == 3:  # noqa: PLR2004 - the deal's group size
            group = mall.group_buys.open("tea-3", buyers[0], key=self.key("group"))
            for member in buyers[1:]:
                group = mall.group_buys.join(group.group_id, member, key=self.key("join"))
            self.note(
                f"{', '.join(buyers)} fill a group buy of the tea gift box (800 points each): "
                f"{group.status}, every hold captured at once"
            )
        for number in range(4):
            try:
                self.record(Event.sign_in(f"burst-{number}", "erin", self.clock.now()))
            except ActivityRefusedError as refused:
                self.note(f"erin's sign-in no. {number + 1} within a minute is refused: {refused}")

    def day(self, day: int) -> None:  # noqa: C901, PLR0912, PLR0915 - one day of the story, in order
        mall, dice = self.mall, self.dice
        self.at(day, 8)
        signed = [m for m in self.active if dice.random() < 0.85]  # noqa: PLR2004 - the story's odds
        streak_points = sum(
            self.record(Event.sign_in(self.key("sign-in"), member, self.clock.now()))
            for member in signed
        )
        bought = []
        self.at(day, 12)
        for member in self.active:
            if dice.random() < 0.35:  # noqa: PLR2004
                amount = dice.randrange(60, 900)
                order = self.key("order")
                earned = self.record(
                    Event.purchase(
                        order,
                        member,
                        self.clock.now(),
                        amount=pointkit.Money(amount, "CNY"),
                        order_id=order,
                    )
                )
                bought.append(f"{member} {amount} yuan (+{earned})")
                if dice.random() < 0.4:  # noqa: PLR2004
                    length = dice.randrange(5, 60)
                    self.record(
                        Event.review(
                            self.key("review"), member, self.clock.now(), length=length, rating=5
                        )
                    )
        shared = [m for m in self.active if dice.random() < 0.25]  # noqa: PLR2004
        for member in shared:
            self.record(Event.share(self.key("share"), member, self.clock.now(), channel="wechat"))
        line = f"{len(signed)} sign-ins (+{streak_points})"
        if bought:
            line += "; purchases: " + ", ".join(bought)
        if shared:
            line += f"; shares: {', '.join(shared)}"
        self.note(line)
        self.at(day, 15)
        match day:
            case 5:
                earned = self.record(
                    Event.invitee_registered(
                        self.key("invite"), "carol", self.clock.now(), invitee="frank"
                    )
                )
                self.note(f"frank registers from carol's invitation: carol +{earned}")
                self.active.append("frank")
            case 8:
                redemption = mall.redeem("alice", "watch", key="mall-order-1", option="bundle:0")
                self.note(
                    f"alice redeems the watch for {redemption.points:,} points + {redemption.cash} "
                    "(held until it ships)"
                )
            case 10:
                mall.fulfil("mall-order-1", key="ship-1")
                self.note("the watch ships: alice's held points are spent")
            case 12:
                mall.redeem("bob", "coupon", key="mall-order-2", quantity=2)
                self.note("bob redeems two 10-yuan coupons (800 points each, held)")
                mall.fulfil("mall-order-2", key="ship-2")
            case 14:
                mall.redeem("dave", "coupon", key="mall-order-3")
                mall.cancel("mall-order-3", key="fail-3")
                self.note("dave's coupon cannot be issued: cancelled, points and stock back")
            case 15:
                refund = mall.refund("mall-order-2", key="return-2", quantity=1)
                self.note(
                    f"bob returns one coupon: {refund.points} points back with their expiry "
                    f"({refund.policy})"
                )
            case 18:
                self.at(day, 20, 30)
                try:
                    flash = mall.redeem("erin", "headphones", key="flash-1")
                    mall.fulfil("flash-1", key="ship-flash-1")
                    tier = mall.member("erin").tier
                    self.note(
                        f"erin wins the flash sale: headphones for {flash.points:,} points "
                        f"(at the {tier} tier's price)"
                    )
                except (OfferUnavailableError, InsufficientPointsError) as error:
                    self.note(f"erin misses the flash sale: {error}")
            case 20:
                for member in ("carol", "alice"):
                    tier = self.mall.member(member).tier
                    try:
                        trip = mall.redeem(
                            member, "trip", key=f"trip-{member}", option="split", points=2_000
                        )
                    except (OfferUnavailableError, InsufficientPointsError) as error:
                        self.note(f"{member} ({tier}) cannot book the weekend trip: {error}")
                        continue
                    mall.fulfil(f"trip-{member}", key=f"ship-trip-{member}")
                    self.note(
                        f"{member} ({tier}) books the weekend trip: {trip.points:,} points + "
                        f"{trip.cash}"
                    )
            case 22:
                mall.transfer("alice", "bob", 500, key="gift-1")
                self.note("alice gives bob 500 points")
            case 25:
                richest = max(self.active, key=lambda member: mall.balance(member).available)
                done = mall.convert(richest, "points-to-miles", 2_000, key="miles-1")
                self.note(
                    f"{richest} converts {done.quote.debited:,} points into "
                    f"{done.quote.credited} airline miles"
                )
            case _:
                pass
        if day % 3 == 0:
            self.at(day, 21)
            for member in _MEMBERS:
                if dice.random() < 0.5 and mall.balance(member).available >= _SPINS_FROM:  # noqa: PLR2004
                    try:
                        result = mall.draw(
                            member,
                            "wheel",
                            draw_id=self.key("draw"),
                            minor=False,
                            random=self.draws,
                        )
                    except (InsufficientPointsError, DrawRefusedError):
                        continue
                    prize = mall.config.lottery("wheel").prize(result.prize)
                    self.note(f"{member} spins the wheel (1,000 points): {prize.name}")

    def reports(self) -> None:
        mall = self.mall
        statement = mall.statement("alice")
        rows = [["date", "kind", "change", "balance", "reason"]]
        rows += [
            [
                f"{line.at + _SHANGHAI:%m-%d}",
                line.kind.value,
                f"{line.change:+,}",
                f"{line.balance:,}",
                line.reason or "",
            ]
            for line in statement.lines
            if line.kind.value != "earn" or abs(line.change) >= 20  # noqa: PLR2004 - the big ones
        ]
        self.say("alice's statement (small earnings left out)")
        self.say("\n".join(table(rows, "llrrl")))
        self.say()
        rows = [["member", "tier", "posted", "available", "held", "debt"]]
        for member in self.active:
            balance = mall.balance(member)
            tier = mall.member(member).tier or ""
            rows.append(
                [
                    member,
                    tier,
                    f"{balance.posted:,}",
                    f"{balance.available:,}",
                    f"{balance.held:,}",
                    f"{balance.debt:,}",
                ]
            )
        self.say("Balances on 1 July")
        self.say("\n".join(table(rows, "llrrrr")))
        self.say()
        self.say(mall.disclosure("wheel").to_text("zh"))
        self.say()
        self.say(liability_report(mall).to_text())
        self.say()
        self.say(daily_report(mall, since=date(2026, 6, 1), until=date(2026, 7, 1)).to_text())
        self.say()
        self.say(hottest_offers(mall).to_text())
        self.say()
        self.say(lottery_cost(mall).to_text())
        self.say()
        self.say(tier_distribution(mall).to_text())
        self.say()
        report = mall.audit()
        self.say(
            f"Audit: replayed {report.transactions} transactions into {report.wallets} wallets, "
            f"{report.lots} lots and {report.holds} holds; every balance and invariant matches."
        )
        self.say(
            f"Audit: replayed {report.records} records into {report.counters} counters, "
            f"{report.streaks} streaks and {report.budgets} budgets, and checked "
            f"{report.tier_states} tier states against {report.tier_changes} tier changes; "
            "every derived row matches."
        )


def run_demo(out: TextIO, path: str | None = None) -> None:
    """Run the demo month on a SQLite database at *path* (a new temporary one if omitted)."""
    if path is not None:
        storage = SQLiteStorage(path)
        try:
            _Month(out, storage).run()
        finally:
            storage.close()
        return
    with tempfile.TemporaryDirectory(prefix="pointkit-demo-") as folder:
        storage = SQLiteStorage(f"{folder}/demo.db")
        try:
            _Month(out, storage).run()
        finally:
            storage.close()

"""The ``pointkit`` command.

``pointkit demo`` runs a month of a points mall on SQLite, from the packaged
``points_mall.toml``: members earn by purchases, sign-in streaks, shares, invites and reviews;
tiers change; offers are redeemed, one is cancelled and one refunded; members draw in the
lottery, transfer and convert points; the half-yearly clearing expires what is due. Then it
prints a statement, the lottery's odds table, the liability, the daily report, the hottest
offers, the lottery's cost, the tier distribution and an audit of the whole journal.

``pointkit check CONFIG`` validates a program file and prints its rules, tiers, offers and odds
tables (or every problem, each with its path). ``pointkit report --db PATH | --dsn DSN
--config CONFIG`` prints a program's reports. ``pointkit migrate --db PATH | --dsn DSN``
creates or upgrades a database's schema. ``pointkit verify-draws FEED --server-seed HEX``
checks a published feed of provably fair draws offline: every draw against its revealed seed
(and, with ``--config``, its lottery's table), and the feed's hash chain (against ``--head``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
from datetime import UTC, date, datetime, time, timedelta
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import pointkit
from pointkit import limits
from pointkit._localtime import resolve
from pointkit._text import table
from pointkit.clock import FixedClock, SystemClock
from pointkit.exceptions import (
    DrawRefusedError,
    InsufficientPointsError,
    InvalidArgumentError,
    OfferUnavailableError,
    PointkitError,
)
from pointkit.pricing import SeededRandom
from pointkit.pricing._lottery_records import FEED_START, check_feed
from pointkit.program import (
    BATCHES_MAX,
    EXPORTS,
    Program,
    expire_all,
    expiry_summary,
    export,
    load_config,
    remind,
    remind_summary,
)
from pointkit.reports import (
    daily_report,
    hottest_offers,
    liability_report,
    lottery_cost,
    tier_distribution,
    to_csv,
    to_dict,
)
from pointkit.rules import Event
from pointkit.storage.sqlite import SQLiteStorage


if TYPE_CHECKING:
    from collections.abc import Sequence

    from pointkit.ledger import ExpiryRun, Storage
    from pointkit.program import ProgramConfig


__all__ = ["console", "main", "run_demo"]

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
        self.reports()

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


def describe(config: ProgramConfig) -> str:
    """What a program file declares, as text: for ``pointkit check``."""
    lines = [f"program {config.id!r} in {config.zone.key}"]
    lines.append("currencies: " + ", ".join(currency.code for currency in config.currencies))
    if config.valuation is not None:
        lines.append(f"valuation: {config.valuation.describe()}")
    if config.expiry is not None:
        lines.append(f"expiry: {config.expiry.default.describe()}")
    if config.tiers is not None:
        rows = [["tier", "threshold", "earn", "discount", "perks"]]
        rows += [
            [
                tier.name,
                f"{tier.threshold:,}",
                f"x{tier.benefits.earn_multiplier}",
                f"{tier.benefits.price_discount}",
                ", ".join(tier.benefits.perks),
            ]
            for tier in config.tiers.tiers
        ]
        lines += ["", "Tiers", *table(rows, "lrrrl")]
    if config.rules is not None:
        lines += ["", "Earning rules", config.rules.describe()]
    if config.offers:
        lines += ["", "Offers"]
        for offer in config.offers:
            stock = "unlimited" if offer.stock is None else f"stock {offer.stock}"
            lines.append(f"{offer.id} ({offer.name}, {stock}, refund: {offer.refund})")
            lines += [
                f"  {option.id}: {option.describe()}"
                for option in offer.options(reference=config.valuation)
            ]
    for lottery in config.lotteries:
        lines += ["", lottery.disclosure().to_text("zh"), "", lottery.disclosure().to_text("en")]
    if config.exchange is not None:
        lines += ["", "Conversions"]
        lines += [
            f"{c.id}: {c.source} -> {c.target} at {c.ratio}, blocks of {c.block}"
            for c in config.exchange.conversions
        ]
    transfers = config.transfers
    lines += ["", f"transfers: {'allowed' if transfers.allowed else 'not allowed'}"]
    return "\n".join(lines)


def _storage(arguments: argparse.Namespace, *, migrate: bool) -> Storage:
    if arguments.db is not None:
        return SQLiteStorage(arguments.db, migrate=migrate)
    from pointkit.storage.postgres import PostgresStorage  # noqa: PLC0415 - optional extra

    return PostgresStorage(arguments.dsn, schema=arguments.schema, migrate=migrate)


def _migrate(arguments: argparse.Namespace, out: TextIO) -> None:
    storage = _storage(arguments, migrate=True)
    where = arguments.db if arguments.db is not None else f"schema {arguments.schema}"
    print(f"{where}: pointkit schema version {storage.schema_version()}", file=out)  # type: ignore[attr-defined]
    storage.close()  # type: ignore[attr-defined]


def _progress_line(runs: Sequence[ExpiryRun]) -> None:
    """A progress line on a terminal, redrawn after each batch of the expiry job."""
    lots = sum(run.lots_expired for run in runs)
    holds = sum(run.holds_expired for run in runs)
    sys.stderr.write(f"\rexpiry: batch {len(runs):,}, {lots:,} lots expired, {holds:,} holds")
    sys.stderr.flush()


def _expire(arguments: argparse.Namespace, out: TextIO) -> None:
    config = load_config(arguments.config)
    storage = _storage(arguments, migrate=False)
    try:
        mall = Program(config, storage=storage, clock=SystemClock())
        progress = _progress_line if sys.stderr.isatty() else None
        runs = expire_all(
            mall, limit=arguments.limit, max_batches=arguments.max_batches, progress=progress
        )
        if progress is not None:
            sys.stderr.write("\n")
        print(expiry_summary(runs), file=out)
    finally:
        storage.close()  # type: ignore[attr-defined]


def _export(arguments: argparse.Namespace, out: TextIO) -> None:
    config = load_config(arguments.config)
    storage = _storage(arguments, migrate=False)
    try:
        mall = Program(config, storage=storage, clock=SystemClock())
        since, until = (
            None
            if text is None
            else resolve(datetime.combine(date.fromisoformat(text), time()), config.zone)
            for text in (arguments.since, arguments.until)
        )
        if arguments.output is None:
            export(mall, arguments.what, out, format=arguments.format, since=since, until=until)
            return
        with open(arguments.output, "w", encoding="utf-8", newline="") as target:  # noqa: PTH123
            count = export(
                mall, arguments.what, target, format=arguments.format, since=since, until=until
            )
        out.write(f"{arguments.output}: {count:,} {arguments.what} written\n")
    finally:
        storage.close()  # type: ignore[attr-defined]


def _remind(arguments: argparse.Namespace, out: TextIO) -> None:
    config = load_config(arguments.config)
    storage = _storage(arguments, migrate=False)
    try:
        mall = Program(config, storage=storage, clock=SystemClock())
        within = timedelta(days=arguments.within)
        print(remind_summary(within, *remind(mall, within)), file=out)
    finally:
        storage.close()  # type: ignore[attr-defined]


def _report(arguments: argparse.Namespace, out: TextIO) -> None:
    config = load_config(arguments.config)
    storage = _storage(arguments, migrate=False)
    try:
        mall = Program(config, storage=storage, clock=SystemClock())
        sections: list[tuple[str, Any]] = []
        if config.valuation is not None:
            sections.append(("liability", liability_report(mall)))
        today = (mall.clock.now().astimezone(config.zone)).date()
        since = (
            date.fromisoformat(arguments.since) if arguments.since else today - timedelta(days=29)
        )
        until = date.fromisoformat(arguments.until) if arguments.until else today
        sections.append(("daily", daily_report(mall, since=since, until=until)))
        if config.offers:
            sections.append(("offers", hottest_offers(mall)))
        if config.lotteries:
            sections.append(("lotteries", lottery_cost(mall)))
        if config.tiers is not None:
            sections.append(("tiers", tier_distribution(mall)))
        if arguments.format == "json":
            document: dict[str, object] = {"program": config.id, "zone": config.zone.key}
            document |= {name: to_dict(report) for name, report in sections}
            print(json.dumps(document, ensure_ascii=False, indent=2), file=out)
        elif arguments.format == "csv":
            # One CSV per report, each after a "# name" line, separated by blank lines.
            print("\n".join(f"# {name}\n{to_csv(report)}" for name, report in sections), file=out)
        else:
            print("\n\n".join(report.to_text() for _, report in sections), file=out)
    finally:
        close = getattr(storage, "close", None)
        if close is not None:
            close()


def _seed(text: str) -> bytes:
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not hex") from None


def _feed(path: str) -> list[object]:
    """A feed's entries: a JSON array of them, or JSON lines (an unreadable line is kept as text)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise InvalidArgumentError(f"FEED={path!r} is not UTF-8 text ({error.reason})") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        pass
    else:
        return list(document) if isinstance(document, list) else [document]
    entries: list[object] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError as error:
            entries.append(f"line {number} is not JSON ({error.msg})")
    return entries


def _verify_draws(arguments: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    lotteries = () if arguments.config is None else load_config(arguments.config).lotteries
    checked = check_feed(
        _feed(arguments.feed),
        arguments.server_seed,
        lotteries=lotteries,
        after=arguments.after,
        head=arguments.head,
    )
    if not checked.ok:
        for problem in checked.problems:
            print(f"pointkit: {problem}", file=err)
        count = len(checked.problems)
        print(
            f"pointkit: {arguments.feed} does not verify: {count} problem"
            f"{'s' if count != 1 else ''} in {checked.entries} entries",
            file=err,
        )
        return 1
    print(
        f"{arguments.feed}: {checked.entries} draws verified under "
        f"{len(arguments.server_seed)} server seed{'s' if len(arguments.server_seed) != 1 else ''}"
        f"; feed head {checked.head}",
        file=out,
    )
    if arguments.head is None:
        print("the head was not checked: compare it with the head the operator published", file=out)
    if arguments.config is None:
        print("the odds were not checked against the lotteries' tables: give --config", file=out)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pointkit", description="pointkit: loyalty-points logic for your own service."
    )
    parser.add_argument("--version", action="version", version=pointkit.__version__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="run a month of a points mall on SQLite")
    demo.add_argument("--db", help="keep the demo's SQLite database at this path")
    check = commands.add_parser("check", help="validate a program file and print what it declares")
    check.add_argument("config", help="the program's TOML file")
    verify = commands.add_parser(
        "verify-draws", help="check a published feed of provably fair draws offline"
    )
    verify.add_argument("feed", help="the feed: a JSON array of public entries, or JSON lines")
    verify.add_argument(
        "--server-seed",
        action="append",
        required=True,
        type=_seed,
        metavar="HEX",
        help="a revealed server seed, in hex; repeat it for each seed the feed's draws used",
    )
    verify.add_argument("--config", help="the program's TOML file: check the lotteries' tables")
    verify.add_argument("--head", metavar="HEX", help="the feed's published head digest")
    verify.add_argument(
        "--after",
        metavar="HEX",
        default=FEED_START,
        help="the digest the feed's first entry follows (default: 64 zeros, a whole feed)",
    )
    for name, text in (
        ("migrate", "create or upgrade a database's schema"),
        ("report", "print a program's reports from its database"),
        ("expire", "release timed-out holds and expire due points: the scheduled job"),
        ("remind", "write points.expiring events for points about to expire, once each"),
        ("export", "write the journal, balances or lots as CSV or JSON Lines"),
    ):
        command = commands.add_parser(name, help=text)
        target = command.add_mutually_exclusive_group(required=True)
        target.add_argument("--db", help="a SQLite database file")
        target.add_argument(
            "--dsn", help="a PostgreSQL connection string (needs pointkit[postgres])"
        )
        command.add_argument(
            "--schema", default="pointkit", help="PostgreSQL schema (default: pointkit)"
        )
        if name == "export":
            command.add_argument("--config", required=True, help="the program's TOML file")
            command.add_argument("what", choices=EXPORTS, help="what to export")
            command.add_argument("--format", choices=("csv", "jsonl"), default="csv")
            command.add_argument("--since", help="journal: first local day (YYYY-MM-DD)")
            command.add_argument("--until", help="journal: the local day it stops before")
            command.add_argument("--output", help="a file to write (default: standard output)")
        if name == "remind":
            command.add_argument("--config", required=True, help="the program's TOML file")
            command.add_argument(
                "--within", type=int, default=30, help="days ahead to look (default: 30)"
            )
        if name == "expire":
            command.add_argument("--config", required=True, help="the program's TOML file")
            command.add_argument(
                "--limit",
                type=int,
                default=limits.EXPIRY_BATCH_MAX,
                help=f"holds and lots per batch (default and most: {limits.EXPIRY_BATCH_MAX})",
            )
            command.add_argument(
                "--max-batches",
                type=int,
                default=BATCHES_MAX,
                help=f"stop after this many batches (default: {BATCHES_MAX})",
            )
        if name == "report":
            command.add_argument("--config", required=True, help="the program's TOML file")
            command.add_argument("--since", help="first day of the daily report (YYYY-MM-DD)")
            command.add_argument("--until", help="last day of the daily report (YYYY-MM-DD)")
            command.add_argument(
                "--format",
                choices=("text", "json", "csv"),
                default="text",
                help="text tables (default), one JSON document, or CSV (a section per report)",
            )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``pointkit`` command with *argv* (the process arguments if omitted)."""
    arguments = _parser().parse_args(argv)
    status = 0
    try:
        match arguments.command:
            case "migrate":
                _migrate(arguments, sys.stdout)
            case "check":
                sys.stdout.write(describe(load_config(arguments.config)) + "\n")
            case "report":
                _report(arguments, sys.stdout)
            case "expire":
                _expire(arguments, sys.stdout)
            case "remind":
                _remind(arguments, sys.stdout)
            case "export":
                _export(arguments, sys.stdout)
            case "verify-draws":
                status = _verify_draws(arguments, sys.stdout, sys.stderr)
            case _:
                run_demo(sys.stdout, arguments.db)
    except PointkitError as error:
        sys.stderr.write(f"pointkit: {error}\n")
        return 1
    except OSError as error:
        sys.stderr.write(f"pointkit: {error}\n")
        return 1
    return status


def console() -> None:
    """Entry point of the ``pointkit`` console script."""
    try:
        status = main()
    except BrokenPipeError:  # `pointkit demo | head`: the reader left, which is fine
        # Point stdout at devnull so the interpreter's final flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        status = 0
    sys.exit(status)

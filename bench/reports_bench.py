"""Reports at a million transactions: the reports part's SQL beside the Python scan, same run.

How the transactions are made: through pointkit's own API, on each database, so every row is
one pointkit wrote and its audit accepts (a run of 100,000 transactions or fewer ends with
``Program.audit()``; set POINTKIT_BENCH_AUDIT=1 to audit a bigger one too). One simulated year
of a programme in Europe/Berlin (two daylight-saving changes), in rounds of about 1,000
transactions, each round a few hours later than the one before:

* 940 earns in one ``Ledger.earn_many`` batch (``limits.BATCH_MAX`` is 1,000), 10 to 500 points
  to members drawn from a pool of one per 20 transactions; a third expire after 60 days;
* 25 offer redemptions (``Program.redeem``): 18 fulfilled, 3 cancelled, 1 fulfilled and
  refunded with its points back, the rest left to time out;
* 8 lottery draws (half win 150 points back), 3 transfers, 2 adjustments, a conversion;
* an expiry run (``Ledger.expire_due``, what ``Program.run_expiry`` runs): the lots due and the
  redemptions timed out;
* every 25 rounds, 20 tier reviews.

On SQLite the storage runs with ``synchronous="NORMAL"``; on PostgreSQL the generator works
inside one host connection (``PostgresStorage(connection=...)``, each command in a savepoint)
with ``synchronous_commit = off`` and commits once a round. Neither changes what is written.
After the load, PostgreSQL's tables are analysed (``VACUUM ANALYZE``, what autovacuum does
after a bulk load) and SQLite's too (``ANALYZE``).

What is timed: each report (liability, the daily report over every day of the year, hottest
offers, lottery cost, tier distribution) through the storage's reports part, and through the
Python scan the reports fall back to. The scan reads everything, so it is timed on a prefix of
the same programme (POINTKIT_BENCH_SCAN_PREFIX transactions, 30,000 by default) and scaled
linearly to the full size, by transactions (by members for the tier distribution, which reads
each member's tier); the output marks scaled figures with ``~``. At the prefix both are timed
and their reports compared. Set POINTKIT_BENCH_FULL_SCAN=1 to time the scan at full size too
(minutes per report).

Target (the operations issue): each report within 5 seconds at 1,000,000 transactions, on
SQLite and on PostgreSQL. POINTKIT_BENCH_TRANSACTIONS shrinks the run (for example 20000 for a
quick one); POINTKIT_BENCH_DSN chooses the PostgreSQL server.
"""

from __future__ import annotations

import contextlib
import os
import random
import sqlite3
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import attrs
import psycopg

from pointkit import FixedClock
from pointkit.exceptions import InsufficientPointsError, OfferUnavailableError, PointkitError
from pointkit.ledger import Earn
from pointkit.pricing import SeededRandom
from pointkit.program import Program
from pointkit.reports import (
    DailyReport,
    LotteryReport,
    OfferReport,
    ReportVia,
    TierReport,
    daily_report,
    hottest_offers,
    liability_report,
    lottery_cost,
    tier_distribution,
)
from pointkit.storage.postgres import PostgresStorage
from pointkit.storage.sqlite import SQLiteStorage


if TYPE_CHECKING:
    from collections.abc import Callable

    from pointkit.ledger import Storage


DSN = os.environ.get("POINTKIT_BENCH_DSN", "host=127.0.0.1 port=5432 dbname=test user=postgres")
TRANSACTIONS = int(os.environ.get("POINTKIT_BENCH_TRANSACTIONS", "1000000"))
PREFIX = min(TRANSACTIONS, int(os.environ.get("POINTKIT_BENCH_SCAN_PREFIX", "30000")))
FULL_SCAN = os.environ.get("POINTKIT_BENCH_FULL_SCAN") == "1"
AUDIT_UP_TO = 100_000
AUDIT = os.environ.get("POINTKIT_BENCH_AUDIT") == "1" or TRANSACTIONS <= AUDIT_UP_TO
TARGET_SECONDS = 5.0
ROUND = 1_000
EARNS = 940
FULFILLED = 19
CANCELLED = 3
START = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
YEAR = timedelta(days=365)
FIRST_DAY, LAST_DAY = date(2026, 1, 1), date(2027, 3, 31)

PROGRAMME = """
[program]
id = "bench"
zone = "Europe/Berlin"
currencies = ["points", "miles"]
clawback = "clamp"
restore = "original_expiry"

[valuation]
points = 100
worth = "1.00 EUR"

[tiers]
window = { type = "calendar_year" }
review = { type = "yearly", dates = ["01-01"] }

[[tiers.levels]]
name = "basic"
threshold = 0

[[tiers.levels]]
name = "plus"
threshold = 3000

[[tiers.levels]]
name = "top"
threshold = 6000

[[offers]]
id = "mug"
name = "Mug"
points = 300
refund = "original_expiry"
hold_timeout_seconds = 3600

[[offers]]
id = "bag"
name = "Bag"
points = 500
refund = "original_expiry"
hold_timeout_seconds = 3600

[[offers]]
id = "card"
name = "Gift card"
points = 200
refund = "no_points_back"
hold_timeout_seconds = 3600

[[lotteries]]
id = "spin"
name = "Spin"
cost = 100

[[lotteries.prizes]]
id = "back"
name = "150 points back"
kind = "points"
points = 150
probability = "1/2"

[[lotteries.prizes]]
id = "thanks"
name = "Thank you"
kind = "coupon"
probability = "1/2"
cost = "0.10 EUR"

[[conversions]]
id = "to-miles"
source = "points"
target = "miles"
ratio = "1/10"
block = 100

[transfers]
allowed = true
minimum = 1
"""


@attrs.define
class Generator:
    """Grows one programme round by round; counts the transactions it makes."""

    program: Program
    clock: FixedClock
    commit: Callable[[], None]
    members: int = max(1_000, TRANSACTIONS // 20)
    rng: random.Random = attrs.field(factory=lambda: random.Random(20260101))
    made: int = 0
    rounds: int = 0
    step: timedelta = YEAR / max(1, TRANSACTIONS // ROUND)

    def member(self) -> str:
        """Any member of the pool."""
        return f"m{self.rng.randrange(self.members)}"

    def grow_to(self, target: int) -> None:
        """Play rounds until the programme has at least *target* transactions."""
        while self.made < target:
            self.round()

    def _try(self, command: Callable[[], object]) -> int:
        try:
            command()
        except (InsufficientPointsError, OfferUnavailableError):
            return 0
        return 1

    def round(self) -> None:
        """One round: earns, redemptions, draws, moves, tier reviews, then the expiry run."""
        program, rng, number = self.program, self.rng, self.rounds
        now = self.clock.now()
        earns = [
            Earn(
                member=self.member(),
                amount=rng.randint(10, 500),
                key=f"e{number}-{index}",
                expires_at=now + timedelta(days=60) if index % 3 == 0 else None,
            )
            for index in range(EARNS)
        ]
        self.made += len(program.ledger.earn_many(earns))
        earners = [earn.member for earn in earns]
        self._redemptions(earners)
        self._draws_and_moves(earners)
        if number % 25 == 0:
            for member in {rng.choice(earners) for _ in range(20)}:
                program.review_tier(member)
        self.clock.advance(self.step)
        while True:
            # The transactions asked for, to count them: a wallet's due lots expire in one.
            run = program.ledger.expire_due(transactions=True)
            self.made += len(run.transactions)
            if run.complete:
                break
        self.commit()
        self.rounds += 1

    def _redemptions(self, earners: list[str]) -> None:
        """25 redemptions: 19 fulfilled (the first refunded), 3 cancelled, 3 left to time out."""
        program, number = self.program, self.rounds
        for index in range(25):
            key = f"r{number}-{index}"
            member, offer = self.rng.choice(earners), ("mug", "bag", "card")[index % 3]
            if not self._try(partial(program.redeem, member, offer, key=key)):
                continue
            self.made += 1
            if index < FULFILLED:
                program.fulfil(key, key=f"{key}-f")
                self.made += 1
                if index == 0:
                    back = program.refund(key, key=f"{key}-b")
                    self.made += back.transaction is not None
            elif index < FULFILLED + CANCELLED:
                program.cancel(key, key=f"{key}-c")
                self.made += 1

    def _draws_and_moves(self, earners: list[str]) -> None:
        """8 draws, 3 transfers, 2 adjustments and a conversion, by members who just earned."""
        program, rng, number = self.program, self.rng, self.rounds
        for index in range(8):
            member, seed = rng.choice(earners), rng.randrange(2**32)
            draw_id, source = f"d{number}-{index}", SeededRandom(seed)
            self.made += self._try(
                partial(program.draw, member, "spin", draw_id=draw_id, minor=False, random=source)
            )
        for index in range(3):
            sender, recipient = rng.sample(earners, 2)
            if sender != recipient:
                self.made += self._try(
                    partial(program.transfer, sender, recipient, 20, key=f"t{number}-{index}")
                )
        for index, amount in enumerate((50, -20)):
            member = rng.choice(earners)
            self.made += self._try(
                partial(program.adjust, member, amount, key=f"a{number}-{index}", reason="service")
            )
        # A conversion is two linked transactions: the debit and the credit.
        member = rng.choice(earners)
        self.made += 2 * self._try(
            partial(program.convert, member, "to-miles", 100, key=f"c{number}")
        )


REPORTS: dict[str, Callable[[Program, ReportVia], object]] = {
    "liability": lambda p, via: liability_report(p, via=via),
    "daily (15 months of days)": lambda p, via: daily_report(
        p,
        since=FIRST_DAY,
        until=LAST_DAY,
        via=via,
    ),
    "hottest offers": lambda p, via: hottest_offers(p, via=via),
    "lottery cost": lambda p, via: lottery_cost(p, via=via),
    "tier distribution": lambda p, via: tier_distribution(p, via=via),
}


def _unsourced(report: object) -> object:
    """The report without what says where its figures came from."""
    if isinstance(report, DailyReport | OfferReport | LotteryReport | TierReport):
        return attrs.evolve(report, source="scan", source_detail="")
    return report


def _time(program: Program, via: ReportVia) -> dict[str, tuple[float, object]]:
    timed: dict[str, tuple[float, object]] = {}
    for name, report in REPORTS.items():
        began = time.perf_counter()
        result = report(program, via)
        timed[name] = (time.perf_counter() - began, result)
    return timed


def _members(program: Program) -> int:
    return len(program.members())


def _count(label: str, storage: Storage, program: Program) -> int:
    """The transactions in the programme's journal, counted by the database."""
    name = str(program.ledger.program)
    if label == "PostgreSQL":
        with psycopg.connect(DSN) as connection:
            row = connection.execute(
                f"SELECT COUNT(*) FROM {SCHEMA}.pk_txn WHERE program_id = %s", (name,)
            ).fetchone()
    else:
        with sqlite3_connection(storage.path) as connection:  # type: ignore[attr-defined]
            row = connection.execute(
                "SELECT COUNT(*) FROM pk_txn WHERE program_id = ?", (name,)
            ).fetchone()
    return int(row[0]) if row else 0


def run(label: str, storage: Storage, reader: Storage, commit: Callable[[], None]) -> list[str]:
    """Grow a programme on *storage*, time the reports on *reader*; return the table's lines."""
    clock = FixedClock(START)
    config_id = f"bench-{uuid.uuid4().hex[:8]}"
    text = PROGRAMME.replace('id = "bench"', f'id = "{config_id}"')
    writer = Program.from_toml(text, storage=storage, clock=clock)
    reading = Program.from_toml(text, storage=reader, clock=clock)
    grow = Generator(writer, clock, commit)
    began = time.perf_counter()
    grow.grow_to(PREFIX)
    prefix_made, prefix_members = grow.made, _members(reading)
    analyse(label, reader)
    part_prefix = _time(reading, "part")
    scan_prefix = _time(reading, "scan")
    for name, (_, result) in part_prefix.items():
        if _unsourced(result) != _unsourced(scan_prefix[name][1]):
            sys.exit(f"{label}: the {name} report differs between the part and the scan")
    grow.grow_to(TRANSACTIONS)
    loaded = time.perf_counter() - began
    analyse(label, reader)
    made, members = grow.made, _members(reading)
    part = _time(reading, "part")
    scan = _time(reading, "scan") if FULL_SCAN and made > prefix_made else None
    lines = [
        f"{label}: {made:,} transactions ({members:,} members) made in {loaded:,.0f} s; "
        f"the scan timed at {prefix_made:,} transactions ({prefix_members:,} members)"
        + ("" if scan is None else " and at full size"),
        f"  {'report':<28}{'part (SQL)':>12}{'scan':>12}{'target':>9}  ok",
    ]
    for name, (seconds, _) in part.items():
        if scan is not None:
            scanned = f"{scan[name][0]:,.2f} s"
        elif made == prefix_made:
            scanned = f"{scan_prefix[name][0]:,.2f} s"
        else:
            ratio = members / prefix_members if name == "tier distribution" else made / prefix_made
            scanned = f"~{scan_prefix[name][0] * ratio:,.1f} s"
        ok = "yes" if seconds <= TARGET_SECONDS else "NO"
        lines.append(f"  {name:<28}{seconds:>10.2f} s{scanned:>12}{TARGET_SECONDS:>7.0f} s  {ok}")
    lines.append(
        f"  at {prefix_made:,}: "
        + ", ".join(f"{name} {part_prefix[name][0]:.2f} s" for name in part_prefix)
        + " through the part"
    )
    if AUDIT:
        audit = reading.audit()
        lines.append(f"  audit: {audit.transactions:,} transactions replayed, every row matches")
    stored = _count(label, reader, reading)
    if made != stored:
        sys.exit(
            f"{label}: the generator counted {made:,} transactions, the journal has {stored:,}"
        )
    return lines


def analyse(label: str, storage: Storage) -> None:
    """Refresh the planner's statistics, as autovacuum (or ``ANALYZE``) would after a load."""
    if label == "PostgreSQL":
        with psycopg.connect(DSN, autocommit=True) as connection:
            connection.execute(f"VACUUM ANALYZE {SCHEMA}.pk_posting, {SCHEMA}.pk_lot")
            connection.execute(f"VACUUM ANALYZE {SCHEMA}.pk_rule_event, {SCHEMA}.pk_txn")
            connection.execute(f"VACUUM ANALYZE {SCHEMA}.pk_hold, {SCHEMA}.pk_wallet")
    else:
        path = storage.path  # type: ignore[attr-defined]
        with sqlite3_connection(path) as connection:
            connection.execute("ANALYZE")


def sqlite3_connection(path: Path) -> contextlib.closing[sqlite3.Connection]:
    """A plain connection to the SQLite file, closed when the block ends."""
    return contextlib.closing(sqlite3.connect(path, isolation_level=None))


SCHEMA = f"pointkit_bench_reports_{uuid.uuid4().hex[:8]}"


def main() -> None:
    """Run on SQLite, then on PostgreSQL, and print both tables."""
    lines: list[str] = [
        f"Reports at {TRANSACTIONS:,} transactions (target: each within {TARGET_SECONDS:.0f} s)"
    ]
    with tempfile.TemporaryDirectory() as folder:
        sqlite = SQLiteStorage(Path(folder) / "reports.db", synchronous="NORMAL")
        try:
            lines += run("SQLite", sqlite, sqlite, lambda: None)
        finally:
            sqlite.close()
    print("\n".join(lines), flush=True)
    lines = []
    PostgresStorage(DSN, schema=SCHEMA, migrate=True).close()
    connection = psycopg.connect(DSN)
    try:
        connection.execute("SET synchronous_commit = off")
        connection.commit()
        writer = PostgresStorage(connection=connection, schema=SCHEMA)
        reader = PostgresStorage(DSN, schema=SCHEMA)
        try:
            lines += run("PostgreSQL", writer, reader, connection.commit)
        finally:
            reader.close()
    except PointkitError as error:  # pragma: no cover - reported, not hidden
        lines.append(f"PostgreSQL: {error}")
    finally:
        connection.close()
        with psycopg.connect(DSN, autocommit=True) as cleanup:
            cleanup.execute(f"DROP SCHEMA {SCHEMA} CASCADE")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

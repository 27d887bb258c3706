"""The ``pointkit`` command.

``pointkit demo`` tells a short story on a ledger kept in SQLite: members earn points (some
pending until a return window closes), a redemption is held and then captured, another is
released, an order is refunded after its points were spent, and an expiry run clears what is
due. It prints each step, the members' statements and an audit of the whole journal.

``pointkit migrate --db PATH`` or ``--dsn DSN`` creates or upgrades a database's schema.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, TextIO

import pointkit
from pointkit.clock import FixedClock
from pointkit.exceptions import PointkitError
from pointkit.ledger import AccountKind, Ledger, LedgerPolicy
from pointkit.ledger.sqlite import SQLiteStorage


if TYPE_CHECKING:
    from collections.abc import Sequence

    from pointkit.ledger import Transaction


__all__ = ["console", "main", "run_demo"]


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Format rows as a plain-text table; numbers are right-aligned."""
    cells = [[str(cell) for cell in row] for row in rows]
    widths = [
        max(len(header), *(len(row[i]) for row in cells)) if cells else len(header)
        for i, header in enumerate(headers)
    ]
    numeric = [
        bool(rows) and all(isinstance(row[i], int) for row in rows) for i in range(len(headers))
    ]

    def line(values: Sequence[str]) -> str:
        parts = [
            value.rjust(width) if is_number else value.ljust(width)
            for value, width, is_number in zip(values, widths, numeric, strict=True)
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(headers), rule, *(line(row) for row in cells)])


class _Story:
    """Prints the demo as it runs it."""

    def __init__(self, out: TextIO, storage: SQLiteStorage) -> None:
        self.out = out
        self.storage = storage
        self.clock = FixedClock(datetime(2026, 6, 1, 9, 0, tzinfo=UTC))
        self.ledger = Ledger(
            storage,
            clock=self.clock,
            program="demo-mall",
            policy=LedgerPolicy(clawback="debt", debt_limit=5_000),
        )

    def say(self, text: str = "") -> None:
        print(text, file=self.out)

    def step(self, text: str, transaction: Transaction | None = None) -> None:
        when = self.clock.now().strftime("%Y-%m-%d %H:%M")
        suffix = f"  [{transaction.kind.value}]" if transaction else ""
        self.say(f"{when}  {text}{suffix}")

    def balances(self, *members: str) -> None:
        rows = []
        for member in members:
            balance = self.ledger.balance(member)
            rows.append(
                [
                    member,
                    balance.posted,
                    balance.available,
                    balance.pending,
                    balance.held,
                    balance.awaiting_expiry,
                    balance.debt,
                ]
            )
        self.say()
        self.say(
            _table(
                ["member", "posted", "available", "pending", "held", "awaiting expiry", "debt"],
                rows,
            )
        )
        self.say()

    def statement(self, member: str) -> None:
        statement = self.ledger.statement(member)
        rows = [
            [
                line.at.strftime("%Y-%m-%d"),
                line.kind.value,
                line.change,
                line.balance,
                line.held,
                line.debt,
                line.reason or "",
            ]
            for line in statement.lines
        ]
        self.say(f"Statement of {member}")
        self.say(_table(["date", "kind", "change", "balance", "held", "debt", "reason"], rows))
        self.say()

    def run(self) -> None:  # noqa: PLR0915 - a story reads best as one sequence of steps
        ledger, clock = self.ledger, self.clock
        year_end = datetime(2026, 12, 31, 16, 0, tzinfo=UTC)  # midnight in Shanghai
        half_year = datetime(2026, 6, 30, 16, 0, tzinfo=UTC)
        self.say(f"pointkit {pointkit.__version__} demo: a points mall on SQLite")
        self.say(f"(database: {self.storage.path})")
        self.say("Purchases earn 1 point per yuan; points expire at the end of the year;")
        self.say("points from a purchase stay pending for its 7-day return window.")
        self.say()

        order_1001 = ledger.earn(
            "alice", 2_350, key="order-1001", expires_at=year_end, reason="order 1001"
        )
        self.step("alice buys a jacket (order 1001, 2,350 yuan): +2,350 points", order_1001)
        welcome = ledger.earn(
            "bob", 500, key="welcome-bob", expires_at=half_year, reason="welcome gift"
        )
        self.step("bob registers: a 500-point welcome gift, valid to the end of June", welcome)
        clock.advance(timedelta(days=2))
        order_1002 = ledger.earn(
            "alice",
            1_000,
            key="order-1002",
            available_at=clock.now() + timedelta(days=7),
            expires_at=year_end,
            reason="order 1002",
        )
        self.step("alice buys shoes (order 1002): +1,000 points, pending for 7 days", order_1002)
        self.balances("alice", "bob")

        hold = ledger.reserve(
            "alice", 2_000, key="redeem-speaker", timeout_seconds=1_800, reason="speaker"
        )
        self.step("alice redeems a speaker for 2,000 points: held until it ships", hold)
        coupon = ledger.reserve(
            "bob", 300, key="redeem-coupon", timeout_seconds=900, reason="coffee coupon"
        )
        self.step("bob redeems a coffee coupon for 300 points: held", coupon)
        self.balances("alice", "bob")
        clock.advance(timedelta(minutes=10))
        shipped = ledger.capture(hold.id, key="ship-speaker", reason="speaker shipped")
        self.step("the speaker ships: alice's hold is captured", shipped)
        failed = ledger.release(coupon.id, key="coupon-failed", reason="coupon issuer down")
        self.step("the coupon cannot be issued: bob's hold is released", failed)
        retried = ledger.capture(hold.id, key="ship-speaker", reason="speaker shipped")
        self.step(
            f"the shipping service retries its capture: replayed={retried.replayed}, "
            "nothing written twice"
        )
        self.balances("alice", "bob")

        clock.advance(timedelta(days=3))
        refund = ledger.reverse(order_1001.id, key="refund-1001", reason="jacket returned")
        self.step(
            "alice returns the jacket: order 1001's 2,350 points are clawed back "
            "(350 left in its lot, 1,000 pending, 1,000 owed as debt)",
            refund,
        )
        self.balances("alice")
        clock.advance(timedelta(days=5))
        order_1003 = ledger.earn(
            "alice", 1_500, key="order-1003", expires_at=year_end, reason="order 1003"
        )
        self.step("alice buys a bag (order 1003): +1,500 points pay off her debt first", order_1003)
        self.balances("alice")

        clock.set(datetime(2026, 7, 1, 2, 0, tzinfo=UTC))
        run = ledger.expire_due()
        expired = dict(run.points_expired).get("points", 0)
        self.step(
            f"the nightly expiry run: {run.lots_expired} lot(s) expired, {expired} points "
            "moved to the expired account"
        )
        again = ledger.expire_due()
        self.step(f"a second run finds nothing more: {again.lots_expired} lot(s)")
        self.balances("alice", "bob")

        self.statement("alice")
        self.statement("bob")
        rows = []
        for kind in (
            AccountKind.ISSUANCE,
            AccountKind.REDEMPTION,
            AccountKind.EXPIRED,
        ):
            account = ledger.system_balance(kind)
            rows.append([str(account.account), account.posted, account.pending])
        self.say("System accounts (balances are sums of postings; nothing locks them)")
        self.say(_table(["account", "posted", "pending"], rows))
        self.say()
        report = ledger.audit()
        self.say(
            f"Audit: replayed {report.transactions} transactions into {report.wallets} wallets, "
            f"{report.lots} lots and {report.holds} holds; every balance and invariant matches."
        )


def run_demo(out: TextIO, path: str | None = None) -> None:
    """Run the demo story on a SQLite database at *path* (a new temporary one if omitted)."""
    if path is not None:
        storage = SQLiteStorage(path)
        try:
            _Story(out, storage).run()
        finally:
            storage.close()
        return
    with tempfile.TemporaryDirectory(prefix="pointkit-demo-") as folder:
        storage = SQLiteStorage(f"{folder}/demo.db")
        try:
            _Story(out, storage).run()
        finally:
            storage.close()


def _migrate(arguments: argparse.Namespace, out: TextIO) -> None:
    if arguments.db is not None:
        storage = SQLiteStorage(arguments.db)  # opening migrates
        print(f"{arguments.db}: pointkit schema version {storage.schema_version()}", file=out)
        storage.close()
        return
    from pointkit.ledger.postgres import PostgresStorage  # noqa: PLC0415 - optional extra

    postgres = PostgresStorage(arguments.dsn, schema=arguments.schema, migrate=True)
    print(
        f"schema {arguments.schema}: pointkit schema version {postgres.schema_version()}", file=out
    )
    postgres.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``pointkit`` command with *argv* (the process arguments if omitted)."""
    parser = argparse.ArgumentParser(
        prog="pointkit", description="pointkit: loyalty-points logic for your own service."
    )
    parser.add_argument("--version", action="version", version=pointkit.__version__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="tell a short points-mall story on SQLite")
    demo.add_argument("--db", help="keep the demo's SQLite database at this path")
    migrate = commands.add_parser("migrate", help="create or upgrade a database's schema")
    target = migrate.add_mutually_exclusive_group(required=True)
    target.add_argument("--db", help="a SQLite database file")
    target.add_argument("--dsn", help="a PostgreSQL connection string (needs pointkit[postgres])")
    migrate.add_argument(
        "--schema", default="pointkit", help="PostgreSQL schema (default: pointkit)"
    )
    arguments = parser.parse_args(argv)
    try:
        if arguments.command == "migrate":
            _migrate(arguments, sys.stdout)
        else:
            run_demo(sys.stdout, arguments.db)
    except PointkitError as error:
        sys.stderr.write(f"pointkit: {error}\n")
        return 1
    return 0


def console() -> None:
    """Entry point of the ``pointkit`` console script."""
    try:
        status = main()
    except BrokenPipeError:  # `pointkit demo | head`: the reader left, which is fine
        # Point stdout at devnull so the interpreter's final flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        status = 0
    sys.exit(status)

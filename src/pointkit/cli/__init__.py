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
import sys
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import pointkit
from pointkit import limits
from pointkit._localtime import resolve
from pointkit.cli import _console, _odds, _simulate
from pointkit.cli._demo import run_demo
from pointkit.clock import SystemClock
from pointkit.exceptions import (
    InvalidArgumentError,
    PointkitError,
)
from pointkit.pricing._lottery_records import FEED_START, check_feed
from pointkit.program import (
    BATCHES_MAX,
    EXPORTS,
    Program,
    describe,
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
from pointkit.storage.sqlite import SQLiteStorage


if TYPE_CHECKING:
    from collections.abc import Sequence

    from pointkit.ledger import ExpiryRun, Storage


__all__ = ["console", "main", "run_demo"]

# Commands that live in modules of their own. Each module has ``add(commands)``, which adds its
# subparser and sets ``run(arguments, out, err) -> exit status`` as the parser's default.
_COMMAND_MODULES: tuple[Any, ...] = (_console, _odds, _simulate)


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
    for module in _COMMAND_MODULES:
        module.add(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``pointkit`` command with *argv* (the process arguments if omitted)."""
    arguments = _parser().parse_args(argv)
    status = 0
    try:
        match arguments.command:
            case _ if hasattr(arguments, "run"):  # a command of its own module
                status = arguments.run(arguments, sys.stdout, sys.stderr)
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
    except (PointkitError, OSError) as error:
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

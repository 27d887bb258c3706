"""``pointkit odds``: write each lottery's public odds page, in Chinese and English.

``pointkit odds CONFIG [--db PATH | --dsn DSN [--schema S]] [--lottery ID ...]
[--commitment HEX] --output DIR`` writes ``<lottery>.zh.html`` and ``<lottery>.en.html`` for
every lottery of the program (or each one named) into DIR and prints the paths. With a database
the remaining stock is read from it; without one, it is the configuration's, nothing sold: the
page to publish before the first draw.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from pointkit.clock import SystemClock
from pointkit.pages import odds_file_name, odds_page
from pointkit.program import Program, load_config
from pointkit.storage import MemoryStorage


if TYPE_CHECKING:
    import argparse

    from pointkit.ledger import Storage


__all__ = ["add", "run"]


def add(commands: Any) -> None:  # noqa: ANN401 - argparse's subparsers action has a private type
    """Add the ``odds`` command to the ``pointkit`` parser's *commands*."""
    command = commands.add_parser(
        "odds", help="write each lottery's public odds page (zh and en) as HTML files"
    )
    command.add_argument("config", help="the program's TOML file")
    target = command.add_mutually_exclusive_group()
    target.add_argument("--db", help="a SQLite database file: read the remaining stock from it")
    target.add_argument(
        "--dsn", help="a PostgreSQL connection string (needs pointkit[postgres]): the same"
    )
    command.add_argument(
        "--schema", default="pointkit", help="PostgreSQL schema (default: pointkit)"
    )
    command.add_argument(
        "--lottery",
        action="extend",
        nargs="+",
        metavar="ID",
        help="only these lotteries (default: every lottery of the program)",
    )
    command.add_argument(
        "--commitment",
        metavar="HEX",
        help="the current server seed commitment of provably fair draws (64 hex digits)",
    )
    command.add_argument("--output", required=True, metavar="DIR", help="the directory to write")
    command.set_defaults(run=run)


def run(arguments: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Write the pages; return 0, or 1 (with a message on *err*) for an unknown lottery."""
    config = load_config(arguments.config)
    known = [lottery.id for lottery in config.lotteries]
    wanted = list(dict.fromkeys(arguments.lottery)) if arguments.lottery else known
    unknown = [lottery for lottery in wanted if lottery not in known]
    if unknown:
        listed = ", ".join(repr(lottery) for lottery in unknown)
        valid = ", ".join(repr(lottery) for lottery in known) or "none"
        print(f"pointkit: no lottery {listed} in {arguments.config}; valid ids: {valid}", file=err)
        return 1
    storage = _open(arguments)
    try:
        program = Program(config, storage=storage, clock=SystemClock())
        # Render every page before writing any, so a refusal leaves no half-written set.
        pages = {
            odds_file_name(lottery, lang): odds_page(
                program, lottery, lang=lang, commitment=arguments.commitment
            )
            for lottery in wanted
            for lang in ("zh", "en")
        }
    finally:
        close = getattr(storage, "close", None)
        if close is not None:
            close()
    directory = Path(arguments.output)
    directory.mkdir(parents=True, exist_ok=True)
    for name, html in pages.items():
        path = directory / name
        path.write_text(html, encoding="utf-8")
        print(path, file=out)
    return 0


def _open(arguments: argparse.Namespace) -> Storage:
    """The program's database, or an empty memory storage (the configuration's stock)."""
    if arguments.db is None and arguments.dsn is None:
        return MemoryStorage()
    from pointkit.cli import _storage  # noqa: PLC0415 - the package imports this module first

    return _storage(arguments, migrate=False)

"""``pointkit console``: the operator console on this machine, served with uvicorn.

It opens the programme on its database, builds :func:`pointkit.console.console_app` with
:func:`pointkit.console.loopback` (requests from this machine read and adjust as ``--operator``;
any other is refused), and serves it until interrupted. uvicorn and the console (Starlette) are
imported only when the command runs, so the rest of the command line does not need them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Final

from pointkit.clock import SystemClock
from pointkit.program import Program, load_config
from pointkit.storage.sqlite import SQLiteStorage


if TYPE_CHECKING:
    import argparse
    from typing import TextIO

    from pointkit.ledger import Storage


__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "add", "run"]

DEFAULT_HOST: Final = "127.0.0.1"
"""The address the console listens on unless ``--host`` says otherwise."""
DEFAULT_PORT: Final = 8700
"""The port the console listens on unless ``--port`` says otherwise."""


def add(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``pointkit console`` to the command's subparsers."""
    command = commands.add_parser(
        "console", help="serve the operator console on this machine (needs pointkit[console])"
    )
    command.add_argument("config", help="the program's TOML file")
    target = command.add_mutually_exclusive_group(required=True)
    target.add_argument("--db", help="a SQLite database file")
    target.add_argument("--dsn", help="a PostgreSQL connection string (needs pointkit[postgres])")
    command.add_argument(
        "--schema", default="pointkit", help="PostgreSQL schema (default: pointkit)"
    )
    command.add_argument(
        "--operator",
        required=True,
        help="the name recorded with each adjustment made from this console",
    )
    command.add_argument(
        "--host", default=DEFAULT_HOST, help=f"the address to listen on (default: {DEFAULT_HOST})"
    )
    command.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"the port (default: {DEFAULT_PORT})"
    )
    command.set_defaults(run=run)


def _storage(arguments: argparse.Namespace) -> Storage:
    if arguments.db is not None:
        return SQLiteStorage(arguments.db)
    from pointkit.storage.postgres import PostgresStorage  # noqa: PLC0415 - optional extra

    return PostgresStorage(arguments.dsn, schema=arguments.schema)


def run(arguments: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Serve the console until interrupted; the exit status.

    Returns:
        0 after serving; 1 when uvicorn or Starlette is not installed.
    """
    try:
        # Both are optional: the rest of the command line runs without them.
        import uvicorn  # noqa: PLC0415 - optional, imported when the command runs

        from pointkit import console  # noqa: PLC0415 - needs the optional console extra
    except ImportError as error:
        print(
            f"pointkit: the console needs uvicorn and pointkit[console] ({error}); "
            "pip install 'pointkit[console]' uvicorn",
            file=err,
        )
        return 1
    config_path = Path(arguments.config)
    config = load_config(config_path)
    storage = _storage(arguments)
    try:
        program = Program(config, storage=storage, clock=SystemClock())
        app = console.console_app(
            program, authorize=console.loopback(arguments.operator), check=config_path
        )
        print(
            f"pointkit console for {config.id!r} at http://{arguments.host}:{arguments.port}/ "
            f"(requests from this machine, as {arguments.operator}); Ctrl+C stops it",
            file=out,
        )
        uvicorn.run(app, host=arguments.host, port=arguments.port, log_level="warning")
    finally:
        close = getattr(storage, "close", None)
        if close is not None:
            close()
    return 0

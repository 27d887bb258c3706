"""The pointkit command."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from typing import TYPE_CHECKING

import psycopg
import pytest

import pointkit
from pointkit import Ledger, SystemClock
from pointkit.cli import console, main, run_demo
from pointkit.ledger.sqlite import SCHEMA_VERSION, SQLiteStorage


if TYPE_CHECKING:
    from pathlib import Path


def test_demo_tells_the_whole_story() -> None:
    """The demo runs every step and ends with a clean audit."""
    out = io.StringIO()
    run_demo(out)
    text = out.getvalue()
    for line in [
        "alice buys shoes (order 1002): +1,000 points, pending for 7 days",
        "the shipping service retries its capture: replayed=True",
        "alice returns the jacket",
        "the nightly expiry run: 1 lot(s) expired, 500 points moved to the expired account",
        "a second run finds nothing more: 0 lot(s)",
        "Statement of alice",
        "every balance and invariant matches",
    ]:
        assert line in text


def test_main_runs_the_demo(capsys: pytest.CaptureFixture[str]) -> None:
    """`pointkit demo` prints the story and exits 0."""
    assert main(["demo"]) == 0
    assert "Statement of bob" in capsys.readouterr().out


def test_version_and_usage(capsys: pytest.CaptureFixture[str]) -> None:
    """--version prints the version; no command is a usage error."""
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == pointkit.__version__
    with pytest.raises(SystemExit) as exit_info:
        main([])
    assert exit_info.value.code == 2


def test_python_dash_m() -> None:
    """`python -m pointkit demo` is the same command."""
    done = subprocess.run(
        [sys.executable, "-m", "pointkit", "demo"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert "Audit: replayed" in done.stdout


def test_console_script_exits_with_mains_status(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The console script entry point exits with what main() returns."""
    monkeypatch.setattr(sys, "argv", ["pointkit", "demo"])
    with pytest.raises(SystemExit) as exit_info:
        console()
    assert exit_info.value.code == 0
    assert "Audit: replayed" in capsys.readouterr().out


def test_migrate_a_sqlite_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`pointkit migrate --db PATH` creates the schema and says which version it is."""
    path = tmp_path / "points.db"
    assert main(["migrate", "--db", str(path)]) == 0
    assert capsys.readouterr().out == f"{path}: pointkit schema version {SCHEMA_VERSION}\n"
    assert SQLiteStorage(path, migrate=False).schema_version() == SCHEMA_VERSION


def test_migrate_reports_failures(capsys: pytest.CaptureFixture[str]) -> None:
    """An unreachable database is reported on stderr with exit status 1, not a traceback."""
    assert main(["migrate", "--dsn", "host=127.0.0.1 port=1 connect_timeout=1"]) == 1
    assert capsys.readouterr().err.startswith("pointkit: PostgreSQL: connection failed")


def test_migrate_a_postgres_schema(postgres_dsn: str, capsys: pytest.CaptureFixture[str]) -> None:
    """`pointkit migrate --dsn DSN --schema S` creates the schema in PostgreSQL."""
    schema = f"pointkit_cli_{os.urandom(4).hex()}"
    try:
        assert main(["migrate", "--dsn", postgres_dsn, "--schema", schema]) == 0
        assert (
            capsys.readouterr().out
            == f"schema {schema}: pointkit schema version {SCHEMA_VERSION}\n"
        )
    finally:
        with psycopg.connect(postgres_dsn, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def test_demo_can_keep_its_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`pointkit demo --db PATH` leaves the story's database behind to look at."""
    path = tmp_path / "demo.db"
    assert main(["demo", "--db", str(path)]) == 0
    assert f"(database: {path})" in capsys.readouterr().out
    ledger = Ledger(SQLiteStorage(path), clock=SystemClock(), program="demo-mall")
    assert ledger.balance("alice").posted == 500

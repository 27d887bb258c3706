"""The pointkit command."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

import pointkit
from pointkit import Ledger, SystemClock
from pointkit.cli import console, main, run_demo
from pointkit.storage.sqlite import SCHEMA_VERSION, SQLiteStorage


MALL = Path(__file__).parent.parent / "src" / "pointkit" / "program" / "points_mall.toml"


@pytest.fixture(scope="module")
def demo_text() -> str:
    """The demo's output, run once for the module."""
    out = io.StringIO()
    run_demo(out)
    return out.getvalue()


def test_demo_runs_a_month_of_a_points_mall(demo_text: str) -> None:
    """The demo earns, redeems, refunds, draws, expires and reports, and ends with a clean audit."""
    for line in [
        "frank registers from carol's invitation: carol +100",
        "alice redeems the watch for 2,000 points + 300.00 CNY (held until it ships)",
        "dave's coupon cannot be issued: cancelled, points and stock back",
        "bob returns one coupon: 800 points back with their expiry (original_expiry)",
        "moves up to silver (upgrade)",
        "spins the wheel (1,000 points)",
        "the half-yearly clearing:",
        "alice's statement",
        "幸运大转盘（每次消耗 1000 积分）",
        "Liability in points at 1 points = 0.01 CNY",
        "Daily flows of points",
        "Hottest offers",
        "Lottery cost",
        "Tier distribution",
        "every balance and invariant matches",
    ]:
        assert line in demo_text
    assert "Traceback" not in demo_text


def test_main_runs_the_demo(capsys: pytest.CaptureFixture[str]) -> None:
    """`pointkit demo` prints the month and exits 0."""
    assert main(["demo"]) == 0
    assert "Balances on 1 July" in capsys.readouterr().out


def test_check_prints_what_a_program_declares(capsys: pytest.CaptureFixture[str]) -> None:
    """`pointkit check FILE` prints the tiers, rules, offers and odds tables of a valid file."""
    assert main(["check", str(MALL)]) == 0
    out = capsys.readouterr().out
    assert "program 'points-mall' in Asia/Shanghai" in out
    assert "bundle:0: 2000 points + 300.00 CNY (0.1 CNY a point, 10x the reference)" in out
    assert "Lucky wheel (1000 points a draw)" in out


def test_check_lists_every_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`pointkit check` on a broken file lists every problem with its path and exits 1."""
    broken = tmp_path / "broken.toml"
    broken.write_text(
        MALL.read_text(encoding="utf-8")
        .replace(
            'caps = [{ period = "day", points = 100, tasks = 15 }]',
            'caps = [{ period = "day", points = -5 }]',
        )
        .replace('per = "lifetime"', 'per = "fortnight"', 1),
        encoding="utf-8",
    )
    assert main(["check", str(broken)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("pointkit: broken.toml has 2 problems:")
    assert "earning.caps[0].points: -5 must be an int from 1 to 9223372036854775807" in err
    assert (
        "offers[0].limits[0].per: 'fortnight' must be one of 'day', 'week', 'month', 'lifetime'"
        in err
    )


def test_report_reads_a_programs_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`pointkit report --db PATH --config FILE` prints the reports of the demo's database."""
    path = tmp_path / "demo.db"
    assert main(["demo", "--db", str(path)]) == 0
    capsys.readouterr()
    arguments = ["report", "--db", str(path), "--config", str(MALL)]
    assert main([*arguments, "--since", "2026-06-01", "--until", "2026-07-01"]) == 0
    out = capsys.readouterr().out
    assert "Liability in points" in out
    assert "2026-06-08" in out
    assert "wheel" in out


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
    """`pointkit demo --db PATH` leaves the month's database behind to look at."""
    path = tmp_path / "demo.db"
    assert main(["demo", "--db", str(path)]) == 0
    assert f"(database: {path};" in capsys.readouterr().out
    ledger = Ledger(SQLiteStorage(path), clock=SystemClock(), program="points-mall")
    assert ledger.audit().transactions > 200

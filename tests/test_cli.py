"""The pointkit command."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

import pointkit
from pointkit import FixedClock, Ledger, MemoryStorage, SystemClock
from pointkit.cli import console, main, run_demo
from pointkit.pricing import ProvablyFair
from pointkit.program import Program, load_config
from pointkit.storage.postgres import SCHEMA_VERSION as POSTGRES_SCHEMA_VERSION
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
    assert "flow ratio (expired in these days / issued in these days;" in out
    assert "source: the storage's reports part (_SQLiteUnit)" in out


def test_report_writes_json_and_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`pointkit report --format json|csv`: one JSON document, or a CSV section per report."""
    path = tmp_path / "demo.db"
    assert main(["demo", "--db", str(path)]) == 0
    capsys.readouterr()
    arguments = ["report", "--db", str(path), "--config", str(MALL)]
    arguments += ["--since", "2026-06-30", "--until", "2026-07-01"]
    assert main([*arguments, "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert ["program", "zone", "liability", "daily", "offers", "lotteries", "tiers"] == list(
        document
    )
    daily = document["daily"]
    assert ("Asia/Shanghai", "part") == (daily["zone"], daily["source"])
    # 1 July: the clearing, then the campaigns (a referral paid, a group buy captured).
    assert [("2026-06-30", 217, 0, 0), ("2026-07-01", 164, 2_400, 2_700)] == [
        (row["day"], row["issued"], row["consumed"], row["expired"]) for row in daily["rows"]
    ]
    assert ("900/127", 0) == (daily["flow_ratio"]["ratio"], daily["cohort"]["expired"])
    assert "not breakage" in daily["flow_ratio"]["label"]
    assert main([*arguments, "--format", "csv"]) == 0
    out = capsys.readouterr().out
    assert [f"# {name}" for name in ("liability", "daily", "offers", "lotteries", "tiers")] == [
        line for line in out.splitlines() if line.startswith("#")
    ]
    assert "# daily\nday,issued,consumed,expired,adjusted,redemptions,draws," in out
    assert "2026-07-01,164,2400,2700,0,0,0,0,0\n" in out
    assert "offer,name,redemptions,units,points,fulfilled,cancelled,refunded,net\n" in out
    with pytest.raises(SystemExit) as exit_info:
        main([*arguments, "--format", "xml"])
    assert exit_info.value.code == 2


def test_expire_runs_the_job_to_its_end_in_batches(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`pointkit expire` takes batches until none is due, or says that more are due."""
    path = tmp_path / "points.db"
    storage = SQLiteStorage(path)
    then = datetime(2019, 6, 1, tzinfo=UTC)
    mall = Program(load_config(MALL), storage=storage, clock=FixedClock(then))
    for n in range(25):
        mall.ledger.earn(f"m{n}", 10, key=f"e{n}", expires_at=then + timedelta(days=30))
    storage.close()
    command = ["expire", "--db", str(path), "--config", str(MALL), "--limit", "10"]
    assert main([*command, "--max-batches", "2"]) == 0
    first = capsys.readouterr().out
    assert "20 lots expired (200 points), 0 timed-out holds released, in 2 batches" in first
    assert first.rstrip().endswith("more are due: run it again")
    assert main(command) == 0
    assert "5 lots expired (50 points), 0 timed-out holds released, in 1 batch\n" in (
        capsys.readouterr().out
    )
    assert main(command) == 0
    assert "0 lots expired (no points)" in capsys.readouterr().out
    assert main([*command, "--max-batches", "0"]) == 1
    assert "max_batches=0" in capsys.readouterr().err


def test_expire_draws_a_progress_line_on_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """On a terminal the job redraws one line per batch; piped, it prints the summary only."""
    path = tmp_path / "points.db"
    storage = SQLiteStorage(path)
    then = datetime(2019, 6, 1, tzinfo=UTC)
    mall = Program(load_config(MALL), storage=storage, clock=FixedClock(then))
    for n in range(5):
        mall.ledger.earn(f"m{n}", 10, key=f"e{n}", expires_at=then + timedelta(days=30))
    storage.close()
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    command = ["expire", "--db", str(path), "--config", str(MALL), "--limit", "2"]
    assert main(command) == 0
    captured = capsys.readouterr()
    assert "\rexpiry: batch 3, 5 lots expired, 0 holds" in captured.err
    assert "5 lots expired (50 points)" in captured.out


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
            == f"schema {schema}: pointkit schema version {POSTGRES_SCHEMA_VERSION}\n"
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


# -- pointkit verify-draws --------------------------------------------------------------------

_SEED = bytes(range(32))
_KEY = bytes(range(100, 132))


@pytest.fixture
def fair_feed() -> list[dict[str, object]]:
    """Six provably fair draws on the packaged mall's wheel, published as a chained feed."""
    mall = Program.from_toml(
        MALL.read_text(encoding="utf-8"),
        storage=MemoryStorage(),
        clock=FixedClock(datetime(2026, 6, 1, 2, 0, tzinfo=UTC)),
    )
    fair = ProvablyFair(_SEED, client_seed="4f1d0c77a2")
    entries: list[dict[str, object]] = []
    previous = "0" * 64
    for n, member in enumerate(["alice", "bob"] * 3):
        mall.adjust(member, 1_000, key=f"gift-{n}", reason="gift")
        record = mall.draw(member, "wheel", draw_id=f"d{n}", minor=False, random=fair).record
        entries.append(record.public(key=_KEY, previous=previous))
        previous = str(entries[-1]["digest"])
    return entries


def _write_lines(path: Path, entries: list[dict[str, object]]) -> str:
    path.write_text("".join(json.dumps(entry) + "\n" for entry in entries), encoding="utf-8")
    return str(path)


def test_verify_draws_accepts_a_published_feed(
    tmp_path: Path, fair_feed: list[dict[str, object]], capsys: pytest.CaptureFixture[str]
) -> None:
    """A feed in JSON lines or as a JSON array verifies against its seed, tables and head."""
    head = str(fair_feed[-1]["digest"])
    lines = _write_lines(tmp_path / "draws.jsonl", fair_feed)
    array = tmp_path / "draws.json"
    array.write_text(json.dumps(fair_feed, indent=2), encoding="utf-8")
    for feed in (lines, str(array)):
        arguments = ["verify-draws", feed, "--server-seed", _SEED.hex(), "--config", str(MALL)]
        assert 0 == main([*arguments, "--head", head])
        out = capsys.readouterr().out
        assert f"{feed}: 6 draws verified under 1 server seed; feed head {head}\n" == out
    assert 0 == main(["verify-draws", lines, "--server-seed", _SEED.hex()])
    assert [
        f"{lines}: 6 draws verified under 1 server seed; feed head {head}",
        "the head was not checked: compare it with the head the operator published",
        "the odds were not checked against the lotteries' tables: give --config",
    ] == capsys.readouterr().out.splitlines()


def test_verify_draws_names_each_mismatch(
    tmp_path: Path, fair_feed: list[dict[str, object]], capsys: pytest.CaptureFixture[str]
) -> None:
    """A changed entry, a wrong seed and a wrong head are each named, and the exit status is 1."""
    changed = [dict(entry) for entry in fair_feed]
    changed[1]["prize"] = "trip"
    changed[1]["kind"] = "coupon"
    feed = _write_lines(tmp_path / "draws.jsonl", changed)
    arguments = ["verify-draws", feed, "--server-seed", _SEED.hex(), "--config", str(MALL)]
    assert 1 == main([*arguments, "--head", "0" * 64])
    err = capsys.readouterr().err.splitlines()
    label = f"pointkit: entry 2 (draw {changed[1]['draw_id']!r}): "
    assert err[0].startswith(label + "digest: the entry hashes to ")
    assert any(line.startswith(label + "prize: value ") for line in err)
    assert any(
        line.startswith(label + "kind: the record says 'coupon', 'trip' is 'goods'") for line in err
    )
    assert (
        f"pointkit: head: the feed ends at {fair_feed[-1]['digest']}, the published head is {'0' * 64}"
        in err
    )
    assert err[-1].startswith(f"pointkit: {feed} does not verify: ")
    assert 1 == main(
        [
            "verify-draws",
            _write_lines(tmp_path / "ok.jsonl", fair_feed),
            "--server-seed",
            bytes(32).hex(),
        ]
    )
    assert "fairness.commitment: no server seed given hashes to 630dcd2966c4" in (
        capsys.readouterr().err
    )


def test_verify_draws_names_unreadable_lines_and_entries(
    tmp_path: Path, fair_feed: list[dict[str, object]], capsys: pytest.CaptureFixture[str]
) -> None:
    """A line that is not JSON, and an old masked entry, are named by their place."""
    feed = tmp_path / "draws.jsonl"
    old = {key: value for key, value in fair_feed[1].items() if key not in ("format", "digest")}
    feed.write_text(
        json.dumps(fair_feed[0]) + "\n{not json\n" + json.dumps(old) + "\n", encoding="utf-8"
    )
    assert 1 == main(["verify-draws", str(feed), "--server-seed", _SEED.hex()])
    err = capsys.readouterr().err
    assert (
        "pointkit: entry 2: not a JSON object: 'line 2 is not JSON (Expecting property name" in err
    )
    assert "): format: None is not 2: publish the records with DrawRecord.public(" in err


def test_verify_draws_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A seed that is not hex is a usage error; a missing feed is reported with status 1."""
    with pytest.raises(SystemExit) as exit_info:
        main(["verify-draws", "feed.jsonl", "--server-seed", "xyz"])
    assert 2 == exit_info.value.code
    assert "argument --server-seed: 'xyz' is not hex" in capsys.readouterr().err
    assert 1 == main(["verify-draws", str(tmp_path / "none.jsonl"), "--server-seed", _SEED.hex()])
    assert "No such file or directory" in capsys.readouterr().err


def test_remind_writes_each_reminder_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`pointkit remind --within DAYS` writes points.expiring events; a second run writes none."""
    path = tmp_path / "points.db"
    storage = SQLiteStorage(path)
    now = SystemClock().now()
    mall = Program(load_config(MALL), storage=storage, clock=FixedClock(now))
    for n in range(3):
        mall.ledger.earn(f"m{n}", 10, key=f"e{n}", expires_at=now + timedelta(days=5 + n))
    mall.ledger.earn("later", 10, key="e-late", expires_at=now + timedelta(days=90))
    storage.close()
    command = ["remind", "--db", str(path), "--config", str(MALL), "--within", "30"]
    assert main(command) == 0
    assert "3 member expiries due, 3 events written (0 sent before)" in capsys.readouterr().out
    assert main(command) == 0
    assert "3 member expiries due, 0 events written (3 sent before)" in capsys.readouterr().out


def test_export_writes_the_journal_balances_and_lots(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`pointkit export` streams CSV or JSON Lines; the journal by local days."""
    path = tmp_path / "points.db"
    storage = SQLiteStorage(path)
    then = datetime(2026, 6, 1, 2, tzinfo=UTC)
    clock = FixedClock(then)
    mall = Program(load_config(MALL), storage=storage, clock=clock)
    mall.ledger.earn("ann", 100, key="e1")
    clock.advance(timedelta(days=1))
    mall.ledger.redeem("ann", 30, key="r1")
    storage.close()
    base = ["export", "--db", str(path), "--config", str(MALL)]
    assert main([*base, "journal"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(row["key"], row["account"], row["amount"]) for row in rows] == [
        ("e1", "issuance", "-100"),
        ("e1", "member", "100"),
        ("r1", "member", "-30"),
        ("r1", "redemption", "30"),
    ]
    assert main([*base, "journal", "--format", "jsonl", "--since", "2026-06-02"]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    assert json.loads(line)["key"] == "r1"
    output = tmp_path / "balances.csv"
    assert main([*base, "balances", "--output", str(output)]) == 0
    assert "2 balances written" in capsys.readouterr().out  # points and miles
    balances = list(csv.DictReader(io.StringIO(output.read_text(encoding="utf-8"))))
    assert [(b["member"], b["currency"], b["posted"]) for b in balances] == [
        ("ann", "points", "70"),
        ("ann", "miles", "0"),
    ]
    assert main([*base, "lots", "--format", "jsonl"]) == 0
    (lot,) = [json.loads(text) for text in capsys.readouterr().out.splitlines()]
    assert (lot["amount"], lot["remaining"]) == (100, 70)
    assert main([*base, "balances", "--since", "2026-06-02"]) == 1
    assert "since and until apply to the journal" in capsys.readouterr().err

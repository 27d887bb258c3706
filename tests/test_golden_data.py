"""A SQLite database written by pointkit 0.1 (schema 1) still loads, balances and audits.

tests/golden/sqlite_v1.sql is a dump of that database. Never edit it: later versions must open
it (after migrating, when the schema has moved on) and read the same balances.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from pointkit import FixedClock, Ledger
from pointkit.ledger import AccountKind
from pointkit.storage.sqlite import SQLiteStorage


DUMP = Path(__file__).parent / "golden" / "sqlite_v1.sql"


def test_a_version_1_database_still_loads(tmp_path: Path) -> None:
    """Its journal replays cleanly, and its balances and statements are what they were."""
    path = tmp_path / "v1.db"
    connection = sqlite3.connect(path)
    connection.executescript(DUMP.read_text(encoding="utf-8"))
    connection.close()
    storage = SQLiteStorage(path)
    ledger = Ledger(storage, clock=FixedClock(datetime(2026, 7, 1, tzinfo=UTC)), program="golden")
    report = ledger.audit()
    assert (report.transactions, report.wallets, report.lots, report.holds) == (10, 3, 3, 2)
    alice = ledger.balance("alice")
    assert (alice.posted, alice.debt, alice.available) == (-150, 150, 0)
    assert ledger.balance("bob").posted == 0
    assert ledger.system_balance(AccountKind.EXPIRED).posted == 300
    assert ledger.system_balance(AccountKind.REDEMPTION).posted == 150
    assert [
        (line.kind.value, line.change, line.balance) for line in ledger.statement("alice").lines
    ] == [
        ("earn", 500, 500),
        ("reserve", 0, 500),
        ("capture", -150, 350),
        ("reversal", -500, -150),
    ]
    storage.close()

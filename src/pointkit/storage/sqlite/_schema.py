"""The SQLite adapter's schema: versioned migrations, append-only journal tables.

Each version's script runs once, in order, in one transaction; a database newer than this
version of pointkit is refused rather than misread. Schemas stay readable: a version never
changes what an older one wrote.
"""

from __future__ import annotations

import sqlite3
from typing import Final

from pointkit.exceptions import (
    SchemaVersionError,
)


__all__ = ["SCHEMA_VERSION", "newer_error", "run_migrations", "stored_version"]

SCHEMA_VERSION: Final = 6
"""The schema version this version of pointkit writes and reads."""

_APPEND_ONLY = """
CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table}
BEGIN SELECT RAISE(ABORT, 'pointkit: {table} is append-only'); END;
CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table}
BEGIN SELECT RAISE(ABORT, 'pointkit: {table} is append-only'); END;
"""

_MIGRATIONS: Final[dict[int, str]] = {
    1: """
CREATE TABLE pk_txn (
    program_id TEXT NOT NULL,
    txn_id BLOB NOT NULL,
    idem_key TEXT NOT NULL,
    kind TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    reverses BLOB,
    body TEXT NOT NULL,
    checksum BLOB NOT NULL,
    PRIMARY KEY (program_id, txn_id),
    UNIQUE (program_id, idem_key)
) STRICT;
CREATE INDEX pk_txn_reverses ON pk_txn (program_id, reverses) WHERE reverses IS NOT NULL;
CREATE TABLE pk_posting (
    program_id TEXT NOT NULL,
    txn_id BLOB NOT NULL,
    seq INTEGER NOT NULL,
    account_kind TEXT NOT NULL,
    member TEXT,
    currency TEXT NOT NULL,
    phase TEXT NOT NULL CHECK (phase IN ('posted', 'pending')),
    amount INTEGER NOT NULL CHECK (amount <> 0),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (program_id, txn_id, seq)
) STRICT;
CREATE INDEX pk_posting_account ON pk_posting (program_id, account_kind, currency, phase);
CREATE TRIGGER pk_txn_balanced BEFORE INSERT ON pk_txn
WHEN EXISTS (
    SELECT 1 FROM pk_posting
    WHERE program_id = NEW.program_id AND txn_id = NEW.txn_id
    GROUP BY phase HAVING SUM(amount) <> 0
)
BEGIN SELECT RAISE(ABORT, 'pointkit: the postings of a transaction must sum to zero'); END;
CREATE TABLE pk_entry (
    program_id TEXT NOT NULL,
    member TEXT NOT NULL,
    currency TEXT NOT NULL,
    version INTEGER NOT NULL,
    txn_id BLOB NOT NULL,
    posted INTEGER NOT NULL,
    held INTEGER NOT NULL,
    debt INTEGER NOT NULL,
    posted_change INTEGER NOT NULL,
    PRIMARY KEY (program_id, member, currency, version)
) STRICT;
CREATE TABLE pk_wallet (
    program_id TEXT NOT NULL,
    member TEXT NOT NULL,
    currency TEXT NOT NULL,
    version INTEGER NOT NULL CHECK (version > 0),
    posted INTEGER NOT NULL,
    held INTEGER NOT NULL CHECK (held >= 0),
    debt INTEGER NOT NULL CHECK (debt >= 0),
    PRIMARY KEY (program_id, member, currency)
) STRICT;
CREATE TABLE pk_lot (
    program_id TEXT NOT NULL,
    lot_id BLOB NOT NULL,
    member TEXT NOT NULL,
    currency TEXT NOT NULL,
    amount INTEGER NOT NULL CHECK (amount > 0),
    remaining INTEGER NOT NULL,
    held INTEGER NOT NULL,
    expired INTEGER NOT NULL CHECK (expired >= 0),
    earned_at INTEGER NOT NULL,
    available_at INTEGER NOT NULL,
    expires_at INTEGER,
    expiry_order INTEGER NOT NULL
        GENERATED ALWAYS AS (COALESCE(expires_at, 9223372036854775807)) VIRTUAL,
    source BLOB NOT NULL,
    PRIMARY KEY (program_id, lot_id),
    CHECK (0 <= held AND held <= remaining),
    CHECK (remaining + expired <= amount)
) STRICT;
CREATE INDEX pk_lot_open ON pk_lot (program_id, member, currency, expiry_order, available_at, lot_id)
    WHERE remaining > 0;
CREATE INDEX pk_lot_due ON pk_lot (program_id, expires_at, lot_id)
    WHERE remaining > held AND expires_at IS NOT NULL;
CREATE TABLE pk_hold (
    program_id TEXT NOT NULL,
    hold_id BLOB NOT NULL,
    member TEXT NOT NULL,
    currency TEXT NOT NULL,
    amount INTEGER NOT NULL CHECK (amount > 0),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    allocations TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'captured', 'released', 'expired')),
    captured INTEGER NOT NULL,
    resolved_by BLOB,
    PRIMARY KEY (program_id, hold_id)
) STRICT;
CREATE INDEX pk_hold_open ON pk_hold (program_id, expires_at, hold_id) WHERE status = 'open';
"""
    + "".join(_APPEND_ONLY.format(table=table) for table in ("pk_txn", "pk_posting", "pk_entry")),
    2: """
ALTER TABLE pk_lot ADD COLUMN follows_activity INTEGER NOT NULL DEFAULT 0
    CHECK (follows_activity IN (0, 1));
CREATE INDEX pk_lot_expiring ON pk_lot (program_id, expires_at, member, currency, lot_id)
    WHERE remaining > 0 AND expires_at IS NOT NULL;
CREATE INDEX pk_posting_member ON pk_posting (program_id, member, currency, created_at)
    WHERE member IS NOT NULL;
CREATE TABLE pk_tier (
    program_id TEXT NOT NULL,
    member TEXT NOT NULL,
    version INTEGER NOT NULL CHECK (version > 0),
    tier TEXT NOT NULL,
    since INTEGER NOT NULL,
    next_review INTEGER,
    grace_until INTEGER,
    never_downgrade INTEGER NOT NULL CHECK (never_downgrade IN (0, 1)),
    PRIMARY KEY (program_id, member)
) STRICT;
CREATE TABLE pk_tier_change (
    program_id TEXT NOT NULL,
    member TEXT NOT NULL,
    seq INTEGER NOT NULL,
    at INTEGER NOT NULL,
    from_tier TEXT,
    to_tier TEXT NOT NULL,
    reason TEXT NOT NULL,
    metric INTEGER,
    PRIMARY KEY (program_id, member, seq)
) STRICT;
"""
    + _APPEND_ONLY.format(table="pk_tier_change"),
    3: """
CREATE TABLE pk_rule_event (
    program_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    member TEXT NOT NULL,
    kind TEXT NOT NULL,
    at INTEGER NOT NULL,
    decision TEXT NOT NULL,
    checksum BLOB NOT NULL,
    PRIMARY KEY (program_id, event_id)
) STRICT;
CREATE TABLE pk_counter (
    program_id TEXT NOT NULL,
    member TEXT NOT NULL,
    scope TEXT NOT NULL,
    period TEXT NOT NULL,
    points INTEGER NOT NULL,
    tasks INTEGER NOT NULL CHECK (tasks >= 0),
    PRIMARY KEY (program_id, member, scope, period)
) STRICT;
CREATE TABLE pk_streak (
    program_id TEXT NOT NULL,
    member TEXT NOT NULL,
    rule TEXT NOT NULL,
    last_day TEXT NOT NULL,
    length INTEGER NOT NULL CHECK (length > 0),
    PRIMARY KEY (program_id, member, rule)
) STRICT;
CREATE TABLE pk_budget (
    program_id TEXT NOT NULL,
    name TEXT NOT NULL,
    used INTEGER NOT NULL CHECK (used >= 0),
    PRIMARY KEY (program_id, name)
) STRICT;
"""
    + _APPEND_ONLY.format(table="pk_rule_event"),
    # A record's increments ("effects", JSON) and the order records were saved in, for the
    # audit's replay. seq is a column of its own, filled with the program's last one plus one
    # under the write lock: rowids may be renumbered by VACUUM. Rows written before stay as
    # they are (the table is append-only): no effects and no seq, which sorts them first.
    4: """
ALTER TABLE pk_rule_event ADD COLUMN effects TEXT;
ALTER TABLE pk_rule_event ADD COLUMN seq INTEGER;
CREATE UNIQUE INDEX pk_rule_event_seq ON pk_rule_event (program_id, seq);
""",
    # The transactional outbox: events in the order their units committed (seq, handed out
    # under the write lock, which SQLite holds until COMMIT), each id once per program; each
    # consumer's acknowledged position; the events a consumer parked.
    5: """
CREATE TABLE pk_outbox (
    program_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    event_id BLOB NOT NULL,
    type TEXT NOT NULL,
    version INTEGER NOT NULL,
    occurred_at INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (program_id, seq),
    UNIQUE (program_id, event_id)
) STRICT;
CREATE TABLE pk_outbox_consumer (
    program_id TEXT NOT NULL,
    consumer TEXT NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (program_id, consumer)
) STRICT;
CREATE TABLE pk_outbox_dead (
    program_id TEXT NOT NULL,
    consumer TEXT NOT NULL,
    event_id BLOB NOT NULL,
    seq INTEGER NOT NULL,
    reason TEXT NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (program_id, consumer, event_id)
) STRICT;
""",
    # The reports part's indexes (storage/sqlite/_report_rows.py), on tables of versions 1 to
    # 4 only: the system accounts' posted flows by time, covering the amounts (a partial
    # index: member postings are half the table and no report sums them); records by kind and
    # time (redemptions, draws); open lots by expiry, covering what remains; lots by the
    # instant they were earned (the issued cohort).
    6: """
CREATE INDEX pk_posting_flow ON pk_posting
    (program_id, currency, phase, created_at, account_kind, amount)
    WHERE account_kind <> 'member';
CREATE INDEX pk_rule_event_kind ON pk_rule_event (program_id, kind, at);
CREATE INDEX pk_lot_outstanding ON pk_lot (program_id, currency, expires_at, remaining)
    WHERE remaining > 0;
CREATE INDEX pk_lot_earned ON pk_lot (program_id, currency, earned_at);
""",
}


def run_migrations(connection: sqlite3.Connection) -> int:
    """Bring the schema up to SCHEMA_VERSION inside one write transaction; return the version."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        _upgrade(connection)
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")
    return SCHEMA_VERSION


def _upgrade(connection: sqlite3.Connection) -> None:
    """Apply every migration after the stored version, inside the caller's transaction."""
    current = stored_version(connection)
    if current is None:
        connection.execute(
            "CREATE TABLE pk_schema (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)"
            " STRICT"
        )
        current = 0
    if current > SCHEMA_VERSION:
        raise newer_error(current)
    for version in range(current + 1, SCHEMA_VERSION + 1):
        for statement in _split(_MIGRATIONS[version]):
            connection.execute(statement)
        connection.execute(
            "INSERT INTO pk_schema (version, applied_at) VALUES (?, strftime('%s', 'now'))",
            (version,),
        )


def _split(script: str) -> list[str]:
    """Split a migration into statements (triggers hold semicolons inside BEGIN ... END)."""
    statements: list[str] = []
    buffer = ""
    for line in script.strip().splitlines():
        buffer += line + "\n"
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    return statements


def stored_version(connection: sqlite3.Connection) -> int | None:
    exists = connection.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'pk_schema'"
    ).fetchone()
    if exists is None:
        return None
    row = connection.execute("SELECT MAX(version) FROM pk_schema").fetchone()
    return 0 if row[0] is None else int(row[0])


def newer_error(version: int) -> SchemaVersionError:
    return SchemaVersionError(
        f"the database has pointkit schema version {version}, newer than this pointkit "
        f"understands ({SCHEMA_VERSION}); upgrade pointkit to use it"
    )

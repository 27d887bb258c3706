"""The PostgreSQL adapter's schema: versioned migrations, append-only journal tables.

Each version's script runs once, in order, in one transaction; a database newer than this
version of pointkit is refused rather than misread. Schemas stay readable: a version never
changes what an older one wrote.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Final

from pointkit.exceptions import (
    SchemaVersionError,
)


if TYPE_CHECKING:
    import psycopg


__all__ = ["SCHEMA_VERSION", "newer_error", "quoted", "run_migrations", "stored_version"]

SCHEMA_VERSION: Final = 7
"""The schema version this version of pointkit writes and reads."""


def _balanced(match: str) -> str:
    """The balance check's function: a transaction's postings found by its key, *match* added.

    Version 7 adds the transaction's member, so that on a schema distributed by member the
    check reads the one shard the transaction is on.
    """
    return f"""CREATE OR REPLACE FUNCTION {{s}}.pk_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM {{s}}.pk_posting
        WHERE program_id = NEW.program_id{match} AND txn_id = NEW.txn_id
        GROUP BY phase HAVING SUM(amount) <> 0
    ) THEN
        RAISE EXCEPTION 'pointkit: the postings of transaction % must sum to zero', NEW.txn_id
            USING ERRCODE = 'P0001';
    END IF;
    RETURN NULL;
END $$;
"""


_MIGRATIONS: Final[dict[int, str]] = {
    1: """
CREATE TABLE {s}.pk_txn (
    program_id text NOT NULL,
    txn_id uuid NOT NULL,
    idem_key text NOT NULL,
    kind text NOT NULL,
    created_at timestamptz NOT NULL,
    reverses uuid,
    body text NOT NULL,
    checksum bytea NOT NULL,
    PRIMARY KEY (program_id, txn_id),
    UNIQUE (program_id, idem_key)
);
CREATE INDEX pk_txn_reverses ON {s}.pk_txn (program_id, reverses) WHERE reverses IS NOT NULL;
CREATE TABLE {s}.pk_posting (
    program_id text NOT NULL,
    txn_id uuid NOT NULL,
    seq integer NOT NULL,
    account_kind text NOT NULL,
    member text,
    currency text NOT NULL,
    phase text NOT NULL CHECK (phase IN ('posted', 'pending')),
    amount bigint NOT NULL CHECK (amount <> 0),
    created_at timestamptz NOT NULL,
    PRIMARY KEY (program_id, txn_id, seq)
);
CREATE INDEX pk_posting_account ON {s}.pk_posting (program_id, account_kind, currency, phase)
    INCLUDE (amount);
CREATE TABLE {s}.pk_entry (
    program_id text NOT NULL,
    member text NOT NULL,
    currency text NOT NULL,
    version bigint NOT NULL,
    txn_id uuid NOT NULL,
    posted bigint NOT NULL,
    held bigint NOT NULL,
    debt bigint NOT NULL,
    posted_change bigint NOT NULL,
    PRIMARY KEY (program_id, member, currency, version)
);
CREATE TABLE {s}.pk_wallet (
    program_id text NOT NULL,
    member text NOT NULL,
    currency text NOT NULL,
    version bigint NOT NULL CHECK (version >= 0),
    posted bigint NOT NULL,
    held bigint NOT NULL CHECK (held >= 0),
    debt bigint NOT NULL CHECK (debt >= 0),
    PRIMARY KEY (program_id, member, currency)
);
CREATE TABLE {s}.pk_lot (
    program_id text NOT NULL,
    lot_id uuid NOT NULL,
    member text NOT NULL,
    currency text NOT NULL,
    amount bigint NOT NULL CHECK (amount > 0),
    remaining bigint NOT NULL,
    held bigint NOT NULL,
    expired bigint NOT NULL CHECK (expired >= 0),
    earned_at timestamptz NOT NULL,
    available_at timestamptz NOT NULL,
    expires_at timestamptz,
    source uuid NOT NULL,
    PRIMARY KEY (program_id, lot_id),
    CHECK (0 <= held AND held <= remaining),
    CHECK (remaining + expired <= amount)
);
CREATE INDEX pk_lot_open ON {s}.pk_lot
    (program_id, member, currency, COALESCE(expires_at, 'infinity'), available_at, lot_id)
    WHERE remaining > 0;
CREATE INDEX pk_lot_due ON {s}.pk_lot (program_id, expires_at, lot_id)
    WHERE remaining > held AND expires_at IS NOT NULL;
CREATE TABLE {s}.pk_hold (
    program_id text NOT NULL,
    hold_id uuid NOT NULL,
    member text NOT NULL,
    currency text NOT NULL,
    amount bigint NOT NULL CHECK (amount > 0),
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    allocations text NOT NULL,
    status text NOT NULL CHECK (status IN ('open', 'captured', 'released', 'expired')),
    captured bigint NOT NULL,
    resolved_by uuid,
    PRIMARY KEY (program_id, hold_id)
);
CREATE INDEX pk_hold_open ON {s}.pk_hold (program_id, expires_at, hold_id) WHERE status = 'open';
CREATE FUNCTION {s}.pk_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'pointkit: % is append-only', TG_TABLE_NAME USING ERRCODE = 'P0001';
END $$;
CREATE TRIGGER pk_txn_append_only BEFORE UPDATE OR DELETE ON {s}.pk_txn
    FOR EACH ROW EXECUTE FUNCTION {s}.pk_append_only();
CREATE TRIGGER pk_txn_no_truncate BEFORE TRUNCATE ON {s}.pk_txn
    FOR EACH STATEMENT EXECUTE FUNCTION {s}.pk_append_only();
CREATE TRIGGER pk_posting_append_only BEFORE UPDATE OR DELETE ON {s}.pk_posting
    FOR EACH ROW EXECUTE FUNCTION {s}.pk_append_only();
CREATE TRIGGER pk_posting_no_truncate BEFORE TRUNCATE ON {s}.pk_posting
    FOR EACH STATEMENT EXECUTE FUNCTION {s}.pk_append_only();
CREATE TRIGGER pk_entry_append_only BEFORE UPDATE OR DELETE ON {s}.pk_entry
    FOR EACH ROW EXECUTE FUNCTION {s}.pk_append_only();
CREATE TRIGGER pk_entry_no_truncate BEFORE TRUNCATE ON {s}.pk_entry
    FOR EACH STATEMENT EXECUTE FUNCTION {s}.pk_append_only();
"""
    + _balanced("")
    + """CREATE CONSTRAINT TRIGGER pk_txn_balanced AFTER INSERT ON {s}.pk_txn
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION {s}.pk_balanced();
""",
    2: """
ALTER TABLE {s}.pk_lot ADD COLUMN follows_activity boolean NOT NULL DEFAULT false;
CREATE INDEX pk_lot_expiring ON {s}.pk_lot (program_id, expires_at, member, currency, lot_id)
    WHERE remaining > 0 AND expires_at IS NOT NULL;
CREATE INDEX pk_posting_member ON {s}.pk_posting (program_id, member, currency, created_at)
    WHERE member IS NOT NULL;
CREATE TABLE {s}.pk_tier (
    program_id text NOT NULL,
    member text NOT NULL,
    version bigint NOT NULL CHECK (version > 0),
    tier text NOT NULL,
    since timestamptz NOT NULL,
    next_review timestamptz,
    grace_until timestamptz,
    never_downgrade boolean NOT NULL,
    PRIMARY KEY (program_id, member)
);
CREATE TABLE {s}.pk_tier_change (
    program_id text NOT NULL,
    member text NOT NULL,
    seq bigint NOT NULL,
    at timestamptz NOT NULL,
    from_tier text,
    to_tier text NOT NULL,
    reason text NOT NULL,
    metric bigint,
    PRIMARY KEY (program_id, member, seq)
);
CREATE TRIGGER pk_tier_change_append_only BEFORE UPDATE OR DELETE ON {s}.pk_tier_change
    FOR EACH ROW EXECUTE FUNCTION {s}.pk_append_only();
CREATE TRIGGER pk_tier_change_no_truncate BEFORE TRUNCATE ON {s}.pk_tier_change
    FOR EACH STATEMENT EXECUTE FUNCTION {s}.pk_append_only();
""",
    3: """
CREATE TABLE {s}.pk_rule_event (
    program_id text NOT NULL,
    event_id text NOT NULL,
    member text NOT NULL,
    kind text NOT NULL,
    at timestamptz NOT NULL,
    decision text NOT NULL,
    checksum bytea NOT NULL,
    PRIMARY KEY (program_id, event_id)
);
CREATE TABLE {s}.pk_counter (
    program_id text NOT NULL,
    member text NOT NULL,
    scope text NOT NULL,
    period text NOT NULL,
    points bigint NOT NULL,
    tasks bigint NOT NULL CHECK (tasks >= 0),
    PRIMARY KEY (program_id, member, scope, period)
);
CREATE TABLE {s}.pk_streak (
    program_id text NOT NULL,
    member text NOT NULL,
    rule text NOT NULL,
    last_day date NOT NULL,
    length integer NOT NULL CHECK (length > 0),
    PRIMARY KEY (program_id, member, rule)
);
CREATE TABLE {s}.pk_budget (
    program_id text NOT NULL,
    name text NOT NULL,
    used bigint NOT NULL CHECK (used >= 0),
    PRIMARY KEY (program_id, name)
);
CREATE TRIGGER pk_rule_event_append_only BEFORE UPDATE OR DELETE ON {s}.pk_rule_event
    FOR EACH ROW EXECUTE FUNCTION {s}.pk_append_only();
CREATE TRIGGER pk_rule_event_no_truncate BEFORE TRUNCATE ON {s}.pk_rule_event
    FOR EACH STATEMENT EXECUTE FUNCTION {s}.pk_append_only();
""",
    # A record's increments ("effects", JSON) and the order records were saved in, for the
    # audit's replay. Adding the identity column numbers the rows written before (which keep
    # no effects) ahead of every later one. A record takes its number when it is inserted,
    # which may differ from the order concurrent units commit in; that only reorders
    # additions, which commute: a streak's new value is written under the member's wallet
    # lock, and a give-back returns what a record committed before its unit began added.
    4: """
ALTER TABLE {s}.pk_rule_event ADD COLUMN effects text;
ALTER TABLE {s}.pk_rule_event ADD COLUMN seq bigint GENERATED ALWAYS AS IDENTITY;
CREATE UNIQUE INDEX pk_rule_event_seq ON {s}.pk_rule_event (program_id, seq);
""",
    # The transactional outbox. seq is handed out at insert, not at commit, so each row keeps
    # the id of the transaction that wrote it (xid): readers take rows below the oldest
    # transaction still running, in (xid, seq) order, and no unit can commit behind them.
    5: """
CREATE TABLE {s}.pk_outbox (
    program_id text NOT NULL,
    xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
    seq bigint GENERATED ALWAYS AS IDENTITY,
    event_id uuid NOT NULL,
    type text NOT NULL,
    version integer NOT NULL,
    occurred_at timestamptz NOT NULL,
    data text NOT NULL,
    PRIMARY KEY (program_id, xid, seq),
    UNIQUE (program_id, event_id)
);
CREATE TABLE {s}.pk_outbox_consumer (
    program_id text NOT NULL,
    consumer text NOT NULL,
    xid xid8 NOT NULL,
    seq bigint NOT NULL,
    PRIMARY KEY (program_id, consumer)
);
CREATE TABLE {s}.pk_outbox_dead (
    program_id text NOT NULL,
    consumer text NOT NULL,
    event_id uuid NOT NULL,
    reason text NOT NULL,
    at timestamptz NOT NULL,
    PRIMARY KEY (program_id, consumer, event_id)
);
""",
    # The reports part's indexes (storage/postgres/_report_rows.py), on tables of versions 1
    # to 4 only: the system accounts' posted flows by time, covering the amounts (a partial
    # index: member postings are half the table and no report sums them); records by kind and
    # time (redemptions, draws); open lots by expiry, covering what remains; lots by the
    # instant they were earned (the issued cohort).
    6: """
CREATE INDEX pk_posting_flow ON {s}.pk_posting (program_id, currency, phase, created_at)
    INCLUDE (account_kind, amount) WHERE account_kind <> 'member';
CREATE INDEX pk_rule_event_kind ON {s}.pk_rule_event (program_id, kind, at);
CREATE INDEX pk_lot_outstanding ON {s}.pk_lot (program_id, currency, expires_at)
    INCLUDE (remaining) WHERE remaining > 0;
CREATE INDEX pk_lot_earned ON {s}.pk_lot (program_id, currency, earned_at);
""",
    # Every table of a member's data carries the member and is keyed by (program_id, member,
    # ...), so the schema can be distributed by member (``citus_distribution(by="member")``):
    # a transaction is stored with its member (the first, in code-point order, of those whose
    # wallets it changed: its journal entries'; "" for none), its postings with their
    # transaction's member (so a transaction's rows stay together), an event with the member it
    # names (a transaction's event: the first of its wallets'). The keys by id alone stay as
    # unique indexes here; the by-member layout replaces them (see _citus.py). Backfilling
    # rewrites pk_txn, pk_posting and pk_outbox: their append-only triggers are off meanwhile.
    7: """
ALTER TABLE {s}.pk_txn DISABLE TRIGGER USER;
ALTER TABLE {s}.pk_posting DISABLE TRIGGER USER;
ALTER TABLE {s}.pk_txn ADD COLUMN member text;
UPDATE {s}.pk_txn AS t SET member = COALESCE((SELECT min(e.member COLLATE "C")
    FROM {s}.pk_entry AS e WHERE e.program_id = t.program_id AND e.txn_id = t.txn_id), '');
ALTER TABLE {s}.pk_txn ALTER COLUMN member SET NOT NULL;
ALTER TABLE {s}.pk_posting ADD COLUMN txn_member text;
UPDATE {s}.pk_posting AS p SET txn_member = t.member FROM {s}.pk_txn AS t
    WHERE t.program_id = p.program_id AND t.txn_id = p.txn_id;
ALTER TABLE {s}.pk_posting ALTER COLUMN txn_member SET NOT NULL;
ALTER TABLE {s}.pk_txn ENABLE TRIGGER USER;
ALTER TABLE {s}.pk_posting ENABLE TRIGGER USER;
ALTER TABLE {s}.pk_txn DROP CONSTRAINT pk_txn_pkey;
ALTER TABLE {s}.pk_txn ADD PRIMARY KEY (program_id, member, txn_id);
CREATE UNIQUE INDEX pk_txn_id ON {s}.pk_txn (program_id, txn_id);
ALTER TABLE {s}.pk_posting DROP CONSTRAINT pk_posting_pkey;
ALTER TABLE {s}.pk_posting ADD PRIMARY KEY (program_id, txn_member, txn_id, seq);
ALTER TABLE {s}.pk_lot DROP CONSTRAINT pk_lot_pkey;
ALTER TABLE {s}.pk_lot ADD PRIMARY KEY (program_id, member, lot_id);
CREATE UNIQUE INDEX pk_lot_id ON {s}.pk_lot (program_id, lot_id);
ALTER TABLE {s}.pk_hold DROP CONSTRAINT pk_hold_pkey;
ALTER TABLE {s}.pk_hold ADD PRIMARY KEY (program_id, member, hold_id);
CREATE UNIQUE INDEX pk_hold_id ON {s}.pk_hold (program_id, hold_id);
ALTER TABLE {s}.pk_rule_event DROP CONSTRAINT pk_rule_event_pkey;
ALTER TABLE {s}.pk_rule_event ADD PRIMARY KEY (program_id, member, event_id);
CREATE UNIQUE INDEX pk_rule_event_id ON {s}.pk_rule_event (program_id, event_id);
ALTER TABLE {s}.pk_outbox ADD COLUMN member text NOT NULL DEFAULT '';
UPDATE {s}.pk_outbox SET member = COALESCE(data::jsonb ->> 'member',
    (SELECT min(w ->> 'member' COLLATE "C") FROM jsonb_array_elements(
        CASE WHEN jsonb_typeof(data::jsonb -> 'wallets') = 'array' THEN data::jsonb -> 'wallets'
        ELSE '[]' END) AS w), '');
ALTER TABLE {s}.pk_outbox ALTER COLUMN member DROP DEFAULT;
ALTER TABLE {s}.pk_outbox DROP CONSTRAINT pk_outbox_pkey;
ALTER TABLE {s}.pk_outbox ADD PRIMARY KEY (program_id, member, xid, seq);
CREATE UNIQUE INDEX pk_outbox_order ON {s}.pk_outbox (program_id, xid, seq);
"""
    + _balanced(" AND txn_member = NEW.member"),
}


def quoted(schema: str) -> str:
    """The schema as a quoted SQL identifier, so a reserved word (``select``) names a schema too.

    The name is checked to letters, digits and ``_`` before it gets here, so quoting is all it
    needs; a quoted lower-case name is the same schema as the unquoted one.
    """
    return f'"{schema}"'


def run_migrations(connection: psycopg.Connection[Any], schema: str) -> int:
    # One migration at a time under an advisory lock, so concurrent migrators wait.
    connection.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"pointkit:{schema}",))
    connection.execute(f"CREATE SCHEMA IF NOT EXISTS {quoted(schema)}")
    current = stored_version(connection, schema)
    if current is None:
        connection.execute(
            f"CREATE TABLE {quoted(schema)}.pk_schema "
            "(version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        current = 0
    if current > SCHEMA_VERSION:
        raise newer_error(current)
    for version in range(current + 1, SCHEMA_VERSION + 1):
        connection.execute(_MIGRATIONS[version].replace("{s}", quoted(schema)))
        connection.execute(
            f"INSERT INTO {quoted(schema)}.pk_schema (version) VALUES (%s)", (version,)
        )
    return SCHEMA_VERSION


def stored_version(connection: psycopg.Connection[Any], schema: str) -> int | None:
    exists = connection.execute(
        "SELECT 1 FROM information_schema.tables WHERE table_schema = %s "
        "AND table_name = 'pk_schema'",
        (schema,),
    ).fetchone()
    if exists is None:
        return None
    row = connection.execute(f"SELECT MAX(version) FROM {quoted(schema)}.pk_schema").fetchone()
    return 0 if row is None or row[0] is None else int(row[0])


def newer_error(version: int) -> SchemaVersionError:
    return SchemaVersionError(
        f"the database has pointkit schema version {version}, newer than this pointkit "
        f"understands ({SCHEMA_VERSION}); upgrade pointkit to use it"
    )


def created_tables() -> tuple[str, ...]:
    """Every table the migrations create, in creation order, then ``pk_schema``."""
    created = re.findall(r"CREATE TABLE \{s\}\.(pk_\w+)", "".join(_MIGRATIONS.values()))
    return (*created, "pk_schema")

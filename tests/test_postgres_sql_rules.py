"""The PostgreSQL adapter's SQL keeps the rules a distributed PostgreSQL (Citus) needs.

Every statement the adapter sends while the whole Program runs (the Program, commerce and
campaign machines, the conformance suite, the reports and the outbox) is captured and checked:

* every table pointkit reads or writes is filtered on ``program_id`` with a bound value, directly
  or through a join to a table that is (a correlated subquery must bind its own), so Citus can
  route the statement to one shard group instead of every shard;
* rows are created with ``INSERT ... VALUES``, never ``INSERT ... SELECT`` from the statement's
  arguments (which Citus plans as "pull to coordinator" and commits in two phases); an
  ``INSERT ... SELECT`` that reads co-located tables routed to the same program is allowed;
* a lock timeout is set for the transaction only (``SET LOCAL``): a session setting made on the
  coordinator does not reach the workers.

These are the rules docs/scaling.md relies on; the test needs no Citus.
"""

from __future__ import annotations

import os
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeVar

import attrs
import psycopg
import pytest
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from pointkit import FixedClock, Ledger, Money
from pointkit.program import Program, load_config
from pointkit.reports import (
    daily_report,
    hottest_offers,
    liability_report,
    lottery_cost,
    tier_distribution,
)
from pointkit.rules import Event
from pointkit.storage.postgres import PostgresStorage, citus_distribution
from pointkit.testing import check_storage_conformance
from test_campaigns_stateful import CampaignMachine
from test_commerce_stateful import CommerceMachine
from test_program_stateful import ProgramMachine


if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from pointkit.ledger import Storage


_T = TypeVar("_T")
MALL = Path(__file__).parent.parent / "src" / "pointkit" / "program" / "points_mall.toml"

_TABLE = re.compile(
    r"(?P<name>\bpk_[a-z_]+)\b(?:\s+(?:AS\s+)?(?P<alias>(?!WHERE|ON|SET|USING)[a-z]\w*))?",
    re.IGNORECASE,
)
_PARAMETER = r"%(?:\(\w+\))?s"
_BOUND = rf"\s*(?:=\s*(?:{_PARAMETER}|ANY\s*\(\s*{_PARAMETER})|IN\s*\(\s*{_PARAMETER})"


def _rows_created_by_select(sql: str) -> bool:
    """Whether *sql* creates rows with ``INSERT ... SELECT`` from no table of pointkit's.

    An ``INSERT ... SELECT`` that reads co-located tables routed to one program (the set-based
    expiry's) runs on that program's shard group; one that selects only from its arguments
    (``unnest``) is planned on the coordinator.
    """
    inserts = re.search(
        r"\bINSERT\s+INTO\s+\S+\.(pk_\w+)\s*(?:\([^)]*\))?\s*SELECT\b", sql, re.IGNORECASE
    )
    if inserts is None:
        return False
    read = {match.group("name") for match in _TABLE.finditer(sql)} - {inserts.group(1)}
    return not read


def _depth_at(sql: str, position: int) -> int:
    return sql.count("(", 0, position) - sql.count(")", 0, position)


def _by_program(table: str) -> str:  # noqa: ARG001 - every table has the same column
    return "program_id"


def unrouted_tables(sql: str, column: Callable[[str], str] = _by_program) -> list[str]:
    """The pk_ tables in *sql* that are not filtered on a bound distribution column.

    *column* names a table's distribution column (``program_id`` by default). A table is
    routed when ``alias.<column>`` (or a bare column for a table without an alias) is compared
    with a bound value, or equated to a routed table's column at the same depth of
    parentheses; a table in a (correlated) subquery must be bound itself.
    """
    if re.match(r"\s*INSERT\b", sql, re.IGNORECASE):
        return []  # checked by _rows_created_by_select: VALUES carry the program_id
    references = [
        (match.group("name"), match.group("alias") or match.group("name"), match.start())
        for match in _TABLE.finditer(sql)
        if match.group("name").lower() != "pk_schema"
    ]
    columns = {alias: column(name.lower()) for name, alias, _ in references}
    bound = {
        alias
        for _, alias, _ in references
        if re.search(rf"\b{re.escape(alias)}\.{columns[alias]}{_BOUND}", sql, re.IGNORECASE)
    }
    bound.update(
        alias
        for name, alias, _ in references
        if alias == name and re.search(rf"(?<![.\w]){columns[alias]}{_BOUND}", sql, re.IGNORECASE)
    )
    joins = [
        (left, right)
        for left, left_column, right, right_column in re.findall(
            r"\b(\w+)\.(\w+)\s*=\s*(\w+)\.(\w+)\b", sql, re.IGNORECASE
        )
        if columns.get(left) == left_column and columns.get(right) == right_column
    ]
    depth = {alias: _depth_at(sql, at) for _, alias, at in references}
    changed = True
    while changed:
        changed = False
        for left, right in joins:
            for a, b in ((left, right), (right, left)):
                if a in bound and b not in bound and depth[a] == depth[b]:
                    bound.add(b)
                    changed = True
    return [name for name, alias, _ in references if alias not in bound]


def test_the_rule_checker_finds_what_it_must() -> None:
    """The checker flags an unrouted subquery, an INSERT ... SELECT and a session timeout."""
    good = (
        "SELECT w.member FROM s.pk_wallet AS w LEFT JOIN s.pk_entry AS e "
        "ON e.program_id = w.program_id AND e.member = w.member WHERE w.program_id = %s"
    )
    assert [] == unrouted_tables(good)
    correlated = (
        "SELECT 1 FROM s.pk_txn AS t WHERE t.program_id = %s AND EXISTS (SELECT 1 FROM "
        "s.pk_txn AS o WHERE o.program_id = t.program_id AND o.txn_id = t.reverses)"
    )
    assert ["pk_txn"] == unrouted_tables(correlated)
    assert ["pk_lot"] == unrouted_tables("SELECT lot_id FROM s.pk_lot WHERE member = %s")
    assert [] == unrouted_tables("UPDATE s.pk_lot SET held = 0 WHERE program_id = %s")
    by_member = {"pk_posting": "txn_member"}.get
    joined = (
        "SELECT 1 FROM s.pk_posting AS p JOIN s.pk_txn AS t ON t.member = p.txn_member "
        "AND t.txn_id = p.txn_id WHERE p.txn_member = %s"
    )
    assert [] == unrouted_tables(joined, lambda table: by_member(table, "member"))
    assert ["pk_txn"] == unrouted_tables(
        joined.replace("t.member = p.txn_member", "t.member = p.member"),
        lambda table: by_member(table, "member"),
    )
    assert _rows_created_by_select("INSERT INTO s.pk_budget (a, b) SELECT %s, n FROM unnest(%s)")
    assert not _rows_created_by_select("INSERT INTO s.pk_budget (a, b) VALUES (%s, %s)")
    assert not _rows_created_by_select(
        "INSERT INTO s.pk_posting (a, b) SELECT l.a, l.b FROM s.pk_lot AS l WHERE l.program_id = %s"
    )


def _capturing(method: Callable[..., _T], sent: list[str]) -> Callable[..., _T]:
    def capture(self: object, query: object, *args: object, **kwargs: object) -> _T:
        text = query if isinstance(query, str) else str(getattr(query, "_obj", query))
        sent.append(" ".join(text.split()))
        return method(self, query, *args, **kwargs)

    return capture


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every statement sent through a psycopg cursor while the test runs."""
    sent: list[str] = []
    for name in ("execute", "executemany"):
        monkeypatch.setattr(psycopg.Cursor, name, _capturing(getattr(psycopg.Cursor, name), sent))
    return sent


@pytest.fixture
def storage(postgres_dsn: str, postgres_schema: str) -> Iterator[PostgresStorage]:
    """A storage of pointkit's own pool on this run's schema."""
    opened = PostgresStorage(postgres_dsn, schema=postgres_schema)
    yield opened
    opened.close()


def _few(machine: type[Any], storage: Storage) -> None:
    class OnPostgres(machine):  # type: ignore[misc]
        def make_storage(self) -> Storage:
            return storage

    run_state_machine_as_test(
        OnPostgres, settings=settings(settings(), max_examples=3, stateful_step_count=25)
    )


def _reports_and_outbox(storage: PostgresStorage) -> None:
    clock = FixedClock(datetime(2026, 6, 1, 2, 0, tzinfo=UTC))
    config = attrs.evolve(load_config(MALL), id=f"sql-rules-{uuid.uuid4().hex[:8]}")
    program = Program(config, storage=storage, clock=clock)
    for n, member in enumerate(("mei", "li", "wang")):
        program.record(
            Event.purchase(f"o{n}", member, clock.now(), amount=Money(900, "CNY"), order_id=f"o{n}")
        )
    clock.advance(timedelta(days=400))
    program.run_expiry()
    for report in (
        liability_report(program, via="part"),
        daily_report(program, since=date(2026, 6, 1), until=date(2026, 6, 3), via="part"),
        hottest_offers(program, via="part"),
        lottery_cost(program, via="part"),
        tier_distribution(program, via="part"),
    ):
        assert report is not None
    batch = program.outbox().read("sql-rules", limit=10)
    assert batch.events
    program.outbox().dead_letter("sql-rules", batch.events[0], "checked by the SQL rules test")
    program.outbox().ack("sql-rules", batch.cursor)
    assert program.outbox().dead_letters("sql-rules")
    program.audit()


def test_every_statement_keeps_the_distributed_rules(
    storage: PostgresStorage, statements: list[str]
) -> None:
    """The whole Program's SQL routes by program, creates rows with VALUES, times out per unit."""
    storage._distributed = True  # what opening on Citus finds: writes one statement per table
    _few(ProgramMachine, storage)
    _few(CommerceMachine, storage)
    _few(CampaignMachine, storage)
    check_storage_conformance(lambda: storage, max_examples=3)
    _reports_and_outbox(storage)
    ours = sorted({sql for sql in statements if "pk_" in sql and "pk_schema" not in sql})
    assert len(ours) > 40, "the workload should reach most of the adapter's statements"
    unrouted = {sql: tables for sql in ours if (tables := unrouted_tables(sql))}
    selected = [sql for sql in ours if _rows_created_by_select(sql)]
    session_timeouts = [
        sql for sql in statements if "lock_timeout" in sql and "SET LOCAL" not in sql.upper()
    ]
    assert not unrouted, "not routed by program_id:\n" + "\n".join(
        f"{tables}: {sql}" for sql, tables in unrouted.items()
    )
    assert not selected, "rows created by INSERT ... SELECT:\n" + "\n".join(selected)
    assert not session_timeouts, "a session-wide lock timeout:\n" + "\n".join(session_timeouts)


def test_the_citus_distribution_covers_every_table_keyed_by_program(
    postgres_dsn: str, postgres_schema: str
) -> None:
    """Every table of a migrated schema is distributed (or a reference table), keyed by program."""
    statements = citus_distribution(postgres_schema)
    with psycopg.connect(postgres_dsn) as connection:
        tables = {
            name
            for (name,) in connection.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                (postgres_schema,),
            )
        }
        keys = connection.execute(
            "SELECT c.conrelid::regclass::text, c.conname, a.attname FROM pg_constraint AS c "
            "JOIN pg_namespace AS n ON n.oid = c.connamespace "
            "JOIN pg_attribute AS a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
            "WHERE n.nspname = %s AND c.contype IN ('p', 'u')",
            (postgres_schema,),
        ).fetchall()
        indexes = connection.execute(
            "SELECT indexrelid::regclass::text, a.attname FROM pg_index AS i "
            "JOIN pg_class AS t ON t.oid = i.indrelid JOIN pg_namespace AS n "
            "ON n.oid = t.relnamespace JOIN pg_attribute AS a ON a.attrelid = i.indrelid "
            "AND a.attnum = i.indkey[0] WHERE n.nspname = %s AND i.indisunique",
            (postgres_schema,),
        ).fetchall()
    named = {
        table for table in tables if any(f'"{postgres_schema}".{table}\'' in s for s in statements)
    }
    assert tables == named, f"tables left out of the distribution: {sorted(tables - named)}"
    assert len(statements) == len(tables) + 1  # and the trigger setting first
    not_by_program = [
        (table, key, column)
        for table, key, column in keys
        if column != "program_id" and "pk_schema" not in table
    ]
    assert not not_by_program, f"keys a shard cannot enforce: {not_by_program}"
    unique_not_by_program = [
        (index, column)
        for index, column in indexes
        if column != "program_id" and "pk_schema" not in index
    ]
    assert not unique_not_by_program


# -- distributed by member ----------------------------------------------------------------

_DISTRIBUTED: Final = re.compile(r"create_distributed_table\('\"\w+\"\.(pk_\w+)', '(\w+)'")


def _member_columns(schema: str) -> dict[str, str]:
    """Each table's distribution column in the schema distributed by member, from its SQL."""
    return {
        table: column
        for statement in citus_distribution(schema, by="member")
        for table, column in _DISTRIBUTED.findall(statement)
    }


@pytest.fixture
def member_schema(postgres_dsn: str) -> Iterator[str]:
    """A migrated schema with the keys of the layout distributed by member (no Citus needed).

    ``citus_distribution(by="member")`` less its Citus calls: the keys by id alone become
    plain indexes and the per-member keys are added, as on a Citus coordinator.
    """
    schema = f"pointkit_member_{os.getpid()}_{os.urandom(4).hex()}"
    PostgresStorage(postgres_dsn, schema=schema, migrate=True).close()
    with psycopg.connect(postgres_dsn, autocommit=True) as connection:
        for statement in citus_distribution(schema, by="member"):
            if not statement.startswith(("SET citus", "SELECT create_")):
                connection.execute(statement)
    yield schema
    with psycopg.connect(postgres_dsn, autocommit=True) as connection:
        connection.execute(f"DROP SCHEMA {schema} CASCADE")


def test_distributed_by_member_every_key_holds_the_distribution_column(
    postgres_dsn: str, member_schema: str
) -> None:
    """Every table is distributed, on a column it has; every unique key holds that column."""
    columns = _member_columns(member_schema)
    with psycopg.connect(postgres_dsn) as connection:
        have = connection.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = %s",
            (member_schema,),
        ).fetchall()
        keys = connection.execute(
            "SELECT t.relname, i.indexrelid::regclass::text, array_agg(a.attname::text) "
            "FROM pg_index AS i JOIN pg_class AS t ON t.oid = i.indrelid "
            "JOIN pg_namespace AS n ON n.oid = t.relnamespace JOIN pg_attribute AS a "
            "ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
            "WHERE n.nspname = %s AND i.indisunique GROUP BY 1, 2",
            (member_schema,),
        ).fetchall()
    tables = {table for table, _ in have} - {"pk_schema"}
    assert set(columns) == tables, f"not distributed: {sorted(tables - set(columns))}"
    assert {(t, c) for t, c in columns.items()} <= set(have)
    by_program = {table for table, column in columns.items() if column == "program_id"}
    assert by_program == {"pk_budget", "pk_outbox_consumer", "pk_outbox_dead"}
    unenforceable = [
        (index, held)
        for table, index, held in keys
        if table != "pk_schema" and columns[table] not in held
    ]
    assert not unenforceable, f"keys a shard cannot enforce: {unenforceable}"
    # Each member table is keyed by (program_id, member, ...).
    primary = {table: held for table, index, held in keys if index.endswith("_pkey")}
    for table, column in columns.items():
        assert {"program_id", column} <= set(primary[table]), (table, primary[table])


# Statements that name no member by design, each with why: the whole program's reads (reports,
# the audit, exports, the expiry and hold-timeout scans, the reminder listing, the outbox), and
# lookups by an id alone, which the storage protocol gives without its member. On Citus they
# go to every shard (an index lookup on each).
_EVERY_SHARD: Final = {
    "a transaction by id": r"FROM \S+\.pk_txn WHERE program_id = %s AND txn_id = %s",
    "a transaction's reversals": r"FROM \S+\.pk_txn WHERE program_id = %s AND reverses = %s",
    "a key without its member": r"FROM \S+\.pk_txn WHERE program_id = %s AND idem_key (= %s|= ANY)",
    "a hold by id": r"FROM \S+\.pk_hold WHERE program_id = %s AND hold_id = %s",
    "lots by id": r"FROM \S+\.pk_lot WHERE program_id = %s AND lot_id = ANY\(%s\)",
    "an event by id": r"FROM \S+\.pk_rule_event WHERE program_id = %s AND event_id = %s",
    "due holds": r"FROM \S+\.pk_hold WHERE program_id = %s AND status = 'open' AND expires_at <=",
    "due lots": r"FROM \S+\.pk_lot WHERE program_id = %s AND remaining > held AND expires_at IS",
    "the reminder listing": r"SELECT expires_at, member, SUM\(remaining - held\)",
    "the outbox": r"FROM \S+\.pk_outbox (AS o )?WHERE program_id = %s|JOIN \S+\.pk_outbox AS o",
    "the audit": r"^SELECT [^;]* FROM \S+\.pk_\w+ WHERE program_id = %s( AND version > 0)?"
    r"( ORDER BY [\w, ]+)?$",
    "the audit's journal": r"^SELECT body, checksum FROM \S+\.pk_txn WHERE program_id = %s$",
    "the audit's records": r"FROM \S+\.pk_rule_event WHERE program_id = %s ORDER BY seq",
    "a system account": r"FROM \S+\.pk_posting WHERE program_id = %s AND account_kind = %s",
    "the reports": r"^SELECT \(SELECT (MIN|MAX)\(created_at\)|width_bucket|pk_lot_outstanding|SUM\(remaining\)|FROM q LEFT JOIN"
    r"|SELECT t\.tier, COUNT|DISTINCT member COLLATE|j ->> 'lottery'|SUM\(l\.amount\)",
}


def test_distributed_by_member_commands_route_by_member(
    postgres_dsn: str, member_schema: str, statements: list[str]
) -> None:
    """Distributed by member, every statement names its members, or is listed with why not.

    The storage runs as it does on a Citus coordinator distributed by member (where it finds
    the layout when it opens); the whole Program's SQL is captured and checked as above, on
    each table's own distribution column.
    """
    storage = PostgresStorage(postgres_dsn, schema=member_schema)
    storage._by_member = True  # what opening on a coordinator distributed by member finds
    storage._distributed = True
    try:
        assert storage.idempotency_scope == "member"
        _few(ProgramMachine, storage)
        _few(CommerceMachine, storage)
        _few(CampaignMachine, storage)
        check_storage_conformance(lambda: storage, max_examples=3)
        _reports_and_outbox(storage)
    finally:
        storage.close()
    columns = _member_columns(member_schema)
    ours = sorted({sql for sql in statements if "pk_" in sql and "pk_schema" not in sql})
    assert len(ours) > 40, "the workload should reach most of the adapter's statements"
    unrouted = {
        sql: tables
        for sql in ours
        if (tables := unrouted_tables(sql, lambda table: columns.get(table, "program_id")))
        and not any(re.search(shape, sql) for shape in _EVERY_SHARD.values())
    }
    assert not unrouted, "not routed by member:\n" + "\n".join(
        f"{tables}: {sql}" for sql, tables in unrouted.items()
    )
    selected = [sql for sql in ours if _rows_created_by_select(sql)]
    assert not selected, "rows created by INSERT ... SELECT:\n" + "\n".join(selected)


def test_distributed_by_member_a_transaction_without_postings_replays(
    postgres_dsn: str, member_schema: str
) -> None:
    """A transaction that posts nothing is stored with its member, so its key is found again.

    A deduction clamped to an empty wallet changes the wallet (its version) and posts nothing;
    its key must still be looked up among the member's transactions.
    """
    storage = PostgresStorage(postgres_dsn, schema=member_schema)
    storage._by_member = True  # what opening on a coordinator distributed by member finds
    storage._distributed = True
    try:
        ledger = Ledger(storage, clock=FixedClock(datetime(2026, 1, 1, tzinfo=UTC)), program="p")
        first = ledger.adjust("ann", -5, key="clamped", reason="goodwill", clawback="clamp")
        assert first.postings == ()
        again = ledger.adjust("ann", -5, key="clamped", reason="goodwill", clawback="clamp")
        assert again.replayed
        assert again.id == first.id
    finally:
        storage.close()

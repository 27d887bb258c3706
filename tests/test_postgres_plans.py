"""PostgreSQL: the read a command sends under its locks stays index lookups, whatever the statistics.

A pooled connection keeps its prepared statements, and after a few runs the server may plan
one once for all parameters (a generic plan) from the statistics it has then. On tables that
autovacuum has not analyzed yet those say "a few rows", and a join planned from them may read
every row of the program for each wallet: a read that took 0.2 ms took 160 ms once the
program had 15,000 entries. These tests make that worst case on purpose — a schema whose
tables are never analyzed, generic plans forced — and count, in the executed plan, the rows
each table gave up.

Skipped without a server, mandatory under CI=true.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import psycopg
import pytest

from pointkit import FixedClock, Ledger
from pointkit.ledger import Earn
from pointkit.storage.postgres import PostgresStorage
from pointkit.storage.postgres._feature_rows import _BUDGETS_BY_NAME
from pointkit.storage.postgres._locking import LockedRead
from pointkit.storage.postgres._writes import wallets_update


if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from pointkit.ledger._records import LotId
    from pointkit.ledger._storage import WalletKey

MEMBERS = 40
BATCHES = 30  # each of MEMBERS ends with 30 entries and 30 open lots
OTHERS = 2_000  # members with one earn each, so that pk_wallet is more than a page or two


@contextmanager
def _grown(dsn: str, *, analyzed: bool) -> Iterator[tuple[str, str]]:
    """A schema of its own holding one program's 3,200 earns: (schema, program).

    Thirty earns each for MEMBERS members, then one each for OTHERS more. Autovacuum is off for
    its tables: they are never analyzed, or (*analyzed*) analyzed once after the first 40
    earns, as autovacuum does soon after a table's first 50 rows, and not after.
    """
    schema = f"pointkit_plans_{os.getpid()}_{os.urandom(4).hex()}"
    PostgresStorage(dsn, schema=schema, migrate=True).close()
    try:
        with psycopg.connect(dsn, autocommit=True) as connection:
            tables = [
                table
                for (table,) in connection.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,)
                )
            ]
            for table in tables:
                connection.execute(f"ALTER TABLE {schema}.{table} SET (autovacuum_enabled = false)")
        storage = PostgresStorage(dsn, schema=schema)
        program = f"plans-{uuid.uuid4().hex[:8]}"
        ledger = Ledger(
            storage, clock=FixedClock(datetime(2026, 1, 1, tzinfo=UTC)), program=program
        )
        try:
            for batch in range(BATCHES):
                ledger.earn_many(
                    [
                        Earn(member=f"m{number}", amount=10, key=f"e{batch}-{number}")
                        for number in range(MEMBERS)
                    ]
                )
                if batch == 0 and analyzed:
                    with psycopg.connect(dsn, autocommit=True) as connection:
                        for table in tables:
                            connection.execute(f"ANALYZE {schema}.{table}")
            for first in range(0, OTHERS, 1_000):
                ledger.earn_many(
                    [
                        Earn(member=f"o{number}", amount=10, key=f"o{number}")
                        for number in range(first, first + 1_000)
                    ]
                )
        finally:
            storage.close()
        yield schema, program
    finally:
        with psycopg.connect(dsn, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.fixture(scope="module")
def never_analyzed(postgres_dsn: str) -> Iterator[tuple[str, str]]:
    """The grown program, its tables never analyzed."""
    with _grown(postgres_dsn, analyzed=False) as grown:
        yield grown


@pytest.fixture(scope="module")
def analyzed_when_small(postgres_dsn: str) -> Iterator[tuple[str, str]]:
    """The grown program, its tables analyzed once after its first 40 earns."""
    with _grown(postgres_dsn, analyzed=True) as grown:
        yield grown


@pytest.fixture(params=["never_analyzed", "analyzed_when_small"])
def grown(request: pytest.FixtureRequest) -> tuple[str, str]:
    """The grown program under each of the two states of its statistics."""
    schema_and_program: tuple[str, str] = request.getfixturevalue(request.param)
    return schema_and_program


class _Recorder:
    """Stands in for a connection: keeps the statement and parameters sent to it."""

    sent: tuple[str, Sequence[object]] | None = None

    def execute(self, query: str, params: Sequence[object]) -> None:
        self.sent = (query, params)


def _read_statement(
    schema: str,
    program: str,
    keys: Sequence[WalletKey],
    idempotency_keys: Sequence[str],
    *,
    lot_ids: Sequence[LotId] = (),
    page: int | None = None,
) -> tuple[str, Sequence[object]]:
    recorder = _Recorder()
    LockedRead(
        recorder,  # type: ignore[arg-type]  # records what it is sent
        schema,
        program,
        keys,
        idempotency_keys,
        lot_ids,
        page=page,
    )
    assert recorder.sent is not None
    return recorder.sent


def _numbered(query: str) -> str:
    """*query* with its ``%s`` placeholders as ``$1``, ``$2``, ... for PREPARE."""
    count = iter(range(1, query.count("%s") + 1))
    return re.sub(r"%s", lambda _: f"${next(count)}", query)


def _rows_read(
    dsn: str,
    query: str,
    params: Sequence[object],
    *,
    meanwhile: Callable[[], object] | None = None,
) -> dict[str, int]:
    """Run *query* under a generic plan; the rows each table's scans gave up, filtered included.

    Under ``"result"``, the rows the query returned. What it writes is rolled back.
    *meanwhile* runs after the statement is planned and before it runs (on its own
    connection): a plan kept by a pooled connection while the tables grow.
    """
    with psycopg.connect(dsn) as connection:
        connection.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        connection.execute(f"PREPARE statement AS {_numbered(query)}")
        if meanwhile is not None:
            meanwhile()
        explained = psycopg.ClientCursor(connection).execute(
            f"EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE statement({', '.join(['%s'] * len(params))})",
            params,
        )
        row = explained.fetchone()
        connection.rollback()
    assert row is not None
    plan = row[0] if isinstance(row[0], list) else json.loads(row[0])
    read: dict[str, int] = {"result": plan[0]["Plan"]["Actual Rows"]}
    _count(plan[0]["Plan"], read)
    return read


def _count(node: dict[str, Any], read: dict[str, int]) -> None:
    loops = node.get("Actual Loops", 1)
    removed = node.get("Rows Removed by Filter", 0) + node.get("Rows Removed by Index Recheck", 0)
    if "Relation Name" in node and node["Node Type"].endswith("Scan"):
        table = node["Relation Name"]
        read[table] = read.get(table, 0) + (node["Actual Rows"] + removed) * loops
    if node.get("Rows Removed by Join Filter"):
        read["join filter"] = (
            read.get("join filter", 0) + node["Rows Removed by Join Filter"] * loops
        )
    for child in node.get("Plans", ()):
        _count(child, read)


@pytest.mark.parametrize("wallets", [1, 3, 12])
def test_the_read_looks_up_each_wallet_and_its_entry_by_key(
    postgres_dsn: str, grown: tuple[str, str], wallets: int
) -> None:
    """Each wallet and its entry are index lookups: the entries of other wallets are not read."""
    schema, program = grown
    keys = sorted((f"m{number}", "points") for number in range(wallets))
    query, params = _read_statement(schema, program, keys, ["a-new-key"])  # type: ignore[arg-type]  # member ids
    read = _rows_read(postgres_dsn, query, params)
    # Each wallet, and the entry of its version, read once; no join filters out rows.
    assert read["result"] == wallets, read
    assert read.get("pk_wallet") == wallets, read
    assert read.get("pk_entry") == wallets, read
    assert read.get("join filter", 0) == 0, read


def test_the_read_takes_each_wallet_s_first_page_of_lots_only(
    postgres_dsn: str, analyzed_when_small: tuple[str, str]
) -> None:
    """A command that spends reads a page of each wallet's lots, not all of them."""
    # Once analyzed: before a table's first analysis the planner does not know that members
    # are many, and may page lots through another index of pk_lot. Autovacuum analyzes a
    # table soon after its first 50 rows.
    schema, program = analyzed_when_small
    keys = [("m1", "points"), ("m2", "points")]
    query, params = _read_statement(schema, program, keys, ["spend-1"], page=5)  # type: ignore[arg-type]  # member ids
    read = _rows_read(postgres_dsn, query, params)
    # Each member holds 30 open lots: a page of 5 each is read, not the rest.
    assert read["result"] == 2 + 2 * 5, read
    assert read.get("pk_lot") == 2 * 5, read
    assert read.get("pk_entry") == 2, read


@pytest.mark.parametrize("wallets", [1, 3, 12])
def test_the_wallets_update_finds_each_wallet_by_key(
    postgres_dsn: str, grown: tuple[str, str], wallets: int
) -> None:
    """A batch's guarded wallet update reads its own wallets, not the program's."""
    schema, program = grown
    with psycopg.connect(postgres_dsn) as connection:
        current = connection.execute(
            f"SELECT member, currency, version, posted, held, debt FROM {schema}.pk_wallet "  # noqa: S608 - a generated schema name
            "WHERE program_id = %s AND member = ANY(%s) ORDER BY member, currency",
            (program, [f"m{number}" for number in range(wallets)]),
        ).fetchall()
    assert len(current) == wallets
    updates = [
        (member, currency, version + 1, posted + 10, held, debt, version)
        for member, currency, version, posted, held, debt in current
    ]
    item, query, values = wallets_update(schema, program, updates, together=True)
    read = _rows_read(postgres_dsn, f"WITH {item} {query}", values)
    # The check's one row (every wallet was at its version); each wallet looked up by key,
    # then fetched where it stands.
    assert read["result"] == 1, read
    assert read.get("pk_wallet") == 2 * wallets, read
    assert read.get("join filter", 0) == 0, read


@pytest.mark.parametrize("lock", ["", " FOR NO KEY UPDATE"])
def test_budgets_are_looked_up_by_name_under_a_plan_made_when_the_table_was_small(
    postgres_dsn: str, lock: str
) -> None:
    """A plan kept from a small, never analyzed pk_budget still reads only the budgets named."""
    schema = f"pointkit_plans_{os.getpid()}_{os.urandom(4).hex()}"
    PostgresStorage(postgres_dsn, schema=schema, migrate=True).close()
    program, names = "budgets", ["b0001", "b0500", "b0999"]
    try:
        with psycopg.connect(postgres_dsn, autocommit=True) as connection:
            connection.execute(f"ALTER TABLE {schema}.pk_budget SET (autovacuum_enabled = false)")
            connection.execute(
                f"INSERT INTO {schema}.pk_budget VALUES (%s, 'a', 1), (%s, 'b', 1)",  # noqa: S608 - a generated schema name
                (program, program),
            )

        def grow() -> None:
            with psycopg.connect(postgres_dsn, autocommit=True) as connection:
                connection.execute(
                    f"INSERT INTO {schema}.pk_budget SELECT %s, 'b' || lpad(n::text, 4, '0'), n "  # noqa: S608 - a generated schema name
                    "FROM generate_series(0, 2999) AS n",
                    (program,),
                )

        query = _BUDGETS_BY_NAME.format(s=schema, lock=lock)
        read = _rows_read(postgres_dsn, query, (names, program), meanwhile=grow)
        assert read["result"] == len(names), read
        assert read.get("pk_budget") == len(names), read
    finally:
        with psycopg.connect(postgres_dsn, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")

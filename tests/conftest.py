"""Shared fixtures and the Hypothesis profiles.

Profiles: ``dev`` (the default: quick), ``ci`` (selected when CI=true: many more examples),
``deep`` (``make deep``: ci's budget with the database adapters' conformance runs at full depth),
``debug`` (verbose, for reproducing a failure), ``mutation`` (like deep, without shrinking, for
checking that the tests catch an injected bug) and ``fuzz`` (``make fuzz``: the fuzz suite's long
run). Pick one with HYPOTHESIS_PROFILE=name.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, Phase, Verbosity, settings

from pointkit import FixedClock, Ledger, LedgerPolicy, MemoryStorage
from pointkit.storage.sqlite import SQLiteStorage


POSTGRES_DSN = os.environ.get(
    "POINTKIT_TEST_DSN", "host=127.0.0.1 port=5432 dbname=test user=postgres connect_timeout=5"
)


if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from pointkit.ledger import Storage


settings.register_profile(
    "dev",
    max_examples=200,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
# ci: 300 state-machine runs on memory and 20 on each database adapter (adapter_examples below).
# With 50 per adapter the whole CI suite took 16 minutes under coverage on two cores, 5 of them
# in the adapters' conformance runs; `make deep` keeps that depth.
settings.register_profile(
    "ci",
    max_examples=300,
    stateful_step_count=60,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "debug",
    max_examples=20,
    stateful_step_count=40,
    deadline=None,
    verbosity=Verbosity.verbose,
    print_blob=True,
)
settings.register_profile(
    # For `make deep`: ci's budget, and a sixth of it (50 runs) on each database adapter.
    "deep",
    settings.get_profile("ci"),
)
settings.register_profile(
    # For checking that the tests catch an injected bug: as thorough as deep, but the first
    # failure is reported at once instead of being shrunk.
    "mutation",
    settings.get_profile("deep"),
    phases=[Phase.explicit, Phase.generate],
)
settings.register_profile(
    # For runs on a Citus cluster by hand (docs/scaling.md), where every statement crosses
    # nodes: fewer examples, and the first failure reported at once.
    "citus",
    max_examples=25,
    stateful_step_count=40,
    phases=[Phase.explicit, Phase.generate],
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    # For `make fuzz`: every test in tests/fuzz runs this many examples instead of the small
    # budget it has in the normal run (tests/fuzz/harness.py, budget()).
    "fuzz",
    max_examples=5_000,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") == "true" else "dev")
settings.load_profile(PROFILE)

START = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FixedClock:
    """A clock standing at 2026-01-01 09:00 UTC."""
    return FixedClock(START)


@pytest.fixture
def ledger(clock: FixedClock) -> Ledger:
    """An in-memory ledger with the default policies."""
    return Ledger(MemoryStorage(), clock=clock)


@pytest.fixture
def debt_ledger(clock: FixedClock) -> Ledger:
    """An in-memory ledger whose clawbacks may create debt up to 1,000 points."""
    return Ledger(
        MemoryStorage(), clock=clock, policy=LedgerPolicy(clawback="debt", debt_limit=1_000)
    )


def adapter_examples() -> int:
    """State-machine runs for a database adapter: a sixth of the profile's (ci: a fifteenth), ≥ 20."""
    # The conformance machine runs the profile's full count on memory (test_ledger_stateful.py);
    # each database adapter repeats the same machine in lockstep with memory to find its own
    # bugs. Under ci a fifteenth is enough for that and keeps the CI suite's time in check; every
    # other profile, deep included, gives each adapter a sixth.
    share = 15 if PROFILE == "ci" else 6
    return max(20, settings().max_examples // share)


@pytest.fixture
def sqlite_storage(tmp_path: Path) -> Iterator[SQLiteStorage]:
    """A durable SQLite storage in a fresh file."""
    storage = SQLiteStorage(tmp_path / "points.db")
    yield storage
    storage.close()


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def any_storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    """Each storage adapter in turn."""
    if request.param == "memory":
        yield MemoryStorage()
        return
    if request.param == "sqlite":
        storage: Storage = SQLiteStorage(tmp_path / "points.db")
    else:
        storage = request.getfixturevalue("postgres_storage")
    yield storage
    close = getattr(storage, "close", None)
    if close is not None:
        close()


def on_citus() -> bool:
    """Whether the PostgreSQL tests run on a Citus coordinator (POINTKIT_TEST_CITUS set)."""
    return citus_layout() is not None


def citus_layout() -> str | None:
    """How the test schema is distributed on Citus, or ``None`` without Citus.

    POINTKIT_TEST_CITUS=1 distributes it by program, POINTKIT_TEST_CITUS=member by member.
    """
    value = os.environ.get("POINTKIT_TEST_CITUS")
    return {"1": "program", "program": "program", "member": "member"}.get(value or "")


def _postgres_or_skip() -> str:
    """The test DSN if a server answers; otherwise skip (or fail under CI=true)."""
    import psycopg  # noqa: PLC0415 - the postgres extra is optional

    try:
        psycopg.connect(POSTGRES_DSN).close()
    except psycopg.OperationalError as error:
        reason = f"no PostgreSQL at {POSTGRES_DSN!r} ({str(error).strip()}); set POINTKIT_TEST_DSN"
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL tests are mandatory under CI=true: {reason}")
        pytest.skip(reason)
    return POSTGRES_DSN


@pytest.fixture(scope="session")
def postgres_dsn() -> str:
    """The DSN of a reachable test PostgreSQL."""
    return _postgres_or_skip()


@pytest.fixture(scope="session")
def postgres_schema(postgres_dsn: str) -> Iterator[str]:
    """A fresh schema for this test run, migrated, and dropped afterwards.

    With POINTKIT_TEST_CITUS=1 or =member (POINTKIT_TEST_DSN naming a Citus coordinator), the
    schema is distributed as docs/scaling.md says, by program or by member, before any test
    uses it.
    """
    import psycopg  # noqa: PLC0415

    from pointkit.storage.postgres import PostgresStorage, citus_distribution  # noqa: PLC0415

    schema = f"pointkit_test_{os.getpid()}_{os.urandom(4).hex()}"
    PostgresStorage(postgres_dsn, schema=schema, migrate=True).close()
    layout = citus_layout()
    if layout is not None:
        with psycopg.connect(postgres_dsn, autocommit=True) as connection:
            for statement in citus_distribution(schema, by=layout):
                connection.execute(statement)
    yield schema
    with psycopg.connect(postgres_dsn, autocommit=True) as connection:
        connection.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def postgres_storage(postgres_dsn: str, postgres_schema: str) -> Iterator[Storage]:
    """PostgreSQL storage on this run's schema."""
    from pointkit.storage.postgres import PostgresStorage  # noqa: PLC0415

    storage = PostgresStorage(postgres_dsn, schema=postgres_schema)
    yield storage
    storage.close()

"""Shared fixtures and the Hypothesis profiles.

Profiles: ``dev`` (the default: quick), ``ci`` (selected when CI=true: many more examples),
``debug`` (verbose, for reproducing a failure) and ``mutation`` (like ci, without shrinking, for
checking that the tests catch an injected bug). Pick one with HYPOTHESIS_PROFILE=name.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, Phase, Verbosity, settings

from pointkit import FixedClock, Ledger, LedgerPolicy, MemoryStorage


settings.register_profile(
    "dev",
    max_examples=200,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "ci",
    max_examples=1_500,
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
    # For checking that the tests catch an injected bug: as thorough as ci, but the first
    # failure is reported at once instead of being shrunk.
    "mutation",
    settings.get_profile("ci"),
    phases=[Phase.explicit, Phase.generate],
)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") == "true" else "dev")
)

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

"""Crash test (invariant 24): a process killed at random points inside ledger commands.

Each round starts a child that runs commands on a real database as fast as it can and kills it
with SIGKILL after a random delay. Then the test reopens the database and checks that every
transaction is all or nothing (the audit replays the whole journal), that the command that may
have been in flight completes exactly once when it is sent again, and that sending it once more
is a replay.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from crash_child import open_storage, run_command
from pointkit import Ledger, SystemClock


if TYPE_CHECKING:
    from pointkit.ledger import Storage

ROUNDS = 40
CHILD = Path(__file__).with_name("crash_child.py")


def crash_rounds(adapter: str, target: str, storage: Storage) -> int:
    """Run the rounds; return how many kills landed after at least one command."""
    rng = random.Random(24)
    ledger = Ledger(storage, clock=SystemClock(), program="crash")
    landed = 0
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(CHILD.parent), *sys.path])}
    for round_ in range(ROUNDS):
        child = subprocess.Popen(
            [sys.executable, str(CHILD), adapter, target, str(round_)],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert child.stdout is not None
        first = child.stdout.readline()
        assert first == "0\n", f"the child did not start: {first!r}"
        time.sleep(rng.uniform(0.0, 0.08))
        child.send_signal(signal.SIGKILL)
        child.wait()
        announced = [0, *(int(line) for line in child.stdout.read().split())]
        child.stdout.close()
        in_flight = announced[-1]
        landed += in_flight > 0
        # All or nothing: the journal replays into exactly the stored state.
        ledger.audit()
        # The command that may have been in flight completes exactly once.
        done = run_command(ledger, round_, in_flight)
        again = run_command(ledger, round_, in_flight)
        if done is not None:
            assert again is not None
            assert again.replayed
            assert again.id == done.id
        ledger.audit()
    return landed


def test_sqlite_survives_kill_9(tmp_path: Path) -> None:
    """50 SIGKILLs inside SQLite commands: nothing half-written, every key applied once."""
    path = tmp_path / "crash.db"
    storage = open_storage("sqlite", str(path))
    landed = crash_rounds("sqlite", str(path), storage)
    assert landed >= ROUNDS // 2, f"only {landed} kills landed inside the command loop"

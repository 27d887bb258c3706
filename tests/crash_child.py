"""The child process of the crash test: runs ledger commands until it is killed.

Before each command it prints the command's number and flushes, so the parent knows which
command may have been in flight when it killed the child.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from pointkit import Ledger, SystemClock
from pointkit.exceptions import LedgerError
from pointkit.storage.sqlite import SQLiteStorage


if TYPE_CHECKING:
    from pointkit.ledger import Storage, Transaction

MEMBERS = ("m0", "m1", "m2")


def open_storage(adapter: str, target: str) -> Storage:
    """Open the storage the test names."""
    if adapter == "sqlite":
        return SQLiteStorage(target)
    from pointkit.storage.postgres import PostgresStorage  # noqa: PLC0415 - optional extra

    dsn, schema = target.split("|")
    return PostgresStorage(dsn, schema=schema)


def run_command(ledger: Ledger, round_: int, n: int) -> Transaction | None:
    """Run command *n* of *round_*: the same payload every time it is asked for."""
    member = MEMBERS[n % 3]
    key = f"{round_}-{n}"
    try:
        match n % 5:
            case 0 | 1:
                return ledger.earn(member, 100, key=key, reason="crash test")
            case 2:
                return ledger.transfer(member, MEMBERS[(n + 1) % 3], 40, key=key)
            case 3:
                return ledger.reserve(member, 30, key=key, timeout_seconds=3_600)
            case _:
                hold = ledger.transaction_by_key(f"{round_}-{n - 1}")
                if hold is None:
                    return None
                return ledger.capture(hold.id, 20, key=key)
    except LedgerError:
        return None  # refused for a state reason: nothing recorded, as the ledger promises


def main() -> None:
    """Run commands of round ``argv[3]`` on the storage ``argv[1]`` at ``argv[2]`` forever."""
    adapter, target, round_ = sys.argv[1], sys.argv[2], int(sys.argv[3])
    ledger = Ledger(open_storage(adapter, target), clock=SystemClock(), program="crash")
    # A read first, so that the connections, the lazy imports and the server's plans are made
    # before command 0: on a slow or busy machine they made the first command so long that most
    # kills landed in it.
    ledger.balance(MEMBERS[0])
    n = 0
    while True:
        sys.stdout.write(f"{n}\n")
        sys.stdout.flush()
        run_command(ledger, round_, n)
        n += 1


if __name__ == "__main__":
    main()

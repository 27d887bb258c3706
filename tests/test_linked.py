"""Linked commands: several ledger commands in one unit of work, all or nothing, each by its key."""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from typing import TYPE_CHECKING

import pytest

from pointkit import FixedClock, InsufficientPointsError, Ledger, MemoryStorage
from pointkit.exceptions import (
    IdempotencyConflictError,
    LinkedCommandError,
    TransientStorageError,
)
from pointkit.testing import snapshot


if TYPE_CHECKING:
    from collections.abc import Iterator
    from contextlib import AbstractContextManager

    from pointkit._values import ProgramId
    from pointkit.ledger import Linked, ReadUnit, Storage, Transaction, WriteUnit


@pytest.fixture
def ledger(any_storage: Storage, clock: FixedClock) -> Ledger:
    """A ledger on each adapter in turn, in a program of its own, with 100 points for alice."""
    ledger = Ledger(any_storage, clock=clock, program=f"linked-{uuid.uuid4().hex[:8]}")
    ledger.earn("alice", 100, key="seed")
    return ledger


def test_linked_commands_commit_together(ledger: Ledger) -> None:
    """Every command of a link commits, each as its own transaction under its own key."""
    with ledger.linked() as link:
        hold = link.reserve("alice", 30, key="coupon-7:points", timeout_seconds=600)
        gift = link.transfer("alice", "bob", 20, key="gift-9")
        spent = link.redeem("alice", 10, key="shop-3")
    assert ["coupon-7:points", "gift-9", "shop-3"] == [t.key for t in (hold, gift, spent)]
    assert hold == ledger.transaction_by_key("coupon-7:points")
    assert (40, 30) == (ledger.balance("alice").available, ledger.balance("alice").held)
    assert 20 == ledger.balance("bob").available
    ledger.audit()


def test_a_later_command_sees_what_an_earlier_one_did(ledger: Ledger) -> None:
    """Points earned in a link can be spent in the same link."""
    with ledger.linked() as link:
        link.earn("carol", 50, key="order-1")
        link.redeem("carol", 50, key="coupon-1")
    assert (50, 0) == (ledger.balance("carol").posted + 50, ledger.balance("carol").available)


def test_a_refused_command_refuses_the_whole_link(ledger: Ledger) -> None:
    """A refusal raises its own error, names the command, and nothing of the link is written."""
    before = snapshot(ledger.storage, ledger.program)
    with pytest.raises(InsufficientPointsError) as raised, ledger.linked() as link:
        link.transfer("alice", "bob", 60, key="gift-1")
        link.redeem("alice", 60, key="shop-1")
    assert [
        "linked command 2 (redeem, key='shop-1') was refused: none of the link's commands is written"
    ] == raised.value.__notes__
    assert before == snapshot(ledger.storage, ledger.program)
    assert ledger.transaction_by_key("gift-1") is None


def test_a_caught_refusal_still_refuses_the_link(ledger: Ledger) -> None:
    """A host that catches a refusal and carries on gets LinkedCommandError, and nothing commits."""
    before = snapshot(ledger.storage, ledger.program)
    with pytest.raises(LinkedCommandError) as at_exit, ledger.linked() as link:
        link.redeem("alice", 40, key="shop-1")
        with pytest.raises(InsufficientPointsError):
            link.redeem("alice", 70, key="shop-2")
        with pytest.raises(LinkedCommandError) as later:
            link.earn("bob", 5, key="order-5")
        assert (2, "redeem", "shop-2") == (later.value.index, later.value.command, later.value.key)
    assert (2, "redeem", "shop-2") == (
        at_exit.value.index,
        at_exit.value.command,
        at_exit.value.key,
    )
    assert str(at_exit.value).startswith("linked command 2 (redeem, key='shop-2') was refused")
    assert "linked_command_refused" == at_exit.value.code
    assert before == snapshot(ledger.storage, ledger.program)


def test_a_resent_link_replays_every_command(ledger: Ledger) -> None:
    """Sending the same link again returns every recorded transaction, replayed, writing nothing."""

    def send(link: Linked) -> list[Transaction]:
        return [
            link.redeem("alice", 10, key="shop-1"),
            link.transfer("alice", "bob", 5, key="gift-1"),
        ]

    with ledger.linked() as link:
        first = send(link)
    after = snapshot(ledger.storage, ledger.program)
    with ledger.linked() as link:
        again = send(link)
    assert [True, True] == [t.replayed for t in again]
    assert [t.id for t in first] == [t.id for t in again]
    assert after == snapshot(ledger.storage, ledger.program)


def test_a_key_reused_for_another_command_refuses_the_link(ledger: Ledger) -> None:
    """Each command keeps its own key: a different payload under a recorded key is a conflict."""
    ledger.redeem("alice", 10, key="shop-1")
    with pytest.raises(IdempotencyConflictError), ledger.linked() as link:
        link.earn("bob", 5, key="order-9")
        link.redeem("alice", 11, key="shop-1")
    assert ledger.transaction_by_key("order-9") is None


def test_an_error_of_the_host_rolls_the_link_back(ledger: Ledger) -> None:
    """Any exception leaving the block rolls back the commands sent in it."""
    with pytest.raises(RuntimeError, match="the coupon service is down"), ledger.linked() as link:
        link.redeem("alice", 10, key="shop-1")
        raise RuntimeError("the coupon service is down")
    assert ledger.transaction_by_key("shop-1") is None
    assert 100 == ledger.balance("alice").available


def test_a_link_cannot_be_used_after_its_block(ledger: Ledger) -> None:
    """A link's unit of work ends with its block: later commands are refused, not lost."""
    with ledger.linked() as link:
        link.redeem("alice", 10, key="shop-1")
    with pytest.raises(LinkedCommandError, match="the link's unit of work has ended"):
        link.redeem("alice", 10, key="shop-2")
    assert ledger.transaction_by_key("shop-2") is None


def test_bad_arguments_are_refused_before_anything_is_sent(ledger: Ledger) -> None:
    """A linked command checks its arguments exactly as the ledger's does."""
    with pytest.raises(LinkedCommandError), ledger.linked() as link:
        link.earn("bob", 5, key="order-1")
        with pytest.raises(ValueError, match="amount=0"):
            link.redeem("alice", 0, key="shop-1")
    assert ledger.transaction_by_key("order-1") is None


class _FlakyStorage:
    """Memory storage whose first write unit fails as a dropped connection would, after work."""

    def __init__(self) -> None:
        self.inner = MemoryStorage()
        self.failures = 1

    def reading(self, program: ProgramId) -> AbstractContextManager[ReadUnit]:
        return self.inner.reading(program)

    @contextmanager
    def writing(self, program: ProgramId) -> Iterator[WriteUnit]:
        with self.inner.writing(program) as unit:
            yield unit
            if self.failures:
                self.failures -= 1
                raise TransientStorageError("server closed the connection unexpectedly")


def test_run_linked_runs_the_work_again_after_a_transient_failure(clock: FixedClock) -> None:
    """run_linked retries the whole link; the commit that failed left nothing behind."""
    storage = _FlakyStorage()
    ledger = Ledger(storage, clock=clock)
    runs = []

    def work(link: Linked) -> Transaction:
        runs.append(1)
        link.earn("alice", 10, key="order-1")
        return link.redeem("alice", 4, key="shop-1")

    spent = ledger.run_linked(work, key="order-1")
    assert (2, False) == (len(runs), spent.replayed)
    assert 6 == ledger.balance("alice").available
    ledger.audit()


def test_points_and_the_hosts_row_commit_in_one_transaction(
    postgres_dsn: str, postgres_schema: str, clock: FixedClock
) -> None:
    """On the host's connection, a link's points and the host's coupon row commit or roll back together."""
    import psycopg  # noqa: PLC0415 - the postgres extra

    from pointkit.storage.postgres import PostgresStorage  # noqa: PLC0415 - the postgres extra

    table = f"coupons_{os.urandom(4).hex()}"
    with psycopg.connect(postgres_dsn) as conn:
        ledger = Ledger(
            PostgresStorage(connection=conn, schema=postgres_schema),
            clock=clock,
            program=f"linked-{uuid.uuid4().hex[:8]}",
        )
        with conn.transaction():
            conn.execute(f"CREATE TEMP TABLE {table} (code text PRIMARY KEY, hold uuid)")
            ledger.earn("alice", 100, key="seed")
        with conn.transaction(), ledger.linked() as link:
            hold = link.reserve("alice", 80, key="coupon-1:points", timeout_seconds=600)
            conn.execute(f"INSERT INTO {table} VALUES ('SAVE10', %s)", (hold.id,))
        with pytest.raises(InsufficientPointsError), conn.transaction(), ledger.linked() as link:
            conn.execute(f"INSERT INTO {table} VALUES ('SAVE20', NULL)")
            link.reserve("alice", 80, key="coupon-2:points", timeout_seconds=600)
        rows = conn.execute(f"SELECT code, hold FROM {table}").fetchall()
        assert [("SAVE10", hold.id)] == rows
        assert ledger.transaction_by_key("coupon-2:points") is None
        assert (20, 80) == (ledger.balance("alice").available, ledger.balance("alice").held)

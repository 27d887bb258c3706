"""The ledger against a plain model: random command sequences, every invariant after every step.

Invariant numbers are those of shared research ``ledger_anchors.md`` §2. Each ``@invariant``
method names the one it checks; rules check the ones about a single command's effect (7, 8, 10,
11, 12, 13, 14, 18) as they run it.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from hypothesis import event
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from model import Model, ModelRefusal
from pointkit import FixedClock, Ledger, LedgerPolicy, MemoryStorage, ProgramId
from pointkit.exceptions import IdempotencyConflictError, PointkitError
from pointkit.ledger import (
    AccountId,
    AccountKind,
    HoldStatus,
    MoveReason,
    Phase,
    Storage,
    Transaction,
    TransactionId,
    TransactionKind,
)


if TYPE_CHECKING:
    from collections.abc import Callable

    from pointkit.ledger import ClawbackPolicy, RestorePolicy

MEMBERS = ("ann", "ben")
SYSTEM_KINDS = {
    "issuance": AccountKind.ISSUANCE,
    "redemption": AccountKind.REDEMPTION,
    "expired": AccountKind.EXPIRED,
    "adjustment": AccountKind.ADJUSTMENT,
}
DEBT_LIMIT = 500
START = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)

members = st.sampled_from(MEMBERS)
amounts = st.integers(1, 400) | st.sampled_from([1, 2, 50, 100])
# Times line up (an hour, a day, ten days) so that lots fall due, holds time out and pending
# points become available at exactly the instants the clock moves to.
HOUR, DAY = 3600, 86_400
delays = st.sampled_from([None, 0, HOUR, DAY])
lifetimes = st.sampled_from([None, HOUR, DAY, 10 * DAY])
steps = st.sampled_from([0, 1, HOUR, DAY, 10 * DAY])
timeouts = st.sampled_from([HOUR, DAY])
policies: st.SearchStrategy[ClawbackPolicy] = st.sampled_from(["reject", "clamp", "debt"])
restores: st.SearchStrategy[RestorePolicy] = st.sampled_from(["original_expiry", "reissue"])


def near(edge: int) -> st.SearchStrategy[int]:
    """Amounts at the edge that matters (exactly it, one over), under it, or anywhere."""
    return (
        st.sampled_from(sorted({max(edge, 1), edge + 1})) | st.integers(1, max(edge, 1)) | amounts
    )


def snapshot(storage: Storage, program: str) -> tuple[object, ...]:
    """Everything the storage holds for *program*, in a canonical order."""
    with storage.reading(ProgramId(program)) as unit:
        return (
            sorted(unit.all_transactions(), key=lambda t: t.id),
            sorted(unit.all_lots(), key=lambda lot: lot.id),
            sorted(unit.all_holds(), key=lambda hold: hold.id),
            sorted(unit.all_wallets(), key=lambda wallet: wallet.key),
            [
                unit.system_balance(AccountId.system(kind, "points"))
                for kind in SYSTEM_KINDS.values()
            ],
        )


class LedgerMachine(RuleBasedStateMachine):
    """Drives a ledger on MemoryStorage and the model with the same commands."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = FixedClock(START)
        self.storage = MemoryStorage()
        self.ledger = Ledger(
            self.storage,
            clock=self.clock,
            program="machine",
            policy=LedgerPolicy(debt_limit=DEBT_LIMIT),
        )
        self.model = Model(program="machine", now=START, debt_limit=DEBT_LIMIT)
        self.counter = 0
        self.done: list[tuple[Callable[[], Transaction], Transaction]] = []
        self.failed_keys: list[str] = []
        self.seen: dict[TransactionId, Transaction] = {}

    # -- plumbing --------------------------------------------------------------------------

    def key(self) -> str:
        self.counter += 1
        return f"k{self.counter}"

    def run(
        self,
        key: str,
        command: Callable[[], Transaction],
        model_step: Callable[[Model], object],
    ) -> Transaction | None:
        """Invariant 18: run a command on both; a refusal leaves storage byte-identical.

        Both must agree on whether the command is refused and with which error; multi-leg
        commands (transfers, reversals) included.
        """
        trial = self.model.copy()
        try:
            model_step(trial)
        except ModelRefusal as refusal:
            event(f"refused: {refusal.error.__name__}")
            before = snapshot(self.storage, "machine")
            try:
                command()
            except PointkitError as error:
                assert type(error) is refusal.error or isinstance(error, refusal.error), (
                    f"ledger raised {type(error).__name__}, model expected "
                    f"{refusal.error.__name__}: {error}"
                )
            else:
                raise AssertionError(f"ledger accepted what the model refuses: {refusal}")
            # Invariant 18: a refused command leaves every balance, lot and hold identical.
            assert before == snapshot(self.storage, "machine")
            self.failed_keys.append(key)
            return None
        transaction = command()
        event(f"done: {transaction.kind.value}")
        assert not transaction.replayed
        self.model = trial
        self.done.append((command, transaction))
        self.seen[transaction.id] = transaction
        expected_lots = [lot.id for lot in transaction.lots_created]
        assert len(set(expected_lots)) == len(expected_lots)
        return transaction

    def known(self, kinds: set[TransactionKind] | None = None) -> list[Transaction]:
        return [t for _, t in self.done if kinds is None or t.kind in kinds]

    # -- rules -----------------------------------------------------------------------------

    @initialize(
        seeds=st.lists(st.tuples(members, amounts, delays, lifetimes), min_size=1, max_size=4)
    )
    def seed(self, seeds: list[tuple[str, int, int | None, int | None]]) -> None:
        """Start from a few lots with different expiries, so interactions come early."""
        for member, amount, delay, lifetime in seeds:
            self.earn(member, amount, delay, lifetime)

    @rule(seconds=steps)
    def advance(self, seconds: int) -> None:
        self.clock.advance(timedelta(seconds=seconds))
        self.model.now = self.clock.now()

    @precondition(lambda self: bool(self.upcoming()))
    @rule(data=st.data())
    def advance_to_next_event(self, data: st.DataObject) -> None:
        """Move the clock to exactly the next expiry, timeout or availability: where time bugs live."""
        self.clock.set(data.draw(st.sampled_from(self.upcoming()[:3])))
        self.model.now = self.clock.now()

    def upcoming(self) -> list[datetime]:
        now = self.model.now
        instants = {lot.expires_at for lot in self.model.lots.values() if lot.remaining}
        instants |= {lot.available_at for lot in self.model.lots.values() if lot.remaining}
        instants |= {
            hold.expires_at for hold in self.model.holds.values() if hold.status is HoldStatus.OPEN
        }
        return sorted(at for at in instants if at is not None and at > now)

    @rule(member=members, amount=amounts, delay=delays, lifetime=lifetimes)
    def earn(self, member: str, amount: int, delay: int | None, lifetime: int | None) -> None:
        now = self.clock.now()
        available_at = None if delay is None else now + timedelta(seconds=delay)
        start = available_at or now
        expires_at = None if lifetime is None else start + timedelta(seconds=lifetime)
        key = self.key()
        self.run(
            key,
            lambda: self.ledger.earn(
                member, amount, key=key, available_at=available_at, expires_at=expires_at
            ),
            lambda m: m.earn(key, member, amount, available_at, expires_at),
        )

    @rule(member=members, data=st.data())
    def redeem(self, member: str, data: st.DataObject) -> None:
        amount = data.draw(near(self.model.balance(member)["available"]))
        key = self.key()
        self.run(
            key,
            lambda: self.ledger.redeem(member, amount, key=key),
            lambda m: m.redeem(key, member, amount),
        )

    @rule(member=members, data=st.data(), timeout=timeouts)
    def reserve(self, member: str, data: st.DataObject, timeout: int) -> None:
        """Invariant 11: a hold raises held, lowers available and leaves posted unchanged.

        A hold that does not fit is refused when it is made (pessimistic).
        """
        before = self.ledger.balance(member)
        amount = data.draw(near(before.available))
        key = self.key()
        done = self.run(
            key,
            lambda: self.ledger.reserve(member, amount, key=key, timeout_seconds=timeout),
            lambda m: m.reserve(key, member, amount, timeout),
        )
        if done is not None:
            after = self.ledger.balance(member)
            assert (after.posted, after.held, after.available) == (
                before.posted,
                before.held + amount,
                before.available - amount,
            )

    @precondition(lambda self: bool(self.model.holds))
    @rule(data=st.data(), full=st.booleans())
    def capture(self, data: st.DataObject, full: bool) -> None:
        """Invariants 12 and 13: a hold is captured at most once, never for more than it holds.

        Each resolved state is refused with its own error.
        """
        hold_id = data.draw(st.sampled_from(sorted(self.model.holds)))
        hold = self.model.holds[hold_id]
        amount = None if full else data.draw(st.integers(1, hold.amount + 1))
        key = self.key()
        self.run(
            key,
            lambda: self.ledger.capture(hold_id, amount, key=key),
            lambda m: m.capture(key, hold_id, amount),
        )

    @precondition(lambda self: bool(self.model.holds))
    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        hold_id = data.draw(st.sampled_from(sorted(self.model.holds)))
        key = self.key()
        self.run(
            key,
            lambda: self.ledger.release(hold_id, key=key),
            lambda m: m.release(key, hold_id),
        )

    @rule(sender=members, data=st.data())
    def transfer(self, sender: str, data: st.DataObject) -> None:
        recipient = data.draw(st.sampled_from([m for m in MEMBERS if m != sender]))
        amount = data.draw(near(self.model.balance(sender)["available"]))
        key = self.key()
        self.run(
            key,
            lambda: self.ledger.transfer(sender, recipient, amount, key=key),
            lambda m: m.transfer(key, sender, recipient, amount),
        )

    @precondition(lambda self: bool(self.done))
    @rule(
        data=st.data(),
        clawback=policies,
        restore=restores,
        lifetime=st.sampled_from([None, 0, 86_400]),
    )
    def reverse(
        self,
        data: st.DataObject,
        clawback: ClawbackPolicy,
        restore: RestorePolicy,
        lifetime: int | None,
    ) -> None:
        partly = [t for t in self.known() if self.model.txns[t.id].reversed > 0]
        original = data.draw(
            st.sampled_from(partly or self.known()) | st.sampled_from(self.known())
        )
        txn = self.model.txns[original.id]
        left = txn.moved - txn.reversed
        amount = data.draw(st.none() | near(left))
        now = self.clock.now()
        reissue = None
        if restore == "reissue" and lifetime is not None:
            reissue = now + timedelta(seconds=lifetime)
        key = self.key()
        self.run(
            key,
            lambda: self.ledger.reverse(
                original.id,
                amount,
                key=key,
                clawback=clawback,
                restore=restore,
                reissue_expires_at=reissue,
            ),
            lambda m: m.reverse(key, original.id, amount, clawback, restore, reissue),
        )

    @rule(member=members, amount=amounts, credit=st.booleans(), clawback=policies)
    def adjust(self, member: str, amount: int, credit: bool, clawback: ClawbackPolicy) -> None:
        key = self.key()
        if credit:
            self.run(
                key,
                lambda: self.ledger.adjust(member, amount, key=key, reason="goodwill"),
                lambda m: m.earn(key, member, amount, None, None, source="adjustment"),
            )
        else:
            self.run(
                key,
                lambda: self.ledger.adjust(
                    member, -amount, key=key, reason="abuse", clawback=clawback
                ),
                lambda m: m.debit(key, member, amount, clawback),
            )

    @rule()
    def expire_due(self) -> None:
        run = self.ledger.expire_due()
        holds, lots = self.model.expire_due()
        assert (run.holds_expired, run.lots_expired) == (holds, lots)
        for transaction in run.transactions:
            self.seen[transaction.id] = transaction
        # Invariant 21 (exactly once): a second run at the same instant finds nothing.
        again = self.ledger.expire_due()
        assert (again.holds_expired, again.lots_expired) == (0, 0)

    @precondition(lambda self: bool(self.done))
    @rule(data=st.data(), mode=st.sampled_from(["replay", "conflict", "retry"]))
    def idempotency(self, data: st.DataObject, mode: str) -> None:
        """Invariants 7, 8 and 10, on keys the run has used."""
        command, original = data.draw(st.sampled_from(self.done))
        before = snapshot(self.storage, "machine")
        if mode == "replay":
            # Invariant 7: the same key and payload return the original and write nothing.
            again = command()
            assert again.replayed
            assert original == again
        elif mode == "conflict":
            # Invariant 8: the same key with another payload is refused and writes nothing.
            try:
                self.ledger.earn("ann", 1, key=original.key, reason="a different command")
            except IdempotencyConflictError as error:
                assert error.key == original.key
                assert error.differences
            else:
                raise AssertionError("a reused key with another payload was accepted")
        elif self.failed_keys:
            # Invariant 10: a key whose command was refused is not recorded; a retry of it
            # with any command is evaluated afresh.
            key = self.failed_keys.pop()
            member = original.wallet_changes[0].member if original.wallet_changes else "ann"
            self.run(
                key,
                lambda: self.ledger.earn(member, 7, key=key),
                lambda m: m.earn(key, member, 7, None, None),
            )
            return
        assert before == snapshot(self.storage, "machine")

    # -- invariants ------------------------------------------------------------------------

    def journal(self) -> list[Transaction]:
        with self.storage.reading(self.ledger.program) as unit:
            return list(unit.all_transactions())

    @invariant()
    def zero_sum(self) -> None:
        """Invariant 1: every transaction's postings sum to zero per currency and phase."""
        for transaction in self.journal():
            for phase in Phase:
                assert sum(p.amount for p in transaction.postings if p.phase is phase) == 0

    @invariant()
    def conservation(self) -> None:
        """Invariant 2: all balances, members' and system accounts', sum to zero per phase."""
        posted = sum(self.ledger.balance(member).posted for member in MEMBERS)
        pending = -sum(self.ledger.balance(member).held for member in MEMBERS)
        for kind in SYSTEM_KINDS.values():
            account = self.ledger.system_balance(kind)
            posted += account.posted
            pending += account.pending
        assert (posted, pending) == (0, 0)

    @invariant()
    def replay_matches_storage(self) -> None:
        """Invariants 3 and 25: replaying the journal rebuilds exactly what storage holds.

        Versions grow by one per transaction and the running balances chain.
        """
        self.ledger.audit()

    @invariant()
    def no_negative_available(self) -> None:
        """Invariants 4 and 5: available is never negative and debt stays within its limit."""
        for member in MEMBERS:
            balance = self.ledger.balance(member)
            assert balance.available >= 0
            assert 0 <= balance.debt <= DEBT_LIMIT
            assert balance.held <= balance.posted + balance.debt

    @invariant()
    def agrees_with_model(self) -> None:
        """Invariants 20, 22 and 25: balances, lots and holds are what the model says.

        Spending order, restores and clawbacks included.
        """
        for member in MEMBERS:
            balance = self.ledger.balance(member)
            expected = self.model.balance(member)
            actual = {name: getattr(balance, name) for name in expected}
            assert expected == actual, member
            lots = {
                lot.id: (lot.remaining, lot.held, lot.expired, lot.available_at, lot.expires_at)
                for lot in self.ledger.lots(member, include_closed=True)
            }
            modelled = {
                lot.id: (lot.remaining, lot.held, lot.expired, lot.available_at, lot.expires_at)
                for lot in self.model.wallet(member)
            }
            assert modelled == lots, member
        for hold_id, hold in self.model.holds.items():
            stored = self.ledger.hold(hold_id)
            assert (hold.status, hold.captured) == (stored.status, stored.captured)
        for name, kind in SYSTEM_KINDS.items():
            account = self.ledger.system_balance(kind)
            assert (self.model.posted[name], self.model.pending[name]) == (
                account.posted,
                account.pending,
            ), name

    @invariant()
    def immutable(self) -> None:
        """Invariant 15: a transaction once stored never changes."""
        with self.storage.reading(self.ledger.program) as unit:
            for transaction_id, transaction in self.seen.items():
                assert unit.transaction(transaction_id) == transaction

    @invariant()
    def holds_resolve_once(self) -> None:
        """Invariants 12 and 14: a hold resolves once, and a timeout never comes early."""
        resolutions: defaultdict[TransactionId, list[Transaction]] = defaultdict(list)
        for transaction in self.journal():
            if transaction.kind in {
                TransactionKind.CAPTURE,
                TransactionKind.RELEASE,
                TransactionKind.HOLD_TIMEOUT,
            }:
                assert transaction.hold is not None
                resolutions[transaction.hold].append(transaction)
        for hold_id, resolved_by in resolutions.items():
            assert len(resolved_by) == 1
            hold = self.ledger.hold(hold_id)
            assert hold.status is not HoldStatus.OPEN
            if resolved_by[0].kind is TransactionKind.HOLD_TIMEOUT:
                assert resolved_by[0].created_at >= hold.expires_at

    @invariant()
    def reversals_bounded(self) -> None:
        """Invariant 16: the reversals of a transaction add up to at most what it moved."""
        reversed_by: defaultdict[TransactionId, int] = defaultdict(int)
        for transaction in self.journal():
            if transaction.kind is TransactionKind.REVERSAL and transaction.reverses:
                reversed_by[transaction.reverses] += transaction.amount
        for original_id, amount in reversed_by.items():
            assert amount <= self.model.txns[original_id].moved

    @invariant()
    def debt_means_no_free_points(self) -> None:
        """Invariant 17: a member who owes points has no free points that are not due."""
        now = self.clock.now()
        for member in MEMBERS:
            if self.ledger.balance(member).debt:
                for lot in self.ledger.lots(member):
                    assert lot.free == 0 or lot.is_due(now)

    @invariant()
    def lots_conserve(self) -> None:
        """Invariant 19: every lot stays in bounds and a wallet's lots hold posted plus debt."""
        for member in MEMBERS:
            balance = self.ledger.balance(member)
            lots = self.ledger.lots(member, include_closed=True)
            for lot in lots:
                assert 0 <= lot.held <= lot.remaining
                assert lot.expired >= 0
                assert lot.remaining + lot.expired <= lot.amount
            assert sum(lot.remaining for lot in lots) == balance.posted + balance.debt

    @invariant()
    def expiry_never_early(self) -> None:
        """Invariant 21: points expire only at or after their lot's expires_at."""
        journal = self.journal()
        lots = {lot.id: lot for t in journal for lot in t.lots_created}
        for transaction in journal:
            for move in transaction.lot_moves:
                if move.reason is MoveReason.EXPIRE:
                    expires_at = lots[move.lot].expires_at
                    assert expires_at is not None
                    assert expires_at <= transaction.created_at

    @invariant()
    def pending_never_spent(self) -> None:
        """Invariant 23: spends and holds never touch a lot before its available_at."""
        journal = self.journal()
        lots = {lot.id: lot for t in journal for lot in t.lots_created}
        for transaction in journal:
            for move in transaction.lot_moves:
                if move.reason in {MoveReason.SPEND, MoveReason.HOLD}:
                    assert lots[move.lot].available_at <= transaction.created_at


LedgerMachine.TestCase.__doc__ = "The ledger agrees with the model and keeps every invariant."
TestLedgerMachine = LedgerMachine.TestCase

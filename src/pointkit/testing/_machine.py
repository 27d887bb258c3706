"""The stateful conformance machine: random command sequences, every invariant after every step.

Maintainer's notes
------------------
One machine checks three things at once, after every command:

* the storage under test and the in-memory reference storage, driven in lockstep, hold the same
  journal, lots, holds, wallets and system balances (invariant 25: all adapters agree);
* both agree with a plain model written from docs/ledger.md (``_model.py``) on every refusal,
  balance, lot and hold (spending order, clawbacks and restores included);
* the ledger invariants of shared research ``ledger_anchors.md`` §2 hold on the storage under
  test. Each ``@invariant`` names the ones it checks; rules check the ones about one command's
  effect (7, 8, 10, 11, 12, 13, 18) as they run it;
* when the storage under test has a part's audit reads (``all_rule_events``, ``all_counters``,
  ``all_streaks``, ``all_budgets``; ``all_tiers``, ``all_tier_changes``), they give what the
  reference's give, and the programme's audit (:func:`pointkit.features.audit_program`)
  recomputes every counter, streak, budget and tier state from them. An adapter without them
  is not failed for it (the audit reports the part as not audited); one with some of a part's
  audit reads but not all is. So with the reports part: its aggregates give the reference's.

Failures raise ``AssertionError`` with what differed; Hypothesis then shrinks the sequence.
"""

from __future__ import annotations

import itertools
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Final, cast

from hypothesis import event
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from pointkit import (
    FixedClock,
    Ledger,
    LedgerPolicy,
    MemberId,
    MemoryStorage,
    Money,
    ProgramId,
    limits,
)
from pointkit.exceptions import IdempotencyConflictError, PointkitError
from pointkit.expiry import ExpiryPolicy, Inactivity
from pointkit.features import Earning, Tiers, audit_program
from pointkit.features._parts import missing_methods, record_reader, tier_reader
from pointkit.ledger import (
    AccountId,
    AccountKind,
    HoldStatus,
    MoveReason,
    Phase,
    Transaction,
    TransactionId,
    TransactionKind,
)
from pointkit.rules import Cap, Event, Fixed, Rate, Rule, RuleSet, StreakLadder
from pointkit.testing._expiry_runs import expire_to_end, expires_set_based
from pointkit.testing._model import Model, ModelRefusal
from pointkit.testing._outbox_check import outbox_problems
from pointkit.testing._report_checks import has_report_part, report_rows
from pointkit.testing._through_async import through_async
from pointkit.tiers import (
    DowngradePolicy,
    Lifetime,
    QualifyingMetric,
    ReviewEveryMonths,
    Tier,
    TierLadder,
)


if TYPE_CHECKING:
    from collections.abc import Callable, Collection

    from pointkit.features import RecordAuditUnit, TierAuditUnit
    from pointkit.ledger import ClawbackPolicy, RestorePolicy, Storage

__all__ = ["INACTIVITY", "ConformanceMachine", "audited_parts", "check", "snapshot"]


PARTS: Final = ("accounts", "records", "tiers")
"""The storage parts the conformance suite knows; ``accounts`` is the ledger's and always checked."""

MEMBERS: Final = ("ann", "ben")
SYSTEM_KINDS: Final = {
    "issuance": AccountKind.ISSUANCE,
    "redemption": AccountKind.REDEMPTION,
    "expired": AccountKind.EXPIRED,
    "adjustment": AccountKind.ADJUSTMENT,
    "write_off": AccountKind.WRITE_OFF,
}
DEBT_LIMIT: Final = 500
START: Final = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
HOUR: Final = 3600
DAY: Final = 86_400
FAR: Final = timedelta(days=3_650)
RULES: Final = RuleSet(
    [
        Rule(
            "spend",
            ("purchase",),
            Rate(1, per=Money(10, "CNY"), rounding="floor"),
            budget="launch",
            caps=(Cap("day", points=60),),
        ),
        Rule("sign-in", ("sign_in",), Fixed(0), streak=StreakLadder((1, 2, 5))),
    ],
    zone="UTC",
    caps=(Cap("day", tasks=3),),
    budgets={"launch": 150},
)
"""The machine's earning rules: a rate with a daily cap and a budget, a sign-in streak."""


LADDER: Final = TierLadder(
    [Tier("base", 0), Tier("silver", 300), Tier("gold", 1_000)],
    QualifyingMetric("points"),
    Lifetime(),
    DowngradePolicy(ReviewEveryMonths(1), grace_days=1, one_step=True),
    "UTC",
)
"""The machine's tier ladder: small thresholds, monthly reviews, so members move both ways."""

members = st.sampled_from(MEMBERS)
amounts = st.integers(1, 400) | st.sampled_from([1, 2, 50, 100])
# Times line up (an hour, a day, ten days) so that lots fall due, holds time out and pending
# points become available at exactly the instants the clock moves to.
delays = st.sampled_from([None, 0, HOUR, DAY])
lifetimes = st.sampled_from([None, HOUR, DAY, 10 * DAY])
steps = st.sampled_from([0, 1, HOUR, DAY, 10 * DAY])
timeouts = st.sampled_from([HOUR, DAY])
policies: st.SearchStrategy[ClawbackPolicy] = st.sampled_from(["reject", "clamp", "debt"])
restores: st.SearchStrategy[RestorePolicy] = st.sampled_from(["original_expiry", "reissue"])

INACTIVITY: Final = ExpiryPolicy(zone="UTC", default=Inactivity(1))
"""The policy of the machine's inactivity variant: every earn follows the member's activity."""

_programs = itertools.count()
_RUN: Final = uuid.uuid4().hex[:8]


def check(condition: bool, message: str) -> None:  # noqa: FBT001 - an assertion
    """Fail the conformance run with *message* unless *condition* holds."""
    if not condition:
        raise AssertionError(message)


def near(edge: int) -> st.SearchStrategy[int]:
    """Amounts at the edge that matters (exactly it, one over), under it, or anywhere."""
    return (
        st.sampled_from(sorted({max(edge, 1), edge + 1})) | st.integers(1, max(edge, 1)) | amounts
    )


def _audit_rows(unit: object, audit: Collection[str]) -> list[object]:
    """The audit reads of the parts in *audit*, in a canonical order."""
    rows: list[object] = []
    if "records" in audit:
        records = cast("RecordAuditUnit", unit)
        rows.append([(stored.record, stored.has_effects) for stored in records.all_rule_events()])
        rows.append(sorted(records.all_counters()))
        rows.append(sorted(records.all_streaks()))
        rows.append(sorted(records.all_budgets()))
    if "tiers" in audit:
        tiers = cast("TierAuditUnit", unit)
        rows.append(sorted(tiers.all_tiers(), key=lambda pair: pair[0].member))
        rows.append(sorted(tiers.all_tier_changes(), key=lambda change: change.member))
    if "reports" in audit:  # the reports part's aggregates (testing/_report_checks.py)
        rows += report_rows(unit)
    return rows


def audited_parts(storage: Storage, parts: Collection[str]) -> tuple[str, ...]:
    """The parts among *parts* whose audit reads *storage* has: all of a part's, or none.

    Raises:
        AssertionError: If the storage has some of a part's audit reads but not all.
    """
    found: list[str] = []
    with storage.reading(ProgramId(f"conformance-{_RUN}-probe")) as unit:
        for part in ("records", "tiers"):
            if part not in parts:
                continue
            missing = missing_methods(unit, f"{part} (audit)")
            if not missing:
                found.append(part)
                continue
            check(
                len(missing) == len(missing_methods(object(), f"{part} (audit)")),
                f"the storage's unit {type(unit).__name__} has some of the {part} part's audit "
                f"reads but not {', '.join(missing)}",
            )
    return (*found, *(["reports"] if has_report_part(storage, f"conformance-{_RUN}-probe") else []))


def snapshot(
    storage: Storage, program: str, *, tiers: bool = True, audit: Collection[str] = ()
) -> tuple[object, ...]:
    """Everything *storage* holds for *program*, in a canonical order, for comparisons.

    Besides the rows, the derived reads every adapter answers itself: the upcoming expiries,
    and (with the tiers part) each member's earned points and tier state and history. *audit*
    names the parts (``"records"``, ``"tiers"``) whose audit reads to add: every record with
    its increments in the order stored, every counter, streak, budget, tier state and change.
    """
    with storage.reading(ProgramId(program)) as unit:
        wallets = sorted(unit.all_wallets(), key=lambda wallet: wallet.key)
        members = sorted({wallet.member for wallet in wallets} | {MemberId(m) for m in MEMBERS})
        derived: list[object] = [
            list(unit.expiring("points", START - FAR, START + FAR, after=None, limit=10_000)),
        ]
        if tiers:
            reader = tier_reader(unit, "the conformance suite's tiers part")
            derived.append(
                [
                    (
                        reader.earned(member, "points", None, START + FAR),
                        reader.tier(member),
                        list(reader.tier_changes(member, limit=1_000)),
                    )
                    for member in members
                ]
            )
        derived.extend(_audit_rows(unit, audit))
        return (
            *derived,
            sorted(unit.all_transactions(), key=lambda t: t.id),
            sorted(unit.all_lots(), key=lambda lot: lot.id),
            sorted(unit.all_holds(), key=lambda hold: hold.id),
            wallets,
            [
                unit.system_balance(AccountId.system(kind, "points"))
                for kind in SYSTEM_KINDS.values()
            ],
        )


class ConformanceMachine(RuleBasedStateMachine):
    """Drives a ledger on the storage under test, one on MemoryStorage, and the model."""

    factory: Callable[[], Storage] = staticmethod(MemoryStorage)
    lockstep: bool = True
    """Whether to drive the in-memory reference beside the storage under test (off when the
    storage under test is the in-memory one)."""
    expiry: ExpiryPolicy | None = None
    """The ledgers' expiry policy; earns without an expiry of their own follow it."""
    parts: frozenset[str] = frozenset(PARTS)
    """The storage parts under test: ``accounts`` always, ``records`` and ``tiers`` if given."""
    api: str = "sync"
    """How the storage under test is driven: ``"sync"`` (``Ledger``) or ``"async"`` (each
    command and read sent through ``AsyncLedger`` and awaited)."""

    def __init__(self) -> None:
        super().__init__()
        self.program = f"conformance-{_RUN}-{next(_programs)}"
        self.clock = FixedClock(START)
        self.storage = type(self).factory()
        policy = LedgerPolicy(debt_limit=DEBT_LIMIT)
        expiry = type(self).expiry
        self.ledger = Ledger(
            self.storage, clock=self.clock, program=self.program, policy=policy, expiry=expiry
        )
        self.reference_storage = MemoryStorage() if self.lockstep else self.storage
        self.reference = (
            Ledger(
                self.reference_storage,
                clock=self.clock,
                program=self.program,
                policy=policy,
                expiry=expiry,
            )
            if self.lockstep
            else self.ledger
        )
        self.earning, self.reference_earning = Earning(self.ledger), Earning(self.reference)
        self.tiers, self.reference_tiers = Tiers(self.ledger), Tiers(self.reference)
        if self.api == "async":
            self.ledger = through_async(self.ledger)
        inactivity = None
        if expiry is not None:
            window = expiry.window_for("points")
            if window.follows_activity:
                zone = expiry.zone

                def inactivity(at: datetime) -> datetime:
                    until = window.expires_at(at, zone)
                    check(until is not None, "an inactivity window always has an end")
                    return until or at

        self.model = Model(now=START, debt_limit=DEBT_LIMIT, inactivity=inactivity)
        self.audited = audited_parts(self.storage, self.parts)
        self.counter = 0
        self.done: list[tuple[Callable[[Ledger], Transaction], Transaction]] = []
        self.failed_keys: list[str] = []
        self.seen: dict[TransactionId, Transaction] = {}

    def teardown(self) -> None:
        close = getattr(self.ledger, "close", None)  # the async API's event loop and threads
        if close is not None:
            close()

    # -- plumbing --------------------------------------------------------------------------

    def key(self) -> str:
        self.counter += 1
        return f"k{self.counter}"

    def snapshot(self) -> tuple[object, ...]:
        return snapshot(self.storage, self.program, tiers="tiers" in self.parts, audit=self.audited)

    def run(
        self,
        key: str,
        command: Callable[[Ledger], Transaction],
        model_step: Callable[[Model], object],
    ) -> Transaction | None:
        """Invariant 18: run a command everywhere; a refusal leaves storage byte-identical.

        The model, the reference and the storage under test must agree on whether the command
        is refused and with which error; multi-leg commands (transfers, reversals) included.
        """
        trial = self.model.copy()
        try:
            model_step(trial)
        except ModelRefusal as refusal:
            event(f"refused: {refusal.error.__name__}")
            before = self.snapshot()
            for ledger in (self.reference, self.ledger) if self.lockstep else (self.ledger,):
                try:
                    command(ledger)
                except PointkitError as error:
                    check(
                        isinstance(error, refusal.error),
                        f"ledger raised {type(error).__name__}, the model expected "
                        f"{refusal.error.__name__}: {error}",
                    )
                else:
                    raise AssertionError(f"a ledger accepted what the model refuses: {refusal}")
            check(before == self.snapshot(), "a refused command changed the storage")
            self.failed_keys.append(key)
            return None
        expected = command(self.reference) if self.lockstep else None
        transaction = command(self.ledger)
        expected = transaction if expected is None else expected
        event(f"done: {transaction.kind.value}")
        check(not transaction.replayed, "a new command came back as a replay")
        check(expected == transaction, f"the adapters disagree:\n{expected}\n{transaction}")
        self.model = trial
        self.done.append((command, transaction))
        self.seen[transaction.id] = transaction
        return transaction

    def known(self) -> list[Transaction]:
        return [transaction for _, transaction in self.done]

    def upcoming(self) -> list[datetime]:
        now = self.model.now
        instants = {lot.expires_at for lot in self.model.lots.values() if lot.remaining}
        instants |= {lot.available_at for lot in self.model.lots.values() if lot.remaining}
        instants |= {
            hold.expires_at for hold in self.model.holds.values() if hold.status is HoldStatus.OPEN
        }
        return sorted(at for at in instants if at is not None and at > now)

    def journal(self) -> list[Transaction]:
        with self.storage.reading(self.ledger.program) as unit:
            return list(unit.all_transactions())

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

    @rule(member=members, amount=amounts, delay=delays, lifetime=lifetimes)
    def earn(self, member: str, amount: int, delay: int | None, lifetime: int | None) -> None:
        now = self.clock.now()
        available_at = None if delay is None else now + timedelta(seconds=delay)
        start = available_at or now
        expires_at = None if lifetime is None else start + timedelta(seconds=lifetime)
        key = self.key()
        self.run(
            key,
            lambda ledger: ledger.earn(
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
            lambda ledger: ledger.redeem(member, amount, key=key),
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
            lambda ledger: ledger.reserve(member, amount, key=key, timeout_seconds=timeout),
            lambda m: m.reserve(key, member, amount, timeout),
        )
        if done is not None:
            after = self.ledger.balance(member)
            check(
                (after.posted, after.held, after.available)
                == (before.posted, before.held + amount, before.available - amount),
                f"a hold of {amount} moved {before} to {after}",
            )

    @precondition(lambda self: bool(self.model.holds))
    @rule(data=st.data(), full=st.booleans())
    def capture(self, data: st.DataObject, full: bool) -> None:  # noqa: FBT001 - drawn
        """Invariants 12 and 13: a hold is captured at most once, never for more than it holds.

        Each resolved state is refused with its own error.
        """
        hold_id = data.draw(st.sampled_from(list(self.model.holds)))
        hold = self.model.holds[hold_id]
        amount = None if full else data.draw(st.integers(1, hold.amount + 1))
        key = self.key()
        self.run(
            key,
            lambda ledger: ledger.capture(hold_id, amount, key=key),
            lambda m: m.capture(key, hold_id, amount),
        )

    @precondition(lambda self: bool(self.model.holds))
    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        """Invariant 12: a hold is released at most once, and never after it was captured."""
        hold_id = data.draw(st.sampled_from(list(self.model.holds)))
        key = self.key()
        self.run(
            key,
            lambda ledger: ledger.release(hold_id, key=key),
            lambda m: m.release(key, hold_id),
        )

    @rule(sender=members, data=st.data())
    def transfer(self, sender: str, data: st.DataObject) -> None:
        recipient = data.draw(st.sampled_from([m for m in MEMBERS if m != sender]))
        amount = data.draw(near(self.model.balance(sender)["available"]))
        key = self.key()
        self.run(
            key,
            lambda ledger: ledger.transfer(sender, recipient, amount, key=key),
            lambda m: m.transfer(key, sender, recipient, amount),
        )

    @precondition(lambda self: bool(self.done))
    @rule(
        data=st.data(),
        clawback=policies,
        restore=restores,
        lifetime=st.sampled_from([None, 0, DAY]),
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
        amount = data.draw(st.none() | near(txn.moved - txn.reversed))
        reissue = None
        if restore == "reissue" and lifetime is not None:
            reissue = self.clock.now() + timedelta(seconds=lifetime)
        key = self.key()
        self.run(
            key,
            lambda ledger: ledger.reverse(
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
    def adjust(
        self,
        member: str,
        amount: int,
        credit: bool,  # noqa: FBT001 - drawn
        clawback: ClawbackPolicy,
    ) -> None:
        key = self.key()
        if credit:
            self.run(
                key,
                lambda ledger: ledger.adjust(member, amount, key=key, reason="goodwill"),
                lambda m: m.earn(key, member, amount, None, None, source="adjustment"),
            )
        else:
            self.run(
                key,
                lambda ledger: ledger.adjust(
                    member, -amount, key=key, reason="abuse", clawback=clawback
                ),
                lambda m: m.debit(key, member, amount, clawback),
            )

    @rule(limit=st.sampled_from([1, 3, limits.EXPIRY_BATCH_MAX]))
    def expire_due(self, limit: int) -> None:
        """Invariant 21: the expiry run does what the model says, and a second run nothing.

        On SQLite and PostgreSQL the lots are expired set-based, in SQL, while the reference
        (memory) plans each in Python: the two journals must be the same transactions, and
        the snapshot invariant then compares every row.
        """
        expected = expire_to_end(self.reference, limit) if self.lockstep else None
        run = expire_to_end(self.ledger, limit)
        expected = run if expected is None else expected
        holds, lots = self.model.expire_due()
        check(
            (run[1], run[2]) == (holds, lots),
            f"the expiry run expired {run[1]} holds and {run[2]} lots, the model {holds} and {lots}",
        )
        check(run == expected, "the adapters' expiry runs differ")
        for transaction in run[0]:
            self.seen[transaction.id] = transaction
        set_based = expires_set_based(self.storage, self.program)
        event(f"expiry: {'set-based' if set_based else 'Python plan'}")
        again = self.ledger.expire_due(transactions=True)
        if self.lockstep:
            self.reference.expire_due()
        check(
            (again.holds_expired, again.lots_expired, again.transactions) == (0, 0, ()),
            "a second run found more",
        )

    @precondition(lambda self: "records" in self.parts)
    @rule(member=members, kind=st.sampled_from(["purchase", "sign_in"]), amount=amounts)
    def record_event(self, member: str, kind: str, amount: int) -> None:
        """Events commit their awards and rule state alike on every adapter, and once."""
        self.counter += 1
        now = self.clock.now()
        event_id = f"event-{self.counter}"
        if kind == "purchase":
            sent = Event.purchase(
                event_id, member, now, amount=Money(amount, "CNY"), order_id=event_id
            )
        else:
            sent = Event.sign_in(event_id, member, now)
        expected = self.reference_earning.record(sent, RULES) if self.lockstep else None
        outcome = self.earning.record(sent, RULES)
        check(
            expected is None
            or (expected.document, expected.transactions)
            == (outcome.document, outcome.transactions),
            "the adapters' event outcomes differ",
        )
        for transaction in outcome.transactions:
            check(transaction.amount > 0, "the machine's rules only award")
            self.model.earn(transaction.key, member, transaction.amount, None, None)
            self.seen[transaction.id] = transaction
        again = self.earning.record(sent, RULES)
        check(
            again.replayed and again.document == outcome.document, "a resent event was not replayed"
        )
        if self.lockstep:
            self.reference_earning.record(sent, RULES)
            keys = RULES.state_keys(sent)
            states = []
            for storage in (self.reference_storage, self.storage):
                with storage.reading(ProgramId(self.program)) as read:
                    unit = record_reader(read, "the conformance suite's records part")
                    states.append(
                        (
                            unit.rule_event(event_id),
                            unit.counters(MemberId(member), keys.counters),
                            unit.streaks(MemberId(member), keys.streaks),
                            unit.budgets(keys.budgets),
                        )
                    )
            check(states[0] == states[1], "the adapters hold different rule state")
        event(f"event: {kind} awarded {sum(t.amount for t in outcome.transactions)}")

    @precondition(lambda self: "tiers" in self.parts)
    @rule(member=members)
    def review_tier(self, member: str) -> None:
        """Tier reviews decide alike on every adapter, and a second review changes nothing."""
        expected = self.reference_tiers.review(member, LADDER) if self.lockstep else None
        decision = self.tiers.review(member, LADDER)
        check(expected in (None, decision), "the adapters' tier decisions differ")
        event(f"tier: {decision.state.tier}")
        again = self.tiers.review(member, LADDER)
        if self.lockstep:
            self.reference_tiers.review(member, LADDER)
        check(again.changes == (), f"a second review changed the tier again: {again.changes}")

    @invariant()
    def reminders_match_the_lots(self) -> None:
        """Reminders list exactly the free points of the lots that fall due, per member.

        In lockstep the in-memory reference answers (adapters_agree compares the storage's own
        listing with it after every step), which keeps database runs quick.
        """
        within = timedelta(days=40)
        now = self.model.now
        expected: defaultdict[tuple[datetime, str], int] = defaultdict(int)
        for lot in self.model.lots.values():
            due = lot.expires_at
            if due is not None and now < due <= now + within and lot.free > 0:
                expected[(due, lot.member)] += lot.free
        ledger = self.reference
        listed = ledger.expiring(within).items
        check(
            sorted(expected.items()) == [((e.expires_at, e.member), e.points) for e in listed],
            "the program-wide reminder listing differs from the model's lots",
        )
        for member in MEMBERS:
            mine = {at: points for (at, who), points in expected.items() if who == member}
            upcoming = ledger.upcoming_expiries(member, within)
            check(
                sorted(mine.items()) == [(e.expires_at, e.points) for e in upcoming],
                f"{member}'s reminder differs from the model's lots",
            )

    @precondition(lambda self: bool(self.done))
    @rule(data=st.data(), mode=st.sampled_from(["replay", "conflict", "retry"]))
    def idempotency(self, data: st.DataObject, mode: str) -> None:
        """Invariants 7, 8 and 10, on keys the run has used."""
        command, original = data.draw(st.sampled_from(self.done))
        before = self.snapshot()
        if mode == "replay":
            # Invariant 7: the same key and payload return the original and write nothing.
            again = command(self.ledger)
            check(again.replayed, "a replay was not marked replayed")
            check(original == again, "a replay returned another transaction")
        elif mode == "conflict":
            # Invariant 8: the same key with another payload is refused and writes nothing.
            # Where keys are unique per member (PostgreSQL distributed by member), the other
            # payload is sent for the member the original is stored with: the first, in
            # code-point order, of those whose wallets it changed.
            member = "ann"
            if getattr(self.storage, "idempotency_scope", "program") == "member":
                member = min((str(c.member) for c in original.wallet_changes), default="ann")
            try:
                self.ledger.earn(member, 1, key=original.key, reason="a different command")
            except IdempotencyConflictError as error:
                check(error.key == original.key, "the conflict names another key")
                check(bool(error.differences), "the conflict names no difference")
            else:
                raise AssertionError("a reused key with another payload was accepted")
        elif self.failed_keys:
            # Invariant 10: a key whose command was refused is not recorded; a retry of it
            # with any command is evaluated afresh.
            key = self.failed_keys.pop()
            member = original.wallet_changes[0].member if original.wallet_changes else "ann"
            self.run(
                key,
                lambda ledger: ledger.earn(member, 7, key=key),
                lambda m: m.earn(key, member, 7, None, None),
            )
            return
        check(before == self.snapshot(), f"a {mode} changed the storage")

    # -- invariants ------------------------------------------------------------------------

    @invariant()
    def events_match_the_journal(self) -> None:
        """The outbox holds one event per transaction, as the journal has it (if it has one)."""
        with self.storage.reading(self.ledger.program) as unit:
            problems = outbox_problems(unit)
        check(not problems, "the outbox disagrees with the journal: " + "; ".join(problems[:5]))

    @invariant()
    def adapters_agree(self) -> None:
        """Invariant 25: the storage under test holds exactly what the reference holds."""
        if not self.lockstep:
            return
        reference = snapshot(
            self.reference_storage,
            self.program,
            tiers="tiers" in self.parts,
            audit=self.audited,
        )
        check(
            reference == self.snapshot(),
            "the storage under test and the in-memory reference hold different states",
        )

    @invariant()
    def zero_sum(self) -> None:
        """Invariant 1: every transaction's postings sum to zero per currency and phase."""
        for transaction in self.journal():
            for phase in Phase:
                total = sum(p.amount for p in transaction.postings if p.phase is phase)
                check(total == 0, f"{transaction.id} {phase.value} postings sum to {total}")

    @invariant()
    def conservation(self) -> None:
        """Invariant 2: all balances, members' and system accounts', sum to zero per phase."""
        posted = sum(self.ledger.balance(member).posted for member in MEMBERS)
        pending = -sum(self.ledger.balance(member).held for member in MEMBERS)
        for kind in SYSTEM_KINDS.values():
            account = self.ledger.system_balance(kind)
            posted += account.posted
            pending += account.pending
        check((posted, pending) == (0, 0), f"balances sum to {posted} posted, {pending} pending")

    @invariant()
    def replay_matches_storage(self) -> None:
        """Invariants 3 and 25: replaying the journal rebuilds exactly what storage holds.

        Versions grow by one per transaction and the running balances chain. With the records
        and tiers parts' audit reads, replaying the records rebuilds every counter, streak and
        budget, and every tier state is what its history gives.
        """
        with self.storage.reading(ProgramId(self.program)) as unit:
            report = audit_program(unit, now=self.clock.now())
        audited = {"records": report.records, "tiers": report.tier_states}
        for part in set(self.audited) - {"reports"}:  # the reports part has no audit
            check(audited[part] is not None, f"the programme's audit left out the {part} part")

    @invariant()
    def no_negative_available(self) -> None:
        """Invariants 4 and 5: available is never negative and debt stays within its limit."""
        for member in MEMBERS:
            balance = self.ledger.balance(member)
            check(balance.available >= 0, f"{member} has negative available points")
            check(0 <= balance.debt <= DEBT_LIMIT, f"{member}'s debt is out of bounds")
            check(balance.held <= balance.posted + balance.debt, f"{member} holds too much")

    @invariant()
    def agrees_with_model(self) -> None:
        """Invariants 20, 22 and 25: balances, lots and holds are what the model says.

        Spending order, restores and clawbacks included.
        """
        for member in MEMBERS:
            balance = self.ledger.balance(member)
            expected = self.model.balance(member)
            actual = {name: getattr(balance, name) for name in expected}
            check(expected == actual, f"{member}: the model has {expected}, the ledger {actual}")
            lots = {
                lot.id: (lot.remaining, lot.held, lot.expired, lot.available_at, lot.expires_at)
                for lot in self.ledger.lots(member, include_closed=True)
            }
            modelled = {
                lot.id: (lot.remaining, lot.held, lot.expired, lot.available_at, lot.expires_at)
                for lot in self.model.wallet(member)
            }
            check(modelled == lots, f"{member}: the model's lots differ from the ledger's")
        for hold_id, hold in self.model.holds.items():
            stored = self.ledger.hold(hold_id)
            check(
                (hold.status, hold.captured) == (stored.status, stored.captured),
                f"hold {hold_id}: the model has {hold.status}, the ledger {stored.status}",
            )
        for name, kind in SYSTEM_KINDS.items():
            account = self.ledger.system_balance(kind)
            check(
                (self.model.posted[name], self.model.pending[name])
                == (account.posted, account.pending),
                f"system account {name} differs from the model",
            )

    @invariant()
    def immutable(self) -> None:
        """Invariant 15: a transaction once stored never changes."""
        with self.storage.reading(self.ledger.program) as unit:
            for transaction_id, transaction in self.seen.items():
                check(
                    unit.transaction(transaction_id) == transaction,
                    f"stored transaction {transaction_id} changed",
                )

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
                check(transaction.hold is not None, f"{transaction.id} names no hold")
                if transaction.hold is not None:
                    resolutions[transaction.hold].append(transaction)
        for hold_id, resolved_by in resolutions.items():
            check(len(resolved_by) == 1, f"hold {hold_id} was resolved {len(resolved_by)} times")
            hold = self.ledger.hold(hold_id)
            check(hold.status is not HoldStatus.OPEN, f"resolved hold {hold_id} is still open")
            if resolved_by[0].kind is TransactionKind.HOLD_TIMEOUT:
                check(
                    resolved_by[0].created_at >= hold.expires_at, f"hold {hold_id} timed out early"
                )

    @invariant()
    def reversals_bounded(self) -> None:
        """Invariant 16: the reversals of a transaction add up to at most what it moved."""
        reversed_by: defaultdict[TransactionId, int] = defaultdict(int)
        for transaction in self.journal():
            if transaction.kind is TransactionKind.REVERSAL and transaction.reverses:
                reversed_by[transaction.reverses] += transaction.amount
        for original_id, amount in reversed_by.items():
            check(
                amount <= self.model.txns[original_id].moved,
                f"{original_id} is reversed by more than it moved",
            )

    @invariant()
    def debt_means_no_free_points(self) -> None:
        """Invariant 17: a member who owes points has no free points that are not due."""
        now = self.clock.now()
        for member in MEMBERS:
            if self.ledger.balance(member).debt:
                for lot in self.ledger.lots(member):
                    check(lot.free == 0 or lot.is_due(now), f"{member} owes but has free points")

    @invariant()
    def lots_conserve(self) -> None:
        """Invariant 19: every lot stays in bounds and a wallet's lots hold posted plus debt."""
        for member in MEMBERS:
            balance = self.ledger.balance(member)
            lots = self.ledger.lots(member, include_closed=True)
            for lot in lots:
                check(0 <= lot.held <= lot.remaining, f"lot {lot.id} holds more than it has")
                check(lot.expired >= 0, f"lot {lot.id} has negative expired points")
                check(lot.remaining + lot.expired <= lot.amount, f"lot {lot.id} over its amount")
            check(
                sum(lot.remaining for lot in lots) == balance.posted + balance.debt,
                f"{member}'s lots do not hold posted plus debt",
            )

    @invariant()
    def expiry_never_early(self) -> None:
        """Invariant 21: points expire only at or after their lot's expires_at."""
        journal = self.journal()
        lots = {lot.id: lot for t in journal for lot in t.lots_created}
        for transaction in journal:
            for move in transaction.lot_moves:
                if move.reason is MoveReason.EXPIRE:
                    expires_at = lots[move.lot].expires_at
                    check(
                        expires_at is not None and expires_at <= transaction.created_at,
                        f"lot {move.lot} expired before its time",
                    )

    @invariant()
    def pending_never_spent(self) -> None:
        """Invariant 23: spends and holds never touch a lot before its available_at."""
        journal = self.journal()
        lots = {lot.id: lot for t in journal for lot in t.lots_created}
        for transaction in journal:
            for move in transaction.lot_moves:
                if move.reason in {MoveReason.SPEND, MoveReason.HOLD}:
                    check(
                        lots[move.lot].available_at <= transaction.created_at,
                        f"{transaction.id} spent lot {move.lot} before it was available",
                    )

"""Fuzz the ledger: every command, linked commands, every read and the clock, with hostile values.

Each example opens a fresh program on a shared storage (in memory, then SQLite), posts a few
valid commands so that holds, spends, transfers and debts exist, then sends a sequence of
calls in which one or several arguments are hostile. Every call must succeed or raise a
PointkitError that leaves the storage as it was; the audit passes at the end.
"""

from __future__ import annotations

import itertools
import uuid
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING, Any, Final, final

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fuzz.commands import OMIT, Arg, Build, Command, built, draw_call
from fuzz.harness import Harness, Outcome, budget
from fuzz.state import state_reader
from fuzz.strategies import (
    START,
    bad_choices,
    bad_currencies,
    bad_ids,
    bad_instants,
    bad_ints,
    bad_mappings,
    bad_spans,
    bad_texts,
    hostile,
)
from pointkit import FixedClock, Ledger, LedgerPolicy, MemoryStorage, PointCurrency, limits
from pointkit.exceptions import PointkitError
from pointkit.expiry import ExpiryPolicy, RollingDays, RollingMonths
from pointkit.ledger import AccountKind, Earn, Transaction, TransactionId
from pointkit.storage.sqlite import SQLiteStorage


if TYPE_CHECKING:
    from collections.abc import Iterator

    from pointkit.ledger import Linked, Storage


CURRENCIES: Final = (PointCurrency("points"), PointCurrency("miles", decimals=2))
EXPIRY: Final = ExpiryPolicy(
    "Asia/Shanghai",
    default=RollingDays(30),
    currencies={"miles": RollingMonths(36)},
    rules={"spend": RollingDays(7)},
)
STEPS_MAX: Final = 12
_programs = itertools.count()
_RUN: Final = uuid.uuid4().hex[:8]


@final
class LedgerWorld:
    """A ledger on a fresh program with some history, and the ids and keys it has made."""

    def __init__(self, storage: Storage, policy: LedgerPolicy) -> None:
        self.program = f"fuzz-ledger-{_RUN}-{next(_programs)}"
        self.clock = FixedClock(START)
        self.ledger = Ledger(
            storage,
            clock=self.clock,
            currencies=CURRENCIES,
            program=self.program,
            policy=policy,
            expiry=EXPIRY,
        )
        self.transactions: list[TransactionId] = []
        self.holds: list[TransactionId] = []
        self.keys: list[str] = []
        self.links = 0
        ledger = self.ledger
        self.note(ledger.earn("ann", 1_000, key="seed-1", rule="spend"))
        self.note(ledger.earn("ben", 300, key="seed-2", currency="miles"))
        self.note(ledger.reserve("ann", 100, key="seed-3", timeout_seconds=3_600))
        self.note(ledger.redeem("ann", 50, key="seed-4"))
        self.note(ledger.transfer("ann", "ben", 20, key="seed-5"))
        self.note(ledger.adjust("ben", 30, key="seed-6", reason="welcome"))

    def note(self, result: object) -> None:
        """Remember the transactions, holds and keys of a successful call's *result*."""
        if isinstance(result, tuple | list):
            for item in result:
                self.note(item)
            return
        if isinstance(result, Transaction):
            self.transactions.append(result.id)
            self.keys.append(result.key)
            if result.hold is not None and result.kind.value == "reserve":
                self.holds.append(result.hold)


# -- valid values -----------------------------------------------------------------------------------

members = st.sampled_from(["ann", "ben", "ann", "ben", "会员"])
amounts = st.sampled_from([1, 50, 500, limits.POINTS_MAX]) | st.integers(1, 1_200)
currencies = st.sampled_from([OMIT, None, "points", "miles"])
optional_texts = st.sampled_from([OMIT, None, "a reason", "退款 🎉"])
metadata = st.sampled_from([OMIT, None, {"order": "o-1"}, {"渠道": "微信"}])
laters = st.sampled_from([OMIT, None]) | st.integers(1, 400).map(
    lambda days: START + timedelta(days=days)
)


def keys(world: LedgerWorld) -> st.SearchStrategy[object]:
    """A fresh key, or (a replay or a conflict) one the world has used."""
    fresh = st.integers(0, 10**6).map(lambda n: f"k-{n}")
    return fresh | st.sampled_from(world.keys) if world.keys else fresh


def holds(world: LedgerWorld) -> st.SearchStrategy[object]:
    """A hold the world made, by its id or its id's text."""
    return st.sampled_from(world.holds) | st.sampled_from(world.holds).map(str)


def transactions(world: LedgerWorld) -> st.SearchStrategy[object]:
    """A transaction the world made, by its id or its id's text."""
    return st.sampled_from(world.transactions) | st.sampled_from(world.transactions).map(str)


def fixed(strategy: st.SearchStrategy[object]) -> Any:  # noqa: ANN401 - an Arg's valid field
    """A valid-values function that ignores the world."""
    return lambda _world: strategy


def _earns(world: LedgerWorld) -> st.SearchStrategy[Earn]:
    return st.builds(
        Earn,
        member=members,
        amount=st.integers(1, 500),
        key=keys(world),
        currency=st.sampled_from([None, "points", "miles"]),
        expires_at=st.sampled_from([None, START + timedelta(days=90)]),
        reason=st.sampled_from([None, "import"]),
    )


@st.composite
def bad_earns(draw: st.DrawFn, world: LedgerWorld) -> object:
    """Batches with one hostile earn, repeated keys, too many earns, or no batch at all."""
    earns = draw(st.lists(_earns(world), min_size=1, max_size=3))
    kind = draw(st.sampled_from(["field", "field", "repeat", "too_many", "not_earns"]))
    if kind == "field":
        index = draw(st.integers(0, len(earns) - 1))
        field = draw(st.sampled_from([field.name for field in attrs.fields(Earn)]))
        changes: dict[str, Any] = {field: draw(hostile())}
        earns[index] = attrs.evolve(earns[index], **changes)
        return earns
    if kind == "repeat":
        return [earns[0], attrs.evolve(earns[0], amount=earns[0].amount + 1)]
    if kind == "too_many":
        return [Earn(member="ann", amount=1, key=f"b-{n}") for n in range(limits.BATCH_MAX + 1)]
    return draw(hostile() | st.just(iter(earns)) | st.just({"a": earns[0]}))


def _arg(name: str, valid: Any, bad: Any) -> Arg[LedgerWorld]:  # noqa: ANN401 - see fixed()
    """An argument whose hostile values do not depend on the world."""
    return Arg(name, valid, lambda _world: bad())


MEMBER = _arg("member", fixed(members), bad_texts)
AMOUNT = _arg("amount", fixed(amounts), bad_ints)
KEY = _arg("key", keys, bad_texts)
CURRENCY = _arg("currency", fixed(currencies), bad_currencies)
REASON = _arg("reason", fixed(optional_texts), bad_texts)
METADATA = _arg("metadata", fixed(metadata), bad_mappings)
CLAWBACK = _arg(
    "clawback",
    fixed(st.sampled_from([OMIT, None, "reject", "clamp", "debt"])),
    lambda: bad_choices(("reject", "clamp", "debt")),
)
HOLD = _arg("hold", holds, bad_ids)
TRANSACTION = _arg("transaction", transactions, bad_ids)

COMMANDS: Final[tuple[Command[LedgerWorld], ...]] = (
    Command(
        "Ledger.earn",
        lambda world, a: world.ledger.earn(**a),
        (
            MEMBER,
            AMOUNT,
            KEY,
            CURRENCY,
            _arg("available_at", fixed(laters), bad_instants),
            _arg("expires_at", fixed(laters), bad_instants),
            _arg("rule", fixed(st.sampled_from([OMIT, None, "spend", "other"])), bad_texts),
            REASON,
            METADATA,
        ),
    ),
    Command(
        "Ledger.redeem",
        lambda world, a: world.ledger.redeem(**a),
        (MEMBER, AMOUNT, KEY, CURRENCY, REASON, METADATA),
    ),
    Command(
        "Ledger.reserve",
        lambda world, a: world.ledger.reserve(**a),
        (
            MEMBER,
            AMOUNT,
            KEY,
            _arg("timeout_seconds", fixed(st.integers(1, 86_400)), bad_ints),
            CURRENCY,
            REASON,
            METADATA,
        ),
    ),
    Command(
        "Ledger.capture",
        lambda world, a: world.ledger.capture(**a),
        (
            HOLD,
            _arg("amount", fixed(st.sampled_from([OMIT, None]) | st.integers(1, 150)), bad_ints),
            KEY,
            REASON,
            METADATA,
        ),
    ),
    Command(
        "Ledger.release",
        lambda world, a: world.ledger.release(**a),
        (HOLD, KEY, REASON, METADATA),
    ),
    Command(
        "Ledger.transfer",
        lambda world, a: world.ledger.transfer(**a),
        (
            _arg("sender", fixed(members), bad_texts),
            _arg("recipient", fixed(members), bad_texts),
            AMOUNT,
            KEY,
            CURRENCY,
            REASON,
            METADATA,
        ),
    ),
    Command(
        "Ledger.reverse",
        lambda world, a: world.ledger.reverse(**a),
        (
            TRANSACTION,
            _arg("amount", fixed(st.sampled_from([OMIT, None]) | st.integers(1, 600)), bad_ints),
            KEY,
            CLAWBACK,
            _arg(
                "restore",
                fixed(st.sampled_from([OMIT, None, "original_expiry", "reissue"])),
                lambda: bad_choices(("original_expiry", "reissue")),
            ),
            _arg("reissue_expires_at", fixed(laters), bad_instants),
            REASON,
            METADATA,
        ),
    ),
    Command(
        "Ledger.adjust",
        lambda world, a: world.ledger.adjust(**a),
        (
            MEMBER,
            _arg("amount", fixed(st.integers(-600, 600).filter(bool)), bad_ints),
            KEY,
            _arg("reason", fixed(st.sampled_from(["goodwill", "纠正"])), bad_texts),
            CURRENCY,
            _arg("available_at", fixed(laters), bad_instants),
            _arg("expires_at", fixed(laters), bad_instants),
            CLAWBACK,
            METADATA,
        ),
    ),
    Command(
        "Ledger.earn_many",
        lambda world, a: world.ledger.earn_many(**a),
        (Arg("earns", lambda world: st.lists(_earns(world), max_size=3), bad_earns),),
    ),
    Command(
        "Ledger.expire_due",
        lambda world, a: world.ledger.expire_due(**a),
        (
            _arg(
                "limit",
                fixed(st.sampled_from([OMIT, 1, limits.EXPIRY_BATCH_MAX]) | st.integers(1, 50)),
                bad_ints,
            ),
        ),
    ),
    Command(
        "FixedClock.advance",
        lambda world, a: world.clock.advance(**a),
        (
            _arg(
                "by",
                fixed(st.integers(0, 40 * 86_400).map(lambda seconds: timedelta(seconds=seconds))),
                bad_spans,
            ),
        ),
    ),
    Command(
        "FixedClock.set",
        lambda world, a: world.clock.set(**a),
        (
            _arg(
                "at",
                lambda world: st.integers(0, 40 * 86_400).map(
                    lambda seconds: world.clock.now() + timedelta(seconds=seconds)
                ),
                bad_instants,
            ),
        ),
    ),
)
"""The ledger's commands (and the clock's), each with its arguments."""

LINKABLE: Final = COMMANDS[:8]
"""The commands a link runs: earn, redeem, reserve, capture, release, transfer, reverse, adjust."""

WITHIN = _arg(
    "within",
    fixed(st.integers(1, 400).map(lambda days: timedelta(days=days))),
    bad_spans,
)
READS: Final[tuple[Command[LedgerWorld], ...]] = (
    Command(
        "Ledger.balance",
        lambda world, a: world.ledger.balance(**a),
        (MEMBER, CURRENCY),
        writes=False,
    ),
    Command(
        "Ledger.lots",
        lambda world, a: world.ledger.lots(**a),
        (
            MEMBER,
            CURRENCY,
            _arg("include_closed", fixed(st.sampled_from([OMIT, True, False])), hostile),
        ),
        writes=False,
    ),
    Command(
        "Ledger.upcoming_expiries",
        lambda world, a: world.ledger.upcoming_expiries(**a),
        (MEMBER, WITHIN, CURRENCY),
        writes=False,
    ),
    Command(
        "Ledger.expiring",
        lambda world, a: world.ledger.expiring(**a),
        (
            WITHIN,
            CURRENCY,
            _arg(
                "after",
                fixed(
                    st.sampled_from([OMIT, None])
                    | st.tuples(laters.filter(lambda at: at not in (OMIT, None)), members)
                ),
                lambda: (
                    st.tuples(bad_instants(), members)
                    | st.tuples(laters.filter(lambda at: at not in (OMIT, None)), bad_texts())
                    | st.lists(members, max_size=3).map(tuple)
                ),
            ),
            _arg("limit", fixed(st.integers(1, limits.EXPIRING_PAGE_MAX)), bad_ints),
        ),
        writes=False,
    ),
    Command(
        "Ledger.statement",
        lambda world, a: world.ledger.statement(**a),
        (
            MEMBER,
            CURRENCY,
            _arg("after", fixed(st.integers(0, 20)), bad_ints),
            _arg("limit", fixed(st.integers(1, limits.STATEMENT_LINES_MAX)), bad_ints),
        ),
        writes=False,
    ),
    Command("Ledger.hold", lambda world, a: world.ledger.hold(**a), (HOLD,), writes=False),
    Command(
        "Ledger.transaction",
        lambda world, a: world.ledger.transaction(**a),
        (TRANSACTION,),
        writes=False,
    ),
    Command(
        "Ledger.transaction_by_key",
        lambda world, a: world.ledger.transaction_by_key(**a),
        (KEY,),
        writes=False,
    ),
    Command(
        "Ledger.system_balance",
        lambda world, a: world.ledger.system_balance(**a),
        (
            _arg(
                "kind",
                fixed(st.sampled_from([k for k in AccountKind if k is not AccountKind.MEMBER])),
                lambda: st.sampled_from([AccountKind.MEMBER, "issuance", "ISSUANCE", 1]),
            ),
            CURRENCY,
        ),
        writes=False,
    ),
    Command(
        "Ledger.outstanding",
        lambda world, a: world.ledger.outstanding(**a),
        (CURRENCY,),
        writes=False,
    ),
    Command("Ledger.audit", lambda world, _a: world.ledger.audit(), (), writes=False),
)
"""The ledger's reads: a successful read must leave the storage as it was."""


def _link(world: LedgerWorld, command: Command[LedgerWorld], arguments: dict[str, Any]) -> Any:  # noqa: ANN401 - what the command returns
    """The command's bound method on a link instead of the ledger."""

    def on(link: Linked) -> object:
        proxy = _LinkedWorld(world, link)
        return command.run(proxy, arguments)  # type: ignore[arg-type]  # duck-typed world

    return on


@final
@attrs.frozen
class _LinkedWorld:
    """A world whose ``ledger`` is a link, so the ledger's commands run in the link."""

    world: LedgerWorld
    ledger: Linked


def _linked_call(
    world: LedgerWorld,
    command: Command[LedgerWorld],
    arguments: dict[str, Any],
    *,
    carry_on: bool,
) -> list[object]:
    """Run a valid earn, then *command*, in one link; with *carry_on*, swallow a refusal.

    A host that swallows a refusal and sends another command gets a LinkedCommandError;
    either way nothing of the link commits.
    """
    results: list[object] = []
    world.links += 1
    with world.ledger.linked() as link:
        results.append(link.earn("ben", 5, key=f"link-{world.links}-a"))
        try:
            results.append(_link(world, command, arguments)(link))
        except PointkitError:
            if not carry_on:
                raise
        if carry_on:
            results.append(link.earn("ben", 1, key=f"link-{world.links}-b"))
    return results


@pytest.fixture(scope="module", params=["memory", "sqlite"])
def storage(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Storage]:
    """One storage per adapter for the module; every example has a program of its own."""
    if request.param == "memory":
        yield MemoryStorage()
        return
    # Durability is not under test here: NORMAL spares an fsync per commit.
    sqlite = SQLiteStorage(
        tmp_path_factory.mktemp("fuzz-ledger") / "points.db", synchronous="NORMAL"
    )
    yield sqlite
    sqlite.close()


policies = st.builds(
    LedgerPolicy,
    clawback=st.sampled_from(["reject", "clamp", "debt"]),
    restore=st.sampled_from(["original_expiry", "reissue"]),
    debt_limit=st.sampled_from([0, 500, limits.POINTS_MAX]),
)


@budget(250)
@given(data=st.data(), policy=policies)
def test_ledger_commands_and_reads_refuse_hostile_values_cleanly(
    storage: Storage, data: st.DataObject, policy: LedgerPolicy
) -> None:
    """Every command, link and read succeeds or raises a PointkitError that leaves the storage as it was."""
    world = LedgerWorld(storage, policy)
    harness = Harness(state_reader(storage, world.program))
    outcome: Outcome[object]
    for _ in range(data.draw(st.integers(1, STEPS_MAX), label="steps")):
        kind = data.draw(st.sampled_from(["command", "command", "read", "linked"]), label="kind")
        if kind == "linked":
            command = data.draw(st.sampled_from(LINKABLE), label="linked command")
            arguments = draw_call(data, world, command)
            carry_on = data.draw(st.booleans(), label="carry on after a refusal")
            outcome = harness.call(
                f"Ledger.linked: {command.name}",
                partial(_linked_call, world, command, arguments, carry_on=carry_on),
                {**arguments, "carry_on": carry_on},
            )
        else:
            command = data.draw(st.sampled_from(COMMANDS if kind == "command" else READS))
            arguments = draw_call(data, world, command)
            outcome = harness.call(
                command.name,
                partial(command.run, world, arguments),
                arguments,
                writes=command.writes,
            )
        world.note(outcome.value)
    world.ledger.audit()


@final
@attrs.frozen
class Clock:
    """A clock that tells whatever it was given: an instant at the edge of time, or garbage."""

    at: object

    def now(self) -> object:
        """Return the value it was given."""
        return self.at


def _ledger_arguments(storage: Storage) -> st.SearchStrategy[dict[str, Any]]:
    """The arguments of ``Ledger(...)``: valid ones with one or several made hostile."""
    valid: dict[str, st.SearchStrategy[object]] = {
        "clock": st.builds(FixedClock, st.just(START)),
        "currencies": st.sampled_from([OMIT, CURRENCIES, (PointCurrency("points"),)]),
        "program": st.integers(0, 10**6).map(lambda n: f"fuzz-new-{_RUN}-{n}"),
        "policy": st.sampled_from([OMIT, None]) | policies,
        "expiry": st.sampled_from([OMIT, None, EXPIRY]),
    }
    bad: dict[str, st.SearchStrategy[object]] = {
        "clock": st.builds(Clock, bad_instants() | hostile())
        | bad_instants().map(lambda at: Build(FixedClock, {"at": at})),
        "currencies": st.one_of(
            st.lists(st.sampled_from(CURRENCIES), min_size=2, max_size=2).map(tuple),
            st.just(tuple(PointCurrency(f"c{n}") for n in range(limits.CURRENCIES_MAX + 1))),
            st.just(()),
            st.just("points"),
            st.lists(hostile(), max_size=2),
        ),
        "program": bad_texts(),
        "policy": hostile(),
        "expiry": hostile(),
    }

    @st.composite
    def arguments(draw: st.DrawFn) -> dict[str, Any]:
        spoiled = draw(st.sets(st.sampled_from(sorted(valid)), min_size=1, max_size=2))
        drawn = {
            name: draw((bad[name] | hostile()) if name in spoiled else valid[name], label=name)
            for name in sorted(valid)
        }
        return {name: value for name, value in drawn.items() if value is not OMIT}

    del storage
    return arguments()


@budget(100)
@given(data=st.data())
def test_a_ledger_made_with_hostile_arguments_refuses_or_works(
    storage: Storage, data: st.DataObject
) -> None:
    """Ledger(...) with a hostile clock, currencies, program or policy refuses, or its ledger works and audits."""
    arguments = data.draw(_ledger_arguments(storage), label="Ledger arguments")
    made = Harness(lambda: None).call(
        "Ledger", lambda: Ledger(storage, **built(arguments)), arguments
    )
    ledger = made.value
    if ledger is None:
        return
    harness = Harness(state_reader(storage, str(ledger.program)))
    harness.call("Ledger.earn", lambda: ledger.earn("ann", 100, key="e-1"))
    harness.call("Ledger.reserve", lambda: ledger.reserve("ann", 40, key="h-1", timeout_seconds=60))
    harness.call("Ledger.balance", lambda: ledger.balance("ann"), writes=False)
    harness.call("Ledger.expire_due", ledger.expire_due)
    harness.call("Ledger.audit", ledger.audit, writes=False)

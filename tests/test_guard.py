"""Anti-cheat: frozen members, the ledger's command guards, velocity, blocklists, reviews."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pointkit import FixedClock, Ledger, MemoryStorage
from pointkit.campaigns import AntiCheat, Blocklist, VelocityRule
from pointkit.exceptions import (
    ActivityRefusedError,
    ArgumentTypeError,
    InsufficientPointsError,
    InvalidArgumentError,
    MemberFrozenError,
)
from pointkit.features import Guard, audit_program
from pointkit.program._config_guard import read_anti_cheat
from pointkit.program._config_reader import ConfigReader
from pointkit.rules import Award, Event


if TYPE_CHECKING:
    from collections.abc import Callable

    from pointkit._values import MemberId
    from pointkit.ledger import Storage, WriteUnit

START = datetime(2026, 3, 1, 9, tzinfo=UTC)
RULES = AntiCheat(
    velocity=(
        VelocityRule("bursts", ("sign_in",), 2, per="minute"),
        VelocityRule("devices", ("share",), 1, per="hour", by="device", action="review"),
    ),
    blocklists=(Blocklist("device", ("dev-666",)),),
)


def _audit(ledger: Ledger) -> list[str]:
    """The parts the programme's audit could not check; it raises on any problem it finds."""
    with ledger.storage.reading(ledger.program) as unit:
        return list(audit_program(unit, now=ledger.clock.now()).not_audited)


@pytest.fixture
def clock() -> FixedClock:
    """A clock at START."""
    return FixedClock(START)


@pytest.fixture
def ledger(any_storage: Storage, clock: FixedClock) -> Ledger:
    """A ledger on each adapter in turn, in a program of its own."""
    return Ledger(any_storage, clock=clock, program=f"guard-{uuid.uuid4().hex[:8]}")


@pytest.fixture
def guard(ledger: Ledger) -> Guard:
    """Anti-cheat with RULES on that ledger."""
    return Guard(ledger, RULES)


def _screen(ledger: Ledger, guard: Guard, event: Event) -> str:
    """Screen *event* in a unit of its own, as earning would; hold a 10-point award on review."""
    with ledger.linked() as link:
        screening = guard.screen_on(link, event)
        if screening.outcome == "review":
            guard.hold_on(link, event, screening, [Award("share", "points", 10)])
    return screening.outcome


# -- frozen members and the command guard ------------------------------------------------------


def test_frozen_member_earns_and_spends_nothing(ledger: Ledger, guard: Guard) -> None:
    """Every points command naming a frozen member is refused, but a release of a hold."""
    ledger.earn("alice", 500, key="e-1")
    ledger.earn("bob", 500, key="e-2")
    hold = ledger.reserve("alice", 100, key="h-1", timeout_seconds=600)
    guard.freeze("alice", key="f-1", reason="chargeback fraud")
    commands: list[Callable[[], object]] = [
        lambda: ledger.earn("alice", 5, key="x-1"),
        lambda: ledger.redeem("alice", 5, key="x-2"),
        lambda: ledger.transfer("bob", "alice", 5, key="x-3"),
        lambda: ledger.capture(hold.id, key="x-4"),
        lambda: ledger.adjust("alice", -5, key="x-6", reason="fix"),
    ]
    for command in commands:
        with pytest.raises(MemberFrozenError) as refused:
            command()
        assert "alice" == refused.value.member
    assert (400, 100) == (ledger.balance("alice").available, ledger.balance("alice").held)
    # A release gives held points back, earning and spending nothing: it goes on.
    ledger.release(hold.id, key="x-5")
    assert (500, 0) == (ledger.balance("alice").available, ledger.balance("alice").held)
    assert [] == _audit(ledger)


def test_frozen_member_refused_inside_a_link(ledger: Ledger, guard: Guard) -> None:
    """A linked command for a frozen member fails the whole link: nothing commits."""
    guard.freeze("alice", key="f-1", reason="bot")

    def both() -> None:
        with ledger.linked() as link:
            link.earn("bob", 10, key="l-1")
            link.earn("alice", 10, key="l-2")

    with pytest.raises(MemberFrozenError):
        both()
    assert 0 == ledger.balance("bob").available


def test_unfreeze_restores_and_history_is_audited(ledger: Ledger, guard: Guard) -> None:
    """Unfreezing lets the member earn again; each change is a record, in order."""
    guard.freeze("alice", key="f-1", reason="bot")
    state = guard.frozen("alice")
    assert state is not None
    assert ("bot", START) == (state.reason, state.since)
    guard.unfreeze("alice", key="u-1", reason="cleared")
    assert guard.frozen("alice") is None
    assert 5 == ledger.earn("alice", 5, key="e-1").amount
    assert [(True, "bot"), (False, "cleared")] == [
        (change.frozen, change.reason) for change in guard.freeze_history("alice")
    ]
    assert [] == _audit(ledger)


def test_freeze_is_idempotent_by_key(guard: Guard) -> None:
    """The same key replays; freezing a frozen member under a new key is refused."""
    first = guard.freeze("alice", key="f-1", reason="bot")
    assert first.at == guard.freeze("alice", key="f-1", reason="bot").at
    assert guard.freeze("alice", key="f-1", reason="bot").replayed
    with pytest.raises(InvalidArgumentError, match="frozen already"):
        guard.freeze("alice", key="f-2", reason="bot")
    with pytest.raises(InvalidArgumentError, match="not frozen"):
        guard.unfreeze("bob", key="u-1", reason="x")


def test_expiry_goes_on_for_a_frozen_member(clock: FixedClock) -> None:
    """Expiry runs are the clock's: a frozen member's lots still expire."""
    ledger = Ledger(MemoryStorage(), clock=clock)
    guard = Guard(ledger)
    ledger.earn("alice", 50, key="e-1", expires_at=START + timedelta(days=1))
    guard.freeze("alice", key="f-1", reason="bot")
    clock.advance(timedelta(days=2))
    ledger.expire_due()
    assert 0 == ledger.balance("alice").available


def test_add_guard_is_generic_and_sees_each_plan() -> None:
    """A registered guard is called with the command and the members of every plan."""
    ledger = Ledger(MemoryStorage(), clock=FixedClock(START))
    seen: list[tuple[str, tuple[MemberId, ...]]] = []

    def watch(unit: WriteUnit, command: str, members: tuple[MemberId, ...]) -> None:
        del unit
        seen.append((command, members))

    ledger.add_guard("watch", watch)
    ledger.earn("bob", 10, key="e")
    ledger.transfer("bob", "alice", 4, key="t")
    assert [("earn", ("bob",)), ("transfer", ("alice", "bob"))] == seen
    with pytest.raises(ArgumentTypeError):
        ledger.add_guard("broken", "not callable")  # type: ignore[arg-type]


# -- screening -----------------------------------------------------------------------------------


def test_velocity_refuses_over_the_limit_and_counts_nothing(ledger: Ledger, guard: Guard) -> None:
    """The third sign-in in a minute is refused (velocity); a refused event is not counted."""
    outcomes = [_screen(ledger, guard, Event.sign_in(f"s{i}", "bob", START)) for i in range(2)]
    assert ["allow", "allow"] == outcomes
    for index in (2, 3):
        with pytest.raises(ActivityRefusedError) as refused:
            _screen(ledger, guard, Event.sign_in(f"s{index}", "bob", START))
        assert ("bursts", "velocity") == (refused.value.subject, refused.value.reason)
    assert "allow" == _screen(ledger, guard, Event.sign_in("s9", "carol", START))
    later = START + timedelta(minutes=1)
    assert "allow" == _screen(ledger, guard, Event.sign_in("s10", "bob", later))
    assert [] == _audit(ledger)


def test_velocity_window_label_is_the_instants_own() -> None:
    """Labels are formatted once per instant, yet an equal instant in another zone keeps its own."""
    rule = VelocityRule("bursts", ("sign_in",), 2, per="hour")
    at = datetime(2026, 3, 1, 9, 5, tzinfo=UTC)
    assert rule.window(at) == "hour:2026-03-01T09"
    assert rule.window(at + timedelta(hours=8, minutes=-5)) == "hour:2026-03-01T17"
    shanghai = at.astimezone(timezone(timedelta(hours=8)))
    assert rule.window(shanghai) == "hour:2026-03-01T17"
    assert rule.window(at) == "hour:2026-03-01T09"


def test_blocklisted_value_is_refused(ledger: Ledger, guard: Guard) -> None:
    """An event carrying a blocklisted device is refused, reason blocklisted."""
    event = Event("b-1", "sign_in", "bob", START, {"device": "dev-666"})
    with pytest.raises(ActivityRefusedError) as refused:
        _screen(ledger, guard, event)
    assert ("device", "blocklisted") == (refused.value.subject, refused.value.reason)
    assert "refuse" == guard.screen(event).outcome


def test_review_holds_then_approve_credits_once(ledger: Ledger, guard: Guard) -> None:
    """Per-device velocity flags the second share; its award is pending until approved."""
    assert "allow" == _screen(ledger, guard, Event("v1", "share", "bob", START, {"device": "d"}))
    assert "review" == _screen(ledger, guard, Event("v2", "share", "eve", START, {"device": "d"}))
    assert "pending" == guard.review("v2").status
    assert 0 == ledger.balance("eve").available
    approved = guard.approve("v2", key="ok-1")
    assert ("approved", [10]) == (approved.status, [t.amount for t in approved.transactions])
    assert "approved" == guard.approve("v2", key="ok-1").status
    with pytest.raises(InvalidArgumentError, match="already approved"):
        guard.reject("v2", key="no-1", reason="late")
    assert 10 == ledger.balance("eve").available
    assert [] == _audit(ledger)


def test_reject_drops_the_award(ledger: Ledger, guard: Guard) -> None:
    """A rejected review posts nothing and keeps its reason."""
    _screen(ledger, guard, Event("v1", "share", "bob", START, {"device": "d"}))
    _screen(ledger, guard, Event("v2", "share", "eve", START, {"device": "d"}))
    rejected = guard.reject("v2", key="no-1", reason="device farm")
    assert ("rejected", "device farm") == (rejected.status, rejected.reason)
    assert 0 == ledger.balance("eve").available


# -- properties ----------------------------------------------------------------------------------

_COMMANDS = st.lists(
    st.tuples(
        st.sampled_from(["earn", "redeem", "send", "receive", "freeze", "unfreeze"]),
        st.integers(min_value=1, max_value=50),
    ),
    max_size=30,
)


@settings(max_examples=60, deadline=None)
@given(_COMMANDS)
def test_a_frozen_members_balance_never_changes(steps: list[tuple[str, int]]) -> None:
    """While alice is frozen, no command sequence changes her balance."""
    ledger = Ledger(MemoryStorage(), clock=FixedClock(START))
    guard = Guard(ledger)
    ledger.earn("bob", 10_000, key="seed")
    frozen = False
    for index, (action, amount) in enumerate(steps):
        before = ledger.balance("alice")
        key = f"k{index}"
        try:
            match action:
                case "earn":
                    ledger.earn("alice", amount, key=key)
                case "redeem":
                    ledger.redeem("alice", amount, key=key)
                case "send":
                    ledger.transfer("alice", "bob", amount, key=key)
                case "receive":
                    ledger.transfer("bob", "alice", amount, key=key)
                case "freeze":
                    guard.freeze("alice", key=key, reason="test")
                    frozen = True
                case _:
                    guard.unfreeze("alice", key=key, reason="test")
                    frozen = False
        except (MemberFrozenError, InsufficientPointsError, InvalidArgumentError):
            pass
        if frozen and action not in ("freeze", "unfreeze"):
            assert before == ledger.balance("alice")
    assert [] == _audit(ledger)


# -- definitions and the programme file ---------------------------------------------------------


def test_config_reader_reads_and_collects_problems() -> None:
    """[anti_cheat] reads into the definition; every problem is reported with its path."""
    reader = ConfigReader()
    found = read_anti_cheat(
        reader,
        {
            "velocity": [{"name": "bursts", "kinds": ["sign_in"], "limit": 2}],
            "blocklists": [{"attribute": "ip", "values": ["10.0.0.9"]}],
        },
    )
    expected = AntiCheat(
        velocity=(VelocityRule("bursts", ("sign_in",), 2),),
        blocklists=(Blocklist("ip", ("10.0.0.9",)),),
    )
    assert (expected, []) == (found, reader.problems)
    bad = ConfigReader()
    assert read_anti_cheat(bad, {"velocity": [{"name": "x", "kinds": [], "limit": 0}]}) is None
    assert 1 == len(bad.problems)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: VelocityRule("r", ("sign_in",), 0), "limit=0"),
        (lambda: VelocityRule("r", (), 1), "kinds=()"),
        (lambda: VelocityRule("r", ("sign_in",), 1, per="day"), "per='day'"),  # type: ignore[arg-type]
        (lambda: AntiCheat(velocity=(VelocityRule("r", ("a",), 1),) * 2), "names a rule twice"),
    ],
)
def test_definitions_name_the_bad_argument(build: Callable[[], object], message: str) -> None:
    """Bad definitions raise naming the argument."""
    with pytest.raises(InvalidArgumentError, match=message.replace("(", r"\(").replace(")", r"\)")):
        build()

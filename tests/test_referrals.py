"""Referrals: codes, attribution, rewards to both sides once, caps, identities; the config reader."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pointkit import FixedClock, Ledger, MemberId, MemoryStorage, Money
from pointkit.campaigns import REFERRAL_CODES, ReferralProgram, ReferralStatus, referral_code
from pointkit.exceptions import IdempotencyConflictError, InvalidArgumentError, ReferralRefusedError
from pointkit.features import Referrals, audit_program
from pointkit.program._config_reader import ConfigReader
from pointkit.program._config_referrals import read_referrals
from pointkit.rules import Event


if TYPE_CHECKING:
    from pointkit.ledger import Storage

START = datetime(2026, 3, 1, 9, tzinfo=UTC)
TERMS = ReferralProgram(500, 200, minimum=Money(100, "CNY"), within_days=30, cap=2)


def _purchase(event_id: str, member: str, at: datetime, amount: int = 150) -> Event:
    return Event.purchase(event_id, member, at, amount=Money(amount, "CNY"), order_id=event_id)


def _audit(ledger: Ledger) -> list[str]:
    """The parts the programme's audit could not check; it raises on any problem it finds."""
    with ledger.storage.reading(ledger.program) as unit:
        report = audit_program(unit, now=ledger.clock.now())
    return list(report.not_audited)


@pytest.fixture
def ledger(any_storage: Storage) -> Ledger:
    """A ledger on each adapter in turn, in a program of its own."""
    return Ledger(any_storage, clock=FixedClock(START), program=f"ref-{uuid.uuid4().hex[:8]}")


@pytest.fixture
def referrals(ledger: Ledger) -> Referrals:
    """Referrals under TERMS on that ledger."""
    return Referrals(ledger, TERMS)


def test_code_is_readable_and_stable(referrals: Referrals) -> None:
    """A member's code is made once, in the look-alike-free format, and stays the same."""
    code = referrals.code_for("alice", key="c-1")
    assert REFERRAL_CODES.number(code) is not None
    assert code == referrals.code_for("alice", key="c-2")
    assert referral_code(MemberId("alice"), 0) == code


def test_both_sides_are_paid_once(ledger: Ledger, referrals: Referrals) -> None:
    """A qualifying purchase pays the referrer and the invitee, once; the audit agrees."""
    code = referrals.code_for("alice", key="c-1")
    referrals.attribute(code, "bob", identity="phone-b", at=START, key="reg-bob")
    reward = referrals.qualify(_purchase("o-1", "bob", START + timedelta(days=2)), key="o-1")
    assert reward is not None
    assert [500, 200] == [t.amount for t in reward.transactions]
    assert ReferralStatus.REWARDED == reward.referral.status
    again = referrals.qualify(_purchase("o-2", "bob", START + timedelta(days=3)), key="o-2")
    assert again is None
    assert (500, 200) == (ledger.balance("alice").available, ledger.balance("bob").available)
    assert [] == _audit(ledger)


@pytest.mark.parametrize(
    ("event", "why"),
    [
        (_purchase("o-1", "bob", START + timedelta(days=1), amount=99), "under the minimum"),
        (_purchase("o-1", "bob", START + timedelta(days=31)), "after the window"),
        (_purchase("o-1", "bob", START - timedelta(days=1)), "before the attribution"),
        (Event.sign_in("o-1", "bob", START + timedelta(days=1)), "another kind"),
        (_purchase("o-1", "carol", START + timedelta(days=1)), "not an invitee"),
    ],
)
def test_events_that_do_not_qualify_write_nothing(
    ledger: Ledger, referrals: Referrals, event: Event, why: str
) -> None:
    """An event that does not qualify returns None and pays nothing."""
    del why
    code = referrals.code_for("alice", key="c-1")
    referrals.attribute(code, "bob", identity=None, at=START, key="reg-bob")
    assert referrals.qualify(event, key="q") is None
    assert 0 == ledger.balance("alice").available


@pytest.mark.parametrize(
    ("invitee", "identity", "reason"),
    [
        ("alice", None, "self_referral"),
        ("dave", "phone-a", "self_referral"),
        ("bob", None, "already_attributed"),
    ],
)
def test_attribution_refusals(
    referrals: Referrals, invitee: str, identity: str | None, reason: str
) -> None:
    """Self-referral (own code or declared identity) and a second attribution are refused."""
    code = referrals.code_for("alice", key="c-1", identity="phone-a")
    referrals.attribute(code, "bob", identity=None, at=START, key="reg-bob")
    with pytest.raises(ReferralRefusedError) as refused:
        referrals.attribute(code, invitee, identity=identity, at=START, key="reg-other")
    assert reason == refused.value.reason


def test_unknown_code_is_refused(referrals: Referrals) -> None:
    """A code nobody holds is refused with unknown_code."""
    with pytest.raises(ReferralRefusedError) as refused:
        referrals.attribute("RF-3333-3333", "bob", identity=None, at=START, key="reg")
    assert "unknown_code" == refused.value.reason


def test_attribution_replays_by_key_and_conflicts_otherwise(referrals: Referrals) -> None:
    """The same key and payload replay; the same key with another payload conflicts."""
    code = referrals.code_for("alice", key="c-1")
    first = referrals.attribute(code, "bob", identity=None, at=START, key="reg-bob")
    assert first == referrals.attribute(code.lower(), "bob", identity=None, at=START, key="reg-bob")
    with pytest.raises(IdempotencyConflictError):
        referrals.attribute(code, "bob", identity="phone", at=START, key="reg-bob")


def test_repeat_identity_is_attributed_but_never_rewarded(
    ledger: Ledger, referrals: Referrals
) -> None:
    """A second invitee id with the same identity is attributed, settled without a reward."""
    code = referrals.code_for("alice", key="c-1")
    referrals.attribute(code, "bob", identity="phone-b", at=START, key="reg-1")
    second = referrals.attribute(code, "bob-2", identity="phone-b", at=START, key="reg-2")
    assert ("repeat_identity", ReferralStatus.PENDING) == (second.reason, second.status)
    reward = referrals.qualify(_purchase("o-2", "bob-2", START + timedelta(days=1)), key="o-2")
    assert reward is not None
    assert (ReferralStatus.NOT_REWARDED, ()) == (reward.referral.status, reward.transactions)
    assert 0 == ledger.balance("bob-2").available


def test_cap_per_referrer_per_period(ledger: Ledger, referrals: Referrals) -> None:
    """Past the cap a referral is settled without a reward, reason referrer_cap; listed so."""
    code = referrals.code_for("alice", key="c-1")
    for index in range(3):
        referrals.attribute(code, f"m{index}", identity=None, at=START, key=f"reg-{index}")
        referrals.qualify(_purchase(f"o{index}", f"m{index}", START), key=f"o{index}")
    listed = referrals.referrals_of("alice")
    assert [("rewarded", None), ("rewarded", None), ("not_rewarded", "referrer_cap")] == [
        (item.status.value, item.reason) for item in listed
    ]
    assert 1_000 == ledger.balance("alice").available
    assert [] == _audit(ledger)


def test_window_passing_shows_expired() -> None:
    """A referral whose window passed without a qualifying action reads as expired."""
    clock = FixedClock(START)
    referrals = Referrals(Ledger(MemoryStorage(), clock=clock), TERMS)
    code = referrals.code_for("alice", key="c-1")
    referrals.attribute(code, "bob", identity=None, at=START, key="reg")
    clock.advance(timedelta(days=31))
    found = referrals.referral("bob")
    assert found is not None
    assert ReferralStatus.EXPIRED == found.status


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["attribute", "qualify"]),
            st.sampled_from(["i1", "i2", "i3", "alice"]),
            st.sampled_from(["p1", "p2", None]),
            st.integers(min_value=0, max_value=3),
        ),
        max_size=25,
    )
)
def test_no_referral_is_paid_twice(steps: list[tuple[str, str, str | None, int]]) -> None:
    """Whatever the attributions, re-registrations and qualifying events: paid once per person."""
    ledger = Ledger(MemoryStorage(), clock=FixedClock(START))
    referrals = Referrals(ledger, ReferralProgram(500, 200, cap=10))
    code = referrals.code_for("alice", key="c")
    identities: dict[str, str | None] = {}
    for index, (action, member, identity, day) in enumerate(steps):
        if action == "attribute":
            try:
                referrals.attribute(code, member, identity=identity, at=START, key=f"a{index}")
                identities[member] = identity
            except ReferralRefusedError:
                pass
        else:
            when = START + timedelta(days=day)
            referrals.qualify(_purchase(f"e{index}", member, when), key=f"e{index}")
    paid = [item for item in referrals.referrals_of("alice") if item.status == "rewarded"]
    persons = [identities[str(item.invitee)] or str(item.invitee) for item in paid]
    assert len(set(persons)) == len(persons)
    assert 500 * len(paid) == ledger.balance("alice").available
    for member in ("i1", "i2", "i3"):
        assert ledger.balance(member).available in (0, 200)
    assert [] == _audit(ledger)


def test_config_reader_reads_and_collects_problems() -> None:
    """[referrals] reads into the terms; every problem is reported with its path."""
    reader = ConfigReader()
    terms = read_referrals(reader, {"referrer_points": 5, "invitee_points": 1, "per": "day"}, "UTC")
    assert (terms, []) == (ReferralProgram(5, 1, per="day"), reader.problems)
    bad = ConfigReader()
    found = read_referrals(
        bad, {"referrer_points": 0, "invitee_points": 0, "minimum": "x", "within": 3}, "UTC"
    )
    assert found is None
    assert 2 == len(bad.problems)


def test_terms_reject_bad_values() -> None:
    """Terms name the bad argument."""
    with pytest.raises(InvalidArgumentError, match="per='week'"):
        ReferralProgram(1, 1, per="week")  # type: ignore[arg-type]

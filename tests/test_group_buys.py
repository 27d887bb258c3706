"""Group buys: open, join, fill, cancel, time out; all captured or all released; stock and audit."""

from __future__ import annotations

import contextlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from pointkit import FixedClock, Ledger, MemoryStorage, Money
from pointkit.campaigns import GroupBuyDeal
from pointkit.exceptions import (
    ConfigurationError,
    GroupBuyNotFoundError,
    GroupBuyRefusedError,
    IdempotencyConflictError,
    InsufficientPointsError,
    PointkitError,
)
from pointkit.features import GroupBuys, audit_program
from pointkit.ledger import HoldStatus
from pointkit.program._config_group_buys import read_group_buys
from pointkit.program._config_reader import ConfigReader


if TYPE_CHECKING:
    from pointkit.ledger import Storage


START = datetime(2026, 3, 5, 4, 0, tzinfo=UTC)
TEA = GroupBuyDeal(
    "tea",
    "Tea for three",
    item="tea-box",
    size=3,
    points=100,
    fill_seconds=3_600,
    stock=2,
    hold_grace_seconds=600,
)


def _audit(ledger: Ledger) -> None:
    with ledger.storage.reading(ledger.program) as unit:
        audit_program(unit, now=ledger.clock.now())


def _statuses(ledger: Ledger, group: str, buys: GroupBuys) -> set[HoldStatus]:
    return {ledger.hold(hold).status for hold in buys.group(group).holds}


@pytest.fixture
def clock() -> FixedClock:
    """A clock standing at 2026-03-05 04:00 UTC."""
    return FixedClock(START)


@pytest.fixture
def ledger(any_storage: Storage, clock: FixedClock) -> Ledger:
    """A ledger on each adapter in turn with three members holding 250 points each."""
    made = Ledger(any_storage, clock=clock, program=f"groups-{uuid.uuid4().hex[:8]}")
    for member in ("ann", "bo", "cy", "di"):
        made.earn(member, 250, key=f"seed-{member}")
    return made


@pytest.fixture
def buys(ledger: Ledger) -> GroupBuys:
    """Group buys on that ledger."""
    return GroupBuys(ledger, [TEA])


def test_the_last_member_completes_the_group_capturing_every_hold(
    ledger: Ledger, buys: GroupBuys
) -> None:
    """Each member's points are held; the third join captures all three in one unit."""
    opened = buys.open(TEA, "ann", key="k-ann", group_id="g1")
    assert ("open", 2, 1) == (opened.status, opened.missing, buys.taken(TEA))
    buys.join("g1", "bo", key="k-bo")
    assert (100, 150) == (ledger.balance("bo").held, ledger.balance("bo").available)
    done = buys.join("g1", "cy", key="k-cy")
    assert ("completed", 0, ("ann", "bo", "cy")) == (done.status, done.missing, done.members)
    assert {HoldStatus.CAPTURED} == _statuses(ledger, "g1", buys)
    assert [150, 150, 150] == [ledger.balance(m).posted for m in ("ann", "bo", "cy")]
    assert 1 == buys.taken(TEA)
    _audit(ledger)


def test_joining_twice_is_refused_and_the_same_key_replays(buys: GroupBuys) -> None:
    """A member joins a group once; the same key returns the same group; another payload conflicts."""
    buys.open(TEA, "ann", key="k-ann", group_id="g1")
    with pytest.raises(GroupBuyRefusedError) as refused:
        buys.join("g1", "ann", key="k-ann-2")
    assert "already_joined" == refused.value.reason
    assert buys.open(TEA, "ann", key="k-ann", group_id="g1").replayed
    joined = buys.join("g1", "bo", key="k-bo")
    assert (True, joined.members) == (buys.join("g1", "bo", key="k-bo").replayed, joined.members)
    with pytest.raises(IdempotencyConflictError):
        buys.join("g1", "cy", key="k-bo")


def test_the_opener_cancels_releasing_every_hold_and_the_stock(
    ledger: Ledger, buys: GroupBuys
) -> None:
    """Only the opener cancels; every hold is released and the stock goes back; a replay returns it."""
    buys.open(TEA, "ann", key="k-ann", group_id="g1")
    buys.join("g1", "bo", key="k-bo")
    with pytest.raises(GroupBuyRefusedError, match="did not open"):
        buys.cancel("g1", "bo", key="c-1")
    cancelled = buys.cancel("g1", "ann", key="c-1")
    assert ("cancelled", {HoldStatus.RELEASED}, 0) == (
        cancelled.status,
        _statuses(ledger, "g1", buys),
        buys.taken(TEA),
    )
    assert buys.cancel("g1", "ann", key="c-1").replayed
    with pytest.raises(GroupBuyRefusedError) as refused:
        buys.join("g1", "cy", key="k-cy")
    assert "closed" == refused.value.reason
    assert [250, 250] == [ledger.balance(m).available for m in ("ann", "bo")]
    _audit(ledger)


def test_a_group_that_does_not_fill_times_out_as_one(
    ledger: Ledger, buys: GroupBuys, clock: FixedClock
) -> None:
    """Past the deadline a join is refused, and expire_due releases every hold in one unit."""
    buys.open(TEA, "ann", key="k-ann", group_id="g1")
    buys.join("g1", "bo", key="k-bo")
    clock.advance(timedelta(seconds=3_600))
    with pytest.raises(GroupBuyRefusedError) as refused:
        buys.join("g1", "cy", key="k-cy")
    assert "timed_out" == refused.value.reason
    run = buys.expire_due()
    assert (("g1",), 2) == (run.groups, run.holds_released)
    assert ("expired", {HoldStatus.RELEASED}, 0) == (
        buys.group("g1").status,
        _statuses(ledger, "g1", buys),
        buys.taken(TEA),
    )
    assert ((), 0) == (buys.expire_due().groups, ledger.expire_due().holds_expired)
    _audit(ledger)


def test_a_batch_of_other_holds_reports_complete_and_the_ledger_ends_the_group(
    ledger: Ledger, buys: GroupBuys, clock: FixedClock
) -> None:
    """Holds of no group filling the batch end nothing and say complete; no caller loops."""
    ledger.reserve("di", 10, key="other-hold", timeout_seconds=3_600 + 300)
    buys.open(TEA, "ann", key="k-ann", group_id="g1")
    clock.advance(timedelta(seconds=3_600))
    run = buys.expire_due(limit=1)  # the other hold comes first and fills the batch
    assert ((), 0, True) == (run.groups, run.holds_released, run.complete)
    assert "open" == buys.group("g1").status
    clock.advance(timedelta(seconds=600))  # the group's hold times out: the backstop
    ledger.expire_due()
    assert ("expired", 0) == (buys.group("g1").status, buys.taken(TEA))
    _audit(ledger)


def test_the_ledgers_own_timeout_ends_the_group_and_never_captures(
    ledger: Ledger, buys: GroupBuys, clock: FixedClock
) -> None:
    """If only Ledger.expire_due runs, the holds time out after the grace and the group expires."""
    buys.open(TEA, "ann", key="k-ann", group_id="g1")
    buys.join("g1", "bo", key="k-bo")
    clock.advance(timedelta(seconds=3_600 + 600))
    assert 2 == ledger.expire_due().holds_expired
    assert ("expired", {HoldStatus.EXPIRED}, 0) == (
        buys.group("g1").status,
        _statuses(ledger, "g1", buys),
        buys.taken(TEA),
    )
    _audit(ledger)


def test_a_hold_released_from_outside_fails_the_group(ledger: Ledger, buys: GroupBuys) -> None:
    """A host releasing one member's hold fails the group; expire releases the rest at once."""
    opened = buys.open(TEA, "ann", key="k-ann", group_id="g1")
    buys.join("g1", "bo", key="k-bo")
    ledger.release(opened.holds[0], key="host-release")
    assert ("failed", 0) == (buys.group("g1").status, buys.taken(TEA))
    with pytest.raises(GroupBuyRefusedError):
        buys.join("g1", "cy", key="k-cy")
    assert {HoldStatus.RELEASED} == {ledger.hold(h).status for h in buys.expire("g1").holds}
    _audit(ledger)


def test_a_short_member_refuses_the_completing_join_and_nothing_moves(
    ledger: Ledger, buys: GroupBuys
) -> None:
    """The filling join of a member without the points writes nothing: the others stay held."""
    ledger.redeem("cy", 200, key="spend-cy")
    buys.open(TEA, "ann", key="k-ann", group_id="g1")
    buys.join("g1", "bo", key="k-bo")
    with pytest.raises(InsufficientPointsError):
        buys.join("g1", "cy", key="k-cy")
    group = buys.group("g1")
    assert ("open", 2, {HoldStatus.OPEN}) == (
        group.status,
        len(group.members),
        _statuses(ledger, "g1", buys),
    )
    _audit(ledger)


def test_stock_is_taken_per_group_and_refuses_when_gone(buys: GroupBuys) -> None:
    """Two groups take the stock of 2 groups; a third is refused sold_out; unknown groups are not found."""
    buys.open(TEA, "ann", key="k1", group_id="g1")
    buys.open(TEA, "bo", key="k2", group_id="g2")
    with pytest.raises(GroupBuyRefusedError) as refused:
        buys.open(TEA, "cy", key="k3", group_id="g3")
    assert "sold_out" == refused.value.reason
    with pytest.raises(GroupBuyRefusedError, match="taken by another group"):
        buys.open(TEA, "cy", key="k4", group_id="g1")
    with pytest.raises(GroupBuyNotFoundError):
        buys.group("nope")
    units = GroupBuyDeal(
        "pair", "Pair", item="x", size=2, points=10, fill_seconds=60, stock=3, stock_unit="units"
    )
    buys.open(units, "cy", key="k5", group_id="u1")
    assert 2 == buys.taken(units)
    with pytest.raises(GroupBuyRefusedError, match="1 of 3 units left"):
        buys.open(units, "di", key="k6", group_id="u2")


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"size": 1}, "size: 1 must be from 2 to limits.GROUP_BUY_SIZE_MAX (100)"),
        ({"points": 0}, "points: 0 must be an int from 1 to 9223372036854775807"),
        ({"stock_unit": "boxes"}, "stock_unit: 'boxes' must be 'groups' or 'units'"),
        ({"cash": 9.9}, "cash: 9.9 must be Money or None"),
    ],
)
def test_bad_deals_are_refused_naming_the_field(options: dict[str, object], problem: str) -> None:
    """Each bad field of a deal is one problem line naming it."""
    fields: dict[str, object] = {
        "item": "x",
        "size": 2,
        "points": 10,
        "fill_seconds": 60,
        **options,
    }
    with pytest.raises(ConfigurationError) as error:
        GroupBuyDeal("d", "D", **fields)  # type: ignore[arg-type]
    assert (problem,) == error.value.problems


def test_the_programme_file_section_reads_into_deals() -> None:
    """``[[group_buys]]`` reads into deals; problems carry their paths."""
    reader = ConfigReader()
    deals = read_group_buys(
        reader,
        [
            {
                "id": "tea",
                "name": "Tea",
                "item": "tea-box",
                "size": 3,
                "points": 800,
                "cash": "9.90 CNY",
                "fill_seconds": 86_400,
                "stock": 5,
            }
        ],
        "points",
    )
    assert ([], Money("9.90", "CNY"), 5) == (
        reader.problems,
        deals[0].cash if deals else None,
        deals[0].stock if deals else None,
    )
    bad = ConfigReader()
    assert None is read_group_buys(
        bad,
        [
            {
                "id": "t",
                "name": "T",
                "item": "x",
                "size": 0,
                "points": 1,
                "fill_seconds": 1,
                "colour": 1,
            }
        ],
        "points",
    )
    assert [
        "group_buys[0].colour: unknown field; valid fields are 'id', 'name', 'item', 'size', 'points', 'fill_seconds', 'cash', 'currency', 'stock', 'stock_unit', 'hold_grace_seconds', 'starts_at', 'ends_at'",
        "group_buys[0].size: 0 must be from 2 to limits.GROUP_BUY_SIZE_MAX (100)",
    ] == bad.problems


MEMBERS = ("ann", "bo", "cy", "di")
PAIR = GroupBuyDeal(
    "pair", "Pair", item="x", size=2, points=40, fill_seconds=100, stock=3, hold_grace_seconds=50
)
TRIO = GroupBuyDeal(
    "trio",
    "Trio",
    item="y",
    size=3,
    points=30,
    fill_seconds=200,
    stock=6,
    stock_unit="units",
    hold_grace_seconds=50,
)


class GroupBuyMachine(RuleBasedStateMachine):
    """Open, join, cancel and time out groups in any order; each group is all captured or all released."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = FixedClock(START)
        self.ledger = Ledger(MemoryStorage(), clock=self.clock)
        self.buys = GroupBuys(self.ledger, [PAIR, TRIO])
        for member in MEMBERS:
            self.ledger.earn(member, 200, key=f"seed-{member}")
        self.groups: dict[str, GroupBuyDeal] = {}
        self.count = 0

    def _key(self) -> str:
        self.count += 1
        return f"k{self.count}"

    @rule(deal=st.sampled_from([PAIR, TRIO]), member=st.sampled_from(MEMBERS))
    def open_group(self, deal: GroupBuyDeal, member: str) -> None:
        """Open a group (refusals write nothing)."""
        group_id = f"g{len(self.groups)}"
        try:
            self.buys.open(deal, member, key=self._key(), group_id=group_id)
        except PointkitError:
            return
        self.groups[group_id] = deal

    @rule(index=st.integers(0, 9), member=st.sampled_from(MEMBERS))
    def join(self, index: int, member: str) -> None:
        """Join a group, whatever state it is in."""
        if self.groups:
            group_id = sorted(self.groups)[index % len(self.groups)]
            with contextlib.suppress(PointkitError):
                self.buys.join(group_id, member, key=self._key())

    @rule(index=st.integers(0, 9))
    def cancel(self, index: int) -> None:
        """The opener cancels a group."""
        if self.groups:
            group_id = sorted(self.groups)[index % len(self.groups)]
            with contextlib.suppress(PointkitError):
                self.buys.cancel(group_id, self.buys.group(group_id).opener, key=self._key())

    @rule(seconds=st.integers(1, 300), sweep=st.sampled_from(["groups", "ledger", "none"]))
    def time_passes(self, seconds: int, sweep: str) -> None:
        """Time passes; the group sweep, the ledger's sweep, or nothing runs."""
        self.clock.advance(timedelta(seconds=seconds))
        if sweep == "groups":
            self.buys.expire_due()
        elif sweep == "ledger":
            self.ledger.expire_due()

    @invariant()
    def all_captured_or_all_released(self) -> None:
        """No group has a captured hold beside any other state; completed ones capture all."""
        for group_id in self.groups:
            group = self.buys.group(group_id)
            statuses = {self.ledger.hold(hold).status for hold in group.holds}
            if HoldStatus.CAPTURED in statuses:
                assert ({HoldStatus.CAPTURED}, "completed", group.size) == (
                    statuses,
                    group.status,
                    len(group.members),
                )
            if group.status in ("cancelled", "expired", "failed"):
                assert HoldStatus.CAPTURED not in statuses

    @invariant()
    def points_and_stock_add_up(self) -> None:
        """Each member's points are 200 less 1 price a completed group; stock is what live groups hold."""
        paid = dict.fromkeys(MEMBERS, 0)
        taken = {"pair": 0, "trio": 0}
        for group_id, deal in self.groups.items():
            group = self.buys.group(group_id)
            if group.status == "completed":
                for member in group.members:
                    paid[member] += deal.points
            if group.status in ("open", "completed"):
                taken[deal.id] += deal.stock_taken_per_group
        assert paid == {m: 200 - self.ledger.balance(m).posted for m in MEMBERS}
        assert taken == {"pair": self.buys.taken(PAIR), "trio": self.buys.taken(TRIO)}

    def teardown(self) -> None:
        """The programme's audit passes at the end of every run."""
        _audit(self.ledger)


GroupBuyMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)
test_group_buy_machine = GroupBuyMachine.TestCase

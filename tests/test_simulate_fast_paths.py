"""The shortcuts on the simulator's hot path give what the long ways give, byte for byte."""

from __future__ import annotations

import gc
import hashlib
import pickle
import threading
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pytest

from pointkit import FixedClock, Ledger, MemberId
from pointkit._localtime import checked_wall, resolve
from pointkit._validate import check_aware
from pointkit.campaigns import (
    AntiCheat,
    CountGoal,
    Mission,
    MissionBook,
    MissionReward,
    VelocityRule,
)
from pointkit.campaigns._guard import _digest
from pointkit.exceptions import InvalidArgumentError, NaiveDatetimeError
from pointkit.features import Earning
from pointkit.ledger._records import _EPOCH, _MILLISECOND, Lot, lot_id_for, transaction_id_for
from pointkit.ledger._storage import WalletState
from pointkit.program import load_config
from pointkit.rules import (
    Cap,
    Counter,
    Event,
    Fixed,
    MemberContext,
    Rule,
    RuleSet,
    RuleState,
    period_key,
)
from pointkit.rules._ruleset import _state_keys
from pointkit.simulate import Run, simulate_run, typical_population
from pointkit.simulate._engine import _Simulation
from pointkit.storage import MemoryStorage
from pointkit.tiers._policy import ReviewYearlyOn, _midnight
from test_simulate import _eager


if TYPE_CHECKING:
    from pointkit._values import ProgramId


MALL = Path(__file__).parent.parent / "examples" / "points_mall.toml"
NEW_YORK = ZoneInfo("America/New_York")
SHANGHAI = ZoneInfo("Asia/Shanghai")
# Around the autumn fold in New York (01:00 to 02:00 local twice on 2026-11-01) and a spring gap.
INSTANTS = [
    datetime(2026, 11, 1, 5, 30, tzinfo=UTC),
    datetime(2026, 11, 1, 6, 30, tzinfo=UTC),
    datetime(2026, 11, 1, 1, 30, tzinfo=NEW_YORK),
    datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=NEW_YORK),
    datetime(2026, 3, 8, 6, 59, 59, 999_999, tzinfo=UTC),
    datetime(2026, 3, 8, 7, tzinfo=UTC),
    datetime(2026, 12, 31, 23, 59, 59, 999_999, tzinfo=timezone(timedelta(hours=-5))),
    datetime(1969, 12, 31, 23, 59, 59, 999_000, tzinfo=UTC),
    datetime(1, 1, 1, 14, tzinfo=UTC),
    datetime(9999, 12, 31, 9, tzinfo=UTC),
]


def _uuid7_the_long_way(at: datetime, seed: bytes) -> uuid.UUID:
    millis = (at - _EPOCH) // _MILLISECOND
    digest = int.from_bytes(hashlib.sha256(seed).digest()[:10], "big")
    rand_a, rand_b = digest >> 68, digest & ((1 << 62) - 1)
    value = (millis & ((1 << 48) - 1)) << 80 | 0x7 << 76 | rand_a << 64 | 0b10 << 62 | rand_b
    return uuid.UUID(int=value)


def test_ids_are_the_uuids_uuid_builds() -> None:
    """Transaction and lot ids equal, print and pickle as uuid.UUID(int=...) built afresh."""
    for at in [*INSTANTS, INSTANTS[0], INSTANTS[0] + timedelta(microseconds=999)]:
        for key in ("order-1", "pointkit:event:e-1:sign-in", "ключ"):
            made = transaction_id_for(key, at)
            expected = _uuid7_the_long_way(at, key.encode())
            assert expected == made
            assert (str(expected), hash(expected), expected.is_safe) == (
                str(made),
                hash(made),
                made.is_safe,
            )
            assert expected == pickle.loads(pickle.dumps(made))  # noqa: S301 - our own bytes
            lot = lot_id_for(made, 3, at)
            assert _uuid7_the_long_way(at, made.bytes + (3).to_bytes(4, "big")) == lot


def test_an_equal_instant_in_another_object_gets_its_own_time() -> None:
    """The kept time part is found by identity: an equal instant in another zone agrees."""
    at = datetime(2026, 3, 1, 12, tzinfo=UTC)
    same = at.astimezone(SHANGHAI)
    assert transaction_id_for("k", at) == transaction_id_for("k", same)
    later = at + timedelta(milliseconds=5)
    assert _uuid7_the_long_way(later, b"k") == transaction_id_for("k", later)
    assert _uuid7_the_long_way(at, b"k") == transaction_id_for("k", at)


def test_check_aware_returns_a_utc_datetime_as_astimezone_does() -> None:
    """A UTC datetime comes back as itself, as astimezone(UTC) gives it; others as before."""
    for at in INSTANTS:
        assert at.astimezone(UTC) == check_aware("at", at)
        assert at.astimezone(UTC).tzinfo is check_aware("at", at).tzinfo
    utc = datetime(2026, 3, 1, 12, fold=1, tzinfo=UTC)
    assert utc.astimezone(UTC) is check_aware("at", utc)
    with pytest.raises(NaiveDatetimeError, match=r"at=datetime\.datetime"):
        check_aware("at", datetime(2026, 3, 1))  # noqa: DTZ001 - the naive case


def test_a_clock_shows_what_it_was_set_to_from_other_threads() -> None:
    """FixedClock.now reads without the lock: every reader sees a time it was set to."""
    clock = FixedClock(datetime(2026, 1, 1, tzinfo=UTC))
    times = [datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=n) for n in range(2000)]
    seen: list[datetime] = []

    def read() -> None:
        seen.extend(clock.now() for _ in range(2000))

    reader = threading.Thread(target=read)
    reader.start()
    for at in times:
        clock.set(at)
    reader.join()
    assert set(seen) <= {*times, datetime(2026, 1, 1, tzinfo=UTC)}
    assert times[-1] == clock.now()


def _book(zone: str) -> MissionBook:
    mission = Mission(
        "weekly",
        "3 sign-ins a week",
        CountGoal({"sign_in"}, 3),
        MissionReward(points=5),
        period="week",
    )
    return MissionBook((mission,), zone=zone)


@pytest.mark.parametrize("zone", ["America/New_York", "Asia/Shanghai", "UTC"])
def test_a_books_periods_are_the_periods_of_the_wall_time(zone: str) -> None:
    """period_of, kept per instant, gives what the wall time's date gives, asked twice."""
    book, program_zone = _book(zone), ZoneInfo(zone)
    for _ in range(2):
        for at in INSTANTS[:-2]:
            for period in ("day", "week", "month", "lifetime"):
                wall = checked_wall("at", check_aware("at", at), program_zone)
                assert period_key(period, wall.date()) == book.period_of(period, at)


def test_a_book_refuses_a_naive_or_far_instant_every_time() -> None:
    """A refused instant is refused again: nothing about it is kept."""
    book = _book("Asia/Shanghai")
    for _ in range(2):
        with pytest.raises(NaiveDatetimeError):
            book.period_of("day", datetime(2026, 3, 1))  # noqa: DTZ001 - the naive case
        with pytest.raises(InvalidArgumentError, match="out of range"):
            book.period_of("day", datetime(9999, 12, 31, 20, tzinfo=UTC))


def test_state_keys_kept_per_day_are_the_keys_computed_afresh() -> None:
    """A kind's state keys, kept per local day, equal a fresh computation for every event."""
    config = load_config(MALL)
    rules = config.rules
    assert rules is not None
    start = datetime(2026, 3, 1, 1, tzinfo=UTC)
    for hour in range(0, 24 * 40, 7):
        at = start + timedelta(hours=hour)
        for event in (
            Event.sign_in(f"s-{hour}", "alice", at),
            Event.share(f"h-{hour}", "bob", at),
            Event.review(f"r-{hour}", "carol", at, length=40, rating=5),
        ):
            plan = rules._plan(event.kind)
            if not plan.enabled:
                continue
            fresh = _state_keys(plan, event, rules._local_date(event))
            assert fresh == rules.state_keys(event)
            assert fresh == rules.state_keys(event)


def test_a_rule_counted_once_per_value_reads_its_own_keys() -> None:
    """A kind with a once_per rule is not kept per day: each event gets its own once key."""
    rules = RuleSet(
        [
            Rule("invite", ("invitee_registered",), Fixed(50), once_per="invitee"),
            Rule("daily", ("invitee_registered",), Fixed(1), caps=(Cap("day", 3),)),
        ],
        zone="UTC",
    )
    at = datetime(2026, 3, 1, 9, tzinfo=UTC)
    first = rules.state_keys(Event.invitee_registered("i-1", "alice", at, invitee="x"))
    second = rules.state_keys(Event.invitee_registered("i-2", "alice", at, invitee="y"))
    assert first != second
    assert not rules._plan("invitee_registered").by_day


def test_velocity_digests_are_the_sha256_of_the_subject() -> None:
    """The kept digest of a velocity count is the SHA-256 the long way gives."""
    for by, subject in [(None, "alice"), ("", "alice"), ("device", "dev-1"), (None, "alice")]:
        long_way = hashlib.sha256(f"{by or ''}\x00{subject}".encode()).hexdigest()[:24]
        assert long_way == _digest(by, subject)


def test_review_dates_are_resolved_local_midnights() -> None:
    """A kept review midnight is the instant resolve gives for it, in each zone."""
    for zone in (NEW_YORK, SHANGHAI, ZoneInfo("America/Sao_Paulo")):
        for year, month, day in [(2026, 1, 1), (2026, 7, 1), (2018, 11, 4), (2026, 11, 1)]:
            long_way = resolve(datetime(year, month, day), zone)  # noqa: DTZ001 - a wall time
            assert long_way == _midnight(year, month, day, zone)
            assert long_way == _midnight(year, month, day, zone)
    policy = ReviewYearlyOn(((1, 1), (7, 1)))
    after = datetime(2026, 3, 1, tzinfo=UTC)
    assert resolve(datetime(2026, 7, 1), NEW_YORK) == policy.next_after(after, after, NEW_YORK)  # noqa: DTZ001


def test_a_rule_state_from_a_dict_is_the_state_from_its_pairs() -> None:
    """Counters given as a plain dict build the state their pairs (and a mapping) build."""
    counters = {("rule:a", "day:2026-03-01"): (5, 1), ("program", "lifetime"): (9, 2)}
    as_dict = {key: Counter(*value) for key, value in counters.items()}
    pairs = list(as_dict.items())
    assert RuleState(MemberContext(), counters=pairs) == RuleState(
        MemberContext(), counters=as_dict
    )


def test_one_wallet_locks_as_several_do() -> None:
    """Locking one wallet gives the row (or a new state) the sorting path gives."""
    storage = MemoryStorage()
    key = (MemberId("alice"), "points")
    with storage.writing("p") as unit:  # type: ignore[arg-type]
        assert {key: WalletState(*key)} == unit.lock_wallets([key])
        assert {key: WalletState(*key)} == unit.lock_wallets((key, key))


def test_a_failed_unit_rolls_back_and_frees_the_storage() -> None:
    """An error in a unit rolls its writes back and releases the lock for the next unit."""
    storage = MemoryStorage()
    program = "p"
    with (  # noqa: PT012 - the error ends the unit
        pytest.raises(RuntimeError, match="boom"),
        storage.writing(program) as unit,  # type: ignore[arg-type]
    ):
        unit.lock_budgets(["b"])
        raise RuntimeError("boom")
    done = threading.Event()

    def other() -> None:
        with storage.reading(program) as unit:  # type: ignore[arg-type]
            assert {} == unit.budgets(["b"])
        done.set()

    thread = threading.Thread(target=other)
    thread.start()
    thread.join(timeout=10)
    assert done.is_set()
    with storage.reading(program) as unit:  # type: ignore[arg-type]
        assert {} == unit.budgets(["b"])


def test_the_currencies_an_event_locks_are_worked_out_per_rule_set() -> None:
    """Kept per kind, the wallets an event locks are the long way's, for each rule set given."""
    ledger = Ledger(MemoryStorage(), clock=FixedClock(datetime(2026, 3, 1, tzinfo=UTC)))
    earning = Earning(ledger, lock_currencies=("points",))
    config = load_config(MALL)
    for rules in (config.rules, RuleSet([Rule("s", ("sign_in",), Fixed(5))], zone="UTC")):
        assert rules is not None
        for kind in ("sign_in", "share", "purchase", "review"):
            names = rules.rules_for(kind)
            long_way = sorted(
                {ledger.currency(rules.rule(name).currency) for name in names} | {"points"}
            )
            assert long_way == earning._codes_for(rules, kind)
            assert long_way == earning._codes_for(rules, kind)


def test_a_coupon_rule_without_an_issuer_is_refused_every_time() -> None:
    """A refusal is not kept: the same rule set is refused again."""
    ledger = Ledger(MemoryStorage(), clock=FixedClock(datetime(2026, 3, 1, tzinfo=UTC)))
    rules = RuleSet([Rule("s", ("sign_in",), Fixed(5), coupon="welcome")], zone="UTC")
    earning = Earning(ledger)
    for _ in range(2):
        with pytest.raises(InvalidArgumentError, match="coupons=None"):
            earning.record(Event.sign_in("e-1", "alice", ledger.clock.now()), rules)


def _names_the_long_way(guard: AntiCheat, event: Event) -> tuple[str, ...]:
    return tuple(
        sorted({n for rule in guard.velocity if (n := rule.count_name(event)) is not None})
    )


def test_velocity_counts_kept_for_the_last_event_are_its_own() -> None:
    """Counts and screenings equal the long way's, whichever guard and event came before."""
    at = datetime(2026, 3, 1, 9, 5, tzinfo=UTC)
    strict = AntiCheat(velocity=(VelocityRule("burst", ("sign_in",), 1, per="minute"),))
    loose = AntiCheat(
        velocity=(
            VelocityRule("burst", ("sign_in", "share"), 5, per="hour", action="review"),
            VelocityRule("device", ("sign_in",), 2, by="device"),
        )
    )
    events = [
        Event("e-1", "sign_in", "alice", at, {"device": "d-1"}),
        Event("e-2", "sign_in", "bob", at + timedelta(minutes=1)),
        Event("e-3", "share", "alice", at),
    ]
    for event in [*events, *reversed(events)]:
        for guard in (strict, loose, strict):
            names = _names_the_long_way(guard, event)
            assert names == guard.counts(event)
            for used in (0, 1, 5):
                screening = guard.screen(event, dict.fromkeys(names, used))
                assert names == tuple(name for name, _ in screening.counts)
                over = [
                    rule
                    for rule in guard.velocity
                    if rule.count_name(event) is not None and used + 1 > rule.limit
                ]
                expected = next(
                    (
                        (action, rule.name)
                        for action in ("refuse", "review")
                        for rule in over
                        if rule.action == action
                    ),
                    ("allow", None),
                )
                assert expected == (screening.outcome, screening.rule)


def test_open_lots_stay_in_spending_order_as_insort_keeps_them() -> None:
    """Lots appended at the end of a wallet's open lots are where insort would put them."""
    storage = MemoryStorage()
    start = datetime(2026, 3, 1, tzinfo=UTC)
    ledger = Ledger(storage, clock=FixedClock(start))
    for number, days in enumerate([30, 10, 30, 60, 5, 60, 90, 1, 90]):
        ledger.earn(
            "alice", 10, key=f"e-{number}", expires_at=start + timedelta(days=days, hours=1)
        )
    ledger.earn("alice", 10, key="e-never")
    ledger.redeem("alice", 25, key="r-1")
    data = storage._programs[ledger.program]
    entries = data.open_lots[(MemberId("alice"), "points")]
    assert sorted(entries) == entries
    expected = sorted((lot.fifo_key(), lot.id) for lot in data.lots.values() if lot.remaining > 0)
    assert expected == entries


def _run_watching_the_collector() -> tuple[Run, list[tuple[bool, int]]]:
    """A short simulation, and the collector's state (on, frozen objects) after each day."""
    seen: list[tuple[bool, int]] = []
    run = simulate_run(
        load_config(MALL),
        typical_population(),
        members=40,
        days=3,
        start=date(2026, 6, 29),
        seed=7,
        progress=lambda _: seen.append((gc.isenabled(), gc.get_freeze_count())),
    )
    return run, seen


def test_a_run_without_automatic_collection_is_the_run_with_it() -> None:
    """Collection is off during a run and back as it was after; the figures are the same."""
    assert gc.isenabled()
    assert 0 == gc.get_freeze_count()
    fast, seen = _run_watching_the_collector()
    assert 3 == len(seen)
    assert all(not enabled and frozen > 0 for enabled, frozen in seen)
    assert (True, 0) == (gc.isenabled(), gc.get_freeze_count())
    # The long way: a host that froze objects itself is left alone, collector on.
    gc.freeze()
    try:
        slow, seen = _run_watching_the_collector()
    finally:
        gc.unfreeze()
    assert all(enabled for enabled, _ in seen)
    assert fast == slow
    gc.disable()
    try:
        _run_watching_the_collector()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_balances_read_once_a_day_pick_whom_fresh_reads_pick(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Reusing the day's first read of posted balances for its draws changes no figure."""
    population = _eager()  # members who redeem and draw most days: both phases read balances

    def run() -> Run:
        return simulate_run(
            load_config(MALL), population, members=60, days=45, start=date(2026, 1, 1), seed=3
        )

    kept = run()
    assert any(day.redeemed for day in kept.days)
    assert any(day.draws for day in kept.days)
    monkeypatch.setattr(_Simulation, "posted_on", lambda self, _number: self.posted())
    assert run() == kept


def _due_lots_the_long_way(
    storage: MemoryStorage, program: ProgramId, now: datetime, limit: int
) -> tuple[list[Lot], datetime]:
    """Every open lot past its expiry with free points, and the soonest expiry, by a full walk."""
    data = storage._programs[program]
    due: list[Lot] = []
    soonest = datetime.max.replace(tzinfo=UTC)
    for entries in data.open_lots.values():
        for (never, expires_at, _, _), lot_id in entries:
            if never:
                break
            soonest = min(soonest, expires_at)
            if expires_at > now:
                break
            lot = data.lots[lot_id]
            if lot.free > 0:
                due.append(lot)
    due.sort(key=lambda lot: (lot.expires_at, lot.id.int))
    return due[:limit], soonest


def test_due_lots_are_those_a_full_walk_finds_in_expiry_then_id_order() -> None:
    """due_lots, walking only as far as each wallet's first lot says, finds what a walk finds."""
    storage = MemoryStorage()
    start = datetime(2026, 3, 1, tzinfo=UTC)
    clock = FixedClock(start)
    ledger = Ledger(storage, clock=clock)
    for member in ("alice", "bob", "carol", "dave"):
        for number, days in enumerate([3, 1, 3, 7, 2, 30]):
            ledger.earn(
                member, 10, key=f"{member}-{number}", expires_at=start + timedelta(days=days)
            )
    ledger.earn("alice", 10, key="alice-never")
    ledger.earn("erin", 10, key="erin-never")
    ledger.reserve("bob", 15, key="bob-hold", timeout_seconds=3600)  # held: not due now
    data = storage._programs[ledger.program]
    for days in (0, 1, 2, 3, 5, 8, 31):
        for limit in (1, 3, 7, 100):
            now = start + timedelta(days=days)
            data.quiet_until = None  # a pass, not the bound of the last one
            expected, soonest = _due_lots_the_long_way(storage, ledger.program, now, limit)
            with storage.reading(ledger.program) as unit:
                assert expected == list(unit.due_lots(now, limit))
            assert soonest == data.quiet_until


def test_due_lots_between_batches_are_those_a_full_walk_finds() -> None:
    """Asked again at one instant, due_lots finds what a full walk finds.

    Through batches that expire lots, a hold that takes a due lot's points and gives them
    back, a unit rolled back, and a lot opened since with an earlier expiry.
    """
    storage = MemoryStorage()
    start = datetime(2026, 3, 1, tzinfo=UTC)
    clock = FixedClock(start)
    ledger = Ledger(storage, clock=clock)
    for member in ("alice", "bob", "carol"):
        for number, days in enumerate([1, 2, 2, 3, 40]):
            ledger.earn(
                member, 10, key=f"{member}-{number}", expires_at=start + timedelta(days=days)
            )
    program = ledger.program
    # Held from before they are due: bob's soonest lot and half the next stay held.
    hold = ledger.reserve("bob", 15, key="bob-hold", timeout_seconds=10 * 86_400)
    now = start + timedelta(days=5)
    clock.set(now)

    def check(limit: int) -> None:
        expected, _ = _due_lots_the_long_way(storage, program, now, limit)
        with storage.reading(program) as unit:
            assert expected == list(unit.due_lots(now, limit))

    for limit in (0, 2, 100):
        check(limit)
    assert 4 == ledger.expire_due(limit=1).lots_expired  # alice's due lots
    check(3)
    check(100)

    def rolled_back() -> None:
        with ledger.linked() as link:
            link.earn("dave", 5, key="dave-0", expires_at=now + timedelta(days=1))
            raise RuntimeError  # the unit rolls back

    with pytest.raises(RuntimeError):
        rolled_back()
    check(100)
    ledger.release(hold.id, key="bob-release")
    check(100)
    # A lot opened since the pass, already due: another writer, its clock behind.
    late = Ledger(storage, clock=FixedClock(start))
    assert program == late.program
    late.earn("erin", 5, key="erin-0", expires_at=start + timedelta(hours=1))
    check(1)
    check(100)
    while not ledger.expire_due(limit=3).complete:
        check(100)
    check(100)
    expected, _ = _due_lots_the_long_way(storage, program, now, 100)
    assert [] == expected

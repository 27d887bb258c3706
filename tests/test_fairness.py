"""Provably fair draws and the public feed: nonces per seed pair, dry runs, verification, privacy."""

from __future__ import annotations

import copy
import json
import uuid
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from functools import partial
from typing import TYPE_CHECKING, Any

import attrs
import pytest

from pointkit import FixedClock, Ledger, MemoryStorage, Money
from pointkit.exceptions import (
    ArgumentTypeError,
    DrawNotFoundError,
    FairnessError,
    InvalidArgumentError,
    PointkitError,
)
from pointkit.features import DrawResult, Draws
from pointkit.pricing import (
    DrawRecord,
    FairnessProof,
    Lottery,
    Pity,
    Prize,
    ProvablyFair,
    Valuation,
    fair_value,
    verify,
)
from pointkit.pricing._lottery_records import FEED_START, check_feed
from pointkit.program import Program, ProgramConfig
from races import race


if TYPE_CHECKING:
    from collections.abc import Callable

    from pointkit.ledger import Storage


SEED = bytes(range(32))
KEY = bytes(range(100, 132))


def _wheel() -> Lottery:
    """A 100-point draw: a phone (1 in stock), 150 points back, or a coupon; pity in 4."""
    return Lottery(
        "wheel",
        "Wheel",
        100,
        [
            Prize("phone", "Phone", Fraction(1, 10), stock=1, cost=Money(3_000, "CNY")),
            Prize("back", "150 points", Fraction(2, 10), kind="points", points=150),
            Prize("coupon", "Coupon", Fraction(7, 10), kind="coupon", cost=Money(5, "CNY")),
        ],
        participation="coupon",
        pity=Pity(["phone", "back"], hard=4),
        valuation=Valuation(100, Money(1, "CNY")),
    )


@pytest.fixture
def draws(any_storage: Storage, clock: FixedClock) -> Draws:
    """Draws on a ledger on each adapter in turn, in a program of its own."""
    return Draws(Ledger(any_storage, clock=clock, program=f"fair-{uuid.uuid4().hex[:8]}"))


def _fair_records(count: int, *, client_seed: str = "house") -> tuple[Lottery, list[DrawRecord]]:
    """*count* fair draws by alice and bob in turn on one seed pair, on an in-memory ledger."""
    clock = FixedClock(datetime(2026, 3, 1, 2, 0, tzinfo=UTC))
    ledger = Ledger(MemoryStorage(), clock=clock)
    draws, wheel = Draws(ledger), _wheel()
    for member in ("alice", "bob"):
        ledger.earn(member, 100_000, key=f"e-{member}")
    fair = ProvablyFair(SEED, client_seed=client_seed)
    records = []
    for n in range(count):
        member = ("alice", "bob")[n % 2]
        records.append(draws.draw(member, wheel, draw_id=f"d{n}", minor=False, random=fair).record)
        clock.advance(timedelta(minutes=1))
    return wheel, records


def _feed(records: list[DrawRecord], key: bytes = KEY) -> list[dict[str, Any]]:
    """The records as a chained public feed."""
    entries, previous = [], FEED_START
    for record in records:
        entries.append(record.public(key=key, previous=previous))
        previous = entries[-1]["digest"]
    return entries


# -- 3a: nonces count per (server seed, client seed) -----------------------------------------


def test_members_sharing_a_client_seed_never_share_a_nonce(draws: Draws) -> None:
    """Two members on one client seed continue one nonce sequence: no value is drawn twice."""
    for member in ("alice", "bob"):
        draws.ledger.earn(member, 10_000, key=f"e-{member}")
    fair = ProvablyFair(SEED, client_seed="house")
    wheel = _wheel()
    proofs = [
        draws.draw(member, wheel, draw_id=f"d{n}", minor=False, random=fair).record.fairness
        for n, member in enumerate(["alice", "bob", "bob", "alice"])
    ]
    assert [0, 1, 2, 3] == [proof.nonce for proof in proofs if proof is not None]
    other = ProvablyFair(SEED, client_seed="other")
    record = draws.draw("bob", wheel, draw_id="o", minor=False, random=other).record
    assert record.fairness is not None
    assert 0 == record.fairness.nonce  # another pair counts from 0


def test_concurrent_draws_on_one_pair_use_distinct_nonces(sqlite_storage: Storage) -> None:
    """Eight members drawing at once on one seed pair get eight different nonces."""
    clock = FixedClock(datetime(2026, 3, 1, 2, 0, tzinfo=UTC))
    ledger = Ledger(sqlite_storage, clock=clock, program=f"race-{uuid.uuid4().hex[:8]}")
    draws = Draws(ledger)
    members = [f"m{n}" for n in range(8)]
    for member in members:
        ledger.earn(member, 1_000, key=f"e-{member}")
    fair = ProvablyFair(SEED, client_seed="house")
    outcomes = race(
        [
            partial(draws.draw, m, _wheel(), draw_id=f"d-{m}", minor=False, random=fair)
            for m in members
        ]
    )
    proofs = [
        outcome.record.fairness
        for outcome in outcomes
        if isinstance(outcome, DrawResult) and outcome.record.fairness is not None
    ]
    assert list(range(8)) == sorted(proof.nonce for proof in proofs)


def test_the_nonce_rows_pass_the_programme_audit() -> None:
    """The per-pair nonce rows are budgets the audit recomputes from the draws' records."""
    wheel = _wheel()
    mall = Program(
        ProgramConfig(id="mall", zone="Asia/Shanghai", lotteries=[wheel]),
        storage=MemoryStorage(),
        clock=FixedClock(datetime(2026, 3, 1, 2, 0, tzinfo=UTC)),
    )
    fair = ProvablyFair(SEED, client_seed="house")
    for member in ("alice", "bob"):
        mall.adjust(member, 1_000, key=f"gift-{member}", reason="gift")
        mall.draw(member, "wheel", draw_id=f"d-{member}", minor=False, random=fair)
    report = mall.audit()
    assert (2, 0) == (report.budgets, report.not_recomputed)  # the phone's stock, the pair


# -- 3b: dry runs never reveal a fair value --------------------------------------------------


def test_a_dry_run_refuses_a_fair_source_and_uses_no_nonce(draws: Draws) -> None:
    """A fair dry run is refused before anything is drawn; the next real draw gets nonce 0."""
    draws.ledger.earn("alice", 10_000, key="e")
    wheel, fair = _wheel(), ProvablyFair(SEED, client_seed="g0")
    with pytest.raises(InvalidArgumentError, match="cannot be used in a dry run"):
        draws.draw("alice", wheel, draw_id="peek", minor=False, random=fair, dry_run=True)
    record = draws.draw("alice", wheel, draw_id="real", minor=False, random=fair).record
    assert record.fairness is not None
    assert 0 == record.fairness.nonce


def test_previewing_client_seeds_through_the_program_learns_nothing() -> None:
    """The reported attack: dry runs over client seeds g0, g1, ... are all refused."""
    mall = Program(
        ProgramConfig(id="mall", zone="Asia/Shanghai", lotteries=[_wheel()]),
        storage=MemoryStorage(),
        clock=FixedClock(datetime(2026, 3, 1, 2, 0, tzinfo=UTC)),
    )
    mall.adjust("alice", 1_000, key="gift", reason="gift")
    for n in range(20):
        fair = ProvablyFair(SEED, client_seed=f"g{n}")
        with pytest.raises(InvalidArgumentError, match="cannot be used in a dry run"):
            mall.draw("alice", "wheel", draw_id=f"p{n}", minor=False, random=fair, dry_run=True)
    assert 1_000 == mall.balance("alice").posted


def test_a_dry_run_with_the_default_source_writes_nothing(draws: Draws) -> None:
    """A dry run makes the whole draw and rolls it back: no points, record, stock or nonce."""
    draws.ledger.earn("alice", 10_000, key="e")
    wheel = _wheel()
    result = draws.draw("alice", wheel, draw_id="dry", minor=False, dry_run=True)
    assert 100 == result.record.cost
    assert 10_000 == draws.ledger.balance("alice").posted
    with pytest.raises(DrawNotFoundError):
        draws.record("dry")
    assert {"phone": 0} == draws.sold(wheel)
    assert 100 == draws.draw("alice", wheel, draw_id="dry", minor=False).record.cost


# -- 3c: every field of a record is covered --------------------------------------------------


def _pity_record(records: list[DrawRecord]) -> DrawRecord:
    """A record drawn at a pity counter above 0 that did not reset it (it won the coupon)."""
    return next(r for r in records if r.pity_before > 0 and r.pity_after == r.pity_before + 1)


TAMPERED_FIELDS: list[tuple[str, Callable[[Any], Any]]] = [
    ("lottery", lambda _: "other"),
    ("cost", lambda old: old - 1),
    ("prize", lambda _: "back"),
    ("kind", lambda _: "goods"),
    ("points_back", lambda _: 150),
    ("table_hash", lambda _: "0" * 64),
    ("odds", lambda old: tuple((prize, weight + (prize == "back")) for prize, weight in old)),
    ("value", lambda old: old - 1),
    ("pity_before", lambda old: old + 1),
    ("pity_after", lambda _: 0),
    ("sold_out", lambda old: () if old else ("phone",)),
]


@pytest.mark.parametrize(("name", "change"), TAMPERED_FIELDS)
def test_verify_with_the_table_names_a_tampered_field(
    name: str, change: Callable[[Any], Any]
) -> None:
    """A change to any field the seeds and the table determine fails verification."""
    wheel, records = _fair_records(12)
    record = _pity_record(records)
    verify(record, SEED, lottery=wheel)
    tampered = attrs.evolve(record, **{name: change(getattr(record, name))})
    assert tampered != record
    with pytest.raises(FairnessError) as raised:
        verify(tampered, SEED, lottery=wheel)
    assert raised.value.problems


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("commitment", "0" * 64),
        ("client_seed", "guest"),
        ("nonce", 40),
        ("bound", 20),
        ("value", 9),
    ],
)
def test_verify_names_a_tampered_proof(name: str, value: object) -> None:
    """A change to any field of the proof fails verification."""
    wheel, records = _fair_records(4)
    record = records[1]
    assert record.fairness is not None
    changes: dict[str, Any] = {name: value}
    tampered = attrs.evolve(record, fairness=attrs.evolve(record.fairness, **changes))
    with pytest.raises(FairnessError):
        verify(tampered, SEED, lottery=wheel)


def _set(entry: dict[str, Any], path: str, value: object) -> None:
    """Set *entry*'s field at the dotted *path*."""
    *parents, last = path.split(".")
    for parent in parents:
        entry = entry[parent]
    entry[last] = value


def _get(entry: dict[str, Any], path: str) -> Any:  # noqa: ANN401 - any field of an entry
    """*entry*'s field at the dotted *path*."""
    for name in path.split("."):
        entry = entry[name]
    return entry


def _bumped(old: str) -> str:
    """*old* with its last character changed."""
    return old[:-1] + ("1" if old[-1] != "1" else "2")


FEED_FIELDS: list[tuple[str, Callable[[Any], Any]]] = [
    ("draw_id", _bumped),
    ("member", _bumped),
    ("at", lambda old: old.replace("T02:", "T03:")),
    ("lottery", lambda _: "other"),
    ("cost", lambda old: old - 1),
    ("prize", lambda old: "phone" if old != "phone" else "coupon"),
    ("kind", lambda old: "goods" if old != "goods" else "coupon"),
    ("points_back", lambda old: old + 1),
    ("table_hash", _bumped),
    ("odds", lambda old: [[prize, weight + 1] for prize, weight in old]),
    ("value", lambda old: old + 1),
    ("pity_before", lambda old: old + 1),
    ("pity_after", lambda old: old + 2),
    ("sold_out", lambda old: [] if old else ["phone"]),
    ("fairness.commitment", _bumped),
    ("fairness.client_seed", lambda _: "guest"),
    ("fairness.nonce", lambda old: old + 7),
    ("fairness.bound", lambda old: old + 1),
    ("fairness.value", lambda old: old + 1),
    ("fairness.version", lambda _: 1),
    ("format", lambda _: 1),
    ("previous", _bumped),
    ("digest", _bumped),
]


@pytest.mark.parametrize(("path", "change"), FEED_FIELDS)
def test_tampering_with_any_field_of_a_published_entry_is_detected(
    path: str, change: Callable[[Any], Any]
) -> None:
    """Changing any field of a published entry, even with its digest recomputed, is found."""
    wheel, records = _fair_records(6)
    entries = _feed(records)
    head = entries[-1]["digest"]
    assert check_feed(entries, [SEED], lotteries=[wheel], head=head).ok
    for place in (2, 5):  # one in the middle, and the last
        changed = copy.deepcopy(entries)
        _set(changed[place], path, change(_get(changed[place], path)))
        assert changed[place] != entries[place]
        found = check_feed(changed, [SEED], lotteries=[wheel], head=head)
        assert not found.ok
        assert any(problem.startswith(f"entry {place + 1} ") for problem in found.problems)
        if path != "digest":  # recomputing the digest moves the problem to the chain
            changed[place]["digest"] = _recomputed(changed[place])
            assert not check_feed(changed, [SEED], lotteries=[wheel], head=head).ok


def _recomputed(entry: dict[str, Any]) -> str:
    """The digest a tamperer would compute for *entry*."""
    from pointkit.pricing._lottery_records import entry_digest  # noqa: PLC0415 - one test

    return entry_digest(entry)


def test_taking_out_adding_or_reordering_entries_breaks_the_chain() -> None:
    """Entries left out, repeated or swapped break the chain; a cut tail breaks the head."""
    wheel, records = _fair_records(5)
    entries = _feed(records)
    head = entries[-1]["digest"]
    for changed in (
        entries[:2] + entries[3:],
        [*entries, entries[-1]],
        [entries[1], entries[0], *entries[2:]],
    ):
        assert not check_feed(changed, [SEED], lotteries=[wheel], head=head).ok
    assert check_feed(entries[:4], [SEED], lotteries=[wheel]).ok  # only the head tells
    cut = check_feed(entries[:4], [SEED], lotteries=[wheel], head=head)
    assert [f"head: the feed ends at {entries[3]['digest']}, the published head is {head}"] == list(
        cut.problems
    )


def test_a_feed_may_not_use_a_nonce_twice_name_a_draw_twice_or_pass_a_stock() -> None:
    """A (seed, client seed, nonce) or a draw used twice, or a stock passed, is named."""
    wheel, records = _fair_records(3)
    twice = [records[0], attrs.evolve(records[0], draw_id="again")]
    found = check_feed(_feed(twice), [SEED], lotteries=[wheel])
    assert [
        "entry 2 (draw '"
        + _feed(twice)[1]["draw_id"]
        + "'): fairness.nonce: entry 1 drew nonce 0 under the same server seed and client "
        "seed: a value used twice"
    ] == list(found.problems)
    same = check_feed(_feed([records[0], records[0]]), [SEED], lotteries=[wheel])
    assert any("draw_id: entry 1 has the same draw" in problem for problem in same.problems)
    phones = [attrs.evolve(record, prize="phone") for record in records[:2]]
    stock = check_feed(_feed(phones), [SEED], lotteries=[wheel])
    assert "lottery 'wheel': the feed gives out 2 of 'phone', its stock is 1" in stock.problems


def test_a_version_1_record_still_verifies() -> None:
    """A record stored before nonces counted per pair (no version, no sold_out) verifies."""
    wheel = _wheel()
    odds = wheel.odds(pity=0)
    value = fair_value(SEED, "alice", 3, odds.total, version=1)
    stored = {
        "draw_id": "old",
        "lottery": "wheel",
        "member": "alice",
        "at": "2026-01-01T00:00:00+00:00",
        "cost": 100,
        "prize": odds.pick(value),
        "kind": wheel.prize(odds.pick(value)).kind,
        "points_back": wheel.prize(odds.pick(value)).points,
        "table_hash": wheel.table_hash,
        "odds": [list(pair) for pair in zip(odds.prizes, odds.weights, strict=True)],
        "value": value,
        "pity_before": 0,
        "pity_after": wheel.pity_after(0, odds.pick(value)),
        "fairness": {
            "commitment": ProvablyFair(SEED, client_seed="alice").commitment,
            "client_seed": "alice",
            "nonce": 3,
            "bound": odds.total,
            "value": value,
        },
        "transaction": "t",
    }
    record = DrawRecord.from_dict(stored)
    assert record.fairness is not None
    assert (1, None) == (record.fairness.version, record.sold_out)
    verify(record, SEED, lottery=wheel)
    assert value != fair_value(SEED, "alice", 3, odds.total)  # version 2 maps it elsewhere
    with pytest.raises(FairnessError, match="value: the seeds give"):
        verify(attrs.evolve(record, fairness=attrs.evolve(record.fairness, version=2)), SEED)


def test_the_two_versions_hash_different_messages() -> None:
    """Version 2 values are not version 1 values: the message differs for every client seed."""
    values = [
        (fair_value(SEED, seed, nonce, 2**64), fair_value(SEED, seed, nonce, 2**64, version=1))
        for seed in ("alice", "v2:x", "house")
        for nonce in range(5)
    ]
    assert all(new != old for new, old in values)
    with pytest.raises(InvalidArgumentError, match="version=3 must be one of 1, 2"):
        fair_value(SEED, "alice", 0, 10, version=3)


# -- 3d: a published feed reads back and verifies ------------------------------------------


def test_a_public_entry_reads_back_as_a_record_that_verifies() -> None:
    """DrawRecord.from_dict(record.public(key=...)) works, and the record verifies."""
    wheel, records = _fair_records(3)
    for record in records:
        entry = record.public(key=KEY)
        public = DrawRecord.from_dict(json.loads(json.dumps(entry)))
        assert public.transaction is None
        assert (record.prize, record.value, record.fairness) == (
            public.prize,
            public.value,
            public.fairness,
        )
        verify(public, SEED, lottery=wheel)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("cost", "100", "record.cost='100' must be an int, not str"),
        ("cost", True, "record.cost=True must be an int, not bool"),
        ("at", "2026-03-01T02:00:00", "record.at='2026-03-01T02:00:00' must have a UTC offset"),
        ("kind", "car", "record.kind='car' must be one of 'goods', 'coupon', 'points', 'nothing'"),
        ("odds", [["phone"]], "record.odds=[['phone']] must be a list of [prize, weight] pairs"),
        ("member", None, "record.member is missing; it must be a non-empty str"),
        ("fairness", {"commitment": "c"}, "record.fairness.client_seed is missing"),
    ],
)
def test_a_malformed_entry_is_named_by_its_field(name: str, value: object, message: str) -> None:
    """from_dict names the field, the value and what is valid."""
    _, records = _fair_records(1)
    entry = records[0].public(key=KEY)
    entry[name] = value
    with pytest.raises(InvalidArgumentError) as raised:
        DrawRecord.from_dict(entry)
    assert str(raised.value).startswith(message)


# -- 9: pseudonyms, client seeds and random sources ------------------------------------------


def test_the_public_feed_names_nobody() -> None:
    """Members and draw ids are keyed pseudonyms: stable per member, unreadable without the key."""
    _, records = _fair_records(4)
    entries = _feed(records)
    text = json.dumps(entries)
    for secret in ("alice", "bob", "d0", "d1", "transaction"):
        assert f'"{secret}' not in text
    assert entries[0]["member"] == entries[2]["member"] != entries[1]["member"]
    assert 32 == len(entries[0]["member"]) == len(entries[0]["draw_id"])
    assert entries[0]["member"] != records[0].public(key=bytes(32))["member"]  # another key
    email = attrs.evolve(records[0], member="alice.wang@example.com").public(key=KEY)["member"]
    assert not any(part in email for part in ("ali", "wang", "example", "@"))


def test_a_short_pseudonym_key_is_refused() -> None:
    """A key under 16 bytes is refused, naming what is valid."""
    _, records = _fair_records(1)
    with pytest.raises(InvalidArgumentError, match="key has 8 bytes; use at least 16"):
        records[0].public(key=bytes(8))
    with pytest.raises(ArgumentTypeError, match="key must be bytes, not str"):
        records[0].public(key="secret")  # type: ignore[arg-type]


def test_a_client_seed_that_is_the_member_id_is_refused(draws: Draws) -> None:
    """A client seed equal to the member's id would name them in the feed: refused."""
    draws.ledger.earn("Alice", 1_000, key="e")
    fair = ProvablyFair(SEED, client_seed="alice")
    with pytest.raises(InvalidArgumentError, match="client_seed='alice' is the member's id"):
        draws.draw("Alice", _wheel(), draw_id="d", minor=False, random=fair)
    assert 1_000 == draws.ledger.balance("Alice").posted


@attrs.frozen
class _Returns:
    """A random source that returns one fixed thing."""

    value: object

    def below(self, bound: int) -> object:
        """Return the fixed thing whatever the bound."""
        del bound
        return self.value


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        (None, ArgumentTypeError, "returned None (NoneType) from below(10); a RandomSource must"),
        ("3", ArgumentTypeError, "returned '3' (str) from below(10); a RandomSource must"),
        (1.5, ArgumentTypeError, "returned 1.5 (float) from below(10); a RandomSource must"),
        (True, ArgumentTypeError, "returned True (bool) from below(10); a RandomSource must"),
        (-1, InvalidArgumentError, "returned -1 from below(10); a RandomSource must return"),
        (10, InvalidArgumentError, "returned 10 from below(10); a RandomSource must return"),
    ],
)
def test_a_random_source_returning_a_bad_value_is_refused_before_anything_is_written(
    draws: Draws, value: object, error: type[PointkitError], message: str
) -> None:
    """None, text, floats, bools and out-of-range ints are a pointkit error; nothing is written."""
    draws.ledger.earn("alice", 1_000, key="e")
    wheel = _wheel()
    with pytest.raises(error) as raised:
        draws.draw("alice", wheel, draw_id="d", minor=False, random=_Returns(value))  # type: ignore[arg-type]
    assert f"random=_Returns(value={value!r}) {message}" in str(raised.value)
    assert str(raised.value).endswith("from 0 to 9")
    assert 1_000 == draws.ledger.balance("alice").posted
    with pytest.raises(DrawNotFoundError):
        draws.record("d")
    assert {"phone": 0} == draws.sold(wheel)


def test_a_fair_proof_defaults_to_the_current_version() -> None:
    """A proof built without a version is a version 2 one, as every new draw's is."""
    assert 2 == FairnessProof("c" * 64, "s", 0, 10, 3).version

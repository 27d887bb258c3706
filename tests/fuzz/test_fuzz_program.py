"""Fuzz the Program: events, offers, draws, conversions, tiers, reads and reports, with hostile values.

Each example opens the packaged points mall in a fresh program on a shared storage (in memory,
then SQLite), gives it a little history (balances, a purchase, a sign-in, redemptions, a draw,
a conversion, a transfer), then sends a sequence of calls in which one or several arguments
are hostile: event fields through the ``Event`` constructors, offers, options and quantities,
random sources, tiers, clocks. Every call must succeed or raise a PointkitError that leaves the
storage as it was; a successful read or dry run must leave it as it was too; the audit passes
at the end.
"""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, final

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fuzz.commands import OMIT, Arg, Build, Command, built, draw_call
from fuzz.harness import Harness, budget
from fuzz.state import state_reader
from fuzz.strategies import (
    START,
    bad_choices,
    bad_currencies,
    bad_ids,
    bad_instants,
    bad_ints,
    bad_money,
    bad_spans,
    bad_texts,
    hostile,
    huge_ints,
    texts,
)
from pointkit import FixedClock, MemoryStorage, Money, limits
from pointkit.features import ConversionResult, DrawResult, Redemption
from pointkit.ledger import AccountKind, Transaction
from pointkit.pricing import ProvablyFair, SeededRandom
from pointkit.program import MemberProfile, Program, Recorded, load_config
from pointkit.reports import (
    daily_report,
    hottest_offers,
    liability_report,
    lottery_cost,
    tier_distribution,
)
from pointkit.rules import Event, Line
from pointkit.storage.sqlite import SQLiteStorage


if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from pointkit.ledger import Linked, Storage


MALL: Final = Path(__file__).parents[2] / "examples" / "points_mall.toml"
CONFIG: Final = load_config(MALL)
STEPS_MAX: Final = 10

_programs = itertools.count()
_RUN: Final = uuid.uuid4().hex[:8]


@final
class ProgramWorld:
    """The points mall on a fresh program with some history, and what it has made."""

    def __init__(self, storage: Storage) -> None:
        self.program = f"fuzz-mall-{_RUN}-{next(_programs)}"
        self.clock = FixedClock(START)
        self.mall = Program(
            attrs.evolve(CONFIG, id=self.program), storage=storage, clock=self.clock
        )
        self.transactions: list[str] = []
        self.keys: list[str] = []
        self.events: list[str] = []
        self.redemptions: list[str] = []
        self.draws: list[str] = []
        self.links = 0
        mall = self.mall
        self.note(mall.adjust("ann", 20_000, key="seed-ann", reason="opening balance"))
        self.note(mall.adjust("ben", 6_000, key="seed-ben", reason="opening balance"))
        order = Event.purchase("o-1", "ann", START, amount=Money("388.00", "CNY"), order_id="o-1")
        self.note(mall.record(order))
        self.note(mall.record(Event.sign_in("s-1", "ben", START)))
        self.note(mall.redeem("ann", "coupon", key="r-1"))
        self.note(mall.redeem("ben", "watch", key="r-2", option="bundle:0"))
        self.note(mall.fulfil("r-2", key="f-2"))
        self.note(mall.draw("ann", "wheel", draw_id="d-1", minor=False, random=SeededRandom(1)))
        self.note(mall.convert("ann", "points-to-miles", 1_000, key="c-1"))
        self.note(mall.transfer("ann", "ben", 100, key="t-1"))
        self.redemptions += ["r-1", "r-2"]
        self.events += ["o-1", "s-1"]
        self.draws.append("d-1")

    def note(self, result: object) -> None:
        """Remember the transactions, keys, events and draws a successful call made."""
        match result:
            case tuple() | list():
                for item in result:
                    self.note(item)
            case Transaction():
                self.transactions.append(str(result.id))
                self.keys.append(result.key)
            case Recorded():
                self.events.append(result.outcome.event_id)
                self.note(result.outcome.transactions)
            case Redemption():
                self.redemptions.append(result.key)
            case DrawResult():
                self.draws.append(result.record.draw_id)
                self.note(result.transaction)
            case ConversionResult():
                self.note([result.debit, result.credit])
            case _:
                pass


# -- valid values -----------------------------------------------------------------------------------

members = st.sampled_from(["ann", "ben", "ann", "ben", "会员"])
ats = st.integers(-3 * 86_400, 3 * 86_400).map(lambda seconds: START + timedelta(seconds=seconds))
cny = st.integers(0, 200_000).map(lambda cents: Money(Decimal(cents).scaleb(-2), "CNY"))
dry_runs = st.sampled_from([OMIT, False, False, True])


def fresh(prefix: str) -> st.SearchStrategy[object]:
    """A fresh id with *prefix*."""
    return st.integers(0, 10**6).map(lambda n: f"{prefix}-{n}")


def known(values: list[str], prefix: str) -> st.SearchStrategy[object]:
    """One of *values* (a replay, a conflict, a second command on it), or a fresh id."""
    return st.sampled_from(values) | fresh(prefix) if values else fresh(prefix)


def fixed(strategy: st.SearchStrategy[object]) -> Any:  # noqa: ANN401 - an Arg's valid field
    """A valid-values function that ignores the world."""
    return lambda _world: strategy


def _arg(name: str, valid: Any, bad: Any) -> Arg[ProgramWorld]:  # noqa: ANN401 - see fixed()
    """An argument whose hostile values do not depend on the world."""
    return Arg(name, valid, lambda _world: bad())


def _built(factory: Callable[..., object], **fields: st.SearchStrategy[object]) -> Any:  # noqa: ANN401 - a strategy of Build
    """A strategy of :class:`Build` values with one hostile field, or none."""

    @st.composite
    def build(draw: st.DrawFn) -> Build:
        arguments = {name: draw(strategy) for name, strategy in fields.items()}
        spoiled = draw(st.sampled_from([None, *fields]))
        if spoiled is not None:
            arguments[spoiled] = draw(hostile())
        return Build(factory, arguments)

    return build()


money_builds = _built(
    Money,
    amount=st.sampled_from(["1.00", Decimal("0.125"), 1, "abc", "1e400", "-0"]),
    currency=st.sampled_from(["CNY", "USD", "XXX", "cny", ""]),
)
lines = st.lists(
    st.builds(
        Line,
        st.sampled_from(["sku-1", "sku-2"]),
        st.sampled_from(["books", "toys"]),
        cny,
        quantity=st.integers(1, 3),
    ),
    min_size=1,
    max_size=3,
).map(tuple)
bad_lines = st.one_of(
    hostile(),
    st.lists(_built(Line, product=st.just("sku"), category=st.just("c"), amount=cny), max_size=3),
    st.lists(
        bad_money().map(
            lambda money: Build(Line, {"product": "p", "category": "c", "amount": money})
        )
    ),
    st.lists(st.just(Line("sku", "c", Money("1.00", "USD"))), min_size=1, max_size=2),
    st.just([Line("sku", "c", Money("1.00", "CNY"))] * (limits.EVENT_LINES_MAX + 1)),
)
profiles = st.sampled_from([OMIT, None]) | st.builds(
    lambda tags, joined, birthday: Build(
        MemberProfile, {"tags": tags, "joined_at": joined, "birthday": birthday}
    ),
    st.sampled_from([frozenset(), frozenset({"vip"}), ["vip", "new"]]),
    st.sampled_from([None, START - timedelta(days=400)]),
    st.sampled_from([None, date(1990, 6, 1), date(2000, 2, 29)]),
)
bad_profiles = st.one_of(
    hostile(),
    _built(
        MemberProfile,
        tags=st.just(frozenset({"vip"})),
        joined_at=st.just(START - timedelta(days=400)),
        birthday=st.just(date(1990, 6, 1)),
    ),
    st.builds(
        lambda joined: Build(MemberProfile, {"joined_at": joined}),
        bad_instants() | hostile(),
    ),
    st.builds(lambda born: Build(MemberProfile, {"birthday": born}), bad_instants() | hostile()),
    st.builds(lambda tags: Build(MemberProfile, {"tags": tags}), hostile()),
)


@final
@attrs.frozen
class Returns:
    """A random source that returns whatever it was given, whatever the bound."""

    value: object

    def below(self, bound: int) -> object:
        """Return the value, ignoring *bound*."""
        del bound
        return self.value


_returned = st.one_of(
    st.integers(-5, 5),
    huge_ints,
    st.sampled_from([99_999, 100_000]),
    st.integers(0, 2**256),
    hostile(),
)
randoms = st.one_of(
    st.sampled_from([OMIT, None]),
    st.integers(0, 2**32).map(SeededRandom),
    st.sampled_from(["ann", "ben", "会员"]).map(
        lambda client: Build(
            ProvablyFair,
            {"server_seed": b"0123456789abcdef0123456789abcdef", "client_seed": client},
        )
    ),
)
bad_randoms = st.one_of(
    hostile(),
    _returned.map(Returns),
    st.builds(
        lambda seed, client: Build(ProvablyFair, {"server_seed": seed, "client_seed": client}),
        st.sampled_from([b"0123456789abcdef0123456789abcdef", b"short", "text", b""]) | hostile(),
        st.sampled_from(["ann", "", "x" * 201]) | bad_texts(),
    ),
)


def _record(
    factory: Callable[..., Event], world: ProgramWorld, arguments: dict[str, Any]
) -> object:
    """Build an event from the event fields, and record it with the record's own arguments."""
    options = {name: arguments.pop(name) for name in ("profile", "dry_run") if name in arguments}
    event = factory(**built(arguments))
    return world.mall.record(event, **built(options))


def _event_command(
    name: str, factory: Callable[..., Event], *extra: Arg[ProgramWorld]
) -> Command[ProgramWorld]:
    """``Program.record`` of an event made by *factory* from hostile fields."""
    return Command(
        f"Program.record(Event.{name})",
        partial(_record, factory),
        (
            Arg("id", lambda world: known(world.events, "e"), lambda _world: bad_texts()),
            MEMBER,
            _arg("at", fixed(ats), bad_instants),
            *extra,
            _arg("profile", fixed(profiles), lambda: bad_profiles),
            DRY_RUN,
        ),
    )


def _generic_event(**fields: Any) -> Event:  # noqa: ANN401 - an event's fields, as sent
    return Event(**fields)


MEMBER = _arg("member", fixed(members), bad_texts)
DRY_RUN = _arg("dry_run", fixed(dry_runs), hostile)
KEY: Final[Arg[ProgramWorld]] = Arg(
    "key", lambda world: known(world.keys, "k"), lambda _world: bad_texts()
)
REDEMPTION: Final[Arg[ProgramWorld]] = Arg(
    "redemption", lambda world: known(world.redemptions, "r"), lambda _world: bad_texts()
)
OFFER = _arg(
    "offer",
    fixed(st.sampled_from(["watch", "coupon", "trip", "headphones"])),
    lambda: bad_choices(("watch", "coupon", "trip", "headphones")),
)
LOTTERY = _arg("lottery", fixed(st.just("wheel")), lambda: bad_choices(("wheel",)))
CURRENCY = _arg("currency", fixed(st.sampled_from([OMIT, None, "points", "miles"])), bad_currencies)
TRANSACTION: Final[Arg[ProgramWorld]] = Arg(
    "transaction",
    lambda world: st.sampled_from(world.transactions),
    lambda _world: bad_ids(),
)
WITHIN = _arg("within", fixed(st.integers(1, 400).map(lambda d: timedelta(days=d))), bad_spans)
SINCE = _arg("since", fixed(st.sampled_from([OMIT, None, START - timedelta(days=1)])), bad_instants)
UNTIL = _arg("until", fixed(st.sampled_from([OMIT, None, START + timedelta(days=1)])), bad_instants)


def _mall(method: str) -> Callable[[ProgramWorld, dict[str, Any]], object]:
    """Call the program's *method* with the drawn arguments, constructing what is built."""
    return lambda world, arguments: getattr(world.mall, method)(**built(arguments))


COMMANDS: Final[tuple[Command[ProgramWorld], ...]] = (
    _event_command(
        "purchase",
        Event.purchase,
        _arg("amount", fixed(cny), lambda: bad_money() | money_builds),
        Arg("order_id", lambda world: known(world.events, "o"), lambda _world: bad_texts()),
        _arg("lines", fixed(st.just(OMIT) | lines), lambda: bad_lines),
        _arg("paid_with_points", fixed(st.just(OMIT)), bad_money),
        _arg("tax", fixed(st.sampled_from([OMIT, Money("1.00", "CNY")])), bad_money),
        _arg("shipping", fixed(st.sampled_from([OMIT, Money("0.00", "CNY")])), bad_money),
    ),
    _event_command("sign_in", Event.sign_in),
    _event_command(
        "share",
        Event.share,
        _arg("channel", fixed(st.sampled_from([OMIT, None, "wechat"])), bad_texts),
    ),
    _event_command(
        "invitee_registered",
        Event.invitee_registered,
        _arg("invitee", fixed(st.sampled_from(["zoe", "新人"])), bad_texts),
    ),
    _event_command("invite", Event.invite, _arg("invitee", fixed(st.just("zoe")), bad_texts)),
    _event_command(
        "review",
        Event.review,
        _arg("length", fixed(st.integers(0, 100)), bad_ints),
        _arg("rating", fixed(st.integers(1, 5)), bad_ints),
        _arg("product", fixed(st.sampled_from([OMIT, None, "sku-1"])), bad_texts),
    ),
    _event_command("profile_completed", Event.profile_completed),
    _event_command("registration", Event.registration),
    _event_command("birthday", Event.birthday),
    _event_command(
        "anniversary", Event.anniversary, _arg("years", fixed(st.integers(1, 10)), bad_ints)
    ),
    _event_command(
        "__init__",
        _generic_event,
        _arg(
            "kind",
            fixed(st.sampled_from(["sign_in", "share", "host_kind"])),
            lambda: bad_choices(("sign_in", "purchase")),
        ),
        _arg(
            "attributes",
            fixed(st.sampled_from([OMIT, {}, {"channel": "wechat"}, (("channel", "qq"),)])),
            lambda: (
                st.dictionaries(
                    st.sampled_from(["channel", "amount", "kind", "member", "", "A"]) | texts,
                    hostile(),
                    max_size=2,
                )
                | st.lists(st.tuples(bad_texts(), hostile()), max_size=2)
                | st.integers(limits.EVENT_ATTRIBUTES_MAX + 1, 40).map(
                    lambda size: {f"a{n}": n for n in range(size)}
                )
            ),
        ),
    ),
    Command(
        "Program.record(Event.from_dict)",
        lambda world, arguments: world.mall.record(Event.from_dict(arguments["data"])),
        (
            _arg(
                "data",
                fixed(st.just(Event.sign_in("s-2", "ann", START + timedelta(hours=1)).to_dict())),
                lambda: (
                    st.fixed_dictionaries(
                        {
                            "id": st.just("e-x") | bad_texts(),
                            "kind": st.just("sign_in") | bad_texts(),
                            "member": st.just("ann") | bad_texts(),
                            "at": st.just(START.isoformat())
                            | st.sampled_from(
                                [
                                    "2026-13-01T00:00:00+00:00",
                                    "9999-12-31T23:59:59-14:00",
                                    "2026-06-01",
                                ]
                            )
                            | hostile(),
                            "attributes": st.just({}) | hostile(),
                        }
                    )
                    | hostile()
                ),
            ),
        ),
    ),
    Command(
        "Program.refund_event",
        _mall("refund_event"),
        (
            Arg("event_id", lambda world: known(world.events, "e"), lambda _world: bad_texts()),
            KEY,
            _arg(
                "amount",
                fixed(st.sampled_from([OMIT, Money("10.00", "CNY")])),
                lambda: bad_money() | money_builds,
            ),
            _arg("lines", fixed(st.sampled_from([OMIT, [0]])), lambda: bad_lines | bad_ints()),
            DRY_RUN,
        ),
    ),
    Command(
        "Program.redeem",
        _mall("redeem"),
        (
            MEMBER,
            OFFER,
            KEY,
            _arg(
                "option",
                fixed(st.sampled_from([OMIT, "points", "bundle:0", "split", "cash"])),
                lambda: bad_choices(("points", "bundle:0", "split")),
            ),
            _arg("quantity", fixed(st.sampled_from([OMIT, 1, 2])), bad_ints),
            _arg("points", fixed(st.sampled_from([OMIT, None, 1_000, 2_000])), bad_ints),
            DRY_RUN,
        ),
    ),
    Command("Program.fulfil", _mall("fulfil"), (REDEMPTION, KEY, DRY_RUN)),
    Command("Program.cancel", _mall("cancel"), (REDEMPTION, KEY, DRY_RUN)),
    Command(
        "Program.refund",
        _mall("refund"),
        (
            REDEMPTION,
            KEY,
            _arg("quantity", fixed(st.sampled_from([OMIT, None, 1])), bad_ints),
            DRY_RUN,
        ),
    ),
    Command(
        "Program.draw",
        _mall("draw"),
        (
            MEMBER,
            LOTTERY,
            Arg("draw_id", lambda world: known(world.draws, "d"), lambda _world: bad_texts()),
            _arg("minor", fixed(st.sampled_from([False, False, True])), hostile),
            _arg("random", fixed(randoms), lambda: bad_randoms),
            DRY_RUN,
        ),
    ),
    Command(
        "Program.transfer",
        _mall("transfer"),
        (
            _arg("sender", fixed(members), bad_texts),
            _arg("recipient", fixed(members), bad_texts),
            _arg(
                "amount",
                fixed(st.sampled_from([99, 100, 5_000, 5_001]) | st.integers(1, 6_000)),
                bad_ints,
            ),
            KEY,
            CURRENCY,
            DRY_RUN,
        ),
    ),
    Command(
        "Program.convert",
        _mall("convert"),
        (
            MEMBER,
            _arg(
                "conversion",
                fixed(st.just("points-to-miles")),
                lambda: bad_choices(("points-to-miles",)),
            ),
            _arg("points", fixed(st.sampled_from([999, 1_000, 2_000, 20_000, 21_000])), bad_ints),
            KEY,
            DRY_RUN,
        ),
    ),
    Command(
        "Program.reverse",
        _mall("reverse"),
        (
            TRANSACTION,
            _arg("amount", fixed(st.sampled_from([OMIT, None, 1, 50])), bad_ints),
            KEY,
            DRY_RUN,
        ),
    ),
    Command(
        "Program.adjust",
        _mall("adjust"),
        (
            MEMBER,
            _arg("amount", fixed(st.integers(-3_000, 3_000).filter(bool)), bad_ints),
            KEY,
            _arg("reason", fixed(st.just("goodwill")), bad_texts),
            DRY_RUN,
        ),
    ),
    Command(
        "Program.run_expiry",
        _mall("run_expiry"),
        (_arg("limit", fixed(st.sampled_from([OMIT, 1, 100])), bad_ints), DRY_RUN),
    ),
    Command(
        "Program.set_tier",
        _mall("set_tier"),
        (
            MEMBER,
            _arg(
                "tier",
                fixed(st.sampled_from(["normal", "silver", "gold"])),
                lambda: bad_choices(("normal", "silver", "gold")),
            ),
            _arg("never_downgrade", fixed(st.sampled_from([OMIT, None, True, False])), hostile),
            DRY_RUN,
        ),
    ),
    Command("Program.review_tier", _mall("review_tier"), (MEMBER,)),
    Command(
        "FixedClock.advance",
        lambda world, arguments: world.clock.advance(**arguments),
        (
            _arg(
                "by",
                fixed(st.sampled_from([timedelta(hours=1), timedelta(days=1), timedelta(days=45)])),
                bad_spans,
            ),
        ),
    ),
)
"""The program's commands, each with its arguments."""

READS: Final[tuple[Command[ProgramWorld], ...]] = (
    Command("Program.balance", _mall("balance"), (MEMBER, CURRENCY), writes=False),
    Command(
        "Program.statement",
        _mall("statement"),
        (
            MEMBER,
            CURRENCY,
            _arg("after", fixed(st.integers(0, 10)), bad_ints),
            _arg("limit", fixed(st.integers(1, 100)), bad_ints),
        ),
        writes=False,
    ),
    Command(
        "Program.upcoming_expiries",
        _mall("upcoming_expiries"),
        (MEMBER, WITHIN, CURRENCY),
        writes=False,
    ),
    Command(
        "Program.expiring",
        _mall("expiring"),
        (WITHIN, CURRENCY, _arg("limit", fixed(st.integers(1, 100)), bad_ints)),
        writes=False,
    ),
    Command(
        "Program.lots",
        _mall("lots"),
        (MEMBER, CURRENCY, _arg("include_closed", fixed(st.booleans()), hostile)),
        writes=False,
    ),
    Command(
        "Program.hold",
        _mall("hold"),
        (_arg("hold", fixed(st.uuids()), bad_ids),),
        writes=False,
    ),
    Command("Program.transaction", _mall("transaction"), (TRANSACTION,), writes=False),
    Command("Program.transaction_by_key", _mall("transaction_by_key"), (KEY,), writes=False),
    Command(
        "Program.member",
        _mall("member"),
        (MEMBER, _arg("profile", fixed(profiles), lambda: bad_profiles)),
        writes=False,
    ),
    Command("Program.tier_status", _mall("tier_status"), (MEMBER,), writes=False),
    Command(
        "Program.tier_history",
        _mall("tier_history"),
        (MEMBER, _arg("limit", fixed(st.integers(1, 100)), bad_ints)),
        writes=False,
    ),
    Command("Program.offers_for", _mall("offers_for"), (MEMBER,), writes=False),
    Command("Program.redemption", _mall("redemption"), (REDEMPTION,), writes=False),
    Command("Program.offer_sold", _mall("offer_sold"), (OFFER,), writes=False),
    Command("Program.disclosure", _mall("disclosure"), (LOTTERY,), writes=False),
    Command("Program.odds", _mall("odds"), (MEMBER, LOTTERY), writes=False),
    Command("Program.pity", _mall("pity"), (MEMBER, LOTTERY), writes=False),
    Command(
        "Program.draw_record",
        _mall("draw_record"),
        (Arg("draw_id", lambda world: known(world.draws, "d"), lambda _world: bad_texts()),),
        writes=False,
    ),
    Command("Program.lottery_sold", _mall("lottery_sold"), (LOTTERY,), writes=False),
    Command(
        "Program.system_balance",
        _mall("system_balance"),
        (
            _arg(
                "kind",
                fixed(st.sampled_from([AccountKind.ISSUANCE, AccountKind.LOTTERY])),
                lambda: st.sampled_from([AccountKind.MEMBER, "lottery"]),
            ),
            CURRENCY,
        ),
        writes=False,
    ),
    Command("Program.outstanding", _mall("outstanding"), (CURRENCY,), writes=False),
    Command("Program.transactions", _mall("transactions"), (SINCE, UNTIL), writes=False),
    Command("Program.members", _mall("members"), (), writes=False),
    Command(
        "Program.record_of",
        _mall("record_of"),
        (Arg("record_id", lambda world: known(world.events, "e"), lambda _world: bad_texts()),),
        writes=False,
    ),
    Command("Program.audit", _mall("audit"), (), writes=False),
    Command(
        "liability_report",
        lambda world, arguments: liability_report(world.mall, **arguments),
        (
            CURRENCY,
            _arg(
                "buckets",
                fixed(st.sampled_from([OMIT, (timedelta(days=30), timedelta(days=365))])),
                lambda: st.lists(bad_spans(), max_size=3).map(tuple) | hostile(),
            ),
        ),
        writes=False,
    ),
    Command(
        "daily_report",
        lambda world, arguments: daily_report(world.mall, **arguments),
        (
            _arg("since", fixed(st.just(date(2026, 5, 31))), bad_instants),
            _arg("until", fixed(st.just(date(2026, 6, 2))), bad_instants),
            CURRENCY,
        ),
        writes=False,
    ),
    Command(
        "hottest_offers",
        lambda world, arguments: hottest_offers(world.mall, **arguments),
        (SINCE, UNTIL, _arg("limit", fixed(st.integers(1, 20)), bad_ints)),
        writes=False,
    ),
    Command(
        "lottery_cost",
        lambda world, arguments: lottery_cost(world.mall, **arguments),
        (SINCE, UNTIL),
        writes=False,
    ),
    Command(
        "tier_distribution",
        lambda world, _arguments: tier_distribution(world.mall),
        (),
        writes=False,
    ),
)
"""The program's reads and the reports over it: a successful one leaves the storage as it was."""


def _run_linked(world: ProgramWorld, arguments: dict[str, Any]) -> object:
    """``Program.run_linked`` with a drawn piece of work (a valid earn, or a hostile value)."""
    return world.mall.run_linked(**arguments)


def _earn_ben(world: ProgramWorld) -> Callable[[Linked], object]:
    world.links += 1
    key = f"link-{world.links}"
    return lambda link: link.earn("ben", 5, key=key)


LINKED: Final = Command(
    "Program.run_linked",
    _run_linked,
    (
        Arg("work", lambda world: st.just(_earn_ben(world)), lambda _world: hostile()),
        _arg("key", fixed(st.sampled_from([OMIT, "link"])), bad_texts),
    ),
)


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
        tmp_path_factory.mktemp("fuzz-program") / "points.db", synchronous="NORMAL"
    )
    yield sqlite
    sqlite.close()


@budget(200)
@given(data=st.data())
def test_program_commands_reads_and_reports_refuse_hostile_values_cleanly(
    storage: Storage, data: st.DataObject
) -> None:
    """Every Program command, read and report succeeds or raises a PointkitError that leaves the storage as it was."""
    world = ProgramWorld(storage)
    harness = Harness(state_reader(storage, world.program))
    for _ in range(data.draw(st.integers(1, STEPS_MAX), label="steps")):
        kind = data.draw(st.sampled_from(["command", "command", "read", "linked"]), label="kind")
        command = (
            LINKED
            if kind == "linked"
            else data.draw(st.sampled_from(COMMANDS if kind == "command" else READS))
        )
        arguments = draw_call(data, world, command)
        dry = arguments.get("dry_run") is True
        outcome = harness.call(
            command.name,
            partial(command.run, world, dict(arguments)),
            arguments,
            writes=command.writes and not dry,
        )
        if not dry:
            world.note(outcome.value)
    world.mall.audit()


@final
@attrs.frozen
class Clock:
    """A clock that tells whatever it was given: an instant at the edge of time, or garbage."""

    at: object

    def now(self) -> object:
        """Return the value it was given."""
        return self.at


def _day_of(at: object) -> object:
    """The UTC date of *at* if it is an aware datetime, else *at* itself."""
    if isinstance(at, datetime) and at.utcoffset() is not None:
        try:
            return at.astimezone(UTC).date()
        except OverflowError:
            return at.date()
    return at


@budget(100)
@given(
    at=bad_instants() | st.sampled_from([START, datetime(9999, 12, 31, 23, 0, tzinfo=UTC)]),
    config=st.sampled_from([CONFIG, CONFIG, CONFIG, None, "points_mall.toml", MALL]),
    stuck=st.booleans(),
)
def test_a_program_on_a_hostile_clock_refuses_or_works(
    storage: Storage, at: object, config: object, stuck: bool
) -> None:
    """Program(...) on a clock at the edge of time (or telling garbage) refuses, or every command refuses cleanly or works."""
    program = f"fuzz-clock-{_RUN}-{next(_programs)}"
    chosen = attrs.evolve(CONFIG, id=program) if config is CONFIG else config
    arguments = {"config": chosen, "clock": Clock(at) if stuck else Build(FixedClock, {"at": at})}
    made = Harness(lambda: None).call(
        "Program", lambda: Program(storage=storage, **built(arguments)), arguments
    )
    mall = made.value
    if mall is None:
        return
    harness = Harness(state_reader(storage, program))
    now = mall.clock.now()
    calls: list[tuple[str, Callable[[], object], bool]] = [
        ("Program.adjust", lambda: mall.adjust("ann", 9_000, key="a-1", reason="gift"), True),
        (
            "Program.record(Event.purchase)",
            lambda: mall.record(
                Event.purchase("o-1", "ann", now, amount=Money("300.00", "CNY"), order_id="o-1")
            ),
            True,
        ),
        (
            "Program.record(Event.sign_in)",
            lambda: mall.record(Event.sign_in("s-1", "ann", now)),
            True,
        ),
        ("Program.redeem", lambda: mall.redeem("ann", "coupon", key="r-1"), True),
        ("Program.fulfil", lambda: mall.fulfil("r-1", key="f-1"), True),
        ("Program.refund", lambda: mall.refund("r-1", key="rf-1"), True),
        (
            "Program.draw",
            lambda: mall.draw("ann", "wheel", draw_id="d-1", minor=False, random=SeededRandom(7)),
            True,
        ),
        (
            "Program.draw(ProvablyFair)",
            lambda: mall.draw(
                "ann",
                "wheel",
                draw_id="d-2",
                minor=False,
                random=ProvablyFair(b"0123456789abcdef0123456789abcdef", client_seed="ann"),
            ),
            True,
        ),
        ("Program.convert", lambda: mall.convert("ann", "points-to-miles", 1_000, key="c-1"), True),
        ("Program.transfer", lambda: mall.transfer("ann", "ben", 100, key="t-1"), True),
        ("Program.set_tier", lambda: mall.set_tier("ben", "gold"), True),
        ("Program.review_tier", lambda: mall.review_tier("ann"), True),
        ("Program.run_expiry", mall.run_expiry, True),
        ("Program.balance", lambda: mall.balance("ann"), False),
        ("Program.tier_status", lambda: mall.tier_status("ann"), False),
        (
            "Program.upcoming_expiries",
            lambda: mall.upcoming_expiries("ann", timedelta(days=30)),
            False,
        ),
        ("Program.expiring", lambda: mall.expiring(timedelta(days=30)), False),
        ("Program.odds", lambda: mall.odds("ann", "wheel"), False),
        ("Program.offers_for", lambda: mall.offers_for("ann"), False),
        (
            "daily_report",
            lambda: daily_report(mall, since=_day_of(now), until=_day_of(now)),  # type: ignore[arg-type]
            False,
        ),
        ("liability_report", lambda: liability_report(mall), False),
        ("lottery_cost", lambda: lottery_cost(mall), False),
        ("Program.audit", mall.audit, False),
    ]
    for name, call, writes in calls:
        harness.call(name, call, {"clock": at}, writes=writes)

"""The whole Program in random sequences, every invariant checked after each step.

The machine runs the packaged points_mall.toml (without its campaigns) over several members: purchases, sign-ins,
shares and reviews; event refunds; redemptions fulfilled, cancelled, timed out and refunded;
draws; transfers; conversions; adjustments; reversals; time passing with expiry runs; and a
dry run of any of them. After every step it checks the ledger (the audit replays the journal),
the rules (no member ever earns more than the daily caps allow), the tiers (a member is never
below the tier their metric reaches), pricing (stock, limits and refunds), the lottery (stock,
pity, the lottery account) and conversions (the clearing accounts), and that a dry run wrote
nothing. It runs on MemoryStorage and on SQLite.
"""

from __future__ import annotations

import tempfile
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import attrs
from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from pointkit import FixedClock, MemoryStorage, Money
from pointkit.exceptions import LedgerError
from pointkit.features import RedemptionStatus
from pointkit.ledger import AccountKind, TransactionKind
from pointkit.pricing import SeededRandom
from pointkit.program import Campaigns, Program, load_config
from pointkit.rules import Event
from pointkit.storage.sqlite import SQLiteStorage
from pointkit.testing import snapshot


if TYPE_CHECKING:
    from collections.abc import Callable

    from pointkit.ledger import Storage


# The mall without its campaigns: tests/test_campaigns_stateful.py drives those.
MALL = attrs.evolve(
    load_config(Path(__file__).parent.parent / "src" / "pointkit" / "program" / "points_mall.toml"),
    campaigns=Campaigns(),
)
MEMBERS = ("mei", "li", "wang")
SHANGHAI = timedelta(hours=8)
DAILY_POINTS = 100  # the programme's cap: at most 100 points a day
TIER_RANK = {tier.name: rank for rank, tier in enumerate(MALL.tiers.tiers)} if MALL.tiers else {}


class ProgramMachine(RuleBasedStateMachine):
    """Every Program operation at random, against a counting model."""

    def make_storage(self) -> Storage:
        """The storage under test."""
        return MemoryStorage()

    def __init__(self) -> None:
        super().__init__()
        self.clock = FixedClock(datetime(2026, 6, 1, 1, 0, tzinfo=UTC))
        self.storage = self.make_storage()
        config = attrs.evolve(MALL, id=f"stateful-{uuid.uuid4().hex[:8]}")
        self.mall = Program(config, storage=self.storage, clock=self.clock)
        self.random = SeededRandom(4)
        self.serial = 0
        self.purchases: list[str] = []
        self.redemptions: list[str] = []
        self.transactions: list[str] = []
        self.earned_on: Counter[tuple[str, str]] = Counter()  # (member, local day) -> points
        self.draw_points = 0
        self.cleared: Counter[str] = Counter()
        for member in MEMBERS:
            self.mall.adjust(member, 6_000, key=self.key("opening"), reason="opening balance")

    def teardown(self) -> None:
        close = getattr(self.storage, "close", None)
        if close is not None:
            close()

    def key(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}-{self.serial}"

    def day(self) -> str:
        return (self.clock.now() + SHANGHAI).date().isoformat()

    def attempt(self, call: Callable[[], object], what: str = "") -> object | None:
        """Run *call*; a refusal by the ledger's state is a fine outcome of a random step."""
        try:
            done = call()
        except LedgerError as error:
            event(f"refused {error.code}")
            return None
        if what:
            event(what)
        return done

    def earned(self, member: str, outcome_transactions: object) -> None:
        for transaction in outcome_transactions:  # type: ignore[attr-defined]
            if transaction.kind is TransactionKind.EARN and not transaction.replayed:
                self.earned_on[(member, self.day())] += transaction.amount

    # -- earning ---------------------------------------------------------------------------

    @rule(member=st.sampled_from(MEMBERS), yuan=st.integers(1, 2_000))
    def purchase(self, member: str, yuan: int) -> None:
        order = self.key("order")
        event = Event.purchase(
            order, member, self.clock.now(), amount=Money(yuan, "CNY"), order_id=order
        )
        recorded = self.mall.record(event)
        self.earned(member, recorded.outcome.transactions)
        self.purchases.append(order)

    @rule(member=st.sampled_from(MEMBERS), kind=st.sampled_from(["sign_in", "share", "review"]))
    def action(self, member: str, kind: str) -> None:
        at, event_id = self.clock.now(), self.key(kind)
        event = {
            "sign_in": lambda: Event.sign_in(event_id, member, at),
            "share": lambda: Event.share(event_id, member, at),
            "review": lambda: Event.review(event_id, member, at, length=30, rating=4),
        }[kind]()
        self.earned(member, self.mall.record(event).outcome.transactions)

    @precondition(lambda self: self.purchases)
    @rule(data=st.data(), yuan=st.none() | st.integers(1, 500))
    def refund_event(self, data: st.DataObject, yuan: int | None) -> None:
        order = data.draw(st.sampled_from(self.purchases))
        amount = None if yuan is None else Money(yuan, "CNY")
        self.attempt(
            lambda: self.mall.refund_event(order, key=self.key("refund"), amount=amount),
            "event refunded",
        )

    # -- the catalogue and the lottery ---------------------------------------------------------

    @rule(
        member=st.sampled_from(MEMBERS),
        offer=st.sampled_from(["coupon", "coupon", "watch", "trip"]),
        quantity=st.integers(1, 2),
    )
    def redeem(self, member: str, offer: str, quantity: int) -> None:
        option = {"watch": "bundle:0", "coupon": "points", "trip": "split"}[offer]
        key = self.key("redeem")
        done = self.attempt(
            lambda: self.mall.redeem(member, offer, key=key, option=option, quantity=quantity),
            "redeemed",
        )
        if done is not None:
            self.redemptions.append(key)

    @precondition(lambda self: self.redemptions)
    @rule(
        data=st.data(), action=st.sampled_from(["fulfil", "fulfil", "cancel", "refund", "refund"])
    )
    def resolve(self, data: st.DataObject, action: str) -> None:
        key = data.draw(st.sampled_from(self.redemptions))
        calls: dict[str, Callable[[], object]] = {
            "fulfil": lambda: self.mall.fulfil(key, key=self.key("fulfil")),
            "cancel": lambda: self.mall.cancel(key, key=self.key("cancel")),
            "refund": lambda: self.mall.refund(key, key=self.key("refund")),
        }
        self.attempt(calls[action], action)

    @rule(member=st.sampled_from(MEMBERS))
    def draw(self, member: str) -> None:
        result = self.attempt(
            lambda: self.mall.draw(
                member, "wheel", draw_id=self.key("draw"), minor=False, random=self.random
            ),
            "drawn",
        )
        if result is not None:
            record = result.record  # type: ignore[attr-defined]
            self.draw_points += record.cost - record.points_back

    # -- moving points ----------------------------------------------------------------------

    @rule(
        sender=st.sampled_from(MEMBERS),
        recipient=st.sampled_from(MEMBERS),
        amount=st.integers(50, 6_000),
    )
    def transfer(self, sender: str, recipient: str, amount: int) -> None:
        if sender != recipient:
            done = self.attempt(
                lambda: self.mall.transfer(sender, recipient, amount, key=self.key("gift")),
                "transferred",
            )
            if done is not None:
                self.transactions.append(str(done.id))  # type: ignore[attr-defined]

    @rule(member=st.sampled_from(MEMBERS), points=st.integers(1_000, 5_000))
    def convert(self, member: str, points: int) -> None:
        done = self.attempt(
            lambda: self.mall.convert(member, "points-to-miles", points, key=self.key("miles")),
            "converted",
        )
        if done is not None:
            quote = done.quote  # type: ignore[attr-defined]
            self.cleared[quote.source] += quote.converted
            self.cleared[quote.target] -= quote.credited

    @rule(member=st.sampled_from(MEMBERS), amount=st.integers(-300, 300).filter(bool))
    def adjust(self, member: str, amount: int) -> None:
        done = self.attempt(
            lambda: self.mall.adjust(member, amount, key=self.key("adjust"), reason="support")
        )
        if done is not None:
            self.transactions.append(str(done.id))  # type: ignore[attr-defined]

    @precondition(lambda self: self.transactions)
    @rule(data=st.data())
    def reverse(self, data: st.DataObject) -> None:
        transaction = data.draw(st.sampled_from(self.transactions))
        self.attempt(lambda: self.mall.reverse(transaction, key=self.key("reverse")), "reversed")

    @rule(hours=st.sampled_from([1, 5, 24, 24 * 10]))
    def later(self, hours: int) -> None:
        self.clock.advance(timedelta(hours=hours))
        if self.mall.run_expiry().transactions:
            event("expired")

    # -- dry runs ---------------------------------------------------------------------------

    @rule(member=st.sampled_from(MEMBERS), which=st.integers(0, 4))
    def dry_run(self, member: str, which: int) -> None:
        before = snapshot(self.storage, self.mall.ledger.program)
        calls: list[Callable[[], object]] = [
            lambda: self.mall.record(
                Event.sign_in(self.key("dry"), member, self.clock.now()), dry_run=True
            ),
            lambda: self.mall.redeem(member, "coupon", key=self.key("dry"), dry_run=True),
            lambda: self.mall.draw(
                member, "wheel", draw_id=self.key("dry"), minor=False, dry_run=True
            ),
            lambda: self.mall.transfer(member, "zhao", 100, key=self.key("dry"), dry_run=True),
            lambda: self.mall.run_expiry(dry_run=True),
        ]
        self.attempt(calls[which])
        assert before == snapshot(self.storage, self.mall.ledger.program)

    # -- invariants ---------------------------------------------------------------------------

    @invariant()
    def the_journal_replays(self) -> None:
        """Ledger invariants: every balance, lot and hold replays from the journal."""
        self.mall.ledger.audit()

    @invariant()
    def nobody_earns_past_the_daily_cap(self) -> None:
        """Rules I1: awards per member per local day never pass the 100-point cap."""
        assert all(points <= DAILY_POINTS for points in self.earned_on.values())

    @invariant()
    def nobody_is_below_their_metric(self) -> None:
        """Tiers: a reviewed member's tier is at least the one their points earned reach."""
        ladder = MALL.tiers
        assert ladder is not None
        for member in MEMBERS:
            status = self.mall.tier_status(member)
            if status is not None and status.state is not None:
                reached = ladder.tier_for(status.metric).name
                assert TIER_RANK[status.state.tier] >= TIER_RANK[reached] or status.metric < 0

    @invariant()
    def stock_limits_and_refunds_hold(self) -> None:
        """Pricing P8, L4: stock never oversold; refunds never pass what was paid."""
        for offer in MALL.offers:
            sold = self.mall.offer_sold(offer.id)
            assert offer.stock is None or (sold is not None and 0 <= sold <= offer.stock)
        for key in self.redemptions:
            redemption = self.mall.redemption(key)
            assert redemption.refunded <= redemption.quantity
            assert redemption.refunded == 0 or redemption.status is RedemptionStatus.FULFILLED

    @invariant()
    def the_lottery_adds_up(self) -> None:
        """L4, L5, L6: stock, pity and the lottery account agree with the draws made."""
        wheel = MALL.lottery("wheel")
        for prize, won in self.mall.lottery_sold(wheel.id).items():
            stock = wheel.prize(prize).stock
            assert stock is not None
            assert won <= stock
        assert self.draw_points == self.mall.ledger.system_balance(AccountKind.LOTTERY).posted
        pity = wheel.pity
        assert pity is not None
        assert all(self.mall.pity(member, wheel.id) < pity.hard for member in MEMBERS)

    @invariant()
    def clearing_holds_what_conversions_moved(self) -> None:
        """P4: each currency's clearing account holds what conversions moved through it."""
        for currency in ("points", "miles"):
            posted = self.mall.ledger.system_balance(AccountKind.CLEARING, currency).posted
            assert self.cleared[currency] == posted


class SQLiteProgramMachine(ProgramMachine):
    """The same machine on a durable SQLite file."""

    def make_storage(self) -> Storage:
        """A SQLite storage in a fresh file."""
        return SQLiteStorage(Path(tempfile.mkdtemp()) / "program.db")


ProgramMachine.TestCase.__doc__ = "Every Program operation keeps every invariant (memory)."
ProgramMachine.TestCase.settings = settings(
    settings(), max_examples=max(25, settings().max_examples // 6), stateful_step_count=30
)
TestProgram = ProgramMachine.TestCase
SQLiteProgramMachine.TestCase.__doc__ = "Every Program operation keeps every invariant (SQLite)."
SQLiteProgramMachine.TestCase.settings = settings(
    settings(), max_examples=max(10, settings().max_examples // 20), stateful_step_count=30
)
TestSQLiteProgram = SQLiteProgramMachine.TestCase

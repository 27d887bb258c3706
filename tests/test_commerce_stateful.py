"""Offers, conversions and draws in random sequences, every invariant checked after each step.

A plain model counts what each command should have done; after every step the machine checks
the ledger against it: stock taken equals units reserved or fulfilled and never passes the
stock (P8, L4); a member never redeems past a limit; refunds never pass what was paid (P8);
each draw took its cost once and its prize counts against the stock (L6, L4); the pity counter
matches the model and never reaches the hard pity (L5); the clearing accounts hold exactly what
conversions moved and a round trip never gains (P3, P4); and the audit replays the journal.
It runs on MemoryStorage and on SQLite.
"""

from __future__ import annotations

import tempfile
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path

from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from pointkit import FixedClock, Ledger, MemoryStorage, Money, PointCurrency
from pointkit.exceptions import (
    ConversionRefusedError,
    DrawRefusedError,
    HoldExpiredError,
    InsufficientPointsError,
    InvalidArgumentError,
    NotReversibleError,
    OfferUnavailableError,
    ReversalExceedsOriginalError,
)
from pointkit.features import Catalogue, Conversions, Draws, RedemptionStatus
from pointkit.ledger import AccountKind
from pointkit.pricing import (
    Bundle,
    Conversion,
    Exchange,
    Lottery,
    Offer,
    OfferLimit,
    Pity,
    Price,
    Prize,
    SeededRandom,
)
from pointkit.storage.sqlite import SQLiteStorage


MEMBERS = ("alice", "bob", "carol")
OFFERS = {
    "watch": Offer(
        "watch",
        "Watch",
        Price(points=500, bundles=[Bundle(200, Money(30, "CNY"))]),
        stock=4,
        limits=[OfferLimit(2, "day")],
        zone="Asia/Shanghai",
        hold_timeout_seconds=3_600,
    ),
    "mug": Offer("mug", "Mug", Price(points=120), refund="no_points_back"),
}
EXCHANGE = Exchange(
    [
        Conversion("to-miles", "points", "miles", Fraction(1, 2), block=10, fee_points=1),
        Conversion("to-points", "miles", "points", Fraction(3, 2), block=10),
    ]
)
WHEEL = Lottery(
    "wheel",
    "Wheel",
    50,
    [
        Prize("phone", "Phone", Fraction(1, 20), stock=2, fallback="back"),
        Prize("back", "30 back", Fraction(4, 20), kind="points", points=30),
        Prize("pen", "Pen", Fraction(15, 20)),
    ],
    participation="pen",
    pity=Pity(["phone", "back"], hard=4),
    daily_limit=6,
    zone="Asia/Shanghai",
)


class CommerceMachine(RuleBasedStateMachine):
    """Random redemptions, refunds, conversions and draws against a counting model."""

    def make_storage(self) -> MemoryStorage | SQLiteStorage:
        """The storage under test."""
        return MemoryStorage()

    def __init__(self) -> None:
        super().__init__()
        self.clock = FixedClock(datetime(2026, 3, 1, 1, 0, tzinfo=UTC))
        self.storage = self.make_storage()
        self.ledger = Ledger(
            self.storage,
            clock=self.clock,
            currencies=[PointCurrency("points"), PointCurrency("miles")],
            program=f"commerce-{uuid.uuid4().hex[:8]}",
        )
        self.catalogue = Catalogue(self.ledger)
        self.draws = Draws(self.ledger)
        self.conversions = Conversions(self.ledger)
        self.random = SeededRandom(1)
        self.keys = (f"k{n}" for n in range(10**9))
        self.redemptions: dict[str, tuple[str, str, int]] = {}  # key -> offer, member, quantity
        self.days: dict[str, str] = {}  # key -> the local day it was made
        self.refunded: Counter[str] = Counter()
        self.won: Counter[str] = Counter()
        self.draw_points = 0
        self.pity: Counter[str] = Counter()
        self.cleared: Counter[str] = Counter()
        for member in MEMBERS:  # everyone starts with enough for a few of everything
            self.ledger.earn(member, 2_000, key=next(self.keys))

    def teardown(self) -> None:
        close = getattr(self.storage, "close", None)
        if close is not None:
            close()

    def _day(self) -> str:
        return (self.clock.now() + timedelta(hours=8)).date().isoformat()

    @rule(member=st.sampled_from(MEMBERS), amount=st.integers(1, 3_000))
    def earn(self, member: str, amount: int) -> None:
        self.ledger.earn(member, amount, key=next(self.keys))

    @rule(hours=st.integers(1, 30))
    def advance(self, hours: int) -> None:
        self.clock.advance(timedelta(hours=hours))
        self.ledger.expire_due()

    @rule(
        member=st.sampled_from(MEMBERS),
        offer=st.sampled_from(sorted(OFFERS)),
        option=st.sampled_from(["points", "bundle:0"]),
        quantity=st.integers(1, 3),
    )
    def redeem(self, member: str, offer: str, option: str, quantity: int) -> None:
        key = next(self.keys)
        try:
            self.catalogue.redeem(member, OFFERS[offer], key=key, option=option, quantity=quantity)
        except (InsufficientPointsError, OfferUnavailableError, InvalidArgumentError):
            return
        self.redemptions[key] = (offer, member, quantity)
        self.days[key] = self._day()
        event("redeemed")

    @precondition(lambda self: self.redemptions)
    @rule(data=st.data(), action=st.sampled_from(["fulfil", "cancel"]))
    def resolve(self, data: st.DataObject, action: str) -> None:
        key = data.draw(st.sampled_from(sorted(self.redemptions)))
        if self.catalogue.redemption(key).status is not RedemptionStatus.RESERVED:
            return
        call = self.catalogue.fulfil if action == "fulfil" else self.catalogue.cancel
        try:
            call(key, key=next(self.keys))
        except HoldExpiredError:
            return  # timed out, not yet swept: the expiry run gives it back
        event(action)

    @precondition(lambda self: self.redemptions)
    @rule(data=st.data(), quantity=st.none() | st.integers(1, 3))
    def refund(self, data: st.DataObject, quantity: int | None) -> None:
        key = data.draw(st.sampled_from(sorted(self.redemptions)))
        offer = OFFERS[self.redemptions[key][0]]
        try:
            refund = self.catalogue.refund(key, offer, key=next(self.keys), quantity=quantity)
        except (NotReversibleError, ReversalExceedsOriginalError, InsufficientPointsError):
            return
        self.refunded[key] += refund.quantity
        event("refunded")

    @rule(member=st.sampled_from(MEMBERS))
    def draw(self, member: str) -> None:
        try:
            result = self.draws.draw(
                member, WHEEL, draw_id=next(self.keys), minor=False, random=self.random
            )
        except (InsufficientPointsError, DrawRefusedError):
            return
        record = result.record
        assert self.pity[member] == record.pity_before
        self.pity[member] = record.pity_after
        self.won[record.prize] += 1
        self.draw_points += record.cost - record.points_back
        event(f"won {record.prize}")

    @rule(
        member=st.sampled_from(MEMBERS),
        conversion=st.sampled_from(["to-miles", "to-points"]),
        points=st.integers(1, 2_000),
    )
    def convert(self, member: str, conversion: str, points: int) -> None:
        try:
            done = self.conversions.convert(
                member, EXCHANGE, conversion, points, key=next(self.keys)
            )
        except (InsufficientPointsError, InvalidArgumentError, ConversionRefusedError):
            return
        quote = done.quote
        self.cleared[quote.source] += quote.converted
        self.cleared[quote.target] -= quote.credited
        event("converted")

    @invariant()
    def stock_matches_the_redemptions(self) -> None:
        """P8, L4: stock taken is what is reserved or fulfilled, never past the stock."""
        for name, offer in OFFERS.items():
            taken = sum(
                quantity
                for key, (offer_name, _, quantity) in self.redemptions.items()
                if offer_name == name
                and self.catalogue.redemption(key).status
                in {RedemptionStatus.RESERVED, RedemptionStatus.FULFILLED}
            )
            sold = self.catalogue.sold(offer)
            if offer.stock is None:
                assert sold is None
            else:
                assert sold is not None
                assert taken == sold <= offer.stock

    @invariant()
    def limits_and_refunds_hold(self) -> None:
        """A member never holds more than a daily limit of a day; refunds never pass what was paid."""
        held: Counter[tuple[str, str, str]] = Counter()
        for key, (offer, member, quantity) in self.redemptions.items():
            status = self.catalogue.redemption(key).status
            if status in {RedemptionStatus.RESERVED, RedemptionStatus.FULFILLED}:
                held[(offer, member, self.days[key])] += quantity
        for (offer, _member, _day), count in held.items():
            for limit in OFFERS[offer].limits:
                assert limit.per != "day" or count <= limit.count
        for key, units in self.refunded.items():
            redemption = self.catalogue.redemption(key)
            assert units == redemption.refunded <= redemption.quantity

    @invariant()
    def draws_add_up(self) -> None:
        """L4, L5, L6: stock, pity and the lottery account agree with the draws made."""
        sold = self.draws.sold(WHEEL)
        assert {"phone": self.won["phone"]} == sold
        assert sold["phone"] <= 2
        assert self.draw_points == self.ledger.system_balance(AccountKind.LOTTERY).posted
        for member in MEMBERS:
            assert self.pity[member] == self.draws.pity(member, WHEEL) < 4

    @invariant()
    def clearing_holds_what_conversions_moved(self) -> None:
        """P4: each currency's clearing account holds what was converted out less what came in."""
        for currency in ("points", "miles"):
            posted = self.ledger.system_balance(AccountKind.CLEARING, currency).posted
            assert self.cleared[currency] == posted

    @invariant()
    def the_journal_replays(self) -> None:
        """Every balance, lot and hold replays from the journal."""
        self.ledger.audit()


class SQLiteCommerceMachine(CommerceMachine):
    """The same machine on a durable SQLite file."""

    def make_storage(self) -> MemoryStorage | SQLiteStorage:
        """A SQLite storage in a fresh file."""
        return SQLiteStorage(Path(tempfile.mkdtemp()) / "commerce.db")


CommerceMachine.TestCase.__doc__ = "Offers, conversions and draws keep every invariant (memory)."
CommerceMachine.TestCase.settings = settings(
    settings(), max_examples=max(30, settings().max_examples // 6), stateful_step_count=30
)
TestCommerce = CommerceMachine.TestCase
SQLiteCommerceMachine.TestCase.__doc__ = (
    "Offers, conversions and draws keep every invariant (SQLite)."
)
SQLiteCommerceMachine.TestCase.settings = settings(
    settings(), max_examples=max(15, settings().max_examples // 15), stateful_step_count=30
)
TestSQLiteCommerce = SQLiteCommerceMachine.TestCase

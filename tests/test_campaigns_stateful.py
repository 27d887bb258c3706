"""The campaigns of a Program in random sequences, every invariant checked after each step.

The machine runs the packaged points_mall.toml (its anti-cheat included) with its campaigns
replaced by ones given here in TOML: a coupon of two uses with a minimum spend on books, an
offer whose reward is that coupon, referrals with a minimum purchase, a window and a cap per
referrer, a mission "3 purchases this month" that rewards points, the coupon and a badge (and a
badge of its own for sign-ins), and a group buy of three with a fill time. Members get and use
coupons, redeem the voucher and have it fulfilled or cancelled, share referral codes that
invitees register with, purchase and sign in through ``Program.record`` (then qualify and
observe the event again: both are idempotent), open, join and cancel groups, and time passes
with the sweeps. A small model predicts what each command does; after every step the machine
checks that no coupon is used past its uses or after its revocation, that no referral is paid
twice or past the cap, that every group is all captured or all released with its stock
accounted for, that missions complete once a period and badges are earned once, that balances
stay within the policy and that ``Program.audit()`` passes. Every refused command must leave
the storage as it was. It runs on MemoryStorage, SQLite and PostgreSQL.
"""

from __future__ import annotations

import tempfile
import tomllib
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import attrs
import pytest
from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from pointkit import FixedClock, MemoryStorage, Money
from pointkit.campaigns import CouponUse, Order, ReferralStatus
from pointkit.exceptions import (
    ActivityRefusedError,
    CouponRefusedError,
    GroupBuyRefusedError,
    InsufficientPointsError,
    LedgerError,
    ReferralRefusedError,
)
from pointkit.features import RedemptionStatus
from pointkit.ledger import HoldStatus
from pointkit.program import Program, config_from_dict
from pointkit.rules import Event, Line
from pointkit.storage.sqlite import SQLiteStorage
from pointkit.testing import snapshot


if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from pointkit.features import MissionOutcome
    from pointkit.ledger import Storage
    from pointkit.program import ProgramConfig

    _T = TypeVar("_T")


MALL = tomllib.loads(
    (Path(__file__).parent.parent / "src" / "pointkit" / "program" / "points_mall.toml").read_text(
        encoding="utf-8"
    )
)

CAMPAIGNS_TOML = """
[[coupons]]
id = "books-20"
name = "20 yuan off books"
amount_off = "20.00 CNY"
minimum_spend = "100.00 CNY"
categories = ["books"]
uses = 2
valid_days = 7

[[offers]]
id = "voucher"
name = "Books voucher"
points = 200
coupon = "books-20"
stock = 30
hold_timeout_seconds = 7200

[referrals]
referrer_points = 300
invitee_points = 100
minimum = "50.00 CNY"
within_days = 10
cap = 1
per = "month"

[[missions]]
id = "shop-3"
name = "Three purchases this month"
period = "month"
times = "unlimited"
goal = { type = "count", kinds = ["purchase"], target = 3, label = "purchases" }
reward = { points = 40, coupon = "books-20", badge = "shopper" }

[[badges]]
id = "shopper"
name = "Shopper"

[[badges]]
id = "regular"
name = "Regular"
goal = { type = "count", kinds = ["sign_in"], target = 3, label = "sign-ins" }

[[group_buys]]
id = "tea-3"
name = "Tea for three"
item = "tea-gift-box"
size = 3
points = 300
fill_seconds = 21600
stock = 4
"""


def programme() -> ProgramConfig:
    """The packaged mall with the campaigns above in place of its own (its anti-cheat kept)."""
    campaigns = tomllib.loads(CAMPAIGNS_TOML)
    document = {
        name: value
        for name, value in MALL.items()
        if name not in ("coupons", "referrals", "missions", "badges", "group_buys")
    }
    document["offers"] = [*MALL["offers"], *campaigns.pop("offers")]
    return config_from_dict({**document, **campaigns}, source="points_mall.toml + campaigns")


CONFIG = programme()
COUPON = CONFIG.campaigns.coupons[0]
DEAL = CONFIG.campaigns.group_buys[0]
TERMS = CONFIG.campaigns.referrals
DEBT_LIMIT = 2_000  # points_mall.toml: clawback = "debt", debt_limit = 2000
MEMBERS = ("mei", "li", "wang")
OPENING = {"mei": 3_000, "li": 1_500, "wang": 450}
INVITEES = ("kai", "lan", "ming", "nuo")
SHOPPERS = MEMBERS + INVITEES
IDENTITIES = ("phone-1", "phone-2")
SHANGHAI = timedelta(hours=8)
AUDITED = ("records", "tiers")
MISSION_POINTS = 40
GROUP_POINTS = 300
SIGN_INS_PER_MINUTE = 3  # points_mall.toml: [anti_cheat] sign-in-bursts
ENDED_BADLY = ("cancelled", "expired", "failed")

cents = st.integers(100, 20_000).map(lambda c: Money(Decimal(c).scaleb(-2), "CNY"))
lines = st.lists(
    st.builds(
        Line,
        product=st.sampled_from(["novel", "atlas", "robot", "tea"]),
        category=st.sampled_from(["books", "books", "toys", "food"]),
        amount=cents,
    ),
    min_size=1,
    max_size=3,
)
# Half the orders have a book line over the minimum spend, so that uses succeed often enough.
orders = lines | st.tuples(
    st.builds(
        Line, product=st.just("atlas"), category=st.just("books"), amount=st.just(Money(120, "CNY"))
    ),
    lines,
).map(lambda pair: [pair[0], *pair[1]])


def mostly(data: st.DataObject, preferred: Sequence[str], fallback: Sequence[str]) -> str:
    """Draw from *preferred* three times in four (when it has any), else from *fallback*."""
    use = bool(preferred) and data.draw(st.integers(0, 3)) > 0
    chosen: str = data.draw(st.sampled_from(list(preferred if use else fallback)))
    return chosen


def month(at: datetime) -> str:
    """The Shanghai calendar month of *at*: the period of the mission and the referral cap."""
    return (at + SHANGHAI).strftime("%Y-%m")


@attrs.define
class CouponModel:
    """What the model knows of an issued coupon."""

    member: str
    ends_at: datetime
    source: str  # what the stored source starts with
    revoked_at: datetime | None = None


@attrs.define
class UseModel:
    """A use made of a coupon."""

    code: str
    at: datetime
    given_back: bool = False


@attrs.define
class InviteModel:
    """An attributed invitee."""

    referrer: str
    identity: str | None
    at: datetime
    refused: str | None
    settled: str | None = None  # "rewarded", or the reason it was settled without a reward


class CampaignMachine(RuleBasedStateMachine):
    """Every campaign command at random, against a small model."""

    def make_storage(self) -> Storage:
        """The storage under test."""
        return MemoryStorage()

    def __init__(self) -> None:
        super().__init__()
        self.clock = FixedClock(datetime(2026, 6, 25, 1, 0, tzinfo=UTC))
        self.storage = self.make_storage()
        config = attrs.evolve(CONFIG, id=f"campaigns-{uuid.uuid4().hex[:8]}")
        self.program = Program(config, storage=self.storage, clock=self.clock)
        self.serial = 0
        # coupons
        self.coupons: dict[str, CouponModel] = {}
        self.uses: dict[str, UseModel] = {}
        self.vouchers: dict[str, list[str]] = {}  # redemption key -> the codes it issued
        # referrals
        self.codes: dict[str, str] = {}
        self.invites: dict[str, InviteModel] = {}
        self.identities: Counter[str] = Counter()  # attributions per declared identity
        self.rewarded: Counter[tuple[str, str]] = Counter()  # (referrer, month) -> rewards
        # missions
        self.purchases: Counter[tuple[str, str]] = Counter()  # (member, month) -> purchases
        self.completed: Counter[str] = Counter()  # member -> completions of shop-3
        self.sign_ins: Counter[str] = Counter()
        self.minute_sign_ins: Counter[tuple[str, str]] = Counter()  # (member, UTC minute)
        self.badges: Counter[tuple[str, str]] = Counter()  # (member, badge) -> times awarded
        # group buys
        self.groups: dict[str, str] = {}  # group id -> how it ended ("open" while it has not)
        for member, points in OPENING.items():
            self.program.adjust(member, points, key=self.key("opening"), reason="opening balance")

    def teardown(self) -> None:
        close = getattr(self.storage, "close", None)
        if close is not None:
            close()

    # -- helpers -----------------------------------------------------------------------------

    def key(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}-{self.serial}"

    def snapshot(self) -> tuple[object, ...]:
        return snapshot(self.storage, self.program.ledger.program, audit=AUDITED)

    def attempt(self, call: Callable[[], _T]) -> _T | LedgerError:
        """Run *call*; a refusal is a fine outcome of a random step, if it changed nothing."""
        before = self.snapshot()
        try:
            return call()
        except LedgerError as error:
            refused = error
        event(f"refused {type(refused).__name__} {getattr(refused, 'reason', '')}".strip())
        assert before == self.snapshot(), f"the refused command wrote: {refused!r}"
        return refused

    def unchanged(self, call: Callable[[], _T]) -> _T:
        """Run *call*, which must write nothing (a replay, a second qualify)."""
        before = self.snapshot()
        done = call()
        assert before == self.snapshot()
        return done

    def add_coupon(self, code: str, member: str, source: str) -> None:
        assert code not in self.coupons, f"code {code} issued twice"
        self.coupons[code] = CouponModel(
            member, self.clock.now() + timedelta(days=7), source=source
        )

    def revoke(self, redemption: str) -> None:
        """Mark the coupons of *redemption* revoked now, if it was cancelled or timed out."""
        status = self.program.redemption(redemption).status
        if status in (RedemptionStatus.CANCELLED, RedemptionStatus.EXPIRED):
            for code in self.vouchers[redemption]:
                coupon = self.coupons[code]
                coupon.revoked_at = coupon.revoked_at or self.clock.now()

    def open_uses(self, code: str) -> int:
        return sum(1 for use in self.uses.values() if use.code == code and not use.given_back)

    def coupon_refusal(self, code: str, member: str, order: Order) -> str | None:
        """The reason the model expects a use of *code* by *member* on *order* to be refused."""
        coupon = self.coupons[code]
        if coupon.revoked_at is not None:
            return "revoked"
        if member != coupon.member:
            return "not_owner"
        if self.clock.now() >= coupon.ends_at:
            return "expired"
        if self.open_uses(code) >= COUPON.uses:
            return "used_up"
        books = [line.amount for line in order.lines if line.category == "books"]
        if not books:
            return "category"
        assert COUPON.minimum_spend is not None
        if sum(books, Money(0, "CNY")) < COUPON.minimum_spend:
            return "minimum_spend"
        return None

    # -- coupons -----------------------------------------------------------------------------

    @rule(member=st.sampled_from(SHOPPERS))
    def issue_coupon(self, member: str) -> None:
        key = self.key("issue")
        coupon = self.program.coupons.issue(COUPON.id, member, key=key)
        self.add_coupon(coupon.code, member, f"key:{key}")
        assert self.clock.now() + timedelta(days=7) == coupon.ends_at
        again = self.unchanged(lambda: self.program.coupons.issue(COUPON.id, member, key=key))
        assert (True, coupon.code) == (again.replayed, again.code)

    @precondition(lambda self: self.coupons)
    @rule(
        data=st.data(),
        order_lines=orders,
        owner=st.sampled_from([True, True, True, False]),
        replay=st.booleans(),
    )
    def use_coupon(
        self, data: st.DataObject, order_lines: list[Line], owner: bool, replay: bool
    ) -> None:
        # In issue order, not by code: codes come from the CSPRNG, and draws must not depend on them.
        code = data.draw(st.sampled_from(list(self.coupons)))
        member = self.coupons[code].member if owner else data.draw(st.sampled_from(SHOPPERS))
        order = Order(order_lines)
        expected = self.coupon_refusal(code, member, order)
        key = self.key("use")
        done = self.attempt(lambda: self.program.coupons.redeem(code, member, order, key=key))
        if expected is not None:
            assert isinstance(done, CouponRefusedError), f"expected {expected}, got {done!r}"
            assert expected == done.reason
            return
        assert isinstance(done, CouponUse), f"expected a use, got {done!r}"
        assert COUPON.discount(order, rounding="floor") == done.discount
        self.uses[key] = UseModel(code, self.clock.now())
        event("coupon used")
        if replay:
            again = self.unchanged(
                lambda: self.program.coupons.redeem(code, member, order, key=key)
            )
            assert (True, done.discount) == (again.replayed, again.discount)

    @precondition(lambda self: self.uses)
    @rule(data=st.data(), replay=st.booleans())
    def give_back(self, data: st.DataObject, replay: bool) -> None:
        use_key = data.draw(st.sampled_from(sorted(self.uses)))
        use = self.uses[use_key]
        key = self.key("give-back")
        done = self.attempt(lambda: self.program.coupons.give_back(use_key, key=key))
        if use.given_back:
            assert isinstance(done, CouponRefusedError)
            assert "not_used" == done.reason
            return
        assert isinstance(done, CouponUse), f"expected a give-back, got {done!r}"
        assert done.given_back
        use.given_back = True
        event("use given back")
        if replay:
            again = self.unchanged(lambda: self.program.coupons.give_back(use_key, key=key))
            assert again.replayed

    @rule(member=st.sampled_from(SHOPPERS), quantity=st.integers(1, 2))
    def redeem_voucher(self, member: str, quantity: int) -> None:
        key = self.key("voucher")
        done = self.attempt(
            lambda: self.program.redeem(member, "voucher", key=key, quantity=quantity)
        )
        if isinstance(done, LedgerError):
            return
        codes = [
            self.program.coupons.code_for(f"redemption:{done.hold}:{unit}")
            for unit in range(quantity)
        ]
        for unit, code in enumerate(codes):
            self.add_coupon(code, member, f"source:redemption:{done.hold}:{unit}")
        self.vouchers[key] = codes
        event("voucher redeemed")

    @precondition(lambda self: self.vouchers)
    @rule(data=st.data(), cancel=st.booleans())
    def resolve_voucher(self, data: st.DataObject, cancel: bool) -> None:
        redemption = data.draw(st.sampled_from(sorted(self.vouchers)))
        key = self.key("resolve")
        if cancel:
            done = self.attempt(lambda: self.program.cancel(redemption, key=key))
        else:
            done = self.attempt(lambda: self.program.fulfil(redemption, key=key))
        self.revoke(redemption)
        if not isinstance(done, LedgerError):
            event("voucher cancelled" if cancel else "voucher fulfilled")
        if cancel and not isinstance(done, LedgerError):
            for code in self.vouchers[redemption]:
                assert 0 == self.program.coupons.coupon(code).uses_left

    # -- referrals ---------------------------------------------------------------------------

    @rule(member=st.sampled_from(MEMBERS))
    def referral_code(self, member: str) -> None:
        code = self.program.referrals.code_for(
            member, key=self.key("code"), identity=f"phone-{member}"
        )
        assert self.codes.setdefault(member, code) == code

    @precondition(lambda self: self.codes)
    @rule(data=st.data(), replay=st.booleans())
    def register(self, data: st.DataObject, replay: bool) -> None:
        referrer = data.draw(st.sampled_from(sorted(self.codes)))
        # Mostly someone not attributed yet: a first registration.
        new = [member for member in SHOPPERS if member not in self.invites and member != referrer]
        invitee = mostly(data, new, [*SHOPPERS, referrer])
        identity = data.draw(st.none() | st.sampled_from((*IDENTITIES, f"phone-{referrer}")))
        unknown = data.draw(st.integers(0, 9)) == 0
        code = "RF-3333-3333" if unknown else self.codes[referrer]
        own = {f"phone-{referrer}"}
        if referrer in self.invites:
            own.add(self.invites[referrer].identity or "")
        expected = (
            "unknown_code"
            if unknown
            else "already_attributed"
            if invitee in self.invites
            else "self_referral"
            if invitee == referrer or identity in own
            else None
        )
        key, now = self.key("register"), self.clock.now()
        done = self.attempt(
            lambda: self.program.referrals.attribute(
                code, invitee, identity=identity, at=now, key=key
            )
        )
        if expected is not None:
            assert isinstance(done, ReferralRefusedError), f"expected {expected}, got {done!r}"
            assert expected == done.reason
            return
        assert not isinstance(done, LedgerError), f"expected an attribution, got {done!r}"
        refused = "repeat_identity" if identity is not None and self.identities[identity] else None
        assert (referrer, refused) == (str(done.referrer), done.reason)
        self.invites[invitee] = InviteModel(referrer, identity, now, refused)
        if identity is not None:
            self.identities[identity] += 1
        event(f"attributed ({refused or 'clean'})")
        if replay:
            again = self.unchanged(
                lambda: self.program.referrals.attribute(
                    code, invitee, identity=identity, at=now, key=key
                )
            )
            assert done == again

    def settle_expected(self, member: str, amount: Money) -> None:
        """Settle *member*'s referral in the model as a purchase of *amount* now would."""
        invite = self.invites.get(member)
        now = self.clock.now()
        if invite is None or invite.settled is not None:
            return
        assert TERMS is not None
        assert TERMS.minimum is not None
        if amount < TERMS.minimum or not invite.at <= now <= TERMS.deadline(invite.at):
            return
        period = (invite.referrer, month(now))
        assert TERMS.cap is not None
        if invite.refused is not None:
            invite.settled = invite.refused
        elif self.rewarded[period] >= TERMS.cap:
            invite.settled = "referrer_cap"
        else:
            invite.settled = "rewarded"
            self.rewarded[period] += 1
        event(f"referral settled: {invite.settled}")

    # -- earning, missions -------------------------------------------------------------------

    def observe(self, recorded: Event) -> MissionOutcome:
        """Observe *recorded* for the missions, then again: the second writes nothing."""
        outcome = self.program.missions.observe(recorded)
        again = self.unchanged(lambda: self.program.missions.observe(recorded))
        assert again.replayed
        assert (outcome.texts, outcome.coupons, outcome.badges) == (
            again.texts,
            again.coupons,
            again.badges,
        )
        return outcome

    def expect_badge(self, member: str, badge: str, earned: bool, outcome: MissionOutcome) -> None:
        assert earned == (badge in outcome.badges)
        if earned:
            self.badges[(member, badge)] += 1
            event(f"badge {badge}")

    @rule(member=st.sampled_from(SHOPPERS), yuan=st.integers(10, 300), twice=st.booleans())
    def purchase(self, member: str, yuan: int, twice: bool) -> None:
        self.record_purchase(member, yuan, twice=twice)

    @precondition(lambda self: self.invites)
    @rule(data=st.data(), yuan=st.integers(40, 300))
    def invitee_purchase(self, data: st.DataObject, yuan: int) -> None:
        # The same command as purchase, by an attributed invitee: referrals settle more often.
        self.record_purchase(data.draw(st.sampled_from(sorted(self.invites))), yuan, twice=False)

    def record_purchase(self, member: str, yuan: int, *, twice: bool) -> None:
        """Record a purchase, qualify it for referrals and observe it for missions."""
        order, now = self.key("order"), self.clock.now()
        amount = Money(yuan, "CNY")
        recorded = Event.purchase(order, member, now, amount=amount, order_id=order)
        self.program.record(recorded)
        # Referrals: every recorded event is fed to qualify; it pays at most once per invitee.
        reward = self.program.referrals.qualify(recorded, key=recorded.id)
        self.settle_expected(member, amount)
        if reward is not None and not reward.replayed:  # None too if record settled it already
            invite = self.invites[member]
            paid = [TERMS.referrer_points, TERMS.invitee_points] if TERMS else []
            assert (invite.settled, paid if invite.settled == "rewarded" else []) == (
                reward.referral.reason or reward.referral.status.value,
                [transaction.amount for transaction in reward.transactions],
            )
        if twice:
            self.unchanged(lambda: self.program.referrals.qualify(recorded, key=recorded.id))
        # Missions: the third purchase of a month completes shop-3, once that month.
        self.purchases[(member, month(now))] += 1
        outcome = self.observe(recorded)
        completes = self.purchases[(member, month(now))] == 3
        assert ([MISSION_POINTS] if completes else []) == [t.amount for t in outcome.transactions]
        assert (1 if completes else 0) == len(outcome.coupons)
        for mission, code in outcome.coupons:
            assert "shop-3" == mission
            self.add_coupon(code, member, f"source:mission:shop-3:{member}:")
        self.expect_badge(member, "shopper", completes and not self.completed[member], outcome)
        if completes:
            self.completed[member] += 1
            event("mission completed")

    @rule(member=st.sampled_from(SHOPPERS))
    def sign_in(self, member: str) -> None:
        now = self.clock.now()
        recorded = Event.sign_in(self.key("sign-in"), member, now)
        # The mall's anti-cheat refuses a member's fourth sign-in in a (UTC) minute.
        minute = (member, now.strftime("%Y-%m-%dT%H:%M"))
        done = self.attempt(lambda: self.program.record(recorded))
        if self.minute_sign_ins[minute] >= SIGN_INS_PER_MINUTE:
            assert isinstance(done, ActivityRefusedError), f"expected a refusal, got {done!r}"
            assert "velocity" == done.reason
            return
        assert not isinstance(done, LedgerError), f"expected a sign-in, got {done!r}"
        self.minute_sign_ins[minute] += 1
        outcome = self.observe(recorded)
        self.sign_ins[member] += 1
        assert ((), ()) == (outcome.transactions, outcome.coupons)
        self.expect_badge(member, "regular", self.sign_ins[member] == 3, outcome)

    @rule(member=st.sampled_from(SHOPPERS), points=st.integers(-200, 1_000).filter(bool))
    def adjust(self, member: str, points: int) -> None:
        self.attempt(
            lambda: self.program.adjust(member, points, key=self.key("adjust"), reason="support")
        )

    # -- group buys --------------------------------------------------------------------------

    def group_status(self, group: str) -> str:
        return self.program.group_buys.group(group).status

    @rule(data=st.data())
    def open_group(self, data: st.DataObject) -> None:
        member = self.joiner(data)
        assert DEAL.stock is not None
        taken = sum(1 for status in self.groups.values() if status in ("open", "completed"))
        available = self.program.balance(member).available
        group = self.key("group")
        done = self.attempt(
            lambda: self.program.group_buys.open(DEAL, member, key=group, group_id=group)
        )
        if taken >= DEAL.stock:
            assert isinstance(done, GroupBuyRefusedError), f"expected sold_out, got {done!r}"
            assert "sold_out" == done.reason
        elif available < GROUP_POINTS:
            assert isinstance(done, InsufficientPointsError), f"expected a refusal, got {done!r}"
        else:
            assert not isinstance(done, LedgerError), f"expected a group, got {done!r}"
            assert ("open", (member,)) == (done.status, done.members)
            self.groups[group] = "open"
            event("group opened")

    def joiner(self, data: st.DataObject) -> str:
        """Mostly a member who can pay the group price, sometimes anyone."""
        rich = [m for m in SHOPPERS if self.program.balance(m).available >= GROUP_POINTS]
        return mostly(data, rich, SHOPPERS)

    @precondition(lambda self: self.groups)
    @rule(data=st.data())
    def join_group(self, data: st.DataObject) -> None:
        member = self.joiner(data)
        # Mostly a group still open: groups fill more often than they would by chance.
        filling = sorted(group for group, status in self.groups.items() if status == "open")
        group = mostly(data, filling, sorted(self.groups))
        before = self.program.group_buys.group(group)
        available = self.program.balance(member).available
        expected = (
            "already_joined"
            if member in before.members
            else "closed"
            if before.status != "open"
            else "timed_out"
            if self.clock.now() >= before.deadline
            else None
        )
        done = self.attempt(
            lambda: self.program.group_buys.join(group, member, key=self.key("join"))
        )
        if expected is not None:
            assert isinstance(done, GroupBuyRefusedError), f"expected {expected}, got {done!r}"
            assert expected == done.reason
        elif available < GROUP_POINTS:
            assert isinstance(done, InsufficientPointsError), f"expected a refusal, got {done!r}"
        else:
            assert not isinstance(done, LedgerError), f"expected a join, got {done!r}"
            assert (*before.members, member) == tuple(map(str, done.members))
            filled = len(done.members) == DEAL.size
            assert ("completed" if filled else "open") == done.status
            self.groups[group] = done.status
            event(f"group joined ({done.status})")

    @precondition(lambda self: self.groups)
    @rule(data=st.data(), by_opener=st.booleans())
    def cancel_group(self, data: st.DataObject, by_opener: bool) -> None:
        group = data.draw(st.sampled_from(sorted(self.groups)))
        before = self.program.group_buys.group(group)
        member = str(before.opener) if by_opener else data.draw(st.sampled_from(SHOPPERS))
        expected = (
            "not_opener"
            if member != before.opener
            else "closed"
            if before.status != "open"
            else None
        )
        done = self.attempt(
            lambda: self.program.group_buys.cancel(group, member, key=self.key("cancel"))
        )
        if expected is not None:
            assert isinstance(done, GroupBuyRefusedError), f"expected {expected}, got {done!r}"
            assert expected == done.reason
            return
        assert not isinstance(done, LedgerError), f"expected a cancel, got {done!r}"
        assert "cancelled" == done.status
        self.groups[group] = "cancelled"
        event("group cancelled")

    # -- time --------------------------------------------------------------------------------

    @rule(
        hours=st.sampled_from([1, 3, 7, 24, 24 * 3]),
        limit=st.none() | st.integers(1, 3),
        ledger_sweep=st.booleans(),
    )
    def later(self, hours: int, limit: int | None, ledger_sweep: bool) -> None:
        self.clock.advance(timedelta(hours=hours))
        if limit is not None:
            run = self.program.group_buys.expire_due(limit=limit)
            if run.groups:
                event("groups swept")
            if run.complete and run.groups:
                # A sweep that ended groups and says complete ended every group it could see.
                self.no_group_open_past(timedelta(0), swept=run.groups)
        if ledger_sweep:
            swept = self.program.run_expiry()
            if swept.holds_expired or swept.lots_expired:
                event("holds or points expired")
            for redemption in self.vouchers:
                self.revoke(redemption)
            # The ledger's sweep is the backstop: past the grace, every unfilled group is over.
            grace = self.program.group_buys.deal("tea-3").hold_grace_seconds
            self.no_group_open_past(timedelta(seconds=grace))
        for group in self.groups:
            self.groups[group] = self.group_status(group)

    def no_group_open_past(self, grace: timedelta, swept: tuple[str, ...] = ()) -> None:
        """No group past its deadline (plus *grace*) is open or holds points; *swept* ones too."""
        now = self.clock.now()
        for group in self.groups:
            found = self.program.group_buys.group(group)
            due = found.deadline + grace <= now or group in swept
            if not due or found.status == "completed":
                continue
            assert found.status in ENDED_BADLY
            holds = [self.program.hold(hold).status for hold in found.holds]
            assert HoldStatus.OPEN not in holds

    # -- invariants ----------------------------------------------------------------------------

    @invariant()
    def the_program_audits(self) -> None:
        """The journal and every feature's records replay (Program.audit)."""
        self.program.audit()

    @invariant()
    def no_coupon_is_used_past_its_uses(self) -> None:
        """Coupons: uses per code within the definition's, none after a revocation."""
        for code, coupon in self.coupons.items():
            found = self.program.coupons.coupon(code)
            made = self.open_uses(code)
            assert (coupon.member, COUPON.uses) == (str(found.member), found.uses)
            assert found.source.startswith(coupon.source)
            assert made <= COUPON.uses
            assert 0 <= found.uses_left
            if coupon.revoked_at is None:
                assert made == found.used
            else:
                assert 0 == found.uses_left
        for use in self.uses.values():
            revoked_at = self.coupons[use.code].revoked_at
            assert revoked_at is None or use.at <= revoked_at

    @invariant()
    def no_referral_is_paid_twice(self) -> None:
        """Referrals: each invitee and identity paid once, within the cap, never oneself."""
        assert TERMS is not None
        now = self.clock.now()
        paid_identities: list[str] = []
        for invitee, invite in self.invites.items():
            found = self.program.referrals.referral(invitee)
            assert found is not None
            if invite.settled is None:
                pending = now <= TERMS.deadline(invite.at)
                status = ReferralStatus.PENDING if pending else ReferralStatus.EXPIRED
                assert (status, invite.refused) == (found.status, found.reason)
            elif invite.settled == "rewarded":
                assert (ReferralStatus.REWARDED, None) == (found.status, found.reason)
                assert invitee != invite.referrer
                assert invite.identity != f"phone-{invite.referrer}"
                if invite.identity is not None:
                    paid_identities.append(invite.identity)
            else:
                expected = (ReferralStatus.NOT_REWARDED, invite.settled)
                assert expected == (found.status, found.reason)
        assert len(set(paid_identities)) == len(paid_identities)
        paid: Counter[tuple[str, str]] = Counter()
        for transaction in self.program.transactions():
            key = transaction.key
            if key.startswith("pointkit:referral:reward:") and key.endswith(":referrer"):
                assert TERMS.referrer_points == transaction.amount
                (member,) = {p.account.member for p in transaction.postings if p.account.member}
                paid[(str(member), month(transaction.created_at))] += 1
        assert self.rewarded == paid
        assert all(count <= (TERMS.cap or 0) for count in paid.values())

    @invariant()
    def every_group_is_all_captured_or_all_released(self) -> None:
        """Group buys: completed groups captured every hold, others none; stock accounted."""
        holding = 0
        for group, seen in self.groups.items():
            found = self.program.group_buys.group(group)
            holds = {self.program.hold(hold).status for hold in found.holds}
            assert seen == found.status
            if found.status == "completed":
                assert DEAL.size == len(found.members)
                assert {HoldStatus.CAPTURED} == holds
            elif found.status == "open":
                assert {HoldStatus.OPEN} == holds
            else:
                assert found.status in ENDED_BADLY
                assert HoldStatus.CAPTURED not in holds
                # A cancel releases every hold in its unit; a timeout may leave some for the sweep.
                assert found.status != "cancelled" or HoldStatus.OPEN not in holds
            holding += found.status in ("open", "completed")
        assert holding == self.program.group_buys.taken(DEAL)

    @invariant()
    def missions_complete_once_a_period(self) -> None:
        """Missions: shop-3 completes once a month at most; each badge is earned once."""
        now = self.clock.now()
        for member in SHOPPERS:
            (shop,) = self.program.missions.progress(member)
            # A purchase after this month's completion is not counted: progress stops at 3.
            count = min(self.purchases[(member, month(now))], 3)
            assert (count, 1 if count == 3 else 0) == (shop.progress, shop.completions)
            assert self.completed[member] == shop.total
            badges = {badge.badge: badge.earned for badge in self.program.missions.badges(member)}
            expected = {
                "shopper": self.completed[member] > 0,
                "regular": self.sign_ins[member] >= 3,
            }
            assert expected == badges
        assert all(times == 1 for times in self.badges.values())

    @invariant()
    def balances_stay_within_the_policy(self) -> None:
        """Ledger: no balance goes past the debt the policy allows; holds are never negative."""
        for member in SHOPPERS:
            balance = self.program.balance(member)
            assert 0 <= balance.held
            assert balance.debt <= DEBT_LIMIT
            assert -DEBT_LIMIT <= balance.available


class SQLiteCampaignMachine(CampaignMachine):
    """The same machine on a durable SQLite file."""

    def make_storage(self) -> Storage:
        """A SQLite storage in a fresh file."""
        return SQLiteStorage(Path(tempfile.mkdtemp()) / "campaigns.db")


CampaignMachine.TestCase.__doc__ = "Every campaign command keeps every invariant (memory)."
# About 10 s on memory, 10 s on SQLite and 15 s on PostgreSQL with the dev profile; under CI
# (300 examples) half as much again.
CampaignMachine.TestCase.settings = settings(
    settings(), max_examples=max(100, settings().max_examples // 2), stateful_step_count=50
)
TestCampaigns = CampaignMachine.TestCase
SQLiteCampaignMachine.TestCase.__doc__ = "Every campaign command keeps every invariant (SQLite)."
SQLiteCampaignMachine.TestCase.settings = settings(
    settings(), max_examples=max(25, settings().max_examples // 8), stateful_step_count=40
)
TestSQLiteCampaigns = SQLiteCampaignMachine.TestCase


def test_campaigns_on_postgres(postgres_dsn: str, postgres_schema: str) -> None:
    """Every campaign command keeps every invariant (PostgreSQL, this run's schema)."""
    from pointkit.storage.postgres import PostgresStorage  # noqa: PLC0415 - an optional extra

    class PostgresCampaignMachine(CampaignMachine):
        def make_storage(self) -> Storage:
            return PostgresStorage(postgres_dsn, schema=postgres_schema)

    run_state_machine_as_test(
        PostgresCampaignMachine,
        settings=settings(
            settings(), max_examples=max(10, settings().max_examples // 20), stateful_step_count=40
        ),
    )


def test_a_revoked_coupon_stays_used_up_after_a_give_back() -> None:
    """A use given back after its coupon was revoked opens no use: the coupon stays used up."""
    clock = FixedClock(datetime(2026, 6, 25, 1, 0, tzinfo=UTC))
    program = Program(CONFIG, storage=MemoryStorage(), clock=clock)
    program.adjust("mei", 1_000, key="opening", reason="opening balance")
    redemption = program.redeem("mei", "voucher", key="voucher-1")
    code = program.coupons.code_for(f"redemption:{redemption.hold}:0")
    order = Order([Line("atlas", "books", Money(120, "CNY"))])
    use = program.coupons.redeem(code, "mei", order, key="order-1")
    program.cancel("voucher-1", key="voucher-1:cancel")
    assert program.coupons.give_back(use, key="refund-1").given_back
    coupon = program.coupons.coupon(code)
    assert (0, False) == (coupon.uses_left, coupon.usable(clock.now()))
    with pytest.raises(CouponRefusedError) as refused:
        program.coupons.redeem(code, "mei", order, key="order-2")
    assert "revoked" == refused.value.reason
    program.audit()

"""The campaigns' outbox events: each written exactly when its change commits, once.

Every test runs on memory, SQLite and PostgreSQL (``any_storage``): the events are read back
committed (``all_events``), and the conformance check of the outbox still finds the events and
the journal one to one.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from pointkit import FixedClock, Ledger, Money, jsonable
from pointkit.campaigns import AmountOff, CouponDefinition, Order
from pointkit.exceptions import (
    CouponRefusedError,
    GroupBuyRefusedError,
    InvalidArgumentError,
    ReferralRefusedError,
)
from pointkit.features import Catalogue, Coupons, Earning, _events
from pointkit.ledger import EVENT_TYPES, event_id
from pointkit.pricing import Offer, Price
from pointkit.program import Program, config_from_toml
from pointkit.rules import Event, Fixed, Line, Rule, RuleSet
from pointkit.testing._outbox_check import outbox_problems
from test_program_campaigns import TOML as MALL


if TYPE_CHECKING:
    from pointkit.ledger import Storage


AT = datetime(2026, 3, 2, 4, tzinfo=UTC)  # 12:00 in Shanghai
TEN_OFF = CouponDefinition("ten-off", "10 yuan off", AmountOff(Money(10, "CNY")), uses=2)
ONE_LEFT = CouponDefinition("last-one", "The last one", AmountOff(Money(5, "CNY")), stock=1)
ORDER = Order([Line("tea", "tea", Money("120.00", "CNY"))])
CAMPAIGN_TYPES = {
    "coupon.issued",
    "coupon.used",
    "coupon.returned",
    "coupon.revoked",
    "referral.attributed",
    "referral.settled",
    "mission.completed",
    "badge.earned",
    "group_buy.opened",
    "group_buy.completed",
    "group_buy.ended",
    "member.frozen",
    "member.unfrozen",
    "event.held",
    "event.reviewed",
}


def _events_of(ledger: Ledger) -> list[tuple[str, dict[str, Any]]]:
    """The campaign events committed so far, in order, and check the outbox's conformance."""
    with ledger.storage.reading(ledger.program) as unit:
        assert [] == outbox_problems(unit)
        stored = unit.all_events()  # type: ignore[attr-defined]
    return [(event.type, dict(event.data)) for event in stored if event.type in CAMPAIGN_TYPES]


def _types(ledger: Ledger) -> list[str]:
    return [kind for kind, _ in _events_of(ledger)]


@pytest.fixture
def ledger(any_storage: Storage) -> Ledger:
    """A ledger on each adapter in turn, in a programme of its own."""
    program = f"campaign-events-{uuid.uuid4().hex[:8]}"
    return Ledger(any_storage, clock=FixedClock(AT), program=program)


@pytest.fixture
def coupons(ledger: Ledger) -> Coupons:
    """Coupons on that ledger."""
    return Coupons(ledger, [TEN_OFF, ONE_LEFT])


@pytest.fixture
def mall(any_storage: Storage) -> Program:
    """The points mall with every campaign, at noon on 2 March 2026 in Shanghai."""
    text = MALL.replace('id = "points-mall"', f'id = "mall-{uuid.uuid4().hex[:12]}"', 1)
    return Program(config_from_toml(text), storage=any_storage, clock=FixedClock(AT))


def test_every_campaign_type_is_registered_with_its_data_type() -> None:
    """Each campaign event type has version 1 and a data record whose JSON Schema exists."""
    for kind in sorted(CAMPAIGN_TYPES):
        version, record = EVENT_TYPES[kind]
        schema = jsonable.schema(getattr(_events, record))
        assert (1, "object") == (version, schema["type"])


def test_coupon_events_follow_issue_use_return(ledger: Ledger, coupons: Coupons) -> None:
    """Issued, used and returned once each; replays, refusals and dry runs write none."""
    coupon = coupons.issue("ten-off", "alice", key="gift-1")
    coupons.issue("ten-off", "alice", key="gift-1")  # a replay
    with pytest.raises(CouponRefusedError):
        coupons.redeem(coupon.code, "bob", ORDER, key="not-bob")  # another member's
    coupons.redeem(coupon.code, "alice", ORDER, key="trial", dry_run=True)
    use = coupons.redeem(coupon.code, "alice", ORDER, key="order-1")
    coupons.redeem(coupon.code, "alice", ORDER, key="order-1")  # a replay
    coupons.give_back(use, key="refund-1")
    coupons.give_back(use, key="refund-1")  # a replay
    events = _events_of(ledger)
    assert ["coupon.issued", "coupon.used", "coupon.returned"] == [kind for kind, _ in events]
    issued, used, returned = (data for _, data in events)
    assert {
        "code": coupon.code,
        "coupon": "ten-off",
        "member": "alice",
        "source": "key:gift-1",
        "uses": 2,
        "issued_at": AT.isoformat(),
        "starts_at": None,
        "ends_at": None,
    } == issued
    assert ("order-1", "used", "120.00 CNY", "10.00 CNY") == (
        used["use"],
        used["status"],
        used["order_total"],
        used["discount"],
    )
    assert ("order-1", "returned", "refund-1") == (
        returned["use"],
        returned["status"],
        returned["key"],
    )


def test_the_event_id_is_stable(ledger: Ledger, coupons: Coupons) -> None:
    """coupon.issued's id is made from the code, so consumers deduplicate on it."""
    coupon = coupons.issue("ten-off", "alice", key="gift-1")
    with ledger.storage.reading(ledger.program) as unit:
        (found,) = [e for e in unit.all_events() if e.type == "coupon.issued"]  # type: ignore[attr-defined]
    assert event_id("coupon.issued", coupon.code) == found.id


def test_a_cancelled_redemption_revokes_its_coupon(ledger: Ledger, coupons: Coupons) -> None:
    """Cancelling an offer redemption writes coupon.revoked with the uses it voided."""
    ledger.earn("alice", 1_000, key="earn-1")
    catalogue = Catalogue(ledger, coupons=coupons)
    voucher = Offer("voucher", "Voucher", Price(points=200), coupon="ten-off")
    redemption = catalogue.redeem("alice", voucher, key="voucher-1")
    catalogue.cancel(redemption.key, key="cancel-1")
    catalogue.cancel(redemption.key, key="cancel-1")  # a replay
    events = _events_of(ledger)
    assert ["coupon.issued", "coupon.revoked"] == [kind for kind, _ in events]
    code = events[0][1]["code"]
    assert {"code": code, "coupon": "ten-off", "member": "alice", "uses_revoked": 2} == events[1][1]


def test_a_rolled_back_issue_writes_no_event(ledger: Ledger, coupons: Coupons) -> None:
    """An earning rule whose coupon is sold out rolls the event back, its events with it."""
    earning = Earning(ledger, coupons=coupons)
    rules = RuleSet([Rule("share", ("share",), Fixed(5), coupon="last-one")], zone="UTC")
    earning.record(Event.share("s-1", "alice", AT), rules)
    with pytest.raises(CouponRefusedError):
        earning.record(Event.share("s-2", "bob", AT), rules)
    events = _events_of(ledger)
    assert [("coupon.issued", "alice", "source:rule:share:s-1")] == [
        (kind, data["member"], data["source"]) for kind, data in events
    ]


def test_referral_events(mall: Program) -> None:
    """Attributed once, settled once by the qualifying purchase, with the points paid."""
    code = mall.referrals.code_for("alice", key="alice-code")
    mall.referrals.attribute(code, "bob", identity=None, at=AT, key="bob-joins")
    with pytest.raises(ReferralRefusedError):
        mall.referrals.attribute(code, "bob", identity=None, at=AT, key="bob-again")
    for order, yuan in (("small", 20), ("big", 80), ("bigger", 500)):
        mall.record(Event.purchase(order, "bob", AT, amount=Money(yuan, "CNY"), order_id=order))
    events = [(k, d) for k, d in _events_of(mall.ledger) if k.startswith("referral.")]
    assert [
        ("referral.attributed", "alice", "bob", None, None, 0, 0),
        ("referral.settled", "alice", "bob", None, "big", 100, 50),
    ] == [
        (
            kind,
            data["referrer"],
            data["invitee"],
            data["reason"],
            data["event"],
            data["referrer_points"],
            data["invitee_points"],
        )
        for kind, data in events
    ]


def test_mission_badge_and_reward_coupon_events(mall: Program) -> None:
    """The third purchase completes the mission: its coupon, completion and badge, once."""
    for number in range(3):
        order = f"o-{number}"
        mall.record(Event.purchase(order, "alice", AT, amount=Money(30, "CNY"), order_id=order))
    mall.record(Event.purchase("o-0", "alice", AT, amount=Money(30, "CNY"), order_id="o-0"))
    events = _events_of(mall.ledger)
    assert ["coupon.issued", "mission.completed", "badge.earned"] == [k for k, _ in events]
    completed = events[1][1]
    assert {
        "mission": "shop-3",
        "member": "alice",
        "number": 1,
        "period": completed["period"],
        "event": "o-2",
        "points": 200,
        "currency": "points",
        "coupon": events[0][1]["code"],
        "badge": "regular",
    } == completed
    assert {"badge": "regular", "member": "alice", "source": "mission:shop-3:1"} == events[2][1]


def test_group_buy_events(mall: Program) -> None:
    """Opened and completed for a filled group, ended for one that timed out; refusals none."""
    for member in ("gina", "hugo", "ivan"):
        mall.adjust(member, 2_000, key=f"gift-{member}", reason="launch gift")
    mall.group_buys.open("tea-3", "gina", key="g-open", group_id="g-1")
    with pytest.raises(GroupBuyRefusedError):
        mall.group_buys.open("tea-3", "hugo", key="g-open-2", group_id="g-1")  # taken
    mall.group_buys.join("g-1", "hugo", key="g-hugo")
    mall.group_buys.join("g-1", "ivan", key="g-ivan")
    mall.group_buys.open("tea-3", "gina", key="g-open-3", group_id="g-2")
    mall.clock.advance(timedelta(hours=2))  # type: ignore[attr-defined]
    mall.group_buys.expire("g-2")
    mall.group_buys.expire("g-2")
    events = _events_of(mall.ledger)
    assert [
        ("group_buy.opened", "g-1", "open", ["gina"]),
        ("group_buy.completed", "g-1", "completed", ["gina", "hugo", "ivan"]),
        ("group_buy.opened", "g-2", "open", ["gina"]),
        ("group_buy.ended", "g-2", "expired", ["gina"]),
    ] == [(kind, data["group"], data["status"], data["members"]) for kind, data in events]


def test_freeze_events(mall: Program) -> None:
    """member.frozen and member.unfrozen once per change; a refused or replayed one writes none."""
    mall.guard.freeze("frank", key="freeze-1", reason="chargebacks")
    mall.guard.freeze("frank", key="freeze-1", reason="chargebacks")  # a replay
    with pytest.raises(InvalidArgumentError):
        mall.guard.freeze("frank", key="freeze-2", reason="again")
    mall.guard.unfreeze("frank", key="unfreeze-1", reason="cleared")
    events = _events_of(mall.ledger)
    assert [
        ("member.frozen", {"member": "frank", "frozen": True, "reason": "chargebacks", "key": "freeze-1"}),
        ("member.unfrozen", {"member": "frank", "frozen": False, "reason": "cleared", "key": "unfreeze-1"}),
    ] == events  # fmt: skip


def test_review_events(mall: Program) -> None:
    """A held event writes event.held; its approval event.reviewed, once."""
    for number in range(2):
        mall.record(Event.review(f"r-{number}", "dave", AT, length=30, rating=5))
    mall.guard.approve("r-1", key="approve-r-1")
    mall.guard.approve("r-1", key="approve-r-1")  # a replay
    events = _events_of(mall.ledger)
    assert [
        ("event.held", "r-1", "pending", 10),
        ("event.reviewed", "r-1", "approved", 10),
    ] == [(kind, data["event"], data["status"], data["points"]) for kind, data in events]


def test_a_held_coupon_is_issued_on_approval(any_storage: Storage) -> None:
    """A coupon rule's coupon waits with a held event and is issued when it is approved."""
    text = MALL.replace('id = "points-mall"', f'id = "mall-{uuid.uuid4().hex[:12]}"', 1)
    text = text.replace(
        'name = "review"\nkinds = ["review"]',
        'name = "review"\nkinds = ["review"]\ncoupon = "ten-off"',
        1,
    )
    mall = Program(config_from_toml(text), storage=any_storage, clock=FixedClock(AT))
    for number in range(2):
        mall.record(Event.review(f"r-{number}", "dave", AT, length=30, rating=5))
    assert 1 == len(mall.coupons.coupons_of("dave"))
    held = _events_of(mall.ledger)[-1]
    assert ("event.held", ["ten-off"]) == (held[0], held[1]["coupons"])
    mall.guard.approve("r-1", key="approve-r-1")
    issued = mall.coupons.coupons_of("dave")
    assert ["source:rule:review:r-0", "source:rule:review:r-1"] == sorted(c.source for c in issued)
    assert () == mall.audit().not_audited

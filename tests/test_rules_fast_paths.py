"""Rules' fast paths give what the full paths give: events' quick checks, lazy explanations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from fractions import Fraction

import attrs
import pytest

from pointkit import MemberId, Money, limits
from pointkit.exceptions import ArgumentTypeError, InvalidArgumentError, LimitExceededError
from pointkit.rules import (
    All,
    Bonus,
    Cap,
    Compare,
    Const,
    Event,
    EventRegistry,
    EventSchema,
    Fact,
    FieldSpec,
    MemberContext,
    Multiplier,
    Rate,
    Rule,
    RuleExplanation,
    RuleSet,
    RuleState,
)


AT = datetime(2026, 3, 1, 12, tzinfo=UTC)
PLAIN = {"amount": Money("88.50", "CNY"), "category": "books", "gift": True, "level": 3}


def test_a_dict_of_plain_values_gives_the_event_pairs_give() -> None:
    """The quick check of a dict (names seen before) and the full check of pairs agree."""
    Event("warm-up", "order", "alice", AT, PLAIN)  # the names are now known
    quick = Event("e-1", "order", "alice", AT, dict(reversed(PLAIN.items())))
    full = Event("e-1", "order", "alice", AT, list(PLAIN.items()))
    assert quick == full
    assert hash(quick) == hash(full)
    assert quick.attributes == tuple(sorted(PLAIN.items()))
    assert quick.get("level") == 3
    assert type(quick.member) is MemberId
    assert quick.member == "alice"


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (1.5, ArgumentTypeError),
        ("books ", InvalidArgumentError),
        (" books", InvalidArgumentError),
        ("", InvalidArgumentError),
        ("line\nbreak", InvalidArgumentError),
        ("x" * (limits.EVENT_TEXT_LENGTH_MAX + 1), LimitExceededError),
        (limits.POINTS_MAX + 1, LimitExceededError),
    ],
)
def test_known_names_do_not_let_bad_values_through(value: object, error: type[Exception]) -> None:
    """A name checked before does not spare its value the full check."""
    Event("warm-up", "order", "alice", AT, PLAIN)
    with pytest.raises(error):
        Event("e-2", "order", "alice", AT, {**PLAIN, "category": value})


@pytest.mark.parametrize(
    ("field", "value"),
    [("id", "e-3 "), ("id", ""), ("member", " alice"), ("member", "al\tice"), ("kind", "Order")],
)
def test_ids_members_and_kinds_are_checked_whatever_came_before(field: str, value: str) -> None:
    """The quick tests of text fall back to the full checks, which refuse what they refused."""
    Event("e-3", "order", "alice", AT, PLAIN)
    fields = {"id": "e-3", "kind": "order", "member": "alice", field: value}
    with pytest.raises(InvalidArgumentError, match=field):
        Event(fields["id"], fields["kind"], fields["member"], AT, PLAIN)


def test_an_instant_in_another_zone_is_stored_in_utc() -> None:
    """Only a UTC instant skips the conversion; others are converted as before."""
    shanghai = datetime(2026, 3, 1, 20, tzinfo=timezone(timedelta(hours=8)))
    event = Event("e-4", "order", "alice", shanghai, PLAIN)
    assert event.at == AT
    assert event.at.tzinfo is UTC


def _ruleset() -> RuleSet:
    registry = EventRegistry.default().register(
        EventSchema(
            "order",
            {
                "amount": FieldSpec("money"),
                "category": FieldSpec("str"),
                "gift": FieldSpec("bool"),
                "level": FieldSpec("int"),
            },
        )
    )
    books = Compare(Fact("event.category"), "==", Const("books"))
    spend = Rule(
        "spend",
        ("order",),
        Rate(1, per=Money(10, "CNY"), rounding="floor"),
        multipliers=(Multiplier("gift", 2, Compare(Fact("event.gift"), "==", Const(value=True))),),
        bonuses=(Bonus(5, All((books, Compare(Fact("event.level"), ">=", Const(2))))),),
        caps=(Cap("day", points=30),),
    )
    level = Rule("level", ("order",), Rate(1, per=Money(20, "CNY"), rounding="half_up"), books)
    return RuleSet([spend, level], zone="Asia/Shanghai", registry=registry)


def _decide(event_id: str) -> tuple[RuleSet, Event, RuleState]:
    rules = _ruleset()
    event = Event(event_id, "order", "alice", AT, PLAIN)
    state = RuleState(MemberContext(tier="silver", earn_multiplier=Fraction(3, 2)))
    return rules, event, state


def test_lazy_explanations_equal_explanations_made_in_full() -> None:
    """An explanation built when read equals one made with every attribute at once."""
    rules, event, state = _decide("e-5")
    explanations = rules.evaluate(event, state, AT).explanations
    assert [explained.rule for explained in explanations] == ["level", "spend"]
    for explained in explanations:
        eager = RuleExplanation(
            explained.rule,
            explained.status,
            explained.reasons,
            explained.conditions,
            explained.trail,
            explained.points,
            explained.coupon,
        )
        assert explained == eager
        assert hash(explained) == hash(eager)
        assert repr(explained) == repr(eager)
        assert explained.to_dict() == eager.to_dict()
    spend = explanations[1]
    assert spend.points == 30  # capped: 88.50 / 10 x 1.5 x 2 = 26.55, + 5, floor 31
    assert spend.trail[-1].result == 30
    assert any(isinstance(step.value, Fraction) for step in spend.trail)


def test_an_unread_trail_writes_the_data_a_read_one_does() -> None:
    """to_dict reads an unread trail from the record: the same data as the Steps give."""
    rules, event, state = _decide("e-6")
    unread = rules.evaluate(event, state, AT)
    read = rules.evaluate(event, state, AT)
    for explained in read.explanations:
        _ = explained.trail
    assert unread.to_json() == read.to_json()
    assert '"value":"3/2"' in unread.to_json()  # the tier multiplier, a Fraction as text


def test_explanations_are_made_once_and_are_frozen() -> None:
    """Reading twice gives the same objects; an explanation refuses changes like attrs classes."""
    rules, event, state = _decide("e-7")
    decision = rules.evaluate(event, state, AT)
    assert decision.explanations is decision.explanations
    explained = decision.explanations[0]
    assert explained.conditions is explained.conditions
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        explained.points = 99  # type: ignore[misc]  # the point: it is read-only


def test_evaluation_sets_every_field_of_a_decision() -> None:
    """Evaluation makes decisions without their generated __init__: it must set every field."""
    from pointkit.rules import Decision  # noqa: PLC0415 - only this test needs the class
    from pointkit.rules._evaluate import _DECISION_SLOTS  # noqa: PLC0415 - a private list

    assert _DECISION_SLOTS == tuple(field.name for field in attrs.fields(Decision))
    rules, event, state = _decide("e-8")
    decision = rules.evaluate(event, state, AT)
    made = Decision(
        decision.event,
        decision.awards,
        decision.counters,
        decision.budgets,
        decision.streaks,
        coupons=decision.coupons,
    )
    assert decision == made
    assert hash(decision) == hash(made)
    assert repr(decision) == repr(made)

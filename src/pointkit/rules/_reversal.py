"""Reversing earnings on refunds and returns: how much of an award to claw back.

Maintainer's notes
------------------
A refund may come in parts (one line today, another next week), so each clawback is computed
from the *cumulative* share refunded, not from this refund's share alone::

    reverse now = round_down(awarded x cumulative fraction) - already reversed

Rounding toward zero means no partial refund ever claws back more than its exact share, and
when the fractions add up to 1 the reversals add up to exactly the award: the rounding errors
of earlier parts are made good by later ones instead of piling up. The ledger owns the
reversal itself (at most once per transaction, never past the original); this module only says
how many points.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING

from pointkit import limits
from pointkit._validate import check_int, type_name
from pointkit._values import Money, round_fraction
from pointkit.exceptions import ArgumentTypeError, InvalidArgumentError
from pointkit.rules._effects import Rate
from pointkit.rules._events import Event


if TYPE_CHECKING:
    from collections.abc import Sequence

    from pointkit.rules._attributes import Line
    from pointkit.rules._rules import Rule


__all__ = ["clawback", "refund_fraction"]


def _points(name: str, value: object) -> int:
    return check_int(
        name, value, minimum=-limits.POINTS_MAX, maximum=limits.POINTS_MAX, limit_name="POINTS_MAX"
    )


def clawback(awarded: int, already_reversed: int, fraction: Fraction | int) -> int:
    """Return the points to reverse now, for a refund that brings the refunded share to *fraction*.

    >>> from fractions import Fraction
    >>> first = clawback(37, 0, Fraction(1, 3))
    >>> second = clawback(37, first, Fraction(2, 3))
    >>> third = clawback(37, first + second, Fraction(1))
    >>> (first, second, third, first + second + third)
    (12, 12, 13, 37)

    Args:
        awarded: The points the rule awarded for the event (negative for a deduction, whose
            reversal gives points back).
        already_reversed: The points reversed by earlier refunds of the same award, with the
            award's sign, at most the award.
        fraction: The share of the award's basis refunded so far, this refund included: the
            sum of every refund's :func:`refund_fraction`, from 0 to 1.

    Returns:
        The points to reverse now, with the award's sign; never more than what is left, never
        less than 0 in size (0 when an earlier reversal already went past this share).

    Raises:
        ArgumentTypeError: If an argument has the wrong type (floats are refused).
        InvalidArgumentError: If *fraction* is outside 0 to 1, or *already_reversed* has the
            other sign or is more than the award.
    """
    award = _points("awarded", awarded)
    reversed_ = _points("already_reversed", already_reversed)
    given: object = fraction  # checked at run time whatever the annotation says
    if isinstance(given, bool) or not isinstance(given, Fraction | int):
        raise ArgumentTypeError(
            f"fraction={given!r} must be a Fraction or an int, not {type_name(given)}"
        )
    share = Fraction(given)
    if not 0 <= share <= 1:
        raise InvalidArgumentError(f"fraction={share!r} must be from 0 to 1")
    if reversed_ * award < 0 or abs(reversed_) > abs(award):
        raise InvalidArgumentError(
            f"already_reversed={reversed_} must have the sign of awarded ({award}) and not "
            "be more than it"
        )
    target = round_fraction(award * share, rounding="down")
    due = target - reversed_
    if due * award < 0:
        return 0
    return due


def _counted(event: Event, rule: Rule) -> tuple[Decimal, Money]:
    amount = event.get("amount")
    if not isinstance(amount, Money):
        raise InvalidArgumentError(
            f"event {event.id!r} ({event.kind}) has no money amount to refund against"
        )
    parts: dict[str, Decimal] = {}
    for name in ("tax", "shipping", "paid_with_points"):
        part = event.get(name)
        parts[name] = part.amount if isinstance(part, Money) else Decimal(0)
    goods = amount.amount - sum(parts.values(), Decimal(0))
    counts = rule.effect.counts if isinstance(rule.effect, Rate) else frozenset({"goods"})
    counted = sum((goods if part == "goods" else parts[part] for part in counts), Decimal(0))
    return counted, amount


def _line_total(event: Event, lines: Iterable[int]) -> Decimal:
    held = event.get("lines")
    order_lines: tuple[Line, ...] = held if isinstance(held, tuple) else ()  # type: ignore[assignment]
    if isinstance(lines, str | bytes) or not isinstance(lines, Iterable):
        raise ArgumentTypeError(f"lines={lines!r} must be a sequence of line indexes")
    indexes = list(lines)
    total = Decimal(0)
    seen: set[int] = set()
    for position, index in enumerate(indexes):
        checked = check_int(
            f"lines[{position}]", index, minimum=0, maximum=max(len(order_lines) - 1, 0)
        )
        if not order_lines:
            raise InvalidArgumentError(f"lines={indexes!r}: event {event.id!r} has no lines")
        if checked in seen:
            raise InvalidArgumentError(f"lines[{position}]={checked} is listed twice")
        seen.add(checked)
        total += order_lines[checked].amount.amount
    return total


def refund_fraction(
    event: Event,
    rule: Rule,
    *,
    amount: Money | None = None,
    lines: Sequence[int] | None = None,
) -> Fraction:
    """Return the share of *rule*'s counted amount that a refund of *event* gives back.

    The counted amount is what the rule's :class:`~pointkit.rules.Rate` counts (goods only by
    default: the amount less tax, shipping and the part paid with points); for a rule with
    fixed points, the goods. Give the refunded money as *amount* (its part of the counted
    amount) or as the indexes of the refunded *lines*; the share is capped at 1. Add the
    shares of successive refunds and pass the sum to :func:`clawback`.

    >>> from datetime import UTC, datetime
    >>> from pointkit import Money
    >>> from pointkit.rules import Event, Line, Rate, Rule
    >>> order = Event.purchase("o-1", "alice", datetime(2026, 3, 1, tzinfo=UTC), amount=Money(300, "CNY"), order_id="o-1",
    ...     lines=[Line("a", "books", Money(100, "CNY")), Line("b", "toys", Money(200, "CNY"))])
    >>> spend = Rule("spend", ("purchase",), Rate(1, per=Money(10, "CNY"), rounding="floor"))
    >>> refund_fraction(order, spend, lines=[0]), refund_fraction(order, spend, amount=Money(150, "CNY"))
    (Fraction(1, 3), Fraction(1, 2))

    Raises:
        ArgumentTypeError: If an argument has the wrong type.
        InvalidArgumentError: If both or neither of *amount* and *lines* are given, the event
            has no money amount, the refund is in another currency or negative, or a line
            index is out of range or repeated.
    """
    given_event: object = event  # checked at run time whatever the annotation says
    if not isinstance(given_event, Event):
        raise ArgumentTypeError(f"event={event!r} must be an Event, not {type_name(event)}")
    if (amount is None) == (lines is None):
        raise InvalidArgumentError("give exactly one of amount= and lines=")
    counted, total = _counted(event, rule)
    if amount is not None:
        given_amount: object = amount
        if not isinstance(given_amount, Money):
            raise ArgumentTypeError(f"amount={amount!r} must be Money, not {type_name(amount)}")
        if given_amount.currency != total.currency:
            raise InvalidArgumentError(
                f"amount={given_amount!s} must be in the event's currency ({total.currency.code})"
            )
        if given_amount.amount < 0:
            raise InvalidArgumentError(f"amount={given_amount!s} must not be negative")
        refunded = given_amount.amount
    else:
        refunded = _line_total(event, lines)  # type: ignore[arg-type]  # not None here
    if counted <= 0:
        return Fraction(0)
    return min(Fraction(1), Fraction(refunded) / Fraction(counted))

"""A lottery's declared outcomes: prizes, the pity guarantee, and the checks on a prize table.

:class:`Prize` and :class:`Pity` check their own fields. The ``check_*`` functions check a
table of prizes as a whole (ids used once, probabilities summing to exactly 1, fallback chains
that end at a prize that never runs out, a participation prize, a pity guarantee that names
prizes of the table), appending one line per problem for :class:`~pointkit.pricing.Lottery`
to report all at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import TYPE_CHECKING, Final, Literal, TypeAlias, final

import attrs

from pointkit import limits
from pointkit._validate import check_choice, check_int, type_name
from pointkit._values import Money
from pointkit.exceptions import ArgumentTypeError, InvalidArgumentError
from pointkit.pricing._config import check_id, check_items, check_name
from pointkit.pricing._valuation import check_fraction


if TYPE_CHECKING:
    from pointkit._values import MoneyCurrency
    from pointkit.pricing._valuation import Valuation


__all__ = [
    "PITY_LEVELS_MAX",
    "MinorsPolicy",
    "Pity",
    "Prize",
    "PrizeKind",
    "check_fallbacks",
    "check_participation",
    "check_pities",
    "check_pity",
    "check_table",
    "money_currency",
]

PrizeKind: TypeAlias = Literal["goods", "coupon", "points", "nothing"]
"""What a prize is: goods or a coupon the host hands over, points the ledger credits, or
nothing (a declared "thanks for playing", with its own probability)."""

MinorsPolicy: TypeAlias = Literal["blocked", "allowed"]
"""Whether members the host marks as minors may draw."""

_KINDS: Final[tuple[PrizeKind, ...]] = ("goods", "coupon", "points", "nothing")

PITY_LEVELS_MAX: Final = 4
"""The most guarantees a lottery stacks (a rare prize within 10, the top one within 90, ...):
the consolidated rates walk every combination of their counters."""


# -- prizes and pity ----------------------------------------------------------------------------


def _prize_id(value: str) -> str:
    return check_id("id", value)


def _prize_name(value: str) -> str:
    return check_name("name", value)


def _prize_name_zh(value: str | None) -> str | None:
    return None if value is None else check_name("name_zh", value)


def _probability(value: Fraction | int) -> Fraction:
    probability = check_fraction("probability", value, maximum=Fraction(1))
    if probability <= 0:
        raise InvalidArgumentError(
            f"probability={probability} must be more than zero; leave an impossible prize out"
        )
    return probability


def _kind(value: str) -> PrizeKind:
    return check_choice("kind", value, _KINDS)


def _prize_points(value: int) -> int:
    return check_int("points", value, minimum=0, maximum=limits.POINTS_MAX, limit_name="POINTS_MAX")


def _optional_money(name: str, value: object) -> Money | None:
    if value is None:
        return None
    if not isinstance(value, Money):
        raise ArgumentTypeError(f"{name}={value!r} must be Money, not {type_name(value)}")
    if value.amount < 0:
        raise InvalidArgumentError(f"{name}={value} must not be negative")
    return value


def _value(value: Money | None) -> Money | None:
    return _optional_money("value", value)


def _prize_cost(value: Money | None) -> Money | None:
    return _optional_money("cost", value)


def _stock(value: int | None) -> int | None:
    if value is None:
        return None
    return check_int("stock", value, minimum=0, maximum=limits.STOCK_MAX, limit_name="STOCK_MAX")


def _fallback(value: str | None) -> str | None:
    return None if value is None else check_id("fallback", value)


def _coupon(value: str | None) -> str | None:
    return None if value is None else check_id("coupon", value)


@final
@attrs.frozen
class Prize:
    """One outcome of a lottery, with its exact probability.

    >>> from fractions import Fraction
    >>> Prize("phone", "Phone", Fraction(1, 1_000), stock=10, fallback="coupon")
    Prize(id='phone', name='Phone', probability=Fraction(1, 1000), kind='goods', points=0, value=None, cost=None, stock=10, fallback='coupon', name_zh=None, coupon=None)
    >>> Prize("phone", "Phone", 0.001)
    Traceback (most recent call last):
    ...
    pointkit.exceptions.ArgumentTypeError: probability=0.001 must be a Fraction or an int, not float

    Attributes:
        id: The prize's id, used in records and stock.
        name: Its display name (the English table shows it).
        probability: Its chance per draw, an exact Fraction in ``(0, 1]``.
        kind: ``"goods"``, ``"coupon"``, ``"points"`` or ``"nothing"``.
        points: For a points prize, the points the ledger credits; 0 otherwise.
        value: What it is worth to the member in money (a points prize is valued at the
            lottery's valuation if omitted).
        cost: What it costs the operator in money (a points prize costs its valuation).
        stock: How many there are; ``None`` for unlimited.
        fallback: The prize that takes this one's probability when it is sold out; the
            lottery's participation prize if omitted.
        name_zh: Its Chinese name, for the Chinese table (the name if omitted).
        coupon: For a coupon prize, the coupon definition winning it issues, in the draw's
            unit of work (the lottery needs a coupon issuer for it); without one, the host
            hands the coupon over itself.
    """

    id: str = attrs.field(converter=_prize_id)
    name: str = attrs.field(converter=_prize_name)
    probability: Fraction = attrs.field(converter=_probability)
    kind: PrizeKind = attrs.field(default="goods", converter=_kind, kw_only=True)
    points: int = attrs.field(default=0, converter=_prize_points, kw_only=True)
    value: Money | None = attrs.field(default=None, converter=_value, kw_only=True)
    cost: Money | None = attrs.field(default=None, converter=_prize_cost, kw_only=True)
    stock: int | None = attrs.field(default=None, converter=_stock, kw_only=True)
    fallback: str | None = attrs.field(default=None, converter=_fallback, kw_only=True)
    name_zh: str | None = attrs.field(default=None, converter=_prize_name_zh, kw_only=True)
    coupon: str | None = attrs.field(default=None, converter=_coupon, kw_only=True)

    def __attrs_post_init__(self) -> None:
        if (self.kind == "points") != (self.points > 0):
            raise InvalidArgumentError(
                f"points={self.points} must be more than zero exactly when kind='points' "
                f"(kind={self.kind!r})"
            )
        if self.kind == "nothing" and (self.value or self.cost or self.stock is not None):
            raise InvalidArgumentError(
                "kind='nothing' is worth nothing: it takes no value, cost or stock"
            )
        if self.coupon is not None and self.kind != "coupon":
            raise InvalidArgumentError(
                f"coupon={self.coupon!r} needs kind='coupon', not kind={self.kind!r}"
            )
        if self.fallback == self.id:
            raise InvalidArgumentError(f"fallback={self.fallback!r} is the prize itself")


def _pity_set(name: str, value: object) -> frozenset[str] | None:
    if value is None:
        return None
    if isinstance(value, str | bytes) or not isinstance(value, Sequence | frozenset | set):
        raise ArgumentTypeError(f"{name}={value!r} must be a collection of prize ids")
    checked = frozenset(check_id(f"{name} item", item) for item in value)
    if not checked:
        raise InvalidArgumentError(f"{name}=() must name at least one prize")
    return checked


def _pity_prizes(value: Sequence[str] | frozenset[str]) -> frozenset[str]:
    checked = _pity_set("prizes", value)
    if checked is None:
        raise ArgumentTypeError("prizes=None must name the guaranteed prizes")
    return checked


def _pity_resets(value: Sequence[str] | frozenset[str] | None) -> frozenset[str] | None:
    return _pity_set("resets_on", value)


def _hard(value: int) -> int:
    return check_int(
        "hard", value, minimum=1, maximum=limits.PITY_DRAWS_MAX, limit_name="PITY_DRAWS_MAX"
    )


def _soft_start(value: int | None) -> int | None:
    if value is None:
        return None
    return check_int(
        "soft_start", value, minimum=1, maximum=limits.PITY_DRAWS_MAX, limit_name="PITY_DRAWS_MAX"
    )


def _soft_step(value: Fraction | int) -> Fraction:
    return check_fraction("soft_step", value, minimum=Fraction(0), maximum=Fraction(1))


def _counter(value: str | None) -> str | None:
    return None if value is None else check_id("counter", value)


@final
@attrs.frozen
class Pity:
    """A guarantee: at most *hard* draws in a row without a prize of *prizes*.

    >>> Pity(["trip", "phone", "tablet"], hard=50)
    Pity(prizes=frozenset({...}), hard=50, soft_start=None, soft_step=Fraction(0, 1), resets_on=None, counter=None)

    Attributes:
        prizes: The guaranteed set: the ``hard``-th draw without one of them is drawn from
            them alone (in proportion to their probabilities).
        hard: The longest run of draws without the set, at least 1.
        soft_start: From this draw of a run on, the set's chance rises by *soft_step* per
            draw (Genshin's ramp from pull 74); no ramp if omitted.
        soft_step: The rise per draw of the ramp, in ``[0, 1]``.
        resets_on: The prizes whose win resets the counter: the guaranteed set if omitted; it
            must include the set.
        counter: The counter's name: lotteries that share it carry a member's run over; the
            lottery's id if omitted.
    """

    prizes: frozenset[str] = attrs.field(converter=_pity_prizes)
    hard: int = attrs.field(converter=_hard, kw_only=True)
    soft_start: int | None = attrs.field(default=None, converter=_soft_start, kw_only=True)
    soft_step: Fraction = attrs.field(default=Fraction(0), converter=_soft_step, kw_only=True)
    resets_on: frozenset[str] | None = attrs.field(
        default=None, converter=_pity_resets, kw_only=True
    )
    counter: str | None = attrs.field(default=None, converter=_counter, kw_only=True)

    def __attrs_post_init__(self) -> None:
        if (self.soft_start is None) != (self.soft_step == 0):
            raise InvalidArgumentError(
                f"soft_start={self.soft_start!r} and soft_step={self.soft_step} go together: "
                "give both for a ramp, or neither"
            )
        if self.soft_start is not None and self.soft_start >= self.hard:
            raise InvalidArgumentError(
                f"soft_start={self.soft_start} must be before hard={self.hard}"
            )
        if self.resets_on is not None and not self.prizes <= self.resets_on:
            missing = ", ".join(repr(prize) for prize in sorted(self.prizes - self.resets_on))
            raise InvalidArgumentError(
                f"resets_on must include every guaranteed prize; it leaves out {missing}"
            )

    @property
    def resets(self) -> frozenset[str]:
        """The prizes whose win resets the counter."""
        return self.prizes if self.resets_on is None else self.resets_on

    def hit_chance(self, base: Fraction, count: int) -> Fraction:
        """The guaranteed set's chance on the draw after *count* draws without it.

        *base* is the set's chance in the table; the ramp adds to it, the hard pity makes it 1.
        """
        draw = count + 1
        if draw >= self.hard:
            return Fraction(1)
        if self.soft_start is not None and draw >= self.soft_start:
            return min(Fraction(1), base + self.soft_step * (draw - self.soft_start + 1))
        return base


# -- the table as a whole ----------------------------------------------------------------------


def check_table(problems: list[str], prizes: object) -> tuple[Prize, ...]:
    checked: list[Prize] = []
    ids: set[str] = set()
    for index, prize in check_items(
        problems, "prizes", prizes, Prize, limit=limits.PRIZES_MAX, limit_name="PRIZES_MAX"
    ):
        if prize.id in ids:
            problems.append(f"prizes[{index}].id: {prize.id!r} is used twice")
            continue
        ids.add(prize.id)
        checked.append(prize)
    if not checked and not problems:
        problems.append("prizes: a lottery needs at least one prize")
    total = sum((prize.probability for prize in checked), Fraction(0))
    if checked and total != 1:
        gap = "missing" if total < 1 else "too much"
        problems.append(
            f"prizes: the probabilities sum to {total}, not 1 ({abs(1 - total)} {gap}); "
            "declare every outcome, 'nothing' included, with its own probability"
        )
    return tuple(checked)


def check_fallbacks(
    problems: list[str], prizes: Sequence[Prize], participation: str | None
) -> None:
    by_id = {prize.id: prize for prize in prizes}
    for index, prize in enumerate(prizes):
        if prize.stock is None:
            if prize.fallback is not None:
                problems.append(
                    f"prizes[{index}].fallback: {prize.fallback!r} has no effect: {prize.id!r} "
                    "has unlimited stock and never runs out"
                )
            continue
        fallback = prize.fallback or participation
        if fallback is None:
            problems.append(
                f"prizes[{index}].fallback: {prize.id!r} has a stock of {prize.stock} and no "
                "fallback; name the prize that takes its chance when it runs out, or declare "
                "a participation prize"
            )
            continue
        if fallback not in by_id:
            problems.append(
                f"prizes[{index}].fallback: {fallback!r} is not a prize of this lottery"
            )
            continue
        seen = [prize.id]
        current = by_id[fallback]
        while current.stock is not None:
            if current.id in seen:
                chain = " -> ".join([*seen, current.id])
                problems.append(
                    f"prizes[{index}].fallback: the fallbacks go round in a circle ({chain}); "
                    "every chain must end at a prize with unlimited stock"
                )
                break
            seen.append(current.id)
            following = current.fallback or participation
            if following is None or following not in by_id:
                break  # reported on that prize's own line
            current = by_id[following]


def check_participation(
    problems: list[str], prizes: Sequence[Prize], participation: str | None
) -> None:
    if participation is None:
        return
    by_id = {prize.id: prize for prize in prizes}
    prize = by_id.get(participation)
    if prize is None:
        problems.append(f"participation: {participation!r} is not a prize of this lottery")
        return
    if prize.stock is not None:
        problems.append(
            f"participation: {participation!r} has a stock of {prize.stock}; a participation "
            "prize must never run out"
        )
    if prize.kind == "nothing":
        problems.append(
            f"participation: {participation!r} is 'nothing'; a participation prize is a prize"
        )
    for index, other in enumerate(prizes):
        if other.kind == "nothing":
            problems.append(
                f"prizes[{index}].kind: {other.id!r} is 'nothing', but with a participation "
                "prize every draw wins something"
            )


def check_pity(problems: list[str], pity: object, prizes: Sequence[Prize]) -> Pity | None:
    if pity is None:
        return None
    if not isinstance(pity, Pity):
        problems.append(f"pity: {pity!r} must be a Pity, not {type_name(pity)}")
        return None
    by_id = {prize.id: prize for prize in prizes}
    for name, chosen in (("prizes", pity.prizes), ("resets_on", pity.resets)):
        unknown = sorted(chosen - by_id.keys())
        if unknown:
            listed = ", ".join(repr(prize) for prize in unknown)
            problems.append(f"pity.{name}: {listed} are not prizes of this lottery")
    if not any(by_id[p].stock is None for p in pity.prizes if p in by_id):
        problems.append(
            "pity.prizes: every guaranteed prize has stock and may run out; include one with "
            "unlimited stock, or the guarantee could not be kept"
        )
    return pity


def check_pities(problems: list[str], pity: object, prizes: Sequence[Prize]) -> tuple[Pity, ...]:
    """Check a lottery's guarantees: none, one :class:`Pity`, or a list of stacked ones.

    Stacked guarantees are listed from the shortest ``hard`` to the longest; a longer one takes
    its share of a draw first, so their guaranteed sets must not overlap, and a win that resets
    a longer one resets every shorter one too (the top prize counts as "a rare prize or better"),
    or a draw forced to the top prize could break a shorter guarantee.
    """
    if pity is None:
        return ()
    if isinstance(pity, Pity):
        checked = check_pity(problems, pity, prizes)
        return () if checked is None else (checked,)
    if isinstance(pity, str | bytes) or not isinstance(pity, Sequence):
        problems.append(f"pity: {pity!r} must be a Pity or a list of them, not {type_name(pity)}")
        return ()
    if not 1 <= len(pity) <= PITY_LEVELS_MAX:
        problems.append(
            f"pity: {len(pity)} guarantees; give 1 to {PITY_LEVELS_MAX} (PITY_LEVELS_MAX)"
        )
        return ()
    levels: list[Pity] = []
    for index, level in enumerate(pity):
        found: list[str] = []
        checked = check_pity(found, level, prizes)
        problems.extend(line.replace("pity", f"pity[{index}]", 1) for line in found)
        if checked is not None:
            levels.append(checked)
    if len(levels) != len(pity):
        return ()
    _check_stacking(problems, levels)
    return tuple(levels)


def _check_stacking(problems: list[str], levels: Sequence[Pity]) -> None:
    counters: dict[str | None, int] = {}
    for index, level in enumerate(levels):
        if level.counter is not None and level.counter in counters:
            problems.append(
                f"pity[{index}].counter: {level.counter!r} is pity[{counters[level.counter]}]'s "
                "counter too; stacked guarantees count separately"
            )
        counters.setdefault(level.counter, index)
        for later in range(index + 1, len(levels)):
            longer = levels[later]
            if longer.hard <= level.hard:
                problems.append(
                    f"pity[{later}].hard: {longer.hard} must be more than pity[{index}].hard="
                    f"{level.hard}; list stacked guarantees from the shortest to the longest"
                )
            shared = sorted(level.prizes & longer.prizes)
            if shared:
                listed = ", ".join(repr(prize) for prize in shared)
                problems.append(
                    f"pity[{later}].prizes: {listed} are guaranteed by pity[{index}] too; "
                    "stacked guarantees name different prizes"
                )
            missing = sorted(longer.resets - level.resets)
            if missing:
                listed = ", ".join(repr(prize) for prize in missing)
                problems.append(
                    f"pity[{index}].resets_on: it must include {listed}, which reset pity[{later}]: "
                    f"a win that resets a longer guarantee resets the shorter ones too (give "
                    f"resets_on = {sorted(level.resets | longer.resets)!r})"
                )


def money_currency(
    problems: list[str], prizes: Sequence[Prize], valuation: Valuation | None
) -> MoneyCurrency | None:
    currency = None if valuation is None else valuation.money
    for index, prize in enumerate(prizes):
        for name, money in (("value", prize.value), ("cost", prize.cost)):
            if money is None:
                continue
            if currency is None:
                currency = money.currency
            elif money.currency != currency:
                problems.append(
                    f"prizes[{index}].{name}: {money} must be in {currency.code}, like the "
                    "rest of the lottery"
                )
    return currency

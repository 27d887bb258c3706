"""Exact odds and the sampling that draws from them.

:class:`Odds` turns exact probabilities into integer weights over their common denominator and
picks a prize from a uniform integer below it. The functions here compute, for a
:class:`~pointkit.pricing.Lottery`, the probabilities a draw uses: the table's after sold-out
prizes pass their chance along their fallbacks, then bent by the pity counter; and the
stationary rates of the pity counter's Markov chain.
"""

from __future__ import annotations

import hashlib
import json
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from fractions import Fraction
from math import lcm
from typing import TYPE_CHECKING, final

import attrs

from pointkit.exceptions import ArgumentTypeError, InvalidArgumentError


if TYPE_CHECKING:
    from pointkit.pricing._lottery import Lottery
    from pointkit.pricing._lottery_prizes import Pity
    from pointkit.pricing._random import RandomSource


__all__ = [
    "Odds",
    "base_probabilities",
    "draw_probabilities",
    "find_sold_out",
    "pity_chain",
    "stacked_chain",
]


@final
@attrs.frozen
class Odds:
    """Exact odds as integer weights over a common denominator, ready to draw from.

    >>> from fractions import Fraction
    >>> odds = Odds.of({"phone": Fraction(1, 10), "coupon": Fraction(9, 10)})
    >>> odds.weights, odds.total
    ((1, 9), 10)
    >>> [odds.pick(u) for u in range(10)].count("phone")
    1

    Attributes:
        prizes: The prize ids, in the table's order.
        weights: Each prize's integer weight (0 for a prize sold out).
        total: The common denominator: the weights sum to it.
    """

    prizes: tuple[str, ...]
    weights: tuple[int, ...]
    total: int
    _cumulative: tuple[int, ...] = attrs.field(repr=False, eq=False)

    @classmethod
    def of(cls, probabilities: Mapping[str, Fraction]) -> Odds:
        """Build odds from exact probabilities that sum to 1 (zeros allowed).

        Raises:
            InvalidArgumentError: If a probability is negative or they do not sum to 1.
        """
        items = list(probabilities.items())
        if any(probability < 0 for _, probability in items):
            raise InvalidArgumentError("probabilities must not be negative")
        if sum((probability for _, probability in items), Fraction(0)) != 1:
            raise InvalidArgumentError("probabilities must sum to exactly 1")
        total = lcm(*(probability.denominator for _, probability in items))
        weights = tuple(int(probability * total) for _, probability in items)
        return cls.from_weights(tuple(prize for prize, _ in items), weights)

    @classmethod
    def from_weights(cls, prizes: Sequence[str], weights: Sequence[int]) -> Odds:
        """Build odds from integer weights (a stored record's)."""
        cumulative: list[int] = []
        running = 0
        for weight in weights:
            running += weight
            cumulative.append(running)
        return cls(tuple(prizes), tuple(weights), running, tuple(cumulative))

    def probability(self, prize: str) -> Fraction:
        """The exact chance of *prize* under these odds."""
        return Fraction(self.weights[self.prizes.index(prize)], self.total)

    def items(self) -> tuple[tuple[str, Fraction], ...]:
        """Every prize with its exact chance, in order."""
        return tuple(
            (prize, Fraction(weight, self.total))
            for prize, weight in zip(self.prizes, self.weights, strict=True)
        )

    def pick(self, value: int) -> str:
        """The prize that the integer *value* in ``[0, total)`` selects."""
        if not 0 <= value < self.total:
            raise InvalidArgumentError(f"value={value} must be from 0 to {self.total - 1}")
        return self.prizes[bisect_right(self._cumulative, value)]

    def draw(self, source: RandomSource) -> tuple[str, int]:
        """Draw a prize from *source*: ``(prize, the integer drawn)``."""
        value = source.below(self.total)
        return (self.pick(value), value)

    @property
    def hash(self) -> str:
        """SHA-256 of the odds' canonical form, for draw records."""
        document = json.dumps(
            [[prize, weight] for prize, weight in zip(self.prizes, self.weights, strict=True)],
            separators=(",", ":"),
        )
        return hashlib.sha256(document.encode()).hexdigest()


# -- the probabilities of a draw ----------------------------------------------------------------


def find_sold_out(lottery: Lottery, sold: Mapping[str, int] | None) -> frozenset[str]:
    """The prizes sold out given the units won so far."""
    if sold is None:
        return frozenset()
    if not isinstance(sold, Mapping):
        raise ArgumentTypeError(f"sold={sold!r} must be a mapping of prize id to units won")
    return frozenset(
        prize.id
        for prize in lottery.prizes
        if prize.stock is not None and sold.get(prize.id, 0) >= prize.stock
    )


def base_probabilities(lottery: Lottery, sold_out: frozenset[str]) -> dict[str, Fraction]:
    """Each prize's chance in the table, once sold-out prizes pass theirs along their fallbacks."""
    by_id = {prize.id: prize for prize in lottery.prizes}
    base = dict.fromkeys(by_id, Fraction(0))
    for prize in lottery.prizes:
        target = prize
        while target.id in sold_out:
            following = target.fallback or lottery.participation
            if following is None:  # pragma: no cover - ruled out when the lottery is built
                raise InvalidArgumentError(f"prize {target.id!r} has no fallback")
            target = by_id[following]
        base[target.id] += prize.probability
    return base


def draw_probabilities(
    lottery: Lottery, sold_out: frozenset[str], count: int | tuple[int, ...]
) -> dict[str, Fraction]:
    """The chances of a draw at pity counter *count*: the guaranteed sets' shares bent by pity.

    *count* is the first guarantee's counter, or one counter per guarantee when they stack
    (missing ones are 0). Stacked guarantees nest, the longest first: it sets its set's share
    of the draw, and each shorter one sets its set's share of what is left, so a shorter
    guarantee's hard pity gives the rest of the draw to its set.
    """
    base = base_probabilities(lottery, sold_out)
    levels = lottery.pities
    if not levels:
        return base
    counts = (count,) if isinstance(count, int) else count
    if len(levels) > 1:
        return _nested(base, levels, counts)
    pity = levels[0]
    chosen = pity.prizes
    hit = sum((p for prize, p in base.items() if prize in chosen), Fraction(0))
    wanted = pity.hit_chance(hit, counts[0] if counts else 0)
    if wanted == hit:
        return base
    miss = 1 - hit
    return {
        prize: p * wanted / hit if prize in chosen else p * (1 - wanted) / miss
        for prize, p in base.items()
    }


def _nested(
    base: dict[str, Fraction], levels: Sequence[Pity], counts: Sequence[int]
) -> dict[str, Fraction]:
    """Stacked guarantees' chances: each sets its set's share of the mass the longer ones left."""
    result = dict.fromkeys(base, Fraction(0))
    pool = dict(base)
    mass = Fraction(1)
    for index in range(len(levels) - 1, -1, -1):
        level = levels[index]
        left = sum(pool.values(), Fraction(0))
        hit = sum((pool.pop(prize, Fraction(0)) for prize in sorted(level.prizes)), Fraction(0))
        count = counts[index] if index < len(counts) else 0
        wanted = level.hit_chance(hit / left, count) if left else Fraction(0)
        for prize in level.prizes:
            if hit:
                result[prize] = mass * wanted * base[prize] / hit
        mass *= 1 - wanted
    rest = sum(pool.values(), Fraction(0))
    for prize, p in pool.items():
        result[prize] = mass * p / rest if rest else Fraction(0)
    return result


def stacked_chain(
    lottery: Lottery, sold_out: frozenset[str]
) -> tuple[dict[str, Fraction], Fraction]:
    """Stacked guarantees' Markov chain: ``(stationary rate of each prize, mean draws per cycle)``.

    A win that resets the longest guarantee resets them all, so the chain starts afresh there;
    between two such wins the longest counter is the draw's number, and the walk keeps, for
    each draw, the chance of reaching each combination of the shorter counters (at most the
    product of their ``hard``). A prize's rate is its expected wins per cycle over the cycle's
    expected length, exact.
    """
    levels = lottery.pities
    top = levels[-1]
    totals = dict.fromkeys((prize.id for prize in lottery.prizes), Fraction(0))
    weight = Fraction(0)
    states: dict[tuple[int, ...], Fraction] = {(0,) * len(levels): Fraction(1)}
    while states:
        following: dict[tuple[int, ...], Fraction] = {}
        for state, reach in states.items():
            weight += reach
            for prize, p in draw_probabilities(lottery, sold_out, state).items():
                if not p:
                    continue
                totals[prize] += reach * p
                if prize in top.resets:
                    continue  # every counter resets: a new cycle
                after = tuple(
                    0 if prize in level.resets else count + 1
                    for level, count in zip(levels, state, strict=True)
                )
                following[after] = following.get(after, Fraction(0)) + reach * p
        states = following
    return ({prize: total / weight for prize, total in totals.items()}, weight)


def pity_chain(lottery: Lottery, sold_out: frozenset[str]) -> tuple[dict[str, Fraction], Fraction]:
    """The pity counter's Markov chain: ``(stationary rate of each prize, mean draws per reset)``.

    The chance of reaching each counter weights the per-draw chances (see the maintainer's notes
    of ``_lottery``); the mean run from one reset to the next is the sum of those weights.
    """
    pity = lottery.pity
    if pity is None:  # pragma: no cover - callers check
        raise InvalidArgumentError("no pity")
    totals = dict.fromkeys((prize.id for prize in lottery.prizes), Fraction(0))
    reach, weight = Fraction(1), Fraction(0)
    steady = (pity.soft_start or pity.hard) - 1  # counters before the ramp or the hard pity
    base = draw_probabilities(lottery, sold_out, 0)
    reset = sum((p for prize, p in base.items() if prize in pity.resets), Fraction(0))
    # Counters 0 .. steady-1 all draw from the table's odds: a geometric run.
    run = Fraction(steady) if reset == 0 else (1 - (1 - reset) ** steady) / reset
    for prize, p in base.items():
        totals[prize] += run * p
    weight += run
    reach = (1 - reset) ** steady
    for count in range(steady, pity.hard):
        if reach == 0:
            break
        chances = draw_probabilities(lottery, sold_out, count)
        for prize, p in chances.items():
            totals[prize] += reach * p
        weight += reach
        reach *= 1 - sum((p for prize, p in chances.items() if prize in pity.resets), Fraction(0))
    return ({prize: total / weight for prize, total in totals.items()}, weight)

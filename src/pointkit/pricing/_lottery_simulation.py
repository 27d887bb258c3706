"""Simulated draws: many draws at once, honouring stock and pity, with nothing stored.

:func:`simulate` draws exactly as real draws would at each point (the same odds after stock
and the pity counter), for launch checks and statistics; :class:`Simulation` is what it gave.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import TYPE_CHECKING, final

import attrs

from pointkit import limits
from pointkit._validate import check_int
from pointkit.exceptions import ArgumentTypeError
from pointkit.pricing._lottery_odds import Odds, draw_probabilities, find_sold_out


if TYPE_CHECKING:
    from collections.abc import Mapping

    from pointkit.pricing._lottery import Lottery
    from pointkit.pricing._random import RandomSource


__all__ = ["Simulation", "simulate"]


@final
@attrs.frozen
class Simulation:
    """What a batch of simulated draws gave.

    Attributes:
        draws: How many draws were made.
        counts: ``(prize, times won)`` in the table's order.
        points_spent: Points the draws cost.
        points_back: Points the prizes credited.
        sold_out: ``(prize, draw number)`` at which each prize with stock ran out.
    """

    draws: int
    counts: tuple[tuple[str, int], ...]
    points_spent: int
    points_back: int
    sold_out: tuple[tuple[str, int], ...]

    def count(self, prize: str) -> int:
        """How many times *prize* was won."""
        return dict(self.counts)[prize]


def simulate(
    lottery: Lottery,
    draws: int,
    *,
    random: RandomSource,
    members: int = 1,
    sold: Mapping[str, int] | None = None,
) -> Simulation:
    """Simulate *draws* draws of *lottery* (see :meth:`~pointkit.pricing.Lottery.simulate`).

    Raises:
        InvalidArgumentError: If *draws* or *members* is out of range.
    """
    count = check_int(
        "draws",
        draws,
        minimum=1,
        maximum=limits.SIMULATION_DRAWS_MAX,
        limit_name="SIMULATION_DRAWS_MAX",
    )
    people = check_int("members", members, minimum=1, maximum=count)
    if not callable(getattr(random, "below", None)):
        raise ArgumentTypeError(f"random={random!r} must have a below(bound) method")
    wins = [0] * len(lottery.prizes)
    below = random.below
    won = dict(sold or {})
    if lottery.pity is None and not lottery.limited:
        odds = lottery.odds()
        cumulative, total = odds._cumulative, odds.total  # noqa: SLF001 - the hot loop
        many = getattr(random, "many", None)
        values = many(total, count) if many is not None else (below(total) for _ in range(count))
        for value in values:
            wins[bisect_right(cumulative, value)] += 1
        return _simulation(lottery, count, wins, [])
    levels = lottery.pities
    # One tuple of counters per member, one counter per guarantee (a lone 0 without pity).
    counters = [(0,) * max(len(levels), 1)] * people
    stock = {prize.id: prize.stock for prize in lottery.limited}
    caps = tuple(level.hard - 1 for level in levels) or (0,)
    ids = [prize.id for prize in lottery.prizes]
    sold_out = find_sold_out(lottery, won)
    tables: dict[tuple[frozenset[str], tuple[int, ...]], tuple[tuple[int, ...], int]] = {}
    ran_out: list[tuple[str, int]] = []
    for number in range(count):
        member = number % people
        level = tuple(min(held, cap) for held, cap in zip(counters[member], caps, strict=True))
        table = tables.get((sold_out, level))
        if table is None:
            chances = draw_probabilities(lottery, sold_out, level if len(level) > 1 else level[0])
            odds = Odds.of(chances)
            table = tables[(sold_out, level)] = (odds._cumulative, odds.total)  # noqa: SLF001
        position = bisect_right(table[0], below(table[1]))
        wins[position] += 1
        prize = ids[position]
        if prize in stock:
            won[prize] = won.get(prize, 0) + 1
            if won[prize] == stock[prize]:
                ran_out.append((prize, number + 1))
                sold_out = find_sold_out(lottery, won)
        if levels:
            counters[member] = lottery.pities_after(counters[member], prize)
    return _simulation(lottery, count, wins, ran_out)


def _simulation(
    lottery: Lottery, count: int, wins: list[int], sold_out: list[tuple[str, int]]
) -> Simulation:
    return Simulation(
        draws=count,
        counts=tuple((prize.id, won) for prize, won in zip(lottery.prizes, wins, strict=True)),
        points_spent=count * lottery.cost,
        points_back=sum(
            prize.points * won for prize, won in zip(lottery.prizes, wins, strict=True)
        ),
        sold_out=tuple(sold_out),
    )

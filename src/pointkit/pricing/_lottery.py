"""Lotteries that cost points: exact prize tables, stock, pity, disclosure and expected cost.

Maintainer's notes
------------------
A :class:`Lottery` is declared data, analysed exactly:

* Every prize has an exact :class:`~fractions.Fraction` probability and the probabilities sum
  to exactly 1, so every draw yields exactly one declared outcome; "nothing" exists only as a
  prize of kind ``"nothing"`` with its own probability. With a participation prize declared,
  there is no "nothing" at all.
* A prize with stock names a fallback. When it is sold out, its probability moves to the
  fallback (along the chain, to the first prize in stock), and the disclosure shows the new
  table: sold-out prizes never silently pass their mass to whatever comes next.
* A :class:`Pity` guarantee is one counter per member: draws since the counter last reset. The
  draw that would be the ``hard``-th without a prize of the guaranteed set is drawn from that
  set alone; a soft ramp raises the set's chance by ``soft_step`` per draw from ``soft_start``.
  Which prizes reset the counter is declared (``resets_on``); sharing a counter name across
  lotteries carries it over. The odds of every draw are a pure function of the table, the
  stock sold and the member's counter (:meth:`Lottery.odds`), so a draw can be recomputed.
* Guarantees stack (a rare prize within 10 draws, the top prize within 90): one counter per
  guarantee, listed from the shortest to the longest. They nest, the longest first: it sets
  its set's share of the draw, each shorter one its set's share of what is left; a win that
  resets a longer guarantee resets the shorter ones (checked when the lottery is built), so a
  draw forced to the top prize never breaks a shorter guarantee. The first guarantee keeps the
  single guarantee's counter, record fields and table hash, so adding none changes nothing.
* :class:`Odds` turns exact probabilities into integer weights over their common denominator,
  and picks a prize from a uniform integer below it by binary search on the cumulative
  weights: each integer maps to exactly one prize, and prize *i* owns exactly ``w_i`` of them.

Consolidated rates with pity are the stationary rates of the counter's Markov chain, computed
exactly: with ``r_k`` the chance that a draw at counter ``k`` resets it, the chance of reaching
counter ``k`` is ``prod(1 - r_j for j < k)``, and a prize's long-run rate is the average of its
per-draw chance weighted by those. With stacked guarantees the chain restarts whenever the
longest one resets; the rates are a prize's expected wins over the expected draws between two
restarts, walking every combination of the shorter counters (``_lottery_odds.stacked_chain``).

Layout
------
This module holds :class:`Lottery`: its construction, lookups, counters and the rules of a
draw. The rest lives beside it, one job a module: ``_lottery_prizes`` (prizes, pity and the
checks on a prize table), ``_lottery_odds`` (exact odds and the probabilities a draw uses),
``_lottery_disclosure`` (the published table and the expected cost), ``_lottery_simulation``
(simulated draws) and ``_lottery_records`` (draw records and provably fair verification).
:class:`Lottery`'s methods call them; the names they export are re-exported here, so the
lottery's public types can still be imported from this module.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, final

import attrs

from pointkit import limits
from pointkit._localtime import checked_wall
from pointkit._validate import check_aware, check_int, check_zone, type_name
from pointkit._values import check_point_code
from pointkit.exceptions import (
    ArgumentTypeError,
    ConfigurationError,
    DrawRefusedError,
    InvalidArgumentError,
)
from pointkit.pricing._config import check_id, check_name, check_window, field
from pointkit.pricing._lottery_disclosure import (
    Disclosure,
    DisclosureRow,
    Expectation,
    disclose,
    expect,
)
from pointkit.pricing._lottery_odds import (
    Odds,
    base_probabilities,
    draw_probabilities,
    find_sold_out,
    pity_chain,
    stacked_chain,
)
from pointkit.pricing._lottery_prizes import (
    MinorsPolicy,
    Pity,
    Prize,
    PrizeKind,
    check_fallbacks,
    check_participation,
    check_pities,
    check_table,
    money_currency,
)
from pointkit.pricing._lottery_records import DrawRecord, verify
from pointkit.pricing._lottery_simulation import Simulation, simulate
from pointkit.pricing._valuation import Valuation


if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime
    from fractions import Fraction
    from zoneinfo import ZoneInfo

    from pointkit.pricing._random import RandomSource


__all__ = [
    "Disclosure",
    "DisclosureRow",
    "DrawRecord",
    "Expectation",
    "Lottery",
    "MinorsPolicy",
    "Odds",
    "Pity",
    "Prize",
    "PrizeKind",
    "Simulation",
    "verify",
]


def _cost(value: object) -> int:
    return check_int("cost", value, minimum=1, maximum=limits.POINTS_MAX, limit_name="POINTS_MAX")


def _daily(value: object) -> int:
    return check_int(
        "daily_limit", value, minimum=1, maximum=limits.POINTS_MAX, limit_name="POINTS_MAX"
    )


@final
@attrs.frozen(init=False)
class Lottery:
    """A draw that costs points, with an exact prize table, stock, pity and published odds.

    >>> from fractions import Fraction
    >>> from pointkit import Money
    >>> wheel = Lottery(
    ...     "wheel", "Lucky wheel", 1_000,
    ...     [
    ...         Prize("phone", "Phone", Fraction(1, 1_000), stock=10, cost=Money(3_000, "CNY")),
    ...         Prize("coupon", "10-yuan coupon", Fraction(999, 1_000), kind="coupon", cost=Money(10, "CNY")),
    ...     ],
    ...     participation="coupon",
    ... )
    >>> wheel.odds(sold={"phone": 10}).items()
    (('phone', Fraction(0, 1)), ('coupon', Fraction(1, 1)))
    >>> Lottery("wheel", "Lucky wheel", 1_000, [Prize("phone", "Phone", Fraction(1, 1_000), stock=10)])
    Traceback (most recent call last):
    ...
    pointkit.exceptions.ConfigurationError: Lottery 'wheel' has 2 problems:
      - prizes: the probabilities sum to 1/1000, not 1 (999/1000 missing); declare every outcome, 'nothing' included, with its own probability
      - prizes[0].fallback: 'phone' has a stock of 10 and no fallback; name the prize that takes its chance when it runs out, or declare a participation prize

    Args:
        id: The lottery's id, used in keys, counters and records.
        name: Its display name.
        cost: Points a draw costs, at least 1.
        prizes: The prize table, up to ``limits.PRIZES_MAX``; probabilities sum to exactly 1.
        currency: The point currency draws cost (and points prizes credit).
        pity: A guarantee, if any, or a list of stacked ones from the shortest ``hard`` to
            the longest (up to ``PITY_LEVELS_MAX``).
        participation: The prize every draw wins when it wins nothing better: unlimited, and
            the fallback of prizes with stock that name none. With it, no prize may be
            ``"nothing"``.
        daily_limit: The most draws per member per local day, if limited.
        starts_at: When draws open, inclusive.
        ends_at: When they close, exclusive.
        zone: The program's IANA time zone: needed for *daily_limit*.
        minors: ``"blocked"`` (the default) refuses members the host marks as minors.
        valuation: The points' reference value, for figures in money.
        name_zh: Its Chinese name (the name if omitted).

    Raises:
        ConfigurationError: Listing every problem, each naming its field.
    """

    id: str
    name: str
    cost: int
    prizes: tuple[Prize, ...]
    currency: str
    pity: Pity | None
    participation: str | None
    daily_limit: int | None
    starts_at: datetime | None
    ends_at: datetime | None
    zone: ZoneInfo | None
    minors: MinorsPolicy
    valuation: Valuation | None
    name_zh: str | None
    table_hash: str
    pities: tuple[Pity, ...]
    _cache: dict[tuple[object, ...], Odds] = attrs.field(eq=False, repr=False, hash=False)

    def __init__(  # noqa: PLR0913 - every facet of a lottery is a keyword of its own
        self,
        id: str,  # noqa: A002 - the lottery's id
        name: str,
        cost: int,
        prizes: Sequence[Prize],
        *,
        currency: str = "points",
        pity: Pity | Sequence[Pity] | None = None,
        participation: str | None = None,
        daily_limit: int | None = None,
        starts_at: datetime | None = None,
        ends_at: datetime | None = None,
        zone: ZoneInfo | str | None = None,
        minors: MinorsPolicy = "blocked",
        valuation: Valuation | None = None,
        name_zh: str | None = None,
    ) -> None:
        problems: list[str] = []
        checked_id = field(problems, "id", lambda: check_id("id", id), "?")
        checked_name = field(problems, "name", lambda: check_name("name", name), "?")
        checked_zh = (
            None
            if name_zh is None
            else field(problems, "name_zh", lambda: check_name("name_zh", name_zh), None)
        )
        checked_cost = field(problems, "cost", lambda: _cost(cost), 1)
        checked_currency = field(
            problems, "currency", lambda: check_point_code("currency", currency), "points"
        )
        table = check_table(problems, prizes)
        checked_participation = (
            None
            if participation is None
            else field(
                problems, "participation", lambda: check_id("participation", participation), None
            )
        )
        check_participation(problems, table, checked_participation)
        check_fallbacks(problems, table, checked_participation)
        levels = check_pities(problems, pity, table)
        checked_pity = levels[0] if levels else None
        checked_daily = (
            None
            if daily_limit is None
            else field(problems, "daily_limit", lambda: _daily(daily_limit), None)
        )
        start, end = check_window(problems, starts_at, ends_at)
        checked_zone = (
            None
            if zone is None
            else field(problems, "zone", lambda: check_zone("zone", zone), None)
        )
        if daily_limit is not None and zone is None:
            problems.append("zone: a daily limit counts local days; give the program's time zone")
        if minors not in ("blocked", "allowed"):
            problems.append(f"minors: {minors!r} must be 'blocked' or 'allowed'")
        given_valuation: object = valuation  # checked at run time whatever the annotation says
        if given_valuation is not None:
            if not isinstance(given_valuation, Valuation):
                problems.append(
                    f"valuation: {given_valuation!r} must be a Valuation, "
                    f"not {type_name(given_valuation)}"
                )
                valuation = None
            elif given_valuation.currency != checked_currency:
                problems.append(
                    f"valuation: it values {given_valuation.currency!r}, but draws cost "
                    f"{checked_currency!r}"
                )
        money_currency(problems, table, valuation)
        if problems:
            raise ConfigurationError(f"Lottery {id!r}", problems)
        self.__attrs_init__(
            checked_id,
            checked_name,
            checked_cost,
            table,
            checked_currency,
            checked_pity,
            checked_participation,
            checked_daily,
            start,
            end,
            checked_zone,
            minors,
            valuation,
            checked_zh,
            _table_hash(
                checked_id,
                checked_cost,
                checked_currency,
                table,
                checked_participation,
                levels,
            ),
            levels,
            {},
        )

    # -- lookups ----------------------------------------------------------------------------

    def prize(self, prize_id: str) -> Prize:
        """Return the prize called *prize_id*.

        Raises:
            InvalidArgumentError: If there is none; the message lists the ids.
        """
        for prize in self.prizes:
            if prize.id == prize_id:
                return prize
        valid = ", ".join(repr(prize.id) for prize in self.prizes)
        raise InvalidArgumentError(f"prize={prize_id!r} is not one of {valid}")

    @property
    def limited(self) -> tuple[Prize, ...]:
        """The prizes with stock."""
        return tuple(prize for prize in self.prizes if prize.stock is not None)

    def stock_key(self, prize_id: str) -> str:
        """The budget that counts the units of *prize_id* won (its stock used)."""
        return f"pointkit:stock:lottery:{self.id}:{prize_id}"

    @property
    def pity_key(self) -> tuple[str, str] | None:
        """The member counter of the (first) pity guarantee (draws since it reset), if any."""
        if self.pity is None:
            return None
        return (f"pointkit:pity:{self.pity.counter or self.id}", "lifetime")

    @property
    def pity_keys(self) -> tuple[tuple[str, str], ...]:
        """The member counter of each guarantee, in order: the first is :attr:`pity_key`.

        A stacked guarantee without a ``counter`` name counts under the lottery's id and its
        place in the list (``wheel:2`` for the second).
        """
        return tuple(
            (
                f"pointkit:pity:{level.counter or (self.id if index == 0 else f'{self.id}:{index + 1}')}",
                "lifetime",
            )
            for index, level in enumerate(self.pities)
        )

    def daily_key(self, now: datetime) -> tuple[str, str] | None:
        """The member counter of draws today at *now*, if draws are limited per day.

        Raises:
            InvalidArgumentError: If *now*'s local time falls outside the years 1 to 9999.
        """
        if self.daily_limit is None or self.zone is None:
            return None
        day = checked_wall("now", check_aware("now", now), self.zone).date()
        return (f"pointkit:draws:{self.id}", f"day:{day.isoformat()}")

    def pity_after(self, count: int, prize: str) -> int:
        """The pity counter after a draw at *count* that won *prize*."""
        if self.pity is None:
            return 0
        return 0 if prize in self.pity.resets else count + 1

    def pities_after(self, counts: Sequence[int], prize: str) -> tuple[int, ...]:
        """Every guarantee's counter after a draw at *counts* (one per guarantee) that won *prize*."""
        return tuple(
            0 if prize in level.resets else count + 1
            for level, count in zip(self.pities, counts, strict=True)
        )

    def check_draw(self, *, now: datetime, minor: bool, draws_today: int) -> None:
        """Refuse a draw the lottery's rules forbid.

        Raises:
            DrawRefusedError: With reason ``not_started``, ``ended``, ``minor`` or
                ``daily_limit``, checked in that order.
        """
        at = check_aware("now", now)
        if not isinstance(minor, bool):
            raise ArgumentTypeError(f"minor={minor!r} must be a bool, not {type_name(minor)}")
        if self.starts_at is not None and at < self.starts_at:
            self._refuse("not_started", f"opens at {self.starts_at.isoformat()}")
        if self.ends_at is not None and at >= self.ends_at:
            self._refuse("ended", f"closed at {self.ends_at.isoformat()}")
        if minor and self.minors == "blocked":
            self._refuse("minor", "is closed to minors")
        if self.daily_limit is not None and draws_today >= self.daily_limit:
            self._refuse(
                "daily_limit",
                f"allows {self.daily_limit} draws per member per day; this member has had "
                f"{draws_today} today",
            )

    def _refuse(self, reason: str, detail: str) -> None:
        raise DrawRefusedError(self.id, reason, f"lottery {self.id!r} {detail}")

    # -- odds -------------------------------------------------------------------------------

    def odds(self, *, sold: Mapping[str, int] | None = None, pity: int | Sequence[int] = 0) -> Odds:
        """The exact odds of the next draw, given units won so far and the member's pity counter.

        Args:
            sold: Units of each prize won so far: prizes at their stock are sold out.
            pity: The member's pity counter: draws since it last reset; with stacked
                guarantees, one counter per guarantee in order (an int is the first one's,
                the others at 0).

        Raises:
            InvalidArgumentError: If a counter is out of range, or more counters are given
                than the lottery has guarantees.
        """
        counts = self._counts(pity)
        sold_out = find_sold_out(self, sold)
        key = (sold_out, counts)
        odds = self._cache.get(key)
        if odds is None:
            odds = Odds.of(
                draw_probabilities(self, sold_out, counts if len(counts) > 1 else counts[0])
            )
            if len(self._cache) < limits.PITY_DRAWS_MAX:
                self._cache[key] = odds
        return odds

    def _counts(self, pity: object) -> tuple[int, ...]:
        """One counter per guarantee (a single 0 without pity), each held below its ``hard``."""
        given = (pity,) if isinstance(pity, int) else pity
        if isinstance(given, str | bytes) or not isinstance(given, Sequence):
            raise ArgumentTypeError(
                f"pity={pity!r} must be an int or a sequence of ints, not {type_name(pity)}"
            )
        levels = max(len(self.pities), 1)
        if not 1 <= len(given) <= levels:
            raise InvalidArgumentError(
                f"pity={pity!r} gives {len(given)} counters; lottery {self.id!r} has {levels}"
            )
        counts = [
            check_int(f"pity[{index}]", count, minimum=0, maximum=limits.PITY_DRAWS_MAX)
            for index, count in enumerate(given)
        ]
        counts += [0] * (levels - len(counts))
        if not self.pities:
            return (0,)
        return tuple(
            min(count, level.hard - 1) for count, level in zip(counts, self.pities, strict=True)
        )

    def consolidated(self, *, sold: Mapping[str, int] | None = None) -> dict[str, Fraction]:
        """Each prize's long-run rate per draw, pity included (the table's odds without pity).

        The stationary rates of the pity counter's Markov chain, exact.
        """
        sold_out = find_sold_out(self, sold)
        if self.pity is None:
            return base_probabilities(self, sold_out)
        if len(self.pities) > 1:
            return stacked_chain(self, sold_out)[0]
        rates, _ = pity_chain(self, sold_out)
        return rates

    def mean_draws_to_reset(self, *, sold: Mapping[str, int] | None = None) -> Fraction:
        """The expected number of draws from one reset of the pity counter to the next.

        With stacked guarantees, from one reset of the longest guarantee to the next.

        Raises:
            InvalidArgumentError: If the lottery has no pity.
        """
        if self.pity is None:
            raise InvalidArgumentError(f"lottery {self.id!r} has no pity guarantee")
        sold_out = find_sold_out(self, sold)
        if len(self.pities) > 1:
            return stacked_chain(self, sold_out)[1]
        return pity_chain(self, sold_out)[1]

    # -- disclosure and expectation ------------------------------------------------------------

    def disclosure(self, *, sold: Mapping[str, int] | None = None) -> Disclosure:
        """The odds table to publish now: names, quantities left, exact odds, percentages.

        Percentages have two places and sum to exactly 100.00% (largest remainder).
        """
        return disclose(self, sold=sold)

    def expectation(
        self, *, sold: Mapping[str, int] | None = None, with_pity: bool = True
    ) -> Expectation:
        """What a draw costs the operator and returns to the member on average, exactly.

        Args:
            sold: Units won so far (sold-out prizes pass their chance to their fallbacks).
            with_pity: Use the consolidated rates of the pity guarantee (the long-run average);
                ``False`` uses the table's odds for a fresh counter.

        Raises:
            InvalidArgumentError: If a goods or coupon prize has no cost, or a points prize
                needs the lottery's valuation and it has none.
        """
        return expect(self, sold=sold, with_pity=with_pity)

    # -- simulation -------------------------------------------------------------------------

    def simulate(
        self,
        draws: int,
        *,
        random: RandomSource,
        members: int = 1,
        sold: Mapping[str, int] | None = None,
    ) -> Simulation:
        """Simulate *draws* draws by *members* members in turn, honouring stock and pity.

        For launch checks and statistics; nothing is stored. Every draw uses exactly the odds a
        real draw would use at that point.

        Raises:
            InvalidArgumentError: If *draws* or *members* is out of range.
        """
        return simulate(self, draws, random=random, members=members, sold=sold)


def _table_hash(
    lottery: str,
    cost: int,
    currency: str,
    prizes: Sequence[Prize],
    participation: str | None,
    levels: Sequence[Pity],
) -> str:
    document = {
        "lottery": lottery,
        "cost": cost,
        "currency": currency,
        "participation": participation,
        # A prize that issues a coupon definition hashes it too; one that names none hashes as
        # it always has, so published tables keep their hashes.
        "prizes": [
            [p.id, p.name, p.name_zh, str(p.probability), p.kind, p.points, p.stock, p.fallback]
            + ([] if p.coupon is None else [p.coupon])
            for p in prizes
        ],
        # One guarantee hashes as it always has; stacked ones as a list of the same.
        "pity": None
        if not levels
        else _pity_document(levels[0])
        if len(levels) == 1
        else [_pity_document(level) for level in levels],
    }
    text = json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _pity_document(pity: Pity) -> dict[str, object]:
    return {
        "prizes": sorted(pity.prizes),
        "hard": pity.hard,
        "soft_start": pity.soft_start,
        "soft_step": str(pity.soft_step),
        "resets_on": sorted(pity.resets),
        "counter": pity.counter,
    }

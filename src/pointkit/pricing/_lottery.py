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
* :class:`Odds` turns exact probabilities into integer weights over their common denominator,
  and picks a prize from a uniform integer below it by binary search on the cumulative
  weights: each integer maps to exactly one prize, and prize *i* owns exactly ``w_i`` of them.

Consolidated rates with pity are the stationary rates of the counter's Markov chain, computed
exactly: with ``r_k`` the chance that a draw at counter ``k`` resets it, the chance of reaching
counter ``k`` is ``prod(1 - r_j for j < k)``, and a prize's long-run rate is the average of its
per-draw chance weighted by those.
"""

from __future__ import annotations

import hashlib
import json
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from math import lcm
from typing import TYPE_CHECKING, Any, Final, Literal, TypeAlias, final

import attrs

from pointkit import limits
from pointkit._localtime import wall
from pointkit._text import table
from pointkit._validate import check_aware, check_choice, check_int, check_zone, type_name
from pointkit._values import Money, MoneyCurrency, check_point_code
from pointkit.exceptions import (
    ArgumentTypeError,
    ConfigurationError,
    DrawRefusedError,
    FairnessError,
    InvalidArgumentError,
)
from pointkit.pricing._allocation import allocate
from pointkit.pricing._config import check_id, check_items, check_name, check_window, field
from pointkit.pricing._random import FairnessProof, RandomSource, check_proof
from pointkit.pricing._valuation import Valuation, check_fraction, money_fraction


if TYPE_CHECKING:
    from zoneinfo import ZoneInfo


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

PrizeKind: TypeAlias = Literal["goods", "coupon", "points", "nothing"]
"""What a prize is: goods or a coupon the host hands over, points the ledger credits, or
nothing (a declared "thanks for playing", with its own probability)."""

MinorsPolicy: TypeAlias = Literal["blocked", "allowed"]
"""Whether members the host marks as minors may draw."""

_KINDS: Final[tuple[PrizeKind, ...]] = ("goods", "coupon", "points", "nothing")
_PERCENT_UNITS: Final = 10_000  # percentages are shown to 0.01%: 10,000 units make 100%
_MASK_MIN: Final = 3  # member ids shorter than this are masked whole in the public feed


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


@final
@attrs.frozen
class Prize:
    """One outcome of a lottery, with its exact probability.

    >>> from fractions import Fraction
    >>> Prize("phone", "Phone", Fraction(1, 1_000), stock=10, fallback="coupon")
    Prize(id='phone', name='Phone', probability=Fraction(1, 1000), kind='goods', points=0, value=None, cost=None, stock=10, fallback='coupon', name_zh=None)
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


# -- odds ---------------------------------------------------------------------------------------


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


# -- results ------------------------------------------------------------------------------------


@final
@attrs.frozen
class DisclosureRow:
    """One prize in the published table.

    Attributes:
        prize: The prize's id.
        name: Its name.
        name_zh: Its Chinese name (the name if it has none).
        kind: What it is.
        quantity: How many there are in all; ``None`` for unlimited.
        remaining: How many are left; ``None`` for unlimited.
        probability: Its exact chance per draw now (0 when sold out).
        percent: The chance as a percentage with two places; the rows sum to exactly 100.00.
        consolidated: Its long-run rate including the pity guarantee, if the lottery has one.
    """

    prize: str
    name: str
    name_zh: str
    kind: PrizeKind
    quantity: int | None
    remaining: int | None
    probability: Fraction
    percent: Decimal
    consolidated: Fraction | None


@final
@attrs.frozen
class Disclosure:
    """The odds table a lottery must publish before anyone draws: names, quantities, odds.

    Attributes:
        lottery: The lottery's id.
        name: Its name.
        name_zh: Its Chinese name.
        cost: Points per draw.
        currency: The point currency.
        rows: One per prize, in the table's order.
        table_hash: SHA-256 of the lottery's table: every draw record carries it.
        pity: The guarantee, if any.
        daily_limit: The most draws per member per day, if limited.
    """

    lottery: str
    name: str
    name_zh: str
    cost: int
    currency: str
    rows: tuple[DisclosureRow, ...]
    table_hash: str
    pity: Pity | None
    daily_limit: int | None

    def to_text(self, language: Literal["zh", "en"] = "zh") -> str:
        """The table as aligned plain text, in Chinese or English."""
        if language not in ("zh", "en"):
            raise InvalidArgumentError(f"language={language!r} must be 'zh' or 'en'")
        zh = language == "zh"
        if zh:
            title = f"{self.name_zh}（每次消耗 {self.cost} {_zh_currency(self.currency)}）"
            header = ["奖品", "数量", "剩余", "中奖概率", "百分比"]
            unlimited = "不限"
        else:
            title = f"{self.name} ({self.cost} {self.currency} a draw)"
            header = ["Prize", "Quantity", "Left", "Probability", "Percent"]
            unlimited = "unlimited"
        consolidated = any(row.consolidated is not None for row in self.rows)
        if consolidated:
            header.append("综合概率" if zh else "With pity")
        body = []
        for row in self.rows:
            line = [
                row.name_zh if zh else row.name,
                unlimited if row.quantity is None else str(row.quantity),
                unlimited if row.remaining is None else str(row.remaining),
                _fraction_text(row.probability),
                f"{row.percent}%",
            ]
            if consolidated:
                line.append(_percent_text(row.consolidated))
            body.append(line)
        total = sum((row.percent for row in self.rows), Decimal(0))
        footer = ["合计" if zh else "Total", "", "", "1", f"{total}%"]
        if consolidated:
            footer.append("")
        lines = [title, *table([header, *body, footer])]
        if self.pity is not None:
            names = "、" if zh else ", "
            guaranteed = names.join(
                (row.name_zh if zh else row.name)
                for row in self.rows
                if row.prize in self.pity.prizes
            )
            if zh:
                lines.append(
                    f"保底：连续 {self.pity.hard - 1} 次未抽中{guaranteed}，第 {self.pity.hard} 次必中其一"
                )
            else:
                lines.append(
                    f"Guarantee: after {self.pity.hard - 1} draws in a row without {guaranteed}, "
                    f"draw {self.pity.hard} gives one of them"
                )
        if self.daily_limit is not None:
            lines.append(
                f"每人每天最多抽 {self.daily_limit} 次"
                if zh
                else f"At most {self.daily_limit} draws per member per day"
            )
        lines.append(("规则哈希：" if zh else "Table hash: ") + self.table_hash)
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """The table as JSON-ready data (exact probabilities as ``"n/d"`` strings)."""
        return {
            "lottery": self.lottery,
            "name": self.name,
            "name_zh": self.name_zh,
            "cost": self.cost,
            "currency": self.currency,
            "table_hash": self.table_hash,
            "daily_limit": self.daily_limit,
            "pity": None
            if self.pity is None
            else {"prizes": sorted(self.pity.prizes), "hard": self.pity.hard},
            "prizes": [
                {
                    "id": row.prize,
                    "name": row.name,
                    "name_zh": row.name_zh,
                    "kind": row.kind,
                    "quantity": row.quantity,
                    "remaining": row.remaining,
                    "probability": str(row.probability),
                    "percent": str(row.percent),
                    "consolidated": None if row.consolidated is None else str(row.consolidated),
                }
                for row in self.rows
            ],
        }


def _zh_currency(code: str) -> str:
    return "积分" if code == "points" else code


def _fraction_text(value: Fraction) -> str:
    return (
        str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"
    )


def _percent_text(value: Fraction | None) -> str:
    if value is None:
        return ""
    units = round(value * _PERCENT_UNITS)
    return f"{Decimal(units).scaleb(-2)}%"


@final
@attrs.frozen
class Expectation:
    """What one draw costs and returns on average, exactly.

    Attributes:
        cost: Points a draw costs.
        price: That cost in money at the lottery's valuation (``None`` without one).
        prize_cost: The operator's expected cost of prizes per draw, in money.
        prize_value: The expected value of prizes to the member per draw, in money.
        points_back: The expected points prizes credit per draw.
        prize_cost_points: *prize_cost* in points at the valuation (``None`` without one).
        return_to_player: ``prize_value / price``: the share of a draw's value that comes
            back as prizes (``None`` without a valuation).
        money: The money currency of the figures, if any prize or the valuation has one.
        with_pity: Whether the figures use the consolidated rates of the pity guarantee.
    """

    cost: int
    price: Fraction | None
    prize_cost: Fraction
    prize_value: Fraction
    points_back: Fraction
    prize_cost_points: Fraction | None
    return_to_player: Fraction | None
    money: MoneyCurrency | None
    with_pity: bool


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


@final
@attrs.frozen
class DrawRecord:
    """The immutable record of one draw: enough to show it, audit it and recompute it.

    Attributes:
        draw_id: The draw's id (its idempotency key).
        lottery: The lottery's id.
        member: The member.
        at: When it was drawn.
        cost: Points it cost.
        prize: The prize won.
        kind: The prize's kind.
        points_back: Points the prize credited (0 unless a points prize).
        table_hash: The lottery table's hash, as published in its disclosure.
        odds: ``(prize, weight)`` of the odds the draw used (after stock and pity).
        value: The integer drawn below the odds' total; it selected the prize.
        pity_before: The member's pity counter before the draw (0 without pity).
        pity_after: The counter after it.
        fairness: The commit-reveal proof of a provably fair draw, if it was one.
        transaction: The id of the ledger transaction that took the points.
    """

    draw_id: str
    lottery: str
    member: str
    at: datetime
    cost: int
    prize: str
    kind: PrizeKind
    points_back: int
    table_hash: str
    odds: tuple[tuple[str, int], ...]
    value: int
    pity_before: int
    pity_after: int
    fairness: FairnessProof | None
    transaction: str

    @property
    def odds_total(self) -> int:
        """The common denominator of the odds the draw used."""
        return sum(weight for _, weight in self.odds)

    def to_dict(self) -> dict[str, Any]:
        """The record as JSON-ready data (the form it is stored in)."""
        document = attrs.asdict(self, recurse=False)
        document["at"] = self.at.isoformat()
        document["odds"] = [list(pair) for pair in self.odds]
        document["fairness"] = None if self.fairness is None else attrs.asdict(self.fairness)
        return document

    def to_json(self) -> str:
        """The record as canonical JSON."""
        return json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_dict(cls, document: Mapping[str, Any]) -> DrawRecord:
        """Rebuild a record from :meth:`to_dict`'s data."""
        fairness = document["fairness"]
        return cls(
            draw_id=document["draw_id"],
            lottery=document["lottery"],
            member=document["member"],
            at=datetime.fromisoformat(document["at"]),
            cost=document["cost"],
            prize=document["prize"],
            kind=document["kind"],
            points_back=document["points_back"],
            table_hash=document["table_hash"],
            odds=tuple((str(prize), int(weight)) for prize, weight in document["odds"]),
            value=document["value"],
            pity_before=document["pity_before"],
            pity_after=document["pity_after"],
            fairness=None if fairness is None else FairnessProof(**fairness),
            transaction=document["transaction"],
        )

    def public(self) -> dict[str, Any]:
        """The record for a public results feed: the member masked, the proof kept."""
        document = self.to_dict()
        member = self.member
        keep = max(1, len(member) // 4)
        document["member"] = (
            member[:keep] + "*" * 3 + member[-keep:] if len(member) >= _MASK_MIN else "***"
        )
        del document["transaction"]
        return document


def verify(record: DrawRecord, server_seed: bytes) -> None:
    """Check a provably fair draw offline, once its server seed is revealed.

    It checks that the seed hashes to the commitment published before the draw, that the seeds
    and nonce give the recorded value, and that the value selects the recorded prize under the
    recorded odds.

    Raises:
        InvalidArgumentError: If the record is not a provably fair draw, or anything does not
            match (every mismatch is named).
    """
    if not isinstance(record, DrawRecord):
        raise ArgumentTypeError(f"record={record!r} must be a DrawRecord, not {type_name(record)}")
    if record.fairness is None:
        raise InvalidArgumentError(
            f"draw {record.draw_id!r} was not provably fair: nothing to verify"
        )
    problems = check_proof(record.fairness, server_seed)
    odds = Odds.from_weights([p for p, _ in record.odds], [w for _, w in record.odds])
    if record.fairness.bound != odds.total:
        problems.append(
            f"bound: the proof draws below {record.fairness.bound}, the odds total {odds.total}"
        )
    elif odds.pick(record.fairness.value) != record.prize:
        problems.append(
            f"prize: value {record.fairness.value} selects {odds.pick(record.fairness.value)!r}, "
            f"the record says {record.prize!r}"
        )
    if record.value != record.fairness.value:
        problems.append(f"value: the record says {record.value}, its proof {record.fairness.value}")
    if problems:
        raise FairnessError(record.draw_id, problems)


# -- the lottery --------------------------------------------------------------------------------


def _table(problems: list[str], prizes: object) -> tuple[Prize, ...]:
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


def _fallbacks(problems: list[str], prizes: Sequence[Prize], participation: str | None) -> None:
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


def _participation(problems: list[str], prizes: Sequence[Prize], participation: str | None) -> None:
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


def _pity(problems: list[str], pity: object, prizes: Sequence[Prize]) -> Pity | None:
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


def _money_currency(
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
        pity: A guarantee, if any.
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
    _cache: dict[tuple[object, ...], Odds] = attrs.field(eq=False, repr=False, hash=False)

    def __init__(  # noqa: PLR0913 - every facet of a lottery is a keyword of its own
        self,
        id: str,  # noqa: A002 - the lottery's id
        name: str,
        cost: int,
        prizes: Sequence[Prize],
        *,
        currency: str = "points",
        pity: Pity | None = None,
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
        table = _table(problems, prizes)
        checked_participation = (
            None
            if participation is None
            else field(
                problems, "participation", lambda: check_id("participation", participation), None
            )
        )
        _participation(problems, table, checked_participation)
        _fallbacks(problems, table, checked_participation)
        checked_pity = _pity(problems, pity, table)
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
        _money_currency(problems, table, valuation)
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
                checked_pity,
            ),
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
        """The member counter of the pity guarantee (draws since it reset), if there is one."""
        if self.pity is None:
            return None
        return (f"pointkit:pity:{self.pity.counter or self.id}", "lifetime")

    def daily_key(self, now: datetime) -> tuple[str, str] | None:
        """The member counter of draws today at *now*, if draws are limited per day."""
        if self.daily_limit is None or self.zone is None:
            return None
        day = wall(check_aware("now", now), self.zone).date()
        return (f"pointkit:draws:{self.id}", f"day:{day.isoformat()}")

    def pity_after(self, count: int, prize: str) -> int:
        """The pity counter after a draw at *count* that won *prize*."""
        if self.pity is None:
            return 0
        return 0 if prize in self.pity.resets else count + 1

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

    def _sold(self, sold: Mapping[str, int] | None) -> frozenset[str]:
        """The prizes sold out given the units won so far."""
        if sold is None:
            return frozenset()
        if not isinstance(sold, Mapping):
            raise ArgumentTypeError(f"sold={sold!r} must be a mapping of prize id to units won")
        return frozenset(
            prize.id
            for prize in self.prizes
            if prize.stock is not None and sold.get(prize.id, 0) >= prize.stock
        )

    def _base(self, sold_out: frozenset[str]) -> dict[str, Fraction]:
        by_id = {prize.id: prize for prize in self.prizes}
        base = dict.fromkeys(by_id, Fraction(0))
        for prize in self.prizes:
            target = prize
            while target.id in sold_out:
                following = target.fallback or self.participation
                if following is None:  # pragma: no cover - ruled out when the lottery is built
                    raise InvalidArgumentError(f"prize {target.id!r} has no fallback")
                target = by_id[following]
            base[target.id] += prize.probability
        return base

    def _probabilities(self, sold_out: frozenset[str], count: int) -> dict[str, Fraction]:
        base = self._base(sold_out)
        if self.pity is None:
            return base
        chosen = self.pity.prizes
        hit = sum((p for prize, p in base.items() if prize in chosen), Fraction(0))
        wanted = self.pity.hit_chance(hit, count)
        if wanted == hit:
            return base
        miss = 1 - hit
        return {
            prize: p * wanted / hit if prize in chosen else p * (1 - wanted) / miss
            for prize, p in base.items()
        }

    def odds(self, *, sold: Mapping[str, int] | None = None, pity: int = 0) -> Odds:
        """The exact odds of the next draw, given units won so far and the member's pity counter.

        Args:
            sold: Units of each prize won so far: prizes at their stock are sold out.
            pity: The member's pity counter: draws since it last reset.
        """
        count = check_int("pity", pity, minimum=0, maximum=limits.PITY_DRAWS_MAX)
        sold_out = self._sold(sold)
        count = min(count, self.pity.hard - 1) if self.pity is not None else 0
        key = (sold_out, count)
        odds = self._cache.get(key)
        if odds is None:
            odds = Odds.of(self._probabilities(sold_out, count))
            if len(self._cache) < limits.PITY_DRAWS_MAX:
                self._cache[key] = odds
        return odds

    def consolidated(self, *, sold: Mapping[str, int] | None = None) -> dict[str, Fraction]:
        """Each prize's long-run rate per draw, pity included (the table's odds without pity).

        The stationary rates of the pity counter's Markov chain, exact.
        """
        sold_out = self._sold(sold)
        if self.pity is None:
            return self._base(sold_out)
        rates, _ = self._chain(sold_out)
        return rates

    def mean_draws_to_reset(self, *, sold: Mapping[str, int] | None = None) -> Fraction:
        """The expected number of draws from one reset of the pity counter to the next.

        Raises:
            InvalidArgumentError: If the lottery has no pity.
        """
        if self.pity is None:
            raise InvalidArgumentError(f"lottery {self.id!r} has no pity guarantee")
        return self._chain(self._sold(sold))[1]

    def _chain(self, sold_out: frozenset[str]) -> tuple[dict[str, Fraction], Fraction]:
        pity = self.pity
        if pity is None:  # pragma: no cover - callers check
            raise InvalidArgumentError("no pity")
        totals = dict.fromkeys((prize.id for prize in self.prizes), Fraction(0))
        reach, weight = Fraction(1), Fraction(0)
        steady = (pity.soft_start or pity.hard) - 1  # counters before the ramp or the hard pity
        base = self._probabilities(sold_out, 0)
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
            chances = self._probabilities(sold_out, count)
            for prize, p in chances.items():
                totals[prize] += reach * p
            weight += reach
            reach *= 1 - sum(
                (p for prize, p in chances.items() if prize in pity.resets), Fraction(0)
            )
        return ({prize: total / weight for prize, total in totals.items()}, weight)

    # -- disclosure and expectation ------------------------------------------------------------

    def disclosure(self, *, sold: Mapping[str, int] | None = None) -> Disclosure:
        """The odds table to publish now: names, quantities left, exact odds, percentages.

        Percentages have two places and sum to exactly 100.00% (largest remainder).
        """
        sold_out = self._sold(sold)
        current = self._base(sold_out)
        units = allocate(_PERCENT_UNITS, list(current.values()))
        consolidated = self.consolidated(sold=sold) if self.pity is not None else None
        won = {} if sold is None else sold
        rows = tuple(
            DisclosureRow(
                prize=prize.id,
                name=prize.name,
                name_zh=prize.name_zh or prize.name,
                kind=prize.kind,
                quantity=prize.stock,
                remaining=None
                if prize.stock is None
                else max(prize.stock - won.get(prize.id, 0), 0),
                probability=current[prize.id],
                percent=Decimal(unit).scaleb(-2),
                consolidated=None if consolidated is None else consolidated[prize.id],
            )
            for prize, unit in zip(self.prizes, units, strict=True)
        )
        return Disclosure(
            lottery=self.id,
            name=self.name,
            name_zh=self.name_zh or self.name,
            cost=self.cost,
            currency=self.currency,
            rows=rows,
            table_hash=self.table_hash,
            pity=self.pity,
            daily_limit=self.daily_limit,
        )

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
        pity = with_pity and self.pity is not None
        rates = self.consolidated(sold=sold) if pity else self._base(self._sold(sold))
        missing = [
            prize.id
            for prize in self.prizes
            if prize.kind in ("goods", "coupon") and prize.cost is None
        ]
        if missing:
            listed = ", ".join(repr(prize) for prize in missing)
            raise InvalidArgumentError(f"prizes {listed} have no cost; give Prize(cost=Money(...))")
        valuation = self.valuation
        if valuation is None and any(prize.kind == "points" for prize in self.prizes):
            raise InvalidArgumentError(
                f"lottery {self.id!r} has points prizes; give it a valuation to state them in money"
            )
        prize_cost = prize_value = points_back = Fraction(0)
        for prize in self.prizes:
            rate = rates[prize.id]
            cost, value = self._money(prize)
            prize_cost += rate * cost
            prize_value += rate * value
            points_back += rate * prize.points
        price = None if valuation is None else valuation.value(self.cost)
        money = _money_currency([], self.prizes, valuation)
        return Expectation(
            cost=self.cost,
            price=price,
            prize_cost=prize_cost,
            prize_value=prize_value,
            points_back=points_back,
            prize_cost_points=None if valuation is None else prize_cost / valuation.per_point,
            return_to_player=None if price is None else prize_value / price,
            money=money,
            with_pity=pity,
        )

    def _money(self, prize: Prize) -> tuple[Fraction, Fraction]:
        """A prize's ``(cost to the operator, value to the member)`` in money."""
        if prize.kind == "points" and self.valuation is not None:
            worth = self.valuation.value(prize.points)
            cost = worth if prize.cost is None else money_fraction(prize.cost)
            return (cost, worth if prize.value is None else money_fraction(prize.value))
        cost = Fraction(0) if prize.cost is None else money_fraction(prize.cost)
        return (cost, cost if prize.value is None else money_fraction(prize.value))

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
        wins = [0] * len(self.prizes)
        below = random.below
        won = dict(sold or {})
        if self.pity is None and not self.limited:
            odds = self.odds()
            cumulative, total = odds._cumulative, odds.total  # noqa: SLF001 - the hot loop
            many = getattr(random, "many", None)
            values = (
                many(total, count) if many is not None else (below(total) for _ in range(count))
            )
            for value in values:
                wins[bisect_right(cumulative, value)] += 1
            return self._simulation(count, wins, [])
        counters = [0] * people
        stock = {prize.id: prize.stock for prize in self.limited}
        resets = self.pity.resets if self.pity is not None else frozenset()
        hard = self.pity.hard if self.pity is not None else 1
        ids = [prize.id for prize in self.prizes]
        sold_out = self._sold(won)
        tables: dict[tuple[frozenset[str], int], tuple[tuple[int, ...], int]] = {}
        ran_out: list[tuple[str, int]] = []
        for number in range(count):
            member = number % people
            level = min(counters[member], hard - 1)
            table = tables.get((sold_out, level))
            if table is None:
                odds = Odds.of(self._probabilities(sold_out, level))
                table = tables[(sold_out, level)] = (odds._cumulative, odds.total)  # noqa: SLF001
            position = bisect_right(table[0], below(table[1]))
            wins[position] += 1
            prize = ids[position]
            if prize in stock:
                won[prize] = won.get(prize, 0) + 1
                if won[prize] == stock[prize]:
                    ran_out.append((prize, number + 1))
                    sold_out = self._sold(won)
            if self.pity is not None:
                counters[member] = 0 if prize in resets else counters[member] + 1
        return self._simulation(count, wins, ran_out)

    def _simulation(
        self, count: int, wins: list[int], sold_out: list[tuple[str, int]]
    ) -> Simulation:
        return Simulation(
            draws=count,
            counts=tuple((prize.id, won) for prize, won in zip(self.prizes, wins, strict=True)),
            points_spent=count * self.cost,
            points_back=sum(
                prize.points * won for prize, won in zip(self.prizes, wins, strict=True)
            ),
            sold_out=tuple(sold_out),
        )


def _table_hash(
    lottery: str,
    cost: int,
    currency: str,
    prizes: Sequence[Prize],
    participation: str | None,
    pity: Pity | None,
) -> str:
    document = {
        "lottery": lottery,
        "cost": cost,
        "currency": currency,
        "participation": participation,
        "prizes": [
            [p.id, p.name, p.name_zh, str(p.probability), p.kind, p.points, p.stock, p.fallback]
            for p in prizes
        ],
        "pity": None
        if pity is None
        else {
            "prizes": sorted(pity.prizes),
            "hard": pity.hard,
            "soft_start": pity.soft_start,
            "soft_step": str(pity.soft_step),
            "resets_on": sorted(pity.resets),
            "counter": pity.counter,
        },
    }
    text = json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()

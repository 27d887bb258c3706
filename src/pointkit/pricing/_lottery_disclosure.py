"""What a lottery publishes and what a draw is worth: the odds table and the expected cost.

:class:`Disclosure` is the table a lottery must publish before anyone draws, in Chinese or
English, with percentages that sum to exactly 100.00%; :class:`Expectation` is what one draw
costs the operator and returns to the member on average, exactly. :func:`disclose` and
:func:`expect` compute them for a :class:`~pointkit.pricing.Lottery`.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Final, Literal, final

import attrs

from pointkit._text import table
from pointkit.exceptions import InvalidArgumentError
from pointkit.pricing._allocation import allocate
from pointkit.pricing._lottery_odds import base_probabilities, find_sold_out
from pointkit.pricing._lottery_prizes import money_currency
from pointkit.pricing._valuation import money_fraction


if TYPE_CHECKING:
    from collections.abc import Mapping

    from pointkit._values import MoneyCurrency
    from pointkit.pricing._lottery import Lottery
    from pointkit.pricing._lottery_prizes import Pity, Prize, PrizeKind


__all__ = ["Disclosure", "DisclosureRow", "Expectation", "disclose", "expect", "prize_money"]

_PERCENT_UNITS: Final = 10_000  # percentages are shown to 0.01%: 10,000 units make 100%


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
        pity: The guarantee, if any (the first, when they stack).
        daily_limit: The most draws per member per day, if limited.
        pities: Every guarantee, in order, when they stack; empty otherwise (a single one is
            :attr:`pity`).
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
    pities: tuple[Pity, ...] = ()

    @property
    def guarantees(self) -> tuple[Pity, ...]:
        """Every guarantee the table states, in order."""
        return self.pities or (() if self.pity is None else (self.pity,))

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
        for pity in self.guarantees:
            names = "、" if zh else ", "
            guaranteed = names.join(
                (row.name_zh if zh else row.name) for row in self.rows if row.prize in pity.prizes
            )
            if zh:
                lines.append(
                    f"保底：连续 {pity.hard - 1} 次未抽中{guaranteed}，第 {pity.hard} 次必中其一"
                )
            else:
                lines.append(
                    f"Guarantee: after {pity.hard - 1} draws in a row without {guaranteed}, "
                    f"draw {pity.hard} gives one of them"
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
        """The table as JSON-ready data (exact probabilities as ``"n/d"`` strings).

        Stacked guarantees add ``"pities"``, each as ``"pity"`` shows the first.
        """
        document: dict[str, Any] = {
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
        if self.pities:
            document["pities"] = [
                {"prizes": sorted(pity.prizes), "hard": pity.hard} for pity in self.pities
            ]
        return document


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


# -- computing them -----------------------------------------------------------------------------


def disclose(lottery: Lottery, *, sold: Mapping[str, int] | None = None) -> Disclosure:
    """The odds table *lottery* publishes now (see :meth:`~pointkit.pricing.Lottery.disclosure`).

    Percentages have two places and sum to exactly 100.00% (largest remainder).
    """
    sold_out = find_sold_out(lottery, sold)
    current = base_probabilities(lottery, sold_out)
    units = allocate(_PERCENT_UNITS, list(current.values()))
    consolidated = lottery.consolidated(sold=sold) if lottery.pity is not None else None
    won = {} if sold is None else sold
    rows = tuple(
        DisclosureRow(
            prize=prize.id,
            name=prize.name,
            name_zh=prize.name_zh or prize.name,
            kind=prize.kind,
            quantity=prize.stock,
            remaining=None if prize.stock is None else max(prize.stock - won.get(prize.id, 0), 0),
            probability=current[prize.id],
            percent=Decimal(unit).scaleb(-2),
            consolidated=None if consolidated is None else consolidated[prize.id],
        )
        for prize, unit in zip(lottery.prizes, units, strict=True)
    )
    return Disclosure(
        lottery=lottery.id,
        name=lottery.name,
        name_zh=lottery.name_zh or lottery.name,
        cost=lottery.cost,
        currency=lottery.currency,
        rows=rows,
        table_hash=lottery.table_hash,
        pity=lottery.pity,
        daily_limit=lottery.daily_limit,
        pities=lottery.pities if len(lottery.pities) > 1 else (),
    )


def expect(
    lottery: Lottery, *, sold: Mapping[str, int] | None = None, with_pity: bool = True
) -> Expectation:
    """What a draw of *lottery* costs and returns on average (see :meth:`~pointkit.pricing.Lottery.expectation`).

    Raises:
        InvalidArgumentError: If a goods or coupon prize has no cost, or a points prize
            needs the lottery's valuation and it has none.
    """
    pity = with_pity and lottery.pity is not None
    rates = (
        lottery.consolidated(sold=sold)
        if pity
        else base_probabilities(lottery, find_sold_out(lottery, sold))
    )
    missing = [
        prize.id
        for prize in lottery.prizes
        if prize.kind in ("goods", "coupon") and prize.cost is None
    ]
    if missing:
        listed = ", ".join(repr(prize) for prize in missing)
        raise InvalidArgumentError(f"prizes {listed} have no cost; give Prize(cost=Money(...))")
    valuation = lottery.valuation
    if valuation is None and any(prize.kind == "points" for prize in lottery.prizes):
        raise InvalidArgumentError(
            f"lottery {lottery.id!r} has points prizes; give it a valuation to state them in money"
        )
    prize_cost = prize_value = points_back = Fraction(0)
    for prize in lottery.prizes:
        rate = rates[prize.id]
        cost, value = prize_money(lottery, prize)
        prize_cost += rate * cost
        prize_value += rate * value
        points_back += rate * prize.points
    price = None if valuation is None else valuation.value(lottery.cost)
    money = money_currency([], lottery.prizes, valuation)
    return Expectation(
        cost=lottery.cost,
        price=price,
        prize_cost=prize_cost,
        prize_value=prize_value,
        points_back=points_back,
        prize_cost_points=None if valuation is None else prize_cost / valuation.per_point,
        return_to_player=None if price is None else prize_value / price,
        money=money,
        with_pity=pity,
    )


def prize_money(lottery: Lottery, prize: Prize) -> tuple[Fraction, Fraction]:
    """A prize's ``(cost to the operator, value to the member)`` in money."""
    if prize.kind == "points" and lottery.valuation is not None:
        worth = lottery.valuation.value(prize.points)
        cost = worth if prize.cost is None else money_fraction(prize.cost)
        return (cost, worth if prize.value is None else money_fraction(prize.value))
    cost = Fraction(0) if prize.cost is None else money_fraction(prize.cost)
    return (cost, cost if prize.value is None else money_fraction(prize.value))

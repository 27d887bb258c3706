"""Forecasts: the figures of a programme's runs, each as a median with a low-high band, as JSON.

A :class:`Forecast` holds the runs of one programme over one population (one run per seed)
and derives every figure from them: per day, points issued, consumed (redeemed and drawn) and
expired, points outstanding and their liability at the programme's valuation, breakage
(cumulative expired over cumulative issued), the cost of points per unit of sales, the lottery's
prize cost against what the odds table expects, and members per tier; for the whole run, the
day each stocked offer sold out. Across seeds a figure is the median (the lower middle value
for an even count, so every figure is one some run produced) with the lowest and highest.

JSON follows :mod:`pointkit.jsonable`: money as ``"12.50 CNY"``, fractions as ``"n/d"``, dates as
``"2026-03-01"``; nothing in it depends on the wall clock, so the same arguments give the same
bytes.
"""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING, Final, TypeAlias, TypeVar, final

import attrs

from pointkit import jsonable
from pointkit._validate import check_int
from pointkit._values import Money
from pointkit.simulate._engine import DAYS_MAX, MEMBERS_MAX, check_fits
from pointkit.simulate._workers import RunJob, run_all


if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from datetime import date
    from decimal import Decimal

    from pointkit.pricing import Lottery
    from pointkit.program import ProgramConfig
    from pointkit.simulate._engine import Run
    from pointkit.simulate._population import Population


__all__ = ["SEEDS_MAX", "WORKERS_MAX", "Band", "Forecast", "document", "simulate", "summary"]

Value: TypeAlias = "int | Decimal | Fraction | Money | date | None"
_T = TypeVar("_T")

_PERCENT: Final = 100


def _middle(values: Sequence[_T]) -> _T:
    """The lower middle of sorted *values*: a value some run produced."""
    return values[(len(values) - 1) // 2]


@final
@attrs.frozen
class Band:
    """A figure over seeds: the median with the lowest and highest (``None``: no value).

    Attributes:
        median: The median (the lower middle value for an even number of seeds).
        low: The lowest.
        high: The highest.
    """

    median: Value
    low: Value
    high: Value

    @classmethod
    def of(cls, values: Sequence[Value]) -> Band:
        """The band of one figure's *values*, one per seed; ``None`` values are left out."""
        present = sorted(value for value in values if value is not None)
        if not present:
            return cls(None, None, None)
        return cls(_middle(present), present[0], present[-1])

    def to_dict(self) -> dict[str, jsonable.JSON]:
        """The band as JSON data."""
        return {
            "median": jsonable.dump(self.median),
            "low": jsonable.dump(self.low),
            "high": jsonable.dump(self.high),
        }


def _ratio(top: Fraction | int, bottom: Fraction | int) -> Fraction | None:
    return None if bottom == 0 else Fraction(top) / Fraction(bottom)


@final
@attrs.frozen
class Forecast:
    """One programme's simulated runs over a population, and every figure derived from them.

    Attributes:
        config: The programme.
        population: The population.
        members: Members at the start.
        days: Days simulated.
        start: The first local day.
        money: The money currency of sales, liability and costs.
        runs: One run per seed, in seed order.
    """

    config: ProgramConfig
    population: Population
    members: int
    days: int
    start: date
    money: str
    runs: tuple[Run, ...]

    @property
    def dates(self) -> tuple[date, ...]:
        """The simulated local days."""
        return tuple(day.day for day in self.runs[0].days)

    def _money(self, amount: Fraction) -> Money:
        return Money.of(amount, self.money, rounding="half_even")

    def _per_point(self) -> Fraction | None:
        valuation = self.config.valuation
        return None if valuation is None else valuation.per_point

    def _expected_per_draw(self) -> Fraction | None:
        lottery = self._lottery()
        return None if lottery is None else lottery.expectation().prize_cost

    def _lottery(self) -> Lottery | None:
        if not self.config.lotteries or not self.population.draw:
            return None
        return self.config.lottery(self.population.lottery or self.config.lotteries[0].id)

    def series(self, run: Run) -> dict[str, list[Value]]:
        """Every daily figure of *run*, by name (cumulative where the name says so)."""
        per_point = self._per_point()
        per_draw = self._expected_per_draw()
        found: dict[str, list[Value]] = {}
        issued = consumed = expired = draws = 0
        sales = prize_cost = Fraction(0)
        for day in run.days:
            issued += day.issued
            consumed += day.redeemed + day.drawn
            expired += day.expired
            draws += day.draws
            sales += Fraction(day.sales)
            prize_cost += day.prize_cost
            figures: dict[str, Value] = {
                "members": day.members,
                "events": day.events,
                "sales": self._money(Fraction(day.sales)),
                "issued": day.issued,
                "consumed": day.redeemed + day.drawn,
                "redeemed": day.redeemed,
                "drawn": day.drawn,
                "expired": day.expired,
                "outstanding": day.outstanding,
                "cumulative_issued": issued,
                "cumulative_consumed": consumed,
                "cumulative_expired": expired,
                "cumulative_sales": self._money(sales),
                "breakage": _ratio(expired, issued),
                "draws": day.draws,
                "cumulative_draws": draws,
                "prize_cost": self._money(prize_cost),
            }
            if per_point is not None:
                figures["liability"] = self._money(day.outstanding * per_point)
                figures["cost_of_points"] = _ratio(issued * per_point, sales)
            if per_draw is not None:
                figures["expected_prize_cost"] = self._money(draws * per_draw)
                figures["prize_cost_ratio"] = _ratio(prize_cost, draws * per_draw)
            for tier, count in day.tiers:
                figures[f"tier:{tier}"] = count
            for name, value in figures.items():
                found.setdefault(name, []).append(value)
        return found

    def bands(self) -> dict[str, list[Band]]:
        """Every daily figure, banded over the seeds."""
        per_run = [self.series(run) for run in self.runs]
        return {
            name: [Band.of([found[name][index] for found in per_run]) for index in range(self.days)]
            for name in per_run[0]
        }

    def sold_out(self) -> dict[str, Band]:
        """Each stocked offer's sell-out day over the seeds.

        A run that never sold out counts as after the last day, so a median of ``None`` means
        most runs did not sell out.
        """
        found: dict[str, Band] = {}
        for offer, _ in self.runs[0].sold_out:
            days = [dict(run.sold_out)[offer] for run in self.runs]
            ordered = sorted(days, key=lambda day: (day is None, day))
            found[offer] = Band(_middle(ordered), ordered[0], ordered[-1])
        return found

    def tiers(self) -> tuple[str, ...]:
        """The ladder's tier names, lowest first (empty without a ladder)."""
        ladder = self.config.tiers
        return () if ladder is None else tuple(tier.name for tier in ladder.tiers)

    def to_dict(self) -> dict[str, jsonable.JSON]:
        """The forecast as JSON data: the set-up, the final figures, each day, the sell-outs."""
        bands = self.bands()
        last: dict[str, jsonable.JSON] = {
            name: values[-1].to_dict() for name, values in bands.items()
        }
        daily: list[jsonable.JSON] = [
            {"date": day.isoformat(), **{name: bands[name][index].to_dict() for name in bands}}
            for index, day in enumerate(self.dates)
        ]
        return {
            "programme": self.config.id,
            "population": self.population.name,
            "members": self.members,
            "days": self.days,
            "start": self.start.isoformat(),
            "seeds": [run.seed for run in self.runs],
            "money": self.money,
            "points": self.config.currencies[0].code,
            "valuation_per_point": jsonable.dump(self._per_point()),
            "expected_prize_cost_per_draw": jsonable.dump(
                None if self._expected_per_draw() is None else self._expected_per_draw()
            ),
            "ledger_balances": [run.balances for run in self.runs],
            "final": last,
            "sold_out": {offer: band.to_dict() for offer, band in self.sold_out().items()},
            "daily": daily,
        }


def document(forecasts: Sequence[Forecast]) -> dict[str, jsonable.JSON]:
    """The JSON document of one forecast, or of several compared on the same population."""
    return {"simulation": [forecast.to_dict() for forecast in forecasts]}


# -- text -----------------------------------------------------------------------------------------


def _show(value: Value) -> str:
    if value is None:
        return "-"
    if isinstance(value, Money):
        return f"{value.amount:,} {value.currency.code}"
    if isinstance(value, Fraction):
        return f"{float(value * _PERCENT):.2f}%"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _shown(band: Band) -> str:
    if band.low == band.high:
        return _show(band.median)
    return f"{_show(band.median)} ({_show(band.low)} to {_show(band.high)})"


_LINES: Final[tuple[tuple[str, str], ...]] = (
    ("members at the end", "members"),
    ("sales", "cumulative_sales"),
    ("points issued", "cumulative_issued"),
    ("points consumed (redeemed + drawn)", "cumulative_consumed"),
    ("points expired", "cumulative_expired"),
    ("points outstanding at the end", "outstanding"),
    ("liability at the end", "liability"),
    ("breakage (expired / issued)", "breakage"),
    ("cost of points per unit of sales", "cost_of_points"),
    ("draws", "cumulative_draws"),
    ("prize cost", "prize_cost"),
    ("prize cost expected by the odds", "expected_prize_cost"),
    ("prize cost / expected", "prize_cost_ratio"),
)


def _day(value: Value | date) -> str:
    return "not sold out" if value is None else str(value)


def summary(forecasts: Sequence[Forecast]) -> str:
    """A short text summary: the final figures, one column per programme."""
    first = forecasts[0]
    seeds = len(first.runs)
    head = (
        f"pointkit simulate: {first.members:,} members x {first.days:,} days from "
        f"{first.start.isoformat()}, population {first.population.name!r}, {seeds} seed"
        f"{'s' if seeds != 1 else ''}" + (" (median, low to high)" if seeds > 1 else "")
    )
    finals = [
        {name: values[-1] for name, values in forecast.bands().items()} for forecast in forecasts
    ]
    names = [forecast.config.id for forecast in forecasts]
    rows: list[list[str]] = [["", *names]]
    for label, name in _LINES:
        if any(name in final for final in finals):
            rows.append(
                [label, *(_shown(final.get(name, Band(None, None, None))) for final in finals)]
            )
    tiers = dict.fromkeys(tier for forecast in forecasts for tier in forecast.tiers())
    rows += [
        [
            f"tier {tier} at the end",
            *(_shown(final.get(f"tier:{tier}", Band(None, None, None))) for final in finals),
        ]
        for tier in tiers
    ]
    offers = dict.fromkeys(offer for forecast in forecasts for offer in forecast.sold_out())
    for offer in offers:
        cells = []
        for forecast in forecasts:
            band = forecast.sold_out().get(offer)
            cells.append(
                "-"
                if band is None
                else _day(band.median)
                if band.low == band.high
                else f"{_day(band.median)} ({_day(band.low)} to {_day(band.high)})"
            )
        rows.append([f"offer {offer} sold out", *cells])
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    lines = [head]
    lines += [
        "  ".join(
            cell.ljust(width) if column == 0 else cell.rjust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]
    return "\n".join(lines)


SEEDS_MAX: Final = 100
"""The most seeds one simulation runs."""

WORKERS_MAX: Final = 64
"""The most worker processes one simulation makes its runs in."""


def simulate(
    configs: Sequence[ProgramConfig],
    population: Population,
    *,
    members: int,
    days: int,
    start: date,
    seeds: int = 1,
    workers: int = 1,
    progress: Callable[[int, int], object] | None = None,
) -> tuple[Forecast, ...]:
    """Run each programme of *configs* over *population* under seeds 1 to *seeds*.

    Every programme sees the same behaviour draws under the same seed, so the forecasts differ
    only by what the programmes make of the same members. The runs (one per programme and
    seed) are independent: with *workers* above 1 they are made in up to that many worker
    processes at once, and the forecasts are the same as made in this process. Workers are
    started with ``spawn``, so a script that asks for them calls from under
    ``if __name__ == "__main__":``.

    Args:
        configs: The programmes: one to forecast, or several to compare.
        population: How members behave.
        members: Members at the start, 1 to ``MEMBERS_MAX``.
        days: Days to simulate, 1 to ``DAYS_MAX``.
        start: The first local day.
        seeds: Runs per programme, 1 to ``SEEDS_MAX``.
        workers: Processes to make the runs in, 1 (this one, the default) to ``WORKERS_MAX``;
            no more are started than there are runs.
        progress: Called after each simulated day with ``(days done, days in all)``, counting
            every run.

    Returns:
        One forecast per programme, in order.

    Raises:
        InvalidArgumentError: If a count is out of range.
        ConfigurationError: If the population asks for something a programme lacks.
    """
    check_int("members", members, minimum=1, maximum=MEMBERS_MAX, limit_name="MEMBERS_MAX")
    check_int("days", days, minimum=1, maximum=DAYS_MAX, limit_name="DAYS_MAX")
    check_int("seeds", seeds, minimum=1, maximum=SEEDS_MAX, limit_name="SEEDS_MAX")
    check_int("workers", workers, minimum=1, maximum=WORKERS_MAX, limit_name="WORKERS_MAX")
    moneys = [check_fits(config, population) for config in configs]
    total = len(configs) * seeds * days
    jobs = [
        RunJob(config, population, members, days, start, seed)
        for config in configs
        for seed in range(1, seeds + 1)
    ]
    runs = run_all(
        jobs,
        workers=workers,
        progress=None if progress is None else lambda done: progress(done, total),
    )
    return tuple(
        Forecast(
            config,
            population,
            members,
            days,
            start,
            money,
            tuple(runs[position * seeds : (position + 1) * seeds]),
        )
        for position, (config, money) in enumerate(zip(configs, moneys, strict=True))
    )

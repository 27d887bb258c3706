"""The simulation's HTML report: one self-contained page of charts and tables.

Built with :mod:`pointkit.pages` from the forecasts alone, so the page says exactly what the
JSON says: each chart plots a figure's median per day with its low-high band over the seeds,
one line per programme when programmes are compared.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from pointkit._values import Money
from pointkit.pages import Html, Series, bar_chart, line_chart, page, table, tag
from pointkit.simulate._forecast import summary


if TYPE_CHECKING:
    from collections.abc import Sequence
    from decimal import Decimal
    from fractions import Fraction

    from pointkit.simulate._forecast import Band, Forecast


__all__ = ["report_page"]

_PERCENT: Final = 100

# (title, figures, unit): each chart plots these figures for every programme.
_CHARTS: Final[tuple[tuple[str, tuple[str, ...], str], ...]] = (
    ("Points issued per day", ("issued",), "points"),
    ("Points consumed per day (redeemed + drawn)", ("consumed",), "points"),
    ("Points expired per day", ("expired",), "points"),
    ("Points outstanding", ("outstanding",), "points"),
    ("Liability at the valuation", ("liability",), "money"),
    ("Breakage: expired / issued, to date", ("breakage",), "%"),
    ("Cost of points per unit of sales, to date", ("cost_of_points",), "%"),
    (
        "Lottery prize cost to date: actual and expected",
        ("prize_cost", "expected_prize_cost"),
        "money",
    ),
    ("Live members", ("members",), "members"),
)


def _number(value: object) -> int | Decimal | Fraction | None:
    if isinstance(value, Money):
        return value.amount
    return value  # type: ignore[return-value]  # ints, Fractions and None


def _scaled(value: int | Decimal | Fraction | None, unit: str) -> int | Decimal | Fraction | None:
    return value * _PERCENT if unit == "%" and value is not None else value


def _series(name: str, bands: Sequence[Band], unit: str) -> Series:
    values = [_scaled(_number(band.median), unit) for band in bands]
    if all(band.low == band.high for band in bands):
        return Series(name, values)
    return Series(
        name,
        values,
        low=[_scaled(_number(band.low), unit) for band in bands],
        high=[_scaled(_number(band.high), unit) for band in bands],
    )


def _charts(forecasts: Sequence[Forecast]) -> list[Html]:
    labels = [day.isoformat() for day in forecasts[0].dates]
    every = [forecast.bands() for forecast in forecasts]
    money = forecasts[0].money
    charts: list[Html] = []
    for title, names, unit in _CHARTS:
        series = [
            _series(
                name if len(forecasts) == 1 else f"{forecast.config.id}: {name}", bands[name], unit
            )
            for forecast, bands in zip(forecasts, every, strict=True)
            for name in names
            if name in bands
        ]
        if series:
            shown = money if unit == "money" else unit
            charts.append(line_chart(title, labels, series, unit=shown))
    for forecast, bands in zip(forecasts, every, strict=True):
        tiers = forecast.tiers()
        if tiers:
            series = [_series(tier, bands[f"tier:{tier}"], "members") for tier in tiers]
            charts.append(line_chart(f"{forecast.config.id}: members per tier", labels, series))
            ends = [_number(bands[f"tier:{tier}"][-1].median) or 0 for tier in tiers]
            charts.append(
                bar_chart(f"{forecast.config.id}: members per tier at the end", tiers, ends)
            )
    return charts


def _sold_out(forecasts: Sequence[Forecast]) -> Html | None:
    rows: list[list[object]] = []
    for forecast in forecasts:
        for offer, band in forecast.sold_out().items():

            def shown(value: object) -> str:
                return "not sold out" if value is None else str(value)

            rows.append(
                [forecast.config.id, offer, shown(band.median), shown(band.low), shown(band.high)]
            )
    if not rows:
        return None
    headers = ["programme", "offer", "sold out (median)", "earliest", "latest"]
    return table(headers, rows, caption="Stocked offers: the day the last unit went")


def report_page(forecasts: Sequence[Forecast]) -> Html:
    """The whole report of *forecasts* (one programme, or several compared) as one HTML page.

    Returns:
        A self-contained document: the summary, a chart per figure, the sell-out table.
    """
    first = forecasts[0]
    names = " vs ".join(forecast.config.id for forecast in forecasts)
    title = f"Simulation: {names}"
    body: list[Html] = [
        tag("h1", title),
        tag(
            "p",
            f"{first.members:,} members over {first.days:,} days from {first.start.isoformat()}, "
            f"population {first.population.name!r}, seeds 1 to {len(first.runs)}. "
            "Lines are medians over the seeds; shaded bands run from the lowest to the highest.",
        ),
        tag("pre", summary(forecasts)),
        *_charts(forecasts),
    ]
    sold = _sold_out(forecasts)
    if sold is not None:
        body.append(sold)
    return page(title, *body)

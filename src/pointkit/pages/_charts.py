"""Charts as inline SVG: a line chart of series over days, and a bar chart.

A chart is markup like any other (:class:`~pointkit.pages.Html`): a ``<figure class="chart">``
holding an ``<svg>`` that scales to its container, drawn here with no script and no library, so
a page that holds it is still one self-contained file that works on a phone and prints.

Numbers stay exact up to the last moment. The values are ``int``, ``Decimal`` or ``Fraction``
(a float is refused, as everywhere in pointkit); the axis ticks are exact round numbers (1, 2 or
5 times a power of ten) chosen with ``Fraction`` arithmetic, so their labels are exact; only the
pixel positions are computed with floats, and a position is never turned back into a label.

Every drawn data point is an element with ``class="mark"`` and ``data-value`` holding the
point's exact value as text (``12``, ``3.50``, ``1/3``), and the ``<svg>`` says how many marks it
holds in ``data-points``: a test, or a browser test, counts and reads them without parsing the
drawing. A line chart draws a small circle per point up to :data:`MARKS_PER_SERIES_MAX` points per
series; past that it draws a mark only every k-th point (k the smallest step that keeps the
series within the limit), while its line still passes through every point.
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Final, final

import attrs

from pointkit._validate import type_name
from pointkit.exceptions import ArgumentTypeError, InvalidArgumentError, LimitExceededError
from pointkit.pages._html import Html, Number, attribute_name, element, tag
from pointkit.pages._style import PALETTE


if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence


__all__ = [
    "CHART_SERIES_MAX",
    "CHART_VALUES_MAX",
    "MARKS_PER_SERIES_MAX",
    "Series",
    "bar_chart",
    "line_chart",
    "number_label",
    "value_text",
]

CHART_VALUES_MAX: Final = 10_000
"""The most points in a series (or bars in a bar chart, or x labels)."""
CHART_SERIES_MAX: Final = 20
"""The most series in a line chart."""
MARKS_PER_SERIES_MAX: Final = 400
"""The most circles drawn for one series; past it, one every k-th point."""

# The drawing's own coordinate system; the svg scales to the container's width.
_WIDTH: Final = 640.0
_HEIGHT: Final = 300.0
_LEFT: Final = 60.0
_RIGHT: Final = 16.0
_TOP: Final = 24.0
_BOTTOM: Final = 34.0
_PLOT_WIDTH: Final = _WIDTH - _LEFT - _RIGHT
_PLOT_HEIGHT: Final = _HEIGHT - _TOP - _BOTTOM
_EMPTY_HEIGHT: Final = 60.0
_TICKS_WANTED: Final = 5
_CHARACTER_WIDTH: Final = 7.5  # about one character of the 13px axis font
_LABEL_GAP: Final = 10.0


def _number(name: str, value: object, *, gaps: bool) -> Number | None:
    """Return *value* if it is an exact finite number (or None where gaps are allowed)."""
    if value is None and gaps:
        return None
    if isinstance(value, bool) or not isinstance(value, int | Decimal | Fraction):
        valid = "an int, Decimal or Fraction" + (" or None" if gaps else "")
        raise ArgumentTypeError(f"{name}={value!r} must be {valid}, not {type_name(value)}")
    if isinstance(value, Decimal) and not value.is_finite():
        raise InvalidArgumentError(f"{name}={value!r} must be a finite number")
    return value


def _numbers(name: str, values: Iterable[object], *, gaps: bool) -> tuple[Number | None, ...]:
    if isinstance(values, str | bytes) or not hasattr(values, "__iter__"):
        raise ArgumentTypeError(f"{name}={values!r} must be a sequence of numbers")
    checked = tuple(
        _number(f"{name}[{index}]", value, gaps=gaps) for index, value in enumerate(values)
    )
    if len(checked) > CHART_VALUES_MAX:
        raise LimitExceededError(
            f"{name} has {len(checked)} values, over CHART_VALUES_MAX ({CHART_VALUES_MAX})"
        )
    return checked


def _values(values: Iterable[object]) -> tuple[Number | None, ...]:
    return _numbers("values", values, gaps=True)


def _low(values: Iterable[object] | None) -> tuple[Number | None, ...] | None:
    return None if values is None else _numbers("low", values, gaps=True)


def _high(values: Iterable[object] | None) -> tuple[Number | None, ...] | None:
    return None if values is None else _numbers("high", values, gaps=True)


def _check_name(_instance: object, _attribute: attrs.Attribute[str], name: str) -> None:
    if not isinstance(name, str):  # a caller without mypy
        raise ArgumentTypeError(f"name={name!r} must be a str, not {type_name(name)}")
    if not name.strip():
        raise InvalidArgumentError(f"name={name!r} must not be blank")


@final
@attrs.frozen
class Series:
    """One line of a line chart: a value per x label, and an optional band around it.

    Attributes:
        name: The series' name, shown in the legend.
        values: A value per x label; None where there is none (the line breaks there).
        low: The band's lower edge per x label (for instance the minimum over several runs).
        high: The band's upper edge; given together with *low*, each the length of *values*.

    Raises:
        ArgumentTypeError: If a value is a float, a bool or not a number.
        InvalidArgumentError: If the band is given half, its length differs from the values',
            or a low edge is above its high edge.

    >>> from pointkit.pages import Series
    >>> Series("balance", [1, None, 3]).values
    (1, None, 3)
    >>> Series("balance", [1, 2.5])
    Traceback (most recent call last):
    ...
    pointkit.exceptions.ArgumentTypeError: values[1]=2.5 must be an int, Decimal or Fraction or None, not float
    """

    name: str = attrs.field(validator=_check_name)
    values: tuple[Number | None, ...] = attrs.field(converter=_values)
    low: tuple[Number | None, ...] | None = attrs.field(default=None, converter=_low)
    high: tuple[Number | None, ...] | None = attrs.field(default=None, converter=_high)

    def __attrs_post_init__(self) -> None:
        if (self.low is None) != (self.high is None):
            raise InvalidArgumentError(
                f"series {self.name!r}: low and high must be given together, got only "
                f"{'low' if self.high is None else 'high'}"
            )
        for edge, name in ((self.low, "low"), (self.high, "high")):
            if edge is not None and len(edge) != len(self.values):
                raise InvalidArgumentError(
                    f"series {self.name!r}: {name} has {len(edge)} values; values has "
                    f"{len(self.values)}, and the band needs one per value"
                )
        if self.low is not None and self.high is not None:
            for index, (low, high) in enumerate(zip(self.low, self.high, strict=True)):
                if low is not None and high is not None and low > high:
                    raise InvalidArgumentError(
                        f"series {self.name!r}: low[{index}]={low!r} is above high[{index}]={high!r}"
                    )


def value_text(value: Number) -> str:
    """Return *value* exactly as text: ``12``, ``3.50``, ``1/3``.

    >>> from decimal import Decimal
    >>> from fractions import Fraction
    >>> from pointkit.pages import value_text
    >>> [value_text(v) for v in (12, Decimal("3.50"), Decimal("1E+3"), Fraction(1, 3))]
    ['12', '3.50', '1000', '1/3']
    """
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _decimal(value: Fraction) -> Decimal:
    """An exact Decimal of a Fraction whose denominator divides a power of ten."""
    return Decimal(value.numerator) / Decimal(value.denominator)


def _plain(value: Decimal) -> str:
    text = format(value, ",f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def number_label(value: Number) -> str:
    """Return a short label for an axis: ``950``, ``1,234``, ``12.5k``, ``1.2M``, ``3B``.

    Values below ten thousand are written in full with thousands separators; larger ones are
    scaled. The label is exact for the round numbers axes use; other values are rounded to
    three significant digits once scaled.

    >>> from fractions import Fraction
    >>> from pointkit.pages import number_label
    >>> [number_label(v) for v in (0, 950, 1234, 12_500, -1_200_000, 3 * 10**9, Fraction(1, 4))]
    ['0', '950', '1,234', '12.5k', '-1.2M', '3B', '0.25']
    """
    exact = Fraction(value)
    magnitude = abs(exact)
    for size, suffix in ((10**9, "B"), (10**6, "M"), (10**4, "k")):
        if magnitude >= size:
            divisor = 1000 if suffix == "k" else size
            scaled = Decimal(exact.numerator) / Decimal(exact.denominator * divisor)
            digits = len(str(int(abs(scaled))))
            return _plain(round(scaled, max(0, 3 - digits))) + suffix
    if exact.denominator == 1:
        return f"{exact.numerator:,}"
    decimal = Decimal(exact.numerator) / Decimal(exact.denominator)
    if decimal * exact.denominator != exact.numerator:  # not a terminating decimal: round it
        decimal = round(decimal, 4)
    return _plain(decimal)


def _step(span: Fraction) -> Fraction:
    """The round step (1, 2 or 5 times a power of ten) giving about five ticks over *span*."""
    rough = span / _TICKS_WANTED
    power = Fraction(10) ** math.floor(math.log10(rough))
    # The float logarithm can be one off at exact powers of ten; settle it exactly.
    while power > rough:
        power /= 10
    while power * 10 <= rough:
        power *= 10
    for multiple in (1, 2, 5, 10):
        if multiple * power >= rough:
            return multiple * power
    return 10 * power  # pragma: no cover - the loop always returns by 10


def _ticks(values: Sequence[Number], *, zero: bool) -> tuple[Fraction, ...]:
    """Exact, evenly spaced tick values covering *values* (and zero, when asked)."""
    exact = [Fraction(value) for value in values]
    low, high = min(exact), max(exact)
    if zero:
        low, high = min(low, Fraction(0)), max(high, Fraction(0))
    if low == high:  # one value: a span around it
        spread = abs(low) / 10 if low else Fraction(1)
        low, high = low - spread, high + spread
    step = _step(high - low)
    first = math.floor(low / step)
    last = math.ceil(high / step)
    return tuple(index * step for index in range(first, last + 1))


def _coordinate(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def _scale(ticks: Sequence[Fraction]) -> tuple[float, float]:
    return float(ticks[0]), float(ticks[-1])


def _y(value: Number, scale: tuple[float, float]) -> float:
    low, high = scale
    return _TOP + _PLOT_HEIGHT * (1 - (float(value) - low) / (high - low))


def _svg(name: str, *children: object, **attributes: object) -> Html:
    return element(name, children, {attribute_name(key): v for key, v in attributes.items()})


def _y_axis(ticks: Sequence[Fraction], scale: tuple[float, float], unit: str) -> list[Html]:
    parts = []
    for value in ticks:
        y = _coordinate(_y(value, scale))
        parts.append(
            _svg(
                "line",
                class_="grid",
                x1=_coordinate(_LEFT),
                x2=_coordinate(_WIDTH - _RIGHT),
                y1=y,
                y2=y,
                stroke="#d0d7de" if value else "#59636e",
                stroke_width=1,
            )
        )
        parts.append(
            _svg(
                "text",
                number_label(value),
                class_="y-label",
                x=_coordinate(_LEFT - 6),
                y=_coordinate(_y(value, scale) + 4),
                text_anchor="end",
            )
        )
    if ticks[0] < 0 < ticks[-1]:
        y = _coordinate(_y(0, scale))
        parts.append(
            _svg(
                "line",
                class_="zero",
                x1=_coordinate(_LEFT),
                x2=_coordinate(_WIDTH - _RIGHT),
                y1=y,
                y2=y,
                stroke="#1f2328",
                stroke_width=1,
            )
        )
    if unit:
        parts.append(_svg("text", unit, class_="unit", x=4, y=10))
    bottom = _coordinate(_TOP + _PLOT_HEIGHT)
    parts.append(
        _svg(
            "line",
            class_="axis",
            x1=_coordinate(_LEFT),
            x2=_coordinate(_LEFT),
            y1=_coordinate(_TOP),
            y2=bottom,
            stroke="#59636e",
            stroke_width=1,
        )
    )
    return parts


def _label_step(labels: Sequence[str], room: float) -> int:
    """Show every k-th x label so that labels *room* pixels apart do not overlap: this k."""
    widest = max((len(label) for label in labels), default=1) * _CHARACTER_WIDTH + _LABEL_GAP
    return max(1, math.ceil(widest / room)) if room > 0 else len(labels)


def _x_labels(labels: Sequence[str], xs: Sequence[float], room: float) -> list[Html]:
    step = _label_step(labels, room)
    y = _coordinate(_TOP + _PLOT_HEIGHT + 16)
    return [
        _svg("text", label, class_="x-label", x=_coordinate(x), y=y, text_anchor="middle")
        for index, (label, x) in enumerate(zip(labels, xs, strict=True))
        if index % step == 0
    ]


def _figure(
    title: str,
    svg_children: Sequence[Html],
    marks: int,
    *extra: Html | None,
    height: float = _HEIGHT,
) -> Html:
    svg = element(
        "svg",
        (tag("title", title), *svg_children),
        {
            "role": "img",
            "viewBox": f"0 0 {_coordinate(_WIDTH)} {_coordinate(height)}",
            "preserveAspectRatio": "xMidYMid meet",
            "data-points": marks,
        },
        svg=True,
    )
    return tag("figure", tag("figcaption", title), svg, *extra, class_="chart")


def _empty(title: str) -> Html:
    text = _svg(
        "text",
        "no data",
        class_="empty",
        x=_coordinate(_WIDTH / 2),
        y=_coordinate(_EMPTY_HEIGHT / 2 + 5),
        text_anchor="middle",
    )
    return _figure(title, [text], 0, height=_EMPTY_HEIGHT)


def _check_labels(name: str, labels: Sequence[str]) -> tuple[str, ...]:
    if isinstance(labels, str):
        raise ArgumentTypeError(f"{name}={labels!r} must be a sequence of str, not one str")
    for index, label in enumerate(labels):
        if not isinstance(label, str):
            raise ArgumentTypeError(f"{name}[{index}]={label!r} must be a str")
    if len(labels) > CHART_VALUES_MAX:
        raise LimitExceededError(
            f"{name} has {len(labels)} labels, over CHART_VALUES_MAX ({CHART_VALUES_MAX})"
        )
    return tuple(labels)


def _runs(points: Sequence[tuple[float, float] | None]) -> list[list[tuple[float, float]]]:
    """The unbroken runs of points between gaps."""
    runs: list[list[tuple[float, float]]] = [[]]
    for point in points:
        if point is None:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append(point)
    return [run for run in runs if run]


def _path(run: Sequence[tuple[float, float]]) -> str:
    return " ".join(
        f"{'M' if index == 0 else 'L'}{_coordinate(x)},{_coordinate(y)}"
        for index, (x, y) in enumerate(run)
    )


def _band_paths(
    series: Series, xs: Sequence[float], scale: tuple[float, float], colour: str
) -> list[Html]:
    if series.low is None or series.high is None:
        return []
    runs: list[list[tuple[float, float, float]]] = [[]]
    for x, low, high in zip(xs, series.low, series.high, strict=True):
        if low is None or high is None:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append((x, _y(low, scale), _y(high, scale)))
    shapes = []
    for run in runs:
        if not run:
            continue
        # Along the high edge, then back along the low edge, closed.
        outline = [(x, high) for x, _, high in run] + [(x, low) for x, low, _ in reversed(run)]
        shapes.append(
            _svg(
                "path",
                class_="band",
                d=_path(outline) + " Z",
                fill=colour,
                fill_opacity="0.18",
                stroke="none",
                data_series=series.name,
            )
        )
    return shapes


def _mark_step(count: int) -> int:
    return max(1, math.ceil(count / MARKS_PER_SERIES_MAX))


def _series_drawing(
    series: Series,
    number: int,
    labels: Sequence[str],
    xs: Sequence[float],
    scale: tuple[float, float],
    unit: str,
) -> tuple[list[Html], int]:
    colour = PALETTE[number % len(PALETTE)]
    # Past the palette, colours repeat with a dashed line so the series stay apart.
    dashes = None if number < len(PALETTE) else "6 3"
    parts = _band_paths(series, xs, scale, colour)
    points = [
        None if value is None else (x, _y(value, scale))
        for x, value in zip(xs, series.values, strict=True)
    ]
    path = " ".join(_path(run) for run in _runs(points))
    parts.append(
        _svg(
            "path",
            class_="line",
            d=path,
            fill="none",
            stroke=colour,
            stroke_width=2,
            stroke_linejoin="round",
            stroke_dasharray=dashes,
            data_series=series.name,
        )
    )
    step = _mark_step(len(series.values))
    radius = "3" if len(series.values) <= 60 else "2"  # noqa: PLR2004 - small marks on long series
    marks = 0
    for index, (label, value, point) in enumerate(zip(labels, series.values, points, strict=True)):
        if value is None or point is None or index % step:
            continue
        shown = value_text(value) + (f" {unit}" if unit else "")
        parts.append(
            _svg(
                "circle",
                _svg("title", f"{series.name}, {label}: {shown}"),
                class_="mark",
                cx=_coordinate(point[0]),
                cy=_coordinate(point[1]),
                r=radius,
                fill=colour,
                data_value=value_text(value),
                data_series=series.name,
                data_x=label,
            )
        )
        marks += 1
    return parts, marks


def _legend(series: Sequence[Series]) -> Html | None:
    if len(series) < 2:  # noqa: PLR2004 - one series needs no legend: the title names it
        return None
    items = (
        tag(
            "li",
            tag("span", class_="swatch", style=f"background:{PALETTE[n % len(PALETTE)]}"),
            one.name,
        )
        for n, one in enumerate(series)
    )
    return tag("ul", *items, class_="legend")


def line_chart(
    title: str, x_labels: Sequence[str], series: Sequence[Series], *, unit: str = ""
) -> Html:
    """Return a line chart of *series* over *x_labels* (days, usually), as a figure.

    Args:
        title: The chart's title, shown above it and read by screen readers.
        x_labels: A label per x position; labels are thinned so that they do not overlap.
        series: The lines, each with a value per x label; a band where *low* and *high* are
            given. Several series get distinct colours and a legend.
        unit: The values' unit, shown by the y axis and on each point's tooltip.

    Returns:
        A ``<figure class="chart">``; with no labels, no series or no values, a chart saying
        "no data".

    Raises:
        ArgumentTypeError: If a label is not a str or a series not a :class:`Series`.
        InvalidArgumentError: If a series' length differs from the labels'.
        LimitExceededError: If there are more than :data:`CHART_SERIES_MAX` series.

    >>> from pointkit.pages import Series, line_chart
    >>> chart = line_chart("Balance", ["1 May", "2 May", "3 May"], [Series("a", [5, None, 7])])
    >>> chart.count('class="mark"'), 'data-points="2"' in chart
    (2, True)
    """
    labels = _check_labels("x_labels", x_labels)
    if len(series) > CHART_SERIES_MAX:
        raise LimitExceededError(
            f"series has {len(series)} series, over CHART_SERIES_MAX ({CHART_SERIES_MAX})"
        )
    for index, one in enumerate(series):
        if not isinstance(one, Series):
            raise ArgumentTypeError(f"series[{index}]={one!r} must be a Series")
        if len(one.values) != len(labels):
            raise InvalidArgumentError(
                f"series {one.name!r} has {len(one.values)} values; x_labels has {len(labels)}"
            )
    values = [
        value
        for one in series
        for edge in (one.values, one.low or (), one.high or ())
        for value in edge
        if value is not None
    ]
    if not values:
        return _empty(title)
    ticks = _ticks(values, zero=False)
    scale = _scale(ticks)
    count = len(labels)
    room = _PLOT_WIDTH / (count - 1) if count > 1 else _PLOT_WIDTH
    xs = [
        _LEFT + (_PLOT_WIDTH * index / (count - 1) if count > 1 else _PLOT_WIDTH / 2)
        for index in range(count)
    ]
    parts = _y_axis(ticks, scale, unit)
    parts += _x_labels(labels, xs, room)
    marks = 0
    for number, one in enumerate(series):
        drawn, count_marks = _series_drawing(one, number, labels, xs, scale, unit)
        parts += drawn
        marks += count_marks
    return _figure(title, parts, marks, _legend(series))


def bar_chart(
    title: str, labels: Sequence[str], values: Sequence[Number], *, unit: str = ""
) -> Html:
    """Return a bar chart with a bar per label, as a figure; negative bars hang below zero.

    Args:
        title: The chart's title.
        labels: A label per bar; labels are thinned so that they do not overlap.
        values: A value per bar.
        unit: The values' unit, shown by the y axis and on each bar's tooltip.

    Returns:
        A ``<figure class="chart">``; with no bars, a chart saying "no data".

    Raises:
        ArgumentTypeError: If a label is not a str or a value not an int, Decimal or Fraction.
        InvalidArgumentError: If the labels and values differ in length.

    >>> from pointkit.pages import bar_chart
    >>> chart = bar_chart("Draws", ["Mon", "Tue"], [3, -1])
    >>> chart.count('<rect class="mark"')
    2
    """
    names = _check_labels("labels", labels)
    checked = _numbers("values", values, gaps=False)
    if len(names) != len(checked):
        raise InvalidArgumentError(f"labels has {len(names)} labels; values has {len(checked)}")
    numbers = [value for value in checked if value is not None]
    if not numbers:
        return _empty(title)
    ticks = _ticks(numbers, zero=True)
    scale = _scale(ticks)
    room = _PLOT_WIDTH / len(numbers)
    xs = [_LEFT + room * (index + 0.5) for index in range(len(numbers))]
    width = max(room * 0.8, 1.0)
    zero = _y(0, scale)
    parts = _y_axis(ticks, scale, unit)
    parts += _x_labels(names, xs, room)
    for label, value, x in zip(names, numbers, xs, strict=True):
        top = _y(value, scale)
        shown = value_text(value) + (f" {unit}" if unit else "")
        parts.append(
            _svg(
                "rect",
                _svg("title", f"{label}: {shown}"),
                class_="mark",
                x=_coordinate(x - width / 2),
                y=_coordinate(min(top, zero)),
                width=_coordinate(width),
                height=_coordinate(abs(zero - top)),
                fill=PALETTE[0] if value >= 0 else PALETTE[1],
                data_value=value_text(value),
                data_x=label,
            )
        )
    return _figure(title, parts, len(numbers))

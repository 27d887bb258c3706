"""The console's dashboards: each report of :mod:`pointkit.reports` as a page, a chart and JSON.

Each dashboard function reads its report through the programme and returns a
:class:`Dashboard`: the page's body (a chart drawn as inline SVG, then the table behind it) and
the report's JSON (``to_dict``). A programme without what a report needs — no valuation, no
offers, no lotteries, no tier ladder — gets a notice saying what to declare, not an error, and
its JSON says the same. Figures are exact: points are ints, money and ratios Fractions; the
charts take them as they are.
"""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction
from typing import TYPE_CHECKING, Final, final

import attrs

from pointkit.pages import Series, bar_chart, join, line_chart, table, tag
from pointkit.program import describe
from pointkit.reports import (
    daily_report,
    hottest_offers,
    liability_report,
    lottery_cost,
    tier_distribution,
    to_dict,
)


if TYPE_CHECKING:
    from pointkit import jsonable
    from pointkit.pages import Html
    from pointkit.program import Program
    from pointkit.reports import Breakage


__all__ = [
    "DAYS_DEFAULT",
    "DAYS_MAX",
    "Dashboard",
    "breakage",
    "daily",
    "liability",
    "lotteries",
    "offers",
    "percent",
    "programme_check",
    "tiers",
]

DAYS_MAX: Final = 366
"""The most days the daily-flows and breakage dashboards show (``?days=``): a year and a day."""
DAYS_DEFAULT: Final = 30
"""The days those dashboards show when ``?days=`` is not given."""


@final
@attrs.frozen
class Dashboard:
    """One dashboard, rendered.

    Attributes:
        title: The page's title.
        body: The page's content under its heading.
        data: The report as JSON data, or a notice when the programme lacks what it needs.
    """

    title: str
    body: Html
    data: dict[str, jsonable.JSON]


def percent(ratio: Fraction | None) -> str:
    """A ratio as a percentage with two decimals, for reading; ``n/a`` for none."""
    if ratio is None:
        return "n/a"
    hundredths = round(ratio * 10_000)  # half-even, exact on the Fraction
    sign = "-" if hundredths < 0 else ""
    whole, rest = divmod(abs(hundredths), 100)
    return f"{sign}{whole}.{rest:02d}%"


def _notice(title: str, text: str) -> Dashboard:
    return Dashboard(title, tag("p", text, class_="notice"), {"notice": text})


def _money(value: Fraction | None, code: str) -> str:
    if value is None:
        return ""
    cents = round(value * 100)
    sign = "-" if cents < 0 else ""
    whole, rest = divmod(abs(cents), 100)
    return f"{sign}{whole:,}.{rest:02d} {code}".rstrip()


def _source(detail: str) -> Html:
    return tag("p", f"Source: {detail}", class_="muted")


def liability(program: Program) -> Dashboard:
    """Outstanding points and their money value, by when they expire."""
    title = "Liability by expiry"
    if program.config.valuation is None:
        return _notice(
            title,
            "This programme declares no valuation ([valuation] in its file), so its "
            "points have no money value to report.",
        )
    report = liability_report(program)
    code = report.money.currency.code
    rows = [[b.label, f"{b.points:,}", f"{b.money.amount:,} {code}"] for b in report.buckets]
    rows.append(["total", f"{report.points:,}", f"{report.money.amount:,} {code}"])
    body = join(
        [
            tag(
                "p",
                f"{report.points:,} {report.currency} outstanding, worth {report.money} at "
                f"{report.valuation.describe()}, as of {report.as_of.isoformat()}.",
            ),
            bar_chart(
                f"Outstanding {report.currency} by expiry",
                [bucket.label for bucket in report.buckets],
                [bucket.points for bucket in report.buckets],
                unit=report.currency,
            ),
            table(["expires", report.currency, "value"], rows, numeric=(1, 2)),
        ]
    )
    return Dashboard(title, body, to_dict(report))


def _span(program: Program, days: int) -> tuple[date, date]:
    today = program.clock.now().astimezone(program.config.zone).date()
    return today - timedelta(days=days - 1), today


def daily(program: Program, days: int) -> Dashboard:
    """Points issued, consumed, expired and adjusted on each of the last *days* local days."""
    since, until = _span(program, days)
    report = daily_report(program, since=since, until=until)
    labels = [row.day.isoformat() for row in report.rows]
    series = [
        Series(name, tuple(getattr(row, name) for row in report.rows))
        for name in ("issued", "consumed", "expired", "adjusted")
    ]
    rows = [
        [
            row.day.isoformat(),
            f"{row.issued:,}",
            f"{row.consumed:,}",
            f"{row.expired:,}",
            f"{row.adjusted:,}",
            f"{row.redemptions:,}",
            f"{row.draws:,}",
        ]
        for row in reversed(report.rows)
    ]
    body = join(
        [
            tag(
                "p",
                f"The last {days} local days in {report.zone}: {report.issued:,} {report.currency} "
                f"issued, {report.consumed:,} consumed, {report.expired:,} expired.",
            ),
            line_chart(f"Daily flows of {report.currency}", labels, series, unit=report.currency),
            table(
                ["day", "issued", "consumed", "expired", "adjusted", "redemptions", "draws"],
                rows,
                numeric=(1, 2, 3, 4, 5, 6),
            ),
            _source(report.source_detail),
        ]
    )
    return Dashboard(f"Daily flows, last {days} days", body, to_dict(report))


def _figure(figure: Breakage) -> list[object]:
    outstanding = "" if figure.outstanding is None else f"{figure.outstanding:,}"
    return [
        figure.label,
        percent(figure.ratio),
        f"{figure.expired:,}",
        f"{figure.issued:,}",
        outstanding,
    ]


def breakage(program: Program, days: int) -> Dashboard:
    """Of the points earned in the last *days* days, the share expired since; and the flow ratio."""
    since, until = _span(program, days)
    report = daily_report(program, since=since, until=until)
    cohort = report.cohort
    spent = cohort.issued - cohort.expired - (cohort.outstanding or 0)
    body = join(
        [
            tag("p", cohort.to_text()),
            bar_chart(
                f"{report.currency} earned in the last {days} days, by what became of them",
                ["expired", "still outstanding", "spent or taken back"],
                [cohort.expired, cohort.outstanding or 0, max(spent, 0)],
                unit=report.currency,
            ),
            line_chart(
                "Issued and expired per day",
                [row.day.isoformat() for row in report.rows],
                [
                    Series("issued", tuple(row.issued for row in report.rows)),
                    Series("expired", tuple(row.expired for row in report.rows)),
                ],
                unit=report.currency,
            ),
            table(
                ["figure", "ratio", "expired", "issued", "outstanding"],
                [_figure(cohort), _figure(report.flow_ratio)],
                numeric=(1, 2, 3, 4),
            ),
            tag(
                "p",
                "Read the label before the figure: the flow ratio counts points issued before "
                "these days when they expire in them, so it is not a breakage rate.",
                class_="muted",
            ),
            _source(report.source_detail),
        ]
    )
    data = {
        "cohort": to_dict(report)["cohort"],
        "flow_ratio": to_dict(report)["flow_ratio"],
        "since": since.isoformat(),
        "until": until.isoformat(),
    }
    return Dashboard(f"Cohort breakage, last {days} days", body, data)


def offers(program: Program) -> Dashboard:
    """The offers redeemed most, by units net of cancellations and refunds."""
    title = "Hottest offers"
    if not program.config.offers:
        return _notice(title, "This programme has no offers ([[offers]] in its file).")
    report = hottest_offers(program)
    rows = [
        [
            row.name,
            f"{row.redemptions:,}",
            f"{row.units:,}",
            f"{row.points:,}",
            f"{row.fulfilled:,}",
            f"{row.cancelled:,}",
            f"{row.refunded:,}",
            f"{row.net:,}",
        ]
        for row in report.rows
    ]
    body = join(
        [
            bar_chart(
                "Net units redeemed",
                [row.name for row in report.rows],
                [row.net for row in report.rows],
                unit="units",
            )
            if report.rows
            else tag("p", "No offer has been redeemed yet.", class_="notice"),
            table(
                [
                    "offer",
                    "redemptions",
                    "units",
                    "points",
                    "fulfilled",
                    "cancelled",
                    "refunded",
                    "net units",
                ],
                rows,
                numeric=(1, 2, 3, 4, 5, 6, 7),
            ),
            tag("p", f"({report.basis})", class_="muted"),
            _source(report.source_detail),
        ]
    )
    return Dashboard(title, body, to_dict(report))


def lotteries(program: Program, odds_link: dict[str, tuple[str, str]]) -> Dashboard:
    """Each lottery's draws, points in and out, and its prizes' cost against the expected.

    Args:
        program: The programme.
        odds_link: For each lottery id, the links of its odds page in Chinese and English.
    """
    title = "Lottery cost"
    if not program.config.lotteries:
        return _notice(title, "This programme has no lotteries ([[lotteries]] in its file).")
    report = lottery_cost(program)
    code = report.money or ""
    labels: list[str] = []
    values: list[Fraction] = []
    for row in report.rows:
        if row.prize_cost is not None and row.expected_cost is not None:
            labels += [f"{row.lottery}: cost", f"{row.lottery}: expected"]
            values += [row.prize_cost, row.expected_cost]
    rows = [
        [
            row.lottery,
            f"{row.draws:,}",
            f"{row.points_in:,}",
            f"{row.points_back:,}",
            ", ".join(f"{prize} {won:,}" for prize, won in row.prizes if won),
            _money(row.prize_cost, code),
            _money(row.expected_cost, code),
            join(
                [
                    tag("a", "中文", href=odds_link[row.lottery][0]),
                    tag("span", " · "),
                    tag("a", "English", href=odds_link[row.lottery][1]),
                ]
            ),
        ]
        for row in report.rows
    ]
    chart = (
        bar_chart("Prize cost against expected", labels, values, unit=code)
        if labels
        else tag("p", "No lottery has a prize cost to compare.", class_="notice")
    )
    body = join(
        [
            chart,
            table(
                [
                    "lottery",
                    "draws",
                    "points in",
                    "points back",
                    "prizes won",
                    "prize cost",
                    "expected",
                    "odds",
                ],
                rows,
                numeric=(1, 2, 3, 5, 6),
            ),
            _source(report.source_detail),
        ]
    )
    return Dashboard(title, body, to_dict(report))


def tiers(program: Program) -> Dashboard:
    """How many members are in each tier now."""
    title = "Tier distribution"
    if program.config.tiers is None:
        return _notice(title, "This programme has no tier ladder ([tiers] in its file).")
    report = tier_distribution(program)
    total = sum(count for _, count in report.counts)
    rows = [
        [tier, f"{count:,}", percent(Fraction(count, total) if total else None)]
        for tier, count in report.counts
    ]
    parts = [
        bar_chart(
            "Members per tier",
            [tier for tier, _ in report.counts],
            [count for _, count in report.counts],
            unit="members",
        ),
        table(["tier", "members", "share"], rows, numeric=(1, 2)),
    ]
    if report.unreviewed:
        parts.append(
            tag(
                "p",
                f"{report.unreviewed:,} members have points but no review yet; they count in "
                "the lowest tier.",
                class_="muted",
            )
        )
    parts.append(_source(report.source_detail))
    return Dashboard(title, join(parts), to_dict(report))


def programme_check(
    program: Program, reloaded: tuple[str, ...] | None, origin: str, *, differs: bool = False
) -> Dashboard:
    """What the running programme declares, and the result of re-loading its file.

    Args:
        program: The programme.
        reloaded: ``None`` when the host passed no file to check; else ``()`` when it loads
            cleanly, or every problem found (each with its path).
        origin: Where the file came from, in words.
        differs: Whether the file loads but declares something other than what runs.
    """
    text = describe(program.config)
    parts = [tag("h2", "What the programme declares"), tag("pre", text, class_="mono")]
    data: dict[str, jsonable.JSON] = {"program": program.config.id, "declares": text}
    if reloaded is None:
        parts.append(
            tag(
                "p",
                "The host gave no programme file to check (console_app(..., check=...)).",
                class_="notice",
            )
        )
        data["check"] = None
    elif not reloaded:
        parts.append(tag("p", f"{origin}: loads cleanly.", class_="notice"))
        if differs:
            parts.append(
                tag(
                    "p",
                    f"{origin} now declares something other than the running programme: "
                    "the change applies when the host restarts with it.",
                    class_="notice",
                )
            )
        data["check"] = {"ok": True, "problems": [], "differs": differs}
    else:
        parts += [
            tag("h2", f"{origin}: {len(reloaded)} problem{'s' if len(reloaded) != 1 else ''}"),
            tag("ul", *(tag("li", problem) for problem in reloaded), class_="error"),
        ]
        data["check"] = {"ok": False, "problems": list(reloaded)}
    return Dashboard("Programme check", join(parts), data)

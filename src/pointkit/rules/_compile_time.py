"""Compiling time conditions: the closures that test the event's local time, and their traces.

Each test reads the event's local time once from the prepared facts, with no call in between;
each explanation shows the one fact it read (``event.at``, ``event.local_weekday``,
``event.local_date`` or ``event.local_hour``). ``_compile`` calls :func:`_compile_time` for
every node of ``_time_conditions``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pointkit.rules._codec import show_value
from pointkit.rules._conditions import ConditionTrace
from pointkit.rules._time_conditions import (
    BetweenHours,
    During,
    OnDates,
    OnMonthDays,
    OnWeekdays,
)


if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from pointkit.rules._compile import _Explain, _Outcome, _Test
    from pointkit.rules._facts import Facts


__all__: list[str] = []  # the names here are private to pointkit.rules


def _time_explain(
    label: str, fact: str, read: Callable[[Facts], object], holds: Callable[[object], bool]
) -> _Explain:
    def explain(facts: Facts) -> tuple[ConditionTrace, _Outcome]:
        value = read(facts)
        passed = holds(value)
        return ConditionTrace(label, passed, ((fact, show_value(value)),)), passed

    return explain


def _join(items: Iterable[object]) -> str:
    return ", ".join(show_value(item) for item in items)


def _compile_time(node: object) -> tuple[_Test, _Explain]:
    """Time conditions; each test reads the local time once, with no call in between."""
    if isinstance(node, During):
        return _during(node)
    if isinstance(node, OnWeekdays):
        weekdays = frozenset(node.days)

        def on_weekdays(facts: Facts) -> _Outcome:
            return facts.local().isoweekday() in weekdays

        explain = _time_explain(
            f"on weekdays {_join(node.days)}",
            "event.local_weekday",
            lambda facts: facts.local().isoweekday(),
            weekdays.__contains__,
        )
        return on_weekdays, explain
    if isinstance(node, OnMonthDays):
        month_days = frozenset(node.days)

        def on_month_days(facts: Facts) -> _Outcome:
            return facts.local_date().day in month_days

        explain = _time_explain(
            f"on month days {_join(node.days)}",
            "event.local_date",
            lambda facts: facts.local_date(),
            lambda day: day.day in month_days,  # type: ignore[attr-defined]
        )
        return on_month_days, explain
    if isinstance(node, OnDates):
        dates = frozenset(node.dates)

        def on_dates(facts: Facts) -> _Outcome:
            return facts.local_date() in dates

        explain = _time_explain(
            f"on dates {_join(node.dates)}",
            "event.local_date",
            lambda facts: facts.local_date(),
            dates.__contains__,
        )
        return on_dates, explain
    if isinstance(node, BetweenHours):
        return _hours(node)
    raise AssertionError("unreachable")  # every condition type is handled


def _during(node: During) -> tuple[_Test, _Explain]:
    start, end = node.start, node.end

    def during(facts: Facts) -> _Outcome:
        return start <= facts.event.at < end

    explain = _time_explain(
        f"during [{start.isoformat()}, {end.isoformat()})",
        "event.at",
        lambda facts: facts.event.at,
        lambda at: start <= at < end,  # type: ignore[operator]
    )
    return during, explain


def _hours(node: BetweenHours) -> tuple[_Test, _Explain]:
    start_hour, end_hour = node.start_hour, node.end_hour
    wraps = end_hour <= start_hour

    def holds(hour: object) -> bool:
        if wraps:
            return hour >= start_hour or hour < end_hour  # type: ignore[operator]
        return start_hour <= hour < end_hour  # type: ignore[operator]

    def between_hours(facts: Facts) -> _Outcome:
        hour = facts.local().hour
        if wraps:
            return hour >= start_hour or hour < end_hour
        return start_hour <= hour < end_hour

    explain = _time_explain(
        f"between hours {start_hour} and {end_hour}",
        "event.local_hour",
        lambda facts: facts.local().hour,
        holds,
    )
    return between_hours, explain

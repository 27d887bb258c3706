"""Earning rules: events, conditions, rates, multipliers, caps, streaks and budgets.

This package holds the pure rules engine (``evaluate(event, state, now)``); it has no public
names in this release.
"""

__all__: list[str] = []

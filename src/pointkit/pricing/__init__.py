"""Pricing: point valuation, exchange between currencies, points + cash, offers and lotteries.

This package holds the pure pricing logic; it has no public names in this release. Money
values and rounding live in :class:`pointkit.Money` and :func:`pointkit.round_fraction`.
"""

__all__: list[str] = []

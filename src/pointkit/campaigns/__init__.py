"""Campaigns' pure decisions.

Coupons and their codes, referrals, missions and badges, group buys, anti-cheat and segments.
Like ``pointkit.rules`` and ``pointkit.pricing``, nothing here reads a clock, a random source or
a database: definitions are checked values, and decisions are functions of explicit inputs. The
features that run them on the ledger are in ``pointkit.features``.
"""

__all__: list[str] = []

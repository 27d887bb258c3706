"""The in-memory ledger against the model: the conformance machine on MemoryStorage.

The machine (pointkit/testing/_machine.py) drives random command sequences and checks every
ledger invariant after every step; each of its checks names the invariant it guards.
"""

from __future__ import annotations

from hypothesis import settings

from pointkit.testing._machine import INACTIVITY, ConformanceMachine


class MemoryConformance(ConformanceMachine):
    """The machine with MemoryStorage under test, checked against the model alone."""

    lockstep = False


MemoryConformance.TestCase.__doc__ = "The ledger agrees with the model and keeps every invariant."
TestMemoryConformance = MemoryConformance.TestCase


class InactivityConformance(ConformanceMachine):
    """The machine under an inactivity policy: earns, redemptions and captures move expiries."""

    lockstep = False
    expiry = INACTIVITY


InactivityConformance.TestCase.__doc__ = (
    "Under inactivity expiry the ledger agrees with the model: each lot expires exactly once."
)
# A variant of the machine above: a fifth of the profile's runs keeps the suite's time in check.
InactivityConformance.TestCase.settings = settings(
    settings(), max_examples=max(40, settings().max_examples // 5)
)
TestInactivityConformance = InactivityConformance.TestCase

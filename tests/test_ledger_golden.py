"""Golden table: every ledger error and the precedence between them, one line per case.

The table lives in pointkit/testing/_golden.py so that host adapters run it too.
"""

from __future__ import annotations

import pytest

from pointkit import MemoryStorage, exceptions
from pointkit.testing._golden import CASES, GoldenCase, run_case


@pytest.mark.parametrize("case", CASES, ids=str)
def test_golden(case: GoldenCase) -> None:
    """The command ends with the outcome its line states; a refusal writes nothing."""
    run_case(MemoryStorage(), case)


def test_golden_covers_every_ledger_error() -> None:
    """Every error a ledger command can raise has at least one golden line."""
    # Configuration errors come from policy constructors, not from ledger commands; a
    # fairness error from verifying a draw offline; a transfer refusal from a Program's
    # transfer policy (tests/test_program.py covers it); the campaigns' refusals from their
    # features, each reason covered by the campaign's own tests (tests/test_coupons.py,
    # test_referrals.py, test_group_buys.py, test_guard.py).
    not_ledger = (
        exceptions.StorageError,
        exceptions.ConfigurationError,
        exceptions.FairnessError,
        exceptions.TransferRefusedError,
        exceptions.CouponRefusedError,
        exceptions.CouponNotFoundError,
        exceptions.ReferralRefusedError,
        exceptions.GroupBuyRefusedError,
        exceptions.GroupBuyNotFoundError,
        exceptions.MemberFrozenError,
        exceptions.ActivityRefusedError,
    )
    codes = {
        cls.code
        for cls in vars(exceptions).values()
        if isinstance(cls, type)
        and issubclass(cls, exceptions.PointkitError)
        and not issubclass(cls, not_ledger)
        and cls.__subclasses__() == []
    }
    covered = {case.outcome for case in CASES}
    assert codes - covered == set()

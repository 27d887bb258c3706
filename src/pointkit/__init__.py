"""pointkit: the logic of a loyalty-points economy, embedded in your own service.

The everyday names are here; the rest live in their packages: :mod:`pointkit.ledger`,
:mod:`pointkit.exceptions`, :mod:`pointkit.limits`, :mod:`pointkit.clock`.
"""

from importlib.metadata import version as _version

from pointkit._values import (
    MemberId,
    Money,
    MoneyCurrency,
    PointCurrency,
    Points,
    ProgramId,
    Rounding,
    round_fraction,
)
from pointkit.clock import Clock, FixedClock, SystemClock
from pointkit.exceptions import (
    IdempotencyConflictError,
    InsufficientPointsError,
    InvariantViolation,
    PointkitError,
)
from pointkit.ledger import (
    Balance,
    Hold,
    Ledger,
    LedgerPolicy,
    Lot,
    Statement,
    Transaction,
)
from pointkit.storage import MemoryStorage


__version__ = _version("pointkit")

__all__ = [
    "Balance",
    "Clock",
    "FixedClock",
    "Hold",
    "IdempotencyConflictError",
    "InsufficientPointsError",
    "InvariantViolation",
    "Ledger",
    "LedgerPolicy",
    "Lot",
    "MemberId",
    "MemoryStorage",
    "Money",
    "MoneyCurrency",
    "PointCurrency",
    "PointkitError",
    "Points",
    "ProgramId",
    "Rounding",
    "Statement",
    "SystemClock",
    "Transaction",
    "__version__",
    "round_fraction",
]

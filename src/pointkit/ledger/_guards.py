"""Command guards: checks that features run on every plan before the ledger writes it.

Maintainer's notes
------------------
The ledger imports no feature, yet a feature may have to refuse a member's points commands
(anti-cheat freezes a member: they earn and spend nothing). Like a release hook, a guard is a
function the feature registers on the ledger (:meth:`~pointkit.ledger.Ledger.add_guard`) and the
ledger runs without knowing what it does. It runs where every plan is written — the ledger's
own commands, alone or linked, expiry runs and hold timeouts, and the postings of the features
above the ledger (they all write through :func:`write_plans`) — inside the command's unit of
work, after the wallets the plan changes were locked: a guard that reads a row a concurrent
unit writes under the same wallet locks sees it committed, so its check cannot race. It refuses
by raising; the unit then rolls back and nothing is written.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from pointkit import limits
from pointkit._validate import check_text
from pointkit.exceptions import ArgumentTypeError
from pointkit.ledger._outbox import apply_plans


if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from pointkit._values import MemberId
    from pointkit.ledger._storage import Plan, WriteUnit


__all__ = ["CommandGuard", "check_hook", "write_plans"]


class CommandGuard(Protocol):
    """Called with every plan's command and members before the plan is written; may refuse."""

    def __call__(self, unit: WriteUnit, command: str, members: tuple[MemberId, ...]) -> None:
        """Check a plan about to be written in *unit*; raise to refuse it (nothing is written).

        Args:
            unit: The command's write unit; the members' wallets in the plan are locked.
            command: What the plan does: its transaction's kind (``"earn"``, ``"redeem"``,
                ``"reserve"``, ``"capture"``, ``"release"``, ``"hold_timeout"``,
                ``"transfer"``, ``"reversal"``, ``"expiry"``, ``"adjustment"``, ``"draw"``,
                ``"conversion"``).
            members: The members whose wallets the plan changes, sorted.
        """
        ...


def check_hook(name: object, hook: object) -> str:
    """Return a hook's checked name; raise if the name is invalid or the hook not callable."""
    checked = check_text(
        "name", name, max_length=limits.RULE_NAME_LENGTH_MAX, limit_name="RULE_NAME_LENGTH_MAX"
    )
    if not callable(hook):
        raise ArgumentTypeError(f"hook={hook!r} must be callable")
    return checked


def write_plans(unit: WriteUnit, plans: Sequence[Plan], guards: Mapping[str, CommandGuard]) -> None:
    """Run every guard on each of *plans*, then write them all (:func:`apply_plans`)."""
    if guards:
        for plan in plans:
            members = tuple(sorted({wallet.member for wallet in plan.wallets}))
            for guard in guards.values():
                guard(unit, plan.transaction.kind.value, members)
    apply_plans(unit, plans)

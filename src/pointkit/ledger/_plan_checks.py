"""The invariants a plan must keep before it is written, checked by :meth:`Booking.finish`.

The write side of TigerBeetle's pair assertions (:mod:`pointkit.ledger._audit` is the read
side): every command's plan passes here, so the checks are plain loops that cost nothing when
they pass.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, NoReturn

from pointkit import limits
from pointkit.exceptions import InvariantViolation
from pointkit.ledger._records import Phase


if TYPE_CHECKING:
    from collections.abc import KeysView
    from datetime import datetime

    from pointkit.ledger._booking import _WalletWork
    from pointkit.ledger._records import LotId
    from pointkit.ledger._storage import Plan, WalletKey, WalletState


__all__ = ["check_plan", "require"]

_POSTED: Final = Phase.POSTED
_PENDING: Final = Phase.PENDING


def require(condition: bool, message: str, *args: object) -> None:  # noqa: FBT001 - an assertion
    """Raise :class:`InvariantViolation` unless *condition* holds.

    The message is ``message.format(*args)``, built only when the check fails: these checks
    run on every command and must cost nothing when they pass.
    """
    if not condition:
        raise InvariantViolation(message.format(*args))


def _fail(message: str, *args: object) -> NoReturn:
    """Raise :class:`InvariantViolation` with ``message.format(*args)`` (a check failed)."""
    raise InvariantViolation(message.format(*args))


def _change_of(changes: dict[LotId, int], lot_ids: KeysView[LotId]) -> int:
    """The sum of *changes* to the lots in *lot_ids* (a loop: cheaper than a generator)."""
    total = 0
    for lot_id, change in changes.items():
        if lot_id in lot_ids:
            total += change
    return total


def check_plan(plan: Plan, before: dict[WalletKey, _WalletWork], now: datetime) -> None:
    """Check a plan's invariants before it is written.

    Each wallet's change must equal the change of its lots (remaining points less debt, held
    points) and of its postings; every lot the plan touched must stay in bounds; a wallet left
    in debt must have no free points in the lots the booking loaded. Together with the same
    checks over the whole wallet in :func:`pointkit.ledger.audit`, this keeps a wallet's posted
    balance equal to its lots' remaining points minus its debt after every transaction.

    Raises:
        InvariantViolation: Naming the first invariant the plan breaks.
    """
    # The checks are written out as ``if not ...: fail(...)`` rather than calls of require:
    # a call per check per command is most of what passing them costs.
    transaction = plan.transaction
    currency = transaction.currency
    # One pass over the postings: each phase's total and each wallet's posting, which the
    # wallet checks below compare with (``Transaction.posted_to``, without a walk per wallet).
    # Wallet postings are keyed by plain strings: their hashes are cached, an account's is not.
    # The two phases' totals are two numbers, not a dict (a total per phase of _PHASES).
    posted_total = pending_total = 0
    posted: dict[tuple[str, str, Phase], int] = {}
    for posting in transaction.postings:
        account = posting.account
        phase = posting.phase
        if phase == _POSTED:
            posted_total += posting.amount
        elif phase == _PENDING:
            pending_total += posting.amount
        else:
            raise KeyError(phase)  # not a phase: as the dict of phases would
        if account.currency != currency:
            _fail("transaction {} posts to {} in another currency", transaction.id, account)
        if account.member is not None:
            at = (account.member, account.currency, phase)
            posted[at] = posted.get(at, 0) + posting.amount
    if posted_total != 0:
        _fail("transaction {} {} postings sum to {}", transaction.id, _POSTED, posted_total)
    if pending_total != 0:
        _fail("transaction {} {} postings sum to {}", transaction.id, _PENDING, pending_total)
    # Only the lots the transaction created or moved change; each belongs to one wallet.
    # Each changed lot's change of remaining points, the points of the lots created included.
    created = transaction.lots_created
    remaining_change: dict[LotId, int] = (
        {created[0].id: created[0].amount}
        if len(created) == 1
        else {lot.id: lot.amount for lot in created}
    )
    held_change: dict[LotId, int] = {}
    for move in transaction.lot_moves:
        remaining_change[move.lot] = remaining_change.get(move.lot, 0) + move.remaining
        held_change[move.lot] = held_change.get(move.lot, 0) + move.held
    for state in plan.wallets:
        _check_wallet(state, before[state.key], posted, remaining_change, held_change, now)


def _check_wallet(
    state: WalletState,
    work: _WalletWork,
    posted: dict[tuple[str, str, Phase], int],
    remaining_change: dict[LotId, int],
    held_change: dict[LotId, int],
    now: datetime,
) -> None:
    """Check one wallet of a plan: its new row against its lots' and its postings' changes."""
    account = work.account
    lot_ids = work.lots.keys()
    lots_change = _change_of(remaining_change, lot_ids)
    held_changes = _change_of(held_change, lot_ids) if held_change else 0
    previous = work.state
    posted_change = state.posted - previous.posted
    if state.debt < 0:
        _fail("wallet {} has negative debt {}", account, state.debt)
    if state.posted > limits.POINTS_MAX:
        _fail("wallet {} is over POINTS_MAX", account)
    if posted_change != lots_change - (state.debt - previous.debt):
        _fail("wallet {}: posted change is not its lots' change less its debt's", account)
    if state.held - previous.held != held_changes:
        _fail("wallet {}: held change is not its lots' held change", account)
    if posted_change != posted.get((state.member, state.currency, Phase.POSTED), 0):
        _fail("wallet {}: posted change does not match the transaction's postings", account)
    if previous.held - state.held != posted.get((state.member, state.currency, Phase.PENDING), 0):
        _fail("wallet {}: held change does not match the transaction's pending postings", account)
    for lot in work.lots.values():
        if (
            0 <= lot.held <= lot.remaining
            and lot.expired >= 0
            and lot.remaining + lot.expired <= lot.lot.amount
            and (state.debt == 0 or lot.free == 0)
        ):
            continue  # every check below passes: skip them (this runs for every lot)
        require(0 <= lot.held <= lot.remaining, "lot {} holds more than it has", lot)
        require(lot.expired >= 0, "lot {} has negative expired points", lot)
        require(lot.remaining + lot.expired <= lot.lot.amount, "lot {} exceeds its amount", lot)
        require(
            state.debt == 0 or lot.free == 0 or lot.lot.is_due(now),
            "wallet {} owes points but lot {} has free points",
            account,
            lot,
        )

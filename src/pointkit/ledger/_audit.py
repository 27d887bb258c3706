"""The audit: rebuild every balance, lot and hold from the journal alone and compare.

The journal of transactions is the source of truth; wallet rows, lots and holds are caches that
storage keeps for fast reads. :func:`audit` replays the journal into a fresh model (wallet by
wallet, in version order) and reports every place where storage disagrees with it or where an
invariant does not hold. It is the read side of the ledger's pair assertions: the booking core
checks each plan before it is written, the audit checks what storage gives back.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, final

import attrs

from pointkit.exceptions import InvariantViolation
from pointkit.ledger._booking import reversal_route
from pointkit.ledger._records import (
    AccountId,
    AccountKind,
    Hold,
    HoldStatus,
    MoveReason,
    Phase,
    TransactionKind,
)
from pointkit.ledger._seal import seal_problems


if TYPE_CHECKING:
    from datetime import datetime

    from pointkit.ledger._records import Lot, LotId, Transaction, TransactionId
    from pointkit.ledger._storage import ReadUnit, WalletKey


__all__ = ["AuditReport", "audit"]

_PROBLEMS_SHOWN = 20
_RESOLUTIONS = {
    TransactionKind.CAPTURE: HoldStatus.CAPTURED,
    TransactionKind.RELEASE: HoldStatus.RELEASED,
    TransactionKind.HOLD_TIMEOUT: HoldStatus.EXPIRED,
}


@final
@attrs.frozen
class AuditReport:
    """What an audit checked; it raises instead of returning when anything is wrong.

    Attributes:
        transactions: Transactions replayed.
        wallets: Member wallets rebuilt.
        lots: Lots rebuilt.
        holds: Holds rebuilt.
        sealed: Transactions whose seal matched (0 when the ledger has no seal key).
    """

    transactions: int
    wallets: int
    lots: int
    holds: int
    sealed: int = 0


@attrs.define
class _Replay:
    """The state the journal implies, built up transaction by transaction."""

    lots: dict[LotId, Lot] = attrs.field(factory=dict)
    holds: dict[TransactionId, Hold] = attrs.field(factory=dict)
    wallets: dict[WalletKey, tuple[int, int, int, int]] = attrs.field(factory=dict)
    system: defaultdict[tuple[AccountId, Phase], int] = attrs.field(
        factory=lambda: defaultdict(int)
    )
    problems: list[str] = attrs.field(factory=list)
    moves_applied: int = 0

    def check(self, condition: bool, message: str) -> None:  # noqa: FBT001 - an assertion
        if not condition:
            self.problems.append(message)


def _check_transaction(replay: _Replay, transaction: Transaction) -> None:
    for phase in Phase:
        total = sum(p.amount for p in transaction.postings if p.phase is phase)
        replay.check(total == 0, f"{transaction.id}: {phase.value} postings sum to {total}")
    for posting in transaction.postings:
        replay.check(posting.amount != 0, f"{transaction.id}: a posting of zero")
        replay.check(
            posting.account.currency == transaction.currency,
            f"{transaction.id}: a posting in another currency",
        )
        if posting.account.kind is not AccountKind.MEMBER:
            replay.system[(posting.account, posting.phase)] += posting.amount


def _replay_wallet(
    replay: _Replay, key: WalletKey, transactions: list[tuple[int, Transaction]]
) -> None:
    member, currency = key
    account = AccountId.wallet(member, currency)
    posted = held = debt = 0
    own: list[LotId] = []  # the wallet's lots, for inactivity extensions
    for expected_version, (version, transaction) in enumerate(sorted(transactions), start=1):
        replay.check(
            version == expected_version,
            f"wallet {account}: version {version} where {expected_version} was due",
        )
        for lot in transaction.lots_created:
            if (lot.member, lot.currency) == key:
                replay.check(lot.id not in replay.lots, f"lot {lot.id} is created twice")
                replay.lots[lot.id] = lot
                own.append(lot.id)
        for move in transaction.lot_moves:
            moved = replay.lots.get(move.lot)
            if moved is None or (moved.member, moved.currency) != key:
                continue
            replay.moves_applied += 1
            replay.lots[move.lot] = attrs.evolve(
                moved,
                remaining=moved.remaining + move.remaining,
                held=moved.held + move.held,
                expired=moved.expired + move.expired,
            )
        for extension in transaction.expiry_extensions:
            if (extension.member, extension.currency) != key:
                continue
            for lot_id in own:
                lot = replay.lots[lot_id]
                if extension.applies_to(lot, transaction.created_at):
                    replay.lots[lot_id] = attrs.evolve(lot, expires_at=extension.expires_at)
        _replay_hold(replay, transaction, key)
        posted += transaction.posted_to(account)
        held -= transaction.posted_to(account, Phase.PENDING)
        debt += sum(
            move.amount for move in transaction.debt_moves if (move.member, move.currency) == key
        )
        change = transaction.change_for(member)
        replay.check(
            change is not None
            and (change.posted, change.held, change.debt) == (posted, held, debt)
            and change.posted_change == transaction.posted_to(account),
            f"wallet {account}: running balance after {transaction.id} is {change}, "
            f"the journal gives posted={posted} held={held} debt={debt}",
        )
    replay.wallets[key] = (len(transactions), posted, held, debt)


def _replay_hold(replay: _Replay, transaction: Transaction, key: WalletKey) -> None:
    member, currency = key
    account = AccountId.wallet(member, currency)
    if transaction.kind is TransactionKind.RESERVE:
        expires_at = transaction.hold_expires_at
        replay.check(expires_at is not None, f"reserve {transaction.id} has no timeout")
        replay.holds[transaction.id] = Hold(
            id=transaction.id,
            member=member,
            currency=currency,
            amount=-transaction.posted_to(account, Phase.PENDING),
            created_at=transaction.created_at,
            expires_at=expires_at or transaction.created_at,
            allocations=tuple(
                (move.lot, move.held)
                for move in transaction.lot_moves
                if move.reason is MoveReason.HOLD
            ),
        )
    status = _RESOLUTIONS.get(transaction.kind)
    if status is not None and transaction.hold is not None:
        hold = replay.holds.get(transaction.hold)
        replay.check(
            hold is not None and hold.status is HoldStatus.OPEN,
            f"{transaction.id} resolves hold {transaction.hold}, which is not open",
        )
        if hold is not None:
            redemption = AccountId.system(AccountKind.REDEMPTION, currency)
            replay.holds[hold.id] = attrs.evolve(
                hold,
                status=status,
                captured=transaction.posted_to(redemption),
                resolved_by=transaction.id,
            )


def _compare_state(replay: _Replay, unit: ReadUnit, now: datetime) -> None:
    stored_lots = {lot.id: lot for lot in unit.all_lots()}
    replay.check(
        stored_lots.keys() == replay.lots.keys(),
        f"stored lots differ from the journal's: "
        f"{sorted(map(str, stored_lots.keys() ^ replay.lots.keys()))[:5]}",
    )
    for lot_id, lot in replay.lots.items():
        replay.check(
            stored_lots.get(lot_id) == lot,
            f"lot {lot_id} is {stored_lots.get(lot_id)}, the journal gives {lot}",
        )
        replay.check(
            0 <= lot.held <= lot.remaining
            and lot.expired >= 0
            and lot.remaining + lot.expired <= lot.amount,
            f"lot {lot_id} is out of bounds: {lot}",
        )
    stored_holds = {hold.id: hold for hold in unit.all_holds()}
    replay.check(
        stored_holds.keys() == replay.holds.keys(),
        "stored holds differ from the journal's",
    )
    for hold_id, hold in replay.holds.items():
        replay.check(
            stored_holds.get(hold_id) == hold,
            f"hold {hold_id} is {stored_holds.get(hold_id)}, the journal gives {hold}",
        )
    stored_wallets = {wallet.key: wallet for wallet in unit.all_wallets()}
    replay.check(
        stored_wallets.keys() == replay.wallets.keys(),
        "stored wallets differ from the journal's",
    )
    by_wallet: defaultdict[WalletKey, list[Lot]] = defaultdict(list)
    for lot in replay.lots.values():
        by_wallet[(lot.member, lot.currency)].append(lot)
    for key, (version, posted, held, debt) in replay.wallets.items():
        stored = stored_wallets.get(key)
        replay.check(
            stored is not None
            and (stored.version, stored.posted, stored.held, stored.debt)
            == (version, posted, held, debt),
            f"wallet {key} is {stored}, the journal gives "
            f"version={version} posted={posted} held={held} debt={debt}",
        )
        lots = by_wallet[key]
        replay.check(
            posted == sum(lot.remaining for lot in lots) - debt,
            f"wallet {key}: posted {posted} is not its lots' remaining points minus debt {debt}",
        )
        open_holds = [
            hold
            for hold in replay.holds.values()
            if (hold.member, hold.currency) == key and hold.status is HoldStatus.OPEN
        ]
        replay.check(
            held == sum(lot.held for lot in lots) == sum(hold.amount for hold in open_holds),
            f"wallet {key}: held {held} is not what its lots and open holds hold",
        )
        replay.check(
            debt == 0 or all(lot.free == 0 or lot.is_due(now) for lot in lots),
            f"wallet {key} owes {debt} while it has free points that are not due",
        )


def _check_reversals(replay: _Replay, transactions: dict[TransactionId, Transaction]) -> None:
    reversed_amount: defaultdict[TransactionId, int] = defaultdict(int)
    for transaction in transactions.values():
        if transaction.kind is TransactionKind.REVERSAL and transaction.reverses is not None:
            reversed_amount[transaction.reverses] += transaction.amount
    for original_id, amount in reversed_amount.items():
        original = transactions.get(original_id)
        route = None if original is None else reversal_route(original)
        replay.check(
            route is not None and amount <= route[2],
            f"{original_id} is reversed by {amount} points, more than it moved",
        )


def audit(unit: ReadUnit, *, now: datetime, seal_key: bytes | None = None) -> AuditReport:
    """Replay a program's journal and check storage and every invariant against it.

    Args:
        unit: A read unit on the program's storage.
        now: The instant to judge time-dependent invariants at (what is due).
        seal_key: The ledger's seal key, if it has one: every seal is checked too.

    Returns:
        What was checked.

    Raises:
        InvariantViolation: Listing every problem found (the first 20 of them).
    """
    replay = _Replay()
    transactions: dict[TransactionId, Transaction] = {}
    keys: set[str] = set()
    per_wallet: defaultdict[WalletKey, list[tuple[int, Transaction]]] = defaultdict(list)
    for transaction in unit.all_transactions():
        replay.check(transaction.id not in transactions, f"{transaction.id} is stored twice")
        replay.check(transaction.key not in keys, f"key {transaction.key!r} is stored twice")
        transactions[transaction.id] = transaction
        keys.add(transaction.key)
        _check_transaction(replay, transaction)
        for change in transaction.wallet_changes:
            per_wallet[(change.member, change.currency)].append((change.version, transaction))
    for key, wallet_transactions in per_wallet.items():
        _replay_wallet(replay, key, wallet_transactions)
    moves = sum(len(transaction.lot_moves) for transaction in transactions.values())
    replay.check(
        replay.moves_applied == moves,
        f"{moves - replay.moves_applied} lot move(s) name a lot their wallet never had",
    )
    _compare_state(replay, unit, now)
    _check_reversals(replay, transactions)
    totals: defaultdict[tuple[str, Phase], int] = defaultdict(int)
    for (account, phase), amount in replay.system.items():
        replay.check(
            unit.system_balance(account)[phase is Phase.PENDING] == amount,
            f"system account {account} {phase.value} balance differs from its postings",
        )
        totals[(account.currency, phase)] += amount
    for (_member, currency), (_version, posted, held, _debt) in replay.wallets.items():
        totals[(currency, Phase.POSTED)] += posted
        totals[(currency, Phase.PENDING)] -= held
    for (currency, phase), total in totals.items():
        replay.check(total == 0, f"{currency} {phase.value} balances sum to {total}, not 0")
    sealed = 0
    if seal_key is not None:
        unsealed, sealed = seal_problems(transactions.values(), seal_key)
        replay.problems.extend(unsealed)
    if replay.problems:
        shown = "\n  ".join(replay.problems[:_PROBLEMS_SHOWN])
        raise InvariantViolation(f"the audit found {len(replay.problems)} problem(s):\n  {shown}")
    return AuditReport(
        transactions=len(transactions),
        wallets=len(replay.wallets),
        lots=len(replay.lots),
        holds=len(replay.holds),
        sealed=sealed,
    )

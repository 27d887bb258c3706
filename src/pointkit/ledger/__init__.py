"""The ledger: wallets, lots, holds, transfers, reversals, expiry, audit, linked commands.

A :class:`Ledger` runs idempotent commands against the accounts part of a :class:`Storage`:
earn, redeem, reserve, capture, release, transfer, reverse, adjust, and the expiry job;
:meth:`Ledger.linked` runs several in one unit of work, all or nothing. The booking logic is
pure and shared by every adapter; adapters only load, lock and write. Earning, tiers, offers,
lotteries and conversions are features above it (:mod:`pointkit.features`). See docs/ledger.md.
"""

from pointkit.ledger._async import AsyncLedger
from pointkit.ledger._audit import AuditReport, audit
from pointkit.ledger._credit import Earn
from pointkit.ledger._ledger import AccountBalance, Ledger
from pointkit.ledger._linked import Linked
from pointkit.ledger._records import (
    AccountId,
    AccountKind,
    Balance,
    ClawbackPolicy,
    DebtMove,
    ExpiringPage,
    ExpiryExtension,
    ExpiryRun,
    Hold,
    HoldId,
    HoldStatus,
    LedgerPolicy,
    Lot,
    LotId,
    LotMove,
    LotStatus,
    MoveReason,
    Phase,
    Posting,
    RestorePolicy,
    Statement,
    StatementLine,
    Transaction,
    TransactionId,
    TransactionKind,
    UpcomingExpiry,
    WalletChange,
    lot_id_for,
    transaction_id_for,
)
from pointkit.ledger._storage import (
    Plan,
    ReadUnit,
    ReleaseHook,
    Storage,
    WalletKey,
    WalletState,
    WriteUnit,
)


__all__ = [
    "AccountBalance",
    "AccountId",
    "AccountKind",
    "AsyncLedger",
    "AuditReport",
    "Balance",
    "ClawbackPolicy",
    "DebtMove",
    "Earn",
    "ExpiringPage",
    "ExpiryExtension",
    "ExpiryRun",
    "Hold",
    "HoldId",
    "HoldStatus",
    "Ledger",
    "LedgerPolicy",
    "Linked",
    "Lot",
    "LotId",
    "LotMove",
    "LotStatus",
    "MoveReason",
    "Phase",
    "Plan",
    "Posting",
    "ReadUnit",
    "ReleaseHook",
    "RestorePolicy",
    "Statement",
    "StatementLine",
    "Storage",
    "Transaction",
    "TransactionId",
    "TransactionKind",
    "UpcomingExpiry",
    "WalletChange",
    "WalletKey",
    "WalletState",
    "WriteUnit",
    "audit",
    "lot_id_for",
    "transaction_id_for",
]

"""The ledger: wallets, lots, holds, transfers, reversals, expiry, and the storage protocol.

A :class:`Ledger` runs idempotent commands against a :class:`Storage`. The booking logic is
pure and shared by every adapter; adapters only load, lock and write. See docs/ledger.md.
"""

from pointkit.ledger._audit import AuditReport, audit
from pointkit.ledger._ledger import AccountBalance, Earn, Ledger
from pointkit.ledger._records import (
    AccountId,
    AccountKind,
    Balance,
    ClawbackPolicy,
    DebtMove,
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
    WalletChange,
    lot_id_for,
    transaction_id_for,
)
from pointkit.ledger._storage import Plan, ReadUnit, Storage, WalletKey, WalletState, WriteUnit
from pointkit.ledger.memory import MemoryStorage


__all__ = [
    "AccountBalance",
    "AccountId",
    "AccountKind",
    "AuditReport",
    "Balance",
    "ClawbackPolicy",
    "DebtMove",
    "Earn",
    "ExpiryRun",
    "Hold",
    "HoldId",
    "HoldStatus",
    "Ledger",
    "LedgerPolicy",
    "Lot",
    "LotId",
    "LotMove",
    "LotStatus",
    "MemoryStorage",
    "MoveReason",
    "Phase",
    "Plan",
    "Posting",
    "ReadUnit",
    "RestorePolicy",
    "Statement",
    "StatementLine",
    "Storage",
    "Transaction",
    "TransactionId",
    "TransactionKind",
    "WalletChange",
    "WalletKey",
    "WalletState",
    "WriteUnit",
    "audit",
    "lot_id_for",
    "transaction_id_for",
]

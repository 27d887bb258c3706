"""Seals: a keyed checksum on each transaction, for tamper evidence the database cannot forge.

Every stored transaction carries an unkeyed SHA-256 checksum of its document. It catches a
corrupt or hand-edited row, but anyone who can write the table can recompute it. A ledger made
with a *seal key* (a secret the host keeps outside the database, at least 16 bytes) also seals
each transaction it writes: ``seal`` is HMAC-SHA256 of the transaction's document under the
key. :meth:`pointkit.ledger.Ledger.audit` then checks every seal, and reports

* a seal that does not match: the transaction was changed after it was written;
* a transaction without a seal written at or after the first sealed one: a seal was removed,
  or a transaction was written by someone without the key.

What a seal does not prove: that a transaction was never deleted whole (the audit's replay
finds a deletion through the wallet versions and balances that no longer add up, unless every
later row was rewritten too), anything about transactions written before sealing began, or
anything once the key itself is known to whoever edits the database. Keep the key where the
database's writers cannot read it (a secrets manager, the service's environment).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import TYPE_CHECKING, Final

import attrs

from pointkit._validate import type_name
from pointkit.exceptions import ArgumentTypeError, InvalidArgumentError
from pointkit.ledger._codec import encode_transaction


if TYPE_CHECKING:
    from collections.abc import Iterable

    from pointkit.ledger._records import Transaction


__all__ = ["SEAL_KEY_MIN", "check_seal_key", "seal", "seal_problems"]

SEAL_KEY_MIN: Final = 16
"""The shortest seal key accepted, in bytes (``secrets.token_bytes(32)`` is a good key)."""


def check_seal_key(key: object) -> bytes | None:
    """Return *key* if it can seal transactions (``None``: no sealing); raise if not."""
    if key is None:
        return None
    if not isinstance(key, bytes):
        raise ArgumentTypeError(
            f"seal_key must be bytes (e.g. secrets.token_bytes(32)), not {type_name(key)}"
        )
    if len(key) < SEAL_KEY_MIN:
        raise InvalidArgumentError(
            f"seal_key has {len(key)} bytes; it needs at least {SEAL_KEY_MIN} "
            "(e.g. secrets.token_bytes(32))"
        )
    return key


def _digest(transaction: Transaction, key: bytes) -> str:
    document = encode_transaction(attrs.evolve(transaction, seal=None))
    return hmac.new(key, document.encode(), hashlib.sha256).hexdigest()


def seal(transaction: Transaction, key: bytes | None) -> Transaction:
    """Return *transaction* sealed under *key* (unchanged without a key)."""
    if key is None:
        return transaction
    return attrs.evolve(transaction, seal=_digest(transaction, key))


def seal_problems(transactions: Iterable[Transaction], key: bytes) -> tuple[list[str], int]:
    """Check every seal under *key*; return the problems found and how many seals matched."""
    ordered = sorted(transactions, key=lambda txn: (txn.created_at, str(txn.id)))
    problems: list[str] = []
    matched = 0
    sealing = False
    for transaction in ordered:
        if transaction.seal is None:
            if sealing:
                problems.append(
                    f"{transaction.id} (key {transaction.key!r}) has no seal, yet transactions "
                    "before it are sealed: its seal was removed or it was written without the key"
                )
            continue
        sealing = True
        if hmac.compare_digest(transaction.seal, _digest(transaction, key)):
            matched += 1
        else:
            problems.append(
                f"{transaction.id} (key {transaction.key!r}) does not match its seal: it was "
                "changed after it was written, or the seal key is not the one it was sealed with"
            )
    return problems, matched

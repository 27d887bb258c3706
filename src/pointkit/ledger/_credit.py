"""A credit's arguments: :class:`Earn` (one earn of a batch) and :class:`Credit` (checked)."""

from __future__ import annotations

from typing import TYPE_CHECKING, final

import attrs

from pointkit import limits
from pointkit._validate import check_text
from pointkit.exceptions import InvalidArgumentError


if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime

    from pointkit._values import MemberId
    from pointkit.ledger._envelope import Envelope
    from pointkit.ledger._records import TransactionKind


__all__ = ["Credit", "Earn", "check_rule", "credit_start"]


@final
@attrs.frozen(kw_only=True)
class Earn:
    """One credit of :meth:`Ledger.earn_many`: the arguments of :meth:`Ledger.earn`.

    Attributes:
        member: The member.
        amount: Points to credit, at least 1.
        key: The idempotency key.
        currency: The point currency; the ledger's default if omitted.
        available_at: When the points become spendable (at once if omitted).
        expires_at: When the points expire; if omitted, the ledger's expiry policy decides
            (never without one).
        rule: The earning rule that awarded the points, for the expiry policy's per-rule
            windows.
        reason: Free text for statements.
        metadata: Host data kept with the transaction.
    """

    member: str
    amount: int
    key: str
    currency: str | None = None
    available_at: datetime | None = None
    expires_at: datetime | None = None
    rule: str | None = None
    reason: str | None = None
    metadata: Mapping[str, str] | None = None


@final
@attrs.frozen
class Credit:
    """A credit whose arguments have been checked."""

    envelope: Envelope
    kind: TransactionKind
    member: MemberId
    currency: str
    amount: int
    available_at: datetime | None
    expires_at: datetime | None
    rule: str | None


def check_rule(value: object) -> str | None:
    if value is None:
        return None
    return check_text(
        "rule", value, max_length=limits.RULE_NAME_LENGTH_MAX, limit_name="RULE_NAME_LENGTH_MAX"
    )


def credit_start(
    now: datetime, available_at: datetime | None, expires_at: datetime | None
) -> datetime:
    """When a credit's points become spendable (*now* at the earliest), checked against its expiry.

    Raises:
        InvalidArgumentError: If *expires_at* is not after that instant.
    """
    start = now if available_at is None or available_at < now else available_at
    if expires_at is not None and expires_at <= start:
        raise InvalidArgumentError(
            f"expires_at={expires_at.isoformat()} must be after "
            f"{'available_at' if start is available_at else 'now'} ({start.isoformat()})"
        )
    return start

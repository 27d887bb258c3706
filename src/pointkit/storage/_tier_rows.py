"""Checks of stored tier rows, shared by the SQLite and PostgreSQL adapters' tiers part."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pointkit.exceptions import InvalidArgumentError, InvariantViolation
from pointkit.tiers import TierChange, TierState


if TYPE_CHECKING:
    from datetime import datetime


__all__ = ["checked_tier", "checked_tier_change"]


def checked_tier(
    member: str,
    tier: object,
    since: datetime,
    next_review: datetime | None,
    grace_until: datetime | None,
    never_downgrade: object,
) -> TierState:
    """A stored tier state, checked as the constructor checks it; raise if it is corrupt."""
    try:
        return TierState(
            member=member,
            tier=tier,  # type: ignore[arg-type]  # checked by TierState
            since=since,
            next_review=next_review,
            grace_until=grace_until,
            never_downgrade=never_downgrade,  # type: ignore[arg-type]
        )
    except InvalidArgumentError as error:
        raise InvariantViolation(
            f"the stored tier state of {member!r} is corrupt: {error}"
        ) from None


def checked_tier_change(
    member: str,
    at: datetime,
    from_tier: object,
    to_tier: object,
    reason: object,
    metric: object,
) -> TierChange:
    """A stored tier change, checked as the constructor checks it; raise if it is corrupt."""
    try:
        return TierChange(
            member=member,
            at=at,
            from_tier=from_tier,  # type: ignore[arg-type]  # checked by TierChange
            to_tier=to_tier,  # type: ignore[arg-type]
            reason=reason,  # type: ignore[arg-type]
            metric=metric,  # type: ignore[arg-type]
        )
    except (InvalidArgumentError, ValueError) as error:
        raise InvariantViolation(
            f"a stored tier change of {member!r} is corrupt: {error}"
        ) from None

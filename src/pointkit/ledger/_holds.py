"""The states a hold can be captured or released in, and the error each other state raises."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pointkit.exceptions import (
    CapturedHoldReleaseError,
    HoldAlreadyCapturedError,
    HoldAlreadyReleasedError,
    HoldExpiredError,
    ReleasedHoldCaptureError,
)
from pointkit.ledger._records import HoldStatus


if TYPE_CHECKING:
    from datetime import datetime

    from pointkit.ledger._records import Hold


__all__ = ["check_open"]


def check_open(hold: Hold, now: datetime, *, capturing: bool) -> None:
    """Check that *hold* is open at *now*, for a capture (*capturing*) or a release.

    Raises:
        HoldAlreadyCapturedError: A capture of a captured hold.
        CapturedHoldReleaseError: A release of a captured hold.
        ReleasedHoldCaptureError: A capture of a released hold.
        HoldAlreadyReleasedError: A release of a released hold.
        HoldExpiredError: The hold timed out (or its time is up at *now*).
    """
    name = repr(str(hold.id))
    match hold.status:
        case HoldStatus.CAPTURED if capturing:
            raise HoldAlreadyCapturedError(
                f"hold={name} was already captured by {hold.resolved_by}"
            )
        case HoldStatus.CAPTURED:
            raise CapturedHoldReleaseError(
                f"hold={name} was captured by {hold.resolved_by}, so it cannot be "
                "released; reverse the capture to give the points back"
            )
        case HoldStatus.RELEASED if capturing:
            raise ReleasedHoldCaptureError(
                f"hold={name} was released by {hold.resolved_by}, so it cannot be "
                "captured; reserve the points again"
            )
        case HoldStatus.RELEASED:
            raise HoldAlreadyReleasedError(
                f"hold={name} was already released by {hold.resolved_by}"
            )
        case HoldStatus.EXPIRED:
            raise HoldExpiredError(f"hold={name} timed out at {hold.expires_at.isoformat()}")
        case _ if hold.expires_at <= now:
            raise HoldExpiredError(f"hold={name} timed out at {hold.expires_at.isoformat()}")
        case _:
            return

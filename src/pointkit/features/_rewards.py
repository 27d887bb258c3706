"""Rewards one campaign feature gives through another: the protocol they meet on.

Maintainer's notes
------------------
Campaigns reward members with points, coupons and badges. Points are the ledger's (a credit
posted on the open link); a coupon belongs to the coupons feature, a badge to the missions
feature. A mission that rewards a coupon, or an offer or a lottery prize that gives one, must
issue it in the same linked unit of work as everything else it writes, so that the reward
commits exactly when its cause does — without the missions, the catalogue or the lottery
importing the coupons feature's internals. They meet on :class:`CouponIssuer`: the coupons
feature implements it, and the others are given one. When the cause is undone — an offer
redemption cancelled or timed out — the coupon it issued is revoked in the same unit
(:meth:`CouponIssuer.revoke_in`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol


if TYPE_CHECKING:
    from datetime import datetime

    from pointkit._values import MemberId
    from pointkit.ledger import Linked, WriteUnit


__all__ = ["CouponIssuer"]


class CouponIssuer(Protocol):
    """Issues coupons inside a caller's open linked unit of work."""

    def issue_on(self, link: Linked, coupon: str, member: MemberId, *, source: str) -> str:
        """Issue one coupon of definition *coupon* to *member* on *link*; return its code.

        Idempotent by *source*: the id of what caused the issue (``"mission:m-3:alice:1"``,
        ``"redemption:r-9"``); issuing again with the same source returns the same code and
        writes nothing. The issue commits or rolls back with the link.

        Raises:
            InvalidArgumentError: If the programme has no coupon definition *coupon*.
            CouponRefusedError: If the definition refuses the issue (out of stock, over the
                member's limit, outside its window); nothing is written then.
        """
        ...

    def revoke_in(self, unit: WriteUnit, code: str, *, now: datetime) -> None:
        """Revoke the coupon *code* in *unit*, the unit of work that cancels what issued it.

        Its open uses are spent and it is refused from then on; uses already made stay made.
        Revoking twice, or a code never issued, does nothing. It runs inside a release hook,
        which has the unit but no link.
        """
        ...

"""Referrals' pure decisions: the programme's terms, codes, qualification, caps and statuses.

Maintainer's notes
------------------
A referral has three moments. A member gets a code (:func:`referral_code`: readable, made from
the member's id and an attempt number, so it is the same whoever computes it; the feature keeps
the first one made and tries the next attempt if another member holds it). An invitee who
registers with the code is attributed to its owner, once. When the invitee completes the
qualifying action within the window (:meth:`ReferralProgram.qualifies`), both sides are paid,
once per invitee ever, unless the referrer reached the cap for the period or the invitee's
declared identity was already attributed or paid (:func:`settle`). Everything here is a
function of explicit inputs: the feature (``pointkit.features.Referrals``) reads the state,
asks, and writes.
"""

from __future__ import annotations

import enum
import hashlib
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final, Literal, final
from zoneinfo import ZoneInfo

import attrs

from pointkit import limits
from pointkit._validate import check_aware, check_choice, check_int, check_text, check_zone
from pointkit._values import Money
from pointkit.campaigns._codes import CodeFormat
from pointkit.exceptions import ArgumentTypeError, InvalidArgumentError


if TYPE_CHECKING:
    from pointkit._values import MemberId


__all__ = [
    "REFERRAL_CODES",
    "Referral",
    "ReferralPeriod",
    "ReferralProgram",
    "ReferralStatus",
    "identity_digest",
    "referral_code",
    "settle",
]

ReferralPeriod = Literal["day", "month", "year", "lifetime"]
"""The period a referrer's cap counts in, in the programme's time zone."""

_PERIODS: Final[tuple[ReferralPeriod, ...]] = ("day", "month", "year", "lifetime")

REFERRAL_CODES: Final = CodeFormat("RF-####-####")
"""How referral codes look: the coupons' look-alike-free alphabet in a ``RF-`` pattern."""


class ReferralStatus(enum.StrEnum):
    """Where a referral stands."""

    PENDING = "pending"
    """Attributed; the invitee has not completed the qualifying action yet."""
    REWARDED = "rewarded"
    """Both sides were paid."""
    NOT_REWARDED = "not_rewarded"
    """Settled without a reward; ``reason`` says why."""
    EXPIRED = "expired"
    """The window passed without a qualifying action."""


def referral_code(member: MemberId, attempt: int) -> str:
    """Return the code the *attempt*-th try makes for *member*: ``"RF-XXXX-XXXX"``.

    The code depends only on the member's id and the attempt, so it is stable and needs no
    random source; attempt 0 is the first choice and later attempts the fallbacks when another
    member holds a code. Referral codes are meant to be shared, so being derivable from a
    member's id costs nothing: a guessed code only credits its owner's referrals.
    """
    digest = hashlib.sha256(f"referral\x00{member}\x00{attempt}".encode()).digest()
    return REFERRAL_CODES.code(int.from_bytes(digest, "big") % REFERRAL_CODES.space)


def identity_digest(identity: object) -> str:
    """Return the checked identity (a phone hash, ...) reduced to a short, fixed-size key.

    Raises:
        ArgumentTypeError: If *identity* is not a str.
        InvalidArgumentError: If it is empty or has characters that do not print.
    """
    checked = check_text(
        "identity",
        identity,
        max_length=limits.IDEMPOTENCY_KEY_LENGTH_MAX,
        limit_name="IDEMPOTENCY_KEY_LENGTH_MAX",
    )
    return hashlib.sha256(checked.encode()).hexdigest()[:32]


def _non_negative(name: str, value: object) -> int:
    return check_int(name, value, minimum=0, maximum=limits.POINTS_MAX, limit_name="POINTS_MAX")


def _referrer_points(value: object) -> int:
    return _non_negative("referrer_points", value)


def _invitee_points(value: object) -> int:
    return _non_negative("invitee_points", value)


def _zone(value: object) -> ZoneInfo:
    return check_zone("zone", value)


@final
@attrs.frozen
class ReferralProgram:
    """A referral programme's terms: what both sides earn, for what, by when, how often.

    >>> from datetime import UTC
    >>> from pointkit import Money
    >>> terms = ReferralProgram(500, 200, minimum=Money(100, "CNY"), within_days=30, cap=10)
    >>> terms.period(datetime(2026, 3, 14, tzinfo=UTC))
    'month:2026-03'
    >>> ReferralProgram(0, 0)
    Traceback (most recent call last):
    ...
    pointkit.exceptions.InvalidArgumentError: referrer_points=0 and invitee_points=0: a referral must reward at least one side

    Attributes:
        referrer_points: Points the referrer earns per rewarded referral.
        invitee_points: Points the invitee earns when they qualify.
        action: The event kind that qualifies the invitee (``"purchase"``).
        minimum: The least ``amount`` the qualifying event must carry (a purchase of at least
            X); ``None`` for any event of that kind.
        within_days: Days after attribution the qualifying action must happen within.
        cap: The most rewarded referrals per referrer per period; ``None`` for no cap.
            Referrals over the cap are settled without a reward, reason ``referrer_cap``.
        per: The cap's period: ``"day"``, ``"month"``, ``"year"`` or ``"lifetime"``.
        zone: The time zone the periods are counted in.
        currency: The point currency of the rewards; the ledger's default if ``None``.
    """

    referrer_points: int = attrs.field(converter=_referrer_points)
    invitee_points: int = attrs.field(converter=_invitee_points)
    action: str = "purchase"
    minimum: Money | None = None
    within_days: int = 30
    cap: int | None = None
    per: ReferralPeriod = "month"
    zone: ZoneInfo = attrs.field(default=ZoneInfo("UTC"), converter=_zone)
    currency: str | None = None

    def __attrs_post_init__(self) -> None:
        if self.referrer_points == 0 and self.invitee_points == 0:
            raise InvalidArgumentError(
                "referrer_points=0 and invitee_points=0: a referral must reward at least one side"
            )
        check_text(
            "action",
            self.action,
            max_length=limits.EVENT_NAME_LENGTH_MAX,
            limit_name="EVENT_NAME_LENGTH_MAX",
        )
        if self.minimum is not None and not isinstance(self.minimum, Money):
            raise ArgumentTypeError(f"minimum={self.minimum!r} must be Money or None")
        check_int(
            "within_days",
            self.within_days,
            minimum=1,
            maximum=limits.REFERRAL_WINDOW_DAYS_MAX,
            limit_name="REFERRAL_WINDOW_DAYS_MAX",
        )
        if self.cap is not None:
            check_int(
                "cap",
                self.cap,
                minimum=1,
                maximum=limits.REFERRAL_CAP_MAX,
                limit_name="REFERRAL_CAP_MAX",
            )
        check_choice("per", self.per, _PERIODS)
        if self.currency is not None:
            check_text(
                "currency",
                self.currency,
                max_length=limits.CURRENCY_CODE_LENGTH_MAX,
                limit_name="CURRENCY_CODE_LENGTH_MAX",
            )

    def deadline(self, attributed_at: datetime) -> datetime:
        """Return the instant the window for a referral attributed at *attributed_at* closes."""
        return attributed_at + timedelta(days=self.within_days)

    def period(self, at: datetime) -> str:
        """Return the label of the cap period *at* falls in: ``"month:2026-03"``, ``"lifetime"``."""
        local = check_aware("at", at).astimezone(self.zone)
        match self.per:
            case "day":
                return f"day:{local.date().isoformat()}"
            case "month":
                return f"month:{local.year:04d}-{local.month:02d}"
            case "year":
                return f"year:{local.year:04d}"
            case _:
                return "lifetime"

    def qualifies(
        self, kind: str, amount: object, *, attributed_at: datetime, at: datetime
    ) -> bool:
        """Whether an event of *kind* carrying *amount*, at *at*, qualifies the invitee.

        It must be of the programme's action, within the window after attribution (not
        before it), and carry at least the minimum amount in the minimum's currency.
        """
        if kind != self.action or not attributed_at <= at <= self.deadline(attributed_at):
            return False
        if self.minimum is None:
            return True
        return (
            isinstance(amount, Money)
            and amount.currency == self.minimum.currency
            and amount >= self.minimum
        )


def settle(
    terms: ReferralProgram,
    *,
    refused: str | None,
    rewarded_in_period: int,
    paid: int,
) -> str | None:
    """Decide a qualifying referral: ``None`` to reward it, else the reason it is not.

    Args:
        terms: The programme.
        refused: The reason recorded at attribution that it can never be rewarded
            (``repeat_identity``), or ``None``.
        rewarded_in_period: The referrer's rewarded referrals in the current cap period.
        paid: How often the invitee (or their declared identity) was paid already.
    """
    if refused is not None:
        return refused
    if paid > 0:
        return "already_rewarded"
    if terms.cap is not None and rewarded_in_period >= terms.cap:
        return "referrer_cap"
    return None


@final
@attrs.frozen
class Referral:
    """One invitee's referral as it stands.

    Attributes:
        invitee: The invitee.
        referrer: The member whose code the invitee registered with.
        code: That code.
        attributed_at: When the invitee was attributed.
        deadline: When the window for the qualifying action closes.
        status: Where it stands.
        reason: Why it was not rewarded (``referrer_cap``, ``repeat_identity``,
            ``already_rewarded``), or ``None``.
        settled_at: When it was rewarded or settled without a reward, or ``None``.
    """

    invitee: MemberId
    referrer: MemberId
    code: str
    attributed_at: datetime
    deadline: datetime
    status: ReferralStatus
    reason: str | None = None
    settled_at: datetime | None = None

"""A member's tier state and the records of how it changes.

Maintainer's notes
------------------
:class:`TierState` and :class:`TierChange` are persisted by the host (through the storage
protocol), so their fields are plain: strings, aware UTC datetimes, bools, ints and a
:class:`TierChangeReason` whose values are stable lower-case strings. Changing a value of
``TierChangeReason`` breaks data already stored.

The state is checked at construction, so a state read back from storage that breaks an
invariant (a review before the tier began, a grace for a member who never goes down) is refused
before any decision is taken on it.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, final

import attrs

from pointkit import limits
from pointkit._validate import check_aware, check_int, check_text, type_name
from pointkit._values import MemberId
from pointkit.exceptions import ArgumentTypeError, InvalidArgumentError


if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import datetime

    from pointkit.tiers._ladder import Tier


__all__ = [
    "TierChange",
    "TierChangeReason",
    "TierDecision",
    "TierProgress",
    "TierState",
    "check_tier_name",
]


def check_tier_name(name: str, value: object) -> str:
    """Return *value* if it can be a tier's name: 1 to ``limits.TIER_NAME_LENGTH_MAX`` characters.

    Raises:
        ArgumentTypeError: If *value* is not a str.
        LimitExceededError: If it is too long.
        InvalidArgumentError: If it is blank, has surrounding whitespace or control characters.
    """
    return check_text(
        name, value, max_length=limits.TIER_NAME_LENGTH_MAX, limit_name="TIER_NAME_LENGTH_MAX"
    )


def _to_member(value: str) -> MemberId:
    return MemberId(value)


def _to_tier_name(value: str) -> str:
    return check_tier_name("tier", value)


def _to_since(value: datetime) -> datetime:
    return check_aware("since", value)


def _to_next_review(value: datetime | None) -> datetime | None:
    return None if value is None else check_aware("next_review", value)


def _to_grace_until(value: datetime | None) -> datetime | None:
    return None if value is None else check_aware("grace_until", value)


def _to_never_downgrade(value: bool) -> bool:  # noqa: FBT001 - a converter takes the value as it is
    if not isinstance(value, bool):
        raise ArgumentTypeError(f"never_downgrade={value!r} must be a bool, not {type_name(value)}")
    return value


@final
@attrs.frozen
class TierState:
    """Where a member stands on a tier ladder: the state a host stores between evaluations.

    >>> from datetime import UTC, datetime
    >>> state = TierState("alice", "gold", datetime(2026, 3, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC), None)
    >>> state.next_check.isoformat()
    '2027-01-01T00:00:00+00:00'
    >>> TierState("alice", "gold", datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC), None)
    Traceback (most recent call last):
    ...
    pointkit.exceptions.InvalidArgumentError: next_review=2026-03-01T00:00:00+00:00 must be after since (2026-03-01T00:00:00+00:00)

    Attributes:
        member: The member.
        tier: The name of the tier the member holds.
        since: When the member entered that tier (in UTC); reviews counted from a tier's start
            count from here.
        next_review: The next review (in UTC), after *since*; ``None`` if none is scheduled.
        grace_until: While a grace runs, when it ends (in UTC), after *since*; else ``None``.
        never_downgrade: Whether the member never goes down (a VIP); such a member has no grace.
    """

    member: MemberId = attrs.field(converter=_to_member)
    tier: str = attrs.field(converter=_to_tier_name)
    since: datetime = attrs.field(converter=_to_since)
    next_review: datetime | None = attrs.field(converter=_to_next_review)
    grace_until: datetime | None = attrs.field(converter=_to_grace_until)
    never_downgrade: bool = attrs.field(default=False, converter=_to_never_downgrade)

    def __attrs_post_init__(self) -> None:
        for name, instant in (("next_review", self.next_review), ("grace_until", self.grace_until)):
            if instant is not None and not instant > self.since:
                raise InvalidArgumentError(
                    f"{name}={instant.isoformat()} must be after since ({self.since.isoformat()})"
                )
        if self.never_downgrade and self.grace_until is not None:
            raise InvalidArgumentError(
                f"grace_until={self.grace_until.isoformat()} must be None when never_downgrade "
                "is True: a member who never goes down has no grace"
            )

    @property
    def next_check(self) -> datetime | None:
        """The next instant at which evaluating may lower the tier without a change in metric.

        That is the end of a running grace or the next review, whichever comes first; ``None``
        if neither is scheduled. Evaluate the member again then.
        """
        instants = [when for when in (self.grace_until, self.next_review) if when is not None]
        return min(instants, default=None)


class TierChangeReason(enum.StrEnum):
    """Why a member's tier state changed. The values are stored: they never change."""

    JOINED = "joined"
    """The member was evaluated for the first time and placed on the tier their metric earns."""
    UPGRADE = "upgrade"
    """The metric reached a higher tier; upgrades happen at once and end any grace."""
    DOWNGRADE = "downgrade"
    """A review, or the end of a grace, moved the member down."""
    GRACE_STARTED = "grace_started"
    """A review found the member short; they keep their tier until the grace ends."""
    GRACE_CANCELLED = "grace_cancelled"
    """The member requalified for their tier while a grace ran."""
    MANUAL = "manual"
    """An operator set the tier by hand (or the never-downgrade flag)."""


def _to_reason(value: TierChangeReason | str) -> TierChangeReason:
    try:
        return TierChangeReason(value)
    except ValueError:
        valid = ", ".join(repr(reason.value) for reason in TierChangeReason)
        raise InvalidArgumentError(f"reason={value!r} must be one of {valid}") from None


def _to_at(value: datetime) -> datetime:
    return check_aware("at", value)


def _to_from_tier(value: str | None) -> str | None:
    return None if value is None else check_tier_name("from_tier", value)


def _to_to_tier(value: str) -> str:
    return check_tier_name("to_tier", value)


def _to_metric(value: int | None) -> int | None:
    if value is None:
        return None
    return check_int(
        "metric",
        value,
        minimum=-limits.POINTS_MAX,
        maximum=limits.POINTS_MAX,
        limit_name="POINTS_MAX",
    )


@final
@attrs.frozen
class TierChange:
    """One change of a member's tier state, for the tier history and for notifications.

    ``to_tier`` is the tier the member holds after the change: for a grace starting or being
    cancelled it equals ``from_tier``, and the state's ``grace_until`` says until when.

    Attributes:
        member: The member.
        at: When the change took effect, in UTC: the evaluation's ``now`` for joins, upgrades,
            cancelled graces and manual changes; the review date or the grace's end for
            downgrades and started graces, even when the evaluation came later.
        from_tier: The tier before the change; ``None`` when the member joined.
        to_tier: The tier after the change.
        reason: Why it changed.
        metric: The qualifying metric the decision was taken on; ``None`` for manual changes.
    """

    member: MemberId = attrs.field(converter=_to_member)
    at: datetime = attrs.field(converter=_to_at)
    from_tier: str | None = attrs.field(converter=_to_from_tier)
    to_tier: str = attrs.field(converter=_to_to_tier)
    reason: TierChangeReason = attrs.field(converter=_to_reason)
    metric: int | None = attrs.field(converter=_to_metric)


def _to_changes(value: Iterable[TierChange]) -> tuple[TierChange, ...]:
    return tuple(value)


@final
@attrs.frozen
class TierDecision:
    """What an evaluation decided: the state to store and the changes that led to it.

    Attributes:
        state: The member's new state; store it in place of the old one.
        changes: The changes, oldest first; empty when the tier and any grace stayed as they
            were (the state may still differ: its next review moves on once one has passed).
    """

    state: TierState
    changes: tuple[TierChange, ...] = attrs.field(converter=_to_changes)


@final
@attrs.frozen
class TierProgress:
    """How far a member is from the next tier, and from keeping the one they hold.

    Both figures assume the metric only grows from now on: in a rolling window, older earnings
    that leave the window raise what is needed.

    Attributes:
        current: The tier the member holds.
        next: The tier above it; ``None`` at the top.
        needed: How much more metric reaches *next* (0 at the top, or once reached).
        by: When the current window's period ends (after which earnings made so far may stop
            counting); ``None`` for a lifetime window or at the top.
        keep_needed: How much more metric keeps *current* at the next review or the end of the
            running grace; 0 if the member cannot go down.
        keep_by: That review or grace end; ``None`` if the member cannot go down.
    """

    current: Tier
    next: Tier | None
    needed: int
    by: datetime | None
    keep_needed: int
    keep_by: datetime | None

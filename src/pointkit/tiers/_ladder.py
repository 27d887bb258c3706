"""Tiers, their benefits, and the ladder that places members on them.

Maintainer's notes
------------------
:meth:`TierLadder.evaluate` is a pure function of the member's stored state, one metric and the
instant; the host measures the metric (the ledger sums the qualifying currency's earnings minus
their clawbacks over :meth:`TierLadder.metric_bounds`) and stores the state it gets back.

Evaluation rules, in the order they are tried:

1. A member without a state joins on the tier their metric earns.
2. A metric that earns a higher tier upgrades at once, straight to that tier, ending any grace.
3. A metric that earns the held tier (or more) while a grace runs cancels the grace.
4. A metric below the held tier lowers it only at an instant the policy allows, and only for a
   member who may go down. A running grace that has ended downgrades at its end; otherwise the
   latest review that has passed starts a grace, or, without grace days, downgrades at once.
   A grace that a late evaluation starts may have ended already; it then downgrades at its end
   in the same evaluation. A review during a grace does nothing.
5. Afterwards, a next review that has passed moves to the first review after now.

So one evaluation downgrades at most once (one tier with ``one_step``), and a late evaluation
applies one review, the latest, judged on the window that closed at it
(:meth:`TierLadder.metric_bounds`): the windows of reviews missed before it are not replayed.
Hosts evaluate each member by :attr:`TierState.next_check` to miss none.

Downgrades and started graces take effect at the review or grace end that caused them, not at
the evaluation's ``now``, so a late evaluation keeps the schedule a timely one would have kept.
"""

from __future__ import annotations

import functools
from bisect import bisect_right
from collections.abc import Sequence
from datetime import datetime, timedelta, tzinfo
from fractions import Fraction
from operator import attrgetter
from typing import TYPE_CHECKING, Final, final

import attrs

from pointkit import limits
from pointkit._validate import check_aware, check_int, check_text, check_zone, type_name
from pointkit._values import MemberId, check_point_code
from pointkit.exceptions import (
    ArgumentTypeError,
    ConfigurationError,
    InvalidArgumentError,
    LimitExceededError,
)
from pointkit.tiers._policy import WINDOW_TYPES, DowngradePolicy, NoReview
from pointkit.tiers._state import (
    TierChange,
    TierChangeReason,
    TierDecision,
    TierProgress,
    TierState,
    check_tier_name,
)


if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from pointkit.tiers._policy import QualificationWindow


__all__ = ["Benefits", "QualifyingMetric", "Tier", "TierLadder"]

_TICK: Final = timedelta(microseconds=1)


# -- benefits -----------------------------------------------------------------------------------


def _to_multiplier(value: Fraction | int) -> Fraction:
    given: object = value  # checked at run time whatever the annotation says
    if isinstance(given, bool) or not isinstance(given, Fraction | int):
        raise ArgumentTypeError(
            f"earn_multiplier={given!r} must be a Fraction or an int, not {type_name(given)}"
        )
    multiplier = Fraction(given)
    if multiplier > limits.TIER_EARN_MULTIPLIER_MAX:
        raise LimitExceededError(
            f"earn_multiplier={multiplier!r} is over limits.TIER_EARN_MULTIPLIER_MAX "
            f"({limits.TIER_EARN_MULTIPLIER_MAX})"
        )
    if multiplier < 0:
        raise InvalidArgumentError(f"earn_multiplier={multiplier!r} must not be negative")
    return multiplier


def _to_discount(value: Fraction | int) -> Fraction:
    given: object = value  # checked at run time whatever the annotation says
    if isinstance(given, bool) or not isinstance(given, Fraction | int):
        raise ArgumentTypeError(
            f"price_discount={given!r} must be a Fraction or an int, not {type_name(given)}"
        )
    discount = Fraction(given)
    if not 0 <= discount < 1:
        raise InvalidArgumentError(
            f"price_discount={discount!r} must be at least 0 and less than 1 "
            "(Fraction(1, 10) pays 90% of the price)"
        )
    return discount


def _to_perks(value: Sequence[str]) -> tuple[str, ...]:
    given: object = value  # checked at run time whatever the annotation says
    if isinstance(given, str | bytes) or not isinstance(given, Sequence):
        raise ArgumentTypeError(f"perks={given!r} must be a tuple of str, not {type_name(given)}")
    if len(given) > limits.TIER_PERKS_MAX:
        raise LimitExceededError(
            f"perks has {len(given)} perks, over limits.TIER_PERKS_MAX ({limits.TIER_PERKS_MAX})"
        )
    perks: list[str] = []
    for index, perk in enumerate(given):
        checked = check_text(
            f"perks[{index}]",
            perk,
            max_length=limits.TIER_TEXT_LENGTH_MAX,
            limit_name="TIER_TEXT_LENGTH_MAX",
        )
        if checked in perks:
            raise InvalidArgumentError(f"perks[{index}]={checked!r} is listed twice")
        perks.append(checked)
    return tuple(perks)


@final
@attrs.frozen
class Benefits:
    """What a tier gives its members, as data for the rules and pricing to apply.

    >>> from fractions import Fraction
    >>> gold = Benefits(earn_multiplier=2, price_discount=Fraction(1, 10), perks=("priority delivery",))
    >>> gold.earn_multiplier, gold.price_factor
    (Fraction(2, 1), Fraction(9, 10))
    >>> Benefits(earn_multiplier=1.5)
    Traceback (most recent call last):
    ...
    pointkit.exceptions.ArgumentTypeError: earn_multiplier=1.5 must be a Fraction or an int, not float

    Attributes:
        earn_multiplier: The factor on points earned, an exact Fraction from 0 to
            ``limits.TIER_EARN_MULTIPLIER_MAX`` (2 earns double; an int is taken as a Fraction).
        price_discount: The share taken off prices, a Fraction in ``[0, 1)``:
            ``Fraction(1, 10)`` pays 90% of the price.
        perks: Named perks ("birthday gift", "dedicated service"), distinct and non-blank,
            kept in the order given (the order to show them in); at most
            ``limits.TIER_PERKS_MAX``.
    """

    earn_multiplier: Fraction = attrs.field(default=Fraction(1), converter=_to_multiplier)
    price_discount: Fraction = attrs.field(default=Fraction(0), converter=_to_discount)
    perks: tuple[str, ...] = attrs.field(default=(), converter=_to_perks)

    @property
    def price_factor(self) -> Fraction:
        """The share of the price a member pays: ``1 - price_discount``."""
        return 1 - self.price_discount


# -- tiers --------------------------------------------------------------------------------------


def _to_name(value: str) -> str:
    return check_tier_name("name", value)


def _to_threshold(value: int) -> int:
    return check_int(
        "threshold", value, minimum=0, maximum=limits.POINTS_MAX, limit_name="POINTS_MAX"
    )


def _to_benefits(value: Benefits) -> Benefits:
    given: object = value  # checked at run time whatever the annotation says
    if not isinstance(given, Benefits):
        raise ArgumentTypeError(f"benefits={given!r} must be Benefits, not {type_name(given)}")
    return given


@final
@attrs.frozen
class Tier:
    """A rung of a ladder: a name, the metric that reaches it, and what it gives.

    >>> Tier("gold", 10_000)
    Tier(name='gold', threshold=10000, benefits=Benefits(earn_multiplier=Fraction(1, 1), price_discount=Fraction(0, 1), perks=()))

    Attributes:
        name: The tier's name, 1 to ``limits.TIER_NAME_LENGTH_MAX`` printable characters; it is
            what a :class:`TierState` stores.
        threshold: The least metric that reaches the tier, in the metric's unit (0 or more).
        benefits: What members of the tier get.
    """

    name: str = attrs.field(converter=_to_name)
    threshold: int = attrs.field(converter=_to_threshold)
    benefits: Benefits = attrs.field(factory=Benefits, converter=_to_benefits)


def _to_currency(value: str) -> str:
    return check_point_code("currency", value)


def _to_description(value: str) -> str:
    if value == "":
        return value
    return check_text(
        "description",
        value,
        max_length=limits.TIER_TEXT_LENGTH_MAX,
        limit_name="TIER_TEXT_LENGTH_MAX",
    )


@final
@attrs.frozen
class QualifyingMetric:
    """What climbs the ladder: the amount *earned* in one point currency.

    The metric is earned minus clawed back, within the ladder's window: redemptions never lower
    it (spending points does not cost a tier), while clawbacks, the reversals of earnings on
    refunds and returns, do. The currency can be the redeemable ``points``, a status-only
    currency such as ``tier_credits``, or a spend currency the host credits with each order's
    amount in minor units (``spend_fen``), which makes the ladder spend-based.

    Attributes:
        currency: The point currency's code.
        description: What the metric means, for people (optional).
    """

    currency: str = attrs.field(converter=_to_currency)
    description: str = attrs.field(default="", converter=_to_description, kw_only=True)


# -- the ladder ---------------------------------------------------------------------------------


@functools.lru_cache(maxsize=256)
def _window_bounds(
    window: QualificationWindow, now: datetime, _now_zone: tzinfo | None, zone: ZoneInfo
) -> tuple[datetime | None, datetime]:
    """``window.bounds(now, zone)``, computed once per instant.

    Every event recorded at one instant (a batch, a simulated day) reviews its member's tier
    over the same window; the bounds are a pure function of these. Equal instants in other
    zones are equal keys: *now*'s zone joins the key, so the end keeps the zone it was given.
    """
    return window.bounds(now, zone)


def _check_metric(value: int) -> int:
    return check_int(
        "metric",
        value,
        minimum=-limits.POINTS_MAX,
        maximum=limits.POINTS_MAX,
        limit_name="POINTS_MAX",
    )


def _ladder_tiers(tiers: object, problems: list[str]) -> tuple[Tier, ...]:
    if isinstance(tiers, str | bytes) or not isinstance(tiers, Sequence):
        problems.append(f"tiers: {tiers!r} must be a sequence of Tier, not {type_name(tiers)}")
        return ()
    if not tiers:
        problems.append("tiers: must hold at least one tier")
        return ()
    if len(tiers) > limits.TIERS_MAX:
        problems.append(f"tiers: {len(tiers)} tiers is over limits.TIERS_MAX ({limits.TIERS_MAX})")
    checked: list[Tier] = []
    names: dict[str, int] = {}
    below: tuple[int, Tier] | None = None
    for index, tier in enumerate(tiers):
        if not isinstance(tier, Tier):
            problems.append(f"tiers[{index}]: {tier!r} must be a Tier, not {type_name(tier)}")
            continue
        if index == 0 and tier.threshold != 0:
            problems.append(
                f"tiers[0].threshold: {tier.threshold} must be 0, so that every member has a tier"
            )
        if below is not None and tier.threshold <= below[1].threshold:
            problems.append(
                f"tiers[{index}].threshold: {tier.threshold} must be greater than "
                f"tiers[{below[0]}].threshold ({below[1].threshold})"
            )
        if tier.name in names:
            problems.append(
                f"tiers[{index}].name: {tier.name!r} is already the name of tiers[{names[tier.name]}]"
            )
        else:
            names[tier.name] = index
        below = (index, tier)
        checked.append(tier)
    return tuple(checked)


def _ladder_zone(zone: object, problems: list[str]) -> ZoneInfo | None:
    try:
        return check_zone("zone", zone)
    except ArgumentTypeError:
        problems.append(
            f"zone: {zone!r} must be an IANA time zone name or a ZoneInfo, not {type_name(zone)}"
        )
    except InvalidArgumentError:
        problems.append(
            f"zone: {zone!r} is not an IANA time zone; use a name such as 'Asia/Shanghai' or 'UTC'"
        )
    return None


def _ladder_downgrade(downgrade: object, problems: list[str]) -> None:
    if not isinstance(downgrade, DowngradePolicy):
        problems.append(
            f"downgrade: {downgrade!r} must be a DowngradePolicy, not {type_name(downgrade)}"
        )
        return
    if isinstance(downgrade.review, NoReview):
        if downgrade.grace_days:
            problems.append(
                f"downgrade.grace_days: {downgrade.grace_days} has no effect, as "
                "downgrade.review is NoReview() and nobody goes down; choose a review schedule"
            )
        if downgrade.one_step:
            problems.append(
                "downgrade.one_step: True has no effect, as downgrade.review is NoReview() "
                "and nobody goes down; choose a review schedule"
            )


@final
@attrs.frozen(init=False)
class TierLadder:
    """A tier ladder: tiers on one qualifying metric over a window, with a downgrade policy.

    Every problem of a ladder is reported at once, in one :class:`ConfigurationError`:

    >>> from pointkit.tiers import DowngradePolicy, Lifetime
    >>> TierLadder([Tier("silver", 100), Tier("gold", 100)], QualifyingMetric("points"), Lifetime(), DowngradePolicy(), "Mars/Olympus")
    Traceback (most recent call last):
    ...
    pointkit.exceptions.ConfigurationError: TierLadder has 3 problems:
      - tiers[0].threshold: 100 must be 0, so that every member has a tier
      - tiers[1].threshold: 100 must be greater than tiers[0].threshold (100)
      - zone: 'Mars/Olympus' is not an IANA time zone; use a name such as 'Asia/Shanghai' or 'UTC'

    Args:
        tiers: The tiers, lowest first: thresholds strictly increasing from 0, names distinct,
            1 to ``limits.TIERS_MAX`` of them.
        metric: What qualifies.
        window: Which stretch of time counts: :class:`Lifetime`, :class:`RollingMonths` or
            :class:`CalendarYear`.
        downgrade: When and how far members go down.
        zone: The program's IANA time zone (a name or a ``ZoneInfo``), in which windows, review
            dates and grace days are counted.

    Raises:
        ConfigurationError: Listing every problem, each naming its field.
    """

    tiers: tuple[Tier, ...]
    metric: QualifyingMetric
    window: QualificationWindow
    downgrade: DowngradePolicy
    zone: ZoneInfo

    def __init__(
        self,
        tiers: Sequence[Tier],
        metric: QualifyingMetric,
        window: QualificationWindow,
        downgrade: DowngradePolicy,
        zone: ZoneInfo | str,
    ) -> None:
        problems: list[str] = []
        checked_tiers = _ladder_tiers(tiers, problems)
        given_metric: object = metric  # checked at run time whatever the annotation says
        if not isinstance(given_metric, QualifyingMetric):
            problems.append(
                f"metric: {given_metric!r} must be a QualifyingMetric, not {type_name(given_metric)}"
            )
        given_window: object = window
        if not isinstance(given_window, WINDOW_TYPES):
            problems.append(
                f"window: {given_window!r} must be Lifetime(), RollingMonths(months) or "
                f"CalendarYear(), not {type_name(given_window)}"
            )
        _ladder_downgrade(downgrade, problems)
        checked_zone = _ladder_zone(zone, problems)
        if problems or checked_zone is None:
            raise ConfigurationError("TierLadder", problems)
        self.__attrs_init__(checked_tiers, metric, window, downgrade, checked_zone)

    # -- looking up tiers -------------------------------------------------------------------

    def _index(self, name: object, field: str, hint: str = "") -> int:
        if not isinstance(name, str):
            raise ArgumentTypeError(f"{field}={name!r} must be a str, not {type_name(name)}")
        for index, tier in enumerate(self.tiers):
            if tier.name == name:
                return index
        valid = ", ".join(repr(tier.name) for tier in self.tiers)
        raise InvalidArgumentError(
            f"{field}={name!r} is not a tier of this ladder, whose tiers are {valid}{hint}"
        )

    def _qualified(self, metric: int) -> int:
        # The lowest threshold is 0, so only a negative metric (more clawed back than earned in
        # the window) falls below every tier; it gets the lowest.
        return max(0, bisect_right(self.tiers, metric, key=attrgetter("threshold")) - 1)

    def tier(self, name: str) -> Tier:
        """Return the tier called *name*.

        >>> from pointkit.tiers import DowngradePolicy, Lifetime
        >>> ladder = TierLadder([Tier("normal", 0), Tier("gold", 10_000)], QualifyingMetric("points"), Lifetime(), DowngradePolicy(), "UTC")
        >>> ladder.tier("platinum")
        Traceback (most recent call last):
        ...
        pointkit.exceptions.InvalidArgumentError: name='platinum' is not a tier of this ladder, whose tiers are 'normal', 'gold'

        Raises:
            ArgumentTypeError: If *name* is not a str.
            InvalidArgumentError: If no tier has that name; the message lists the names.
        """
        return self.tiers[self._index(name, "name")]

    def tier_for(self, metric: int) -> Tier:
        """Return the highest tier whose threshold *metric* reaches.

        A negative metric (more clawed back than earned in the window) gets the lowest tier.

        Raises:
            ArgumentTypeError: If *metric* is not an int.
            InvalidArgumentError: If it is outside ``±limits.POINTS_MAX``.
        """
        return self.tiers[self._qualified(_check_metric(metric))]

    def benefits(self, state_or_tier_name: TierState | str) -> Benefits:
        """Return the benefits of a member's tier, given their state or the tier's name.

        Raises:
            ArgumentTypeError: If the argument is neither a TierState nor a str.
            InvalidArgumentError: If the ladder has no such tier.
        """
        given: object = state_or_tier_name
        if isinstance(given, TierState):
            return self.tiers[self._index(given.tier, "state.tier")].benefits
        return self.tiers[self._index(given, "state_or_tier_name")].benefits

    # -- windows ----------------------------------------------------------------------------

    def window_bounds(self, now: datetime) -> tuple[datetime | None, datetime]:
        """Return the current qualification window ``[start, now)`` in UTC (start ``None``: lifetime).

        This is the window :meth:`progress` reads its metric over.

        Raises:
            NaiveDatetimeError: If *now* has no time zone.
        """
        return self.window.bounds(now, self.zone)

    def metric_bounds(
        self, state: TierState | None, now: datetime
    ) -> tuple[datetime | None, datetime]:
        """Return ``[start, end)`` in UTC, the window to measure the metric for :meth:`evaluate` over.

        Usually the current window, ending at *now*. When a review is due, it is the window
        that closed at the review instead: a review on 1 January of a calendar-year ladder
        judges the year that just ended, not the one that just began.

        Raises:
            ArgumentTypeError: If *state* is neither a TierState nor None.
            NaiveDatetimeError: If *now* has no time zone.
        """
        at = check_aware("now", now)
        given: object = state
        if given is not None and not isinstance(given, TierState):
            raise ArgumentTypeError(
                f"state={given!r} must be a TierState or None, not {type_name(given)}"
            )
        if state is not None and state.next_review is not None and state.next_review <= at:
            review = self._latest_review(state, state.next_review, at)
            start, _ = self.window.bounds(review - _TICK, self.zone)
            return (start, review)
        return _window_bounds(self.window, at, at.tzinfo, self.zone)

    # -- evaluation -------------------------------------------------------------------------

    def _next_review(self, since: datetime, after: datetime) -> datetime | None:
        return self.downgrade.review.next_after(since, after, self.zone)

    def _latest_review(self, state: TierState, due: datetime, now: datetime) -> datetime:
        """Return the latest review at or before *now*; *due* is the state's passed review."""
        scheduled = self.downgrade.review.latest_until(state.since, now, self.zone)
        return due if scheduled is None or scheduled < due else scheduled

    def _checked_state(self, member: MemberId, state: object, now: datetime) -> TierState:
        if not isinstance(state, TierState):
            raise ArgumentTypeError(
                f"state={state!r} must be a TierState or None, not {type_name(state)}"
            )
        if state.member != member:
            raise InvalidArgumentError(
                f"member={str(member)!r} does not match state.member ({str(state.member)!r})"
            )
        if now < state.since:
            raise InvalidArgumentError(
                f"now={now.isoformat()} is before state.since ({state.since.isoformat()}); "
                "a tier state only moves forward"
            )
        return state

    def evaluate(
        self, member: MemberId | str, state: TierState | None, metric: int, now: datetime
    ) -> TierDecision:
        """Decide a member's tier from their state, their metric and the instant.

        See the module notes (and docs/tiers.md) for the rules. The decision is pure: the same
        arguments give the same decision.

        Args:
            member: The member.
            state: The member's stored state, or ``None`` for a member never evaluated.
            metric: The qualifying metric over :meth:`metric_bounds` of *state* and *now*:
                earned minus clawed back; redemptions do not lower it.
            now: The instant of evaluation; not before ``state.since``.

        Returns:
            The new state to store and the changes, oldest first.

        Raises:
            ArgumentTypeError: If an argument has the wrong type.
            NaiveDatetimeError: If *now* has no time zone.
            InvalidArgumentError: If *state* belongs to another member, names a tier the ladder
                does not have, or began after *now*.
        """
        at = check_aware("now", now)
        member_id = MemberId(member)
        value = _check_metric(metric)
        qualified = self._qualified(value)
        if state is None:
            name = self.tiers[qualified].name
            joined = TierState(member_id, name, at, self._next_review(at, at), None)
            change = TierChange(member_id, at, None, name, TierChangeReason.JOINED, value)
            return TierDecision(joined, (change,))
        checked = self._checked_state(member_id, state, at)
        current = self._index(checked.tier, "state.tier", "; move the member with set_tier")
        if qualified > current:
            name = self.tiers[qualified].name
            upgraded = attrs.evolve(
                checked,
                tier=name,
                since=at,
                next_review=self._next_review(at, at),
                grace_until=None,
            )
            change = TierChange(member_id, at, checked.tier, name, TierChangeReason.UPGRADE, value)
            return TierDecision(upgraded, (change,))
        return self._hold_or_lower(checked, current, qualified, value, at)

    def _hold_or_lower(
        self, state: TierState, current: int, qualified: int, metric: int, now: datetime
    ) -> TierDecision:
        """Apply rules 3 to 5 of the module notes to a member the metric does not lift."""
        changes: list[TierChange] = []
        tier, since, grace = current, state.since, state.grace_until
        if grace is not None and qualified >= current:
            changes.append(
                TierChange(
                    state.member,
                    now,
                    state.tier,
                    state.tier,
                    TierChangeReason.GRACE_CANCELLED,
                    metric,
                )
            )
            grace = None
        elif qualified < current and not state.never_downgrade:
            lower_at: datetime | None = None
            if grace is not None:
                lower_at = grace if grace <= now else None
            elif state.next_review is not None and state.next_review <= now:
                review = self._latest_review(state, state.next_review, now)
                if self.downgrade.grace_days:
                    grace = self.downgrade.grace_end(review, self.zone)
                    changes.append(
                        TierChange(
                            state.member,
                            review,
                            state.tier,
                            state.tier,
                            TierChangeReason.GRACE_STARTED,
                            metric,
                        )
                    )
                    lower_at = grace if grace <= now else None
                else:
                    lower_at = review
            if lower_at is not None:
                tier = current - 1 if self.downgrade.one_step else qualified
                since, grace = lower_at, None
                changes.append(
                    TierChange(
                        state.member,
                        lower_at,
                        state.tier,
                        self.tiers[tier].name,
                        TierChangeReason.DOWNGRADE,
                        metric,
                    )
                )
        next_review = state.next_review
        if since != state.since or next_review is None or next_review <= now:
            next_review = self._next_review(since, now)
        name = self.tiers[tier].name
        if (
            name == state.tier
            and since == state.since
            and next_review == state.next_review
            and grace == state.grace_until
        ):
            # The common case, a member holding their tier: the state stands as stored.
            return TierDecision(state, tuple(changes))
        decided = attrs.evolve(
            state,
            tier=name,
            since=since,
            next_review=next_review,
            grace_until=grace,
        )
        return TierDecision(decided, tuple(changes))

    def set_tier(
        self,
        member: MemberId | str,
        state: TierState | None,
        tier_name: str,
        now: datetime,
        *,
        never_downgrade: bool | None = None,
    ) -> TierDecision:
        """Put a member on a tier by hand, for invitations, corrections and VIPs.

        The tier starts at *now*, any grace ends, and reviews count from *now*. The state may
        name a tier the ladder no longer has: this is how members are moved off it.

        Args:
            member: The member.
            state: The member's stored state, or ``None`` for a member never evaluated.
            tier_name: The tier to put them on.
            now: The instant of the change; not before ``state.since``.
            never_downgrade: ``True`` to make the member never go down, ``False`` to undo it,
                ``None`` to keep what the state says (``False`` for a new member).

        Returns:
            The new state and one change with reason ``MANUAL``.

        Raises:
            ArgumentTypeError: If an argument has the wrong type.
            NaiveDatetimeError: If *now* has no time zone.
            InvalidArgumentError: If the ladder has no tier *tier_name*, or *state* belongs to
                another member or began after *now*.
        """
        at = check_aware("now", now)
        member_id = MemberId(member)
        name = self.tiers[self._index(tier_name, "tier_name")].name
        before = None if state is None else self._checked_state(member_id, state, at)
        if never_downgrade is None:
            never = False if before is None else before.never_downgrade
        else:
            never = never_downgrade
        placed = TierState(member_id, name, at, self._next_review(at, at), None, never)
        change = TierChange(
            member_id,
            at,
            None if before is None else before.tier,
            name,
            TierChangeReason.MANUAL,
            None,
        )
        return TierDecision(placed, (change,))

    def progress(self, state: TierState, metric: int, now: datetime) -> TierProgress:
        """Say how much more metric reaches the next tier, and how much keeps the current one.

        Args:
            state: The member's state, as :meth:`evaluate` left it.
            metric: The qualifying metric over the current window (:meth:`window_bounds`).
            now: The instant; not before ``state.since``.

        Returns:
            The figures; see :class:`TierProgress`.

        Raises:
            ArgumentTypeError: If an argument has the wrong type.
            NaiveDatetimeError: If *now* has no time zone.
            InvalidArgumentError: If *state* names a tier the ladder does not have or began
                after *now*.
        """
        at = check_aware("now", now)
        value = _check_metric(metric)
        given: object = state  # checked at run time whatever the annotation says
        if not isinstance(given, TierState):
            raise ArgumentTypeError(f"state={given!r} must be a TierState, not {type_name(given)}")
        checked = self._checked_state(given.member, given, at)
        index = self._index(checked.tier, "state.tier")
        current = self.tiers[index]
        above = self.tiers[index + 1] if index + 1 < len(self.tiers) else None
        keep_by = None
        if index > 0 and not checked.never_downgrade:
            keep_by = checked.grace_until or checked.next_review
        return TierProgress(
            current=current,
            next=above,
            needed=0 if above is None else max(0, above.threshold - value),
            by=None if above is None else self.window.period_end(at, self.zone),
            keep_needed=0 if keep_by is None else max(0, current.threshold - value),
            keep_by=keep_by,
        )

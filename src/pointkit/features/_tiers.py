"""Tiers on the ledger: a member's status, reviews, operator changes and history.

Maintainer's notes
------------------
A review reads the points the member earned over the ladder's window (the tiers part's
``earned``), decides with the pure :class:`~pointkit.tiers.TierLadder`, and stores the new state
with its changes under a version, so that two concurrent reviews never both apply.
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final, final

from pointkit import limits
from pointkit._validate import check_int, type_name
from pointkit._values import MemberId
from pointkit.exceptions import (
    ArgumentTypeError,
    InvalidArgumentError,
    PointkitError,
)
from pointkit.features._base import Feature
from pointkit.features._events import tier_events
from pointkit.features._parts import (
    tier_reader,
    tier_writer,
)
from pointkit.features._results import (
    TierStatus,
)
from pointkit.ledger._envelope import (
    request,
    retrying,
)
from pointkit.tiers import TierChange, TierDecision, TierLadder, TierState


if TYPE_CHECKING:
    from collections.abc import Callable

    from pointkit.features._parts import TiersReading, TiersWriting
    from pointkit.ledger import Linked, ReadUnit


__all__ = ["Tiers", "check_review_calendar", "quiet_review"]

_TICK: Final = timedelta(microseconds=1)


def _through(
    bounds: tuple[datetime | None, datetime], now: datetime
) -> tuple[datetime | None, datetime]:
    """A metric window ending now, made to include what was recorded at this very instant.

    A window that closed at a review ends there, exclusive: what happened at the review
    instant belongs to the next period.
    """
    start, end = bounds
    if end < now:
        return (start, end)
    try:
        return (start, end + _TICK)
    except OverflowError:
        # The window's end is exclusive: none can include the last instant a datetime holds.
        raise InvalidArgumentError(
            f"now={now.isoformat()} is out of range: a window that includes it would end "
            "after the year 9999"
        ) from None


def _decide_review(
    unit: TiersReading,
    member: MemberId,
    code: str,
    ladder: TierLadder,
    state: TierState | None,
    now: datetime,
) -> TierDecision:
    """What a review of *member* on *ladder* at *now* decides, the metric read from the journal."""
    # A review that is due judges the window that closed at it; then the member's metric up
    # to now may still earn an upgrade at once, so decide again on it.
    start, end = ladder.metric_bounds(state, now)
    metric = unit.earned(member, code, *_through((start, end), now))
    decision = ladder.evaluate(member, state, metric, now)
    if end >= now:
        return decision
    start, end = ladder.metric_bounds(decision.state, now)
    metric = unit.earned(member, code, *_through((start, end), now))
    then = ladder.evaluate(member, decision.state, metric, now)
    return TierDecision(then.state, (*decision.changes, *then.changes))


def quiet_review(
    link: Linked, member: MemberId, code: str, ladder: TierLadder
) -> TierDecision | None:
    """The decision a review of *member* at ``link.now`` makes, if it would store nothing.

    *code* is the ladder's metric currency, checked against the ledger by the caller.

    Read in *link*'s unit of work, which it leaves untouched. ``Program.record`` runs it in
    the event's own unit, after the awards: when the review it would run next, at the same
    instant, would store nothing, this is that review's decision, and no second unit of work
    is needed. ``None`` means the review would store something (or refuse): run it.
    """
    unit = tier_reader(link.unit, "tiers")
    stored = unit.tier(member)
    state = None if stored is None else stored[0]
    try:
        decision = _decide_review(unit, member, code, ladder, state, link.now)
    except PointkitError:
        return None  # the review proper raises it, after the awards commit, as it always did
    if decision.changes or decision.state != state:
        return None
    return decision


@functools.lru_cache(maxsize=256)
def check_review_calendar(ladder: TierLadder, now: datetime) -> None:
    """Refuse *now* if a review on *ladder* at *now* needs dates outside the years 1 to 9999.

    It computes what a review at *now* computes from *now* alone: the window, the next review,
    the grace, and the instant after *now* that ends the metric window. A review that follows
    awards in a unit of its own (``Program.record``) is checked first, so that the awards do
    not commit without it. A pass is cached (a refusal raises, so it is not): events recorded
    at one instant, as a batch or a simulation records them, check the calendar once.

    Raises:
        InvalidArgumentError: If one of them falls outside the years 1 to 9999.
    """
    _through(ladder.window_bounds(now), now)
    ladder.downgrade.review.next_after(now, now, ladder.zone)
    if ladder.downgrade.grace_days:
        ladder.downgrade.grace_end(now, ladder.zone)


@final
class Tiers(Feature):
    """Member tiers kept beside a ledger: status, review, set, history.

    Args:
        ledger: The ledger whose earned points qualify; its storage needs the tiers part.
    """

    _name = "tiers"

    def _reader(self, unit: ReadUnit) -> TiersReading:
        return tier_reader(unit, self._name)

    def _writer(self, link: Linked) -> TiersWriting:
        return tier_writer(link.unit, self._name)

    def status(self, member: str, ladder: TierLadder) -> TierStatus:
        """Return where *member* stands on *ladder* now, without changing anything.

        The metric is read from the journal: points earned in the ladder's currency over its
        current window, less clawbacks (redemptions never lower it).

        Raises:
            ArgumentTypeError: If *ladder* is not a TierLadder.
            UnknownCurrencyError: If the ledger does not hold the ladder's currency.
        """
        member_id = MemberId(member)
        code = self._ladder_currency(ladder)
        now = self._now()
        with self._reading() as read:
            unit = self._reader(read)
            stored = unit.tier(member_id)
            metric = unit.earned(member_id, code, *_through(ladder.window_bounds(now), now))
        state = None if stored is None else stored[0]
        progress = None if state is None else ladder.progress(state, metric, now)
        return TierStatus(member_id, state, metric, progress)

    def review(self, member: str, ladder: TierLadder, *, metric: int | None = None) -> TierDecision:
        """Decide *member*'s tier on *ladder* now, and store the state and its changes.

        Upgrades happen at once; downgrades only at the ladder's review dates (see
        :meth:`pointkit.tiers.TierLadder.evaluate`). Call it after a member earns, and from a
        scheduled job for reviews. Reviewing again without news changes nothing, and two
        reviews of one member at once are serialised: the later one decides on the earlier's
        result.

        Args:
            member: The member.
            ladder: The tier ladder.
            metric: The qualifying metric, when the host measures it (money spent, from its own
                orders) over the window :meth:`pointkit.tiers.TierLadder.metric_bounds` names.
                By default it is read from the journal: when a review is due, over the window
                that closed at it, and then over the current window, so an upgrade the member
                has earned since is not left for the next review.

        Returns:
            The decision: the new state and the changes recorded.

        Raises:
            ArgumentTypeError: If *ladder* is not a TierLadder or *metric* not an int.
            UnknownCurrencyError: If the ledger does not hold the ladder's currency.
        """
        member_id = MemberId(member)
        code = self._ladder_currency(ladder)
        given = (
            None
            if metric is None
            else check_int("metric", metric, minimum=-limits.POINTS_MAX, maximum=limits.POINTS_MAX)
        )

        def decide(unit: TiersWriting, state: TierState | None, now: datetime) -> TierDecision:
            if given is not None:
                return ladder.evaluate(member_id, state, given, now)
            return _decide_review(unit, member_id, code, ladder, state, now)

        return self._save_tier(member_id, decide, command="review_tier")

    def set(
        self,
        member: str,
        ladder: TierLadder,
        tier: str,
        *,
        never_downgrade: bool | None = None,
    ) -> TierDecision:
        """Put *member* in *tier* by hand (a VIP, a correction), and store it.

        Args:
            member: The member.
            ladder: The tier ladder.
            tier: The tier's name.
            never_downgrade: Whether the member keeps the tier through reviews; unchanged if
                omitted.

        Raises:
            InvalidArgumentError: If the ladder has no such tier.
        """
        member_id = MemberId(member)
        self._ladder_currency(ladder)

        def decide(_unit: TiersWriting, state: TierState | None, now: datetime) -> TierDecision:
            return ladder.set_tier(member_id, state, tier, now, never_downgrade=never_downgrade)

        return self._save_tier(member_id, decide, command="set_tier")

    def history(self, member: str, *, limit: int = 100) -> tuple[TierChange, ...]:
        """Return *member*'s latest tier changes, oldest first, with their reasons.

        Raises:
            InvalidArgumentError: If *limit* is not from 1 to ``limits.TIER_HISTORY_MAX``.
        """
        member_id = MemberId(member)
        size = check_int(
            "limit",
            limit,
            minimum=1,
            maximum=limits.TIER_HISTORY_MAX,
            limit_name="TIER_HISTORY_MAX",
        )
        with self._reading() as read:
            unit = self._reader(read)
            return tuple(unit.tier_changes(member_id, limit=size))

    def _ladder_currency(self, ladder: object) -> str:
        if not isinstance(ladder, TierLadder):
            raise ArgumentTypeError(
                f"ladder={ladder!r} must be a TierLadder, not {type_name(ladder)}"
            )
        return self._ledger.currency(ladder.metric.currency)

    def _save_tier(
        self,
        member: MemberId,
        decide: Callable[[TiersWriting, TierState | None, datetime], TierDecision],
        *,
        command: str,
    ) -> TierDecision:
        """Read the member's tier state, decide, and store the result in one unit of work."""

        def attempt() -> TierDecision:
            with self._ledger.linked() as link:
                unit, now = self._writer(link), link.now
                stored = unit.tier(member)
                state, version = (None, 0) if stored is None else stored
                decision = decide(unit, state, now)
                if decision.changes or decision.state != state:
                    unit.save_tier(decision.state, decision.changes, version=version + 1)
                    tier_events(unit, decision.changes)
            return decision

        # The request names the member, so that logs show its hash, never its id, in the key.
        return retrying(attempt, request(command, member=member), f"tier:{member}")

"""Anti-cheat on a ledger: velocity and blocklist screening, reviews, and frozen members.

Maintainer's notes
------------------
State lives in the records part, under ids starting ``pointkit:guard:``:

- ``frozen:<member>`` is a programme budget at 1 while the member is frozen and 0 otherwise;
  each freeze (+1) and unfreeze (-1) is carried by a record ``freeze:<member>:<n>`` that keeps
  the reason, the key and the instant (an audited history), numbered by the member's
  ``freezes`` counter; ``freeze-key:<key>`` remembers what each key did.
- A frozen member earns and spends nothing: :class:`Guard` registers a command guard on its
  ledger (:meth:`~pointkit.ledger.Ledger.add_guard`) that reads the members' freeze budgets in
  the unit that writes every plan, after their wallets were locked. Freezing locks the
  member's wallets in every currency before it writes, so the two cannot race. Expiry runs and
  hold timeouts are not refused: the clock goes on for a frozen member.
- Velocity counts are programme budgets ``velocity:<rule>:<subject>:<window>``, locked (in
  sorted order) by :meth:`Guard.screen_on` in the event's unit of work and carried by a record
  ``screen:<event id>``; a refused event writes nothing, so it is not counted either.
- An award held for review is a record ``review:<event id>`` with the awards the rules
  decided; ``review-decision:<event id>`` settles it once: approving posts the awards under
  the keys earning would have used (so refunding the event finds them) and issues the coupons
  its rules named (held with them, only when there are any), rejecting posts nothing.
- Each change writes its outbox event in its unit: ``member.frozen`` or ``member.unfrozen``
  (id from the member and the change's number), ``event.held`` and ``event.reviewed`` (from the
  event's id).
"""

from __future__ import annotations

import functools
import json
from datetime import datetime
from typing import TYPE_CHECKING, Final, final

import attrs

from pointkit import limits
from pointkit._validate import check_text, type_name
from pointkit._values import MemberId
from pointkit.campaigns._guard import AntiCheat, FreezeState, Screening
from pointkit.exceptions import (
    ActivityRefusedError,
    ArgumentTypeError,
    InvalidArgumentError,
    MemberFrozenError,
    TransactionNotFoundError,
)
from pointkit.features._base import RecordsFeature
from pointkit.features._earning import _award_key, _coupon_source
from pointkit.features._events import MemberFreezeChanged, ReviewChanged, emit_event
from pointkit.features._parts import RuleEventRecord, record_reader
from pointkit.ledger import TransactionKind
from pointkit.ledger._envelope import RESERVED_KEY_PREFIX, Envelope, check_key, conflict, retrying
from pointkit.ledger._envelope import request as _request
from pointkit.rules import Award, Event


if TYPE_CHECKING:
    from collections.abc import Sequence

    from pointkit.features._parts import RecordsReading, RecordsWriting
    from pointkit.features._rewards import CouponIssuer
    from pointkit.ledger import Ledger, Linked, Transaction, WriteUnit


__all__ = ["FreezeChange", "Guard", "Review"]

_PREFIX: Final = f"{RESERVED_KEY_PREFIX}guard:"
_FREEZES: Final = (f"{_PREFIX}freezes", "lifetime")
# The clock's commands, and a release, which gives held points back without spending or earning
# any (a cancelled redemption, a group buy that did not fill), go on for a frozen member.
_UNGUARDED: Final = frozenset(
    {
        TransactionKind.EXPIRY.value,
        TransactionKind.HOLD_TIMEOUT.value,
        TransactionKind.RELEASE.value,
    }
)


def _frozen_budget(member: MemberId) -> str:
    return f"{_PREFIX}frozen:{member}"


def _freeze_record(member: MemberId, index: int) -> str:
    return f"{_PREFIX}freeze:{member}:{index}"


def _freeze_key_record(key: str) -> str:
    return f"{_PREFIX}freeze-key:{key}"


def _screen_record(event_id: str) -> str:
    return f"{_PREFIX}screen:{event_id}"


def _review_record(event_id: str) -> str:
    return f"{_PREFIX}review:{event_id}"


def _decision_record(event_id: str) -> str:
    return f"{_PREFIX}review-decision:{event_id}"


def _check_reason(reason: object) -> str:
    return check_text(
        "reason", reason, max_length=limits.REASON_LENGTH_MAX, limit_name="REASON_LENGTH_MAX"
    )


@final
@attrs.frozen
class FreezeChange:
    """One freeze or unfreeze of a member, as recorded.

    Attributes:
        member: The member.
        frozen: Whether it froze (``True``) or unfroze them.
        reason: Why.
        at: When.
        key: Its idempotency key.
        replayed: Whether it was recorded before and nothing was written now.
    """

    member: MemberId
    frozen: bool
    reason: str
    at: datetime
    key: str
    replayed: bool = False


@final
@attrs.frozen
class Review:
    """An event whose award is held for review.

    Attributes:
        event_id: The event.
        member: Its member.
        rule: The velocity rule that flagged it.
        awards: ``(rule, currency, points)`` of each award held.
        status: ``"pending"``, ``"approved"`` or ``"rejected"``.
        reason: Why it was rejected, if it was.
        transactions: The awards posted on approval (empty otherwise, or when read back).
        coupons: ``(rule, coupon definition)`` of each coupon held, issued on approval.
    """

    event_id: str
    member: MemberId
    rule: str
    awards: tuple[tuple[str, str, int], ...]
    status: str
    reason: str | None = None
    transactions: tuple[Transaction, ...] = ()
    coupons: tuple[tuple[str, str], ...] = ()


@final
class Guard(RecordsFeature):
    """Anti-cheat on a ledger: screen events, hold flagged awards for review, freeze members.

    Making a guard registers a command guard on *ledger* (``"anti-cheat"``): from then on,
    every points command for a frozen member on that ledger is refused with
    :class:`~pointkit.exceptions.MemberFrozenError`.

    Args:
        ledger: The ledger; its storage needs the records part.
        rules: The velocity rules and blocklists; none by default (freezing works alone).
        coupons: Issues the coupons of a held event's rules when it is approved (the
            programme's :class:`~pointkit.features.Coupons`); needed only when a held event's
            rules issue coupons.
    """

    _name = "anti-cheat"

    def __init__(
        self,
        ledger: Ledger,
        rules: AntiCheat | None = None,
        *,
        coupons: CouponIssuer | None = None,
    ) -> None:
        super().__init__(ledger)
        if rules is not None and not isinstance(rules, AntiCheat):
            raise ArgumentTypeError(f"rules={rules!r} must be an AntiCheat, not {type_name(rules)}")
        if coupons is not None and not callable(getattr(coupons, "issue_on", None)):
            raise ArgumentTypeError(f"coupons={coupons!r} must be a CouponIssuer (with issue_on)")
        self._rules = AntiCheat() if rules is None else rules
        self._coupons = coupons
        ledger.add_guard("anti-cheat", refuse_frozen)

    @property
    def rules(self) -> AntiCheat:
        """The velocity rules and blocklists."""
        return self._rules

    # -- screening ---------------------------------------------------------------------------

    def screen(self, event: Event) -> Screening:
        """Return what screening *event* would say now, writing nothing (a preview)."""
        checked = _check_event(event)
        with self._reading() as read:
            unit = self._reader(read)
            names = self._rules.counts(checked)
            stored = unit.budgets([f"{_PREFIX}{name}" for name in names])
            used = {name: stored.get(f"{_PREFIX}{name}", 0) for name in names}
        return self._rules.screen(checked, used)

    def screen_on(self, link: Linked, event: Event) -> Screening:
        """Screen *event* in *link*'s unit, before its award; count it unless refused.

        Earning calls it inside the event's unit of work, before the award (see the
        anti-cheat guide). A blocklisted value or a ``refuse`` velocity rule over its limit
        raises, and the event's unit rolls back: nothing is recorded, nothing counted. Else
        the event is counted in each of its velocity windows (a record ``screen:<event id>``
        carries the counts) and the screening returned: ``"allow"``, or ``"review"`` when a
        ``review`` rule is over its limit — then record the event, hold its awards with
        :meth:`hold_on` and post nothing.

        Raises:
            ActivityRefusedError: ``blocklisted`` or ``velocity``; nothing is written.
        """
        checked = _check_event(event)
        unit = self._writer(link)
        names = self._rules.counts(checked)
        locked = unit.lock_budgets([f"{_PREFIX}{name}" for name in names])
        screening = self._rules.screen(
            checked, {name: locked.get(f"{_PREFIX}{name}", 0) for name in names}
        )
        if screening.outcome == "refuse":
            raise ActivityRefusedError(
                screening.rule or "",
                screening.reason or "",
                f"event={checked.id!r} refused by anti-cheat "
                f"{'blocklist on' if screening.reason == 'blocklisted' else 'rule'} "
                f"{screening.rule!r} ({screening.reason})",
            )
        if names:
            document = {"outcome": screening.outcome, "rule": screening.rule}
            unit.save_rule_event(
                RuleEventRecord.deferred(
                    # Encoded when first read: see RuleEventRecord.deferred.
                    functools.partial(json.dumps, document, sort_keys=True),
                    event_id=_screen_record(checked.id),
                    member=checked.member,
                    kind="screening",
                    at=link.now,
                    budgets=tuple((f"{_PREFIX}{name}", 1) for name in names),
                )
            )
        return screening

    def hold_on(
        self,
        link: Linked,
        event: Event,
        screening: Screening,
        awards: Sequence[Award],
        *,
        coupons: Sequence[tuple[str, str]] = (),
    ) -> Review:
        """Keep *event*'s *awards* (and *coupons*) pending for review, in *link*'s unit.

        Call it instead of posting the awards and issuing the coupons (``(rule, coupon)``
        pairs) when :meth:`screen_on` said ``"review"``; it writes ``event.held``.
        """
        checked = _check_event(event)
        held = tuple((award.rule, award.currency, award.points) for award in awards)
        kept = tuple((str(rule), str(coupon)) for rule, coupon in coupons)
        review = Review(
            checked.id, checked.member, screening.rule or "", held, "pending", coupons=kept
        )
        document: dict[str, object] = {
            "member": str(checked.member),
            "rule": review.rule,
            "awards": [list(item) for item in held],
        }
        if kept:  # only when there are any: reviews of rules without coupons keep their bytes
            document["coupons"] = [list(pair) for pair in kept]
        unit = self._writer(link)
        unit.save_rule_event(
            RuleEventRecord(
                event_id=_review_record(checked.id),
                member=checked.member,
                kind="review",
                at=link.now,
                decision=json.dumps(document, sort_keys=True),
            )
        )
        emit_event(unit, "event.held", checked.id, link.now, _review_data(review))
        return review

    def review(self, event_id: str) -> Review:
        """Return the review of *event_id* as it stands.

        Raises:
            TransactionNotFoundError: If no award of that event was held for review.
        """
        with self._reading() as read:
            return _review_of(self._reader(read), event_id)

    def approve(self, event_id: str, *, key: str) -> Review:
        """Approve a held award: post it as earning would have, under the same keys, once.

        Raises:
            TransactionNotFoundError: If no award of that event was held for review.
            InvalidArgumentError: If it was already decided under another key, or a held
                coupon has no issuer.
            MemberFrozenError: If the member is frozen: nothing is posted.
            CouponRefusedError: If a held coupon is refused: nothing is posted or issued.
        """
        return self._decide(event_id, key=key, reason=None)

    def reject(self, event_id: str, *, key: str, reason: str) -> Review:
        """Reject a held award: it is never posted; the reason is recorded.

        Raises:
            TransactionNotFoundError: If no award of that event was held for review.
            InvalidArgumentError: If it was already decided under another key.
        """
        return self._decide(event_id, key=key, reason=_check_reason(reason))

    def _decide(self, event_id: str, *, key: str, reason: str | None) -> Review:
        checked_key = check_key(key)
        payload = _request("review", event=event_id, approve=reason is None, reason=reason)

        def attempt() -> Review:
            with self._ledger.linked() as link:
                unit = self._writer(link)
                found = _review_of(unit, event_id)
                decided = unit.rule_event(_decision_record(event_id))
                if decided is not None:
                    stored = json.loads(decided)
                    if stored["key"] != checked_key:
                        raise InvalidArgumentError(
                            f"event_id={event_id!r} was already {found.status} "
                            f"under key {stored['key']!r}"
                        )
                    request = tuple(tuple(pair) for pair in stored["request"])
                    if request != payload:
                        raise conflict(checked_key, dict(request), dict(payload))
                    return found
                posted = () if reason is not None else self._post(link, found)
                if reason is None:
                    self._issue_held(link, found)
                unit.save_rule_event(
                    RuleEventRecord(
                        event_id=_decision_record(event_id),
                        member=found.member,
                        kind="review_decision",
                        at=link.now,
                        decision=json.dumps(
                            {
                                "key": checked_key,
                                "request": [list(pair) for pair in payload],
                                "reason": reason,
                            },
                            sort_keys=True,
                        ),
                    )
                )
                decided_review = _review_of(unit, event_id)
                data = _review_data(decided_review)
                emit_event(unit, "event.reviewed", event_id, link.now, data)
                return attrs.evolve(decided_review, transactions=posted)

        return retrying(attempt, payload, checked_key)

    def _issue_held(self, link: Linked, review: Review) -> None:
        """Issue the coupons held with an approved event, as earning would have."""
        for rule, coupon in review.coupons:
            if self._coupons is None:
                raise InvalidArgumentError(
                    f"event_id={review.event_id!r}: rule {rule!r} issues coupon {coupon!r}, "
                    "but coupons=None: give the Guard a CouponIssuer (the programme's Coupons)"
                )
            source = _coupon_source(review.event_id, rule)
            self._coupons.issue_on(link, coupon, review.member, source=source)

    def _post(self, link: Linked, review: Review) -> tuple[Transaction, ...]:
        posted = []
        for rule, currency, points in review.awards:
            key = _award_key(review.event_id, rule)
            envelope = Envelope(
                key,
                _request("rule_award", event=review.event_id, rule=rule, points=points),
                f"rule {rule}",
                (("event", review.event_id), ("rule", rule)),
            )
            booking = link.booking(key, currency, [review.member])
            if points > 0:
                plan = link.plan_credit(
                    envelope,
                    booking,
                    member=review.member,
                    currency=currency,
                    amount=points,
                    rule=rule,
                )
            else:
                policy = self._ledger.policy
                booking.debit(
                    review.member, -points, clawback=policy.clawback, debt_limit=policy.debt_limit
                )
                plan = envelope.finish(booking, kind=TransactionKind.ADJUSTMENT, amount=points)
            posted.append(link.post(plan))
        return tuple(posted)

    # -- freezing ----------------------------------------------------------------------------

    def freeze(self, member: str, *, key: str, reason: str) -> FreezeChange:
        """Freeze *member*: from now on they earn and spend nothing; recorded with *reason*.

        Raises:
            InvalidArgumentError: If the member is frozen already.
            IdempotencyConflictError: If *key* did something else.
        """
        return self._change(member, key=key, reason=reason, frozen=True)

    def unfreeze(self, member: str, *, key: str, reason: str) -> FreezeChange:
        """Unfreeze *member*; recorded with *reason*.

        Raises:
            InvalidArgumentError: If the member is not frozen.
            IdempotencyConflictError: If *key* did something else.
        """
        return self._change(member, key=key, reason=reason, frozen=False)

    def _change(self, member: str, *, key: str, reason: str, frozen: bool) -> FreezeChange:
        who, note, checked_key = MemberId(member), _check_reason(reason), check_key(key)
        payload = _request("freeze" if frozen else "unfreeze", member=who, reason=note)

        def attempt() -> FreezeChange:
            with self._ledger.linked() as link:
                unit = self._writer(link)
                unit.lock_wallets([(who, currency.code) for currency in self._ledger.currencies])
                seen = unit.rule_event(_freeze_key_record(checked_key))
                if seen is not None:
                    return _replayed_change(checked_key, payload, seen)
                budget = _frozen_budget(who)
                now_frozen = unit.lock_budgets([budget]).get(budget, 0) > 0
                if now_frozen == frozen:
                    state = "frozen already" if frozen else "not frozen"
                    raise InvalidArgumentError(f"member={str(who)!r} is {state}")
                index = unit.counters(who, [_FREEZES]).get(_FREEZES, (0, 0))[1] + 1
                change = FreezeChange(who, frozen, note, link.now, checked_key)
                _save_change(unit, change, index, payload)
                return change

        return retrying(attempt, payload, checked_key)

    def frozen(self, member: str) -> FreezeState | None:
        """Return *member*'s freeze, or ``None`` if they are not frozen."""
        who = MemberId(member)
        with self._reading() as read:
            unit = self._reader(read)
            budget = _frozen_budget(who)
            if unit.budgets([budget]).get(budget, 0) == 0:
                return None
            last = self._history(unit, who)[-1]
            return FreezeState(who, last.reason, last.at, last.key)

    def freeze_history(self, member: str) -> tuple[FreezeChange, ...]:
        """Return every freeze and unfreeze of *member*, oldest first."""
        who = MemberId(member)
        with self._reading() as read:
            return self._history(self._reader(read), who)

    @staticmethod
    def _history(unit: RecordsReading, member: MemberId) -> tuple[FreezeChange, ...]:
        count = unit.counters(member, [_FREEZES]).get(_FREEZES, (0, 0))[1]
        changes = []
        for index in range(1, count + 1):
            document = json.loads(unit.rule_event(_freeze_record(member, index)) or "{}")
            changes.append(_change_of(member, document))
        return tuple(changes)


def refuse_frozen(unit: WriteUnit, command: str, members: tuple[MemberId, ...]) -> None:
    """The anti-cheat command guard: refuse any plan that changes a frozen member's wallet.

    Expiry runs and hold timeouts pass: they are the clock's, not the member's; so do releases,
    which give held points back (a cancelled redemption, a group buy that did not fill).

    Raises:
        MemberFrozenError: If one of *members* is frozen; the command writes nothing.
    """
    if command in _UNGUARDED or not members:
        return
    names = {_frozen_budget(member): member for member in members}
    used = record_reader(unit, "anti-cheat").budgets(sorted(names))
    for name, member in names.items():
        if used.get(name, 0) > 0:
            raise MemberFrozenError(
                f"member {str(member)!r} is frozen: they earn and spend nothing until "
                f"unfrozen ({command} refused)",
                str(member),
            )


def _check_event(event: object) -> Event:
    if not isinstance(event, Event):
        raise ArgumentTypeError(f"event={event!r} must be an Event, not {type_name(event)}")
    return event


def _review_of(unit: RecordsReading, event_id: str) -> Review:
    stored = unit.rule_event(_review_record(event_id))
    if stored is None:
        raise TransactionNotFoundError(f"event_id={event_id!r} has no award held for review")
    document = json.loads(stored)
    awards = tuple((str(rule), str(code), int(points)) for rule, code, points in document["awards"])
    decided = unit.rule_event(_decision_record(event_id))
    member = MemberId(document["member"])
    coupons = tuple((str(rule), str(coupon)) for rule, coupon in document.get("coupons", ()))
    held = Review(event_id, member, str(document["rule"]), awards, "pending", coupons=coupons)
    if decided is None:
        return held
    outcome = json.loads(decided)
    if outcome["reason"] is None:
        return attrs.evolve(held, status="approved")
    return attrs.evolve(held, status="rejected", reason=outcome["reason"])


def _review_data(review: Review) -> ReviewChanged:
    """The data of ``event.held`` or ``event.reviewed``: the review as it stands."""
    return ReviewChanged(
        review.event_id,
        str(review.member),
        review.rule,
        review.status,
        review.reason,
        sum(points for _, _, points in review.awards),
        tuple(coupon for _, coupon in review.coupons),
    )


def _save_change(
    unit: RecordsWriting, change: FreezeChange, index: int, payload: tuple[tuple[str, str], ...]
) -> None:
    document = {
        "frozen": change.frozen,
        "reason": change.reason,
        "at": change.at.isoformat(),
        "key": change.key,
    }
    unit.save_rule_event(
        RuleEventRecord(
            event_id=_freeze_record(change.member, index),
            member=change.member,
            kind="freeze" if change.frozen else "unfreeze",
            at=change.at,
            decision=json.dumps(document, sort_keys=True),
            counters=((_FREEZES, 0, 1),),
            budgets=((_frozen_budget(change.member), 1 if change.frozen else -1),),
        )
    )
    emit_event(
        unit,
        "member.frozen" if change.frozen else "member.unfrozen",
        f"{change.member}:{index}",
        change.at,
        MemberFreezeChanged(str(change.member), change.frozen, change.reason, change.key),
    )
    unit.save_rule_event(
        RuleEventRecord(
            event_id=_freeze_key_record(change.key),
            member=change.member,
            kind="freeze_key",
            at=change.at,
            decision=json.dumps(
                {**document, "request": [list(pair) for pair in payload]}, sort_keys=True
            ),
        )
    )


def _change_of(member: MemberId, document: dict[str, object]) -> FreezeChange:
    return FreezeChange(
        member,
        bool(document["frozen"]),
        str(document["reason"]),
        datetime.fromisoformat(str(document["at"])),
        str(document["key"]),
    )


def _replayed_change(key: str, payload: tuple[tuple[str, str], ...], seen: str) -> FreezeChange:
    document = json.loads(seen)
    stored = tuple(tuple(pair) for pair in document["request"])
    if stored != payload:
        raise conflict(key, dict(stored), dict(payload))
    member = MemberId(json.loads(dict(payload)["member"]))
    return attrs.evolve(_change_of(member, document), replayed=True)

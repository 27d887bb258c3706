"""Referrals on a ledger: codes, attribution, rewards to both sides once, caps per referrer.

Maintainer's notes
------------------
Everything lives in the records part, under ids starting ``pointkit:referral:``:

- ``code:<CODE>`` (the owner's record) and ``member-code:<member>``: a member's code, made once
  (:func:`~pointkit.campaigns.referral_code`: attempt 0, then 1, ... while another member holds
  the code); saving an id twice fails, so two units making codes at once cannot both win.
- ``invitee:<invitee>``: the attribution, once per invitee; ``of:<referrer>:<n>``: the
  referrer's *n*-th invitee, carrying the referrer's ``attributed`` counter (+1) and, for a
  declared identity, the identity's attribution budget (+1): the budget is locked, so of two
  invitees registering with one identity at once only the first can ever be rewarded.
- ``reward:<invitee>``: the settlement, once per invitee ever, in the referrer's name: rewarded
  (the referrer's ``rewarded`` counter for the cap period +1, and the once-only budgets of the
  invitee and of their identity +1, the two earn transactions posted in the same unit) or not
  (the reason, nothing counted).

Attribution and settlement lock the referrer's and the invitee's wallets (sorted), then the
budgets: wallets before budgets, as everywhere. Every increment is carried by the record saved
with it, so the programme's audit replays them.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any, final

import attrs

from pointkit import limits
from pointkit._validate import check_aware, check_int, type_name
from pointkit._values import MemberId
from pointkit.campaigns._codes import normalize_code
from pointkit.campaigns._referrals import (
    Referral,
    ReferralProgram,
    ReferralStatus,
    identity_digest,
    referral_code,
    settle,
)
from pointkit.exceptions import ArgumentTypeError, InvariantViolation, ReferralRefusedError
from pointkit.features._base import RecordsFeature
from pointkit.features._events import ReferralChanged, emit_event
from pointkit.features._parts import RuleEventRecord
from pointkit.ledger._envelope import (
    RESERVED_KEY_PREFIX,
    Envelope,
    check_key,
    conflict,
    retrying,
)
from pointkit.ledger._envelope import request as _request
from pointkit.rules import Event


if TYPE_CHECKING:
    from pointkit.features._parts import RecordsReading, RecordsWriting
    from pointkit.ledger import Ledger, Linked, Transaction


__all__ = ["ReferralReward", "Referrals"]

_PREFIX = f"{RESERVED_KEY_PREFIX}referral:"
_ATTRIBUTED = (f"{_PREFIX}attributed", "lifetime")
_CODE_ATTEMPTS_MAX = 64  # 25^8 codes: needing more than a few attempts is astronomical


def _code_record(code: str) -> str:
    return f"{_PREFIX}code:{code}"


def _member_code_record(member: MemberId) -> str:
    return f"{_PREFIX}member-code:{member}"


def _invitee_record(invitee: MemberId) -> str:
    return f"{_PREFIX}invitee:{invitee}"


def _of_record(referrer: MemberId, index: int) -> str:
    return f"{_PREFIX}of:{referrer}:{index}"


def _reward_record(invitee: MemberId) -> str:
    return f"{_PREFIX}reward:{invitee}"


def _identity_budget(digest: str) -> str:
    return f"{_PREFIX}identity:{digest}"


def _paid_budgets(invitee: MemberId, digest: str | None) -> list[str]:
    names = [f"{_PREFIX}paid:{invitee}"]
    if digest is not None:
        names.append(f"{_PREFIX}paid-identity:{digest}")
    return sorted(names)


def _rewarded_counter(period: str) -> tuple[str, str]:
    return (f"{_PREFIX}rewarded", period)


def _moment(text: object) -> datetime:
    return datetime.fromisoformat(str(text))


@final
@attrs.frozen
class ReferralReward:
    """What qualifying an invitee did.

    Attributes:
        referral: The referral after it: ``rewarded``, or ``not_rewarded`` with the reason.
        transactions: The reward transactions posted (the referrer's, then the invitee's,
            each when its points are above 0); empty when not rewarded or replayed.
        replayed: Whether the referral was settled earlier; nothing was written now.
    """

    referral: Referral
    transactions: tuple[Transaction, ...] = ()
    replayed: bool = False


@final
class Referrals(RecordsFeature):
    """Referral codes, attribution and rewards to both sides, on a ledger.

    Args:
        ledger: The ledger the rewards are posted on; its storage needs the records part.
        terms: The programme's terms.
    """

    _name = "referrals"

    def __init__(self, ledger: Ledger, terms: ReferralProgram) -> None:
        super().__init__(ledger)
        if not isinstance(terms, ReferralProgram):
            raise ArgumentTypeError(
                f"terms={terms!r} must be a ReferralProgram, not {type_name(terms)}"
            )
        self._terms = terms
        self._currency = ledger.currency(terms.currency)

    @property
    def terms(self) -> ReferralProgram:
        """The programme's terms."""
        return self._terms

    # -- codes -------------------------------------------------------------------------------

    def code_for(self, member: str, *, key: str, identity: str | None = None) -> str:
        """Return *member*'s referral code, making it the first time; stable once made.

        Args:
            member: The member.
            key: The idempotency key of the first making (kept with the code).
            identity: The member's declared identity (a phone hash), if known: an invitee
                declaring the same identity cannot be their own referral. Kept from the
                first making.

        Returns:
            A code such as ``"RF-7KQ4-MX9C"`` (:data:`~pointkit.campaigns.REFERRAL_CODES`).
        """
        owner = MemberId(member)
        checked_key = check_key(key)
        digest = None if identity is None else identity_digest(identity)

        def attempt() -> str:
            with self._ledger.linked() as link:
                unit = self._writer(link)
                stored = unit.rule_event(_member_code_record(owner))
                if stored is not None:
                    return str(json.loads(stored)["code"])
                for tried in range(_CODE_ATTEMPTS_MAX):
                    code = referral_code(owner, tried)
                    if unit.rule_event(_code_record(code)) is None:
                        break
                else:  # pragma: no cover - 64 collisions in 25^8 codes
                    raise InvariantViolation(f"no free referral code for member {owner!r}")
                document = {"code": code, "member": str(owner), "identity": digest}
                for name in (_code_record(code), _member_code_record(owner)):
                    unit.save_rule_event(
                        RuleEventRecord(
                            event_id=name,
                            member=owner,
                            kind="referral_code",
                            at=link.now,
                            decision=json.dumps({**document, "key": checked_key}, sort_keys=True),
                        )
                    )
                return code

        return retrying(attempt, _request("referral_code", member=owner), checked_key)

    def _owner(self, unit: RecordsReading, code: str) -> dict[str, Any]:
        stored = unit.rule_event(_code_record(code))
        if stored is None:
            raise ReferralRefusedError(code, "unknown_code", f"code={code!r} is no referral code")
        document: dict[str, Any] = json.loads(stored)
        return document

    # -- attribution -------------------------------------------------------------------------

    def attribute(
        self,
        code: str,
        invitee: str,
        *,
        identity: str | None,
        at: datetime,
        key: str,
    ) -> Referral:
        """Attribute *invitee*'s registration to the owner of *code*, once.

        An invitee is attributed once ever. A declared *identity* (a phone hash) already
        declared by another invitee makes this one attributed but never rewarded
        (``repeat_identity``): one reward per person across re-registrations.

        Args:
            code: The referral code the invitee registered with (case is ignored).
            invitee: The new member.
            identity: Their declared identity, or ``None``.
            at: When they registered: the qualifying window starts here.
            key: The idempotency key (the registration's id).

        Raises:
            ReferralRefusedError: ``unknown_code``; ``self_referral`` (the referrer's own
                code, or the referrer's declared identity); ``already_attributed``.
            IdempotencyConflictError: If *key* attributed something else.
        """
        wanted, new = normalize_code(code), MemberId.named("invitee", invitee)
        when = check_aware("at", at)
        digest = None if identity is None else identity_digest(identity)
        checked_key = check_key(key)
        payload = _request("attribute_referral", code=wanted, invitee=new, identity=digest, at=when)

        def attempt() -> Referral:
            with self._ledger.linked() as link:
                unit = self._writer(link)
                owner = self._owner(unit, wanted)
                referrer = MemberId(owner["member"])
                unit.lock_wallets(sorted({(referrer, self._currency), (new, self._currency)}))
                seen = unit.rule_event(_invitee_record(new))
                if seen is not None:
                    document = json.loads(seen)
                    stored = tuple(tuple(pair) for pair in document["request"])
                    if document["key"] == checked_key:
                        if stored != payload:
                            raise conflict(checked_key, dict(stored), dict(payload))
                        return self._referral_of(unit, new)
                    raise ReferralRefusedError(
                        str(new),
                        "already_attributed",
                        f"invitee={str(new)!r} was already attributed to a referral",
                    )
                self._check_not_self(unit, referrer, new, owner, digest)
                budgets = [] if digest is None else [_identity_budget(digest)]
                repeats = unit.lock_budgets(budgets).get(budgets[0], 0) if budgets else 0
                count = unit.counters(referrer, [_ATTRIBUTED]).get(_ATTRIBUTED, (0, 0))[1]
                document = {
                    "request": [list(pair) for pair in payload],
                    "key": checked_key,
                    "code": wanted,
                    "referrer": str(referrer),
                    "invitee": str(new),
                    "identity": digest,
                    "at": when.isoformat(),
                    "deadline": self._terms.deadline(when).isoformat(),
                    "index": count + 1,
                    "refused": "repeat_identity" if repeats > 0 else None,
                }
                return self._save_attribution(unit, link, document, budgets)

        return retrying(attempt, payload, checked_key)

    def _check_not_self(
        self,
        unit: RecordsReading,
        referrer: MemberId,
        invitee: MemberId,
        owner: dict[str, Any],
        digest: str | None,
    ) -> None:
        if referrer == invitee:
            raise ReferralRefusedError(
                str(invitee), "self_referral", f"invitee={str(invitee)!r} owns the code"
            )
        if digest is None:
            return
        own = {owner.get("identity")}
        as_invitee = unit.rule_event(_invitee_record(referrer))
        if as_invitee is not None:
            own.add(json.loads(as_invitee).get("identity"))
        if digest in own:
            raise ReferralRefusedError(
                str(invitee),
                "self_referral",
                f"identity of invitee={str(invitee)!r} is the referrer's declared identity",
            )

    def _save_attribution(
        self,
        unit: RecordsWriting,
        link: Linked,
        document: dict[str, Any],
        budgets: list[str],
    ) -> Referral:
        referrer, invitee = MemberId(document["referrer"]), MemberId(document["invitee"])
        unit.save_rule_event(
            RuleEventRecord(
                event_id=_of_record(referrer, document["index"]),
                member=referrer,
                kind="referral_attributed",
                at=link.now,
                decision=json.dumps({"invitee": str(invitee)}),
                counters=((_ATTRIBUTED, 0, 1),),
                budgets=tuple((name, 1) for name in budgets),
            )
        )
        unit.save_rule_event(
            RuleEventRecord(
                event_id=_invitee_record(invitee),
                member=invitee,
                kind="referral_invitee",
                at=link.now,
                decision=json.dumps(document, sort_keys=True),
            )
        )
        data = ReferralChanged(
            str(referrer), str(invitee), "attributed", document["refused"], None, 0, 0
        )
        emit_event(unit, "referral.attributed", str(invitee), link.now, data)
        return self._referral_of(unit, invitee)

    # -- rewards -----------------------------------------------------------------------------

    def qualify_on(self, link: Linked, event: Event) -> ReferralReward | None:
        """Settle the referral of *event*'s member if the event qualifies, in *link*'s unit.

        Feed it every recorded event: an event of a member with no pending referral, or that
        does not qualify (another kind, under the minimum, outside the window), writes
        nothing and returns ``None``. A qualifying one settles the referral once ever: both
        sides are paid (through the ledger, on *link*), unless the referrer reached the cap
        for the period, or the invitee's identity was a repeat or already paid; then it is
        settled without a reward, the reason recorded.

        Returns:
            What settling did, or ``None`` if the event settles nothing.

        Raises:
            MemberFrozenError: If anti-cheat froze the referrer or the invitee: nothing is
                written; settle again after unfreezing.

        Settling writes ``referral.settled`` in the unit (attributing wrote
        ``referral.attributed``).
        """
        if not isinstance(event, Event):
            raise ArgumentTypeError(f"event={event!r} must be an Event, not {type_name(event)}")
        unit = self._writer(link)
        seen = unit.rule_event(_invitee_record(event.member))
        if seen is None or unit.rule_event(_reward_record(event.member)) is not None:
            return None
        document = json.loads(seen)
        qualifies = self._terms.qualifies(
            event.kind, event.get("amount"), attributed_at=_moment(document["at"]), at=event.at
        )
        if not qualifies:
            return None
        referrer, invitee = MemberId(document["referrer"]), event.member
        unit.lock_wallets(sorted({(referrer, self._currency), (invitee, self._currency)}))
        if unit.rule_event(_reward_record(invitee)) is not None:  # settled while we waited
            return attrs.evolve(ReferralReward(self._referral_of(unit, invitee)), replayed=True)
        budgets = _paid_budgets(invitee, document["identity"])
        paid = max(unit.lock_budgets(budgets).values(), default=0)
        counter = _rewarded_counter(self._terms.period(link.now))
        rewarded = unit.counters(referrer, [counter]).get(counter, (0, 0))[1]
        reason = settle(
            self._terms, refused=document["refused"], rewarded_in_period=rewarded, paid=paid
        )
        posted: tuple[Transaction, ...] = ()
        if reason is None:
            posted = tuple(
                self._pay(link, side, member, points, event)
                for side, member, points in (
                    ("referrer", referrer, self._terms.referrer_points),
                    ("invitee", invitee, self._terms.invitee_points),
                )
                if points > 0
            )
        unit.save_rule_event(
            RuleEventRecord(
                event_id=_reward_record(invitee),
                member=referrer,
                kind="referral_reward",
                at=link.now,
                decision=json.dumps(
                    {"event": event.id, "reason": reason, "at": link.now.isoformat()},
                    sort_keys=True,
                ),
                counters=() if reason is not None else ((counter, 0, 1),),
                budgets=() if reason is not None else tuple((name, 1) for name in budgets),
            )
        )
        rewarded_now = reason is None
        settled = ReferralChanged(
            str(referrer), str(invitee), "settled", reason, event.id,
            self._terms.referrer_points if rewarded_now else 0,
            self._terms.invitee_points if rewarded_now else 0,
        )  # fmt: skip
        emit_event(unit, "referral.settled", str(invitee), link.now, settled)
        return ReferralReward(self._referral_of(unit, invitee), posted)

    def _pay(
        self, link: Linked, side: str, member: MemberId, points: int, event: Event
    ) -> Transaction:
        key = f"{_reward_record(event.member)}:{side}"
        event_id = event.id
        envelope = Envelope(
            key,
            _request("referral_reward", side=side, member=member, points=points),
            f"referral reward ({side})",
            (("event", event_id), ("side", side)),
        )
        booking = link.booking(key, self._currency, [member])
        plan = link.plan_credit(
            envelope, booking, member=member, currency=self._currency, amount=points
        )
        return link.post(plan)

    def qualify(self, event: Event, *, key: str) -> ReferralReward | None:
        """Like :meth:`qualify_on`, in a unit of work of its own; idempotent per invitee.

        Args:
            event: The recorded event.
            key: The idempotency key (the event's id serves).
        """
        checked_key = check_key(key)

        def attempt() -> ReferralReward | None:
            with self._ledger.linked() as link:
                return self.qualify_on(link, event)

        return retrying(attempt, _request("qualify_referral", event=event.id), checked_key)

    # -- reads -------------------------------------------------------------------------------

    def referral(self, invitee: str) -> Referral | None:
        """Return *invitee*'s referral as it stands, or ``None`` if they were not attributed."""
        member = MemberId.named("invitee", invitee)
        with self._reading() as read:
            unit = self._reader(read)
            if unit.rule_event(_invitee_record(member)) is None:
                return None
            return self._referral_of(unit, member)

    def referrals_of(self, referrer: str, *, limit: int = 100) -> tuple[Referral, ...]:
        """Return *referrer*'s latest *limit* referrals, oldest first, each as it stands."""
        member = MemberId.named("referrer", referrer)
        most = check_int(
            "limit",
            limit,
            minimum=1,
            maximum=limits.REFERRALS_LISTED_MAX,
            limit_name="REFERRALS_LISTED_MAX",
        )
        with self._reading() as read:
            unit = self._reader(read)
            count = unit.counters(member, [_ATTRIBUTED]).get(_ATTRIBUTED, (0, 0))[1]
            found = []
            for index in range(max(1, count - most + 1), count + 1):
                stored = unit.rule_event(_of_record(member, index))
                if stored is None:  # pragma: no cover - saved with the counter it numbers
                    raise InvariantViolation(f"referral {index} of {member!r} has no record")
                found.append(self._referral_of(unit, MemberId(json.loads(stored)["invitee"])))
            return tuple(found)

    def _referral_of(self, unit: RecordsReading, invitee: MemberId) -> Referral:
        stored = unit.rule_event(_invitee_record(invitee))
        if stored is None:  # pragma: no cover - callers read it first
            raise InvariantViolation(f"invitee {invitee!r} has no attribution record")
        document = json.loads(stored)
        at, deadline = _moment(document["at"]), _moment(document["deadline"])
        base = Referral(
            invitee=invitee,
            referrer=MemberId(document["referrer"]),
            code=document["code"],
            attributed_at=at,
            deadline=deadline,
            status=ReferralStatus.PENDING,
            reason=document["refused"],
        )
        settled = unit.rule_event(_reward_record(invitee))
        if settled is not None:
            outcome = json.loads(settled)
            return attrs.evolve(
                base,
                status=ReferralStatus.NOT_REWARDED
                if outcome["reason"]
                else ReferralStatus.REWARDED,
                reason=outcome["reason"],
                settled_at=_moment(outcome["at"]),
            )
        if self._now() > deadline:
            return attrs.evolve(base, status=ReferralStatus.EXPIRED)
        return base

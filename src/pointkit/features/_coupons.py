"""Coupons on a ledger: issue, look up, list, check, redeem and give back, once per key.

Maintainer's notes
------------------
:mod:`pointkit.campaigns` decides (may this coupon be issued, used, what does it take off an
order); this feature keeps the state in the records part of storage and commits it in the
ledger's linked units of work, so a coupon issued by an offer, a prize or a mission commits with
its cause (:meth:`Coupons.issue_on`, the :class:`~pointkit.features.CouponIssuer` protocol).

What is stored, all under reserved ``pointkit:`` names:

* ``pointkit:coupon:<code>`` — the coupon (owner, window, uses). Its id is its code, so the
  records part's refusal of a duplicate id is the code's uniqueness check (see
  :mod:`pointkit.campaigns._codes`). It carries the issue's increments: the definition's stock
  budget, the member's limit counters and the member's coupon count;
* ``pointkit:coupon-issue:<key:...|source:...>`` — the issue's request and code, for replays;
* ``pointkit:coupon-of:<member>:<n>`` — the member's *n*-th coupon's code: the index that
  :meth:`Coupons.coupons_of` reads back from the member's count (``pointkit:coupons``, a
  lifetime counter). Two units issuing to one member at once both write the same index id; one
  fails transiently and runs again, which is what serialises a member's limits;
* ``pointkit:coupon-uses:<code>`` — a programme budget counting the coupon's uses spent,
  locked by every redeem and give-back of that code, so no two uses take its last one;
* ``pointkit:coupon-revoked:<code>`` — the coupon was revoked (the offer redemption that issued
  it was cancelled or timed out), carrying the increment that spends its open uses;
* ``pointkit:coupon-use:<key>`` — a use (the order's total and the discount), carrying +1 on
  the uses budget; ``pointkit:coupon-return:<key>`` a give-back, carrying -1 (nothing once
  the coupon is revoked: its uses stay spent), and ``pointkit:coupon-returned:<use key>`` the
  mark that a use was given back, once.

Every increment is carried by a record, so the programme's audit replays them. A refused
command raises inside its unit, which rolls back: nothing is written, no event either. Each
change writes its outbox event in its unit (on a storage with the outbox part):
``coupon.issued`` (id from the code), ``coupon.used`` (the use's key), ``coupon.returned`` (the
give-back's key) and ``coupon.revoked`` (the code).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final, TypeVar, final

import attrs

from pointkit import limits
from pointkit._validate import check_int, type_name
from pointkit._values import MemberId
from pointkit.campaigns import (
    CouponDefinition,
    CouponUse,
    Discount,
    IssuedCoupon,
    Order,
    normalize_code,
)
from pointkit.exceptions import (
    ArgumentTypeError,
    ConfigurationError,
    CouponNotFoundError,
    CouponRefusedError,
    InvalidArgumentError,
    InvariantViolation,
)
from pointkit.features._base import RecordsFeature
from pointkit.features._events import CouponIssued, CouponRevoked, CouponUseChanged, emit_event
from pointkit.features._parts import RuleEventRecord, record_writer
from pointkit.ledger._envelope import (
    RESERVED_KEY_PREFIX,
    Request,
    check_key,
    conflict,
    request,
    retrying,
)
from pointkit.pricing import SecretsRandom


if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from pointkit.features._parts import RecordsReading, RecordsWriting
    from pointkit.ledger import Ledger, Linked, WriteUnit
    from pointkit.pricing import RandomSource


__all__ = ["Coupons"]

_T = TypeVar("_T")

_COUNT: Final = (f"{RESERVED_KEY_PREFIX}coupons", "lifetime")
"""The member counter whose tasks count the coupons issued to the member: the index's length."""

_ROUNDING: Final = "floor"
"""A percentage off rounds down onto the grid: it favours the issuer."""


def _coupon_record(code: str) -> str:
    return f"{RESERVED_KEY_PREFIX}coupon:{code}"


def _issue_record(source: str) -> str:
    return f"{RESERVED_KEY_PREFIX}coupon-issue:{source}"


def _index_record(member: MemberId, number: int) -> str:
    return f"{RESERVED_KEY_PREFIX}coupon-of:{member}:{number}"


def _uses_budget(code: str) -> str:
    return f"{RESERVED_KEY_PREFIX}coupon-uses:{code}"


def _use_record(key: str) -> str:
    return f"{RESERVED_KEY_PREFIX}coupon-use:{key}"


def _return_record(key: str) -> str:
    return f"{RESERVED_KEY_PREFIX}coupon-return:{key}"


def _returned_record(use: str) -> str:
    return f"{RESERVED_KEY_PREFIX}coupon-returned:{use}"


def _revoked_record(code: str) -> str:
    return f"{RESERVED_KEY_PREFIX}coupon-revoked:{code}"


def _check_not_revoked(unit: RecordsReading, code: str) -> None:
    if unit.rule_event(_revoked_record(code)) is not None:
        raise CouponRefusedError(
            code,
            "revoked",
            f"coupon code {code!r} was revoked: what issued it was cancelled",
        )


def _use_data(use: CouponUse, status: str, key: str) -> CouponUseChanged:
    """The data of a ``coupon.used`` or ``coupon.returned`` event."""
    discount = use.discount
    return CouponUseChanged(
        use.key,
        use.code,
        discount.coupon,
        str(use.member),
        status,
        str(use.order_total),
        str(discount.amount),
        discount.gift,
        key,
    )


class _DryRun(Exception):  # noqa: N818 - control flow inside a dry run, never escapes
    """Raised at the end of a dry run's unit of work, carrying its result, to roll it back."""

    def __init__(self, result: object) -> None:
        super().__init__("dry run")
        self.result = result


def _check_dry_run(dry_run: object) -> bool:
    if not isinstance(dry_run, bool):
        raise ArgumentTypeError(f"dry_run={dry_run!r} must be a bool, not {type_name(dry_run)}")
    return dry_run


def _check_order(order: object) -> Order:
    if not isinstance(order, Order):
        raise ArgumentTypeError(f"order={order!r} must be an Order, not {type_name(order)}")
    return order


def _stored_request(document: dict[str, object]) -> Request:
    pairs = document["request"]
    if not isinstance(pairs, list):  # pragma: no cover - written by this module
        raise InvariantViolation(f"a coupon record's request is {pairs!r}, not a list")
    return tuple((str(name), str(value)) for name, value in pairs)


def _definitions(value: object) -> dict[str, CouponDefinition]:
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise ArgumentTypeError(
            f"definitions={value!r} must be a sequence of CouponDefinition, not {type_name(value)}"
        )
    problems: list[str] = []
    found: dict[str, CouponDefinition] = {}
    if len(value) > limits.COUPONS_MAX:
        problems.append(
            f"definitions: {len(value)} definitions, over limits.COUPONS_MAX ({limits.COUPONS_MAX})"
        )
    for index, definition in enumerate(value):
        if not isinstance(definition, CouponDefinition):
            problems.append(
                f"definitions[{index}]: {definition!r} must be a CouponDefinition, not "
                f"{type_name(definition)}"
            )
        elif definition.id in found:
            problems.append(f"definitions[{index}].id: {definition.id!r} is used twice")
        else:
            found[definition.id] = definition
    if problems:
        raise ConfigurationError("Coupons", problems)
    return found


@final
class Coupons(RecordsFeature):
    """Coupons on a ledger: issue, look up, list, check, redeem and give back.

    Implements :class:`~pointkit.features.CouponIssuer` (:meth:`issue_on`), so the catalogue,
    the lottery and missions issue coupons in their own units of work without importing it.

    Args:
        ledger: The ledger whose units of work the coupons commit in; its storage needs the
            records part.
        definitions: The programme's coupon definitions, ids unique, up to
            ``limits.COUPONS_MAX``.
        random: Where codes come from: the OS's CSPRNG by default; a seeded source only in
            tests (its codes can be predicted).

    Raises:
        ConfigurationError: If *definitions* are not definitions or repeat an id.
    """

    _name = "the coupons"

    def __init__(
        self,
        ledger: Ledger,
        definitions: Sequence[CouponDefinition],
        *,
        random: RandomSource | None = None,
    ) -> None:
        super().__init__(ledger)
        self._definitions = _definitions(definitions)
        source = SecretsRandom() if random is None else random
        if not callable(getattr(source, "below", None)):
            raise ArgumentTypeError(
                f"random={random!r} must be a RandomSource, not {type_name(random)}"
            )
        self._random = source

    @property
    def definitions(self) -> tuple[CouponDefinition, ...]:
        """The coupon definitions, in the order given."""
        return tuple(self._definitions.values())

    def definition(self, coupon: str) -> CouponDefinition:
        """The definition called *coupon*.

        Raises:
            InvalidArgumentError: If the programme has no such definition.
        """
        given: object = coupon  # checked at run time whatever the annotation says
        found = self._definitions.get(given) if isinstance(given, str) else None
        if found is None:
            known = ", ".join(repr(name) for name in sorted(self._definitions)) or "none"
            raise InvalidArgumentError(
                f"coupon={coupon!r} is not a coupon definition of this programme (known: {known})"
            )
        return found

    # -- issuing -----------------------------------------------------------------------------

    def issue(self, coupon: str, member: str, *, key: str, dry_run: bool = False) -> IssuedCoupon:
        """Issue one coupon of definition *coupon* to *member*, once per *key*.

        One unit of work: the definition's stock row is locked (when it has a stock); its
        window, stock and the member's limits are checked; a fresh code is drawn and checked
        unused; the coupon, its issue and the member's index are recorded with the stock and
        count increments. Sending the same *key* with the same coupon and member returns the
        same coupon (``replayed``) and writes nothing.

        Args:
            coupon: The definition's id.
            member: The member who receives it.
            key: The idempotency key.
            dry_run: Issue and roll it all back: the result shows what an issue does now (its
                code is a throwaway), and nothing is written.

        Returns:
            The coupon issued.

        Raises:
            InvalidArgumentError: If an argument is invalid or *coupon* is not a definition.
            IdempotencyConflictError: If *key* was used to issue another coupon or member.
            CouponRefusedError: ``ended``, ``sold_out``, ``member_limit`` or
                ``codes_exhausted``; nothing is written.
        """
        definition = self.definition(coupon)
        member_id = MemberId(member)
        source = f"key:{check_key(key)}"
        rolled_back = _check_dry_run(dry_run)

        def attempt() -> IssuedCoupon:
            with self._ledger.linked() as link:
                issued = self._issue(link, definition, member_id, source)
                if rolled_back:
                    raise _DryRun(issued)
            return issued

        return self._run(attempt, self._issue_request(definition, member_id), source)

    def issue_on(self, link: Linked, coupon: str, member: MemberId, *, source: str) -> str:
        """Issue one coupon of definition *coupon* to *member* on *link*; return its code.

        The :class:`~pointkit.features.CouponIssuer` protocol: the catalogue, the lottery and
        missions call it inside their own units of work. Idempotent by *source*, the id of
        what caused the issue (``"redemption:<hold>:0"``, ``"draw:<draw id>"``,
        ``"mission:m-3:alice:1"``): issuing again with the same source returns the same code
        and writes nothing. The issue commits or rolls back with *link*.

        Raises:
            InvalidArgumentError: If the programme has no coupon definition *coupon*, or
                *source* is not a valid key.
            IdempotencyConflictError: If *source* issued another coupon or member.
            CouponRefusedError: If the definition refuses the issue (``ended``, ``sold_out``,
                ``member_limit``); the caller's link then rolls back.
        """
        definition = self.definition(coupon)
        member_id = MemberId(member)
        checked = check_key(source, name="source")
        return self._issue(link, definition, member_id, f"source:{checked}").code

    def revoke_in(self, unit: WriteUnit, code: str, *, now: datetime) -> None:
        """Revoke the coupon *code* in *unit*: its open uses are spent and it is refused from now on.

        The :class:`~pointkit.features.CouponIssuer` side of a cancellation: the catalogue calls it
        when the redemption that issued the coupon is released (cancelled or timed out), in the
        unit that gives the points back. Uses already made stay made. Revoking twice, or a code
        that was never issued, does nothing.
        """
        records = record_writer(unit, self._name)
        if records.rule_event(_revoked_record(code)) is not None:
            return
        budget = _uses_budget(code)
        used = records.lock_budgets([budget]).get(budget, 0)
        stored = records.rule_event(_coupon_record(code))
        if stored is None:
            return
        found = IssuedCoupon.from_json(stored, used=used)
        records.save_rule_event(
            RuleEventRecord(
                event_id=_revoked_record(code),
                member=found.member,
                kind="coupon_revoke",
                at=now,
                decision=json.dumps({"code": code, "revoked": found.uses_left}, sort_keys=True),
                budgets=((budget, found.uses_left),) if found.uses_left else (),
            )
        )
        emit_event(
            unit,
            "coupon.revoked",
            code,
            now,
            CouponRevoked(code, found.coupon, str(found.member), found.uses_left),
        )

    @staticmethod
    def _issue_request(definition: CouponDefinition, member: MemberId) -> Request:
        return request("issue_coupon", coupon=definition.id, member=str(member))

    def _issue(
        self, link: Linked, definition: CouponDefinition, member: MemberId, source: str
    ) -> IssuedCoupon:
        unit, now = self._writer(link), link.now
        payload = self._issue_request(definition, member)
        seen = unit.rule_event(_issue_record(source))
        if seen is not None:
            document = json.loads(seen)
            stored = _stored_request(document)
            if stored != payload:
                raise conflict(source.split(":", 1)[1], dict(stored), dict(payload))
            found = self._coupon_of(unit, str(document["code"]))
            return attrs.evolve(found, replayed=True)
        stock = [] if definition.stock is None else [definition.stock_key]
        issued = unit.lock_budgets(stock).get(definition.stock_key, 0)
        keys = definition.counter_keys(now)
        counted = unit.counters(member, [*keys, _COUNT])
        definition.check_issue(
            now=now, issued=issued, held=[counted.get(key, (0, 0))[1] for key in keys]
        )
        code = definition.codes.draw(
            self._random,
            lambda candidate: unit.rule_event(_coupon_record(candidate)) is not None,
            subject=definition.id,
        )
        starts, ends = definition.window(now)
        coupon = IssuedCoupon(
            code=code,
            coupon=definition.id,
            member=member,
            issued_at=now,
            starts_at=starts,
            ends_at=ends,
            uses=definition.uses,
            used=0,
            source=source,
        )
        number = counted.get(_COUNT, (0, 0))[1] + 1
        unit.save_rule_event(
            RuleEventRecord(
                event_id=_coupon_record(code),
                member=member,
                kind="coupon",
                at=now,
                decision=coupon.to_json(),
                counters=tuple((key, 0, 1) for key in (*keys, _COUNT)),
                budgets=tuple((name, 1) for name in stock),
            )
        )
        unit.save_rule_event(
            RuleEventRecord(
                event_id=_issue_record(source),
                member=member,
                kind="coupon_issue",
                at=now,
                decision=json.dumps(
                    {"request": [list(pair) for pair in payload], "code": code}, sort_keys=True
                ),
            )
        )
        unit.save_rule_event(
            RuleEventRecord(
                event_id=_index_record(member, number),
                member=member,
                kind="coupon_index",
                at=now,
                decision=json.dumps({"code": code}),
            )
        )
        emit_event(
            unit,
            "coupon.issued",
            code,
            now,
            CouponIssued(code, definition.id, str(member), source, coupon.uses, now, starts, ends),
        )
        return coupon

    def code_for(self, source: str) -> str:
        """The code issued for *source* through :meth:`issue_on` (``"draw:<draw id>"``, ...).

        Raises:
            CouponNotFoundError: If nothing was issued for that source.
        """
        checked = check_key(source, name="source")
        with self._reading() as read:
            seen = self._reader(read).rule_event(_issue_record(f"source:{checked}"))
        if seen is None:
            raise CouponNotFoundError(f"source={checked!r} issued no coupon")
        return str(json.loads(seen)["code"])

    # -- reading -----------------------------------------------------------------------------

    @staticmethod
    def _coupon_of(unit: RecordsReading, code: str) -> IssuedCoupon:
        stored = unit.rule_event(_coupon_record(code))
        if stored is None:
            raise CouponNotFoundError(f"code={code!r} was not issued")
        used = unit.budgets([_uses_budget(code)]).get(_uses_budget(code), 0)
        return IssuedCoupon.from_json(stored, used=used)

    def coupon(self, code: str) -> IssuedCoupon:
        """The coupon with *code* as it stands now: owner, window, uses left.

        *code* is read as a member types it: surrounding spaces and lower case do not matter.

        Raises:
            CouponNotFoundError: If no coupon was issued with that code.
        """
        checked = normalize_code(code)
        with self._reading() as read:
            return self._coupon_of(self._reader(read), checked)

    def coupons_of(self, member: str, *, limit: int = 100) -> tuple[IssuedCoupon, ...]:
        """*member*'s latest *limit* coupons, newest first, used up and expired ones included.

        Args:
            member: The member.
            limit: How many, from 1 to ``limits.COUPONS_LISTED_MAX``.
        """
        member_id = MemberId(member)
        count = check_int(
            "limit",
            limit,
            minimum=1,
            maximum=limits.COUPONS_LISTED_MAX,
            limit_name="COUPONS_LISTED_MAX",
        )
        with self._reading() as read:
            unit = self._reader(read)
            total = unit.counters(member_id, [_COUNT]).get(_COUNT, (0, 0))[1]
            found: list[IssuedCoupon] = []
            for number in range(total, max(total - count, 0), -1):
                stored = unit.rule_event(_index_record(member_id, number))
                if stored is None:  # pragma: no cover - written with the count, in one unit
                    raise InvariantViolation(f"member {member_id!r} lost coupon index {number}")
                found.append(self._coupon_of(unit, str(json.loads(stored)["code"])))
        return tuple(found)

    def issued(self, coupon: str) -> int | None:
        """How many coupons of definition *coupon* were issued; ``None`` without a stock.

        A definition without a stock keeps no count, so that its issues wait on no shared row.
        """
        definition = self.definition(coupon)
        if definition.stock is None:
            return None
        with self._reading() as read:
            used = self._reader(read).budgets([definition.stock_key])
        return used.get(definition.stock_key, 0)

    # -- using -------------------------------------------------------------------------------

    def _decide(
        self, coupon: IssuedCoupon, member: MemberId, order: Order, now: datetime
    ) -> Discount:
        coupon.check_use(now=now, member=member)
        definition = self._definitions.get(coupon.coupon)
        if definition is None:
            raise CouponRefusedError(
                coupon.code,
                "withdrawn",
                f"coupon code {coupon.code!r} is of definition {coupon.coupon!r}, which the "
                "programme no longer has",
            )
        return definition.discount(order, rounding=_ROUNDING)

    def check(self, code: str, member: str, order: Order) -> Discount:
        """What *code* would take off *order* for *member* now; a read, nothing is written.

        Raises:
            CouponNotFoundError: If no coupon was issued with *code*.
            CouponRefusedError: Why it cannot be used: ``not_owner``, ``not_started``,
                ``expired``, ``used_up``, ``withdrawn``, ``currency``, ``category`` or
                ``minimum_spend``, checked in that order.
        """
        checked = normalize_code(code)
        member_id = MemberId(member)
        chosen = _check_order(order)
        with self._reading() as read:
            reader = self._reader(read)
            found = self._coupon_of(reader, checked)
            _check_not_revoked(reader, checked)
        return self._decide(found, member_id, chosen, self._now())

    def redeem(
        self, code: str, member: str, order: Order, *, key: str, dry_run: bool = False
    ) -> CouponUse:
        """Use *code* on *order* for *member*, once per *key*.

        One unit of work: the coupon's uses row is locked; the owner, window and uses left are
        checked, then the order (currency, categories, minimum spend); the use is recorded
        with the discount. Sending the same *key* with the same code, member and order returns
        the same use (``replayed``).

        Args:
            code: The coupon's code, as the member typed it.
            member: The member using it: only its owner may.
            order: The order it is used on.
            key: The idempotency key, for example the host's order id.
            dry_run: Use it and roll it all back: nothing is written.

        Returns:
            The use, with the discount to apply to the order.

        Raises:
            InvalidArgumentError: If an argument is invalid.
            CouponNotFoundError: If no coupon was issued with *code*.
            CouponRefusedError: As :meth:`check` says; nothing is written.
            IdempotencyConflictError: If *key* was used for a different command.
        """
        checked = normalize_code(code)
        member_id = MemberId(member)
        chosen = _check_order(order)
        use_key = check_key(key)
        rolled_back = _check_dry_run(dry_run)
        payload = request(
            "redeem_coupon", code=checked, member=str(member_id), order=chosen.canonical()
        )

        def attempt() -> CouponUse:
            with self._ledger.linked() as link:
                unit, now = self._writer(link), link.now
                seen = unit.rule_event(_use_record(use_key))
                if seen is not None:
                    return self._replayed_use(unit, use_key, payload, seen)
                used = unit.lock_budgets([_uses_budget(checked)]).get(_uses_budget(checked), 0)
                stored = unit.rule_event(_coupon_record(checked))
                if stored is None:
                    raise CouponNotFoundError(f"code={checked!r} was not issued")
                found = IssuedCoupon.from_json(stored, used=used)
                _check_not_revoked(unit, checked)
                discount = self._decide(found, member_id, chosen, now)
                use = CouponUse(
                    key=use_key,
                    code=checked,
                    member=member_id,
                    at=now,
                    order_total=chosen.total,
                    discount=discount,
                )
                unit.save_rule_event(
                    RuleEventRecord(
                        event_id=_use_record(use_key),
                        member=member_id,
                        kind="coupon_use",
                        at=now,
                        decision=json.dumps(
                            {"request": [list(pair) for pair in payload], "use": use.to_dict()},
                            sort_keys=True,
                        ),
                        budgets=((_uses_budget(checked), 1),),
                    )
                )
                emit_event(unit, "coupon.used", use_key, now, _use_data(use, "used", use_key))
                if rolled_back:
                    raise _DryRun(use)
            return use

        return self._run(attempt, payload, use_key)

    @staticmethod
    def _replayed_use(unit: RecordsReading, key: str, payload: Request, seen: str) -> CouponUse:
        document = json.loads(seen)
        stored = _stored_request(document)
        if stored != payload:
            raise conflict(key, dict(stored), dict(payload))
        given_back = unit.rule_event(_returned_record(key)) is not None
        use = CouponUse.from_dict(document["use"], given_back=given_back)
        return attrs.evolve(use, replayed=True)

    def use(self, key: str) -> CouponUse:
        """The use made under *key*, and whether it was given back.

        Raises:
            CouponNotFoundError: If no coupon use was recorded under *key*.
        """
        use_key = check_key(key)
        with self._reading() as read:
            unit = self._reader(read)
            seen = unit.rule_event(_use_record(use_key))
            given_back = unit.rule_event(_returned_record(use_key)) is not None
        if seen is None:
            raise CouponNotFoundError(f"key={use_key!r} recorded no coupon use")
        return CouponUse.from_dict(json.loads(seen)["use"], given_back=given_back)

    def give_back(self, use: CouponUse | str, *, key: str) -> CouponUse:
        """Give a use back (the order was refunded): the coupon may be used again, once per use.

        The coupon is usable again only while it is still in its window: giving back does not
        extend it. A revoked coupon stays used up: the give-back is recorded and opens no use.
        Sending the same *key* for the same use returns the same result
        (``replayed``).

        Args:
            use: The use, or its key.
            key: The give-back's idempotency key.

        Returns:
            The use, ``given_back``.

        Raises:
            CouponRefusedError: ``not_used`` if no use was recorded under that key, or it was
                given back already (under another key); nothing is written.
            IdempotencyConflictError: If *key* was used to give back another use.
        """
        use_key = use.key if isinstance(use, CouponUse) else check_key(use, name="use")
        return_key = check_key(key)
        payload = request("give_back_coupon", use=use_key)

        def attempt() -> CouponUse:
            with self._ledger.linked() as link:
                unit, now = self._writer(link), link.now
                seen = unit.rule_event(_return_record(return_key))
                if seen is not None:
                    stored = _stored_request(json.loads(seen))
                    if stored != payload:
                        raise conflict(return_key, dict(stored), dict(payload))
                    return attrs.evolve(self._use_of(unit, use_key), replayed=True)
                found = self._use_of(unit, use_key)
                unit.lock_budgets([_uses_budget(found.code)])
                if found.given_back:
                    raise CouponRefusedError(
                        found.code,
                        "not_used",
                        f"use={use_key!r} of coupon code {found.code!r} was given back already",
                    )
                # A revoked coupon keeps every use spent: giving one back must not reopen it.
                revoked = unit.rule_event(_revoked_record(found.code)) is not None
                records = self._give_back_records(
                    found, return_key, payload, now, restores=not revoked
                )
                for record in records:
                    unit.save_rule_event(record)
                data = _use_data(found, "returned", return_key)
                emit_event(unit, "coupon.returned", return_key, now, data)
            return attrs.evolve(found, given_back=True)

        return self._run(attempt, payload, return_key)

    @staticmethod
    def _use_of(unit: RecordsReading | RecordsWriting, use_key: str) -> CouponUse:
        seen = unit.rule_event(_use_record(use_key))
        if seen is None:
            raise CouponRefusedError(
                use_key, "not_used", f"use={use_key!r}: no coupon use was recorded under it"
            )
        given_back = unit.rule_event(_returned_record(use_key)) is not None
        return CouponUse.from_dict(json.loads(seen)["use"], given_back=given_back)

    @staticmethod
    def _give_back_records(
        found: CouponUse, return_key: str, payload: Request, now: datetime, *, restores: bool
    ) -> tuple[RuleEventRecord, RuleEventRecord]:
        document = {"request": [list(pair) for pair in payload], "use": found.key}
        return (
            RuleEventRecord(
                event_id=_return_record(return_key),
                member=found.member,
                kind="coupon_return",
                at=now,
                decision=json.dumps(document, sort_keys=True),
                budgets=((_uses_budget(found.code), -1),) if restores else (),
            ),
            RuleEventRecord(
                event_id=_returned_record(found.key),
                member=found.member,
                kind="coupon_returned",
                at=now,
                decision=json.dumps({"key": return_key}),
            ),
        )

    @staticmethod
    def _run(attempt: Callable[[], _T], payload: Request, key: str) -> _T:
        """Run *attempt* with the ledger's retries; a dry run's result is returned, rolled back."""

        def attempt_or_roll_back() -> _T:
            try:
                return attempt()
            except _DryRun as done:
                return done.result  # type: ignore[return-value] # the attempt raised its own result

        return retrying(attempt_or_roll_back, payload, key)

"""Group buys (拼团) on a ledger: open, join, fill, cancel and time out, all or nothing.

Maintainer's notes
------------------
:mod:`pointkit.campaigns` checks the deal; this module keeps each group in the records part and
its members' points in ledger holds:

* ``pointkit:group-buy:<group>`` — the group as opened (deal, price, deadline, the holds'
  expiry), carrying the stock it takes (a programme budget per deal, taken when it opens);
* ``pointkit:group-buy-seat:<group>:<n>`` — the *n*-th member and their hold, carrying ``+1``
  of the group's seat budget ``pointkit:group-buy-seats:<group>``, which every command on the
  group locks (after the members' wallets: wallets before budgets, always);
* ``pointkit:group-buy-hold:<hold>`` — which group a hold belongs to, for the release hook;
* ``pointkit:group-buy-end:<group>`` — how the group ended (completed, cancelled, expired,
  failed), written once, carrying the stock given back when it failed.

Opening writes ``group_buy.opened``; the end record is written with ``group_buy.completed`` or
``group_buy.ended`` (its data's status says how), in the same unit, from every path that ends it.

The member whose join fills the group captures every hold in the same unit of work as their
own reserve: all of them or, if anything refuses, none. A group fills only before its deadline
and its holds time out ``hold_grace_seconds`` after it, so every hold of a filling group is open.
A group that does not fill is timed out by :meth:`GroupBuys.expire` or :meth:`GroupBuys.expire_due`,
which release all its holds in one unit. If the ledger releases one of its holds first (its
timeout in ``Ledger.expire_due``, or a host's ``ledger.release``), the release hook ends the
group (``expired`` or ``failed``) and gives its stock back in that unit; the other holds are
released by the group's timeout, or by their own. No path captures a hold of a group that did
not fill, so a group is all captured or all released.

Captures and releases made here are the ledger's building blocks under reserved keys
(``pointkit:group-buy-capture:<hold>``, ``pointkit:group-buy-release:<hold>``); a hold already
past its own timeout is timed out under the ledger's own key and request, so the ledger's sweep
finds it done.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final, final

import attrs

from pointkit import limits
from pointkit._validate import check_int, check_text, type_name
from pointkit._values import MemberId
from pointkit.campaigns._group_buys import GroupBuyDeal, GroupStatus
from pointkit.exceptions import (
    ArgumentTypeError,
    GroupBuyNotFoundError,
    GroupBuyRefusedError,
    InvalidArgumentError,
    InvariantViolation,
    TransientStorageError,
)
from pointkit.features._base import RecordsFeature, money_of, money_text
from pointkit.features._events import GroupBuyChanged, emit_event
from pointkit.features._parts import RuleEventRecord, record_writer
from pointkit.ledger import HoldStatus, TransactionKind
from pointkit.ledger._envelope import (
    RESERVED_KEY_PREFIX,
    Envelope,
    KeyTaken,
    check_key,
    check_unreserved,
    conflict,
    retrying,
)
from pointkit.ledger._envelope import request as _request
from pointkit.ledger._records import TransactionId


if TYPE_CHECKING:
    from collections.abc import Sequence

    from pointkit._values import Money
    from pointkit.features._parts import RecordsReading, RecordsWriting
    from pointkit.ledger import Hold, Ledger, Linked, Transaction, WriteUnit


__all__ = ["GroupBuy", "GroupBuyExpiry", "GroupBuys"]

_ENDED_BADLY: Final = ("cancelled", "expired", "failed")


def _group_record(group: str) -> str:
    return f"{RESERVED_KEY_PREFIX}group-buy:{group}"


def _seat_record(group: str, seat: int) -> str:
    return f"{RESERVED_KEY_PREFIX}group-buy-seat:{group}:{seat}"


def _hold_record(hold: TransactionId) -> str:
    return f"{RESERVED_KEY_PREFIX}group-buy-hold:{hold}"


def _end_record(group: str) -> str:
    return f"{RESERVED_KEY_PREFIX}group-buy-end:{group}"


def _seats_budget(group: str) -> str:
    return f"{RESERVED_KEY_PREFIX}group-buy-seats:{group}"


@final
@attrs.frozen
class GroupBuy:
    """A group as it stands.

    Attributes:
        group_id: The group's id.
        deal: The deal's id.
        item: What is bought.
        opener: The member who opened it (its first member).
        size: How many members fill it.
        members: Its members, in the order they joined.
        holds: Their holds, in the same order.
        points: What each member pays in points.
        cash: What each member pays in cash (collected by the host), if anything.
        currency: The point currency.
        status: ``open``, ``completed``, ``cancelled``, ``expired`` or ``failed``.
        opened_at: When it opened.
        deadline: When it stops accepting members.
        ended_at: When it completed or ended otherwise, if it has.
        replayed: Whether this answers a command sent again with the same key.
    """

    group_id: str
    deal: str
    item: str
    opener: MemberId
    size: int
    members: tuple[MemberId, ...]
    holds: tuple[TransactionId, ...]
    points: int
    cash: Money | None
    currency: str
    status: GroupStatus
    opened_at: datetime
    deadline: datetime
    ended_at: datetime | None
    replayed: bool = False

    @property
    def missing(self) -> int:
        """How many members it still needs (0 once it completed)."""
        return 0 if self.status == "completed" else self.size - len(self.members)


@final
@attrs.frozen
class GroupBuyExpiry:
    """What one :meth:`GroupBuys.expire_due` call did.

    Attributes:
        as_of: The instant it ran at.
        groups: The groups it timed out or cleaned up, in the order done.
        holds_released: How many holds it released.
        complete: ``False`` when the batch was full: call again.
    """

    as_of: datetime
    groups: tuple[str, ...]
    holds_released: int
    complete: bool


def _check_deal(deal: object) -> GroupBuyDeal:
    if not isinstance(deal, GroupBuyDeal):
        raise ArgumentTypeError(f"deal={deal!r} must be a GroupBuyDeal, not {type_name(deal)}")
    return deal


def _check_group_id(value: object) -> str:
    checked = check_text(
        "group_id",
        value,
        max_length=limits.IDEMPOTENCY_KEY_LENGTH_MAX,
        limit_name="IDEMPOTENCY_KEY_LENGTH_MAX",
    )
    if ":" in checked:
        raise InvalidArgumentError(f"group_id={checked!r} must not contain ':'")
    return check_unreserved("group_id", checked)


@attrs.frozen
class _Seat:
    member: MemberId
    hold: TransactionId


@attrs.frozen
class _Group:
    """A group as stored: its opening record, its seats, and how it ended."""

    id: str
    document: dict[str, object]
    seats: tuple[_Seat, ...]
    status: GroupStatus
    ended_at: datetime | None

    @property
    def deadline(self) -> datetime:
        return datetime.fromisoformat(str(self.document["deadline"]))

    @property
    def currency(self) -> str:
        return str(self.document["currency"])

    @property
    def members(self) -> tuple[MemberId, ...]:
        return tuple(seat.member for seat in self.seats)


def _load(unit: RecordsReading, group: str) -> _Group:
    """Read a group, its seats and its end; raise if it was never opened."""
    stored = unit.rule_event(_group_record(group))
    if stored is None:
        raise GroupBuyNotFoundError(f"group_id={group!r} was never opened")
    document = json.loads(stored)
    count = unit.budgets([_seats_budget(group)]).get(_seats_budget(group), 0)
    seats = []
    for number in range(1, count + 1):
        seat = json.loads(unit.rule_event(_seat_record(group, number)) or "null")
        if seat is None:
            raise InvariantViolation(
                f"group {group!r} counts {count} seats but seat {number} is missing"
            )
        seats.append(_Seat(MemberId(seat["member"]), TransactionId(uuid.UUID(seat["hold"]))))
    ended = unit.rule_event(_end_record(group))
    end = None if ended is None else json.loads(ended)
    return _Group(
        group,
        document,
        tuple(seats),
        "open" if end is None else end["status"],
        None if end is None else datetime.fromisoformat(end["at"]),
    )


def _view(group: _Group, *, replayed: bool = False) -> GroupBuy:
    document = group.document
    return GroupBuy(
        group_id=group.id,
        deal=str(document["deal"]),
        item=str(document["item"]),
        opener=MemberId(str(document["opener"])),
        size=int(str(document["size"])),
        members=group.members,
        holds=tuple(seat.hold for seat in group.seats),
        points=int(str(document["points"])),
        cash=money_of(document["cash"]),
        currency=group.currency,
        status=group.status,
        opened_at=datetime.fromisoformat(str(document["opened_at"])),
        deadline=group.deadline,
        ended_at=group.ended_at,
        replayed=replayed,
    )


def _end(
    unit: RecordsWriting, group: _Group, status: GroupStatus, now: datetime, *, key: str | None
) -> None:
    """Write how *group* ended, giving its stock back unless it completed."""
    document = group.document
    stock = document["stock"]
    give_back: tuple[tuple[str, int], ...] = ()
    if status != "completed" and stock is not None:
        give_back = ((str(stock), -int(str(document["stock_taken"]))),)
    unit.save_rule_event(
        RuleEventRecord(
            event_id=_end_record(group.id),
            member=MemberId(str(document["opener"])),
            kind=f"group_buy_{status}",
            at=now,
            decision=json.dumps(
                {"status": status, "at": now.isoformat(), "key": key}, sort_keys=True
            ),
            budgets=give_back,
        )
    )
    kind = "group_buy.completed" if status == "completed" else "group_buy.ended"
    emit_event(unit, kind, group.id, now, _group_data(attrs.evolve(_view(group), status=status)))


def _group_data(group: GroupBuy) -> GroupBuyChanged:
    """The data of a ``group_buy.*`` event: the group as it stands after the change."""
    return GroupBuyChanged(
        group.group_id, group.deal, str(group.opener), group.status,
        tuple(str(member) for member in group.members), group.size, group.points,
        group.currency, group.deadline,
    )  # fmt: skip


def on_group_hold_released(unit: WriteUnit, hold: Hold, now: datetime) -> None:
    """End the group of a hold the ledger is releasing or timing out, giving its stock back.

    The group buys' release hook: the ledger runs it from every path that releases a hold
    (``release``, a timeout in ``expire_due``); releases made by the group itself do not run
    it. A hold of no group, or of a group that ended already, changes nothing.
    """
    records = record_writer(unit, "group buys")
    index = records.rule_event(_hold_record(hold.id))
    if index is None:
        return
    group_id = str(json.loads(index)["group"])
    records.lock_budgets([_seats_budget(group_id)])
    group = _load(records, group_id)
    if group.status != "open":
        return
    _end(records, group, "expired" if now >= group.deadline else "failed", now, key=None)


@final
class GroupBuys(RecordsFeature):
    """Group buys on a ledger: open, join, cancel, time out; all captured or all released.

    Making it registers its release hook on *ledger*, so that a group's hold released by the
    ledger (a timeout, a host's release) ends the group and gives its stock back.

    Args:
        ledger: The ledger the points are held and spent on; its storage needs the records part.
        deals: The programme's deals: :meth:`expire_due` looks as far ahead as their longest
            ``hold_grace_seconds`` (a day without deals).
    """

    _name = "group buys"

    def __init__(self, ledger: Ledger, deals: Sequence[GroupBuyDeal] = ()) -> None:
        super().__init__(ledger)
        self._deals = tuple(_check_deal(deal) for deal in deals)
        self._grace = max((deal.hold_grace_seconds for deal in self._deals), default=24 * 3600)
        ledger.add_release_hook("group_buys", on_group_hold_released)

    @property
    def deals(self) -> tuple[GroupBuyDeal, ...]:
        """The deals the feature was made with."""
        return self._deals

    def deal(self, deal_id: str) -> GroupBuyDeal:
        """The deal called *deal_id*.

        Raises:
            InvalidArgumentError: If there is none; the message lists the ids.
        """
        for deal in self._deals:
            if deal.id == deal_id:
                return deal
        valid = ", ".join(repr(deal.id) for deal in self._deals) or "none"
        raise InvalidArgumentError(f"deal={deal_id!r} is not one of {valid}")

    def open(
        self, deal: GroupBuyDeal | str, member: str, *, key: str, group_id: str | None = None
    ) -> GroupBuy:
        """Open a group of *deal* with *member* as its first member; take the group's stock.

        One unit of work: the member's wallet is locked, then the group's seat row and the
        deal's stock; the deal's window and stock are checked; the member's points are held
        until the group fills (or fails); the group and its first seat are recorded.

        Args:
            deal: The deal, or the id of one of the deals the feature was made with.
            member: The opener.
            key: The idempotency key of the opener's hold.
            group_id: The group's id (shared with the members invited); *key* if omitted.

        Returns:
            The group, ``open``.

        Raises:
            InvalidArgumentError: If an argument is invalid.
            IdempotencyConflictError: If *key* was used for a different command.
            GroupBuyRefusedError: ``not_started``, ``ended``, ``sold_out``, or ``group_exists``
                (another group has that id).
            InsufficientPointsError: If the member has fewer points available than the price.
        """
        chosen = self.deal(deal) if isinstance(deal, str) else _check_deal(deal)
        who = MemberId(member)
        code = self._ledger.currency(chosen.currency)
        gid = _check_group_id(check_key(key) if group_id is None else group_id)
        envelope = Envelope.of(
            "group_buy_open",
            key=key,
            reason=f"group buy {chosen.id}",
            metadata={"group_buy": gid},
            member=who,
            deal=chosen.id,
            group=gid,
            amount=chosen.points,
            currency=code,
        )

        def attempt() -> GroupBuy:
            with self._ledger.linked() as link:
                unit, now = self._writer(link), link.now
                existing = unit.transaction_by_key(envelope.key)
                if existing is not None:
                    return self._replayed(unit, existing, envelope, gid)
                try:
                    booking = link.booking(envelope.key, code, [who])
                except KeyTaken as taken:
                    return self._replayed(unit, taken.transaction, envelope, gid)
                stock = [] if chosen.stock is None else [chosen.stock_key]
                locked = unit.lock_budgets(sorted([_seats_budget(gid), *stock]))
                if unit.rule_event(_group_record(gid)) is not None:
                    raise GroupBuyRefusedError(
                        gid, "group_exists", f"group_id={gid!r} is taken by another group"
                    )
                chosen.check_open(gid, now=now, taken=locked.get(chosen.stock_key, 0))
                deadline = chosen.deadline(now)
                expires_at = chosen.hold_expiry(deadline)
                booking.reserve(who, chosen.points, expires_at=expires_at)
                plan = envelope.finish(
                    booking,
                    kind=TransactionKind.RESERVE,
                    amount=chosen.points,
                    hold=booking.transaction_id,
                    hold_expires_at=expires_at,
                )
                link.post(plan)
                document = {
                    "deal": chosen.id,
                    "item": chosen.item,
                    "opener": str(who),
                    "size": chosen.size,
                    "points": chosen.points,
                    "cash": money_text(chosen.cash),
                    "currency": code,
                    "opened_at": now.isoformat(),
                    "deadline": deadline.isoformat(),
                    "hold_expires_at": expires_at.isoformat(),
                    "key": envelope.key,
                    "stock": stock[0] if stock else None,
                    "stock_taken": chosen.stock_taken_per_group,
                }
                unit.save_rule_event(
                    RuleEventRecord(
                        event_id=_group_record(gid),
                        member=who,
                        kind="group_buy_opened",
                        at=now,
                        decision=json.dumps(document, sort_keys=True),
                        budgets=tuple((name, chosen.stock_taken_per_group) for name in stock),
                    )
                )
                self._seat(unit, gid, 1, who, plan.transaction.id, envelope.key, now)
                opened = _view(_load(unit, gid))
                emit_event(unit, "group_buy.opened", gid, now, _group_data(opened))
                return opened

        return retrying(attempt, envelope.request, envelope.key)

    def join(self, group_id: str, member: str, *, key: str) -> GroupBuy:
        """Join *member* to an open group; the member whose join fills it completes it.

        One unit of work: the member's wallet is locked (and, when this join fills the group,
        every member's), then the group's seat row; the member's points are held; and if the
        group is now full every member's hold is captured in this same unit — all of them or
        none — and the group is ``completed``.

        Raises:
            InvalidArgumentError: If an argument is invalid.
            GroupBuyNotFoundError: If no group was opened under *group_id*.
            GroupBuyRefusedError: ``already_joined``, ``closed`` (completed, cancelled,
                expired or failed) or ``timed_out`` (past its deadline).
            IdempotencyConflictError: If *key* was used for a different command.
            InsufficientPointsError: If the member has fewer points available than the price.
        """
        gid = _check_group_id(group_id)
        who = MemberId(member)
        envelope = Envelope.of(
            "group_buy_join",
            key=key,
            reason="group buy",
            metadata={"group_buy": gid},
            member=who,
            group=gid,
        )

        def attempt() -> GroupBuy:
            with self._ledger.linked() as link:
                unit, now = self._writer(link), link.now
                existing = unit.transaction_by_key(envelope.key)
                if existing is not None:
                    return self._replayed(unit, existing, envelope, gid)
                before = _load(unit, gid)
                size = int(str(before.document["size"]))
                filling = len(before.seats) + 1 == size
                unit.lock_wallets(
                    sorted(
                        {(m, before.currency) for m in (who, *(before.members if filling else ()))}
                    )
                )
                try:
                    booking = link.booking(envelope.key, before.currency, [who])
                except KeyTaken as taken:
                    return self._replayed(unit, taken.transaction, envelope, gid)
                seats = unit.lock_budgets([_seats_budget(gid)]).get(_seats_budget(gid), 0)
                if seats != len(before.seats):
                    # Someone joined between the read and the locks: the wallets locked may not
                    # be every member's. Run the unit again.
                    raise TransientStorageError("group buy: a member joined meanwhile")
                group = _load(unit, gid)
                GroupBuyDeal.check_join(
                    gid,
                    status=group.status,
                    deadline=group.deadline,
                    now=now,
                    seats=len(group.seats),
                    size=size,
                    joined=who in group.members,
                )
                points = int(str(group.document["points"]))
                expires_at = datetime.fromisoformat(str(group.document["hold_expires_at"]))
                booking.reserve(who, points, expires_at=expires_at)
                plan = envelope.finish(
                    booking,
                    kind=TransactionKind.RESERVE,
                    amount=points,
                    hold=booking.transaction_id,
                    hold_expires_at=expires_at,
                )
                link.post(plan)
                self._seat(
                    unit, gid, len(group.seats) + 1, who, plan.transaction.id, envelope.key, now
                )
                if filling:
                    self._complete(link, unit, _load(unit, gid), now)
                return _view(_load(unit, gid))

        return retrying(attempt, envelope.request, envelope.key)

    def cancel(self, group_id: str, member: str, *, key: str) -> GroupBuy:
        """The opener calls the group off before it fills: release every hold, give stock back.

        Sending the same *key* again returns the cancelled group.

        Raises:
            InvalidArgumentError: If an argument is invalid.
            GroupBuyNotFoundError: If no group was opened under *group_id*.
            GroupBuyRefusedError: ``not_opener`` (only the opener cancels) or ``closed`` (it
                completed or ended already).
        """
        gid = _check_group_id(group_id)
        who = MemberId(member)
        cancel_key = check_key(key)

        def attempt() -> GroupBuy:
            with self._ledger.linked() as link:
                unit, now = self._writer(link), link.now
                group = self._locked(unit, gid)
                if MemberId(str(group.document["opener"])) != who:
                    raise GroupBuyRefusedError(
                        gid, "not_opener", f"member={str(who)!r} did not open group {gid!r}"
                    )
                if group.status != "open":
                    stored = json.loads(unit.rule_event(_end_record(gid)) or "{}")
                    if group.status == "cancelled" and stored.get("key") == cancel_key:
                        return _view(group, replayed=True)
                    raise GroupBuyRefusedError(gid, "closed", f"group {gid!r} is {group.status}")
                _end(unit, group, "cancelled", now, key=cancel_key)
                self._release_all(link, unit, group, now, why="cancelled")
                return _view(_load(unit, gid))

        return retrying(attempt, (("command", "group_buy_cancel"), ("group", gid)), cancel_key)

    def expire(self, group_id: str) -> GroupBuy:
        """Time out one group: if it is open past its deadline, end it and release every hold.

        A group that ended unfilled (cancelled, expired, failed) with holds still open has them
        released; a group still filling, or completed, is returned as it is. Safe to run again.

        Raises:
            GroupBuyNotFoundError: If no group was opened under *group_id*.
        """
        gid = _check_group_id(group_id)

        def attempt() -> tuple[GroupBuy, int]:
            with self._ledger.linked() as link:
                unit, now = self._writer(link), link.now
                return self._expire_one(link, unit, gid, now)

        return retrying(attempt, (("command", "group_buy_expire"), ("group", gid)), gid)[0]

    def expire_due(self, *, limit: int = limits.EXPIRY_BATCH_MAX) -> GroupBuyExpiry:
        """Time out every group past its deadline that still holds points, one unit a group.

        Groups are found through their holds, which time out ``hold_grace_seconds`` after the
        deadline: open holds due within the deals' longest grace are looked at, at most *limit*.
        Run it more often than the grace; ``Ledger.expire_due`` remains the backstop, and its
        timeouts end a group the same way.

        Returns:
            What it did; ``complete`` is ``False`` when the batch was full and held groups'
            holds (call again). A full batch of holds that belong to no group (redemptions
            timing out within the grace) ends nothing and reports ``complete``: calling again
            would read the same batch. The groups behind it end at their holds' own timeouts,
            through ``Ledger.expire_due`` — all released, as always.
        """
        batch = check_int(
            "limit",
            limit,
            minimum=1,
            maximum=limits.EXPIRY_BATCH_MAX,
            limit_name="EXPIRY_BATCH_MAX",
        )
        now = self._now()
        with self._reading() as read:
            unit = self._reader(read)
            due = list(unit.due_holds(now + timedelta(seconds=self._grace), batch))
            groups: list[str] = []
            for hold in due:
                index = unit.rule_event(_hold_record(hold.id))
                if index is not None:
                    group_id = str(json.loads(index)["group"])
                    if group_id not in groups:
                        groups.append(group_id)
        done: list[str] = []
        released = 0
        for group_id in groups:

            def attempt(gid: str = group_id) -> tuple[GroupBuy, int]:
                with self._ledger.linked() as link:
                    return self._expire_one(link, self._writer(link), gid, link.now)

            result, count = retrying(
                attempt, (("command", "group_buy_expire"), ("group", group_id)), group_id
            )
            if count or (result.status in _ENDED_BADLY and result.ended_at == now):
                done.append(group_id)
            released += count
        return GroupBuyExpiry(now, tuple(done), released, len(due) < batch or not groups)

    def group(self, group_id: str) -> GroupBuy:
        """The group opened under *group_id*, as it stands.

        Raises:
            GroupBuyNotFoundError: If no group was opened under it.
        """
        gid = _check_group_id(group_id)
        with self._reading() as read:
            return _view(_load(self._reader(read), gid))

    def taken(self, deal: GroupBuyDeal) -> int | None:
        """How much of *deal*'s stock open and completed groups hold; ``None`` if unlimited."""
        chosen = _check_deal(deal)
        if chosen.stock is None:
            return None
        with self._reading() as read:
            return self._reader(read).budgets([chosen.stock_key]).get(chosen.stock_key, 0)

    # -- inside a unit ------------------------------------------------------------------------

    def _expire_one(
        self, link: Linked, unit: RecordsWriting, gid: str, now: datetime
    ) -> tuple[GroupBuy, int]:
        group = self._locked(unit, gid)
        if group.status == "open":
            if now < group.deadline:
                return (_view(group), 0)
            _end(unit, group, "expired", now, key=None)
        elif group.status == "completed":
            return (_view(group), 0)
        count = self._release_all(
            link, unit, group, now, why=group.status if group.status != "open" else "expired"
        )
        return (_view(_load(unit, gid)), count)

    def _locked(self, unit: RecordsWriting, gid: str) -> _Group:
        """Lock every member's wallet, then the group's seat row; return the group under them."""
        before = _load(unit, gid)
        unit.lock_wallets(sorted({(m, before.currency) for m in before.members}))
        seats = unit.lock_budgets([_seats_budget(gid)]).get(_seats_budget(gid), 0)
        if seats != len(before.seats):
            raise TransientStorageError("group buy: a member joined meanwhile")
        return _load(unit, gid)

    @staticmethod
    def _seat(
        unit: RecordsWriting,
        gid: str,
        number: int,
        member: MemberId,
        hold: TransactionId,
        key: str,
        now: datetime,
    ) -> None:
        unit.save_rule_event(
            RuleEventRecord(
                event_id=_seat_record(gid, number),
                member=member,
                kind="group_buy_joined",
                at=now,
                decision=json.dumps(
                    {
                        "member": str(member),
                        "hold": str(hold),
                        "key": key,
                        "seat": number,
                        "at": now.isoformat(),
                    },
                    sort_keys=True,
                ),
                budgets=((_seats_budget(gid), 1),),
            )
        )
        unit.save_rule_event(
            RuleEventRecord(
                event_id=_hold_record(hold),
                member=member,
                kind="group_buy_hold",
                at=now,
                decision=json.dumps({"group": gid, "seat": number}, sort_keys=True),
            )
        )

    def _complete(self, link: Linked, unit: RecordsWriting, group: _Group, now: datetime) -> None:
        """Capture every member's hold and mark the group completed, in the joiner's unit."""
        for seat in group.seats:
            hold = unit.hold(seat.hold)
            if hold is None or hold.status is not HoldStatus.OPEN or hold.expires_at <= now:
                # Every path that resolves a group's hold ends the group first, and a group
                # fills only before the holds' timeout: an unresolved hold is the only state.
                raise InvariantViolation(
                    f"group {group.id!r}: hold {seat.hold} is not open at completion"
                )
            key = f"{RESERVED_KEY_PREFIX}group-buy-capture:{hold.id}"
            booking = link.booking(
                key, hold.currency, [hold.member], [lot for lot, _ in hold.allocations]
            )
            booking.resolve(hold, capture=hold.amount, status=HoldStatus.CAPTURED)
            plan = booking.finish(
                kind=TransactionKind.CAPTURE,
                amount=hold.amount,
                request=_request("group_buy_capture", group=group.id, hold=hold.id),
                reason=f"group buy {group.document['deal']} completed",
                metadata=(("group_buy", group.id),),
                hold=hold.id,
                expiry_extensions=link.extensions(hold.member, hold.currency),
            )
            link.post(plan)
        _end(unit, group, "completed", now, key=None)

    @staticmethod
    def _release_all(
        link: Linked, unit: RecordsWriting, group: _Group, now: datetime, *, why: str
    ) -> int:
        """Release every open hold of a group that ended unfilled; return how many."""
        count = 0
        for seat in group.seats:
            hold = unit.hold(seat.hold)
            if hold is None or hold.status is not HoldStatus.OPEN:
                continue
            timed_out = hold.expires_at <= now
            # A hold past its own timeout is timed out exactly as the ledger's sweep would, under
            # its key and request, so the sweep finds it done rather than conflicting.
            key = (
                f"{RESERVED_KEY_PREFIX}hold-timeout:{hold.id}"
                if timed_out
                else f"{RESERVED_KEY_PREFIX}group-buy-release:{hold.id}"
            )
            booking = link.booking(
                key, hold.currency, [hold.member], [lot for lot, _ in hold.allocations]
            )
            booking.resolve(
                hold, capture=0, status=HoldStatus.EXPIRED if timed_out else HoldStatus.RELEASED
            )
            plan = booking.finish(
                kind=TransactionKind.HOLD_TIMEOUT if timed_out else TransactionKind.RELEASE,
                amount=hold.amount,
                request=(
                    _request("hold_timeout", hold=hold.id)
                    if timed_out
                    else _request("group_buy_release", group=group.id, hold=hold.id)
                ),
                reason="hold timed out" if timed_out else f"group buy {why}",
                hold=hold.id,
            )
            link.post(plan)
            count += 1
        return count

    def _replayed(
        self, unit: RecordsReading, existing: Transaction, envelope: Envelope, gid: str
    ) -> GroupBuy:
        if existing.request != envelope.request:
            raise conflict(existing.key, dict(existing.request), dict(envelope.request))
        return _view(_load(unit, gid), replayed=True)

"""Linked commands: several ledger commands in one unit of work, all or nothing.

Maintainer's notes
------------------
TigerBeetle links events so that a chain of transfers commits together or not at all; a
:class:`Linked` does the same for ledger commands. It runs each command exactly as the ledger
does (the same :class:`~pointkit.ledger._commands.Commands`), but in one unit of work that the
ledger opened for the whole ``with`` block, at one instant. Each command keeps its own key, so
sending the block again replays every command. A refused command marks the link failed: the
storage rolls the unit back when the block ends, whatever the host did with the error.

The same unit is what pointkit's features build on (:mod:`pointkit.features`): they read and
write their own storage part through :attr:`Linked.unit` and post points through the link's
building blocks (:meth:`Linked.booking`, :meth:`Linked.plan_credit`, :meth:`Linked.post`, ...),
so an offer's stock, a lottery's pity counter or an event's record commits with the points.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, final

from pointkit.exceptions import LinkedCommandError
from pointkit.ledger._booking import Booking
from pointkit.ledger._commands import Commands
from pointkit.ledger._credit import Credit
from pointkit.ledger._envelope import KeyTaken as _KeyTaken
from pointkit.ledger._guards import write_plans
from pointkit.ledger._records import TransactionKind, transaction_id_for


if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence
    from datetime import datetime

    from pointkit._values import MemberId, PointCurrency, ProgramId
    from pointkit.expiry import ExpiryPolicy
    from pointkit.ledger._envelope import Envelope, Request
    from pointkit.ledger._guards import CommandGuard
    from pointkit.ledger._records import (
        AccountKind,
        ClawbackPolicy,
        ExpiryExtension,
        LedgerPolicy,
        LotId,
        RestorePolicy,
        Transaction,
        TransactionId,
    )
    from pointkit.ledger._storage import Plan, ReleaseHook, WalletKey, WalletState, WriteUnit


__all__ = ["Linked"]


@final
class Linked(Commands):
    """Ledger commands that commit together or not at all; made by :meth:`Ledger.linked`.

    Its commands — :meth:`earn`, :meth:`redeem`, :meth:`reserve`, :meth:`capture`,
    :meth:`release`, :meth:`transfer`, :meth:`reverse`, :meth:`adjust` — take the same
    arguments, check the same things and return the same transactions as the ledger's. A
    later command sees what earlier ones did (points earned can be redeemed in the same link).

    >>> from datetime import UTC, datetime
    >>> from pointkit import FixedClock, Ledger, MemoryStorage
    >>> ledger = Ledger(MemoryStorage(), clock=FixedClock(datetime(2026, 3, 1, tzinfo=UTC)))
    >>> _ = ledger.earn("alice", 500, key="order-1001")
    >>> with ledger.linked() as link:
    ...     hold = link.reserve("alice", 300, key="coupon-7:points", timeout_seconds=600)
    ...     _ = link.transfer("alice", "bob", 100, key="gift-9")
    >>> ledger.balance("alice").available, ledger.balance("bob").available
    (100, 100)
    """

    def __init__(
        self,
        unit: WriteUnit,
        now: datetime,
        *,
        program: ProgramId,
        currencies: dict[str, PointCurrency],
        policy: LedgerPolicy,
        expiry: ExpiryPolicy | None,
        release_hooks: dict[str, ReleaseHook],
        guards: dict[str, CommandGuard] | None = None,
        seal_key: bytes | None = None,
    ) -> None:
        self._unit = unit
        self._at = now
        self._program = program
        self._currencies = currencies
        self._default_currency = next(iter(currencies))
        self._policy = policy
        self._expiry = expiry
        self._release_hooks = release_hooks
        self._guards = {} if guards is None else guards
        self._seal_key = seal_key
        self._sent = 0
        self._failed: tuple[int, str, str, str] | None = None
        self._closed = False

    def __repr__(self) -> str:
        state = "closed" if self._closed else "failed" if self._failed else "open"
        return f"Linked(program={str(self._program)!r}, commands={self._sent}, {state})"

    @property
    def unit(self) -> WriteUnit:
        """The storage's unit of work, for the reads and writes of features above the ledger."""
        return self._unit

    @property
    def now(self) -> datetime:
        """The instant every command of the link runs at."""
        return self._at

    @property
    def policy(self) -> LedgerPolicy:
        """The ledger's default clawback and restore policies."""
        return self._policy

    @property
    def expiry(self) -> ExpiryPolicy | None:
        """The ledger's expiry policy, if it has one."""
        return self._expiry

    def _now(self) -> datetime:
        return self._at

    def _execute(
        self,
        key: str,
        request: Request,
        plan: Callable[[WriteUnit, datetime], Plan | None],
        now: datetime | None = None,
        *,
        lookup_first: bool = True,
    ) -> Transaction | None:
        at = self._at if now is None else now
        existing = self._unit.transaction_by_key(key) if lookup_first else None
        if existing is not None:
            return self._replay(existing, request)
        try:
            planned = plan(self._unit, at)
        except _KeyTaken as taken:
            return self._replay(taken.transaction, request)
        if planned is None:  # pragma: no cover - only expiry plans may plan nothing
            return None
        write_plans(self._unit, [planned], self._guards)
        return planned.transaction

    @contextmanager
    def _sending(self, command: str, key: object) -> Iterator[None]:
        """Number a command; if anything refuses it, from its arguments on, fail the link."""
        self._check_usable()
        self._sent += 1
        index = self._sent
        try:
            yield
        except Exception as error:
            self._failed = (index, command, str(key), f"{type(error).__name__}: {error}")
            error.add_note(
                f"linked command {index} ({command}, key={str(key)!r}) was refused: "
                "none of the link's commands is written"
            )
            raise

    def _check_usable(self) -> None:
        if self._closed:
            raise LinkedCommandError(
                "the link's unit of work has ended; open another with ledger.linked()",
                self._sent,
                "",
                "",
            )
        if self._failed is not None:
            index, command, key, cause = self._failed
            raise LinkedCommandError(
                f"linked command {index} ({command}, key={key!r}) was refused ({cause}); "
                "the link writes nothing, so no later command is sent",
                index,
                command,
                key,
            )

    def close(self, *, check: bool = True) -> None:
        """End the link; :meth:`Ledger.linked` calls it when its block ends.

        Args:
            check: Raise if a command was refused (the block ended without an error).

        Raises:
            LinkedCommandError: If *check* and a command was refused: the unit then rolls back.
        """
        try:
            if check:
                self._check_usable()
        finally:
            self._closed = True

    # -- building blocks for features above the ledger ---------------------------------------

    def booking(
        self,
        key: str,
        currency: str,
        members: Sequence[MemberId],
        lot_ids: Sequence[LotId] = (),
        *,
        spending: bool = False,
    ) -> Booking:
        """Lock the members' wallets, check *key* again, and start a booking on them.

        A booking that takes points says *spending*: the storage may then read the first lots
        with the locks, in the same round trip.

        Raises:
            KeyTaken: If *key* is recorded (a concurrent duplicate committed meanwhile).
        """
        self._check_usable()
        return self._booking(
            self._unit, key, currency, self._at, members, lot_ids, spending=spending
        )

    def booking_on(self, key: str, currency: str, wallets: dict[WalletKey, WalletState]) -> Booking:
        """Start a booking on *wallets*, which this link has locked already.

        For a command that books in several currencies (a conversion), each booking its own
        transaction, after one :meth:`WriteUnit.lock_wallets` of all its wallets.
        """
        self._check_usable()
        return Booking(
            transaction_id=transaction_id_for(key, self._at),
            key=key,
            currency=currency,
            now=self._at,
            wallets=wallets,
            open_lots=self._unit.open_lots,
            seal_key=self._seal_key,
        )

    def plan_credit(
        self,
        envelope: Envelope,
        booking: Booking,
        *,
        member: MemberId,
        currency: str,
        amount: int,
        rule: str | None = None,
    ) -> Plan:
        """Plan an earn of *amount* as a new lot under the expiry policy (for *rule*)."""
        credit = Credit(envelope, TransactionKind.EARN, member, currency, amount, None, None, rule)
        return self._plan_credit(credit, booking, self._at)

    def plan_reversal(
        self,
        envelope: Envelope,
        original: TransactionId,
        points: int | None,
        *,
        clawback: ClawbackPolicy,
        restore: RestorePolicy,
        reissue_at: datetime | None,
    ) -> Plan:
        """Plan a reversal of *points* of *original* (all that is left for ``None``)."""
        self._check_usable()
        return self._plan_reversal(
            self._unit,
            self._at,
            envelope,
            original,
            points,
            clawback=clawback,
            restore=restore,
            reissue_at=reissue_at,
        )

    def fresh_lot(
        self, booking: Booking, member: MemberId, amount: int, source: AccountKind
    ) -> None:
        """Credit *amount* in *booking* as a new lot that expires as the policy says."""
        self._fresh_lot(booking, member, amount, source, self._at)

    def extensions(self, member: MemberId, currency: str) -> tuple[ExpiryExtension, ...]:
        """The inactivity extension a qualifying activity of *member* makes now."""
        return self._extensions(member, currency, self._at)

    def post(self, plan: Plan) -> Transaction:
        """Write *plan* in the link's unit of work and return its transaction."""
        self._check_usable()
        write_plans(self._unit, [plan], self._guards)
        return plan.transaction

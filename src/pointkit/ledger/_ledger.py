"""The :class:`Ledger`: a program's points accounts, its commands and the reads hosts need.

Maintainer's notes
------------------
The ledger is the accounting core and nothing else: wallets, lots, holds, transfers,
reversals, adjustments, expiry, balances, statements and the audit. Earning rules, tiers, the
catalogue, lotteries and conversions are features above it (:mod:`pointkit.features`); they
run their commands through :meth:`Ledger.linked`, the same unit of work a host uses to post
points together with its own rows, and this package imports none of them.

The commands themselves are planned in :mod:`pointkit.ledger._commands`; this module runs each
in its own unit of work with retries, runs the expiry job and answers reads.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, TypeVar, final

import attrs

from pointkit import limits
from pointkit._validate import check_aware, check_int, check_text, type_name
from pointkit._values import MemberId, PointCurrency, ProgramId
from pointkit.clock import Clock
from pointkit.exceptions import (
    ArgumentTypeError,
    HoldNotFoundError,
    InvalidArgumentError,
    InvariantViolation,
    LimitExceededError,
    TransactionNotFoundError,
)
from pointkit.expiry import ExpiryPolicy
from pointkit.ledger import _observe
from pointkit.ledger._audit import AuditReport, audit
from pointkit.ledger._booking import Booking
from pointkit.ledger._credit import Earn
from pointkit.ledger._envelope import KeyTaken as _KeyTaken
from pointkit.ledger._envelope import Request as _Request
from pointkit.ledger._envelope import check_id as _check_id
from pointkit.ledger._envelope import retrying as _retrying
from pointkit.ledger._expiry_run import ExpiryRuns
from pointkit.ledger._guards import check_hook, write_plans
from pointkit.ledger._linked import Linked
from pointkit.ledger._records import (
    AccountId,
    AccountKind,
    Balance,
    ExpiringPage,
    LedgerPolicy,
    Statement,
    StatementLine,
    Transaction,
    TransactionKind,
    UpcomingExpiry,
    transaction_id_for,
)
from pointkit.ledger._seal import check_seal_key


if TYPE_CHECKING:
    import uuid
    from collections.abc import Callable

    from pointkit.ledger._guards import CommandGuard
    from pointkit.ledger._records import Hold, Lot
    from pointkit.ledger._storage import Plan, ReleaseHook, Storage, WriteUnit


__all__ = ["AccountBalance", "Ledger"]

_T = TypeVar("_T")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@final
@attrs.frozen
class AccountBalance:
    """A system account's balance: the sums of its postings.

    Attributes:
        account: The account.
        posted: Sum of its posted postings.
        pending: Sum of its pending postings (points reserved by open holds).
    """

    account: AccountId
    posted: int
    pending: int


def _check_within(value: object) -> timedelta:
    if not isinstance(value, timedelta):
        raise ArgumentTypeError(f"within={value!r} must be a timedelta, not {type_name(value)}")
    if value <= timedelta(0):
        raise InvalidArgumentError(f"within={value!r} must be a positive timedelta")
    return value


def _horizon(now: datetime, span: timedelta) -> datetime:
    """Return *now* + *span*, or the last instant a datetime holds if that is later.

    Nothing expires after that instant, so a look-ahead past it reads the same.
    """
    try:
        return now + span
    except OverflowError:
        return datetime.max.replace(tzinfo=UTC)


def _check_cursor(value: object) -> tuple[datetime, MemberId] | None:
    if value is None:
        return None
    if not isinstance(value, tuple) or len(value) != 2:  # noqa: PLR2004 - a pair
        raise ArgumentTypeError(
            f"after={value!r} must be the after of a previous ExpiringPage, or None"
        )
    return (check_aware("after[0]", value[0]), MemberId(value[1]))


def _check_currencies(value: object) -> dict[str, PointCurrency]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ArgumentTypeError(f"currencies={value!r} must be a sequence of PointCurrency")
    if not value:
        raise InvalidArgumentError("currencies=() must hold at least one PointCurrency")
    if len(value) > limits.CURRENCIES_MAX:
        raise LimitExceededError(
            f"currencies has {len(value)} entries, over limits.CURRENCIES_MAX "
            f"({limits.CURRENCIES_MAX})"
        )
    by_code: dict[str, PointCurrency] = {}
    for currency in value:
        if not isinstance(currency, PointCurrency):
            raise ArgumentTypeError(f"currencies holds {currency!r}; each must be a PointCurrency")
        if currency.code in by_code:
            raise InvalidArgumentError(f"currencies holds {currency.code!r} twice")
        by_code[currency.code] = currency
    return by_code


def _check_system_kind(kind: object) -> AccountKind:
    if not isinstance(kind, AccountKind) or kind is AccountKind.MEMBER:
        raise InvalidArgumentError(
            f"kind={kind!r} must be a system AccountKind (not MEMBER); use balance() for a member"
        )
    return kind


@final
class Ledger(ExpiryRuns):
    """A program's points ledger: wallets, lots, holds, transfers, reversals and expiry.

    Every command takes an idempotency ``key``: sending the same command with the same key again
    returns the recorded transaction (with ``replayed=True``) and writes nothing; reusing a key
    for a different command raises :class:`~pointkit.exceptions.IdempotencyConflictError`.
    A command refused for a state reason (insufficient points, ...) records nothing, so a retry is
    evaluated afresh.

    >>> from datetime import UTC, datetime
    >>> from pointkit import FixedClock, Ledger, MemoryStorage
    >>> ledger = Ledger(MemoryStorage(), clock=FixedClock(datetime(2026, 3, 1, tzinfo=UTC)))
    >>> _ = ledger.earn("alice", 500, key="order-1001")
    >>> _ = ledger.redeem("alice", 120, key="coupon-7")
    >>> ledger.balance("alice").available
    380
    >>> ledger.redeem("alice", 1_000, key="coupon-8")
    Traceback (most recent call last):
    ...
    pointkit.exceptions.InsufficientPointsError: member 'alice' has 380 points available, 1000 needed

    Args:
        storage: Where the journal and state live (``MemoryStorage()``, SQLite, PostgreSQL, or a
            host's own adapter).
        clock: Where the time comes from; ``SystemClock()`` in production.
        currencies: The point currencies; the first is the default for every command.
        program: The program (tenant) this ledger works on; one storage holds many.
        policy: Default clawback and restore policies and the debt limit.
        expiry: When earned points expire, per currency and per rule (see
            :mod:`pointkit.expiry`); without it, points expire only when a command says so.
        seal_key: A secret of at least 16 bytes, kept outside the database: every transaction
            written is sealed with an HMAC under it, and :meth:`audit` checks the seals, so
            a transaction edited in the database (checksum recomputed and all) is found. See
            "Tamper evidence" in the ledger guide for what a seal does and does not prove.

    Raises:
        InvalidArgumentError: If a currency is given twice, there are none, or too many.
    """

    def __init__(
        self,
        storage: Storage,
        *,
        clock: Clock,
        currencies: Sequence[PointCurrency] = (PointCurrency("points"),),
        program: str = "default",
        policy: LedgerPolicy | None = None,
        expiry: ExpiryPolicy | None = None,
        seal_key: bytes | None = None,
    ) -> None:
        if not callable(getattr(storage, "writing", None)) or not callable(
            getattr(storage, "reading", None)
        ):
            raise ArgumentTypeError(
                f"storage={storage!r} must implement the Storage protocol (reading and writing)"
            )
        if not isinstance(clock, Clock):
            raise ArgumentTypeError(f"clock={clock!r} must have a now() method")
        by_code = _check_currencies(currencies)
        if policy is not None and not isinstance(policy, LedgerPolicy):
            raise ArgumentTypeError(f"policy={policy!r} must be a LedgerPolicy")
        if expiry is not None and not isinstance(expiry, ExpiryPolicy):
            raise ArgumentTypeError(f"expiry={expiry!r} must be an ExpiryPolicy")
        self._storage = storage
        self._clock = clock
        self._currencies = by_code
        self._default_currency = next(iter(by_code))
        self._program = ProgramId(program)
        self._policy = policy or LedgerPolicy()
        self._expiry = expiry
        self._release_hooks: dict[str, ReleaseHook] = {}
        self._guards: dict[str, CommandGuard] = {}
        self._seal_key = check_seal_key(seal_key)

    def __repr__(self) -> str:
        return (
            f"Ledger(program={str(self._program)!r}, "
            f"currencies={list(self._currencies)!r}, storage={self._storage!r})"
        )

    @property
    def program(self) -> ProgramId:
        """The program this ledger works on."""
        return self._program

    @property
    def currencies(self) -> tuple[PointCurrency, ...]:
        """The point currencies, the default first."""
        return tuple(self._currencies.values())

    @property
    def policy(self) -> LedgerPolicy:
        """The default clawback and restore policies."""
        return self._policy

    @property
    def expiry(self) -> ExpiryPolicy | None:
        """The expiry policy, if the ledger has one."""
        return self._expiry

    @property
    def storage(self) -> Storage:
        """The storage this ledger works on."""
        return self._storage

    @property
    def clock(self) -> Clock:
        """Where this ledger's time comes from."""
        return self._clock

    def add_release_hook(self, name: str, hook: ReleaseHook) -> None:
        """Have *hook* run in every unit of work that releases a hold or times it out.

        A feature above the ledger that takes something when points are reserved (the
        catalogue takes an offer's stock) registers a hook that gives it back, so that
        :meth:`release`, a hold's timeout in :meth:`expire_due` and a linked release all
        give it back in the same unit of work. Registering a name again replaces its hook.

        Args:
            name: The hook's name, e.g. ``"catalogue"``.
            hook: Called with the write unit, the hold as it was before the release, and now.
        """
        self._release_hooks[check_hook(name, hook)] = hook

    def add_guard(self, name: str, guard: CommandGuard) -> None:
        """Have *guard* check every plan before it is written, and refuse it by raising.

        It runs for every command, alone or linked, expiry runs and hold timeouts, and the
        features' postings, in the command's unit of work with the plan's wallets locked
        (see :class:`~pointkit.ledger.CommandGuard`). Anti-cheat refuses a frozen member's
        commands with one. Registering a name again replaces its guard.
        """
        self._guards[check_hook(name, guard)] = guard

    def _now(self) -> datetime:
        return check_aware("clock.now()", self._clock.now())

    @contextmanager
    def linked(self) -> Iterator[Linked]:
        """Open a unit of work in which several commands commit all or nothing.

        Inside the ``with`` block, call commands on the :class:`Linked` it gives — ``earn``,
        ``redeem``, ``reserve``, ``capture``, ``release``, ``transfer``, ``reverse``,
        ``adjust`` — exactly as on the ledger. Each keeps its own idempotency key and its own
        transaction; they all commit when the block ends, or none does. A command that is
        refused raises its error as usual, with a note naming it; from then on the link is
        failed: later commands raise :class:`~pointkit.exceptions.LinkedCommandError` and
        the block ends in a rollback, even if the error was caught. Sending the same block
        again replays every command (``replayed=True``) and writes nothing.

        On a storage that shares the host's connection (SQLite or PostgreSQL given a
        connection), the host's own rows written inside the block commit with the points.

        A transient storage failure (busy database, deadlock) is raised as
        :class:`~pointkit.exceptions.TransientStorageError`; run the block again, or use
        :meth:`run_linked`, which does.

        Yields:
            The link: commands run in its unit of work, at one instant, ``link.now``.

        Raises:
            LinkedCommandError: If a command was refused and the block went on regardless.
        """
        _observe.note_program(self._program)  # a feature's command, whose request names none
        now = self._now()
        with self._storage.writing(self._program) as unit:
            link = Linked(
                unit,
                now,
                program=self._program,
                currencies=self._currencies,
                policy=self._policy,
                expiry=self._expiry,
                release_hooks=self._release_hooks,
                guards=self._guards,
                seal_key=self._seal_key,
            )
            try:
                yield link
            except BaseException:
                link.close(check=False)
                raise
            link.close()

    def run_linked(self, work: Callable[[Linked], _T], *, key: str = "") -> _T:
        """Run *work* with a :meth:`linked` unit of work, again if the storage failed transiently.

        Every command in *work* is idempotent by its own key, so running it again after a
        connection dropped mid-commit replays what committed. *work* must be safe to run
        more than once: the host's own writes go through the link's unit of work (or are
        idempotent themselves).

        Args:
            work: Called with the link; what it returns is returned.
            key: A key to name in storage errors (the first command's, say).

        Returns:
            What *work* returned.

        Raises:
            ArgumentTypeError: If *work* is not callable.
        """
        if not callable(work):
            raise ArgumentTypeError(f"work={work!r} must be callable, not {type_name(work)}")

        def attempt() -> _T:
            with self.linked() as link:
                return work(link)

        return _retrying(attempt, (("command", "linked"),), key)

    def _execute(
        self,
        key: str,
        request: _Request,
        plan: Callable[[WriteUnit, datetime], Plan | None],
        now: datetime | None = None,
        *,
        lookup_first: bool = True,
    ) -> Transaction | None:
        """Run one command as a unit of work: replay it, or plan it and write it.

        With *lookup_first*, the key is looked up before the plan starts; commands that check
        nothing before taking their locks skip that read, since every plan checks the key again
        under the locks (``_booking``) before anything else.

        A transient storage failure (busy database, deadlock, serialization conflict) rolls the
        unit back; the command then runs again from the start, a bounded number of times. That
        is safe because of the idempotency key: if an attempt did commit before its connection
        failed, the next attempt finds the key and replays. Storage errors name the command and
        its key.
        """
        return _retrying(
            lambda: self._attempt(key, request, plan, now, lookup_first=lookup_first),
            request,
            key,
            program=self._program,
        )

    def _execute_batch(
        self,
        plan_all: Callable[[WriteUnit, datetime], list[Transaction | Plan]],
        now: datetime | None,
        *,
        command: str,
        key: str,
    ) -> list[Transaction]:
        """Run many commands as one unit of work, written set-based when the storage can.

        Like :meth:`_execute`: transient failures retry the whole unit; every command in it is
        idempotent by its own key, so a retry replays what an earlier attempt committed.
        """

        def attempt() -> list[Transaction]:
            at = self._now() if now is None else now
            with self._storage.writing(self._program) as unit:
                results = plan_all(unit, at)
                plans = [result for result in results if not isinstance(result, Transaction)]
                write_plans(unit, plans, self._guards)
            return [
                result if isinstance(result, Transaction) else result.transaction
                for result in results
            ]

        return _retrying(attempt, (("command", command),), key, program=self._program)

    def _attempt(
        self,
        key: str,
        request: _Request,
        plan: Callable[[WriteUnit, datetime], Plan | None],
        now: datetime | None,
        *,
        lookup_first: bool,
    ) -> Transaction | None:
        at = self._now() if now is None else now
        with self._storage.writing(self._program) as unit:
            try:
                existing = unit.transaction_by_key(key) if lookup_first else None
                if existing is not None:
                    return self._replay(existing, request)
                planned = plan(unit, at)
            except _KeyTaken as taken:
                return self._replay(taken.transaction, request)
            if planned is None:
                return None
            write_plans(unit, [planned], self._guards)
        return planned.transaction

    def earn_many(self, earns: Sequence[Earn]) -> tuple[Transaction, ...]:
        """Credit many earns in one unit of work: the batch API for bulk awards and imports.

        Each earn is its own transaction, idempotent by its own key, exactly as if sent with
        :meth:`earn`; an earn whose key was recorded before comes back with ``replayed=True``.
        The batch is all or nothing: if any earn is invalid or conflicts, nothing is written.
        Storage that supports it writes the batch set-based (SQLite and PostgreSQL: one
        statement per table and one write per wallet, however many earns the wallet gets) and
        looks the batch's keys up at once (a unit's ``transactions_by_keys``).

        Args:
            earns: Up to ``limits.BATCH_MAX`` earns, with distinct keys.

        Returns:
            The transactions, in the order of *earns*.

        Raises:
            InvalidArgumentError: If an earn is invalid, two share a key, or there are too many.
            IdempotencyConflictError: If a key was used for a different command.
            PointsOverflowError: If a balance would pass ``limits.POINTS_MAX``.
        """
        given: object = earns  # checked at run time whatever the annotation says
        if not isinstance(given, Sequence) or any(not isinstance(e, Earn) for e in given):
            raise ArgumentTypeError("earns must be a sequence of Earn")
        if len(earns) > limits.BATCH_MAX:
            raise LimitExceededError(
                f"earns has {len(earns)} items, over limits.BATCH_MAX ({limits.BATCH_MAX})"
            )
        checked = [self._prepare_credit(TransactionKind.EARN, earn) for earn in earns]
        keys = [credit.envelope.key for credit in checked]
        if len(set(keys)) != len(keys):
            repeated = sorted({key for key in keys if keys.count(key) > 1})
            raise InvalidArgumentError(f"earns repeat the keys {repeated}; each needs its own")

        def plan_all(unit: WriteUnit, now: datetime) -> list[Transaction | Plan]:
            # A storage with lock_for (PostgreSQL) locks every wallet of the batch and looks
            # the keys up under the locks in one round trip.
            locking = getattr(unit, "lock_for", None)
            locked = (
                None
                if locking is None
                else locking(
                    sorted({(c.member, c.currency) for c in checked}), keys, spending=False
                )
            )
            # One lookup for the whole batch where the storage has it (SQL adapters do).
            lookup = getattr(unit, "transactions_by_keys", None)
            recorded: dict[str, Transaction] = (
                dict(locked.recorded)
                if locked is not None
                else lookup(keys)
                if lookup is not None
                else {
                    key: found
                    for key in keys
                    if (found := unit.transaction_by_key(key)) is not None
                }
            )
            results: list[Transaction | Plan | None] = [
                None
                if (existing := recorded.get(credit.envelope.key)) is None
                else self._replay(existing, credit.envelope.request)
                for credit in checked
            ]
            todo = {
                (credit.member, credit.currency)
                for credit, result in zip(checked, results, strict=True)
                if result is None
            }
            wallets = (
                dict(locked.wallets) if locked is not None else unit.lock_wallets(sorted(todo))
            )
            for index, credit in enumerate(checked):
                if results[index] is not None:
                    continue
                wallet = (credit.member, credit.currency)
                booking = Booking(
                    transaction_id=transaction_id_for(credit.envelope.key, now),
                    key=credit.envelope.key,
                    currency=credit.currency,
                    now=now,
                    wallets={wallet: wallets[wallet]},
                    open_lots=unit.open_lots,
                    seal_key=self._seal_key,
                )
                plan = self._plan_credit(credit, booking, now)
                wallets[wallet] = plan.wallets[0]  # the next earn of this wallet starts here
                results[index] = plan
            return [result for result in results if result is not None]

        done = self._execute_batch(plan_all, None, command="earn_many", key=keys[0] if keys else "")
        return tuple(done)

    # -- reads -----------------------------------------------------------------------------

    def balance(self, member: str, currency: str | None = None) -> Balance:
        """Return *member*'s balance now. A member the ledger has never seen has zeros."""
        member_id = MemberId(member)
        code = self._currency(currency)
        now = self._now()
        with self._storage.reading(self._program) as unit:
            wallet = unit.wallet(member_id, code)
        pending = held = awaiting = available = remaining = 0
        for lot in wallet.lots:
            remaining += lot.remaining
            held += lot.held
            if lot.is_due(now):
                awaiting += lot.free
            elif lot.available_at > now:
                pending += lot.free
            else:
                available += lot.free
        # Pair assertions on what storage returned: a tampered or corrupt row raises rather
        # than showing a wrong balance.
        if remaining - wallet.debt != wallet.posted or held != wallet.held:
            raise InvariantViolation(
                f"stored wallet {member_id!r}/{code} disagrees with its lots: posted "
                f"{wallet.posted}, debt {wallet.debt}, held {wallet.held}; lots hold {remaining} "
                f"with {held} held"
            )
        return Balance(
            member=member_id,
            currency=code,
            posted=wallet.posted,
            pending=pending,
            held=held,
            awaiting_expiry=awaiting,
            available=available,
            debt=wallet.debt,
            as_of=now,
        )

    def lots(
        self, member: str, currency: str | None = None, *, include_closed: bool = False
    ) -> tuple[Lot, ...]:
        """Return *member*'s lots in spending order; closed ones only if *include_closed*.

        Raises:
            ArgumentTypeError: If *include_closed* is not a bool.
        """
        member_id = MemberId(member)
        code = self._currency(currency)
        if not isinstance(include_closed, bool):
            raise ArgumentTypeError(
                f"include_closed={include_closed!r} must be a bool, not {type_name(include_closed)}"
            )
        with self._storage.reading(self._program) as unit:
            if include_closed:
                return tuple(unit.wallet_lots(member_id, code))
            return unit.wallet(member_id, code).lots

    def upcoming_expiries(
        self, member: str, within: timedelta, currency: str | None = None
    ) -> tuple[UpcomingExpiry, ...]:
        """Return what *member* loses, and when, if they spend nothing within *within* from now.

        For "use your points before ..." messages. One entry per expiry instant, soonest
        first, counting free points only (held points expire only if their hold is released
        or times out). Under an inactivity window the dates move with every qualifying
        activity, so read them when the message goes out.

        Raises:
            InvalidArgumentError: If *within* is not a positive ``timedelta``.
        """
        member_id = MemberId(member)
        code = self._currency(currency)
        span = _check_within(within)
        now = self._now()
        end = _horizon(now, span)
        points: defaultdict[datetime, int] = defaultdict(int)
        with self._storage.reading(self._program) as unit:
            for lot in unit.open_lots(member_id, code):
                if lot.expires_at is None or lot.expires_at > end:
                    break  # spending order: the rest expire later or never
                if lot.expires_at > now and lot.free > 0:
                    points[lot.expires_at] += lot.free
        return tuple(
            UpcomingExpiry(member_id, code, at, free) for at, free in sorted(points.items())
        )

    def expiring(
        self,
        within: timedelta,
        *,
        currency: str | None = None,
        after: tuple[datetime, MemberId] | None = None,
        limit: int = 1_000,
    ) -> ExpiringPage:
        """List every member who loses points within *within* from now: who, how many, when.

        The program-wide side of :meth:`upcoming_expiries`, for a reminder job: entries come
        in ``(expires_at, member)`` order, a page at a time; pass the page's ``after`` to get
        the next one.

        Args:
            within: How far ahead to look.
            currency: The point currency; the ledger's default if omitted.
            after: The ``after`` of the previous page.
            limit: Most entries in the page, up to ``limits.EXPIRING_PAGE_MAX``.

        Raises:
            InvalidArgumentError: If an argument is invalid.
        """
        code = self._currency(currency)
        span = _check_within(within)
        size = check_int(
            "limit",
            limit,
            minimum=1,
            maximum=limits.EXPIRING_PAGE_MAX,
            limit_name="EXPIRING_PAGE_MAX",
        )
        cursor = _check_cursor(after)
        now = self._now()
        with self._storage.reading(self._program) as unit:
            rows = unit.expiring(code, now, _horizon(now, span), after=cursor, limit=size)
        items = tuple(UpcomingExpiry(member, code, at, points) for at, member, points in rows)
        last = items[-1] if len(items) == size else None
        return ExpiringPage(items, None if last is None else (last.expires_at, last.member))

    # -- earning rules ---------------------------------------------------------------------

    def statement(
        self,
        member: str,
        currency: str | None = None,
        *,
        after: int = 0,
        limit: int = 100,
    ) -> Statement:
        """Return a page of *member*'s statement: each transaction with the running balance.

        Args:
            member: The member.
            currency: The point currency; the default if omitted.
            after: Return lines after this wallet version (``Statement.next_after`` of the
                previous page); 0 for the first page.
            limit: The most lines to return.
        """
        member_id = MemberId(member)
        code = self._currency(currency)
        start = check_int("after", after, minimum=0, maximum=limits.POINTS_MAX)
        size = check_int(
            "limit",
            limit,
            minimum=1,
            maximum=limits.STATEMENT_LINES_MAX,
            limit_name="STATEMENT_LINES_MAX",
        )
        with self._storage.reading(self._program) as unit:
            history = list(
                unit.wallet_history(member_id, code, after_version=start, limit=size + 1)
            )
        lines: list[StatementLine] = []
        for transaction in history[:size]:
            change = transaction.change_for(member_id)
            if change is None:  # pragma: no cover - storage returned a foreign transaction
                raise TransactionNotFoundError(f"{transaction.id} does not touch {member_id!r}")
            lines.append(
                StatementLine(
                    transaction=transaction.id,
                    kind=transaction.kind,
                    at=transaction.created_at,
                    change=change.posted_change,
                    balance=change.posted,
                    held=change.held,
                    debt=change.debt,
                    version=change.version,
                    reason=transaction.reason,
                )
            )
        more = len(history) > size
        return Statement(
            member=member_id,
            currency=code,
            lines=tuple(lines),
            next_after=lines[-1].version if more else None,
        )

    def hold(self, hold: uuid.UUID | str) -> Hold:
        """Return a hold.

        Raises:
            HoldNotFoundError: If there is no such hold.
        """
        hold_id = _check_id("hold", hold)
        with self._storage.reading(self._program) as unit:
            found = unit.hold(hold_id)
        if found is None:
            raise HoldNotFoundError(f"hold={str(hold_id)!r} does not exist")
        return found

    def transaction(self, transaction: uuid.UUID | str) -> Transaction:
        """Return a transaction.

        Raises:
            TransactionNotFoundError: If there is no such transaction.
        """
        transaction_id = _check_id("transaction", transaction)
        with self._storage.reading(self._program) as unit:
            found = unit.transaction(transaction_id)
        if found is None:
            raise TransactionNotFoundError(f"transaction={str(transaction_id)!r} does not exist")
        return found

    def transaction_by_key(self, key: str) -> Transaction | None:
        """Return the transaction recorded under *key*, or ``None``."""
        checked = check_text(
            "key",
            key,
            max_length=limits.IDEMPOTENCY_KEY_LENGTH_MAX,
            limit_name="IDEMPOTENCY_KEY_LENGTH_MAX",
        )
        with self._storage.reading(self._program) as unit:
            return unit.transaction_by_key(checked)

    def system_balance(self, kind: AccountKind, currency: str | None = None) -> AccountBalance:
        """Return a system account's balance (issued points show as a negative issuance)."""
        kind = _check_system_kind(kind)
        account = AccountId.system(kind, self._currency(currency))
        with self._storage.reading(self._program) as unit:
            posted, pending = unit.system_balance(account)
        return AccountBalance(account=account, posted=posted, pending=pending)

    def audit(self) -> AuditReport:
        """Replay the journal and check every balance, lot, hold and invariant against it.

        With a seal key, every transaction's seal is checked too (see ``seal_key``).

        Raises:
            InvariantViolation: Listing what is wrong.
        """
        now = self._now()
        with self._storage.reading(self._program) as unit:
            return audit(unit, now=now, seal_key=self._seal_key)

    def outstanding(self, currency: str | None = None) -> tuple[tuple[datetime | None, int], ...]:
        """Every instant open points expire at, with how many: the input of a liability report.

        Open points are the lots' remaining points, held ones included (a hold is not yet a
        redemption). Pairs come soonest first, ``None`` (never) last. This reads every lot
        of the program: run it from a reporting job.
        """
        code = self._currency(currency)
        totals: dict[datetime | None, int] = {}
        with self._storage.reading(self._program) as unit:
            for lot in unit.all_lots():
                if lot.currency == code and lot.remaining > 0:
                    totals[lot.expires_at] = totals.get(lot.expires_at, 0) + lot.remaining
        return tuple(sorted(totals.items(), key=lambda item: (item[0] is None, item[0] or _EPOCH)))

"""The :class:`Program`: the one object a host needs to run a points mall.

Maintainer's notes
------------------
A program wires a :class:`~pointkit.program.ProgramConfig` (rules, tiers, expiry, catalogue,
lotteries, exchange, policies) to a ledger and the features above it (:mod:`pointkit.features`)
on the host's storage and clock. It is the one facade a host needs: every command and read of
the ledger and the features is here, with the configuration filled in: a recorded event is
evaluated with the member's tier benefits and followed by a tier review; a redemption gets the
member's tier for the gate and the discount; a transfer is checked against the transfer policy.

The tier review after an award runs in a unit of its own once the awards commit, as a host's
scheduled review would. Most awards move nobody up, so the event's own unit first decides what
that review would (:func:`~pointkit.features._tiers.quiet_review`): when the review would store
nothing and would run at the same instant, that decision is the review's, and the second unit is
skipped; otherwise the review runs as before.

Every operation takes ``dry_run``. A dry run runs the very same command on a second stack whose
storage opens each unit of work on the real storage and always rolls it back
(:class:`_DryStorage`): what it returns, or the error it raises, is exactly what the command
would return or raise now, and nothing is written. On PostgreSQL inside a host's transaction
the roll back is the unit's own savepoint, so the host's transaction is untouched.
"""

from __future__ import annotations

import contextlib
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Final, TypeVar, final

import attrs

from pointkit import limits
from pointkit._validate import check_aware, check_int, type_name
from pointkit._values import MemberId
from pointkit.exceptions import (
    ArgumentTypeError,
    InvalidArgumentError,
    MemberFrozenError,
    TransferRefusedError,
    UnknownCurrencyError,
)
from pointkit.features import audit_program
from pointkit.features._parts import record_reader, tier_reader
from pointkit.features._tiers import check_review_calendar, quiet_review
from pointkit.ledger import Ledger, Outbox
from pointkit.program._config import ProgramConfig, config_from_toml, load_config
from pointkit.program._stack import Stack
from pointkit.rules import Event, MemberContext


if TYPE_CHECKING:
    import uuid
    from collections.abc import Callable, Iterator, Sequence
    from contextlib import AbstractContextManager
    from datetime import date, datetime

    from pointkit._values import Money, ProgramId
    from pointkit.clock import Clock
    from pointkit.features import (
        ConversionResult,
        Coupons,
        DrawResult,
        EventOutcome,
        GroupBuys,
        Guard,
        Missions,
        ProgramAuditReport,
        Redemption,
        RedemptionRefund,
        Referrals,
        TierStatus,
    )
    from pointkit.ledger import (
        AccountBalance,
        AccountKind,
        Balance,
        ExpiringPage,
        ExpiryRun,
        Hold,
        Linked,
        Lot,
        ReadUnit,
        Statement,
        Storage,
        Transaction,
        UpcomingExpiry,
        WriteUnit,
    )
    from pointkit.pricing import (
        Disclosure,
        DrawRecord,
        Odds,
        PriceOption,
        ProvablyFair,
        RandomSource,
    )
    from pointkit.rules import RuleSet
    from pointkit.tiers import TierChange, TierDecision, TierLadder

    _T = TypeVar("_T")


__all__ = ["MemberProfile", "Program", "Recorded"]


class _RolledBack(Exception):  # noqa: N818 - control flow inside a dry run, never escapes
    """Raised at the end of a dry run's unit of work so that the storage rolls it back."""


@final
class _DryStorage:
    """A storage whose units of work run on the real storage and are always rolled back."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    def reading(self, program: ProgramId) -> AbstractContextManager[ReadUnit]:
        return self._storage.reading(program)

    @contextmanager
    def writing(self, program: ProgramId) -> Iterator[WriteUnit]:
        try:
            with self._storage.writing(program) as unit:
                yield unit
                raise _RolledBack  # noqa: TRY301 - raising here is what rolls the unit back
        except _RolledBack:
            return


def _to_tags(value: object) -> frozenset[str]:
    if isinstance(value, str | bytes) or not isinstance(value, frozenset | set | list | tuple):
        raise ArgumentTypeError(f"tags={value!r} must be a set of str, not {type_name(value)}")
    return frozenset(value)


@final
@attrs.frozen
class MemberProfile:
    """What the host knows of a member that earning rules may ask about.

    Attributes:
        tags: Segments (``member.tags`` in conditions).
        joined_at: When the member joined (``member.days_since_joining``).
        birthday: The member's birthday (``member.is_birthday``); its year is ignored.
        last_active_at: When the member last did something (``member.days_since_last_activity``).
            The host passes it: the ledger has no cheap read of a member's latest activity (its
            latest transaction may be an expiry or a timeout, and events that earn nothing
            leave none).
    """

    tags: frozenset[str] = attrs.field(default=frozenset(), converter=_to_tags)
    joined_at: datetime | None = None
    birthday: date | None = None
    last_active_at: datetime | None = None


_NO_PROFILE: Final = MemberProfile()


_CONTEXTS_MAX: Final = 1_024
"""The most member contexts a program keeps built (see ``Program.member``)."""


def _context(ladder: TierLadder | None, tier: str | None, profile: MemberProfile) -> MemberContext:
    """The rules' view of a member in *tier* of *ladder* (none: no ladder) with *profile*."""
    multiplier = 1 if ladder is None or tier is None else ladder.benefits(tier).earn_multiplier
    return MemberContext(
        tier=tier,
        tags=profile.tags,
        joined_at=profile.joined_at,
        birthday=profile.birthday,
        earn_multiplier=multiplier,
    )


@final
@attrs.frozen
class Recorded:
    """What :meth:`Program.record` did: the event's outcome and the tier review after it.

    Attributes:
        outcome: The ledger's outcome: the decision and the award transactions.
        tier: The tier review run after the awards; ``None`` without a ladder, when nothing
            was awarded, or on a dry run.
    """

    outcome: EventOutcome
    tier: TierDecision | None


@final
class Program:
    """A whole points mall: configuration, ledger, storage and clock, behind one object.

    >>> from datetime import UTC, datetime
    >>> from pointkit import FixedClock, MemoryStorage
    >>> from pointkit.program import ProgramConfig
    >>> mall = Program(ProgramConfig(id="mall", zone="Asia/Shanghai"), storage=MemoryStorage(), clock=FixedClock(datetime(2026, 3, 1, tzinfo=UTC)))
    >>> _ = mall.adjust("alice", 100, key="welcome", reason="welcome gift")
    >>> mall.balance("alice").available
    100

    Args:
        config: The program's configuration (see :func:`load_config` for TOML).
        storage: Where the points live.
        clock: Where the time comes from; ``SystemClock()`` in production.
        seal_key: A secret the host keeps outside the database (at least 16 bytes): every
            transaction is sealed under it and :meth:`audit` checks the seals (see
            :class:`~pointkit.ledger.Ledger`).
    """

    def __init__(
        self,
        config: ProgramConfig,
        *,
        storage: Storage,
        clock: Clock,
        seal_key: bytes | None = None,
    ) -> None:
        if not isinstance(config, ProgramConfig):
            raise ArgumentTypeError(
                f"config={config!r} must be a ProgramConfig, not {type_name(config)}"
            )
        self._config = config
        self._clock = clock
        self._storage = storage
        self._seal_key = seal_key
        self._live = Stack.on(self._ledger_on(storage), config)
        self._dry = Stack.on(self._ledger_on(_DryStorage(storage)), config)
        self._ledger = self._live.ledger
        self._contexts: dict[tuple[str | None, MemberProfile], MemberContext] = {}
        self._calendar_checked: datetime | None = None

    def _ledger_on(self, storage: Storage) -> Ledger:
        config = self._config
        return Ledger(
            storage,
            clock=self._clock,
            currencies=config.currencies,
            program=config.id,
            policy=config.policy,
            expiry=config.expiry,
            seal_key=self._seal_key,
        )

    @classmethod
    def from_toml(
        cls, text: str, *, storage: Storage, clock: Clock, seal_key: bytes | None = None
    ) -> Program:
        """Build a program from TOML *text*.

        Raises:
            ConfigurationError: Listing every problem of the text, each with its path.
        """
        return cls(config_from_toml(text), storage=storage, clock=clock, seal_key=seal_key)

    @classmethod
    def from_file(
        cls, path: str | Path, *, storage: Storage, clock: Clock, seal_key: bytes | None = None
    ) -> Program:
        """Build a program from the TOML file at *path*.

        Raises:
            ConfigurationError: Listing every problem of the file, each with its path.
        """
        return cls(load_config(Path(path)), storage=storage, clock=clock, seal_key=seal_key)

    def __repr__(self) -> str:
        return f"Program(id={self._config.id!r}, storage={self._storage!r})"

    @property
    def config(self) -> ProgramConfig:
        """The configuration."""
        return self._config

    @property
    def ledger(self) -> Ledger:
        """The ledger under the program: the accounting core alone.

        Everything a host does goes through the program; the ledger is here for tools that
        work on accounts only (an import, a reconciliation).
        """
        return self._ledger

    @property
    def clock(self) -> Clock:
        """The clock."""
        return self._clock

    def _on(self, dry_run: bool) -> Stack:  # noqa: FBT001 - an internal switch
        if not isinstance(dry_run, bool):
            raise ArgumentTypeError(f"dry_run={dry_run!r} must be a bool")
        return self._dry if dry_run else self._live

    def _ladder(self) -> TierLadder:
        ladder = self._config.tiers
        if ladder is None:
            raise InvalidArgumentError("this program has no tier ladder ([tiers] in its file)")
        return ladder

    # -- members ---------------------------------------------------------------------------

    def member(self, member: str, profile: MemberProfile | None = None) -> MemberContext:
        """What the rules know of *member*: their stored tier and its earn multiplier, and *profile*.

        A member without a stored tier is in the ladder's lowest tier. When a condition of the
        programme reads ``member.lifetime_earned`` (:attr:`ProgramConfig.member_facts`), it is
        read here too: the points the member earned in the default currency, less clawbacks,
        in one aggregate read of the tiers part. ``member.days_since_last_activity`` comes
        from ``profile.last_active_at``.
        """
        given = profile or _NO_PROFILE
        if not isinstance(given, MemberProfile):
            raise ArgumentTypeError(f"profile={profile!r} must be a MemberProfile or None")
        ladder = self._config.tiers
        tier = None
        earned: int | None = None
        wants_earned = "member.lifetime_earned" in self._config.member_facts
        if ladder is not None or wants_earned:
            # Only the stored tier matters here, not the metric: this runs before every
            # recorded event, redemption and offer listing. Lifetime earnings are one SUM,
            # read only when a condition asks for them.
            with self._storage.reading(self._ledger.program) as unit:
                reads = tier_reader(unit, "tiers")
                stored = None if ladder is None else reads.tier(MemberId(member))
                if wants_earned:
                    # The span is half-open: a microsecond on counts what was posted now.
                    until = self._clock.now() + timedelta(microseconds=1)
                    earned = reads.earned(MemberId(member), self._config.currency, None, until)
            if ladder is not None:
                tier = ladder.tiers[0].name if stored is None else stored[0].tier
        # Contexts are immutable and most members share one (a tier, no profile): each is
        # built and checked once, not before every event.
        found = self._contexts.get((tier, given))
        if found is None:
            found = _context(ladder, tier, given)
            if len(self._contexts) >= _CONTEXTS_MAX:
                self._contexts.clear()
            self._contexts[(tier, given)] = found
        if earned is not None or given.last_active_at is not None:
            # Per-member facts: the shared context gets them on a copy, never in the cache.
            found = attrs.evolve(found, lifetime_earned=earned, last_active_at=given.last_active_at)
        return found

    def tier_status(self, member: str) -> TierStatus | None:
        """Where *member* stands on the tier ladder now; ``None`` without a ladder."""
        ladder = self._config.tiers
        return None if ladder is None else self._live.tiers.status(member, ladder)

    def review_tier(self, member: str) -> TierDecision | None:
        """Review *member*'s tier now and store it; ``None`` without a ladder."""
        ladder = self._config.tiers
        return None if ladder is None else self._live.tiers.review(member, ladder)

    def set_tier(
        self,
        member: str,
        tier: str,
        *,
        never_downgrade: bool | None = None,
        dry_run: bool = False,
    ) -> TierDecision:
        """Put *member* in *tier* by hand (a VIP, a correction), and store it.

        Raises:
            InvalidArgumentError: If the program has no tier ladder, or no tier *tier*.
        """
        return self._on(dry_run).tiers.set(
            member, self._ladder(), tier, never_downgrade=never_downgrade
        )

    def tier_history(self, member: str, *, limit: int = 100) -> tuple[TierChange, ...]:
        """*member*'s latest *limit* tier changes, oldest first."""
        return self._live.tiers.history(member, limit=limit)

    # -- earning ----------------------------------------------------------------------------

    def record(
        self, event: Event, *, profile: MemberProfile | None = None, dry_run: bool = False
    ) -> Recorded:
        """Record a member event: award its points under the rules, then review the tier.

        Idempotent by the event's id. The member's tier and its earn multiplier come from the
        stored tier state. With campaigns, the event is screened by anti-cheat first
        (``[anti_cheat]``: refused, or recorded with its awards held for review), counted by
        the missions in the same unit of work, and, when it is the referral programme's
        qualifying action, settles the member's referral (both sides rewarded, once).

        Raises:
            InvalidArgumentError: If the program has no earning rules, the event is invalid, or
                the tier review would need dates outside the years 1 to 9999 (nothing is
                recorded then).
            IdempotencyConflictError: If the event id was recorded with other content.
            ActivityRefusedError: If anti-cheat refused the event (nothing is recorded).
            MemberFrozenError: If the member is frozen and the event would move points (a
                frozen referrer only leaves the invitee's referral pending).
        """
        rules = self._config.rules
        if rules is None:
            raise InvalidArgumentError("this program has no earning rules ([earning] in its file)")
        if not isinstance(event, Event):
            raise ArgumentTypeError(f"event={event!r} must be an Event, not {type_name(event)}")
        on = self._on(dry_run)
        ladder = self._config.tiers
        if dry_run or ladder is None:
            context = self.member(event.member, profile)
            recorded = Recorded(
                on.earning.record(event, rules, member=context, dry_run=dry_run), None
            )
        else:
            recorded = self._record_reviewed(event, rules, ladder, profile)
        terms = self._config.campaigns.referrals
        if not dry_run and terms is not None and event.kind == terms.action:
            # An invitee's qualifying action rewards both sides, in a unit of its own: after
            # the event's, so its wallets are never locked after the event's budgets. A frozen
            # referrer's reward is not paid: the referral stays pending, and the invitee's next
            # qualifying action in its window settles it once the referrer is unfrozen.
            # Most members were never referred: a read says so, and no unit is written.
            referral = self.referrals.referral(event.member)
            if referral is not None and referral.status == "pending":
                with contextlib.suppress(MemberFrozenError):
                    self.referrals.qualify(event, key=event.id)
        return recorded

    def _record_reviewed(
        self, event: Event, rules: RuleSet, ladder: TierLadder, profile: MemberProfile | None
    ) -> Recorded:
        """Record *event* for real on a program with a ladder, then review the member's tier."""
        # The review runs in a unit of its own after the awards commit: refuse first. The
        # check depends on the instant alone (the ladder is the program's): a pass holds for
        # every event recorded at that instant.
        now = check_aware("clock.now()", self._clock.now())
        if now != self._calendar_checked:
            check_review_calendar(ladder, now)
            self._calendar_checked = now
        context = self.member(event.member, profile)
        member = MemberId(event.member)
        try:
            code: str | None = self._ledger.currency(ladder.metric.currency)
        except UnknownCurrencyError:
            code = None  # left to the review, which refuses it after the awards commit

        def peek(link: Linked) -> tuple[TierDecision | None, datetime]:
            # Most awards move no one up a tier: read what the review would decide here, in
            # the event's unit, and skip the review's own unit when it would store nothing.
            if code is None:
                return None, link.now
            return quiet_review(link, member, code, ladder), link.now

        outcome, peeked = self._live.earning.record_then(event, rules, member=context, then=peek)
        if not any(t.amount > 0 for t in outcome.transactions) or outcome.replayed:
            return Recorded(outcome, None)
        if peeked is not None:
            quiet, at = peeked
            # The same decision only if the review would run at the same instant (a fixed
            # clock, a simulation); on a moving clock it runs as it always did.
            if quiet is not None and at == self._clock.now():
                return Recorded(outcome, quiet)
        return Recorded(outcome, self._live.tiers.review(event.member, ladder))

    def refund_event(
        self,
        event_id: str,
        *,
        key: str,
        amount: Money | None = None,
        lines: Sequence[int] | None = None,
        dry_run: bool = False,
    ) -> tuple[Transaction, ...]:
        """Claw back an event's points in proportion to a refund (all of it by default).

        Raises:
            InvalidArgumentError: If the program has no earning rules.
            TransactionNotFoundError: If no event was recorded under *event_id*.
        """
        rules = self._config.rules
        if rules is None:
            raise InvalidArgumentError("this program has no earning rules ([earning] in its file)")
        return self._on(dry_run).earning.refund(
            event_id, rules, key=key, amount=amount, lines=lines
        )

    # -- the catalogue ------------------------------------------------------------------------

    def offers_for(
        self, member: str, profile: MemberProfile | None = None
    ) -> tuple[tuple[str, tuple[PriceOption, ...]], ...]:
        """Each offer *member* may redeem, with the price options their tier sees.

        Implied values are included. An offer gated by segments the member is in none of
        (with *profile*'s facts, now) is left out.
        """
        context = self.member(member, profile)
        segments = self._segments_of(context)
        return tuple(
            (offer.id, offer.options(tier=context.tier, reference=self._config.valuation))
            for offer in self._config.offers
            if offer.open_to(segments)
        )

    def _segments_of(self, context: MemberContext) -> frozenset[str] | None:
        """The segments *context*'s member is in now; ``None`` without ``[[segments]]``."""
        segments = self._config.segments
        return None if segments is None else segments.of(context, at=self._clock.now())

    def redeem(
        self,
        member: str,
        offer: str,
        *,
        key: str,
        option: str = "points",
        quantity: int = 1,
        points: int | None = None,
        dry_run: bool = False,
        profile: MemberProfile | None = None,
    ) -> Redemption:
        """Redeem *quantity* units of the offer called *offer*; the points are held.

        The member's stored tier opens tier-gated offers and sets the tier discount; the
        segments they are in (with *profile*'s facts) open segment-gated ones. See
        :meth:`pointkit.features.Catalogue.redeem`.
        """
        chosen = self._config.offer(offer)
        context = self.member(member, profile)
        return self._on(dry_run).catalogue.redeem(
            member,
            chosen,
            key=key,
            option=option,
            quantity=quantity,
            points=points,
            tier=context.tier,
            segments=self._segments_of(context),
        )

    def fulfil(self, redemption: str, *, key: str, dry_run: bool = False) -> Redemption:
        """The reward was delivered: spend the held points."""
        return self._on(dry_run).catalogue.fulfil(redemption, key=key)

    def cancel(self, redemption: str, *, key: str, dry_run: bool = False) -> Redemption:
        """The reward failed: give the points, the stock and the member's count back."""
        return self._on(dry_run).catalogue.cancel(redemption, key=key)

    def refund(
        self, redemption: str, *, key: str, quantity: int | None = None, dry_run: bool = False
    ) -> RedemptionRefund:
        """Refund units of a fulfilled redemption by its offer's refund policy."""
        found = self._live.catalogue.redemption(redemption)
        offer = self._config.offer(found.offer)
        return self._on(dry_run).catalogue.refund(redemption, offer, key=key, quantity=quantity)

    def redemption(self, redemption: str) -> Redemption:
        """The redemption made under the key *redemption*, as it stands now.

        Raises:
            RedemptionNotFoundError: If no offer redemption was made under that key.
        """
        return self._live.catalogue.redemption(redemption)

    def offer_sold(self, offer: str) -> int | None:
        """Units of the offer called *offer* taken from its stock; ``None`` if unlimited."""
        return self._live.catalogue.sold(self._config.offer(offer))

    # -- lotteries ---------------------------------------------------------------------------

    def draw(
        self,
        member: str,
        lottery: str,
        *,
        draw_id: str,
        minor: bool,
        random: RandomSource | ProvablyFair | None = None,
        dry_run: bool = False,
    ) -> DrawResult:
        """Draw once in the lottery called *lottery*. See :meth:`pointkit.features.Draws.draw`.

        A dry run draws too (with *random*) and writes nothing: it shows what a draw does now.
        It refuses a ``ProvablyFair`` source, whose value must stay unknown until the draw.
        """
        chosen = self._config.lottery(lottery)
        return self._on(dry_run).draws.draw(
            member, chosen, draw_id=draw_id, minor=minor, random=random, dry_run=dry_run
        )

    def disclosure(self, lottery: str) -> Disclosure:
        """The lottery's odds table as it stands now, stock left included: publish it."""
        return self._live.draws.disclosure(self._config.lottery(lottery))

    def odds(self, member: str, lottery: str) -> Odds:
        """The exact odds *member*'s next draw would use now."""
        return self._live.draws.odds(member, self._config.lottery(lottery))

    def draw_record(self, draw_id: str) -> DrawRecord:
        """The record of the draw made under *draw_id* (for disclosure and verification).

        Raises:
            DrawNotFoundError: If no draw was made under *draw_id*.
        """
        return self._live.draws.record(draw_id)

    def pity(self, member: str, lottery: str) -> int:
        """*member*'s pity counter in the lottery called *lottery*: draws since the last reset."""
        return self._live.draws.pity(member, self._config.lottery(lottery))

    def lottery_sold(self, lottery: str) -> dict[str, int]:
        """Units of each stocked prize of the lottery called *lottery* given out so far."""
        return self._live.draws.sold(self._config.lottery(lottery))

    # -- moving points ------------------------------------------------------------------------

    def transfer(
        self,
        sender: str,
        recipient: str,
        amount: int,
        *,
        key: str,
        currency: str | None = None,
        dry_run: bool = False,
    ) -> Transaction:
        """Move points from one member to another, if the program's transfer policy allows.

        Raises:
            TransferRefusedError: If transfers are off (``disabled``), or *amount* is below
                the policy's minimum (``below_minimum``) or above its maximum
                (``above_maximum``).
        """
        policy = self._config.transfers
        points = check_int("amount", amount, minimum=1, maximum=limits.POINTS_MAX)
        if not policy.allowed:
            raise TransferRefusedError(
                "transfers", "disabled", "this program does not allow transfers between members"
            )
        if points < policy.minimum:
            raise TransferRefusedError(
                "transfers",
                "below_minimum",
                f"amount={points} is below the smallest transfer allowed ({policy.minimum})",
            )
        if policy.maximum is not None and points > policy.maximum:
            raise TransferRefusedError(
                "transfers",
                "above_maximum",
                f"amount={points} is above the largest transfer allowed ({policy.maximum})",
            )
        return self._on(dry_run).ledger.transfer(
            sender, recipient, points, key=key, currency=currency
        )

    def convert(
        self, member: str, conversion: str, points: int, *, key: str, dry_run: bool = False
    ) -> ConversionResult:
        """Convert points between currencies with the program's exchange.

        Raises:
            InvalidArgumentError: If the program has no conversions.
        """
        exchange = self._config.exchange
        if exchange is None:
            raise InvalidArgumentError(
                "this program has no conversions ([[conversions]] in its file)"
            )
        return self._on(dry_run).conversions.convert(member, exchange, conversion, points, key=key)

    def reverse(
        self, transaction: str, amount: int | None = None, *, key: str, dry_run: bool = False
    ) -> Transaction:
        """Reverse (part of) a transaction under the program's clawback and restore policies."""
        return self._on(dry_run).ledger.reverse(transaction, amount, key=key)

    def adjust(
        self, member: str, amount: int, *, key: str, reason: str, dry_run: bool = False
    ) -> Transaction:
        """Adjust a member's balance by hand, with a reason (a deduction for abuse, a goodwill gift)."""
        return self._on(dry_run).ledger.adjust(member, amount, key=key, reason=reason)

    def run_expiry(
        self, *, limit: int = limits.EXPIRY_BATCH_MAX, dry_run: bool = False
    ) -> ExpiryRun:
        """Release timed-out holds and expire due points (a batch; call again while incomplete)."""
        return self._on(dry_run).ledger.expire_due(limit=limit)

    # -- reads ------------------------------------------------------------------------------

    def balance(self, member: str, currency: str | None = None) -> Balance:
        """*member*'s balance now."""
        return self._ledger.balance(member, currency)

    def statement(
        self, member: str, currency: str | None = None, *, after: int = 0, limit: int = 100
    ) -> Statement:
        """A page of *member*'s statement."""
        return self._ledger.statement(member, currency, after=after, limit=limit)

    def upcoming_expiries(
        self, member: str, within: timedelta, currency: str | None = None
    ) -> tuple[UpcomingExpiry, ...]:
        """What *member* loses within *within* unless they spend it: for reminders."""
        return self._ledger.upcoming_expiries(member, within, currency)

    def expiring(
        self,
        within: timedelta,
        *,
        currency: str | None = None,
        after: tuple[datetime, MemberId] | None = None,
        limit: int = 1_000,
    ) -> ExpiringPage:
        """A page of every member's points expiring within *within*: for a reminder job.

        Pass the page's ``after`` to get the next one. See
        :meth:`pointkit.ledger.Ledger.expiring`.
        """
        return self._ledger.expiring(within, currency=currency, after=after, limit=limit)

    def lots(
        self, member: str, currency: str | None = None, *, include_closed: bool = False
    ) -> tuple[Lot, ...]:
        """*member*'s open lots in spending order (every lot ever, with *include_closed*)."""
        return self._ledger.lots(member, currency, include_closed=include_closed)

    def hold(self, hold: uuid.UUID | str) -> Hold:
        """The hold with id *hold* (a redemption's ``hold``).

        Raises:
            HoldNotFoundError: If there is no such hold.
        """
        return self._ledger.hold(hold)

    def transaction(self, transaction: uuid.UUID | str) -> Transaction:
        """The transaction with id *transaction*.

        Raises:
            TransactionNotFoundError: If there is no such transaction.
        """
        return self._ledger.transaction(transaction)

    def transaction_by_key(self, key: str) -> Transaction | None:
        """The transaction recorded under the idempotency key *key*, or ``None``."""
        return self._ledger.transaction_by_key(key)

    def system_balance(self, kind: AccountKind, currency: str | None = None) -> AccountBalance:
        """A system account's balance (issuance, redemption, expired, ...)."""
        return self._ledger.system_balance(kind, currency)

    def outstanding(self, currency: str | None = None) -> tuple[tuple[datetime | None, int], ...]:
        """Open points by the instant they expire, soonest first: a liability report's input."""
        return self._ledger.outstanding(currency)

    def audit(self) -> ProgramAuditReport:
        """Replay the journal and the records, and check every row they determine.

        In one read unit (one snapshot): the journal's audit (every balance, lot, hold and
        ledger invariant), then every record's increments replayed against the stored
        counters, streaks and budgets, and every tier state against its history (see
        :func:`pointkit.features.audit_program`). A storage without a part's audit reads is
        reported as not audited for that part.

        Raises:
            InvariantViolation: Listing every problem, each naming its row.
        """
        now = check_aware("clock.now()", self._clock.now())
        with self._storage.reading(self._ledger.program) as unit:
            return audit_program(unit, now=now, seal_key=self._seal_key)

    def outbox(self) -> Outbox:
        """The program's events, for consumers and relays (see :class:`pointkit.ledger.Outbox`)."""
        return Outbox.of(self._ledger)

    # -- campaigns ----------------------------------------------------------------------------

    @property
    def coupons(self) -> Coupons:
        """The coupons of ``[[coupons]]``: issue, look up, check and redeem against an order, give back."""
        return self._live.coupons

    @property
    def referrals(self) -> Referrals:
        """The referral programme of ``[referrals]``: codes, attribution, rewards to both sides.

        Raises:
            InvalidArgumentError: If the program has no ``[referrals]`` section.
        """
        if self._live.referrals is None:
            raise InvalidArgumentError("this program has no referrals ([referrals] in its file)")
        return self._live.referrals

    @property
    def guard(self) -> Guard:
        """Anti-cheat: the screening of ``[anti_cheat]``, reviews, and freezing members."""
        return self._live.guard

    @property
    def missions(self) -> Missions:
        """The missions and badges of ``[[missions]]`` and ``[[badges]]``: progress and badges."""
        return self._live.missions

    @property
    def group_buys(self) -> GroupBuys:
        """The group buys of ``[[group_buys]]``: open, join, cancel, expire."""
        return self._live.group_buys

    def linked(self) -> AbstractContextManager[Linked]:
        """Several ledger commands in one unit of work, all or nothing, each with its own key.

        Post points and write the host's own rows in one transaction. See
        :meth:`pointkit.ledger.Ledger.linked`.
        """
        return self._ledger.linked()

    def run_linked(self, work: Callable[[Linked], _T], *, key: str = "") -> _T:
        """Run *work* in a linked unit of work, again if the storage failed transiently.

        See :meth:`pointkit.ledger.Ledger.run_linked`.
        """
        return self._ledger.run_linked(work, key=key)

    def transactions(
        self, *, since: datetime | None = None, until: datetime | None = None
    ) -> tuple[Transaction, ...]:
        """Every transaction recorded in ``[since, until)``, oldest first (for reports).

        This reads the whole journal: run it from a reporting job.
        """
        start = None if since is None else check_aware("since", since)
        end = None if until is None else check_aware("until", until)
        with self._storage.reading(self._ledger.program) as unit:
            found = [
                transaction
                for transaction in unit.all_transactions()
                if (start is None or transaction.created_at >= start)
                and (end is None or transaction.created_at < end)
            ]
        return tuple(
            sorted(found, key=lambda transaction: (transaction.created_at, transaction.id))
        )

    def members(self) -> tuple[MemberId, ...]:
        """Every member with a wallet, sorted."""
        with self._storage.reading(self._ledger.program) as unit:
            return tuple(sorted({wallet.member for wallet in unit.all_wallets()}))

    def record_of(self, record_id: str) -> str | None:
        """The stored document of a record (a draw's, an event's), by its storage id.

        Raises:
            ArgumentTypeError: If *record_id* is not a str.
            InvalidArgumentError: If it has characters that do not print (no record has).
        """
        if not isinstance(record_id, str):
            raise ArgumentTypeError(
                f"record_id={record_id!r} must be a str, not {type_name(record_id)}"
            )
        if not record_id.isprintable():
            raise InvalidArgumentError(
                f"record_id={record_id!r} must contain only printable characters"
            )
        with self._storage.reading(self._ledger.program) as unit:
            return record_reader(unit, "the program's records").rule_event(record_id)

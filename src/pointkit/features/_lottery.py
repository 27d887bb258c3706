"""Lottery draws that cost points: odds, stock, pity and records, committed once per draw.

Maintainer's notes
------------------
:meth:`Draws.draw` locks the member's wallet, then the lottery's stock rows (and, for a
provably fair draw, its nonce row), reads the pity counter, builds the exact odds, draws one
integer from the random source and commits the debit (and a points prize) as one ``draw``
transaction, with the stock, pity, daily count and nonce updates and the draw's record, in one
linked unit of work.

A provably fair draw's nonce counts per server seed and client seed pair, whoever draws: it is
a programme budget named by the pair (``pointkit:fair:<commitment>:<client seed>``), not a
member counter, and it is locked with the stock rows, so no two draws ever use the same
server seed, client seed and nonce, even when two members share a client seed or draw at
once. (Version 1 records counted it per member, so a member who copied another's client seed
replayed their values.)

A dry run never draws from a :class:`~pointkit.pricing.ProvablyFair` source: the value it
would show is the one the next real draw under that pair gets, so previews would let a member
try client seeds until one wins. It is refused, naming what to do instead; a dry run with the
default source shows what a draw does now with a throwaway value.

A coupon prize that names a coupon definition (``Prize.coupon``) is issued through the
:class:`~pointkit.features.CouponIssuer` the draws are given, on the draw's own link and with
the draw's id as its source, so the coupon exists exactly when the draw does (a dry run issues
nothing); the lottery never imports the coupons feature.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, final

import attrs

from pointkit._validate import type_name
from pointkit._values import MemberId
from pointkit.exceptions import (
    ArgumentTypeError,
    DrawNotFoundError,
    InvalidArgumentError,
    InvariantViolation,
)
from pointkit.features._base import RecordsFeature
from pointkit.features._events import draw_events
from pointkit.features._parts import (
    RuleEventRecord,
)
from pointkit.features._results import (
    DrawResult,
)
from pointkit.ledger import (
    AccountKind,
    Transaction,
    TransactionKind,
)
from pointkit.ledger._envelope import (
    RESERVED_KEY_PREFIX,
    Envelope,
    KeyTaken,
    check_key,
    conflict,
    retrying,
)
from pointkit.pricing import (
    DrawRecord,
    Lottery,
    ProvablyFair,
    RandomSource,
    SecretsRandom,
)
from pointkit.pricing._lottery_odds import find_sold_out
from pointkit.pricing._random import draw_below


if TYPE_CHECKING:
    from pointkit.features._parts import RecordsReading
    from pointkit.features._rewards import CouponIssuer
    from pointkit.ledger import Ledger, Linked
    from pointkit.pricing import Disclosure, FairnessProof, Odds


__all__ = ["Draws"]


def _draw_record(draw_id: str) -> str:
    return f"{RESERVED_KEY_PREFIX}draw:{draw_id}"


def _nonce_budget(fair: ProvablyFair) -> str:
    """The programme budget that counts the draws made under *fair*'s seed pair: its nonces."""
    return f"{RESERVED_KEY_PREFIX}fair:{fair.pair}"


class _DryRun(Exception):  # noqa: N818 - control flow inside a dry run, never escapes
    """Raised at the end of a dry run's unit of work, carrying its result, to roll it back."""

    def __init__(self, result: DrawResult) -> None:
        super().__init__("dry run")
        self.result = result


def _check_source(
    random: object, member: MemberId, *, dry_run: object
) -> RandomSource | ProvablyFair:
    if not isinstance(dry_run, bool):
        raise ArgumentTypeError(f"dry_run={dry_run!r} must be a bool, not {type_name(dry_run)}")
    source = SecretsRandom() if random is None else random
    if isinstance(source, ProvablyFair):
        if dry_run:
            raise InvalidArgumentError(
                f"random={source!r} cannot be used in a dry run: it would show the value of "
                "the pair's next nonce, which the next real draw gets; dry-run with the default "
                "source (random=None) to see what a draw does now, and read the odds with "
                "Draws.odds"
            )
        if source.client_seed.casefold() == str(member).casefold():
            raise InvalidArgumentError(
                f"client_seed={source.client_seed!r} is the member's id; client seeds are "
                "published with every fair draw, so give each member a random one "
                "(secrets.token_hex(16)) or let them choose one"
            )
        return source
    # A duck-typed check: isinstance against a runtime-checkable protocol costs more than the
    # rest of the draw's pure part.
    if not callable(getattr(source, "below", None)):
        raise ArgumentTypeError(
            f"random={random!r} must be a RandomSource or a ProvablyFair, not {type_name(random)}"
        )
    return source  # type: ignore[return-value] # it has a callable below(): a RandomSource


def _draw_value(
    source: RandomSource | ProvablyFair, locked: dict[str, int], bound: int
) -> tuple[int, FairnessProof | None]:
    """The integer a draw uses, and its proof when the source is provably fair."""
    if isinstance(source, ProvablyFair):
        proof = source.draw(nonce=locked.get(_nonce_budget(source), 0), bound=bound)
        return (proof.value, proof)
    return (draw_below(source, bound), None)


def _sold_out(lottery: Lottery, sold: dict[str, int]) -> tuple[str, ...]:
    """The prizes sold out, in the table's order: the record keeps them for verification."""
    gone = find_sold_out(lottery, sold)
    return tuple(prize.id for prize in lottery.prizes if prize.id in gone)


def _check_lottery(lottery: object) -> Lottery:
    if not isinstance(lottery, Lottery):
        raise ArgumentTypeError(f"lottery={lottery!r} must be a Lottery, not {type_name(lottery)}")
    return lottery


@final
class Draws(RecordsFeature):
    """Lottery draws on a ledger: draw, records, odds, pity, disclosure.

    Args:
        ledger: The ledger the draws are paid on; its storage needs the records part.
        coupons: Issues the coupons of prizes that name a coupon definition (``Prize.coupon``).
    """

    _name = "the lottery"

    def __init__(self, ledger: Ledger, *, coupons: CouponIssuer | None = None) -> None:
        super().__init__(ledger)
        self._coupons = coupons

    def draw(
        self,
        member: str,
        lottery: Lottery,
        *,
        draw_id: str,
        minor: bool,
        random: RandomSource | ProvablyFair | None = None,
        dry_run: bool = False,
    ) -> DrawResult:
        """Draw once: take the cost, pick a prize with the exact odds, record it all, once.

        One unit of work: the member's wallet is locked, then the lottery's stock rows (and a
        fair draw's nonce row); the window, the minors gate and the daily limit are checked;
        the odds are built from the table, the stock left and the member's pity counter; one
        integer is drawn from *random*; the cost (and a points prize) post as one ``draw``
        transaction with the stock, pity, daily count, nonce and the draw's record. Sending
        the same *draw_id* again returns the recorded draw and draws nothing.

        Args:
            member: The member.
            lottery: The lottery.
            draw_id: The draw's id: its idempotency key.
            minor: Whether the host knows the member to be a minor (refused while the lottery
                blocks minors). Required, so that nobody forgets to ask.
            random: Where the randomness comes from: the OS's CSPRNG by default; a
                :class:`~pointkit.pricing.ProvablyFair` for commit-reveal draws, numbered per
                server seed and client seed pair across members; a seeded source only in
                tests. What a source returns is checked: an int (not a bool) below the odds'
                total.
            dry_run: Make the draw and roll it all back: the result shows what a draw does
                now, and nothing is written. Refused with a ``ProvablyFair`` source, whose
                value must stay unknown until the draw.

        Raises:
            InvalidArgumentError: If an argument is invalid; a ``ProvablyFair`` source in a
                dry run, or whose client seed is the member's id; a random source that
                returned something other than an int below the odds' total (nothing is
                written).
            DrawRefusedError: If the lottery is not open, the member is a minor it blocks, or
                the member reached the daily limit (``reason`` says which).
            InsufficientPointsError: If the member has fewer points than a draw costs.
            IdempotencyConflictError: If *draw_id* was used for a different command.
        """
        member_id = MemberId(member)
        chosen = self._checked(lottery)
        code = self._ledger.currency(chosen.currency)
        if not isinstance(minor, bool):
            raise ArgumentTypeError(f"minor={minor!r} must be a bool, not {type_name(minor)}")
        source = _check_source(random, member_id, dry_run=dry_run)
        nonce_budget = _nonce_budget(source) if isinstance(source, ProvablyFair) else None
        envelope = Envelope.of(
            "draw",
            key=check_key(draw_id, name="draw_id"),
            reason=f"lottery {chosen.id}",
            metadata=None,
            member=member_id,
            lottery=chosen.id,
            cost=chosen.cost,
            table=chosen.table_hash,
        )

        def attempt() -> DrawResult:
            with self._ledger.linked() as link:
                unit, now = self._writer(link), link.now
                try:
                    booking = link.booking(envelope.key, code, [member_id])
                except KeyTaken as taken:
                    return self._replayed_draw(unit, taken.transaction, envelope)
                daily, pity_keys = chosen.daily_key(now), chosen.pity_keys
                keys = [counter for counter in (daily, *pity_keys) if counter is not None]
                counted = unit.counters(member_id, keys)
                today = 0 if daily is None else counted.get(daily, (0, 0))[1]
                chosen.check_draw(now=now, minor=minor, draws_today=today)
                stock = {chosen.stock_key(prize.id): prize.id for prize in chosen.limited}
                rows = [*stock, nonce_budget] if nonce_budget is not None else list(stock)
                locked = unit.lock_budgets(sorted(rows))
                sold = {prize: locked.get(name, 0) for name, prize in stock.items()}
                befores = tuple(counted.get(key, (0, 0))[1] for key in pity_keys) or (0,)
                odds = chosen.odds(sold=sold, pity=befores)
                value, proof = _draw_value(source, locked, odds.total)
                prize = chosen.prize(odds.pick(value))
                booking.redeem(member_id, chosen.cost, into=AccountKind.LOTTERY)
                if prize.points:
                    link.fresh_lot(booking, member_id, prize.points, AccountKind.LOTTERY)
                plan = envelope.finish(booking, kind=TransactionKind.DRAW, amount=chosen.cost)
                link.post(plan)
                afters = chosen.pities_after(befores, prize.id) if pity_keys else (0,)
                record = DrawRecord(
                    draw_id=envelope.key,
                    lottery=chosen.id,
                    member=str(member_id),
                    at=now,
                    cost=chosen.cost,
                    prize=prize.id,
                    kind=prize.kind,
                    points_back=prize.points,
                    table_hash=chosen.table_hash,
                    odds=tuple(zip(odds.prizes, odds.weights, strict=True)),
                    value=value,
                    pity_before=befores[0],
                    pity_after=afters[0],
                    fairness=proof,
                    transaction=str(plan.transaction.id),
                    sold_out=_sold_out(chosen, sold),
                    pity_levels=tuple(zip(befores[1:], afters[1:], strict=True)) or None,
                )
                counters: list[tuple[tuple[str, str], int, int]] = []
                if daily is not None:
                    counters.append((daily, 0, 1))
                counters.extend(
                    (key, 0, after - before)
                    for key, before, after in zip(pity_keys, befores, afters, strict=False)
                    if after != before
                )
                won = chosen.stock_key(prize.id)
                budgets = [(name, 1) for name in (won, nonce_budget) if name in rows]
                unit.save_rule_event(
                    RuleEventRecord(
                        event_id=_draw_record(envelope.key),
                        member=member_id,
                        kind="lottery_draw",
                        at=now,
                        decision=record.to_json(),
                        counters=tuple(counters),
                        budgets=tuple(budgets),
                    )
                )
                self._won(link, record, prize.coupon)
                result = DrawResult(record, plan.transaction)
                if dry_run:
                    raise _DryRun(result)
            return result

        def attempt_or_roll_back() -> DrawResult:
            try:
                return attempt()
            except _DryRun as done:
                return done.result

        return retrying(attempt_or_roll_back, envelope.request, envelope.key)

    def _checked(self, lottery: object) -> Lottery:
        """*lottery*, checked, and checked drawable: its coupon prizes need a coupon issuer."""
        chosen = _check_lottery(lottery)
        if self._coupons is None and any(prize.coupon is not None for prize in chosen.prizes):
            raise InvalidArgumentError(
                f"lottery={chosen.id!r} has prizes that issue coupons; make the draws with a "
                "coupon issuer: Draws(ledger, coupons=...)"
            )
        return chosen

    def _won(self, link: Linked, record: DrawRecord, coupon: str | None) -> None:
        """Write the draw's events and issue the coupon its prize names, on the draw's link."""
        draw_events(link.unit, record)
        if coupon is not None and self._coupons is not None:
            self._coupons.issue_on(
                link, coupon, MemberId(record.member), source=f"draw:{record.draw_id}"
            )

    def _replayed_draw(
        self, unit: RecordsReading, existing: Transaction, envelope: Envelope
    ) -> DrawResult:
        if existing.request != envelope.request:
            raise conflict(existing.key, dict(existing.request), dict(envelope.request))
        stored = unit.rule_event(_draw_record(existing.key))
        if stored is None:  # pragma: no cover - written in one unit
            raise InvariantViolation(f"draw {existing.key!r} lost its record")
        return DrawResult(
            DrawRecord.from_dict(json.loads(stored)),
            attrs.evolve(existing, replayed=True),
            replayed=True,
        )

    def record(self, draw_id: str) -> DrawRecord:
        """Return the record of the draw *draw_id*.

        Raises:
            DrawNotFoundError: If no draw was recorded under that id.
        """
        name = check_key(draw_id, name="draw_id")
        with self._reading() as read:
            unit = self._reader(read)
            stored = unit.rule_event(_draw_record(name))
        if stored is None:
            raise DrawNotFoundError(f"draw_id={name!r} was not recorded")
        return DrawRecord.from_dict(json.loads(stored))

    def sold(self, lottery: Lottery) -> dict[str, int]:
        """Units won so far of each of *lottery*'s prizes with stock."""
        chosen = _check_lottery(lottery)
        names = {chosen.stock_key(prize.id): prize.id for prize in chosen.limited}
        with self._reading() as read:
            unit = self._reader(read)
            used = unit.budgets(sorted(names))
        return {prize: used.get(name, 0) for name, prize in names.items()}

    def disclosure(self, lottery: Lottery) -> Disclosure:
        """*lottery*'s odds table as it stands now, with the stock left: publish it."""
        return _check_lottery(lottery).disclosure(sold=self.sold(lottery))

    def pity(self, member: str, lottery: Lottery) -> int:
        """*member*'s pity counter on *lottery*: draws since it last reset (0 without pity)."""
        chosen = _check_lottery(lottery)
        member_id = MemberId(member)
        if chosen.pity_key is None:
            return 0
        with self._reading() as read:
            unit = self._reader(read)
            return unit.counters(member_id, [chosen.pity_key]).get(chosen.pity_key, (0, 0))[1]

    def pities(self, member: str, lottery: Lottery) -> tuple[int, ...]:
        """*member*'s counter of each of *lottery*'s guarantees, in order (``(0,)`` without pity).

        With one guarantee, ``(Draws.pity(...),)``; with stacked ones, one counter each.
        """
        chosen = _check_lottery(lottery)
        member_id = MemberId(member)
        keys = chosen.pity_keys
        if not keys:
            return (0,)
        with self._reading() as read:
            unit = self._reader(read)
            counted = unit.counters(member_id, list(keys))
        return tuple(counted.get(key, (0, 0))[1] for key in keys)

    def odds(self, member: str, lottery: Lottery) -> Odds:
        """The exact odds *member*'s next draw on *lottery* would use now (a dry run)."""
        chosen = _check_lottery(lottery)
        return chosen.odds(sold=self.sold(chosen), pity=self.pities(member, chosen))

    # -- liability -------------------------------------------------------------------------

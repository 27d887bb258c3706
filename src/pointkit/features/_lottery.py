"""Lottery draws that cost points: odds, stock, pity and records, committed once per draw.

Maintainer's notes
------------------
:meth:`Draws.draw` locks the member's wallet, then the lottery's stock rows, reads the pity
counter, builds the exact odds, draws one integer from the random source and commits the debit
(and a points prize) as one ``draw`` transaction, with the stock, pity, daily count and nonce
updates and the draw's record, in one linked unit of work.
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
    InvariantViolation,
)
from pointkit.features._base import RecordsFeature
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


if TYPE_CHECKING:
    from pointkit.features._parts import RecordsReading
    from pointkit.pricing import Disclosure, Odds


__all__ = ["Draws"]


def _draw_record(draw_id: str) -> str:
    return f"{RESERVED_KEY_PREFIX}draw:{draw_id}"


def _nonce_counter(fair: ProvablyFair) -> tuple[str, str]:
    return (f"{RESERVED_KEY_PREFIX}fair:{fair.commitment}:{fair.client_seed}", "lifetime")


def _check_lottery(lottery: object) -> Lottery:
    if not isinstance(lottery, Lottery):
        raise ArgumentTypeError(f"lottery={lottery!r} must be a Lottery, not {type_name(lottery)}")
    return lottery


@final
class Draws(RecordsFeature):
    """Lottery draws on a ledger: draw, records, odds, pity, disclosure.

    Args:
        ledger: The ledger the draws are paid on; its storage needs the records part.
    """

    _name = "the lottery"

    def draw(
        self,
        member: str,
        lottery: Lottery,
        *,
        draw_id: str,
        minor: bool,
        random: RandomSource | ProvablyFair | None = None,
    ) -> DrawResult:
        """Draw once: take the cost, pick a prize with the exact odds, record it all, once.

        One unit of work: the member's wallet is locked, then the lottery's stock rows; the
        window, the minors gate and the daily limit are checked; the odds are built from the
        table, the stock left and the member's pity counter; one integer is drawn from
        *random*; the cost (and a points prize) post as one ``draw`` transaction with the
        stock, pity, daily count and the draw's record. Sending the same *draw_id* again
        returns the recorded draw and draws nothing.

        Args:
            member: The member.
            lottery: The lottery.
            draw_id: The draw's id: its idempotency key.
            minor: Whether the host knows the member to be a minor (refused while the lottery
                blocks minors). Required, so that nobody forgets to ask.
            random: Where the randomness comes from: the OS's CSPRNG by default; a
                :class:`~pointkit.pricing.ProvablyFair` for commit-reveal draws, numbered per
                member and seed pair; a seeded source only in tests.

        Raises:
            InvalidArgumentError: If an argument is invalid.
            DrawRefusedError: If the lottery is not open, the member is a minor it blocks, or
                the member reached the daily limit (``reason`` says which).
            InsufficientPointsError: If the member has fewer points than a draw costs.
            IdempotencyConflictError: If *draw_id* was used for a different command.
        """
        member_id = MemberId(member)
        chosen = _check_lottery(lottery)
        code = self._ledger.currency(chosen.currency)
        if not isinstance(minor, bool):
            raise ArgumentTypeError(f"minor={minor!r} must be a bool, not {type_name(minor)}")
        source: RandomSource | ProvablyFair = SecretsRandom() if random is None else random
        # A duck-typed check: isinstance against a runtime-checkable protocol costs more
        # than the rest of the draw's pure part.
        if not isinstance(source, ProvablyFair) and not callable(getattr(source, "below", None)):
            raise ArgumentTypeError(
                f"random={random!r} must be a RandomSource or a ProvablyFair, "
                f"not {type_name(random)}"
            )
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
                daily, pity_key = chosen.daily_key(now), chosen.pity_key
                keys = [
                    counter
                    for counter in (
                        daily,
                        pity_key,
                        _nonce_counter(source) if isinstance(source, ProvablyFair) else None,
                    )
                    if counter is not None
                ]
                counted = unit.counters(member_id, keys)
                today = 0 if daily is None else counted.get(daily, (0, 0))[1]
                chosen.check_draw(now=now, minor=minor, draws_today=today)
                stock = {chosen.stock_key(prize.id): prize.id for prize in chosen.limited}
                locked = unit.lock_budgets(sorted(stock))
                sold = {prize: locked.get(name, 0) for name, prize in stock.items()}
                before = 0 if pity_key is None else counted.get(pity_key, (0, 0))[1]
                odds = chosen.odds(sold=sold, pity=before)
                proof = None
                if isinstance(source, ProvablyFair):
                    nonce = counted.get(_nonce_counter(source), (0, 0))[1]
                    proof = source.draw(nonce=nonce, bound=odds.total)
                    value = proof.value
                else:
                    value = source.below(odds.total)
                prize = chosen.prize(odds.pick(value))
                booking.redeem(member_id, chosen.cost, into=AccountKind.LOTTERY)
                if prize.points:
                    link.fresh_lot(booking, member_id, prize.points, AccountKind.LOTTERY)
                plan = envelope.finish(booking, kind=TransactionKind.DRAW, amount=chosen.cost)
                unit.apply(plan)
                after = chosen.pity_after(before, prize.id)
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
                    pity_before=before,
                    pity_after=after,
                    fairness=proof,
                    transaction=str(plan.transaction.id),
                )
                counters: list[tuple[tuple[str, str], int, int]] = []
                if daily is not None:
                    counters.append((daily, 0, 1))
                if pity_key is not None and after != before:
                    counters.append((pity_key, 0, after - before))
                if isinstance(source, ProvablyFair):
                    counters.append((_nonce_counter(source), 0, 1))
                won = chosen.stock_key(prize.id)
                unit.save_rule_event(
                    RuleEventRecord(
                        event_id=_draw_record(envelope.key),
                        member=member_id,
                        kind="lottery_draw",
                        at=now,
                        decision=record.to_json(),
                        counters=tuple(counters),
                        budgets=((won, 1),) if won in stock else (),
                    )
                )
            return DrawResult(record, plan.transaction)

        return retrying(attempt, envelope.request, envelope.key)

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

    def odds(self, member: str, lottery: Lottery) -> Odds:
        """The exact odds *member*'s next draw on *lottery* would use now (a dry run)."""
        chosen = _check_lottery(lottery)
        return chosen.odds(sold=self.sold(chosen), pity=self.pity(member, chosen))

    # -- liability -------------------------------------------------------------------------

"""The day loop: a synthetic population acting on a real :class:`~pointkit.program.Program`.

Maintainer's notes
------------------
Nothing here decides points. Every event goes through ``Program.record``, every redemption
through ``Program.redeem`` and ``Program.fulfil``, every draw through ``Program.draw``, expiry
through :func:`~pointkit.program.expire_all`, and scheduled tier reviews through
``Program.review_tier``; the figures are read back from the ledger's system accounts. The
engine only decides *who does what when*, from the population's chances.

Behaviour draws do not depend on the programme. Each day and each kind of behaviour has its
own ``random.Random`` stream, seeded from the run's seed, the day and the kind, and every
member on the roster draws exactly one number from each stream every day, whether or not the
draw leads anywhere (a member whose balance is below every redemption band still draws). So
two programmes run on the same seed see the same members join, churn, buy the same baskets,
sign in and share on the same days; only what the programme makes of it differs. Lottery
outcomes come from a :class:`~pointkit.pricing.SeededRandom` of their own.

A chance ``p`` fires when a draw of ``random()`` falls below ``p`` rounded up to a multiple of
2**-53 (``random()`` returns such multiples): exact to within 2**-53.

Time: each day, every behaviour happens at its own fixed local hour (sign-ins at 08:00, shares
at 10:00, purchases at 12:00, reviews at 14:00, invitees registering at 16:00, redemptions at
20:00, draws at 21:00), in roster order; expiry and scheduled tier reviews run at 00:05. The
clock stands at that instant while the members act, so per-day caps, streaks and expiry dates
see the days as they are, and the programme's time-dependent computations are made once per
hour instead of once per event.
"""

from __future__ import annotations

import gc
import math
import random
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from statistics import NormalDist
from typing import TYPE_CHECKING, Final, final

import attrs

from pointkit import FixedClock, Money
from pointkit._localtime import resolve
from pointkit.exceptions import ConfigurationError, PointkitError
from pointkit.ledger import AccountKind
from pointkit.pricing import SeededRandom
from pointkit.program import Program, expire_all
from pointkit.rules import Event
from pointkit.storage.memory import MemoryStorage


if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from pointkit.pricing import Lottery
    from pointkit.program import ProgramConfig
    from pointkit.simulate._population import BalanceBand, Population
    from pointkit.tiers import TierDecision


__all__ = ["DAYS_MAX", "MEMBERS_MAX", "Day", "Run", "check_fits", "simulate_run"]

MEMBERS_MAX: Final = 1_000_000
"""The most starting members a simulation takes."""

DAYS_MAX: Final = 3_660
"""The most days a simulation runs (ten years)."""

_CENT: Final = Decimal("0.01")
_NORMAL: Final = NormalDist()
_UNIT: Final = 2**53

# The local hour of each behaviour; see the module's notes.
_HOURS: Final = {
    "expiry": time(0, 5),
    "sign_in": time(8),
    "share": time(10),
    "purchase": time(12),
    "review": time(14),
    "invite": time(16),
    "redeem": time(20),
    "draw": time(21),
    "close": time(23, 59),
}


@final
@attrs.frozen
class Day:
    """What one simulated day did, read back from the ledger at its end.

    Attributes:
        day: The local date.
        members: Members still acting at the day's end (joined, not churned).
        events: Events recorded that day.
        sales: What the day's purchases were worth, in the population's money currency.
        issued: Points issued that day (the issuance account's postings).
        redeemed: Points spent on offers that day.
        drawn: Points paid for draws that day, less points prizes.
        expired: Points expired that day.
        outstanding: Points open in members' wallets at the day's end, from the system accounts.
        draws: Draws made that day.
        prize_cost: What the day's prizes cost the operator, in money, exact.
        tiers: Live members per tier at the day's end, in ladder order.
    """

    day: date
    members: int
    events: int
    sales: Decimal
    issued: int
    redeemed: int
    drawn: int
    expired: int
    outstanding: int
    draws: int
    prize_cost: Fraction
    tiers: tuple[tuple[str, int], ...]


@final
@attrs.frozen
class Run:
    """One simulated run of a programme over a population, under one seed.

    Attributes:
        seed: The seed of the behaviour draws and the lottery.
        days: Each day's figures, in order.
        sold_out: Each stocked offer's id and the day its last unit went (``None``: never).
        balances: Posted points in every member wallet at the end, summed from the ledger's
            own balances.
    """

    seed: int
    days: tuple[Day, ...]
    sold_out: tuple[tuple[str, date | None], ...]
    balances: int


def check_fits(config: ProgramConfig, population: Population) -> str:
    """Check that *population* can run on *config*; return the money currency of baskets.

    Raises:
        ConfigurationError: Naming each thing the population asks of the programme that the
            programme lacks (an offer or lottery id, a money currency, earning rules).
    """
    problems: list[str] = []
    if config.rules is None:
        problems.append("program: has no earning rules ([earning] in its file) to simulate")
    currency = population.currency
    if currency is None:
        if config.valuation is None:
            problems.append(
                "population.currency: missing; the programme has no [valuation] to take it from"
            )
        else:
            currency = config.valuation.money.code
    offers = {offer.id for offer in config.offers}
    problems += [
        f"redemption.weights.{offer}: the programme has no offer {offer!r}; its offers are "
        f"{sorted(offers)}"
        for offer, _ in population.weights
        if offer not in offers
    ]
    lotteries = [lottery.id for lottery in config.lotteries]
    if population.lottery is not None and population.lottery not in lotteries:
        problems.append(
            f"draws.lottery: the programme has no lottery {population.lottery!r}; its lotteries "
            f"are {lotteries}"
        )
    if problems or currency is None:
        raise ConfigurationError("the population and the programme", problems)
    return currency


def _threshold(chance: Fraction) -> float:
    """*chance* as a ``random()`` threshold: rounded up to a multiple of 2**-53 (exact)."""
    return math.ceil(chance * _UNIT) / _UNIT


def _band_chance(bands: Sequence[BalanceBand], balance: int) -> Fraction:
    chance = Fraction(0)
    for band in bands:
        if balance < band.start:
            break
        chance = band.chance
    return chance


def _stream(seed: int, day: int, kind: str) -> Callable[[], float]:
    return random.Random(f"{seed}:{day}:{kind}").random  # noqa: S311 - a simulation, seeded


@final
class _Members:
    """The roster: who has joined and not churned, and what the engine knows of their tiers."""

    def __init__(self, count: int) -> None:
        self.live: list[int] = list(range(count))
        self.joined = count
        self.tiers: dict[int, str] = {}
        self.checks: dict[int, datetime] = {}
        self._names: list[str] = []

    def name(self, index: int) -> str:
        """The member id of roster entry *index*: ``m0000042``, formatted once."""
        names = self._names
        if index >= len(names):
            names.extend(f"m{number:07d}" for number in range(len(names), index + 1))
        return names[index]

    def note(self, index: int, decision: TierDecision | None) -> None:
        if decision is None:
            return
        state = decision.state
        self.tiers[index] = state.tier
        check = state.next_check
        if check is None:
            self.checks.pop(index, None)
        else:
            self.checks[index] = check


@final
class _Simulation:
    """One run: a programme, its clock and storage, a roster, and the day's counters."""

    def __init__(
        self, config: ProgramConfig, population: Population, *, members: int, seed: int
    ) -> None:
        self.config = config
        self.population = population
        self.money = check_fits(config, population)
        self.seed = seed
        self.clock = FixedClock(datetime(1970, 1, 1, tzinfo=UTC))
        self.storage = MemoryStorage(outbox=False)
        self.program = Program(config, storage=self.storage, clock=self.clock)
        self.members = _Members(members)
        self.starting = members
        self.currency = config.currencies[0].code
        self.lottery: Lottery | None = None
        if population.draw and config.lotteries:
            chosen = population.lottery or config.lotteries[0].id
            self.lottery = config.lottery(chosen)
        self.luck = SeededRandom(seed)
        self.stocked = [offer for offer in config.offers if offer.stock is not None]
        self.sold_out: dict[str, date | None] = {offer.id: None for offer in self.stocked}
        self.prices: dict[str | None, list[tuple[int, str]]] = {}
        self.events = 0
        self.sales = Decimal(0)
        self.draws = 0
        self.prize_cost = Fraction(0)
        self.totals = (0, 0, 0, 0)
        self.posted_kept: tuple[int, dict[str, int]] | None = None

    def at(self, day: date, kind: str) -> datetime:
        instant = resolve(datetime.combine(day, _HOURS[kind]), self.config.zone)
        self.clock.set(instant)
        return instant

    def record(self, index: int, event: Event) -> None:
        try:
            recorded = self.program.record(event)
        except PointkitError:
            return  # refused by the programme (a cap, a rule): the member simply earns nothing
        self.events += 1
        self.members.note(index, recorded.tier)

    # -- the day's phases ----------------------------------------------------------------------

    def housekeeping(self, day: date, number: int) -> None:
        now = self.at(day, "expiry")
        expire_all(self.program)
        members = self.members
        due = sorted(index for index, check in members.checks.items() if check <= now)
        for index in due:
            members.note(index, self.program.review_tier(members.name(index)))
        joining = self.population.joining * self.starting
        arrivals = math.floor(joining * (number + 1)) - math.floor(joining * number)
        members.live.extend(range(members.joined, members.joined + arrivals))
        members.joined += arrivals
        churn = _threshold(self.population.churn)
        draw = _stream(self.seed, number, "churn")
        members.live = [index for index in members.live if draw() >= churn]

    def simple(self, day: date, number: int, kind: str, chance: Fraction) -> None:
        draw = _stream(self.seed, number, kind)
        threshold = _threshold(chance)
        acting = [index for index in self.members.live if draw() < threshold]
        if not acting:
            return
        at = self.at(day, kind)
        name = self.members.name
        for index in acting:
            member = name(index)
            event_id = f"{kind}-{number}-{index}"
            if kind == "sign_in":
                event = Event.sign_in(event_id, member, at)
            elif kind == "share":
                event = Event.share(event_id, member, at)
            else:
                event = Event.invitee_registered(event_id, member, at, invitee=f"{event_id}-new")
            self.record(index, event)

    def purchases(self, day: date, number: int) -> None:
        population = self.population
        live = self.members.live
        draw = _stream(self.seed, number, "purchase")
        size = _stream(self.seed, number, "basket")
        threshold = _threshold(population.purchase)
        baskets = [(index, size()) for index in live if draw() < threshold]
        review = _stream(self.seed, number, "review")
        review_threshold = _threshold(population.review)
        long_threshold = _threshold(population.long_review)
        reviews = [
            (index, review() < long_threshold)
            for index, _ in baskets
            if review() < review_threshold
        ]
        if baskets:
            at = self.at(day, "purchase")
            name = self.members.name
            for index, uniform in baskets:
                amount = self.basket(uniform)
                self.sales += amount
                order = f"order-{number}-{index}"
                event = Event.purchase(
                    order, name(index), at, amount=Money(amount, self.money), order_id=order
                )
                self.record(index, event)
        if reviews:
            at = self.at(day, "review")
            name = self.members.name
            for index, long in reviews:
                event = Event.review(
                    f"review-{number}-{index}",
                    name(index),
                    at,
                    length=population.review_length(long),
                    rating=5,
                )
                self.record(index, event)

    def basket(self, uniform: float) -> Decimal:
        """The amount a uniform draw in ``[0, 1)`` buys: quantised to cents, half-even."""
        basket = self.population.basket
        if basket.kind == "table":
            total = sum(weight for _, weight in basket.amounts)
            point = math.floor(uniform * total)
            for amount, weight in basket.amounts:
                if point < weight:
                    return amount
                point -= weight
            return basket.amounts[-1][0]
        median = basket.median or _CENT
        # A float only for the log-normal factor: converted once, then quantised to cents.
        factor = math.exp(float(basket.spread) * _NORMAL.inv_cdf(max(uniform, 2**-53)))
        amount = (median * Decimal(factor)).quantize(_CENT, rounding=ROUND_HALF_EVEN)
        return min(max(amount, basket.minimum), basket.maximum)

    def acting_on_balance(
        self, number: int, kind: str, bands: Sequence[BalanceBand]
    ) -> list[tuple[int, int, float]]:
        """Members whose balance band fires today: ``(index, balance, choice draw)``."""
        live = self.members.live
        draw = _stream(self.seed, number, kind)
        pick = _stream(self.seed, number, f"{kind}-choice")
        # Each stream gives every member on the roster one number, in roster order.
        uniforms = [draw() for _ in live]
        choices = [pick() for _ in live]
        top = _threshold(max((band.chance for band in bands), default=Fraction(0)))
        acting: list[tuple[int, int, float]] = []
        reached = [position for position, uniform in enumerate(uniforms) if uniform < top]
        if not bands or not reached:
            return acting
        # Available points never exceed posted ones: one pass over the wallets rules out
        # everyone below the lowest band before any balance is read through the programme.
        posted = self.posted_on(number)
        lowest = bands[0].start
        name = self.members.name
        for position in reached:
            index = live[position]
            member = name(index)
            if posted.get(member, 0) < lowest:
                continue  # no band's chance reaches it: no need to read the balance
            uniform = uniforms[position]
            balance = self.program.balance(member, self.currency).available
            if uniform < _threshold(_band_chance(bands, balance)):
                acting.append((index, balance, choices[position]))
        return acting

    def posted_on(self, number: int) -> dict[str, int]:
        """:meth:`posted` as read at the first phase of day *number* that asks for it.

        The day's later phases use it as it is: it only rules out members whose balance is
        below every band, and between the phases that read it (redemptions, then draws) no
        posted balance grows, since redeeming and fulfilling only take points. So a balance
        read once is never below the one read again: it rules out the same members or fewer,
        and the balance of each one it lets through is read through the programme.
        """
        kept = self.posted_kept
        if kept is not None and kept[0] == number:
            return kept[1]
        posted = self.posted()
        self.posted_kept = (number, posted)
        return posted

    def posted(self) -> dict[str, int]:
        """Each member's posted points in the main currency, from the storage's wallet rows."""
        currency = self.currency
        with self.storage.reading(self.program.ledger.program) as unit:
            # A member id is a str: the roster's names find it as they are.
            return {
                wallet.member: wallet.posted
                for wallet in unit.all_wallets()
                if wallet.currency == currency
            }

    def offers_for(self, index: int) -> list[tuple[int, str]]:
        """``(points price, offer id)`` of the offers with a points option the member's tier sees."""
        tier = self.members.tiers.get(index)
        found = self.prices.get(tier)
        if found is None:
            found = []
            for offer, options in self.program.offers_for(self.members.name(index)):
                found += [(option.points, offer) for option in options if option.id == "points"]
            found.sort(reverse=True)
            self.prices[tier] = found
        return found

    def choose(self, index: int, balance: int, uniform: float) -> str | None:
        affordable = [(price, offer) for price, offer in self.offers_for(index) if price <= balance]
        if not affordable:
            return None
        if self.population.choice == "dearest":
            return affordable[0][1]
        weights = dict(self.population.weights)
        weighted = [(offer, weights[offer]) for _, offer in affordable if offer in weights]
        total = sum(weight for _, weight in weighted)
        point = math.floor(uniform * total)
        for offer, weight in weighted:
            if point < weight:
                return offer
            point -= weight
        return None

    def redemptions(self, day: date, number: int) -> None:
        acting = self.acting_on_balance(number, "redeem", self.population.redeem)
        if not acting:
            return
        self.at(day, "redeem")
        for index, balance, uniform in acting:
            offer = self.choose(index, balance, uniform)
            if offer is None:
                continue
            key = f"redeem-{number}-{index}"
            try:
                self.program.redeem(self.members.name(index), offer, key=key)
                self.program.fulfil(key, key=f"{key}-fulfil")
            except PointkitError:
                continue  # sold out, over a limit, outside its window: no redemption
            if offer in self.sold_out and self.sold_out[offer] is None:
                chosen = self.config.offer(offer)
                if self.program.offer_sold(offer) == chosen.stock:
                    self.sold_out[offer] = day

    def lottery_draws(self, day: date, number: int) -> None:
        lottery = self.lottery
        if lottery is None:
            return
        acting = self.acting_on_balance(number, "draw", self.population.draw)
        if not acting:
            return
        self.at(day, "draw")
        for index, _, _ in acting:
            try:
                result = self.program.draw(
                    self.members.name(index),
                    lottery.id,
                    draw_id=f"draw-{number}-{index}",
                    minor=False,
                    random=self.luck,
                )
            except PointkitError:
                continue  # not enough points, over the daily limit
            self.draws += 1
            self.prize_cost += _prize_cost(lottery, result.prize)

    def close(self, day: date) -> Day:
        self.at(day, "close")
        balance = self.program.system_balance
        issued = -balance(AccountKind.ISSUANCE, self.currency).posted
        redeemed = balance(AccountKind.REDEMPTION, self.currency).posted
        drawn = balance(AccountKind.LOTTERY, self.currency).posted
        expired = balance(AccountKind.EXPIRED, self.currency).posted
        before = self.totals
        self.totals = (issued, redeemed, drawn, expired)
        ladder = self.config.tiers
        tiers: tuple[tuple[str, int], ...] = ()
        if ladder is not None:
            counts = dict.fromkeys((tier.name for tier in ladder.tiers), 0)
            lowest = ladder.tiers[0].name
            known = self.members.tiers
            for index in self.members.live:
                counts[known.get(index, lowest)] += 1
            tiers = tuple(counts.items())
        figures = Day(
            day=day,
            members=len(self.members.live),
            events=self.events,
            sales=self.sales,
            issued=issued - before[0],
            redeemed=redeemed - before[1],
            drawn=drawn - before[2],
            expired=expired - before[3],
            outstanding=issued - redeemed - drawn - expired,
            draws=self.draws,
            prize_cost=self.prize_cost,
            tiers=tiers,
        )
        self.events, self.sales, self.draws, self.prize_cost = 0, Decimal(0), 0, Fraction(0)
        return figures

    def balances(self) -> int:
        """Posted points in every member wallet, summed from the ledger's own balances."""
        program = self.program
        return sum(program.balance(member, self.currency).posted for member in program.members())


def _prize_cost(lottery: Lottery, prize_id: str) -> Fraction:
    prize = lottery.prize(prize_id)
    if prize.cost is not None:
        return Fraction(prize.cost.amount)
    if prize.kind == "points" and lottery.valuation is not None:
        return lottery.valuation.value(prize.points)
    return Fraction(0)


@contextmanager
def _settled_heap() -> Iterator[Callable[[], object]]:
    """Keep the garbage collector off the run's ledger: yield what to call after each day.

    A run keeps every transaction, lot and record it makes, millions of objects by the end of
    a year, and Python's cycle collector walks them all again and again as the heap grows (a
    sixth of a run's time at 2,000 members). After each day the survivors are moved out of
    its reach (``gc.freeze``); at the end they are given back (``gc.unfreeze``), so a host that
    runs simulations in a long-lived process loses nothing. A host that froze objects itself
    (a server preloading before it forks) is left alone: nothing is frozen then.

    Within a day the collector would still walk the day's young objects every few hundred
    allocations, and find almost nothing: the ledger's objects are freed by their reference
    counts, and a year at 2,000 members leaves a few thousand objects in cycles. So automatic
    collection is off while the run lasts and back as it was at the end; the few cycles are
    frozen with the day and collected after the run, as the host's collector next runs.
    """
    if gc.get_freeze_count():
        yield _nothing
        return
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield gc.freeze
    finally:
        gc.unfreeze()
        if enabled:
            gc.enable()


def _nothing() -> None:
    """What a day's end does to the heap when the host has frozen objects: nothing."""


def simulate_run(
    config: ProgramConfig,
    population: Population,
    *,
    members: int,
    days: int,
    start: date,
    seed: int,
    progress: Callable[[int], object] | None = None,
    finished: Callable[[Program], object] | None = None,
) -> Run:
    """Run *config* over *population* for *days* days from *start*, under *seed*.

    Args:
        config: The programme.
        population: How members behave.
        members: Members at the start.
        days: Days to simulate.
        start: The first local day.
        seed: The seed of the behaviour draws and of the lottery.
        progress: Called with the number of days done after each day.
        finished: Called with the programme at the end, to look into its ledger (tests do).

    Returns:
        The run's figures.

    Raises:
        ConfigurationError: If the population asks for something the programme lacks.
    """
    simulation = _Simulation(config, population, members=members, seed=seed)
    population = simulation.population
    figures: list[Day] = []
    with _settled_heap() as settle:
        for number in range(days):
            day = start + timedelta(days=number)
            simulation.housekeeping(day, number)
            simulation.simple(day, number, "sign_in", population.sign_in)
            simulation.simple(day, number, "share", population.share)
            simulation.purchases(day, number)
            simulation.simple(day, number, "invite", population.invite)
            simulation.redemptions(day, number)
            simulation.lottery_draws(day, number)
            figures.append(simulation.close(day))
            settle()
            if progress is not None:
                progress(number + 1)
    if finished is not None:
        finished(simulation.program)
    return Run(
        seed=seed,
        days=tuple(figures),
        sold_out=tuple(simulation.sold_out.items()),
        balances=simulation.balances(),
    )

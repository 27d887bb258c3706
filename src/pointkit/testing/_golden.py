"""Golden table: every ledger error and the precedence between them, one line per case.

Each case reads ``setup; setup; ... | command | outcome``. The setup commands must succeed; the
outcome of the last command is ``ok``, ``replayed`` or an error ``code``. Times are absolute
offsets from the start (``exp=60s`` is 60 seconds after the start), so a replay later still sends
the same payload. ``missing`` names a transaction or hold that does not exist.

Commands::

    earn KEY MEMBER AMOUNT [avail=Ts] [exp=Ts] [currency=C]
    redeem KEY MEMBER AMOUNT
    reserve KEY MEMBER AMOUNT timeout=SECONDS
    capture KEY HOLD_KEY [AMOUNT]          release KEY HOLD_KEY
    transfer KEY FROM TO AMOUNT
    reverse KEY TXN_KEY [AMOUNT] [clawback=P] [restore=P] [reissue=Ts]
    adjust KEY MEMBER ±AMOUNT [reason=R] [clawback=P] [exp=Ts]
    offer KEY MEMBER OFFER [option=O] [qty=N] [tier=T]
    fulfil KEY REDEMPTION_KEY              cancel KEY REDEMPTION_KEY
    refund KEY REDEMPTION_KEY [qty=N]
    convert KEY MEMBER CONVERSION POINTS
    draw DRAW_ID MEMBER LOTTERY [minor=true]
    record DRAW_ID
    advance SECONDS                        expire
    linked COMMAND + COMMAND ...           the ledger commands in one linked unit of work
    linked! COMMAND + COMMAND ...          the same, the host carrying on after a refusal

A linked line's outcome is ``replayed`` if every command replayed, ``ok`` if it committed, or
the code of what refused it: the refused command's own error, or (``linked!``, where the host
catches it and sends more) ``linked_command_refused``.

The ledger used has the default policies and a debt limit of 5 points, and holds points and
miles. Its catalogue: ``watch`` (50 points or 20 points + 3 yuan, stock 1, one per member),
``flash`` (5 points, open from 60s to 120s), ``gold`` (5 points, gold tier only) and ``final``
(5 points, no points back on a refund); its exchange: ``p2m`` (2 points a mile, blocks of 10,
at most 20 points per member) and ``off`` (disabled); its lottery: ``wheel`` (5 points a draw,
one a day, closing at 3600s).
"""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Final

import attrs

from pointkit import FixedClock, Ledger, LedgerPolicy, Money, PointCurrency
from pointkit.exceptions import PointkitError
from pointkit.features import Catalogue, Conversions, Draws, Earning
from pointkit.pricing import (
    Bundle,
    Conversion,
    Exchange,
    Lottery,
    Offer,
    OfferLimit,
    Price,
    Prize,
)
from pointkit.rules import (
    All,
    Cap,
    Compare,
    Const,
    Event,
    Fact,
    Fixed,
    InSegment,
    MemberContext,
    Not,
    OncePer,
    Rate,
    Rule,
    RuleSet,
    Segment,
    Segments,
)
from pointkit.testing._machine import check, snapshot


if TYPE_CHECKING:
    from pointkit.ledger import Linked, Storage


__all__ = ["CASES", "GoldenCase", "run_case"]

START: Final = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
MISSING: Final = uuid.UUID("00000000-0000-7000-8000-000000000000")
_programs = itertools.count()
_RUN: Final = uuid.uuid4().hex[:8]

GOLDEN = """
# arguments are checked first, before the key is looked up
| earn k1 alice 0 | invalid_argument
| earn k1 alice -1 | invalid_argument
| earn k1 alice 9223372036854775808 | limit_exceeded
| earn k1 alice 1.5 | argument_type
| earn k1 alice true | argument_type
| earn k1 alice 10 currency=gems | unknown_currency
| earn k1 alice 10 exp=naive | naive_datetime
| earn pointkit:x alice 10 | invalid_argument
earn k1 alice 10 | earn k1 alice 0 | invalid_argument
| reserve k1 alice 5 timeout=0 | invalid_argument
| reserve k1 alice 5 timeout=7776001 | limit_exceeded
| transfer k1 alice alice 5 | invalid_argument
| adjust k1 alice 0 | invalid_argument
| adjust k1 alice 5 reason=none | invalid_argument
| adjust k1 alice 5 clawback=debt | invalid_argument
| adjust k1 alice -5 exp=60s | invalid_argument
| reverse k1 missing clawback=forgive | invalid_argument
| reverse k1 missing restore=original_expiry reissue=60s | invalid_argument
# then the idempotency key: a replay beats every later check, a conflict too
earn k1 alice 10 | earn k1 alice 10 | replayed
earn k1 alice 10 | earn k1 alice 11 | idempotency_conflict
earn k1 alice 10 | redeem k1 alice 10 | idempotency_conflict
earn k1 alice 10; redeem k2 alice 10 | redeem k2 alice 10 | replayed
earn k1 alice 10 exp=60s; advance 120 | earn k1 alice 10 exp=60s | replayed
earn k1 alice 10; reserve k2 alice 5 timeout=60; capture k3 k2 | capture k3 k2 | replayed
earn k1 alice 10; reserve k2 alice 5 timeout=60; capture k3 k2 | capture k3 k2 4 | idempotency_conflict
earn k1 alice 10; reverse k2 k1 | reverse k2 k1 | replayed
# then time-relative checks
| earn k1 alice 10 exp=0s | invalid_argument
| earn k1 alice 10 avail=100s exp=50s | invalid_argument
| earn k1 alice 10 avail=100s exp=100s | invalid_argument
| earn k1 alice 10 avail=100s exp=101s | ok
| reverse k1 missing restore=reissue reissue=0s | invalid_argument
# then lookups
| capture k1 missing | hold_not_found
| release k1 missing | hold_not_found
| reverse k1 missing | transaction_not_found
# then the state: balances, pending and due points, holds
earn k1 alice 10 | redeem k2 alice 10 | ok
earn k1 alice 10 | redeem k2 alice 11 | insufficient_points
earn k1 alice 10 avail=60s | redeem k2 alice 1 | insufficient_points
earn k1 alice 10 avail=60s; advance 60 | redeem k2 alice 10 | ok
earn k1 alice 10 exp=60s; advance 59 | redeem k2 alice 10 | ok
earn k1 alice 10 exp=60s; advance 60 | redeem k2 alice 1 | insufficient_points
earn k1 alice 10 | reserve k2 alice 11 timeout=60 | insufficient_points
earn k1 alice 10; reserve k2 alice 6 timeout=60 | redeem k3 alice 5 | insufficient_points
earn k1 alice 10; reserve k2 alice 6 timeout=60 | redeem k3 alice 4 | ok
earn k1 alice 10 | transfer k2 alice bob 11 | insufficient_points
earn k1 alice 9223372036854775807 | earn k2 alice 1 | points_overflow
earn k1 alice 9223372036854775807; earn k2 bob 1 | transfer k3 bob alice 1 | points_overflow
# holds resolve at most once, each resolved state with its own code
earn k1 alice 10; reserve k2 alice 5 timeout=60 | capture k3 k2 | ok
earn k1 alice 10; reserve k2 alice 5 timeout=60; capture k3 k2 | capture k4 k2 | hold_already_captured
earn k1 alice 10; reserve k2 alice 5 timeout=60; capture k3 k2 | release k4 k2 | captured_hold_not_releasable
earn k1 alice 10; reserve k2 alice 5 timeout=60; release k3 k2 | capture k4 k2 | released_hold_not_capturable
earn k1 alice 10; reserve k2 alice 5 timeout=60; release k3 k2 | release k4 k2 | hold_already_released
earn k1 alice 10; reserve k2 alice 5 timeout=60; advance 59 | capture k3 k2 | ok
earn k1 alice 10; reserve k2 alice 5 timeout=60; advance 60 | capture k3 k2 | hold_expired
earn k1 alice 10; reserve k2 alice 5 timeout=60; advance 60 | release k3 k2 | hold_expired
earn k1 alice 10; reserve k2 alice 5 timeout=60; advance 60; expire | release k3 k2 | hold_expired
earn k1 alice 10; reserve k2 alice 5 timeout=60; capture k3 k2; advance 60 | capture k4 k2 | hold_already_captured
earn k1 alice 10; reserve k2 alice 5 timeout=60 | capture k3 k2 5 | ok
earn k1 alice 10; reserve k2 alice 5 timeout=60 | capture k3 k2 6 | capture_exceeds_hold
earn k1 alice 10; reserve k2 alice 5 timeout=60; capture k3 k2 | capture k4 k2 6 | hold_already_captured
# reversals: kind, then what is left, then the clawback policy
earn k1 alice 10; reverse k2 k1 | reverse k3 k2 | not_reversible
earn k1 alice 10; reserve k2 alice 5 timeout=60 | reverse k3 k2 | not_reversible
earn k1 alice 10; reserve k2 alice 5 timeout=60; release k3 k2 | reverse k4 k3 | not_reversible
| adjust k1 alice -5 clawback=clamp | ok
adjust k1 alice -5 clawback=clamp | reverse k2 k1 | not_reversible
earn k1 alice 10; reverse k2 k1 | reverse k3 k1 | already_reversed
earn k1 alice 10; reverse k2 k1 6 | reverse k3 k1 5 | reversal_exceeds_original
earn k1 alice 10; reverse k2 k1 6 | reverse k3 k1 4 | ok
earn k1 alice 10; reverse k2 k1 6; reverse k3 k1 4 | reverse k4 k1 1 | already_reversed
earn k1 alice 10 | reverse k2 k1 11 | reversal_exceeds_original
earn k1 alice 10; redeem k2 alice 8 | reverse k3 k1 | insufficient_points
earn k1 alice 10; redeem k2 alice 8 | reverse k3 k1 clawback=clamp | ok
earn k1 alice 10; redeem k2 alice 8 | reverse k3 k1 clawback=debt | debt_limit_exceeded
earn k1 alice 10; redeem k2 alice 5 | reverse k3 k1 clawback=debt | ok
earn k1 alice 10; redeem k2 alice 8; reverse k3 k1 clawback=clamp | reverse k4 k1 | already_reversed
earn k1 alice 10; redeem k2 alice 8 | reverse k3 k2 restore=reissue reissue=0s | invalid_argument
earn k1 alice 10; redeem k2 alice 8 | reverse k3 k2 restore=reissue reissue=1s | ok
earn k1 alice 10; transfer k2 alice bob 10; redeem k3 bob 10 | reverse k4 k2 | insufficient_points
# adjustments
| adjust k1 alice -5 | insufficient_points
| adjust k1 alice -5 clawback=debt | ok
| adjust k1 alice -6 clawback=debt | debt_limit_exceeded
earn k1 alice 10 avail=60s | adjust k2 alice -10 | ok
adjust k1 alice 9223372036854775807 | adjust k2 alice 1 | points_overflow
# offers: arguments, then the key, then the offer's window, tier, stock and limits, then points
| offer k1 alice watch qty=0 | invalid_argument
| offer k1 alice watch option=cash | invalid_argument
| offer k1 alice watch option=bundle:7 | invalid_argument
earn k1 alice 100; offer k2 alice watch | offer k2 alice watch | replayed
earn k1 alice 100; offer k2 alice watch | offer k2 alice watch option=bundle:0 | idempotency_conflict
earn k1 alice 100 | offer k2 alice flash | offer_unavailable
earn k1 alice 100; advance 60 | offer k2 alice flash | ok
earn k1 alice 100; advance 120 | offer k2 alice flash | offer_unavailable
earn k1 alice 100 | offer k2 alice gold tier=silver | offer_unavailable
earn k1 alice 100 | offer k2 alice gold tier=gold | ok
earn k1 alice 100; earn k2 bob 100; offer k3 alice watch | offer k4 bob watch | offer_unavailable
earn k1 alice 100; offer k2 alice watch; cancel k3 k2 | offer k4 alice watch | ok
| offer k1 alice watch | insufficient_points
| fulfil k1 nope | redemption_not_found
earn k1 alice 100 | fulfil k2 k1 | redemption_not_found
earn k1 alice 100; offer k2 alice watch; cancel k3 k2 | fulfil k4 k2 | released_hold_not_capturable
earn k1 alice 100; offer k2 alice watch | refund k3 k2 | not_reversible
earn k1 alice 100; offer k2 alice watch; fulfil k3 k2 | refund k4 k2 | ok
earn k1 alice 100; offer k2 alice watch; fulfil k3 k2; refund k4 k2 | refund k4 k2 | replayed
earn k1 alice 100; offer k2 alice watch; fulfil k3 k2; refund k4 k2 | refund k5 k2 | reversal_exceeds_original
earn k1 alice 100; offer k2 alice final; fulfil k3 k2 | refund k4 k2 | ok
# conversions: arguments, then the key, then the conversion's rules, then points
| convert k1 alice p2m 0 | invalid_argument
| convert k1 alice p2m 5 | invalid_argument
earn k1 alice 100; convert k2 alice p2m 20 | convert k2 alice p2m 20 | replayed
earn k1 alice 100; convert k2 alice p2m 20 | convert k2 alice p2m 10 | idempotency_conflict
earn k1 alice 100 | convert k2 alice off 10 | conversion_refused
earn k1 alice 100; convert k2 alice p2m 20 | convert k3 alice p2m 10 | conversion_refused
| convert k1 alice p2m 10 | insufficient_points
# draws: the key, then the lottery's window, minors and daily limit, then points
earn k1 alice 100; draw d1 alice wheel | draw d1 alice wheel | replayed
earn k1 alice 100 | draw k1 alice wheel | idempotency_conflict
| draw d1 alice wheel minor=true | draw_refused
earn k1 alice 100; draw d1 alice wheel | draw d2 alice wheel | draw_refused
earn k1 alice 100; advance 3600 | draw d1 alice wheel | draw_refused
| draw d1 alice wheel | insufficient_points
| record d1 | draw_not_found
earn k1 alice 100; draw d1 alice wheel | record d1 | ok
# linked commands: all or nothing, each by its own key; a later command sees earlier ones
earn k1 alice 10 | linked redeem r1 alice 5 + transfer t1 alice bob 3 | ok
| linked earn e1 bob 5 + redeem r1 bob 5 | ok
earn k1 alice 10; linked redeem r1 alice 5 + transfer t1 alice bob 3 | linked redeem r1 alice 5 + transfer t1 alice bob 3 | replayed
earn k1 alice 10 | linked redeem r1 alice 5 + redeem r2 alice 6 | insufficient_points
earn k1 alice 10 | linked! redeem r1 alice 6 + redeem r2 alice 5 + earn e1 bob 1 | linked_command_refused
earn k1 alice 10; redeem r1 alice 5 | linked redeem r2 alice 1 + redeem r1 alice 6 | idempotency_conflict
earn k1 alice 10; reserve h1 alice 4 timeout=60 | linked capture c1 h1 + redeem r1 alice 7 | insufficient_points
"""

_OFFERS: Final = {
    "watch": Offer(
        "watch",
        "Watch",
        Price(points=50, bundles=[Bundle(20, Money(3, "CNY"))]),
        stock=1,
        limits=[OfferLimit(1, "lifetime")],
    ),
    "flash": Offer(
        "flash",
        "Flash sale",
        Price(points=5),
        starts_at=START + timedelta(seconds=60),
        ends_at=START + timedelta(seconds=120),
    ),
    "gold": Offer("gold", "Gold only", Price(points=5), tiers=["gold"]),
    "final": Offer("final", "Final sale", Price(points=5), refund="no_points_back"),
}
_EXCHANGE: Final = Exchange(
    [
        Conversion("p2m", "points", "miles", Fraction(1, 2), block=10, maximum=20, per="lifetime"),
        Conversion("off", "points", "miles", 1, enabled=False),
    ]
)
_LOTTERIES: Final = {
    "wheel": Lottery(
        "wheel",
        "Wheel",
        5,
        [Prize("pen", "Pen", Fraction(1))],
        daily_limit=1,
        zone="UTC",
        ends_at=START + timedelta(seconds=3600),
    ),
}


@attrs.frozen
class GoldenCase:
    """One line of the table.

    Attributes:
        setup: Commands that must succeed first, in order.
        command: The command under test.
        outcome: ``ok``, ``replayed`` or the error code it must end with.
    """

    setup: tuple[str, ...]
    command: str
    outcome: str

    def __str__(self) -> str:
        return f"{'; '.join(self.setup)} | {self.command} | {self.outcome}"

    @property
    def parts(self) -> frozenset[str]:
        """The storage parts the case needs: ``accounts``, and ``records`` for feature verbs."""
        verbs = {line.split()[0] for line in (*self.setup, self.command)}
        return frozenset({"accounts"} | ({"records"} if verbs & _FEATURE_VERBS else set()))


def _cases() -> tuple[GoldenCase, ...]:
    cases = []
    for raw in GOLDEN.strip().splitlines():
        if raw.startswith("#"):
            continue
        setup, command, outcome = (part.strip() for part in raw.split("|"))
        steps = tuple(filter(None, (step.strip() for step in setup.split(";"))))
        cases.append(GoldenCase(steps, command, outcome))
    return tuple(cases)


def _parse(word: str) -> object:
    if word in {"true", "false"}:
        return word == "true"
    if word.endswith("s") and word[:-1].isdigit():
        return START + timedelta(seconds=int(word[:-1]))
    if word == "naive":
        return datetime(2026, 6, 1)  # noqa: DTZ001 - a naive datetime is the point
    if word == "none":
        return None
    for kind in (int, float):
        try:
            return kind(word)
        except ValueError:
            continue
    return word


_FEATURE_VERBS: Final = frozenset(
    {"offer", "fulfil", "cancel", "refund", "convert", "draw", "record"}
)


class _Runner:
    """Runs the table's little language against a ledger on one storage."""

    def __init__(self, storage: Storage) -> None:
        self.clock = FixedClock(START)
        self.storage = storage
        self.program = f"golden-{_RUN}-{next(_programs)}"
        self.ledger = Ledger(
            storage,
            clock=self.clock,
            currencies=(PointCurrency("points"), PointCurrency("miles")),
            program=self.program,
            policy=LedgerPolicy(debt_limit=5),
        )
        self._features: tuple[Catalogue, Conversions, Draws] | None = None
        self.ids: dict[str, uuid.UUID] = {"missing": MISSING}
        self.offers: dict[str, Offer] = {}

    def run(self, line: str, on: Linked | None = None) -> str:  # noqa: C901, PLR0912 - a case per verb
        words = line.split()
        if words[0] in {"linked", "linked!"}:
            return self._linked(line.split(maxsplit=1)[1], carry_on=words[0] == "linked!")
        verb, args = words[0], [w for w in words[1:] if "=" not in w]
        options: dict[str, Any] = {
            k: _parse(v) for k, v in (w.split("=", 1) for w in words[1:] if "=" in w)
        }
        values: list[Any] = [_parse(arg) for arg in args]
        ledger: Ledger | Linked = self.ledger if on is None else on
        if verb == "advance":
            self.clock.advance(timedelta(seconds=int(args[0])))
            return "ok"
        if verb == "expire":
            self.ledger.expire_due()
            return "ok"
        key = args[0]
        if verb in _FEATURE_VERBS:
            return self._commerce(verb, args, values, options)
        match verb:
            case "earn":
                done = ledger.earn(
                    args[1],
                    values[2],
                    key=key,
                    available_at=options.get("avail"),
                    expires_at=options.get("exp"),
                    currency=options.get("currency"),
                )
            case "redeem":
                done = ledger.redeem(args[1], values[2], key=key)
            case "reserve":
                done = ledger.reserve(
                    args[1], values[2], key=key, timeout_seconds=options["timeout"]
                )
            case "capture":
                amount = values[2] if len(values) > 2 else None  # noqa: PLR2004 - the optional third word
                done = ledger.capture(self.ids[args[1]], amount, key=key)
            case "release":
                done = ledger.release(self.ids[args[1]], key=key)
            case "transfer":
                done = ledger.transfer(args[1], args[2], values[3], key=key)
            case "reverse":
                amount = values[2] if len(values) > 2 else None  # noqa: PLR2004 - the optional third word
                done = ledger.reverse(
                    self.ids[args[1]],
                    amount,
                    key=key,
                    clawback=options.get("clawback"),
                    restore=options.get("restore"),
                    reissue_expires_at=options.get("reissue"),
                )
            case "adjust":
                done = ledger.adjust(
                    args[1],
                    values[2],
                    key=key,
                    reason=options.get("reason", "a correction"),
                    clawback=options.get("clawback"),
                    expires_at=options.get("exp"),
                )
            case _:
                raise AssertionError(f"unknown verb {verb!r}")
        self.ids.setdefault(key, done.id)
        return "replayed" if done.replayed else "ok"

    @property
    def features(self) -> tuple[Catalogue, Conversions, Draws]:
        """The features, made on first use: a points-only storage runs no feature verb."""
        if self._features is None:
            ledger = self.ledger
            self._features = (Catalogue(ledger), Conversions(ledger), Draws(ledger))
        return self._features

    def _linked(self, commands: str, *, carry_on: bool) -> str:
        """Run ``+``-separated ledger commands in one link; with *carry_on*, past refusals."""
        outcomes = []
        with self.ledger.linked() as link:
            for command in commands.split("+"):
                try:
                    outcomes.append(self.run(command.strip(), link))
                except PointkitError:
                    if not carry_on:
                        raise
        return "replayed" if all(outcome == "replayed" for outcome in outcomes) else "ok"

    def _commerce(
        self, verb: str, args: list[str], values: list[Any], options: dict[str, Any]
    ) -> str:
        """The catalogue, exchange and lottery verbs."""
        (catalogue, conversions, draws), key = self.features, args[0]
        replayed: bool
        match verb:
            case "offer":
                offer = _OFFERS[args[2]]
                redemption = catalogue.redeem(
                    args[1],
                    offer,
                    key=key,
                    option=str(options.get("option", "points")),
                    quantity=options.get("qty", 1),
                    tier=options.get("tier"),
                )
                self.offers[key] = offer
                replayed = redemption.replayed
            case "fulfil":
                replayed = catalogue.fulfil(args[1], key=key).replayed
            case "cancel":
                replayed = catalogue.cancel(args[1], key=key).replayed
            case "refund":
                offer = self.offers.get(args[1], _OFFERS["watch"])
                refund = catalogue.refund(args[1], offer, key=key, quantity=options.get("qty"))
                replayed = refund.replayed
            case "convert":
                replayed = conversions.convert(
                    args[1], _EXCHANGE, args[2], values[3], key=key
                ).replayed
            case "draw":
                lottery = _LOTTERIES[args[2]]
                minor = bool(options.get("minor", False))
                replayed = draws.draw(args[1], lottery, draw_id=key, minor=minor).replayed
            case _:
                draws.record(key)
                replayed = False
        return "replayed" if replayed else "ok"


def run_case(storage: Storage, case: GoldenCase, *, tiers: bool = True) -> None:
    """Run one golden case on *storage*; a refusal must leave the storage unchanged.

    With *tiers*, the comparison of before and after includes the tiers part's reads.

    Raises:
        AssertionError: If a setup command fails, the outcome differs, a refusal changed the
            storage, or the audit fails afterwards.
    """
    runner = _Runner(storage)
    for step in case.setup:
        check(runner.run(step) in {"ok", "replayed"}, f"{case}: setup {step!r} did not succeed")
    before = snapshot(storage, runner.program, tiers=tiers)
    try:
        actual = runner.run(case.command)
    except PointkitError as error:
        actual = error.code
        check(
            before == snapshot(storage, runner.program, tiers=tiers),
            f"{case}: the refusal wrote something",
        )
    check(case.outcome == actual, f"{case}: got {actual}")
    runner.ledger.audit()


CASES: Final = _cases()


# -- earning controls -------------------------------------------------------------------------

CONTROLS_GOLDEN = """
# rounding_stage = "base": 88 yuan at 1 per 10 is 8 before the tier's x2
| purchase o1 alice 88 tier=vip | awarded 16
| purchase o1 alice 88 | awarded 8
| purchase o1 alice 5 | not_eligible 0 zero_points
# a named task cap over shares and reviews, which spares purchases
share s1 alice; review r1 alice | share s2 alice | capped 0 named_cap_tasks_day
share s1 alice; review r1 alice | purchase o1 alice 100 | awarded 10
share s1 alice; review r1 alice; advance 86400 | share s2 alice | awarded 5
share s1 alice; review r1 alice | share s2 bob | awarded 5
# once per invitee: per member, and program-wide
invitee i1 alice bob | invitee i2 alice bob | duplicate 0 once_per_value
invitee i1 alice bob; advance 864000 | invitee i2 alice bob | duplicate 0 once_per_value
invitee i1 alice bob | invitee i2 alice carol | awarded 50
invitee i1 alice bob | invitee i2 dave bob | awarded 50
invite v1 alice bob | invite v2 dave bob | duplicate 0 once_per_value
invite v1 alice bob | invite v2 alice carol | awarded 1
# one day counter, the current tier's limit; exempt purchases pass it
invitee i1 alice b1; invitee i2 alice b2 | invitee i3 alice b3 | capped 0 program_cap_points_day
invitee i1 alice b1; invitee i2 alice b2 | invitee i3 alice b3 tier=vip | awarded 100
invitee i1 alice b1 tier=vip; invitee i2 alice b2 tier=vip | invitee i3 alice b3 | capped 0 program_cap_points_day
invitee i1 alice b1; invitee i2 alice b2 | purchase o1 alice 1000 | awarded 100
"""
"""Golden lines for the earning controls: ``setup; ... | event | status points [reasons]``.

Events (all at the clock's time, which ``advance SECONDS`` moves)::

    purchase ID MEMBER YUAN [tier=T]     share ID MEMBER      review ID MEMBER
    invitee ID MEMBER INVITEE [tier=T]   invite ID MEMBER INVITEE
    signin ID MEMBER [tier=T] [joined=DAYS]

A member is ``normal`` (x1) unless ``tier=vip`` (x2); ``joined=DAYS`` joined that many days
before the event (no join date otherwise). The outcome is the event's one rule's
status, points and reason codes under :func:`controls_rules`.
"""


def controls_rules() -> RuleSet:
    """The rule set the controls golden lines run under.

    ``spend`` (1 point per 10 yuan, rounded at the base, exempt from the program caps),
    ``share`` and ``review`` (5 each, at most 2 a day together: the named cap ``tasks``),
    ``invite-sent`` (1, once per invitee program-wide), ``invite`` (50, once per invitee per
    member), and a day cap of 100 points for normal members and 200 for VIPs.
    """
    return RuleSet(
        [
            Rule(
                "spend",
                ("purchase",),
                Rate(1, per=Money(10, "CNY"), rounding="floor"),
                exempt_from_caps=True,
            ),
            Rule("share", ("share",), Fixed(5), tier_multiplier=False),
            Rule("review", ("review",), Fixed(5), tier_multiplier=False),
            Rule(
                "invite-sent",
                ("invite",),
                Fixed(1),
                once_per=OncePer("invitee", scope="program"),
                exempt_from_caps=("day",),
            ),
            Rule("invite", ("invitee_registered",), Fixed(50), once_per="invitee"),
        ],
        zone="Asia/Shanghai",
        rounding_stage="base",
        caps=(
            Cap("day", points={"normal": 100, "vip": 200}),
            Cap("day", tasks=2, name="tasks", rules=("share", "review")),
        ),
    )


def _control_event(words: list[str], at: datetime) -> tuple[Event, MemberContext]:
    options = dict(word.split("=", 1) for word in words if "=" in word)
    kind, event_id, member, *rest = [word for word in words if "=" not in word]
    tier = options.get("tier", "normal")
    joined = options.get("joined")
    context = MemberContext(
        tier=tier,
        earn_multiplier=2 if tier == "vip" else 1,
        joined_at=None if joined is None else at - timedelta(days=int(joined)),
    )
    if kind == "purchase":
        amount = Money(rest[0], "CNY")
        return Event.purchase(event_id, member, at, amount=amount, order_id=event_id), context
    if kind == "invitee":
        return Event.invitee_registered(event_id, member, at, invitee=rest[0]), context
    if kind == "invite":
        return Event.invite(event_id, member, at, invitee=rest[0]), context
    if kind == "share":
        return Event.share(event_id, member, at, channel="wechat"), context
    if kind == "signin":
        return Event.sign_in(event_id, member, at), context
    return Event.review(event_id, member, at, length=3, rating=5), context


def run_control_case(storage: Storage, case: GoldenCase, rules: RuleSet | None = None) -> None:
    """Run one controls golden line on *storage* through :class:`~pointkit.features.Earning`.

    *rules* are :func:`controls_rules` unless given (:func:`segment_rules` for
    :data:`SEGMENT_CASES`).

    Raises:
        AssertionError: If the outcome differs, or the audit fails afterwards.
    """
    clock = FixedClock(START)
    ledger = Ledger(storage, clock=clock, program=f"controls-{_RUN}-{next(_programs)}")
    earning = Earning(ledger)
    rules = controls_rules() if rules is None else rules
    outcome = ""
    for line in (*case.setup, case.command):
        words = line.split()
        if words[0] == "advance":
            clock.advance(timedelta(seconds=int(words[1])))
            continue
        event, member = _control_event(words, clock.now())
        decision = earning.record(event, rules, member=member).decision
        check(decision is not None, f"{case}: {line} has no decision")
        explained = decision.explanations[0]  # type: ignore[union-attr]  # checked above
        outcome = " ".join(
            [str(explained.status), str(explained.points), *map(str, explained.reasons)]
        )
    check(case.outcome == outcome, f"{case}: got {outcome}")
    ledger.audit()


CONTROL_CASES: Final = tuple(
    GoldenCase(
        tuple(filter(None, (step.strip() for step in setup.split(";")))),
        command.strip(),
        outcome.strip(),
    )
    for setup, command, outcome in (
        raw.split("|") for raw in CONTROLS_GOLDEN.strip().splitlines() if not raw.startswith("#")
    )
)


# -- segments ------------------------------------------------------------------------------------

SEGMENTS_GOLDEN = """
# a sign-in bonus for the new-vip segment: vips who joined at most 30 local days ago
| signin g1 alice tier=vip joined=9 | awarded 20
| signin g1 alice tier=vip joined=30 | awarded 20
| signin g1 alice tier=vip joined=31 | not_eligible 0 condition_false
| signin g1 alice joined=9 | not_eligible 0 condition_false
| signin g1 alice tier=vip | not_eligible 0 condition_false
# the segment is asked at each event: a day later the same member (joined=31) is out of it
signin g1 alice tier=vip joined=30 | signin g2 alice tier=vip joined=30 | awarded 20
signin g1 alice tier=vip joined=30; advance 86400 | signin g2 alice tier=vip joined=31 | not_eligible 0 condition_false
# a rule for everyone outside the segment: shares by all but new vips
| share s1 alice tier=vip joined=9 | not_eligible 0 condition_false
| share s1 alice joined=9 | awarded 5
"""
"""Golden lines for a segment condition, in :data:`CONTROLS_GOLDEN`'s form, run under
:func:`segment_rules`."""


def segment_rules() -> RuleSet:
    """The rule set the segment golden lines run under.

    ``welcome`` (20 per sign-in for members of the ``new-vip`` segment: tier vip, joined at
    most 30 local days ago) and ``share`` (5 per share for everyone *not* in it).
    """
    new_vip = All(
        [
            Compare(Fact("member.tier"), "==", Const("vip")),
            Compare(Fact("member.days_since_joining"), "<=", Const(30)),
        ]
    )
    return RuleSet(
        [
            Rule(
                "welcome",
                ("sign_in",),
                Fixed(20),
                when=InSegment("new-vip"),
                tier_multiplier=False,
            ),
            Rule("share", ("share",), Fixed(5), when=Not(InSegment("new-vip"))),
        ],
        zone="Asia/Shanghai",
        segments=Segments([Segment("new-vip", new_vip)], zone="Asia/Shanghai"),
    )


SEGMENT_CASES: Final = tuple(
    GoldenCase(
        tuple(filter(None, (step.strip() for step in setup.split(";")))),
        command.strip(),
        outcome.strip(),
    )
    for setup, command, outcome in (
        raw.split("|") for raw in SEGMENTS_GOLDEN.strip().splitlines() if not raw.startswith("#")
    )
)

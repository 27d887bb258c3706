"""The conformance checks of the reports part: the adapter under test answers as the reference.

Maintainer's notes
------------------
The reports part (:class:`~pointkit.features.ReportReadUnit`) is optional, like the audit
reads. An adapter that has it is checked in two ways:

* the stateful machine adds :func:`report_rows` to what it compares after every step, so the
  aggregates of random ledger histories (earns, redemptions, holds, transfers, reversals,
  adjustments, expiry) match the in-memory reference's;
* :func:`check_report_part` plays one scripted programme (:func:`play_report_scenario`) on the
  adapter and on :class:`~pointkit.MemoryStorage` and compares every read of the part: it has
  what the machine has not, offers fulfilled, cancelled, timed out and refunded, lottery draws
  with points prizes, conversions, write-offs and tier states, with local midnights and a
  daylight-saving change in Europe/Berlin.

An adapter with only some of the part's methods fails; one without any is not checked.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Final
from zoneinfo import ZoneInfo

from pointkit import FixedClock, MemoryStorage, Money, ProgramId
from pointkit.features._parts import missing_methods
from pointkit.features._report_parts import require_reports
from pointkit.pricing import SeededRandom
from pointkit.program import Program
from pointkit.rules import Event


if TYPE_CHECKING:
    from collections.abc import Callable

    from pointkit.ledger import Storage


__all__ = [
    "REPORT_SCENARIO",
    "check_report_part",
    "has_report_part",
    "play_report_scenario",
    "report_rows",
]

_BERLIN: Final = ZoneInfo("Europe/Berlin")
_START: Final = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
_HOUR: Final = timedelta(hours=1)
_DAY: Final = timedelta(days=1)
_TICK: Final = timedelta(microseconds=1)

REPORT_SCENARIO: Final = """
[program]
id = "reports-check"
zone = "Europe/Berlin"
currencies = ["points", "miles"]
clawback = "clamp"
restore = "original_expiry"

[valuation]
points = 100
worth = "1.00 EUR"

[tiers]
window = { type = "calendar_year" }
review = { type = "yearly", dates = ["01-01"] }

[[tiers.levels]]
name = "basic"
threshold = 0

[[tiers.levels]]
name = "plus"
threshold = 150

[earning]

[[earning.rules]]
name = "spend"
kinds = ["purchase"]
effect = { type = "rate", points = 1, per = { amount = "1.00", currency = "EUR" }, rounding = "floor" }

[[offers]]
id = "mug"
name = "Mug"
points = 300
stock = 50
refund = "original_expiry"
hold_timeout_seconds = 3600

[[offers]]
id = "bag"
name = "Bag"
points = 500
refund = "no_points_back"

[[lotteries]]
id = "spin"
name = "Spin"
cost = 100

[[lotteries.prizes]]
id = "back"
name = "150 points back"
kind = "points"
points = 150
probability = "1/2"

[[lotteries.prizes]]
id = "thanks"
name = "Thank you"
kind = "coupon"
probability = "1/2"
cost = "0.10 EUR"

[[conversions]]
id = "to-miles"
source = "points"
target = "miles"
ratio = "1/10"
block = 100

[transfers]
allowed = true
minimum = 1
"""
"""The scripted programme's file: Europe/Berlin, offers with both refund policies, a lottery
with a points prize, a conversion, transfers, tiers and clamped clawbacks (write-offs)."""


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def _purchase(member: str, euros: int, order: str, at: datetime) -> Event:
    return Event.purchase(order, member, at, amount=Money(euros, "EUR"), order_id=order)


def play_report_scenario(storage: Storage, *, zone: str = "Europe/Berlin") -> Program:
    """Play the scripted programme on *storage*, in a program of its own; return it.

    *zone* replaces the programme's zone (the instants stay those of Europe/Berlin's days).

    The days it touches, in Europe/Berlin: points imported on 15 January expire on 29 and
    30 March; purchases at 23:59:59.999999 on 27 March and 00:00 on 28 March; redemptions
    fulfilled, refunded (with and without points back), cancelled and timed out on 28 March;
    draws, a transfer and a conversion just after midnight on 29 March, the day the clocks go
    forward (a day of 23 hours); a clawback that writes off and a deduction on 30 March; tier
    reviews; an earned lot that partly expires on 1 April.
    """
    clock = FixedClock(_START)
    config_id = f"reports-{uuid.uuid4().hex[:8]}"
    program = Program.from_toml(
        REPORT_SCENARIO.replace('id = "reports-check"', f'id = "{config_id}"').replace(
            'zone = "Europe/Berlin"', f'zone = "{zone}"'
        ),
        storage=storage,
        clock=clock,
    )
    ledger = program.ledger
    clock.set(_at("2026-01-15T12:00:00+01:00"))
    ledger.earn("ann", 3_000, key="import-ann", expires_at=_at("2026-03-29T23:59:59.999999+02:00"))
    ledger.earn("bob", 1_000, key="import-bob", expires_at=_at("2026-03-30T00:00:00+02:00"))
    program.adjust("dan", 700, key="gift-dan", reason="welcome")
    clock.set(_at("2026-03-27T23:59:59.999999+01:00"))
    program.record(_purchase("ann", 120, "o1", clock.now()))
    clock.set(_at("2026-03-28T00:00:00+01:00"))
    bought = program.record(_purchase("bob", 180, "o2", clock.now()))
    program.redeem("ann", "mug", key="r1", quantity=2)
    program.fulfil("r1", key="r1-shipped")
    program.refund("r1", key="r1-back", quantity=1)
    clock.set(_at("2026-03-28T12:00:00+01:00"))
    ledger.earn("cara", 400, key="cara-1", expires_at=_at("2026-03-31T12:00:00+02:00"))
    program.redeem("ann", "mug", key="r2")
    program.cancel("r2", key="r2-off")
    program.redeem("bob", "bag", key="r3")
    program.fulfil("r3", key="r3-shipped")
    program.refund("r3", key="r3-back")
    program.redeem("ann", "mug", key="r4")  # nobody fulfils it: it times out
    clock.set(_at("2026-03-29T00:30:00+01:00"))
    for number in range(4):
        program.draw("ann", "spin", draw_id=f"d{number}", minor=False, random=SeededRandom(number))
    program.transfer("ann", "bob", 200, key="t1")
    program.convert("bob", "to-miles", 100, key="c1")
    program.redeem("cara", "mug", key="r5")
    program.fulfil("r5", key="r5-shipped")
    clock.set(_at("2026-03-29T03:30:00+02:00"))
    program.run_expiry()
    clock.set(_at("2026-03-29T23:59:59.999999+02:00"))
    program.run_expiry()
    clock.set(_at("2026-03-30T00:00:00+02:00"))
    program.run_expiry()
    clock.set(_at("2026-03-30T10:00:00+02:00"))
    program.ledger.redeem("bob", 150, key="bob-spends")
    program.reverse(str(bought.outcome.transactions[0].id), key="o2-clawback")
    program.adjust("ann", -50, key="deduction", reason="abuse")
    for member in ("ann", "bob", "cara"):
        program.review_tier(member)
    clock.set(_at("2026-04-01T12:00:00+02:00"))
    program.run_expiry()
    return program


def has_report_part(storage: Storage, probe: str) -> bool:
    """Whether *storage* has the reports part: all of its methods, or none.

    Raises:
        AssertionError: If it has some of the part's methods but not all.
    """
    with storage.reading(ProgramId(probe)) as unit:
        missing = missing_methods(unit, "reports")
    every = missing_methods(object(), "reports")
    if missing and len(missing) != len(every):
        raise AssertionError(
            f"the storage's unit {type(unit).__name__} has some of the reports part's methods "
            f"but not {', '.join(missing)}"
        )
    return not missing


def report_rows(unit: object, *, start: datetime = _START) -> list[object]:
    """Every read of the reports part on *unit*, with arguments around *start*, for comparing."""
    reader = require_reports(unit, "the conformance suite")
    bounds = [start - _DAY, start, start + _HOUR, start + _DAY, start + 10 * _DAY]
    rows: list[object] = [
        list(reader.flows_by_day("points", zone, date(2025, 12, 1), date(2029, 12, 31)))
        for zone in (_BERLIN, ZoneInfo("UTC"))
    ]
    rows.append(list(reader.outstanding_by_expiry("points", [*bounds, None])))
    rows.append(list(reader.outstanding_by_expiry("points", bounds)))
    for since, until in ((None, None), (start, start + 5 * _DAY), (start + _DAY, None)):
        rows.append(reader.issued_cohort("points", since, until))
        rows.append(list(reader.offer_sales(since, until)))
        rows.append(list(reader.lottery_draws(since, until)))
    rows.append(list(reader.tier_members()))
    return rows


def _scenario_rows(unit: object) -> list[object]:
    """The part's reads over the scripted programme: its days, in three zones, and spans."""
    reader = require_reports(unit, "the conformance suite")
    import_day = _at("2026-01-15T12:00:00+01:00")
    rows: list[object] = report_rows(unit, start=import_day)
    for zone in (_BERLIN, ZoneInfo("America/Havana"), ZoneInfo("Asia/Shanghai")):
        rows.append(list(reader.flows_by_day("points", zone, date(2026, 3, 27), date(2026, 3, 31))))
        rows.append(list(reader.flows_by_day("miles", zone, date(2026, 1, 1), date(2026, 12, 31))))
    midnight = _at("2026-03-28T00:00:00+01:00")
    for since, until in ((midnight, midnight + _DAY), (midnight - _TICK, midnight)):
        rows.append(reader.issued_cohort("points", since, until))
        rows.append(list(reader.offer_sales(since, until)))
        rows.append(list(reader.lottery_draws(since, until)))
    now = _at("2026-03-29T00:00:00+01:00")
    rows.append(list(reader.outstanding_by_expiry("points", [now, now + _DAY, now + 2 * _DAY])))
    return rows


def check_report_part(factory: Callable[[], Storage]) -> None:
    """Play the scripted programme on a storage from *factory* and on the reference; compare.

    Nothing is checked when the storage has no reports part.

    Raises:
        AssertionError: Naming the first read whose answer differs from the reference's, or
            if the storage has some of the part's methods but not all.
    """
    storage = factory()
    if not has_report_part(storage, f"reports-probe-{uuid.uuid4().hex[:8]}"):
        return
    answers = []
    for each in (storage, MemoryStorage()):
        program = play_report_scenario(each)
        with each.reading(program.ledger.program) as unit:
            answers.append(_scenario_rows(unit))
    tested, reference = answers
    for number, (got, expected) in enumerate(zip(tested, reference, strict=True)):
        if got != expected:
            raise AssertionError(
                f"the reports part's read #{number} differs from the in-memory reference's:\n"
                f"  storage under test: {got}\n  reference:          {expected}"
            )

"""The economy simulator at its target size: 10,000 members over 365 days, one seed.

Run with ``python bench/simulate_bench.py`` (POINTKIT_BENCH_MEMBERS and POINTKIT_BENCH_DAYS
shrink it). What is timed: ``pointkit.simulate.simulate`` on ``examples/points_mall.toml`` with
the packaged typical population, one seed: every event through ``Program.record``, every
redemption and draw through the programme, expiry through ``expire_all`` and scheduled tier
reviews, on memory storage without the outbox part. Events per second counts the events the
programme recorded (sign-ins, shares, purchases, reviews, invitees) per second of the whole run.

Target (the simulator's brief): 10,000 members x 365 days within 60 seconds on the 2-core
machine.
"""

from __future__ import annotations

import os
import time
from datetime import date
from pathlib import Path

from pointkit.program import load_config
from pointkit.simulate import simulate, typical_population


TARGET_SECONDS = 60
MEMBERS = int(os.environ.get("POINTKIT_BENCH_MEMBERS", "10000"))
DAYS = int(os.environ.get("POINTKIT_BENCH_DAYS", "365"))
MALL = Path(__file__).parent.parent / "examples" / "points_mall.toml"


def main() -> None:
    """Time one seed of the simulator and print it beside the target."""
    config = load_config(MALL)
    population = typical_population()
    started, cpu = time.perf_counter(), time.process_time()
    (forecast,) = simulate(
        [config], population, members=MEMBERS, days=DAYS, start=date(2026, 1, 1), seeds=1
    )
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu
    events = sum(day.events for day in forecast.runs[0].days)
    scaled = seconds * (10_000 * 365) / (MEMBERS * DAYS)
    print(f"simulate: {MEMBERS:,} members x {DAYS:,} days, one seed")
    print(f"  pointkit  {seconds:8.1f} s   {events:,} events, {events / seconds:,.0f} events/s")
    # On a shared machine the wall time includes waiting for a core; CPU time does not.
    print(f"  cpu       {cpu:8.1f} s   {events / cpu:,.0f} events per CPU second")
    verdict = "meets" if scaled <= TARGET_SECONDS else "misses"
    print(
        f"  target    {TARGET_SECONDS:8.1f} s   for 10,000 x 365 (this run scaled: {scaled:.1f} s, "
        f"{scaled / TARGET_SECONDS:.2f}x the target: {verdict} it)"
    )


if __name__ == "__main__":
    main()

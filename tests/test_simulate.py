"""The economy simulator: determinism, conservation, the figures, population errors, the command."""

from __future__ import annotations

import io
import json
import pickle
from datetime import date
from fractions import Fraction
from pathlib import Path

import pytest

from pointkit.cli import _parser, main
from pointkit.exceptions import ConfigurationError, InvalidArgumentError
from pointkit.program import Program, ProgramConfig, config_from_toml, load_config
from pointkit.simulate import (
    Band,
    Forecast,
    Population,
    document,
    population_from_toml,
    simulate,
    simulate_run,
    typical_population,
)


ROOT = Path(__file__).parent.parent
MALL_FILE = ROOT / "examples" / "points_mall.toml"
MALL = load_config(MALL_FILE)

# An eager population, so that 50 members over 60 days redeem, draw and sell offers out.
EAGER = """
[population]
name = "eager"

[members]
churn = "1/100"
joining = "1/50"

[purchases]
chance = "1/3"
basket = { type = "table", amounts = [{ amount = "300.00", weight = 3 }, { amount = "1200.00", weight = 1 }] }
review = "1/2"

[actions]
sign_in = "1/2"
share = "1/4"
invite = "1/20"

[redemption]
choice = "weights"
weights = { coupon = 3, headphones = 1, watch = 1 }
bands = [{ from = 800, chance = "1/3" }]

[draws]
bands = [{ from = 1000, chance = "1/4" }]
"""


def _eager() -> Population:
    return population_from_toml(EAGER)


def _run(
    config: ProgramConfig = MALL, *, seeds: int = 1, start: date = date(2026, 1, 1)
) -> Forecast:
    return simulate([config], _eager(), members=50, days=60, start=start, seeds=seeds)[0]


def _json(forecasts: tuple[Forecast, ...]) -> str:
    return json.dumps(document(forecasts), sort_keys=True)


@pytest.fixture(scope="module")
def forecast() -> Forecast:
    """Two seeds of the eager population on the points mall, over a half-yearly clearing."""
    return simulate([MALL], _eager(), members=50, days=60, start=date(2026, 5, 20), seeds=2)[0]


def test_the_same_seed_gives_the_same_json_and_another_seed_another() -> None:
    """Runs are deterministic: same arguments, same bytes; a different seed, different figures."""
    population = _eager()
    first = simulate([MALL], population, members=30, days=20, start=date(2026, 1, 1))
    again = simulate([MALL], population, members=30, days=20, start=date(2026, 1, 1))
    assert _json(first) == _json(again)
    one = simulate_run(MALL, population, members=30, days=20, start=date(2026, 1, 1), seed=1)
    two = simulate_run(MALL, population, members=30, days=20, start=date(2026, 1, 1), seed=2)
    assert one.days != two.days


def test_points_are_conserved_each_day_and_match_the_ledger(forecast: Forecast) -> None:
    """Issued - consumed - expired = outstanding every day, and the wallets sum to it at the end."""
    for run in forecast.runs:
        issued = consumed = expired = 0
        for day in run.days:
            issued += day.issued
            consumed += day.redeemed + day.drawn
            expired += day.expired
            assert issued - consumed - expired == day.outstanding
        assert run.days[-1].outstanding == run.balances
    assert 0 < sum(day.expired for day in forecast.runs[0].days)


def test_liability_is_outstanding_at_the_valuation(forecast: Forecast) -> None:
    """Each day's liability is the outstanding points times the value of a point."""
    series = forecast.series(forecast.runs[0])
    per_point = Fraction(1, 100)
    for outstanding, liability in zip(series["outstanding"], series["liability"], strict=True):
        assert Fraction(outstanding) * per_point == Fraction(liability.amount)  # type: ignore[arg-type, union-attr]


def test_breakage_is_cumulative_expired_over_issued(forecast: Forecast) -> None:
    """Breakage on a day is everything expired to date over everything issued to date."""
    run = forecast.runs[0]
    series = forecast.series(run)
    expired = sum(day.expired for day in run.days)
    issued = sum(day.issued for day in run.days)
    assert Fraction(expired, issued) == series["breakage"][-1]


def test_double_points_cost_more_on_the_same_population() -> None:
    """Under --compare, a programme that earns double costs more per unit of sales."""
    text = MALL_FILE.read_text(encoding="utf-8")
    double = config_from_toml(
        text.replace('points = 1, per = { amount = "10.00"', 'points = 2, per = { amount = "10.00"')
    )
    plain, doubled = simulate([MALL, double], _eager(), members=50, days=30, start=date(2026, 1, 1))
    assert plain.runs[0].days[0].sales == doubled.runs[0].days[0].sales
    assert plain.bands()["cost_of_points"][-1].median < doubled.bands()["cost_of_points"][-1].median  # type: ignore[operator]


def test_a_sell_out_is_reported_on_the_day_the_ledger_sold_the_last_unit() -> None:
    """The reported sell-out day of the headphones is the day of the last unit's redemption."""
    text = MALL_FILE.read_text(encoding="utf-8")
    text = text.replace(
        "starts_at = 2026-06-18T20:00:00+08:00\nends_at = 2026-06-18T22:00:00+08:00\n", ""
    )
    config = config_from_toml(text)
    found: list[Program] = []
    dearest = EAGER.replace(
        'choice = "weights"\nweights = { coupon = 3, headphones = 1, watch = 1 }',
        'choice = "dearest"',
    )
    population = population_from_toml(
        dearest.replace('from = 800, chance = "1/3"', 'from = 1500, chance = "1/2"')
    )
    run = simulate_run(
        config,
        population,
        members=50,
        days=60,
        start=date(2026, 1, 1),
        seed=1,
        finished=found.append,
    )
    program = found[0]
    sold_out = dict(run.sold_out)["headphones"]
    last = max(
        program.redemption(transaction.key).reserved_at.astimezone(config.zone).date()
        for transaction in program.transactions()
        if transaction.key.startswith("redeem-")
        and not transaction.key.endswith("-fulfil")
        and program.redemption(transaction.key).offer == "headphones"
    )
    assert program.offer_sold("headphones") == 3
    assert last == sold_out


def test_bands_hold_the_median_between_low_and_high() -> None:
    """Over three seeds every figure's low <= median <= high."""
    three = _run(seeds=3)
    for name, bands in three.bands().items():
        for band in bands:
            if band.median is not None:
                assert band.low <= band.median <= band.high, name  # type: ignore[operator]
    assert Band(2, 1, 3) == Band.of([3, 1, 2])


def test_the_tier_distribution_counts_every_live_member(forecast: Forecast) -> None:
    """Each day the members per tier add up to the members still acting."""
    for run in forecast.runs:
        for day in run.days:
            assert day.members == sum(count for _, count in day.tiers)
    assert any(count for name, count in forecast.runs[0].days[-1].tiers if name != "normal")


def test_a_population_file_reports_every_problem_with_its_path() -> None:
    """Each problem names the field, the value and what is valid, all at once."""
    text = """
[members]
churn = 0.1
[purchases]
chance = "3/2"
basket = { type = "lognormal", median = "12.345" }
[redemption]
choice = "cheapest"
bands = [{ from = 900, chance = "1/2" }, { from = 800, chance = "1/3" }]
[weather]
"""
    with pytest.raises(ConfigurationError) as raised:
        population_from_toml(text, source="bad.toml")
    assert [
        "weather: unknown section; valid sections are 'population', 'members', 'purchases', 'actions', 'redemption', 'draws'",
        "members.churn: must be an exact fraction like '1/10', not the float 0.1",
        "purchases.chance: must be a chance from '0' to '1' like '1/20', got '3/2'",
        "purchases.basket.median: must have at most 2 decimal places (cents), got '12.345'",
        "redemption.bands[1].from: 800 must be more than the band before's (900): bands go in ascending order of balance",
        "redemption.choice: must be 'dearest' or 'weights', got 'cheapest'",
    ] == list(raised.value.problems)


def test_a_population_naming_an_offer_the_programme_lacks_is_refused() -> None:
    """A weight on an unknown offer names the offer and the offers there are."""
    population = population_from_toml('[redemption]\nchoice = "weights"\nweights = { tv = 1 }\n')
    with pytest.raises(
        ConfigurationError, match=r"redemption\.weights\.tv: the programme has no offer 'tv'"
    ):
        simulate([MALL], population, members=1, days=1, start=date(2026, 1, 1))


def test_the_packaged_population_is_the_documented_example() -> None:
    """The typical population ships with the package and examples/population.toml documents it."""
    example = (ROOT / "examples" / "population.toml").read_text(encoding="utf-8")
    assert population_from_toml(example) == typical_population()


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_command_writes_the_report_and_the_json_and_prints_a_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``pointkit simulate`` writes simulation.html and .json, and prints the figures."""
    population = tmp_path / "population.toml"
    population.write_text(EAGER, encoding="utf-8")
    status = main(
        [
            "simulate",
            str(MALL_FILE),
            "--members",
            "20",
            "--days",
            "10",
            "--population",
            str(population),
            "--output",
            str(tmp_path),
        ]
    )
    captured = capsys.readouterr()
    assert 0 == status
    assert "points issued" in captured.out
    assert "" == captured.err
    html = (tmp_path / "simulation.html").read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>")
    data = json.loads((tmp_path / "simulation.json").read_text(encoding="utf-8"))
    assert "points-mall" == data["simulation"][0]["programme"]
    assert str(data["simulation"][0]["final"]["liability"]["median"]).endswith(" CNY")


def test_the_progress_bar_is_drawn_only_on_a_terminal(tmp_path: Path) -> None:
    """On a terminal stderr gets a progress line; elsewhere nothing."""
    arguments = _parser().parse_args(
        ["simulate", str(MALL_FILE), "--members", "5", "--days", "3", "--output", str(tmp_path)]
    )
    out, quiet, terminal = io.StringIO(), io.StringIO(), _Terminal()
    assert 0 == arguments.run(arguments, out, quiet)
    assert 0 == arguments.run(arguments, out, terminal)
    assert "" == quiet.getvalue()
    assert "3/3 days" in terminal.getvalue()


def test_runs_made_in_worker_processes_are_the_runs_made_here() -> None:
    """Two programmes under two seeds in two workers: the same forecasts, days counted to the end.

    The workers are fresh interpreters (``spawn``), each with its own string hashing, so this also
    holds a run to not depending on the order of a set or a dict's hashing.
    """
    text = MALL_FILE.read_text(encoding="utf-8")
    doubled = config_from_toml(
        text.replace('points = 1, per = { amount = "10.00"', 'points = 2, per = { amount = "10.00"')
    )
    population = _eager()
    made: dict[int, tuple[Forecast, ...]] = {}
    ticks: dict[int, list[tuple[int, int]]] = {}
    for workers in (1, 2):
        seen: list[tuple[int, int]] = []
        ticks[workers] = seen

        def tick(done: int, total: int, seen: list[tuple[int, int]] = seen) -> None:
            seen.append((done, total))

        made[workers] = simulate(
            [MALL, doubled],
            population,
            members=40,
            days=15,
            start=date(2026, 1, 1),
            seeds=2,
            workers=workers,
            progress=tick,
        )
    assert _json(made[1]) == _json(made[2])
    assert [forecast.runs for forecast in made[1]] == [forecast.runs for forecast in made[2]]
    for workers in (1, 2):
        assert ticks[workers] == [(done, 60) for done in range(1, 61)]


def test_workers_are_counted_from_one() -> None:
    """A count of workers out of range is refused by name, with the range."""
    with pytest.raises(InvalidArgumentError, match="workers=0 must be an int from 1 to 64"):
        simulate([MALL], _eager(), members=5, days=2, start=date(2026, 1, 1), workers=0)


def test_a_programme_pickles_and_runs_the_same_after() -> None:
    """What a worker receives: the programme file's configuration, pickled.

    Its rule set, event kinds and mission book are pickled by their settings and built again,
    checks and compiled plans included; the run is the run of the original.
    """
    again: ProgramConfig = pickle.loads(pickle.dumps(MALL))  # noqa: S301 - our own bytes
    assert again.rules is not None
    assert MALL.rules is not None
    assert again.rules == MALL.rules
    assert again.rules.registry == MALL.rules.registry
    missions, original = again.campaigns.missions, MALL.campaigns.missions
    assert missions is not None
    assert original is not None
    assert (missions.missions, missions.badges) == (original.missions, original.badges)
    population = _eager()
    assert simulate_run(
        again, population, members=30, days=20, start=date(2026, 1, 1), seed=4
    ) == simulate_run(MALL, population, members=30, days=20, start=date(2026, 1, 1), seed=4)


def test_the_command_makes_its_runs_in_workers(tmp_path: Path) -> None:
    """``--workers 2`` writes the bytes ``--workers 1`` writes."""
    written = {}
    for workers in ("1", "2"):
        folder = tmp_path / workers
        sizes = ["--members", "10", "--days", "5", "--seeds", "2", "--workers", workers]
        arguments = _parser().parse_args(
            ["simulate", str(MALL_FILE), *sizes, "--output", str(folder)]
        )
        assert 0 == arguments.run(arguments, io.StringIO(), io.StringIO())
        written[workers] = (folder / "simulation.json").read_bytes()
    assert written["1"] == written["2"]

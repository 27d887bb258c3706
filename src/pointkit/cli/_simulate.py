"""``pointkit simulate CONFIG``: forecast a programme's economy on a synthetic population.

Runs the programme file over a population (``--population FILE``, or the packaged typical one)
for ``--members`` members and ``--days`` days, under ``--seeds`` seeds, optionally beside a
second programme file (``--compare``) on the same behaviour draws. The runs (one per programme
and seed) are made in ``--workers`` processes at once (one per core by default). Writes
``simulation.html`` and ``simulation.json`` into ``--output`` (the current directory by
default) and prints a short summary. A progress bar goes to standard error when it is a
terminal, and nothing otherwise.
"""

from __future__ import annotations

import json
import os
import time
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TextIO

from pointkit.exceptions import InvalidArgumentError
from pointkit.program import load_config
from pointkit.simulate import (
    WORKERS_MAX,
    document,
    load_population,
    report_page,
    simulate,
    summary,
    typical_population,
)


if TYPE_CHECKING:
    import argparse


__all__ = ["add", "run"]

_BAR_WIDTH: Final = 30
_DEFAULT_START: Final = "2026-01-01"


def add(commands: Any) -> None:  # noqa: ANN401 - argparse's private subparsers action type
    """Add the ``simulate`` command to *commands* (the ``pointkit`` subparsers)."""
    command = commands.add_parser(
        "simulate", help="forecast a programme's cost on a synthetic population before launch"
    )
    command.add_argument("config", help="the programme's TOML file")
    command.add_argument("--members", type=int, required=True, help="members at the start")
    command.add_argument("--days", type=int, required=True, help="days to simulate")
    command.add_argument("--seeds", type=int, default=1, help="runs per programme (default: 1)")
    command.add_argument(
        "--workers",
        type=int,
        default=None,
        help="processes to make the runs in at once (default: one per core, at most one per run)",
    )
    command.add_argument(
        "--population", help="the population's TOML file (default: the packaged typical one)"
    )
    command.add_argument(
        "--start",
        default=_DEFAULT_START,
        help=f"the first local day, YYYY-MM-DD (default: {_DEFAULT_START})",
    )
    command.add_argument(
        "--compare", metavar="OTHER", help="a second programme file, run on the same population"
    )
    command.add_argument(
        "--output", default=".", help="where simulation.html and .json go (default: here)"
    )
    command.set_defaults(run=run)


class _Bar:
    """A progress line on a terminal: days done of the total, time elapsed, time left."""

    def __init__(self, err: TextIO) -> None:
        self._err = err
        self._started = time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        elapsed = time.monotonic() - self._started
        filled = _BAR_WIDTH * done // total
        left = elapsed * (total - done) / done if done else 0.0
        self._err.write(
            f"\rsimulate [{'#' * filled}{'.' * (_BAR_WIDTH - filled)}] {done:,}/{total:,} days, "
            f"{elapsed:.0f}s elapsed, ETA {left:.0f}s"
        )
        self._err.flush()


def _workers() -> int:
    """One worker per core this process may use (``simulate`` starts no more than the runs)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - platforms without affinity (macOS, Windows)
        cores = os.cpu_count() or 1
    return min(cores, WORKERS_MAX)


def _start(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidArgumentError(
            f"--start={text!r} must be a date like {_DEFAULT_START}"
        ) from None


def run(arguments: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Run ``pointkit simulate``; return the exit status.

    Raises:
        ConfigurationError: If a programme or population file has problems.
        InvalidArgumentError: If a count or the start date is out of range.
        OSError: If a file cannot be read or written.
    """
    configs = [load_config(arguments.config)]
    if arguments.compare is not None:
        configs.append(load_config(arguments.compare))
    population = (
        typical_population()
        if arguments.population is None
        else load_population(arguments.population)
    )
    start = _start(arguments.start)
    bar = _Bar(err) if err.isatty() else None
    forecasts = simulate(
        configs,
        population,
        members=arguments.members,
        days=arguments.days,
        start=start,
        seeds=arguments.seeds,
        workers=_workers() if arguments.workers is None else arguments.workers,
        progress=bar,
    )
    if bar is not None:
        err.write("\n")
    folder = Path(arguments.output)
    folder.mkdir(parents=True, exist_ok=True)
    data = json.dumps(document(forecasts), ensure_ascii=False, indent=1, sort_keys=True)
    (folder / "simulation.json").write_text(data + "\n", encoding="utf-8")
    (folder / "simulation.html").write_text(report_page(forecasts), encoding="utf-8")
    print(summary(forecasts), file=out)
    print(f"wrote {folder / 'simulation.html'} and {folder / 'simulation.json'}", file=out)
    return 0

"""``python manage.py pointkit_expire``: release timed-out holds and expire due points.

Run it from cron shortly after each clearing instant and once a night. It runs batches of
``Program.run_expiry`` until nothing is due, each batch committing as it goes, so a run that
is interrupted loses nothing and is simply run again; two runs at once process each hold and
lot once. It prints one line: what it did, as of when.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from django.core.management.base import BaseCommand, CommandError

from pointkit import limits
from pointkit.exceptions import PointkitError
from pointkit.integrations.django._program import program


if TYPE_CHECKING:
    import argparse

    from pointkit.ledger import ExpiryRun


__all__ = ["BATCHES_MAX", "Command", "summary"]

BATCHES_MAX: Final = 1_000
"""The most batches one run takes by default before it stops and says that more are due."""


def _count(number: int, one: str, many: str) -> str:
    return f"{number:,} {one if number == 1 else many}"


def summary(runs: list[ExpiryRun]) -> str:
    """One line saying what *runs* (one job's batches, in order) did, as of when."""
    points: dict[str, int] = {}
    for run in runs:
        for currency, amount in run.points_expired:
            points[currency] = points.get(currency, 0) + amount
    expired = ", ".join(f"{amount:,} {currency}" for currency, amount in sorted(points.items()))
    line = (
        f"pointkit expiry as of {runs[0].as_of.isoformat()}: "
        f"{_count(sum(run.lots_expired for run in runs), 'lot', 'lots')} expired "
        f"({expired or 'no points'}), "
        f"{_count(sum(run.holds_expired for run in runs), 'timed-out hold', 'timed-out holds')} "
        f"released, in {_count(len(runs), 'batch', 'batches')}"
    )
    if not runs[-1].complete:
        line += "; more are due: run it again"
    return line


class Command(BaseCommand):  # type: ignore[misc] # Django ships no type information
    """The expiry job of the program in the ``POINTKIT`` setting."""

    help = "Release timed-out holds and expire due points, batch by batch, until none are due."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """``--limit`` (holds and lots per batch) and ``--max-batches``."""
        parser.add_argument(
            "--limit",
            type=int,
            default=limits.EXPIRY_BATCH_MAX,
            help=f"holds and lots per batch (default and most: {limits.EXPIRY_BATCH_MAX})",
        )
        parser.add_argument(
            "--max-batches",
            type=int,
            default=BATCHES_MAX,
            help=f"stop after this many batches (default: {BATCHES_MAX})",
        )

    def handle(self, *_: Any, **options: Any) -> None:  # noqa: ANN401 - Django's command signature
        """Run batches until none is due (or ``--max-batches``), then print what was done."""
        batches: int = options["max_batches"]
        if batches < 1:
            raise CommandError(f"--max-batches={batches} must be at least 1")
        mall = program()
        runs: list[ExpiryRun] = []
        try:
            while len(runs) < batches and (not runs or not runs[-1].complete):
                runs.append(mall.run_expiry(limit=options["limit"]))
        except PointkitError as error:
            raise CommandError(f"pointkit: {error}") from error
        self.stdout.write(summary(runs))

"""``python manage.py pointkit_expire``: release timed-out holds and expire due points.

Run it from cron shortly after each clearing instant and once a night. It runs batches of
``Program.run_expiry`` until nothing is due, each batch committing as it goes, so a run that
is interrupted loses nothing and is simply run again; two runs at once process each hold and
lot once. It prints one line: what it did, as of when.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.management.base import BaseCommand, CommandError

from pointkit import limits
from pointkit.exceptions import PointkitError
from pointkit.integrations.django._program import program
from pointkit.program import BATCHES_MAX, expire_all, expiry_summary


if TYPE_CHECKING:
    import argparse


__all__ = ["Command"]


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
        try:
            runs = expire_all(program(), limit=options["limit"], max_batches=batches)
        except PointkitError as error:
            raise CommandError(f"pointkit: {error}") from error
        self.stdout.write(expiry_summary(runs))

"""The fuzz suite's judgement of every call, its tally, and its example budgets.

Every driver sends its calls through a :class:`Harness`. A call either returns, or raises a
:class:`~pointkit.exceptions.PointkitError`, after which the storage must read exactly as
before; anything else (a raw ``TypeError``, an ``OverflowError``, an ``InvariantViolation``)
fails the test with the call and its arguments shown. :data:`TALLY` counts every call, and
``conftest.py`` prints it at the end of the run.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Final, Generic, TypeVar, final

import attrs
from hypothesis import HealthCheck, settings

from pointkit.exceptions import PointkitError


if TYPE_CHECKING:
    from collections.abc import Callable, Mapping


__all__ = ["TALLY", "Harness", "Outcome", "Tally", "budget", "show"]

_T = TypeVar("_T")

SHOWN_MAX: Final = 120
"""Characters of a value's repr that a failure shows; a 10 KB string is cut, with its length."""

FUZZ_PROFILE: Final = "fuzz"


@final
class Tally:
    """Calls tried, accepted, refused with a pointkit error, and ended by any other exception."""

    def __init__(self) -> None:
        self.tried = 0
        self.accepted = 0
        self.refused = 0
        self.other = 0
        self.codes: Counter[str] = Counter()

    def line(self) -> str:
        """The summary line the run prints."""
        return (
            f"fuzz: {self.tried:,} calls, {self.accepted:,} accepted, {self.refused:,} refused "
            f"with a pointkit error, {self.other:,} other exceptions"
        )


TALLY: Final = Tally()


def show(value: object) -> str:
    """*value*'s repr, cut to :data:`SHOWN_MAX` characters."""
    text = repr(value)
    if len(text) <= SHOWN_MAX:
        return text
    return f"{text[:SHOWN_MAX]}... ({len(text):,} characters)"


@final
@attrs.frozen
class Outcome(Generic[_T]):
    """What one call gave: its value, or the pointkit error that refused it."""

    value: _T | None
    error: PointkitError | None

    @property
    def accepted(self) -> bool:
        """Whether the call returned."""
        return self.error is None


@final
class Harness:
    """Judges calls on one program, comparing its storage before and after each refusal.

    Args:
        state: Reads everything the storage holds for the program, comparably.
        tally: Where the calls are counted: the run's :data:`TALLY` unless told.
    """

    def __init__(self, state: Callable[[], object], *, tally: Tally = TALLY) -> None:
        self._state = state
        self._seen = state()
        self._tally = tally

    def call(
        self,
        name: str,
        function: Callable[[], _T],
        arguments: Mapping[str, object] | None = None,
        *,
        writes: bool = True,
    ) -> Outcome[_T]:
        """Run *function*, named *name* with *arguments* in failures, and judge what it did.

        Args:
            name: The entry point, as a failure shows it.
            function: The call.
            arguments: The arguments, as a failure shows them.
            writes: ``False`` for reads and dry runs: then a success must not change the
                storage either.

        Returns:
            The call's value, or the pointkit error it raised.

        Raises:
            AssertionError: If the call raised anything but a PointkitError, or a refusal
                (or a read) changed the storage.
        """
        shown = ", ".join(f"{key}={show(value)}" for key, value in (arguments or {}).items())
        call = f"{name}({shown})"
        tally = self._tally
        tally.tried += 1
        try:
            value = function()
        except PointkitError as error:
            tally.refused += 1
            tally.codes[error.code] += 1
            if self._state() != self._seen:
                message = f"{call} was refused ({type(error).__name__}: {show(str(error))})"
                raise AssertionError(f"{message} but changed the storage") from error
            return Outcome(None, error)
        except Exception as error:
            tally.other += 1
            message = f"{call} raised {type(error).__name__}: {show(str(error))}"
            raise AssertionError(f"{message}; only a PointkitError may escape") from error
        tally.accepted += 1
        after = self._state()
        if not writes and after != self._seen:
            raise AssertionError(f"{call} only reads (or is a dry run) but changed the storage")
        self._seen = after
        return Outcome(value, None)


def budget(examples: int) -> settings:
    """A fuzz test's settings: *examples* examples, or the ``fuzz`` profile's own under it.

    The normal run (CI included) keeps each test to its small budget, so the whole suite stays
    around a minute on two cores; ``make fuzz`` selects the ``fuzz`` profile.
    """
    suppressed = [HealthCheck.too_slow, HealthCheck.data_too_large]
    if settings.get_current_profile_name() == FUZZ_PROFILE:
        return settings(suppress_health_check=suppressed)
    return settings(max_examples=examples, suppress_health_check=suppressed)

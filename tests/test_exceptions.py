"""The exception tree: one root, builtin mixins, stable unique codes, invariants outside it."""

from __future__ import annotations

import inspect
import pickle
from typing import TYPE_CHECKING

import pytest

from pointkit import exceptions
from pointkit.exceptions import InvariantViolation, PointkitError


if TYPE_CHECKING:
    from collections.abc import Callable


ERRORS: list[type[PointkitError | InvariantViolation]] = [
    cls
    for _, cls in inspect.getmembers(exceptions, inspect.isclass)
    if issubclass(cls, PointkitError | InvariantViolation) and cls.__module__ == exceptions.__name__
]


def test_every_error_but_invariant_violation_is_a_pointkit_error() -> None:
    """Business code can catch PointkitError for everything except a broken invariant."""
    for cls in ERRORS:
        assert issubclass(cls, PointkitError) != (cls is InvariantViolation)
    assert issubclass(InvariantViolation, AssertionError)


def test_codes_are_unique_and_stable_text() -> None:
    """Each error has its own code, lower-case words joined by underscores."""
    codes = [cls.code for cls in ERRORS]
    assert len(codes) == len(set(codes))
    for code in codes:
        assert code.replace("_", "").isalpha()
        assert code == code.lower()


@pytest.mark.parametrize(
    ("error", "builtin"),
    [
        (exceptions.InvalidArgumentError, ValueError),
        (exceptions.ArgumentTypeError, TypeError),
        (exceptions.UnknownCurrencyError, LookupError),
        (exceptions.HoldNotFoundError, LookupError),
        (exceptions.TransactionNotFoundError, LookupError),
        (exceptions.PointsOverflowError, OverflowError),
    ],
)
def test_leaves_behave_like_their_builtin(error: type[Exception], builtin: type[Exception]) -> None:
    """Errors also subclass the builtin they behave like, so generic handlers still work."""
    assert issubclass(error, builtin)


def test_every_error_is_drawn_in_the_module_docstring() -> None:
    """The tree in the module docstring names every error class."""
    doc = exceptions.__doc__ or ""
    for cls in ERRORS:
        assert cls.__name__ in doc


def test_error_attributes() -> None:
    """Errors with data keep it as attributes, and their message states it."""
    short = exceptions.InsufficientPointsError("alice", "points", 10, 3)
    assert (short.member, short.currency, short.requested, short.available) == (
        "alice",
        "points",
        10,
        3,
    )
    assert str(short) == "member 'alice' has 3 points available, 10 needed"
    owed = exceptions.DebtLimitExceededError("bob", "points", 120, 100)
    assert (owed.debt, owed.limit) == (120, 100)
    assert str(owed) == "member 'bob' would owe 120 points, over the debt limit of 100"
    conflict = exceptions.IdempotencyConflictError("k", [("amount", "1", "2")])
    assert conflict.differences == (("amount", "1", "2"),)
    assert str(conflict) == (
        "key='k' was already used for a different command (amount: 1 was stored, 2 was given)"
    )


# Arguments for the errors whose constructor takes more than a message.
_MADE_WITH: dict[str, tuple[object, ...]] = {
    "ConfigurationError": ("RuleSet", ["rules[0].name: is empty"]),
    "FairnessError": ("draw-1", ["the seed does not match its commitment"]),
    "IdempotencyConflictError": ("k", [("amount", "1", "2")], "use a new key"),
    "InsufficientPointsError": ("alice", "points", 10, 3),
    "DebtLimitExceededError": ("bob", "points", 120, 100),
    "LinkedCommandError": ("the second command was refused", 1, "redeem", "k-2"),
    "MemberFrozenError": ("member 'carol' is frozen", "carol"),
}


@pytest.mark.parametrize("error", ERRORS, ids=lambda error: error.__name__)
def test_every_error_pickles_with_its_message_and_attributes(
    error: type[PointkitError | InvariantViolation],
) -> None:
    """An error crosses a process boundary whole (a worker pool, a task queue's result)."""
    name = error.__name__
    try:
        parameters = inspect.signature(error).parameters
    except ValueError:  # the builtin constructor: a message
        parameters = inspect.Signature().parameters
    make: Callable[..., Exception] = error
    if name in _MADE_WITH:
        made = make(*_MADE_WITH[name])
    elif "subject" in parameters:
        made = make("offer-1", "sold_out", "offer 'offer-1' is sold out")
    elif "command" in parameters:
        made = make("the write failed", command="earn", key="k-1")
    else:
        made = make("it went wrong")
    again = pickle.loads(pickle.dumps(made))  # noqa: S301 - our own bytes
    assert type(again) is error
    assert str(again) == str(made)
    assert vars(again) == vars(made)

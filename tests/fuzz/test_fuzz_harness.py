"""The fuzz suite's judgement can fail: each way a call breaks the contract is caught."""

from __future__ import annotations

import pytest

from fuzz.harness import Harness, Tally, show
from pointkit.exceptions import InvalidArgumentError


def _refuse() -> None:
    raise InvalidArgumentError("amount=0 must be positive")


def test_a_pointkit_refusal_that_leaves_the_storage_alone_passes_and_is_counted() -> None:
    """A PointkitError with the storage unchanged is a refusal; a return is an acceptance."""
    tally = Tally()
    harness = Harness(lambda: "state", tally=tally)
    refused = harness.call("refuse", _refuse)
    accepted = harness.call("accept", lambda: 7)
    assert ("invalid_argument", 7) == (getattr(refused.error, "code", None), accepted.value)
    assert (2, 1, 1, 0) == (tally.tried, tally.accepted, tally.refused, tally.other)
    assert (
        "fuzz: 2 calls, 1 accepted, 1 refused with a pointkit error, 0 other exceptions"
        == tally.line()
    )


def test_any_other_exception_fails_with_the_call_shown() -> None:
    """A ValueError that is not a PointkitError fails the test, naming the call and its arguments."""
    tally = Tally()
    with pytest.raises(AssertionError, match=r"^parse\(text='x'\) raised ValueError: ") as raised:
        Harness(lambda: None, tally=tally).call("parse", lambda: int("x"), {"text": "x"})
    assert isinstance(raised.value.__cause__, ValueError)
    assert 1 == tally.other


def test_a_refusal_that_changed_the_storage_fails() -> None:
    """A PointkitError raised after a write is caught by the comparison of the storage."""
    rows: list[str] = []

    def write_then_refuse() -> None:
        rows.append("half a command")
        _refuse()

    harness = Harness(lambda: tuple(rows), tally=Tally())
    with pytest.raises(AssertionError, match=r"was refused .* but changed the storage"):
        harness.call("earn", write_then_refuse)


def test_a_read_that_writes_fails() -> None:
    """A successful read (or dry run) must leave the storage as it was."""
    rows: list[str] = []
    harness = Harness(lambda: tuple(rows), tally=Tally())
    with pytest.raises(AssertionError, match=r"only reads .* but changed the storage"):
        harness.call("balance", lambda: rows.append("a row"), writes=False)


def test_a_long_value_is_shown_cut_with_its_length() -> None:
    """A 10 KB string in a failure is cut to its start and its length."""
    assert show("x" * 10_240).endswith("... (10,242 characters)")

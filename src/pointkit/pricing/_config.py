"""Checks shared by pricing's configuration objects: ids, names, windows, and problem lists.

Configuration objects (a price, a conversion, an exchange, an offer, a lottery) report every
problem at once in one :class:`~pointkit.exceptions.ConfigurationError`, one line per problem
that starts with the field's path (``prizes[2].fallback: ...``). The helpers here run one
field's check and turn its error into such a line instead of raising.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, TypeVar

from pointkit import limits
from pointkit._validate import check_aware, check_text, type_name
from pointkit.exceptions import InvalidArgumentError


if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime


__all__ = ["check_id", "check_items", "check_name", "check_window", "field"]

_T = TypeVar("_T")


def check_id(name: str, value: object) -> str:
    """Return *value* if it is an id: 1 to ``limits.ID_LENGTH_MAX`` printable characters.

    Ids name offers, lotteries, prizes and conversions in keys and records, so they hold no
    colons.
    """
    checked = check_text(name, value, max_length=limits.ID_LENGTH_MAX, limit_name="ID_LENGTH_MAX")
    if ":" in checked:
        raise InvalidArgumentError(f"{name}={checked!r} must not contain ':'")
    return checked


def check_name(name: str, value: object) -> str:
    """Return *value* if it is a display name: 1 to ``limits.NAME_LENGTH_MAX`` characters."""
    return check_text(name, value, max_length=limits.NAME_LENGTH_MAX, limit_name="NAME_LENGTH_MAX")


def field(problems: list[str], name: str, check: Callable[[], _T], fallback: _T) -> _T:
    """Run one field's check; on failure record its problem line and return *fallback*.

    The line is the error's message with its leading ``name=`` turned into ``name: ``.
    """
    try:
        return check()
    except InvalidArgumentError as error:
        problems.append(f"{name}: {str(error).removeprefix(f'{name}=')}")
        return fallback


def check_items(
    problems: list[str],
    name: str,
    value: object,
    kind: type[_T],
    *,
    limit: int,
    limit_name: str,
) -> list[tuple[int, _T]]:
    """Check that *value* is a sequence of *kind*, at most *limit* long; return ``(index, item)``.

    Items of another type are recorded as problems and left out.
    """
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        problems.append(f"{name}: {value!r} must be a sequence of {kind.__name__}")
        return []
    if len(value) > limit:
        problems.append(f"{name}: {len(value)} items are over limits.{limit_name} ({limit})")
        return []
    checked: list[tuple[int, _T]] = []
    for index, item in enumerate(value):
        if isinstance(item, kind):
            checked.append((index, item))
        else:
            problems.append(
                f"{name}[{index}]: {item!r} must be a {kind.__name__}, not {type_name(item)}"
            )
    return checked


def check_window(
    problems: list[str], starts_at: object, ends_at: object
) -> tuple[datetime | None, datetime | None]:
    """Check a half-open ``[starts_at, ends_at)`` window of aware instants, recording problems."""
    start = (
        None
        if starts_at is None
        else field(problems, "starts_at", lambda: check_aware("starts_at", starts_at), None)
    )
    end = (
        None
        if ends_at is None
        else field(problems, "ends_at", lambda: check_aware("ends_at", ends_at), None)
    )
    if start is not None and end is not None and end <= start:
        problems.append(f"ends_at: {end.isoformat()} must be after starts_at ({start.isoformat()})")
    return (start, end)

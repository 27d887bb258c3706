"""Argument checks shared by every public constructor and command.

Each check names the argument, shows the value it got and says what is valid, so that the
messages read the same everywhere. Checks return the value in its canonical form (an aware
datetime in UTC, a tuple of metadata pairs) so callers never keep the unchecked input.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pointkit import limits
from pointkit.exceptions import (
    ArgumentTypeError,
    InvalidArgumentError,
    LimitExceededError,
    NaiveDatetimeError,
)


__all__ = [
    "check_aware",
    "check_choice",
    "check_deadline",
    "check_int",
    "check_metadata",
    "check_text",
    "check_zone",
    "type_name",
]

_C = TypeVar("_C")


def type_name(value: object) -> str:
    """Return the name of *value*'s type, as messages show it."""
    return type(value).__name__


def check_int(
    name: str, value: object, *, minimum: int, maximum: int, limit_name: str | None = None
) -> int:
    """Return *value* if it is an int (not a bool) in ``[minimum, maximum]``.

    Raises:
        ArgumentTypeError: If *value* is not an int, or is a bool.
        LimitExceededError: If *value* is over *maximum* and *limit_name* names that limit.
        InvalidArgumentError: If *value* is out of range otherwise.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise ArgumentTypeError(f"{name}={value!r} must be an int, not {type_name(value)}")
    if value > maximum and limit_name is not None:
        raise LimitExceededError(f"{name}={value!r} is over limits.{limit_name} ({maximum})")
    if not minimum <= value <= maximum:
        raise InvalidArgumentError(f"{name}={value!r} must be an int from {minimum} to {maximum}")
    return int(value)


def check_choice(name: str, value: object, choices: tuple[_C, ...]) -> _C:
    """Return the one of *choices* that *value* equals.

    Raises:
        InvalidArgumentError: If it is none of them; the message lists them.
    """
    for choice in choices:
        if value == choice:
            return choice
    valid = ", ".join(repr(choice) for choice in choices)
    raise InvalidArgumentError(f"{name}={value!r} must be one of {valid}")


def check_text(name: str, value: object, *, max_length: int, limit_name: str) -> str:
    """Return *value* if it is a non-blank str of printable characters within *max_length*.

    Raises:
        ArgumentTypeError: If *value* is not a str.
        LimitExceededError: If *value* is longer than *max_length*.
        InvalidArgumentError: If *value* is empty, has surrounding whitespace or characters
            that do not print.
    """
    if not isinstance(value, str):
        raise ArgumentTypeError(f"{name}={value!r} must be a str, not {type_name(value)}")
    if len(value) > max_length:
        raise LimitExceededError(
            f"{name} is {len(value)} characters long, over limits.{limit_name} ({max_length})"
        )
    if not value or value.strip() != value:
        raise InvalidArgumentError(
            f"{name}={value!r} must be non-empty, without leading or trailing whitespace"
        )
    if not value.isprintable():
        raise InvalidArgumentError(
            f"{name}={value!r} must contain only printable characters (no control characters, "
            "line breaks or non-breaking spaces)"
        )
    return str(value)


def check_aware(name: str, value: object) -> datetime:
    """Return *value* as an aware datetime in UTC.

    Raises:
        ArgumentTypeError: If *value* is not a datetime.
        NaiveDatetimeError: If *value* has no time zone.
        InvalidArgumentError: If *value* in UTC falls outside the years 1 to 9999.
    """
    if value.__class__ is datetime and value.tzinfo is UTC:
        return value  # what astimezone(UTC) returns for it: the clocks' and storage's instants
    if not isinstance(value, datetime):
        raise ArgumentTypeError(f"{name}={value!r} must be a datetime, not {type_name(value)}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise NaiveDatetimeError(
            f"{name}={value!r} is naive; give it a time zone, e.g. .replace(tzinfo=UTC)"
        )
    try:
        return value.astimezone(UTC)
    except OverflowError:
        # 9999-12-31T23:59-14:00 is an instant in the year 10000 in UTC: no datetime holds it.
        raise InvalidArgumentError(
            f"{name}={value.isoformat()} is out of range: in UTC it would fall outside "
            "the years 1 to 9999"
        ) from None


def check_deadline(name: str, now: datetime, timeout: timedelta) -> datetime:
    """Return the instant *timeout* after *now*: when a hold with that timeout runs out.

    *name* is the argument that gave the timeout in whole seconds.

    Raises:
        InvalidArgumentError: If that instant falls after the year 9999.
    """
    try:
        return now + timeout
    except OverflowError:
        raise InvalidArgumentError(
            f"{name}={timeout // timedelta(seconds=1)} is out of range at {now.isoformat()}: "
            "the deadline it sets would fall after the year 9999"
        ) from None


def check_metadata(name: str, value: object) -> tuple[tuple[str, str], ...]:
    """Return *value*, a mapping of str to str, as sorted ``(key, value)`` pairs.

    Raises:
        ArgumentTypeError: If *value* is not a mapping of str to str.
        LimitExceededError: If it has too many entries or an entry is too long.
        InvalidArgumentError: If a key or value is blank or holds control characters.
    """
    if not isinstance(value, Mapping):
        raise ArgumentTypeError(f"{name}={value!r} must be a mapping of str to str")
    if len(value) > limits.METADATA_ENTRIES_MAX:
        raise LimitExceededError(
            f"{name} has {len(value)} entries, over limits.METADATA_ENTRIES_MAX "
            f"({limits.METADATA_ENTRIES_MAX})"
        )
    pairs: list[tuple[str, str]] = []
    for key, item in value.items():
        checked_key = check_text(
            f"{name} key",
            key,
            max_length=limits.METADATA_KEY_LENGTH_MAX,
            limit_name="METADATA_KEY_LENGTH_MAX",
        )
        checked_item = check_text(
            f"{name}[{key!r}]",
            item,
            max_length=limits.METADATA_VALUE_LENGTH_MAX,
            limit_name="METADATA_VALUE_LENGTH_MAX",
        )
        pairs.append((checked_key, checked_item))
    return tuple(sorted(pairs))


def check_zone(name: str, value: object) -> ZoneInfo:
    """Return *value*, an IANA time zone name or a ``ZoneInfo``, as a ``ZoneInfo``.

    Raises:
        ArgumentTypeError: If *value* is neither a str nor a ``ZoneInfo``.
        InvalidArgumentError: If no IANA time zone has that name.
    """
    if isinstance(value, ZoneInfo):
        return value
    if not isinstance(value, str):
        raise ArgumentTypeError(
            f"{name}={value!r} must be an IANA time zone name or a ZoneInfo, not {type_name(value)}"
        )
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "Asia", a 300-character name
        raise InvalidArgumentError(
            f"{name}={value!r} is not an IANA time zone; use a name such as 'Asia/Shanghai' or 'UTC'"
        ) from None

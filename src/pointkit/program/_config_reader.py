"""The reader that turns a TOML-shaped program document into values, collecting every problem.

:class:`ConfigReader` extends the rule files' loader with the value forms a program file uses
(money as ``"300.00 CNY"``, exact fractions, offset date-times, ``"06-30"`` month-days) and
with :meth:`~ConfigReader.make`, which builds an object and records whatever its constructor
rejects under the object's TOML path instead of raising, so that every problem is reported at
once.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, TypeVar

from pointkit._values import Money
from pointkit.exceptions import ConfigurationError, InvalidArgumentError
from pointkit.rules._serialize import _Loader


if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from fractions import Fraction


__all__ = ["ConfigReader"]

_T = TypeVar("_T")
_NAMED: Final = re.compile(r"([a-z_]+)=")


class ConfigReader(_Loader):
    """Reads a program document into checked objects, collecting every problem with its path."""

    def error(self, path: str, error: InvalidArgumentError, name: str | None = None) -> None:
        """Record an argument error under *path*, without the ``name=`` its message starts with."""
        del name  # the message's own prefix is stripped, whatever the argument was called
        message = str(error)
        named = _NAMED.match(message)
        self.fail(path, message if named is None else message[named.end() :])

    def adopt(
        self, path: str, error: ConfigurationError, renames: Mapping[str, str] | None = None
    ) -> None:
        """Record a constructor's problems under *path*.

        *renames* maps a constructor's argument names to the file's own (``tiers`` → ``levels``),
        so every path in a problem is one the operator can find in the file.
        """
        for problem in error.problems:
            text = problem
            for argument, key in (renames or {}).items():
                text = re.sub(rf"\b{re.escape(argument)}\[", f"{key}[", text)
            self.problems.append(f"{path}.{text}" if path else text)

    def make(
        self, path: str, build: Callable[[], _T], renames: Mapping[str, str] | None = None
    ) -> _T | None:
        """Build an object, recording its problems under *path*; ``None`` if it fails."""
        try:
            return build()
        except ConfigurationError as error:
            self.adopt(path, error, renames)
        except InvalidArgumentError as error:
            # A constructor names its argument ("per='fortnight' must be ..."): make it the
            # last step of the path.
            message = str(error)
            named = _NAMED.match(message)
            if named is None:
                self.fail(path, message)
            else:
                self.fail(f"{path}.{named[1]}", message[named.end() :])
        return None

    def integer(self, data: object, path: str) -> int | None:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail(path, f"must be an integer, got {data!r}")
            return None
        return data

    def exact(self, data: object, path: str) -> Fraction | None:
        if isinstance(data, float):
            self.fail(path, f"must be an exact fraction like '1/10', not the float {data!r}")
            return None
        return self.fraction(data, path)

    def cash(self, data: object, path: str) -> Money | None:
        if isinstance(data, str):
            amount, _, code = data.partition(" ")
            try:
                return Money(amount, code)
            except InvalidArgumentError as error:
                self.error(path, error, "amount")
                return None
        return self.money(data, path)

    def moment(self, data: object, path: str) -> datetime | None:
        if isinstance(data, datetime):
            if data.tzinfo is None:
                self.fail(
                    path,
                    f"{data.isoformat()} has no UTC offset; write it like 2026-03-01T00:00:00+08:00",
                )
                return None
            return data
        return self.instant(data, path)

    def strings(self, data: object, path: str) -> list[str] | None:
        items = self.listed(data, path)
        if items is None:
            return None
        if not all(isinstance(item, str) for item in items):
            self.fail(path, f"must be a list of strings, got {data!r}")
            return None
        return [str(item) for item in items]

    def month_days(self, data: object, path: str) -> list[tuple[int, int]] | None:
        items = self.strings(data, path)
        if items is None:
            return None
        found: list[tuple[int, int]] = []
        for index, item in enumerate(items):
            month, _, day = item.partition("-")
            if not (month.isdigit() and day.isdigit()):
                self.fail(f"{path}[{index}]", f"must be a month and day like '06-30', got {item!r}")
                return None
            found.append((int(month), int(day)))
        return found

    def options(
        self, data: object, path: str, required: tuple[str, ...], optional: tuple[str, ...]
    ) -> dict[str, Any] | None:
        found = self.fields(data, path, required, optional)
        return None if found is None else dict(found)

    def items(self, data: object, path: str) -> list[tuple[str, object]]:
        listed = self.listed(data, path)
        if listed is None:
            return []
        return [(f"{path}[{index}]", item) for index, item in enumerate(listed)]

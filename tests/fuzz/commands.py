"""Commands as data: each argument's valid values and hostile ones, and how a call is drawn.

A driver lists its entry points as :class:`Command` values. :func:`draw_call` draws one call:
usually one argument hostile and the rest valid, sometimes several hostile at once, sometimes
all valid (so the state grows and later refusals meet holds, reversals and debts).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final, Generic, TypeVar, final

import attrs
from hypothesis import strategies as st

from fuzz.strategies import hostile


if TYPE_CHECKING:
    from collections.abc import Callable


__all__ = ["OMIT", "Arg", "Build", "Command", "built", "draw_call"]

_W = TypeVar("_W")


@final
class _Omit:
    def __repr__(self) -> str:
        return "OMIT"


OMIT: Final = _Omit()
"""A valid strategy may draw this: the argument is left out, so its default applies."""


@final
@attrs.frozen
class Build:
    """A value to construct inside the call, so that its constructor's refusal is the call's.

    ``Build(Money, {"amount": 1.5, "currency": "CNY"})`` draws as data; :func:`built` makes
    the Money when the call runs, where a refusal counts like any other.
    """

    factory: Callable[..., object]
    arguments: dict[str, Any]

    def __repr__(self) -> str:
        name = getattr(self.factory, "__qualname__", repr(self.factory))
        shown = ", ".join(f"{key}={value!r}" for key, value in self.arguments.items())
        return f"{name}({shown})"


def built(value: Any) -> Any:  # noqa: ANN401 - whatever the argument takes
    """*value* with every :class:`Build` in it constructed (in lists and tuples too)."""
    if isinstance(value, Build):
        return value.factory(**{key: built(item) for key, item in value.arguments.items()})
    if isinstance(value, list):
        return [built(item) for item in value]
    if isinstance(value, tuple):
        return tuple(built(item) for item in value)
    return value


@final
@attrs.frozen
class Arg(Generic[_W]):
    """One argument: its name, its valid values in a world, and hostile values close to them."""

    name: str
    valid: Callable[[_W], st.SearchStrategy[object]]
    bad: Callable[[_W], st.SearchStrategy[object]]


@final
@attrs.frozen
class Command(Generic[_W]):
    """An entry point: its name, how to call it with keyword arguments, and its arguments.

    Attributes:
        name: The entry point, as failures show it.
        run: Calls it in a world with the drawn keyword arguments.
        args: Its arguments.
        writes: ``False`` for reads: a successful read must leave the storage as it was.
    """

    name: str
    run: Callable[[_W, dict[str, Any]], object]
    args: tuple[Arg[_W], ...]
    writes: bool = True


def draw_call(data: st.DataObject, world: _W, command: Command[_W]) -> dict[str, Any]:
    """Draw the keyword arguments of one call of *command* in *world*."""
    names = [arg.name for arg in command.args]
    spoiled: set[str] = set()
    if names:
        mode = data.draw(st.sampled_from(["one", "one", "one", "several", "valid"]), label="mode")
        if mode == "one":
            spoiled = {data.draw(st.sampled_from(names), label="hostile argument")}
        elif mode == "several":
            spoiled = data.draw(
                st.sets(st.sampled_from(names), min_size=1), label="hostile arguments"
            )
    arguments: dict[str, Any] = {}
    for arg in command.args:
        strategy = arg.bad(world) | hostile() if arg.name in spoiled else arg.valid(world)
        value = data.draw(strategy, label=f"{command.name}.{arg.name}")
        if value is not OMIT:
            arguments[arg.name] = value
    return arguments

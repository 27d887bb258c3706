"""Facts: the values conditions read, addressed by dotted paths, and their types.

Maintainer's notes
------------------
A fact path names an event attribute (``event.amount``), a fact derived from the event
(``event.lines.count``, ``event.local_date``) or a member fact (``member.tier``). Each path
resolves twice: to a getter that reads the value during evaluation (or :data:`MISSING`), and to
a static type that :class:`~pointkit.rules.RuleSet` checks against the schemas of a rule's kinds
when it is built.

Local facts use the program's zone through one :class:`Facts` object per evaluation, which
computes the local wall time once (with :func:`pointkit._localtime.wall`'s rule for the autumn
fold) and only when something asks for it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final, TypeAlias, final

from pointkit._localtime import out_of_range, wall
from pointkit.rules._attributes import MISSING
from pointkit.rules._scheduled import Feb29, falls_on


if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from datetime import date, datetime
    from zoneinfo import ZoneInfo

    from pointkit.rules._attributes import AttributeValue
    from pointkit.rules._event_schemas import EventRegistry
    from pointkit.rules._events import Event
    from pointkit.rules._state import MemberContext


__all__ = [
    "DERIVED_EVENT_FACTS",
    "MEMBER_FACTS",
    "FactGetter",
    "FactType",
    "Facts",
    "check_path",
    "fact_getter",
    "fact_type",
    "local_time",
]

FactType: TypeAlias = str
"""A fact's static type: one of the schema field types (``int``, ``money``, ...)."""

MEMBER_FACTS: Final[dict[str, FactType]] = {
    "member.tier": "str",
    "member.tags": "strings",
    "member.days_since_joining": "int",
    "member.birthday_month": "int",
    "member.is_birthday": "bool",
    "member.lifetime_earned": "int",
    "member.days_since_last_activity": "int",
}
"""The member facts and their types."""

DERIVED_EVENT_FACTS: Final[dict[str, FactType]] = {
    "event.kind": "str",
    "event.local_date": "date",
    "event.local_weekday": "int",
    "event.local_hour": "int",
}
"""The facts every event has, whatever its kind, and their types."""

_LINE_FACTS: Final[dict[str, FactType]] = {
    "event.lines.count": "int",
    "event.lines.categories": "strings",
    "event.lines.products": "strings",
}
_ATTRIBUTE: Final = re.compile(r"event\.([a-z][a-z0-9_]*)\Z")
_PATH_MAX: Final = 100


def check_path(path: str) -> str | None:
    """Return why *path* is not a fact path, or ``None`` if it is one."""
    if len(path) > _PATH_MAX:
        return f"must be at most {_PATH_MAX} characters"
    if path in MEMBER_FACTS or path in DERIVED_EVENT_FACTS or path in _LINE_FACTS:
        return None
    if path.startswith("member."):
        valid = ", ".join(repr(name) for name in MEMBER_FACTS)
        return f"is not a member fact; member facts are {valid}"
    if _ATTRIBUTE.match(path):
        return None
    return (
        "must be 'event.<attribute>', one of "
        + ", ".join(repr(name) for name in (*DERIVED_EVENT_FACTS, *_LINE_FACTS))
        + ", or a member fact"
    )


@final
class Facts:
    """One evaluation's view of an event and a member, in the program's zone."""

    __slots__ = ("_date", "_local", "event", "feb29", "member", "values", "zone")

    def __init__(self, event: Event, member: MemberContext, zone: ZoneInfo, feb29: Feb29) -> None:
        self.event = event
        self.values: Mapping[str, AttributeValue] = event._values  # noqa: SLF001 - same package
        self.member = member
        self.zone = zone
        self.feb29 = feb29
        self._local: datetime | None = None
        self._date: date | None = None

    def local(self) -> datetime:
        """Return the event's local wall time (computed once; read its date, hour, weekday)."""
        local = self._local
        if local is None:
            local = local_time("event.at", self.event.at, self.zone)
            self._local = local
        return local

    def local_date(self) -> date:
        """Return the event's local date (computed once)."""
        day = self._date
        if day is None:
            local = self._local
            if local is None:
                local = self._local = local_time("event.at", self.event.at, self.zone)
            day = self._date = local.date()
        return day


def local_time(name: str, instant: datetime, zone: ZoneInfo) -> datetime:
    """Return *instant*'s local wall time in *zone*, by :func:`pointkit._localtime.wall`'s rule.

    The result may be aware or naive: only its date and time fields are meant to be read.

    Raises:
        InvalidArgumentError: If the local time of *instant*, the argument called *name*,
            falls outside the years 1 to 9999.
    """
    try:
        local = instant.astimezone(zone)
    except OverflowError:
        raise out_of_range(name, instant, zone) from None
    # Only the second pass of a repeated interval needs wall()'s rule.
    return wall(instant, zone) if local.fold else local


FactGetter: TypeAlias = "Callable[[Facts], object]"


def _attribute(name: str) -> FactGetter:
    def get(facts: Facts) -> object:
        return facts.values.get(name, MISSING)

    return get


def _lines_count(facts: Facts) -> object:
    lines = facts.values.get("lines", MISSING)
    return MISSING if lines is MISSING else len(lines)  # type: ignore[arg-type]


def _lines_field(field: str) -> FactGetter:
    def get(facts: Facts) -> object:
        lines = facts.values.get("lines", MISSING)
        if lines is MISSING:
            return MISSING
        return frozenset(getattr(line, field) for line in lines)  # type: ignore[union-attr]

    return get


def _kind(facts: Facts) -> object:
    return facts.event.kind


def _local_date(facts: Facts) -> object:
    return facts.local_date()


def _local_weekday(facts: Facts) -> object:
    return facts.local().isoweekday()


def _local_hour(facts: Facts) -> object:
    return facts.local().hour


def _tier(facts: Facts) -> object:
    tier = facts.member.tier
    return MISSING if tier is None else tier


def _tags(facts: Facts) -> object:
    return facts.member.tags


def _days_since_joining(facts: Facts) -> object:
    joined = facts.member.joined_at
    if joined is None:
        return MISSING
    return (facts.local_date() - local_time("member.joined_at", joined, facts.zone).date()).days


def _birthday_month(facts: Facts) -> object:
    birthday = facts.member.birthday
    return MISSING if birthday is None else birthday.month


def _is_birthday(facts: Facts) -> object:
    birthday = facts.member.birthday
    if birthday is None:
        return MISSING
    return falls_on(birthday.month, birthday.day, facts.local_date(), facts.feb29)


def _lifetime_earned(facts: Facts) -> object:
    earned = facts.member.lifetime_earned
    return MISSING if earned is None else earned


def _days_since_last_activity(facts: Facts) -> object:
    last = facts.member.last_active_at
    if last is None:
        return MISSING
    return (facts.local_date() - local_time("member.last_active_at", last, facts.zone).date()).days


_GETTERS: Final[dict[str, FactGetter]] = {
    "event.kind": _kind,
    "event.local_date": _local_date,
    "event.local_weekday": _local_weekday,
    "event.local_hour": _local_hour,
    "event.lines.count": _lines_count,
    "event.lines.categories": _lines_field("category"),
    "event.lines.products": _lines_field("product"),
    "member.tier": _tier,
    "member.tags": _tags,
    "member.days_since_joining": _days_since_joining,
    "member.birthday_month": _birthday_month,
    "member.is_birthday": _is_birthday,
    "member.lifetime_earned": _lifetime_earned,
    "member.days_since_last_activity": _days_since_last_activity,
}


def fact_getter(path: str) -> FactGetter:
    """Return the function that reads fact *path* (a checked path) from a :class:`Facts`."""
    getter = _GETTERS.get(path)
    if getter is not None:
        return getter
    return _attribute(path.removeprefix("event."))


def fact_type(
    path: str, kinds: tuple[str, ...], registry: EventRegistry
) -> tuple[FactType | None, str | None]:
    """Return the static type of *path* for events of *kinds*, or why it has none.

    Returns:
        ``(type, None)`` when every kind has the fact with one type, else ``(None, problem)``.
    """
    known = MEMBER_FACTS.get(path) or DERIVED_EVENT_FACTS.get(path)
    if known is not None:
        return known, None
    attribute = "lines" if path in _LINE_FACTS else path.removeprefix("event.")
    found: set[str] = set()
    for kind in kinds:
        if kind not in registry.kinds:
            continue  # the rule's kinds are checked on their own
        spec = registry.schema(kind).field(attribute)
        if spec is None:
            names = ", ".join(repr(name) for name in registry.schema(kind).names) or "none"
            return None, (
                f"fact {path!r} is not an attribute of {kind!r} events, whose attributes "
                f"are {names}"
            )
        found.add(spec.type)
    if len(found) > 1:
        return None, (
            f"fact {path!r} has different types in the rule's kinds ({', '.join(sorted(found))})"
        )
    if not found:
        return None, None
    (attribute_type,) = found
    if path in _LINE_FACTS:
        if attribute_type != "lines":
            return None, f"fact {path!r} needs 'lines' to be order lines, not {attribute_type}"
        return _LINE_FACTS[path], None
    if attribute_type == "lines":
        valid = ", ".join(repr(name) for name in _LINE_FACTS)
        return None, f"fact {path!r} holds order lines: read {valid} instead"
    return attribute_type, None

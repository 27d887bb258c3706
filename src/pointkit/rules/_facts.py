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

The local date, which every day cap and streak reads, comes from a cache of the last local day
seen in each zone: its first and last instants in UTC, its date and its period keys. Events
arrive roughly in order, so most of them fall in the day before them and cost two comparisons
instead of a zone conversion. The cache is right because the local wall time never decreases as
the instant increases (``wall``'s rule makes the autumn fold so): every instant between two
instants of one local day is in that day, so the cache keeps two bounds checked to be in it.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Final, TypeAlias, final

from pointkit._localtime import TICK, out_of_range, wall
from pointkit.exceptions import InvalidArgumentError
from pointkit.rules._attributes import MISSING
from pointkit.rules._scheduled import Feb29, falls_on
from pointkit.rules._state import CapPeriod, period_key


if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
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

    __slots__ = ("_date", "_local", "_periods", "event", "feb29", "member", "values", "zone")

    def __init__(self, event: Event, member: MemberContext, zone: ZoneInfo, feb29: Feb29) -> None:
        self.event = event
        self.values: Mapping[str, AttributeValue] = event._values  # noqa: SLF001 - same package
        self.member = member
        self.zone = zone
        self.feb29 = feb29
        self._local: datetime | None = None
        self._date: date | None = None
        self._periods: dict[str, str] | None = None

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
            at = self.event.at
            known = _DAYS.get(self.zone)
            if known is not None and known[0] <= at <= known[1]:
                day, self._periods = known[2], known[3]
            else:
                local = self._local
                if local is None:
                    local = self._local = local_time("event.at", at, self.zone)
                day = local.date()
                self._periods = _remember_day(self.zone, at, day)
            self._date = day
        return day

    def period(self, period: CapPeriod) -> str:
        """Return the counter key part of the event's local *period* (``"day:2026-03-01"``)."""
        periods = self._periods
        if periods is None:
            self.local_date()
            periods = self._periods
        key = periods.get(period)  # type: ignore[union-attr]  # set by local_date()
        if key is None:
            key = periods[period] = period_key(period, self.local_date())  # type: ignore[index]
        return key


_Day: TypeAlias = tuple[datetime, datetime, date, dict[str, str]]
"""A local day in a zone: its first and last instants known to be in it (UTC), its date,
and its period keys as they are asked for."""

_DAYS: Final[dict[ZoneInfo, _Day]] = {}
"""The last local day an evaluation fell on, per zone."""
_DAYS_ZONES_MAX: Final = 64  # zones held at once; more is a host with many zones, cleared


def _remember_day(zone: ZoneInfo, at: datetime, day: date) -> dict[str, str]:
    """Keep *day*, the local date of *at* in *zone*, as the zone's last day; return its keys.

    The bounds start from the local midnights by the zone's offsets and are each kept only if
    their own local date is *day* (else *at* stands in): by the order of wall times, every
    instant between them is then in *day*, whatever transitions the day holds.
    """
    periods: dict[str, str] = {}
    first = last = at
    try:
        start = datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)
        following = day + _DAY
        end = datetime(following.year, following.month, following.day, tzinfo=zone)
        end = end.astimezone(UTC) - TICK
        if start <= at and local_time("at", start, zone).date() == day:
            first = start
        if at <= end and local_time("at", end, zone).date() == day:
            last = end
    except (OverflowError, InvalidArgumentError):
        pass  # a day at the ends of the calendar: the event's instant bounds it
    if len(_DAYS) >= _DAYS_ZONES_MAX and zone not in _DAYS:
        _DAYS.clear()
    _DAYS[zone] = (first, last, day, periods)
    return periods


_DAY: Final = timedelta(days=1)


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


def attribute_name(path: str) -> str | None:
    """Return the event attribute fact *path* (a checked path) reads as it is, or ``None``."""
    return None if path in _GETTERS else path.removeprefix("event.")


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

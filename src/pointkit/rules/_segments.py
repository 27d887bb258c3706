"""Segments: named conditions over member facts, declared once and asked by name.

A :class:`Segment` names a condition that reads only member facts (tier, tags, days since
joining, lifetime earned, days since last activity, birthday): "new-vip" is "tier is vip and
joined within 30 days". :class:`Segments` holds a programme's segments and answers whether a
member is in one at an instant, for offer gates, missions and hosts.

Maintainer's notes
------------------
A segment's condition is checked to read member facts only, and no local-time test: whether a
member is in a segment must not depend on which event asks, only on the member and the day
(``days_since_*`` count local days to the instant asked about). Each segment is compiled once,
when :class:`Segments` is built; asking builds one :class:`~pointkit.rules.Facts` view per
question, so the member facts a segment reads are computed at most once per question.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Final, final

import attrs

from pointkit._validate import check_aware, check_zone, type_name
from pointkit.exceptions import ArgumentTypeError, InvalidArgumentError, LimitExceededError
from pointkit.rules._compile import compile_condition
from pointkit.rules._conditions import CONDITION_TYPES, Condition, InSegment
from pointkit.rules._events import Event
from pointkit.rules._expressions import Fact
from pointkit.rules._time_conditions import BetweenHours, During, OnDates, OnMonthDays, OnWeekdays


if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from pointkit.rules._compile import CompiledCondition
    from pointkit.rules._state import MemberContext


__all__ = ["SEGMENTS_MAX", "Segment", "Segments", "check_segment_names"]

SEGMENTS_MAX: Final = 100
"""The most segments a programme declares."""
_NAME_LENGTH_MAX: Final = 64
_TIME_TESTS: Final = (During, OnWeekdays, OnMonthDays, OnDates, BetweenHours)


def _to_name(value: str) -> str:
    given: object = value  # checked at run time whatever the annotation says
    if not isinstance(given, str):
        raise ArgumentTypeError(f"name={given!r} must be a str, not {type_name(given)}")
    if not given or len(given) > _NAME_LENGTH_MAX or given != given.strip():
        raise InvalidArgumentError(
            f"name={given!r} must be 1 to {_NAME_LENGTH_MAX} characters, without spaces around it"
        )
    return given


def check_segment_names(problems: list[str], value: object) -> frozenset[str]:
    """The segment names of a gate (an offer's, a mission's), each problem on *problems*.

    An empty collection is no gate: everyone passes it.
    """
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        problems.append(f"segments: {value!r} must be a collection of segment names")
        return frozenset()
    names: set[str] = set()
    for index, name in enumerate(value):
        try:
            names.add(_to_name(name))
        except InvalidArgumentError as error:
            problems.append(f"segments[{index}]: {str(error).removeprefix('name=')}")
    if len(names) > SEGMENTS_MAX:
        problems.append(f"segments: {len(names)} names, over SEGMENTS_MAX ({SEGMENTS_MAX})")
    return frozenset(names)


def _walk(node: object) -> Iterator[object]:
    """Every node and expression under *node* (conditions are bounded when built)."""
    yield node
    if isinstance(node, tuple):
        for item in node:
            yield from _walk(item)
    elif attrs.has(type(node)):
        for value in attrs.astuple(node, recurse=False):  # type: ignore[arg-type]
            yield from _walk(value)


def _to_when(value: Condition) -> Condition:
    given: object = value  # checked at run time whatever the annotation says
    if not isinstance(given, CONDITION_TYPES):
        raise ArgumentTypeError(f"when={given!r} must be a condition, not {type_name(given)}")
    for node in _walk(given):
        if isinstance(node, InSegment):
            raise InvalidArgumentError(
                f"when=InSegment({node.name!r}) names a segment; a segment's condition reads "
                "member facts, not other segments"
            )
        if isinstance(node, _TIME_TESTS):
            raise InvalidArgumentError(
                f"when={type(node).__name__} tests the event's time; a segment reads member "
                "facts only"
            )
        if isinstance(node, Fact) and not node.path.startswith("member."):
            raise InvalidArgumentError(
                f"when={node.path!r} is not a member fact; a segment reads member facts "
                "only (member.tier, member.tags, member.days_since_joining, "
                "member.lifetime_earned, member.days_since_last_activity, ...)"
            )
    return given


@final
@attrs.frozen
class Segment:
    """A named condition over member facts.

    >>> from pointkit.rules import Compare, Const, Fact
    >>> Segment("vip", Compare(Fact("member.tier"), "==", Const("vip"))).name
    'vip'
    >>> Segment("big", Compare(Fact("event.amount"), ">", Const(100)))
    Traceback (most recent call last):
    ...
    pointkit.exceptions.InvalidArgumentError: when='event.amount' is not a member fact; a segment reads member facts only (member.tier, member.tags, member.days_since_joining, member.lifetime_earned, member.days_since_last_activity, ...)

    Attributes:
        name: The segment's name, as rules, offers and missions refer to it.
        when: The condition a member meets to be in it; member facts only.
    """

    name: str = attrs.field(converter=_to_name)
    when: Condition = attrs.field(converter=_to_when)


def _to_segments(value: Iterable[Segment]) -> tuple[Segment, ...]:
    given: object = value  # checked at run time whatever the annotation says
    if isinstance(given, str | bytes) or not isinstance(given, Iterable):
        raise ArgumentTypeError(f"segments={given!r} must be a sequence of Segment")
    segments = tuple(given)
    if len(segments) > SEGMENTS_MAX:
        raise LimitExceededError(
            f"segments has {len(segments)}, over SEGMENTS_MAX ({SEGMENTS_MAX})"
        )
    seen: set[str] = set()
    for index, segment in enumerate(segments):
        if not isinstance(segment, Segment):
            raise ArgumentTypeError(
                f"segments[{index}]={segment!r} must be a Segment, not {type_name(segment)}"
            )
        if segment.name in seen:
            raise InvalidArgumentError(f"segments[{index}].name: {segment.name!r} is used twice")
        seen.add(segment.name)
    return segments


@final
class Segments:
    """A programme's segments, compiled once for its time zone.

    >>> from pointkit.rules import Compare, Const, Fact, MemberContext
    >>> from datetime import UTC, datetime
    >>> segments = Segments(
    ...     [Segment("vip", Compare(Fact("member.tier"), "==", Const("vip")))], zone="Asia/Shanghai"
    ... )
    >>> segments.contains("vip", MemberContext(tier="vip"), at=datetime(2026, 3, 1, tzinfo=UTC))
    True
    >>> segments.contains("gold", MemberContext(), at=datetime(2026, 3, 1, tzinfo=UTC))
    Traceback (most recent call last):
    ...
    pointkit.exceptions.InvalidArgumentError: segment='gold' is not declared; segments are 'vip'

    Args:
        segments: The segments, each name used once, up to :data:`SEGMENTS_MAX`.
        zone: The programme's IANA time zone: ``days_since_*`` count its local days.

    Raises:
        InvalidArgumentError: If a name is used twice or the zone is unknown.
    """

    __slots__ = ("_compiled", "segments", "zone")

    def __init__(self, segments: Sequence[Segment], *, zone: str | ZoneInfo) -> None:
        self.segments = _to_segments(segments)
        self.zone = check_zone("zone", zone)
        self._compiled: dict[str, CompiledCondition] = {
            segment.name: compile_condition(segment.when, self.zone) for segment in self.segments
        }

    def __reduce__(self) -> tuple[Callable[..., Segments], tuple[tuple[Segment, ...], str]]:
        """Pickle the segments and zone; unpickling compiles their conditions again."""
        return _segments, (self.segments, self.zone.key)

    @property
    def names(self) -> tuple[str, ...]:
        """The segments' names, in declaration order."""
        return tuple(self._compiled)

    def check_names(self, names: Iterable[str], path: str) -> list[str]:
        """One problem line per name in *names* that is not a declared segment, for configs."""
        valid = ", ".join(repr(name) for name in self._compiled) or "none declared"
        return [
            f"{path}: {name!r} is not a segment; segments are {valid}"
            for name in names
            if name not in self._compiled
        ]

    def contains(self, segment: str, member: MemberContext, *, at: datetime) -> bool:
        """Whether *member* is in *segment* at *at* (a missing fact means not in it).

        Raises:
            InvalidArgumentError: If *segment* is not declared.
        """
        compiled = self._compiled.get(segment)
        if compiled is None:
            valid = ", ".join(repr(name) for name in self._compiled) or "none"
            raise InvalidArgumentError(f"segment={segment!r} is not declared; segments are {valid}")
        return compiled.check(_probe(check_aware("at", at)), member)

    def of(self, member: MemberContext, *, at: datetime) -> frozenset[str]:
        """Every segment *member* is in at *at*."""
        probe = _probe(check_aware("at", at))
        return frozenset(
            name for name, compiled in self._compiled.items() if compiled.check(probe, member)
        )

    def __repr__(self) -> str:
        return f"Segments({list(self._compiled)!r}, zone={self.zone.key!r})"

    def __eq__(self, other: object) -> bool:
        # Equal declarations decide alike: a rule set holding them compares by them.
        if not isinstance(other, Segments):
            return NotImplemented
        return (self.segments, self.zone.key) == (other.segments, other.zone.key)

    def __hash__(self) -> int:
        return hash((self.segments, self.zone.key))


def _probe(at: datetime) -> Event:
    """The event a segment is asked under: only its instant matters (member facts only)."""
    return Event("segment-probe", "segment", "segment-probe", at)


def _segments(segments: tuple[Segment, ...], zone: str) -> Segments:
    """The segments of a pickle (:meth:`Segments.__reduce__`)."""
    return Segments(segments, zone=zone)

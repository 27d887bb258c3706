"""Anti-cheat's pure decisions: velocity rules, blocklists, and the screening of one event.

Maintainer's notes
------------------
A velocity rule counts a member's events of some kinds (or the events carrying one value of a
declared attribute, such as a device id or an IP, whoever sends them) per calendar minute or
hour in UTC. Windows are fixed, not sliding: a burst that straddles a boundary may pass twice
the limit in sixty seconds, which is the price of a count that is one integer row per window.
The feature (``pointkit.features.Guard``) keeps each count in a programme budget named by
:meth:`AntiCheat.counts`, locked in the event's unit of work, so two events never both take the
last place in a window; it asks :meth:`AntiCheat.screen` with the counts it read, and refuses,
records, or records and holds the award for review, as the screening says.
"""

from __future__ import annotations

import functools
import hashlib
from typing import TYPE_CHECKING, Final, Literal, final

import attrs

from pointkit import limits
from pointkit._validate import check_choice, check_int, check_text
from pointkit.exceptions import ArgumentTypeError, InvalidArgumentError, LimitExceededError
from pointkit.rules import MISSING


if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from datetime import datetime, tzinfo

    from pointkit._values import MemberId
    from pointkit.rules import Event


__all__ = [
    "AntiCheat",
    "Blocklist",
    "FreezeState",
    "Screening",
    "VelocityAction",
    "VelocityRule",
    "VelocityWindow",
]

VelocityAction = Literal["refuse", "review"]
"""What a velocity rule does to an event over its limit: refuse it, or record it for review."""

VelocityWindow = Literal["minute", "hour"]
"""The calendar window, in UTC, a velocity rule counts in."""

_ACTIONS: Final[tuple[VelocityAction, ...]] = ("refuse", "review")
_WINDOWS: Final[tuple[VelocityWindow, ...]] = ("minute", "hour")


def _name(field: str, value: object) -> str:
    return check_text(
        field, value, max_length=limits.RULE_NAME_LENGTH_MAX, limit_name="RULE_NAME_LENGTH_MAX"
    )


def _rule_name(value: object) -> str:
    return _name("name", value)


def _attribute(value: object) -> str:
    return _name("attribute", value)


def _kinds(value: object) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, tuple | list | frozenset | set):
        raise ArgumentTypeError(f"kinds={value!r} must be a tuple of event kinds")
    kinds = tuple(sorted({_name("kinds[]", kind) for kind in value}))
    if not kinds:
        raise InvalidArgumentError("kinds=() must name at least one event kind")
    return kinds


def _values(value: object) -> frozenset[str]:
    if isinstance(value, str) or not isinstance(value, tuple | list | frozenset | set):
        raise ArgumentTypeError(f"values={value!r} must be a collection of str")
    return frozenset(
        check_text(
            "values[]",
            item,
            max_length=limits.IDEMPOTENCY_KEY_LENGTH_MAX,
            limit_name="IDEMPOTENCY_KEY_LENGTH_MAX",
        )
        for item in value
    )


def _subject_text(event: Event, by: str | None) -> str | None:
    """The value a rule or a list looks at: the member, or the attribute as text (or none)."""
    if by is None:
        return str(event.member)
    value = event.get(by)
    return None if value is MISSING else str(value)


@functools.lru_cache(maxsize=256)
def _digest(by: str | None, subject: str) -> str:
    # Screening names an event's counts twice (to lock them, then to screen): hash once.
    return hashlib.sha256(f"{by or ''}\x00{subject}".encode()).hexdigest()[:24]


@final
@attrs.frozen
class VelocityRule:
    """More than *limit* events of *kinds* per window per member (or per attribute value).

    >>> VelocityRule("fast-sign-in", ("sign_in",), 5, per="minute", by="device").action
    'refuse'

    Attributes:
        name: The rule's name, reported when it refuses or flags an event.
        kinds: The event kinds it counts.
        limit: The most events allowed in one window; the next one is over.
        per: The window: ``"minute"`` or ``"hour"`` (calendar windows in UTC).
        by: The attribute whose value is counted (``"device"``, ``"ip"``), across members;
            ``None`` to count per member. An event without the attribute is not counted.
        action: ``"refuse"`` (nothing is recorded) or ``"review"`` (recorded, flagged, and
            its award kept pending until approved or rejected).
    """

    name: str = attrs.field(converter=_rule_name)
    kinds: tuple[str, ...] = attrs.field(converter=_kinds)
    limit: int = attrs.field()
    per: VelocityWindow = "minute"
    by: str | None = None
    action: VelocityAction = "refuse"

    def __attrs_post_init__(self) -> None:
        check_int(
            "limit",
            self.limit,
            minimum=1,
            maximum=limits.VELOCITY_LIMIT_MAX,
            limit_name="VELOCITY_LIMIT_MAX",
        )
        check_choice("per", self.per, _WINDOWS)
        check_choice("action", self.action, _ACTIONS)
        if self.by is not None:
            _name("by", self.by)

    def window(self, at: datetime) -> str:
        """Return the label of the window *at* (UTC) falls in: ``"minute:2026-03-01T09:05"``."""
        # Equal instants in other zones are equal keys: the zone joins the key.
        return _window_label(self.per, at, at.tzinfo)

    def count_name(self, event: Event) -> str | None:
        """Return the name of the count *event* falls in, or ``None`` if the rule skips it."""
        if event.kind not in self.kinds:
            return None
        subject = _subject_text(event, self.by)
        if subject is None:
            return None
        return f"velocity:{self.name}:{_digest(self.by, subject)}:{self.window(event.at)}"


@final
@attrs.frozen
class Blocklist:
    """Values of one attribute that are refused: a device id, an IP, a phone hash.

    Attributes:
        attribute: The event attribute looked at.
        values: The refused values, compared as text.
    """

    attribute: str = attrs.field(converter=_attribute)
    values: frozenset[str] = attrs.field(converter=_values)


def _rules(value: object) -> tuple[VelocityRule, ...]:
    rules = tuple(value) if isinstance(value, tuple | list) else None
    if rules is None or not all(isinstance(rule, VelocityRule) for rule in rules):
        raise ArgumentTypeError(f"velocity={value!r} must be a tuple of VelocityRule")
    if len(rules) > limits.VELOCITY_RULES_MAX:
        raise LimitExceededError(
            f"velocity has {len(rules)} rules, over limits.VELOCITY_RULES_MAX "
            f"({limits.VELOCITY_RULES_MAX})"
        )
    names = [rule.name for rule in rules]
    if len(set(names)) != len(names):
        raise InvalidArgumentError(f"velocity={names!r} names a rule twice; names are unique")
    return rules


def _lists(value: object) -> tuple[Blocklist, ...]:
    lists = tuple(value) if isinstance(value, tuple | list) else None
    if lists is None or not all(isinstance(item, Blocklist) for item in lists):
        raise ArgumentTypeError(f"blocklists={value!r} must be a tuple of Blocklist")
    total = sum(len(item.values) for item in lists)
    if total > limits.BLOCKLIST_VALUES_MAX:
        raise LimitExceededError(
            f"blocklists hold {total} values, over limits.BLOCKLIST_VALUES_MAX "
            f"({limits.BLOCKLIST_VALUES_MAX})"
        )
    return lists


@final
@attrs.frozen
class Screening:
    """What anti-cheat says about one event.

    Attributes:
        outcome: ``"allow"``, ``"refuse"`` or ``"review"``.
        rule: The velocity rule or the blocklisted attribute that decided, if any.
        reason: ``"velocity"`` or ``"blocklisted"`` when not allowed, else ``None``.
        counts: ``(count name, events before this one)`` of every count the event falls in.
    """

    outcome: Literal["allow", "refuse", "review"]
    rule: str | None = None
    reason: str | None = None
    counts: tuple[tuple[str, int], ...] = ()


@final
@attrs.frozen
class AntiCheat:
    """An anti-cheat definition: velocity rules and blocklists.

    >>> from datetime import UTC, datetime
    >>> from pointkit.rules import Event
    >>> guard = AntiCheat(
    ...     velocity=(VelocityRule("bursts", ("sign_in",), 2, per="minute"),),
    ...     blocklists=(Blocklist("device", ("dev-666",)),),
    ... )
    >>> event = Event("e-1", "sign_in", "alice", datetime(2026, 3, 1, 9, tzinfo=UTC), {"device": "dev-1"})
    >>> [name.split(":")[0] for name in guard.counts(event)]
    ['velocity']
    >>> guard.screen(event, {name: 2 for name in guard.counts(event)}).outcome
    'refuse'

    Attributes:
        velocity: The velocity rules, names unique.
        blocklists: The blocklists.
    """

    velocity: tuple[VelocityRule, ...] = attrs.field(default=(), converter=_rules)
    blocklists: tuple[Blocklist, ...] = attrs.field(default=(), converter=_lists)

    def blocked(self, event: Event) -> str | None:
        """Return the attribute whose value *event* carries is blocklisted, or ``None``."""
        for blocklist in self.blocklists:
            value = _subject_text(event, blocklist.attribute)
            if value is not None and value in blocklist.values:
                return blocklist.attribute
        return None

    def counts(self, event: Event) -> tuple[str, ...]:
        """Return the names of the counts *event* falls in, sorted (the order to lock them)."""
        return tuple(sorted({name for _, name in self._named(event) if name is not None}))

    def _named(self, event: Event) -> tuple[tuple[VelocityRule, str | None], ...]:
        """Each velocity rule with the name of the count *event* falls in (``None``: skipped)."""
        # Screening asks twice for one event (to lock its counts, then to screen it): the
        # last answer is kept by identity; both objects are immutable.
        book, seen, named = _LAST_NAMED[0]
        if book is self and seen is event:
            return named
        named = tuple((rule, rule.count_name(event)) for rule in self.velocity)
        _LAST_NAMED[0] = (self, event, named)
        return named

    def screen(self, event: Event, used: Mapping[str, int]) -> Screening:
        """Screen *event* given the events already counted in each of its counts (*used*).

        A blocklisted value refuses first; then a ``refuse`` rule over its limit; then a
        ``review`` rule over its limit flags the event; otherwise it is allowed.
        """
        named = self._named(event)
        names = sorted({name for _, name in named if name is not None})
        counted = tuple((name, used.get(name, 0)) for name in names)
        blocked = self.blocked(event)
        if blocked is not None:
            return Screening("refuse", blocked, "blocklisted", counted)
        over = [
            rule for rule, name in named if name is not None and used.get(name, 0) + 1 > rule.limit
        ]
        for action in _ACTIONS:
            for rule in over:
                if rule.action == action:
                    return Screening(action, rule.name, "velocity", counted)
        return Screening("allow", counts=counted)


_LAST_NAMED: list[tuple[object, object, tuple[tuple[VelocityRule, str | None], ...]]] = [
    (None, None, ())
]


@functools.lru_cache(maxsize=64)
def _window_label(per: str, at: datetime, _zone: tzinfo | None) -> str:
    # Formatting a datetime is slow, and the events of a batch share their instant.
    if per == "minute":
        return f"minute:{at:%Y-%m-%dT%H:%M}"
    return f"hour:{at:%Y-%m-%dT%H}"


@final
@attrs.frozen
class FreezeState:
    """A frozen member: since when, why, and under which key.

    Attributes:
        member: The member.
        reason: Why they were frozen.
        since: When.
        key: The freeze's idempotency key.
    """

    member: MemberId
    reason: str
    since: datetime
    key: str


def all_kinds(rules: Iterable[VelocityRule]) -> frozenset[str]:
    """Return every event kind the rules count."""
    return frozenset(kind for rule in rules for kind in rule.kinds)

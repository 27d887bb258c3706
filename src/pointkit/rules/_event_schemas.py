"""Event schemas: the attributes each event kind carries, and the registry that checks events.

Maintainer's notes
------------------
Which attributes a kind carries is data: an :class:`EventSchema` per kind, held by an
:class:`EventRegistry` with the built-in kinds and any the host registers. Rule sets check their
conditions against the schemas when they are built, and every event against its schema when it
is evaluated, so a misspelt attribute is found once, at the boundary, not as a silently false
condition. The built-in kinds' cross-field checks (in :mod:`pointkit.rules._events`, beside the
constructors that run them) run in :meth:`EventRegistry.validate` too, so an event built
without the helper constructors is held to the same rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from types import MappingProxyType
from typing import TYPE_CHECKING, Final, Literal, TypeAlias, final

import attrs

from pointkit import limits
from pointkit._validate import type_name
from pointkit._values import Money
from pointkit.exceptions import ArgumentTypeError, InvalidArgumentError, LimitExceededError
from pointkit.rules._attributes import Line, _named_pairs, check_kind
from pointkit.rules._events import _CROSS_CHECKS, Event


if TYPE_CHECKING:
    from collections.abc import Callable


__all__ = [
    "BUILTIN_KINDS",
    "FIELD_TYPES",
    "EventRegistry",
    "EventSchema",
    "FieldSpec",
    "FieldType",
]


FieldType: TypeAlias = Literal[
    "int", "decimal", "money", "str", "bool", "datetime", "date", "strings", "lines"
]
"""The type of an event attribute in a schema: ``strings`` is a tuple of str (tags),
``lines`` a tuple of :class:`Line` (order lines)."""

FIELD_TYPES: Final[tuple[FieldType, ...]] = (
    "int",
    "decimal",
    "money",
    "str",
    "bool",
    "datetime",
    "date",
    "strings",
    "lines",
)


def _to_field_type(value: FieldType) -> FieldType:
    if value not in FIELD_TYPES:
        valid = ", ".join(repr(kind) for kind in FIELD_TYPES)
        raise InvalidArgumentError(f"type={value!r} must be one of {valid}")
    return value


def _to_required(value: bool) -> bool:  # noqa: FBT001 - a converter takes the value as it is
    if not isinstance(value, bool):
        raise ArgumentTypeError(f"required={value!r} must be a bool, not {type_name(value)}")
    return value


@final
@attrs.frozen
class FieldSpec:
    """The type of one attribute of an event kind, and whether every event must carry it.

    Attributes:
        type: One of ``int``, ``decimal``, ``money``, ``str``, ``bool``, ``datetime``,
            ``date``, ``strings`` (a tuple of str) and ``lines`` (a tuple of :class:`Line`).
        required: Whether events of the kind must carry the attribute.
    """

    type: FieldType = attrs.field(converter=_to_field_type)
    required: bool = attrs.field(default=True, converter=_to_required)


def _to_schema_kind(value: str) -> str:
    return check_kind("kind", value)


def _check_field_spec(name: str, value: object) -> FieldSpec:
    if not isinstance(value, FieldSpec):
        raise ArgumentTypeError(f"{name}={value!r} must be a FieldSpec, not {type_name(value)}")
    return value


def _to_fields(
    value: Mapping[str, FieldSpec] | Iterable[tuple[str, FieldSpec]],
) -> tuple[tuple[str, FieldSpec], ...]:
    return _named_pairs("fields", value, what="FieldSpec", check=_check_field_spec)


@final
@attrs.frozen
class EventSchema:
    """The attributes events of one kind carry.

    >>> schema = EventSchema("game_won", {"score": FieldSpec("int"), "mode": FieldSpec("str", required=False)})
    >>> schema.field("score")
    FieldSpec(type='int', required=True)

    Attributes:
        kind: The kind, lower-case letters, digits and underscores.
        fields: ``(name, FieldSpec)`` pairs sorted by name; a mapping is accepted.
    """

    kind: str = attrs.field(converter=_to_schema_kind)
    fields: tuple[tuple[str, FieldSpec], ...] = attrs.field(default=(), converter=_to_fields)

    def field(self, name: str) -> FieldSpec | None:
        """Return the spec of attribute *name*, or ``None`` if the kind has no such attribute."""
        for field_name, spec in self.fields:
            if field_name == name:
                return spec
        return None

    @property
    def names(self) -> tuple[str, ...]:
        """The attribute names, sorted."""
        return tuple(name for name, _ in self.fields)


def _money(required: bool = True) -> FieldSpec:  # noqa: FBT001, FBT002 - a table helper
    return FieldSpec("money", required=required)


def _text(required: bool = True) -> FieldSpec:  # noqa: FBT001, FBT002 - a table helper
    return FieldSpec("str", required=required)


_BUILTIN_SCHEMAS: Final = (
    EventSchema("anniversary", {"years": FieldSpec("int")}),
    EventSchema("birthday"),
    EventSchema("invite", {"invitee": _text()}),
    EventSchema("invitee_registered", {"invitee": _text()}),
    EventSchema("profile_completed"),
    EventSchema(
        "purchase",
        {
            "amount": _money(),
            "order_id": _text(),
            "lines": FieldSpec("lines", required=False),
            "paid_with_points": _money(required=False),
            "tax": _money(required=False),
            "shipping": _money(required=False),
        },
    ),
    EventSchema("registration"),
    EventSchema(
        "review",
        {"length": FieldSpec("int"), "rating": FieldSpec("int"), "product": _text(required=False)},
    ),
    EventSchema("share", {"channel": _text(required=False)}),
    EventSchema("sign_in"),
)

BUILTIN_KINDS: Final = frozenset(schema.kind for schema in _BUILTIN_SCHEMAS)
"""The kinds every registry holds."""

# Event values are canonical (check_value makes ints int, text str, instants datetime, ...), so
# a field's type is its value's exact type; lists are tuples of one item type.
_TYPE_OF: Final[dict[str, tuple[type, type | None]]] = {
    "int": (int, None),
    "decimal": (Decimal, None),
    "money": (Money, None),
    "str": (str, None),
    "bool": (bool, None),
    "datetime": (datetime, None),
    "date": (date, None),
    "strings": (tuple, str),
    "lines": (tuple, Line),
}
_TYPE_WORDS: Final = {
    "int": "an int",
    "decimal": "a Decimal",
    "money": "Money",
    "str": "a str",
    "bool": "a bool",
    "datetime": "an aware datetime",
    "date": "a date",
    "strings": "a tuple of str",
    "lines": "a tuple of Line",
}


def _to_custom(value: Iterable[EventSchema]) -> tuple[EventSchema, ...]:
    given: object = value  # checked at run time whatever the annotation says
    if isinstance(given, str | bytes | Mapping) or not isinstance(given, Iterable):
        raise ArgumentTypeError(
            f"schemas={given!r} must be an iterable of EventSchema, not {type_name(given)}"
        )
    schemas: dict[str, EventSchema] = {}
    for schema in given:
        if not isinstance(schema, EventSchema):
            raise ArgumentTypeError(
                f"schemas item {schema!r} must be an EventSchema, not {type_name(schema)}"
            )
        if schema.kind in BUILTIN_KINDS:
            raise InvalidArgumentError(
                f"kind={schema.kind!r} is a built-in event kind; give your kind another name"
            )
        if schema.kind in schemas:
            raise InvalidArgumentError(f"kind={schema.kind!r} is already registered")
        schemas[schema.kind] = schema
    if len(schemas) + len(BUILTIN_KINDS) > limits.EVENT_KINDS_MAX:
        raise LimitExceededError(
            f"a registry of {len(schemas) + len(BUILTIN_KINDS)} kinds is over "
            f"limits.EVENT_KINDS_MAX ({limits.EVENT_KINDS_MAX})"
        )
    return tuple(sorted(schemas.values(), key=lambda schema: schema.kind))


_Validator: TypeAlias = tuple[
    dict[str, tuple[FieldSpec, type, "type | None", bool]],
    frozenset[str],
    "Callable[[Event], None] | None",
    dict[str, type],
    dict[str, type],
]
"""A kind's check: per attribute (spec, value type, item type, required?), the required
attributes, the kind's own cross-field check, and the value type of each required and each
optional attribute that is not a tuple (the usual case, checked first)."""


def _compile_schema(schema: EventSchema) -> _Validator:
    fields = {name: (spec, *_TYPE_OF[spec.type], spec.required) for name, spec in schema.fields}
    required = frozenset(name for name, spec in schema.fields if spec.required)
    plain = {
        name: (kind, needed) for name, (_, kind, item, needed) in fields.items() if item is None
    }
    return (
        fields,
        required,
        _CROSS_CHECKS.get(schema.kind),
        {name: kind for name, (kind, needed) in plain.items() if needed},
        {name: kind for name, (kind, needed) in plain.items() if not needed},
    )


@final
@attrs.frozen
class EventRegistry:
    """The event kinds a program knows: the built-in kinds plus the host's own.

    A registry is immutable: :meth:`register` returns a new one.

    >>> registry = EventRegistry.default().register(EventSchema("game_won", {"score": FieldSpec("int")}))
    >>> "game_won" in registry.kinds, "purchase" in registry.kinds
    (True, True)
    >>> registry.register(EventSchema("purchase"))
    Traceback (most recent call last):
    ...
    pointkit.exceptions.InvalidArgumentError: kind='purchase' is a built-in event kind; give your kind another name

    The built-in kinds and their attributes (``?`` marks an optional one):

    ========================  =================================================================
    kind                      attributes
    ========================  =================================================================
    ``purchase``              amount (money), order_id (str), lines? (lines),
                              paid_with_points? (money), tax? (money), shipping? (money)
    ``sign_in``               none
    ``share``                 channel? (str)
    ``invite``                invitee (str)
    ``invitee_registered``    invitee (str)
    ``review``                length (int), rating (int, 1 to 5), product? (str)
    ``profile_completed``     none
    ``registration``          none
    ``birthday``              none
    ``anniversary``           years (int, at least 1)
    ========================  =================================================================

    Attributes:
        schemas: The host's own schemas, sorted by kind (the built-in ones are always there).
    """

    schemas: tuple[EventSchema, ...] = attrs.field(default=(), converter=_to_custom)
    _validators: Mapping[str, _Validator] = attrs.field(
        init=False, eq=False, repr=False, hash=False
    )

    def __attrs_post_init__(self) -> None:
        validators = {
            schema.kind: _compile_schema(schema) for schema in (*_BUILTIN_SCHEMAS, *self.schemas)
        }
        object.__setattr__(self, "_validators", MappingProxyType(validators))

    def __reduce__(self) -> tuple[type[EventRegistry], tuple[tuple[EventSchema, ...]]]:
        """Pickle the host's schemas; unpickling compiles their checks again."""
        return EventRegistry, (self.schemas,)

    @classmethod
    def default(cls) -> EventRegistry:
        """Return the registry of the built-in kinds only."""
        return _DEFAULT

    def register(self, schema: EventSchema) -> EventRegistry:
        """Return a new registry that also holds *schema*'s kind.

        Raises:
            ArgumentTypeError: If *schema* is not an EventSchema.
            InvalidArgumentError: If its kind is built in or already registered.
            LimitExceededError: If the registry would hold over ``limits.EVENT_KINDS_MAX`` kinds.
        """
        return EventRegistry((*self.schemas, schema))

    @property
    def kinds(self) -> tuple[str, ...]:
        """Every kind, built-in and registered, sorted."""
        return tuple(sorted(self._validators))

    def schema(self, kind: str) -> EventSchema:
        """Return the schema of *kind*.

        Raises:
            InvalidArgumentError: If no such kind is registered; the message lists the kinds.
        """
        for schema in (*_BUILTIN_SCHEMAS, *self.schemas):
            if schema.kind == kind:
                return schema
        raise self._unknown(kind)

    def _unknown(self, kind: object) -> InvalidArgumentError:
        valid = ", ".join(repr(name) for name in self.kinds)
        return InvalidArgumentError(
            f"kind={kind!r} is not a registered event kind; registered kinds are {valid}"
        )

    def _quick_shape(
        self, kind: str
    ) -> tuple[tuple[tuple[str, type], ...], Callable[[Event], None] | None] | None:
        """Return what an event of *kind* with only its required attributes looks like.

        That is its attributes' names and value types in order, and the kind's cross-field
        check: an event whose attributes are exactly these, each value of its exact type,
        passes :meth:`validate` once the cross-field check passes. ``None`` when a required
        attribute is a tuple (its items need checking too).

        Raises:
            InvalidArgumentError: If no such kind is registered.
        """
        validator = self._validators.get(kind)
        if validator is None:
            raise self._unknown(kind)
        fields, _, cross, required_types, _ = validator
        if any(needed and item is not None for _, _, item, needed in fields.values()):
            return None
        return tuple(sorted(required_types.items())), cross

    def validate(self, event: Event) -> None:  # noqa: C901 - the usual attributes first, then each check
        """Check *event* against its kind's schema (and the built-in kinds' own checks).

        Raises:
            ArgumentTypeError: If *event* is not an Event.
            InvalidArgumentError: Naming the kind, the attribute, its value and what is valid,
                for an unknown kind, an unknown attribute, a missing required attribute or a
                value of the wrong type.
        """
        given: object = event  # checked at run time whatever the annotation says
        if type(given) is not Event and not isinstance(given, Event):
            raise ArgumentTypeError(f"event={given!r} must be an Event, not {type_name(given)}")
        validator = self._validators.get(given.kind)
        if validator is None:
            raise self._unknown(given.kind)
        fields, required, cross, required_types, optional_types = validator
        seen = 0
        for name, value in given.attributes:
            kind = type(value)
            if required_types.get(name) is kind:
                seen += 1
                continue
            if optional_types.get(name) is kind:
                continue
            entry = fields.get(name)
            if entry is None:
                known = ", ".join(repr(field) for field in sorted(fields)) or "none"
                raise InvalidArgumentError(
                    f"attributes[{name!r}]={value!r} is not an attribute of {given.kind!r} "
                    f"events, whose attributes are {known}"
                )
            spec, expected, item, needed = entry
            if kind is not expected or (
                item is not None and value and type(value[0]) is not item  # type: ignore[index]
            ):
                raise InvalidArgumentError(
                    f"attributes[{name!r}]={value!r} must be {_TYPE_WORDS[spec.type]} for "
                    f"{given.kind!r} events, not {type_name(value)}"
                )
            if needed:
                seen += 1
        if seen != len(required):
            present = {name for name, _ in given.attributes}
            missing = sorted(required - present)
            raise InvalidArgumentError(
                f"attributes[{missing[0]!r}] is missing: {given.kind!r} events require it "
                f"({_TYPE_WORDS[fields[missing[0]][0].type]})"
            )
        if cross is not None:
            cross(given)


_DEFAULT: Final = EventRegistry()

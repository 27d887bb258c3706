"""JSON out and back: one converter for every result and value type, and its JSON Schema.

A host's endpoint returns what pointkit returns. :func:`dump` turns any result or value — a
:class:`~pointkit.Balance`, a :class:`~pointkit.Transaction`, a redemption, a draw, a tier
status, an error — into plain JSON data; :func:`load` turns that data back into the type;
:func:`schema` describes the type as JSON Schema (2020-12) for an API's documentation.

>>> from datetime import UTC, datetime
>>> from pointkit import FixedClock, Ledger, MemoryStorage, Money, jsonable
>>> ledger = Ledger(MemoryStorage(), clock=FixedClock(datetime(2026, 3, 1, tzinfo=UTC)))
>>> _ = ledger.earn("alice", 500, key="order-1001")
>>> data = jsonable.dump(ledger.balance("alice"))
>>> data["available"], data["as_of"]
(500, '2026-03-01T00:00:00+00:00')
>>> jsonable.load(type(ledger.balance("alice")), data) == ledger.balance("alice")
True
>>> jsonable.dump(Money("12.50", "CNY"))
'12.50 CNY'

How values are written:

========================  ================================================================
Python                    JSON
========================  ================================================================
int, str, bool, None      themselves (``Points`` and ``MemberId`` as plain int and str)
``Money``                 ``"12.50 CNY"``: the amount on its currency's grid, then the code
``datetime``              RFC 3339 with its offset: ``"2026-03-01T08:00:00+08:00"``
``date``                  ``"2026-03-01"``
``timedelta``             ISO 8601 seconds: ``"PT3600S"``, ``"PT0.5S"``
``Fraction``              ``"n/d"``: ``"1/3"``, ``"2/1"``
``Decimal``               its string: ``"0.125"``
ids (UUIDs)               their canonical string
enums                     their value
records (attrs classes)   an object of their fields, by the names their constructors take
tuples, lists, sets       arrays (sets sorted)
mappings                  objects when the keys are strings, else arrays of ``[key, value]``
errors                    ``{"error": code, "status": HTTP status, "message": ..., ...}``
========================  ================================================================

:func:`load` checks what it reads as the constructors do, and a value that does not fit
raises :class:`~pointkit.exceptions.InvalidArgumentError` naming its path in the document
(``balance.as_of``), the value and what was expected.
"""

from __future__ import annotations

import collections.abc
import datetime as dt
import enum
import functools
import importlib
import json
import re
import types
import typing
import uuid
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Final, Literal, TypeVar, Union, cast
from zoneinfo import ZoneInfo

import attrs

from pointkit._validate import type_name
from pointkit._values import Money, MoneyCurrency
from pointkit.exceptions import ArgumentTypeError, InvalidArgumentError, PointkitError


if TYPE_CHECKING:
    from collections.abc import Callable


__all__ = ["JSON", "dump", "error_status", "load", "schema"]

JSON: typing.TypeAlias = "dict[str, JSON] | list[JSON] | str | int | float | bool | None"
"""Data :func:`json.dumps` writes as is."""

_T = TypeVar("_T")

# The packages whose public names type hints may use without importing them at run time.
_PACKAGES: Final = (
    "pointkit",
    "pointkit.ledger",
    "pointkit.features",
    "pointkit.program",
    "pointkit.pricing",
    "pointkit.rules",
    "pointkit.tiers",
    "pointkit.expiry",
    "pointkit.reports",
    "pointkit.campaigns",
)
_MONEY: Final = re.compile(r"^(-?\d+(?:\.\d+)?) ([A-Z]{3})$")
_DURATION: Final = re.compile(r"^(-?)PT(\d+(?:\.\d{1,6})?)S$")
_FRACTION: Final = re.compile(r"^-?\d+/[1-9]\d*$")


# -- dump ----------------------------------------------------------------------------------


def dump(value: object) -> JSON:
    """Return *value* as JSON data (see the module's table).

    Raises:
        ArgumentTypeError: If *value* holds something JSON cannot carry (a function, a float
            that is not finite, a non-pointkit object), naming where.
    """
    return _dump(value, "value")


def _dump(value: object, path: str) -> JSON:  # noqa: C901, PLR0911, PLR0912 - one case per kind
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, enum.Enum):
        return _dump(value.value, path)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):  # noqa: PLR0124 - NaN
            raise ArgumentTypeError(f"{path}={value!r} is not a finite number; JSON has none")
        return value
    if isinstance(value, Money):
        return str(value)
    if isinstance(value, Fraction):
        return f"{value.numerator}/{value.denominator}"
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return _duration(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, ZoneInfo):
        return value.key
    if isinstance(value, PointkitError | AssertionError) and hasattr(value, "code"):
        return _dump_error(value, path)
    own = _own_forms().get(type(value))
    if own is not None:
        return cast("JSON", own.dump(value))
    if attrs.has(type(value)):
        return {
            _alias(field): _dump(getattr(value, field.name), f"{path}.{_alias(field)}")
            for field in _public_fields(type(value))
        }
    if isinstance(value, collections.abc.Mapping):
        items = [(key, item) for key, item in value.items()]
        if all(isinstance(key, str) for key, _ in items):
            return {str(key): _dump(item, f"{path}.{key}") for key, item in items}
        return [
            [_dump(key, f"{path}[{index}].key"), _dump(item, f"{path}[{index}].value")]
            for index, (key, item) in enumerate(items)
        ]
    if isinstance(value, set | frozenset):
        dumped = [_dump(item, f"{path}[]") for item in value]
        return sorted(dumped, key=repr)
    if isinstance(value, tuple | list):
        return [_dump(item, f"{path}[{index}]") for index, item in enumerate(value)]
    raise ArgumentTypeError(f"{path}: a {type_name(value)} has no JSON form")


def _public_fields(kind: type) -> list[attrs.Attribute[Any]]:
    """A record's fields in its JSON form: those its constructor takes, less private ones.

    A private field (``_verdicts`` of a decision) is working state, not part of the value's
    JSON form; it takes its default when the value is loaded.
    """
    return [
        field
        for field in attrs.fields(kind)
        if field.init and not (field.name.startswith("_") and field.default is not attrs.NOTHING)
    ]


def _alias(field: attrs.Attribute[Any]) -> str:
    """The name a record's constructor takes the field by (``_verdicts``: ``verdicts``)."""
    return field.alias or field.name


def _duration(value: dt.timedelta) -> str:
    micros = (value.days * 86_400 + value.seconds) * 1_000_000 + value.microseconds
    sign = "-" if micros < 0 else ""
    seconds, fraction = divmod(abs(micros), 1_000_000)
    tail = f".{fraction:06d}".rstrip("0") if fraction else ""
    return f"{sign}PT{seconds}{tail}S"


_STATUS_BY_CODE: Final[dict[str, int]] = {
    # Arguments the caller must change: unprocessable as sent.
    "invalid_argument": 422,
    "argument_type": 422,
    "naive_datetime": 422,
    "limit_exceeded": 422,
    "unknown_currency": 422,
    "fairness_failed": 422,
    "not_reversible": 422,
    "points_overflow": 422,
    # Something named that does not exist.
    "hold_not_found": 404,
    "transaction_not_found": 404,
    "redemption_not_found": 404,
    "draw_not_found": 404,
    "coupon_not_found": 404,
    "group_buy_not_found": 404,
    # A valid request the current state refuses: retrying as is will not help until it changes.
    "idempotency_conflict": 409,
    "insufficient_points": 409,
    "debt_limit_exceeded": 409,
    "hold_already_captured": 409,
    "captured_hold_not_releasable": 409,
    "hold_already_released": 409,
    "released_hold_not_capturable": 409,
    "hold_expired": 409,
    "capture_exceeds_hold": 409,
    "already_reversed": 409,
    "reversal_exceeds_original": 409,
    "linked_command_refused": 409,
    "offer_unavailable": 409,
    "draw_refused": 409,
    "conversion_refused": 409,
    "transfer_refused": 409,
    "coupon_refused": 409,
    "referral_refused": 409,
    "group_buy_refused": 409,
    "member_frozen": 409,
    "activity_refused": 409,
    "ledger_error": 409,
    # The service could not do it now; the same request (same key) may succeed later.
    "storage_transient": 503,
    # The service is misconfigured or broken: not the caller's doing.
    "invalid_configuration": 500,
    "storage_error": 500,
    "schema_version": 500,
    "invariant_violation": 500,
    "pointkit_error": 500,
}


def error_status(error: BaseException) -> int:
    """The HTTP status a service answers *error* with (500 for anything not pointkit's).

    422 for arguments to change, 404 for something that does not exist, 409 for a request the
    current state refuses (insufficient points, an idempotency conflict), 503 for a transient
    storage failure worth retrying with the same key, 500 for the rest.

    >>> from pointkit import InsufficientPointsError, MemberId
    >>> error_status(InsufficientPointsError(MemberId("alice"), "points", 100, 40))
    409
    """
    code = getattr(error, "code", None)
    if isinstance(code, str) and isinstance(error, PointkitError | AssertionError):
        return _STATUS_BY_CODE.get(code, 500)
    return 500


def _dump_error(error: BaseException, path: str) -> dict[str, JSON]:
    document: dict[str, JSON] = {
        "error": cast("str", getattr(error, "code", "pointkit_error")),
        "status": error_status(error),
        "message": str(error),
    }
    for name, item in sorted(vars(error).items()):
        if name.startswith("_") or name in document or name == "detail":
            continue
        try:
            document[name] = _dump(item, f"{path}.{name}")
        except ArgumentTypeError:
            continue  # a detail without a JSON form stays in the message
    return document


# -- load ----------------------------------------------------------------------------------


def load(kind: type[_T], data: object) -> _T:
    """Rebuild a value of type *kind* from JSON data written by :func:`dump`.

    Raises:
        InvalidArgumentError: If *data* does not fit *kind*, naming the path, the value and
            what was expected; or the checks of *kind*'s constructor refuse it.
    """
    return cast("_T", _load(kind, data, _root(kind)))


def _root(kind: object) -> str:
    name = getattr(kind, "__name__", "value")
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _refuse(path: str, data: object, expected: str) -> InvalidArgumentError:
    shown = repr(data)
    if len(shown) > 80:  # noqa: PLR2004 - keep messages readable
        shown = shown[:77] + "..."
    return InvalidArgumentError(f"{path}={shown} is not {expected}")


def _load(kind: Any, data: object, path: str) -> object:  # noqa: ANN401, C901, PLR0911, PLR0912
    if kind is Any or kind is object:
        return data
    origin = typing.get_origin(kind)
    if origin is Literal:
        if data in typing.get_args(kind) and not isinstance(data, bool | float):
            return data
        raise _refuse(path, data, f"one of {list(typing.get_args(kind))}")
    if origin in (Union, types.UnionType):
        return _load_union(kind, data, path)
    if origin is typing.Annotated:
        return _load(typing.get_args(kind)[0], data, path)
    if origin is not None:
        return _load_generic(kind, origin, data, path)
    if kind is None or kind is type(None):
        if data is None:
            return None
        raise _refuse(path, data, "null")
    supertype = getattr(kind, "__supertype__", None)
    if supertype is not None:  # a NewType
        return kind(_load(supertype, data, path))
    if not isinstance(kind, type):
        raise ArgumentTypeError(f"{path}: {kind!r} is not a type pointkit.jsonable can load")
    if issubclass(kind, Money):
        if isinstance(data, str):
            return _load_money(data, path)
        raise _refuse(path, data, 'money "<amount> <code>", e.g. "12.50 CNY"')
    own = _own_forms().get(kind)
    if own is not None:
        try:
            return own.load(data)
        except InvalidArgumentError as error:
            raise InvalidArgumentError(f"{path}: {error}") from error
    if attrs.has(kind):
        return _load_record(kind, data, path)
    return _load_scalar(kind, data, path)


def _load_union(kind: Any, data: object, path: str) -> object:  # noqa: ANN401
    arms = typing.get_args(kind)
    if data is None and type(None) in arms:
        return None
    problems: list[str] = []
    for arm in arms:
        if arm is type(None):
            continue
        try:
            return _load(arm, data, path)
        except (InvalidArgumentError, TypeError) as error:
            problems.append(str(error))
    raise _refuse(path, data, "any of " + " | ".join(_type_text(arm) for arm in arms))


def _type_text(kind: object) -> str:
    if kind is type(None):
        return "null"
    return getattr(kind, "__name__", repr(kind))


def _load_generic(kind: Any, origin: Any, data: object, path: str) -> object:  # noqa: ANN401
    args = typing.get_args(kind)
    if isinstance(origin, type) and issubclass(origin, collections.abc.Mapping):
        key_type, value_type = args or (Any, Any)
        return _load_mapping(key_type, value_type, data, path)
    if not isinstance(data, list):
        raise _refuse(path, data, "an array")
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:  # noqa: PLR2004 - tuple[X, ...]
            return tuple(_load(args[0], item, f"{path}[{i}]") for i, item in enumerate(data))
        if len(args) != len(data):
            raise _refuse(path, data, f"an array of {len(args)} items")
        return tuple(
            _load(arg, item, f"{path}[{i}]")
            for i, (arg, item) in enumerate(zip(args, data, strict=True))
        )
    item_type = args[0] if args else Any
    items = [_load(item_type, item, f"{path}[{i}]") for i, item in enumerate(data)]
    if isinstance(origin, type) and issubclass(origin, collections.abc.Set):
        return frozenset(items) if origin is not set else set(items)
    return items if origin is list else tuple(items)


def _load_mapping(key_type: Any, value_type: Any, data: object, path: str) -> object:  # noqa: ANN401
    if isinstance(data, dict) and _is_str_type(key_type):
        return {
            _load(key_type, key, f"{path}.{key}"): _load(value_type, item, f"{path}.{key}")
            for key, item in data.items()
        }
    if not isinstance(data, list):
        raise _refuse(path, data, "an object or an array of [key, value] pairs")
    loaded: dict[object, object] = {}
    for index, pair in enumerate(data):
        if not isinstance(pair, list) or len(pair) != 2:  # noqa: PLR2004 - a pair
            raise _refuse(f"{path}[{index}]", pair, "a [key, value] pair")
        loaded[_load(key_type, pair[0], f"{path}[{index}].key")] = _load(
            value_type, pair[1], f"{path}[{index}].value"
        )
    return loaded


def _is_str_type(kind: object) -> bool:
    if kind is str:
        return True
    supertype = getattr(kind, "__supertype__", None)
    if supertype is not None:
        return _is_str_type(supertype)
    return isinstance(kind, type) and issubclass(kind, str)


def _load_record(kind: type, data: object, path: str) -> object:
    if not isinstance(data, dict):
        raise _refuse(path, data, f"an object (a {kind.__name__})")
    fields = _public_fields(kind)
    names = {_alias(field) for field in fields}
    unknown = sorted(set(data) - names)
    if unknown:
        raise InvalidArgumentError(
            f"{path}: unknown field(s) {unknown}; a {kind.__name__} has {sorted(names)}"
        )
    hints = _hints(kind)
    arguments: dict[str, object] = {}
    for field in fields:
        alias = _alias(field)
        if alias not in data:
            if field.default is attrs.NOTHING:
                raise InvalidArgumentError(f"{path}.{alias} is missing")
            continue
        hint = hints.get(field.name, Any)
        arguments[alias] = _load(hint, data[alias], f"{path}.{alias}")
    try:
        return kind(**arguments)
    except InvalidArgumentError as error:
        raise InvalidArgumentError(f"{path}: {error}") from error
    except (TypeError, ValueError) as error:
        raise InvalidArgumentError(f"{path}: {error}") from error


def _load_scalar(kind: type, data: object, path: str) -> object:  # noqa: C901, PLR0911, PLR0912
    if issubclass(kind, enum.Enum):
        try:
            return kind(data)
        except ValueError:
            raise _refuse(path, data, f"one of {[member.value for member in kind]}") from None
    if kind is bool:
        if isinstance(data, bool):
            return data
        raise _refuse(path, data, "true or false")
    if issubclass(kind, int):
        if isinstance(data, int) and not isinstance(data, bool):
            return data if kind is int else kind(data)
        raise _refuse(path, data, "an integer")
    if issubclass(kind, str):
        if isinstance(data, str):
            return data if kind is str else kind(data)
        raise _refuse(path, data, "a string")
    if kind is float:
        if isinstance(data, int | float) and not isinstance(data, bool):
            return float(data)
        raise _refuse(path, data, "a number")
    if not isinstance(data, str):
        raise _refuse(path, data, f"a string (a {kind.__name__})")
    if issubclass(kind, Fraction):
        if _FRACTION.match(data):
            return Fraction(data)
        raise _refuse(path, data, 'a fraction "n/d"')
    if issubclass(kind, Decimal):
        try:
            number = Decimal(data)
        except InvalidOperation:
            raise _refuse(path, data, "a decimal number") from None
        if not number.is_finite():
            raise _refuse(path, data, "a finite decimal number")
        return number
    if issubclass(kind, dt.datetime):
        return _load_instant(data, path)
    if issubclass(kind, dt.date):
        try:
            return dt.date.fromisoformat(data)
        except ValueError:
            raise _refuse(path, data, "a date YYYY-MM-DD") from None
    if issubclass(kind, dt.timedelta):
        return _load_duration(data, path)
    if issubclass(kind, uuid.UUID):
        try:
            return uuid.UUID(data)
        except ValueError:
            raise _refuse(path, data, "a UUID") from None
    if issubclass(kind, ZoneInfo):
        try:
            return ZoneInfo(data)
        except (ValueError, KeyError):
            raise _refuse(path, data, "an IANA time zone name") from None
    raise ArgumentTypeError(f"{path}: pointkit.jsonable cannot load a {kind.__name__}")


def _load_money(data: str, path: str) -> Money:
    found = _MONEY.match(data)
    if found is None:
        raise _refuse(path, data, 'money "<amount> <ISO code>", e.g. "12.50 CNY"')
    amount, code = found.groups()
    try:
        currency = MoneyCurrency.iso(code)
    except InvalidArgumentError:
        places = len(amount.partition(".")[2])
        currency = MoneyCurrency(code, decimals=places)
    try:
        return Money(Decimal(amount), currency)
    except InvalidArgumentError as error:
        raise InvalidArgumentError(f"{path}: {error}") from error


def _load_instant(data: str, path: str) -> dt.datetime:
    try:
        instant = dt.datetime.fromisoformat(data)
    except ValueError:
        raise _refuse(path, data, "an RFC 3339 instant with its offset") from None
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise _refuse(path, data, "an instant with an offset (RFC 3339)")
    return instant


def _load_duration(data: str, path: str) -> dt.timedelta:
    found = _DURATION.match(data)
    if found is None:
        raise _refuse(path, data, 'a duration in seconds, e.g. "PT3600S"')
    sign, seconds = found.groups()
    micros = int(Decimal(seconds) * 1_000_000)
    try:
        return dt.timedelta(microseconds=-micros if sign else micros)
    except OverflowError:
        raise _refuse(path, data, "a duration Python can hold") from None


# -- types with a JSON form of their own ----------------------------------------------------


@attrs.frozen
class _OwnForm:
    """A type whose JSON form it defines itself, because it is stored in that form."""

    dump: Callable[[Any], object]
    load: Callable[[object], object]
    schema: dict[str, JSON]


@functools.cache
def _own_forms() -> dict[type, _OwnForm]:
    from pointkit.rules import Event  # noqa: PLC0415 - jsonable sits above the rules

    def load_event(data: object) -> Event:
        if not isinstance(data, dict):
            raise _refuse("event", data, "an object (an Event)")
        return Event.from_dict(data)

    text: dict[str, JSON] = {"type": "string"}
    event: dict[str, JSON] = {
        "title": "Event",
        "description": "Something a member did, as stored with its decision.",
        "type": "object",
        "properties": {
            "id": text,
            "kind": text,
            "member": text,
            "at": {"type": "string", "format": "date-time"},
            "attributes": {
                "type": "object",
                "description": (
                    "Attribute values: strings, integers, booleans, RFC 3339 instants, "
                    'money as {"amount": "12.50", "currency": "CNY"}, and lists of these'
                ),
            },
        },
        "required": ["id", "kind", "member", "at", "attributes"],
        "additionalProperties": False,
    }
    return {Event: _OwnForm(Event.to_dict, load_event, event)}


# -- type hints ----------------------------------------------------------------------------


@functools.cache
def _namespace() -> dict[str, object]:
    """Names type hints may use: the standard types and every public name of pointkit."""
    names: dict[str, object] = {
        "datetime": dt.datetime,
        "date": dt.date,
        "time": dt.time,
        "timedelta": dt.timedelta,
        "Decimal": Decimal,
        "Fraction": Fraction,
        "ZoneInfo": ZoneInfo,
        "UUID": uuid.UUID,
        "uuid": uuid,
        "Mapping": collections.abc.Mapping,
        "Sequence": collections.abc.Sequence,
        "Iterable": collections.abc.Iterable,
        "Callable": collections.abc.Callable,
        "Any": Any,
    }
    for package in _PACKAGES:
        module = importlib.import_module(package)
        for name in getattr(module, "__all__", ()):
            names.setdefault(name, getattr(module, name))
    return names


@functools.cache
def _hints(kind: type) -> dict[str, Any]:
    """The types of *kind*'s public fields, each read in the module that declares it."""
    hints: dict[str, Any] = {}
    for field in _public_fields(kind):
        owner = next(
            (base for base in kind.__mro__ if field.name in vars(base).get("__annotations__", {})),
            kind,
        )
        annotation = vars(owner).get("__annotations__", {}).get(field.name, Any)
        holder = type("_Field", (), {"__annotations__": {field.name: annotation}})
        module = importlib.import_module(owner.__module__)
        try:
            resolved = typing.get_type_hints(
                holder, globalns=dict(vars(module)), localns=_namespace(), include_extras=True
            )
        except NameError as error:
            raise ArgumentTypeError(
                f"pointkit.jsonable cannot read the type of {kind.__name__}.{field.name}: {error}"
            ) from error
        hints[field.name] = resolved[field.name]
    return hints


# -- schema --------------------------------------------------------------------------------


def schema(kind: type, *, refs: bool = True) -> dict[str, JSON]:
    """Return the JSON Schema (2020-12) of what :func:`dump` writes for type *kind*.

    Args:
        kind: A pointkit result or value type.
        refs: ``True``: records a schema uses are in ``$defs`` and referenced; ``False``: every
            record is written in place (for a host that embeds the schema in another document,
            such as an OpenAPI one), a record inside itself as ``{"type": "object"}``.
    """
    defs: dict[str, JSON] = {}
    body = _schema(kind, defs, refs=refs, stack=())
    document: dict[str, JSON] = {"$schema": "https://json-schema.org/draft/2020-12/schema"}
    root = body.get("$ref") if isinstance(body, dict) else None
    if isinstance(root, str):  # the record itself is the document; $defs keeps what it uses
        name = root.removeprefix("#/$defs/")
        body = defs.pop(name)
        if f'"{root}"' in json.dumps([body, defs]):
            defs[name] = body  # the record refers to itself
    if isinstance(body, dict):
        document.update(body)
    if defs and refs:
        document["$defs"] = dict(sorted(defs.items()))
    return document


_FORMATS: Final[dict[type, dict[str, JSON]]] = {
    Money: {"type": "string", "pattern": r"^-?\d+(\.\d+)? [A-Z]{3}$", "examples": ["12.50 CNY"]},
    Fraction: {"type": "string", "pattern": r"^-?\d+/[1-9]\d*$", "examples": ["1/3"]},
    Decimal: {"type": "string", "pattern": r"^-?\d+(\.\d+)?$"},
    dt.datetime: {"type": "string", "format": "date-time"},
    dt.date: {"type": "string", "format": "date"},
    dt.time: {"type": "string", "format": "time"},
    dt.timedelta: {"type": "string", "pattern": r"^-?PT\d+(\.\d{1,6})?S$"},
    uuid.UUID: {"type": "string", "format": "uuid"},
    ZoneInfo: {"type": "string", "examples": ["Asia/Shanghai"]},
}


def _schema(  # noqa: C901, PLR0911, PLR0912 - one case per kind
    kind: Any,  # noqa: ANN401
    defs: dict[str, JSON],
    *,
    refs: bool,
    stack: tuple[type, ...],
) -> JSON:
    if kind is Any or kind is object:
        return {}
    origin = typing.get_origin(kind)
    args = typing.get_args(kind)
    if origin is Literal:
        return {"enum": list(args)}
    if origin in (Union, types.UnionType):
        return {"anyOf": [_schema(arg, defs, refs=refs, stack=stack) for arg in args]}
    if origin is typing.Annotated:
        return _schema(args[0], defs, refs=refs, stack=stack)
    if origin is not None:
        if isinstance(origin, type) and issubclass(origin, collections.abc.Mapping):
            key_type, value_type = args or (Any, Any)
            value_schema = _schema(value_type, defs, refs=refs, stack=stack)
            if _is_str_type(key_type):
                return {"type": "object", "additionalProperties": value_schema}
            key_schema = _schema(key_type, defs, refs=refs, stack=stack)
            pair: dict[str, JSON] = {
                "type": "array",
                "prefixItems": [key_schema, value_schema],
                "minItems": 2,
                "maxItems": 2,
            }
            return {"type": "array", "items": pair}
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):  # noqa: PLR2004
            items = [_schema(arg, defs, refs=refs, stack=stack) for arg in args]
            return {
                "type": "array",
                "prefixItems": items,
                "minItems": len(items),
                "maxItems": len(items),
            }
        item = args[0] if args else Any
        return {"type": "array", "items": _schema(item, defs, refs=refs, stack=stack)}
    if kind is None or kind is type(None):
        return {"type": "null"}
    supertype = getattr(kind, "__supertype__", None)
    if supertype is not None:
        return _schema(supertype, defs, refs=refs, stack=stack)
    if not isinstance(kind, type):
        return {}
    if issubclass(kind, enum.Enum):
        return {"enum": [member.value for member in kind]}
    if kind is bool:
        return {"type": "boolean"}
    if issubclass(kind, int):
        return {"type": "integer"}
    if issubclass(kind, str):
        return {"type": "string"}
    if kind is float:
        return {"type": "number"}
    for base, format_ in _FORMATS.items():
        if issubclass(kind, base):
            return dict(format_)
    own = _own_forms().get(kind)
    if own is not None:
        return dict(own.schema)
    if attrs.has(kind):
        return _record_schema(kind, defs, refs=refs, stack=stack)
    return {}


def _record_schema(
    kind: type, defs: dict[str, JSON], *, refs: bool, stack: tuple[type, ...]
) -> JSON:
    name = _def_name(kind)
    if not refs and f"\0{name}" in defs:  # written in place before: the same body again
        return defs[f"\0{name}"]
    if refs and name in defs:
        return {"$ref": f"#/$defs/{name}"}
    if kind in stack:
        return {"$ref": f"#/$defs/{name}"} if refs else {"type": "object"}
    if refs:
        defs[name] = {}  # reserved: a record inside itself refers to it
    hints = _hints(kind)
    properties: dict[str, JSON] = {}
    required: list[JSON] = []
    for field in _public_fields(kind):
        properties[_alias(field)] = _schema(
            hints.get(field.name, Any), defs, refs=refs, stack=(*stack, kind)
        )
        if field.default is attrs.NOTHING:
            required.append(_alias(field))
    body: dict[str, JSON] = {
        "title": name,
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }
    doc = (kind.__doc__ or "").strip().split("\n", 1)[0]
    if doc:
        body["description"] = doc
    if not refs:
        defs[f"\0{name}"] = body
        return body
    defs[name] = body
    return {"$ref": f"#/$defs/{name}"}


def _def_name(kind: type) -> str:
    """The record's name in ``$defs``: its class name, with its package where two share it."""
    if kind.__name__ in _shared_names():
        return f"{kind.__module__.split('.')[1]}.{kind.__name__}"
    return kind.__name__


@functools.cache
def _shared_names() -> frozenset[str]:
    owners: dict[str, set[type]] = {}
    for value in _namespace().values():
        if isinstance(value, type) and attrs.has(value):
            owners.setdefault(value.__name__, set()).add(value)
    for package in _PACKAGES:
        for name in getattr(importlib.import_module(package), "__all__", ()):
            value = getattr(importlib.import_module(package), name)
            if isinstance(value, type) and attrs.has(value):
                owners.setdefault(value.__name__, set()).add(value)
    return frozenset(name for name, kinds in owners.items() if len(kinds) > 1)

"""What every ledger command shares: its envelope, idempotency payload, key checks and retries.

A command's payload is canonical (:func:`request`): equal commands have equal payloads, so the
idempotency check can compare a stored payload with a new one field by field and name every
field that differs (:func:`conflict`). :func:`retrying` runs a whole unit of work again after a
transient storage failure, which is safe because every command carries its key.
"""

from __future__ import annotations

import functools
import inspect
import json
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from typing import TYPE_CHECKING, Final, Protocol, TypeVar, cast, final

import attrs

from pointkit import limits
from pointkit._validate import check_aware, check_int, check_metadata, check_text, type_name
from pointkit.exceptions import (
    ArgumentTypeError,
    IdempotencyConflictError,
    InvalidArgumentError,
    StorageError,
    TransientStorageError,
)
from pointkit.ledger import _observe
from pointkit.ledger._records import TransactionId


if TYPE_CHECKING:
    from collections.abc import Mapping

    from pointkit.ledger._booking import Booking
    from pointkit.ledger._records import ExpiryExtension, Transaction, TransactionKind
    from pointkit.ledger._storage import Plan


__all__ = [
    "NOTHING_TO_TRACK",
    "RESERVED_KEY_PREFIX",
    "Envelope",
    "KeyTaken",
    "Request",
    "canon",
    "check_amount",
    "check_id",
    "check_key",
    "check_optional_time",
    "check_reason",
    "check_unreserved",
    "conflict",
    "request",
    "retrying",
    "sent",
    "with_context",
]

# What json.dumps(text, ensure_ascii=False) writes a str with.
_encode_text: Final = json.encoder.encode_basestring

RESERVED_KEY_PREFIX: Final = "pointkit:"
"""Keys the ledger records under by itself (expiry runs); hosts may not use them."""

Request = tuple[tuple[str, str], ...]
"""A command's canonical payload: sorted ``(field, JSON text)`` pairs, the command first."""
_T = TypeVar("_T")


@final
@attrs.frozen
class Envelope:
    """What every command carries besides its own arguments, checked once.

    The key, the reason and the metadata, and the command's canonical payload, which the
    idempotency check compares field by field.
    """

    key: str
    request: Request
    reason: str | None
    metadata: tuple[tuple[str, str], ...]

    @classmethod
    def of(
        cls, command: str, *, key: object, reason: object, metadata: object, **fields: object
    ) -> Envelope:
        checked_key = check_key(key)
        note = check_reason(reason)
        extra = () if metadata is None else check_metadata("metadata", metadata or {})
        payload = request(command, reason=note, metadata=extra, **fields)
        return cls(checked_key, payload, note, extra)

    def finish(
        self,
        booking: Booking,
        *,
        kind: TransactionKind,
        amount: int,
        hold: TransactionId | None = None,
        hold_expires_at: datetime | None = None,
        reverses: TransactionId | None = None,
        expiry_extensions: tuple[ExpiryExtension, ...] = (),
    ) -> Plan:
        """Seal *booking* into this command's plan."""
        return booking.finish(
            kind=kind,
            amount=amount,
            request=self.request,
            reason=self.reason,
            metadata=self.metadata,
            hold=hold,
            hold_expires_at=hold_expires_at,
            reverses=reverses,
            expiry_extensions=expiry_extensions,
        )


class KeyTaken(Exception):  # noqa: N818 - control flow inside a unit, never escapes
    """A concurrent unit recorded the key while this one waited for its locks."""

    def __init__(self, transaction: Transaction) -> None:
        super().__init__(transaction.key)
        self.transaction = transaction


def canon(value: object) -> str:
    """One canonical JSON text per payload value, so that equal payloads compare equal."""
    # The common payload values first, as json.dumps writes them (a str escaped as with
    # ensure_ascii=False, an int in decimal), without its set-up: every command has several.
    kind = type(value)
    if kind is str or isinstance(value, str):  # a MemberId, a StrEnum: json.dumps encodes
        return _encode_text(cast("str", value))  # every str by its text, as this does
    if kind is int:
        return int.__repr__(value)
    if value is None:
        return "null"
    if value == ():
        return "{}"  # no metadata, as json.dumps writes an empty mapping
    if isinstance(value, datetime | uuid.UUID):
        return json.dumps(value.isoformat() if isinstance(value, datetime) else str(value))
    if isinstance(value, tuple):
        return json.dumps(dict(value), ensure_ascii=False, sort_keys=True)
    return json.dumps(value, ensure_ascii=False)


def request(command: str, **fields: object) -> Request:
    # canon's commonest cases (no value, text, a plain int) without a call: every command
    # has several fields, most of them absent. The same texts as canon's.
    pairs = [
        (
            name,
            "null"
            if value is None
            else _encode_text(value)
            if isinstance(value, str)
            else int.__repr__(value)
            if type(value) is int
            else canon(value),
        )
        for name, value in fields.items()
    ]
    pairs.sort()
    return (("command", command), *pairs)


def check_key(key: object, *, name: str = "key") -> str:
    """Return a host's idempotency key (or the id that serves as one, named *name*), checked."""
    checked = check_text(
        name,
        key,
        max_length=limits.IDEMPOTENCY_KEY_LENGTH_MAX,
        limit_name="IDEMPOTENCY_KEY_LENGTH_MAX",
    )
    return check_unreserved(name, checked)


def check_unreserved(name: str, value: str) -> str:
    """Refuse a host-supplied key or id in the ``pointkit:`` namespace, naming the argument.

    Everything pointkit records by itself (expiry runs, awards, redemptions, draws,
    conversions) lives under that prefix, so no host id can reach, replay or block it.
    """
    if value.startswith(RESERVED_KEY_PREFIX):
        raise InvalidArgumentError(
            f"{name}={value!r} starts with {RESERVED_KEY_PREFIX!r}, which pointkit reserves "
            "for the keys and ids it records by itself"
        )
    return value


def check_amount(name: str, value: object) -> int:
    return check_int(name, value, minimum=1, maximum=limits.POINTS_MAX, limit_name="POINTS_MAX")


def check_reason(value: object) -> str | None:
    if value is None:
        return None
    return check_text(
        "reason", value, max_length=limits.REASON_LENGTH_MAX, limit_name="REASON_LENGTH_MAX"
    )


def conflict(
    key: str,
    stored: Mapping[str, str],
    given: Mapping[str, str],
    hints: Mapping[str, str] | None = None,
) -> IdempotencyConflictError:
    """The error for a key reused with another payload, naming each field that differs.

    *hints* says what to do when a field is the only one that differs (by field name).
    """
    differences = [
        (field, stored.get(field, "(absent)"), given.get(field, "(absent)"))
        for field in sorted(
            stored.keys() | given.keys(), key=lambda name: (name != "command", name)
        )
        if stored.get(field) != given.get(field)
    ]
    hint = ""
    if hints and len(differences) == 1:
        hint = hints.get(differences[0][0], "")
    return IdempotencyConflictError(key, differences, hint)


def check_optional_time(name: str, value: object) -> datetime | None:
    return None if value is None else check_aware(name, value)


def check_id(name: str, value: object) -> TransactionId:
    if isinstance(value, uuid.UUID):
        return TransactionId(value)
    if isinstance(value, str):
        try:
            return TransactionId(uuid.UUID(value))
        except ValueError:
            raise InvalidArgumentError(f"{name}={value!r} is not a transaction id") from None
    raise ArgumentTypeError(f"{name}={value!r} must be a UUID or str, not {type_name(value)}")


_BACKOFF_SECONDS: Final = 0.002
_BACKOFF_MAX_SECONDS: Final = 0.25


def retrying(
    attempt: Callable[[], _T], request: Request, key: str, *, program: str | None = None
) -> _T:
    """Run *attempt*, a whole unit of work, again after a transient storage failure.

    A bounded number of times, with a growing pause. Storage errors that escape name the
    command and the key they interrupted. Inside a ledger command (``sent``) the retries are
    that command's; otherwise (a feature's command, a linked block, an expiry batch) this is
    where the command is observed, named by its request, on *program* (or the one its link
    names).
    """
    if not _observe.watching():
        return _retry(attempt, request, key, None)
    scope = _observe.claim()
    if scope is not None:
        return _retry(attempt, request, key, scope)
    # Its retries are its own: a retrying inside it (a ledger command's) is another command.
    member = _requested_member(request)
    scope = _observe.begin(request[0][1], key, program, member, linked=False, claimed=True)
    try:
        result = _retry(attempt, request, key, scope)
    except BaseException as error:
        scope.end(error=error)
        raise
    scope.end(result)
    return result


def _requested_member(request: Request) -> str | None:
    """The member a request names (its ``member`` field), if any."""
    for field, text in request:
        if field == "member":
            value = json.loads(text)
            return value if isinstance(value, str) else None
    return None


def _retry(
    attempt: Callable[[], _T], request: Request, key: str, scope: _observe.CommandScope | None
) -> _T:
    for tries in range(limits.STORAGE_RETRIES_MAX + 1):
        try:
            return attempt()
        except TransientStorageError as error:
            if tries == limits.STORAGE_RETRIES_MAX:
                raise with_context(error, request, key) from error
            pause = min(_BACKOFF_SECONDS * 2**tries, _BACKOFF_MAX_SECONDS)
            if scope is not None:
                scope.retried(error, pause)
            time.sleep(pause)
        except StorageError as error:
            raise with_context(error, request, key) from error
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def with_context(error: StorageError, request: Request, key: str) -> StorageError:
    """The same storage error, naming the command and key it interrupted."""
    if error.command is not None:
        return error
    return type(error)(error.detail, command=request[0][1], key=key)


class _Sender(Protocol):
    """What a command is a method of: something that says where commands are sent, for whom."""

    @property
    def _program(self) -> str: ...

    def _sending(self, command: str, key: object) -> AbstractContextManager[None]: ...


NOTHING_TO_TRACK: AbstractContextManager[None] = nullcontext()
"""What a command is sent in outside a link: nothing (``nullcontext`` is reusable)."""

_Method = TypeVar("_Method", bound=Callable[..., "Transaction"])


def sent(command: str) -> Callable[[_Method], _Method]:
    """Mark a public command: where it runs may track it from its first check to its write.

    Every ledger command passes here, alone or linked: it is observed from its first check
    (see :mod:`pointkit.ledger._observe`), naming the member its first argument names.
    """

    def wrap(method: _Method) -> _Method:
        member_name, member_at = _member_parameter(method)

        @functools.wraps(method)
        def send(self: _Sender, *args: object, **kwargs: object) -> Transaction:
            key = kwargs.get("key")
            tracker = self._sending(command, key)
            if not _observe.watching():
                with tracker:
                    return method(self, *args, **kwargs)
            member = args[member_at] if member_at < len(args) else kwargs.get(member_name)
            scope = _observe.begin(
                command, key, self._program, member, linked=tracker is not NOTHING_TO_TRACK
            )
            try:
                with tracker:
                    result = method(self, *args, **kwargs)
            except BaseException as error:
                scope.end(error=error)
                raise
            scope.end(result)
            return result

        return send  # type: ignore[return-value]  # the same signature, by functools.wraps

    return wrap


def _member_parameter(method: Callable[..., object]) -> tuple[str, int]:
    """The name and position (after ``self``) of the member a command names first, if any."""
    parameters = list(inspect.signature(method).parameters)[1:]
    for name in ("member", "sender"):
        if name in parameters:
            return name, parameters.index(name)
    return "", len(parameters)  # no member: the position is past every argument

"""What pointkit tells about its work: one record per command, one per storage unit of work.

Maintainer's notes
------------------
Every command passes one of two doors, both in :mod:`pointkit.ledger._envelope`: ``sent``, which
every ledger command goes through (alone or in a link), and ``retrying``, which runs every unit
of work that may be run again (a ledger command's, a feature's, a linked block's, an expiry
batch's). Whichever door a command meets first opens its :class:`CommandScope`; a ``retrying``
inside a ``sent`` joins the scope the ``sent`` opened and counts its retries there. A command
sent on a link is a command of its own, with ``linked`` set and the block or feature command
that opened the link as its ``parent``. So features, ``Program`` and linked blocks are observed
by the same two doors, and no command is observed twice.

The adapters wrap their ``reading`` and ``writing`` with :func:`unit_of_work`, which times each
unit of work and tells whether it committed.

Who listens: pointkit's loggers (``pointkit.ledger`` for commands, ``pointkit.storage`` for units
of work) and at most one :class:`Hooks` (OpenTelemetry's, from :mod:`pointkit.ledger._otel`, when
the host enables it). When no logger would take any command record and no hooks are set, a
command costs an ``isEnabledFor`` check where it starts and nothing is timed; units of work
likewise, checked at DEBUG. Python's default configuration takes ERROR records, so there each
command is timed: a scope is a plain object with few attributes set, for that reason.

Records hold no member id (a hash, keyed if the host sets a key), no error message (messages
name members and amounts) and nothing secret: the fields are the command, its key, the
program, the member's hash, the outcome with the error's code, the duration and the retries.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import time
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Final, Generic, Literal, Protocol, TypeVar, final

from pointkit import limits
from pointkit._validate import type_name
from pointkit.exceptions import (
    ArgumentTypeError,
    InvalidArgumentError,
    InvariantViolation,
    PointkitError,
    StorageError,
)


if TYPE_CHECKING:
    from collections.abc import Callable
    from contextlib import AbstractContextManager
    from types import TracebackType


__all__ = [
    "COMMAND_LOG",
    "MEMBER_HASH_KEY_MIN",
    "STORAGE_LOG",
    "CommandScope",
    "Hooks",
    "Outcome",
    "UnitScope",
    "begin",
    "claim",
    "current",
    "error_code",
    "member_hash",
    "note_member",
    "note_program",
    "set_hooks",
    "set_member_hash_key",
    "unit_of_work",
    "watching",
]

COMMAND_LOG: Final = logging.getLogger("pointkit.ledger")
"""One record per command: DEBUG ok or replayed, INFO refused, WARNING a retry, ERROR failed."""
STORAGE_LOG: Final = logging.getLogger("pointkit.storage")
"""One DEBUG record per storage unit of work."""
# A library adds no handler of its own but this one: without it, Python's last-resort handler
# would print pointkit's warnings and errors on stderr in a host that configured no logging.
logging.getLogger("pointkit").addHandler(logging.NullHandler())

MEMBER_HASH_KEY_MIN: Final = 16
"""The fewest bytes a member hash key may have."""
_HASH_HEX_DIGITS: Final = 16  # 64 bits: enough to tell members apart in logs, not to look them up

Outcome = Literal["ok", "replayed", "refused", "failed"]
_LEVELS: Final[dict[str, int]] = {
    "ok": logging.DEBUG,
    "replayed": logging.DEBUG,
    "refused": logging.INFO,
    "failed": logging.ERROR,
}
_Unit = TypeVar("_Unit")
_Adapter = TypeVar("_Adapter")
_Program = TypeVar("_Program")


class Hooks(Protocol):
    """What an observer above the logs is told: commands and units of work as they run.

    Each method is called on the thread that runs the command, in order: a command's start,
    its retries, the units of work it opens (started and ended), its end. An observer keeps
    what it needs between the calls in the scope's ``handle``.
    """

    def command_started(self, scope: CommandScope) -> None:
        """A command began (its arguments are not checked yet)."""

    def command_retried(self, scope: CommandScope, error: BaseException, pause: float) -> None:
        """The command's unit of work failed transiently; it runs again after *pause* seconds."""

    def command_ended(self, scope: CommandScope) -> None:
        """The command ended: ``scope.outcome`` says how."""

    def unit_started(self, scope: UnitScope) -> None:
        """A storage unit of work is about to begin."""

    def unit_ended(self, scope: UnitScope) -> None:
        """The unit of work ended: committed, or rolled back with ``scope.error``."""


@final
class _State:
    """Who listens, and the member hash key: set by the host through :mod:`pointkit.observe`."""

    __slots__ = ("hash_key", "hooks")

    def __init__(self) -> None:
        self.hooks: Hooks | None = None
        self.hash_key: bytes | None = None


_STATE: Final = _State()
_SCOPE: ContextVar[CommandScope | None] = ContextVar("pointkit_command", default=None)


def set_hooks(given: Hooks | None) -> None:
    """Have *given* told about every command and unit of work from now on (``None``: nobody)."""
    _STATE.hooks = given


def set_member_hash_key(key: object) -> None:
    """Hash members with HMAC-SHA-256 under *key* from now on; ``None`` for plain SHA-256.

    An unkeyed hash of a guessable id (an email, a sequential number) can be found by hashing
    guesses; under a key kept outside the logs it cannot. Records are labelled with the hash
    they use (``hmac-sha256:`` or ``sha256:``).

    Args:
        key: At least 16 bytes, e.g. ``secrets.token_bytes(32)``, kept outside the logs.

    Raises:
        ArgumentTypeError: If *key* is not bytes or ``None``.
        InvalidArgumentError: If *key* is shorter than 16 bytes.
    """
    if key is not None and not isinstance(key, bytes):
        raise ArgumentTypeError(
            f"key must be bytes (e.g. secrets.token_bytes(32)) or None, not {type_name(key)}"
        )
    if key is not None and len(key) < MEMBER_HASH_KEY_MIN:
        raise InvalidArgumentError(
            f"key has {len(key)} bytes; it needs at least {MEMBER_HASH_KEY_MIN} "
            "(e.g. secrets.token_bytes(32))"
        )
    _STATE.hash_key = key


def member_hash(member: str) -> str:
    """The label records carry for *member*: ``hmac-sha256:...`` under a key, else ``sha256:...``.

    >>> member_hash("alice")
    'sha256:2bd806c97f0e00af'
    """
    data = member.encode("utf-8", "surrogatepass")
    key = _STATE.hash_key
    if key is None:
        return f"sha256:{hashlib.sha256(data).hexdigest()[:_HASH_HEX_DIGITS]}"
    return f"hmac-sha256:{hmac.new(key, data, hashlib.sha256).hexdigest()[:_HASH_HEX_DIGITS]}"


def watching() -> bool:
    """Whether commands are observed: hooks are set, or a command record could be logged."""
    return _STATE.hooks is not None or COMMAND_LOG.isEnabledFor(logging.ERROR)


def error_code(error: BaseException) -> str | None:
    """The stable code of a pointkit error (``"insufficient_points"``); ``None`` for others."""
    if isinstance(error, PointkitError | InvariantViolation):
        return error.code
    return None


def _shown_key(key: object, member: str | None) -> str | None:
    """The key as records show it: a ``:``-separated part that is the member's id is hashed."""
    if not isinstance(key, str):
        return None
    shown = key[: limits.IDEMPOTENCY_KEY_LENGTH_MAX]
    if member and member in shown.split(":"):
        label = member_hash(member)
        shown = ":".join(label if part == member else part for part in shown.split(":"))
    return shown


@final
class CommandScope:
    """One command as it runs: what it is, when it began, how often it retried, how it ended.

    Attributes:
        command: The command's name (``"earn"``, ``"redeem_offer"``, ``"linked"``, ...).
        key: Its idempotency key as given (not necessarily a str before it is checked).
        program: The program it runs on, once known.
        member: The first member it names, once known (hash it before it leaves the process).
        linked: Whether it runs in a link's unit of work.
        parent: The command it runs in, if any (a linked block, a feature's command).
        retries: How many times its unit of work ran again after a transient failure.
        outcome: How it ended, once it has.
        error: What it raised, if it did.
        handle: Whatever the hooks keep for it (a span).
    """

    # No __slots__: what most commands never change is read from the class, so that opening a
    # scope, on every command, sets only what it must (see "What it costs" in the docs).
    retries: int = 0
    outcome: Outcome | None = None
    error: BaseException | None = None
    handle: object = None
    ended_ns: int | None = None

    def __init__(
        self,
        command: str,
        key: object,
        program: str | None,
        member: str | None,
        linked: bool,  # noqa: FBT001 - positional: this runs on every command
        claimed: bool,  # noqa: FBT001
    ) -> None:
        self.parent = parent = _SCOPE.get()
        self.command = command
        self.key = key
        self.program = program
        self.member = member
        self.linked = linked
        self.claimed = claimed
        self.hooks = hooks = _STATE.hooks
        self.started_ns = time.perf_counter_ns()
        self._token = _SCOPE.set(self)
        if member is not None and parent is not None:
            _learn_member(parent, member)
        if hooks is not None:
            hooks.command_started(self)

    @property
    def duration_seconds(self) -> float:
        """Seconds from the start to the end (or to now, while it runs)."""
        end = time.perf_counter_ns() if self.ended_ns is None else self.ended_ns
        return (end - self.started_ns) / 1e9

    @property
    def shown_key(self) -> str | None:
        """The key as records show it (at most ``limits.IDEMPOTENCY_KEY_LENGTH_MAX`` characters)."""
        return _shown_key(self.key, self.member)

    @property
    def member_hash(self) -> str | None:
        """The member's hash, or ``None`` while no member is known."""
        return None if self.member is None else member_hash(self.member)

    @property
    def error_code(self) -> str | None:
        """The error's stable code, for a pointkit error."""
        return None if self.error is None else error_code(self.error)

    def fields(self) -> dict[str, Any]:
        """The record's fields."""
        return {
            "command": self.command,
            "key": self.shown_key,
            "program": self.program,
            "member_hash": self.member_hash,
            "outcome": self.outcome,
            "error_code": self.error_code,
            "error_type": None if self.error is None else type(self.error).__name__,
            "duration_ms": round(self.duration_seconds * 1000, 3),
            "retries": self.retries,
            "linked": self.linked,
        }

    def retried(self, error: BaseException, pause: float) -> None:
        """Count a retry after *error*, before a pause of *pause* seconds; log it at WARNING."""
        self.retries += 1
        if COMMAND_LOG.isEnabledFor(logging.WARNING):
            fields = self.fields()
            fields.update(
                outcome="retrying",
                error_code=error_code(error),
                error_type=type(error).__name__,
                pause_ms=round(pause * 1000, 3),
            )
            COMMAND_LOG.warning(
                "%s retrying after a transient storage failure [%s]: retry %d of at most %d "
                "in %.3f ms (key=%r, program=%r, member=%s)",
                self.command,
                fields["error_code"],
                self.retries,
                limits.STORAGE_RETRIES_MAX,
                fields["pause_ms"],
                fields["key"],
                self.program,
                fields["member_hash"],
                extra=fields,
            )
        if self.hooks is not None:
            self.hooks.command_retried(self, error, pause)

    def end(self, result: object = None, error: BaseException | None = None) -> None:
        """End the command with *result*, or with *error*; log it at its outcome's level."""
        self.ended_ns = time.perf_counter_ns()
        try:
            if error is None:
                self.outcome = "replayed" if getattr(result, "replayed", False) is True else "ok"
            else:
                self.error = error
                refused = isinstance(error, PointkitError) and not isinstance(error, StorageError)
                self.outcome = "refused" if refused else "failed"
            level = _LEVELS[self.outcome]
            if COMMAND_LOG.isEnabledFor(level):
                fields = self.fields()
                COMMAND_LOG.log(
                    level,
                    "%s %s%s in %.3f ms, %d retries (key=%r, program=%r, member=%s)",
                    self.command,
                    self.outcome,
                    "" if error is None else f" [{fields['error_code'] or fields['error_type']}]",
                    fields["duration_ms"],
                    self.retries,
                    fields["key"],
                    self.program,
                    fields["member_hash"],
                    extra=fields,
                )
            if self.hooks is not None:
                self.hooks.command_ended(self)
        finally:
            _SCOPE.reset(self._token)


def begin(
    command: str,
    key: object,
    program: str | None,
    member: object,
    *,
    linked: bool,
    claimed: bool = False,
) -> CommandScope:
    """Open a command's scope (call :func:`watching` first): it is current until it ends.

    A scope that is not *claimed* is joined by the first ``retrying`` inside it (see
    :func:`claim`).
    """
    return CommandScope(
        command,
        key,
        None if program is None else str(program),
        member if isinstance(member, str) else None,
        linked,
        claimed,
    )


def current() -> CommandScope | None:
    """The scope of the command running in this context, if any."""
    return _SCOPE.get()


def claim() -> CommandScope | None:
    """Join the current command's scope if nobody retries it yet; else ``None`` (open your own).

    ``retrying`` calls it: inside a ledger command's ``sent``, the retries are that command's,
    and its name, key, program and member are the ones the host sent.
    """
    scope = _SCOPE.get()
    if scope is None or scope.claimed:
        return None
    scope.claimed = True
    return scope


def note_program(program: str) -> None:
    """Tell the current command which program it runs on, if it does not know yet."""
    scope = _SCOPE.get()
    if scope is not None and scope.program is None:
        scope.program = str(program)


def note_member(member: str) -> None:
    """Tell the current command (and those it runs in) the member it books on, if none yet."""
    _learn_member(_SCOPE.get(), member)


def _learn_member(scope: CommandScope | None, member: str) -> None:
    while scope is not None and scope.member is None:
        scope.member = str(member)
        scope = scope.parent


@final
class UnitScope:
    """One storage unit of work as it runs.

    Attributes:
        adapter: The adapter (``"memory"``, ``"sqlite"``, ``"postgres"``).
        mode: ``"read"`` or ``"write"``.
        program: The program it reads or writes.
        command: The command it serves, if any.
        outcome: ``"commit"`` or ``"rollback"``, once it ended.
        error: What ended it, for a rollback.
        handle: Whatever the hooks keep for it (a span).
    """

    __slots__ = (
        "adapter",
        "command",
        "ended_ns",
        "error",
        "handle",
        "hooks",
        "mode",
        "outcome",
        "program",
        "started_ns",
    )

    def __init__(
        self,
        adapter: str,
        mode: Literal["read", "write"],
        program: str,
        command: CommandScope | None,
    ) -> None:
        self.adapter = adapter
        self.mode = mode
        self.program = program
        self.command = command
        self.outcome: Literal["commit", "rollback"] | None = None
        self.error: BaseException | None = None
        self.handle: object = None
        self.hooks = _STATE.hooks
        self.started_ns = time.perf_counter_ns()
        self.ended_ns: int | None = None

    @property
    def duration_seconds(self) -> float:
        """Seconds from the start to the end (or to now, while it runs)."""
        end = time.perf_counter_ns() if self.ended_ns is None else self.ended_ns
        return (end - self.started_ns) / 1e9

    def end(self, error: BaseException | None) -> None:
        """End the unit: committed without *error*, rolled back with it; log it at DEBUG."""
        self.ended_ns = time.perf_counter_ns()
        self.outcome = "commit" if error is None else "rollback"
        self.error = error
        if STORAGE_LOG.isEnabledFor(logging.DEBUG):
            command = self.command
            fields = {
                "adapter": self.adapter,
                "mode": self.mode,
                "program": self.program,
                "outcome": self.outcome,
                "error_code": None if error is None else error_code(error),
                "error_type": None if error is None else type(error).__name__,
                "duration_ms": round(self.duration_seconds * 1000, 3),
                "command": None if command is None else command.command,
                "key": None if command is None else command.shown_key,
                "member_hash": None if command is None else command.member_hash,
            }
            STORAGE_LOG.debug(
                "%s %s unit %s in %.3f ms (program=%r, command=%s)",
                self.adapter,
                self.mode,
                self.outcome,
                fields["duration_ms"],
                self.program,
                fields["command"],
                extra=fields,
            )
        if self.hooks is not None:
            self.hooks.unit_ended(self)


@final
class _Watched(Generic[_Unit]):
    """An adapter's unit of work, timed: a context manager around the adapter's own."""

    __slots__ = ("_scope", "_units")

    def __init__(self, units: AbstractContextManager[_Unit], scope: UnitScope) -> None:
        self._units = units
        self._scope = scope

    def __enter__(self) -> _Unit:
        scope = self._scope
        if scope.hooks is not None:
            scope.hooks.unit_started(scope)
        try:
            return self._units.__enter__()
        except BaseException as error:
            scope.end(error)
            raise

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool | None:
        try:
            swallowed = self._units.__exit__(kind, error, traceback)
        except BaseException as raised:
            self._scope.end(raised)
            raise
        self._scope.end(None if swallowed else error)
        return swallowed


def unit_of_work(
    adapter: str, mode: Literal["read", "write"]
) -> Callable[
    [Callable[[_Adapter, _Program], AbstractContextManager[_Unit]]],
    Callable[[_Adapter, _Program], AbstractContextManager[_Unit]],
]:
    """Time an adapter's ``reading`` or ``writing`` when someone listens (else pass it through)."""

    def wrap(
        method: Callable[[_Adapter, _Program], AbstractContextManager[_Unit]],
    ) -> Callable[[_Adapter, _Program], AbstractContextManager[_Unit]]:
        @functools.wraps(method)
        def opened(self: _Adapter, program: _Program) -> AbstractContextManager[_Unit]:
            units = method(self, program)
            if _STATE.hooks is None and not STORAGE_LOG.isEnabledFor(logging.DEBUG):
                return units
            return _Watched(units, UnitScope(adapter, mode, str(program), _SCOPE.get()))

        return opened

    return wrap

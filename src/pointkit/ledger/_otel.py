"""OpenTelemetry's hooks: a span per command and per storage unit of work, and four metrics.

Imported only when the host calls :func:`pointkit.observe.enable_opentelemetry`, so pointkit
imports and runs without ``opentelemetry-api`` installed. Spans carry what the logs carry (the
command, its key, the program, the member's hash, the outcome, the error's code, the retries),
never an error's message: an exception is recorded with its type, its code and its stack, whose
lines are pointkit's source, not the values it ran on.
"""

from __future__ import annotations

import traceback
from importlib.metadata import version
from typing import TYPE_CHECKING, Final, final

from opentelemetry import context, metrics, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from pointkit.exceptions import InvariantViolation, StorageError
from pointkit.ledger._observe import CommandScope, UnitScope, error_code


if TYPE_CHECKING:
    from contextvars import Token

    from opentelemetry.context import Context
    from opentelemetry.metrics import MeterProvider
    from opentelemetry.trace import Span, TracerProvider
    from opentelemetry.util.types import AttributeValue


__all__ = ["DURATION_BUCKETS_SECONDS", "OpenTelemetryHooks"]

DURATION_BUCKETS_SECONDS: Final = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
"""Histogram buckets for durations in seconds: from 0.1 ms (in memory) to 10 s (a busy database)."""


@final
class _Open:
    """A span started for a scope, and the token that made it current."""

    __slots__ = ("span", "token")

    def __init__(self, span: Span, token: Token[Context]) -> None:
        self.span = span
        self.token = token

    def close(self) -> None:
        self.span.end()
        context.detach(self.token)


def _error_name(error: BaseException) -> str:
    return error_code(error) or type(error).__qualname__


def _record(span: Span, error: BaseException) -> None:
    """Record *error* on *span* without its message (which may name a member)."""
    name = _error_name(error)
    stack = "".join(traceback.format_tb(error.__traceback__))
    kind = f"{type(error).__module__}.{type(error).__qualname__}"
    span.record_exception(
        error,
        attributes={
            "exception.message": name,
            "exception.stacktrace": f"Traceback (most recent call last):\n{stack}{kind} [{name}]",
        },
        escaped=True,
    )


@final
class OpenTelemetryHooks:
    """Spans and metrics for pointkit's commands and units of work.

    Args:
        tracer_provider: Where spans go; the global provider if ``None``.
        meter_provider: Where metrics go; the global provider if ``None``.
    """

    def __init__(
        self,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
    ) -> None:
        release = version("pointkit")
        self._tracer = trace.get_tracer("pointkit", release, tracer_provider=tracer_provider)
        meter = metrics.get_meter("pointkit", release, meter_provider=meter_provider)
        self._commands = meter.create_counter(
            "pointkit.commands",
            unit="{command}",
            description="Commands run, by command, outcome and error code",
        )
        self._durations = meter.create_histogram(
            "pointkit.command.duration",
            unit="s",
            description="How long commands took, retries included",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS_SECONDS,
        )
        self._retries = meter.create_counter(
            "pointkit.command.retries",
            unit="{retry}",
            description="Units of work run again after a transient storage failure",
        )
        self._units = meter.create_histogram(
            "pointkit.storage.duration",
            unit="s",
            description="How long storage units of work took, by adapter, mode and outcome",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS_SECONDS,
        )

    def _start(self, name: str, attributes: dict[str, AttributeValue]) -> _Open:
        span = self._tracer.start_span(name, kind=SpanKind.INTERNAL, attributes=attributes)
        return _Open(span, context.attach(trace.set_span_in_context(span)))

    def command_started(self, scope: CommandScope) -> None:
        """Start the command's span and make it current, so its units of work are children."""
        attributes: dict[str, AttributeValue] = {
            "pointkit.command": scope.command,
            "pointkit.linked": scope.linked,
        }
        if scope.program is not None:
            attributes["pointkit.program"] = scope.program
        scope.handle = self._start(f"pointkit.{scope.command}", attributes)

    def command_retried(self, scope: CommandScope, error: BaseException, pause: float) -> None:
        """Add a retry event to the span and count the retry."""
        name = _error_name(error)
        if isinstance(scope.handle, _Open):
            scope.handle.span.add_event(
                "pointkit.retry",
                {"pointkit.retry": scope.retries, "error.type": name, "pointkit.pause_s": pause},
            )
        self._retries.add(1, {"pointkit.command": scope.command, "error.type": name})

    def command_ended(self, scope: CommandScope) -> None:
        """End the span with the outcome; count the command and record its duration."""
        outcome = scope.outcome or "failed"
        code = scope.error_code
        if isinstance(scope.handle, _Open):
            span = scope.handle.span
            known = {
                "pointkit.key": scope.shown_key,
                "pointkit.program": scope.program,
                "pointkit.member_hash": scope.member_hash,
                "pointkit.error_code": code,
            }
            attributes: dict[str, AttributeValue] = {
                "pointkit.outcome": outcome,
                "pointkit.retries": scope.retries,
                **{name: value for name, value in known.items() if value is not None},
            }
            if scope.error is not None:
                attributes["error.type"] = _error_name(scope.error)
            span.set_attributes(attributes)
            # A refusal is the ledger doing its job (as a 4xx is for a server): the span says
            # why in error.type and keeps an unset status; a failure is an error.
            if outcome == "failed" and scope.error is not None:
                _record(span, scope.error)
                span.set_status(Status(StatusCode.ERROR, _error_name(scope.error)))
            scope.handle.close()
        counted: dict[str, AttributeValue] = {
            "pointkit.command": scope.command,
            "pointkit.outcome": outcome,
            "pointkit.linked": scope.linked,
        }
        if code is not None:
            counted["pointkit.error_code"] = code
        self._commands.add(1, counted)
        self._durations.record(
            scope.duration_seconds, {"pointkit.command": scope.command, "pointkit.outcome": outcome}
        )

    def unit_started(self, scope: UnitScope) -> None:
        """Start the unit's span, a child of its command's."""
        attributes: dict[str, AttributeValue] = {
            "pointkit.storage.adapter": scope.adapter,
            "pointkit.storage.mode": scope.mode,
            "pointkit.program": scope.program,
        }
        system = {"sqlite": "sqlite", "postgres": "postgresql"}.get(scope.adapter)
        if system is not None:
            attributes["db.system.name"] = system
        scope.handle = self._start(f"pointkit.storage.{scope.mode}", attributes)

    def unit_ended(self, scope: UnitScope) -> None:
        """End the unit's span with whether it committed; record its duration."""
        outcome = scope.outcome or "rollback"
        if isinstance(scope.handle, _Open):
            span = scope.handle.span
            span.set_attribute("pointkit.storage.outcome", outcome)
            error = scope.error
            if error is not None:
                span.set_attribute("error.type", _error_name(error))
                # A rollback for a refusal is the unit doing its job; a storage failure is not.
                if isinstance(error, StorageError | InvariantViolation):
                    _record(span, error)
                    span.set_status(Status(StatusCode.ERROR, _error_name(error)))
            scope.handle.close()
        self._units.record(
            scope.duration_seconds,
            {
                "pointkit.storage.adapter": scope.adapter,
                "pointkit.storage.mode": scope.mode,
                "pointkit.storage.outcome": outcome,
            },
        )

"""Observability: pointkit's logs, and OpenTelemetry spans and metrics when the host asks.

pointkit logs through the standard library, one record per command on ``pointkit.ledger``
(DEBUG when it succeeds or replays, INFO when the ledger refuses it, WARNING for each retry after
a transient storage failure, ERROR when it fails) and one DEBUG record per storage unit of work
on ``pointkit.storage``. Each record carries its fields in ``extra``: the command, its key, the
program, the member's hash (never the member's id), the outcome with the error's code, the
duration in milliseconds and the retries. See docs/observability.md.

>>> from pointkit.observe import member_hash, set_member_hash_key
>>> member_hash("alice")
'sha256:2bd806c97f0e00af'
>>> set_member_hash_key(b"a secret of 16 bytes or more")
>>> member_hash("alice")
'hmac-sha256:...'
>>> set_member_hash_key(None)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pointkit.ledger._observe import member_hash, set_hooks, set_member_hash_key


if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider
    from opentelemetry.trace import TracerProvider


__all__ = [
    "disable_opentelemetry",
    "enable_opentelemetry",
    "member_hash",
    "set_member_hash_key",
]


def enable_opentelemetry(
    *,
    tracer_provider: TracerProvider | None = None,
    meter_provider: MeterProvider | None = None,
) -> None:
    """Emit a span per command and per storage unit of work, and pointkit's metrics.

    Spans are named ``pointkit.<command>`` (``pointkit.earn``, ``pointkit.redeem_offer``) and
    ``pointkit.storage.read`` or ``pointkit.storage.write``; the metrics are
    ``pointkit.commands``, ``pointkit.command.duration``, ``pointkit.command.retries`` and
    ``pointkit.storage.duration``. Calling it again replaces the providers.

    Args:
        tracer_provider: Where spans go; OpenTelemetry's global provider if omitted.
        meter_provider: Where metrics go; OpenTelemetry's global provider if omitted.

    Raises:
        ImportError: If ``opentelemetry-api`` is not installed (``pip install 'pointkit[otel]'``).
    """
    try:
        from pointkit.ledger._otel import OpenTelemetryHooks  # noqa: PLC0415 - only when asked
    except ImportError as error:
        raise ImportError(
            "enable_opentelemetry() needs opentelemetry-api: pip install 'pointkit[otel]'"
        ) from error
    set_hooks(OpenTelemetryHooks(tracer_provider=tracer_provider, meter_provider=meter_provider))


def disable_opentelemetry() -> None:
    """Stop emitting spans and metrics (commands already running finish theirs)."""
    set_hooks(None)

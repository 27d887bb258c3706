"""Every named limit in pointkit.

Anything that can grow has a bound here, so that every loop over user data is bounded and every
value fits the columns a host database gives it. Units come last in the names
(``HOLD_TIMEOUT_SECONDS_MAX``). Going over a limit raises
:class:`~pointkit.exceptions.LimitExceededError`, which names the limit.

>>> from pointkit import limits
>>> limits.POINTS_MAX == 2**63 - 1
True
"""

from typing import Final


__all__ = [
    "BATCH_MAX",
    "CURRENCIES_MAX",
    "CURRENCY_CODE_LENGTH_MAX",
    "CURRENCY_DECIMALS_MAX",
    "EXPIRY_BATCH_MAX",
    "EXPIRY_LOTS_PER_UNIT",
    "HOLD_TIMEOUT_SECONDS_MAX",
    "IDEMPOTENCY_KEY_LENGTH_MAX",
    "LOTS_PER_COMMAND_MAX",
    "MEMBER_ID_LENGTH_MAX",
    "METADATA_ENTRIES_MAX",
    "METADATA_KEY_LENGTH_MAX",
    "METADATA_VALUE_LENGTH_MAX",
    "MONEY_DIGITS_MAX",
    "POINTS_MAX",
    "PROGRAM_ID_LENGTH_MAX",
    "REASON_LENGTH_MAX",
    "STATEMENT_LINES_MAX",
    "STORAGE_RETRIES_MAX",
]

POINTS_MAX: Final = 2**63 - 1
"""The largest amount of points, in a currency's smallest unit: a host's BIGINT holds it."""

MONEY_DIGITS_MAX: Final = 28
"""The most significant digits a money amount may have (the default decimal context's precision)."""

CURRENCY_DECIMALS_MAX: Final = 8
"""The most decimal places a point or money currency may declare."""

CURRENCY_CODE_LENGTH_MAX: Final = 32
"""The longest point-currency code (``"points"``, ``"tier_credits"``, ``"airline_miles"``)."""

CURRENCIES_MAX: Final = 64
"""The most point currencies one ledger may hold."""

MEMBER_ID_LENGTH_MAX: Final = 128
"""The longest member id, in characters."""

PROGRAM_ID_LENGTH_MAX: Final = 64
"""The longest program (tenant) id, in characters."""

IDEMPOTENCY_KEY_LENGTH_MAX: Final = 200
"""The longest idempotency key, in characters."""

REASON_LENGTH_MAX: Final = 500
"""The longest free-text reason on a transaction (adjustments must give one)."""

METADATA_ENTRIES_MAX: Final = 32
"""The most metadata entries one transaction may carry."""

METADATA_KEY_LENGTH_MAX: Final = 64
"""The longest metadata key, in characters."""

METADATA_VALUE_LENGTH_MAX: Final = 512
"""The longest metadata value, in characters."""

LOTS_PER_COMMAND_MAX: Final = 10_000
"""The most lots one command may consume, restore or create; a bound on every lot loop."""

HOLD_TIMEOUT_SECONDS_MAX: Final = 90 * 24 * 3600
"""The longest a hold may stay open before it times out: 90 days."""

EXPIRY_BATCH_MAX: Final = 10_000
"""The most holds and lots one call of ``expire_due`` processes."""

STATEMENT_LINES_MAX: Final = 10_000
"""The most lines one statement page may hold."""

STORAGE_RETRIES_MAX: Final = 8
"""The most times a ledger command is retried after a transient storage error (busy database,
deadlock, serialization failure) before the error is raised."""

BATCH_MAX: Final = 1_000
"""The most commands one batch call (``Ledger.earn_many``) may carry."""

EXPIRY_LOTS_PER_UNIT: Final = 500
"""The most lots an expiry run expires in one unit of work (one database transaction)."""

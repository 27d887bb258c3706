"""pointkit's exceptions: one tree, plus one error deliberately outside it.

::

    PointkitError
    ├── InvalidArgumentError (ValueError)       bad input, rejected before anything is read or written
    │   ├── ArgumentTypeError (TypeError)       a float, a bool or a str where an int is meant, ...
    │   ├── NaiveDatetimeError                  a datetime without a time zone
    │   ├── LimitExceededError                  a value over a named limit in pointkit.limits
    │   ├── ConfigurationError                  a policy or ladder with problems, all listed
    │   ├── FairnessError                       a provably fair draw does not match its revealed seed
    │   └── UnknownCurrencyError (LookupError)  a currency the ledger does not hold
    ├── LedgerError                             a well-formed command that the ledger's state refuses
    │   ├── IdempotencyConflictError            a key reused with a different payload
    │   ├── InsufficientPointsError             fewer available points than the command needs
    │   ├── DebtLimitExceededError              a clawback would take a member past the debt limit
    │   ├── PointsOverflowError (OverflowError) a balance would pass limits.POINTS_MAX
    │   ├── HoldNotFoundError (LookupError)
    │   ├── HoldAlreadyCapturedError            a second capture
    │   │   └── CapturedHoldReleaseError        a release after a capture
    │   ├── HoldAlreadyReleasedError            a second release
    │   │   └── ReleasedHoldCaptureError        a capture after a release
    │   ├── HoldExpiredError                    the hold timed out (swept or not)
    │   ├── CaptureExceedsHoldError
    │   ├── TransactionNotFoundError (LookupError)
    │   ├── NotReversibleError
    │   ├── AlreadyReversedError
    │   ├── ReversalExceedsOriginalError
    │   ├── LinkedCommandError                  a linked command was refused, so the whole link is
    │   ├── OfferUnavailableError               not started, ended, sold out, a member limit, a tier or segment gate
    │   ├── RedemptionNotFoundError (LookupError)
    │   ├── DrawRefusedError                    outside the lottery's window, its daily limit, minors
    │   ├── DrawNotFoundError (LookupError)
    │   ├── ConversionRefusedError              disabled, or over the member's per-period maximum
    │   ├── TransferRefusedError                a transfer the program's transfer policy does not allow
    │   ├── CouponRefusedError                  a coupon that cannot be issued or used now (used up, ...)
    │   ├── CouponNotFoundError (LookupError)   no coupon has that code
    │   ├── ReferralRefusedError                self-referral, a second reward, over a referrer's cap
    │   ├── GroupBuyRefusedError                a group that is full, closed, timed out, joined twice
    │   ├── GroupBuyNotFoundError (LookupError)
    │   ├── MemberFrozenError                   the member is frozen: earns and spends nothing
    │   └── ActivityRefusedError                too many events too fast, or a blocklisted value
    └── StorageError                            the storage failed; nothing was committed
        ├── TransientStorageError               a retry may succeed (busy, deadlock, serialization)
        └── SchemaVersionError                  the schema is missing, older or newer than pointkit
    InvariantViolation (AssertionError)         a bug in pointkit or in a storage adapter

Every error has a stable ``code`` (``"insufficient_points"``) that hosts can map to their own API
without parsing messages, and every message names the field, the value and what is valid.

``InvariantViolation`` is not a :class:`PointkitError`, so ``except PointkitError`` in business
code never swallows it: it means the ledger found its own state broken and stopped before writing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar


if TYPE_CHECKING:
    from collections.abc import Sequence


__all__ = [
    "ActivityRefusedError",
    "AlreadyReversedError",
    "ArgumentTypeError",
    "CaptureExceedsHoldError",
    "CapturedHoldReleaseError",
    "ConfigurationError",
    "ConversionRefusedError",
    "CouponNotFoundError",
    "CouponRefusedError",
    "DebtLimitExceededError",
    "DrawNotFoundError",
    "DrawRefusedError",
    "FairnessError",
    "GroupBuyNotFoundError",
    "GroupBuyRefusedError",
    "HoldAlreadyCapturedError",
    "HoldAlreadyReleasedError",
    "HoldExpiredError",
    "HoldNotFoundError",
    "IdempotencyConflictError",
    "InsufficientPointsError",
    "InvalidArgumentError",
    "InvariantViolation",
    "LedgerError",
    "LimitExceededError",
    "LinkedCommandError",
    "MemberFrozenError",
    "NaiveDatetimeError",
    "NotReversibleError",
    "OfferUnavailableError",
    "PointkitError",
    "PointsOverflowError",
    "RedemptionNotFoundError",
    "ReferralRefusedError",
    "ReleasedHoldCaptureError",
    "ReversalExceedsOriginalError",
    "SchemaVersionError",
    "StorageError",
    "TransactionNotFoundError",
    "TransferRefusedError",
    "TransientStorageError",
    "UnknownCurrencyError",
]


class PointkitError(Exception):
    """The base of every error pointkit raises on purpose, except :class:`InvariantViolation`."""

    code: ClassVar[str] = "pointkit_error"


class InvalidArgumentError(PointkitError, ValueError):
    """An argument was rejected at the boundary; nothing was read or written."""

    code: ClassVar[str] = "invalid_argument"


class ArgumentTypeError(InvalidArgumentError, TypeError):
    """An argument had the wrong type: a float for points or money, a bool for an int, ...

    >>> from pointkit import Points
    >>> Points(1.5)
    Traceback (most recent call last):
    ...
    pointkit.exceptions.ArgumentTypeError: points=1.5 must be an int, not float
    """

    code: ClassVar[str] = "argument_type"


class NaiveDatetimeError(InvalidArgumentError):
    """A datetime without a time zone was given where an instant is meant."""

    code: ClassVar[str] = "naive_datetime"


class LimitExceededError(InvalidArgumentError):
    """A value is over one of the named limits in :mod:`pointkit.limits`."""

    code: ClassVar[str] = "limit_exceeded"


class ConfigurationError(InvalidArgumentError):
    """A configuration (an expiry policy, a tier ladder, ...) has problems; all are listed.

    The message has one line per problem, each naming the field, its value and what is valid,
    so an operator fixes everything in one pass.

    Attributes:
        problems: One message per problem, in the order they were found.
    """

    code: ClassVar[str] = "invalid_configuration"

    def __init__(self, subject: str, problems: Sequence[str]) -> None:
        self.subject = subject
        self.problems = tuple(problems)
        count = len(self.problems)
        lines = "".join(f"\n  - {problem}" for problem in self.problems)
        super().__init__(f"{subject} has {count} problem{'s' if count != 1 else ''}:{lines}")

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.subject, self.problems))


class FairnessError(InvalidArgumentError):
    """A provably fair draw's record does not match its revealed server seed.

    Attributes:
        draw_id: The draw's id.
        problems: Every mismatch, one message each.
    """

    code: ClassVar[str] = "fairness_failed"

    def __init__(self, draw_id: str, problems: Sequence[str]) -> None:
        self.draw_id = draw_id
        self.problems = tuple(problems)
        lines = "".join(f"\n  - {problem}" for problem in self.problems)
        super().__init__(f"draw {draw_id!r} does not verify:{lines}")

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.draw_id, self.problems))


class UnknownCurrencyError(InvalidArgumentError, LookupError):
    """A command named a point currency that the ledger does not hold."""

    code: ClassVar[str] = "unknown_currency"


class LedgerError(PointkitError):
    """A well-formed command was refused by the ledger's current state; nothing was written.

    A refused command does not record its idempotency key, so a retry evaluates it again.
    """

    code: ClassVar[str] = "ledger_error"


class IdempotencyConflictError(LedgerError):
    """An idempotency key was reused for a command with a different payload.

    Attributes:
        key: The reused key.
        differences: ``(field, stored value, given value)`` for each field that differs.
        hint: What to do about it, where the differences say (an empty string otherwise).
    """

    code: ClassVar[str] = "idempotency_conflict"

    def __init__(
        self, key: str, differences: Sequence[tuple[str, str, str]], hint: str = ""
    ) -> None:
        self.key = key
        self.differences = tuple(differences)
        self.hint = hint
        detail = "; ".join(
            f"{field}: {stored} was stored, {given} was given"
            for field, stored, given in self.differences
        )
        message = f"key={key!r} was already used for a different command ({detail})"
        super().__init__(f"{message}. {hint}" if hint else message)

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.key, self.differences, self.hint))


class InsufficientPointsError(LedgerError):
    """A member has fewer points available than a command needs.

    Attributes:
        member: The member whose wallet was short.
        currency: The point currency.
        requested: The points the command needed.
        available: The points that were there to take.
    """

    code: ClassVar[str] = "insufficient_points"

    def __init__(self, member: str, currency: str, requested: int, available: int) -> None:
        self.member = member
        self.currency = currency
        self.requested = requested
        self.available = available
        super().__init__(
            f"member {str(member)!r} has {available} {currency} available, {requested} needed"
        )

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.member, self.currency, self.requested, self.available))


class DebtLimitExceededError(LedgerError):
    """A clawback under the ``debt`` policy would take a member's debt past the debt limit.

    Attributes:
        member: The member.
        currency: The point currency.
        debt: The debt the clawback would leave.
        limit: The policy's debt limit.
    """

    code: ClassVar[str] = "debt_limit_exceeded"

    def __init__(self, member: str, currency: str, debt: int, limit: int) -> None:
        self.member = member
        self.currency = currency
        self.debt = debt
        self.limit = limit
        super().__init__(
            f"member {str(member)!r} would owe {debt} {currency}, over the debt limit of {limit}"
        )

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.member, self.currency, self.debt, self.limit))


class PointsOverflowError(LedgerError, OverflowError):
    """A member's balance would pass :data:`pointkit.limits.POINTS_MAX`."""

    code: ClassVar[str] = "points_overflow"


class HoldNotFoundError(LedgerError, LookupError):
    """No hold has the given id."""

    code: ClassVar[str] = "hold_not_found"


class HoldAlreadyCapturedError(LedgerError):
    """The hold was already captured; a hold resolves at most once."""

    code: ClassVar[str] = "hold_already_captured"


class CapturedHoldReleaseError(HoldAlreadyCapturedError):
    """A release of a hold that was captured: the points were spent; reverse the capture."""

    code: ClassVar[str] = "captured_hold_not_releasable"


class HoldAlreadyReleasedError(LedgerError):
    """The hold was already released; a hold resolves at most once."""

    code: ClassVar[str] = "hold_already_released"


class ReleasedHoldCaptureError(HoldAlreadyReleasedError):
    """A capture of a hold that was released: its points are free again; reserve them again."""

    code: ClassVar[str] = "released_hold_not_capturable"


class HoldExpiredError(LedgerError):
    """The hold timed out: it can no longer be captured or released.

    Its points go back to the member when ``expire_due`` sweeps it.
    """

    code: ClassVar[str] = "hold_expired"


class CaptureExceedsHoldError(LedgerError):
    """A capture asked for more points than the hold reserved."""

    code: ClassVar[str] = "capture_exceeds_hold"


class TransactionNotFoundError(LedgerError, LookupError):
    """No transaction has the given id."""

    code: ClassVar[str] = "transaction_not_found"


class NotReversibleError(LedgerError):
    """The transaction's kind cannot be reversed (holds are released, expiries are adjusted)."""

    code: ClassVar[str] = "not_reversible"


class AlreadyReversedError(LedgerError):
    """The transaction has been reversed in full already."""

    code: ClassVar[str] = "already_reversed"


class ReversalExceedsOriginalError(LedgerError):
    """A reversal asked for more than is left to reverse of the original transaction."""

    code: ClassVar[str] = "reversal_exceeds_original"


class LinkedCommandError(LedgerError):
    """A command of a linked unit of work was refused, so none of the link's commands commit.

    Raised for a command sent on a link after one of its commands was refused, and when the
    link's block ends after a refusal that the host caught. The failing command's own error
    is raised where it was sent, with a note naming it. ``index`` (from 1), ``command`` and
    ``key`` name the failing command.
    """

    code: ClassVar[str] = "linked_command_refused"

    def __init__(self, message: str, index: int, command: str, key: str) -> None:
        super().__init__(message)
        self.index = index
        self.command = command
        self.key = key

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (str(self), self.index, self.command, self.key))


class _Refusal(Exception):  # noqa: N818 - a mixin of the refusals below, never raised itself
    """A refusal with a stable reason code naming which of a command's conditions failed."""

    def __init__(self, subject: str, reason: str, message: str) -> None:
        self.subject = subject
        self.reason = reason
        super().__init__(message)

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.subject, self.reason, str(self)))


class OfferUnavailableError(_Refusal, LedgerError):
    """An offer cannot be redeemed now by this member; nothing was reserved.

    Attributes:
        subject: The offer's id.
        reason: Why, a stable code: ``not_started``, ``ended``, ``sold_out``, ``member_limit``,
            ``tier``, or ``segment`` (the offer is for members of segments the member is in
            none of).
    """

    code: ClassVar[str] = "offer_unavailable"


class RedemptionNotFoundError(LedgerError, LookupError):
    """No offer redemption was recorded under the given key."""

    code: ClassVar[str] = "redemption_not_found"


class DrawRefusedError(_Refusal, LedgerError):
    """A lottery draw was refused; no points were taken.

    Attributes:
        subject: The lottery's id.
        reason: Why, a stable code: ``not_started``, ``ended``, ``daily_limit`` or ``minor``.
    """

    code: ClassVar[str] = "draw_refused"


class DrawNotFoundError(LedgerError, LookupError):
    """No lottery draw was recorded under the given draw id."""

    code: ClassVar[str] = "draw_not_found"


class ConversionRefusedError(_Refusal, LedgerError):
    """A conversion between point currencies was refused; nothing was converted.

    Attributes:
        subject: The conversion's id.
        reason: Why, a stable code: ``disabled`` or ``period_maximum``.
    """

    code: ClassVar[str] = "conversion_refused"


class TransferRefusedError(_Refusal, LedgerError):
    """A program's transfer policy does not allow a transfer between members.

    Attributes:
        subject: ``"transfers"``.
        reason: Why, a stable code: ``disabled``, ``below_minimum`` or ``above_maximum``.
    """

    code: ClassVar[str] = "transfer_refused"


class CouponRefusedError(_Refusal, LedgerError):
    """A coupon cannot be issued, used or given back now; nothing was written.

    Attributes:
        subject: The coupon definition's id or the coupon's code.
        reason: Why, a stable code, e.g. ``sold_out``, ``member_limit``, ``not_started``,
            ``ended``, ``expired``, ``used_up``, ``not_owner``, ``minimum_spend``,
            ``category`` or ``not_used``.
    """

    code: ClassVar[str] = "coupon_refused"


class CouponNotFoundError(LedgerError, LookupError):
    """No coupon was issued with the given code."""

    code: ClassVar[str] = "coupon_not_found"


class ReferralRefusedError(_Refusal, LedgerError):
    """A referral cannot be attributed or rewarded; nothing was written.

    Attributes:
        subject: The referral code or the invitee.
        reason: Why, a stable code, e.g. ``unknown_code``, ``self_referral``,
            ``already_attributed``, ``already_rewarded`` or ``referrer_cap``.
    """

    code: ClassVar[str] = "referral_refused"


class GroupBuyRefusedError(_Refusal, LedgerError):
    """A group buy cannot be opened, joined or completed now; nothing was written.

    Attributes:
        subject: The group's id.
        reason: Why, a stable code, e.g. ``full``, ``closed``, ``timed_out``, ``already_joined``
            or ``sold_out``.
    """

    code: ClassVar[str] = "group_buy_refused"


class GroupBuyNotFoundError(LedgerError, LookupError):
    """No group buy was opened under the given id."""

    code: ClassVar[str] = "group_buy_not_found"


class MemberFrozenError(LedgerError):
    """The member is frozen: they earn and spend nothing until they are unfrozen.

    Attributes:
        member: The frozen member.
    """

    code: ClassVar[str] = "member_frozen"

    def __init__(self, message: str, member: str) -> None:
        super().__init__(message)
        self.member = member

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (str(self), self.member))


class ActivityRefusedError(_Refusal, LedgerError):
    """An anti-cheat rule refused an event; nothing was recorded.

    Attributes:
        subject: The rule's name.
        reason: Why, a stable code: ``velocity`` or ``blocklisted``.
    """

    code: ClassVar[str] = "activity_refused"


class StorageError(PointkitError):
    """The storage failed to read or write; the unit of work was rolled back.

    When a ledger command meets it, the error names the command and its idempotency key, so the
    command can be sent again as it was: an idempotency key makes that safe, whether or not the
    first attempt reached the database.

    Attributes:
        command: The ledger command that met the error, if any.
        key: That command's idempotency key, if any.
    """

    code: ClassVar[str] = "storage_error"

    def __init__(self, message: str, *, command: str | None = None, key: str | None = None) -> None:
        self.command = command
        self.key = key
        self.detail = message
        if command is not None:
            message = f"{command} (key={key!r}): {message}"
        super().__init__(message)

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_storage_error, (type(self), self.detail, self.command, self.key))


def _rebuild_storage_error(
    cls: type[StorageError], detail: str, command: str | None, key: str | None
) -> StorageError:
    return cls(detail, command=command, key=key)


class TransientStorageError(StorageError):
    """The storage could not complete the unit now, but a retry may.

    The database was busy, a deadlock was broken, or a serializable transaction conflicted. The
    ledger retries these by itself a bounded number of times (``limits.STORAGE_RETRIES_MAX``).
    """

    code: ClassVar[str] = "storage_transient"


class SchemaVersionError(StorageError):
    """The database schema does not match this version of pointkit.

    It is missing or older (run ``pointkit migrate``), or newer than this version of pointkit
    understands (upgrade pointkit).
    """

    code: ClassVar[str] = "schema_version"


class InvariantViolation(AssertionError):  # noqa: N818 - the name says what broke, not that it is an error
    """A money-critical invariant does not hold: a bug in pointkit or in a storage adapter.

    Deliberately not a :class:`PointkitError`, so business code that catches ``PointkitError``
    never swallows it. The ledger raises it before writing anything it finds inconsistent, and
    when it reads back state that breaks an invariant.
    """

    code: ClassVar[str] = "invariant_violation"

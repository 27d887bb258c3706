"""The adjustment form: its idempotency key, its CSRF token, and the checks of what it sends.

Maintainer's notes
------------------
Each rendered form carries a fresh idempotency key (``console:`` and a uuid4), so a form sent
twice — a double click, a browser's resend — is one ledger command sent twice, which the ledger
records once. The CSRF token is an HMAC-SHA256 under the console's secret of the operator, the
member, the currency and that key: a page on another origin cannot make one, and a token is
good only for the form it was rendered into. Nothing here reads or writes storage; the checks
raise pointkit's own errors, whose messages name the field, so the page shows them as they are.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid
from typing import Final, final

import attrs

from pointkit import limits
from pointkit.exceptions import InvalidArgumentError


__all__ = [
    "AMOUNT_TEXT_LENGTH_MAX",
    "KEY_PREFIX",
    "Adjustment",
    "check_token",
    "fresh_key",
    "parse_adjustment",
    "token",
]

KEY_PREFIX: Final = "console:"
"""How the idempotency keys of the console's adjustments begin."""
AMOUNT_TEXT_LENGTH_MAX: Final = 24
"""The longest amount the form accepts, in characters: a sign and the digits of POINTS_MAX,
with room for spaces; longer text is refused before it is parsed."""
_AMOUNT: Final = re.compile(r"[+-]?[0-9]+")
_KEY: Final = re.compile(r"console:[0-9a-f]{32}")


def fresh_key() -> str:
    """Return a new idempotency key for one rendered adjustment form."""
    return f"{KEY_PREFIX}{uuid.uuid4().hex}"


def token(secret: bytes, operator: str, member: str, currency: str, key: str) -> str:
    """Return the CSRF token of the form *key* that *operator* may send for *member*.

    Each part is length-prefixed, so no two different forms share the signed text.
    """
    message = b"".join(
        len(part).to_bytes(4, "big") + part
        for part in (text.encode() for text in ("adjust", operator, member, currency, key))
    )
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def check_token(
    secret: bytes, sent: str, *, operator: str, member: str, currency: str, key: str
) -> bool:
    """Whether *sent* is the token of that form for that operator (in constant time)."""
    expected = token(secret, operator, member, currency, key)
    return hmac.compare_digest(expected.encode(), sent.encode())


@final
@attrs.frozen
class Adjustment:
    """An adjustment form as sent, its fields checked.

    Attributes:
        member: The member.
        currency: The point currency.
        amount: Points to credit (positive) or debit (negative), never zero.
        reason: Why, as the operator wrote it (spaces at either end removed).
        key: The form's idempotency key.
    """

    member: str
    currency: str
    amount: int
    reason: str
    key: str


def _text(form: dict[str, str], name: str) -> str:
    return form.get(name, "")


def parse_key(text: str) -> str:
    """Return the form's idempotency key, checked.

    Raises:
        InvalidArgumentError: If it is not a key the console rendered.
    """
    if not _KEY.fullmatch(text):
        raise InvalidArgumentError(
            f"key={text[:80]!r} must be the form's key ('console:' and 32 hex digits); "
            "reload the member page for a fresh form"
        )
    return text


def parse_amount(text: str) -> int:
    """Return the amount field as points.

    Raises:
        InvalidArgumentError: If it is not a non-zero whole number within ``POINTS_MAX``.
    """
    valid = (
        f"a non-zero whole number of points from -{limits.POINTS_MAX:,} to "
        f"{limits.POINTS_MAX:,} (POINTS_MAX)"
    )
    stripped = text.strip()
    if len(stripped) > AMOUNT_TEXT_LENGTH_MAX or not _AMOUNT.fullmatch(stripped):
        raise InvalidArgumentError(f"amount={text[:40]!r} must be {valid}")
    points = int(stripped)
    if points == 0 or abs(points) > limits.POINTS_MAX:
        raise InvalidArgumentError(f"amount={text[:40]!r} must be {valid}")
    return points


def parse_reason(text: str) -> str:
    """Return the reason field, spaces at either end removed.

    Raises:
        InvalidArgumentError: If it is blank or longer than ``REASON_LENGTH_MAX``.
    """
    reason = text.strip()
    if not reason:
        raise InvalidArgumentError(
            f"reason={text[:40]!r} must be given: every adjustment needs a reason"
        )
    if len(reason) > limits.REASON_LENGTH_MAX:
        raise InvalidArgumentError(
            f"reason has {len(reason)} characters; at most {limits.REASON_LENGTH_MAX} "
            "(REASON_LENGTH_MAX)"
        )
    return reason


def parse_adjustment(form: dict[str, str]) -> Adjustment:
    """Check an adjustment form's fields, the amount first, then the reason.

    Args:
        form: The fields sent, by name (``member``, ``currency``, ``amount``, ``reason``,
            ``key``); the CSRF token is checked before this.

    Returns:
        The adjustment.

    Raises:
        InvalidArgumentError: Naming the first field that is missing or invalid.
    """
    key = parse_key(_text(form, "key"))
    amount = parse_amount(_text(form, "amount"))
    reason = parse_reason(_text(form, "reason"))
    return Adjustment(_text(form, "member"), _text(form, "currency"), amount, reason, key)

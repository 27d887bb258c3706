"""Coupon codes: their pattern and alphabet, the space they span, and drawing a fresh one.

Maintainer's notes
------------------
A code is a pattern such as ``"PK-####-####"`` whose ``#`` each take one symbol of an alphabet;
the default alphabet leaves out the characters people misread for one another (0/O, 1/I/L,
2/Z, 5/S, 8/B), and a custom one may not hold two of the same look-alike group.

**Unguessable: drawn from the operating system's CSPRNG, not a keyed permutation.** Each code
is a uniform integer below the pattern's space, drawn from a
:class:`~pointkit.pricing.RandomSource` (:class:`~pointkit.pricing.SecretsRandom`, that is
:func:`secrets.randbelow`, in production), and written out in the alphabet. A keyed bijection
from a sequence number (a Feistel network over the space) would prove uniqueness by construction
too, but it brings two costs this design avoids: a secret key that, once leaked, names every
code ever issued and every code to come; and a sequence row per code space that every issue in
the programme would queue on. Random codes have no key to keep and no shared row; what they
need is a uniqueness check, and the records part gives one for free.

**Collision-free at any count, by a uniqueness check at issue with a retry.** The coupons
feature keeps each coupon as a record whose id is its code, and the records part refuses a
second record with the same id. :meth:`CodeFormat.draw` asks the caller whether a code is taken
(a read of that record, in the unit that issues) and draws again if so; two units that draw the
same code at once both try to save the same record id, one of them fails with a transient
storage error, and its unit runs again and draws afresh. So two coupons never share a code,
whatever the number issued — the check is the proof, not the odds.

**The space rule keeps the retries rare.** A definition's pattern must span at least 1,000
times its stock (:data:`SPACE_PER_COUPON_MIN`; an unlimited stock counts as
``limits.COUPON_STOCK_MAX``): with at most *n* codes taken out of *N*, a draw hits a taken code
with probability ``n / N <= 1/1000``, so the expected draws per issue stay below ``1.001``,
and all :data:`DRAW_ATTEMPTS` draws collide with probability below ``10**-48``. The same ratio
is the chance that a guessed code is a live one, which is why a bigger space is better still.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, final

import attrs

from pointkit import limits
from pointkit._validate import check_text, type_name
from pointkit.exceptions import ArgumentTypeError, CouponRefusedError, InvalidArgumentError


if TYPE_CHECKING:
    from collections.abc import Callable

    from pointkit.pricing import RandomSource


__all__ = [
    "DEFAULT_ALPHABET",
    "DEFAULT_PATTERN",
    "DRAW_ATTEMPTS",
    "LOOK_ALIKES",
    "SPACE_PER_COUPON_MIN",
    "CodeFormat",
    "normalize_code",
]

PLACEHOLDER: Final = "#"
"""The pattern character that takes one symbol of the alphabet."""

LOOK_ALIKES: Final[tuple[str, ...]] = ("0O", "1IL", "2Z", "5S", "8B")
"""Groups of characters read for one another: an alphabet holds at most one of each group."""

DEFAULT_ALPHABET: Final = "34679ACDEFGHJKMNPQRTUVWXY"
"""Digits and capitals without any look-alike (25 symbols): no 0/O, 1/I/L, 2/Z, 5/S, 8/B."""

DEFAULT_PATTERN: Final = "PK-####-####"
"""Eight symbols of the default alphabet: 25**8, about 1.5 * 10**11 codes."""

SPACE_PER_COUPON_MIN: Final = 1_000
"""A pattern must span at least this many codes per coupon of its stock."""

DRAW_ATTEMPTS: Final = 32
"""Draws :meth:`CodeFormat.draw` makes before it gives up: all collide with odds under 1e-48."""

_LITERALS: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")
_ALPHABET_MIN: Final = 2
_ALPHABET_MAX: Final = 36


def normalize_code(code: object) -> str:
    """Return a code as typed by a member in its stored form: trimmed and in capitals.

    Raises:
        ArgumentTypeError: If *code* is not a str.
        InvalidArgumentError: If it is empty or longer than ``limits.COUPON_CODE_LENGTH_MAX``.
    """
    if not isinstance(code, str):
        raise ArgumentTypeError(f"code={code!r} must be a str, not {type_name(code)}")
    return check_text(
        "code",
        code.strip().upper(),
        max_length=limits.COUPON_CODE_LENGTH_MAX,
        limit_name="COUPON_CODE_LENGTH_MAX",
    )


def _alphabet(value: object) -> str:
    if not isinstance(value, str):
        raise ArgumentTypeError(f"alphabet={value!r} must be a str, not {type_name(value)}")
    if not _ALPHABET_MIN <= len(value) <= _ALPHABET_MAX:
        raise InvalidArgumentError(
            f"alphabet={value!r} must have {_ALPHABET_MIN} to {_ALPHABET_MAX} symbols, "
            f"not {len(value)}"
        )
    odd = sorted({symbol for symbol in value if symbol not in _LITERALS or symbol == "-"})
    if odd:
        raise InvalidArgumentError(
            f"alphabet={value!r} has {''.join(odd)!r}; symbols are capitals A-Z and digits 0-9"
        )
    if len(set(value)) != len(value):
        raise InvalidArgumentError(f"alphabet={value!r} repeats a symbol; each appears once")
    for group in LOOK_ALIKES:
        both = [symbol for symbol in group if symbol in value]
        if len(both) > 1:
            raise InvalidArgumentError(
                f"alphabet={value!r} has {' and '.join(both)}, which are read for one another; "
                "keep at most one of each look-alike group (0/O, 1/I/L, 2/Z, 5/S, 8/B)"
            )
    return value


def _pattern(value: object) -> str:
    checked = check_text(
        "pattern",
        value,
        max_length=limits.COUPON_CODE_LENGTH_MAX,
        limit_name="COUPON_CODE_LENGTH_MAX",
    )
    odd = sorted({char for char in checked if char != PLACEHOLDER and char not in _LITERALS})
    if odd:
        raise InvalidArgumentError(
            f"pattern={checked!r} has {''.join(odd)!r}; a pattern is capitals, digits, '-' and "
            f"{PLACEHOLDER!r} for each drawn symbol"
        )
    if PLACEHOLDER not in checked:
        raise InvalidArgumentError(
            f"pattern={checked!r} has no {PLACEHOLDER!r}: every code would be the same"
        )
    return checked


@final
@attrs.frozen
class CodeFormat:
    """How a definition's codes look: a pattern whose ``#`` take symbols of an alphabet.

    >>> codes = CodeFormat("PK-####-####")
    >>> codes.space
    152587890625
    >>> codes.code(0), codes.code(codes.space - 1)
    ('PK-3333-3333', 'PK-YYYY-YYYY')
    >>> codes.number("PK-3333-3334")
    1
    >>> CodeFormat("PK-####", alphabet="0123456789O")
    Traceback (most recent call last):
    ...
    pointkit.exceptions.InvalidArgumentError: alphabet='0123456789O' has 0 and O, which are read for one another; keep at most one of each look-alike group (0/O, 1/I/L, 2/Z, 5/S, 8/B)

    Attributes:
        pattern: Capitals, digits and ``-`` kept as they are, and ``#`` for each drawn symbol;
            up to ``limits.COUPON_CODE_LENGTH_MAX`` characters.
        alphabet: The symbols a ``#`` takes: 2 to 36 distinct capitals and digits, at most one
            of each look-alike group; :data:`DEFAULT_ALPHABET` if omitted.
    """

    pattern: str = attrs.field(converter=_pattern)
    alphabet: str = attrs.field(default=DEFAULT_ALPHABET, converter=_alphabet)

    @property
    def symbols(self) -> int:
        """How many symbols a code draws (the pattern's ``#``)."""
        return self.pattern.count(PLACEHOLDER)

    @property
    def space(self) -> int:
        """How many distinct codes the pattern spans: ``len(alphabet) ** symbols``."""
        space: int = len(self.alphabet) ** self.symbols
        return space

    def stock_allowed(self) -> int:
        """The largest stock the space carries under the 1,000-codes-per-coupon rule."""
        return self.space // SPACE_PER_COUPON_MIN

    def code(self, number: int) -> str:
        """Write *number*, in ``[0, space)``, as a code: the last ``#`` is the lowest digit.

        Raises:
            InvalidArgumentError: If *number* is outside the space.
        """
        if type(number) is not int or not 0 <= number < self.space:
            raise InvalidArgumentError(
                f"number={number!r} must be an int in [0, {self.space}) for pattern "
                f"{self.pattern!r}"
            )
        alphabet, base = self.alphabet, len(self.alphabet)
        chars = list(self.pattern)
        for index in range(len(chars) - 1, -1, -1):
            if chars[index] == PLACEHOLDER:
                number, digit = divmod(number, base)
                chars[index] = alphabet[digit]
        return "".join(chars)

    def number(self, code: str) -> int | None:
        """The number :meth:`code` wrote as *code*, or ``None`` if *code* is not of this format."""
        if len(code) != len(self.pattern):
            return None
        base, value = len(self.alphabet), 0
        for char, expected in zip(code, self.pattern, strict=True):
            if expected != PLACEHOLDER:
                if char != expected:
                    return None
                continue
            digit = self.alphabet.find(char)
            if digit < 0:
                return None
            value = value * base + digit
        return value

    def draw(self, random: RandomSource, taken: Callable[[str], bool], *, subject: str) -> str:
        """Draw a code uniformly from the space that *taken* says is free.

        Args:
            random: Where the randomness comes from (the OS's CSPRNG in production).
            taken: Whether a code is already issued: the issuing unit's read of its record.
            subject: The coupon definition, named in the refusal.

        Returns:
            A code of this format that *taken* said was free.

        Raises:
            CouponRefusedError: ``codes_exhausted`` if :data:`DRAW_ATTEMPTS` draws all hit
                taken codes: the space is nearly full (the space rule makes this practically
                impossible).
            InvalidArgumentError: If *random* returns anything but an int in the space.
        """
        for _ in range(DRAW_ATTEMPTS):
            value = random.below(self.space)
            code = self.code(value)
            if not taken(code):
                return code
        raise CouponRefusedError(
            subject,
            "codes_exhausted",
            f"coupon {subject!r}: {DRAW_ATTEMPTS} codes drawn from pattern {self.pattern!r} "
            "were all taken; widen the pattern",
        )

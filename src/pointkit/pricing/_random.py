"""Random sources for draws: the OS's CSPRNG, a seeded one for tests, and a provably fair one.

Maintainer's notes
------------------
A draw needs one thing from randomness: a uniform integer in ``[0, bound)``, where ``bound``
is the common denominator of the odds (:class:`RandomSource`). Every source here produces it
by integer rejection sampling, never by scaling a float: ``floor(random() * n)`` and
``x mod n`` are biased whenever ``n`` does not divide the source's range, and a verified draw
must have *exactly* the disclosed odds.

* :class:`SecretsRandom` (the default) uses :func:`secrets.randbelow`, the operating system's
  CSPRNG with rejection sampling.
* :class:`SeededRandom` uses a seeded Mersenne Twister through ``getrandbits`` and rejection,
  so a seed gives the same draws on every Python version; for tests and simulations only.
* :class:`ProvablyFair` is commit-reveal: the operator publishes ``SHA-256(server_seed)``
  before play, each draw's bytes are ``HMAC-SHA256(server_seed, f"{client_seed}:{nonce}:{round}")``
  for rounds 0, 1, ... taken in order, and after the seed is revealed anyone can recompute
  every outcome with :func:`fair_value` (or :func:`verify` for a draw record).
"""

from __future__ import annotations

import hashlib
import hmac
import random
import secrets
from typing import Final, Protocol, final, runtime_checkable

import attrs

from pointkit import limits
from pointkit._validate import check_int, check_text, type_name
from pointkit.exceptions import ArgumentTypeError, InvalidArgumentError


__all__ = [
    "FairnessProof",
    "ProvablyFair",
    "RandomSource",
    "SecretsRandom",
    "SeededRandom",
    "fair_value",
]

_SERVER_SEED_BYTES_MIN: Final = 16
_CLIENT_SEED_LENGTH_MAX: Final = 200
_BOUND_MAX: Final = 2**256


def _check_bound(bound: object) -> int:
    return check_int("bound", bound, minimum=1, maximum=_BOUND_MAX)


@runtime_checkable
class RandomSource(Protocol):
    """Where a draw's randomness comes from: uniform integers below a bound."""

    def below(self, bound: int) -> int:
        """Return an integer drawn uniformly from ``[0, bound)``."""
        ...


@final
class SecretsRandom:
    """The operating system's CSPRNG (:func:`secrets.randbelow`): the default for real draws."""

    def below(self, bound: int) -> int:
        """Return an integer drawn uniformly from ``[0, bound)``."""
        return secrets.randbelow(_check_bound(bound))

    def __repr__(self) -> str:
        return "SecretsRandom()"


@final
class SeededRandom:
    """A seeded source for tests and simulations: the same seed gives the same draws.

    >>> first, second = SeededRandom(7), SeededRandom(7)
    >>> [first.below(6) for _ in range(8)] == [second.below(6) for _ in range(8)]
    True

    Not for real draws: anyone who learns the seed can predict every outcome.
    """

    def __init__(self, seed: int) -> None:
        self._seed = check_int("seed", seed, minimum=0, maximum=2**256)
        self._random = random.Random(self._seed)  # noqa: S311 - seeded on purpose, for tests

    def below(self, bound: int) -> int:
        """Return an integer drawn uniformly from ``[0, bound)``, by rejection on ``getrandbits``."""
        if type(bound) is not int or not 1 <= bound <= _BOUND_MAX:
            _check_bound(bound)
        bits = (bound - 1).bit_length()
        getrandbits = self._random.getrandbits
        value = getrandbits(bits)
        while value >= bound:
            value = getrandbits(bits)
        return value

    def many(self, bound: int, count: int) -> list[int]:
        """Return *count* integers drawn uniformly from ``[0, bound)``: :meth:`below`, batched.

        The same values, in the same order, as *count* calls of :meth:`below`.
        """
        limit = _check_bound(bound)
        wanted = check_int("count", count, minimum=0, maximum=limits.SIMULATION_DRAWS_MAX)
        bits = (limit - 1).bit_length()
        getrandbits = self._random.getrandbits
        values: list[int] = []
        append = values.append
        while len(values) < wanted:
            value = getrandbits(bits)
            if value < limit:
                append(value)
        return values

    def __repr__(self) -> str:
        return f"SeededRandom({self._seed})"


@final
@attrs.frozen
class FairnessProof:
    """What a provably fair draw publishes so that anyone can recompute it later.

    Attributes:
        commitment: ``SHA-256(server_seed)`` in hex, published before the draw.
        client_seed: The member's (or the host's) seed.
        nonce: The draw's number under this server seed and client seed.
        bound: The odds' common denominator: the value is uniform in ``[0, bound)``.
        value: The integer drawn; it selects the prize.
    """

    commitment: str
    client_seed: str
    nonce: int
    bound: int
    value: int


def _check_server_seed(value: object) -> bytes:
    if not isinstance(value, bytes):
        raise ArgumentTypeError(f"server_seed must be bytes, not {type_name(value)}")
    if len(value) < _SERVER_SEED_BYTES_MIN:
        raise InvalidArgumentError(
            f"server_seed has {len(value)} bytes; use at least {_SERVER_SEED_BYTES_MIN} "
            "(secrets.token_bytes(32))"
        )
    return value


def _check_client_seed(value: object) -> str:
    return check_text(
        "client_seed", value, max_length=_CLIENT_SEED_LENGTH_MAX, limit_name="(200 characters)"
    )


def _commit(server_seed: bytes) -> str:
    return hashlib.sha256(server_seed).hexdigest()


def fair_value(server_seed: bytes, client_seed: str, nonce: int, bound: int) -> int:
    """Recompute the value a provably fair draw drew: the whole mapping, in one function.

    Bytes come from ``HMAC-SHA256(key=server_seed, msg=f"{client_seed}:{nonce}:{round}")``
    for rounds 0, 1, ..., concatenated. Each try reads the next ``ceil(k / 8)`` bytes, where
    ``k`` is the bit length of ``bound - 1``, as a big-endian integer, keeps its top ``k``
    bits, and accepts the result if it is below *bound* (rejection sampling: no modulo bias).

    >>> fair_value(b"0123456789abcdef0123456789abcdef", "alice", 0, 10_000) == fair_value(
    ...     b"0123456789abcdef0123456789abcdef", "alice", 0, 10_000)
    True

    Raises:
        InvalidArgumentError: If an argument is invalid.
    """
    seed = _check_server_seed(server_seed)
    client = _check_client_seed(client_seed)
    number = check_int("nonce", nonce, minimum=0, maximum=limits.POINTS_MAX)
    limit = _check_bound(bound)
    if limit == 1:
        return 0
    bits = (limit - 1).bit_length()
    size = (bits + 7) // 8
    buffer = b""
    round_ = 0
    while True:
        while len(buffer) < size:
            message = f"{client}:{number}:{round_}".encode()
            buffer += hmac.new(seed, message, hashlib.sha256).digest()
            round_ += 1
        chunk, buffer = buffer[:size], buffer[size:]
        value = int.from_bytes(chunk, "big") >> (size * 8 - bits)
        if value < limit:
            return value


@final
class ProvablyFair:
    """Commit-reveal draws: publish :attr:`commitment` first, reveal the server seed later.

    >>> fair = ProvablyFair(b"0123456789abcdef0123456789abcdef", client_seed="alice")
    >>> fair.commitment[:16]
    '3eb1bd439947eb76'
    >>> proof = fair.draw(nonce=0, bound=10_000)
    >>> proof.value == fair_value(b"0123456789abcdef0123456789abcdef", "alice", 0, 10_000)
    True

    Args:
        server_seed: The operator's secret, at least 16 bytes (``secrets.token_bytes(32)``);
            revealed when it is rotated, never before.
        client_seed: The member's seed (or one the host chooses per member), so that the
            operator alone does not determine the outcome.
    """

    def __init__(self, server_seed: bytes, *, client_seed: str) -> None:
        self._server_seed = _check_server_seed(server_seed)
        self.client_seed = _check_client_seed(client_seed)
        self.commitment = _commit(self._server_seed)

    @classmethod
    def new(cls, *, client_seed: str) -> ProvablyFair:
        """Start a fresh server seed from the operating system's CSPRNG."""
        return cls(secrets.token_bytes(32), client_seed=client_seed)

    def draw(self, *, nonce: int, bound: int) -> FairnessProof:
        """Draw the value for draw number *nonce* and return it with its proof."""
        value = fair_value(self._server_seed, self.client_seed, nonce, bound)
        return FairnessProof(self.commitment, self.client_seed, nonce, bound, value)

    def reveal(self) -> bytes:
        """The server seed, to publish once no more draws will use it."""
        return self._server_seed

    def __repr__(self) -> str:
        return f"ProvablyFair(commitment={self.commitment!r}, client_seed={self.client_seed!r})"


def check_proof(proof: FairnessProof, server_seed: bytes) -> list[str]:
    """Return what does not match between *proof* and the revealed *server_seed* (nothing: fair)."""
    problems: list[str] = []
    if _commit(_check_server_seed(server_seed)) != proof.commitment:
        problems.append(
            f"commitment: SHA-256 of the revealed seed is not the published {proof.commitment}"
        )
        return problems
    value = fair_value(server_seed, proof.client_seed, proof.nonce, proof.bound)
    if value != proof.value:
        problems.append(f"value: the seeds give {value}, the record says {proof.value}")
    return problems

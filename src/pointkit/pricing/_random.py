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
  before play, each draw's bytes are ``HMAC-SHA256(server_seed, message)`` for rounds 0, 1, ...
  taken in order, where the message names the client seed, the draw's nonce and the round,
  and after the seed is revealed anyone can recompute every outcome with :func:`fair_value`
  (or :func:`verify` for a draw record).

Versions of the fair mapping
----------------------------
The message has two versions, and a :class:`FairnessProof` says which it used:

* version 1 (draws recorded before pointkit numbered nonces per server seed and client seed
  pair): ``f"{client_seed}:{nonce}:{round}"``. Its nonces counted per member, so two members
  with one client seed drew the same values; its records still verify.
* version 2 (every draw now): ``b"pointkit/fair/2" NUL client_seed NUL nonce NUL round``.
  Client seeds are printable, so no version 1 message equals a version 2 one: a version 2
  draw never repeats a version 1 value, even where the new per-pair nonces restart at 0 under
  a server seed that version 1 draws used.

The value depends on nothing the operator chooses at the draw (the draw's id, the clock): it
is fixed once the seed is committed and the client seed set, and the nonce counts up by one.
A source given to a draw is also checked for what it returns (:func:`draw_below`), since a
host's own :class:`RandomSource` could return anything.
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
    "FAIR_VERSION",
    "FairnessProof",
    "ProvablyFair",
    "RandomSource",
    "SecretsRandom",
    "SeededRandom",
    "check_proof",
    "draw_below",
    "fair_value",
]

FAIR_VERSION: Final = 2
"""The version of the fair mapping new draws use (see the module's notes)."""
_FAIR_VERSIONS: Final = (1, 2)
_V2_PREFIX: Final = b"pointkit/fair/2"

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


def draw_below(source: RandomSource, bound: int) -> int:
    """Draw from *source* below *bound*, and check what it returned before anyone uses it.

    A host's own :class:`RandomSource` could return anything; a value that is not an int in
    ``[0, bound)`` would select a prize, or be recorded, wrongly.

    >>> draw_below(SeededRandom(1), 10) in range(10)
    True

    Raises:
        ArgumentTypeError: If the source returned something other than an int (a bool too).
        InvalidArgumentError: If it returned an int outside ``[0, bound)``.
    """
    value: object = source.below(bound)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ArgumentTypeError(
            f"random={source!r} returned {value!r} ({type_name(value)}) from below({bound}); "
            f"a RandomSource must return an int (not a bool) from 0 to {bound - 1}"
        )
    if not 0 <= value < bound:
        raise InvalidArgumentError(
            f"random={source!r} returned {value!r} from below({bound}); "
            f"a RandomSource must return an int from 0 to {bound - 1}"
        )
    return int(value)


@final
@attrs.frozen
class FairnessProof:
    """What a provably fair draw publishes so that anyone can recompute it later.

    Attributes:
        commitment: ``SHA-256(server_seed)`` in hex, published before the draw.
        client_seed: The member's seed (or one the host chose for them); it is published.
        nonce: The draw's number under this server seed and client seed: no two draws share
            a commitment, a client seed and a nonce.
        bound: The odds' common denominator: the value is uniform in ``[0, bound)``.
        value: The integer drawn; it selects the prize.
        version: The fair mapping's version (:data:`FAIR_VERSION` for new draws; 1 for
            records written before it, whose nonces counted per member).
    """

    commitment: str
    client_seed: str
    nonce: int
    bound: int
    value: int
    version: int = attrs.field(default=FAIR_VERSION, kw_only=True)


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


def _check_version(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ArgumentTypeError(f"version={value!r} must be an int, not {type_name(value)}")
    if value not in _FAIR_VERSIONS:
        raise InvalidArgumentError(f"version={value!r} must be one of 1, 2")
    return value


def _commit(server_seed: bytes) -> str:
    return hashlib.sha256(server_seed).hexdigest()


def _message(version: int, client: str, nonce: int, round_: int) -> bytes:
    if version == 1:
        return f"{client}:{nonce}:{round_}".encode()
    return b"\x00".join((_V2_PREFIX, client.encode(), b"%d" % nonce, b"%d" % round_))


def fair_value(
    server_seed: bytes, client_seed: str, nonce: int, bound: int, *, version: int = FAIR_VERSION
) -> int:
    """Recompute the value a provably fair draw drew: the whole mapping, in one function.

    Bytes come from ``HMAC-SHA256(key=server_seed, msg=message(round))`` for rounds 0, 1, ...,
    concatenated, where ``message(round)`` is (UTF-8, ``NUL`` a zero byte, numbers in decimal)
    ``b"pointkit/fair/2" NUL client_seed NUL nonce NUL round`` in version 2, and
    ``f"{client_seed}:{nonce}:{round}"`` in version 1. Each try reads the next ``ceil(k / 8)``
    bytes, where ``k`` is the bit length of ``bound - 1``, as a big-endian integer, keeps its
    top ``k`` bits, and accepts the result if it is below *bound* (rejection sampling: no
    modulo bias).

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
    mapping = _check_version(version)
    if limit == 1:
        return 0
    bits = (limit - 1).bit_length()
    size = (bits + 7) // 8
    buffer = b""
    round_ = 0
    while True:
        while len(buffer) < size:
            message = _message(mapping, client, number, round_)
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
            operator alone does not determine the outcome. It is published with every draw,
            so it must not name the member: a random one (``secrets.token_hex(16)``) or one
            the member chose.

    Draws on a ledger number their nonces per server seed and client seed pair, across
    members (``Draws.draw``): a member who copies another's client seed continues the pair's
    sequence, never replays it.
    """

    def __init__(self, server_seed: bytes, *, client_seed: str) -> None:
        self._server_seed = _check_server_seed(server_seed)
        self.client_seed = _check_client_seed(client_seed)
        self.commitment = _commit(self._server_seed)

    @classmethod
    def new(cls, *, client_seed: str) -> ProvablyFair:
        """Start a fresh server seed from the operating system's CSPRNG."""
        return cls(secrets.token_bytes(32), client_seed=client_seed)

    @property
    def pair(self) -> str:
        """The server seed and client seed pair its nonces count under: ``commitment:client_seed``."""
        return f"{self.commitment}:{self.client_seed}"

    def draw(self, *, nonce: int, bound: int) -> FairnessProof:
        """Draw the value for draw number *nonce* and return it with its proof.

        The caller numbers the draws: never twice the same *nonce* (``Draws.draw`` counts them
        per :attr:`pair`).
        """
        value = fair_value(self._server_seed, self.client_seed, nonce, bound)
        return FairnessProof(self.commitment, self.client_seed, nonce, bound, value)

    def reveal(self) -> bytes:
        """The server seed, to publish once no more draws will use it."""
        return self._server_seed

    def __repr__(self) -> str:
        return f"ProvablyFair(commitment={self.commitment!r}, client_seed={self.client_seed!r})"


def check_proof(proof: FairnessProof, server_seed: bytes) -> list[str]:
    """Return what does not match between *proof* and the revealed *server_seed* (nothing: fair).

    Raises:
        InvalidArgumentError: If *server_seed* is not a valid seed.
    """
    problems: list[str] = []
    if _commit(_check_server_seed(server_seed)) != proof.commitment:
        problems.append(
            f"commitment: SHA-256 of the revealed seed is not the published {proof.commitment}"
        )
        return problems
    try:
        value = fair_value(
            server_seed, proof.client_seed, proof.nonce, proof.bound, version=proof.version
        )
    except InvalidArgumentError as error:
        problems.append(f"fairness: the proof cannot be recomputed: {error}")
        return problems
    if value != proof.value:
        problems.append(f"value: the seeds give {value}, the record says {proof.value}")
    return problems

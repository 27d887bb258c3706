"""Draw records, their public feed, and the offline verification of provably fair draws.

A :class:`DrawRecord` is the immutable record of one draw: enough to show it, audit it and
recompute it, and its JSON form is what is stored. :meth:`DrawRecord.public` turns it into an
entry of a public results feed; :func:`verify` checks a provably fair draw offline once its
server seed is revealed, and :func:`check_feed` checks a whole published feed (the
``pointkit verify-draws`` command).

Maintainer's notes
------------------
What covers each field of a record:

* The fair value (``value``, ``fairness``): recomputed from the revealed seed, the client seed
  and the nonce (:func:`~pointkit.pricing.fair_value`). It depends on nothing the operator
  picks at the draw — not the draw's id, not the clock — so nobody can grind those for a
  wanted outcome; which is also why the value is not derived from the record's other fields.
* ``odds`` and ``prize``: the odds' total is the proof's bound, and the value selects the
  prize under the odds.
* ``lottery``, ``table_hash``, ``cost``, ``kind``, ``points_back``, ``sold_out``,
  ``pity_before``, ``pity_after``: given the lottery, the record must name its id and table
  hash, its cost, the prize's kind and points, odds equal to ``Lottery.odds`` for the recorded
  sold-out prizes at ``pity_before``, and ``pity_after`` as the lottery's pity rule moves it.
  Without the lottery, the pity counter must move by its rule's shape (reset to 0 or up one).
* ``pity_levels``: with stacked guarantees, ``(before, after)`` of every guarantee after the
  first (the first keeps ``pity_before`` and ``pity_after``), checked like them. A record of a
  lottery with one guarantee, or none, has no such field at all, so its stored and public
  forms are what they always were.
* Everything else — who drew (a pseudonym), when, the draw's id (a pseudonym) — and every field
  above once more: the feed's hash chain. Each published entry carries the SHA-256 of the
  entry before it (``previous``) and its own (``digest``, over the canonical JSON of the entry
  without ``digest``); the host publishes the last digest (the head) with each revealed seed.
  An entry changed after publication no longer hashes to its digest; one with its digest
  recomputed breaks the next entry's ``previous``, or, being the last, the head. Entries taken
  out, added or reordered break the chain too.

A feed also must not use a ``(commitment, client seed, nonce)`` twice (``Draws.draw`` numbers
nonces per pair, so a repeat is a replayed value), name a draw twice, or give out more of a
prize than its stock.

The public feed identifies members and draws by keyed pseudonyms: ``HMAC-SHA256`` under a key
the host keeps, so one member is one pseudonym across the feed (a member's app can show it,
and they find their draws) but nobody without the key can tell who it is, not even by trying
every member id. Client seeds are published as they are, since verification needs them: a
client seed must therefore never be a member's id (``Draws.draw`` refuses that one).

Formats: a stored record without ``sold_out`` or a proof ``version`` predates them (version 1
proofs, whose nonces counted per member); such records still verify, their sold-out prizes
found by search. Public entries are format 2: pseudonyms and the hash chain. The format 1
feed (the member masked as ``a***e``, nothing chained) cannot be checked; publish the stored
records again as format 2.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from itertools import combinations
from typing import TYPE_CHECKING, Any, Final, final, get_args

import attrs

from pointkit._validate import type_name
from pointkit.exceptions import (
    ArgumentTypeError,
    FairnessError,
    InvalidArgumentError,
    PointkitError,
)
from pointkit.pricing._lottery_odds import Odds
from pointkit.pricing._lottery_prizes import PrizeKind
from pointkit.pricing._random import FairnessProof, check_proof


if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from pointkit.pricing._lottery import Lottery


__all__ = ["FEED_START", "PUBLIC_FORMAT", "DrawRecord", "FeedCheck", "check_feed", "verify"]

FEED_START: Final = "0" * 64
"""The ``previous`` of a feed's first entry: 64 zeros."""
PUBLIC_FORMAT: Final = 2
"""The format of public feed entries: keyed pseudonyms and the hash chain."""
_KEY_BYTES_MIN: Final = 16
_PSEUDONYM_HEX: Final = 32  # 128 bits: no two members or draws of a programme share one
_LEGACY_SOLD_OUT_MAX: Final = 10  # a record without sold_out: at most 2**10 sold-out sets tried
_KINDS: Final = get_args(PrizeKind)
_SEED_BYTES_MIN: Final = 16


@final
@attrs.frozen
class DrawRecord:
    """The immutable record of one draw: enough to show it, audit it and recompute it.

    Attributes:
        draw_id: The draw's id (its idempotency key); a pseudonym in a public feed entry.
        lottery: The lottery's id.
        member: The member; a pseudonym in a public feed entry.
        at: When it was drawn.
        cost: Points it cost.
        prize: The prize won.
        kind: The prize's kind.
        points_back: Points the prize credited (0 unless a points prize).
        table_hash: The lottery table's hash, as published in its disclosure.
        odds: ``(prize, weight)`` of the odds the draw used (after stock and pity).
        value: The integer drawn below the odds' total; it selected the prize.
        pity_before: The member's pity counter before the draw (0 without pity).
        pity_after: The counter after it.
        fairness: The commit-reveal proof of a provably fair draw, if it was one.
        transaction: The id of the ledger transaction that took the points; ``None`` in a
            record read from a public feed, which does not publish it.
        sold_out: The prizes that were sold out when it was drawn, in the table's order;
            ``None`` in records written before pointkit kept them.
        pity_levels: With stacked guarantees, ``(before, after)`` of each guarantee's counter
            after the first, in order; ``None`` with one guarantee or none.
    """

    draw_id: str
    lottery: str
    member: str
    at: datetime
    cost: int
    prize: str
    kind: PrizeKind
    points_back: int
    table_hash: str
    odds: tuple[tuple[str, int], ...]
    value: int
    pity_before: int
    pity_after: int
    fairness: FairnessProof | None
    transaction: str | None
    sold_out: tuple[str, ...] | None = None
    pity_levels: tuple[tuple[int, int], ...] | None = None

    @property
    def pities_before(self) -> tuple[int, ...]:
        """Every guarantee's counter before the draw, in order."""
        return (self.pity_before, *(before for before, _ in self.pity_levels or ()))

    @property
    def pities_after(self) -> tuple[int, ...]:
        """Every guarantee's counter after the draw, in order."""
        return (self.pity_after, *(after for _, after in self.pity_levels or ()))

    @property
    def odds_total(self) -> int:
        """The common denominator of the odds the draw used."""
        return sum(weight for _, weight in self.odds)

    def to_dict(self) -> dict[str, Any]:
        """The record as JSON-ready data (the form it is stored in)."""
        document = attrs.asdict(self, recurse=False)
        document["at"] = self.at.isoformat()
        document["odds"] = [list(pair) for pair in self.odds]
        document["fairness"] = None if self.fairness is None else attrs.asdict(self.fairness)
        document["sold_out"] = None if self.sold_out is None else list(self.sold_out)
        # Absent unless stacked, so a record of one guarantee keeps its stored form and digest.
        del document["pity_levels"]
        if self.pity_levels is not None:
            document["pity_levels"] = [list(pair) for pair in self.pity_levels]
        return document

    def to_json(self) -> str:
        """The record as canonical JSON."""
        return json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_dict(cls, document: Mapping[str, Any]) -> DrawRecord:
        """Rebuild a record from :meth:`to_dict`'s data, or from a :meth:`public` feed entry.

        A feed entry gives the pseudonyms as ``member`` and ``draw_id`` and no
        ``transaction``; its ``format``, ``previous`` and ``digest`` are the feed's, not the
        record's (:func:`check_feed` checks them).

        Raises:
            InvalidArgumentError: If a field is missing or not of its type; the message names
                it, its value and what is valid.
        """
        if not isinstance(document, Mapping):
            raise ArgumentTypeError(
                f"document={document!r} must be a mapping, not {type_name(document)}"
            )
        fairness = document.get("fairness")
        sold_out = document.get("sold_out")
        levels = document.get("pity_levels")
        transaction = document.get("transaction")
        if transaction is not None:
            transaction = _text(document, "transaction")
        return cls(
            draw_id=_text(document, "draw_id"),
            lottery=_text(document, "lottery"),
            member=_text(document, "member"),
            at=_instant(document),
            cost=_number(document, "cost"),
            prize=_text(document, "prize"),
            kind=_kind(document),
            points_back=_number(document, "points_back"),
            table_hash=_text(document, "table_hash"),
            odds=_odds(document),
            value=_number(document, "value"),
            pity_before=_number(document, "pity_before"),
            pity_after=_number(document, "pity_after"),
            fairness=None if fairness is None else _proof(fairness),
            transaction=transaction,
            sold_out=None if sold_out is None else _names("sold_out", sold_out),
            pity_levels=None if levels is None else _pairs(levels),
        )

    def public(self, *, key: bytes, previous: str = FEED_START) -> dict[str, Any]:
        """The record as an entry of a public results feed, chained to the entry before it.

        The member and the draw's id become keyed pseudonyms (``HMAC-SHA256`` under *key*,
        128 bits in hex): the same member has the same pseudonym in every entry, so a member
        shown theirs finds their draws, and nobody without *key* can tell whose they are. The
        ledger transaction's id is left out. The client seed and the proof are published as
        they are: anyone can verify the draw once the server seed is revealed. The entry
        carries ``format`` (2), ``previous`` and ``digest``, the SHA-256 of its canonical JSON
        without ``digest``: pass each entry's digest as the next one's *previous* and
        publish the last (the head) with the revealed seed.

        Args:
            key: The host's pseudonym key, at least 16 bytes, kept secret and kept the same,
                so that pseudonyms stay stable.
            previous: The digest of the entry before this one; :data:`FEED_START` (64 zeros)
                for a feed's first entry.

        Raises:
            InvalidArgumentError: If *key* is too short or *previous* is not a SHA-256 in hex.
        """
        secret = _check_key(key)
        document = self.to_dict()
        del document["transaction"]
        document["member"] = _pseudonym(secret, b"member", self.member)
        document["draw_id"] = _pseudonym(secret, b"draw", self.draw_id)
        document["format"] = PUBLIC_FORMAT
        document["previous"] = _check_digest("previous", previous)
        document["digest"] = entry_digest(document)
        return document


def entry_digest(entry: Mapping[str, Any]) -> str:
    """The SHA-256 of a feed entry's canonical JSON, its own ``digest`` left out."""
    body = {name: value for name, value in entry.items() if name != "digest"}
    text = json.dumps(
        body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False
    )
    return hashlib.sha256(text.encode()).hexdigest()


def _check_key(key: object) -> bytes:
    if not isinstance(key, bytes):
        raise ArgumentTypeError(f"key must be bytes, not {type_name(key)}")
    if len(key) < _KEY_BYTES_MIN:
        raise InvalidArgumentError(
            f"key has {len(key)} bytes; use at least {_KEY_BYTES_MIN} (secrets.token_bytes(32)), "
            "kept secret and kept the same"
        )
    return key


def _check_digest(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise ArgumentTypeError(f"{name}={value!r} must be a str, not {type_name(value)}")
    if len(value) != len(FEED_START) or value.strip("0123456789abcdef"):
        raise InvalidArgumentError(
            f"{name}={value!r} must be a SHA-256 in lowercase hex (64 characters)"
        )
    return value


def _pseudonym(key: bytes, domain: bytes, text: str) -> str:
    message = b"pointkit/" + domain + b"\x00" + text.encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:_PSEUDONYM_HEX]


# -- reading a record's fields --------------------------------------------------------------


def _bad(name: str, value: object, wanted: str) -> InvalidArgumentError:
    if value is None:
        return InvalidArgumentError(f"record.{name} is missing; it must be {wanted}")
    return InvalidArgumentError(f"record.{name}={value!r} must be {wanted}, not {type_name(value)}")


def _text(document: Mapping[str, Any], name: str) -> str:
    value = document.get(name)
    if not isinstance(value, str) or not value:
        raise _bad(name, value, "a non-empty str")
    return value


def _number(document: Mapping[str, Any], name: str) -> int:
    value = document.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(name, value, "an int")
    return value


def _instant(document: Mapping[str, Any]) -> datetime:
    text = _text(document, "at")
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise _bad("at", text, "an ISO 8601 instant with its offset") from None
    if at.tzinfo is None or at.utcoffset() is None:
        raise InvalidArgumentError(f"record.at={text!r} must have a UTC offset")
    return at


def _kind(document: Mapping[str, Any]) -> PrizeKind:
    value = document.get("kind")
    for kind in _KINDS:
        if value == kind:
            return kind  # type: ignore[no-any-return] # one of PrizeKind's literals
    raise _bad("kind", value, "one of " + ", ".join(repr(kind) for kind in _KINDS))


def _odds(document: Mapping[str, Any]) -> tuple[tuple[str, int], ...]:
    value = document.get("odds")
    wanted = "a list of [prize, weight] pairs"
    if not isinstance(value, list | tuple) or not value:
        raise _bad("odds", value, wanted)
    pairs: list[tuple[str, int]] = []
    for pair in value:
        if (
            not isinstance(pair, list | tuple)
            or len(pair) != 2  # noqa: PLR2004 - a pair
            or not isinstance(pair[0], str)
            or isinstance(pair[1], bool)
            or not isinstance(pair[1], int)
        ):
            raise _bad("odds", value, wanted)
        pairs.append((pair[0], pair[1]))
    return tuple(pairs)


def _pairs(value: object) -> tuple[tuple[int, int], ...]:
    wanted = "a list of [before, after] pairs of ints"
    if not isinstance(value, list | tuple) or not value:
        raise _bad("pity_levels", value, wanted)
    pairs: list[tuple[int, int]] = []
    for pair in value:
        if (
            not isinstance(pair, list | tuple)
            or len(pair) != 2  # noqa: PLR2004 - a pair
            or any(isinstance(item, bool) or not isinstance(item, int) for item in pair)
        ):
            raise _bad("pity_levels", value, wanted)
        pairs.append((pair[0], pair[1]))
    return tuple(pairs)


def _names(name: str, value: object) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not all(isinstance(item, str) for item in value):
        raise _bad(name, value, "a list of prize ids")
    return tuple(value)


def _proof(value: object) -> FairnessProof:
    if not isinstance(value, Mapping):
        raise _bad("fairness", value, "an object: commitment, client_seed, nonce, bound, value")
    fields = {"fairness." + name: value.get(name) for name in ("commitment", "client_seed")}
    for name, text in fields.items():
        if not isinstance(text, str) or not text:
            raise _bad(name, text, "a non-empty str")
    numbers = {}
    for name in ("nonce", "bound", "value", "version"):
        number = value.get(name, 1) if name == "version" else value.get(name)
        if isinstance(number, bool) or not isinstance(number, int):
            raise _bad(f"fairness.{name}", number, "an int")
        numbers[name] = number
    return FairnessProof(
        value["commitment"],
        value["client_seed"],
        numbers["nonce"],
        numbers["bound"],
        numbers["value"],
        version=numbers["version"],
    )


# -- verification ---------------------------------------------------------------------------


def verify(record: DrawRecord, server_seed: bytes, *, lottery: Lottery | None = None) -> None:
    """Check a provably fair draw offline, once its server seed is revealed.

    It checks that the seed hashes to the commitment published before the draw; that the
    seeds and nonce give the recorded value; that the odds' total is the proof's bound and
    the value selects the recorded prize; and that the pity counter moved as a pity counter
    can. Given the *lottery*, it also checks the record against its table: the lottery's id,
    table hash and cost, the prize's kind and points, the odds (the table's at
    ``pity_before`` with the recorded sold-out prizes) and ``pity_after``. The record's
    member, time and id are covered by the public feed's hash chain (:func:`check_feed`).

    Args:
        record: The draw's record, stored or read from a public feed entry.
        server_seed: The revealed server seed.
        lottery: The lottery the draw was made in, to check the record against its table.

    Raises:
        InvalidArgumentError: If the record is not a provably fair draw.
        FairnessError: If anything does not match; every mismatch is named.
    """
    if not isinstance(record, DrawRecord):
        raise ArgumentTypeError(f"record={record!r} must be a DrawRecord, not {type_name(record)}")
    if record.fairness is None:
        raise InvalidArgumentError(
            f"draw {record.draw_id!r} was not provably fair: nothing to verify"
        )
    problems = check_proof(record.fairness, server_seed)
    problems += _record_problems(record, record.fairness)
    if lottery is not None:
        problems += _table_problems(record, _check_lottery(lottery))
    if problems:
        raise FairnessError(record.draw_id, problems)


def _check_lottery(lottery: object) -> Lottery:
    from pointkit.pricing._lottery import Lottery  # noqa: PLC0415 - _lottery imports this module

    if not isinstance(lottery, Lottery):
        raise ArgumentTypeError(f"lottery={lottery!r} must be a Lottery, not {type_name(lottery)}")
    return lottery


def _record_problems(record: DrawRecord, proof: FairnessProof) -> list[str]:
    """What does not hold within the record itself."""
    problems: list[str] = []
    if record.value != proof.value:
        problems.append(f"value: the record says {record.value}, its proof {proof.value}")
    prizes = [prize for prize, _ in record.odds]
    if len(set(prizes)) != len(prizes) or any(weight < 0 for _, weight in record.odds):
        problems.append(f"odds: {list(record.odds)} must name each prize once, weights ≥ 0")
        return problems
    odds = Odds.from_weights(prizes, [weight for _, weight in record.odds])
    if proof.bound != odds.total:
        problems.append(f"bound: the proof draws below {proof.bound}, the odds total {odds.total}")
    elif 0 <= proof.value < odds.total and odds.pick(proof.value) != record.prize:
        problems.append(
            f"prize: value {proof.value} selects {odds.pick(proof.value)!r}, "
            f"the record says {record.prize!r}"
        )
    if record.pity_before < 0 or record.pity_after not in (0, record.pity_before + 1):
        problems.append(
            f"pity_after: a counter at pity_before={record.pity_before} goes to 0 or "
            f"{record.pity_before + 1}, the record says {record.pity_after}"
        )
    for index, (before, after) in enumerate(record.pity_levels or (), start=1):
        if before < 0 or after not in (0, before + 1):
            problems.append(
                f"pity_levels[{index - 1}]: guarantee {index + 1}'s counter at {before} goes to "
                f"0 or {before + 1}, the record says {after}"
            )
    problems.extend(
        f"sold_out: {prize!r} is sold out, but the odds give it a chance"
        for prize in record.sold_out or ()
        if prize not in prizes or odds.probability(prize) != 0
    )
    return problems


def _table_problems(record: DrawRecord, lottery: Lottery) -> list[str]:
    """What does not match between the record and the lottery's table."""
    if record.lottery != lottery.id:
        return [f"lottery: the record is of {record.lottery!r}, the table given is {lottery.id!r}"]
    if record.table_hash != lottery.table_hash:
        return [
            (
                f"table_hash: the record says {record.table_hash}, the table of {lottery.id!r} "
                f"hashes to {lottery.table_hash}"
            )
        ]
    problems: list[str] = []
    if record.cost != lottery.cost:
        problems.append(f"cost: the record says {record.cost}, a draw costs {lottery.cost}")
    if lottery.pity is None and record.pity_before != 0:
        problems.append(
            f"pity_before: {lottery.id!r} has no pity, so its counter is 0; the record says "
            f"{record.pity_before}"
        )
    stacked = _stacked_problems(record, lottery)
    if stacked:
        return problems + stacked
    prizes = {prize.id: prize for prize in lottery.prizes}
    won = prizes.get(record.prize)
    if won is None:
        problems.append(f"prize: {record.prize!r} is not a prize of {lottery.id!r}")
    else:
        if record.kind != won.kind:
            problems.append(f"kind: the record says {record.kind!r}, {won.id!r} is {won.kind!r}")
        if record.points_back != won.points:
            problems.append(
                f"points_back: the record says {record.points_back}, {won.id!r} gives {won.points}"
            )
        expected_after = lottery.pity_after(record.pity_before, won.id)
        if record.pity_after != expected_after:
            problems.append(
                f"pity_after: the pity rule moves {record.pity_before} to {expected_after} on "
                f"{won.id!r}, the record says {record.pity_after}"
            )
        problems += _moved_problems(record, lottery, won.id)
    problems += _odds_problems(record, lottery)
    return problems


def _stacked_problems(record: DrawRecord, lottery: Lottery) -> list[str]:
    """Whether the record keeps one more counter pair per stacked guarantee."""
    stacked = len(lottery.pities) - 1 if len(lottery.pities) > 1 else None
    given = None if record.pity_levels is None else len(record.pity_levels)
    if given == stacked:
        return []
    return [
        (
            f"pity_levels: {lottery.id!r} stacks {len(lottery.pities)} guarantees, so the "
            f"record keeps {stacked or 'no'} more counters; it keeps {given or 'none'}"
        )
    ]


def _moved_problems(record: DrawRecord, lottery: Lottery, prize: str) -> list[str]:
    """Whether each stacked guarantee's counter moved as its rule moves it on *prize*."""
    if record.pity_levels is None:
        return []
    moved = lottery.pities_after(record.pities_before, prize)[1:]
    return [
        f"pity_levels[{index}]: guarantee {index + 2} moves {before} to {moved[index]} on "
        f"{prize!r}, the record says {after}"
        for index, (before, after) in enumerate(record.pity_levels)
        if after != moved[index]
    ]


def _odds_problems(record: DrawRecord, lottery: Lottery) -> list[str]:
    """Whether the record's odds are the table's at its pity counter and sold-out prizes."""
    stock = {prize.id: prize.stock for prize in lottery.prizes if prize.stock is not None}
    if record.sold_out is not None:
        unknown = [prize for prize in record.sold_out if prize not in stock]
        if unknown:
            return [f"sold_out: {unknown} are not prizes of {lottery.id!r} with stock"]
        candidates: Iterable[tuple[str, ...]] = [record.sold_out]
    else:
        # A record written before sold_out was kept: any set of its zero-weight prizes with
        # stock may have been the sold-out one (a hard pity zeroes prizes in stock too).
        zero = [prize for prize, weight in record.odds if weight == 0 and prize in stock]
        if len(zero) > _LEGACY_SOLD_OUT_MAX:
            return [f"odds: {len(zero)} prizes may have been sold out; too many sets to try"]
        candidates = (
            subset for size in range(len(zero), -1, -1) for subset in combinations(zero, size)
        )
    actual = tuple(record.odds)
    first: tuple[tuple[str, int], ...] | None = None
    try:
        for candidate in candidates:
            odds = lottery.odds(
                sold={prize: stock[prize] for prize in candidate}, pity=record.pities_before
            )
            expected = tuple(zip(odds.prizes, odds.weights, strict=True))
            if expected == actual:
                return []
            first = expected if first is None else first
    except PointkitError as error:
        return [f"pity_before: {error}"]
    sold = "nothing" if not record.sold_out else ", ".join(record.sold_out)
    gives = [] if first is None else [list(pair) for pair in first]
    return [
        (
            f"odds: the table of {lottery.id!r} at pity {_counters(record)} with {sold} sold "
            f"out gives {gives}, the record says {[list(pair) for pair in actual]}"
        )
    ]


# -- a whole feed ---------------------------------------------------------------------------


@final
@attrs.frozen
class FeedCheck:
    """What :func:`check_feed` found.

    Attributes:
        entries: How many entries the feed has.
        problems: Every problem, each naming its entry (from 1) and its field.
        head: The digest of the feed's last entry (its head): compare it with the published
            one when none was given to check against.
    """

    entries: int
    problems: tuple[str, ...]
    head: str

    @property
    def ok(self) -> bool:
        """Whether every entry verified."""
        return not self.problems


def check_feed(
    entries: Sequence[object],
    server_seeds: Iterable[bytes],
    *,
    lotteries: Iterable[Lottery] = (),
    after: str = FEED_START,
    head: str | None = None,
) -> FeedCheck:
    """Check a published feed of draws offline, entry by entry and as a chain.

    Each entry must be a format 2 public entry (:meth:`DrawRecord.public`) of a provably fair
    draw that :func:`verify` accepts under the revealed seed whose SHA-256 is its commitment
    (checked against its lottery's table when that lottery is among *lotteries*); it must hash
    to its ``digest`` and name the entry before it as ``previous``. No two entries may share a
    draw id or a ``(commitment, client seed, nonce)``, and no lottery given may have given out
    more of a prize than its stock.

    Args:
        entries: The feed's entries, in order, as parsed from its JSON.
        server_seeds: The revealed server seeds the feed's draws were made under.
        lotteries: The lotteries' tables; without them the tables are not checked.
        after: The digest the first entry follows: :data:`FEED_START` for a whole feed.
        head: The published head, which the last entry's digest must be.

    Raises:
        InvalidArgumentError: If a seed, *after* or *head* is invalid.
    """
    seeds: dict[str, bytes] = {}
    for given in server_seeds:
        seed: object = given  # checked at run time whatever the annotation says
        if not isinstance(seed, bytes) or len(seed) < _SEED_BYTES_MIN:
            raise InvalidArgumentError(
                f"server_seeds: {seed!r} must be bytes, at least {_SEED_BYTES_MIN} of them"
            )
        seeds[hashlib.sha256(seed).hexdigest()] = seed
    tables = {lottery.id: lottery for lottery in map(_check_lottery, lotteries)}
    feed = _Feed(seeds, tables, _check_digest("after", after))
    expected_head = None if head is None else _check_digest("head", head)
    for number, entry in enumerate(entries, start=1):
        feed.check(number, entry)
    feed.check_stock()
    if expected_head is not None and feed.previous != expected_head:
        feed.problems.append(
            f"head: the feed ends at {feed.previous}, the published head is {expected_head}"
        )
    return FeedCheck(len(entries), tuple(feed.problems), feed.previous)


@attrs.define
class _Feed:
    """The state of one pass over a feed: the chain so far and what its entries used."""

    seeds: dict[str, bytes]
    tables: dict[str, Lottery]
    previous: str
    problems: list[str] = attrs.Factory(list)
    nonces: dict[tuple[str, str, int], int] = attrs.Factory(dict)
    draw_ids: dict[str, int] = attrs.Factory(dict)
    won: Counter[tuple[str, str]] = attrs.Factory(Counter)

    def check(self, number: int, entry: object) -> None:
        """Check the feed's entry *number*: its place in the chain, then its draw."""
        name = entry.get("draw_id") if isinstance(entry, Mapping) else None
        label = f"entry {number}" + (f" (draw {name!r})" if isinstance(name, str) else "")
        found: list[str] = []
        if isinstance(entry, Mapping):
            found += self._chain(entry)
            found += self._draw(number, entry)
        else:
            found.append(f"not a JSON object: {entry!r}")
            self.previous = "not an entry"
        self.problems += [f"{label}: {problem}" for problem in found]

    def _chain(self, entry: Mapping[str, Any]) -> list[str]:
        found: list[str] = []
        if entry.get("format") != PUBLIC_FORMAT:
            found.append(
                f"format: {entry.get('format')!r} is not {PUBLIC_FORMAT}: publish the records "
                "with DrawRecord.public(key=..., previous=...)"
            )
        given, digest = entry.get("digest"), entry_digest(entry)
        if given != digest:
            found.append(f"digest: the entry hashes to {digest}, it says {given!r}: it was changed")
        if entry.get("previous") != self.previous:
            found.append(
                f"previous: {entry.get('previous')!r} is not the digest of the entry before it "
                f"({self.previous}): entries were changed, taken out, added or reordered"
            )
        self.previous = given if isinstance(given, str) else digest
        return found

    def _draw(self, number: int, entry: Mapping[str, Any]) -> list[str]:
        try:
            record = DrawRecord.from_dict(entry)
        except InvalidArgumentError as error:
            return [str(error)]
        found: list[str] = []
        if record.draw_id in self.draw_ids:
            found.append(f"draw_id: entry {self.draw_ids[record.draw_id]} has the same draw")
        self.draw_ids.setdefault(record.draw_id, number)
        self.won[(record.lottery, record.prize)] += 1
        proof = record.fairness
        if proof is None:
            return [*found, "fairness: the draw was not provably fair: nothing verifies its value"]
        triple = (proof.commitment, proof.client_seed, proof.nonce)
        if triple in self.nonces:
            found.append(
                f"fairness.nonce: entry {self.nonces[triple]} drew nonce {proof.nonce} under the "
                "same server seed and client seed: a value used twice"
            )
        self.nonces.setdefault(triple, number)
        table = self.tables.get(record.lottery)
        if self.tables and table is None:
            found.append(f"lottery: {record.lottery!r} is not among the lotteries given")
        seed = self.seeds.get(proof.commitment)
        if seed is None:
            found.append(f"fairness.commitment: no server seed given hashes to {proof.commitment}")
            return found
        try:
            verify(record, seed, lottery=table)
        except FairnessError as error:
            found += error.problems
        return found

    def check_stock(self) -> None:
        """No lottery given gave out more of a prize than its stock."""
        for (lottery_id, prize_id), count in sorted(self.won.items()):
            table = self.tables.get(lottery_id)
            limits = {} if table is None else {prize.id: prize.stock for prize in table.prizes}
            stock = limits.get(prize_id)
            if stock is not None and count > stock:
                self.problems.append(
                    f"lottery {lottery_id!r}: the feed gives out {count} of {prize_id!r}, its "
                    f"stock is {stock}"
                )


def _counters(record: DrawRecord) -> str:
    """The record's pity counters as a message shows them: one, or stacked as ``(9, 41)``."""
    counts = record.pities_before
    return str(counts[0]) if len(counts) == 1 else str(counts)

"""Draw records and their provably fair verification.

A :class:`DrawRecord` is the immutable record of one draw: enough to show it, audit it and
recompute it, and its JSON form is what is stored. :func:`verify` checks a provably fair draw
offline once its server seed is revealed.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, final

import attrs

from pointkit._validate import type_name
from pointkit.exceptions import ArgumentTypeError, FairnessError, InvalidArgumentError
from pointkit.pricing._lottery_odds import Odds
from pointkit.pricing._random import FairnessProof, check_proof


if TYPE_CHECKING:
    from collections.abc import Mapping

    from pointkit.pricing._lottery_prizes import PrizeKind


__all__ = ["DrawRecord", "verify"]

_MASK_MIN: Final = 3  # member ids shorter than this are masked whole in the public feed


@final
@attrs.frozen
class DrawRecord:
    """The immutable record of one draw: enough to show it, audit it and recompute it.

    Attributes:
        draw_id: The draw's id (its idempotency key).
        lottery: The lottery's id.
        member: The member.
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
        transaction: The id of the ledger transaction that took the points.
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
    transaction: str

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
        return document

    def to_json(self) -> str:
        """The record as canonical JSON."""
        return json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_dict(cls, document: Mapping[str, Any]) -> DrawRecord:
        """Rebuild a record from :meth:`to_dict`'s data."""
        fairness = document["fairness"]
        return cls(
            draw_id=document["draw_id"],
            lottery=document["lottery"],
            member=document["member"],
            at=datetime.fromisoformat(document["at"]),
            cost=document["cost"],
            prize=document["prize"],
            kind=document["kind"],
            points_back=document["points_back"],
            table_hash=document["table_hash"],
            odds=tuple((str(prize), int(weight)) for prize, weight in document["odds"]),
            value=document["value"],
            pity_before=document["pity_before"],
            pity_after=document["pity_after"],
            fairness=None if fairness is None else FairnessProof(**fairness),
            transaction=document["transaction"],
        )

    def public(self) -> dict[str, Any]:
        """The record for a public results feed: the member masked, the proof kept."""
        document = self.to_dict()
        member = self.member
        keep = max(1, len(member) // 4)
        document["member"] = (
            member[:keep] + "*" * 3 + member[-keep:] if len(member) >= _MASK_MIN else "***"
        )
        del document["transaction"]
        return document


def verify(record: DrawRecord, server_seed: bytes) -> None:
    """Check a provably fair draw offline, once its server seed is revealed.

    It checks that the seed hashes to the commitment published before the draw, that the seeds
    and nonce give the recorded value, and that the value selects the recorded prize under the
    recorded odds.

    Raises:
        InvalidArgumentError: If the record is not a provably fair draw, or anything does not
            match (every mismatch is named).
    """
    if not isinstance(record, DrawRecord):
        raise ArgumentTypeError(f"record={record!r} must be a DrawRecord, not {type_name(record)}")
    if record.fairness is None:
        raise InvalidArgumentError(
            f"draw {record.draw_id!r} was not provably fair: nothing to verify"
        )
    problems = check_proof(record.fairness, server_seed)
    odds = Odds.from_weights([p for p, _ in record.odds], [w for _, w in record.odds])
    if record.fairness.bound != odds.total:
        problems.append(
            f"bound: the proof draws below {record.fairness.bound}, the odds total {odds.total}"
        )
    elif odds.pick(record.fairness.value) != record.prize:
        problems.append(
            f"prize: value {record.fairness.value} selects {odds.pick(record.fairness.value)!r}, "
            f"the record says {record.prize!r}"
        )
    if record.value != record.fairness.value:
        problems.append(f"value: the record says {record.value}, its proof {record.fairness.value}")
    if problems:
        raise FairnessError(record.draw_id, problems)

"""A programme's campaigns: coupons, referrals, anti-cheat, missions and badges, group buys.

Maintainer's notes
------------------
Each campaign has its own section of the programme file and its own reader module
(``_config_coupons``, ``_config_referrals``, ``_config_guard``, ``_config_missions``,
``_config_group_buys``). :class:`Campaigns` gathers what they read into one value on
:class:`~pointkit.program.ProgramConfig` (``config.campaigns``), so the configuration keeps one
field per concern rather than one per campaign, and :func:`read_campaigns` is the one place the
document's campaign sections are read. What ties a campaign to the rest of the programme — an
offer, a prize, a mission or an earning rule that issues a coupon, a currency a reward pays
in — is checked by
:func:`campaign_problems` with the other pieces.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Final, cast, final

import attrs

from pointkit._validate import type_name
from pointkit.campaigns import (
    AntiCheat,
    CouponDefinition,
    GroupBuyDeal,
    MissionBook,
    ReferralProgram,
)
from pointkit.exceptions import ArgumentTypeError
from pointkit.program._config_coupons import read_coupons
from pointkit.program._config_group_buys import read_group_buys
from pointkit.program._config_guard import read_anti_cheat
from pointkit.program._config_missions import read_mission_book
from pointkit.program._config_referrals import read_referrals


if TYPE_CHECKING:
    from collections.abc import Sequence
    from zoneinfo import ZoneInfo

    from pointkit.pricing import Lottery, Offer
    from pointkit.program._config_reader import ConfigReader
    from pointkit.rules import RuleSet


__all__ = ["CAMPAIGN_SECTIONS", "Campaigns", "campaign_problems", "read_campaigns"]

CAMPAIGN_SECTIONS: Final = (
    "coupons",
    "referrals",
    "anti_cheat",
    "missions",
    "badges",
    "group_buys",
)
"""The programme file's campaign sections."""


def _items(value: object, kind: type, name: str) -> tuple[object, ...]:
    if isinstance(value, str | bytes | Mapping) or not hasattr(value, "__iter__"):
        raise ArgumentTypeError(f"{name}={value!r} must be a sequence of {kind.__name__}")
    items = tuple(value)
    for item in items:
        if not isinstance(item, kind):
            raise ArgumentTypeError(
                f"{name} must hold {kind.__name__} items, not {type_name(item)}"
            )
    return items


def _one(value: object, kind: type, name: str) -> object:
    if value is not None and not isinstance(value, kind):
        raise ArgumentTypeError(
            f"{name}={value!r} must be a {kind.__name__} or None, not {type_name(value)}"
        )
    return value


def _coupons(value: object) -> tuple[CouponDefinition, ...]:
    return cast("tuple[CouponDefinition, ...]", _items(value, CouponDefinition, "coupons"))


def _group_buys(value: object) -> tuple[GroupBuyDeal, ...]:
    return cast("tuple[GroupBuyDeal, ...]", _items(value, GroupBuyDeal, "group_buys"))


def _referrals(value: object) -> ReferralProgram | None:
    return cast("ReferralProgram | None", _one(value, ReferralProgram, "referrals"))


def _anti_cheat(value: object) -> AntiCheat | None:
    return cast("AntiCheat | None", _one(value, AntiCheat, "anti_cheat"))


def _missions(value: object) -> MissionBook | None:
    return cast("MissionBook | None", _one(value, MissionBook, "missions"))


@final
@attrs.frozen(kw_only=True)
class Campaigns:
    """The campaigns a programme runs, each as its checked definition.

    Attributes:
        coupons: Coupon definitions (``[[coupons]]``): what a coupon takes off an order, its
            window, uses, stock and limits.
        referrals: The referral programme (``[referrals]``), if any.
        anti_cheat: Velocity rules and blocklists (``[anti_cheat]``), if any. Freezing members
            needs none.
        missions: Missions and badges (``[[missions]]``, ``[[badges]]``), if any.
        group_buys: Group-buy deals (``[[group_buys]]``).
    """

    coupons: tuple[CouponDefinition, ...] = attrs.field(default=(), converter=_coupons)
    referrals: ReferralProgram | None = attrs.field(default=None, converter=_referrals)
    anti_cheat: AntiCheat | None = attrs.field(default=None, converter=_anti_cheat)
    missions: MissionBook | None = attrs.field(default=None, converter=_missions)
    group_buys: tuple[GroupBuyDeal, ...] = attrs.field(default=(), converter=_group_buys)

    @property
    def coupon_ids(self) -> frozenset[str]:
        """The ids of the coupon definitions."""
        return frozenset(coupon.id for coupon in self.coupons)


def read_campaigns(
    reader: ConfigReader, found: Mapping[str, object], zone: ZoneInfo, default: str
) -> Campaigns:
    """Read the document's campaign sections, recording every problem with its path."""
    coupons = read_coupons(reader, found.get("coupons", []), zone)
    referrals = (
        None if "referrals" not in found else read_referrals(reader, found["referrals"], zone)
    )
    anti_cheat = None if "anti_cheat" not in found else read_anti_cheat(reader, found["anti_cheat"])
    missions = None
    if "missions" in found or "badges" in found:
        missions = read_mission_book(
            reader, found.get("missions", []), found.get("badges", []), zone
        )
    group_buys = read_group_buys(reader, found.get("group_buys", []), default) or ()
    if reader.problems:
        return Campaigns()
    return Campaigns(
        coupons=coupons,
        referrals=referrals,
        anti_cheat=anti_cheat,
        missions=missions,
        group_buys=group_buys,
    )


def _coupon_problem(path: str, name: str | None, known: frozenset[str]) -> list[str]:
    if name is None or name in known:
        return []
    listed = ", ".join(repr(coupon) for coupon in sorted(known)) or "none"
    return [f"{path}: {name!r} is not the id of a [[coupons]] item ({listed})"]


def _currency_problem(path: str, code: str | None, currencies: Sequence[str]) -> list[str]:
    if code is None or code in currencies:
        return []
    return [f"{path}: {code!r} is not one of the program's currencies {list(currencies)}"]


def campaign_problems(
    campaigns: Campaigns,
    *,
    currencies: Sequence[str],
    offers: Sequence[Offer],
    lotteries: Sequence[Lottery],
    rules: RuleSet | None = None,
) -> list[str]:
    """What ties the campaigns to the rest of the programme, checked: each problem with its path.

    *rules* are the earning rules: each coupon a rule issues must be declared.
    """
    known = campaigns.coupon_ids
    problems: list[str] = []
    for index, rule in enumerate(() if rules is None else rules.rules):
        problems += _coupon_problem(f"earning.rules[{index}].coupon", rule.coupon, known)
    for index, offer in enumerate(offers):
        problems += _coupon_problem(f"offers[{index}].coupon", offer.coupon, known)
    for index, lottery in enumerate(lotteries):
        for number, prize in enumerate(lottery.prizes):
            path = f"lotteries[{index}].prizes[{number}].coupon"
            problems += _coupon_problem(path, prize.coupon, known)
    missions = () if campaigns.missions is None else campaigns.missions.missions
    for index, mission in enumerate(missions):
        reward = mission.reward
        problems += _coupon_problem(f"missions[{index}].reward.coupon", reward.coupon, known)
        path = f"missions[{index}].reward.currency"
        problems += _currency_problem(path, reward.currency, currencies)
    if campaigns.referrals is not None:
        path = "referrals.currency"
        problems += _currency_problem(path, campaigns.referrals.currency, currencies)
    for index, deal in enumerate(campaigns.group_buys):
        problems += _currency_problem(f"group_buys[{index}].currency", deal.currency, currencies)
    return problems

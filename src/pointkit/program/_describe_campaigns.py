"""What a programme's campaigns declare, in words: the campaign part of ``pointkit check``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pointkit.campaigns import (
    AmountOff,
    CountGoal,
    CouponDefinition,
    DaysGoal,
    FreeShipping,
    Gift,
    GroupBuyDeal,
    Mission,
    PercentOff,
    SumGoal,
)


if TYPE_CHECKING:
    from pointkit.campaigns import CouponReward, Goal
    from pointkit.program._config import ProgramConfig


__all__ = ["describe_campaigns"]


def _reward(reward: CouponReward) -> str:
    if isinstance(reward, AmountOff):
        return f"{reward.amount} off"
    if isinstance(reward, PercentOff):
        cap = "" if reward.cap is None else f", at most {reward.cap}"
        return f"{reward.percent}% off{cap}"
    if isinstance(reward, FreeShipping):
        return "free shipping"
    if isinstance(reward, Gift):
        return f"gift {reward.item}"
    raise AssertionError("unreachable")


def _coupon(coupon: CouponDefinition) -> str:
    parts = [_reward(coupon.reward)]
    if coupon.minimum_spend is not None:
        parts.append(f"on {coupon.minimum_spend} or more")
    if coupon.categories:
        parts.append("in " + ", ".join(sorted(coupon.categories)))
    if coupon.valid_days is not None:
        parts.append(f"valid {coupon.valid_days} days")
    parts.append("1 use" if coupon.uses == 1 else f"{coupon.uses} uses")
    parts.append("unlimited" if coupon.stock is None else f"stock {coupon.stock}")
    return f"{coupon.id} ({coupon.name}): " + ", ".join(parts)


def _goal(goal: Goal) -> str:
    kinds = ", ".join(sorted(goal.kinds))
    if isinstance(goal, CountGoal):
        return f"{goal.target} {goal.label} ({kinds})"
    if isinstance(goal, DaysGoal):
        return f"{goal.target} {goal.label} with {kinds}"
    if isinstance(goal, SumGoal):
        return f"{goal.attribute} of {kinds} adding up to {goal.target}"
    raise AssertionError("unreachable")


def _mission(mission: Mission) -> str:
    times = {None: "every time", 1: "once"}.get(mission.times, f"at most {mission.times} times")
    gate = "" if not mission.segments else f"; segments {', '.join(sorted(mission.segments))}"
    return (
        f"{mission.id} ({mission.name}): {_goal(mission.goal)} per {mission.period}, {times}: "
        f"{mission.reward.describe()}{gate}"
    )


def _group_buy(deal: GroupBuyDeal) -> str:
    cash = "" if deal.cash is None else f" + {deal.cash}"
    stock = "unlimited" if deal.stock is None else f"stock {deal.stock} {deal.stock_unit}"
    return (
        f"{deal.id} ({deal.name}): {deal.size} members at {deal.points:,} {deal.currency}{cash} "
        f"each, filled within {deal.fill_seconds:,} s, {stock}"
    )


def describe_campaigns(config: ProgramConfig) -> list[str]:
    """The lines ``pointkit check`` prints for *config*'s segments and campaigns."""
    lines: list[str] = []
    campaigns = config.campaigns
    if config.segments is not None and config.segments.names:
        lines += ["", "segments: " + ", ".join(config.segments.names)]
    if campaigns.coupons:
        lines += ["", "Coupons", *(_coupon(coupon) for coupon in campaigns.coupons)]
    if campaigns.referrals is not None:
        terms = campaigns.referrals
        minimum = "" if terms.minimum is None else f" of {terms.minimum} or more"
        cap = "" if terms.cap is None else f"; at most {terms.cap} per referrer per {terms.per}"
        text = (
            f"referrals: {terms.referrer_points:,} points to the referrer and "
            f"{terms.invitee_points:,} to the invitee after a {terms.action}{minimum} within "
            f"{terms.within_days} days{cap}"
        )
        lines += ["", text]
    if campaigns.missions is not None:
        book = campaigns.missions
        lines += ["", "Missions", *(_mission(mission) for mission in book.missions)]
        if book.badges:
            lines.append("badges: " + ", ".join(f"{b.id} ({b.name})" for b in book.badges))
    if campaigns.group_buys:
        lines += ["", "Group buys", *(_group_buy(deal) for deal in campaigns.group_buys)]
    if campaigns.anti_cheat is not None:
        rules = campaigns.anti_cheat
        lines += ["", "Anti-cheat"]
        lines += [
            f"{rule.name}: more than {rule.limit} {', '.join(rule.kinds)} per {rule.per}"
            f"{'' if rule.by is None else f' per {rule.by}'}: {rule.action}"
            for rule in rules.velocity
        ]
        lines += [
            f"blocklist of {blocklist.attribute}: {len(blocklist.values)} values"
            for blocklist in rules.blocklists
        ]
    return lines

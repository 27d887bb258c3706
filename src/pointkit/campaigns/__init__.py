"""Campaigns' pure decisions.

Coupons and their codes, referrals, missions and badges, group buys, anti-cheat and segments.
Like ``pointkit.rules`` and ``pointkit.pricing``, nothing here reads a clock, a random source or
a database: definitions are checked values, and decisions are functions of explicit inputs. The
features that run them on the ledger are in ``pointkit.features``.
"""

from pointkit.campaigns._codes import (
    DEFAULT_ALPHABET,
    DEFAULT_PATTERN,
    LOOK_ALIKES,
    SPACE_PER_COUPON_MIN,
    CodeFormat,
    normalize_code,
)
from pointkit.campaigns._coupons import (
    AmountOff,
    CouponDefinition,
    CouponReward,
    CouponUse,
    Discount,
    FreeShipping,
    Gift,
    IssuedCoupon,
    Order,
    PercentOff,
)
from pointkit.campaigns._group_buys import GroupBuyDeal, GroupStatus, StockUnit
from pointkit.campaigns._guard import (
    AntiCheat,
    Blocklist,
    FreezeState,
    Screening,
    VelocityAction,
    VelocityRule,
    VelocityWindow,
)
from pointkit.campaigns._mission_book import (
    BadgeAward,
    Completion,
    MissionBook,
    MissionDecision,
    MissionExplanation,
)
from pointkit.campaigns._missions import (
    Badge,
    CountGoal,
    DaysGoal,
    Goal,
    Mission,
    MissionPeriod,
    MissionReward,
    SumGoal,
)
from pointkit.campaigns._referrals import (
    REFERRAL_CODES,
    Referral,
    ReferralPeriod,
    ReferralProgram,
    ReferralStatus,
    identity_digest,
    referral_code,
    settle,
)


__all__ = [
    "DEFAULT_ALPHABET",
    "DEFAULT_PATTERN",
    "LOOK_ALIKES",
    "REFERRAL_CODES",
    "SPACE_PER_COUPON_MIN",
    "AmountOff",
    "AntiCheat",
    "Badge",
    "BadgeAward",
    "Blocklist",
    "CodeFormat",
    "Completion",
    "CountGoal",
    "CouponDefinition",
    "CouponReward",
    "CouponUse",
    "DaysGoal",
    "Discount",
    "FreeShipping",
    "FreezeState",
    "Gift",
    "Goal",
    "GroupBuyDeal",
    "GroupStatus",
    "IssuedCoupon",
    "Mission",
    "MissionBook",
    "MissionDecision",
    "MissionExplanation",
    "MissionPeriod",
    "MissionReward",
    "Order",
    "PercentOff",
    "Referral",
    "ReferralPeriod",
    "ReferralProgram",
    "ReferralStatus",
    "Screening",
    "StockUnit",
    "SumGoal",
    "VelocityAction",
    "VelocityRule",
    "VelocityWindow",
    "identity_digest",
    "normalize_code",
    "referral_code",
    "settle",
]

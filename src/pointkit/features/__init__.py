"""Features above the ledger: earning, tiers, the catalogue, lotteries and conversions.

Each feature is its own module with its own storage part, and runs its commands in the
ledger's linked units of work (:meth:`pointkit.ledger.Ledger.linked`), so what it records
commits with the points it posts. The ledger imports none of them. Most hosts use them through
:class:`pointkit.program.Program`; a host that wants one feature without the rest makes it on
its ledger: ``Catalogue(ledger)``. See docs/design.md.
"""

from pointkit.features._audit import ProgramAuditReport, audit_program
from pointkit.features._catalogue import Catalogue
from pointkit.features._coupons import Coupons
from pointkit.features._earning import Earning, EventObserver
from pointkit.features._events import (
    BadgeEarned,
    ConversionDone,
    CouponIssued,
    CouponRevoked,
    CouponUseChanged,
    DrawWon,
    GroupBuyChanged,
    MemberFreezeChanged,
    MissionCompleted,
    RedemptionChanged,
    ReferralChanged,
    ReviewChanged,
    TierChanged,
)
from pointkit.features._exchange import Conversions
from pointkit.features._group_buys import GroupBuy, GroupBuyExpiry, GroupBuys
from pointkit.features._guard import FreezeChange, Guard, Review
from pointkit.features._lottery import Draws
from pointkit.features._missions import BadgeStatus, MissionOutcome, MissionProgress, Missions
from pointkit.features._parts import (
    CounterKey,
    RecordAuditUnit,
    RecordReadUnit,
    RecordsReading,
    RecordsWriting,
    RecordWriteUnit,
    RuleEventRecord,
    StoredRuleEvent,
    TierAuditUnit,
    TierReadUnit,
    TiersReading,
    TiersWriting,
    TierWriteUnit,
)
from pointkit.features._referrals import ReferralReward, Referrals
from pointkit.features._report_parts import (
    CohortPoints,
    DayFlows,
    LocalDay,
    OfferSales,
    PrizeDraws,
    ReportReadUnit,
    day_flows,
    local_days,
)
from pointkit.features._results import (
    ConversionResult,
    DrawResult,
    EventOutcome,
    Redemption,
    RedemptionRefund,
    RedemptionStatus,
    TierStatus,
)
from pointkit.features._tiers import Tiers


__all__ = [
    "BadgeEarned",
    "BadgeStatus",
    "Catalogue",
    "CohortPoints",
    "ConversionDone",
    "ConversionResult",
    "Conversions",
    "CounterKey",
    "CouponIssued",
    "CouponRevoked",
    "CouponUseChanged",
    "Coupons",
    "DayFlows",
    "DrawResult",
    "DrawWon",
    "Draws",
    "Earning",
    "EventObserver",
    "EventOutcome",
    "FreezeChange",
    "GroupBuy",
    "GroupBuyChanged",
    "GroupBuyExpiry",
    "GroupBuys",
    "Guard",
    "LocalDay",
    "MemberFreezeChanged",
    "MissionCompleted",
    "MissionOutcome",
    "MissionProgress",
    "Missions",
    "OfferSales",
    "PrizeDraws",
    "ProgramAuditReport",
    "RecordAuditUnit",
    "RecordReadUnit",
    "RecordWriteUnit",
    "RecordsReading",
    "RecordsWriting",
    "Redemption",
    "RedemptionChanged",
    "RedemptionRefund",
    "RedemptionStatus",
    "ReferralChanged",
    "ReferralReward",
    "Referrals",
    "ReportReadUnit",
    "Review",
    "ReviewChanged",
    "RuleEventRecord",
    "StoredRuleEvent",
    "TierAuditUnit",
    "TierChanged",
    "TierReadUnit",
    "TierStatus",
    "TierWriteUnit",
    "Tiers",
    "TiersReading",
    "TiersWriting",
    "audit_program",
    "day_flows",
    "local_days",
]

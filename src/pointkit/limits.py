"""Every named limit in pointkit.

Anything that can grow has a bound here, so that every loop over user data is bounded and every
value fits the columns a host database gives it. Units come last in the names
(``HOLD_TIMEOUT_SECONDS_MAX``). Going over a limit raises
:class:`~pointkit.exceptions.LimitExceededError`, which names the limit.

>>> from pointkit import limits
>>> limits.POINTS_MAX == 2**63 - 1
True
"""

from typing import Final


__all__ = [
    "ALLOCATION_PARTS_MAX",
    "BADGES_MAX",
    "BATCH_MAX",
    "BLOCKLIST_VALUES_MAX",
    "BUDGETS_MAX",
    "CAPS_MAX",
    "CLEARING_DATES_MAX",
    "CONDITION_DEPTH_MAX",
    "CONDITION_NODES_MAX",
    "CONDITION_VALUES_MAX",
    "CONVERSIONS_MAX",
    "CONVERSION_BONUSES_MAX",
    "COUPONS_LISTED_MAX",
    "COUPONS_MAX",
    "COUPON_CATEGORIES_MAX",
    "COUPON_CODE_LENGTH_MAX",
    "COUPON_STOCK_MAX",
    "COUPON_USES_MAX",
    "COUPON_VALID_DAYS_MAX",
    "CURRENCIES_MAX",
    "CURRENCY_CODE_LENGTH_MAX",
    "CURRENCY_DECIMALS_MAX",
    "EVENT_ATTRIBUTES_MAX",
    "EVENT_KINDS_MAX",
    "EVENT_LINES_MAX",
    "EVENT_NAME_LENGTH_MAX",
    "EVENT_STRINGS_MAX",
    "EVENT_TEXT_LENGTH_MAX",
    "EXPIRING_PAGE_MAX",
    "EXPIRY_BATCH_MAX",
    "EXPIRY_DAYS_MAX",
    "EXPIRY_LOTS_PER_SET_UNIT",
    "EXPIRY_LOTS_PER_UNIT",
    "EXPIRY_MONTHS_MAX",
    "EXPIRY_OFFSET_MAX",
    "EXPIRY_RULE_OVERRIDES_MAX",
    "GROUPS_MAX",
    "GROUP_BUYS_MAX",
    "GROUP_BUY_SIZE_MAX",
    "HOLD_TIMEOUT_SECONDS_MAX",
    "IDEMPOTENCY_KEY_LENGTH_MAX",
    "ID_LENGTH_MAX",
    "LOTS_PER_COMMAND_MAX",
    "MEMBER_ID_LENGTH_MAX",
    "MEMBER_TAGS_MAX",
    "METADATA_ENTRIES_MAX",
    "METADATA_KEY_LENGTH_MAX",
    "METADATA_VALUE_LENGTH_MAX",
    "MISSIONS_MAX",
    "MISSION_REPEATS_MAX",
    "MONEY_DIGITS_MAX",
    "NAME_LENGTH_MAX",
    "OFFER_LIMITS_MAX",
    "OFFER_QUANTITY_MAX",
    "OUTBOX_CONSUMER_LENGTH_MAX",
    "OUTBOX_READ_MAX",
    "PITY_DRAWS_MAX",
    "POINTS_MAX",
    "PRICE_BUNDLES_MAX",
    "PRIZES_MAX",
    "PROGRAM_ID_LENGTH_MAX",
    "REASON_LENGTH_MAX",
    "REFERRALS_LISTED_MAX",
    "REFERRAL_CAP_MAX",
    "REFERRAL_WINDOW_DAYS_MAX",
    "RULES_DOCUMENT_LENGTH_MAX",
    "RULES_MAX",
    "RULE_BONUSES_MAX",
    "RULE_MULTIPLIERS_MAX",
    "RULE_MULTIPLIER_MAX",
    "RULE_NAME_LENGTH_MAX",
    "RULE_PRIORITY_MAX",
    "SIMULATION_DRAWS_MAX",
    "STATEMENT_LINES_MAX",
    "STOCK_MAX",
    "STORAGE_RETRIES_MAX",
    "STREAK_LADDER_MAX",
    "TIERS_MAX",
    "TIER_EARN_MULTIPLIER_MAX",
    "TIER_GRACE_DAYS_MAX",
    "TIER_HISTORY_MAX",
    "TIER_NAME_LENGTH_MAX",
    "TIER_PERKS_MAX",
    "TIER_REVIEW_DATES_MAX",
    "TIER_REVIEW_MONTHS_MAX",
    "TIER_TEXT_LENGTH_MAX",
    "TIER_WINDOW_MONTHS_MAX",
    "VELOCITY_LIMIT_MAX",
    "VELOCITY_RULES_MAX",
]

POINTS_MAX: Final = 2**63 - 1
"""The largest amount of points, in a currency's smallest unit: a host's BIGINT holds it."""

MONEY_DIGITS_MAX: Final = 28
"""The most significant digits a money amount may have (the default decimal context's precision)."""

CURRENCY_DECIMALS_MAX: Final = 8
"""The most decimal places a point or money currency may declare."""

CURRENCY_CODE_LENGTH_MAX: Final = 32
"""The longest point-currency code (``"points"``, ``"tier_credits"``, ``"airline_miles"``)."""

CURRENCIES_MAX: Final = 64
"""The most point currencies one ledger may hold."""

MEMBER_ID_LENGTH_MAX: Final = 128
"""The longest member id, in characters."""

PROGRAM_ID_LENGTH_MAX: Final = 64
"""The longest program (tenant) id, in characters."""

IDEMPOTENCY_KEY_LENGTH_MAX: Final = 200
"""The longest idempotency key, in characters."""

REASON_LENGTH_MAX: Final = 500
"""The longest free-text reason on a transaction (adjustments must give one)."""

TIER_HISTORY_MAX: Final = 10_000
"""Most tier changes one call of ``Tiers.history`` returns."""

RULE_NAME_LENGTH_MAX: Final = 64
"""Longest name of an earning rule, in characters."""

OUTBOX_CONSUMER_LENGTH_MAX: Final = 64
"""Longest name of an outbox consumer, in characters."""

OUTBOX_READ_MAX: Final = 10_000
"""Most events one outbox read returns."""

EXPIRING_PAGE_MAX: Final = 10_000
"""Most entries in one page of the program-wide listing of upcoming expiries."""

METADATA_ENTRIES_MAX: Final = 32
"""The most metadata entries one transaction may carry."""

METADATA_KEY_LENGTH_MAX: Final = 64
"""The longest metadata key, in characters."""

METADATA_VALUE_LENGTH_MAX: Final = 512
"""The longest metadata value, in characters."""

LOTS_PER_COMMAND_MAX: Final = 10_000
"""The most lots one command may consume, restore or create; a bound on every lot loop, and
the most lots one expiry transaction takes from a wallet."""

HOLD_TIMEOUT_SECONDS_MAX: Final = 90 * 24 * 3600
"""The longest a hold may stay open before it times out: 90 days."""

EXPIRY_BATCH_MAX: Final = 10_000
"""The most holds and due lots one call of ``expire_due`` reads; it expires the wallets those
lots are in whole."""

STATEMENT_LINES_MAX: Final = 10_000
"""The most lines one statement page may hold."""

STORAGE_RETRIES_MAX: Final = 8
"""The most times a ledger command is retried after a transient storage error (busy database,
deadlock, serialization failure) before the error is raised."""

BATCH_MAX: Final = 1_000
"""The most commands one batch call (``Ledger.earn_many``) may carry."""

EXPIRY_LOTS_PER_UNIT: Final = 500
"""The most lots an expiry run expires in one unit of work (one database transaction), in
whole wallets: a wallet with more due lots is a unit of its own."""

EXPIRY_LOTS_PER_SET_UNIT: Final = 5_000
"""The most lots an expiry run expires in one unit of work when the storage writes them
set-based, in SQL (SQLite, PostgreSQL), in whole wallets as ``EXPIRY_LOTS_PER_UNIT``."""


EXPIRY_MONTHS_MAX: Final = 1_200
"""The longest expiry or inactivity window counted in calendar months: 100 years."""

EXPIRY_DAYS_MAX: Final = 36_525
"""The longest expiry window counted in days of 24 hours (about 100 years); also bounds a
fixed-dates window's ``min_days``."""

EXPIRY_OFFSET_MAX: Final = 100
"""The most periods an end-of-period expiry window may add after the period of earning."""

CLEARING_DATES_MAX: Final = 24
"""The most yearly clearing dates one fixed-dates expiry window may list: two a month."""

EXPIRY_RULE_OVERRIDES_MAX: Final = 1_000
"""The most per-rule overrides one expiry policy may hold."""


TIERS_MAX: Final = 100
"""The most tiers one ladder may have (hosted programs allow up to 100 tier levels)."""

TIER_NAME_LENGTH_MAX: Final = 64
"""The longest tier name, in characters; tier states store it."""

TIER_TEXT_LENGTH_MAX: Final = 200
"""The longest perk name or qualifying-metric description, in characters."""

TIER_PERKS_MAX: Final = 32
"""The most perks one tier's benefits may list."""

TIER_EARN_MULTIPLIER_MAX: Final = 100
"""The largest earn multiplier a tier may give."""

TIER_WINDOW_MONTHS_MAX: Final = 120
"""The longest rolling qualification window, in calendar months: 10 years."""

TIER_REVIEW_MONTHS_MAX: Final = 120
"""The longest interval between tier reviews counted from a tier's start, in calendar months."""

TIER_REVIEW_DATES_MAX: Final = 12
"""The most yearly review dates one tier ladder may list: one a month."""

TIER_GRACE_DAYS_MAX: Final = 730
"""The longest grace before a downgrade, in local calendar days: two years."""


RULES_MAX: Final = 1_000
"""The most earning rules one rule set may hold."""

RULE_PRIORITY_MAX: Final = 1_000_000
"""The largest priority of an earning rule, either way (priorities run from minus this to this)."""

RULE_BONUSES_MAX: Final = 32
"""The most bonuses one earning rule may list."""

RULE_MULTIPLIERS_MAX: Final = 32
"""The most campaign multipliers one earning rule may list."""

RULE_MULTIPLIER_MAX: Final = 100
"""The largest factor of a campaign multiplier."""

CAPS_MAX: Final = 8
"""The most caps one earning rule, or one rule set program-wide, may list."""

BUDGETS_MAX: Final = 1_000
"""The most campaign budgets one rule set may declare."""

GROUPS_MAX: Final = 1_000
"""The most stacking groups one rule set may declare."""

CONDITION_DEPTH_MAX: Final = 16
"""The deepest nesting of one condition, expressions included (a single comparison is 2 deep)."""

CONDITION_NODES_MAX: Final = 256
"""The most nodes one condition may hold, expressions included."""

CONDITION_VALUES_MAX: Final = 1_000
"""The most values one condition may list (``In`` values, ``OnDates`` dates)."""

EVENT_KINDS_MAX: Final = 256
"""The most event kinds one event registry may hold, built-in kinds included."""

EVENT_NAME_LENGTH_MAX: Final = 64
"""The longest event kind or event attribute name, in characters."""

EVENT_ATTRIBUTES_MAX: Final = 32
"""The most attributes one event may carry."""

EVENT_TEXT_LENGTH_MAX: Final = 2_000
"""The longest text value of an event attribute (a product id, a share channel), in characters."""

EVENT_STRINGS_MAX: Final = 256
"""The most items one list-of-text event attribute (tags, categories) may hold."""

EVENT_LINES_MAX: Final = 1_000
"""The most order lines one purchase event may carry."""

MEMBER_TAGS_MAX: Final = 256
"""The most tags a member context may carry for rule conditions."""

STREAK_LADDER_MAX: Final = 366
"""The most steps of a streak ladder: a year of daily rewards."""

RULES_DOCUMENT_LENGTH_MAX: Final = 10_000_000
"""The longest rule-set document (JSON or TOML) that loading reads, in characters."""


NAME_LENGTH_MAX: Final = 200
"""The longest display name of an offer, a lottery or a prize, in characters."""

ID_LENGTH_MAX: Final = 64
"""The longest id of an offer, a lottery, a prize or a conversion, in characters."""

PRICE_BUNDLES_MAX: Final = 32
"""The most fixed points + cash bundles one price may list."""

OFFER_LIMITS_MAX: Final = 8
"""The most per-member limits one offer may declare."""

OFFER_QUANTITY_MAX: Final = 1_000
"""The most units of one offer a single redemption may take."""

STOCK_MAX: Final = 10**12
"""The largest stock of an offer or a prize."""

PRIZES_MAX: Final = 100
"""The most prizes one lottery's table may hold."""

PITY_DRAWS_MAX: Final = 10_000
"""The longest pity: the most draws a guarantee may take to arrive."""

CONVERSIONS_MAX: Final = 1_000
"""The most conversions between point currencies one exchange may hold."""

CONVERSION_BONUSES_MAX: Final = 32
"""The most bonus tiers one conversion may list."""

ALLOCATION_PARTS_MAX: Final = 10_000
"""The most parts (order lines) one allocation may split a total into."""

SIMULATION_DRAWS_MAX: Final = 100_000_000
"""The most draws one batch simulation may make."""

COUPONS_MAX: Final = 1_000
"""The most coupon definitions one programme may declare."""

COUPON_STOCK_MAX: Final = 10**8
"""The most coupons of one definition; a definition without a stock is sized for this many."""

COUPON_USES_MAX: Final = 1_000
"""The most times one coupon may be used."""

COUPON_VALID_DAYS_MAX: Final = 3_660
"""The longest validity of a coupon after its issue, in days of 24 hours."""

COUPON_CATEGORIES_MAX: Final = 256
"""The most product categories one coupon definition may name."""

COUPON_CODE_LENGTH_MAX: Final = 64
"""The longest coupon code (and code pattern), in characters."""

COUPONS_LISTED_MAX: Final = 1_000
"""The most coupons one listing of a member's coupons returns."""


MISSIONS_MAX: Final = 1_000
"""The most missions one programme may declare."""

BADGES_MAX: Final = 1_000
"""The most badges one programme may declare."""

MISSION_REPEATS_MAX: Final = 10_000
"""The most times one member may complete one repeatable mission."""

GROUP_BUY_SIZE_MAX: Final = 100
"""The most members one group buy may need to fill."""

GROUP_BUYS_MAX: Final = 1_000
"""The most group-buy deals one programme may declare."""

REFERRAL_WINDOW_DAYS_MAX: Final = 3_650
"""The longest window, in days after attribution, for an invitee's qualifying action."""

REFERRAL_CAP_MAX: Final = 1_000_000
"""The most rewarded referrals a referrer's cap may allow in one period."""

REFERRALS_LISTED_MAX: Final = 10_000
"""The most referrals one read of a referrer's referrals returns."""

VELOCITY_RULES_MAX: Final = 100
"""The most velocity rules one anti-cheat definition may hold."""

VELOCITY_LIMIT_MAX: Final = 1_000_000
"""The most events a velocity rule may allow in one window."""

BLOCKLIST_VALUES_MAX: Final = 100_000
"""The most values all of one anti-cheat definition's blocklists may hold together."""

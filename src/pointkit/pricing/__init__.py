"""Pricing: what points are worth, what they buy, how they convert, and lotteries that cost them.

This package is pure: it reads no storage and no clock, and draws only from the random source
it is given. It owns the reference :class:`Valuation`; points + cash prices (:class:`Price`,
:class:`Bundle`, :class:`PointsSplit`) that never undercharge and state the value per point
they imply; conversions between point currencies (:class:`Conversion`, :class:`Exchange`) that
cannot mint points by round trips; catalogue :class:`Offer` rules; exact allocation of a
payment over order lines (:func:`allocate`, :func:`allocate_payment`); lotteries with exact
odds, stock, pity, disclosure and provably fair draws (:class:`Lottery`); and liability and
IFRS 15 helpers. The features commit what it decides: see ``Catalogue.redeem``,
``Conversions.convert`` and ``Draws.draw`` in :mod:`pointkit.features`, and docs/pricing.md
and docs/lottery.md.
"""

from pointkit.pricing._allocation import LineShare, PaymentAllocation, allocate, allocate_payment
from pointkit.pricing._exchange import Conversion, ConversionBonus, ConversionQuote, Exchange
from pointkit.pricing._liability import (
    DEFAULT_BUCKETS,
    Liability,
    LiabilityBucket,
    PointsAllocation,
    RevenuePeriod,
    allocate_price,
    liability,
    recognise,
)
from pointkit.pricing._lottery import (
    Disclosure,
    DisclosureRow,
    DrawRecord,
    Expectation,
    Lottery,
    MinorsPolicy,
    Odds,
    Pity,
    Prize,
    PrizeKind,
    Simulation,
    verify,
)
from pointkit.pricing._offers import REFUND_POLICIES, Offer, OfferLimit, RefundPolicy
from pointkit.pricing._random import (
    FairnessProof,
    ProvablyFair,
    RandomSource,
    SecretsRandom,
    SeededRandom,
    fair_value,
)
from pointkit.pricing._split import Bundle, OptionKind, PointsSplit, Price, PriceOption
from pointkit.pricing._valuation import Valuation


__all__ = [
    "DEFAULT_BUCKETS",
    "REFUND_POLICIES",
    "Bundle",
    "Conversion",
    "ConversionBonus",
    "ConversionQuote",
    "Disclosure",
    "DisclosureRow",
    "DrawRecord",
    "Exchange",
    "Expectation",
    "FairnessProof",
    "Liability",
    "LiabilityBucket",
    "LineShare",
    "Lottery",
    "MinorsPolicy",
    "Odds",
    "Offer",
    "OfferLimit",
    "OptionKind",
    "PaymentAllocation",
    "Pity",
    "PointsAllocation",
    "PointsSplit",
    "Price",
    "PriceOption",
    "Prize",
    "PrizeKind",
    "ProvablyFair",
    "RandomSource",
    "RefundPolicy",
    "RevenuePeriod",
    "SecretsRandom",
    "SeededRandom",
    "Simulation",
    "Valuation",
    "allocate",
    "allocate_payment",
    "allocate_price",
    "fair_value",
    "liability",
    "recognise",
    "verify",
]

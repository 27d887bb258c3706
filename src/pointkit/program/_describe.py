"""What a programme file declares, as text: the report ``pointkit check`` prints.

It lives beside the configuration rather than in the command line so that every tool that shows
a programme (``pointkit check``, the operator console) prints the same text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pointkit._text import table
from pointkit.program._describe_campaigns import describe_campaigns


if TYPE_CHECKING:
    from pointkit.program._config import ProgramConfig


__all__ = ["describe"]


def describe(config: ProgramConfig) -> str:
    """Return what a programme's configuration declares, as plain text.

    The zone and currencies, the valuation and expiry, the tier ladder, the earning rules, the
    offers with their price options, each lottery's odds table (in Chinese and in English), the
    conversions, the transfer policy, the segments and the campaigns: what ``pointkit check``
    prints.

    >>> from pointkit.program import ProgramConfig
    >>> print(describe(ProgramConfig(id="mall", zone="Asia/Shanghai")))
    program 'mall' in Asia/Shanghai
    currencies: points
    <BLANKLINE>
    transfers: not allowed

    Args:
        config: The programme's configuration.

    Returns:
        The text, one declaration per line, without a final newline.
    """
    lines = [f"program {config.id!r} in {config.zone.key}"]
    lines.append("currencies: " + ", ".join(currency.code for currency in config.currencies))
    if config.valuation is not None:
        lines.append(f"valuation: {config.valuation.describe()}")
    if config.expiry is not None:
        lines.append(f"expiry: {config.expiry.default.describe()}")
    if config.tiers is not None:
        rows = [["tier", "threshold", "earn", "discount", "perks"]]
        rows += [
            [
                tier.name,
                f"{tier.threshold:,}",
                f"x{tier.benefits.earn_multiplier}",
                f"{tier.benefits.price_discount}",
                ", ".join(tier.benefits.perks),
            ]
            for tier in config.tiers.tiers
        ]
        lines += ["", "Tiers", *table(rows, "lrrrl")]
    if config.rules is not None:
        lines += ["", "Earning rules", config.rules.describe()]
    if config.offers:
        lines += ["", "Offers"]
        for offer in config.offers:
            stock = "unlimited" if offer.stock is None else f"stock {offer.stock}"
            lines.append(f"{offer.id} ({offer.name}, {stock}, refund: {offer.refund})")
            lines += [
                f"  {option.id}: {option.describe()}"
                for option in offer.options(reference=config.valuation)
            ]
    for lottery in config.lotteries:
        lines += ["", lottery.disclosure().to_text("zh"), "", lottery.disclosure().to_text("en")]
    if config.exchange is not None:
        lines += ["", "Conversions"]
        lines += [
            f"{c.id}: {c.source} -> {c.target} at {c.ratio}, blocks of {c.block}"
            for c in config.exchange.conversions
        ]
    transfers = config.transfers
    lines += ["", f"transfers: {'allowed' if transfers.allowed else 'not allowed'}"]
    lines += describe_campaigns(config)
    return "\n".join(lines)

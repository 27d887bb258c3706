"""Reading the ``[[group_buys]]`` section of a programme file into group-buy deals.

::

    [[group_buys]]
    id = "tea-3"
    name = "Tea for three"
    item = "tea-gift-box"            # a catalogue offer's id, or an item of the deal's own
    size = 3
    points = 800
    cash = "9.90 CNY"                # optional, collected by the host
    fill_seconds = 86400
    stock = 50                       # optional; unlimited without it
    stock_unit = "groups"            # or "units" (one per member)
    hold_grace_seconds = 86400       # optional
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from pointkit.campaigns import GroupBuyDeal
from pointkit.campaigns._group_buys import check_deals
from pointkit.exceptions import ConfigurationError


if TYPE_CHECKING:
    from pointkit.program._config_reader import ConfigReader


__all__ = ["read_group_buy", "read_group_buys"]

_FIELDS: Final = (
    "cash",
    "currency",
    "stock",
    "stock_unit",
    "hold_grace_seconds",
    "starts_at",
    "ends_at",
)


def read_group_buy(
    reader: ConfigReader, data: object, path: str, default: str
) -> GroupBuyDeal | None:
    """Read one ``[[group_buys]]`` item; ``None`` if it has problems (recorded with their paths).

    Args:
        reader: Collects the problems.
        data: The item.
        path: Its TOML path (``group_buys[0]``).
        default: The programme's default point currency.
    """
    found = reader.options(
        data, path, ("id", "name", "item", "size", "points", "fill_seconds"), _FIELDS
    )
    if found is None:
        return None
    cash = None if "cash" not in found else reader.cash(found["cash"], f"{path}.cash")
    starts = (
        None if "starts_at" not in found else reader.moment(found["starts_at"], f"{path}.starts_at")
    )
    ends = None if "ends_at" not in found else reader.moment(found["ends_at"], f"{path}.ends_at")
    if "cash" in found and cash is None:
        return None
    options = {
        name: found[name] for name in ("stock", "stock_unit", "hold_grace_seconds") if name in found
    }
    return reader.make(
        path,
        lambda: GroupBuyDeal(
            found["id"],
            found["name"],
            item=found["item"],
            size=found["size"],
            points=found["points"],
            fill_seconds=found["fill_seconds"],
            cash=cash,
            currency=found.get("currency", default),
            starts_at=starts,
            ends_at=ends,
            **options,
        ),
    )


def read_group_buys(
    reader: ConfigReader, data: object, default: str
) -> tuple[GroupBuyDeal, ...] | None:
    """Read the ``[[group_buys]]`` list; ``None`` if any item had problems (all recorded)."""
    deals = [
        read_group_buy(reader, item, path, default)
        for path, item in reader.items(data, "group_buys")
    ]
    if None in deals:
        return None
    try:
        return check_deals([deal for deal in deals if deal is not None])
    except ConfigurationError as error:
        reader.problems.extend(error.problems)
        return None

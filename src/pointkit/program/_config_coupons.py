"""Reading the programme file's ``[[coupons]]`` section into coupon definitions.

One item of the list section is one :class:`~pointkit.campaigns.CouponDefinition`. Its reward
is one of four keys, exactly one of which is given: ``amount_off = "10.00 CNY"``,
``percent_off = "15"`` (an exact percentage; ``cap`` bounds it), ``free_shipping = true`` or
``gift = "<item id>"``. Every other field is the definition's keyword of the same name; money is
written ``"100.00 CNY"``, instants with their UTC offset, limits as the offers' are
(``limits = [{ count = 1, per = "month" }]``).

>>> from zoneinfo import ZoneInfo
>>> from pointkit.program._config_reader import ConfigReader
>>> reader = ConfigReader()
>>> [item.id for item in read_coupons(reader, [
...     {"id": "welcome-15", "name": "15% off", "percent_off": "15", "cap": "50.00 CNY"},
... ], ZoneInfo("Asia/Shanghai"))]
['welcome-15']
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any, Final

from pointkit.campaigns import (
    AmountOff,
    CouponDefinition,
    CouponReward,
    FreeShipping,
    Gift,
    PercentOff,
)
from pointkit.pricing import OfferLimit


if TYPE_CHECKING:
    from collections.abc import Mapping
    from zoneinfo import ZoneInfo

    from pointkit.program._config_reader import ConfigReader


__all__ = ["read_coupon", "read_coupons"]

_REWARD_FIELDS: Final = ("amount_off", "percent_off", "free_shipping", "gift")
_COUPON_FIELDS: Final = (
    *_REWARD_FIELDS,
    "cap",
    "minimum_spend",
    "categories",
    "starts_at",
    "ends_at",
    "valid_days",
    "uses",
    "stock",
    "limits",
    "pattern",
    "alphabet",
)


def _reward(reader: ConfigReader, found: Mapping[str, Any], path: str) -> CouponReward | None:
    given = [name for name in _REWARD_FIELDS if name in found]
    if len(given) != 1:
        listed = ", ".join(_REWARD_FIELDS)
        reader.fail(path, f"give exactly one reward of {listed}; found {len(given)}")
        return None
    name = given[0]
    value = found[name]
    if "cap" in found and name != "percent_off":
        reader.fail(f"{path}.cap", "bounds a percent_off reward only")
        return None
    reward: CouponReward | None = None
    if name == "amount_off":
        amount = reader.cash(value, f"{path}.amount_off")
        if amount is not None:
            reward = reader.make(f"{path}.amount_off", partial(AmountOff, amount))
    elif name == "percent_off":
        percent = reader.exact(value, f"{path}.percent_off")
        cap = None if "cap" not in found else reader.cash(found["cap"], f"{path}.cap")
        if percent is not None and ("cap" not in found or cap is not None):
            reward = reader.make(f"{path}.percent_off", partial(PercentOff, percent, cap))
    elif name == "free_shipping":
        if value is not True:
            reader.fail(f"{path}.free_shipping", f"must be true when given, got {value!r}")
        else:
            reward = FreeShipping()
    else:
        reward = reader.make(f"{path}.gift", partial(Gift, value))
    return reward


def read_coupon(
    reader: ConfigReader, data: object, path: str, zone: ZoneInfo
) -> CouponDefinition | None:
    """Read one ``[[coupons]]`` item at *path*; ``None`` if anything failed (recorded)."""
    found = reader.options(data, path, ("id", "name"), _COUPON_FIELDS)
    if found is None:
        return None
    reward = _reward(reader, found, path)
    minimum = (
        None
        if "minimum_spend" not in found
        else reader.cash(found["minimum_spend"], f"{path}.minimum_spend")
    )
    categories = (
        None
        if "categories" not in found
        else reader.strings(found["categories"], f"{path}.categories")
    )
    limits: list[OfferLimit] = []
    for item_path, item in reader.items(found.get("limits", []), f"{path}.limits"):
        spec = reader.options(item, item_path, ("count",), ("per",))
        if spec is not None:
            limit = reader.make(
                item_path, partial(OfferLimit, spec["count"], spec.get("per", "lifetime"))
            )
            if limit is not None:
                limits.append(limit)
    starts = (
        None if "starts_at" not in found else reader.moment(found["starts_at"], f"{path}.starts_at")
    )
    ends = None if "ends_at" not in found else reader.moment(found["ends_at"], f"{path}.ends_at")
    if reward is None:
        return None
    return reader.make(
        path,
        lambda: CouponDefinition(
            found["id"],
            found["name"],
            reward,
            minimum_spend=minimum,
            categories=categories,
            starts_at=starts,
            ends_at=ends,
            valid_days=found.get("valid_days"),
            uses=found.get("uses", 1),
            stock=found.get("stock"),
            limits=limits,
            zone=zone,
            pattern=found.get("pattern", "PK-####-####"),
            alphabet=found.get("alphabet"),
        ),
    )


def read_coupons(reader: ConfigReader, data: object, zone: ZoneInfo) -> list[CouponDefinition]:
    """Read the ``[[coupons]]`` list; every problem is recorded, ids checked unique.

    Returns:
        The definitions that read cleanly, in order (check ``reader.problems`` for the rest).
    """
    read: list[CouponDefinition] = []
    seen: set[str] = set()
    for path, item in reader.items(data, "coupons"):
        definition = read_coupon(reader, item, path, zone)
        if definition is None:
            continue
        if definition.id in seen:
            reader.fail(f"{path}.id", f"{definition.id!r} is used twice")
            continue
        seen.add(definition.id)
        read.append(definition)
    return read

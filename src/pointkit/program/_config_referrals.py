"""Reading the ``[referrals]`` section of a programme file into the referral terms.

>>> from pointkit.program._config_reader import ConfigReader
>>> reader = ConfigReader()
>>> terms = read_referrals(reader, {"referrer_points": 500, "invitee_points": 200, "minimum": "100.00 CNY", "cap": 10}, "Asia/Shanghai")
>>> str(terms.minimum), terms.cap, terms.per, reader.problems
('100.00 CNY', 10, 'month', [])
>>> read_referrals(reader, {"referrer_points": 500, "invitee_points": 200, "cap": 0, "bonus": 1}, "UTC")
>>> reader.problems
["referrals.bonus: unknown field; valid fields are 'referrer_points', 'invitee_points', 'action', 'minimum', 'within_days', 'cap', 'per', 'currency'", 'referrals.cap: 0 must be an int from 1 to 1000000']
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from pointkit.campaigns import ReferralProgram


if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from pointkit.program._config_reader import ConfigReader


__all__ = ["read_referrals"]

_OPTIONAL: Final = ("action", "minimum", "within_days", "cap", "per", "currency")


def read_referrals(
    reader: ConfigReader, data: object, zone: ZoneInfo | str, path: str = "referrals"
) -> ReferralProgram | None:
    """Read ``[referrals]`` into a :class:`~pointkit.campaigns.ReferralProgram`.

    Args:
        reader: Collects every problem with its TOML path.
        data: The section's table.
        zone: The programme's time zone: the cap's periods are counted in it.
        path: The section's path in the file.

    Returns:
        The terms, or ``None`` when anything failed (the problems are in *reader*).
    """
    found = reader.options(data, path, ("referrer_points", "invitee_points"), _OPTIONAL)
    if found is None:
        return None
    minimum = None
    if "minimum" in found:
        minimum = reader.cash(found["minimum"], f"{path}.minimum")
        if minimum is None:
            return None
    return reader.make(
        path,
        lambda: ReferralProgram(
            found["referrer_points"],
            found["invitee_points"],
            action=found.get("action", "purchase"),
            minimum=minimum,
            within_days=found.get("within_days", 30),
            cap=found.get("cap"),
            per=found.get("per", "month"),
            zone=zone,
            currency=found.get("currency"),
        ),
    )

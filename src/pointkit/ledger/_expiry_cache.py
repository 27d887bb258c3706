"""Expiry instants of credits, computed once per window and instant.

Crediting points computes when they expire (:meth:`ExpiryWindow.expires_at`): a calendar
walk in the program's zone. The six window types are immutable values and that method is
pure, and the credits of a batch, of an hour of a simulation or of a busy second share their
instant, so each result is kept (a bounded cache) and computed once.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING


if TYPE_CHECKING:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from pointkit.expiry import ExpiryWindow


__all__ = ["expiry_of"]


def expiry_of(window: ExpiryWindow, start: datetime, zone: ZoneInfo) -> datetime | None:
    """When points credited at *start* expire under *window*, in *zone*'s calendar.

    The cache key holds *start*'s time zone and fold as well as the instant (datetimes that
    compare equal may differ in both), so a cached result is the very one the window would
    compute.

    Raises:
        InvalidArgumentError: If the expiry would fall outside the years 1 to 9999.
    """
    return _expiry_of(window, start, start.tzinfo, start.fold, zone)


@functools.lru_cache(maxsize=1_024)
def _expiry_of(
    window: ExpiryWindow,
    start: datetime,
    _tzinfo: object,
    _fold: int,
    zone: ZoneInfo,
) -> datetime | None:
    return window.expires_at(start, zone)

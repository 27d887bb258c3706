"""Expiry: when earned points expire, as pure date arithmetic in the program's time zone.

This package owns the expiry windows (:class:`Never`, :class:`RollingMonths`,
:class:`RollingDays`, :class:`EndOfPeriod`, :class:`FixedDates`, :class:`Inactivity`), the
:class:`ExpiryPolicy` that picks a window per point currency and per earning rule, and the
reminder check :func:`expiring_within`. It reads no storage and no clock; the ledger calls it.

Local time follows three rules, the same for every window:

* a computed wall time that does not exist (the spring-forward gap) moves forward to the first
  instant after the gap;
* an ambiguous wall time (the autumn fold) resolves to the earlier of its two instants;
* an earning in the second pass of a repeated interval counts from the last wall time of the
  first pass (01:59:59.999999 when clocks fall back from 02:00 to 01:00), so that a later
  earning never expires earlier.

Every expiry is an aware UTC datetime strictly after the earning; a lot is due when
``expires_at <= now``. See docs/expiry.md.
"""

from pointkit.expiry._policy import ExpiryPolicy, expiring_within
from pointkit.expiry._windows import (
    EndOfPeriod,
    ExpiryWindow,
    FixedDates,
    Inactivity,
    Never,
    RollingDays,
    RollingMonths,
)


__all__ = [
    "EndOfPeriod",
    "ExpiryPolicy",
    "ExpiryWindow",
    "FixedDates",
    "Inactivity",
    "Never",
    "RollingDays",
    "RollingMonths",
    "expiring_within",
]

"""The expiry policy of a program, and the reminder check.

Maintainer's notes
------------------
An :class:`ExpiryPolicy` is configuration an operator writes, so its constructor collects every
problem before it raises one :class:`ConfigurationError` that lists them all. The windows it is
given are already built (and so already valid); the policy checks only their types, the time
zone and the keys of the overrides. Overrides are stored as pairs sorted by key, so the policy
is immutable and hashable, and are found by bisection.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import TYPE_CHECKING, Final, TypeAlias, final

import attrs

from pointkit import limits
from pointkit._validate import check_aware, check_text, check_zone, type_name
from pointkit._values import PointCurrency
from pointkit.exceptions import ArgumentTypeError, ConfigurationError, InvalidArgumentError
from pointkit.expiry._windows import WINDOW_TYPES, ExpiryWindow, Never


if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from zoneinfo import ZoneInfo


__all__ = ["ExpiryPolicy", "expiring_within"]

Overrides: TypeAlias = tuple[tuple[str, ExpiryWindow], ...]

_NEVER: Final = Never()
_NO_OVERRIDES: Final[Mapping[str, ExpiryWindow]] = MappingProxyType({})
_WINDOWS_VALID: Final = (
    "an expiry window (Never, RollingMonths, RollingDays, EndOfPeriod, FixedDates or Inactivity)"
)
_CURRENCY_VALID: Final = (
    f"a point-currency code: 1 to {limits.CURRENCY_CODE_LENGTH_MAX} lower-case letters, "
    "digits and underscores, starting with a letter"
)
_RULE_VALID: Final = (
    f"a rule name: 1 to {limits.RULE_NAME_LENGTH_MAX} printable characters without leading or "
    "trailing whitespace"
)


def _is_currency_code(key: str) -> bool:
    # The ledger's own definition of a point-currency code, so the two never disagree.
    try:
        PointCurrency(key)
    except InvalidArgumentError:
        return False
    return True


def _is_rule_name(key: str) -> bool:
    try:
        check_text(
            "rule", key, max_length=limits.RULE_NAME_LENGTH_MAX, limit_name="RULE_NAME_LENGTH_MAX"
        )
    except InvalidArgumentError:
        return False
    return True


def _window(field: str, value: object, problems: list[str]) -> ExpiryWindow:
    if isinstance(value, WINDOW_TYPES):
        return value
    problems.append(f"{field}={value!r} must be {_WINDOWS_VALID}, not {type_name(value)}")
    return _NEVER


def _items(
    field: str, value: object, problems: list[str], *, keys: str
) -> list[tuple[object, object]]:
    """Return the entries of an override mapping, or of the pairs an override attribute holds."""
    if isinstance(value, Mapping):
        return list(value.items())
    if isinstance(value, tuple | list):
        # The stored form, so that attrs.evolve(policy, ...) rebuilds the policy.
        pairs = [item for item in value if isinstance(item, tuple) and len(item) == 2]  # noqa: PLR2004 - pairs
        if len(pairs) == len(value):
            return [(key, window) for key, window in pairs]
    problems.append(
        f"{field}={value!r} must be a mapping of {keys} to expiry window, not {type_name(value)}"
    )
    return []


def _overrides(
    field: str,
    value: object,
    problems: list[str],
    *,
    keys: str,
    valid_key: Callable[[str], bool],
    key_rule: str,
    limit: int,
    limit_name: str,
) -> Overrides:
    items = _items(field, value, problems, keys=keys)
    if len(items) > limit:
        problems.append(f"{field} has {len(items)} entries, over limits.{limit_name} ({limit})")
        return ()
    found: dict[str, ExpiryWindow] = {}
    for key, window in items:
        checked = _window(f"{field}[{key!r}]", window, problems)
        if not isinstance(key, str) or not valid_key(key):
            problems.append(f"{field}[{key!r}]: the key must be {key_rule}")
        elif key in found:
            problems.append(f"{field}[{key!r}] is given twice")
        else:
            found[key] = checked
    return tuple(sorted(found.items(), key=lambda pair: pair[0]))


def _lookup(overrides: Overrides, key: str) -> ExpiryWindow | None:
    index = bisect_left(overrides, key, key=lambda pair: pair[0])
    if index < len(overrides) and overrides[index][0] == key:
        return overrides[index][1]
    return None


@final
@attrs.frozen(init=False)
class ExpiryPolicy:
    """When a program's points expire: a default window, per-currency and per-rule overrides.

    The window for an earning is the override of the rule that awarded it, else the override
    of its point currency, else the default. All calendar arithmetic happens in the program's
    time zone.

    >>> from datetime import datetime
    >>> from pointkit.expiry import EndOfPeriod, Never, RollingDays
    >>> policy = ExpiryPolicy(
    ...     "Asia/Shanghai",
    ...     default=EndOfPeriod("year", offset=1),
    ...     currencies={"tier_credits": Never()},
    ...     rules={"double_11_bonus": RollingDays(30)},
    ... )
    >>> policy.window_for("points", "double_11_bonus").describe()
    '30 days of 24 hours after earning'
    >>> policy.expires_at(datetime(2026, 5, 1, tzinfo=policy.zone), "points").isoformat()
    '2027-12-31T16:00:00+00:00'

    Args:
        zone: The program's IANA time zone, as a name or a ``ZoneInfo``.
        default: The window for points no override covers; :class:`Never` if omitted.
        currencies: Windows by point-currency code, up to ``limits.CURRENCIES_MAX``.
        rules: Windows by earning-rule name, up to ``limits.EXPIRY_RULE_OVERRIDES_MAX``; they
            win over the currency's window.

    Raises:
        ConfigurationError: Listing every problem: an unknown time zone, a value that is not
            an expiry window, a key that is not a currency code or a rule name, too many
            overrides, an inactivity window as a rule's override.

    Attributes:
        zone: The program's time zone.
        default: The window for points no override covers.
        currencies: ``(currency code, window)`` pairs, sorted by code.
        rules: ``(rule name, window)`` pairs, sorted by name.
    """

    zone: ZoneInfo
    default: ExpiryWindow
    currencies: Overrides
    rules: Overrides

    def __init__(
        self,
        zone: str | ZoneInfo,
        default: ExpiryWindow = _NEVER,
        currencies: Mapping[str, ExpiryWindow] | Iterable[tuple[str, ExpiryWindow]] = _NO_OVERRIDES,
        rules: Mapping[str, ExpiryWindow] | Iterable[tuple[str, ExpiryWindow]] = _NO_OVERRIDES,
    ) -> None:
        problems: list[str] = []
        try:
            program_zone: ZoneInfo | None = check_zone("zone", zone)
        except InvalidArgumentError as error:
            problems.append(str(error))
            program_zone = None
        checked_default = _window("default", default, problems)
        by_currency = _overrides(
            "currencies",
            currencies,
            problems,
            keys="point-currency code",
            valid_key=_is_currency_code,
            key_rule=_CURRENCY_VALID,
            limit=limits.CURRENCIES_MAX,
            limit_name="CURRENCIES_MAX",
        )
        by_rule = _overrides(
            "rules",
            rules,
            problems,
            keys="rule name",
            valid_key=_is_rule_name,
            key_rule=_RULE_VALID,
            limit=limits.EXPIRY_RULE_OVERRIDES_MAX,
            limit_name="EXPIRY_RULE_OVERRIDES_MAX",
        )
        # An inactivity window is about a member's whole balance in a currency: each activity
        # moves every such lot to one date. A rule cannot have its own.
        problems.extend(
            f"rules[{name!r}]={window!r}: an inactivity window applies to a whole currency; "
            "set it as the default or in currencies"
            for name, window in by_rule
            if window.follows_activity
        )
        if problems or program_zone is None:
            raise ConfigurationError("ExpiryPolicy", problems)
        self.__attrs_init__(program_zone, checked_default, by_currency, by_rule)

    def window_for(self, currency: str, rule: str | None = None) -> ExpiryWindow:
        """Return the window for points of *currency* awarded by *rule*.

        The rule's override wins over the currency's, which wins over the default. A currency
        or rule without an override gets the next one down.

        Raises:
            ArgumentTypeError: If *currency* is not a str, or *rule* neither a str nor None.
        """
        given_currency: object = currency  # checked at run time whatever the annotation says
        given_rule: object = rule
        if not isinstance(given_currency, str):
            raise ArgumentTypeError(
                f"currency={given_currency!r} must be a str, not {type_name(given_currency)}"
            )
        if given_rule is not None and not isinstance(given_rule, str):
            raise ArgumentTypeError(
                f"rule={given_rule!r} must be a str or None, not {type_name(given_rule)}"
            )
        if given_rule is not None:
            by_rule = _lookup(self.rules, given_rule)
            if by_rule is not None:
                return by_rule
        by_currency = _lookup(self.currencies, given_currency)
        return self.default if by_currency is None else by_currency

    def expires_at(
        self, earned_at: datetime, currency: str, rule: str | None = None
    ) -> datetime | None:
        """Return when points of *currency* that *rule* awarded at *earned_at* expire.

        Returns:
            The aware UTC instant at which they expire, or ``None`` if they never do.

        Raises:
            NaiveDatetimeError: If *earned_at* has no time zone.
            ArgumentTypeError: If *currency* or *rule* has the wrong type.
        """
        return self.window_for(currency, rule).expires_at(earned_at, self.zone)


def expiring_within(expires_at: datetime | None, *, now: datetime, within: timedelta) -> bool:
    """Return whether points expiring at *expires_at* are still there at *now* but not for long.

    That is ``now < expires_at <= now + within``: the span a "use your points before ..."
    reminder covers. Points are gone at their expiry instant (a lot is due when
    ``expires_at <= now``), so points expiring exactly at *now* are already lost, and points
    that never expire (``None``) never need a reminder.

    >>> from datetime import UTC, datetime, timedelta
    >>> now = datetime(2026, 6, 1, tzinfo=UTC)
    >>> expiring_within(datetime(2026, 6, 30, 16, 0, tzinfo=UTC), now=now, within=timedelta(days=30))
    True
    >>> expiring_within(now, now=now, within=timedelta(days=30))
    False

    Args:
        expires_at: When the points expire, or ``None`` for never.
        now: The current instant.
        within: How far ahead to look; a positive ``timedelta``.

    Raises:
        NaiveDatetimeError: If *expires_at* or *now* has no time zone.
        ArgumentTypeError: If *within* is not a ``timedelta``.
        InvalidArgumentError: If *within* is not positive.
    """
    current = check_aware("now", now)
    given: object = within  # checked at run time whatever the annotation says
    if not isinstance(given, timedelta):
        raise ArgumentTypeError(f"within={given!r} must be a timedelta, not {type_name(given)}")
    if given <= timedelta(0):
        raise InvalidArgumentError(f"within={given!r} must be a positive timedelta")
    if expires_at is None:
        return False
    left = check_aware("expires_at", expires_at) - current
    # Subtracting, not adding within to now, so no horizon overflows the calendar.
    return timedelta(0) < left <= given

"""The value codec: attribute and constant values as JSON-ready data and back, and as text.

Events and condition constants share it: ints, bools and strings are themselves in JSON, every
other type is a one-key object (``{"decimal": "1.50"}``, ``{"date": "2026-03-01"}``) or, for
money, ``{"amount": "10.00", "currency": "CNY"}``. :func:`show_value` writes a value the way
explanations and condition traces show it.
"""

from __future__ import annotations

import decimal
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Final

from pointkit._values import Money, MoneyCurrency
from pointkit.exceptions import ArgumentTypeError, InvalidArgumentError
from pointkit.rules._attributes import MISSING, Line, check_value


if TYPE_CHECKING:
    from collections.abc import Callable

    from pointkit.rules._attributes import AttributeValue


__all__ = [
    "decode_money",
    "decode_value",
    "encode_money",
    "encode_value",
    "show_value",
]


def encode_money(value: Money) -> dict[str, object]:
    """Return money as ``{"amount": "10.00", "currency": "CNY"}`` (plus ``decimals`` off ISO)."""
    currency = value.currency
    data: dict[str, object] = {"amount": str(value.amount), "currency": currency.code}
    if currency.code in _ISO_CODES:
        iso = _ISO_CODES[currency.code]
    else:
        try:
            iso = MoneyCurrency.iso(currency.code)
        except InvalidArgumentError:
            iso = None
        _ISO_CODES[currency.code] = iso
    if iso != currency:
        data["decimals"] = currency.decimals
    return data


_ISO_CODES: Final[dict[str, MoneyCurrency | None]] = {}
"""Each currency code seen, with its ISO 4217 currency or ``None`` (at most 26**3 codes)."""


def decode_money(name: str, data: object) -> Money:
    """Return the money :func:`encode_money` encoded.

    Raises:
        InvalidArgumentError: If *data* is not encoded money (the message names *name*).
    """
    if not isinstance(data, Mapping) or not {"amount", "currency"} <= set(data) <= {
        "amount",
        "currency",
        "decimals",
    }:
        raise InvalidArgumentError(
            f"{name}={data!r} must be money, like {{'amount': '10.00', 'currency': 'CNY'}}"
        )
    amount, code = data["amount"], data["currency"]
    if not isinstance(amount, str):
        raise ArgumentTypeError(f"{name}.amount={amount!r} must be a decimal string like '10.00'")
    try:
        if "decimals" in data:
            currency = MoneyCurrency(code, decimals=data["decimals"])
        else:
            currency = MoneyCurrency.iso(code)
        return Money(amount, currency)
    except InvalidArgumentError as error:
        raise type(error)(f"{name}: {error}") from None


def encode_value(value: AttributeValue) -> object:
    """Return an attribute or constant value as JSON-ready data.

    Ints, bools and str are themselves; a tuple of str is a list; a tuple of lines is a list of
    ``{"product", "category", "amount", "quantity"}`` objects; money is
    ``{"amount": "10.00", "currency": "CNY"}``; a Decimal is ``{"decimal": "1.50"}``, a date
    ``{"date": "2026-03-01"}`` and a datetime ``{"datetime": "2026-03-01T00:00:00+00:00"}``.
    """
    result: object
    if isinstance(value, bool | int | str):
        result = value
    elif isinstance(value, Decimal):
        result = {"decimal": str(value)}
    elif isinstance(value, Money):
        result = encode_money(value)
    elif isinstance(value, datetime):
        result = {"datetime": value.isoformat()}
    elif isinstance(value, date):
        result = {"date": value.isoformat()}
    else:
        result = [
            item
            if isinstance(item, str)
            else {
                "product": item.product,
                "category": item.category,
                "amount": encode_money(item.amount),
                "quantity": item.quantity,
            }
            for item in value
        ]
    return result


def _decode_line(name: str, data: Mapping[str, object]) -> Line:
    if set(data) != {"product", "category", "amount", "quantity"}:
        raise InvalidArgumentError(
            f"{name}={dict(data)!r} must be a line with product, category, amount and quantity"
        )
    return Line(
        data["product"],  # type: ignore[arg-type]  # the converters check it
        data["category"],  # type: ignore[arg-type]
        decode_money(f"{name}.amount", data["amount"]),
        data["quantity"],  # type: ignore[arg-type]
    )


def _decode_tagged(name: str, data: Mapping[str, object]) -> AttributeValue:
    if len(data) == 1:
        ((tag, text),) = data.items()
        if tag in {"decimal", "date", "datetime"} and isinstance(text, str):
            try:
                if tag == "decimal":
                    return check_value(name, Decimal(text))
                if tag == "date":
                    return date.fromisoformat(text)
                return check_value(name, datetime.fromisoformat(text))
            except (decimal.InvalidOperation, ValueError):
                raise InvalidArgumentError(f"{name}={dict(data)!r} is not a valid {tag}") from None
    if "amount" in data:
        return decode_money(name, data)
    raise InvalidArgumentError(
        f"{name}={dict(data)!r} must be an int, a bool, a str, a list, money "
        "{'amount': ..., 'currency': ...}, or one of {'decimal': ...}, {'date': ...}, "
        "{'datetime': ...}"
    )


def decode_value(name: str, data: object) -> AttributeValue:
    """Return the value :func:`encode_value` encoded.

    Raises:
        InvalidArgumentError: If *data* is not an encoded value (the message names *name*);
            floats are refused.
    """
    if isinstance(data, bool | int | str):
        return check_value(name, data)
    if isinstance(data, Mapping):
        return _decode_tagged(name, data)
    if isinstance(data, list | tuple):
        items = [
            _decode_line(f"{name}[{index}]", item) if isinstance(item, Mapping) else item
            for index, item in enumerate(data)
        ]
        return check_value(name, items)
    return check_value(name, data)


_SHOWN: Final[dict[type, Callable[[object], str]]] = {
    int: str,
    Decimal: str,
    str: repr,
    bool: lambda value: "true" if value else "false",
    Money: str,
    date: lambda value: value.isoformat(),  # type: ignore[attr-defined]
    datetime: lambda value: value.isoformat(),  # type: ignore[attr-defined]
}


def show_value(value: object) -> str:
    """Return *value* as explanations show it: money ``88.00 CNY``, text quoted, dates ISO."""
    shown = _SHOWN.get(type(value))
    if shown is not None:
        return shown(value)
    result: str
    if value is MISSING:
        result = "missing"
    elif isinstance(value, bool):
        result = "true" if value else "false"
    elif isinstance(value, str):
        result = repr(str(value))
    elif isinstance(value, datetime | date):
        result = value.isoformat()
    elif isinstance(value, tuple | frozenset):
        items = sorted(value) if isinstance(value, frozenset) else value
        if items and isinstance(items[0], Line):
            result = f"{len(items)} line{'s' if len(items) != 1 else ''}"
        else:
            result = "[" + ", ".join(show_value(item) for item in items) + "]"
    else:
        result = str(value)
    return result

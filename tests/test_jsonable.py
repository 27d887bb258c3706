"""JSON out and back: every result of a whole programme run dumps, validates and loads again."""

from __future__ import annotations

import enum
import importlib
import inspect
import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import attrs
import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pointkit import FixedClock, MemoryStorage, Money, exceptions, jsonable, reports
from pointkit.exceptions import InsufficientPointsError, InvalidArgumentError, PointkitError
from pointkit.ledger import AccountKind, Balance, Lot, Transaction
from pointkit.pricing import SeededRandom
from pointkit.program import Program
from pointkit.rules import Event


MALL = Path(__file__).parent.parent / "src" / "pointkit" / "program" / "points_mall.toml"
START = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)


def _results() -> list[object]:
    """What a host's endpoints return over a programme's life: one of everything."""
    clock = FixedClock(START)
    mall = Program.from_file(MALL, storage=MemoryStorage(), clock=clock)
    out: list[object] = [
        mall.record(
            Event.purchase("o1", "ann", START, amount=Money("800.00", "CNY"), order_id="o1")
        ),
        mall.record(Event.sign_in("s1", "ann", START)),
        mall.adjust("ann", 60_000, key="gift", reason="welcome"),
        mall.adjust("bob", 3_000, key="gift-bob", reason="welcome"),
    ]
    coupon = mall.redeem("ann", "coupon", key="buy-1")
    out += [coupon, mall.fulfil(coupon.key, key="ship-1")]
    watch = mall.redeem("ann", "watch", key="buy-2", option="bundle:0")
    out += [watch, mall.cancel(watch.key, key="cancel-2")]
    out += [
        mall.draw("ann", "wheel", draw_id="d1", minor=False, random=SeededRandom(7)),
        mall.draw_record("d1"),
        mall.odds("ann", "wheel"),
        mall.disclosure("wheel"),
        mall.convert("ann", "points-to-miles", 2_000, key="c1"),
    ]
    sent = mall.transfer("ann", "bob", 500, key="t1")
    out += [sent, mall.reverse(str(sent.id), key="t1-back")]
    hold = mall.ledger.reserve("bob", 100, key="h1", timeout_seconds=60)
    out += [hold, mall.hold(hold.hold) if hold.hold else None]
    out += [mall.upcoming_expiries("ann", timedelta(days=3_650))]
    clock.advance(timedelta(days=400))
    out += [
        mall.run_expiry(),
        mall.balance("ann"),
        mall.statement("ann"),
        mall.lots("ann", include_closed=True),
        mall.expiring(timedelta(days=3_650)),
        mall.member("ann"),
        mall.tier_status("ann"),
        mall.review_tier("ann"),
        mall.tier_history("ann"),
        mall.system_balance(AccountKind.ISSUANCE),
        mall.audit(),
        reports.daily_report(mall, since=date(2026, 6, 1), until=date(2026, 6, 2)),
        reports.tier_distribution(mall),
    ]
    return [result for result in out if result is not None]


def _flatten(values: list[object]) -> list[object]:
    flat: list[object] = []
    for value in values:
        if isinstance(value, tuple | list) and not attrs.has(type(value)):
            flat.extend(_flatten(list(value)))
        else:
            flat.append(value)
    return flat


RESULTS = _flatten(_results())


@pytest.mark.parametrize(
    "result", RESULTS, ids=[f"{n}-{type(r).__name__}" for n, r in enumerate(RESULTS)]
)
def test_every_result_dumps_validates_and_loads_back(result: object) -> None:
    """Dump, validate against the published schema (both forms), load: the same value."""
    kind = type(result)
    data = jsonable.dump(result)
    text = json.dumps(data, allow_nan=False)
    jsonschema.validate(json.loads(text), jsonable.schema(kind))
    jsonschema.validate(json.loads(text), jsonable.schema(kind, refs=False))
    back = jsonable.load(kind, json.loads(text))
    assert back == result
    assert jsonable.dump(back) == data


def test_the_run_covers_the_result_types() -> None:
    """The round trip above sees the results a service returns, not a convenient few."""
    seen = {type(result).__name__ for result in RESULTS}
    wanted = {
        "Recorded", "Transaction", "Redemption", "DrawResult", "DrawRecord", "Odds",
        "Disclosure", "ConversionResult", "Hold", "ExpiryRun", "Balance", "Statement", "Lot",
        "UpcomingExpiry", "ExpiringPage", "MemberContext", "TierStatus", "TierChange",
        "AccountBalance", "ProgramAuditReport", "DailyReport", "TierReport",
    }  # fmt: skip
    assert wanted <= seen, sorted(wanted - seen)


PACKAGES = ("pointkit", "pointkit.ledger", "pointkit.features", "pointkit.program", "pointkit.pricing",
            "pointkit.rules", "pointkit.tiers", "pointkit.expiry", "pointkit.reports",
            "pointkit.campaigns")  # fmt: skip
PUBLIC_RECORDS = sorted(
    {
        value
        for package in PACKAGES
        for name in importlib.import_module(package).__all__
        if inspect.isclass(value := getattr(importlib.import_module(package), name))
        and attrs.has(value)
    },
    key=lambda kind: kind.__name__,
)


@pytest.mark.parametrize(
    "kind", PUBLIC_RECORDS, ids=[f"{kind.__module__}.{kind.__name__}" for kind in PUBLIC_RECORDS]
)
def test_every_public_record_has_a_valid_json_schema(kind: type) -> None:
    """Every public record type has a schema that is itself valid JSON Schema 2020-12."""
    document = jsonable.schema(kind)
    jsonschema.Draft202012Validator.check_schema(document)
    json.dumps(document, allow_nan=False)
    jsonschema.Draft202012Validator.check_schema(jsonable.schema(kind, refs=False))


def test_money_instants_fractions_and_durations_have_one_text_form() -> None:
    """Money, instants, fractions and durations are written one way, and read back."""
    assert "12.50 CNY" == jsonable.dump(Money("12.50", "CNY"))
    assert "-3 JPY" == jsonable.dump(Money(-3, "JPY"))
    shanghai = timezone(timedelta(hours=8))
    assert "2026-03-01T08:00:00+08:00" == jsonable.dump(datetime(2026, 3, 1, 8, tzinfo=shanghai))
    assert "2/1" == jsonable.dump(Fraction(2))
    assert ["PT3600S", "PT0.5S", "-PT1S"] == jsonable.dump(
        [timedelta(hours=1), timedelta(milliseconds=500), timedelta(seconds=-1)]
    )
    assert Money("12.50", "CNY") == jsonable.load(Money, "12.50 CNY")
    odd = jsonable.load(Money, "1.250 XTS")  # not an ISO minor unit: the grid is the text's
    assert (Decimal("1.250"), 3) == (odd.amount, odd.currency.decimals)


@given(
    st.datetimes(timezones=st.timezones(), allow_imaginary=False),
    st.fractions(),
    st.timedeltas(),
    st.decimals(min_value=-(10**12), max_value=10**12, places=2),
)
def test_values_round_trip(at: datetime, ratio: Fraction, span: timedelta, amount: Decimal) -> None:
    """Any instant, fraction, duration and amount comes back as it went."""
    for kind, value in (
        (datetime, at),
        (Fraction, ratio),
        (timedelta, span),
        (Money, Money(amount, "CNY")),
    ):
        back = jsonable.load(kind, json.loads(json.dumps(jsonable.dump(value))))
        if isinstance(value, datetime):  # the instant and its offset (a zone name is not kept)
            assert isinstance(back, datetime)
            assert (back.astimezone(UTC), back.utcoffset()) == (
                value.astimezone(UTC),
                value.utcoffset(),
            )
        else:
            assert back == value


@pytest.mark.parametrize(
    ("kind", "data", "message"),
    [
        (Money, 12.5, r"money=12\.5 is not money \"<amount> <code>\""),
        (Money, "12.5 cny", "money='12.5 cny' is not money"),
        (Money, "12.555 CNY", "money: .*12.555"),
        (Balance, {"member": "ann"}, r"balance\.currency is missing"),
        (Balance, [], r"balance=\[\] is not an object \(a Balance\)"),
        (Lot, {"bogus": 1}, r"lot: unknown field\(s\) \['bogus'\]"),
        (datetime, "2026-03-01T08:00:00", "is not an instant with an offset"),
        (Fraction, "1.5", 'is not a fraction "n/d"'),
        (timedelta, "1 hour", "is not a duration in seconds"),
        (AccountKind, "bank", r"is not one of \['member', 'issuance'"),
        (int, True, "is not an integer"),
        (int, 1.0, "is not an integer"),
    ],
)
def test_loading_refuses_what_does_not_fit_and_says_where(
    kind: type, data: object, message: str
) -> None:
    """A value that does not fit is refused with its path, the value and what was expected."""
    with pytest.raises(InvalidArgumentError, match=message):
        jsonable.load(kind, data)


def test_a_transaction_field_of_the_wrong_type_is_named_by_its_path() -> None:
    """A nested field is named by its full path."""
    transaction = next(result for result in RESULTS if isinstance(result, Transaction))
    data: Any = jsonable.dump(transaction)
    data["postings"][0]["amount"] = "100"
    with pytest.raises(InvalidArgumentError, match=r"transaction\.postings\[0\]\.amount='100'"):
        jsonable.load(Transaction, data)


def test_dump_refuses_what_json_cannot_carry() -> None:
    """Functions and non-finite numbers have no JSON form: an error, not a bad document."""
    with pytest.raises(
        exceptions.ArgumentTypeError,
        match=r"value\[1\]: a builtin_function_or_method has no JSON form",
    ):
        jsonable.dump([1, len])
    with pytest.raises(exceptions.ArgumentTypeError, match="not a finite number"):
        jsonable.dump({"x": float("nan")})


def test_errors_dump_with_their_code_status_and_details() -> None:
    """An error becomes its code, HTTP status, message and attributes."""
    error = InsufficientPointsError("ann", "points", 500, 120)
    data = jsonable.dump(error)
    assert isinstance(data, dict)
    assert (data["error"], data["status"]) == ("insufficient_points", 409)
    assert (data["requested"], data["available"], data["member"]) == (500, 120, "ann")
    assert str(error) == data["message"]


def _error_classes() -> list[type[BaseException]]:
    return [
        value
        for value in vars(exceptions).values()
        if inspect.isclass(value)
        and issubclass(value, PointkitError | exceptions.InvariantViolation)
        and "code" in vars(value)
    ]


@pytest.mark.parametrize("error", _error_classes(), ids=lambda error: error.__name__)
def test_every_error_code_has_an_http_status(error: type[BaseException]) -> None:
    """A new error cannot ship without saying how a service answers it."""
    code = vars(error)["code"]
    assert code in jsonable._STATUS_BY_CODE, f"{error.__name__} ({code}) has no HTTP status"
    status = jsonable._STATUS_BY_CODE[code]
    assert status in {404, 409, 422, 500, 503}
    if issubclass(error, exceptions.InvalidArgumentError) and code != "invalid_configuration":
        assert status == 422
    if issubclass(error, LookupError) and issubclass(error, exceptions.LedgerError):
        assert status == 404


def test_enums_dump_as_their_values() -> None:
    """Enums are written as their values."""

    class Colour(enum.Enum):
        RED = "red"

    assert "red" == jsonable.dump(Colour.RED)
    assert "issuance" == jsonable.dump(AccountKind.ISSUANCE)

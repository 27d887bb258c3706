"""Regressions of what the fuzz suite found: raw exceptions that escaped from public entry points.

Each line is an input that once made a ``TypeError``, ``OSError``, ``UnicodeDecodeError``,
``UnicodeEncodeError`` or ``DeprecationWarning`` escape (or was taken silently: ``"no"`` as
``include_closed``), and the PointkitError it gets now.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Final

import attrs
import pytest

from pointkit import FixedClock, MemoryStorage, Money
from pointkit.cli import main
from pointkit.exceptions import ArgumentTypeError, ConfigurationError, InvalidArgumentError
from pointkit.program import Program, load_config
from pointkit.reports import daily_report, hottest_offers
from pointkit.rules import Event, Line
from pointkit.storage.sqlite import SQLiteStorage


if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from pointkit.ledger import Storage


MALL: Final = Path(__file__).parents[2] / "examples" / "points_mall.toml"
START: Final = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
ORDER: Final = Event.purchase(
    "o-1",
    "ann",
    START,
    amount=Money("388.00", "CNY"),
    order_id="o-1",
    lines=[
        Line("sku-1", "books", Money("100.00", "CNY")),
        Line("sku-2", "toys", Money("288.00", "CNY")),
    ],
)

SKU: Final = Line("sku", "toys", Money(1, "CNY"))


@pytest.fixture(params=["memory", "sqlite"])
def mall(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Program]:
    """The points mall with one purchase of two lines, in memory and on SQLite."""
    storage: Storage = (
        MemoryStorage() if request.param == "memory" else SQLiteStorage(tmp_path / "points.db")
    )
    config = attrs.evolve(load_config(MALL), id=f"findings-{uuid.uuid4().hex[:8]}")
    program = Program(config, storage=storage, clock=FixedClock(START))
    program.record(ORDER)
    yield program
    close = getattr(storage, "close", None)
    if close is not None:
        close()


def _purchase_lines_none(_mall: Program) -> object:
    return Event.purchase("o-2", "ann", START, amount=Money(1, "CNY"), order_id="o-2", lines=None)  # type: ignore[arg-type]  # the finding


FINDINGS: Final[list[tuple[str, Callable[[Program], object], type[Exception], str]]] = [
    (
        "purchase-lines-none",
        _purchase_lines_none,
        ArgumentTypeError,
        "lines=None must be an iterable of Line, not NoneType",
    ),
    (
        "refund-lines-int",
        lambda mall: mall.refund_event("o-1", key="k", lines=5),  # type: ignore[arg-type]
        ArgumentTypeError,
        "lines=5 must be a sequence of line indexes",
    ),
    (
        "refund-lines-of-lines",
        lambda mall: mall.refund_event("o-1", key="k", lines=[SKU]),  # type: ignore[list-item]
        ArgumentTypeError,
        (
            "lines[0]=Line(product='sku', category='toys', amount=Money(amount=Decimal('1.00'), "
            "currency=MoneyCurrency(code='CNY', decimals=2)), quantity=1) must be an int, not Line"
        ),
    ),
    (
        "refund-amount-float",
        lambda mall: mall.refund_event("o-1", key="k", amount=1.5),  # type: ignore[arg-type]
        ArgumentTypeError,
        "amount=1.5 must be Money, not float",
    ),
    (
        "run-linked-not-callable",
        lambda mall: mall.run_linked(None),  # type: ignore[arg-type]
        ArgumentTypeError,
        "work=None must be callable, not NoneType",
    ),
    (
        "daily-report-since-time",
        lambda mall: daily_report(mall, since=time(12), until=date(2026, 6, 1)),  # type: ignore[arg-type]
        ArgumentTypeError,
        "since=datetime.time(12, 0) must be a date, not time",
    ),
    (
        "daily-report-until-datetime",
        lambda mall: daily_report(mall, since=date(2026, 6, 1), until=START),
        ArgumentTypeError,
        (
            "until=datetime.datetime(2026, 6, 1, 2, 0, tzinfo=datetime.timezone.utc) must be a "
            "date, not datetime"
        ),
    ),
    (
        "hottest-offers-limit-float",
        lambda mall: hottest_offers(mall, limit=1e308),  # type: ignore[arg-type]
        ArgumentTypeError,
        "limit=1e+308 must be an int, not float",
    ),
    (
        "hottest-offers-limit-zero",
        lambda mall: hottest_offers(mall, limit=0),
        InvalidArgumentError,
        "limit=0 must be an int from 1 to 9223372036854775807",
    ),
    (
        "lots-include-closed-not-a-bool",
        lambda mall: mall.lots("ann", include_closed="no"),  # type: ignore[arg-type]
        ArgumentTypeError,
        "include_closed='no' must be a bool, not str",
    ),
    (
        "record-of-list",
        lambda mall: mall.record_of(["o-1"]),  # type: ignore[arg-type]
        ArgumentTypeError,
        "record_id=['o-1'] must be a str, not list",
    ),
    (
        "record-of-surrogate",
        lambda mall: mall.record_of("\ud800"),
        InvalidArgumentError,
        "record_id='\\ud800' must contain only printable characters",
    ),
]


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [pytest.param(call, error, message, id=name) for name, call, error, message in FINDINGS],
)
def test_what_the_fuzzer_found_is_refused_with_a_pointkit_error(
    mall: Program, call: Callable[[Program], object], error: type[Exception], message: str
) -> None:
    """An input that made a raw exception escape is refused with a PointkitError naming it."""
    with pytest.raises(error) as raised:
        call(mall)
    assert message == str(raised.value)


def test_a_refund_by_line_indexes_reads_an_iterator_once(mall: Program) -> None:
    """Refunding lines=iter([0]) takes back what lines=[0] does, not nothing."""
    listed = mall.refund_event("o-1", key="by-list", lines=[0], dry_run=True)
    iterated = mall.refund_event("o-1", key="by-iterator", lines=iter([0]), dry_run=True)  # type: ignore[arg-type]  # the finding
    assert [9] == [transaction.amount for transaction in listed]
    assert [9] == [transaction.amount for transaction in iterated]


@pytest.mark.parametrize(
    ("replace", "problem"),
    [
        (
            (b'"Asia/Shanghai"', b'"Asia"'),
            (
                "- program.zone: 'Asia' is not an IANA time zone; use a name such as "
                "'Asia/Shanghai' or 'UTC'"
            ),
        ),
        (
            (b"# A points mall", b"\xff A points mall"),
            "mall.toml has 1 problem:\n  - document: is not UTF-8 text (invalid start byte at byte 0)",
        ),
    ],
)
def test_check_and_load_refuse_a_file_that_used_to_raise_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], replace: tuple[bytes, bytes], problem: str
) -> None:
    """A zone that names a directory and a file that is not UTF-8 are problems, not tracebacks."""
    broken = tmp_path / "mall.toml"
    old, new = replace
    broken.write_bytes(MALL.read_bytes().replace(old, new, 1))
    assert 1 == main(["check", str(broken)])
    assert problem in capsys.readouterr().err
    with pytest.raises(ConfigurationError) as raised:
        load_config(broken)
    assert problem in str(raised.value)

"""Fuzz the programme loader and ``pointkit check`` with mutated copies of the points mall's file.

Each example takes ``examples/points_mall.toml`` and breaks it: keys deleted, values replaced by
hostile ones or by values of another type, unknown keys and nested garbage added, arrays
emptied or doubled; or the text itself cut, doubled or salted with bytes that are not UTF-8.
The file then goes through ``Program.from_file`` and through ``pointkit check`` run in-process:
each must load it or refuse it with a PointkitError (check: exit 1 and one ``pointkit:`` line,
never a traceback), and they must agree exactly, on the outcome and on the message. A file that
loads makes a working program: a few commands run on it (a refusal leaves its storage as it was)
and the audit passes.
"""

from __future__ import annotations

import copy
import io
import math
import tomllib
from contextlib import redirect_stderr, redirect_stdout
from datetime import UTC, date, datetime, time, timedelta, timezone
from functools import partial
from pathlib import Path
from typing import Any, Final

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fuzz.harness import Harness, budget
from fuzz.state import state_reader
from fuzz.strategies import START, hostile, huge_ints, nasty_texts, texts
from fuzz.toml import dumps, encode, value
from pointkit import FixedClock, MemoryStorage
from pointkit.cli import main
from pointkit.exceptions import PointkitError
from pointkit.program import Program, config_from_dict, config_from_toml
from pointkit.rules import Event


MALL: Final = Path(__file__).parents[2] / "examples" / "points_mall.toml"
DOCUMENT: Final = tomllib.loads(MALL.read_text(encoding="utf-8"))

# -- values a TOML file can hold ------------------------------------------------------------------

toml_values: st.SearchStrategy[object] = st.one_of(
    texts,
    nasty_texts(),
    st.sampled_from(
        [
            "1/0",
            "0/1",
            "-1/3",
            "1e3",
            "300.00",
            "300.00 XYZ",
            "-1.00 CNY",
            "1/100000000000000000000",
            "25:00",
            "02-30",
            "13-01",
            "00-00",
            "Mars/Base",
            "Asia",
            "Asia/",
            "posixrules",
            "UTC",
            "calendar_year",
            "rolling_months",
            "fixed_dates",
        ]
    ),
    huge_ints,
    st.sampled_from([0, -1, 1, 2**63 - 1, -(2**63)]),
    st.integers(-(2**63), 2**63 - 1),
    st.sampled_from([math.nan, math.inf, -math.inf, 0.5, -0.0, 1e308]),
    st.booleans(),
    st.sampled_from(
        [
            date(2026, 6, 30),
            date(1, 1, 1),
            date(9999, 12, 31),
            datetime(2026, 6, 18, 20, 0),  # noqa: DTZ001 - a TOML local date-time on purpose
            datetime(9999, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-14))),
            datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14))),
            datetime(2026, 6, 18, 22, 0, tzinfo=UTC),
            time(12, 0),
        ]
    ),
)
"""Scalars TOML has: strings (hostile ones too), ints past every limit, nan and inf, dates, times."""

garbage: st.SearchStrategy[object] = st.recursive(
    toml_values,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(["id", "type", "bogus", "", "名"]), children, max_size=3)
    ),
    max_leaves=6,
)
"""Nested garbage: lists and tables of TOML values, some with keys the reader knows."""


def _paths(node: object, prefix: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """Every path to a value in *node*: keys of tables, indexes of arrays."""
    found: list[tuple[object, ...]] = []
    items: list[tuple[object, object]] = []
    if isinstance(node, dict):
        items = list(node.items())
    elif isinstance(node, list):
        items = list(enumerate(node))
    for key, child in items:
        found.append((*prefix, key))
        found += _paths(child, (*prefix, key))
    return found


def _parent(document: dict[str, Any], path: tuple[object, ...]) -> Any:  # noqa: ANN401 - a table or an array
    node: Any = document
    for step in path[:-1]:
        node = node[step]
    return node


@st.composite
def mutated(draw: st.DrawFn, values: st.SearchStrategy[object] = toml_values) -> dict[str, Any]:
    """The points mall's document, broken in one to three places."""
    document = copy.deepcopy(DOCUMENT)
    for _ in range(draw(st.integers(1, 3), label="mutations")):
        paths = _paths(document)
        if not paths:
            break
        path = draw(st.sampled_from(paths), label="path")
        parent = _parent(document, path)
        last = path[-1]
        operation = draw(
            st.sampled_from(
                ["delete", "replace", "replace", "retype", "unknown", "garbage", "double", "empty"]
            ),
            label="operation",
        )
        current = parent[last]
        if operation == "delete":
            del parent[last]
        elif operation == "replace":
            parent[last] = draw(values, label="value")
        elif operation == "retype":
            parent[last] = draw(
                st.sampled_from([[current], {"value": current}, str(current), 1, 1.0, True])
            )
        elif operation == "unknown" and isinstance(parent, dict):
            parent[draw(st.sampled_from(["bogus", "Id", "id ", "名字", ""]))] = draw(values)
        elif operation == "garbage":
            parent[last] = draw(garbage, label="garbage")
        elif operation == "double" and isinstance(current, list):
            current.extend(copy.deepcopy(current))
        elif operation == "empty":
            parent[last] = type(current)() if isinstance(current, list | dict | str) else 0
    return document


@st.composite
def files(draw: st.DrawFn) -> bytes:
    """A programme file: a mutated document as TOML, sometimes with its text broken too."""
    text = dumps(draw(mutated()))
    if draw(st.booleans(), label="break the text"):
        lines = text.splitlines(keepends=True)
        index = draw(st.integers(0, len(lines) - 1))
        breakage = draw(
            st.sampled_from(["cut", "drop_line", "double_line", "bytes", "bom", "nul"]),
            label="text breakage",
        )
        if breakage == "cut":
            text = text[: draw(st.integers(0, len(text)))]
        elif breakage == "drop_line":
            del lines[index]
            text = "".join(lines)
        elif breakage == "double_line":
            lines.insert(index, lines[index])
            text = "".join(lines)
        elif breakage == "bytes":
            raw = encode(text)
            at = draw(st.integers(0, len(raw)))
            return (
                raw[:at]
                + draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00"]))
                + raw[at:]
            )
        elif breakage == "bom":
            text = "\ufeff" + text
        else:
            text = text.replace("=", "=\x00", 1)
    return encode(text)


def _check(path: Path) -> tuple[int, str, str]:
    """Run ``pointkit check PATH`` in-process: exit status, standard output, standard error."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        status = main(["check", str(path)])
    return status, out.getvalue(), err.getvalue()


def _use(mall: Program, harness: Harness) -> None:
    """A few commands and reads on a program whose file loaded; the audit at the end."""
    config = mall.config
    harness.call("Program.adjust", lambda: mall.adjust("ann", 5_000, key="gift", reason="gift"))
    harness.call("Program.record", lambda: mall.record(Event.sign_in("s-1", "ann", START)))
    harness.call("Program.offers_for", lambda: mall.offers_for("ann"), writes=False)
    for offer in config.offers:
        harness.call("Program.redeem", partial(mall.redeem, "ann", offer.id, key=f"r-{offer.id}"))
    for lottery in config.lotteries:
        harness.call("Program.disclosure", partial(mall.disclosure, lottery.id), writes=False)
    harness.call("Program.run_expiry", mall.run_expiry)
    mall.audit()


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where each example writes its programme file."""
    return tmp_path_factory.mktemp("fuzz-config") / "mall.toml"


@budget(1_000)
@given(content=files())
def test_check_and_load_agree_on_every_mutated_file(scratch: Path, content: bytes) -> None:
    """A broken programme file loads or is refused with a PointkitError, and check says exactly the same."""
    path = scratch
    path.write_bytes(content)
    storage = MemoryStorage()
    loader = Harness(lambda: None)
    loaded = loader.call(
        "Program.from_file",
        lambda: Program.from_file(path, storage=storage, clock=FixedClock(START)),
        {"file": content.decode("utf-8", "replace")},
    )
    checked = loader.call(
        "pointkit check", lambda: _check(path), {"file": content.decode("utf-8", "replace")}
    )
    assert checked.value is not None, "main() returns an exit status; it raised nothing"
    status, out, err = checked.value
    assert "Traceback" not in out + err
    if loaded.error is None:
        assert (0, "") == (status, err)
        assert out.startswith("program ")
        assert loaded.value is not None
        mall = loaded.value
        _use(mall, Harness(state_reader(storage, mall.ledger.program)))
    else:
        assert (1, "", f"pointkit: {loaded.error}\n") == (status, out, err)


def test_the_writer_reads_back_the_mall_as_it_is() -> None:
    """The fuzz suite's TOML writer writes the points mall so that TOML reads back the same document."""
    assert DOCUMENT == tomllib.loads(dumps(DOCUMENT))
    assert ["nan", "inf", '"a\\u0000"'] == [value(math.nan), value(math.inf), value("a\x00")]


@budget(400)
@given(document=mutated(values=hostile() | toml_values))
def test_config_from_dict_refuses_python_values_no_toml_can_hold(document: dict[str, Any]) -> None:
    """config_from_dict, given None, Decimal, bytes or objects anywhere, loads or raises a PointkitError."""
    Harness(lambda: None).call(
        "config_from_dict", lambda: config_from_dict(document), {"data": document}
    )


@budget(100)
@given(text=hostile() | st.just("[program]\nid = 'x'\nzone = 'UTC'\n" * 2))
def test_config_from_toml_refuses_what_is_not_a_document(text: object) -> None:
    """config_from_toml, given anything but TOML text, raises a PointkitError."""
    given: Any = text  # hostile on purpose: whatever the annotation says
    outcome = Harness(lambda: None).call(
        "config_from_toml", lambda: config_from_toml(given), {"text": text}
    )
    assert isinstance(outcome.error, PointkitError)

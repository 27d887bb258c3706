"""The operator console: authorization, dashboards, member pages and manual adjustments."""

from __future__ import annotations

import argparse
import io
import os
import re
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from starlette.applications import Starlette
from starlette.exceptions import StarletteDeprecationWarning
from starlette.requests import Request
from starlette.routing import Mount


with warnings.catch_warnings():
    # Starlette asks for httpx2 on import; the httpx installed here drives TestClient as well.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

from pointkit import FixedClock, MemoryStorage, Money, limits
from pointkit.cli import _console, main
from pointkit.console import DAYS_MAX, console_app, loopback
from pointkit.exceptions import InvalidArgumentError
from pointkit.pricing import SeededRandom
from pointkit.program import Program, ProgramConfig, load_config
from pointkit.rules import Event
from pointkit.storage.sqlite import SQLiteStorage


if TYPE_CHECKING:
    from collections.abc import Iterator

    from pointkit.console import Access
    from pointkit.ledger import Storage


MALL = Path(__file__).parent.parent / "examples" / "points_mall.toml"
XSS = '<script>alert("x")</script>'
DASHBOARDS = ("/liability", "/daily", "/breakage", "/offers", "/lotteries", "/tiers")
READ_PATHS = (
    "/",
    *DASHBOARDS,
    "/check",
    "/members?q=a",
    "/member?id=alice",
    "/odds/wheel?lang=en",
)


def _shanghai(month: int, day: int, hour: int) -> datetime:
    return datetime(2026, month, day, hour - 8, tzinfo=UTC)


def _build(storage: Storage) -> tuple[Program, FixedClock]:
    """The points mall with two months of activity, standing at 1 July 2026, 10:00 in Shanghai."""
    clock = FixedClock(_shanghai(5, 20, 10))
    mall = Program(load_config(MALL), storage=storage, clock=clock)
    for member, points in (("alice", 6_000), ("bob", 3_000), ("carol", 2_000), (XSS, 10)):
        mall.adjust(member, points, key=f"import-{member}", reason="balance from the old system")
    mall.record(
        Event.purchase("may-order", "bob", clock.now(), amount=Money(500, "CNY"), order_id="m")
    )
    for day in range(10, 16):
        clock.set(_shanghai(6, day, 12))
        for member in ("alice", "bob", "carol"):
            order = f"order-{day}-{member}"
            amount = Money(80 * day, "CNY")
            mall.record(Event.purchase(order, member, clock.now(), amount=amount, order_id=order))
            mall.record(
                Event.review(f"review-{day}-{member}", member, clock.now(), length=30, rating=5)
            )
    clock.set(_shanghai(6, 16, 12))
    mall.adjust("carol", 3_000, key="june-gift", reason="summer gift")
    mall.redeem("bob", "coupon", key="mall-order-1")
    mall.fulfil("mall-order-1", key="ship-1")
    mall.redeem("alice", "watch", key="mall-order-2", option="bundle:0")
    mall.fulfil("mall-order-2", key="ship-2")
    for number in range(3):
        mall.draw("alice", "wheel", draw_id=f"draw-{number}", minor=False, random=SeededRandom(7))
    mall.set_tier("alice", "silver")
    clock.set(_shanghai(7, 1, 10))
    mall.run_expiry()
    mall.redeem("carol", "coupon", key="mall-order-3")  # left open: a hold
    return mall, clock


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def mall(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Program]:
    """The points mall with activity, on SQLite and on PostgreSQL (a schema of its own)."""
    if request.param == "sqlite":
        storage: Storage = SQLiteStorage(tmp_path_factory.mktemp("console") / "points.db")
        yield _build(storage)[0]
        storage.close()  # type: ignore[attr-defined]
        return
    dsn = request.getfixturevalue("postgres_dsn")
    import psycopg  # noqa: PLC0415 - the postgres extra is optional

    from pointkit.storage.postgres import PostgresStorage  # noqa: PLC0415

    schema = f"pointkit_console_{os.getpid()}_{os.urandom(4).hex()}"
    storage = PostgresStorage(dsn, schema=schema, migrate=True)
    try:
        yield _build(storage)[0]
    finally:
        storage.close()
        with psycopg.connect(dsn, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA {schema} CASCADE")


def _everyone(request: Request, access: Access) -> str:  # noqa: ARG001 - allows all
    return "alice-operator"


def _reader(request: Request, access: Access) -> str | None:  # noqa: ARG001 - reads only
    return "viewer" if access == "read" else None


def _client(program: Program, **options: object) -> TestClient:
    return TestClient(console_app(program, **options))  # type: ignore[arg-type]


def _form(html: str) -> dict[str, str]:
    """The hidden fields of the adjustment form on a member page."""
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', html))


def _transactions(program: Program, member: str) -> int:
    return len(program.statement(member, limit=limits.STATEMENT_LINES_MAX).lines)


def test_without_a_callback_everything_is_refused(mall: Program) -> None:
    """With no authorize callback every page and the adjustment answer 403, saying why."""
    client = _client(mall)
    for path in READ_PATHS:
        response = client.get(path)
        assert (path, 403) == (path, response.status_code)
        assert "no authorize callback" in response.text
    before = _transactions(mall, "alice")
    posted = client.post("/member/adjust", data={"member": "alice", "amount": "5", "reason": "x"})
    assert 403 == posted.status_code
    assert before == _transactions(mall, "alice")


def test_a_read_only_operator_reads_but_cannot_adjust(mall: Program) -> None:
    """A callback that allows only reading shows the pages, no form, and refuses the POST."""
    client = _client(mall, authorize=_reader)
    for path in (*DASHBOARDS, "/member?id=alice"):
        assert (path, 200) == (path, client.get(path).status_code)
    page = client.get("/member?id=bob").text
    assert "You may read but not adjust." in page
    assert {} == _form(page)
    writer = _client(mall, authorize=_everyone)
    fields = _form(writer.get("/member?id=bob").text) | {"amount": "5", "reason": "gift"}
    before = (_transactions(mall, "bob"), mall.balance("bob").available)
    response = client.post("/member/adjust", data=fields, follow_redirects=False)
    assert 403 == response.status_code
    assert "refused adjust access" in response.text
    assert before == (_transactions(mall, "bob"), mall.balance("bob").available)


@pytest.mark.parametrize("path", DASHBOARDS)
def test_each_dashboard_draws_its_data(mall: Program, path: str) -> None:
    """Every dashboard answers 200 with a chart holding data marks on a programme with activity."""
    response = _client(mall, authorize=_everyone).get(path)
    assert 200 == response.status_code
    assert response.text.count('class="mark"') > 0
    assert "<script" not in response.text


@pytest.mark.parametrize("path", DASHBOARDS)
def test_each_dashboard_answers_json(mall: Program, path: str) -> None:
    """A dashboard's JSON comes with a .json suffix or an Accept header, and agrees with itself."""
    client = _client(mall, authorize=_everyone)
    by_suffix = client.get(f"{path}.json")
    by_header = client.get(path, headers={"Accept": "application/json"})
    assert (200, "application/json") == (
        by_suffix.status_code,
        by_suffix.headers["content-type"],
    )
    assert by_suffix.json() == by_header.json()


def test_the_figures_are_the_reports(mall: Program) -> None:
    """The liability JSON is the report's to_dict: the points outstanding agree with the ledger."""
    data = _client(mall, authorize=_everyone).get("/liability.json").json()
    outstanding = sum(points for _, points in mall.outstanding())
    assert outstanding == data["points"]


def test_dashboards_degrade_without_features() -> None:
    """A programme without valuation, offers, lotteries or tiers gets notices, not errors."""
    clock = FixedClock(datetime(2026, 3, 1, tzinfo=UTC))
    bare = Program(ProgramConfig(id="bare", zone="UTC"), storage=MemoryStorage(), clock=clock)
    client = _client(bare, authorize=_everyone)
    for path in ("/liability", "/offers", "/lotteries", "/tiers"):
        response = client.get(path)
        assert (path, 200) == (path, response.status_code)
        assert 'class="notice"' in response.text
        assert "notice" in client.get(f"{path}.json").json()
    assert 200 == client.get("/daily").status_code
    assert 200 == client.get("/member?id=nobody").status_code


@pytest.mark.parametrize("days", ["0", str(DAYS_MAX + 1), "abc", "1.5", "-3"])
def test_days_out_of_range_is_400(mall: Program, days: str) -> None:
    """?days= outside 1..DAYS_MAX is a 400 naming the parameter and the limit."""
    client = _client(mall, authorize=_everyone)
    for path in ("/daily", "/breakage"):
        response = client.get(path, params={"days": days})
        assert 400 == response.status_code
        assert "days=" in response.text
        assert "DAYS_MAX" in response.text


def test_days_within_range_shows_that_many_days(mall: Program) -> None:
    """?days=7 gives seven rows of daily flows."""
    data = _client(mall, authorize=_everyone).get("/daily.json", params={"days": "7"}).json()
    assert 7 == len(data["rows"])


def test_member_search_exact_and_prefix(mall: Program) -> None:
    """The exact id comes first, marked; a prefix lists every id that starts with it."""
    client = _client(mall, authorize=_everyone)
    assert ["alice"] == client.get("/members.json", params={"q": "alice"}).json()["members"]
    assert ["bob"] == client.get("/members.json", params={"q": "b"}).json()["members"]
    page = client.get("/members", params={"q": "alice"}).text
    assert "(exact match)" in page
    assert [] == client.get("/members.json", params={"q": "zz"}).json()["members"]


def test_member_page_shows_the_member(mall: Program) -> None:
    """Balance, open lots, holds, statement, tier status and history, and award explanations."""
    client = _client(mall, authorize=_everyone)
    carol = client.get("/member", params={"id": "carol"}).text
    balance = mall.balance("carol")
    assert f"{balance.available:,}" in carol
    assert "Open lots" in carol
    hold = mall.redemption("mall-order-3").hold
    assert str(hold) in carol
    assert "summer gift" in carol
    assert "rule spend: awarded" in carol
    assert "rule review: awarded" in carol
    alice = client.get("/member", params={"id": "alice"}).text
    assert "Tier history, newest first" in alice
    assert "manual" in alice
    assert "silver" in alice


def test_statement_pages_back(mall: Program) -> None:
    """The newest lines show first; ?after= shows an older page."""
    client = _client(mall, authorize=_everyone)
    older = client.get("/member", params={"id": "alice", "after": "0"}).text
    assert "balance from the old system" in older


def test_adjustment_without_reason_writes_nothing(mall: Program) -> None:
    """A missing or blank reason is refused with a visible error and nothing is written."""
    client = _client(mall, authorize=_everyone)
    before = (_transactions(mall, "bob"), mall.balance("bob").available)
    for reason in ("", "   "):
        fields = _form(client.get("/member?id=bob").text) | {"amount": "50", "reason": reason}
        response = client.post("/member/adjust", data=fields, follow_redirects=False)
        assert 422 == response.status_code
        assert 'class="error"' in response.text
        assert "reason=" in response.text
    assert before == (_transactions(mall, "bob"), mall.balance("bob").available)


def test_a_valid_adjustment_writes_once(mall: Program) -> None:
    """One transaction with the reason and the operator; the same form sent again adds nothing."""
    client = _client(mall, authorize=_everyone)
    before = (_transactions(mall, "bob"), mall.balance("bob").available)
    fields = _form(client.get("/member?id=bob").text) | {"amount": "75", "reason": "goodwill"}
    first = client.post("/member/adjust", data=fields, follow_redirects=False)
    assert 303 == first.status_code
    again = client.post("/member/adjust", data=fields, follow_redirects=False)
    assert 303 == again.status_code
    assert (before[0] + 1, before[1] + 75) == (
        _transactions(mall, "bob"),
        mall.balance("bob").available,
    )
    written = mall.transaction_by_key(fields["key"])
    assert written is not None
    assert ("goodwill", {"operator": "alice-operator"}) == (
        written.reason,
        dict(written.metadata),
    )
    shown = client.get(first.headers["location"]).text
    assert "Adjusted +75 points by alice-operator: goodwill" in shown
    assert "recorded once" in client.get(again.headers["location"]).text


def test_a_bad_csrf_token_is_refused(mall: Program) -> None:
    """A form whose CSRF token was not made by this console for it writes nothing."""
    client = _client(mall, authorize=_everyone)
    fields = _form(client.get("/member?id=bob").text) | {"amount": "5", "reason": "gift"}
    before = _transactions(mall, "bob")
    for token in ("0" * 64, "", fields["csrf"][:-1]):
        response = client.post("/member/adjust", data=fields | {"csrf": token})
        assert 403 == response.status_code
        assert "CSRF" in response.text
    other_member = client.post("/member/adjust", data=fields | {"member": "alice"})
    assert 403 == other_member.status_code
    assert before == _transactions(mall, "bob")


def test_a_token_from_another_console_is_refused(mall: Program) -> None:
    """Two apps with their own random secrets do not accept each other's forms; a shared one does."""
    fields = _form(_client(mall, authorize=_everyone).get("/member?id=bob").text)
    fields |= {"amount": "5", "reason": "gift"}
    assert 403 == _client(mall, authorize=_everyone).post("/member/adjust", data=fields).status_code
    secret = b"s" * 32
    shared = _form(_client(mall, authorize=_everyone, secret=secret).get("/member?id=bob").text)
    shared |= {"amount": "5", "reason": "gift"}
    response = _client(mall, authorize=_everyone, secret=secret).post(
        "/member/adjust", data=shared, follow_redirects=False
    )
    assert 303 == response.status_code


@pytest.mark.parametrize("amount", ["0", "1.5", "ten", "", str(limits.POINTS_MAX + 1), "9" * 40])
def test_a_bad_amount_is_refused_naming_the_field(mall: Program, amount: str) -> None:
    """Zero, fractions, words, nothing and amounts past POINTS_MAX are 422s naming amount."""
    client = _client(mall, authorize=_everyone)
    fields = _form(client.get("/member?id=bob").text) | {"amount": amount, "reason": "gift"}
    before = _transactions(mall, "bob")
    response = client.post("/member/adjust", data=fields)
    assert 422 == response.status_code
    assert "amount=" in response.text
    assert before == _transactions(mall, "bob")


def test_a_refusal_by_the_ledger_shows_its_message(mall: Program) -> None:
    """Taking more than the member has shows pointkit's message with its status (409)."""
    client = _client(mall, authorize=_everyone)
    fields = _form(client.get("/member?id=carol").text)
    fields |= {"amount": str(-10 * (mall.balance("carol").available + 10_000)), "reason": "abuse"}
    before = _transactions(mall, "carol")
    response = client.post("/member/adjust", data=fields)
    assert 409 == response.status_code
    assert 'class="error"' in response.text
    assert before == _transactions(mall, "carol")


def test_a_hostile_member_id_is_escaped(mall: Program) -> None:
    """A member id holding markup is shown as text on the search and member pages."""
    client = _client(mall, authorize=_everyone)
    for response in (
        client.get("/members", params={"q": "<scr"}),
        client.get("/member", params={"id": XSS}),
    ):
        assert 200 == response.status_code
        assert XSS not in response.text
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in response.text


def test_every_page_forbids_scripts(mall: Program) -> None:
    """Each answer carries a Content-Security-Policy that allows no script and no remote resource."""
    response = _client(mall, authorize=_everyone).get("/member?id=alice")
    assert response.headers["content-security-policy"].startswith("default-src 'none'")


def test_the_check_page_describes_and_reloads(mall: Program, tmp_path: Path) -> None:
    """The check page shows what the programme declares, and every problem of a broken file."""
    good = _client(mall, authorize=_everyone, check=MALL).get("/check.json").json()
    assert {"ok": True, "problems": [], "differs": False} == good["check"]
    assert good["declares"].startswith("program 'points-mall' in Asia/Shanghai")
    broken = tmp_path / "broken.toml"
    broken.write_text(
        MALL.read_text(encoding="utf-8").replace('zone = "Asia/Shanghai"', 'zone = "Mars/Base"')
    )
    page = _client(mall, authorize=_everyone, check=broken).get("/check")
    assert 200 == page.status_code
    assert "Mars/Base" in page.text
    assert (
        "The host gave no programme file" in _client(mall, authorize=_everyone).get("/check").text
    )


def test_mounted_under_a_prefix_links_stay_inside(mall: Program) -> None:
    """Mounted at /ops, the console's links and redirects carry the prefix."""
    host = Starlette(routes=[Mount("/ops", app=console_app(mall, authorize=_everyone))])
    client = TestClient(host)
    page = client.get("/ops/member?id=bob").text
    assert 'action="/ops/member/adjust"' in page
    fields = _form(page) | {"amount": "1", "reason": "mounted"}
    response = client.post("/ops/member/adjust", data=fields, follow_redirects=False)
    assert response.headers["location"].startswith("/ops/member?")


def test_loopback_allows_this_machine_only() -> None:
    """The command's callback names the operator for 127.0.0.1 and ::1 and refuses others."""
    authorize = loopback("ops")
    hosts = ("127.0.0.1", "::1", "10.0.0.2", "testclient")
    requests = [
        Request({"type": "http", "client": (host, 50_000), "headers": []}) for host in hosts
    ]
    assert ["ops", "ops", None, None] == [authorize(request, "adjust") for request in requests]
    with pytest.raises(InvalidArgumentError, match="operator=''"):
        loopback("")


def test_the_console_command_serves_with_uvicorn(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`pointkit console` builds the app on the database and hands it to uvicorn.run."""
    import uvicorn  # noqa: PLC0415 - only this test needs it

    served: list[tuple[object, str, int]] = []
    monkeypatch.setattr(
        uvicorn, "run", lambda app, host, port, **_: served.append((app, host, port))
    )
    database = tmp_path / "points.db"
    SQLiteStorage(database).close()
    status = main(
        ["console", str(MALL), "--db", str(database), "--operator", "ops", "--port", "8711"]
    )
    assert 0 == status
    [(app, host, port)] = served
    assert (True, "127.0.0.1", 8711) == (isinstance(app, Starlette), host, port)


def test_the_console_command_says_when_uvicorn_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without uvicorn the command exits 1 with a message saying what to install."""
    monkeypatch.setitem(__import__("sys").modules, "uvicorn", None)
    err = io.StringIO()
    arguments = argparse.Namespace(
        config=str(MALL),
        db=":memory:",
        dsn=None,
        schema="pointkit",
        operator="ops",
        host="127.0.0.1",
        port=8700,
    )
    assert 1 == _console.run(arguments, io.StringIO(), err)
    assert "pointkit[console]" in err.getvalue()


def test_odds_pages_in_both_languages(mall: Program) -> None:
    """Each lottery's odds page answers in Chinese and English, linked from the lottery dashboard."""
    client = _client(mall, authorize=_everyone)
    assert "/odds/wheel?lang=zh" in client.get("/lotteries").text
    chinese = client.get("/odds/wheel", params={"lang": "zh"})
    english = client.get("/odds/wheel.en.html")
    assert (200, 200) == (chinese.status_code, english.status_code)
    assert "幸运大转盘" in chinese.text
    assert "Lucky wheel" in english.text
    assert 400 == client.get("/odds/wheel", params={"lang": "fr"}).status_code
    assert 404 == client.get("/odds/nope", params={"lang": "en"}).status_code

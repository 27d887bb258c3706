"""The pages in a real browser: the console, the odds pages and the simulator's report in Chromium.

Playwright drives Debian's ``chromium`` package through its executable path (it never downloads
a browser). Without Chromium these tests skip, except under CI=true, where .ci/run installs it.
Screenshots are kept in ``test-artifacts/screenshots/`` as the run's artefacts.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import uvicorn

from pointkit.console import console_app
from pointkit.program import config_from_toml, load_config
from pointkit.simulate import report_page, simulate
from pointkit.storage.sqlite import SQLiteStorage
from test_console import MALL, _build
from test_simulate import _eager


if TYPE_CHECKING:
    from collections.abc import Iterator

    from playwright.sync_api import Browser, Page, ViewportSize
    from starlette.requests import Request

    from pointkit.console import Access
    from pointkit.program import Program
    from pointkit.simulate import Forecast


CHROMIUM = shutil.which("chromium")
ARTIFACTS = Path(__file__).parent.parent / "test-artifacts" / "screenshots"
PHONE: ViewportSize = {"width": 390, "height": 844}
DASHBOARDS = ("liability", "daily", "breakage", "offers", "lotteries", "tiers")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Chromium, headless, from Debian's package."""
    if CHROMIUM is None:
        reason = "Chromium is not installed (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"the browser tests are mandatory under CI=true: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - only with a browser

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield launched
        launched.close()


@pytest.fixture
def tab(browser: Browser) -> Iterator[Page]:
    """A fresh page at a desktop size."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _operator(request: Request, access: Access) -> str:  # noqa: ARG001 - allows everything
    return "browser-operator"


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Program]]:
    """The console on a real HTTP server on loopback, over a points mall with activity (SQLite)."""
    storage = SQLiteStorage(tmp_path_factory.mktemp("browser") / "points.db")
    program, _ = _build(storage)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            console_app(program, authorize=_operator),
            host="127.0.0.1",
            port=port,
            log_level="warning",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:  # pragma: no cover - a server that never starts
            pytest.fail("the console did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", program
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        storage.close()


def _marks(page: Page) -> int:
    return page.locator("svg .mark").count()


@pytest.mark.parametrize("name", DASHBOARDS)
def test_each_dashboard_draws_its_charts_with_data(
    tab: Page, console: tuple[str, Program], name: str
) -> None:
    """Every dashboard loads in Chromium with a chart whose data marks are drawn."""
    base, _ = console
    response = tab.goto(f"{base}/{name}")
    assert response is not None
    assert 200 == response.status
    assert _marks(tab) > 0
    box = tab.locator("svg .mark").first.bounding_box()
    assert box is not None
    assert box["width"] > 0 or box["height"] > 0
    tab.screenshot(path=ARTIFACTS / f"console-{name}.png", full_page=True)


def test_a_member_search_finds_the_member(tab: Page, console: tuple[str, Program]) -> None:
    """Typing a prefix in the search form lists the member, whose page shows their balance."""
    base, program = console
    tab.goto(f"{base}/members")
    tab.fill("#q", "al")
    tab.press("#q", "Enter")
    tab.wait_for_load_state()
    tab.get_by_role("link", name="alice", exact=True).click()
    tab.wait_for_load_state()
    available = f"{program.balance('alice').available:,}"
    assert available in tab.inner_text("main")
    tab.screenshot(path=ARTIFACTS / "console-member.png", full_page=True)
    tab.screenshot(path=ARTIFACTS / "console-member-top.png")


def test_an_adjustment_without_a_reason_is_refused(tab: Page, console: tuple[str, Program]) -> None:
    """A blank reason (spaces get past the browser's required check) is refused; nothing is written."""
    base, program = console
    before = program.balance("bob").available
    tab.goto(f"{base}/member?id=bob")
    tab.fill("#amount", "100")
    tab.fill("#reason", "   ")
    with tab.expect_response(lambda response: "/member/adjust" in response.url) as answer:
        tab.click("button[type=submit]")
    assert 422 == answer.value.status
    assert "reason" in tab.locator(".error").first.inner_text().lower()
    assert before == program.balance("bob").available
    tab.screenshot(path=ARTIFACTS / "console-adjustment-refused.png", full_page=True)


def test_an_adjustment_with_a_reason_is_written_once(
    tab: Page, console: tuple[str, Program]
) -> None:
    """With a reason the adjustment is written; the same form sent again does not repeat it."""
    base, program = console
    before = program.balance("carol").available
    tab.goto(f"{base}/member?id=carol")
    tab.fill("#amount", "25")
    tab.fill("#reason", "goodwill for a late parcel")
    fields: dict[str, str | float | bool] = {
        name: tab.locator(f"form input[name={name}]").input_value()
        for name in ("member", "currency", "key", "csrf", "amount", "reason")
    }
    tab.click("button[type=submit]")
    tab.wait_for_load_state()
    assert before + 25 == program.balance("carol").available
    again = tab.request.post(f"{base}/member/adjust", form=fields, max_redirects=0)
    assert again.status < 400
    assert before + 25 == program.balance("carol").available


def _percent_total(page: Page) -> Decimal:
    cells = page.locator("table.odds td.percent").all_inner_texts()
    assert cells
    return sum((Decimal(cell.rstrip("%")) for cell in cells), Decimal(0))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_odds_page_sums_to_exactly_100_percent(
    browser: Browser, console: tuple[str, Program], lang: str
) -> None:
    """The odds page's percentages, as the browser shows them, sum to 100.00%, on a phone too."""
    base, _ = console
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        response = page.goto(f"{base}/odds/wheel?lang={lang}")
        assert response is not None
        assert 200 == response.status
        assert Decimal("100.00") == _percent_total(page)
        assert "100.00%" == page.locator("table.odds td.total").inner_text()
        # The page fits the phone's width: only the table's own box may scroll sideways.
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        page.screenshot(path=ARTIFACTS / f"odds-wheel-{lang}-phone.png", full_page=True)
    finally:
        context.close()


def test_the_simulation_report_draws_its_charts(
    tab: Page, tmp_path: Path, forecast_pair: tuple[Forecast, ...]
) -> None:
    """The simulator's report, opened from disk, draws every chart with data and bands, offline."""
    report = tmp_path / "simulation.html"
    report.write_text(report_page(forecast_pair), encoding="utf-8")
    requests: list[str] = []
    tab.on("request", lambda request: requests.append(request.url))
    tab.goto(report.as_uri())
    charts = tab.locator("figure.chart")
    assert charts.count() > 5
    for index in range(charts.count()):
        chart = charts.nth(index)
        if "no data" not in chart.inner_text():
            assert chart.locator(".mark").count() > 0
    assert [report.as_uri()] == requests  # self-contained: nothing else is fetched
    tab.screenshot(path=ARTIFACTS / "simulation-report.png", full_page=True)
    tab.screenshot(path=ARTIFACTS / "simulation-report-top.png")


@pytest.fixture(scope="module")
def forecast_pair() -> tuple[Forecast, ...]:
    """The points mall beside a double-points variant, on one small population, over two seeds."""
    text = MALL.read_text(encoding="utf-8")
    double = config_from_toml(
        text.replace(
            'points = 1, per = { amount = "10.00"', 'points = 2, per = { amount = "10.00"'
        ).replace('id = "points-mall"', 'id = "double-points"', 1)
    )
    return simulate(
        [load_config(MALL), double], _eager(), members=40, days=45, start=date(2026, 5, 20), seeds=2
    )

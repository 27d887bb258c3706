"""The FastAPI example, called through HTTP: points commit in the service's own transaction."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import socket
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import psycopg
import pytest
import uvicorn

from pointkit import FixedClock


if TYPE_CHECKING:
    from collections.abc import Iterator


APP = Path(__file__).parent.parent / "examples" / "fastapi_service" / "app.py"


def _load() -> Any:  # noqa: ANN401 - a module loaded from a path has no static type
    spec = importlib.util.spec_from_file_location("fastapi_service_app", APP)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # pydantic resolves the models' annotations through it
    spec.loader.exec_module(module)
    return module


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def service(postgres_dsn: str) -> Iterator[tuple[httpx.Client, str, str, FixedClock]]:
    """The service on a real HTTP server on loopback, in a schema of its own."""
    schema = f"pointkit_api_{os.urandom(4).hex()}"
    clock = FixedClock(datetime(2026, 6, 1, 2, 0, tzinfo=UTC))
    app = _load().create_app(postgres_dsn, schema, clock=clock)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:  # pragma: no cover - a server that never starts
            pytest.fail("the service did not start")
        time.sleep(0.05)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            yield client, postgres_dsn, schema, clock
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        with psycopg.connect(postgres_dsn, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA {schema} CASCADE")


def _orders(dsn: str, schema: str) -> list[str]:
    with psycopg.connect(dsn) as connection:
        rows = connection.execute(f"SELECT order_id FROM {schema}.orders ORDER BY order_id")  # noqa: S608 - a generated schema name
        return [str(row[0]) for row in rows]


PLACED = "2026-06-01T10:00:00+08:00"


def _order(order_id: str, member: str, amount: str, placed_at: str = PLACED) -> dict[str, str]:
    return {"order_id": order_id, "member": member, "amount": amount, "placed_at": placed_at}


def test_an_order_and_its_points_commit_together(
    service: tuple[httpx.Client, str, str, FixedClock],
) -> None:
    """POST /orders writes the order row and awards its points in one transaction, once."""
    client, dsn, schema, _ = service
    done = client.post("/orders", json=_order("o-1", "mei", "880.00"))
    expected = {"order": "o-1", "earned": 88, "balance": 88, "replayed": False}
    assert (200, expected) == (done.status_code, done.json())
    retried = client.post("/orders", json=_order("o-1", "mei", "880.00"))  # a client's retry
    assert (200, {**expected, "replayed": True}) == (retried.status_code, retried.json())
    restamped = client.post(
        "/orders", json=_order("o-1", "mei", "880.00", "2026-06-01T10:05:00+08:00")
    )
    assert (409, "idempotency_conflict") == (restamped.status_code, restamped.json()["error"])
    assert "send the time it happened" in restamped.json()["message"]
    assert {"member": "mei", "available": 88, "held": 0, "tier": "normal"} == client.get(
        "/members/mei"
    ).json()
    balance = client.get("/members/mei/balance").json()
    assert (88, "points") == (balance["available"], balance["currency"])
    assert ["o-1"] == _orders(dsn, schema)


def test_a_refused_award_rolls_the_order_back(
    service: tuple[httpx.Client, str, str, FixedClock],
) -> None:
    """When pointkit refuses the points, the order row the service wrote is rolled back too."""
    client, dsn, schema, _ = service
    bad = client.post("/orders", json=_order("o-2", "mei", "12.345"))
    assert (422, "invalid_argument") == (bad.status_code, bad.json()["error"])
    assert "o-2" not in _orders(dsn, schema)


def test_refunds_redemptions_draws_and_odds(
    service: tuple[httpx.Client, str, str, FixedClock],
) -> None:
    """The other endpoints: a partial refund, a redemption held then fulfilled, a draw, the odds."""
    client, _, _, clock = service
    clock.advance(timedelta(days=1))
    client.post("/orders", json=_order("o-3", "li", "1000.00", clock.now().isoformat()))
    refund = client.post("/orders/o-3/refunds", json={"key": "r-3", "amount": "500.00"})
    assert {"clawed_back": 50} == refund.json()
    short = client.post("/redemptions", json={"key": "m-1", "member": "li", "offer": "watch"})
    assert (409, "insufficient_points") == (short.status_code, short.json()["error"])
    for n in range(4, 30):  # 100 points a day at most: one order a day
        clock.advance(timedelta(days=1))
        client.post("/orders", json=_order(f"o-{n}", "li", "1000.00", clock.now().isoformat()))
    assert "gold" == client.get("/members/li").json()["tier"]
    held = client.post("/redemptions", json={"key": "m-2", "member": "li", "offer": "coupon"})
    body = held.json()
    assert ("m-2", "reserved", 640, None) == (
        body["key"],
        body["status"],
        body["points"],
        body["cash"],
    )
    assert "fulfilled" == client.post("/redemptions/m-2/fulfilment").json()["status"]
    drawn = client.post("/draws", json={"draw_id": "d-1", "member": "li"})
    assert (200, False) == (drawn.status_code, drawn.json()["replayed"])
    again = client.post("/draws", json={"draw_id": "d-1", "member": "li"})
    assert drawn.json()["record"]["prize"] == again.json()["record"]["prize"]
    assert again.json()["replayed"]
    odds = client.get("/lotteries/wheel/odds").json()
    assert "wheel" == odds["lottery"]
    assert Decimal("100.00") == sum(Decimal(prize["percent"]) for prize in odds["prizes"])


def test_concurrent_orders_do_not_block_each_other(
    service: tuple[httpx.Client, str, str, FixedClock],
) -> None:
    """Fifty orders at once from an async client: each earns once, on the pooled connections."""
    _, dsn, schema, _ = service
    base = str(service[0].base_url)

    async def burst() -> list[int]:
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            answers = await asyncio.gather(
                *(client.post("/orders", json=_order(f"c-{n}", f"c{n % 5}", "10.00"))
                  for n in range(50))
            )  # fmt: skip
        return [answer.status_code for answer in answers]

    assert [200] * 50 == asyncio.run(burst())
    assert 50 == sum(1 for order in _orders(dsn, schema) if order.startswith("c-"))

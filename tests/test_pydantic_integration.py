"""pointkit results as FastAPI response models: the same JSON as jsonable, and in OpenAPI."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import TypeAdapter, ValidationError

from pointkit import (
    Balance,
    FixedClock,
    Ledger,
    MemoryStorage,
    PointkitError,
    Transaction,
    jsonable,
)
from pointkit.integrations.pydantic import PointkitModel


def _service() -> tuple[FastAPI, Ledger]:
    ledger = Ledger(MemoryStorage(), clock=FixedClock(datetime(2026, 3, 1, tzinfo=UTC)))
    app = FastAPI()

    @app.exception_handler(PointkitError)
    def refused(_request: object, error: PointkitError) -> JSONResponse:
        return JSONResponse(jsonable.dump(error), status_code=jsonable.error_status(error))

    @app.get("/members/{member}/balance", response_model=PointkitModel[Balance])
    def balance(member: str) -> Balance:
        return ledger.balance(member)

    @app.post("/members/{member}/redeem/{points}", response_model=PointkitModel[Transaction])
    def redeem(member: str, points: int) -> Transaction:
        return ledger.redeem(member, points, key=f"redeem-{member}-{points}")

    return app, ledger


def _call(app: FastAPI, method: str, path: str) -> httpx.Response:
    """Call *app* in process over ASGI."""

    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
            return await client.request(method, path)

    return asyncio.run(call())


def _json(answer: httpx.Response) -> Any:  # noqa: ANN401 - a JSON document
    return answer.json()


def test_a_response_model_answers_with_the_jsonable_form() -> None:
    """The body is jsonable.dump of the result; it loads back to the same value."""
    app, ledger = _service()
    ledger.earn("ann", 500, key="e1")
    answer = _call(app, "GET", "/members/ann/balance")
    assert 200 == answer.status_code
    assert jsonable.dump(ledger.balance("ann")) == answer.json()
    assert ledger.balance("ann") == jsonable.load(Balance, answer.json())
    spent = _call(app, "POST", "/members/ann/redeem/120")
    assert ledger.transaction_by_key("redeem-ann-120") == jsonable.load(Transaction, spent.json())


def test_a_refusal_answers_with_its_code_and_status() -> None:
    """InsufficientPointsError is a 409 with its code and numbers, as data."""
    app, _ledger = _service()
    answer = _call(app, "POST", "/members/bob/redeem/10")
    assert 409 == answer.status_code
    body = answer.json()
    assert ("insufficient_points", 10, 0) == (body["error"], body["requested"], body["available"])


def test_openapi_describes_the_results() -> None:
    """OpenAPI carries the published schema of each response model."""
    spec = _json(_call(_service()[0], "GET", "/openapi.json"))
    response = spec["paths"]["/members/{member}/balance"]["get"]["responses"]["200"]
    schema = response["content"]["application/json"]["schema"]
    schema = spec["components"]["schemas"].get(schema.get("$ref", "").rsplit("/", 1)[-1], schema)
    assert {"member", "currency", "posted", "available", "as_of"} <= set(schema["properties"])
    assert "date-time" == schema["properties"]["as_of"]["format"]


def test_validation_refuses_with_the_path() -> None:
    """A body that does not fit is a Pydantic ValidationError naming the field."""
    with pytest.raises(ValidationError, match=r"balance\.as_of"):
        TypeAdapter(PointkitModel[Balance]).validate_python(
            {"member": "ann", "currency": "points", "posted": 1, "pending": 0, "held": 0,
             "awaiting_expiry": 0, "available": 1, "debt": 0, "as_of": "yesterday"}
        )  # fmt: skip

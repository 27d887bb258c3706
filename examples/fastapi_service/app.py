"""A points-mall service on FastAPI: async, on a connection pool, with typed responses.

* The endpoints are ``async``: pointkit's :class:`~pointkit.program.AsyncProgram` runs each
  call on worker threads, so the event loop never waits on PostgreSQL.
* One ``psycopg_pool.ConnectionPool`` serves the service and pointkit
  (``PostgresStorage(pool=...)``), as many connections as pointkit has workers.
* ``POST /orders`` writes the service's own order row and the order's points in one
  transaction on one pooled connection (``PostgresStorage(connection=...)``): both commit, or
  neither does. The order's time is the business time the client sends (when the order was
  placed), so a retry of the order is the same event and is answered from the record.
* Results are pointkit's own types as response models (``PointkitModel[...]``), and every
  pointkit error is answered with its code and HTTP status (``jsonable.error_status``).

Run it with ``uvicorn app:app`` (``POINTKIT_DSN`` and ``POINTKIT_SCHEMA`` in the
environment); ``create_app`` builds it for tests with an explicit database and clock. The
programme is ``examples/points_mall.toml``.
"""

from __future__ import annotations

import os
from contextlib import asynccontextmanager
from datetime import datetime  # noqa: TC003 - pydantic reads the annotation at run time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from psycopg import sql
from psycopg_pool import ConnectionPool
from pydantic import BaseModel

from pointkit import Balance, Clock, Money, SystemClock, jsonable
from pointkit.exceptions import InvalidArgumentError, PointkitError
from pointkit.features import DrawResult, Redemption
from pointkit.integrations.pydantic import PointkitModel
from pointkit.program import AsyncProgram, Program, ProgramConfig, load_config
from pointkit.rules import Event
from pointkit.storage.postgres import PostgresStorage


if TYPE_CHECKING:
    from collections.abc import AsyncIterator


PROGRAMME = Path(__file__).parent.parent / "points_mall.toml"


class OrderIn(BaseModel):
    """A paid order: it earns points."""

    order_id: str
    member: str
    amount: str  # yuan, as a decimal string: money is never a float
    placed_at: datetime  # when the order was placed (RFC 3339): the event's time


class OrderOut(BaseModel):
    """What an order earned, and the member's balance after it."""

    order: str
    earned: int
    balance: int
    replayed: bool


class RefundIn(BaseModel):
    """A refund of part (or all) of an order."""

    key: str
    amount: str | None = None


class RedemptionIn(BaseModel):
    """A redemption of an offer from the catalogue."""

    key: str
    member: str
    offer: str
    option: str = "points"
    quantity: int = 1


class DrawIn(BaseModel):
    """One lottery draw."""

    draw_id: str
    member: str
    lottery: str = "wheel"


class MemberOut(BaseModel):
    """A member's points and tier at a glance."""

    member: str
    available: int
    held: int
    tier: str | None


def _money(text: str) -> Money:
    try:
        return Money(Decimal(text), "CNY")
    except InvalidOperation:
        raise InvalidArgumentError(f"amount={text!r} is not a decimal number") from None


def create_app(  # noqa: C901 - one route per endpoint
    dsn: str, schema: str, *, clock: Clock | None = None, connections: int = 10
) -> FastAPI:
    """Build the service on the PostgreSQL database *dsn*, points in *schema*.

    The schema is created or upgraded once, at start-up (``PostgresStorage.migrate``), with
    the service's own ``orders`` table beside pointkit's.
    """
    config: ProgramConfig = load_config(PROGRAMME)
    when: Clock = clock or SystemClock()
    PostgresStorage(dsn, schema=schema, migrate=True).close()
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {}.orders (order_id text PRIMARY KEY, "
                "member text NOT NULL, amount numeric NOT NULL, placed_at timestamptz NOT NULL)"
            ).format(sql.Identifier(schema))
        )
    pool = ConnectionPool(dsn, min_size=1, max_size=connections, open=False)
    mall: dict[str, AsyncProgram] = {}

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        pool.open(wait=True)
        storage = PostgresStorage(pool=pool, schema=schema)
        mall["program"] = AsyncProgram(
            Program(config, storage=storage, clock=when), max_workers=connections
        )
        try:
            yield
        finally:
            mall["program"].close()
            pool.close()

    app = FastAPI(title="points mall", lifespan=lifespan)

    def program() -> AsyncProgram:
        return mall["program"]

    @app.exception_handler(PointkitError)
    async def refused(_request: Request, error: PointkitError) -> JSONResponse:
        return JSONResponse(jsonable.dump(error), status_code=jsonable.error_status(error))

    def place(order: OrderIn) -> OrderOut:
        """The order row and its points in one transaction, on one pooled connection."""
        amount = _money(order.amount)
        with pool.connection() as connection, connection.transaction():
            connection.execute(
                sql.SQL(
                    "INSERT INTO {}.orders VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING"
                ).format(sql.Identifier(schema)),
                (order.order_id, order.member, amount.amount, order.placed_at),
            )
            storage = PostgresStorage(connection=connection, schema=schema)
            here = Program(config, storage=storage, clock=when)
            event = Event.purchase(
                order.order_id, order.member, order.placed_at, amount=amount,
                order_id=order.order_id,
            )  # fmt: skip
            recorded = here.record(event)
            return OrderOut(
                order=order.order_id,
                earned=sum(txn.amount for txn in recorded.outcome.transactions),
                balance=here.balance(order.member).available,
                replayed=recorded.outcome.replayed,
            )

    @app.post("/orders")
    async def create_order(order: OrderIn) -> OrderOut:
        return await program().run_sync(place, order)

    @app.post("/orders/{order_id}/refunds")
    async def refund_order(order_id: str, refund: RefundIn) -> dict[str, int]:
        amount = None if refund.amount is None else _money(refund.amount)
        clawed = await program().refund_event(order_id, key=refund.key, amount=amount)
        return {"clawed_back": sum(transaction.amount for transaction in clawed)}

    @app.get("/members/{member}")
    async def member(member: str) -> MemberOut:
        balance = await program().balance(member)
        profile = await program().member(member)
        return MemberOut(
            member=member, available=balance.available, held=balance.held, tier=profile.tier
        )

    @app.get("/members/{member}/balance", response_model=PointkitModel[Balance])
    async def balance(member: str) -> Balance:
        return await program().balance(member)

    @app.post("/redemptions", response_model=PointkitModel[Redemption])
    async def redeem(body: RedemptionIn) -> Redemption:
        return await program().redeem(
            body.member, body.offer, key=body.key, option=body.option, quantity=body.quantity
        )

    @app.post("/redemptions/{key}/fulfilment", response_model=PointkitModel[Redemption])
    async def fulfil(key: str) -> Redemption:
        return await program().fulfil(key, key=f"fulfil-{key}")

    @app.post("/draws", response_model=PointkitModel[DrawResult])
    async def draw(body: DrawIn) -> DrawResult:
        return await program().draw(body.member, body.lottery, draw_id=body.draw_id, minor=False)

    @app.get("/lotteries/{lottery}/odds")
    async def odds(lottery: str) -> dict[str, Any]:
        return (await program().disclosure(lottery)).to_dict()

    return app


def _from_environment() -> FastAPI | None:
    dsn = os.environ.get("POINTKIT_DSN")
    if dsn is None:
        return None
    return create_app(dsn, os.environ.get("POINTKIT_SCHEMA", "pointkit"))


app = _from_environment()

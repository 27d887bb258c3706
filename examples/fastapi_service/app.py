"""A points-mall service on FastAPI that commits points in its own request transaction.

Each request opens one PostgreSQL connection and one transaction. The service writes its own
rows (an order) and pointkit writes the points on the same connection, through
``PostgresStorage(connection=...)``: both commit together, or neither does. If recording the
points fails, the order row rolls back with it.

Run it with ``uvicorn app:app`` (``POINTKIT_DSN`` and ``POINTKIT_SCHEMA`` in the environment);
``create_app`` builds it for tests with an explicit database and clock. The programme is
``examples/points_mall.toml``.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
from fastapi import FastAPI, HTTPException
from psycopg import sql
from pydantic import BaseModel

from pointkit import Clock, Money, SystemClock
from pointkit.exceptions import InvalidArgumentError, LedgerError, PointkitError
from pointkit.program import Program, ProgramConfig, load_config
from pointkit.rules import Event
from pointkit.storage.postgres import PostgresStorage


if TYPE_CHECKING:
    from collections.abc import Iterator


PROGRAMME = Path(__file__).parent.parent / "points_mall.toml"


class OrderIn(BaseModel):
    """A paid order: it earns points."""

    order_id: str
    member: str
    amount: str  # yuan, as a decimal string: money is never a float


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


def _status(error: PointkitError) -> int:
    if isinstance(error, InvalidArgumentError):
        return 422
    if isinstance(error, LookupError):
        return 404
    if isinstance(error, LedgerError):
        return 409
    return 503


def _money(text: str) -> Money:
    try:
        return Money(Decimal(text), "CNY")
    except InvalidOperation:
        raise InvalidArgumentError(f"amount={text!r} is not a decimal number") from None


def create_app(dsn: str, schema: str, *, clock: Clock | None = None) -> FastAPI:  # noqa: C901 - one route per endpoint
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
                "CREATE TABLE IF NOT EXISTS {}.orders "
                "(order_id text PRIMARY KEY, member text NOT NULL, amount numeric NOT NULL)"
            ).format(sql.Identifier(schema))
        )
    app = FastAPI(title="points mall")

    @contextmanager
    def request() -> Iterator[tuple[psycopg.Connection[Any], Program]]:
        """One connection and one transaction per request: the host's rows and the points."""
        with psycopg.connect(dsn) as connection:
            try:
                with connection.transaction():
                    storage = PostgresStorage(connection=connection, schema=schema)
                    yield connection, Program(config, storage=storage, clock=when)
            except PointkitError as error:
                raise HTTPException(
                    _status(error), {"error": error.code, "message": str(error)}
                ) from error
            except psycopg.errors.UniqueViolation as error:  # the service's own rows
                raise HTTPException(
                    409, {"error": "already_exists", "message": str(error).strip()}
                ) from error

    @app.post("/orders")
    def create_order(order: OrderIn) -> dict[str, object]:
        with request() as (connection, mall):
            amount = _money(order.amount)
            connection.execute(
                sql.SQL("INSERT INTO {}.orders VALUES (%s, %s, %s)").format(sql.Identifier(schema)),
                (order.order_id, order.member, amount.amount),
            )
            event = Event.purchase(
                order.order_id, order.member, when.now(), amount=amount, order_id=order.order_id
            )
            recorded = mall.record(event)
            earned = sum(transaction.amount for transaction in recorded.outcome.transactions)
            return {
                "order": order.order_id,
                "earned": earned,
                "balance": mall.balance(order.member).available,
            }

    @app.post("/orders/{order_id}/refunds")
    def refund_order(order_id: str, refund: RefundIn) -> dict[str, object]:
        with request() as (_, mall):
            amount = None if refund.amount is None else _money(refund.amount)
            clawed = mall.refund_event(order_id, key=refund.key, amount=amount)
            return {"clawed_back": sum(transaction.amount for transaction in clawed)}

    @app.get("/members/{member}")
    def member(member: str) -> dict[str, object]:
        with request() as (_, mall):
            balance = mall.balance(member)
            return {
                "member": member,
                "available": balance.available,
                "held": balance.held,
                "tier": mall.member(member).tier,
            }

    @app.post("/redemptions")
    def redeem(body: RedemptionIn) -> dict[str, object]:
        with request() as (_, mall):
            redemption = mall.redeem(
                body.member, body.offer, key=body.key, option=body.option, quantity=body.quantity
            )
            return {
                "key": redemption.key,
                "status": redemption.status.value,
                "points": redemption.points,
                "cash": None if redemption.cash is None else str(redemption.cash),
            }

    @app.post("/redemptions/{key}/fulfilment")
    def fulfil(key: str) -> dict[str, object]:
        with request() as (_, mall):
            return {"status": mall.fulfil(key, key=f"fulfil-{key}").status.value}

    @app.post("/draws")
    def draw(body: DrawIn) -> dict[str, object]:
        with request() as (_, mall):
            result = mall.draw(body.member, body.lottery, draw_id=body.draw_id, minor=False)
            return {"prize": result.prize, "replayed": result.replayed}

    @app.get("/lotteries/{lottery}/odds")
    def odds(lottery: str) -> dict[str, Any]:
        with request() as (_, mall):
            return mall.disclosure(lottery).to_dict()

    return app


def _from_environment() -> FastAPI | None:
    dsn = os.environ.get("POINTKIT_DSN")
    if dsn is None:
        return None
    return create_app(dsn, os.environ.get("POINTKIT_SCHEMA", "pointkit"))


app = _from_environment()

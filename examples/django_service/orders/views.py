"""Place an order that earns points; read a member's balance. JSON in, JSON out.

An order is three writes in one ``transaction.atomic()`` block: the order row, its points
(``program().record``, on Django's own connection) and the product's stock. The stock comes
last and the database refuses to take it below zero: then the block raises, and the order
row and its points roll back with it.
"""

from __future__ import annotations

import json
from typing import Any

import psycopg
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest, HttpResponseNotAllowed, JsonResponse

from orders.models import Order, Product
from pointkit import Money
from pointkit.exceptions import InvalidArgumentError, LedgerError, PointkitError
from pointkit.integrations.django import program
from pointkit.rules import Event


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": code, "message": message}, status=status)


def _status(error: PointkitError) -> int:
    if isinstance(error, InvalidArgumentError):
        return 422
    if isinstance(error, LedgerError):
        return 409
    return 503


# --8<-- [start:place_order]
def place_order(request: HttpRequest) -> Any:  # noqa: ANN401 - Django's responses have no static type
    """POST ``{"order_id", "member", "sku", "quantity"}``: the order, its points and the stock."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    body = json.loads(request.body)
    mall = program()
    try:
        with transaction.atomic():
            product = Product.objects.get(sku=body["sku"])
            amount = product.price * body["quantity"]
            order = Order.objects.create(
                order_id=body["order_id"],
                member=body["member"],
                product=product,
                quantity=body["quantity"],
                amount=amount,
            )
            event = Event.purchase(
                order.order_id,
                order.member,
                mall.clock.now(),
                amount=Money(amount, "CNY"),
                order_id=order.order_id,
            )
            recorded = mall.record(event)
            order.points = sum(earned.amount for earned in recorded.outcome.transactions)
            order.save(update_fields=["points"])
            # Last: the database refuses a stock below zero, and the whole block rolls back.
            Product.objects.filter(pk=product.pk).update(stock=F("stock") - order.quantity)
    except Product.DoesNotExist:
        return _error(404, "no_such_product", f"no product {body['sku']!r}")
    except IntegrityError as error:
        if isinstance(error.__cause__, psycopg.errors.CheckViolation):
            return _error(409, "out_of_stock", f"not enough {body['sku']!r} in stock")
        return _error(409, "already_exists", f"order {body['order_id']!r} exists")
    except PointkitError as error:
        return _error(_status(error), error.code, str(error))
    balance = mall.balance(order.member)
    return JsonResponse(
        {"order": order.order_id, "earned": order.points, "balance": balance.available},
        status=201,
    )
    # --8<-- [end:place_order]


def balance(request: HttpRequest, member: str) -> Any:  # noqa: ANN401 - Django's responses have no static type
    """GET a member's balance and tier."""
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    mall = program()
    points = mall.balance(member)
    return JsonResponse(
        {
            "member": member,
            "posted": points.posted,
            "available": points.available,
            "held": points.held,
            "tier": mall.member(member).tier,
        }
    )

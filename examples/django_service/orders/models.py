"""A product with a stock that cannot go below zero, and an order of it."""

from __future__ import annotations

from django.db import models


class Product(models.Model):  # type: ignore[misc] # Django ships no type information
    """Something the shop sells; its stock is checked by the database (``CHECK stock >= 0``)."""

    sku = models.CharField(max_length=32, unique=True)
    price = models.DecimalField(max_digits=10, decimal_places=2)
    stock = models.PositiveIntegerField()

    def __str__(self) -> str:
        return str(self.sku)


class Order(models.Model):  # type: ignore[misc] # Django ships no type information
    """A placed order and the points it earned; it commits with them."""

    order_id = models.CharField(max_length=64, unique=True)
    member = models.CharField(max_length=64)
    product = models.ForeignKey(Product, on_delete=models.PROTECT)
    quantity = models.PositiveIntegerField()
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    points = models.IntegerField(default=0)

    def __str__(self) -> str:
        return str(self.order_id)

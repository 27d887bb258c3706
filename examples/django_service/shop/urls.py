"""The shop's URLs: place an order, read a member's balance."""

from __future__ import annotations

from django.urls import path
from orders import views


urlpatterns = [
    path("orders", views.place_order),
    path("members/<str:member>/balance", views.balance),
]

"""A shop on Django whose orders earn points in the same transaction as the order row.

The project (``shop``: settings and URLs) has one app, ``orders``: products with a stock, and
orders that earn points from the programme in ``examples/points_mall.toml`` through
``pointkit.integrations.django``. The order row, the points and the stock are written in one
``transaction.atomic()`` block: all of them commit, or none does.
"""

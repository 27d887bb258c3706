"""The shop's orders: products with a stock, orders that earn points."""

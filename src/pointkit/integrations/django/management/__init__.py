"""pointkit's Django management commands."""

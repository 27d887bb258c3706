"""SQLite: the embedded default (stdlib sqlite3); it serves every storage part.

``_storage`` holds the adapter and its accounts part (the ledger's wallets, lots, holds and
journal); ``_feature_rows`` the records and tiers parts; ``_schema`` the versioned schema.
"""

from pointkit.storage.sqlite._storage import SCHEMA_VERSION, SQLiteStorage


__all__ = ["SCHEMA_VERSION", "SQLiteStorage"]

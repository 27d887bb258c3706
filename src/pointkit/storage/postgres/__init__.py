"""PostgreSQL (psycopg 3): the production adapter, the pointkit[postgres] extra; it serves every storage part.

``_storage`` holds the adapter and its accounts part (the ledger's wallets, lots, holds and
journal); ``_feature_rows`` the records and tiers parts; ``_schema`` the versioned schema.
"""

from pointkit.storage.postgres._storage import SCHEMA_VERSION, PostgresStorage


__all__ = ["SCHEMA_VERSION", "PostgresStorage"]

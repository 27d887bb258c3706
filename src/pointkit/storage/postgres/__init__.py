"""PostgreSQL (psycopg 3): the production adapter, the pointkit[postgres] extra; it serves every storage part.

``_storage`` holds the adapter and its accounts part (the ledger's wallets, lots, holds and
journal); ``_feature_rows`` the records and tiers parts; ``_schema`` the versioned schema;
``_citus`` the SQL that distributes that schema on Citus.
"""

from pointkit.storage.postgres._citus import citus_distribution
from pointkit.storage.postgres._storage import SCHEMA_VERSION, PostgresStorage


__all__ = ["SCHEMA_VERSION", "PostgresStorage", "citus_distribution"]

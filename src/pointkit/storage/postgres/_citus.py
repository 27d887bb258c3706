"""The SQL that distributes pointkit's schema on Citus, generated from the schema's own migrations.

Maintainer's notes
------------------
Every table the migrations create is listed, so a new table cannot be left behind on the
coordinator: ``created_tables`` reads them from the migrations. Each table is distributed by
``program_id`` and co-located with ``pk_wallet``, so a command (which names one program) is a
single-shard transaction; ``pk_schema`` (one row per applied migration) is a reference table.
Citus enforces a primary or unique key only when it contains the distribution column, which is
why every key starts with ``program_id`` (tests/test_postgres_sql_rules.py checks both).

The append-only and balance triggers need ``citus.enable_unsafe_triggers``: Citus then creates
them on every shard. They stay correct there because every statement of a command reaches one
shard group, so a trigger never needs rows from another node.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from pointkit.storage.postgres._schema import created_tables, quoted


if TYPE_CHECKING:
    import psycopg


__all__ = ["DISTRIBUTION_COLUMN", "citus_distribution", "is_distributed"]

DISTRIBUTION_COLUMN: Final = "program_id"
_REFERENCE: Final = frozenset({"pk_schema"})
_ANCHOR: Final = "pk_wallet"


def citus_distribution(schema: str = "pointkit") -> tuple[str, ...]:
    """The statements that distribute a migrated schema on a Citus coordinator, in order.

    Run them once, as a superuser, after ``pointkit migrate`` and before any command:

    >>> for statement in citus_distribution("pointkit")[:3]:
    ...     print(statement)
    SET citus.enable_unsafe_triggers = on;
    SELECT create_distributed_table('"pointkit".pk_wallet', 'program_id');
    SELECT create_distributed_table('"pointkit".pk_txn', 'program_id', colocate_with => '"pointkit".pk_wallet');

    Args:
        schema: The PostgreSQL schema holding pointkit's tables.
    """
    s = quoted(schema)
    distributed = [name for name in created_tables() if name not in _REFERENCE and name != _ANCHOR]
    return (
        "SET citus.enable_unsafe_triggers = on;",
        f"SELECT create_distributed_table('{s}.{_ANCHOR}', '{DISTRIBUTION_COLUMN}');",
        *(
            f"SELECT create_distributed_table('{s}.{name}', '{DISTRIBUTION_COLUMN}', "
            f"colocate_with => '{s}.{_ANCHOR}');"
            for name in distributed
        ),
        *(f"SELECT create_reference_table('{s}.{name}');" for name in sorted(_REFERENCE)),
    )


def is_distributed(connection: psycopg.Connection[Any], schema: str, table: str) -> bool:
    """Whether *schema*.*table* is a Citus distributed table (``False`` without Citus).

    The outbox reads its horizon on the coordinator when its table is distributed
    (``storage/postgres/_outbox_rows.py``); the storage asks once, when it opens.
    """
    catalog = connection.execute(
        "SELECT to_regclass('pg_catalog.pg_dist_partition') IS NOT NULL"
    ).fetchone()
    if catalog is None or not catalog[0]:
        return False
    found = connection.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition "
        "WHERE logicalrelid = to_regclass(%s))",
        (f"{quoted(schema)}.{table}",),
    ).fetchone()
    return bool(found and found[0])

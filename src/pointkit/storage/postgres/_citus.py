"""The SQL that distributes pointkit's schema on Citus, generated from the schema's own migrations.

Maintainer's notes
------------------
Every table the migrations create is listed, so a new table cannot be left behind on the
coordinator: ``created_tables`` reads them from the migrations. ``pk_schema`` (one row per
applied migration) is a reference table; every other table is co-located with ``pk_wallet``.
Citus enforces a primary or unique key only when it contains the distribution column.

By program, each table is distributed on ``program_id``, which starts every key, so a command
(which names one program) is a single-shard transaction. By member, a member table is
distributed on its member (a posting on its transaction's, ``txn_member``), which every primary
key holds since schema version 7, and the program-wide tables on ``program_id``; the keys by id
alone that version 7 keeps unique become plain indexes, and keys and event ids unique per
member instead (tests/test_postgres_sql_rules.py checks both layouts' keys).

The append-only and balance triggers need ``citus.enable_unsafe_triggers``: Citus then creates
them on every shard. They stay correct there because a trigger reads only rows of its own
shard: the balance check reads a transaction's postings, which are stored with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from pointkit.exceptions import InvalidArgumentError
from pointkit.storage.postgres._schema import created_tables, quoted


if TYPE_CHECKING:
    import psycopg


__all__ = [
    "DISTRIBUTION_COLUMN",
    "PROGRAM_TABLES",
    "citus_distribution",
    "distribution_column",
    "member_column",
]

DISTRIBUTION_COLUMN: Final = "program_id"
_REFERENCE: Final = frozenset({"pk_schema"})
_ANCHOR: Final = "pk_wallet"

PROGRAM_TABLES: Final = frozenset({"pk_budget", "pk_outbox_consumer", "pk_outbox_dead"})
"""The tables of program-wide rows: budgets (offer and prize stock among them) and the outbox's
consumers. Distributed by member, the schema keeps them distributed by ``program_id``."""

# A member table's distribution column, where it is not ``member``: a posting goes with its
# transaction, so that a transaction's rows (and its balance check) are on one shard.
_MEMBER_COLUMNS: Final = {"pk_posting": "txn_member"}

# The keys by id alone (version 7 keeps them unique), and what the schema distributed by member
# has instead: Citus enforces a unique index only when it holds the distribution column.
_BY_ID: Final = (
    ("pk_txn", "INDEX pk_txn_id", "pk_txn_id", "(program_id, txn_id)"),
    ("pk_txn", "CONSTRAINT pk_txn_program_id_idem_key_key", "pk_txn_key", "(program_id, idem_key)"),
    ("pk_lot", "INDEX pk_lot_id", "pk_lot_id", "(program_id, lot_id)"),
    ("pk_hold", "INDEX pk_hold_id", "pk_hold_id", "(program_id, hold_id)"),
    ("pk_rule_event", "INDEX pk_rule_event_id", "pk_rule_event_id", "(program_id, event_id)"),
    ("pk_rule_event", "INDEX pk_rule_event_seq", "pk_rule_event_seq", "(program_id, seq)"),
    ("pk_outbox", "INDEX pk_outbox_order", "pk_outbox_order", "(program_id, xid, seq)"),
    ("pk_outbox", "CONSTRAINT pk_outbox_program_id_event_id_key", "pk_outbox_event",
     "(program_id, event_id)"),
)  # fmt: skip
# Keys per member that the schema distributed by member adds: an idempotency key and an event
# id are unique per member there (a rule event's id is the key of pk_rule_event already).
_PER_MEMBER: Final = (
    ("pk_txn", "pk_txn_member_key", "(program_id, member, idem_key)"),
    ("pk_outbox", "pk_outbox_member_event", "(program_id, member, event_id)"),
)


def member_column(table: str) -> str:
    """The column a table is distributed on in the schema distributed by member."""
    if table in PROGRAM_TABLES:
        return DISTRIBUTION_COLUMN
    return _MEMBER_COLUMNS.get(table, "member")


def citus_distribution(schema: str = "pointkit", *, by: str = "program") -> tuple[str, ...]:
    """The statements that distribute a migrated schema on a Citus coordinator, in order.

    Run them once, as a superuser, after ``pointkit migrate`` and before any command:

    >>> for statement in citus_distribution("pointkit")[:3]:
    ...     print(statement)
    SET citus.enable_unsafe_triggers = on;
    SELECT create_distributed_table('"pointkit".pk_wallet', 'program_id');
    SELECT create_distributed_table('"pointkit".pk_txn', 'program_id', colocate_with => '"pointkit".pk_wallet');

    Args:
        schema: The PostgreSQL schema holding pointkit's tables.
        by: ``"program"`` (every table by ``program_id``: a program lives on one worker) or
            ``"member"`` (a member's rows on one shard, a program spread over every worker;
            program-wide rows by ``program_id``; see docs/scaling.md for what changes).

    Raises:
        InvalidArgumentError: If *by* is neither.
    """
    if by not in ("program", "member"):
        raise InvalidArgumentError(f'by={by!r} must be "program" or "member"')
    s = quoted(schema)

    def column(table: str) -> str:
        return DISTRIBUTION_COLUMN if by == "program" else member_column(table)

    tables = [name for name in created_tables() if name not in _REFERENCE and name != _ANCHOR]
    keys: tuple[str, ...] = ()
    if by == "member":
        keys = (
            *(
                f"ALTER TABLE {s}.{table} DROP {what};"
                if what.startswith("CONSTRAINT")
                else f"DROP {what.replace('INDEX ', f'INDEX {s}.')};"
                for table, what, _, _ in _BY_ID
            ),
            *(f"CREATE INDEX {name} ON {s}.{table} {columns};"
              for table, _, name, columns in _BY_ID),
            *(f"CREATE UNIQUE INDEX {name} ON {s}.{table} {columns};"
              for table, name, columns in _PER_MEMBER),
        )  # fmt: skip
    return (
        "SET citus.enable_unsafe_triggers = on;",
        *keys,
        f"SELECT create_distributed_table('{s}.{_ANCHOR}', '{column(_ANCHOR)}');",
        *(
            f"SELECT create_distributed_table('{s}.{name}', '{column(name)}', "
            f"colocate_with => '{s}.{_ANCHOR}');"
            for name in tables
        ),
        *(f"SELECT create_reference_table('{s}.{name}');" for name in sorted(_REFERENCE)),
    )


def distribution_column(connection: psycopg.Connection[Any], schema: str, table: str) -> str | None:
    """The column *schema*.*table* is distributed on by Citus; ``None`` if it is not distributed.

    The storage asks when it opens: the outbox reads its horizon on the coordinator when its
    table is distributed, and a command looks up its idempotency keys per member when the
    wallets are distributed by member.
    """
    catalog = connection.execute(
        "SELECT to_regclass('pg_catalog.pg_dist_partition') IS NOT NULL"
    ).fetchone()
    if catalog is None or not catalog[0]:
        return None
    found = connection.execute(
        "SELECT column_to_column_name(logicalrelid, partkey) FROM pg_catalog.pg_dist_partition "
        "WHERE logicalrelid = to_regclass(%s) AND partkey IS NOT NULL",
        (f"{quoted(schema)}.{table}",),
    ).fetchone()
    return None if found is None else str(found[0])

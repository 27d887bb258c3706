"""Bring pointkit's PostgreSQL schema to version 7: every member table keyed by its member.

pointkit's own migrations run in order from whatever version the schema has, so this is the
same step as the first migration; Django needs a migration of its own for each version, so that
``manage.py migrate`` upgrades a database that ran the earlier ones. Version 7 rewrites
``pk_txn``, ``pk_posting`` and ``pk_outbox`` once (docs/scaling.md).
"""

from __future__ import annotations

from typing import Final

from django.db import migrations

from pointkit.integrations.django.migrations import create_schema


SCHEMA_VERSION: Final = 7
"""pointkit's PostgreSQL schema version when this migration was written."""


class Migration(migrations.Migration):  # type: ignore[misc] # Django ships no type information
    """The member columns and keys of schema version 7, in the transaction of the migration."""

    dependencies = (("pointkit", "0002_pointkit_schema_6"),)
    operations = (migrations.RunPython(create_schema, elidable=False),)

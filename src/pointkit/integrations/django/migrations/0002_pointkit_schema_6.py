"""Bring pointkit's PostgreSQL schema to version 6: the transactional outbox and report indexes.

pointkit's own migrations run in order from whatever version the schema has, so this is the
same step as the first migration; Django needs a migration of its own for each version, so that
``manage.py migrate`` upgrades a database that ran the earlier ones.
"""

from __future__ import annotations

from typing import Final

from django.db import migrations

from pointkit.integrations.django.migrations import create_schema


SCHEMA_VERSION: Final = 6
"""pointkit's PostgreSQL schema version when this migration was written."""


class Migration(migrations.Migration):  # type: ignore[misc] # Django ships no type information
    """pointkit's outbox tables and report indexes, in the transaction of the migration."""

    dependencies = (("pointkit", "0001_pointkit_schema"),)
    operations = (migrations.RunPython(create_schema, elidable=False),)

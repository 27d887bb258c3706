"""Create pointkit's PostgreSQL schema (tables, triggers, indexes) in ``POINTKIT["SCHEMA"]``.

Irreversible on purpose: migrating pointkit back to zero would drop the points' journal, which
is the money's record. Dropping the schema is a decision made by hand.
"""

from __future__ import annotations

from typing import Any, Final

from django.db import migrations

from pointkit.integrations.django._settings import read_settings
from pointkit.integrations.django._storage import migrate_schema


SCHEMA_VERSION: Final = 4
"""pointkit's PostgreSQL schema version when this migration was written."""


def create_schema(apps: Any, schema_editor: Any) -> None:  # noqa: ANN401, ARG001 - RunPython's signature; Django has no static types
    """Run pointkit's migrations, on the database of ``POINTKIT["DATABASE"]`` only."""
    read = read_settings()
    if schema_editor.connection.alias == read.database:
        migrate_schema(schema_editor.connection, read.schema)


class Migration(migrations.Migration):  # type: ignore[misc] # Django ships no type information
    """pointkit's schema, in the transaction Django runs the migration in."""

    initial = True
    dependencies = ()
    operations = (migrations.RunPython(create_schema, elidable=False),)

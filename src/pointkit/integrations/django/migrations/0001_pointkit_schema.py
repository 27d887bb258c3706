"""Create pointkit's PostgreSQL schema (tables, triggers, indexes) in ``POINTKIT["SCHEMA"]``.

Irreversible on purpose: migrating pointkit back to zero would drop the points' journal, which
is the money's record. Dropping the schema is a decision made by hand.
"""

from __future__ import annotations

from typing import Final

from django.db import migrations

from pointkit.integrations.django.migrations import create_schema


SCHEMA_VERSION: Final = 4
"""pointkit's PostgreSQL schema version when this migration was written."""


class Migration(migrations.Migration):  # type: ignore[misc] # Django ships no type information
    """pointkit's schema, in the transaction Django runs the migration in."""

    initial = True
    dependencies = ()
    operations = (migrations.RunPython(create_schema, elidable=False),)

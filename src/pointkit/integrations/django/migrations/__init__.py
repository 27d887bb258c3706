"""Django migrations of pointkit's PostgreSQL schema.

Each runs pointkit's own migrations (``PostgresStorage.migrate``), which bring the schema to
this pointkit's version whatever it was. A pointkit release that raises the PostgreSQL schema
version adds a migration here that runs them again, so that ``manage.py migrate`` upgrades
existing databases; ``tests/test_django_service.py`` fails until it does.
"""

from __future__ import annotations

from typing import Any

from pointkit.integrations.django._settings import read_settings
from pointkit.integrations.django._storage import migrate_schema


__all__ = ["create_schema"]


def create_schema(apps: Any, schema_editor: Any) -> None:  # noqa: ANN401, ARG001 - RunPython's signature; Django has no static types
    """Run pointkit's migrations, on the database of ``POINTKIT["DATABASE"]`` only."""
    read = read_settings()
    if schema_editor.connection.alias == read.database:
        migrate_schema(schema_editor.connection, read.schema)

"""Django migrations of pointkit's PostgreSQL schema.

Each runs pointkit's own migrations (``PostgresStorage.migrate``), which bring the schema to
this pointkit's version whatever it was. A pointkit release that raises the PostgreSQL schema
version adds a migration here that runs them again, so that ``manage.py migrate`` upgrades
existing databases; ``tests/test_django_service.py`` fails until it does.
"""

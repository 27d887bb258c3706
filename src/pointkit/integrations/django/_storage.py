"""pointkit's storage on Django's own database connection.

Maintainer's notes
------------------
Django keeps one connection per thread (``django.db.connections``) and may replace it
between requests (``CONN_MAX_AGE``). :class:`DjangoStorage` therefore binds to nothing when it
is made: each unit of work takes the calling thread's connection at that moment, and runs on a
``PostgresStorage(connection=...)`` made for that psycopg connection (kept per thread, made
again when Django reconnects). One storage, and one program on it, serve every thread.

On the host's connection each unit runs in ``connection.transaction()``: a savepoint when a
transaction is open, its own transaction when the connection is in autocommit. Inside
``transaction.atomic()`` Django turns autocommit off but sends nothing until its first
statement, and psycopg would take a unit that comes first for a transaction of its own and
commit it. So when Django is in a transaction that has not begun yet, the transaction is begun
before the unit: the points are then a savepoint of the host's transaction, whatever comes first.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, final

import psycopg
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connections

from pointkit.exceptions import SchemaVersionError
from pointkit.storage.postgres import PostgresStorage


if TYPE_CHECKING:
    from collections.abc import Iterator

    from pointkit._values import ProgramId
    from pointkit.ledger import ReadUnit, WriteUnit


__all__ = ["DjangoStorage", "host_connection", "migrate_schema"]

_MIGRATE = "python manage.py migrate pointkit"


def host_connection(django_connection: Any) -> psycopg.Connection[Any]:  # noqa: ANN401 - Django's connection wrapper has no static type
    """The psycopg connection under *django_connection*, with its transaction begun if Django's is.

    Raises:
        TransactionManagementError: If Django's transaction is broken (an error inside
            ``atomic()`` was caught without an inner ``atomic()``), as Django raises it.
        ImproperlyConfigured: If the database is not PostgreSQL on psycopg 3.
    """
    django_connection.validate_no_broken_transaction()
    django_connection.ensure_connection()
    connection = django_connection.connection
    if not isinstance(connection, psycopg.Connection):
        raise ImproperlyConfigured(
            f"database {django_connection.alias!r} is {django_connection.vendor} through "
            f"{type(connection).__module__}; pointkit needs django.db.backends.postgresql "
            "on psycopg 3"
        )
    # Inside atomic() before its first statement, the adapter begins Django's transaction
    # itself (PostgresStorage joins a host connection that is outside autocommit), so the
    # unit is a savepoint in it.
    return connection


def migrate_schema(django_connection: Any, schema: str) -> None:  # noqa: ANN401 - Django's connection wrapper
    """Create or upgrade pointkit's schema *schema* in Django's current transaction.

    Raises:
        SchemaVersionError: If the database's schema is newer than this pointkit.
    """
    PostgresStorage(connection=host_connection(django_connection), schema=schema, migrate=True)


@final
class DjangoStorage:
    """pointkit's storage (every part) on the calling thread's Django database connection.

    Each unit of work runs on the connection Django gives the calling thread at that moment,
    in a savepoint of Django's transaction: inside ``transaction.atomic()`` the points commit
    or roll back with the block; outside one, each command commits on its own, as a
    ``save()`` does in autocommit. One storage may be shared by every thread.

    Args:
        using: The alias in ``DATABASES`` of a PostgreSQL database on psycopg 3.
        schema: The PostgreSQL schema of pointkit's tables (made by ``manage.py migrate``).
    """

    def __init__(self, *, using: str = DEFAULT_DB_ALIAS, schema: str = "pointkit") -> None:
        self._using = using
        self._schema = schema
        self._local = threading.local()

    def __repr__(self) -> str:
        return f"DjangoStorage(using={self._using!r}, schema={self._schema!r})"

    @property
    def using(self) -> str:
        """The database alias."""
        return self._using

    @property
    def schema(self) -> str:
        """The PostgreSQL schema of pointkit's tables."""
        return self._schema

    def _bound(self) -> PostgresStorage:
        """The storage on this thread's connection now, made again if Django reconnected."""
        connection = host_connection(connections[self._using])
        bound: tuple[psycopg.Connection[Any], PostgresStorage] | None = getattr(
            self._local, "bound", None
        )
        if bound is not None and bound[0] is connection:
            return bound[1]
        try:
            storage = PostgresStorage(connection=connection, schema=self._schema)
        except SchemaVersionError as error:
            error.add_note(f"With Django, `{_MIGRATE}` creates or upgrades it.")
            raise
        self._local.bound = (connection, storage)
        return storage

    @contextmanager
    def reading(self, program: ProgramId) -> Iterator[ReadUnit]:
        """Begin a read of *program*'s ledger, with the isolation of Django's transaction."""
        with self._bound().reading(program) as unit:
            yield unit

    @contextmanager
    def writing(self, program: ProgramId) -> Iterator[WriteUnit]:
        """Begin a unit of work on *program*'s ledger, in a savepoint of Django's transaction."""
        with self._bound().writing(program) as unit:
            yield unit

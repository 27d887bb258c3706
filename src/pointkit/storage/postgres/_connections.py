"""Where the PostgreSQL adapter's connections come from, and what happens when one is lost.

Three sources, one contract: each unit of work gets a connection that is open and idle (no
transaction, no pipeline), runs in one transaction on it, and gives it back.

* pointkit's own pool (``psycopg_pool.ConnectionPool``) made from a connection string;
* the host's pool, given as it is;
* the host's one connection: each unit is a savepoint in the host's transaction, and pointkit
  never commits, rolls back or closes it.

On pointkit's connections (its pool or the host's) a unit runs in pipeline mode
(:meth:`Connections.pipelined`): BEGIN goes with the unit's first read and COMMIT with its
last writes, so a ledger command costs two round trips. The host's one connection keeps a
savepoint per unit, each batch of statements answered at once, as the host's own code expects.

A connection a failure left anything but idle — closed, broken, in a transaction, or stuck with
an aborted pipeline after its backend was terminated — is closed, never reused; the pool opens a
fresh one. The failure is then transient: the ledger retries the command with its key, and a
command whose COMMIT did reach the server is replayed, not written twice.
"""

from __future__ import annotations

import re
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, Any, Final, final

import psycopg
from psycopg import IsolationLevel, pq
from psycopg import errors as pg_errors
from psycopg_pool import ConnectionPool, PoolTimeout

from pointkit._validate import check_int, type_name
from pointkit.exceptions import (
    ArgumentTypeError,
    InvalidArgumentError,
    InvariantViolation,
    StorageError,
    TransientStorageError,
)


if TYPE_CHECKING:
    from collections.abc import Iterator


__all__ = ["Connections", "idle", "storage_error"]

MAX_CONNECTIONS_LIMIT: Final = 1_000
_IDLE: Final = pq.TransactionStatus.IDLE
_IN_TRANSACTION: Final = (pq.TransactionStatus.INTRANS, pq.TransactionStatus.INERROR)
# Writes run in READ COMMITTED, where a statement after a lock sees what the lock waited for;
# reads see one snapshot (an audit reads many tables).
_BEGIN: Final = b"BEGIN ISOLATION LEVEL READ COMMITTED"
_BEGIN_SNAPSHOT: Final = b"BEGIN ISOLATION LEVEL REPEATABLE READ"
# pointkit's own checks in SQL: a trigger's RAISE, or a cast that cannot succeed (the wallet
# UPDATE's pair assertion); their messages start with "pointkit:".
_ASSERTIONS = (pg_errors.RaiseException, pg_errors.InvalidTextRepresentation)
# The keys a concurrent command with the same idempotency key meets first: its transaction's
# id and key, and the ids made from them (a lot's id from its transaction's, a hold's is its
# transaction's). One server gets a batch's tables in one statement, whose parts run in an
# order of the server's choosing, so any of them may be the one met.
_TRANSACTION_KEYS: Final = frozenset(
    {
        "pk_txn_pkey",
        "pk_txn_id",
        "pk_txn_program_id_idem_key_key",
        "pk_posting_pkey",
        "pk_lot_id",
        "pk_hold_id",
    }
)
_SHARD_SUFFIX: Final = re.compile(r"_\d+\Z")
_CONSTRAINT: Final = re.compile(r'unique constraint "(\w+)"')
_TRANSIENT = (
    pg_errors.SerializationFailure,
    pg_errors.DeadlockDetected,
    pg_errors.LockNotAvailable,
    pg_errors.QueryCanceled,
    psycopg.OperationalError,
)


def storage_error(error: psycopg.Error, *, discarded: bool = False) -> StorageError:
    """Translate a psycopg error: serialization, deadlock and lost connections are transient.

    A lost connection is an ``OperationalError`` (a terminated backend's ``AdminShutdown``,
    class 08, "consuming input failed", ...). Any error after which pointkit had to *discard*
    its connection is transient too: the retry runs on a fresh connection.
    """
    message = f"PostgreSQL: {error}".strip()
    if isinstance(error, _ASSERTIONS) and "pointkit:" in str(error):
        raise InvariantViolation(message) from error
    if discarded or isinstance(error, _TRANSIENT) or _key_taken(error):
        return TransientStorageError(message)
    return StorageError(message)


def _seconds(name: str, value: object) -> float:
    """*value* as a number of seconds in (0, 3600], or an error naming *name*."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ArgumentTypeError(
            f"{name}={value!r} must be a number of seconds, not {type_name(value)}"
        )
    if not 0 < value <= 3_600:  # noqa: PLR2004 - an hour
        raise InvalidArgumentError(f"{name}={value!r} must be in (0, 3600]")
    return float(value)


def _lock_timeout(seconds: float) -> tuple[bytes, ...]:
    """The statements that set a transaction's lock timeout, on PostgreSQL and on Citus.

    ``SET LOCAL`` lasts for the transaction only. A coordinator passes it on to the workers,
    where the rows are locked, only when told to (``citus.propagate_set_commands``); on plain
    PostgreSQL that setting is an unused placeholder.
    """
    milliseconds = max(1, round(seconds * 1000))
    return (
        b"SET LOCAL citus.propagate_set_commands = 'local'",
        f"SET LOCAL lock_timeout = '{milliseconds}ms'".encode(),
    )


def _key_taken(error: psycopg.Error) -> bool:
    """Whether *error* is a concurrent command's transaction taking this one's key or id.

    Two commands with one key whose wallets differ do not wait on each other's locks: the
    second meets the first's row in a unique index. Run again, it finds the key and replays
    (or conflicts).
    """
    if not isinstance(error, pg_errors.UniqueViolation):
        return False
    # A Citus worker's error names the constraint only in its message, by its shard:
    # "pk_txn_pkey_102008".
    named = error.diag.constraint_name or next(iter(_CONSTRAINT.findall(str(error))), "")
    return _SHARD_SUFFIX.sub("", named) in _TRANSACTION_KEYS


def idle(connection: psycopg.Connection[Any]) -> bool:
    """Whether *connection* can begin a unit: open, not lost, no transaction, no pipeline.

    A backend terminated in the middle of a pipeline can leave psycopg's connection neither
    closed nor broken, but stuck in transaction status ACTIVE with an aborted pipeline, where
    every later command fails; such a connection is not idle.
    """
    if connection.closed or connection.broken:
        return False
    info = connection.info
    return (
        info.status == pq.ConnStatus.OK
        and info.transaction_status == pq.TransactionStatus.IDLE
        and info.pipeline_status == pq.PipelineStatus.OFF
    )


@final
class Connections:
    """The adapter's connections: its own pool, the host's pool, or the host's connection.

    Args:
        conninfo: A libpq connection string: pointkit keeps a pool of up to *max_connections*.
        pool: The host's ``psycopg_pool.ConnectionPool``, used as it is (never closed here).
        connection: The host's connection: units are savepoints in its transaction.
        max_connections: The most connections pointkit's own pool opens.
        wait_seconds: How long a unit waits for a free connection before a transient error.
        lock_timeout_seconds: How long a write unit on pointkit's connections waits for a
            row lock before a transient error (``SET LOCAL lock_timeout``); ``None`` keeps the
            server's setting.
    """

    def __init__(
        self,
        *,
        conninfo: str | None,
        pool: ConnectionPool[Any] | None,
        connection: psycopg.Connection[Any] | None,
        max_connections: int,
        wait_seconds: float,
        lock_timeout_seconds: float | None = None,
    ) -> None:
        given = [name for name, value in (("conninfo", conninfo), ("pool", pool),
                 ("connection", connection)) if value is not None]  # fmt: skip
        if len(given) != 1:
            raise InvalidArgumentError(
                "give exactly one of conninfo (pointkit keeps a pool and commits each "
                "command), pool (your psycopg_pool.ConnectionPool) or connection (pointkit "
                f"works inside your transaction); given: {given or 'none'}"
            )
        if pool is not None and not isinstance(pool, ConnectionPool):
            raise ArgumentTypeError(
                f"pool must be a psycopg_pool.ConnectionPool, not {type_name(pool)}"
            )
        self._max = check_int(
            "max_connections", max_connections, minimum=1, maximum=MAX_CONNECTIONS_LIMIT
        )
        self._wait = _seconds("wait_seconds", wait_seconds)
        self._set_lock_timeout = (
            ()
            if lock_timeout_seconds is None
            else _lock_timeout(_seconds("lock_timeout_seconds", lock_timeout_seconds))
        )
        self._conninfo = conninfo
        self._host = connection
        self._pool = pool
        self._own_pool = False

    @property
    def host_connection(self) -> bool:
        """Whether units run inside the host's connection and transaction."""
        return self._host is not None

    def describe(self) -> str:
        """How the adapter connects, for its repr."""
        if self._host is not None:
            return "host connection"
        if self._own_pool:
            return f"own pool of up to {self._max}"
        return "own pool (not open yet)" if self._pool is None else "host pool"

    def open(self) -> None:
        """Open pointkit's own pool (a no-op for the host's pool or connection)."""
        if self._pool is not None or self._host is not None:
            return
        self._pool = ConnectionPool(
            self._conninfo or "",
            # Autocommit from the start, as pipelined units want them: switching a connection
            # in and out of it costs each unit two more waits on the connection.
            kwargs={"autocommit": True},
            min_size=1,
            max_size=self._max,
            open=True,
            name="pointkit",
            timeout=self._wait,
        )
        self._own_pool = True

    @contextmanager
    def direct(self) -> Iterator[psycopg.Connection[Any]]:
        """A connection of its own, for the checks and migrations made before the pool opens.

        It fails at once when the database cannot be reached, where a pool would wait.
        """
        if self._host is not None or self._pool is not None:
            with self.transaction(join_host=False) as connection:
                yield connection
            return
        try:
            connection = psycopg.connect(self._conninfo or "")
        except psycopg.Error as error:
            raise storage_error(error) from error
        try:
            with connection.transaction():
                yield connection
        except psycopg.Error as error:
            raise storage_error(error) from error
        finally:
            connection.close()

    @contextmanager
    def transaction(
        self, *, snapshot: bool = False, join_host: bool = True
    ) -> Iterator[psycopg.Connection[Any]]:
        """One unit's transaction: REPEATABLE READ for a snapshot read, else READ COMMITTED.

        On the host's connection it is a savepoint in the host's transaction, at the host's
        isolation (with *join_host* off, as for the schema check made on open, a host
        connection that is idle outside autocommit gets a transaction of its own instead).
        """
        if self._host is not None:
            host = self._host
            try:
                if join_host and not host.autocommit and host.info.transaction_status == _IDLE:
                    # The host's transaction has not begun (nothing sent yet): begin it, as
                    # the host's own first statement would, so that the unit is a savepoint
                    # in it and commits or rolls back with it, never on its own.
                    host.execute("SELECT 1")
                with host.transaction():
                    yield host
            except psycopg.Error as error:
                raise storage_error(error) from error
            return
        connection = self._borrow()
        before = connection.isolation_level
        try:
            # Reads see one snapshot (an audit reads many tables); writes run in READ
            # COMMITTED, where a statement after a lock sees what the lock waited for.
            connection.isolation_level = (
                IsolationLevel.REPEATABLE_READ if snapshot else IsolationLevel.READ_COMMITTED
            )
            with connection.transaction():
                yield connection
            # A pooled connection goes back as it came: the host's next use of it (its own
            # transaction on the same pool) gets the host's isolation, not pointkit's.
            connection.isolation_level = before
        except BaseException as failure:
            # Whatever failed (the database, the ledger's own checks, an interrupt), a
            # connection left lost, in a transaction or in an aborted pipeline must not begin
            # another unit: it would fail for good.
            discarded = not idle(connection)
            if discarded:
                with suppress(psycopg.Error, OSError):  # best effort: it is lost already
                    connection.close()
            if isinstance(failure, psycopg.Error):
                raise storage_error(failure, discarded=discarded) from failure
            raise
        finally:
            self._give_back(connection)

    @contextmanager
    def pipelined(
        self, *, snapshot: bool = False
    ) -> Iterator[tuple[psycopg.Connection[Any], psycopg.Pipeline]]:
        """One unit's transaction on a pooled connection in pipeline mode, begun and ended by us.

        BEGIN is queued, not sent alone: it reaches the server with the unit's first read, and
        the COMMIT with the unit's last writes, so a command that reads once and writes once
        costs two round trips. psycopg's own transactions would wait for both (it syncs a
        pipeline around them), so the connection runs in autocommit mode and pointkit sends
        BEGIN, COMMIT and ROLLBACK itself. An error is answered at the next read or at the
        COMMIT; the transaction is then rolled back, and a connection that is still not idle
        afterwards is closed, as :meth:`transaction` does.

        Not for the host's connection: its units are savepoints in the host's transaction.
        """
        if self._host is not None:
            raise InvariantViolation("a host connection's units are savepoints, not pipelined")
        connection = self._borrow()
        autocommit = connection.autocommit
        failure: BaseException | None = None
        try:
            if not autocommit:
                connection.autocommit = True
            with connection.pipeline() as pipeline:
                connection.execute(_BEGIN_SNAPSHOT if snapshot else _BEGIN)
                if not snapshot:
                    for statement in self._set_lock_timeout:
                        connection.execute(statement)
                try:
                    yield connection, pipeline
                except BaseException as error:  # noqa: BLE001 - re-raised below, after the rollback
                    failure = error
                    with suppress(psycopg.Error, OSError):
                        connection.execute(b"ROLLBACK")
                else:
                    connection.execute(b"COMMIT")
        except psycopg.Error as error:  # answered at the final sync: a write's, or the COMMIT's
            failure = failure or error
        finally:
            discarded = self._end_pipelined(connection, autocommit=autocommit)
        if failure is None:
            return
        if isinstance(failure, psycopg.Error):
            raise storage_error(failure, discarded=discarded) from failure
        raise failure

    def _end_pipelined(self, connection: psycopg.Connection[Any], *, autocommit: bool) -> bool:
        """Leave *connection* idle, as it came, and give it back; return whether it was closed."""
        status = connection.info.transaction_status
        if not connection.closed and status in _IN_TRANSACTION:
            # A failed write left the transaction open (its COMMIT was skipped): roll it back.
            with suppress(psycopg.Error, OSError):
                connection.execute(b"ROLLBACK")
        discarded = not idle(connection)
        with suppress(psycopg.Error, OSError):
            if discarded:
                connection.close()  # best effort: it is lost already
            elif not autocommit:
                connection.autocommit = autocommit
        self._give_back(connection)
        return discarded

    def _borrow(self) -> psycopg.Connection[Any]:
        if self._pool is None:
            self.open()
        if self._pool is None:  # pragma: no cover - open() made it
            raise InvariantViolation("the connection pool is not open")
        try:
            connection: psycopg.Connection[Any] = self._pool.getconn(timeout=self._wait)
        except PoolTimeout as error:
            raise TransientStorageError(
                f"PostgreSQL: no connection was free within {self._wait:g} s (the pool has "
                f"{self._pool.get_stats().get('pool_size', '?')} of at most {self._pool.max_size}"
                f"); {error}"
            ) from error
        except psycopg.Error as error:
            raise storage_error(error) from error
        if not idle(connection):  # lost while it waited in the pool
            with suppress(psycopg.Error, OSError):
                connection.close()
            self._give_back(connection)
            raise TransientStorageError("PostgreSQL: a pooled connection was lost; retrying")
        return connection

    def _give_back(self, connection: psycopg.Connection[Any]) -> None:
        if self._pool is not None:
            with suppress(psycopg.Error, OSError):
                self._pool.putconn(connection)  # a closed connection is dropped and replaced

    def close(self) -> None:
        """Close pointkit's own pool (never the host's pool or connection)."""
        if self._own_pool and self._pool is not None:
            self._pool.close()
            self._pool = None
            self._own_pool = False

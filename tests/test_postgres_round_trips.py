"""PostgreSQL: a ledger command on pointkit's own pool costs at most two round trips.

The first carries BEGIN, the wallet locks and everything read under them (the key, the first
lots); the second carries the writes and the COMMIT. A proxy between pointkit and the server
counts the round trips: each time the server answers after pointkit spoke. The paths that end
otherwise (a replay, a refusal, a failed pair assertion, a concurrent command with the same
key) still end as they did.

Skipped without a server, mandatory under CI=true.
"""

from __future__ import annotations

import selectors
import socket
import threading
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Final

import attrs
import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from conftest import on_citus
from pointkit import FixedClock, IdempotencyConflictError, InsufficientPointsError, Ledger
from pointkit.exceptions import InvariantViolation
from pointkit.expiry import ExpiryPolicy, Inactivity
from pointkit.ledger import Earn
from pointkit.storage.postgres import PostgresStorage


if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from pointkit import ProgramId
    from pointkit.ledger import Plan, WriteUnit


class _Proxy:
    """A TCP proxy to the server that counts round trips.

    A round trip is a request the client waits on (a Sync, a Flush or a simple Query message)
    and the answer that follows it. The server may also send while the client is still
    streaming a long pipeline (its output buffer filled up); that is not a round trip.
    """

    _ASKING: Final = frozenset(b"SHQ")  # Sync, Flush, Query: the client waits for an answer
    _READY: Final = b"Z\x00\x00\x00\x05"  # ReadyForQuery: the startup is over

    def __init__(self, dsn: str) -> None:
        params = conninfo_to_dict(dsn)
        self._upstream = (str(params.get("host", "127.0.0.1")), int(str(params.get("port", 5432))))
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.dsn = make_conninfo(
            dsn, host="127.0.0.1", port=self._listener.getsockname()[1], sslmode="disable"
        )
        self._lock = threading.Lock()
        self._trips = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self._upstream)
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, client: socket.socket, upstream: socket.socket) -> None:
        started = asked = False
        pending = bytearray()  # the client's messages, split at their lengths
        with client, upstream, selectors.DefaultSelector() as selector:
            selector.register(client, selectors.EVENT_READ, upstream)
            selector.register(upstream, selectors.EVENT_READ, client)
            while True:
                for key, _ in selector.select():
                    source: socket.socket = key.fileobj  # type: ignore[assignment]  # a socket
                    try:
                        data = source.recv(1 << 16)
                    except OSError:
                        return
                    if not data:
                        return
                    if source is upstream:
                        started = started or self._READY in data
                        if asked:  # counted before it is passed on: the client waits for it
                            asked = False
                            with self._lock:
                                self._trips += 1
                    elif started:
                        pending += data
                        asked = self._split(pending) or asked
                    key.data.sendall(data)

    def _split(self, pending: bytearray) -> bool:
        """Drop the whole messages at the head of *pending*; whether one asks for an answer."""
        asking = False
        while len(pending) >= 5:  # a type byte and a four-byte length
            end = 1 + int.from_bytes(pending[1:5], "big")
            if len(pending) < end:
                break
            asking = asking or pending[0] in self._ASKING
            del pending[:end]
        return asking

    @contextmanager
    def counting(self) -> Iterator[list[int]]:
        """Count the round trips of the block: the list holds the count once the block ends."""
        with self._lock:
            before = self._trips
        counted: list[int] = []
        yield counted
        with self._lock:
            counted.append(self._trips - before)

    def close(self) -> None:
        """Stop accepting connections (open ones end with their client)."""
        self._listener.close()


@pytest.fixture
def proxy(postgres_dsn: str) -> Iterator[_Proxy]:
    """A round-trip counting proxy to the test server."""
    opened = _Proxy(postgres_dsn)
    yield opened
    opened.close()


@pytest.fixture
def counted(proxy: _Proxy, postgres_schema: str) -> Iterator[PostgresStorage]:
    """A storage on pointkit's own pool, of one connection, through the proxy."""
    storage = PostgresStorage(proxy.dsn, schema=postgres_schema, max_connections=1)
    yield storage
    storage.close()


def _ledger(storage: object, name: str) -> Ledger:
    program = f"{name}-{uuid.uuid4().hex[:8]}"
    return Ledger(storage, clock=FixedClock(datetime(2026, 1, 1, tzinfo=UTC)), program=program)  # type: ignore[arg-type]  # a Storage


def test_earn_and_redeem_take_two_round_trips(proxy: _Proxy, counted: PostgresStorage) -> None:
    """An earn, a redeem, a reserve and a replay each cost at most two round trips."""
    ledger = _ledger(counted, "trips")
    ledger.earn("warm-up", 1, key="w1")  # the pool's connection is open from here on
    with proxy.counting() as earn:
        earned = ledger.earn("alice", 100, key="e1")
    with proxy.counting() as redeem:
        ledger.redeem("alice", 30, key="r1")
    with proxy.counting() as reserve:
        ledger.reserve("alice", 20, key="h1", timeout_seconds=600)
    with proxy.counting() as replay:
        again = ledger.earn("alice", 100, key="e1")
    assert [2, 2, 2, 2] == [earn[0], redeem[0], reserve[0], replay[0]]
    assert again.replayed
    assert earned.id == again.id
    assert 50 == ledger.balance("alice").available
    ledger.audit()


def test_earn_many_takes_two_round_trips(proxy: _Proxy, counted: PostgresStorage) -> None:
    """A batch of 100 earns costs two round trips, replayed earns included."""
    ledger = _ledger(counted, "batch")
    ledger.earn_many([Earn(member="m0", amount=5, key="b0")])
    earns = [Earn(member=f"m{n % 30}", amount=5, key=f"b{n}") for n in range(100)]
    with proxy.counting() as trips:
        done = ledger.earn_many(earns)
    assert 2 == trips[0]
    assert [True] + [False] * 99 == [transaction.replayed for transaction in done]
    assert 5 * 4 == ledger.balance("m0").posted  # b0 (replayed), b30, b60 and b90


def test_a_refused_redeem_writes_nothing(proxy: _Proxy, counted: PostgresStorage) -> None:
    """A redeem refused for want of points rolls back in two round trips; the key stays free."""
    ledger = _ledger(counted, "refused")
    ledger.earn("alice", 10, key="e1")
    with proxy.counting() as trips, pytest.raises(InsufficientPointsError, match="10 points"):
        ledger.redeem("alice", 30, key="r1")
    assert 2 == trips[0]
    assert ledger.transaction_by_key("r1") is None
    assert 10 == ledger.redeem("alice", 10, key="r1").amount  # the connection is usable
    ledger.audit()


class _Skewed:
    """A storage whose units write every plan one wallet version ahead of the lock."""

    def __init__(self, inner: PostgresStorage) -> None:
        self.inner = inner

    def reading(self, program: ProgramId) -> object:
        return self.inner.reading(program)

    @contextmanager
    def writing(self, program: ProgramId) -> Iterator[WriteUnit]:
        with self.inner.writing(program) as unit:

            class _Unit:
                def __getattr__(self, name: str) -> object:
                    return getattr(unit, name)

                def apply(self, plan: Plan) -> None:
                    ahead = tuple(attrs.evolve(w, version=w.version + 1) for w in plan.wallets)
                    unit.apply(attrs.evolve(plan, wallets=ahead))

            yield _Unit()  # type: ignore[misc]  # duck-typed WriteUnit


def test_a_wallet_version_mismatch_fails_in_the_database(counted: PostgresStorage) -> None:
    """The pair assertion fails inside the transaction: nothing is written, the pool goes on."""
    ledger = _ledger(counted, "skewed")
    ledger.earn("alice", 10, key="e1")
    skewed = Ledger(_Skewed(counted), clock=ledger.clock, program=ledger.program)  # type: ignore[arg-type]  # a Storage
    with pytest.raises(InvariantViolation, match=r"1 wallet\(s\) were not at the version the plan"):
        skewed.earn("alice", 5, key="e2")
    assert ledger.transaction_by_key("e2") is None
    assert 10 == ledger.balance("alice").posted
    assert 5 == ledger.earn("alice", 5, key="e2").amount
    ledger.audit()


def test_a_concurrent_command_with_the_same_key_conflicts(
    postgres_dsn: str, postgres_schema: str
) -> None:
    """A command that meets a concurrent one's key at its writes runs again and conflicts."""
    storage = PostgresStorage(postgres_dsn, schema=postgres_schema)
    ledger = _ledger(storage, "race")
    inside, go = threading.Event(), threading.Event()

    def first() -> None:
        with ledger.linked() as link:
            link.earn("ann", 10, key="k")
            inside.set()
            go.wait(10)

    holder = threading.Thread(target=first)
    holder.start()
    inside.wait(10)
    outcome: list[BaseException] = []

    def second() -> None:
        try:
            ledger.earn("bob", 10, key="k")  # other wallet: it waits at the key's index
        except BaseException as error:  # noqa: BLE001 - the outcome is what the test checks
            outcome.append(error)

    racer = threading.Thread(target=second)
    racer.start()
    racer.join(0.5)
    go.set()
    holder.join()
    racer.join()
    storage.close()
    assert 10 == ledger.balance("ann").posted
    if storage.idempotency_scope == "member":
        # Distributed by member, keys are unique per member: bob's is a command of its own.
        assert [] == outcome
        assert 10 == ledger.balance("bob").posted
        return
    assert [IdempotencyConflictError] == [type(error) for error in outcome], outcome
    assert 0 == ledger.balance("bob").posted


def test_a_host_connection_keeps_its_savepoints(postgres_dsn: str, postgres_schema: str) -> None:
    """On the host's connection nothing is pipelined: a refusal leaves the host's work usable."""
    with psycopg.connect(postgres_dsn) as connection:
        storage = PostgresStorage(connection=connection, schema=postgres_schema)
        ledger = _ledger(storage, "host")
        ledger.earn("alice", 10, key="e1")
        with pytest.raises(InsufficientPointsError):
            ledger.redeem("alice", 30, key="r1")
        assert 5 == ledger.redeem("alice", 5, key="r2").amount
        assert connection.info.pipeline_status == psycopg.pq.PipelineStatus.OFF
        connection.commit()
    reader = PostgresStorage(postgres_dsn, schema=postgres_schema)
    assert 5 == _reopened(ledger, reader).balance("alice").posted
    reader.close()


def _reopened(ledger: Ledger, storage: PostgresStorage) -> Ledger:
    return Ledger(storage, clock=ledger.clock, program=ledger.program)


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every statement sent through a psycopg cursor while the test runs."""
    sent: list[str] = []
    for name in ("execute", "executemany"):
        method = getattr(psycopg.Cursor, name)

        def capture(
            self: psycopg.Cursor[object],
            query: object,
            *args: object,
            _method: Callable[..., object] = method,
            **kwargs: object,
        ) -> object:
            sent.append(query.decode() if isinstance(query, bytes) else str(query))
            return _method(self, query, *args, **kwargs)

        monkeypatch.setattr(psycopg.Cursor, name, capture)
    return sent


@pytest.mark.parametrize(("distributed", "sent"), [(False, 5), (True, 10)])
def test_an_earn_and_a_batch_send_the_same_statements(
    counted: PostgresStorage, statements: list[str], distributed: bool, sent: int
) -> None:
    """An earn sends five statements on one server (ten distributed), a batch of 100 no more."""
    if on_citus() and not distributed:
        pytest.skip("on Citus the one-server statement is refused: the schema is distributed")
    counted._distributed = distributed  # what opening on a distributed schema finds
    ledger = _ledger(counted, "statements")
    ledger.earn("alice", 1, key="w1")
    statements.clear()
    ledger.earn("alice", 5, key="e1")
    one = len(statements)
    statements.clear()
    ledger.earn_many([Earn(member=f"m{n % 30}", amount=5, key=f"b{n}") for n in range(100)])
    batch = len(statements)
    # BEGIN, the lock, the read | the journal's tables, the events and the wallets, COMMIT; or
    # distributed: postings, transaction, entry, lot, wallets, events each a statement.
    assert [sent, sent] == [one, batch], statements
    assert 6 + 5 * 4 == ledger.balance("alice").posted + ledger.balance("m0").posted


def test_a_unit_locks_a_wallet_once(counted: PostgresStorage, statements: list[str]) -> None:
    """Commands in one unit on a wallet it has locked read it under the lock they hold."""
    ledger = _ledger(counted, "relock")
    ledger.earn("ann", 1, key="w1")
    statements.clear()
    with ledger.linked() as link:
        link.earn("ann", 5, key="e1")
        link.redeem("ann", 3, key="r1")
        link.transfer("ann", "bob", 2, key="t1")
    locks = [sql for sql in statements if "pk_wallet AS w (program_id" in sql]
    assert 2 == len(locks), statements  # ann's, then bob's (new: made and locked)
    assert (1, 2) == (ledger.balance("ann").posted, ledger.balance("bob").posted)
    ledger.audit()


def test_a_batch_too_big_for_one_statement_goes_one_statement_per_table(
    counted: PostgresStorage, statements: list[str]
) -> None:
    """An earn_many of 1,000 has more values than one statement takes: a statement per table."""
    ledger = _ledger(counted, "big")
    ledger.earn_many(
        [Earn(member=f"m{n % 300}", amount=1 + n % 5, key=f"b{n}") for n in range(1_000)]
    )
    written = [sql for sql in statements if sql.startswith(("INSERT", "WITH"))]
    assert not any(sql.startswith("WITH w0 AS") for sql in written), written
    assert sum(1 + n % 5 for n in range(1_000)) == sum(
        ledger.balance(f"m{n}").posted for n in range(300)
    )
    ledger.audit()


# The rows a workload leaves, per table, compared without the program and the outbox's
# position (a transaction id of the server's).
_TABLES: Final = {
    "pk_txn": "*",
    "pk_posting": "*",
    "pk_entry": "*",
    "pk_lot": "*",
    "pk_hold": "*",
    "pk_wallet": "*",
    "pk_outbox": "member, event_id, type, version, occurred_at, data",
}


def _rows(dsn: str, schema: str, program: str) -> dict[str, list[str]]:
    found = {}
    with psycopg.connect(dsn) as connection:
        for table, columns in _TABLES.items():
            rows = connection.execute(
                f'SELECT {columns} FROM "{schema}".{table} WHERE program_id = %s',  # noqa: S608 - a generated schema name
                (program,),
            ).fetchall()
            found[table] = sorted(repr(row).replace(program, "P") for row in rows)
    return found


def _workload(ledger: Ledger, clock: FixedClock) -> None:
    """Every kind of row apply_batch writes: new and changed lots and holds, extended expiries."""
    ledger.earn("ann", 50, key="e1")
    ledger.earn_many([Earn(member=f"m{n % 7}", amount=3 + n, key=f"b{n}") for n in range(40)])
    clock.advance(timedelta(days=1))
    ledger.earn("m1", 5, key="e2")  # extends m1's lots: they follow activity
    ledger.redeem("ann", 20, key="r1")
    ledger.transfer("m1", "ann", 4, key="t1")
    captured = ledger.reserve("ann", 9, key="h1", timeout_seconds=60).hold
    released = ledger.reserve("m3", 2, key="h2", timeout_seconds=60).hold
    ledger.reserve("m4", 1, key="h3", timeout_seconds=60)
    assert captured is not None
    assert released is not None
    ledger.capture(captured, 5, key="c1")
    ledger.release(released, key="l1")
    ledger.adjust("m2", -1_000, key="a1", reason="goodwill", clawback="clamp")
    redeemed = ledger.transaction_by_key("r1")
    assert redeemed is not None
    ledger.reverse(redeemed.id, key="v1")
    clock.advance(timedelta(minutes=2))
    assert ledger.expire_due().holds_expired == 1  # m4's hold timed out


def test_one_statement_writes_the_rows_the_statements_per_table_write(
    postgres_dsn: str, postgres_schema: str
) -> None:
    """On one server the journal goes in one statement: the same rows as one per table."""
    if on_citus():
        pytest.skip("on Citus the one-server statement is refused: the schema is distributed")
    storage = PostgresStorage(postgres_dsn, schema=postgres_schema)
    written = {}
    try:
        for distributed in (False, True):
            storage._distributed = distributed  # what opening on a distributed schema finds
            clock = FixedClock(datetime(2026, 1, 1, tzinfo=UTC))
            program = f"together-{distributed}-{uuid.uuid4().hex[:8]}"
            ledger = Ledger(
                storage,
                clock=clock,
                program=program,
                expiry=ExpiryPolicy("Asia/Shanghai", default=Inactivity(6)),
            )
            _workload(ledger, clock)
            ledger.audit()
            written[distributed] = _rows(postgres_dsn, postgres_schema, program)
    finally:
        storage.close()
    assert all(written[False].values()), "every table has rows"
    assert written[False] == written[True]


def test_a_spend_reads_on_past_the_first_page_of_lots(counted: PostgresStorage) -> None:
    """A redeem and a transfer over more lots than the first page spend them in order."""
    ledger = _ledger(counted, "pages")
    ledger.earn_many([Earn(member="alice", amount=1, key=f"e{n}") for n in range(300)])
    ledger.redeem("alice", 200, key="r1")
    ledger.transfer("alice", "carol", 99, key="t1")  # carol's wallet is new: made and locked
    lots = sorted(ledger.lots("alice", include_closed=True), key=lambda lot: lot.id)
    # Lots alike but for their ids are spent in id order, across the 128-lot pages.
    assert [0] * 299 + [1] == [lot.remaining for lot in lots]
    ledger.earn("bob", 2, key="b1")
    ledger.transfer("bob", "alice", 1, key="t2")  # two wallets that exist, both spending
    assert [2, 99, 1] == [ledger.balance(m).posted for m in ("alice", "carol", "bob")]
    ledger.audit()

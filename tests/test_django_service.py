"""The Django integration and the example shop, on real Django and a PostgreSQL database of their own.

The example project (examples/django_service) is set up once for the module on a database made
for it and dropped afterwards; its migrations create pointkit's schema. Skipped without a
server, mandatory under CI=true.
"""

from __future__ import annotations

import importlib
import io
import json
import os
import threading
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, LiteralString, NamedTuple

import django
import psycopg
import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, connections, transaction
from django.db.transaction import TransactionManagementError
from django.db.utils import ConnectionHandler
from django.test import Client, override_settings
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from pointkit import FixedClock, InsufficientPointsError, Ledger, limits
from pointkit.exceptions import SchemaVersionError
from pointkit.integrations.django import DjangoStorage, program
from pointkit.integrations.django._storage import host_connection
from pointkit.storage.postgres import SCHEMA_VERSION


if TYPE_CHECKING:
    from collections.abc import Iterator


PROJECT = Path(__file__).parent.parent / "examples" / "django_service"
MAY_1 = datetime(2026, 5, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
JULY_1 = datetime(2026, 6, 30, 16, 0, tzinfo=UTC)  # midnight in Shanghai: the clearing


class Shop(NamedTuple):
    """The migrated example project: its database's DSN and the programme's clock."""

    dsn: str
    clock: FixedClock


class Refused(Exception):  # noqa: N818 - what a host's own code raises inside an atomic block
    """A failure of the host's own code after the points were recorded."""


@pytest.fixture(scope="module")
def shop(postgres_dsn: str) -> Iterator[Shop]:
    """The example project on a fresh database, migrated, its clock fixed; dropped afterwards."""
    name = f"pointkit_django_{os.getpid()}_{os.urandom(4).hex()}"
    given = conninfo_to_dict(postgres_dsn)
    with psycopg.connect(postgres_dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    clock = FixedClock(MAY_1)
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.syspath_prepend(str(PROJECT))
            patch.setenv("DJANGO_SETTINGS_MODULE", "shop.settings")
            patch.setenv("SHOP_DB_NAME", name)
            patch.setenv("SHOP_SEAL_KEY", os.urandom(32).hex())
            for key in ("host", "port", "user", "password"):
                if given.get(key):
                    patch.setenv(f"SHOP_DB_{key.upper()}", str(given[key]))
            django.setup()
            with override_settings(POINTKIT={**settings.POINTKIT, "CLOCK": clock}):
                call_command("migrate", verbosity=0)
                yield Shop(make_conninfo(postgres_dsn, dbname=name), clock)
    finally:
        connections.close_all()
        with psycopg.connect(postgres_dsn, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def _committed(shop: Shop, query: LiteralString, *params: object) -> list[tuple[Any, ...]]:
    """Rows another session sees: only what was committed."""
    with psycopg.connect(shop.dsn) as other:
        return other.execute(query, params).fetchall()


def _posted(shop: Shop, member: str) -> int:
    rows = _committed(
        shop,
        "SELECT posted FROM pointkit.pk_wallet WHERE member = %s AND currency = 'points'",
        member,
    )
    return int(rows[0][0]) if rows else 0


def _product(sku: str, *, price: str, stock: int) -> None:
    products = importlib.import_module("orders.models").Product
    products.objects.create(sku=sku, price=Decimal(price), stock=stock)


def _order(client: Client, **body: object) -> tuple[int, dict[str, Any]]:
    response = client.post("/orders", json.dumps(body), content_type="application/json")
    return response.status_code, response.json()


def test_migrate_creates_pointkit_schema(shop: Shop) -> None:
    """`manage.py migrate` ran pointkit's migrations into POINTKIT['SCHEMA']; again, it does nothing."""
    assert [(SCHEMA_VERSION,)] == _committed(shop, "SELECT MAX(version) FROM pointkit.pk_schema")
    assert [
        ("pointkit", "0001_pointkit_schema"),
        ("pointkit", "0002_pointkit_schema_6"),
        ("pointkit", "0003_pointkit_schema_7"),
    ] == _committed(
        shop, "SELECT app, name FROM django_migrations WHERE app = 'pointkit' ORDER BY name"
    )
    out = io.StringIO()
    call_command("migrate", stdout=out)
    assert "No migrations to apply." in out.getvalue()


def test_the_newest_migration_is_for_this_schema_version() -> None:
    """A pointkit that raises its PostgreSQL schema version ships a Django migration for it."""
    folder = Path(importlib.import_module("pointkit.integrations.django.migrations").__file__ or "")
    names = sorted(path.stem for path in folder.parent.glob("0*.py"))
    newest = importlib.import_module(f"pointkit.integrations.django.migrations.{names[-1]}")
    assert SCHEMA_VERSION == newest.SCHEMA_VERSION


def test_the_migration_runs_on_the_points_database_only(shop: Shop) -> None:
    """The schema goes to POINTKIT['DATABASE'] alone, even when the migration runs on others."""
    migration = importlib.import_module(
        "pointkit.integrations.django.migrations.0001_pointkit_schema"
    )
    database = settings.DATABASES["default"]
    handler = ConnectionHandler({"default": {**database}, "replica": {**database}})
    replica = handler["replica"]
    new = {**settings.POINTKIT, "SCHEMA": "pointkit_second"}
    try:
        with override_settings(POINTKIT=new), replica.schema_editor(atomic=False) as editor:
            migration.create_schema(None, editor)
        assert [] == _committed(
            shop, "SELECT 1 FROM pg_namespace WHERE nspname = 'pointkit_second'"
        )
        with override_settings(POINTKIT=new), connection.schema_editor() as editor:
            migration.create_schema(None, editor)
        assert [(SCHEMA_VERSION,)] == _committed(
            shop, "SELECT MAX(version) FROM pointkit_second.pk_schema"
        )
    finally:
        handler.close_all()
        with connection.cursor() as cursor:
            cursor.execute("DROP SCHEMA IF EXISTS pointkit_second CASCADE")


def test_an_order_commits_its_row_points_and_stock_together(shop: Shop) -> None:
    """POST /orders: the order row, its points and the stock commit in one atomic block."""
    shop.clock.set(MAY_1)
    _product("tea", price="88.00", stock=5)
    done = _order(Client(), order_id="o-1", member="mei", sku="tea", quantity=5)
    assert (201, {"order": "o-1", "earned": 44, "balance": 44}) == done
    assert 44 == _posted(shop, "mei")
    assert [("o-1", 44)] == _committed(shop, "SELECT order_id, points FROM orders_order")
    assert [(0,)] == _committed(shop, "SELECT stock FROM orders_product WHERE sku = 'tea'")


def test_a_failing_order_leaves_neither_row_nor_points(shop: Shop) -> None:
    """Out of stock after the points were recorded: the block rolls back the row and the points."""
    shop.clock.set(MAY_1)
    _product("cake", price="300.00", stock=1)
    journal = _committed(shop, "SELECT count(*) FROM pointkit.pk_txn")
    refused = _order(Client(), order_id="o-2", member="li", sku="cake", quantity=2)
    assert (409, "out_of_stock") == (refused[0], refused[1]["error"])
    assert 0 == _posted(shop, "li")
    assert [] == _committed(shop, "SELECT 1 FROM orders_order WHERE order_id = 'o-2'")
    assert journal == _committed(shop, "SELECT count(*) FROM pointkit.pk_txn")
    assert [(1,)] == _committed(shop, "SELECT stock FROM orders_product WHERE sku = 'cake'")


def test_points_first_in_an_atomic_block_commit_and_roll_back_with_it(shop: Shop) -> None:
    """Points written before any host row still belong to the block: psycopg must not commit them."""
    orders = importlib.import_module("orders.models")
    _product("rice", price="10.00", stock=100)
    rice = orders.Product.objects.get(sku="rice")

    def points_then_row_then_failure() -> None:
        with transaction.atomic():
            program().adjust("wu", 30, key="gift-wu-1", reason="welcome gift")
            orders.Order.objects.create(
                order_id="o-3", member="wu", product=rice, quantity=1, amount=1
            )
            raise Refused

    with pytest.raises(Refused):
        points_then_row_then_failure()
    assert (0, []) == (
        _posted(shop, "wu"),
        _committed(shop, "SELECT 1 FROM orders_order WHERE order_id = 'o-3'"),
    )
    with transaction.atomic():
        program().adjust("wu", 30, key="gift-wu-2", reason="welcome gift")
        orders.Order.objects.create(order_id="o-4", member="wu", product=rice, quantity=1, amount=1)
    assert (30, [(1,)]) == (
        _posted(shop, "wu"),
        _committed(shop, "SELECT 1 FROM orders_order WHERE order_id = 'o-4'"),
    )


def test_a_refused_command_leaves_the_hosts_transaction_usable(shop: Shop) -> None:
    """A pointkit refusal inside atomic() rolls back its savepoint only; the block carries on."""
    orders = importlib.import_module("orders.models")
    _product("salt", price="2.00", stock=100)
    salt = orders.Product.objects.get(sku="salt")
    with transaction.atomic():
        orders.Order.objects.create(
            order_id="o-5", member="zhao", product=salt, quantity=1, amount=2
        )
        with pytest.raises(InsufficientPointsError):
            program().redeem("zhao", "coupon", key="r-zhao")
        orders.Order.objects.create(
            order_id="o-6", member="zhao", product=salt, quantity=1, amount=2
        )
    assert [("o-5",), ("o-6",)] == _committed(
        shop, "SELECT order_id FROM orders_order WHERE member = 'zhao' ORDER BY order_id"
    )


def test_a_broken_django_transaction_is_refused_as_django_refuses_it(shop: Shop) -> None:
    """After an error caught inside atomic() without a savepoint, pointkit writes nothing."""
    orders = importlib.import_module("orders.models")
    _product("oil", price="20.00", stock=100)
    oil = orders.Product.objects.get(sku="oil")
    with transaction.atomic():
        orders.Order.objects.create(
            order_id="o-7", member="qian", product=oil, quantity=1, amount=2
        )
        with pytest.raises(IntegrityError):
            orders.Order.objects.create(
                order_id="o-7", member="qian", product=oil, quantity=1, amount=2
            )
        with pytest.raises(TransactionManagementError):
            program().adjust("qian", 10, key="gift-qian", reason="welcome gift")
        transaction.set_rollback(True)
    assert 0 == _posted(shop, "qian")


def test_one_program_serves_every_thread_on_its_own_connection(shop: Shop) -> None:
    """Another thread's commands run on that thread's connection, outside this thread's block."""
    seen: list[object] = []

    def elsewhere() -> None:
        try:
            seen.append(program().balance("sun").posted)  # this block's points are not committed
            program().adjust("zhou", 5, key="gift-zhou", reason="welcome gift")  # commits alone
        finally:
            connections.close_all()

    def points_then_another_thread_then_failure() -> None:
        with transaction.atomic():
            program().adjust("sun", 20, key="gift-sun", reason="welcome gift")
            worker = threading.Thread(target=elsewhere)
            worker.start()
            worker.join(timeout=30)
            raise Refused

    with pytest.raises(Refused):
        points_then_another_thread_then_failure()
    assert ([0], 0, 5) == (seen, _posted(shop, "sun"), _posted(shop, "zhou"))


def test_a_new_django_connection_gets_a_new_binding(shop: Shop) -> None:
    """After Django reconnects (CONN_MAX_AGE), the same program works on the new connection."""
    program().adjust("wang", 7, key="gift-wang", reason="welcome gift")
    connection.close()
    assert (7, 7) == (program().balance("wang").posted, _posted(shop, "wang"))


@pytest.mark.usefixtures("shop")
def test_the_program_is_made_again_only_when_its_settings_change() -> None:
    """program() returns one program, made again after POINTKIT changes but not other settings."""
    first = program()
    with override_settings(DEBUG=True):
        assert first is program()
    with override_settings(POINTKIT={**settings.POINTKIT}):
        assert first is not program()


def test_a_ledger_on_django_storage_alone(shop: Shop) -> None:
    """DjangoStorage serves a bare Ledger (no program file): its points commit with the block."""
    points = Ledger(DjangoStorage(), clock=shop.clock, program="shop")
    with transaction.atomic():
        points.earn("lin", 25, key="order-lin")
    assert (25, 25) == (points.balance("lin").posted, _posted(shop, "lin"))


def test_the_balance_view(shop: Shop) -> None:
    """GET /members/<member>/balance returns the member's points and tier as JSON."""
    shop.clock.set(MAY_1)
    _product("wine", price="250.00", stock=3)
    _order(Client(), order_id="o-8", member="feng", sku="wine", quantity=2)
    got = Client().get("/members/feng/balance")
    expected = {"member": "feng", "posted": 50, "available": 50, "held": 0, "tier": "normal"}
    assert (200, expected) == (got.status_code, got.json())
    assert 405 == Client().post("/members/feng/balance").status_code


def test_the_expiry_command(shop: Shop, tmp_path: Path) -> None:
    """`manage.py pointkit_expire` expires what is due in batches, says what it did, then finds nothing."""
    mall = (PROJECT.parent / "points_mall.toml").read_text(encoding="utf-8")
    alone = tmp_path / "expiry.toml"  # a program of its own: only its lots are due
    alone.write_text(mall.replace('id = "points-mall"', 'id = "django-expiry"'), encoding="utf-8")
    with override_settings(POINTKIT={**settings.POINTKIT, "PROGRAM_FILE": alone}):
        shop.clock.set(MAY_1)
        program().adjust("chen", 100, key="gift-chen", reason="welcome gift")
        program().adjust("chu", 100, key="gift-chu", reason="welcome gift")
        shop.clock.set(JULY_1)
        outputs = []
        for arguments in (["--limit", "1", "--max-batches", "1"], [], []):
            out = io.StringIO()
            call_command("pointkit_expire", *arguments, stdout=out)
            outputs.append(out.getvalue())
        balances = (program().balance("chen").posted, program().balance("chu").posted)
        audit = program().ledger.audit()
    as_of = "pointkit expiry as of 2026-06-30T16:00:00+00:00: "
    assert [
        (
            f"{as_of}1 lot expired (100 points), 0 timed-out holds released, in 1 batch; "
            "more are due: run it again\n"
        ),
        f"{as_of}1 lot expired (100 points), 0 timed-out holds released, in 1 batch\n",
        f"{as_of}0 lots expired (no points), 0 timed-out holds released, in 1 batch\n",
    ] == outputs
    assert ((0, 0), 4, 4) == (balances, audit.transactions, audit.sealed)


@pytest.mark.usefixtures("shop")
def test_the_expiry_command_refuses_bad_arguments() -> None:
    """A batch count below one, or a batch size pointkit refuses, stops the command with its reason."""
    with pytest.raises(CommandError, match=r"^--max-batches=0 must be at least 1$"):
        call_command("pointkit_expire", "--max-batches", "0")
    with pytest.raises(CommandError) as refused:
        call_command("pointkit_expire", "--limit", "0")
    expected = f"pointkit: limit=0 must be an int from 1 to {limits.EXPIRY_BATCH_MAX}"
    assert expected == str(refused.value)


@pytest.mark.usefixtures("shop")
def test_a_missing_schema_names_the_django_migration() -> None:
    """A schema that was never migrated is refused, with the manage.py command to make it."""
    with (
        override_settings(POINTKIT={**settings.POINTKIT, "SCHEMA": "pointkit_never"}),
        pytest.raises(SchemaVersionError) as refused,
    ):
        program().balance("mei")
    assert ["With Django, `python manage.py migrate pointkit` creates or upgrades it."] == (
        refused.value.__notes__
    )
    assert "pointkit_never" in str(refused.value)


@pytest.mark.usefixtures("shop")
@pytest.mark.parametrize(
    ("given", "message"),
    [
        (
            {"SCHEMA": "Points", "DATABASE": "points", "PROGRAMFILE": "x"},
            (
                "3 problem(s) in the pointkit settings: POINTKIT['PROGRAMFILE'] is not a "
                "pointkit setting; the keys are CLOCK, DATABASE, PROGRAM_FILE, SCHEMA, SEAL_KEY; "
                "POINTKIT['DATABASE']='points' must name a database of DATABASES ('default'); "
                "POINTKIT['SCHEMA']='Points' must be a lower-case SQL identifier "
                "(letters, digits, _)"
            ),
        ),
        (
            {"PROGRAM_FILE": 7, "SEAL_KEY": "secret", "CLOCK": "now"},
            (
                "3 problem(s) in the pointkit settings: POINTKIT['PROGRAM_FILE']=7 must be the "
                "path of the program's TOML file, not int; POINTKIT['SEAL_KEY'] must be bytes "
                "(e.g. bytes.fromhex(os.environ[...])), not str; POINTKIT['CLOCK']='now' must be "
                "a pointkit Clock (an object with now()), not str"
            ),
        ),
        ({}, "POINTKIT['PROGRAM_FILE'] is not set: program() needs the program's TOML file"),
        (
            "pointkit",
            (
                "POINTKIT='pointkit' must be a dict with the keys CLOCK, DATABASE, PROGRAM_FILE, "
                "SCHEMA, SEAL_KEY"
            ),
        ),
    ],
)
def test_settings_problems_are_listed_at_once(given: object, message: str) -> None:
    """Every problem of the POINTKIT setting is named in one ImproperlyConfigured."""
    with override_settings(POINTKIT=given), pytest.raises(ImproperlyConfigured) as refused:
        program()
    assert message == str(refused.value)


@pytest.mark.usefixtures("shop")
def test_use_tz_false_is_refused() -> None:
    """Without USE_TZ, Django's connection reads naive datetimes: pointkit refuses to start."""
    with override_settings(USE_TZ=False), pytest.raises(ImproperlyConfigured) as refused:
        program()
    assert str(refused.value).endswith(
        "USE_TZ is False: pointkit needs USE_TZ = True, or Django's connection reads "
        "pointkit's timestamps as naive datetimes"
    )


@pytest.mark.usefixtures("shop")
def test_a_database_that_is_not_postgresql_is_refused() -> None:
    """Django's SQLite connection is not a psycopg 3 connection: pointkit says what it needs."""
    lite = ConnectionHandler(
        {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
    )
    try:
        with pytest.raises(ImproperlyConfigured) as refused:
            host_connection(lite["default"])
    finally:
        lite.close_all()
    assert (
        "database 'default' is sqlite through sqlite3; pointkit needs "
        "django.db.backends.postgresql on psycopg 3"
    ) == str(refused.value)
    assert "DjangoStorage(using='default', schema='pointkit')" == repr(DjangoStorage())
    assert ("default", "pointkit") == (DjangoStorage().using, DjangoStorage().schema)

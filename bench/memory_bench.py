"""Memory: the expiry job, the reports and the exports on SQLite at 1,000,000 members and 10,000,000 lots.

Target (the operations issue): each job's process stays under 300 MB of resident memory, since
every one of them streams and none loads the journal, the lots, the wallets or the members.

The database is made once and kept in ``.bench-cache/`` (gitignored), named by its size and by
pointkit's schema version; a run finds it there and reuses it. Size it with
POINTKIT_BENCH_MEMBERS (1,000,000 by default) and POINTKIT_BENCH_LOTS (10,000,000); each member
has ``LOTS // MEMBERS`` lots, earned one earn each over a year, expiring 30 to 390 days later.

How the rows are made. ``Ledger.earn_many`` on ``SQLiteStorage`` writes about 2,500 earns a
second here, so ten million would take over an hour. So pointkit writes one *template block*
itself, through ``Ledger.earn_many`` in batches of ``limits.BATCH_MAX`` (``TEMPLATE_MEMBERS``
members and their lots), and every further block is that block's rows with its members renamed
and its ids recomputed by pointkit's own functions (``transaction_id_for`` of the block's own
idempotency keys, ``lot_id_for``, the outbox's ``event_id``, the codec's ``checksum`` of the
rewritten document). Before it builds, the bench proves the copy is what pointkit writes: on a
small twin it makes two blocks both ways, through ``earn_many`` and by copying, and compares
every row of every table; then ``Program.audit()`` checks the copied twin. The big database is
checked on a sample (each sampled transaction decoded with its checksum, its id and its lot's
id recomputed from its key).

What is measured: each job runs in a fresh child process (``python bench/memory_bench.py
--job NAME``), so each peak is its own; the child reports its peak resident set twice, from
``resource.getrusage(RUSAGE_SELF).ru_maxrss`` and from ``VmHWM`` in ``/proc/self/status``.
The jobs:

* expiry: ``Program.run_expiry`` until complete, as of an instant by which
  POINTKIT_BENCH_EXPIRY_SHARE (0.5 by default) of the open lots are due. The job writes to the
  cached database, so the next run expires the next share of what is left;
* each report of :mod:`pointkit.reports` through the storage's reports part: liability, the
  daily report over every day of the year, hottest offers, lottery cost, tier distribution;
* each export of :func:`pointkit.program.export` (journal, balances, lots) as CSV, to a file
  in the cache directory that is deleted afterwards.

The peer beside each figure is the bare interpreter: a child that imports pointkit and opens
the database, and does nothing else (its peak is the floor every job starts from). On Linux a
child's ``ru_maxrss`` counts its parent's size at the fork, so the parent stays small: the
database is built in a child of its own. VmHWM is the child's own.

POINTKIT_BENCH_JOB_SECONDS caps each expiry and export job (0, the default, is no cap): the
expiry stops between two calls, an export stops writing, and the table says so. A streaming
job reaches its peak early and stays there, so a capped run still shows the peak; the expiry
job at full size writes a transaction per lot (about a thousand a second here), which is why
the cap is there.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import io
import json
import multiprocessing
import multiprocessing.pool
import os
import random
import resource
import sqlite3
import subprocess
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pointkit import FixedClock, limits
from pointkit.ledger import Earn
from pointkit.ledger._codec import checksum, decode_transaction, from_micros
from pointkit.ledger._outbox import event_id
from pointkit.ledger._records import lot_id_for, transaction_id_for
from pointkit.program import Program, export
from pointkit.reports import (
    daily_report,
    hottest_offers,
    liability_report,
    lottery_cost,
    tier_distribution,
)
from pointkit.storage.sqlite import SQLiteStorage
from pointkit.storage.sqlite._schema import SCHEMA_VERSION


if TYPE_CHECKING:
    from collections.abc import Callable, Iterator


MEMBERS = int(os.environ.get("POINTKIT_BENCH_MEMBERS", "1000000"))
LOTS = int(os.environ.get("POINTKIT_BENCH_LOTS", "10000000"))
EXPIRY_SHARE = float(os.environ.get("POINTKIT_BENCH_EXPIRY_SHARE", "0.5"))
WORKERS = int(os.environ.get("POINTKIT_BENCH_WORKERS", "2"))  # processes making the rows
JOB_SECONDS = float(os.environ.get("POINTKIT_BENCH_JOB_SECONDS", "0"))  # 0: no cap
TARGET_MB = 300.0
TEMPLATE_MEMBERS = 1_000
GENERATOR_VERSION = 1  # bump when the rows the bench makes change
CACHE = Path(__file__).resolve().parent.parent / ".bench-cache"
START = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
YEAR = timedelta(days=365)
FIRST_DAY, LAST_DAY = date(2026, 1, 1), date(2026, 12, 31)
EARN_KIND = "points.earned"

PROGRAMME = """
[program]
id = "memory"
zone = "Europe/Berlin"
currencies = ["points"]

[valuation]
points = 100
worth = "1.00 EUR"

[tiers]
window = { type = "calendar_year" }
review = { type = "yearly", dates = ["01-01"] }

[[tiers.levels]]
name = "basic"
threshold = 0

[[tiers.levels]]
name = "plus"
threshold = 3000

[[offers]]
id = "mug"
name = "Mug"
points = 300

[[lotteries]]
id = "spin"
name = "Spin"
cost = 100

[[lotteries.prizes]]
id = "back"
name = "150 points back"
kind = "points"
points = 150
probability = "1/2"

[[lotteries.prizes]]
id = "thanks"
name = "Thank you"
kind = "coupon"
probability = "1/2"
cost = "0.10 EUR"
"""


# -- the data -------------------------------------------------------------------------------------


def _member(index: int) -> str:
    return f"m{index:07d}"


def _key(block: int, earn: int) -> str:
    return f"b{block:05d}e{earn:07d}"


def block_batches(
    block: int, members: int, per_member: int
) -> Iterator[tuple[datetime, list[Earn]]]:
    """The earns of one block of *members* members, in ``earn_many`` batches with their instants.

    The same for every block but for the members' numbers and the keys: the earns spread over
    a year, each to the block's members in turn, 10 to 499 points, expiring 30 to 390 days on.
    """
    total = members * per_member
    batches = max(1, -(-total // limits.BATCH_MAX))
    step = YEAR / batches
    first = block * members
    for batch in range(batches):
        at = START + step * batch
        earns = [
            Earn(
                member=_member(first + earn % members),
                amount=10 + (earn * 7919) % 490,
                key=_key(block, earn),
                expires_at=at + timedelta(days=30 + (earn * 104729) % 361),
            )
            for earn in range(batch * limits.BATCH_MAX, min(total, (batch + 1) * limits.BATCH_MAX))
        ]
        yield at, earns


def _program(path: Path, at: datetime = START) -> tuple[Program, SQLiteStorage, FixedClock]:
    storage = SQLiteStorage(path, synchronous="NORMAL")
    clock = FixedClock(at)
    return Program.from_toml(PROGRAMME, storage=storage, clock=clock), storage, clock


def earn_block(
    program: Program, clock: FixedClock, block: int, members: int, per_member: int
) -> None:
    """Write one block through ``Ledger.earn_many``."""
    for at, earns in block_batches(block, members, per_member):
        clock.set(at)
        program.ledger.earn_many(earns)


_LOT_COLUMNS = (
    "program_id, lot_id, member, currency, amount, remaining, held, expired, earned_at, "
    "available_at, expires_at, source, follows_activity"
)


def _text_id(raw: bytes) -> str:
    """The text form of the id stored as *raw* bytes (``str(uuid.UUID(bytes=raw))``)."""
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class Template:
    """The rows pointkit wrote for block 0, ready to be copied as any other block."""

    def __init__(self, db: sqlite3.Connection, program: str, members: int, earns: int) -> None:
        self.program = program
        self.members = members
        # Block 0 was written first and alone: its rows are the first of each table.
        n = earns
        where = f"WHERE program_id = ? ORDER BY rowid LIMIT {n}"
        txns = db.execute(
            f"SELECT txn_id, idem_key, kind, created_at, reverses, body FROM pk_txn {where}",
            (program,),
        ).fetchall()
        postings: dict[bytes, list[tuple[Any, ...]]] = {}
        for row in db.execute(
            "SELECT txn_id, seq, account_kind, member, currency, phase, amount, created_at "
            f"FROM pk_posting WHERE program_id = ? ORDER BY rowid LIMIT {2 * n}",
            (program,),
        ):
            postings.setdefault(row[0], []).append(row[1:])
        entries: dict[bytes, list[tuple[Any, ...]]] = {}
        for who, *rest in db.execute(
            "SELECT member, currency, version, txn_id, posted, held, debt, posted_change "
            f"FROM pk_entry {where}",
            (program,),
        ):
            entries.setdefault(rest[2], []).append((who, *rest))
        lots = {
            row[11]: row
            for row in db.execute(f"SELECT {_LOT_COLUMNS} FROM pk_lot {where}", (program,))
        }
        self.wallets = db.execute(
            "SELECT member, currency, version, posted, held, debt FROM pk_wallet "
            f"WHERE program_id = ? ORDER BY rowid LIMIT {members}",
            (program,),
        ).fetchall()
        self.outbox = db.execute(
            "SELECT seq, event_id, type, version, occurred_at, data FROM pk_outbox "
            f"WHERE program_id = ? ORDER BY seq LIMIT {n}",
            (program,),
        ).fetchall()
        kinds = {row[2] for row in txns}
        types = {row[2] for row in self.outbox}
        counts = {len(self.outbox), len(txns), len(lots), sum(map(len, entries.values()))}
        if kinds != {"earn"} or types != {EARN_KIND} or counts != {n} or len(postings) != n:
            sys.exit(f"the template holds more than earns: {kinds}, {types}")
        for table in ("pk_hold", "pk_rule_event", "pk_counter", "pk_tier"):
            if db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]:
                sys.exit(f"the template wrote to {table}; the copier does not copy it")
        self.numbers = {_member(index): index for index in range(members)}
        # One entry per transaction, in the order pointkit wrote them: what the copy changes.
        self.txns = []
        for (old_id, key, kind, created_at, reverses, body), event in zip(
            txns, self.outbox, strict=True
        ):
            lot = lots[old_id]
            self.txns.append(
                (
                    old_id,
                    key,
                    kind,
                    created_at,
                    from_micros(created_at),
                    reverses,
                    body,
                    _text_id(old_id),
                    _text_id(lot[1]),
                    lot,
                    postings[old_id],
                    entries[old_id],
                    event,
                )
            )

    def copy(self, db: sqlite3.Connection, block: int) -> None:
        """Insert block *block*: the template's rows, renamed, with pointkit's ids for them."""
        insert(db, self.rows(block))

    def rows(self, block: int) -> dict[str, list[tuple[Any, ...]]]:
        """Block *block*'s rows, by table: the template's, renamed, with pointkit's ids."""
        program, members = self.program, self.members
        names = {old: _member(block * members + index) for old, index in self.numbers.items()}
        count = len(self.outbox)
        txn_rows, posting_rows, entry_rows, lot_rows, events = [], [], [], [], []
        prefix = f"b{block:05d}"
        for (
            _,
            key,
            kind,
            created_at,
            at,
            reverses,
            body,
            old_text,
            old_lot_text,
            lot,
            postings,
            entries,
            event,
        ) in self.txns:
            new_key = prefix + key[6:]
            new_id = transaction_id_for(new_key, at)
            new_lot = lot_id_for(new_id, 0, at)
            raw = new_id.bytes
            new_text = _text_id(raw)
            old_member = lot[2]
            new_member = names[old_member]
            key_swap = (f'"key":"{key}"', f'"key":"{new_key}"')
            text = _swap(
                body,
                [
                    (old_text, new_text),
                    (old_lot_text, _text_id(new_lot.bytes)),
                    (old_member, new_member),
                    key_swap,
                ],
            )
            txn_rows.append(
                (program, raw, new_key, kind, created_at, reverses, text, checksum(text))
            )
            posting_rows += [
                (program, raw, seq, account, None if who is None else names[who], *rest)
                for seq, account, who, *rest in postings
            ]
            entry_rows += [
                (program, names[who], currency, version, raw, *rest)
                for who, currency, version, _, *rest in entries
            ]
            lot_rows.append((program, new_lot.bytes, new_member, *lot[3:11], raw, lot[12]))
            seq, _, event_kind, version, occurred_at, data = event
            events.append(
                (
                    program,
                    seq + block * count,
                    event_id(event_kind, new_text).bytes,
                    event_kind,
                    version,
                    occurred_at,
                    _swap(data, [(old_text, new_text), (old_member, new_member), key_swap]),
                )
            )
        return {
            "pk_posting": posting_rows,
            "pk_txn": txn_rows,
            "pk_entry": entry_rows,
            "pk_wallet": [(program, names[who], *rest) for who, *rest in self.wallets],
            "pk_lot": lot_rows,
            "pk_outbox": events,
        }


_INSERTS = {
    "pk_posting": "INSERT INTO pk_posting VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "pk_txn": "INSERT INTO pk_txn VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    "pk_entry": "INSERT INTO pk_entry VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "pk_wallet": "INSERT INTO pk_wallet VALUES (?, ?, ?, ?, ?, ?, ?)",
    "pk_lot": f"INSERT INTO pk_lot ({_LOT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "pk_outbox": "INSERT INTO pk_outbox VALUES (?, ?, ?, ?, ?, ?, ?)",
}


def insert(db: sqlite3.Connection, rows: dict[str, list[tuple[Any, ...]]]) -> None:
    """Insert one block's rows (postings before their transaction, as pointkit writes them)."""
    for table, sql in _INSERTS.items():
        db.executemany(sql, rows[table])


_TEMPLATE: Template | None = None


def _block_rows(block: int) -> tuple[int, dict[str, list[tuple[Any, ...]]]]:
    """A worker's part: one block's rows (the template came with the fork)."""
    if _TEMPLATE is None:  # pragma: no cover - set before the pool forks
        raise RuntimeError("no template")
    return block, _TEMPLATE.rows(block)


def decode_uuid(raw: bytes) -> uuid.UUID:
    """The id stored as *raw* bytes."""
    return uuid.UUID(bytes=raw)


def _swap(text: str, swaps: list[tuple[str, str]]) -> str:
    for old, new in swaps:
        if old not in text:
            sys.exit(f"the template document lacks {old!r}")
        text = text.replace(old, new)
    return text


def _schema_sql(folder: Path) -> list[tuple[str, str, str]]:
    """The indexes and triggers of the tables a block fills, as a fresh pointkit schema has them."""
    fresh = folder / "schema.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{fresh}{suffix}").unlink(missing_ok=True)
    SQLiteStorage(fresh).close()
    db = sqlite3.connect(fresh)
    marks = ", ".join("?" * len(_INSERTS))
    schema = db.execute(
        f"SELECT type, name, sql FROM sqlite_master WHERE type IN ('index', 'trigger') "
        f"AND sql IS NOT NULL AND tbl_name IN ({marks}) ORDER BY type, rowid",
        tuple(_INSERTS),
    ).fetchall()
    db.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{fresh}{suffix}").unlink(missing_ok=True)
    return schema


def _made(
    pool: multiprocessing.pool.Pool | None, blocks: range, workers: int
) -> Iterator[tuple[int, dict[str, list[tuple[Any, ...]]]]]:
    """Each block's rows in order, at most two per worker made ahead of the inserts.

    (``Pool.imap`` makes ahead without bound: rows the inserts have not caught up with pile up
    in memory, tens of gigabytes at ten million lots.)
    """
    if pool is None:
        yield from map(_block_rows, blocks)
        return
    ahead: collections.deque[Any] = collections.deque()
    waiting = iter(blocks)
    for block in waiting:
        ahead.append(pool.apply_async(_block_rows, (block,)))
        if len(ahead) >= 2 * workers:
            break
    while ahead:
        made = ahead.popleft().get()
        following = next(waiting, None)
        if following is not None:
            ahead.append(pool.apply_async(_block_rows, (following,)))
        yield made


def copy_blocks(
    db: sqlite3.Connection, template: Template, blocks: range, workers: int = 0
) -> None:
    """Copy *blocks* of *template* into *db*, the schema's own indexes and triggers rebuilt after.

    Those indexes and triggers are dropped during the load and made again from their own SQL
    (a fresh pointkit schema's): an index built once over sorted rows is much faster than one
    kept up row by row, and the triggers guard writes the template's rows already passed.
    Blocks already in *db* (a load that stopped) are skipped: each block commits whole.
    With *workers*, that many forked processes make the rows while this one inserts them.
    """
    global _TEMPLATE  # noqa: PLW0603 - what the forked workers inherit
    schema = _schema_sql(CACHE)
    for kind, name, _ in schema:
        db.execute(f"DROP {kind.upper()} IF EXISTS {name}")
    earns = len(template.txns)
    done = db.execute("SELECT COUNT(*) FROM pk_txn").fetchone()[0] // earns
    todo = range(max(blocks.start, done), blocks.stop)
    began = time.perf_counter()
    _TEMPLATE = template
    pool = multiprocessing.get_context("fork").Pool(workers) if workers else None
    for block, rows in _made(pool, todo, workers):
        db.execute("BEGIN")
        insert(db, rows)
        db.execute("COMMIT")
        if block % 50 == 0:
            seconds = time.perf_counter() - began
            print(f"  block {block:,} of {blocks.stop:,} in {seconds:,.0f} s", flush=True)
    if pool:
        pool.close()
        pool.join()
    began = time.perf_counter()
    for _, _, sql in schema:
        db.execute(sql)
    print(f"  indexes and triggers made again in {time.perf_counter() - began:,.0f} s", flush=True)


def _open_bulk(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = OFF")
    db.execute("PRAGMA cache_size = -2000000")  # 2 GB: the builder's, not a measured job's
    return db


def _rows(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    db = sqlite3.connect(path)
    tables = [
        name
        for (name,) in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'pk_%' "
            "AND name <> 'pk_schema'"
        )
    ]
    found = {
        table: sorted(db.execute(f"SELECT * FROM {table}").fetchall(), key=repr) for table in tables
    }
    db.close()
    return found


def prove_copy(folder: Path) -> None:
    """Make two blocks of a small twin both ways; exit unless every row is the same, and audited."""
    members, per_member = 40, max(1, LOTS // MEMBERS)
    paths = {way: folder / f"twin-{way}.db" for way in ("earned", "copied")}
    for path in paths.values():
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    program, storage, clock = _program(paths["earned"])
    for block in (0, 1, 2):
        earn_block(program, clock, block, members, per_member)
    storage.close()
    program, storage, clock = _program(paths["copied"])
    earn_block(program, clock, 0, members, per_member)
    storage.close()
    db = _open_bulk(paths["copied"])
    copy_blocks(
        db, Template(db, program.ledger.program, members, members * per_member), range(1, 3)
    )
    db.close()
    earned, copied = _rows(paths["earned"]), _rows(paths["copied"])
    for table, rows in earned.items():
        if rows != copied[table]:
            sys.exit(f"the copier's {table} differs from what earn_many wrote")
    program, storage, clock = _program(paths["copied"], START + 2 * YEAR)
    program.audit()
    storage.close()
    for path in paths.values():
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


def _database() -> Path:
    return CACHE / f"memory-{MEMBERS}m-{LOTS}l-s{SCHEMA_VERSION}-g{GENERATOR_VERSION}.db"


def build(path: Path) -> float:
    """Make the database at *path* (see the module's notes); return the seconds it took."""
    began = time.perf_counter()
    partial = path.with_suffix(".partial")
    per_member = max(1, LOTS // MEMBERS)
    template_members = min(TEMPLATE_MEMBERS, MEMBERS)
    blocks = -(-MEMBERS // template_members)
    if MEMBERS % template_members:
        sys.exit(f"POINTKIT_BENCH_MEMBERS={MEMBERS} must be a multiple of {template_members}")
    if partial.exists():  # a build that stopped: its template block and whole blocks stand
        print(f"  resuming {partial.name}", flush=True)
        name = _program(CACHE / "name.db")[0].ledger.program
        for suffix in ("", "-wal", "-shm"):
            Path(f"{CACHE / 'name.db'}{suffix}").unlink(missing_ok=True)
    else:
        program, storage, clock = _program(partial)
        earn_block(program, clock, 0, template_members, per_member)
        storage.close()
        name = program.ledger.program
        made = time.perf_counter() - began
        print(
            f"  template: {template_members:,} members, {template_members * per_member:,} lots "
            f"through earn_many in {made:,.1f} s",
            flush=True,
        )
    db = _open_bulk(partial)
    template = Template(db, name, template_members, template_members * per_member)
    copy_blocks(db, template, range(1, blocks), workers=WORKERS)
    db.execute("ANALYZE")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{partial}{suffix}").unlink(missing_ok=True)
    partial.rename(path)
    return time.perf_counter() - began


def finish_partial() -> Path:
    """Finish a stopped build at the whole blocks it holds; return the database, named by its size.

    For a machine too slow (or too busy) to copy every block in the time there is: the blocks
    already committed are whole members with all their lots, so the database is what a run at
    that size would have made.
    """
    partial = _database().with_suffix(".partial")
    per_member = max(1, LOTS // MEMBERS)
    template_members = min(TEMPLATE_MEMBERS, MEMBERS)
    db = _open_bulk(partial)
    blocks = db.execute("SELECT COUNT(*) FROM pk_txn").fetchone()[0] // (
        template_members * per_member
    )
    members = blocks * template_members
    began = time.perf_counter()
    for kind, name, sql in _schema_sql(CACHE):
        db.execute(f"DROP {kind.upper()} IF EXISTS {name}")
        db.execute(sql)
    db.execute("ANALYZE")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{partial}{suffix}").unlink(missing_ok=True)
    path = _database().with_name(
        _database().name.replace(f"{MEMBERS}m-{LOTS}l", f"{members}m-{members * per_member}l")
    )
    partial.rename(path)
    print(
        f"  finished at {members:,} members, {members * per_member:,} lots "
        f"(indexes in {time.perf_counter() - began:,.0f} s): {path.name}"
    )
    return path


def check_sample(path: Path, count: int = 200) -> None:
    """Exit unless sampled transactions decode with their checksums, and their ids are pointkit's."""
    db = sqlite3.connect(path)
    top = db.execute("SELECT MAX(rowid) FROM pk_txn").fetchone()[0]
    rng = random.Random(18)
    for _ in range(count):
        row = db.execute(
            "SELECT body, checksum, idem_key FROM pk_txn WHERE rowid >= ? LIMIT 1",
            (rng.randrange(1, top + 1),),
        ).fetchone()
        transaction = decode_transaction(row[0], row[1])
        at = transaction.created_at
        if transaction.id != transaction_id_for(row[2], at):
            sys.exit(f"transaction {row[2]}: its id is not pointkit's")
        (lot,) = transaction.lots_created
        if lot.id != lot_id_for(transaction.id, 0, at):
            sys.exit(f"transaction {row[2]}: its lot's id is not pointkit's")
        stored = db.execute(
            "SELECT member, remaining + expired FROM pk_lot WHERE lot_id = ?", (lot.id.bytes,)
        ).fetchone()
        if stored != (str(lot.member), lot.amount):
            sys.exit(f"transaction {row[2]}: its lot row does not match it")
    db.close()


# -- the jobs (each in its own child) ------------------------------------------------------------


def _peak_mb() -> tuple[float, float]:
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    hwm = 0.0
    with Path("/proc/self/status").open(encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                hwm = int(line.split()[1]) / 1024
    return maxrss, hwm


def _job_program(path: Path, at: datetime) -> Program:
    storage = SQLiteStorage(path, synchronous="NORMAL", migrate=False)
    return Program.from_toml(PROGRAMME, storage=storage, clock=FixedClock(at))


class _Capped(Exception):  # noqa: N818 - not an error: the job's time is up
    """Raised by :class:`_CappedFile` when the job's time is up."""


class _CappedFile(io.TextIOWrapper):
    """A text file that stops the export (raises :class:`_Capped`) past ``JOB_SECONDS``."""

    began = 0.0
    writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        if (
            JOB_SECONDS
            and self.writes % 1024 == 0
            and time.perf_counter() - self.began > JOB_SECONDS
        ):
            raise _Capped
        return super().write(text)


def _export(what: str) -> Callable[[Program], str]:
    def run(program: Program) -> str:
        out = CACHE / f"export-{what}.csv"
        written: int | None = None
        try:
            with _CappedFile(out.open("wb"), newline="", encoding="utf-8") as file:
                file.began = time.perf_counter()
                with contextlib.suppress(_Capped):
                    written = export(program, what, file)
            size = out.stat().st_size
        finally:
            out.unlink(missing_ok=True)
        if written is None:
            return f"stopped at the {JOB_SECONDS:,.0f} s cap, {size / 1e6:,.0f} MB of CSV written"
        return f"{written:,} rows, {size / 1e6:,.0f} MB of CSV"

    return run


def _expiry(program: Program) -> str:
    calls = lots = 0
    began = time.perf_counter()
    while True:
        run = program.run_expiry()
        calls += 1
        lots += run.lots_expired
        if run.complete:
            return f"{lots:,} lots expired in {calls:,} calls, complete"
        if JOB_SECONDS and time.perf_counter() - began > JOB_SECONDS:
            return f"{lots:,} lots expired in {calls:,} calls, stopped at the time cap"


JOBS: dict[str, Callable[[Program], str]] = {
    "floor": lambda _: "imports and opens only",
    "expiry": _expiry,
    "liability": lambda program: f"{liability_report(program, via='part').points:,} points",
    "daily": lambda program: (
        f"{len(daily_report(program, since=FIRST_DAY, until=LAST_DAY, via='part').rows)} days"
    ),
    "offers": lambda program: f"{len(hottest_offers(program, via='part').rows)} offers",
    "lottery": lambda program: f"{len(lottery_cost(program, via='part').rows)} lotteries",
    "tiers": lambda program: (
        f"{sum(n for _, n in tier_distribution(program, via='part').counts):,} members"
    ),
    "export journal": _export("journal"),
    "export balances": _export("balances"),
    "export lots": _export("lots"),
}


def child(job: str, path: Path, at: datetime) -> None:
    """Run *job* on the database at *path* as of *at*; print what it did and its peak, as JSON."""
    began = time.perf_counter()
    program = _job_program(path, at)
    said = JOBS[job](program)
    seconds = time.perf_counter() - began
    maxrss, hwm = _peak_mb()
    print(json.dumps({"said": said, "seconds": seconds, "maxrss": maxrss, "hwm": hwm}))


def _due_instant(path: Path) -> datetime:
    """The instant by which EXPIRY_SHARE of the lots still open are due."""
    db = sqlite3.connect(path)
    open_lots = db.execute(
        "SELECT COUNT(*) FROM pk_lot WHERE remaining > held AND expires_at IS NOT NULL"
    ).fetchone()[0]
    offset = max(0, int(open_lots * EXPIRY_SHARE) - 1)
    row = db.execute(
        "SELECT expires_at FROM pk_lot WHERE remaining > held AND expires_at IS NOT NULL "
        "ORDER BY expires_at LIMIT 1 OFFSET ?",
        (offset,),
    ).fetchone()
    db.close()
    return START + YEAR if row is None else from_micros(row[0])


def main() -> None:
    """Build or reuse the database, then run each job in its own child and print the table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--job", choices=sorted(JOBS))
    parser.add_argument("--db", type=Path)
    parser.add_argument("--at")
    parser.add_argument("--build", action="store_true")
    parser.add_argument("--finish", action="store_true", help="finish a stopped build as it is")
    arguments = parser.parse_args()
    if arguments.job:
        child(arguments.job, arguments.db, datetime.fromisoformat(arguments.at))
        return
    if arguments.finish:
        finish_partial()
        return
    if arguments.build:
        began = time.perf_counter()
        prove_copy(CACHE)
        print(
            f"  the copier matches earn_many row for row, and the copy passes Program.audit() "
            f"({time.perf_counter() - began:,.1f} s)",
            flush=True,
        )
        path = _database()
        seconds = build(path)
        print(f"  built {path.name} in {seconds:,.0f} s ({path.stat().st_size / 1e9:,.1f} GB)")
        return
    CACHE.mkdir(exist_ok=True)
    path = _database()
    print(
        f"Memory on SQLite: {MEMBERS:,} members, {LOTS:,} lots (target: each job < {TARGET_MB:.0f} MB)"
    )
    if path.exists():
        print(f"  reusing {path.name}", flush=True)
    else:
        # In a child of its own: a child's ru_maxrss starts from its parent's size at the fork,
        # so the parent stays as small as the floor job.
        subprocess.run([sys.executable, __file__, "--build"], check=True)  # noqa: S603
    check_sample(path)
    print("  a sample of 200 transactions decodes, with pointkit's ids and matching lot rows")
    due = _due_instant(path)
    print(f"  {'job':<18}{'peak (ru_maxrss)':>18}{'VmHWM':>10}{'target':>10}  {'s':>7}  ok  what")
    for job in JOBS:
        at = due if job == "expiry" else START + YEAR
        result = subprocess.run(  # noqa: S603 - our own interpreter and script
            [sys.executable, __file__, "--job", job, "--db", str(path), "--at", at.isoformat()],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode:
            print(f"  {job:<18} failed:\n{result.stderr[-2000:]}")
            continue
        found = json.loads(result.stdout.strip().splitlines()[-1])
        ok = "yes" if max(found["maxrss"], found["hwm"]) < TARGET_MB else "NO"
        print(
            f"  {job:<18}{found['maxrss']:>15,.0f} MB{found['hwm']:>7,.0f} MB{TARGET_MB:>7,.0f} MB"
            f"  {found['seconds']:>7,.1f}  {ok:<3} {found['said']}",
            flush=True,
        )


if __name__ == "__main__":
    main()

"""The ``POINTKIT`` Django setting, read and checked as a whole.

Every problem of the setting is reported at once, in one ``ImproperlyConfigured``, so that a
deployment is fixed in one pass.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Final, final

import attrs
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS

from pointkit._validate import type_name
from pointkit.clock import Clock, SystemClock


__all__ = ["KEYS", "PointkitSettings", "read_settings"]

KEYS: Final = ("CLOCK", "DATABASE", "PROGRAM_FILE", "SCHEMA", "SEAL_KEY")
"""The keys of the ``POINTKIT`` setting."""

_DEFAULT_DATABASE: Final[str] = DEFAULT_DB_ALIAS
# The names PostgresStorage accepts, checked here too so that a bad one is reported with the
# setting's other problems.
_SCHEMA_NAME: Final = re.compile(r"[a-z_][a-z0-9_]{0,62}\Z")


@final
@attrs.frozen
class PointkitSettings:
    """The ``POINTKIT`` setting, checked.

    Attributes:
        database: The alias in ``DATABASES`` whose connection carries the points.
        schema: The PostgreSQL schema of pointkit's tables.
        program_file: The program's TOML file; ``None`` when not set.
        seal_key: The key that seals every transaction, or ``None``.
        clock: Where the time comes from.
    """

    database: str
    schema: str
    program_file: Path | None
    seal_key: bytes | None
    clock: Clock


def _database(given: Mapping[str, object], problems: list[str]) -> str:
    database = given.get("DATABASE", _DEFAULT_DATABASE)
    if not isinstance(database, str) or database not in settings.DATABASES:
        problems.append(
            f"POINTKIT['DATABASE']={database!r} must name a database of DATABASES "
            f"({', '.join(map(repr, settings.DATABASES))})"
        )
        return _DEFAULT_DATABASE
    return database


def _schema(given: Mapping[str, object], problems: list[str]) -> str:
    schema = given.get("SCHEMA", "pointkit")
    if not isinstance(schema, str) or not _SCHEMA_NAME.match(schema):
        problems.append(
            f"POINTKIT['SCHEMA']={schema!r} must be a lower-case SQL identifier "
            "(letters, digits, _)"
        )
        return "pointkit"
    return schema


def _program_file(given: Mapping[str, object], problems: list[str]) -> Path | None:
    path = given.get("PROGRAM_FILE")
    if path is None:
        return None
    if not isinstance(path, str | os.PathLike):
        problems.append(
            f"POINTKIT['PROGRAM_FILE']={path!r} must be the path of the program's TOML file, "
            f"not {type_name(path)}"
        )
        return None
    return Path(path)


def _seal_key(given: Mapping[str, object], problems: list[str]) -> bytes | None:
    key = given.get("SEAL_KEY")
    if key is None or isinstance(key, bytes):
        return key
    # The value is a secret: name its type, never print it.
    problems.append(
        f"POINTKIT['SEAL_KEY'] must be bytes (e.g. bytes.fromhex(os.environ[...])), "
        f"not {type_name(key)}"
    )
    return None


def _clock(given: Mapping[str, object], problems: list[str]) -> Clock:
    clock = given.get("CLOCK")
    if clock is None:
        return SystemClock()
    if not isinstance(clock, Clock):
        problems.append(
            f"POINTKIT['CLOCK']={clock!r} must be a pointkit Clock (an object with now()), "
            f"not {type_name(clock)}"
        )
        return SystemClock()
    return clock


def read_settings() -> PointkitSettings:
    """The ``POINTKIT`` setting (every key optional), checked.

    Raises:
        ImproperlyConfigured: Listing every problem of the setting, and ``USE_TZ = False``.
    """
    given = getattr(settings, "POINTKIT", {})
    if not isinstance(given, Mapping):
        raise ImproperlyConfigured(
            f"POINTKIT={given!r} must be a dict with the keys {', '.join(KEYS)}"
        )
    problems = [
        f"POINTKIT[{key!r}] is not a pointkit setting; the keys are {', '.join(KEYS)}"
        for key in given
        if key not in KEYS
    ]
    read = PointkitSettings(
        database=_database(given, problems),
        schema=_schema(given, problems),
        program_file=_program_file(given, problems),
        seal_key=_seal_key(given, problems),
        clock=_clock(given, problems),
    )
    if not settings.USE_TZ:
        # Django's psycopg adapters then read timestamptz columns as naive datetimes.
        problems.append(
            "USE_TZ is False: pointkit needs USE_TZ = True, or Django's connection reads "
            "pointkit's timestamps as naive datetimes"
        )
    if problems:
        raise ImproperlyConfigured(
            f"{len(problems)} problem(s) in the pointkit settings: " + "; ".join(problems)
        )
    return read

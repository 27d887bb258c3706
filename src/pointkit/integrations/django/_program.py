"""The program of the ``POINTKIT`` setting, on Django's database connection.

Made once per process, on the first call, and made again when a test changes the setting
(``override_settings``). It is safe to share: its storage takes the calling thread's
connection in every unit of work.
"""

from __future__ import annotations

import functools

from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed

from pointkit.integrations.django._settings import read_settings
from pointkit.integrations.django._storage import DjangoStorage
from pointkit.program import Program, load_config


__all__ = ["program"]


@functools.cache
def program() -> Program:
    """The :class:`~pointkit.program.Program` of the ``POINTKIT`` setting, on Django's connection.

    Every command runs on the calling thread's connection to ``POINTKIT["DATABASE"]``, in a
    savepoint of Django's transaction: inside ``transaction.atomic()`` the points commit or
    roll back with the block. The same program is returned on every call and serves every
    thread; call it where you need it rather than keeping it past a settings change.

    Raises:
        ImproperlyConfigured: If the setting has problems (all of them are listed), or no
            ``PROGRAM_FILE``.
        ConfigurationError: Listing every problem of the program file.
        InvalidArgumentError: If ``SEAL_KEY`` is shorter than 16 bytes.
    """
    read = read_settings()
    if read.program_file is None:
        raise ImproperlyConfigured(
            "POINTKIT['PROGRAM_FILE'] is not set: program() needs the program's TOML file"
        )
    return Program(
        load_config(read.program_file),
        storage=DjangoStorage(using=read.database, schema=read.schema),
        clock=read.clock,
        seal_key=read.seal_key,
    )


def _forget_program(*, setting: str, **_: object) -> None:
    """Make the program again after ``override_settings`` changes what it was made from."""
    if setting in {"POINTKIT", "DATABASES", "USE_TZ"}:
        program.cache_clear()


setting_changed.connect(_forget_program)

"""The example shop's ``manage.py``: ``migrate``, ``runserver``, ``pointkit_expire``, ...

Run from this folder, with the database in the environment (see ``shop/settings.py``)::

    python manage.py migrate
    python manage.py runserver
    python manage.py pointkit_expire
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    """Run a Django management command on the shop's settings."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
    from django.core.management import execute_from_command_line  # noqa: PLC0415 - after the settings are chosen

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()

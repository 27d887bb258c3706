"""The shop's settings: one PostgreSQL database, with pointkit's tables in a schema of it.

The database comes from the environment: ``SHOP_DB_NAME`` (default ``shop``), ``SHOP_DB_HOST``,
``SHOP_DB_PORT``, ``SHOP_DB_USER`` and ``SHOP_DB_PASSWORD``; ``SHOP_SEAL_KEY`` (hex) seals
every points transaction.
"""

from __future__ import annotations

import os
from pathlib import Path


EXAMPLES = Path(__file__).resolve().parent.parent.parent

SECRET_KEY = os.environ.get("SHOP_SECRET_KEY", "the example shop has no secrets")
DEBUG = False
ALLOWED_HOSTS = ["localhost", "127.0.0.1", "testserver"]

# --8<-- [start:settings]
INSTALLED_APPS = [
    "pointkit.integrations.django",  # pointkit's schema (migrate) and `pointkit_expire`
    "orders",
]
# A JSON API without sessions or cookies: no middleware is needed.
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "shop.urls"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",  # on psycopg 3
        "NAME": os.environ.get("SHOP_DB_NAME", "shop"),
        "HOST": os.environ.get("SHOP_DB_HOST", "127.0.0.1"),
        "PORT": os.environ.get("SHOP_DB_PORT", "5432"),
        "USER": os.environ.get("SHOP_DB_USER", "postgres"),
        "PASSWORD": os.environ.get("SHOP_DB_PASSWORD", ""),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True  # pointkit needs it: its timestamps are aware
TIME_ZONE = "Asia/Shanghai"

POINTKIT = {
    "SCHEMA": "pointkit",
    "PROGRAM_FILE": EXAMPLES / "points_mall.toml",
    "SEAL_KEY": bytes.fromhex(os.environ.get("SHOP_SEAL_KEY", "")) or None,
}
# --8<-- [end:settings]

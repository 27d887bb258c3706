"""pointkit in a Django project: points that commit in Django's own transactions.

Add ``"pointkit.integrations.django"`` to ``INSTALLED_APPS`` and ``python manage.py migrate``
creates pointkit's PostgreSQL schema. :func:`program` is the program of the ``POINTKIT``
setting on Django's database connection: inside ``transaction.atomic()`` the points commit or
roll back with the host's own rows. ``python manage.py pointkit_expire`` runs the expiry job.
docs/django.md is the guide.

Install with ``pip install "pointkit[django,postgres]"``: the integration works on Django's
PostgreSQL backend on psycopg 3.
"""

from pointkit.integrations.django._program import program
from pointkit.integrations.django._storage import DjangoStorage


__all__ = ["DjangoStorage", "program"]

"""The operator console: dashboards, member lookup and manual adjustments, as an ASGI app.

:func:`console_app` returns a Starlette application that a host mounts (FastAPI, Starlette,
Django through ASGI). It reads the host's storage through the :class:`~pointkit.program.Program`
it is given, and asks the host's ``authorize`` callback who may read and who may adjust. It
needs the ``console`` extra (``pip install pointkit[console]``: Starlette and
python-multipart). See docs/console.md.
"""

from pointkit.console._app import Access, Authorize, console_app, loopback
from pointkit.console._dashboards import DAYS_DEFAULT, DAYS_MAX
from pointkit.console._members import SEARCH_RESULTS_MAX, STATEMENT_PAGE_LINES


__all__ = [
    "DAYS_DEFAULT",
    "DAYS_MAX",
    "SEARCH_RESULTS_MAX",
    "STATEMENT_PAGE_LINES",
    "Access",
    "Authorize",
    "console_app",
    "loopback",
]

"""The console's ASGI app: its routes, who may use them, and how answers are made.

Maintainer's notes
------------------
Every request asks the host's ``authorize`` callback first, for ``"read"`` or ``"adjust"``,
and gets nothing else until it answers with a name: the console keeps no users, sessions or
passwords of its own, since the host already has them. Without a callback every request is
refused, so a console mounted by mistake shows nothing.

The programme's reads and writes are blocking calls on the host's storage; each request runs
its work (the callback included, which may read the host's own session store) on Starlette's
worker threads, so the event loop stays free. Pages are whole documents from
:func:`pointkit.pages.page`, so each needs nothing from the network; every answer carries a
Content-Security-Policy that allows no script and no resource from elsewhere.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal, TypeAlias
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from pointkit import limits
from pointkit._validate import type_name
from pointkit.console import _dashboards, _forms, _members
from pointkit.exceptions import (
    ArgumentTypeError,
    ConfigurationError,
    InvalidArgumentError,
    PointkitError,
)
from pointkit.jsonable import error_status
from pointkit.ledger import TransactionKind
from pointkit.pages import Html, join, odds_page, page, tag
from pointkit.program import Program, config_from_toml, describe, load_config


if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from starlette.requests import Request

    from pointkit import jsonable


__all__ = ["Access", "Authorize", "console_app", "loopback"]

Access: TypeAlias = Literal["read", "adjust"]
"""What a request wants: to read (dashboards, members, the check, odds) or to adjust points."""
Authorize: TypeAlias = "Callable[[Request, Access], str | None]"
"""The host's decision: the operator's name when *request* may have *access*, else ``None``."""

SECRET_LENGTH_MIN: Final = 16
"""The shortest CSRF secret the console accepts, in bytes."""
_LOOPBACK: Final = frozenset({"127.0.0.1", "::1"})
_DIGITS: Final = re.compile(r"[0-9]{1,19}")
_LANGS: Final = ("zh", "en")
_ODDS_FILE: Final = re.compile(r"(.+)\.(zh|en)\.html")
_HEADERS: Final = {
    # No script, no resource from anywhere; forms post only to the console itself.
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
_NAV: Final = (
    ("/", "Overview"),
    ("/liability", "Liability"),
    ("/daily", "Daily flows"),
    ("/breakage", "Breakage"),
    ("/offers", "Offers"),
    ("/lotteries", "Lotteries"),
    ("/tiers", "Tiers"),
    ("/members", "Members"),
    ("/check", "Programme check"),
)


class _Refused(Exception):  # noqa: N818 - an answer, not a failure: a status and a message
    """Answer the request with *status* and *message* instead of its page."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def loopback(operator: str) -> Authorize:
    """An authorize callback that lets requests from this machine read and adjust as *operator*.

    It allows a request whose client address is a loopback address (``127.0.0.1``, ``::1``)
    and refuses any other; ``pointkit console`` uses it. Behind a proxy on the same machine
    every request comes from loopback: use a callback of your own there.

    Raises:
        InvalidArgumentError: If *operator* is empty.
    """
    given: object = operator
    if not isinstance(given, str) or not given.strip():
        raise InvalidArgumentError(f"operator={operator!r} must be a non-empty name")

    def authorize(request: Request, access: Access) -> str | None:  # noqa: ARG001 - both
        client = request.client
        return operator if client is not None and client.host in _LOOPBACK else None

    return authorize


def _check_secret(secret: object) -> bytes:
    if secret is None:
        return secrets.token_bytes(32)
    if not isinstance(secret, bytes):
        raise ArgumentTypeError(f"secret={secret!r} must be bytes, not {type_name(secret)}")
    if len(secret) < SECRET_LENGTH_MIN:
        raise InvalidArgumentError(
            f"secret has {len(secret)} bytes; at least {SECRET_LENGTH_MIN} (SECRET_LENGTH_MIN)"
        )
    return secret


def _origin(check: str | os.PathLike[str] | None) -> str:
    if check is None:
        return ""
    if isinstance(check, os.PathLike):
        return f"the programme file {os.fspath(check)}"
    return "the programme text the host gave"


class _Console:
    """The console's state and its handlers."""

    def __init__(
        self,
        program: Program,
        authorize: Authorize | None,
        secret: bytes,
        check: str | os.PathLike[str] | None,
    ) -> None:
        self.program = program
        self.authorize = authorize
        self.secret = secret
        self.check = check

    # -- answers ------------------------------------------------------------------------------

    @staticmethod
    def href(request: Request) -> _members.Href:
        root = str(request.scope.get("root_path", "")).rstrip("/")

        def link(path: str, /, **query: object) -> str:
            given = {name: str(value) for name, value in query.items() if value is not None}
            return root + path + (f"?{urlencode(given)}" if given else "")

        return link

    def html(
        self,
        request: Request,
        title: str,
        body: Html,
        *,
        status: int = 200,
        operator: str | None = None,
    ) -> HTMLResponse:
        link = self.href(request)
        here = request.url.path.removeprefix(str(request.scope.get("root_path", "")))
        nav = tag(
            "nav",
            *(
                tag("a", text, href=link(path), aria_current="page" if here == path else None)
                for path, text in _NAV
            ),
            tag("span", f"operator: {operator}", class_="muted") if operator else None,
        )
        heading = f"{self.program.config.id}: {title}"
        document = page(heading, nav, tag("h1", title), body)
        return HTMLResponse(document, status_code=status, headers=_HEADERS)

    @staticmethod
    def json(data: jsonable.JSON, status: int = 200) -> Response:
        text = json.dumps(data, ensure_ascii=False, indent=2)
        return Response(text, status, headers=_HEADERS, media_type="application/json")

    @staticmethod
    def wants_json(request: Request) -> bool:
        if request.url.path.endswith(".json"):
            return True
        accept = request.headers.get("accept", "")
        return "application/json" in accept and "text/html" not in accept

    def refusal(self, request: Request, status: int, message: str) -> Response:
        if self.wants_json(request):
            return self.json({"status": status, "message": message}, status)
        return self.html(
            request,
            "Refused" if status == 403 else "Error",  # noqa: PLR2004
            tag("p", message, class_="error", role="alert"),
            status=status,
        )

    async def operator(self, request: Request, access: Access) -> str:
        """The operator the host's callback names for *access*.

        Raises:
            _Refused: 403 without a callback, or when it names nobody.
        """
        authorize = self.authorize
        if authorize is None:
            raise _Refused(
                403,
                "The host gave no authorize callback (console_app(program, authorize=...)), "
                "so the console refuses every request.",
            )
        name = await run_in_threadpool(authorize, request, access)
        if name is None:
            raise _Refused(403, f"The host's authorize callback refused {access} access.")
        return name

    def guarded(
        self, access: Access, handler: Callable[[Request, str], Awaitable[Response]]
    ) -> Callable[[Request], Awaitable[Response]]:
        """*handler* behind the callback, with pointkit's errors answered as pages."""

        async def endpoint(request: Request) -> Response:
            try:
                operator = await self.operator(request, access)
                return await handler(request, operator)
            except _Refused as refused:
                return self.refusal(request, refused.status, str(refused))
            except PointkitError as error:
                return self.refusal(request, error_status(error), str(error))

        return endpoint

    # -- query parameters ---------------------------------------------------------------------

    @staticmethod
    def days(request: Request) -> int:
        text = request.query_params.get("days")
        if text is None:
            return _dashboards.DAYS_DEFAULT
        if _DIGITS.fullmatch(text) is None or not 1 <= int(text) <= _dashboards.DAYS_MAX:
            raise _Refused(
                400,
                f"days={text[:40]!r} must be a whole number of days from 1 to "
                f"{_dashboards.DAYS_MAX} (DAYS_MAX)",
            )
        return int(text)

    def currency(self, text: str | None) -> str:
        codes = [currency.code for currency in self.program.config.currencies]
        if text is None:
            return self.program.ledger.currency(None)
        if text not in codes:
            raise _Refused(400, f"currency={text[:40]!r} must be one of {', '.join(codes)}")
        return text

    # -- pages --------------------------------------------------------------------------------

    async def overview(self, request: Request, operator: str) -> Response:
        link = self.href(request)
        config = self.program.config
        items = [tag("li", tag("a", text, href=link(path))) for path, text in _NAV[1:]]
        odds = [
            tag(
                "li",
                lottery.name,
                ": ",
                tag("a", "中文", href=link(f"/odds/{lottery.id}", lang="zh")),
                " · ",
                tag("a", "English", href=link(f"/odds/{lottery.id}", lang="en")),
            )
            for lottery in config.lotteries
        ]
        body = join(
            [
                tag("p", f"Programme {config.id!r} in {config.zone.key}."),
                tag("ul", *items),
                tag("h2", "Find a member"),
                _members.search_form(link),
                tag("h2", "Odds pages"),
                tag("ul", *odds) if odds else tag("p", "No lotteries.", class_="muted"),
            ]
        )
        return self.html(request, "Operator console", body, operator=operator)

    def dashboard(
        self, build: Callable[[Request], _dashboards.Dashboard]
    ) -> Callable[[Request, str], Awaitable[Response]]:
        async def handler(request: Request, operator: str) -> Response:
            shown = await run_in_threadpool(build, request)
            if self.wants_json(request):
                return self.json(shown.data)
            return self.html(request, shown.title, shown.body, operator=operator)

        return handler

    def odds_links(self, request: Request) -> dict[str, tuple[str, str]]:
        link = self.href(request)
        return {
            lottery.id: (
                link(f"/odds/{lottery.id}", lang="zh"),
                link(f"/odds/{lottery.id}", lang="en"),
            )
            for lottery in self.program.config.lotteries
        }

    def reload(self) -> _dashboards.Dashboard:
        check = self.check
        origin = _origin(check)
        if check is None:
            return _dashboards.programme_check(self.program, None, origin)
        try:
            config = (
                load_config(Path(check))
                if isinstance(check, os.PathLike)
                else config_from_toml(check)
            )
        except ConfigurationError as error:
            return _dashboards.programme_check(self.program, error.problems, origin)
        except OSError as error:
            problem = f"{origin} cannot be read: {error.strerror or error}"
            return _dashboards.programme_check(self.program, (problem,), origin)
        except InvalidArgumentError as error:
            return _dashboards.programme_check(self.program, (str(error),), origin)
        differs = describe(config) != describe(self.program.config)
        return _dashboards.programme_check(self.program, (), origin, differs=differs)

    async def members(self, request: Request, operator: str) -> Response:
        link = self.href(request)
        query = request.query_params.get("q", "")
        if not query:
            return self.html(request, "Members", _members.search_form(link), operator=operator)
        if len(query) > limits.MEMBER_ID_LENGTH_MAX:
            raise _Refused(
                400,
                f"q has {len(query)} characters; a member id has at most "
                f"{limits.MEMBER_ID_LENGTH_MAX} (MEMBER_ID_LENGTH_MAX)",
            )
        found, ids, more = await run_in_threadpool(_members.search, self.program, query, link)
        if self.wants_json(request):
            return self.json({"query": query, "members": list(ids), "more": more})
        body = join([_members.search_form(link, query), found])
        return self.html(request, "Members", body, operator=operator)

    async def form_for(
        self, request: Request, member: str, currency: str
    ) -> _members.AdjustForm | None:
        """A fresh adjustment form if the host lets this request adjust, else ``None``."""
        if self.authorize is None:
            return None
        name = await run_in_threadpool(self.authorize, request, "adjust")
        if name is None:
            return None
        key = _forms.fresh_key()
        return _members.AdjustForm(key, _forms.token(self.secret, name, member, currency, key))

    async def member(self, request: Request, operator: str) -> Response:
        params = request.query_params
        member = params.get("id")
        if not member:
            raise _Refused(400, "id must name a member: /member?id=...")
        currency = self.currency(params.get("currency"))
        after_text = params.get("after")
        after = None
        if after_text is not None:
            if _DIGITS.fullmatch(after_text) is None or int(after_text) > limits.POINTS_MAX:
                raise _Refused(
                    400, f"after={after_text[:40]!r} must be a wallet version (0 or more)"
                )
            after = int(after_text)
        notice = await run_in_threadpool(
            self.done_notice, params.get("done"), member, params.get("again") == "1"
        )
        form = await self.form_for(request, member, currency)
        link = self.href(request)
        body = await run_in_threadpool(
            lambda: _members.member_page(
                self.program, member, currency, after=after, href=link, form=form, notice=notice
            )
        )
        return self.html(request, f"Member {member}", body, operator=operator)

    def done_notice(self, done: str | None, member: str, again: bool) -> str | None:  # noqa: FBT001
        if done is None:
            return None
        try:
            transaction = self.program.transaction(done)
        except PointkitError:
            return None
        if transaction.kind is not TransactionKind.ADJUSTMENT:
            return None
        text = _members.adjusted_notice(transaction, member)
        if again:
            text += " The form was sent again; the adjustment was recorded once."
        return text

    async def adjust(self, request: Request, operator: str) -> Response:
        sent = await request.form(max_files=0, max_fields=16, max_part_size=8_192)
        form = {name: value for name, value in sent.items() if isinstance(value, str)}
        member = form.get("member", "")
        currency = form.get("currency", "")
        key = form.get("key", "")
        if not _forms.check_token(
            self.secret,
            form.get("csrf", ""),
            operator=operator,
            member=member,
            currency=currency,
            key=key,
        ):
            raise _Refused(
                403,
                "The form's CSRF token does not match: nothing was written. Reload the member "
                "page and submit its form again.",
            )
        self.currency(currency)
        link = self.href(request)
        try:
            adjustment = _forms.parse_adjustment(form)
            transaction = await run_in_threadpool(
                _members.adjust, self.program, adjustment, operator
            )
        except PointkitError as error:
            retry = _members.AdjustForm(
                key,
                form.get("csrf", ""),
                form.get("amount", ""),
                form.get("reason", ""),
                str(error),
            )
            body = await run_in_threadpool(
                lambda: _members.member_page(
                    self.program, member, currency, after=None, href=link, form=retry
                )
            )
            return self.html(
                request, f"Member {member}", body, status=error_status(error), operator=operator
            )
        target = link(
            "/member",
            id=member,
            currency=currency,
            done=str(transaction.id),
            again="1" if transaction.replayed else None,
        )
        return RedirectResponse(target, status_code=303, headers=_HEADERS)

    async def odds(self, request: Request, operator: str) -> Response:  # noqa: ARG002 - public
        """A lottery's public odds page: ``/odds/<lottery>?lang=zh|en``.

        The page links to its other language as ``<lottery>.<lang>.html`` (the names of the
        saved files), which resolves here too.
        """
        lottery = request.path_params["lottery"]
        lang = request.query_params.get("lang", "zh")
        named = _ODDS_FILE.fullmatch(lottery)
        if named is not None:
            lottery, lang = named.group(1), named.group(2)
        if lang not in _LANGS:
            raise _Refused(400, f"lang={lang[:40]!r} must be one of {', '.join(_LANGS)}")
        if lottery not in {item.id for item in self.program.config.lotteries}:
            raise _Refused(404, f"lottery={lottery[:80]!r} is not a lottery of this programme")
        chosen: Literal["zh", "en"] = "zh" if lang == "zh" else "en"
        document = await run_in_threadpool(
            lambda: odds_page(self.program, lottery, lang=chosen, commitment=None)
        )
        return HTMLResponse(document, headers=_HEADERS)


def console_app(
    program: Program,
    *,
    authorize: Authorize | None = None,
    secret: bytes | None = None,
    check: str | os.PathLike[str] | None = None,
) -> Starlette:
    """Return the operator console for *program*: an ASGI app to mount in the host.

    Args:
        program: The programme whose storage the console reads (and adjusts).
        authorize: The host's decision per request: ``authorize(request, access)`` with
            *access* ``"read"`` or ``"adjust"``, returning the operator's name when allowed
            and ``None`` when not. It runs on a worker thread. Without it every request is
            refused with 403.
        secret: The key of the adjustment form's CSRF tokens (at least 16 bytes). Without it
            each app makes a random one, which is right for one process; several processes
            behind one address must share one, or a form rendered by one is refused by another.
        check: The programme's file, to re-load on the check page: a path (``pathlib.Path``)
            read each time, or TOML text (a ``str``).

    Returns:
        A Starlette application.

    Raises:
        ArgumentTypeError: If *program* is not a Program, or *secret* not bytes.
        InvalidArgumentError: If *secret* is shorter than 16 bytes.
    """
    if not isinstance(program, Program):
        raise ArgumentTypeError(f"program={program!r} must be a Program, not {type_name(program)}")
    if authorize is not None and not callable(authorize):
        raise ArgumentTypeError(f"authorize={authorize!r} must be callable or None")
    if check is not None and not isinstance(check, str | os.PathLike):
        raise ArgumentTypeError(f"check={check!r} must be a path, TOML text or None")
    console = _Console(program, authorize, _check_secret(secret), check)

    def days_of(
        build: Callable[[Program, int], _dashboards.Dashboard],
    ) -> Callable[[Request], _dashboards.Dashboard]:
        return lambda request: build(program, console.days(request))

    dashboards: dict[str, Callable[[Request], _dashboards.Dashboard]] = {
        "/liability": lambda _: _dashboards.liability(program),
        "/daily": days_of(_dashboards.daily),
        "/breakage": days_of(_dashboards.breakage),
        "/offers": lambda _: _dashboards.offers(program),
        "/lotteries": lambda request: _dashboards.lotteries(program, console.odds_links(request)),
        "/tiers": lambda _: _dashboards.tiers(program),
        "/check": lambda _: console.reload(),
    }
    routes = [Route("/", console.guarded("read", console.overview))]
    for path, build in dashboards.items():
        endpoint = console.guarded("read", console.dashboard(build))
        routes += [Route(path, endpoint), Route(f"{path}.json", endpoint)]
    routes += [
        Route("/members", console.guarded("read", console.members)),
        Route("/members.json", console.guarded("read", console.members)),
        Route("/member", console.guarded("read", console.member)),
        Route("/member/adjust", console.guarded("adjust", console.adjust), methods=["POST"]),
        Route("/odds/{lottery}", console.guarded("read", console.odds)),
    ]
    return Starlette(routes=routes)

"""Member lookup and the member page: balance, lots, holds, statement, tiers, explanations.

Maintainer's notes
------------------
Everything here reads through the :class:`~pointkit.program.Program`. The statement is paged
by wallet version, oldest first, and has no "latest page" read; the page finds the member's
latest version by probing one-line pages (:func:`latest_version`: about two probes per doubling
of the member's history, each reading at most two rows), so the newest lines show first without
reading the whole history. Open holds are found among the reserve transactions of the member's
recent lines (:data:`HOLD_SCAN_LINES`), each hold then read by its id; an award's explanation
is the decision its event recorded (:meth:`Program.record_of`), found through the award's
metadata (``event``, ``rule``).

Adjustments go through the ledger under the programme (``Program.ledger.adjust``, the command
``Program.adjust`` runs) because only it takes transaction metadata: the operator's name is
recorded there (``operator``), and the reason stays as the operator wrote it.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Final, Protocol, final

import attrs

from pointkit.ledger import HoldStatus, TransactionKind
from pointkit.pages import Html, join, table, tag


if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime

    from pointkit.console._forms import Adjustment
    from pointkit.ledger import Hold, Statement, StatementLine, Transaction
    from pointkit.program import Program


__all__ = [
    "EXPLANATIONS_MAX",
    "HOLD_SCAN_LINES",
    "LOTS_SHOWN_MAX",
    "SEARCH_RESULTS_MAX",
    "STATEMENT_PAGE_LINES",
    "TIER_HISTORY_SHOWN",
    "AdjustForm",
    "Href",
    "adjust",
    "explain",
    "latest_version",
    "member_page",
    "search",
]

SEARCH_RESULTS_MAX: Final = 50
"""The most members a prefix search lists."""
STATEMENT_PAGE_LINES: Final = 50
"""The statement lines on one page of the member page."""
LOTS_SHOWN_MAX: Final = 200
"""The most open lots the member page lists (soonest spent first)."""
HOLD_SCAN_LINES: Final = 1_000
"""How many of a member's latest statement lines are searched for open holds."""
HOLDS_SHOWN_MAX: Final = 50
"""The most holds (the latest reserves among the scanned lines) the member page reads."""
EXPLANATIONS_MAX: Final = 20
"""The most awards on a statement page whose explanation is read and shown."""
TIER_HISTORY_SHOWN: Final = 50
"""The latest tier changes the member page shows."""
OPERATOR_KEY: Final = "operator"
"""The metadata key under which an adjustment records the operator's name."""


class Href(Protocol):
    """Makes a link inside the console: a path under its mount, with a query."""

    def __call__(self, path: str, /, **query: object) -> str:
        """The link to *path* with *query* (``None`` values left out)."""


@final
@attrs.frozen
class AdjustForm:
    """What the adjustment form shows: its key and token, and what was typed (after an error).

    Attributes:
        key: The form's idempotency key.
        csrf: Its CSRF token.
        amount: The amount as typed.
        reason: The reason as typed.
        error: The error of the last attempt, to show above the form.
    """

    key: str
    csrf: str
    amount: str = ""
    reason: str = ""
    error: str | None = None


# -- search ---------------------------------------------------------------------------------


def search(program: Program, query: str, href: Href) -> tuple[Html, list[str], bool]:
    """Find members: the one whose id is *query* exactly, then ids that start with it.

    Reads the whole member list (:meth:`Program.members`), so it suits programmes whose list
    fits in memory.

    Returns:
        The results as markup, the ids found (the exact match first), and whether more ids
        matched than :data:`SEARCH_RESULTS_MAX`.
    """
    members = program.members()
    exact = [member for member in members if member == query]
    prefixed = [member for member in members if member.startswith(query) and member != query]
    more = len(prefixed) > SEARCH_RESULTS_MAX
    found = [*exact, *prefixed[:SEARCH_RESULTS_MAX]]
    items = [
        tag(
            "li",
            tag("a", member, href=href("/member", id=member), class_="mono"),
            " (exact match)" if member == query else None,
        )
        for member in found
    ]
    parts = [
        tag(
            "p",
            f"{len(found)} member{'s' if len(found) != 1 else ''} found for ",
            tag("code", query),
            ".",
        ),
        tag("ul", *items)
        if items
        else tag("p", "No member has that id or prefix.", class_="notice"),
    ]
    if more:
        parts.append(
            tag(
                "p",
                f"More than {SEARCH_RESULTS_MAX} ids start with it (SEARCH_RESULTS_MAX); type "
                "more of the id.",
                class_="notice",
            )
        )
    return join(parts), [str(member) for member in found], more


def search_form(href: Href, query: str = "") -> Html:
    """The member search form."""
    return tag(
        "form",
        tag("label", "Member id, or the start of one", for_="q"),
        tag("input", id="q", name="q", value=query, required=True, maxlength=128),
        " ",
        tag("button", "Search", type="submit"),
        method="get",
        action=href("/members"),
    )


# -- the statement --------------------------------------------------------------------------


def latest_version(program: Program, member: str, currency: str) -> int:
    """The version of *member*'s wallet after its latest transaction (0 for none).

    Probes one-line statement pages after doubling versions, then halves the gap: a handful
    of two-row reads however long the history.
    """

    def after(version: int) -> bool:
        return bool(program.statement(member, currency, after=version, limit=1).lines)

    if not after(0):
        return 0
    low, high = 0, 1
    while after(high):
        low, high = high, high * 2
    while high - low > 1:
        middle = (low + high) // 2
        if after(middle):
            low = middle
        else:
            high = middle
    return high


def _steps(trail: list[Mapping[str, object]]) -> str:
    symbols = {"base": "", "add": "+", "multiply": "x", "round": "~", "limit": "at most "}
    parts = []
    for step in trail:
        text = (
            f"{step['label']} {symbols.get(str(step['op']), '')}{step['value']} = {step['result']}"
        )
        if step.get("note"):
            text += f" ({step['note']})"
        parts.append(text)
    return "; ".join(parts)


def _leaves(trace: Mapping[str, Any]) -> list[str]:
    children = trace.get("children") or []
    if isinstance(children, list) and children:
        return [leaf for child in children for leaf in _leaves(child)]
    verdict = "held" if trace.get("passed") else "failed"
    observed = trace.get("observed") or []
    seen = ", ".join(f"{pair[0]} = {pair[1]}" for pair in observed)
    return [f"{trace.get('node')} {verdict}" + (f" ({seen})" if seen else "")]


def explain(program: Program, transaction: Transaction) -> str | None:
    """The explanation its rule gave for an award, as text; ``None`` for other transactions."""
    metadata = dict(transaction.metadata)
    event, rule = metadata.get("event"), metadata.get("rule")
    if event is None or rule is None:
        return None
    stored = program.record_of(event)
    if stored is None:
        return f"event {event!r}: no record of its decision"
    document = json.loads(stored)
    for explained in document.get("explanations", []):
        if explained.get("rule") != rule:
            continue
        reasons = ", ".join(explained.get("reasons") or [])
        text = f"rule {rule}: {explained.get('status')}, {explained.get('points')} points"
        text += f" ({reasons})" if reasons else ""
        text += f" — {_steps(explained.get('trail') or [])}"
        conditions = explained.get("conditions")
        if conditions:
            text += "; condition: " + "; ".join(_leaves(conditions))
        return f"event {event}: {text}"
    return f"event {event!r}: its record has no explanation of rule {rule!r}"


def _when(program: Program, value: datetime | None) -> str:
    """An instant in the programme's zone, to the minute (``never`` for none)."""
    if value is None:
        return "never"
    return value.astimezone(program.config.zone).strftime("%Y-%m-%d %H:%M")


def _statement_section(
    program: Program, member: str, currency: str, after: int | None, href: Href
) -> tuple[Html, Statement, int]:
    latest = latest_version(program, member, currency)
    start = max(0, latest - STATEMENT_PAGE_LINES) if after is None else after
    statement = program.statement(member, currency, after=start, limit=STATEMENT_PAGE_LINES)
    rows = []
    explanations: list[tuple[StatementLine, str]] = []
    for line in reversed(statement.lines):
        detail: object = line.reason or ""
        if line.kind in {TransactionKind.EARN, TransactionKind.ADJUSTMENT}:
            transaction = program.transaction(line.transaction)
            operator = dict(transaction.metadata).get(OPERATOR_KEY)
            if operator is not None:
                detail = f"{detail} (by {operator})"
            if len(explanations) < EXPLANATIONS_MAX:
                text = explain(program, transaction)
                if text is not None:
                    explanations.append((line, text))
        rows.append(
            [
                _when(program, line.at),
                str(line.kind),
                f"{line.change:+,}",
                f"{line.balance:,}",
                f"{line.held:,}",
                detail,
                tag("span", str(line.transaction), class_="mono"),
            ]
        )
    links = []
    if start > 0:
        older = max(0, start - STATEMENT_PAGE_LINES)
        links.append(
            tag("a", "older", href=href("/member", id=member, currency=currency, after=older))
        )
    if statement.next_after is not None:
        links.append(
            tag(
                "a",
                "newer",
                href=href(
                    "/member", id=member, currency=currency, after=start + STATEMENT_PAGE_LINES
                ),
            )
        )
    parts = [
        tag("h2", "Statement"),
        table(
            ["at", "kind", "change", "balance", "held", "reason", "transaction"],
            rows,
            numeric=(2, 3, 4),
            caption=f"versions {start + 1} to {start + len(statement.lines)} of {latest}, "
            "newest first",
        )
        if rows
        else tag("p", "No transactions yet.", class_="muted"),
    ]
    if links:
        parts.append(tag("p", *(join([link, Html(" ")]) for link in links)))
    parts.append(tag("h2", "Explanations of recent awards"))
    if explanations:
        parts.append(
            tag(
                "ul",
                *(
                    tag(
                        "li",
                        tag("span", _when(program, line.at), class_="muted"),
                        " ",
                        text,
                        class_="explanation",
                    )
                    for line, text in explanations
                ),
            )
        )
    else:
        parts.append(tag("p", "No award on this page of the statement.", class_="muted"))
    return join(parts), statement, latest


def _holds(program: Program, member: str, currency: str, latest: int) -> list[Hold]:
    start = max(0, latest - HOLD_SCAN_LINES)
    lines = program.statement(member, currency, after=start, limit=HOLD_SCAN_LINES).lines
    reserves = [line.transaction for line in lines if line.kind is TransactionKind.RESERVE]
    holds = [program.hold(hold) for hold in reserves[-HOLDS_SHOWN_MAX:]]
    return [hold for hold in holds if hold.status is HoldStatus.OPEN]


def _tier_section(program: Program, member: str) -> Html:
    status = program.tier_status(member)
    if status is None:
        return tag("p", "This programme has no tier ladder.", class_="muted")
    facts: list[tuple[str, object]] = [("qualifying metric", f"{status.metric:,}")]
    if status.state is None:
        facts.insert(0, ("tier", "not reviewed yet (the lowest tier)"))
    else:
        state = status.state
        facts[:0] = [
            ("tier", state.tier),
            ("since", _when(program, state.since)),
            ("next review", _when(program, state.next_review)),
        ]
        if state.grace_until is not None:
            facts.append(("grace until", _when(program, state.grace_until)))
        if state.never_downgrade:
            facts.append(("never downgraded", "yes"))
    progress = status.progress
    if progress is not None and progress.next is not None:
        facts.append(
            (
                "to " + progress.next.name,
                f"{progress.needed:,} more by {_when(program, progress.by)}",
            )
        )
    if progress is not None and progress.keep_by is not None:
        facts.append(
            (
                "to keep " + progress.current.name,
                f"{progress.keep_needed:,} more by {_when(program, progress.keep_by)}",
            )
        )
    history = program.tier_history(member, limit=TIER_HISTORY_SHOWN)
    rows = [
        [
            _when(program, change.at),
            change.from_tier or "",
            change.to_tier,
            str(change.reason),
            "" if change.metric is None else f"{change.metric:,}",
        ]
        for change in reversed(history)
    ]
    return join(
        [
            tag(
                "dl",
                *(join([tag("dt", name), tag("dd", value)]) for name, value in facts),
                class_="facts",
            ),
            table(
                ["at", "from", "to", "reason", "metric"],
                rows,
                numeric=(4,),
                caption="Tier history, newest first",
            )
            if rows
            else tag("p", "No tier changes yet.", class_="muted"),
        ]
    )


def _adjust_form(member: str, currency: str, form: AdjustForm, href: Href) -> Html:
    return join(
        [
            tag("p", form.error, class_="error", role="alert") if form.error else Html(""),
            tag(
                "form",
                tag("input", type="hidden", name="member", value=member),
                tag("input", type="hidden", name="currency", value=currency),
                tag("input", type="hidden", name="key", value=form.key),
                tag("input", type="hidden", name="csrf", value=form.csrf),
                tag("label", f"Amount ({currency}; negative to take points)", for_="amount"),
                tag(
                    "input",
                    id="amount",
                    name="amount",
                    value=form.amount,
                    required=True,
                    inputmode="numeric",
                    pattern="[+-]?[0-9]+",
                    maxlength=24,
                ),
                tag("label", "Reason (required; kept on the transaction)", for_="reason"),
                tag(
                    "input",
                    id="reason",
                    name="reason",
                    value=form.reason,
                    required=True,
                    maxlength=500,
                ),
                tag("p", tag("button", "Adjust", type="submit")),
                method="post",
                action=href("/member/adjust"),
            ),
        ]
    )


def member_page(
    program: Program,
    member: str,
    currency: str,
    *,
    after: int | None,
    href: Href,
    form: AdjustForm | None,
    notice: str | None = None,
) -> Html:
    """The member page's body: balances, lots, holds, tiers, statement, explanations, the form.

    Args:
        program: The programme.
        member: The member.
        currency: The currency whose lots, holds and statement are shown.
        after: The statement page: lines after this wallet version; ``None`` for the newest.
        href: Makes the console's links.
        form: The adjustment form; ``None`` when the operator may not adjust.
        notice: A notice to show first (what the last adjustment did).
    """
    balances = [program.balance(member, code.code) for code in program.config.currencies]
    balance_rows = [
        [
            b.currency,
            f"{b.available:,}",
            f"{b.posted:,}",
            f"{b.pending:,}",
            f"{b.held:,}",
            f"{b.awaiting_expiry:,}",
            f"{b.debt:,}",
        ]
        for b in balances
    ]
    lots = program.lots(member, currency)
    lot_rows = [
        [
            _when(program, lot.earned_at),
            f"{lot.amount:,}",
            f"{lot.remaining:,}",
            f"{lot.held:,}",
            _when(program, lot.available_at),
            _when(program, lot.expires_at),
            tag("span", str(lot.source), class_="mono"),
        ]
        for lot in lots[:LOTS_SHOWN_MAX]
    ]
    statement_html, _, latest = _statement_section(program, member, currency, after, href)
    holds = _holds(program, member, currency, latest)
    hold_rows = [
        [
            tag("span", str(hold.id), class_="mono"),
            f"{hold.amount:,}",
            _when(program, hold.created_at),
            _when(program, hold.expires_at),
        ]
        for hold in holds
    ]
    held = next(b.held for b in balances if b.currency == currency)
    parts = [
        tag("p", notice, class_="notice", role="status") if notice else Html(""),
        tag("p", f"Adjustment refused, nothing written: {form.error}", class_="error")
        if form is not None and form.error
        else Html(""),
        tag("p", f"Times are local to {program.config.zone.key}.", class_="muted"),
        tag("h2", "Balance"),
        table(
            ["currency", "available", "posted", "pending", "held", "awaiting expiry", "debt"],
            balance_rows,
            numeric=(1, 2, 3, 4, 5, 6),
        ),
        tag(
            "p",
            "Currency shown below: ",
            *(
                join(
                    [
                        tag(
                            "a",
                            c.code,
                            href=href("/member", id=member, currency=c.code),
                            aria_current="true" if c.code == currency else None,
                        ),
                        Html(" "),
                    ]
                )
                for c in program.config.currencies
            ),
        ),
        tag("h2", "Open lots"),
        table(
            ["earned", "amount", "remaining", "held", "available from", "expires", "source"],
            lot_rows,
            numeric=(1, 2, 3),
            caption="in spending order",
        )
        if lot_rows
        else tag("p", "No open lots.", class_="muted"),
    ]
    if len(lots) > LOTS_SHOWN_MAX:
        parts.append(
            tag(
                "p",
                f"and {len(lots) - LOTS_SHOWN_MAX:,} more lots (LOTS_SHOWN_MAX)",
                class_="muted",
            )
        )
    parts += [
        tag("h2", "Open holds"),
        table(["hold", "points", "created", "times out"], hold_rows, numeric=(1,))
        if hold_rows
        else tag("p", "No open holds.", class_="muted"),
    ]
    if sum(hold.amount for hold in holds) < held:
        parts.append(
            tag(
                "p",
                f"{held:,} {currency} are held in all; some holds are older than "
                f"the latest {HOLD_SCAN_LINES:,} statement lines searched.",
                class_="notice",
            )
        )
    parts += [tag("h2", "Tier"), _tier_section(program, member), statement_html]
    parts.append(tag("h2", "Adjust by hand"))
    if form is None:
        parts.append(tag("p", "You may read but not adjust.", class_="muted"))
    else:
        parts.append(_adjust_form(member, currency, form, href))
    return join(parts)


def adjust(program: Program, adjustment: Adjustment, operator: str) -> Transaction:
    """Write *adjustment* as *operator*: the reason as given, the operator in the metadata.

    Raises:
        PointkitError: Whatever the ledger refuses it with (insufficient points, a key reused
            with another payload, ...); nothing is written then.
    """
    return program.ledger.adjust(
        adjustment.member,
        adjustment.amount,
        key=adjustment.key,
        reason=adjustment.reason,
        currency=adjustment.currency,
        metadata={OPERATOR_KEY: operator},
    )


def adjusted_notice(transaction: Transaction, member: str) -> str:
    """What an adjustment did, for the notice after the redirect."""
    operator = dict(transaction.metadata).get(OPERATOR_KEY, "?")
    change = transaction.change_for(member)  # type: ignore[arg-type]
    points = transaction.amount if change is None else change.posted_change
    return (
        f"Adjusted {points:+,} {transaction.currency} by {operator}: {transaction.reason} "
        f"(transaction {transaction.id})."
    )

"""The public odds page (概率公示) of a lottery, in Chinese or English.

China's 2016 notice on online games (文化部《关于规范网络游戏运营加强事中事后监管工作的通知》)
requires an operator to publish, for every item a random draw can give, its name, content,
quantity and probability, where players can see it; app stores ask for the same before
purchase. :func:`odds_page` renders that publication from the lottery's
:class:`~pointkit.pricing.Disclosure` as one self-contained HTML page that reads well on a phone.

What the page shows, and why each part is there:

* every prize with its kind, quantity, remaining stock, exact probability (a fraction) and
  percentage with two places, and a total row of exactly 100.00% — the sum of the shown rows,
  checked before anything is rendered, because a table that does not add up must never be
  published (:class:`~pointkit.exceptions.InvariantViolation`);
* the consolidated rate of each prize with the pity guarantee, and every guarantee in words
  (stacked guarantees numbered, one after the other),
  since the per-draw table alone understates the guaranteed prizes;
* the cost of a draw, the dates, the daily limit, the minors rule and the participation
  prize: the limits a member meets before drawing;
* the prize table's hash, which every draw record carries (:class:`~pointkit.pricing.DrawRecord`
  ``table_hash``), so a published record can be tied to the table shown here; and the
  server seed's commitment when the draws are provably fair, or a plain statement that they
  are not;
* when the page was made, in the program's zone: the odds move as prizes run out, so a
  reader must know which moment the page describes.

The page is pure: it reads the program it is given (its configuration, the stock left and its
clock) and nothing else. The two languages link to each other as ``<lottery>.zh.html`` and
``<lottery>.en.html``, the names ``pointkit odds`` writes.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Final, Literal
from urllib.parse import quote

from pointkit._validate import check_choice, type_name
from pointkit.exceptions import (
    ArgumentTypeError,
    InvalidArgumentError,
    InvariantViolation,
    NaiveDatetimeError,
)
from pointkit.pages._html import Html, page, tag
from pointkit.pages._words import EN, ZH, Words


if TYPE_CHECKING:
    from pointkit.pricing import Disclosure, DisclosureRow, Lottery, Pity
    from pointkit.program import Program


__all__ = ["odds_document", "odds_file_name", "odds_page"]

_HUNDRED: Final = Decimal("100.00")
_CENT: Final = Decimal("0.01")
_COMMITMENT: Final = re.compile(r"[0-9a-fA-F]{64}")
_LANGUAGES: Final = ("zh", "en")


def odds_file_name(lottery: str, lang: Literal["zh", "en"]) -> str:
    """Return the file name of a lottery's odds page: ``<lottery>.<lang>.html``.

    >>> from pointkit.pages import odds_file_name
    >>> odds_file_name("wheel", "zh")
    'wheel.zh.html'
    """
    return f"{lottery}.{check_choice('lang', lang, _LANGUAGES)}.html"


def _check_rows(disclosure: Disclosure) -> Decimal:
    """The total of the rows' percents, after checking that the table adds up.

    Raises:
        InvariantViolation: If a percent is not a non-negative number with two places, the
            percents do not sum to exactly 100.00, or the probabilities do not sum to 1.
    """
    for row in disclosure.rows:
        if row.percent < 0:
            raise InvariantViolation(
                f"lottery {disclosure.lottery!r}: prize {row.prize!r} has percent {row.percent}"
            )
        if row.percent.quantize(_CENT) != row.percent:
            raise InvariantViolation(
                f"lottery {disclosure.lottery!r}: prize {row.prize!r} has percent {row.percent}, "
                "not a number with two places"
            )
    total = sum((row.percent for row in disclosure.rows), Decimal(0))
    if total != _HUNDRED:
        raise InvariantViolation(
            f"lottery {disclosure.lottery!r}: the percents sum to {total}%, not 100.00%; "
            "the page is not rendered"
        )
    probability = sum((row.probability for row in disclosure.rows), Fraction(0))
    if probability != 1:
        raise InvariantViolation(
            f"lottery {disclosure.lottery!r}: the probabilities sum to {probability}, not 1"
        )
    return total


def _fraction(value: Fraction) -> str:
    return (
        str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"
    )


def _percent(value: Decimal) -> str:
    return f"{value.quantize(_CENT)}%"


def _rate(value: Fraction) -> str:
    """A long-run rate as a percentage with two places; a small non-zero one as "<0.01%"."""
    hundredths = round(value * 10_000)
    if hundredths == 0 and value > 0:
        return "<0.01%"
    return f"{Decimal(hundredths).scaleb(-2)}%"


def _quantity(value: int | None, words: Words) -> str:
    return words.unlimited if value is None else f"{value:,}"


def _kind(row: DisclosureRow, lottery: Lottery, words: Words) -> str:
    if row.kind == "points":
        points = lottery.prize(row.prize).points
        return words.points_prize.format(
            points=f"{points:,}", currency=words.currency(lottery.currency)
        )
    return words.kind_name(row.kind)


def _name(row: DisclosureRow, words: Words) -> str:
    return row.name_zh if words is ZH else row.name


def _odds_table(disclosure: Disclosure, lottery: Lottery, words: Words, total: Decimal) -> Html:
    consolidated = any(row.consolidated is not None for row in disclosure.rows)
    numeric = "num"
    headers = [
        tag("th", words.prize, scope="col"),
        tag("th", words.kind, scope="col"),
        tag("th", words.quantity, scope="col", class_=numeric),
        tag("th", words.remaining, scope="col", class_=numeric),
        tag("th", words.probability, scope="col", class_=numeric),
        tag("th", words.percent, scope="col", class_=numeric),
        tag("th", words.with_pity, scope="col", class_=numeric) if consolidated else None,
    ]
    rows = [
        tag(
            "tr",
            tag("th", _name(row, words), scope="row"),
            tag("td", _kind(row, lottery, words)),
            tag("td", _quantity(row.quantity, words), class_="num quantity"),
            tag("td", _quantity(row.remaining, words), class_="num remaining"),
            tag("td", _fraction(row.probability), class_="num probability"),
            tag("td", _percent(row.percent), class_="num percent"),
            None
            if not consolidated
            else tag(
                "td",
                "" if row.consolidated is None else _rate(row.consolidated),
                class_="num consolidated",
                title=None if row.consolidated is None else _fraction(row.consolidated),
            ),
            data_prize=row.prize,
        )
        for row in disclosure.rows
    ]
    footer = tag(
        "tr",
        tag("th", words.total, scope="row"),
        tag("td"),
        tag("td", class_="num"),
        tag("td", class_="num"),
        tag("td", "1", class_="num"),
        tag("td", _percent(total), class_="num total"),
        tag("td", class_="num") if consolidated else None,
    )
    table = tag(
        "table",
        tag("caption", words.caption),
        tag("thead", tag("tr", *headers)),
        tag("tbody", *rows),
        tag("tfoot", footer),
        class_="odds",
    )
    notes = [*words.odds_notes, *((words.consolidated_note,) if consolidated else ())]
    return Html(
        tag("div", table, class_="table-scroll") + tag("ul", *(tag("li", note) for note in notes))
    )


def _prize_list(prizes: frozenset[str], disclosure: Disclosure, words: Words) -> str:
    return words.list_separator.join(
        _name(row, words) for row in disclosure.rows if row.prize in prizes
    )


def _guarantee_lines(disclosure: Disclosure, words: Words) -> list[str]:
    """Every guarantee in words: stacked ones one after the other, each line numbered."""
    guarantees = disclosure.guarantees
    if len(guarantees) <= 1:
        return _pity_lines(guarantees[0] if guarantees else None, disclosure, words)
    return [
        words.pity_level.format(number=number, line=line)
        for number, pity in enumerate(guarantees, start=1)
        for line in _pity_lines(pity, disclosure, words)
    ]


def _pity_lines(pity: Pity | None, disclosure: Disclosure, words: Words) -> list[str]:
    if pity is None:
        return [words.no_pity]
    guaranteed = _prize_list(pity.prizes, disclosure, words)
    lines = [words.hard_pity.format(misses=pity.hard - 1, hard=pity.hard, prizes=guaranteed)]
    if pity.soft_start is not None:
        step = Decimal(round(pity.soft_step * 10_000)).scaleb(-2)
        lines.append(
            words.soft_pity.format(start=pity.soft_start, step=f"{step}%", prizes=guaranteed)
        )
    if pity.resets != pity.prizes:  # winning a guaranteed prize always resets: say only more
        lines.append(words.resets.format(prizes=_prize_list(pity.resets, disclosure, words)))
    if pity.counter is not None:
        lines.append(words.shared_counter.format(counter=pity.counter))
    return lines


def _local(at: datetime, words: Words) -> str:
    offset = at.isoformat()[-6:] if at.utcoffset() else "+00:00"
    zone = getattr(at.tzinfo, "key", None) or at.tzname() or ""
    return words.generated_text.format(time=f"{at:%Y-%m-%d %H:%M:%S}", zone=zone, offset=offset)


def _window(lottery: Lottery, generated_at: datetime, words: Words) -> str:
    zone = generated_at.tzinfo

    def shown(at: datetime) -> str:
        return f"{at.astimezone(zone):%Y-%m-%d %H:%M}"

    if lottery.starts_at is not None and lottery.ends_at is not None:
        return words.from_until.format(start=shown(lottery.starts_at), end=shown(lottery.ends_at))
    if lottery.starts_at is not None:
        return words.from_.format(start=shown(lottery.starts_at))
    if lottery.ends_at is not None:
        return words.until.format(end=shown(lottery.ends_at))
    return words.always_open


def _facts(disclosure: Disclosure, lottery: Lottery, generated_at: datetime, words: Words) -> Html:
    limits = [
        words.no_daily_limit
        if disclosure.daily_limit is None
        else words.daily_limit.format(count=f"{disclosure.daily_limit:,}"),
        words.minors_blocked if lottery.minors == "blocked" else words.minors_allowed,
    ]
    if lottery.participation is not None:
        row = next(row for row in disclosure.rows if row.prize == lottery.participation)
        limits.append(words.participation.format(prize=_name(row, words)))
    cost = words.cost_text.format(
        cost=f"{disclosure.cost:,}", currency=words.currency(disclosure.currency)
    )
    facts = (
        (words.lottery, tag("span", disclosure.name_zh if words is ZH else disclosure.name)),
        (words.cost, tag("span", cost, class_="cost")),
        (words.window, tag("span", _window(lottery, generated_at, words))),
        (words.limits, tag("ul", *(tag("li", line) for line in limits), class_="limits")),
        (
            words.generated,
            tag("time", _local(generated_at, words), datetime=generated_at.isoformat()),
        ),
    )
    return tag(
        "dl", *(Html(tag("dt", term) + tag("dd", value)) for term, value in facts), class_="facts"
    )


def _fairness(disclosure: Disclosure, commitment: str | None, words: Words) -> Html:
    parts = [
        tag("h3", words.table_hash),
        tag("p", tag("code", disclosure.table_hash, class_="table-hash")),
        tag("p", words.table_hash_note, class_="muted"),
    ]
    if commitment is None:
        parts.append(tag("p", words.not_provably_fair, class_="notice not-fair"))
    else:
        parts += [
            tag("h3", words.commitment),
            tag("p", tag("code", commitment, class_="commitment")),
            tag("p", words.commitment_note, class_="muted"),
        ]
    return Html("".join(parts))


def _check_commitment(commitment: object) -> str | None:
    if commitment is None:
        return None
    if not isinstance(commitment, str):
        raise ArgumentTypeError(
            f"commitment={commitment!r} must be a str of 64 hex digits, not {type_name(commitment)}"
        )
    if _COMMITMENT.fullmatch(commitment) is None:
        raise InvalidArgumentError(
            f"commitment={commitment!r} must be 64 hex digits: the SHA-256 of the server seed"
        )
    return commitment.lower()


def odds_document(
    disclosure: Disclosure,
    lottery: Lottery,
    *,
    lang: Literal["zh", "en"],
    generated_at: datetime,
    commitment: str | None = None,
) -> Html:
    """Return the odds page of a disclosure, with no program: the page :func:`odds_page` renders.

    Args:
        disclosure: The odds table as it stands (``Program.disclosure(lottery)``, or
            ``lottery.disclosure(sold=...)``).
        lottery: The lottery it discloses: its dates, minors rule and participation prize.
        lang: ``"zh"`` or ``"en"``: every label is in this language.
        generated_at: When the table was read, aware; shown in its own zone.
        commitment: The current server seed commitment (64 hex digits) of provably fair
            draws; without it the page says the draws are not provably fair.

    Returns:
        The whole page.

    Raises:
        InvalidArgumentError: If *lang* is not ``"zh"`` or ``"en"``, *commitment* is not 64 hex
            digits, or *disclosure* is not *lottery*'s table.
        NaiveDatetimeError: If *generated_at* has no time zone.
        InvariantViolation: If the rows' percents do not sum to exactly 100.00.
    """
    words = ZH if check_choice("lang", lang, _LANGUAGES) == "zh" else EN
    if not isinstance(generated_at, datetime):
        raise ArgumentTypeError(
            f"generated_at={generated_at!r} must be a datetime, not {type_name(generated_at)}"
        )
    if generated_at.utcoffset() is None:
        raise NaiveDatetimeError(f"generated_at={generated_at!r} must have a time zone")
    if disclosure.lottery != lottery.id or disclosure.table_hash != lottery.table_hash:
        raise InvalidArgumentError(
            f"disclosure of {disclosure.lottery!r} (table {disclosure.table_hash[:12]}) is not "
            f"the table of lottery {lottery.id!r} ({lottery.table_hash[:12]})"
        )
    seed = _check_commitment(commitment)
    total = _check_rows(disclosure)
    name = disclosure.name_zh if words is ZH else disclosure.name
    title = words.title.format(name=name)
    other = odds_file_name(disclosure.lottery, "en" if words is ZH else "zh")
    nav = tag(
        "nav",
        tag(
            "a",
            words.other_language,
            href=quote(other),
            hreflang=words.other_lang,
            lang=words.other_lang,
            rel="alternate",
        ),
    )
    body = (
        nav,
        tag("h1", title),
        tag("p", words.intro),
        tag("h2", words.facts),
        _facts(disclosure, lottery, generated_at, words),
        tag("h2", words.odds),
        _odds_table(disclosure, lottery, words, total),
        tag("h2", words.pity),
        tag(
            "ul",
            *(tag("li", line) for line in _guarantee_lines(disclosure, words)),
            class_="pity",
        ),
        tag("h2", words.fairness),
        _fairness(disclosure, seed, words),
    )
    return page(title, *body, lang=words.lang)


def odds_page(
    program: Program,
    lottery: str,
    *,
    lang: Literal["zh", "en"],
    commitment: str | None = None,
) -> Html:
    """Return the public odds page of *program*'s lottery called *lottery*, as it stands now.

    The stock left comes from the program's storage, and the time shown is the program's
    clock in the program's zone.

    Args:
        program: The program.
        lottery: The lottery's id.
        lang: ``"zh"`` or ``"en"``.
        commitment: The current server seed commitment, if the draws are provably fair.

    Returns:
        The whole page, to serve or to save as ``odds_file_name(lottery, lang)``.

    Raises:
        InvalidArgumentError: If there is no such lottery (the message lists the ids), *lang*
            is not ``"zh"`` or ``"en"``, or *commitment* is not 64 hex digits.
        InvariantViolation: If the rows' percents do not sum to exactly 100.00.
    """
    chosen = program.config.lottery(lottery)
    check_choice("lang", lang, _LANGUAGES)
    _check_commitment(commitment)
    disclosure = program.disclosure(lottery)
    now = program.clock.now().astimezone(program.config.zone)
    return odds_document(disclosure, chosen, lang=lang, generated_at=now, commitment=commitment)

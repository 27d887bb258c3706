"""HTML building blocks: trusted markup, escaping, elements, the page shell and tables.

Everything pointkit renders as HTML is built from :func:`tag`, so escaping happens in one place.
The rule is a type: an :class:`Html` is markup this module (or a chart) produced and is kept as
it is; anything else — a plain ``str``, a number, a member id typed by a user — is text and is
escaped, quotes included, wherever it lands (a child or an attribute value). A host never has to
remember to escape, and cannot forget to: the only way to insert raw markup is to wrap it in
:class:`Html` on purpose.

There is no template engine: pages are small, and functions composing elements are typed,
checked by mypy and need no second language. The output is compact (no pretty-printing), UTF-8,
and a whole document from :func:`page` needs nothing from the network.
"""

from __future__ import annotations

import html
import re
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Final, TypeAlias, final

from pointkit._validate import type_name
from pointkit.exceptions import ArgumentTypeError, InvalidArgumentError
from pointkit.pages._style import STYLE


if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence


__all__ = ["Html", "Number", "attribute_name", "element", "escape", "join", "page", "table", "tag"]

Number: TypeAlias = int | Decimal | Fraction
"""An exact number a page shows: never a float."""

# Elements that have no content and no closing tag in HTML.
VOID_ELEMENTS: Final = frozenset({"br", "input", "meta", "img", "hr", "link"})
_NAME: Final = re.compile(r"[a-z][a-z0-9-]*")
# SVG keeps a few camel-case names (viewBox, preserveAspectRatio); only the charts use them.
_SVG_NAME: Final = re.compile(r"[a-z][a-zA-Z0-9-]*")
_LANGUAGE: Final = re.compile(r"[a-zA-Z]{2,3}(-[a-zA-Z0-9]{1,8})*")
# Short language codes a page is asked for, and the tag each becomes on <html lang>.
_LANGUAGES: Final = {"zh": "zh-CN", "en": "en"}


@final
class Html(str):
    """Trusted markup: what escape/tag/page/table/charts return. A plain str is text and gets escaped.

    >>> from pointkit.pages import Html, tag
    >>> tag("p", "<b>", Html("<b>bold</b>"))
    '<p>&lt;b&gt;<b>bold</b></p>'
    """

    __slots__ = ()


def escape(value: object) -> Html:
    """Return *value* as markup: an :class:`Html` unchanged, anything else as escaped text.

    Args:
        value: Markup, or anything else, which is turned into text with ``str()``.

    Returns:
        The markup; ``&``, ``<``, ``>`` and both quotes are escaped in text.

    >>> from pointkit.pages import escape
    >>> escape('<script>alert("x")</script>')
    '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;'
    """
    if isinstance(value, Html):
        return value
    return Html(html.escape(str(value), quote=True))


def _attribute_text(name: str, value: object) -> str | None:
    """One attribute as it is written, or None when it is left out."""
    if value is None or value is False:
        return None
    if value is True:
        return f" {name}"
    return f' {name}="{escape(value)}"'


def element(
    name: str,
    children: Iterable[object],
    attributes: Mapping[str, object],
    *,
    svg: bool = False,
) -> Html:
    """Return one element whose attribute names are given as written (no keyword translation).

    This is :func:`tag` for names a keyword cannot spell (``viewBox``) and for callers holding
    their attributes in a mapping.

    Args:
        name: The element's name.
        children: Its content: markup kept, None skipped, anything else escaped.
        attributes: Attribute names as written, with values: True for a bare attribute, None
            or False to leave it out, anything else escaped.
        svg: Allow SVG's camel-case names.

    Returns:
        The element.

    Raises:
        InvalidArgumentError: If a name is not a lowercase letter followed by lowercase letters,
            digits and hyphens (camel case allowed with *svg*), or a void element has children.
    """
    pattern = _SVG_NAME if svg else _NAME
    if pattern.fullmatch(name) is None:
        raise InvalidArgumentError(
            f"tag name={name!r} must be a lowercase letter followed by letters, digits or hyphens"
        )
    parts = [f"<{name}"]
    for attribute, value in attributes.items():
        if pattern.fullmatch(attribute) is None:
            raise InvalidArgumentError(
                f"attribute name={attribute!r} on <{name}> must be a lowercase letter followed by"
                " letters, digits or hyphens"
            )
        text = _attribute_text(attribute, value)
        if text is not None:
            parts.append(text)
    parts.append(">")
    content = [escape(child) for child in children if child is not None]
    if name in VOID_ELEMENTS:
        if content:
            raise InvalidArgumentError(
                f"<{name}> is a void element and takes no children, got {len(content)}"
            )
        return Html("".join(parts))
    parts.extend(content)
    parts.append(f"</{name}>")
    return Html("".join(parts))


def attribute_name(keyword: str) -> str:
    """``class_`` -> ``class``, ``data_points`` -> ``data-points``."""
    return keyword.removesuffix("_").replace("_", "-")


def tag(name: str, /, *children: object, **attributes: object) -> Html:
    """Return the element *name* with *children* and *attributes*.

    Args:
        name: The element's name: a lowercase letter, then lowercase letters, digits, hyphens.
        *children: Its content: :class:`Html` kept, None skipped, anything else escaped as text.
            Pass several with ``*``; a list is not spread.
        **attributes: Its attributes. A trailing underscore is dropped (``class_`` -> ``class``)
            and other underscores become hyphens (``data_points`` -> ``data-points``). True
            writes a bare attribute, None or False leaves it out, any other value is escaped.

    Returns:
        The element; a void element (``br``, ``input``, ``meta``, ``img``, ``hr``, ``link``)
        has no closing tag.

    Raises:
        InvalidArgumentError: If a tag or attribute name is not of the form above, or a void
            element has children.

    >>> from pointkit.pages import tag
    >>> tag("a", "next >", href="/page?n=2&x='1'", class_="button", data_page=2)
    '<a href="/page?n=2&amp;x=&#x27;1&#x27;" class="button" data-page="2">next &gt;</a>'
    >>> tag("input", name="q", required=True, disabled=False)
    '<input name="q" required>'
    >>> tag("Script")
    Traceback (most recent call last):
    ...
    pointkit.exceptions.InvalidArgumentError: tag name='Script' must be a lowercase letter followed by letters, digits or hyphens
    """
    return element(
        name, children, {attribute_name(keyword): value for keyword, value in attributes.items()}
    )


def join(parts: Iterable[Html]) -> Html:
    """Return *parts* one after another as one piece of markup (plain strings are escaped).

    >>> from pointkit.pages import join, tag
    >>> join(tag("li", n) for n in (1, 2))
    '<li>1</li><li>2</li>'
    """
    return Html("".join(escape(part) for part in parts))


def _language(lang: str) -> str:
    if _LANGUAGE.fullmatch(lang) is None:
        raise InvalidArgumentError(
            f"lang={lang!r} must be a language tag such as 'en', 'zh' or 'zh-TW'"
        )
    return _LANGUAGES.get(lang, lang)


def page(title: str, *body: Html, lang: str = "en", head: Html | None = None) -> Html:
    r"""Return a whole self-contained HTML document.

    The document has the doctype, UTF-8, a viewport for phones, the title, one inline
    stylesheet, and *body* inside ``<main>``. It loads nothing: no script, stylesheet, font or
    image from anywhere.

    Args:
        title: The document's title (text).
        *body: The content, in order; plain strings are escaped.
        lang: The language: ``"en"``, ``"zh"`` (written ``zh-CN``) or another language tag.
        head: More markup for ``<head>``, after the stylesheet.

    Returns:
        The document.

    Raises:
        InvalidArgumentError: If *lang* is not a language tag.

    >>> from pointkit.pages import page, tag
    >>> document = page("Odds", tag("h1", "Odds"), lang="zh")
    >>> document.startswith('<!doctype html>\n<html lang="zh-CN">')
    True
    >>> '<main><h1>Odds</h1></main>' in document
    True
    """
    head_parts = (
        tag("meta", charset="utf-8"),
        tag("meta", name="viewport", content="width=device-width, initial-scale=1"),
        tag("title", title),
        tag("style", Html(STYLE)),
        head,
    )
    document = tag(
        "html",
        tag("head", *head_parts),
        tag("body", tag("main", *body)),
        lang=_language(lang),
    )
    return Html("<!doctype html>\n" + document + "\n")


def table(
    headers: Sequence[object],
    rows: Sequence[Sequence[object]],
    *,
    numeric: Sequence[int] = (),
    caption: str | None = None,
) -> Html:
    """Return a table in a box that scrolls sideways when the screen is narrower than the table.

    Args:
        headers: The column headings.
        rows: The rows, each with one cell per heading; cells are escaped unless :class:`Html`.
        numeric: Indexes of the columns holding numbers: right-aligned (class ``num``).
        caption: A caption above the table.

    Returns:
        ``<div class="table-scroll"><table>...</table></div>``.

    Raises:
        ArgumentTypeError: If an index in *numeric* is not an int.
        InvalidArgumentError: If a row's length differs from the headings', or an index in
            *numeric* is not a column.

    >>> from pointkit.pages import table
    >>> table(["prize", "count"], [["cup", 3]], numeric=[1])
    '<div class="table-scroll"><table><thead><tr><th>prize</th><th class="num">count</th></tr></thead><tbody><tr><td>cup</td><td class="num">3</td></tr></tbody></table></div>'
    """
    width = len(headers)
    for index in numeric:
        if isinstance(index, bool) or not isinstance(index, int):
            raise ArgumentTypeError(
                f"numeric={tuple(numeric)!r} must hold int column indexes, not {type_name(index)}"
            )
        if not 0 <= index < width:
            raise InvalidArgumentError(
                f"numeric={tuple(numeric)!r}: {index} is not a column; valid are 0 to {width - 1}"
            )
    for number, row in enumerate(rows):
        if len(row) != width:
            raise InvalidArgumentError(
                f"rows[{number}] has {len(row)} cells; the table has {width} columns"
            )
    numbers = frozenset(numeric)

    def cell(name: str, index: int, value: object) -> Html:
        return tag(name, value, class_="num" if index in numbers else None)

    head = tag("thead", tag("tr", *(cell("th", i, text) for i, text in enumerate(headers))))
    body = tag(
        "tbody",
        *(tag("tr", *(cell("td", i, value) for i, value in enumerate(row))) for row in rows),
    )
    inner = tag("table", None if caption is None else tag("caption", caption), head, body)
    return tag("div", inner, class_="table-scroll")

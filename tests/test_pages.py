"""pointkit.pages: escaping, elements, the page shell, tables and SVG charts.

Every rendered piece is parsed with :mod:`html.parser` by :func:`parse`, which also checks that
the markup is well formed (every element closed, in order; void elements never closed).
"""

from __future__ import annotations

import itertools
import math
import re
from decimal import Decimal
from fractions import Fraction
from html.parser import HTMLParser
from typing import Final

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pointkit.exceptions import ArgumentTypeError, InvalidArgumentError
from pointkit.pages import (
    MARKS_PER_SERIES_MAX,
    Html,
    Series,
    bar_chart,
    escape,
    join,
    line_chart,
    number_label,
    page,
    table,
    tag,
)


VOID: Final = frozenset({"br", "input", "meta", "img", "hr", "link"})


class Element:
    """A parsed element: its name, attributes and children (elements and text)."""

    def __init__(self, name: str, attributes: dict[str, str | None]) -> None:
        self.name = name
        self.attributes = attributes
        self.children: list[Element | str] = []

    def __repr__(self) -> str:
        return f"<{self.name} {self.attributes}>"

    def text(self) -> str:
        """The text inside, concatenated."""
        return "".join(child if isinstance(child, str) else child.text() for child in self.children)

    def walk(self) -> list[Element]:
        """This element and every element inside it, in document order."""
        found = [self]
        for child in self.children:
            if isinstance(child, Element):
                found += child.walk()
        return found

    def find_all(self, name: str | None = None, *, class_: str | None = None) -> list[Element]:
        """The elements inside (this one included) with this name and class."""
        return [
            element
            for element in self.walk()
            if (name is None or element.name == name)
            and (class_ is None or class_ in (element.attributes.get("class") or "").split())
        ]

    def one(self, name: str | None = None, *, class_: str | None = None) -> Element:
        """The single element with this name and class."""
        found = self.find_all(name, class_=class_)
        assert 1 == len(found), found
        return found[0]


class _Tree(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, dict(attrs))
        self.stack[-1].children.append(element)
        if tag not in VOID:
            self.stack.append(element)

    def handle_startendtag(self, tag: str, _attrs: list[tuple[str, str | None]]) -> None:
        raise AssertionError(f"<{tag} /> is not written by pointkit.pages")

    def handle_endtag(self, tag: str) -> None:
        assert tag not in VOID, f"</{tag}> closes a void element"
        open_ = self.stack[-1].name
        assert tag == open_, f"</{tag}> closes <{open_}>"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(markup: str) -> Element:
    """Parse *markup*, checking that every element is closed in order; return the root."""
    tree = _Tree()
    tree.feed(markup)
    tree.close()
    assert ["#document"] == [element.name for element in tree.stack], "unclosed elements"
    return tree.root


SCRIPT = "<script>alert(\"x\" + 'y')</script>"


# -- escaping and elements ------------------------------------------------------------------------


def test_escape_escapes_text_and_keeps_markup() -> None:
    """Text has <, >, & and both quotes escaped; Html passes through; others are str()-ed."""
    assert "&lt;script&gt;alert(&quot;x&quot; + &#x27;y&#x27;)&lt;/script&gt;" == escape(SCRIPT)
    assert "<b>x</b>" == escape(Html("<b>x</b>"))
    assert "3.50" == escape(Decimal("3.50"))
    assert isinstance(escape("x"), Html)


def test_children_are_escaped_unless_markup() -> None:
    """A script in a child is text: it reads back unchanged and no <script> element appears."""
    markup = tag("p", SCRIPT, None, Html("<b>bold</b>"), 7)
    root = parse(markup)
    assert [] == root.find_all("script")
    assert SCRIPT + "bold7" == root.one("p").text()
    assert "bold" == root.one("b").text()


def test_attribute_values_are_escaped() -> None:
    """A quote in an attribute value cannot end it and start another attribute."""
    hostile = '" onclick="alert(1)'
    root = parse(tag("a", "x", href=hostile, title=SCRIPT))
    link = root.one("a")
    assert {"href": hostile, "title": SCRIPT} == link.attributes


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        ({"class_": "x"}, '<a class="x"></a>'),
        ({"for_": "name"}, '<a for="name"></a>'),
        ({"data_points": 3}, '<a data-points="3"></a>'),
        ({"aria_label": "Close"}, '<a aria-label="Close"></a>'),
        ({"hidden": True}, "<a hidden></a>"),
        ({"hidden": False}, "<a></a>"),
        ({"title": None}, "<a></a>"),
        ({"title": ""}, '<a title=""></a>'),
        ({"title": 0}, '<a title="0"></a>'),
        ({"href": "/?a=1&b=2"}, '<a href="/?a=1&amp;b=2"></a>'),
    ],
)
def test_tag_attribute_rules(attributes: dict[str, object], expected: str) -> None:
    """Trailing underscores drop, underscores become hyphens, True is bare, None/False omitted."""
    assert expected == tag("a", **attributes)


@pytest.mark.parametrize("name", ["br", "input", "meta", "img", "hr", "link"])
def test_void_elements_have_no_closing_tag(name: str) -> None:
    """A void element is written without a closing tag and refuses children."""
    assert f'<{name} id="x">' == tag(name, id="x")
    parse(tag("div", tag(name)))
    with pytest.raises(InvalidArgumentError, match="void element"):
        tag(name, "child")


@pytest.mark.parametrize(
    ("name", "attribute"),
    [("Script", "id"), ("1a", "id"), ("a b", "id"), ("", "id"), ("a", "onClick"), ("a", "x y")],
)
def test_tag_and_attribute_names_are_checked(name: str, attribute: str) -> None:
    """Names outside [a-z][a-z0-9-]* are refused, so no name can smuggle markup in."""
    with pytest.raises(InvalidArgumentError, match="must be a lowercase letter"):
        tag(name, **{attribute: "1"})


def test_join_escapes_plain_strings() -> None:
    """The join of parts keeps markup and escapes a plain str that slipped in."""
    assert "<i>a</i>&lt;b&gt;" == join([tag("i", "a"), "<b>"])  # type: ignore[list-item]


# -- the page shell -----------------------------------------------------------------------------


def test_page_is_a_self_contained_document() -> None:
    """Doctype, UTF-8, a phone viewport, the title, one inline style, the body in <main>."""
    document = page("Odds & ends <1>", tag("h1", "Hello"), lang="zh", head=tag("meta", name="x"))
    assert document.startswith("<!doctype html>\n")
    root = parse(document)
    assert "zh-CN" == root.one("html").attributes["lang"]
    assert "utf-8" == root.find_all("meta")[0].attributes["charset"]
    viewport = [m for m in root.find_all("meta") if m.attributes.get("name") == "viewport"]
    assert ["width=device-width, initial-scale=1"] == [m.attributes["content"] for m in viewport]
    assert "Odds & ends <1>" == root.one("title").text()
    assert 1 == len(root.find_all("style"))
    assert "Hello" == root.one("main").one("h1").text()
    assert 1 == len([m for m in root.find_all("meta") if m.attributes.get("name") == "x"])


def test_page_loads_nothing_from_anywhere() -> None:
    """No script, external stylesheet, font or image: no http(s) reference at all."""
    chart = line_chart("c", ["a", "b"], [Series("s", [1, 2]), Series("t", [2, 1])])
    document = page("t", chart, bar_chart("b", ["a"], [1]), table(["a"], [[1]]))
    root = parse(document)
    assert [] == re.findall(r"https?://", document)
    assert [] == re.findall(r"url\(|@import|@font-face", document)
    assert [] == root.find_all("script") + root.find_all("link") + root.find_all("img")


def test_page_css_covers_the_building_blocks() -> None:
    """The stylesheet styles the scroll box, numeric cells, charts, forms, notices and nav."""
    css = parse(page("t")).one("style").text()
    for selector in (".table-scroll", "td.num", ".chart svg", "input", ".error", ".notice", "nav"):
        assert selector in css


@pytest.mark.parametrize(("lang", "expected"), [("en", "en"), ("zh", "zh-CN"), ("zh-TW", "zh-TW")])
def test_page_language(lang: str, expected: str) -> None:
    """The lang argument names the document's language; "zh" is written zh-CN."""
    assert expected == parse(page("t", lang=lang)).one("html").attributes["lang"]


def test_page_refuses_a_bad_language() -> None:
    """A lang that is not a language tag is refused, naming it."""
    with pytest.raises(InvalidArgumentError, match=r"lang='\"><x' must be a language tag"):
        page("t", lang='"><x')


# -- tables -------------------------------------------------------------------------------------


def test_table_right_aligns_numeric_columns_and_escapes_cells() -> None:
    """Numeric columns carry class num on heading and cells; cells are escaped unless Html."""
    markup = table(
        ["Prize", "Left", "Note"],
        [["<cup>", 3, Html("<b>new</b>")], ["plate", Decimal("1.50"), ""]],
        numeric=[1],
        caption="Stock",
    )
    root = parse(markup)
    assert "table-scroll" == root.one("div").attributes["class"]
    assert "Stock" == root.one("caption").text()
    assert ["num"] == [th.attributes.get("class") for th in root.find_all("th", class_="num")]
    assert ["Left"] == [th.text() for th in root.find_all("th", class_="num")]
    assert ["3", "1.50"] == [td.text() for td in root.find_all("td", class_="num")]
    plain = [td for td in root.find_all("td") if td.attributes.get("class") is None]
    assert ["<cup>", "new", "plate", ""] == [td.text() for td in plain]
    assert "new" == root.one("b").text()


@pytest.mark.parametrize(
    ("rows", "numeric", "error", "message"),
    [
        ([[1]], (), InvalidArgumentError, r"rows\[0\] has 1 cells; the table has 2 columns"),
        ([[1, 2]], (2,), InvalidArgumentError, r"2 is not a column; valid are 0 to 1"),
        ([[1, 2]], (True,), ArgumentTypeError, r"must hold int column indexes, not bool"),
    ],
)
def test_table_refuses_bad_shapes(
    rows: list[list[object]], numeric: tuple[int, ...], error: type[Exception], message: str
) -> None:
    """Rows of the wrong length and numeric indexes that are not columns are refused."""
    with pytest.raises(error, match=message):
        table(["a", "b"], rows, numeric=numeric)


# -- charts -------------------------------------------------------------------------------------


def _marks(chart: Html) -> list[Element]:
    return parse(chart).find_all(class_="mark")


def _data_points(chart: Html) -> int:
    return int(parse(chart).one("svg").attributes["data-points"] or "")


def test_line_chart_marks_every_point_with_its_exact_value() -> None:
    """One circle per point, data-value exact (int, Decimal, Fraction), data-points the count."""
    values = [1, Decimal("3.50"), Fraction(1, 3), -2]
    chart = line_chart("Balance", ["a", "b", "c", "d"], [Series("s", values)], unit="points")
    marks = _marks(chart)
    assert ["circle"] * 4 == [mark.name for mark in marks]
    assert ["1", "3.50", "1/3", "-2"] == [mark.attributes["data-value"] for mark in marks]
    assert 4 == _data_points(chart)
    root = parse(chart)
    assert "chart" == root.one("figure").attributes["class"]
    assert "Balance" == root.one("figcaption").text()
    assert "img" == root.one("svg").attributes["role"]
    assert "Balance" == root.one("svg").find_all("title")[0].text()
    assert 1 == len(root.find_all("path", class_="line"))


def test_line_chart_gaps_break_the_line() -> None:
    """None is a gap: no mark there, and the line restarts after it."""
    chart = line_chart("g", ["a", "b", "c", "d", "e"], [Series("s", [1, 2, None, 4, 5])])
    assert ["1", "2", "4", "5"] == [m.attributes["data-value"] for m in _marks(chart)]
    path = parse(chart).one("path", class_="line").attributes["d"] or ""
    assert 2 == path.count("M")


def test_line_chart_draws_bands() -> None:
    """low/high draw a shaded band per unbroken run of the band."""
    series = Series("s", [2, 3, 4, 5], low=[1, 2, None, 4], high=[3, 4, None, 6])
    chart = line_chart("b", ["a", "b", "c", "d"], [series])
    bands = parse(chart).find_all("path", class_="band")
    assert 2 == len(bands)
    assert all((band.attributes["d"] or "").endswith("Z") for band in bands)


def test_line_chart_negative_values_get_a_zero_line() -> None:
    """A chart across zero draws a zero line and labels the ticks exactly, 0 among them."""
    chart = line_chart("n", ["a", "b"], [Series("s", [-1_500, 2_500])])
    root = parse(chart)
    assert 1 == len(root.find_all("line", class_="zero"))
    labels = [label.text() for label in root.find_all("text", class_="y-label")]
    assert ["-2,000", "-1,000", "0", "1,000", "2,000", "3,000"] == labels


def test_several_series_get_colours_and_a_legend() -> None:
    """Each series has its own colour, and a legend names them in order."""
    series = [Series(name, [1, 2, 3]) for name in ("alpha", "beta", "gamma")]
    root = parse(line_chart("s", ["a", "b", "c"], series))
    strokes = {path.attributes["stroke"] for path in root.find_all("path", class_="line")}
    assert 3 == len(strokes)
    assert ["alpha", "beta", "gamma"] == [li.text() for li in root.one("ul").find_all("li")]
    assert 9 == len(root.find_all(class_="mark"))


def test_one_series_has_no_legend() -> None:
    """A single series is named by the title: no legend."""
    assert [] == parse(line_chart("s", ["a"], [Series("s", [1])])).find_all("ul")


@pytest.mark.parametrize(
    ("labels", "series"),
    [
        ([], []),
        (["a", "b"], []),
        (["a", "b"], [Series("s", [None, None])]),
        ([], [Series("s", [])]),
    ],
)
def test_empty_line_chart_says_no_data(labels: list[str], series: list[Series]) -> None:
    """No labels, no series or no values: a chart saying "no data", not an error."""
    chart = line_chart("Empty", labels, series)
    root = parse(chart)
    assert "no data" == root.one("text", class_="empty").text()
    assert 0 == _data_points(chart)
    assert [] == root.find_all(class_="mark")


def test_long_series_mark_every_kth_point() -> None:
    """Past MARKS_PER_SERIES_MAX points a series marks every k-th point; its line keeps all."""
    count = 1_000
    chart = line_chart("long", [str(i) for i in range(count)], [Series("s", list(range(count)))])
    step = math.ceil(count / MARKS_PER_SERIES_MAX)
    marks = _marks(chart)
    assert [str(i) for i in range(0, count, step)] == [m.attributes["data-value"] for m in marks]
    assert len(marks) == _data_points(chart)
    assert len(marks) <= MARKS_PER_SERIES_MAX
    path = parse(chart).one("path", class_="line").attributes["d"] or ""
    assert count - 1 == path.count("L")


def test_x_labels_are_thinned_so_they_do_not_overlap() -> None:
    """365 day labels: a handful shown, evenly stepped, none overlapping the next."""
    days = [f"2026-{month:02}-{day:02}" for month in range(1, 13) for day in range(1, 32)][:365]
    root = parse(line_chart("year", days, [Series("s", list(range(365)))]))
    shown = root.find_all("text", class_="x-label")
    assert 4 <= len(shown) <= 12
    assert days[0] == shown[0].text()
    xs = [float(label.attributes["x"] or "") for label in shown]
    gaps = {round(b - a, 1) for a, b in itertools.pairwise(xs)}
    widest = 10 * 7.5  # ten characters of the 13px axis font
    assert min(gaps) > widest


def test_every_label_is_shown_when_there_is_room() -> None:
    """A few short labels are all shown."""
    root = parse(line_chart("w", ["Mo", "Tu", "We"], [Series("s", [1, 2, 3])]))
    assert ["Mo", "Tu", "We"] == [label.text() for label in root.find_all(class_="x-label")]


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        (("s", [1, 2.5]), ArgumentTypeError, r"values\[1\]=2.5 must be an int, Decimal or Fraction or None, not float"),
        (("s", [True]), ArgumentTypeError, r"values\[0\]=True must be .* not bool"),
        (("s", ["3"]), ArgumentTypeError, r"values\[0\]='3' must be .* not str"),
        (("s", [Decimal("NaN")]), InvalidArgumentError, r"values\[0\]=Decimal\('NaN'\) must be a finite number"),
        (("s", "123"), ArgumentTypeError, r"values='123' must be a sequence of numbers"),
        (("", [1]), InvalidArgumentError, r"name='' must not be blank"),
        ((3, [1]), ArgumentTypeError, r"name=3 must be a str, not int"),
    ],
)  # fmt: skip
def test_series_refuses_bad_values(
    arguments: tuple[object, object], error: type[Exception], message: str
) -> None:
    """Floats, bools, text and non-finite numbers are refused, naming the value and its index."""
    with pytest.raises(error, match=message):
        Series(*arguments)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("low", "high", "message"),
    [
        ([1, 2], None, r"series 's': low and high must be given together, got only low"),
        (None, [1, 2], r"got only high"),
        ([1], [2], r"series 's': low has 1 values; values has 2"),
        ([1, 2], [2, 3, 4], r"series 's': high has 3 values; values has 2"),
        ([1, 5], [2, 3], r"series 's': low\[1\]=5 is above high\[1\]=3"),
        ([1, 0.5], [2, 3], r"low\[1\]=0.5 must be"),
    ],
)
def test_series_checks_its_band(
    low: list[object] | None, high: list[object] | None, message: str
) -> None:
    """A band comes whole, one edge value per value, low never above high."""
    with pytest.raises(InvalidArgumentError, match=message):
        Series("s", [1, 2], low=low, high=high)


def test_series_converts_to_tuples() -> None:
    """Lists become tuples, so a Series is immutable."""
    series = Series("s", [1, None], low=[0, None], high=[2, None])
    assert ((1, None), (0, None), (2, None)) == (series.values, series.low, series.high)


def test_line_chart_refuses_a_series_of_the_wrong_length() -> None:
    """Each series has one value per x label."""
    with pytest.raises(InvalidArgumentError, match=r"series 's' has 1 values; x_labels has 2"):
        line_chart("t", ["a", "b"], [Series("s", [1])])


def test_bar_chart_draws_a_rect_per_bar_from_zero() -> None:
    """One rect per bar with its exact value; negative bars hang below the zero line."""
    chart = bar_chart("Draws", ["a", "b", "c"], [3, Decimal("-1.5"), 0], unit="draws")
    root = parse(chart)
    marks = root.find_all("rect", class_="mark")
    assert ["3", "-1.5", "0"] == [mark.attributes["data-value"] for mark in marks]
    assert 3 == _data_points(chart)
    zero = float(root.one("line", class_="zero").attributes["y1"] or "")
    positive, negative, nothing = marks
    assert zero == float(positive.attributes["y"] or "") + float(
        positive.attributes["height"] or ""
    )
    assert zero == float(negative.attributes["y"] or "")
    assert 0 == float(nothing.attributes["height"] or "")


def test_bar_chart_with_no_bars_says_no_data() -> None:
    """No bars: "no data"."""
    chart = bar_chart("Empty", [], [])
    assert "no data" == parse(chart).one(class_="empty").text()
    assert 0 == _data_points(chart)


@pytest.mark.parametrize(
    ("labels", "values", "error", "message"),
    [
        (["a"], [1, 2], InvalidArgumentError, "labels has 1 labels; values has 2"),
        (["a"], [1.0], ArgumentTypeError, r"values\[0\]=1.0 must be an int, Decimal or Fraction, not float"),
        (["a"], [None], ArgumentTypeError, r"values\[0\]=None must be"),
        ([1], [1], ArgumentTypeError, r"labels\[0\]=1 must be a str"),
        ("ab", [1, 2], ArgumentTypeError, r"labels='ab' must be a sequence of str"),
    ],
)  # fmt: skip
def test_bar_chart_refuses_bad_input(
    labels: list[object], values: list[object], error: type[Exception], message: str
) -> None:
    """Lengths must match; values are exact numbers; labels are strings."""
    with pytest.raises(error, match=message):
        bar_chart("t", labels, values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, "0"),
        (7, "7"),
        (950, "950"),
        (1_234, "1,234"),
        (9_999, "9,999"),
        (10_000, "10k"),
        (12_500, "12.5k"),
        (-40_000, "-40k"),
        (1_200_000, "1.2M"),
        (1_250_000, "1.25M"),
        (3_000_000_000, "3B"),
        (Decimal("2.50"), "2.5"),
        (Fraction(1, 4), "0.25"),
        (Fraction(1, 3), "0.3333"),
    ],
)
def test_number_labels(value: int | Decimal | Fraction, expected: str) -> None:
    """Axis labels: full below ten thousand, then k, M and B."""
    assert expected == number_label(value)


exact_numbers = st.one_of(
    st.integers(-(10**12), 10**12),
    st.decimals(-(10**6), 10**6, places=2, allow_nan=False, allow_infinity=False),
    st.fractions(min_value=-1000, max_value=1000, max_denominator=1000),
)


@given(st.lists(st.lists(st.none() | exact_numbers, min_size=12, max_size=12), max_size=4))
def test_charts_are_well_formed_and_mark_every_value(rows: list[list[object]]) -> None:
    """For any exact values: well formed, one mark per value, each carrying its exact text."""
    series = [Series(f"s{n}", values) for n, values in enumerate(rows)]
    chart = line_chart("any", [f"d{i}" for i in range(12)], series)
    expected = [
        str(value) if not isinstance(value, Decimal) else format(value, "f")
        for values in rows
        for value in values
        if value is not None
    ]
    assert expected == [mark.attributes["data-value"] for mark in _marks(chart)]
    assert len(expected) == _data_points(chart)


@given(st.lists(exact_numbers, max_size=30))
def test_bar_charts_are_well_formed(values: list[int | Decimal | Fraction]) -> None:
    """For any exact values: well formed, one rect per bar, ticks covering every bar."""
    chart = bar_chart("any", [f"b{i}" for i in range(len(values))], values)
    root = parse(chart)
    assert len(values) == len(root.find_all("rect", class_="mark"))
    for rect in root.find_all("rect", class_="mark"):
        assert 0 <= float(rect.attributes["y"] or "") <= 300
        assert (
            0 <= float(rect.attributes["y"] or "") + float(rect.attributes["height"] or "") <= 300
        )

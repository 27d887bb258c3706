"""HTML pages: building blocks, SVG charts, and the public lottery odds page.

Pure rendering: strings in, strings out. Nothing here reads a clock, a file or the network;
the odds page reads only the :class:`~pointkit.program.Program` it is given. Markup is the
:class:`Html` type and everything else is escaped (see :func:`tag`); every page is one
self-contained document (:func:`page`) that loads nothing from anywhere.
"""

from pointkit.pages._charts import (
    CHART_SERIES_MAX,
    CHART_VALUES_MAX,
    MARKS_PER_SERIES_MAX,
    Series,
    bar_chart,
    line_chart,
    number_label,
    value_text,
)
from pointkit.pages._html import Html, Number, escape, join, page, table, tag
from pointkit.pages._odds import odds_document, odds_file_name, odds_page


__all__ = [
    "CHART_SERIES_MAX",
    "CHART_VALUES_MAX",
    "MARKS_PER_SERIES_MAX",
    "Html",
    "Number",
    "Series",
    "bar_chart",
    "escape",
    "join",
    "line_chart",
    "number_label",
    "odds_document",
    "odds_file_name",
    "odds_page",
    "page",
    "table",
    "tag",
    "value_text",
]

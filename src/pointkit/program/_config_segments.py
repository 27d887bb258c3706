"""Reading the ``[[segments]]`` of a programme file: named conditions over member facts.

>>> from pointkit.program._config_reader import ConfigReader
>>> reader = ConfigReader()
>>> segments = read_segments(reader, [
...     {"name": "new-vip", "when": {"type": "all", "conditions": [
...         {"type": "compare", "left": {"type": "fact", "path": "member.tier"}, "op": "==",
...          "right": {"type": "const", "value": "vip"}},
...         {"type": "compare", "left": {"type": "fact", "path": "member.days_since_joining"},
...          "op": "<=", "right": {"type": "const", "value": 30}},
...     ]}},
... ], "Asia/Shanghai")
>>> segments.names, reader.problems
(('new-vip',), [])
>>> read_segments(reader, [{"name": "big", "when": {"type": "compare",
...     "left": {"type": "fact", "path": "event.amount"}, "op": ">",
...     "right": {"type": "const", "value": 1}}}], "UTC").names
()
>>> reader.problems
["segments[0].when: 'event.amount' is not a member fact; a segment reads member facts only (member.tier, member.tags, member.days_since_joining, member.lifetime_earned, member.days_since_last_activity, ...)"]
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from pointkit.rules import Segment, Segments


if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from pointkit.program._config_reader import ConfigReader


__all__ = ["read_segments"]


def read_segments(reader: ConfigReader, data: object, zone: ZoneInfo | str) -> Segments:
    """Read ``[[segments]]``: each a ``name`` and a ``when`` condition over member facts.

    Every problem is recorded on *reader* with its path; the segments that read cleanly are
    returned, a repeated name once.
    """
    segments: list[Segment] = []
    names: set[str] = set()
    for path, item in reader.items(data, "segments"):
        found = reader.options(item, path, ("name", "when"), ())
        if found is None:
            continue
        when = reader.condition(found["when"], f"{path}.when")
        if when is None:
            continue
        segment = reader.make(path, partial(Segment, found["name"], when))
        if segment is None:
            continue
        if segment.name in names:
            reader.fail(f"{path}.name", f"{segment.name!r} is used twice")
            continue
        names.add(segment.name)
        segments.append(segment)
    return Segments(segments, zone=zone)

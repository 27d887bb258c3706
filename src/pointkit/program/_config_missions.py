"""Reading the ``[[missions]]`` and ``[[badges]]`` sections of a programme file.

Each mission and badge is read through a
:class:`~pointkit.program._config_reader.ConfigReader` into its checked value
(:class:`~pointkit.campaigns.Mission`, :class:`~pointkit.campaigns.Badge`), every problem
recorded with its TOML path, and the two lists are checked together into one
:class:`~pointkit.campaigns.MissionBook` for the programme's zone::

    [[missions]]
    id = "shop-3"
    name = "Three purchases this month"
    period = "month"                 # day, week, month or lifetime (the default)
    times = "unlimited"              # once a period; an int caps completions in all (default 1)
    segments = ["new-vip"]           # only members of these [[segments]] make progress
    goal = { type = "count", kinds = ["purchase"], target = 3, label = "purchases" }
    reward = { points = 200, badge = "shopper" }

    [[badges]]
    id = "regular"
    name = "Regular"
    goal = { type = "days", kinds = ["sign_in"], target = 100 }

A goal's ``type`` is ``count``, ``days`` or ``sum`` (``attribute``, and a ``target`` in money
like ``"500.00 CNY"`` or an integer); any goal may carry a ``condition`` in the earning rules'
condition form.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Final

from pointkit.campaigns import (
    Badge,
    CountGoal,
    DaysGoal,
    Mission,
    MissionBook,
    MissionReward,
    SumGoal,
)
from pointkit.exceptions import ConfigurationError


if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from pointkit.campaigns import Goal
    from pointkit.program._config_reader import ConfigReader


__all__ = ["read_badge", "read_goal", "read_mission", "read_mission_book"]

_GOAL_TYPES: Final = ("count", "days", "sum")
_MISSION_FIELDS: Final = ("period", "times", "starts_at", "ends_at", "segments")
_REWARD_FIELDS: Final = ("points", "currency", "coupon", "badge")


def read_goal(reader: ConfigReader, data: object, path: str) -> Goal | None:
    """Read a goal table (``type = "count" | "days" | "sum"``); ``None`` if it has problems."""
    kind = reader._type(data, path, _GOAL_TYPES)  # noqa: SLF001 - the loader's own helper
    if kind is None:
        return None
    required = ("type", "kinds", "target", *(("attribute",) if kind == "sum" else ()))
    found = reader.options(data, path, required, ("condition", "label"))
    if found is None:
        return None
    kinds = reader.strings(found["kinds"], f"{path}.kinds")
    condition = None
    if "condition" in found:
        condition = reader.condition(found["condition"], f"{path}.condition")
        if condition is None:
            return None
    extra = {} if "label" not in found else {"label": found["label"]}
    if kinds is None:
        return None
    if kind == "sum":
        raw = found["target"]
        target = (
            reader.cash(raw, f"{path}.target")
            if isinstance(raw, str)
            else reader.integer(raw, f"{path}.target")
        )
        if target is None:
            return None
        return reader.make(
            path,
            partial(SumGoal, kinds, found["attribute"], target, condition, **extra),
        )
    if kind == "count":
        return reader.make(path, partial(CountGoal, kinds, found["target"], condition, **extra))
    return reader.make(path, partial(DaysGoal, kinds, found["target"], condition, **extra))


def read_reward(reader: ConfigReader, data: object, path: str) -> MissionReward | None:
    """Read a mission's reward table; ``None`` if it has problems."""
    found = reader.options(data, path, (), _REWARD_FIELDS)
    if found is None:
        return None
    return reader.make(path, partial(MissionReward, **found))


def read_mission(reader: ConfigReader, data: object, path: str) -> Mission | None:
    """Read one ``[[missions]]`` item; ``None`` if it has problems (recorded with their paths)."""
    found = reader.options(data, path, ("id", "name", "goal", "reward"), _MISSION_FIELDS)
    if found is None:
        return None
    goal = read_goal(reader, found["goal"], f"{path}.goal")
    reward = read_reward(reader, found["reward"], f"{path}.reward")
    times: object = found.get("times", 1)
    if times == "unlimited":
        times = None
    elif isinstance(times, str):
        reader.fail(f"{path}.times", f"must be an integer or 'unlimited', got {times!r}")
        return None
    starts = (
        None if "starts_at" not in found else reader.moment(found["starts_at"], f"{path}.starts_at")
    )
    ends = None if "ends_at" not in found else reader.moment(found["ends_at"], f"{path}.ends_at")
    segments = (
        () if "segments" not in found else reader.strings(found["segments"], f"{path}.segments")
    )
    if goal is None or reward is None or segments is None:
        return None
    return reader.make(
        path,
        lambda: Mission(
            found["id"],
            found["name"],
            goal,
            reward,
            period=found.get("period", "lifetime"),
            times=times,  # type: ignore[arg-type] # the constructor checks it
            starts_at=starts,
            ends_at=ends,
            segments=segments,
        ),
    )


def read_badge(reader: ConfigReader, data: object, path: str) -> Badge | None:
    """Read one ``[[badges]]`` item; ``None`` if it has problems."""
    found = reader.options(data, path, ("id", "name"), ("goal",))
    if found is None:
        return None
    goal = None
    if "goal" in found:
        goal = read_goal(reader, found["goal"], f"{path}.goal")
        if goal is None:
            return None
    return reader.make(path, partial(Badge, found["id"], found["name"], goal))


def read_mission_book(
    reader: ConfigReader, missions: object, badges: object, zone: ZoneInfo
) -> MissionBook | None:
    """Read the ``[[missions]]`` and ``[[badges]]`` lists into one book for *zone*.

    Args:
        reader: Collects the problems.
        missions: The ``missions`` list (``[]`` when the file has none).
        badges: The ``badges`` list (``[]`` when the file has none).
        zone: The programme's zone.

    Returns:
        The book, or ``None`` if any item had problems (all of them are recorded).
    """
    found_missions = [
        read_mission(reader, item, path) for path, item in reader.items(missions, "missions")
    ]
    found_badges = [read_badge(reader, item, path) for path, item in reader.items(badges, "badges")]
    if None in found_missions or None in found_badges:
        return None
    try:
        return MissionBook(
            [item for item in found_missions if item is not None],
            [item for item in found_badges if item is not None],
            zone=zone,
        )
    except ConfigurationError as error:  # its problems name their lists already
        reader.problems.extend(error.problems)
        return None

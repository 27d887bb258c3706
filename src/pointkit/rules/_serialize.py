"""Rule sets as documents: dicts, JSON and TOML, both ways, with every problem reported.

Maintainer's notes
------------------
One document shape serves JSON and TOML: objects, lists, strings, ints and bools only. Every
node carries a ``"type"`` (``{"type": "compare", ...}``); Fractions are strings (``"3/2"``);
money is ``{"amount": "10.00", "currency": "CNY"}``; instants and dates are ISO 8601 strings
where the field says which, and constants are tagged (``{"decimal": "1.5"}``,
``{"date": "2026-10-01"}``; see :func:`~pointkit.rules.encode_value`). Fields whose value is
``None`` are left out (TOML has no null); every other field is written, defaults included, so
a document says everything the program does.

JSON and TOML numbers with a fraction part load as floats, which every field refuses: decimals
are written as strings. Loading checks the shape of every object (unknown and missing fields), then runs each field
through the converter of the class it will build, so every problem of a document is listed at
once, each with its path (``rules[3].caps[0].points: -5 must be an int from 1 to ...``). Only
a document whose parts all load is checked as a whole by :class:`RuleSet`, whose problems carry
the same paths.

The TOML writer is our own: the shapes are few and simple, so a small exact writer (tables,
arrays of tables, inline tables for everything inside a rule) beats a dependency. Reading uses
the standard library's ``tomllib``.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable, Mapping
from datetime import date, datetime
from fractions import Fraction
from typing import TYPE_CHECKING, Final

import attrs

from pointkit import limits
from pointkit.exceptions import ConfigurationError, InvalidArgumentError, LimitExceededError
from pointkit.rules._codec import decode_money, decode_value, encode_money, encode_value
from pointkit.rules._conditions import All, Any, Between, Compare, Condition, In, InSegment, Not
from pointkit.rules._effects import (
    Bonus,
    Cap,
    Effect,
    Fixed,
    Multiplier,
    OncePer,
    Rate,
    StreakLadder,
)
from pointkit.rules._event_schemas import EventRegistry, EventSchema, FieldSpec
from pointkit.rules._expressions import Arith, Const, Expr, Fact
from pointkit.rules._rules import Rule
from pointkit.rules._ruleset import RuleSet
from pointkit.rules._time_conditions import (
    BetweenHours,
    During,
    OnDates,
    OnMonthDays,
    OnWeekdays,
)
from pointkit.rules._toml_writer import toml_key as _toml_key
from pointkit.rules._toml_writer import toml_value as _toml_value


if TYPE_CHECKING:
    from pointkit._values import Money
    from pointkit.rules._segments import Segments


__all__ = [
    "DOCUMENT_VERSION",
    "condition_from_dict",
    "condition_to_dict",
    "effect_from_dict",
    "effect_to_dict",
    "rule_from_dict",
    "rule_to_dict",
    "ruleset_from_dict",
    "ruleset_from_json",
    "ruleset_from_toml",
    "ruleset_to_dict",
    "ruleset_to_json",
    "ruleset_to_toml",
]

DOCUMENT_VERSION: Final = 1
"""The version of the rule-set document format this release writes and reads."""

Data = dict[str, object]


# -- writing ----------------------------------------------------------------------------------


def _fraction(value: Fraction) -> str:
    return (
        str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"
    )


def expr_to_dict(expr: Expr) -> Data:
    """Return an expression as document data."""
    if isinstance(expr, Fact):
        return {"type": "fact", "path": expr.path}
    if isinstance(expr, Const):
        return {"type": "const", "value": encode_value(expr.value)}
    return {
        "type": "arith",
        "op": expr.op,
        "left": expr_to_dict(expr.left),
        "right": expr_to_dict(expr.right),
    }


def condition_to_dict(condition: Condition) -> Data:  # noqa: PLR0911 - one shape per node type
    """Return a condition as document data.

    >>> from pointkit.rules import Compare, Fact
    >>> condition_to_dict(Compare(Fact("event.rating"), ">=", 4))
    {'type': 'compare', 'left': {'type': 'fact', 'path': 'event.rating'}, 'op': '>=', 'right': {'type': 'const', 'value': 4}, 'on_missing': 'fail'}
    """
    if isinstance(condition, All | Any):
        return {
            "type": "all" if isinstance(condition, All) else "any",
            "conditions": [condition_to_dict(child) for child in condition.conditions],
        }
    if isinstance(condition, Not):
        return {"type": "not", "condition": condition_to_dict(condition.condition)}
    if isinstance(condition, InSegment):
        return {"type": "segment", "name": condition.name}
    if isinstance(condition, Compare):
        return {
            "type": "compare",
            "left": expr_to_dict(condition.left),
            "op": condition.op,
            "right": expr_to_dict(condition.right),
            "on_missing": condition.on_missing,
        }
    if isinstance(condition, In):
        return {
            "type": "in",
            "expr": expr_to_dict(condition.expr),
            "values": [encode_value(value) for value in condition.values],
            "on_missing": condition.on_missing,
        }
    if isinstance(condition, Between):
        return {
            "type": "between",
            "expr": expr_to_dict(condition.expr),
            "low": expr_to_dict(condition.low),
            "high": expr_to_dict(condition.high),
            "on_missing": condition.on_missing,
        }
    if isinstance(condition, During):
        return {
            "type": "during",
            "start": condition.start.isoformat(),
            "end": condition.end.isoformat(),
        }
    if isinstance(condition, OnWeekdays | OnMonthDays):
        kind = "on_weekdays" if isinstance(condition, OnWeekdays) else "on_month_days"
        return {"type": kind, "days": list(condition.days)}
    if isinstance(condition, OnDates):
        return {"type": "on_dates", "dates": [day.isoformat() for day in condition.dates]}
    return {
        "type": "between_hours",
        "start_hour": condition.start_hour,
        "end_hour": condition.end_hour,
    }


def effect_to_dict(effect: Effect) -> Data:
    """Return an effect as document data."""
    if isinstance(effect, Fixed):
        return {"type": "fixed", "points": effect.points, "rounding": effect.rounding}
    return {
        "type": "rate",
        "points": effect.points,
        "per": encode_money(effect.per),
        "counts": sorted(effect.counts),
        "rounding": effect.rounding,
    }


def _cap_to_dict(cap: Cap) -> Data:
    data: Data = {"period": cap.period}
    # A tier-dependent limit is a table of tier = limit.
    if cap.points is not None:
        data["points"] = cap.points if isinstance(cap.points, int) else dict(cap.points)
    if cap.tasks is not None:
        data["tasks"] = cap.tasks if isinstance(cap.tasks, int) else dict(cap.tasks)
    if cap.name is not None:
        data["name"] = cap.name
    if cap.rules:
        data["rules"] = list(cap.rules)
    return data


def rule_to_dict(rule: Rule) -> Data:
    """Return a rule as document data (``None`` fields left out)."""
    data: Data = {
        "name": rule.name,
        "kinds": list(rule.kinds),
        "effect": effect_to_dict(rule.effect),
    }
    if rule.when is not None:
        data["when"] = condition_to_dict(rule.when)
    data["bonuses"] = [
        {
            "points": bonus.points,
            "when": condition_to_dict(bonus.when),
            "multiplied": bonus.multiplied,
        }
        for bonus in rule.bonuses
    ]
    multipliers: list[object] = []
    for multiplier in rule.multipliers:
        entry: Data = {"name": multiplier.name, "factor": _fraction(multiplier.factor)}
        if multiplier.when is not None:
            entry["when"] = condition_to_dict(multiplier.when)
        multipliers.append(entry)
    data["multipliers"] = multipliers
    data["tier_multiplier"] = rule.tier_multiplier
    data["currency"] = rule.currency
    data["caps"] = [_cap_to_dict(cap) for cap in rule.caps]
    data["at_cap"] = rule.at_cap
    if rule.budget is not None:
        data["budget"] = rule.budget
    if rule.group is not None:
        data["group"] = rule.group
    data["priority"] = rule.priority
    if rule.streak is not None:
        data["streak"] = {
            "rewards": list(rule.streak.rewards),
            "reset": rule.streak.reset,
            "repeat": rule.streak.repeat,
        }
    data["enabled"] = rule.enabled
    # The controls are written only when set, so documents without them read as before.
    if rule.exempt_from_caps is not False:
        exempt = rule.exempt_from_caps
        data["exempt_from_caps"] = exempt if isinstance(exempt, bool) else list(exempt)
    if rule.once_per is not None:
        data["once_per"] = {"attribute": rule.once_per.attribute, "scope": rule.once_per.scope}
    if rule.coupon is not None:
        data["coupon"] = rule.coupon
    return data


def ruleset_to_dict(ruleset: RuleSet) -> Data:
    """Return a rule set as document data: the inverse of :func:`ruleset_from_dict`."""
    data: Data = {
        "version": DOCUMENT_VERSION,
        "zone": ruleset.zone.key,
        "multipliers": ruleset.multipliers,
        "feb29": ruleset.feb29,
        "groups": dict(ruleset.groups),
        "budgets": dict(ruleset.budgets),
        "caps": [_cap_to_dict(cap) for cap in ruleset.caps],
        "disabled_kinds": sorted(ruleset.disabled_kinds),
        "events": [
            {
                "kind": schema.kind,
                "fields": {
                    name: {"type": spec.type, "required": spec.required}
                    for name, spec in schema.fields
                },
            }
            for schema in ruleset.registry.schemas
        ],
        "rules": [rule_to_dict(rule) for rule in ruleset.rules],
    }
    if ruleset.rounding_stage != "end":
        data["rounding_stage"] = ruleset.rounding_stage
    return data


def ruleset_to_json(ruleset: RuleSet) -> str:
    """Return a rule set as JSON text, keys sorted, indented: the same rule set, the same text."""
    return json.dumps(ruleset_to_dict(ruleset), sort_keys=True, indent=2, ensure_ascii=False) + "\n"


# -- TOML -------------------------------------------------------------------------------------


def ruleset_to_toml(ruleset: RuleSet) -> str:
    """Return a rule set as TOML text, which :func:`ruleset_from_toml` reads back.

    The text has the top-level settings, ``[groups]``, ``[budgets]``, ``[[caps]]``,
    ``[[events]]`` and one ``[[rules]]`` table per rule, whose parts are inline tables.
    """
    document = ruleset_to_dict(ruleset)
    lines: list[str] = []
    sections: list[str] = []
    for key, value in document.items():
        if isinstance(value, dict) and value:
            sections.append(f"\n[{_toml_key(key)}]")
            sections.extend(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items())
        elif isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
            for item in value:
                sections.append(f"\n[[{_toml_key(key)}]]")
                sections.extend(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in item.items())
        else:
            lines.append(f"{_toml_key(key)} = {_toml_value(value)}")
    return "\n".join(lines + sections) + "\n"


# -- reading ----------------------------------------------------------------------------------


class _Loader:
    """Reads document data into rules, collecting every problem with its path."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def fail(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}")

    def error(self, path: str, error: InvalidArgumentError, name: str | None = None) -> None:
        message = str(error)
        for prefix in (f"{path}=", f"{path}: ", *((f"{name}=", f"{name} ") if name else ())):
            if message.startswith(prefix):
                message = message[len(prefix) :]
                break
        self.fail(path, message)

    def fields(
        self, data: object, path: str, required: tuple[str, ...], optional: tuple[str, ...] = ()
    ) -> Mapping[str, object] | None:
        if not isinstance(data, Mapping):
            self.fail(path, f"must be an object, got {data!r}")
            return None
        valid = (*required, *optional)
        unknown = [key for key in data if key not in valid]
        for key in unknown:
            shown = ", ".join(repr(name) for name in valid)
            self.fail(f"{path}.{key}", f"unknown field; valid fields are {shown}")
        missing = [key for key in required if key not in data]
        for key in missing:
            self.fail(f"{path}.{key}", "missing; it is required")
        if missing:
            return None
        # Unknown fields are reported and left out, so the rest is still checked (every
        # problem at once) and no constructor meets them as unexpected arguments.
        return data if not unknown else {key: data[key] for key in data if key in valid}

    def build(self, cls: type, path: str, values: Mapping[str, object]) -> object | None:
        """Run each value through *cls*'s converter for it, then build *cls*."""
        good = True
        for field in attrs.fields(cls):
            if field.name in values and field.converter is not None:
                try:
                    field.converter(values[field.name])
                except InvalidArgumentError as error:
                    self.error(f"{path}.{field.name}", error, field.name)
                    good = False
        if not good:
            return None
        try:
            built: object = cls(**values)
        except InvalidArgumentError as error:
            self.error(path, error)
            return None
        return built

    def text(self, data: object, path: str) -> str | None:
        if not isinstance(data, str):
            self.fail(path, f"must be a string, got {data!r}")
            return None
        return data

    def listed(self, data: object, path: str) -> list[object] | None:
        if not isinstance(data, list | tuple):
            self.fail(path, f"must be a list, got {data!r}")
            return None
        return list(data)

    def value(self, data: object, path: str) -> object | None:
        try:
            return decode_value(path, data)
        except InvalidArgumentError as error:
            self.error(path, error)
            return None

    def money(self, data: object, path: str) -> Money | None:
        try:
            return decode_money(path, data)
        except InvalidArgumentError as error:
            self.error(path, error)
            return None

    def fraction(self, data: object, path: str) -> Fraction | None:
        if isinstance(data, int) and not isinstance(data, bool):
            return Fraction(data)
        if isinstance(data, str):
            try:
                return Fraction(data)
            except (ValueError, ZeroDivisionError):
                pass
        self.fail(path, f"must be a fraction like '3/2', got {data!r}")
        return None

    def instant(self, data: object, path: str) -> datetime | None:
        text = self.text(data, path)
        if text is None:
            return None
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            self.fail(
                path, f"must be an ISO 8601 instant like '2026-10-01T00:00:00+08:00', got {text!r}"
            )
            return None

    def day(self, data: object, path: str) -> date | None:
        text = self.text(data, path)
        if text is None:
            return None
        try:
            return date.fromisoformat(text)
        except ValueError:
            self.fail(path, f"must be an ISO 8601 date like '2026-10-01', got {text!r}")
            return None

    # -- expressions and conditions ---------------------------------------------------------

    def expr(self, data: object, path: str, depth: int) -> Expr | None:
        if depth > limits.CONDITION_DEPTH_MAX:
            self.fail(
                path, f"nests deeper than limits.CONDITION_DEPTH_MAX ({limits.CONDITION_DEPTH_MAX})"
            )
            return None
        kind = self._type(data, path, ("fact", "const", "arith"))
        if kind == "fact":
            found = self.fields(data, path, ("type", "path"))
            return None if found is None else self.build(Fact, path, {"path": found["path"]})  # type: ignore[return-value]
        if kind == "const":
            found = self.fields(data, path, ("type", "value"))
            if found is None:
                return None
            value = self.value(found["value"], f"{path}.value")
            return None if value is None else self.build(Const, path, {"value": value})  # type: ignore[return-value]
        if kind == "arith":
            found = self.fields(data, path, ("type", "op", "left", "right"))
            if found is None:
                return None
            left = self.expr(found["left"], f"{path}.left", depth + 1)
            right = self.expr(found["right"], f"{path}.right", depth + 1)
            if left is None or right is None:
                return None
            return self.build(Arith, path, {"op": found["op"], "left": left, "right": right})  # type: ignore[return-value]
        return None

    def _type(self, data: object, path: str, valid: tuple[str, ...]) -> str | None:
        if not isinstance(data, Mapping):
            self.fail(path, f"must be an object, got {data!r}")
            return None
        kind: object = data.get("type")
        if not isinstance(kind, str) or kind not in valid:
            shown = ", ".join(repr(name) for name in valid)
            self.fail(f"{path}.type", f"must be one of {shown}, got {kind!r}")
            return None
        return kind

    def condition(self, data: object, path: str, depth: int = 1) -> Condition | None:
        if depth > limits.CONDITION_DEPTH_MAX:
            self.fail(
                path, f"nests deeper than limits.CONDITION_DEPTH_MAX ({limits.CONDITION_DEPTH_MAX})"
            )
            return None
        kind = self._type(data, path, tuple(_CONDITION_READERS))
        if kind is None:
            return None
        return _CONDITION_READERS[kind](self, data, path, depth)  # type: ignore[arg-type]

    def children(
        self, data: Mapping[str, object], path: str, depth: int, cls: type
    ) -> Condition | None:
        found = self.fields(data, path, ("type", "conditions"))
        if found is None:
            return None
        items = self.listed(found["conditions"], f"{path}.conditions")
        if items is None:
            return None
        children = [
            self.condition(item, f"{path}.conditions[{index}]", depth + 1)
            for index, item in enumerate(items)
        ]
        if any(child is None for child in children):
            return None
        return self.build(cls, path, {"conditions": children})  # type: ignore[return-value]

    def negation(self, data: Mapping[str, object], path: str, depth: int) -> Condition | None:
        found = self.fields(data, path, ("type", "condition"))
        if found is None:
            return None
        child = self.condition(found["condition"], f"{path}.condition", depth + 1)
        return None if child is None else self.build(Not, path, {"condition": child})  # type: ignore[return-value]

    def compare(self, data: Mapping[str, object], path: str, depth: int) -> Condition | None:
        found = self.fields(data, path, ("type", "left", "op", "right"), ("on_missing",))
        if found is None:
            return None
        left = self.expr(found["left"], f"{path}.left", depth + 1)
        right = self.expr(found["right"], f"{path}.right", depth + 1)
        if left is None or right is None:
            return None
        values = {"left": left, "op": found["op"], "right": right}
        if "on_missing" in found:
            values["on_missing"] = found["on_missing"]
        return self.build(Compare, path, values)  # type: ignore[return-value]

    def membership(self, data: Mapping[str, object], path: str, depth: int) -> Condition | None:
        found = self.fields(data, path, ("type", "expr", "values"), ("on_missing",))
        if found is None:
            return None
        expr = self.expr(found["expr"], f"{path}.expr", depth + 1)
        items = self.listed(found["values"], f"{path}.values")
        if expr is None or items is None:
            return None
        decoded = [self.value(item, f"{path}.values[{index}]") for index, item in enumerate(items)]
        if any(item is None for item in decoded):
            return None
        values: dict[str, object] = {"expr": expr, "values": decoded}
        if "on_missing" in found:
            values["on_missing"] = found["on_missing"]
        return self.build(In, path, values)  # type: ignore[return-value]

    def between(self, data: Mapping[str, object], path: str, depth: int) -> Condition | None:
        found = self.fields(data, path, ("type", "expr", "low", "high"), ("on_missing",))
        if found is None:
            return None
        parts = {
            name: self.expr(found[name], f"{path}.{name}", depth + 1)
            for name in ("expr", "low", "high")
        }
        if any(part is None for part in parts.values()):
            return None
        values: dict[str, object] = dict(parts)
        if "on_missing" in found:
            values["on_missing"] = found["on_missing"]
        return self.build(Between, path, values)  # type: ignore[return-value]

    def segment(self, data: Mapping[str, object], path: str, depth: int) -> Condition | None:  # noqa: ARG002 - the reader signature
        found = self.fields(data, path, ("type", "name"))
        return None if found is None else self.build(InSegment, path, {"name": found["name"]})  # type: ignore[return-value]

    def during(self, data: Mapping[str, object], path: str, depth: int) -> Condition | None:  # noqa: ARG002 - the reader signature
        found = self.fields(data, path, ("type", "start", "end"))
        if found is None:
            return None
        start = self.instant(found["start"], f"{path}.start")
        end = self.instant(found["end"], f"{path}.end")
        if start is None or end is None:
            return None
        return self.build(During, path, {"start": start, "end": end})  # type: ignore[return-value]

    def days(self, data: Mapping[str, object], path: str, cls: type) -> Condition | None:
        found = self.fields(data, path, ("type", "days"))
        if found is None:
            return None
        items = self.listed(found["days"], f"{path}.days")
        return None if items is None else self.build(cls, path, {"days": items})  # type: ignore[return-value]

    def dates(self, data: Mapping[str, object], path: str, depth: int) -> Condition | None:  # noqa: ARG002 - the reader signature
        found = self.fields(data, path, ("type", "dates"))
        if found is None:
            return None
        items = self.listed(found["dates"], f"{path}.dates")
        if items is None:
            return None
        days = [self.day(item, f"{path}.dates[{index}]") for index, item in enumerate(items)]
        if any(day is None for day in days):
            return None
        return self.build(OnDates, path, {"dates": days})  # type: ignore[return-value]

    def hours(self, data: Mapping[str, object], path: str, depth: int) -> Condition | None:  # noqa: ARG002 - the reader signature
        found = self.fields(data, path, ("type", "start_hour", "end_hour"))
        if found is None:
            return None
        return self.build(  # type: ignore[return-value]
            BetweenHours, path, {"start_hour": found["start_hour"], "end_hour": found["end_hour"]}
        )

    # -- effects and rules ------------------------------------------------------------------

    def effect(self, data: object, path: str) -> Effect | None:
        kind = self._type(data, path, ("fixed", "rate"))
        if kind == "fixed":
            found = self.fields(data, path, ("type", "points"), ("rounding",))
            if found is None:
                return None
            values = {key: found[key] for key in ("points", "rounding") if key in found}
            return self.build(Fixed, path, values)  # type: ignore[return-value]
        if kind == "rate":
            found = self.fields(data, path, ("type", "points", "per", "rounding"), ("counts",))
            if found is None:
                return None
            per = self.money(found["per"], f"{path}.per")
            values = {"points": found["points"], "per": per, "rounding": found["rounding"]}
            if "counts" in found:
                counts = self.listed(found["counts"], f"{path}.counts")
                if counts is None:
                    return None
                values["counts"] = counts
            return None if per is None else self.build(Rate, path, values)  # type: ignore[return-value]
        return None

    def cap(self, data: object, path: str) -> Cap | None:
        found = self.fields(data, path, ("period",), ("points", "tasks", "name", "rules"))
        if found is None:
            return None
        return self.build(Cap, path, dict(found))  # type: ignore[return-value]

    def caps(self, data: object, path: str) -> list[Cap] | None:
        items = self.listed(data, path)
        if items is None:
            return None
        caps = [self.cap(item, f"{path}[{index}]") for index, item in enumerate(items)]
        return None if any(cap is None for cap in caps) else caps  # type: ignore[return-value]

    def bonus(self, data: object, path: str) -> Bonus | None:
        found = self.fields(data, path, ("points", "when"), ("multiplied",))
        if found is None:
            return None
        when = self.condition(found["when"], f"{path}.when")
        if when is None:
            return None
        values = {"points": found["points"], "when": when}
        if "multiplied" in found:
            values["multiplied"] = found["multiplied"]
        return self.build(Bonus, path, values)  # type: ignore[return-value]

    def multiplier(self, data: object, path: str) -> Multiplier | None:
        found = self.fields(data, path, ("name", "factor"), ("when",))
        if found is None:
            return None
        factor = self.fraction(found["factor"], f"{path}.factor")
        when = None if "when" not in found else self.condition(found["when"], f"{path}.when")
        if factor is None or ("when" in found and when is None):
            return None
        return self.build(Multiplier, path, {"name": found["name"], "factor": factor, "when": when})  # type: ignore[return-value]

    def streak(self, data: object, path: str) -> StreakLadder | None:
        found = self.fields(data, path, ("rewards",), ("reset", "repeat"))
        if found is None:
            return None
        rewards = self.listed(found["rewards"], f"{path}.rewards")
        if rewards is None:
            return None
        values = dict(found)
        values["rewards"] = rewards
        return self.build(StreakLadder, path, values)  # type: ignore[return-value]

    def once_per(self, data: object, path: str) -> OncePer | None:
        if isinstance(data, str):  # the short form: once per member
            return self.build(OncePer, path, {"attribute": data})  # type: ignore[return-value]
        found = self.fields(data, path, ("attribute",), ("scope",))
        return None if found is None else self.build(OncePer, path, dict(found))  # type: ignore[return-value]

    def many(
        self, data: object, path: str, read: Callable[[object, str], object | None]
    ) -> list[object] | None:
        items = self.listed(data, path)
        if items is None:
            return None
        read_items = [read(item, f"{path}[{index}]") for index, item in enumerate(items)]
        return None if any(item is None for item in read_items) else read_items

    def rule(self, data: object, path: str) -> Rule | None:
        found = self.fields(data, path, ("name", "kinds", "effect"), _RULE_OPTIONAL)
        if found is None:
            return None
        values: dict[str, object] = {"name": found["name"]}
        kinds = self.listed(found["kinds"], f"{path}.kinds")
        effect = self.effect(found["effect"], f"{path}.effect")
        values["kinds"], values["effect"] = kinds, effect
        good = kinds is not None and effect is not None
        readers: dict[str, Callable[[object, str], object | None]] = {
            "when": self.condition,
            "bonuses": lambda item, where: self.many(item, where, self.bonus),
            "multipliers": lambda item, where: self.many(item, where, self.multiplier),
            "caps": self.caps,
            "streak": self.streak,
            "once_per": self.once_per,
        }
        for key in _RULE_OPTIONAL:
            if key not in found:
                continue
            reader = readers.get(key)
            value = found[key] if reader is None else reader(found[key], f"{path}.{key}")
            if value is None:
                good = False
            values[key] = value
        return self.build(Rule, path, values) if good else None  # type: ignore[return-value]

    def schema(self, data: object, path: str) -> EventSchema | None:
        found = self.fields(data, path, ("kind", "fields"))
        if found is None:
            return None
        fields = found["fields"]
        if not isinstance(fields, Mapping):
            self.fail(f"{path}.fields", f"must be an object, got {fields!r}")
            return None
        specs: dict[str, object] = {}
        for name, spec_data in fields.items():
            spec_path = f"{path}.fields.{name}"
            spec_found = self.fields(spec_data, spec_path, ("type",), ("required",))
            spec = (
                None if spec_found is None else self.build(FieldSpec, spec_path, dict(spec_found))
            )
            if spec is None:
                return None
            specs[name] = spec
        return self.build(EventSchema, path, {"kind": found["kind"], "fields": specs})  # type: ignore[return-value]

    def ruleset(self, data: object, segments: Segments | None) -> RuleSet | None:  # noqa: C901 - one check per field
        found = self.fields(data, "document", ("version", "zone", "rules"), _RULESET_OPTIONAL)
        if found is None:
            return None
        if found["version"] != DOCUMENT_VERSION:
            self.fail("version", f"must be {DOCUMENT_VERSION}, got {found['version']!r}")
        rules = self.many(found["rules"], "rules", self.rule)
        values: dict[str, object] = {"zone": found["zone"]}
        for key in ("multipliers", "feb29", "groups", "budgets", "rounding_stage"):
            if key in found:
                values[key] = found[key]
        if "caps" in found:
            values["caps"] = self.caps(found["caps"], "caps")
        if "disabled_kinds" in found:
            values["disabled_kinds"] = self.listed(found["disabled_kinds"], "disabled_kinds")
        registry: EventRegistry | None = EventRegistry()
        if "events" in found:
            schemas = self.many(found["events"], "events", self.schema)
            if schemas is not None:
                try:
                    registry = EventRegistry(schemas)  # type: ignore[arg-type]  # read schemas
                except InvalidArgumentError as error:
                    self.error("events", error)
                    registry = None
        values["registry"] = registry
        if self.problems or rules is None or any(value is None for value in values.values()):
            return None
        try:
            return RuleSet(rules, segments=segments, **values)  # type: ignore[arg-type]
        except ConfigurationError as error:
            self.problems.extend(error.problems)
            return None


_RULE_OPTIONAL: Final = (
    "when",
    "bonuses",
    "multipliers",
    "tier_multiplier",
    "currency",
    "caps",
    "at_cap",
    "budget",
    "group",
    "priority",
    "streak",
    "enabled",
    "exempt_from_caps",
    "once_per",
    "coupon",
)
_RULESET_OPTIONAL: Final = (
    "multipliers",
    "feb29",
    "groups",
    "budgets",
    "caps",
    "disabled_kinds",
    "events",
    "rounding_stage",
)

_CONDITION_READERS: Final[
    dict[str, Callable[[_Loader, Mapping[str, object], str, int], Condition | None]]
] = {
    "all": lambda loader, data, path, depth: loader.children(data, path, depth, All),
    "any": lambda loader, data, path, depth: loader.children(data, path, depth, Any),
    "not": _Loader.negation,
    "compare": _Loader.compare,
    "in": _Loader.membership,
    "between": _Loader.between,
    "during": _Loader.during,
    "on_weekdays": lambda loader, data, path, _: loader.days(data, path, OnWeekdays),
    "on_month_days": lambda loader, data, path, _: loader.days(data, path, OnMonthDays),
    "on_dates": _Loader.dates,
    "between_hours": _Loader.hours,
    "segment": _Loader.segment,
}


def _loaded(subject: str, read: Callable[[_Loader], object | None]) -> object:
    loader = _Loader()
    result = read(loader)
    if result is None or loader.problems:
        raise ConfigurationError(subject, loader.problems or ["could not be read"])
    return result


def condition_from_dict(data: Mapping[str, object]) -> Condition:
    """Return the condition :func:`condition_to_dict` wrote.

    Raises:
        ConfigurationError: Listing every problem with its path.
    """
    return _loaded("condition", lambda loader: loader.condition(data, "condition"))  # type: ignore[return-value]


def effect_from_dict(data: Mapping[str, object]) -> Effect:
    """Return the effect :func:`effect_to_dict` wrote.

    Raises:
        ConfigurationError: Listing every problem with its path.
    """
    return _loaded("effect", lambda loader: loader.effect(data, "effect"))  # type: ignore[return-value]


def rule_from_dict(data: Mapping[str, object]) -> Rule:
    """Return the rule :func:`rule_to_dict` wrote.

    Raises:
        ConfigurationError: Listing every problem with its path.
    """
    return _loaded("rule", lambda loader: loader.rule(data, "rule"))  # type: ignore[return-value]


def ruleset_from_dict(data: Mapping[str, object], *, segments: Segments | None = None) -> RuleSet:
    """Return the rule set in document *data*: the inverse of :func:`ruleset_to_dict`.

    *segments*: the programme's segments, which ``segment`` conditions name (not in documents).

    >>> ruleset_from_dict({"version": 1, "zone": "Asia/Shanghai", "rules": [
    ...     {"name": "share", "kinds": ["share"], "effect": {"type": "fixed", "points": 50}},
    ...     {"name": "cap", "kinds": ["sign_in"], "effect": {"type": "fixed", "points": 5}, "caps": [{"period": "day", "points": -5}], "colour": "red"},
    ... ]})
    Traceback (most recent call last):
    ...
    pointkit.exceptions.ConfigurationError: RuleSet has 2 problems:
      - rules[1].colour: unknown field; valid fields are 'name', 'kinds', 'effect', 'when', 'bonuses', 'multipliers', 'tier_multiplier', 'currency', 'caps', 'at_cap', 'budget', 'group', 'priority', 'streak', 'enabled', 'exempt_from_caps', 'once_per', 'coupon'
      - rules[1].caps[0].points: -5 must be an int from 1 to 9223372036854775807

    Raises:
        ConfigurationError: Listing every problem, each with its path.
    """
    return _loaded("RuleSet", lambda loader: loader.ruleset(data, segments))  # type: ignore[return-value]


def _check_length(text: object) -> str:
    if not isinstance(text, str):
        raise InvalidArgumentError(f"text must be a str, not {type(text).__name__}")
    if len(text) > limits.RULES_DOCUMENT_LENGTH_MAX:
        raise LimitExceededError(
            f"the document is {len(text)} characters long, over "
            f"limits.RULES_DOCUMENT_LENGTH_MAX ({limits.RULES_DOCUMENT_LENGTH_MAX})"
        )
    return text


def ruleset_from_json(text: str) -> RuleSet:
    """Return the rule set in JSON *text* (as :func:`ruleset_to_json` writes it).

    Raises:
        LimitExceededError: If the text is longer than ``limits.RULES_DOCUMENT_LENGTH_MAX``.
        ConfigurationError: If it is not JSON, or listing every problem of the document.
    """
    checked = _check_length(text)
    try:
        data = json.loads(checked)
    except (ValueError, RecursionError) as error:
        raise ConfigurationError("RuleSet", [f"document: is not valid JSON ({error})"]) from None
    return ruleset_from_dict(data)


def ruleset_from_toml(text: str) -> RuleSet:
    """Return the rule set in TOML *text* (as :func:`ruleset_to_toml` writes it).

    Raises:
        LimitExceededError: If the text is longer than ``limits.RULES_DOCUMENT_LENGTH_MAX``.
        ConfigurationError: If it is not TOML, or listing every problem of the document.
    """
    checked = _check_length(text)
    try:
        data = tomllib.loads(checked)
    except (tomllib.TOMLDecodeError, RecursionError) as error:
        raise ConfigurationError("RuleSet", [f"document: is not valid TOML ({error})"]) from None
    return ruleset_from_dict(data)

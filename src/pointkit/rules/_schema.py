"""A JSON Schema (draft 2020-12) for rule-set documents, for admin tools that edit rule files.

Maintainer's notes
------------------
The schema describes the shapes :func:`~pointkit.rules.ruleset_to_dict` writes and
:func:`~pointkit.rules.ruleset_from_dict` reads: which fields each object has, their JSON
types, enumerations and simple bounds. What needs the whole program (event kinds and their
attributes, budget and group names, types in comparisons) is left to loading, which reports it
with paths. A test validates every document the writer produces against this schema.
"""

from __future__ import annotations

from typing import Final

from pointkit import limits
from pointkit._values import ROUNDING_MODES
from pointkit.rules._conditions import COMPARE_OPS, SEGMENT_NAME_LENGTH_MAX
from pointkit.rules._effects import COUNTED_PARTS, ONCE_SCOPES
from pointkit.rules._event_schemas import FIELD_TYPES
from pointkit.rules._expressions import ARITH_OPS
from pointkit.rules._rules import AT_CAP
from pointkit.rules._ruleset import GROUP_MODES, MULTIPLIER_MODES, ROUNDING_STAGES
from pointkit.rules._scheduled import FEB29_POLICIES
from pointkit.rules._serialize import DOCUMENT_VERSION
from pointkit.rules._state import PERIODS


__all__ = ["rules_json_schema"]

Schema = dict[str, object]

_DECIMAL: Final = r"^-?[0-9]+(\.[0-9]+)?$"
_FRACTION: Final = r"^[0-9]+(/[0-9]+|\.[0-9]+)?$"
_NAME: Final = r"^[a-z][a-z0-9_]*$"


def _ref(name: str) -> Schema:
    return {"$ref": f"#/$defs/{name}"}


def _object(required: dict[str, Schema], optional: dict[str, Schema] | None = None) -> Schema:
    return {
        "type": "object",
        "required": list(required),
        "additionalProperties": False,
        "properties": {**required, **(optional or {})},
    }


def _typed(
    kind: str, required: dict[str, Schema], optional: dict[str, Schema] | None = None
) -> Schema:
    return _object({"type": {"const": kind}, **required}, optional)


def _array(items: Schema, **bounds: object) -> Schema:
    return {"type": "array", "items": items, **bounds}


def _int(minimum: int, maximum: int) -> Schema:
    return {"type": "integer", "minimum": minimum, "maximum": maximum}


def _enum(values: tuple[str, ...]) -> Schema:
    return {"enum": list(values)}


def _defs() -> dict[str, Schema]:
    text = {"type": "string", "minLength": 1}
    rule_name = {"type": "string", "minLength": 1, "maxLength": limits.RULE_NAME_LENGTH_MAX}
    name = {"type": "string", "pattern": _NAME, "maxLength": limits.EVENT_NAME_LENGTH_MAX}
    on_missing = {"on_missing": _enum(("fail", "pass", "error"))}
    points = _int(-limits.POINTS_MAX, limits.POINTS_MAX)
    positive = _int(1, limits.POINTS_MAX)
    return {
        "name": name,
        "rule_name": rule_name,
        "money": _object(
            {
                "amount": {"type": "string", "pattern": _DECIMAL},
                "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
            },
            {"decimals": _int(0, limits.CURRENCY_DECIMALS_MAX)},
        ),
        "value": {
            "oneOf": [
                {"type": "integer"},
                {"type": "boolean"},
                {"type": "string"},
                _ref("money"),
                _object(
                    {
                        "decimal": {
                            "type": "string",
                            "pattern": r"^-?[0-9]+(\.[0-9]+)?(E[-+]?[0-9]+)?$",
                        }
                    }
                ),
                _object({"date": {"type": "string", "format": "date"}}),
                _object({"datetime": {"type": "string", "format": "date-time"}}),
            ]
        },
        "expr": {
            "oneOf": [
                _typed("fact", {"path": text}),
                _typed("const", {"value": _ref("value")}),
                _typed(
                    "arith", {"op": _enum(ARITH_OPS), "left": _ref("expr"), "right": _ref("expr")}
                ),
            ]
        },
        "condition": {
            "oneOf": [
                _typed("all", {"conditions": _array(_ref("condition"), minItems=1)}),
                _typed("any", {"conditions": _array(_ref("condition"), minItems=1)}),
                _typed("not", {"condition": _ref("condition")}),
                _typed(
                    "compare",
                    {"left": _ref("expr"), "op": _enum(COMPARE_OPS), "right": _ref("expr")},
                    on_missing,
                ),
                _typed(
                    "in",
                    {
                        "expr": _ref("expr"),
                        "values": _array(
                            _ref("value"), minItems=1, maxItems=limits.CONDITION_VALUES_MAX
                        ),
                    },
                    on_missing,
                ),
                _typed(
                    "between",
                    {"expr": _ref("expr"), "low": _ref("expr"), "high": _ref("expr")},
                    on_missing,
                ),
                _typed(
                    "during",
                    {
                        "start": {"type": "string", "format": "date-time"},
                        "end": {"type": "string", "format": "date-time"},
                    },
                ),
                _typed("on_weekdays", {"days": _array(_int(1, 7), minItems=1, uniqueItems=True)}),
                _typed(
                    "on_month_days", {"days": _array(_int(1, 31), minItems=1, uniqueItems=True)}
                ),
                _typed(
                    "on_dates",
                    {
                        "dates": _array(
                            {"type": "string", "format": "date"},
                            minItems=1,
                            maxItems=limits.CONDITION_VALUES_MAX,
                            uniqueItems=True,
                        )
                    },
                ),
                _typed("between_hours", {"start_hour": _int(0, 23), "end_hour": _int(1, 24)}),
                _typed(
                    "segment",
                    {
                        "name": {
                            "type": "string",
                            "minLength": 1,
                            "maxLength": SEGMENT_NAME_LENGTH_MAX,
                        }
                    },
                ),
            ]
        },
        "effect": {
            "oneOf": [
                _typed("fixed", {"points": points}, {"rounding": _enum(ROUNDING_MODES)}),
                _typed(
                    "rate",
                    {"points": positive, "per": _ref("money"), "rounding": _enum(ROUNDING_MODES)},
                    {"counts": _array(_enum(COUNTED_PARTS), minItems=1, uniqueItems=True)},
                ),
            ]
        },
        "limit": {
            "oneOf": [
                positive,
                {
                    "type": "object",
                    "minProperties": 1,
                    "maxProperties": limits.TIERS_MAX,
                    "additionalProperties": positive,
                },
            ]
        },
        "cap": {
            **_object(
                {"period": _enum(PERIODS)},
                {
                    "points": _ref("limit"),
                    "tasks": _ref("limit"),
                    "name": {**rule_name, "not": _enum(PERIODS)},
                    "rules": _array(rule_name, uniqueItems=True, maxItems=limits.RULES_MAX),
                },
            ),
            "anyOf": [{"required": ["points"]}, {"required": ["tasks"]}],
            "dependentRequired": {"rules": ["name"]},
        },
        "once_per": {
            "oneOf": [
                rule_name,
                _object({"attribute": rule_name}, {"scope": _enum(ONCE_SCOPES)}),
            ]
        },
        "bonus": _object(
            {"points": points, "when": _ref("condition")}, {"multiplied": {"type": "boolean"}}
        ),
        "multiplier": _object(
            {"name": rule_name, "factor": {"type": "string", "pattern": _FRACTION}},
            {"when": _ref("condition")},
        ),
        "streak": _object(
            {
                "rewards": _array(
                    _int(0, limits.POINTS_MAX), minItems=1, maxItems=limits.STREAK_LADDER_MAX
                )
            },
            {"reset": {"const": "missed_day"}, "repeat": _enum(("last", "cycle"))},
        ),
        "rule": _object(
            {
                "name": rule_name,
                "kinds": _array(_ref("name"), minItems=1, uniqueItems=True),
                "effect": _ref("effect"),
            },
            {
                "when": _ref("condition"),
                "bonuses": _array(_ref("bonus"), maxItems=limits.RULE_BONUSES_MAX),
                "multipliers": _array(_ref("multiplier"), maxItems=limits.RULE_MULTIPLIERS_MAX),
                "tier_multiplier": {"type": "boolean"},
                "currency": {
                    "type": "string",
                    "pattern": _NAME,
                    "maxLength": limits.CURRENCY_CODE_LENGTH_MAX,
                },
                "caps": _array(_ref("cap"), maxItems=limits.CAPS_MAX),
                "at_cap": _enum(AT_CAP),
                "budget": rule_name,
                "group": rule_name,
                "priority": _int(-limits.RULE_PRIORITY_MAX, limits.RULE_PRIORITY_MAX),
                "streak": _ref("streak"),
                "enabled": {"type": "boolean"},
                "exempt_from_caps": {
                    "oneOf": [
                        {"type": "boolean"},
                        _array(rule_name, uniqueItems=True, maxItems=limits.CAPS_MAX),
                    ]
                },
                "once_per": _ref("once_per"),
                "coupon": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": limits.ID_LENGTH_MAX,
                    "pattern": "^[^:]+$",
                },
            },
        ),
        "event_schema": _object(
            {
                "kind": _ref("name"),
                "fields": {
                    "type": "object",
                    "maxProperties": limits.EVENT_ATTRIBUTES_MAX,
                    "additionalProperties": _object(
                        {"type": _enum(FIELD_TYPES)}, {"required": {"type": "boolean"}}
                    ),
                },
            }
        ),
    }


def rules_json_schema() -> dict[str, object]:
    """Return the JSON Schema (draft 2020-12) of rule-set documents.

    >>> schema = rules_json_schema()
    >>> schema["$schema"], sorted(schema["properties"])[:3]
    ('https://json-schema.org/draft/2020-12/schema', ['budgets', 'caps', 'disabled_kinds'])

    Returns:
        A new dict each call, ready for ``json.dumps``.
    """
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://pointkit.dev/schemas/rules-{DOCUMENT_VERSION}.json",
        "title": "pointkit rule set",
        "description": "Earning rules for pointkit.rules.ruleset_from_dict (JSON or TOML).",
        **_object(
            {
                "version": {"const": DOCUMENT_VERSION},
                "zone": {"type": "string", "minLength": 1},
                "rules": _array(_ref("rule"), maxItems=limits.RULES_MAX),
            },
            {
                "multipliers": _enum(MULTIPLIER_MODES),
                "feb29": _enum(FEB29_POLICIES),
                "groups": {
                    "type": "object",
                    "maxProperties": limits.GROUPS_MAX,
                    "additionalProperties": _enum(GROUP_MODES),
                },
                "budgets": {
                    "type": "object",
                    "maxProperties": limits.BUDGETS_MAX,
                    "additionalProperties": _int(1, limits.POINTS_MAX),
                },
                "caps": _array(_ref("cap"), maxItems=limits.CAPS_MAX),
                "disabled_kinds": _array(_ref("name"), uniqueItems=True),
                "events": _array(_ref("event_schema"), maxItems=limits.EVENT_KINDS_MAX),
                "rounding_stage": _enum(ROUNDING_STAGES),
            },
        ),
        "$defs": _defs(),
    }

"""Reading the ``[anti_cheat]`` section of a programme file: velocity rules and blocklists.

>>> from pointkit.program._config_reader import ConfigReader
>>> reader = ConfigReader()
>>> rules = read_anti_cheat(reader, {
...     "velocity": [{"name": "bursts", "kinds": ["sign_in"], "limit": 5, "by": "device"}],
...     "blocklists": [{"attribute": "device", "values": ["dev-666"]}],
... })
>>> [rule.name for rule in rules.velocity], reader.problems
(['bursts'], [])
>>> read_anti_cheat(reader, {"velocity": [{"name": "x", "kinds": ["sign_in"], "limit": 5, "action": "flag"}]})
>>> reader.problems
["anti_cheat.velocity[0].action: 'flag' must be one of 'refuse', 'review'"]
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any, Final

from pointkit.campaigns import AntiCheat, Blocklist, VelocityRule


if TYPE_CHECKING:
    from pointkit.program._config_reader import ConfigReader


__all__ = ["read_anti_cheat"]

_RULE_OPTIONAL: Final = ("per", "by", "action")


def _velocity_rule(spec: dict[str, Any], kinds: list[str]) -> VelocityRule:
    return VelocityRule(
        spec["name"],
        tuple(kinds),
        spec["limit"],
        per=spec.get("per", "minute"),
        by=spec.get("by"),
        action=spec.get("action", "refuse"),
    )


def read_anti_cheat(
    reader: ConfigReader, data: object, path: str = "anti_cheat"
) -> AntiCheat | None:
    """Read ``[anti_cheat]`` into an :class:`~pointkit.campaigns.AntiCheat`.

    Args:
        reader: Collects every problem with its TOML path.
        data: The section's table: ``velocity`` and ``blocklists``, both optional lists.
        path: The section's path in the file.

    Returns:
        The definition, or ``None`` when anything failed (the problems are in *reader*).
    """
    found = reader.options(data, path, (), ("velocity", "blocklists"))
    if found is None:
        return None
    failed = len(reader.problems)
    rules: list[VelocityRule] = []
    for item_path, item in reader.items(found.get("velocity", []), f"{path}.velocity"):
        spec = reader.options(item, item_path, ("name", "kinds", "limit"), _RULE_OPTIONAL)
        kinds = None if spec is None else reader.strings(spec["kinds"], f"{item_path}.kinds")
        if spec is None or kinds is None:
            continue
        rule = reader.make(item_path, partial(_velocity_rule, spec, kinds))
        if rule is not None:
            rules.append(rule)
    lists: list[Blocklist] = []
    for item_path, item in reader.items(found.get("blocklists", []), f"{path}.blocklists"):
        spec = reader.options(item, item_path, ("attribute", "values"), ())
        values = None if spec is None else reader.strings(spec["values"], f"{item_path}.values")
        if spec is None or values is None:
            continue
        listed = reader.make(item_path, partial(Blocklist, spec["attribute"], values))
        if listed is not None:
            lists.append(listed)
    if len(reader.problems) > failed:
        return None
    return reader.make(path, lambda: AntiCheat(velocity=tuple(rules), blocklists=tuple(lists)))

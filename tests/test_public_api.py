"""The public surface: explicit, sorted, complete, and documented."""

from __future__ import annotations

import importlib
import types
from pathlib import Path

import pytest

import pointkit


PUBLIC_MODULES = [
    "pointkit",
    "pointkit.campaigns",
    "pointkit.clock",
    "pointkit.console",
    "pointkit.exceptions",
    "pointkit.expiry",
    "pointkit.features",
    "pointkit.integrations.pydantic",
    "pointkit.jsonable",
    "pointkit.ledger",
    "pointkit.storage",
    "pointkit.storage.memory",
    "pointkit.storage.postgres",
    "pointkit.storage.sqlite",
    "pointkit.limits",
    "pointkit.observe",
    "pointkit.pages",
    "pointkit.pricing",
    "pointkit.program",
    "pointkit.relays",
    "pointkit.relays.nats",
    "pointkit.relays.rabbitmq",
    "pointkit.relays.redis",
    "pointkit.relays.webhook",
    "pointkit.reports",
    "pointkit.rules",
    "pointkit.simulate",
    "pointkit.testing",
    "pointkit.tiers",
]
REFERENCE = Path(__file__).parent.parent / "docs" / "reference.md"


PACKAGES = [
    "pointkit",
    "pointkit.campaigns",
    "pointkit.console",
    "pointkit.expiry",
    "pointkit.features",
    "pointkit.ledger",
    "pointkit.pages",
    "pointkit.storage",
    "pointkit.pricing",
    "pointkit.program",
    "pointkit.relays",
    "pointkit.rules",
    "pointkit.simulate",
    "pointkit.testing",
    "pointkit.tiers",
]


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_all_names_real_things(name: str) -> None:
    """Every module's __all__ names only things the module has (ruff's RUF022 keeps it sorted)."""
    module = importlib.import_module(name)
    exported = list(module.__all__)
    assert len(set(exported)) == len(exported)
    assert [export for export in exported if not hasattr(module, export)] == []


@pytest.mark.parametrize("name", PACKAGES)
def test_packages_export_every_public_name(name: str) -> None:
    """A package's namespace holds nothing public beyond __all__ and its submodules."""
    module = importlib.import_module(name)
    public = sorted(
        attribute
        for attribute, value in vars(module).items()
        if not attribute.startswith("_") and not isinstance(value, types.ModuleType)
    )
    assert public == sorted(export for export in module.__all__ if not export.startswith("__"))


def test_top_level_names() -> None:
    """The top-level package exports the everyday names (pinned)."""
    assert pointkit.__all__ == [
        "Balance",
        "Clock",
        "FixedClock",
        "Hold",
        "IdempotencyConflictError",
        "InsufficientPointsError",
        "InvariantViolation",
        "Ledger",
        "LedgerPolicy",
        "Lot",
        "MemberId",
        "MemoryStorage",
        "Money",
        "MoneyCurrency",
        "PointCurrency",
        "PointkitError",
        "Points",
        "ProgramId",
        "Rounding",
        "Statement",
        "SystemClock",
        "Transaction",
        "__version__",
        "round_fraction",
    ]


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_every_export_is_in_the_reference(name: str) -> None:
    """Every exported name appears in docs/reference.md."""
    text = REFERENCE.read_text(encoding="utf-8")
    module = importlib.import_module(name)
    missing = [
        export
        for export in module.__all__
        if f"`{export}`" not in text and f"`{name}.{export}`" not in text
    ]
    assert missing == []

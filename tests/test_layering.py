"""The import layering of docs/design.md, enforced by walking every module's imports."""

from __future__ import annotations

import ast
from pathlib import Path


SRC = Path(__file__).parent.parent / "src" / "pointkit"
BASE = {
    "pointkit._localtime",
    "pointkit._offload",
    "pointkit._text",
    "pointkit._values",
    "pointkit._validate",
    "pointkit.limits",
    "pointkit.exceptions",
    "pointkit.clock",
}
PURE = (
    "pointkit.expiry",
    "pointkit.tiers",
    "pointkit.rules",
    "pointkit.pricing",
    "pointkit.campaigns",
)


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "pointkit":  # from pointkit import limits
                found.update(f"pointkit.{alias.name}" for alias in node.names)
            else:
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.startswith("pointkit")}


# Packages above Program, each with the modules that may import it.
_ABOVE = {
    # HTML pages and the simulator sit on Program and the reports; the console and the
    # command line use them, nothing under Program does.
    "pointkit.pages": ("pointkit.pages", "pointkit.simulate", "pointkit.console", "pointkit.cli"),
    "pointkit.simulate": ("pointkit.simulate", "pointkit.console", "pointkit.cli"),
    # Integrations, relays (the outbox to brokers and webhooks) and the operator console are
    # top layers: they use all of pointkit, and nothing outside each imports it but the
    # command that serves the console.
    "pointkit.integrations": ("pointkit.integrations",),
    "pointkit.relays": ("pointkit.relays",),
    "pointkit.console": ("pointkit.console", "pointkit.cli"),
}


def _allowed(module: str, imported: str) -> bool:
    for top, users in _ABOVE.items():
        if imported.startswith(top):
            return module.startswith(users)
    if imported.startswith(("pointkit.testing", "pointkit.cli")):
        return module.startswith(("pointkit.testing", "pointkit.cli", "pointkit.__main__"))
    if module in BASE:
        return imported in BASE
    if module.startswith(PURE):
        # Pure packages may use the base and each other, never storage, the ledger or Program.
        return imported in BASE or imported.startswith(PURE)
    if module.startswith("pointkit.ledger"):
        # The ledger is the accounting core: it knows expiry windows and nothing above it.
        return imported in BASE or imported.startswith(("pointkit.ledger", "pointkit.expiry"))
    if module.startswith("pointkit.features"):
        # Features sit on the ledger and the pure packages; never on storage or Program.
        return imported in BASE or imported.startswith(
            ("pointkit.ledger", "pointkit.features", *PURE)
        )
    if module.startswith("pointkit.storage"):
        # Adapters serve the ledger's and the features' storage parts; they decide nothing.
        return imported in BASE or imported.startswith(
            ("pointkit.ledger", "pointkit.features", "pointkit.storage", *PURE)
        )
    return True


def test_layers_import_only_downwards() -> None:
    """Base, pure packages, ledger, features, storage, Program, integrations: each imports below."""
    violations = [
        f"{_module_name(path)} imports {imported}"
        for path in sorted(SRC.rglob("*.py"))
        for imported in sorted(_imports(path))
        if not _allowed(_module_name(path), imported)
    ]
    assert violations == []


def test_the_ledger_imports_no_feature() -> None:
    """The ledger imports nothing from rules, tiers, pricing, features, storage or program."""
    above = (
        "pointkit.rules",
        "pointkit.tiers",
        "pointkit.pricing",
        "pointkit.features",
        "pointkit.storage",
        "pointkit.program",
        "pointkit.reports",
    )
    found = sorted(
        f"{_module_name(path)} imports {imported}"
        for path in (SRC / "ledger").rglob("*.py")
        for imported in _imports(path)
        if imported.startswith(above)
    )
    assert [] == found


def test_no_module_is_past_900_lines() -> None:
    """No module holds two jobs: each stays under about 900 lines."""
    big = sorted(
        f"{_module_name(path)}: {lines} lines"
        for path in SRC.rglob("*.py")
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > 900
    )
    assert [] == big

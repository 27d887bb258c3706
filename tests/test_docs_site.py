"""The documentation site builds in strict mode, and its API reference has every public name."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from test_public_api import PUBLIC_MODULES


ROOT = Path(__file__).parent.parent


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site, built once with ``mkdocs build --strict`` (warnings are errors)."""
    folder = tmp_path_factory.mktemp("site")
    done = subprocess.run(  # noqa: S603 - this interpreter's own mkdocs, on this repository
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(folder)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        check=False,
    )
    assert 0 == done.returncode, done.stderr
    return folder


def test_every_page_is_in_the_site(site: Path) -> None:
    """Every Markdown page under docs/ is built (none left out of the navigation)."""
    pages = {
        path.relative_to(ROOT / "docs").with_suffix("") for path in (ROOT / "docs").rglob("*.md")
    }
    built = {
        page for page in pages if (site / page / "index.html").exists() or page.name == "index"
    }
    assert pages == built


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_every_public_name_is_in_the_api_reference(site: Path, name: str) -> None:
    """Each module's exported names have an entry in the rendered API reference."""
    html = "".join(page.read_text(encoding="utf-8") for page in (site / "api").rglob("*.html"))
    module = importlib.import_module(name)
    missing = [
        export
        for export in module.__all__
        if export != "__version__" and f'id="{name}.{export}"' not in html
    ]
    assert [] == missing

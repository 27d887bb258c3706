"""Every script in examples/ runs to the end."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest


EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("*.py"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_example_runs(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The example runs as a script and prints what it shows."""
    runpy.run_path(str(path), run_name="__main__")
    assert capsys.readouterr().out


def test_quickstart_story(capsys: pytest.CaptureFixture[str]) -> None:
    """The quickstart's refund takes back what was left and writes off the rest."""
    runpy.run_path(str(EXAMPLES[0].parent / "quickstart.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "refused while pending: member 'mei' has 0 points available, 500 needed" in out
    assert "after the voucher: 380 points available" in out
    assert "refund asked for 880, balance now 0" in out
    assert "expiry run: 1 lot(s) expired, {'points': 120}" in out

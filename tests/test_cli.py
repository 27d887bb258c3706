"""The pointkit command."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest

import pointkit
from pointkit.cli import console, main, run_demo


def test_demo_tells_the_whole_story() -> None:
    """The demo runs every step and ends with a clean audit."""
    out = io.StringIO()
    run_demo(out)
    text = out.getvalue()
    for line in [
        "alice buys shoes (order 1002): +1,000 points, pending for 7 days",
        "the shipping service retries its capture: replayed=True",
        "alice returns the jacket",
        "the nightly expiry run: 1 lot(s) expired, 500 points moved to the expired account",
        "a second run finds nothing more: 0 lot(s)",
        "Statement of alice",
        "every balance and invariant matches",
    ]:
        assert line in text


def test_main_runs_the_demo(capsys: pytest.CaptureFixture[str]) -> None:
    """`pointkit demo` prints the story and exits 0."""
    assert main(["demo"]) == 0
    assert "Statement of bob" in capsys.readouterr().out


def test_version_and_usage(capsys: pytest.CaptureFixture[str]) -> None:
    """--version prints the version; no command is a usage error."""
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == pointkit.__version__
    with pytest.raises(SystemExit) as exit_info:
        main([])
    assert exit_info.value.code == 2


def test_python_dash_m() -> None:
    """`python -m pointkit demo` is the same command."""
    done = subprocess.run(
        [sys.executable, "-m", "pointkit", "demo"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert "Audit: replayed" in done.stdout


def test_console_script_exits_with_mains_status(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The console script entry point exits with what main() returns."""
    monkeypatch.setattr(sys, "argv", ["pointkit", "demo"])
    with pytest.raises(SystemExit) as exit_info:
        console()
    assert exit_info.value.code == 0
    assert "Audit: replayed" in capsys.readouterr().out

"""The fuzz suite's summary line: calls tried, accepted, refused, and other exceptions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fuzz.harness import TALLY


if TYPE_CHECKING:
    import pytest


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the fuzz tally when fuzz tests ran, with the most frequent refusal codes."""
    if TALLY.tried == 0:
        return
    terminalreporter.write_sep("=", "fuzz summary")
    terminalreporter.write_line(TALLY.line())
    codes = ", ".join(f"{code} {count:,}" for code, count in TALLY.codes.most_common(8))
    terminalreporter.write_line(f"most refused: {codes}")

"""Every script in examples/ runs to the end and shows what it says it shows."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest


EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("*.py"))
FOLDER = Path(__file__).parent.parent / "examples"


def _run(name: str, capsys: pytest.CaptureFixture[str]) -> str:
    runpy.run_path(str(FOLDER / name), run_name="__main__")
    return capsys.readouterr().out


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_example_runs(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The example runs as a script and prints what it shows."""
    runpy.run_path(str(path), run_name="__main__")
    assert capsys.readouterr().out


def test_quickstart_story(capsys: pytest.CaptureFixture[str]) -> None:
    """The quickstart earns to silver, completes the mission, earns double, redeems, draws."""
    out = _run("quickstart.py", capsys)
    assert "after a week: 900 points, tier silver" in out  # 700 earned, 200 from the mission
    assert "mission done: badges ['regular'], 1 coupon(s)" in out
    assert "order-0 sent again: replayed=True" in out
    assert "order-7 earns 60 points" in out
    assert "watch redeemed for 1800 points + 300.00 CNY" in out


def test_ledger_tour_story(capsys: pytest.CaptureFixture[str]) -> None:
    """The ledger tour's refund takes back what was left and writes off the rest."""
    out = _run("ledger_tour.py", capsys)
    assert "refused while pending: member 'mei' has 0 points available, 500 needed" in out
    assert "after the voucher: 380 points available" in out
    assert "refund asked for 880, balance now 0" in out
    assert "expiry run: 1 lot(s) expired, {'points': 120}" in out


def test_custom_storage_passes_the_conformance_suite(capsys: pytest.CaptureFixture[str]) -> None:
    """The host-defined storage in examples/ passes the conformance suite, then serves a ledger."""
    out = _run("custom_storage.py", capsys)
    assert "conformance suite passed" in out
    assert "balance: 1000 points" in out


def test_points_only_storage_passes_the_accounts_part(capsys: pytest.CaptureFixture[str]) -> None:
    """The points-only adapter in examples/ passes the accounts part, then serves a ledger."""
    out = _run("points_only_storage.py", capsys)
    assert "DictStorage passes the accounts part of the conformance suite" in out
    assert "alice has 380 points" in out
    assert "issued: -500" in out  # the issuance account is debited what members are credited


def test_points_only_storage_has_no_feature_part() -> None:
    """The points-only adapter lacks the records part, and a feature names what is missing."""
    namespace = runpy.run_path(str(FOLDER / "points_only_storage.py"))
    from datetime import UTC, datetime  # noqa: PLC0415 - only this test needs them

    from pointkit import FixedClock, Ledger  # noqa: PLC0415
    from pointkit.features import Draws  # noqa: PLC0415
    from pointkit.pricing import Lottery, Prize  # noqa: PLC0415

    ledger = Ledger(namespace["DictStorage"](), clock=FixedClock(datetime(2026, 3, 1, tzinfo=UTC)))
    ledger.earn("alice", 10, key="seed")
    wheel = Lottery("wheel", "Wheel", 5, [Prize("pen", "Pen", 1)])
    with pytest.raises(
        TypeError, match=r"does not implement the records part \(missing rule_event"
    ):
        Draws(ledger).draw("alice", wheel, draw_id="d1", minor=False)
    assert 10 == ledger.balance("alice").available

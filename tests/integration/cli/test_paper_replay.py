"""``dydx-trader run`` in paper mode is a lockstep replay in market time (issue 10):

* the same data, seed and configuration give the same ``summary.json`` (apart
  from ``wall``) at any ``--speed``, and with the wall clock frozen;
* every closed candle is evaluated: the session's signals are exactly those the
  strategies give offline on every candle of the window;
* the account is marked to market at every candle: with a position open, the
  equity moves at every sample;
* protected entries (issue 13): the chain triggers their stop-losses and
  take-profits inside the candles, the report counts the exits by reason, and the
  replay stays deterministic.
"""

from __future__ import annotations

import csv
import itertools
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dydx_devnet.replay import load_hourly
from dydx_trader.app import ports, risk_guard
from dydx_trader.app.strategy_runner import StrategyAssignment, evaluate_candle
from dydx_trader.cli.app import app
from dydx_trader.config import load_config
from dydx_trader.domain.venue import Candle, CandleResolution

pytestmark = pytest.mark.timeout(600)

# Leveraged, so that a position is open from the first fill on: 1x of equity per entry.
CONFIG = """
[sizing]
kind = "equity_fraction"
equity_fraction = "1"
"""
WINDOW = ("--from", "2025-05-01", "--days", "2", "--seed", "5")


def _run(folder: Path, config: Path, *extra: str) -> dict[str, Any]:
    result = CliRunner().invoke(
        app,
        ["run", "--plain", "--config", str(config), "--run-dir", str(folder), *WINDOW, *extra],
    )
    assert result.exit_code == 0, result.output
    summary: dict[str, Any] = json.loads((folder / "summary.json").read_text())
    return summary


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path, Path]]:
    base = tmp_path_factory.mktemp("paper")
    config = base / "dydx-trader.toml"
    config.write_text(CONFIG)
    fast, paced = base / "fast", base / "paced"
    _run(fast, config)
    _run(paced, config, "--speed", "20000")
    yield config, fast, paced


def _without_wall(summary: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in summary.items() if key != "wall"}


def test_paper_when_run_at_two_speeds_then_summaries_identical_apart_from_wall(
    runs: tuple[Path, Path, Path],
) -> None:
    _, fast, paced = runs

    first = json.loads((fast / "summary.json").read_text())
    second = json.loads((paced / "summary.json").read_text())

    assert first["signals"] > 0 and first["fills"] > 0
    assert _without_wall(first) == _without_wall(second)
    assert first["wall"]["speed"] is None and second["wall"]["speed"] == 20000.0
    assert (fast / "trades.csv").read_text() == (paced / "trades.csv").read_text()
    assert (fast / "equity.csv").read_text() == (paced / "equity.csv").read_text()


def test_paper_when_wall_clock_frozen_then_same_summary(
    runs: tuple[Path, Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, fast, _ = runs

    def no_wall_clock(*_: object) -> Any:
        raise AssertionError("the paper flow read the system clock")

    # The application's readers of the system clocks (``SystemClock`` is the one the
    # architecture allows; the kill switch's default is the other). ``time.time``
    # itself cannot be frozen: gRPC's deadlines run on it.
    monkeypatch.setattr(ports.SystemClock, "now", no_wall_clock)
    monkeypatch.setattr(ports.SystemClock, "monotonic", no_wall_clock)
    monkeypatch.setattr(risk_guard, "_wall_clock", no_wall_clock)
    frozen = _run(tmp_path / "frozen", config)

    assert _without_wall(frozen) == _without_wall(json.loads((fast / "summary.json").read_text()))


def _bundled(market: str) -> list[Candle]:
    return [
        Candle(
            ticker=market,
            resolution=CandleResolution.ONE_HOUR,
            started_at=datetime.fromtimestamp(c.started_ms / 1000, UTC),
            open=c.open,
            high=c.high,
            low=c.low,
            close=c.close,
            base_volume=c.base_volume,
            usd_volume=Decimal(0),
            trades=0,
        )
        for c in load_hourly(market)
    ]


def test_paper_when_replayed_then_signals_equal_offline_evaluation_of_every_candle(
    runs: tuple[Path, Path, Path],
) -> None:
    config, fast, _ = runs
    summary = json.loads((fast / "summary.json").read_text())
    start = datetime.fromisoformat(summary["data_start"])
    end = datetime.fromisoformat(summary["data_end"])
    settings = load_config(config)
    hour = timedelta(hours=1)

    offline = 0
    for strategy, entry in settings.build_strategies():
        for market in entry.markets:
            assignment = StrategyAssignment(strategy, market, CandleResolution.ONE_HOUR)
            candles = _bundled(market)
            for index, candle in enumerate(candles):
                close = candle.started_at + hour
                if start <= close <= end:
                    series = candles[max(0, index + 1 - 1000) : index + 1]
                    offline += evaluate_candle(assignment, series, close) is not None

    assert offline > 0
    assert summary["signals"] == offline


def test_paper_when_position_open_then_equity_moves_at_every_candle(
    runs: tuple[Path, Path, Path],
) -> None:
    _, fast, _ = runs
    with (fast / "trades.csv").open() as handle:
        first_fill = min(row["time"] for row in csv.DictReader(handle))
    with (fast / "equity.csv").open() as handle:
        samples = [row for row in csv.DictReader(handle) if row["time"] > first_fill]

    assert len(samples) > 10
    assert all(Decimal(row["leverage"]) > Decimal("0.5") for row in samples)
    for before, after in itertools.pairwise(samples):
        assert before["equity_usdc"] != after["equity_usdc"], (before, after)


# Every entry protected by a default stop 1 % away and a take-profit 2 % away: the
# replay's oracle walks each candle's path through them.
PROTECTED = (
    CONFIG
    + """
[protection]
default_stop_pct = "1"
default_take_profit_pct = "2"
"""
)


@pytest.fixture(scope="module")
def protected_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("protected")
    config = base / "dydx-trader.toml"
    config.write_text(PROTECTED)
    fast, paced = base / "fast", base / "paced"
    _run(fast, config)
    _run(paced, config, "--speed", "20000")
    return fast, paced


def test_paper_when_entries_protected_then_stops_exit_and_summaries_identical_at_two_speeds(
    protected_runs: tuple[Path, Path],
) -> None:
    fast, paced = protected_runs

    first = json.loads((fast / "summary.json").read_text())
    second = json.loads((paced / "summary.json").read_text())

    exits = first["round_trips"]["exits_by_reason"]
    assert exits["stop-loss"] > 0 and exits["take-profit"] > 0
    assert sum(exits.values()) == first["round_trips"]["count"]
    assert _without_wall(first) == _without_wall(second)
    assert (fast / "trades.csv").read_text() == (paced / "trades.csv").read_text()

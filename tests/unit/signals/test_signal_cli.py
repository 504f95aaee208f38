"""The `signal`, `scan` and `serve-webhook` commands through the Typer app."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from dydx_trader.cli.app import app

runner = CliRunner()
SHARED = Path(__file__).resolve().parents[3] / "src" / "dydx_devnet" / "data"


def test_signal_when_valid_then_accepted_json_and_exit_0() -> None:
    result = runner.invoke(
        app, ["signal", "buy", "btc-usd", "--confidence", "0.8", "--stop", "90", "--price", "100",
              "--json"]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    verdict = json.loads(result.output)
    assert verdict["accepted"] is True and verdict["actionable"] is True
    assert verdict["signal"]["market"] == "BTC-USD"
    assert verdict["signal"]["stop_loss"] == "90"
    assert verdict["signal"]["source"] == "cli"
    assert verdict["skipped_rules"] == ["market_active"]


def test_signal_when_below_threshold_then_rejected_with_reason_and_exit_1() -> None:
    result = runner.invoke(app, ["signal", "SELL", "ETH-USD", "--confidence", "0.3"])
    assert result.exit_code == 1
    assert "rejected by confidence: confidence 0.3 of manual is below the threshold 0.5" in (
        " ".join(result.output.split())
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["signal", "FLY", "BTC-USD"], "action 'FLY' is unknown"),
        (["signal", "BUY", "BTC"], "not a dYdX ticker"),
        (["signal", "BUY", "BTC-USD", "--confidence", "2"], "must lie in [0, 1]"),
        (["signal", "BUY", "BTC-USD", "--confidence", "1e999999999"], "absurdly large"),
        (["signal", "BUY", "BTC-USD", "--price", "100", "--stop", "110"], "must be below"),
        (["signal", "BUY", "BTC-USD", "--notional", "5", "--fraction", "0.1"], "not both"),
        (["signal", "BUY", "BTC-USD", "--fraction", "3"], "equity_fraction is 3"),
    ],
)
def test_signal_when_invalid_input_then_readable_error_and_exit_2(
    args: list[str], message: str
) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output


def test_signal_when_hold_then_accepted_and_says_nothing_to_do() -> None:
    result = runner.invoke(app, ["signal", "HOLD", "BTC-USD"])
    assert result.exit_code == 0
    assert "accepted: HOLD, nothing to do" in result.output


def _write_series(directory: Path, ticker: str, closes: list[float]) -> None:
    lines = ["started_at,open,high,low,close,base_volume"]
    for i, close in enumerate(closes):
        day, hour = divmod(i, 24)
        lines.append(f"2025-01-{day + 1:02d}T{hour:02d}:00:00Z,{close},{close},{close},{close},1")
    (directory / f"{ticker}-1HOUR.csv").write_text("\n".join(lines) + "\n")


def test_scan_when_candles_dir_then_json_signals_per_market_and_strategy(tmp_path: Path) -> None:
    _write_series(tmp_path, "BTC-USD", [100.0] * 80 + [110.0])
    _write_series(tmp_path, "ETH-USD", list(np.linspace(100, 50, 100)))
    _write_series(tmp_path, "NEW-USD", [1.0] * 5)
    result = runner.invoke(app, ["scan", "--candles-dir", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    by_key = {(r["market"], r["strategy"]): r for r in rows}
    assert by_key[("BTC-USD", "ema_cross")]["action"] == "BUY"
    assert by_key[("BTC-USD", "composite")]["action"] == "BUY"
    assert by_key[("BTC-USD", "ema_cross")]["reference_price"] == "110.0"
    assert by_key[("ETH-USD", "rsi_reversion")]["action"] == "BUY"
    assert "needs at least" in by_key[("NEW-USD", "ema_cross")]["error"]
    assert len(rows) == 15


def test_scan_when_strategy_and_market_chosen_then_only_those(tmp_path: Path) -> None:
    _write_series(tmp_path, "BTC-USD", [100.0] * 80 + [110.0])
    _write_series(tmp_path, "ETH-USD", [100.0] * 80 + [90.0])
    result = runner.invoke(
        app, ["scan", "--candles-dir", str(tmp_path), "--json", "-s", "macd_cross", "-m", "eth-usd"]
    )
    assert result.exit_code == 0, result.output
    [row] = json.loads(result.output)
    assert (row["market"], row["strategy"], row["action"]) == ("ETH-USD", "macd_cross", "SELL")


def test_scan_when_table_then_rich_table_with_actions(tmp_path: Path) -> None:
    _write_series(tmp_path, "BTC-USD", [100.0] * 80 + [110.0])
    result = runner.invoke(app, ["scan", "--candles-dir", str(tmp_path), "--actionable"])
    assert result.exit_code == 0, result.output
    assert "BTC-USD" in result.output and "BUY" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["scan", "--strategy", "emma"], "unknown strategy 'emma'"),
        (["scan", "--resolution", "2HOURS"], "resolution '2HOURS' is unknown"),
        (["scan", "--candles-dir", "/nonexistent/dir"], "does not exist"),
        (["scan", "-m", "ZZZ-USD"], "no candles for ZZZ-USD"),
    ],
)
def test_scan_when_bad_options_then_readable_error_and_exit_2(
    args: list[str], message: str, tmp_path: Path
) -> None:
    if "-m" in args:
        _write_series(tmp_path, "BTC-USD", [1.0] * 5)
        args = [*args, "--candles-dir", str(tmp_path)]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())


def test_scan_when_shared_market_data_then_every_market_scanned() -> None:
    if not SHARED.is_dir():
        pytest.skip(f"shared market data not found at {SHARED}")
    result = runner.invoke(app, ["scan", "--candles-dir", str(SHARED), "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert len({r["market"] for r in rows}) == 7
    assert all("error" not in r for r in rows)


def test_serve_webhook_when_secret_unset_then_refuses_to_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DYDX_TRADER_WEBHOOK_SECRET", raising=False)
    result = runner.invoke(app, ["serve-webhook"])
    assert result.exit_code == 2
    assert "DYDX_TRADER_WEBHOOK_SECRET is not set" in result.output


@pytest.fixture(autouse=True)
def _no_ambient_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Neither a config file in the working directory nor $DYDX_TRADER_CONFIG may leak in.
    monkeypatch.delenv("DYDX_TRADER_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)


def test_scan_when_config_file_then_its_strategies_and_params(tmp_path: Path) -> None:
    candles = tmp_path / "candles"
    candles.mkdir()
    _write_series(candles, "BTC-USD", [100.0] * 80 + [110.0])
    config = tmp_path / "conf.toml"
    config.write_text(
        '[[strategies]]\nname = "rsi_reversion"\nparams = { period = 7, overbought = 80 }\n'
        '[[strategies]]\nname = "bollinger_breakout"\n'
    )
    result = runner.invoke(
        app, ["scan", "--config", str(config), "--candles-dir", str(candles), "--json"]
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [(r["strategy"], r["action"]) for r in rows] == [
        ("rsi_reversion", "SELL"),
        ("bollinger_breakout", "BUY"),
    ]


def test_scan_when_config_has_bad_strategy_params_then_readable_error(tmp_path: Path) -> None:
    config = tmp_path / "conf.toml"
    config.write_text('[[strategies]]\nname = "ema_cross"\nparams = { fats = 3 }\n')
    result = runner.invoke(app, ["scan", "--config", str(config), "--candles-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "unknown parameter 'fats'" in " ".join(result.output.split())


def test_signal_when_config_threshold_then_applied_and_option_overrides(tmp_path: Path) -> None:
    config = tmp_path / "conf.toml"
    config.write_text('[validation]\nmin_confidence = "0.9"\n')
    base = ["signal", "BUY", "BTC-USD", "--confidence", "0.8", "--config", str(config)]
    assert runner.invoke(app, base).exit_code == 1
    assert runner.invoke(app, [*base, "--min-confidence", "0.7"]).exit_code == 0

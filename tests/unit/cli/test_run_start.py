"""What ``run`` refuses, asks or warns about before anything starts: each is one
line, and no run folder, journal or devnet is created. (A taken port is refused
too, except in a paper session without a webhook: it takes a free port.)"""

from __future__ import annotations

import io
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner, Result

from dydx_trader.cli.app import app
from dydx_trader.cli.run_checks import check_fixed_risk_stops, confirm_mainnet
from dydx_trader.cli.run_cmd import _bind_http
from dydx_trader.config import Settings, load_config
from dydx_trader.domain.errors import InvalidInput

ADDRESS = "dydx1xx4evg0695an5nvhnmuw9wp3umwdpsguyxzhmp"
SECRET = "a-webhook-secret-for-the-port-test"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("DYDX_TRADER_CONFIG", "DYDX_TRADER_WEBHOOK_SECRET", "DYDX_TRADER_MNEMONIC",
                 "DYDX_TRADER_MNEMONIC_FILE", "DYDX_TRADER_NETWORK__NAME"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def _run(tmp_path: Path, *args: str) -> Result:
    return CliRunner().invoke(app, ["run", "--plain", "--run-dir", str(tmp_path / "run"), *args])


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "dydx-trader.toml"
    path.write_text(text)
    return path


def _one_error_line(result: Result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.output
    return lines[0]


@pytest.mark.parametrize("speed", ["0", "-1", "nan", "inf"])
def test_run_when_speed_not_positive_then_refused_in_one_line(tmp_path: Path, speed: str) -> None:
    result = _run(tmp_path, "--speed", speed)

    assert result.exit_code == 2
    assert "--speed is" in _one_error_line(result)
    assert not (tmp_path / "run").exists()


def test_run_when_config_names_testnet_then_live_not_paper(tmp_path: Path) -> None:
    _config(tmp_path, '[network]\nname = "testnet"\n')

    result = _run(tmp_path)

    assert result.exit_code == 2
    assert "--address is required on testnet" in _one_error_line(result)
    assert "paper session" not in result.output


def test_run_when_env_names_testnet_then_live_not_paper(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DYDX_TRADER_NETWORK__NAME", "testnet")

    result = _run(tmp_path)

    assert result.exit_code == 2
    assert "--address is required on testnet" in _one_error_line(result)


def test_run_when_mainnet_not_confirmed_and_no_terminal_then_refused(tmp_path: Path) -> None:
    result = _run(tmp_path, "--network", "mainnet", "--address", ADDRESS)

    assert result.exit_code == 2
    assert "add --yes-mainnet" in _one_error_line(result)
    assert not (tmp_path / "run").exists()


def test_run_when_mainnet_confirmed_with_demo_strategies_then_warned_before_the_mnemonic(
    tmp_path: Path,
) -> None:
    result = _run(tmp_path, "--network", "mainnet", "--address", ADDRESS, "--yes-mainnet")

    assert result.exit_code == 2
    assert "warning: the strategies are the paper demo's defaults" in result.stdout
    assert "needs a mnemonic" in result.stderr
    assert not (tmp_path / "run").exists()


def test_confirm_mainnet_when_terminal_answers_then_yes_proceeds_and_no_refuses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("y\n"))
    confirm_mainnet(False, ADDRESS, interactive=lambda: True)

    monkeypatch.setattr(sys, "stdin", io.StringIO("n\n"))
    with pytest.raises(InvalidInput, match="not confirmed"):
        confirm_mainnet(False, ADDRESS, interactive=lambda: True)


def test_run_when_market_has_no_bundled_candles_then_one_line_listing_those_that_do(
    tmp_path: Path,
) -> None:
    config = _config(tmp_path, '[[strategies]]\nname = "ema_cross"\nmarkets = ["ADA-USD"]\n')

    result = _run(tmp_path, "--config", str(config))

    assert result.exit_code == 2
    line = _one_error_line(result)
    assert "no bundled candles for ADA-USD; markets with data: AVAX-USD, BTC-USD" in line
    assert not (tmp_path / "run").exists()


def test_run_when_fixed_risk_and_stopless_strategies_then_refused_at_start(tmp_path: Path) -> None:
    config = _config(tmp_path, '[sizing]\nkind = "fixed_risk"\nrisk_fraction = "0.01"\n')

    result = _run(tmp_path, "--config", str(config))

    assert result.exit_code == 2
    line = _one_error_line(result)
    assert "fixed_risk" in line and "ema_cross, rsi_reversion emit no stop" in line
    assert not (tmp_path / "run").exists()


def test_check_fixed_risk_stops_when_every_strategy_has_a_stop_then_accepted(
    tmp_path: Path,
) -> None:
    config = _config(
        tmp_path,
        '[sizing]\nkind = "fixed_risk"\nrisk_fraction = "0.01"\n'
        '[[strategies]]\nname = "ema_cross"\nparams = { stop_atr = 2 }\n',
    )

    check_fixed_risk_stops(load_config(config))  # no exception


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        yield int(holder.getsockname()[1])


def test_run_when_webhook_port_in_use_then_one_line_and_nothing_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, taken_port: int
) -> None:
    monkeypatch.setenv("DYDX_TRADER_WEBHOOK_SECRET", SECRET)

    result = _run(tmp_path, "--http-port", str(taken_port))

    assert result.exit_code == 2
    assert f"port {taken_port} on 127.0.0.1 is already in use" in _one_error_line(result)
    assert "paper session" not in result.output and "webhook: POST" not in result.output
    assert not (tmp_path / "run").exists()


def test_serve_webhook_when_port_in_use_then_one_line_and_no_url(
    monkeypatch: pytest.MonkeyPatch, taken_port: int
) -> None:
    monkeypatch.setenv("DYDX_TRADER_WEBHOOK_SECRET", SECRET)

    result = CliRunner().invoke(app, ["serve-webhook", "--http-port", str(taken_port)])

    assert result.exit_code == 2
    assert f"port {taken_port} on 127.0.0.1 is already in use" in _one_error_line(result)
    assert "http://" not in result.stdout


def _settings(port: int) -> Settings:
    return Settings.model_validate({"http": {"host": "127.0.0.1", "port": port}})


def test_bind_http_when_paper_port_taken_and_no_webhook_then_free_port_and_a_line(
    taken_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DYDX_TRADER_WEBHOOK_SECRET", raising=False)
    screen = io.StringIO()

    listener = _bind_http(_settings(taken_port), paper=True, console=Console(file=screen))

    with listener:
        assert listener.getsockname()[1] not in (taken_port, 0)
    assert f"port {taken_port} is in use" in screen.getvalue()


@pytest.mark.parametrize(("paper", "webhook"), [(False, False), (True, True)])
def test_bind_http_when_port_taken_live_or_webhook_then_refused(
    taken_port: int, monkeypatch: pytest.MonkeyPatch, paper: bool, webhook: bool
) -> None:
    if webhook:
        monkeypatch.setenv("DYDX_TRADER_WEBHOOK_SECRET", "a-webhook-secret-for-the-port-test")
    else:
        monkeypatch.delenv("DYDX_TRADER_WEBHOOK_SECRET", raising=False)

    with pytest.raises(InvalidInput, match=f"port {taken_port} on 127.0.0.1 is already in use"):
        _bind_http(_settings(taken_port), paper=paper, console=Console(file=io.StringIO()))

"""``balance`` / ``markets``: failures are one readable line and a non-zero exit."""

from __future__ import annotations

import socket
from pathlib import Path

from typer.testing import CliRunner

from dydx_trader.cli.app import app

ADDRESS = "dydx1kzsvkf2ghjqlysuffdkhcdctknl4rsvcx5hkm5"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_balance_when_indexer_unreachable_then_one_line_error_and_exit_1() -> None:
    port = _closed_port()
    result = CliRunner().invoke(
        app,
        [
            "balance",
            "--address",
            ADDRESS,
            "--indexer-url",
            f"http://127.0.0.1:{port}",
            "--grpc",
            f"127.0.0.1:{port}",
            "--timeout",
            "1",
        ],
    )
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: VenueUnavailable")
    assert "Traceback" not in result.output
    assert "devnet running" in lines[0]


def test_markets_when_indexer_unreachable_then_exit_1_without_traceback() -> None:
    port = _closed_port()
    result = CliRunner().invoke(
        app, ["markets", "--indexer-url", f"http://127.0.0.1:{port}", "--timeout", "1"]
    )
    assert result.exit_code == 1
    assert result.stderr.startswith("error: VenueUnavailable")
    assert "Traceback" not in result.output


def test_balance_when_mainnet_without_address_then_exit_2_asks_for_it() -> None:
    result = CliRunner().invoke(app, ["balance", "--network", "mainnet"])
    assert result.exit_code == 2
    assert "--address is required on mainnet" in result.stderr


def test_balance_when_address_malformed_then_exit_2_before_any_request() -> None:
    port = _closed_port()
    result = CliRunner().invoke(
        app,
        ["balance", "--address", "not-an-address", "--indexer-url", f"http://127.0.0.1:{port}"],
    )
    assert result.exit_code == 2
    assert "not a dYdX address" in result.stderr


def test_markets_when_plain_http_to_remote_indexer_then_refused() -> None:
    result = CliRunner().invoke(
        app, ["markets", "--network", "mainnet", "--indexer-url", "http://indexer.dydx.trade"]
    )
    assert result.exit_code == 2
    assert "must use https://" in result.stderr


def test_balance_when_config_names_endpoints_then_they_are_used(tmp_path: Path) -> None:
    port = _closed_port()
    config = tmp_path / "dydx-trader.toml"
    config.write_text(
        f'[network]\nname = "devnet"\nindexer_url = "http://127.0.0.1:{port}"\n'
        f'grpc_address = "127.0.0.1:{port}"\n'
        f'[account]\naddress = "{ADDRESS}"\nsubaccount_number = 3\n'
    )
    result = CliRunner().invoke(app, ["balance", "--config", str(config), "--timeout", "1"])
    assert result.exit_code == 1
    assert f"127.0.0.1:{port}" in result.stderr


def test_balance_when_config_is_testnet_without_address_then_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "dydx-trader.toml"
    config.write_text('[network]\nname = "testnet"\n')
    result = CliRunner().invoke(app, ["balance", "--config", str(config)])
    assert result.exit_code == 2
    assert "--address is required on testnet" in result.stderr


def test_balance_when_config_file_broken_then_exit_2_names_file(tmp_path: Path) -> None:
    config = tmp_path / "dydx-trader.toml"
    config.write_text("[network\n")
    result = CliRunner().invoke(app, ["balance", "--config", str(config)])
    assert result.exit_code == 2
    assert str(config) in result.stderr

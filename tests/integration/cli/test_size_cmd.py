"""``dydx-trader size`` against the devnet in-process: it previews, and never
journals or sends.

The command runs in a worker thread (it starts its own event loop) while the
devnet serves from the test's loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import socket
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner, Result

from dydx_devnet.demo import DEMO_ADDRESS, DEMO_ADDRESS_2
from dydx_devnet.server import Devnet
from dydx_trader.adapters.journal import Journal
from dydx_trader.cli.app import app
from dydx_trader.domain.signal import Signal, SignalSource

pytestmark = pytest.mark.timeout(60)


def _config(tmp_path: Path, journal: Path) -> Path:
    path = tmp_path / "dydx-trader.toml"
    path.write_text(f'[journal]\npath = "{journal}"\n')
    return path


async def _size(devnet: Devnet, config: Path, *args: str) -> Result:
    argv = ["size", *args, "--config", str(config)]
    argv += ["--indexer-url", devnet.indexer_url, "--grpc", devnet.grpc_address]
    return await asyncio.to_thread(CliRunner().invoke, app, argv)


def _demo_orders(devnet: Devnet) -> list[object]:
    assert devnet.engine is not None
    return [o for key, orders in devnet.engine.subaccount_orders.items() for o in orders
            if key[0] in (DEMO_ADDRESS, DEMO_ADDRESS_2)]  # fmt: skip


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_size_when_buy_with_notional_hint_then_json_decision_and_nothing_sent_or_journaled(
    devnet: Devnet, tmp_path: Path
) -> None:
    devnet.fund_demo(Decimal(10_000))
    journal_path = tmp_path / "journal.sqlite3"
    with Journal.open(journal_path) as journal:
        earlier = Signal.create(
            market="BTC-USD",
            action="BUY",
            created_at=datetime.now(UTC),
            source=SignalSource.CLI,
            strategy="earlier",
        )
        journal.record_signal(earlier)
    before = _digest(journal_path)
    config = _config(tmp_path, journal_path)

    result = await _size(
        devnet, config, "BUY", "ETH-USD", "--confidence", "0.8", "--notional", "1000", "--json"
    )

    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["would_trade"] is True
    assert data["outcome"] == "ACCEPTED" and data["side"] == "BUY"
    size, price = Decimal(data["size"]), Decimal(data["worst_price"])
    assert Decimal(data["notional"]) == size * price
    # The hint is sized at the worst price and floored to the step: never above it.
    assert Decimal(900) < size * price <= Decimal(1000)
    assert data["quantums"] > 0 and data["subticks"] > 0
    assert any(label == "pre-trade checks" for label, _ in data["arithmetic"])
    await devnet.wait_blocks(2)
    assert _demo_orders(devnet) == []
    assert _digest(journal_path) == before
    with Journal.open(journal_path) as journal:
        assert journal.recent_decisions() == []


async def test_size_when_stop_and_take_profit_given_then_shows_them_liquidation_and_loss_at_stop(
    devnet: Devnet, tmp_path: Path
) -> None:
    devnet.fund_demo(Decimal(10_000))
    config = _config(tmp_path, tmp_path / "journal.sqlite3")
    async with httpx.AsyncClient(base_url=devnet.indexer_url) as http:
        answer = await http.get("/v4/perpetualMarkets", params={"ticker": "ETH-USD"})
    oracle = Decimal(answer.json()["markets"]["ETH-USD"]["oraclePrice"])
    stop, take_profit = (oracle * Decimal("0.9")).quantize(1), (oracle * Decimal("1.2")).quantize(1)

    result = await _size(
        devnet, config, "BUY", "ETH-USD", "--notional", "40000",
        "--stop", str(stop), "--take-profit", str(take_profit), "--json",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    lines = dict(json.loads(result.output)["arithmetic"])
    assert Decimal(lines["stop-loss trigger (placed once filled)"].split()[0]) == stop
    assert Decimal(lines["take-profit trigger (placed once filled)"].split()[0]) == take_profit
    assert Decimal(lines["liquidation price after the fill"].split()[0]) < stop
    loss = Decimal(lines["loss at the stop"].split()[0])
    # About 10 % of 40,000 USDC, more by the stop-market's slippage bound, never less.
    assert Decimal(4_000) < loss < Decimal(5_200)


async def test_size_when_no_journal_exists_then_none_is_created(
    devnet: Devnet, tmp_path: Path
) -> None:
    devnet.fund_demo(Decimal(10_000))
    journal_path = tmp_path / "journal" / "journal.sqlite3"

    result = await _size(devnet, _config(tmp_path, journal_path), "SELL", "BTC-USD")

    assert result.exit_code == 0, result.output
    assert "nothing sent" in result.output and "would place: SELL" in result.output
    assert not journal_path.exists() and not journal_path.parent.exists()
    assert _demo_orders(devnet) == []


async def test_size_when_notional_below_minimum_order_then_refused_with_code_and_exit_1(
    devnet: Devnet, tmp_path: Path
) -> None:
    devnet.fund_demo(Decimal(10_000))
    config = _config(tmp_path, tmp_path / "journal.sqlite3")

    result = await _size(devnet, config, "BUY", "BTC-USD", "--notional", "0.01", "--json")

    assert result.exit_code == 1, result.output
    data = json.loads(result.output)
    assert data["would_trade"] is False and data["outcome"] == "REFUSED"
    assert data["error_code"] == "BelowMinimumOrderSize"
    assert data["message"] and data["size"] is None


async def test_size_when_confidence_below_threshold_then_validation_refuses_and_exit_1(
    devnet: Devnet, tmp_path: Path
) -> None:
    devnet.fund_demo(Decimal(10_000))
    config = _config(tmp_path, tmp_path / "journal.sqlite3")

    result = await _size(devnet, config, "BUY", "ETH-USD", "--confidence", "0.2")

    assert result.exit_code == 1, result.output
    assert "refused by validation" in result.output and "confidence" in result.output


def test_size_when_venue_unreachable_then_one_readable_line_and_exit_1(tmp_path: Path) -> None:
    config = _config(tmp_path, tmp_path / "journal.sqlite3")
    argv = ["size", "BUY", "ETH-USD", "--config", str(config), "--timeout", "5",
            "--indexer-url", f"http://127.0.0.1:{_free_port()}",
            "--grpc", f"127.0.0.1:{_free_port()}"]  # fmt: skip

    result = CliRunner().invoke(app, argv)

    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "Traceback" not in result.output
    assert not (tmp_path / "journal.sqlite3").exists()


async def test_size_when_other_account_and_no_mnemonic_then_previews_watch_only(
    devnet: Devnet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DYDX_TRADER_MNEMONIC", raising=False)
    monkeypatch.delenv("DYDX_TRADER_MNEMONIC_FILE", raising=False)
    devnet.fund(DEMO_ADDRESS_2, Decimal(5_000))
    config = _config(tmp_path, tmp_path / "journal.sqlite3")

    result = await _size(devnet, config, "BUY", "SOL-USD", "--address", DEMO_ADDRESS_2, "--json")

    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["address"] == DEMO_ADDRESS_2 and data["would_trade"] is True
    assert ["equity", "5000.00 USDC"] in data["arithmetic"]
    assert _demo_orders(devnet) == []


def test_size_when_testnet_without_address_then_asks_for_one_and_exit_2(tmp_path: Path) -> None:
    config = _config(tmp_path, tmp_path / "journal.sqlite3")
    argv = ["size", "BUY", "ETH-USD", "--config", str(config), "--network", "testnet"]

    result = CliRunner().invoke(app, argv)

    assert result.exit_code == 2
    assert "--address is required on testnet" in result.output
    assert "Traceback" not in result.output


def test_size_when_address_malformed_then_invalid_input_exit_2(tmp_path: Path) -> None:
    config = _config(tmp_path, tmp_path / "journal.sqlite3")
    argv = ["size", "BUY", "ETH-USD", "--config", str(config), "--address", "dydx1nope"]

    result = CliRunner().invoke(app, argv)

    assert result.exit_code == 2
    assert "is not a dYdX address" in result.output


def test_size_when_both_notional_and_fraction_then_invalid_input_exit_2(tmp_path: Path) -> None:
    config = _config(tmp_path, tmp_path / "journal.sqlite3")
    argv = ["size", "BUY", "ETH-USD", "--config", str(config),
            "--notional", "100", "--fraction", "0.1"]  # fmt: skip

    result = CliRunner().invoke(app, argv)

    assert result.exit_code == 2
    assert "--notional or --fraction" in result.output


async def test_size_when_indexer_down_but_node_up_then_one_line_naming_the_indexer_exit_1(
    devnet: Devnet, tmp_path: Path
) -> None:
    devnet.fund_demo(Decimal(10_000))
    config = _config(tmp_path, tmp_path / "journal.sqlite3")
    indexer = f"http://127.0.0.1:{_free_port()}"
    argv = ["size", "BUY", "ETH-USD", "--config", str(config),
            "--indexer-url", indexer, "--grpc", devnet.grpc_address]  # fmt: skip

    result = await asyncio.to_thread(CliRunner().invoke, app, argv)

    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and indexer in lines[0] and "Traceback" not in result.output
    assert _demo_orders(devnet) == []

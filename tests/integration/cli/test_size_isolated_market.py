"""``dydx-trader size`` on an ISOLATED market of the devnet: refused, naming it and why."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dydx_devnet.server import Devnet, DevnetConfig
from dydx_trader.cli.app import app

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def devnet() -> AsyncIterator[Devnet]:
    config = DevnetConfig(
        indexer_port=0, grpc_port=0, block_time=0.05, seed=1, markets=("BTC-USD", "ONDO-USD")
    )
    async with Devnet(config) as running:
        yield running


async def test_size_when_market_is_isolated_then_refused_naming_it_and_exit_1(
    devnet: Devnet, tmp_path: Path
) -> None:
    devnet.fund_demo(Decimal(10_000))
    config = tmp_path / "dydx-trader.toml"
    config.write_text(f'[journal]\npath = "{tmp_path / "journal.sqlite3"}"\n')
    argv = ["size", "BUY", "ONDO-USD", "--notional", "100", "--json", "--config", str(config)]
    argv += ["--indexer-url", devnet.indexer_url, "--grpc", devnet.grpc_address]

    result = await asyncio.to_thread(CliRunner().invoke, app, argv)

    assert result.exit_code == 1, result.output
    data = json.loads(result.output)
    assert (data["outcome"], data["error_code"]) == ("REFUSED", "IsolatedMarketNotTraded")
    assert "ONDO-USD is an ISOLATED market" in data["message"]

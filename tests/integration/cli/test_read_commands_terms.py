"""``balance``, ``markets`` and ``size`` show the account's terms on the chain (a leverage
setting, the fee tier) against the devnet in-process, as a user runs them."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result
from v4_proto.dydxprotocol.clob.tx_pb2 import LeverageEntry, MsgUpdateLeverage
from v4_proto.dydxprotocol.subaccounts.subaccount_pb2 import SubaccountId

from dydx_devnet.server import Devnet
from dydx_trader.cli.app import app

pytestmark = pytest.mark.timeout(60)
ETH_CLOB_PAIR = 1


@pytest.fixture(autouse=True)
def _no_ambient_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("DYDX_TRADER_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)


async def _invoke(*argv: str) -> Result:
    return await asyncio.to_thread(CliRunner().invoke, app, list(argv), terminal_width=200)


@pytest.fixture
def config(devnet: Devnet, tmp_path: Path) -> Path:
    """The devnet's demo account, funded, with ETH-USD set to 2x on the chain."""
    address = devnet.fund_demo(Decimal(10_000))
    setting = MsgUpdateLeverage(
        subaccount_id=SubaccountId(owner=address, number=0),
        clob_pair_leverage=[LeverageEntry(clob_pair_id=ETH_CLOB_PAIR, custom_imf_ppm=500_000)],
    )
    assert devnet.engine is not None and devnet.engine.update_leverage(setting).code == 0
    path = tmp_path / "dydx-trader.toml"
    path.write_text(
        f'[network]\nindexer_url = "{devnet.indexer_url}"\n'
        f'grpc_address = "{devnet.grpc_address}"\n'
        f'[account]\naddress = "{address}"\n'
        f'[journal]\npath = "{tmp_path / "journal.sqlite3"}"\n'
    )
    return path


async def test_balance_when_leverage_set_then_settings_and_fee_tier_shown(config: Path) -> None:
    as_json = await _invoke("balance", "--config", str(config), "--json")
    table = await _invoke("balance", "--config", str(config))

    assert as_json.exit_code == 0, as_json.output
    data = json.loads(as_json.stdout)
    assert data["leverage_settings"] == {"ETH-USD": {"custom_imf_ppm": 500_000, "leverage": "2"}}
    assert data["fee_tier"] == {
        "name": "1", "taker_fee_ppm": 500, "maker_fee_ppm": 100, "source": "chain"
    }  # fmt: skip
    assert table.exit_code == 0, table.output
    assert "ETH-USD 2.0x" in table.stdout
    assert "tier 1 (chain): taker 500 ppm, maker 100 ppm" in table.stdout


async def test_markets_when_account_configured_then_its_setting_and_maximum_shown(
    config: Path,
) -> None:
    result = await _invoke("markets", "--config", str(config), "--json")

    assert result.exit_code == 0, result.output
    rows = {row["ticker"]: row for row in json.loads(result.stdout)}
    eth, btc = rows["ETH-USD"], rows["BTC-USD"]
    assert (eth["account_leverage_setting"], eth["account_max_leverage"]) == ("2", "2")
    assert btc["account_leverage_setting"] is None
    assert btc["account_max_leverage"] == btc["max_leverage"]


async def test_size_when_leverage_set_then_the_arithmetic_names_it_and_the_fee(
    config: Path,
) -> None:
    result = await _invoke("size", "BUY", "ETH-USD", "--config", str(config), "--json")

    assert result.exit_code == 0, result.output
    arithmetic = dict(json.loads(result.stdout)["arithmetic"])
    assert arithmetic["your leverage setting (chain)"] == "2x (IMF 500000 ppm)"
    assert arithmetic["fee rate"] == "500 ppm (tier 1 (chain): taker 500 ppm, maker 100 ppm)"

"""``markets``, ``scan``, ``size`` and ``balance`` against the devnet in-process, as a
user runs them. Each command runs in a worker thread (it starts its own event
loop) while the devnet serves from the test's loop."""

from __future__ import annotations

import asyncio
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result
from v4_proto.dydxprotocol.clob.tx_pb2 import LeverageEntry, MsgUpdateLeverage
from v4_proto.dydxprotocol.subaccounts.subaccount_pb2 import SubaccountId

from dydx_devnet.server import Devnet
from dydx_trader.adapters.dydx.market_stats import FUNDING_PERIODS_PER_YEAR
from dydx_trader.cli.app import app

pytestmark = pytest.mark.timeout(60)
ETH_CLOB_PAIR = 1


@pytest.fixture(autouse=True)
def _no_ambient_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("DYDX_TRADER_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)


async def _invoke(*argv: str) -> Result:
    return await asyncio.to_thread(CliRunner().invoke, app, list(argv), terminal_width=80)


def _venue_config(tmp_path: Path, devnet: Devnet) -> Path:
    """A config that points the devnet network at this devnet (as a user's would)."""
    path = tmp_path / "dydx-trader.toml"
    path.write_text(
        f'[network]\nindexer_url = "{devnet.indexer_url}"\n'
        f'grpc_address = "{devnet.grpc_address}"\n'
        f'[journal]\npath = "{tmp_path / "journal.sqlite3"}"\n'
    )
    return path


async def test_markets_when_filtered_and_sorted_then_stats_in_volume_order(
    devnet: Devnet,
) -> None:
    result = await _invoke("markets", "--indexer-url", devnet.indexer_url,
                           "--market", "btc-usd,ETH-USD", "-m", "SOL-USD",
                           "--sort", "volume", "--json")  # fmt: skip

    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert {row["ticker"] for row in rows} == {"BTC-USD", "ETH-USD", "SOL-USD"}
    volumes = [Decimal(row["volume_24h_usdc"]) for row in rows]
    assert volumes == sorted(volumes, reverse=True)
    for row in rows:
        assert row["market_type"] in ("CROSS", "ISOLATED")
        hourly = Decimal(row["next_funding_rate_1h"])
        assert Decimal(row["funding_rate_annualised"]) == round(
            hourly * FUNDING_PERIODS_PER_YEAR, 6
        )
        assert Decimal(row["open_interest"]) >= 0
        assert "E" not in row["oracle_price"]


async def test_markets_when_table_then_funding_oi_volume_columns_on_unwrapped_lines(
    devnet: Devnet,
) -> None:
    result = await _invoke("markets", "--indexer-url", devnet.indexer_url, "-m", "BTC-USD")

    assert result.exit_code == 0, result.output
    header = next(line for line in result.stdout.splitlines() if "Market" in line)
    for column in ("Funding 1h", "Funding APR", "Open interest", "Volume 24h", "Type"):
        assert column in header
    assert len(header) > 80  # piped output is never squeezed to 80 columns


async def test_markets_when_unknown_market_then_one_line_and_exit_2(devnet: Devnet) -> None:
    result = await _invoke("markets", "--indexer-url", devnet.indexer_url, "-m", "FOO-USD")

    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "error: InvalidInput: no market FOO-USD on devnet; markets: BTC-USD, ETH-USD, SOL-USD"
    ]


async def test_scan_when_no_source_given_then_reads_the_configured_venue(
    devnet: Devnet, tmp_path: Path
) -> None:
    config = _venue_config(tmp_path, devnet)

    result = await _invoke("scan", "--config", str(config), "-s", "rsi_reversion", "--json")

    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    # The devnet lists three markets; the bundled data has seven.
    assert {row["market"] for row in rows} == {"BTC-USD", "ETH-USD", "SOL-USD"}


async def test_scan_when_table_then_year_indicators_and_no_actionable_line(
    devnet: Devnet, tmp_path: Path
) -> None:
    config = _venue_config(tmp_path, devnet)

    result = await _invoke("scan", "--config", str(config), "-s", "rsi_reversion",
                           "-m", "BTC-USD", "--limit", "400")  # fmt: skip

    assert result.exit_code == 0, result.output
    out = result.stdout
    assert re.search(r"\b20\d\d-\d\d-\d\d \d\d:\d\d\b", out)  # the year is shown
    assert re.search(r"RSI\(14\) \d+(\.\d+)?", out)
    assert re.search(r"(BUY|SELL) (\d+(\.\d+)? RSI points away|now) \(RSI (below|above)", out)
    actionable = re.search(r"│ rsi_reversion +│ (BUY|SELL|CLOSE) ", out) is not None
    assert ("no actionable signals (1 market x 1 strategy)" in out) is not actionable


async def test_scan_when_unknown_market_on_the_venue_then_one_specific_line(
    devnet: Devnet, tmp_path: Path
) -> None:
    config = _venue_config(tmp_path, devnet)

    result = await _invoke("scan", "--config", str(config), "-m", "FOO-USD")

    assert result.exit_code == 2
    line = result.stderr.strip()
    assert line.startswith("error: InvalidInput: no candles for FOO-USD in devnet")
    assert "markets with data: BTC-USD, ETH-USD, SOL-USD" in line


@pytest.mark.parametrize(
    ("action", "stop", "side_word"), [("BUY", "1000000", "below"), ("SELL", "1", "above")]
)
async def test_size_when_stop_on_the_wrong_side_then_refused_exit_2(
    devnet: Devnet, tmp_path: Path, action: str, stop: str, side_word: str
) -> None:
    devnet.fund_demo(Decimal(10_000))
    config = _venue_config(tmp_path, devnet)

    result = await _invoke("size", action, "BTC-USD", "--stop", stop, "--config", str(config))

    assert result.exit_code == 2
    assert f"a {action}'s stop-loss must be {side_word} the price" in result.stderr


async def test_size_when_stop_on_the_right_side_then_previewed(
    devnet: Devnet, tmp_path: Path
) -> None:
    devnet.fund_demo(Decimal(10_000))
    config = _venue_config(tmp_path, devnet)

    result = await _invoke("size", "BUY", "BTC-USD", "--stop", "1", "--config", str(config))

    assert result.exit_code == 0, result.output


async def test_size_when_previewed_then_each_figure_once_and_order_type_in_the_footer(
    devnet: Devnet, tmp_path: Path
) -> None:
    devnet.fund_demo(Decimal(10_000))
    config = _venue_config(tmp_path, devnet)

    result = await _invoke("size", "BUY", "ETH-USD", "--config", str(config))

    assert result.exit_code == 0, result.output
    labels = [line.split("│")[1].strip() for line in result.stdout.splitlines()
              if line.count("│") == 3]  # fmt: skip
    bases = [label.split(" (")[0] for label in labels if label]
    assert bases.count("equity") == 1 and bases.count("worst price") == 1, labels
    assert bases.count("free collateral") == 1, labels
    footer = next(line for line in result.stdout.splitlines() if "would place:" in line)
    assert re.search(r"would place: BUY [\d.]+ ETH-USD, IOC order, worst price [\d,.]+ USDC",
                     footer)  # fmt: skip
    assert not re.search(r"\d{5,}\.\d", result.stdout)  # separators: 10,000.00 not 10000.00


async def test_balance_when_json_then_plain_exact_decimals(devnet: Devnet, tmp_path: Path) -> None:
    devnet.fund_demo(Decimal(10_000))
    config = _venue_config(tmp_path, devnet)

    result = await _invoke("balance", "--config", str(config), "--json")

    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["equity"] == "10000" and data["indexer_equity"] == "10000"
    assert data["leverage"] == "0"


# -- the account's terms on the chain: a leverage setting, the fee tier -----------------


@pytest.fixture
def leverage_config(devnet: Devnet, tmp_path: Path) -> Path:
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


async def test_balance_when_leverage_set_then_settings_and_fee_tier_shown(
    leverage_config: Path,
) -> None:
    as_json = await _invoke("balance", "--config", str(leverage_config), "--json")
    table = await _invoke("balance", "--config", str(leverage_config))

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
    leverage_config: Path,
) -> None:
    result = await _invoke("markets", "--config", str(leverage_config), "--json")

    assert result.exit_code == 0, result.output
    rows = {row["ticker"]: row for row in json.loads(result.stdout)}
    eth, btc = rows["ETH-USD"], rows["BTC-USD"]
    assert (eth["account_leverage_setting"], eth["account_max_leverage"]) == ("2", "2")
    assert btc["account_leverage_setting"] is None
    assert btc["account_max_leverage"] == btc["max_leverage"]


async def test_size_when_leverage_set_then_the_arithmetic_names_it_and_the_fee(
    leverage_config: Path,
) -> None:
    config = str(leverage_config)
    result = await _invoke("size", "BUY", "ETH-USD", "--config", config, "--json")

    assert result.exit_code == 0, result.output
    arithmetic = dict(json.loads(result.stdout)["arithmetic"])
    assert arithmetic["your leverage setting (chain)"] == "2x (IMF 500000 ppm)"
    assert arithmetic["fee rate"] == "500 ppm (tier 1 (chain): taker 500 ppm, maker 100 ppm)"

"""``dydx-trader size`` opens the live trader's journal read-only: it honours a halt and an
order in flight, and changes no byte of the journal (no scratch copy, no reconciliation)."""

from __future__ import annotations

import asyncio
import hashlib
import json
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dydx_devnet.demo import DEMO_ADDRESS
from dydx_devnet.server import Devnet
from dydx_trader.adapters.journal import Journal
from dydx_trader.cli.app import app
from dydx_trader.domain.order import OrderFlags, OrderIntent, TimeInForce, derive_client_id
from dydx_trader.domain.side import Side
from dydx_trader.domain.trading_state import Authority, TradingState

pytestmark = pytest.mark.timeout(60)


def _journal_with_an_order_in_flight(path: Path, state: TradingState) -> None:
    intent = OrderIntent(
        signal_id="live-1", address=DEMO_ADDRESS, subaccount_number=0, market="BTC-USD",
        clob_pair_id=0, side=Side.BUY, quantums=1_000_000, subticks=6_500_000_000,
        time_in_force=TimeInForce.IOC, reduce_only=False, order_flags=OrderFlags.SHORT_TERM,
        client_id=derive_client_id(DEMO_ADDRESS, 0, "live-1"), good_til_block=5,
    )  # fmt: skip
    with Journal.open(path) as journal:
        journal.record_intent(intent)  # the live trader sent it; its answer is pending
        journal.set_trading_state(state, "set by the operator", Authority.OPERATOR)


def _digest(path: Path) -> str:
    wal = path.with_name(path.name + "-wal")
    data = path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    return hashlib.sha256(data).hexdigest()


async def _size(devnet: Devnet, tmp_path: Path, journal: Path) -> tuple[int, str]:
    config = tmp_path / "dydx-trader.toml"
    config.write_text(f'[journal]\npath = "{journal}"\n')
    argv = ["size", "BUY", "ETH-USD", "--notional", "500", "--json", "--config", str(config),
            "--indexer-url", devnet.indexer_url, "--grpc", devnet.grpc_address]  # fmt: skip
    result = await asyncio.to_thread(CliRunner().invoke, app, argv)
    return result.exit_code, result.output


async def test_size_when_order_in_flight_in_journal_then_previews_and_journal_untouched(
    devnet: Devnet, tmp_path: Path
) -> None:
    devnet.fund_demo(Decimal(10_000))
    path = tmp_path / "journal.sqlite3"
    _journal_with_an_order_in_flight(path, TradingState.ACTIVE)
    before = _digest(path)

    code, output = await _size(devnet, tmp_path, path)

    assert code == 0, output
    assert json.loads(output)["would_trade"] is True
    assert _digest(path) == before
    with Journal.open(path, read_only=True) as journal:
        assert [o.intent.signal_id for o in journal.in_flight_orders()] == ["live-1"]


async def test_size_when_journal_halted_then_refused_with_the_halt_and_journal_untouched(
    devnet: Devnet, tmp_path: Path
) -> None:
    devnet.fund_demo(Decimal(10_000))
    path = tmp_path / "journal.sqlite3"
    _journal_with_an_order_in_flight(path, TradingState.HALTED)
    before = _digest(path)

    code, output = await _size(devnet, tmp_path, path)

    assert code == 1, output
    data = json.loads(output)
    assert data["error_code"] == "TradingHalted" and "set by the operator" in data["message"]
    assert _digest(path) == before

"""The trader under what the chain applies beyond a market's own parameters, on the
devnet over loopback: a leverage setting made with the official client, and a market
between its open-interest caps. In both, an order sized to the market's own IMF would
be cancelled at match (UNDERCOLLATERALIZED); the trader sizes it to fit instead."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
from dydx_v4_client.node.client import NodeClient
from dydx_v4_client.wallet import Wallet
from e2e_harness import SignalFactory, journal_at, settings_for, start_trader
from v4_proto.dydxprotocol.clob.tx_pb2 import LeverageEntry, MsgUpdateLeverage
from v4_proto.dydxprotocol.subaccounts.subaccount_pb2 import SubaccountId

from dydx_devnet.demo import DEMO_MNEMONIC
from dydx_devnet.server import Devnet, DevnetConfig
from dydx_devnet.state import EngineConfig
from dydx_trader.app.account_messages import TradeResult
from dydx_trader.config import Settings
from dydx_trader.domain.decision import Outcome
from dydx_trader.domain.order import OrderState
from dydx_trader.domain.signal import HintKind, Signal, SizingHint

ALL_IN = SizingHint(HintKind.NOTIONAL_USDC, Decimal(1_000_000))
UNDERCOLLATERALIZED = "ORDER_REMOVAL_REASON_UNDERCOLLATERALIZED"
ETH_CLOB_PAIR = 1


async def _set_leverage(devnet: Devnet, address: str, clob_pair_id: int, imf_ppm: int) -> None:
    """``MsgUpdateLeverage`` through the unmodified official client, as the web app sends it."""
    node = await NodeClient.connect(devnet.network().node)
    wallet = await Wallet.from_mnemonic(node, DEMO_MNEMONIC, address)
    message = MsgUpdateLeverage(
        subaccount_id=SubaccountId(owner=address, number=0),
        clob_pair_leverage=[LeverageEntry(clob_pair_id=clob_pair_id, custom_imf_ppm=imf_ppm)],
    )
    response = await node.broadcast_message(wallet, message)
    assert response.tx_response.code == 0, response.tx_response.raw_log
    await devnet.wait_blocks(1)


def _removal_reason(devnet: Devnet, result: TradeResult) -> str | None:
    assert result.intent is not None
    intent = result.intent
    assert devnet.engine is not None
    key = (intent.address, 0, intent.client_id, int(intent.order_flags), intent.clob_pair_id)
    reason: str | None = devnet.engine.state.orders[key].removal_reason
    return reason


async def _buy_all_in(
    devnet: Devnet, settings: Settings, signal: Signal, *, fund: bool = True
) -> TradeResult:
    """A trader buys as much as its caps allow; the order settles filled in full."""
    trader = await start_trader(devnet, settings, fund=fund)
    try:
        result = await trader.submit(signal)
        await asyncio.wait_for(trader.wait_settled(), timeout=60)
    finally:
        await trader.stop()
    assert result.decision is not None and result.decision.outcome is Outcome.ACCEPTED, (
        result.decision
    )
    assert result.intent is not None
    with journal_at(settings) as journal:
        order = journal.order(result.intent.client_id)
    assert order.state is OrderState.FILLED
    assert order.filled_quantums == result.intent.quantums
    assert _removal_reason(devnet, result) != UNDERCOLLATERALIZED
    return result


async def test_buy_when_leverage_set_by_the_official_client_then_sized_to_fit_and_filled(
    devnet: Devnet, tmp_path: Path, make_signal: SignalFactory
) -> None:
    address = devnet.fund_demo(Decimal(10_000))
    await _set_leverage(devnet, address, ETH_CLOB_PAIR, 500_000)  # ETH-USD at 2x
    # Sized to 5x at ETH's own IMF (5 %), a match at the set 50 % would cancel it.
    settings = settings_for(tmp_path / "journal.sqlite3", risk={"max_leverage": 5})

    result = await _buy_all_in(
        devnet, settings, make_signal("BUY", "ETH-USD", sizing=ALL_IN), fund=False
    )

    decision = result.decision
    assert decision is not None and decision.size is not None and decision.price is not None
    assert ("your leverage setting (chain)", "2x (IMF 500000 ppm)") in decision.arithmetic
    assert decision.bound_by in {"free collateral", "market max leverage"}
    assert decision.size * decision.price <= 2 * Decimal(10_000)


@pytest.fixture
async def oi_devnet() -> AsyncIterator[Devnet]:
    # OITEST-USD's book as deep and tight as BTC's: the fill lands at the worst price
    # the trader sized with, so no slippage it did not pay hides its margin.
    engine = EngineConfig(
        seed=7,
        markets=("BTC-USD", "OITEST-USD"),
        block_time_s=0.05,
        depth_profile=((1_000_000, 1_000_000, 1, 1),),
    )
    async with Devnet(DevnetConfig(indexer_port=0, grpc_port=0, engine=engine)) as running:
        yield running


async def test_buy_when_market_between_oi_caps_then_sized_for_its_own_open_interest_and_filled(
    oi_devnet: Devnet, tmp_path: Path, make_signal: SignalFactory
) -> None:
    # No buffer and a worst price half a basis point from the best ask: sized to the last
    # quantum of free collateral, where the IMF its own open interest brings (0.6, rising
    # 0.0004 with every unit) decides whether the match passes. Sized at today's 0.6, the
    # match cancels it (UNDERCOLLATERALIZED) about 0.03 short.
    risk = {"max_leverage": 5, "free_collateral_buffer_fraction": 0}
    settings = settings_for(
        tmp_path / "journal.sqlite3", risk=risk, execution={"slippage_bps": "5"}
    )

    result = await _buy_all_in(oi_devnet, settings, make_signal("BUY", "OITEST-USD", sizing=ALL_IN))

    decision = result.decision
    assert decision is not None and decision.size is not None
    assert decision.bound_by in {"free collateral", "market max leverage"}
    assert decision.size * 2500 > Decimal(15_000)  # about 1.6x: the market's own maximum

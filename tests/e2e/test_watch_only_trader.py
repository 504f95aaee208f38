"""A trader built without a mnemonic is watch-only: it previews like any other,
and refuses to submit before anything is journaled or sent."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from conftest import SignalFactory
from e2e_harness import settings_for

from dydx_devnet.demo import DEMO_ADDRESS
from dydx_devnet.server import Devnet
from dydx_trader.adapters.dydx.network import network_profile
from dydx_trader.bootstrap import build_trader
from dydx_trader.domain.errors import SecretUnavailable
from dydx_trader.domain.signal import SizingHint, SizingKind

SMALL = SizingHint(SizingKind.NOTIONAL_USDC, Decimal(100))


async def test_build_trader_when_no_mnemonic_then_previews_but_submit_refused_unsent(
    devnet: Devnet, tmp_path: Path, make_signal: SignalFactory
) -> None:
    address = devnet.fund_demo(Decimal(10_000))
    profile = network_profile(
        "devnet",
        indexer_url=devnet.indexer_url,
        websocket_url=devnet.websocket_url,
        grpc_address=devnet.grpc_address,
    )
    settings = settings_for(tmp_path / "journal.sqlite3")
    trader = await build_trader(settings, profile, address=address, mnemonic=None)
    await trader.start(follow_streams=False)
    try:
        preview = await trader.preview(make_signal("BUY", sizing=SMALL))
        assert preview.intent is not None and preview.intent.quantums > 0
        assert trader.watch_only

        signal = make_signal("BUY", sizing=SMALL)
        with pytest.raises(SecretUnavailable, match="without a mnemonic"):
            await trader.submit(signal)
        with pytest.raises(SecretUnavailable):
            trader.executor.sender.sign(preview.intent)
        assert trader.journal.recent_decisions() == []
        assert trader.journal.recent_orders() == []
    finally:
        await trader.stop()
    assert devnet.engine is not None
    assert devnet.engine.subaccount_orders.get((DEMO_ADDRESS, 0), []) == []

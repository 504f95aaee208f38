"""A trader built without a mnemonic is watch-only: it previews like any other,
and refuses to submit before anything is journaled or sent."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from e2e_harness import SignalFactory, journal_at, profile_of, settings_for

from dydx_devnet.demo import DEMO_ADDRESS
from dydx_devnet.server import Devnet
from dydx_trader.bootstrap import build_trader
from dydx_trader.domain.errors import SecretUnavailable
from dydx_trader.domain.signal import HintKind, SizingHint

SMALL = SizingHint(HintKind.NOTIONAL_USDC, Decimal(100))


async def test_build_trader_when_no_mnemonic_then_previews_but_submit_refused_unsent(
    devnet: Devnet, tmp_path: Path, make_signal: SignalFactory
) -> None:
    address = devnet.fund_demo(Decimal(10_000))
    settings = settings_for(tmp_path / "journal.sqlite3")
    trader = await build_trader(settings, profile_of(devnet), address=address, mnemonic=None)
    await trader.start(follow_streams=False)
    try:
        preview = await trader.preview(make_signal("BUY", sizing=SMALL))
        assert preview.intent is not None and preview.intent.quantums > 0
        assert trader.status().watch_only

        with pytest.raises(SecretUnavailable, match="without a mnemonic"):
            await trader.submit(make_signal("BUY", sizing=SMALL))
    finally:
        await trader.stop()
    with journal_at(settings) as journal:
        assert journal.recent_decisions() == []
        assert journal.recent_orders() == []
    assert devnet.engine is not None
    assert devnet.engine.subaccount_orders.get((DEMO_ADDRESS, 0), []) == []

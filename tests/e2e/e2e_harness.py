"""Helpers for the end-to-end tests: settings for the devnet and a trader wired
through the composition root, exactly as ``dydx-trader run`` wires it. A test
reads the venue and the journal through its own connections, as an operator would."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from dydx_devnet.demo import DEMO_ADDRESS, DEMO_MNEMONIC
from dydx_devnet.server import Devnet
from dydx_trader.adapters.dydx.indexer import IndexerGateway
from dydx_trader.adapters.journal import Journal
from dydx_trader.bootstrap import Trader, build_trader
from dydx_trader.config import Settings
from dydx_trader.domain.signal import Signal
from dydx_trader.secrets import Secret
from kit.trader import kit_settings as settings_for
from kit.trader import profile_of

SignalFactory = Callable[..., Signal]
"""The ``make_signal`` fixture: a Signal from keyword overrides."""

__all__ = ("journal_at", "profile_of", "settings_for", "start_trader", "venue_of")

DEMO_FUNDS_USDC = Decimal(10_000)


async def start_trader(
    devnet: Devnet,
    settings: Settings,
    *,
    fund: bool = True,
    follow_streams: bool = False,
    **adapters: Any,
) -> Trader:
    """A started trader for the devnet's demo account; ``adapters`` replace the
    real ones (``journal=``, ``node=``, ``sender=``...) as in ``build_trader``."""
    address = devnet.fund_demo(DEMO_FUNDS_USDC) if fund else DEMO_ADDRESS
    trader = await build_trader(
        settings,
        profile_of(devnet),
        address=address,
        mnemonic=None if "sender" in adapters else Secret(DEMO_MNEMONIC),
        height_max_age_s=0.1,
        settle_poll_s=0.05,
        **adapters,
    )
    await trader.start(follow_streams=follow_streams)
    return trader


def venue_of(devnet: Devnet) -> IndexerGateway:
    """The test's own reader of the devnet's indexer (close it when done)."""
    return IndexerGateway(devnet.indexer_url)


def journal_at(settings: Settings) -> Journal:
    """The test's own connection to the journal a trader writes (close it when done)."""
    return Journal.open(settings.journal.resolved_path())

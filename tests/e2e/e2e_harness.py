"""Helpers for the end-to-end tests: settings for the devnet and a trader wired
through the composition root, exactly as ``dydx-trader run`` wires it."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from dydx_devnet.demo import DEMO_ADDRESS, DEMO_MNEMONIC
from dydx_devnet.server import Devnet
from dydx_trader.adapters.dydx.network import network_profile
from dydx_trader.bootstrap import Trader, build_trader
from dydx_trader.config import Settings
from dydx_trader.secrets import Secret

DEMO_FUNDS_USDC = Decimal(10_000)


def settings_for(journal: Path, **overrides: Any) -> Settings:
    """Devnet settings with a journal under the test's folder and no cooldown,
    so a test can fire signals back to back."""
    data: dict[str, Any] = {
        "journal": {"path": str(journal)},
        "validation": {
            "cooldown_s": 0,
            "rate_limit_per_minute": 100_000,
            "rate_limit_burst": 10_000,
        },
    }
    for section, values in overrides.items():
        data.setdefault(section, {}).update(values)
    return Settings.model_validate(data)


async def start_trader(devnet: Devnet, settings: Settings, *, fund: bool = True) -> Trader:
    profile = network_profile(
        "devnet",
        indexer_url=devnet.indexer_url,
        websocket_url=devnet.websocket_url,
        grpc_address=devnet.grpc_address,
    )
    address = devnet.fund_demo(DEMO_FUNDS_USDC) if fund else DEMO_ADDRESS
    trader = await build_trader(
        settings,
        profile,
        address=address,
        mnemonic=Secret(DEMO_MNEMONIC),
        height_max_age_s=0.1,
        settle_poll_s=0.05,
    )
    await trader.start(follow_streams=False)
    return trader

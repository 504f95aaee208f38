"""Helpers for the bot-key end-to-end tests: the CLI creates the key, the composition
root builds the trader that signs with it, a real webhook feeds it signals."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from e2e_harness import DEMO_FUNDS_USDC, settings_for
from typer.testing import CliRunner, Result

from dydx_devnet.demo import DEMO_ADDRESS, DEMO_MNEMONIC
from dydx_devnet.server import Devnet
from dydx_trader.adapters.dydx.network import network_profile
from dydx_trader.adapters.webhook import SignalIntake, WebhookSecret, create_webhook_app
from dydx_trader.bootstrap import Trader, build_trader
from dydx_trader.cli import app
from dydx_trader.secrets import BOT_KEY_FILE_ENV, load_bot_key

WEBHOOK_SECRET = "e2e-webhook-secret-for-bot-keys"


@dataclass(frozen=True)
class BotKey:
    """What ``keys create-bot-key`` made: the key file, the authenticator, its output."""

    key_file: Path
    authenticator_id: int
    output: str


async def cli(devnet: Devnet, tmp_path: Path, *args: str) -> Result:
    """``dydx-trader <args>`` on the devnet, the owner's mnemonic in a private file.

    In a worker thread: the command runs its own event loop, the devnet runs on ours.
    """
    mnemonic_file = tmp_path / "owner.mnemonic"
    if not mnemonic_file.exists():
        mnemonic_file.write_text(DEMO_MNEMONIC)
        mnemonic_file.chmod(0o600)
    env = {
        "DYDX_TRADER_CONFIG": "",
        "DYDX_TRADER_MNEMONIC": "",
        "DYDX_TRADER_MNEMONIC_FILE": str(mnemonic_file),
        "DYDX_TRADER_BOT_KEY_FILE": "",
    }
    endpoints = ["--indexer-url", devnet.indexer_url, "--grpc", devnet.grpc_address]
    runner = CliRunner()
    result = await asyncio.to_thread(runner.invoke, app, [*args, *endpoints], env=env)
    assert result.exit_code == 0, result.output
    return result


async def create_bot_key(devnet: Devnet, tmp_path: Path, *options: str) -> BotKey:
    devnet.fund_demo(DEMO_FUNDS_USDC)  # the faucet creates the owner's account
    key_file = tmp_path / "bot.key"
    result = await cli(
        devnet,
        tmp_path,
        "keys",
        "create-bot-key",
        "--address",
        DEMO_ADDRESS,
        "--key-file",
        str(key_file),
        *options,
    )
    line = next(x for x in result.output.splitlines() if x.startswith("authenticator_id = "))
    return BotKey(key_file, int(line.split("=")[1]), result.output)


async def start_bot_trader(devnet: Devnet, journal: Path, bot: BotKey, **account: Any) -> Trader:
    """The trader built through the composition root, signing with the bot key only."""
    settings = settings_for(journal, account={"authenticator_id": bot.authenticator_id, **account})
    profile = network_profile(
        "devnet",
        indexer_url=devnet.indexer_url,
        websocket_url=devnet.websocket_url,
        grpc_address=devnet.grpc_address,
    )
    trader = await build_trader(
        settings,
        profile,
        address=DEMO_ADDRESS,
        mnemonic=None,  # the owner's mnemonic stays off the trading host
        bot_key=load_bot_key({BOT_KEY_FILE_ENV: str(bot.key_file)}),
        height_max_age_s=0.1,
        settle_poll_s=0.05,
    )
    await trader.start(follow_streams=False)
    return trader


@asynccontextmanager
async def webhook(trader: Trader) -> AsyncIterator[str]:
    """``POST /webhook/signals`` on a free port, feeding ``trader``; yields its URL."""
    intake = SignalIntake(WebhookSecret(WEBHOOK_SECRET), trader.submit)
    runner = web.AppRunner(create_webhook_app(intake), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}/webhook/signals"
    finally:
        await runner.cleanup()


async def post_signal(url: str, signal_id: str, market: str, action: str) -> int:
    body = {
        "secret": WEBHOOK_SECRET,
        "id": signal_id,
        "market": market,
        "action": action,
        "confidence": "0.9",
        "strategy": "tv_1h",
    }
    async with aiohttp.ClientSession() as session, session.post(url, data=json.dumps(body)) as r:
        return r.status

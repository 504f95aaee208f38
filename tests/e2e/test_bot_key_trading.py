"""Trading with a bot key (permissioned key): refused at start when the authenticator does
not fit, halted when it is revoked, and used by a paper run when configured."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest
from bot_key_harness import (
    WEBHOOK_SECRET,
    cli,
    create_bot_key,
    post_signal,
    start_bot_trader,
    webhook,
)

from dydx_devnet.demo import DEMO_ADDRESS
from dydx_devnet.server import Devnet
from dydx_trader.adapters.dydx.indexer import IndexerGateway
from dydx_trader.adapters.journal import Journal
from dydx_trader.domain.errors import SecretUnavailable
from dydx_trader.domain.order import OrderState
from dydx_trader.domain.signal import Signal as TradeSignal
from dydx_trader.domain.trading_state import TradingState

SignalFactory = Callable[..., TradeSignal]
PAPER_ARGS = ("--speed", "25000", "--seed", "3")


async def test_revoked_bot_key_when_next_order_then_chain_code_and_trading_halts(
    devnet: Devnet, tmp_path: Path, make_signal: SignalFactory
) -> None:
    bot = await create_bot_key(devnet, tmp_path)
    trader = await start_bot_trader(devnet, tmp_path / "journal.sqlite3", bot)
    try:
        first = await trader.submit(make_signal("BUY", "ETH-USD"))
        await trader.wait_settled()
        assert first.intent is not None
        with Journal.open(tmp_path / "journal.sqlite3") as journal:
            assert journal.order(first.intent.client_id).state is OrderState.FILLED

        await cli(devnet, tmp_path, "keys", "revoke", str(bot.authenticator_id))
        second = await trader.submit(make_signal("BUY", "BTC-USD"))
        third = await trader.submit(make_signal("BUY", "ETH-USD"))
        assert second.order is not None
        with Journal.open(tmp_path / "journal.sqlite3") as journal:
            rejected = journal.order_history(second.order.intent.client_id)[-1]
        status = trader.status()
    finally:
        await trader.stop()

    assert rejected.to_state is OrderState.REJECTED
    assert (rejected.numbers["codespace"], rejected.numbers["chain_code"]) == (
        "dydxaccountplus",
        1,
    )
    assert "revoked" in rejected.reason and "Authenticator is not found" in rejected.reason
    assert status.trading_state is TradingState.HALTED
    assert status.trading_reason.startswith(
        f"the bot key was revoked: authenticator {bot.authenticator_id}"
    )
    assert third.order is None and third.decision is not None
    assert third.decision.error_code == "TradingHalted"
    assert "bot key was revoked" in third.decision.reason


async def test_bot_key_when_authenticator_misses_the_subaccount_then_refuses_to_start(
    devnet: Devnet, tmp_path: Path
) -> None:
    bot = await create_bot_key(devnet, tmp_path, "--subaccount", "1")

    with pytest.raises(SecretUnavailable) as raised:
        await start_bot_trader(devnet, tmp_path / "journal.sqlite3", bot)

    message = str(raised.value)
    assert f"authenticator {bot.authenticator_id}" in message
    assert "does not cover subaccount 0" in message and "\n" not in message


async def test_bot_key_when_market_outside_its_filter_then_order_refused_with_the_chain_code(
    devnet: Devnet, tmp_path: Path
) -> None:
    bot = await create_bot_key(devnet, tmp_path, "--markets", "BTC-USD")
    trader = await start_bot_trader(devnet, tmp_path / "journal.sqlite3", bot)
    try:
        async with webhook(trader) as url:
            status = await post_signal(url, "tv-eth-1", "ETH-USD", "buy")
        with Journal.open(tmp_path / "journal.sqlite3") as journal:
            (order,) = journal.recent_orders(1)
            rejected = journal.order_history(order.intent.client_id)[-1]
        state = trader.status().trading_state
    finally:
        await trader.stop()

    assert status == 202
    assert order.intent.market == "ETH-USD" and rejected.to_state is OrderState.REJECTED
    assert (rejected.numbers["codespace"], rejected.numbers["chain_code"]) == (
        "dydxaccountplus",
        104,
    )
    assert "Clob pair id verification failed" in rejected.reason
    assert state is TradingState.ACTIVE  # one refused order; the key was not revoked


def test_paper_run_when_authenticator_configured_then_demo_bot_key_trades(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DYDX_TRADER_CONFIG": "",
        "DYDX_TRADER_ACCOUNT__AUTHENTICATOR_ID": "0",
        "DYDX_TRADER_MNEMONIC": "",
        "DYDX_TRADER_MNEMONIC_FILE": "",
    }
    run_dir = tmp_path / "run"
    command = [sys.executable, "-m", "dydx_trader", "run", "--plain", "--days", "2", *PAPER_ARGS]

    finished = subprocess.run(  # noqa: S603 - our own CLI
        [*command, "--run-dir", str(run_dir)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )

    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert "the demo bot key signs through authenticator 0" in " ".join(finished.stdout.split())
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["order_outcomes"].get("FILLED", 0) >= 1


async def test_bot_key_when_answer_lost_then_in_flight_settled_once_never_resent(
    devnet: Devnet, tmp_path: Path, make_signal: SignalFactory
) -> None:
    bot = await create_bot_key(devnet, tmp_path)
    trader = await start_bot_trader(devnet, tmp_path / "journal.sqlite3", bot)
    try:
        devnet.faults.drop_next_broadcast_responses(1)
        result = await trader.submit(make_signal("BUY", "ETH-USD"))
        await trader.wait_settled()
        assert result.intent is not None
        with Journal.open(tmp_path / "journal.sqlite3") as journal:
            settled = journal.order(result.intent.client_id)
        indexer = IndexerGateway(devnet.indexer_url)
        try:
            listed = await indexer.get_orders(DEMO_ADDRESS, 0)
        finally:
            await indexer.close()
        on_venue = [order for order in listed if order.client_id == result.intent.client_id]
    finally:
        await trader.stop()

    assert result.order is not None and result.order.state is OrderState.IN_FLIGHT_UNKNOWN
    assert settled.state is OrderState.FILLED
    assert len(on_venue) == 1


async def test_live_run_when_bot_key_configured_then_webhook_order_fills_on_owner(
    devnet: Devnet, tmp_path: Path
) -> None:
    bot = await create_bot_key(devnet, tmp_path, "--markets", "ETH-USD")
    port = free_port()
    env = {
        **os.environ,
        "DYDX_TRADER_CONFIG": "",
        "DYDX_TRADER_MNEMONIC": "",  # the owner's mnemonic is not on this host
        "DYDX_TRADER_MNEMONIC_FILE": "",
        "DYDX_TRADER_BOT_KEY_FILE": str(bot.key_file),
        "DYDX_TRADER_ACCOUNT__AUTHENTICATOR_ID": str(bot.authenticator_id),
        # The endpoints apply to the config's network: name it.
        "DYDX_TRADER_NETWORK__NAME": "testnet",
        "DYDX_TRADER_NETWORK__INDEXER_URL": devnet.indexer_url,
        "DYDX_TRADER_NETWORK__WEBSOCKET_URL": devnet.websocket_url,
        "DYDX_TRADER_NETWORK__GRPC_ADDRESS": devnet.grpc_address,
        "DYDX_TRADER_JOURNAL__PATH": str(tmp_path / "live.sqlite3"),
        "DYDX_TRADER_WEBHOOK_SECRET": WEBHOOK_SECRET,
    }
    # "testnet" with every endpoint pointed at the devnet: the live code path, on loopback.
    process = await asyncio.create_subprocess_exec(
        *[sys.executable, "-m", "dydx_trader", "run", "--network", "testnet"],
        *["--address", DEMO_ADDRESS, "--plain", "--http-port", str(port)],
        *["--run-dir", str(tmp_path / "run")],
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        status = await post_when_up(f"http://127.0.0.1:{port}/webhook/signals")
        fills = await wait_for_fills(devnet)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
        output, _ = await asyncio.wait_for(process.communicate(), 120)
    text = output.decode()

    assert status == 202, text
    assert fills, text
    assert process.returncode == 0, text
    assert bot.key_file.read_text().strip()[:16] not in text


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def post_when_up(url: str) -> int:
    for _ in range(300):
        try:
            return await post_signal(url, "tv-live-1", "ETH-USD", "buy")
        except aiohttp.ClientConnectionError:
            await asyncio.sleep(0.2)
    raise TimeoutError(f"nothing answered on {url}")


async def wait_for_fills(devnet: Devnet) -> list[dict[str, object]]:
    async with aiohttp.ClientSession() as session:
        for _ in range(100):
            url = f"{devnet.indexer_url}/v4/fills?address={DEMO_ADDRESS}&subaccountNumber=0"
            async with session.get(url) as answer:
                fills: list[dict[str, object]] = (await answer.json())["fills"]
            if fills:
                return fills
            await asyncio.sleep(0.1)
    return []

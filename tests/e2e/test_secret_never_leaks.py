"""The signing secrets (the owner's mnemonic, a bot key) never appear in logs, the
journal, output or exceptions; and no page or answer of the dashboard shows them,
the webhook secret or the dashboard's token."""

from __future__ import annotations

import io
import logging
import socket
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest
from bot_key_harness import create_bot_key, post_signal, start_bot_trader, webhook
from e2e_harness import profile_of, settings_for, start_trader
from rich.console import Console

from dydx_devnet.demo import DEMO_ADDRESS, DEMO_MNEMONIC
from dydx_devnet.server import Devnet
from dydx_trader.adapters.dydx.indexer import IndexerGateway
from dydx_trader.adapters.dydx.node import NodeGateway
from dydx_trader.app.ports import SystemClock
from dydx_trader.bootstrap import build_trader, signing_sender
from dydx_trader.cli.run_http import operator_http
from dydx_trader.domain.errors import SecretUnavailable
from dydx_trader.domain.order import OrderState
from dydx_trader.domain.signal import Signal
from dydx_trader.secrets import Secret

SignalFactory = Callable[..., Signal]

# Any three consecutive words of the phrase would already be a leak.
CANARY_FRAGMENTS = [" ".join(DEMO_MNEMONIC.split()[i : i + 3]) for i in range(0, 22, 3)]


def assert_clean(text: str, where: str) -> None:
    for fragment in CANARY_FRAGMENTS:
        assert fragment not in text, f"mnemonic fragment {fragment!r} leaked into {where}"


async def test_full_trade_with_canary_mnemonic_leaks_it_nowhere(
    devnet: Devnet,
    tmp_path: Path,
    make_signal: SignalFactory,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    journal = tmp_path / "journal.sqlite3"
    node = await NodeGateway.connect(profile_of(devnet), timeout_s=5)
    devnet.fund_demo()
    sender = await signing_sender(node, Secret(DEMO_MNEMONIC), DEMO_ADDRESS, timeout_s=5)
    trader = await start_trader(devnet, settings_for(journal), node=node, sender=sender)
    try:
        bought = await trader.submit(make_signal("BUY", "ETH-USD"))
        assert bought.order is not None and bought.order.state is OrderState.SUBMITTED
        await trader.wait_settled()
        closed = await trader.submit(make_signal("CLOSE", "ETH-USD"))
        assert closed.order is not None  # something was signed and sent
        await trader.wait_settled()
        assert_clean(repr(trader), "repr of the trader")
        assert_clean(repr(trader.status()), "repr of the trader's status")
        assert_clean(repr(sender), "repr of the order gateway")
    finally:
        await trader.stop()

    assert_clean(caplog.text, "logs")
    captured = capsys.readouterr()
    assert_clean(captured.out + captured.err, "output")
    for path in tmp_path.glob("journal.sqlite3*"):
        assert_clean(path.read_bytes().decode("utf-8", "replace"), path.name)


async def test_wrong_mnemonic_when_building_then_error_names_no_words(
    devnet: Devnet, tmp_path: Path
) -> None:
    address = devnet.fund_demo()
    profile = profile_of(devnet)
    broken = Secret(DEMO_MNEMONIC.replace("learn", "notaword"))

    with pytest.raises(SecretUnavailable) as raised:
        await build_trader(
            settings_for(tmp_path / "j.sqlite3"), profile, address=address, mnemonic=broken
        )

    assert_clean(str(raised.value), "the exception")
    assert_clean(repr(raised.value), "the exception's repr")


async def test_bot_key_created_by_cli_trades_over_webhook_and_leaks_neither_secret(
    devnet: Devnet,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    bot = await create_bot_key(devnet, tmp_path, "--markets", "ETH-USD,BTC-USD")
    bot_private = bot.key_file.read_text().strip()
    journal = tmp_path / "journal.sqlite3"
    trader = await start_bot_trader(devnet, journal, bot)
    try:
        async with webhook(trader) as url:
            status = await post_signal(url, "tv-bot-1", "ETH-USD", "buy")
        await trader.wait_settled()
        indexer = IndexerGateway(devnet.indexer_url)
        try:
            fills = await indexer.get_fills(DEMO_ADDRESS, 0, market="ETH-USD")
        finally:
            await indexer.close()
        # The signing gateway is private to the trader; its repr is what a log could show.
        gateway = repr(trader._executor.sender)
        assert_clean(gateway, "repr of the order gateway")
        assert bot_private not in gateway
    finally:
        await trader.stop()

    assert status == 202
    assert fills, "the bot key's order filled on the owner's subaccount"
    captured = capsys.readouterr()
    texts = {
        "logs": caplog.text,
        "output": captured.out + captured.err,
        "the CLI's output": bot.output,
    }
    for path in tmp_path.glob("journal.sqlite3*"):
        texts[path.name] = path.read_bytes().decode("utf-8", "replace")
    for where, text in texts.items():
        assert_clean(text, where)
        assert bot_private[:16] not in text.lower(), f"the bot key leaked into {where}"


async def test_dashboard_when_trading_then_no_page_or_answer_holds_a_secret(
    devnet: Devnet,
    tmp_path: Path,
    make_signal: SignalFactory,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    webhook_secret = "canary-webhook-secret-0123456789"
    dashboard_token = "canary-dashboard-token-987"
    monkeypatch.setenv("DYDX_TRADER_WEBHOOK_SECRET", webhook_secret)
    monkeypatch.setenv("DYDX_TRADER_DASHBOARD_TOKEN", dashboard_token)
    settings = settings_for(tmp_path / "journal.sqlite3")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.setblocking(False)
    screen = io.StringIO()
    clock = SystemClock()
    answers: dict[str, str] = {}
    async with operator_http(settings, listener, clock, Console(file=screen), mode="devnet",
                             session_start=None, step_s=3600) as http:  # fmt: skip
        node = await NodeGateway.connect(profile_of(devnet), timeout_s=5)
        devnet.fund_demo()
        sender = await signing_sender(node, Secret(DEMO_MNEMONIC), DEMO_ADDRESS, timeout_s=5)
        trader = await start_trader(devnet, settings, node=node, sender=sender,
                                    metrics=http.metrics)  # fmt: skip
        http.source.trader = trader
        try:
            await http.take_signals(settings, trader.submit, clock, Console(file=screen))
            await trader.submit(make_signal("BUY", "ETH-USD"))
            await trader.wait_settled()
            await trader.mark_to_market()
            async with aiohttp.ClientSession() as client:
                url = http.server.url
                for path in ("", "static/app.js", "static/index.html", "api/state", "api/series",
                             "api/trading-state", "metrics", "readyz", "healthz"):  # fmt: skip
                    async with client.get(url + path) as answer:
                        answers[path or "/"] = await answer.text()
                async with client.get(url + "api/events") as answer:
                    answers["events"] = (await answer.content.readuntil(b"\n\n")).decode()
                for token in (None, "wrong-token-but-long-enough"):
                    headers = {"Content-Type": "application/json"}
                    if token:
                        headers["Authorization"] = f"Bearer {token}"
                    async with client.post(url + "api/trading-state", data='{"state": "halted"}',
                                           headers=headers) as answer:  # fmt: skip
                        answers[f"control {token}"] = f"{answer.status} {await answer.text()}"
                async with client.post(url + "webhook/signals", json={"secret": "nope"}) as answer:
                    answers["webhook refusal"] = await answer.text()
        finally:
            await trader.stop()

    answers["screen"] = screen.getvalue()
    answers["logs"] = caplog.text
    assert '"ACCEPTED"' in answers["api/state"]  # the pages did show the trading
    for where, text in answers.items():
        assert_clean(text, where)
        assert webhook_secret not in text, f"the webhook secret leaked into {where}"
        assert dashboard_token not in text, f"the dashboard token leaked into {where}"

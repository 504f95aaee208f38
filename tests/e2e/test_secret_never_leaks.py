"""The signing secrets (the owner's mnemonic, a bot key) never appear in logs, the
journal, output or exceptions."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from bot_key_harness import create_bot_key, post_signal, start_bot_trader, webhook
from e2e_harness import profile_of, settings_for, start_trader

from dydx_devnet.demo import DEMO_ADDRESS, DEMO_MNEMONIC
from dydx_devnet.server import Devnet
from dydx_trader.adapters.dydx.indexer import IndexerGateway
from dydx_trader.adapters.dydx.node import NodeGateway
from dydx_trader.bootstrap import build_trader, signing_sender
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

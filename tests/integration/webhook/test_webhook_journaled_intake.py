"""The ``run`` webhook over real HTTP: journaled before the 202, replays refused across
restarts, a bounded intake (503 + Retry-After), and nothing dropped at shutdown (review F10)."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from dydx_trader.adapters.journal import Journal
from dydx_trader.adapters.webhook import (
    SECRET_ENV_VAR,
    SignalDispatch,
    SignalIntake,
    WebhookSecret,
    WebhookServer,
)
from dydx_trader.cli.run_guard import serve_webhook
from dydx_trader.cli.webhook_cmd import bind_listener
from dydx_trader.config import load_config
from dydx_trader.domain.signal import Signal, SignalSource

SECRET_TEXT = "journaled-intake-secret-1234"


class Trader:
    """Stands in for ``trader.submit``: records each signal, waits while ``gate`` is shut."""

    def __init__(self) -> None:
        self.decided: list[str] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.fail = False

    async def submit(self, signal: Signal) -> None:
        await self.gate.wait()
        if self.fail:
            raise RuntimeError("the actor stopped")
        self.decided.append(signal.id)


@asynccontextmanager
async def serving(
    journal: Journal, trader: Trader, max_pending: int = 8
) -> AsyncIterator[tuple[WebhookServer, str]]:
    dispatch = SignalDispatch(trader.submit, journal=journal, max_pending=max_pending)
    intake = SignalIntake(WebhookSecret(SECRET_TEXT), dispatch)
    server = await WebhookServer.start(intake, dispatch, bind_listener("127.0.0.1", 0))
    try:
        yield server, f"http://127.0.0.1:{server.port}/webhook/signals"
    finally:
        await server.cleanup()


async def post(url: str, signal_id: str) -> tuple[int, dict[str, Any], dict[str, str]]:
    body = {"secret": SECRET_TEXT, "id": signal_id, "market": "ETH-USD", "action": "buy"}
    async with aiohttp.ClientSession() as session, session.post(url, json=body) as answer:
        return answer.status, json.loads(await answer.text()), dict(answer.headers)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "journal.sqlite3"


async def test_post_when_answered_202_then_signal_already_in_the_journal(path: Path) -> None:
    trader = Trader()
    trader.gate.clear()  # the trader is busy: the decision comes later
    with Journal.open(path, fsync=False) as journal:
        async with serving(journal, trader) as (_, url):
            status, _, _ = await post(url, "tv-1")

            with Journal.open(path, read_only=True) as reader:
                assert status == 202
                assert [s.id for s in reader.undecided_signals()] == ["tv-1"]
            trader.gate.set()
    assert trader.decided == ["tv-1"]


async def test_post_when_same_id_after_restart_then_409_and_decided_once(path: Path) -> None:
    trader = Trader()
    answers = []
    for _ in range(2):  # a session, then the same journal after a restart
        with Journal.open(path, fsync=False) as journal:
            async with serving(journal, trader) as (_, url):
                answers.append((await post(url, "tv-7"))[0])
    assert answers == [202, 409]
    assert trader.decided == ["tv-7"]


async def test_post_when_intake_full_then_503_with_retry_after_and_same_id_later_202(
    path: Path,
) -> None:
    trader = Trader()
    trader.gate.clear()
    with Journal.open(path, fsync=False) as journal:
        async with serving(journal, trader, max_pending=1) as (_, url):
            assert (await post(url, "first"))[0] == 202
            status, payload, headers = await post(url, "second")
            assert status == 503 and "waiting for a decision" in payload["error"]
            assert int(headers["Retry-After"]) > 0
            trader.gate.set()
            while trader.decided != ["first"]:
                await asyncio.sleep(0.01)
            assert (await post(url, "second"))[0] == 202
    assert trader.decided == ["first", "second"]


async def test_cleanup_when_signals_pending_then_new_posts_503_and_pending_decided_first(
    path: Path,
) -> None:
    trader = Trader()
    trader.gate.clear()
    with Journal.open(path, fsync=False) as journal:
        async with serving(journal, trader) as (server, url):
            assert (await post(url, "accepted"))[0] == 202
            closing = asyncio.ensure_future(server.cleanup())
            await asyncio.sleep(0.05)
            status, payload, headers = await post(url, "too-late")
            assert status == 503 and "shutting down" in payload["error"]
            assert "Retry-After" in headers
            assert not closing.done()  # still waiting for the accepted signal
            trader.gate.set()
            await closing
            assert trader.decided == ["accepted"]
        assert [s.id for s in journal.undecided_signals()] == ["accepted"]  # no decision here


async def test_submit_when_it_fails_after_the_202_then_logged_never_an_unretrieved_task(
    path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    trader = Trader()
    trader.fail = True
    unhandled: list[dict[str, Any]] = []
    asyncio.get_running_loop().set_exception_handler(lambda _, context: unhandled.append(context))
    with Journal.open(path, fsync=False) as journal:
        async with serving(journal, trader) as (_, url):
            assert (await post(url, "doomed"))[0] == 202
    gc.collect()
    await asyncio.sleep(0)

    assert unhandled == []
    assert any(
        "doomed" in r.getMessage() and "the actor stopped" in r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.ERROR
    )


async def test_post_when_journal_unwritable_then_503_and_same_id_accepted_later(
    path: Path,
) -> None:
    trader = Trader()
    journal = Journal.open(path, fsync=False)
    async with serving(journal, trader) as (_, url):
        journal.close()  # the disk went away
        status, payload, _ = await post(url, "tv-9")
        assert status == 503 and "retry" in payload["error"]
    with Journal.open(path, fsync=False) as reopened:
        async with serving(reopened, trader) as (_, url):
            assert (await post(url, "tv-9"))[0] == 202
    assert trader.decided == ["tv-9"]


async def test_serve_webhook_when_journal_holds_undecided_alerts_then_each_decided_at_start(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Journal.open(path, fsync=False) as journal:  # a crash left these journaled
        journaled = (("tv-a", SignalSource.WEBHOOK), ("strat-b", SignalSource.STRATEGY))
        for signal_id, source in journaled:
            signal = Signal.create(
                id=signal_id, market="BTC-USD", action="sell", source=source,
                strategy="tv", created_at=datetime.now(UTC),
            )  # fmt: skip
            journal.record_signal(signal)
    config = tmp_path / "dydx-trader.toml"
    config.write_text(f'[journal]\npath = "{path}"\n[http]\nport = 1\n')
    settings = load_config(config)
    settings = settings.model_copy(update={"http": settings.http.model_copy(update={"port": 0})})
    monkeypatch.setenv(SECRET_ENV_VAR, SECRET_TEXT)
    trader = Trader()

    listener = bind_listener("127.0.0.1", 0)
    server = await serve_webhook(settings, listener, trader.submit, clock=lambda: datetime.now(UTC))
    await server.cleanup()

    assert trader.decided == ["tv-a"]  # strategy signals are the strategies' to re-derive

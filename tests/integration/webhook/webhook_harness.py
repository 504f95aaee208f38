"""A real webhook server on a free loopback port, with a recording sink."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer

from dydx_trader.adapters.webhook import SignalIntake, WebhookSecret, create_webhook_app
from dydx_trader.domain.signal import Signal

SECRET_TEXT = "canary-7f3a9c1e5b2d4f60a8e1"
NOW = datetime(2025, 1, 1, 12, tzinfo=UTC)


class Recorder:
    """The sink: keeps every signal handed over."""

    def __init__(self) -> None:
        self.signals: list[Signal] = []
        self.fail = False

    async def __call__(self, signal: Signal) -> None:
        if self.fail:
            raise RuntimeError("queue closed")
        self.signals.append(signal)


class Webhook:
    """A client bound to the running server."""

    def __init__(self, session: aiohttp.ClientSession, url: str, recorder: Recorder) -> None:
        self.session = session
        self.url = url
        self.recorder = recorder
        self.secret = WebhookSecret(SECRET_TEXT)

    async def post(
        self, body: bytes | str | dict[str, Any], headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, Any]]:
        if isinstance(body, dict):
            data = json.dumps(body).encode()
        elif isinstance(body, str):
            data = body.encode()
        else:
            data = body
        async with self.session.post(self.url, data=data, headers=headers or {}) as response:
            text = await response.text()
            try:
                payload = json.loads(text)
            except ValueError:
                payload = {"raw": text}
            return response.status, payload


@asynccontextmanager
async def running_webhook(
    max_body_bytes: int = 64 * 1024, max_clock_skew_s: float | None = None
) -> AsyncIterator[Webhook]:
    recorder = Recorder()
    intake = SignalIntake(
        WebhookSecret(SECRET_TEXT),
        recorder,
        clock=lambda: NOW,
        max_body_bytes=max_body_bytes,
        max_clock_skew_s=max_clock_skew_s,
    )
    server = TestServer(create_webhook_app(intake), host="127.0.0.1")
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as session:
            yield Webhook(session, str(server.make_url("/webhook/signals")), recorder)
    finally:
        await server.close()

"""The optional ``time`` field: the sender's time becomes the signal's, so the staleness
rule applies to webhook alerts (review R3); a time too far ahead is refused."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from webhook_harness import NOW, SECRET_TEXT, Recorder

from dydx_trader.adapters.webhook import SignalIntake, WebhookSecret, create_webhook_app
from dydx_trader.app.validation import SignalValidator, ValidationConfig

SKEW_S = 5.0


class Hook:
    def __init__(self, session: aiohttp.ClientSession, url: str, recorder: Recorder) -> None:
        self.session, self.url, self.recorder = session, url, recorder

    async def post(self, **fields: object) -> tuple[int, dict[str, Any]]:
        body = {"secret": SECRET_TEXT, "market": "BTC-USD", "action": "buy", **fields}
        async with self.session.post(self.url, json=body) as answer:
            return answer.status, await answer.json()


@pytest.fixture
async def hook() -> AsyncIterator[Hook]:
    recorder = Recorder()
    intake = SignalIntake(
        WebhookSecret(SECRET_TEXT), recorder, clock=lambda: NOW, max_clock_skew_s=SKEW_S
    )
    server = TestServer(create_webhook_app(intake), host="127.0.0.1")
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as session:
            yield Hook(session, str(server.make_url("/webhook/signals")), recorder)
    finally:
        await server.close()


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        ("2025-01-01T11:59:30Z", NOW - timedelta(seconds=30)),
        ("2025-01-01T13:59:30+02:00", NOW - timedelta(seconds=30)),
        (int(NOW.timestamp()) - 90, NOW - timedelta(seconds=90)),
        (f"{int(NOW.timestamp()) - 1}.5", NOW - timedelta(seconds=0.5)),
        (None, NOW),
    ],
)
async def test_post_when_time_given_then_it_becomes_created_at(
    hook: Hook, sent: object, expected: datetime
) -> None:
    status, payload = await hook.post(**({} if sent is None else {"time": sent}))
    assert status == 202, payload
    assert hook.recorder.signals[0].created_at == expected


@pytest.mark.parametrize(
    ("sent", "message"),
    [
        ("2025-01-01T12:00:00", "must carry its time zone"),
        ("yesterday", "must be ISO-8601"),
        (int(NOW.timestamp()) * 1000, "milliseconds"),
        (-5, "is not epoch seconds"),
        (True, "must be a string or a number"),
        ([1], "must be a string or a number"),
        ("2025-01-01T12:01:00Z", "60.0 s ahead of this server's clock (at most 5 s allowed)"),
    ],
)
async def test_post_when_time_malformed_or_ahead_then_422_naming_it(
    hook: Hook, sent: object, message: str
) -> None:
    status, payload = await hook.post(time=sent)
    assert status == 422 and message in payload["error"], payload
    assert hook.recorder.signals == []


async def test_post_when_alert_was_delayed_then_the_validator_refuses_it_as_stale(
    hook: Hook,
) -> None:
    late = (NOW - timedelta(minutes=10)).isoformat()
    status, _ = await hook.post(time=late, id="tv-late")
    assert status == 202
    validator = SignalValidator(ValidationConfig(), markets=None, clock=lambda: NOW.astimezone(UTC))

    verdict = validator.validate(hook.recorder.signals[0])

    assert verdict.rejection is not None and verdict.rejection.rule.value == "fresh"

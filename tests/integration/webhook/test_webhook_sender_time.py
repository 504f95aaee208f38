"""The optional ``time`` field: the sender's time becomes the signal's, so the staleness
rule applies to webhook alerts (review R3); a time too far ahead is refused."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from webhook_harness import NOW, SECRET_TEXT, Webhook, running_webhook

from dydx_trader.app.validation import SignalValidator, ValidationConfig
from kit.clock import FakeClock

SKEW_S = 5.0


@pytest.fixture
async def hook() -> AsyncIterator[Webhook]:
    async with running_webhook(max_clock_skew_s=SKEW_S) as webhook:
        yield webhook


async def post(hook: Webhook, **fields: object) -> tuple[int, dict[str, Any]]:
    return await hook.post({"secret": SECRET_TEXT, "market": "BTC-USD", "action": "buy", **fields})


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
    hook: Webhook, sent: object, expected: datetime
) -> None:
    status, payload = await post(hook, **({} if sent is None else {"time": sent}))
    assert status == 202, payload
    assert hook.recorder.signals[0].created_at == expected


@pytest.mark.parametrize(
    ("sent", "message"),
    [
        ("2025-01-01T12:00:00", "must carry its time zone"),
        ("yesterday", "must be ISO-8601"),
        ("1" * 65, "too long to be a time"),
        (int(NOW.timestamp()) * 1000, "milliseconds"),
        (-5, "is not epoch seconds"),
        (True, "must be a string or a number"),
        ([1], "must be a string or a number"),
        ("2025-01-01T12:01:00Z", "60.0 s ahead of this server's clock (at most 5 s allowed)"),
    ],
)
async def test_post_when_time_malformed_or_ahead_then_422_naming_it(
    hook: Webhook, sent: object, message: str
) -> None:
    status, payload = await post(hook, time=sent)
    assert status == 422 and message in payload["error"], payload
    assert hook.recorder.signals == []


async def test_post_when_alert_was_delayed_then_the_validator_refuses_it_as_stale(
    hook: Webhook,
) -> None:
    late = (NOW - timedelta(minutes=10)).isoformat()
    status, _ = await post(hook, time=late, id="tv-late")
    assert status == 202
    validator = SignalValidator(
        ValidationConfig(), markets=None, clock=FakeClock(NOW.astimezone(UTC))
    )

    verdict = validator.validate(hook.recorder.signals[0])

    assert verdict.rejection is not None and verdict.rejection.rule.value == "fresh"

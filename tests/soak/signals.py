"""How the soak sends a signal: a webhook alert over HTTP, or a :class:`Signal` submitted directly.

A webhook sender behaves like TradingView: it posts, and on a 503 (intake full,
journal busy, shutting down) or a refused connection (the trader restarting)
it retries the same id a few times, then gives up. The answer is kept only as
a note: what counts is what the venue and the journal show.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from decimal import Decimal

import aiohttp

from dydx_trader.domain.signal import Signal, SignalSource
from soak.schedule import Ask

WEBHOOK_SECRET = "soak-webhook-secret-that-is-long-enough-0123456789"
_RETRIES = 12
_RETRY_S = 0.25
_ANSWER_S = 60.0


def alert(ask: Ask) -> dict[str, str]:
    """The alert body for ``ask`` (the fields every trader version accepts)."""
    return {
        "secret": WEBHOOK_SECRET,
        "id": ask.signal_id,
        "market": ask.market,
        "action": ask.action.lower(),
        "confidence": ask.confidence,
        "strategy": "soak",
    }


def direct(ask: Ask) -> Signal:
    """``ask`` as a signal submitted in-process (the CLI's source)."""
    return Signal.create(
        id=ask.signal_id,
        market=ask.market,
        action=ask.action,
        confidence=Decimal(ask.confidence),
        created_at=datetime.now(UTC),
        source=SignalSource.CLI,
        strategy="soak",
    )


async def post(session: aiohttp.ClientSession, port: int, ask: Ask) -> str:
    """Post ``ask`` to the webhook on ``port``; the last answer, as ``"HTTP 202"``."""
    url = f"http://127.0.0.1:{port}/webhook/signals"
    body = json.dumps(alert(ask))
    answer = "no answer"
    for _ in range(_RETRIES):
        try:
            async with session.post(
                url, data=body, timeout=aiohttp.ClientTimeout(total=_ANSWER_S)
            ) as response:
                answer = f"HTTP {response.status}"
                if response.status != 503:
                    return answer
        except (aiohttp.ClientError, TimeoutError) as error:
            answer = f"{type(error).__name__}"
        await asyncio.sleep(_RETRY_S)
    return answer

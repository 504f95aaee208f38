"""Hypothesis throws generated bodies at the real webhook: never a 5xx, never a signal
without the secret, and every 202 is a well-formed signal."""

from __future__ import annotations

import asyncio
import http.client
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dydx_trader.adapters.webhook import SignalIntake, WebhookSecret, create_webhook_app
from dydx_trader.domain.signal import Action, Signal

SECRET_TEXT = "generated-bodies-secret-0123"
SETTINGS = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


class Server:
    """The webhook on a free loopback port, served from a background thread's loop."""

    def __init__(self) -> None:
        self.signals: list[Signal] = []
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    async def _sink(self, signal: Signal) -> None:
        self.signals.append(signal)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        intake = SignalIntake(
            WebhookSecret(SECRET_TEXT), self._sink, clock=lambda: datetime.now(UTC)
        )
        self._runner = web.AppRunner(create_webhook_app(intake))
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._ready.set()
        self._loop.run_forever()

    def start(self) -> None:
        self._thread.start()
        assert self._ready.wait(10), "webhook server did not start"

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def post(self, raw: bytes, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request("POST", "/webhook/signals", body=raw, headers=headers or {})
            response = conn.getresponse()
            return response.status, json.loads(response.read())
        finally:
            conn.close()


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    running = Server()
    running.start()
    yield running
    running.stop()


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
field_values = st.one_of(
    json_values,
    st.sampled_from(["BTC-USD", "eth-usd", "BUY", "sell", "close", "HOLD", "0.7", "1e999", "-1"]),
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
    st.integers(min_value=-(10**30), max_value=10**30),
)
FIELDS = ["id", "market", "action", "confidence", "price", "stop_loss", "take_profit", "strategy"]
random_bodies = st.fixed_dictionaries(
    {},
    optional={name: field_values for name in FIELDS} | {"junk": json_values},
)
prices = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal(10**6), places=4)
# Mostly well-formed alerts, so that the accepted path is exercised too.
plausible_bodies = st.fixed_dictionaries(
    {
        "market": st.sampled_from(["BTC-USD", "eth-usd", "SOL-USD", "1INCH-USD", "BTC/USD"]),
        "action": st.sampled_from(["BUY", "sell", "Close", "hold", "long"]),
    },
    optional={
        "id": st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=66),
        "confidence": st.decimals(min_value=0, max_value=Decimal("1.1"), places=3).map(float),
        "price": prices.map(str) | prices.map(float),
        "strategy": st.from_regex(r"[a-z][a-z_ ]{0,10}", fullmatch=True),
    },
)
bodies = random_bodies | plausible_bodies


def _encode(value: object) -> bytes:
    return json.dumps(value, allow_nan=True, default=str).encode()


@SETTINGS
@given(fields=bodies, with_secret=st.booleans())
def test_generated_field_bodies_when_posted_then_never_5xx_and_only_secret_holders_accepted(
    server: Server, fields: dict[str, object], with_secret: bool
) -> None:
    if with_secret:
        fields = {"secret": SECRET_TEXT, **fields}
    before = len(server.signals)
    status, payload = server.post(_encode(fields))
    assert status in {202, 401, 409, 422}, (status, payload)
    if status == 202:
        assert with_secret
        signal = server.signals[-1]
        assert payload == {"signal_id": signal.id}
        assert signal.action in set(Action)
        assert Decimal(0) <= signal.confidence <= 1
        assert signal.market.endswith("-USD")
    else:
        assert len(server.signals) == before
        assert isinstance(payload["error"], str) and payload["error"]
        assert SECRET_TEXT not in payload["error"]
    if not with_secret:
        assert status in {401, 422}


@SETTINGS
@given(value=json_values)
def test_generated_json_values_without_secret_when_posted_then_401_or_422(
    server: Server, value: object
) -> None:
    before = len(server.signals)
    status, _ = server.post(_encode(value))
    assert status in {401, 422}
    assert len(server.signals) == before


@SETTINGS
@given(raw=st.binary(max_size=300), signed=st.booleans())
def test_generated_bytes_when_posted_then_never_5xx_never_a_signal(
    server: Server, raw: bytes, signed: bool
) -> None:
    headers = {"X-Signature": "sha256=" + "ab" * 32} if signed else {}
    before = len(server.signals)
    status, _ = server.post(raw, headers)
    assert 400 <= status < 500
    assert len(server.signals) == before


@SETTINGS
@given(fields=bodies)
def test_generated_bodies_when_correctly_signed_then_never_5xx(
    server: Server, fields: dict[str, object]
) -> None:
    raw = _encode(fields)
    status, _ = server.post(raw, {"X-Signature": WebhookSecret(SECRET_TEXT).sign(raw)})
    assert status in {202, 409, 422}

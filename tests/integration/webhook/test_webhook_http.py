"""The webhook over real HTTP on loopback: auth, hostile bodies, replays; never a 500."""

from __future__ import annotations

import json
import logging
import pickle
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from webhook_harness import NOW, SECRET_TEXT, Webhook, running_webhook

from dydx_trader.adapters.webhook import SECRET_ENV_VAR, WebhookSecret
from dydx_trader.domain.errors import SecretUnavailable
from dydx_trader.domain.signal import Action, SignalSource


@pytest.fixture
async def hook() -> AsyncIterator[Webhook]:
    async with running_webhook() as webhook:
        yield webhook


def body(**fields: object) -> dict[str, object]:
    base: dict[str, object] = {"secret": SECRET_TEXT, "market": "BTC-USD", "action": "buy"}
    base.update(fields)
    return base


# -- accepted ---------------------------------------------------------------------------


async def test_post_when_secret_field_and_minimal_body_then_202_and_signal_to_sink(
    hook: Webhook,
) -> None:
    status, payload = await hook.post(body())
    assert status == 202
    [signal] = hook.recorder.signals
    assert payload == {"signal_id": signal.id}
    assert signal.action is Action.BUY and signal.market == "BTC-USD"
    assert signal.source is SignalSource.WEBHOOK and signal.strategy == "webhook"
    assert signal.confidence == 1 and signal.created_at == NOW


async def test_post_when_full_tradingview_body_then_exact_decimals(hook: Webhook) -> None:
    text = (
        f'{{"secret": "{SECRET_TEXT}", "id": "tv-42", "market": "eth-usd", "action": "SELL",'
        ' "confidence": 0.85, "price": 3021.37, "stop_loss": "3100.10",'
        ' "take_profit": 2900, "strategy": "tv_breakout"}'
    )
    status, payload = await hook.post(text)
    assert (status, payload) == (202, {"signal_id": "tv-42"})
    [signal] = hook.recorder.signals
    assert signal.market == "ETH-USD" and signal.action is Action.SELL
    assert signal.confidence == Decimal("0.85")
    assert signal.reference_price == Decimal("3021.37")
    assert signal.stop_loss == Decimal("3100.10")
    assert signal.take_profit == Decimal(2900)
    assert signal.strategy == "tv_breakout"


async def test_post_when_valid_hmac_header_then_202_without_secret_field(hook: Webhook) -> None:
    raw = json.dumps({"market": "SOL-USD", "action": "close"}).encode()
    status, _ = await hook.post(raw, {"X-Signature": hook.secret.sign(raw)})
    assert status == 202
    assert hook.recorder.signals[0].action is Action.CLOSE


# -- authentication -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "secret",
    [None, "", "wrong", SECRET_TEXT + "x", SECRET_TEXT[:-1], SECRET_TEXT.upper(), 12345, ["x"]],
)
async def test_post_when_secret_missing_or_wrong_then_401_and_no_signal(
    hook: Webhook, secret: object
) -> None:
    fields = body()
    if secret is None:
        del fields["secret"]
    else:
        fields["secret"] = secret
    status, payload = await hook.post(fields)
    assert status == 401
    assert payload == {"error": "missing or wrong secret"}
    assert hook.recorder.signals == []


@pytest.mark.parametrize(
    "header",
    ["sha256=" + "0" * 64, "sha256=abc", "md5=" + "0" * 64, "", "sha256=" + "g" * 64],
)
async def test_post_when_signature_header_bad_then_401_even_with_good_secret_field(
    hook: Webhook, header: str
) -> None:
    status, _ = await hook.post(body(), {"X-Signature": header})
    assert status == 401
    assert hook.recorder.signals == []


async def test_post_when_signature_of_other_body_then_401(hook: Webhook) -> None:
    raw = json.dumps({"market": "SOL-USD", "action": "buy"}).encode()
    tampered = raw.replace(b"buy", b"sell")
    status, _ = await hook.post(tampered, {"X-Signature": hook.secret.sign(raw)})
    assert status == 401


async def test_post_when_field_errors_without_secret_then_401_not_422(hook: Webhook) -> None:
    # Strangers learn nothing about the fields: authentication comes first.
    status, _ = await hook.post({"market": "NOT A MARKET", "action": "fly"})
    assert status == 401


# -- malformed and hostile bodies ------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"action": None}, "field 'action' is required"),
        ({"market": None}, "field 'market' is required"),
        ({"market": 5}, "field 'market' must be a string, not a number"),
        ({"action": True}, "field 'action' must be a string, not a boolean"),
        ({"action": "moon"}, "action 'moon' is unknown; use one of BUY, SELL, CLOSE, HOLD"),
        ({"market": "BTCUSD"}, "market 'BTCUSD' is not a dYdX ticker shaped like BTC-USD"),
        ({"market": "ビットコイン-USD"}, "is not a dYdX ticker"),
        ({"confidence": 1.5}, "confidence is 1.5, it must lie in [0, 1]"),
        ({"confidence": -0.1}, "confidence is -0.1, it must lie in [0, 1]"),
        ({"confidence": "high"}, "confidence 'high' is not a number"),
        ({"confidence": [0.5]}, "field 'confidence' must be a number, not an array"),
        ({"price": {"v": 1}}, "field 'price' must be a number, not an object"),
        ({"price": 0}, "price is 0, it must be positive"),
        ({"price": 1e16}, "price 1E+16 is absurdly large"),
        ({"price": 1e300}, "price 1E+300 is out of range"),
        ({"price": "NaN"}, "price is NaN, a finite number is required"),
        ({"price": "{{close}}"}, "price '{{close}}' is not a number"),
        ({"price": 100, "stop_loss": 101}, "BUY BTC-USD: stop_loss 101 must be below price 100"),
        ({"action": "close", "stop_loss": 5}, "a CLOSE signal cannot carry a stop_loss"),
        ({"id": ""}, "id is empty"),
        ({"id": "x" * 65}, "at most 64"),
        ({"id": "a b"}, "visible ASCII"),
        ({"id": 7}, "field 'id' must be a string, not a number"),
        ({"strategy": "no spaces allowed"}, "strategy name"),
        ({"stoploss": 5}, "unknown field 'stoploss'"),
    ],
)
async def test_post_when_field_malformed_then_422_with_precise_message(
    hook: Webhook, fields: dict[str, object], message: str
) -> None:
    status, payload = await hook.post(body(**fields))
    assert status == 422, payload
    assert message in payload["error"]
    assert hook.recorder.signals == []


_S = b'"secret": "' + SECRET_TEXT.encode() + b'", '


@pytest.mark.parametrize(
    ("raw", "status", "message"),
    [
        (b"", 422, "body is not valid JSON"),
        (b"not json", 422, "body is not valid JSON: Expecting value at line 1 column 1"),
        (b'{"market": "BTC-USD",', 422, "body is not valid JSON"),
        (b"[1, 2]", 422, "body must be a JSON object"),
        (b'"just a string"', 422, "body must be a JSON object"),
        (b"\xff\xfe{}", 422, "body is not UTF-8 text"),
        (b'{"confidence": NaN}', 422, "NaN is not a number this webhook accepts"),
        (b'{"price": Infinity}', 422, "Infinity is not a number this webhook accepts"),
        (b'{"price": -Infinity}', 422, "-Infinity is not a number this webhook accepts"),
        (b'{"price": 1' + b"0" * 100 + b"}", 422, "a number is 101 characters long"),
        (b"{" + _S + b'"market": "BTC-USD", "action": "buy", "price": 1e999999999}', 422,
         "price 1E+999999999 is out of range"),
        (b"{" + _S + b'"market": "BTC-USD", "action": "buy", "price": "1e-999999999"}', 422,
         "price"),
        (b"[" * 100_000, 413, "body of 100000 bytes is over the limit"),
        (b"[" * 30_000 + b"]" * 30_000, 422, "body is nested too deeply"),
        (b'{"a":' * 5000 + b"1" + b"}" * 5000, 422, "body is nested too deeply"),
        (b"{" + _S + b'"market": "BTC-USD", "market": "ETH-USD"}', 422,
         "field 'market' appears twice"),
        (b"{" + _S + b'"market": "BTC-USD\\u0000", "action": "buy"}', 422, "is not a dYdX ticker"),
        (b"{" + _S + b'"market": "BTC-USD", "action": "buy\\ud800"}', 422, "is unknown"),
    ],
)  # fmt: skip
async def test_post_when_hostile_body_then_4xx_precise_and_no_signal(
    hook: Webhook, raw: bytes, status: int, message: str
) -> None:
    answered, payload = await hook.post(raw)
    assert answered == status, payload
    assert message in payload["error"], payload
    assert hook.recorder.signals == []


async def test_post_when_duplicate_secret_key_then_422_not_accepted(hook: Webhook) -> None:
    raw = f'{{"secret": "wrong-secret-value!!", "secret": "{SECRET_TEXT}", "market": "BTC-USD",'
    status, payload = await hook.post(raw + ' "action": "buy"}')
    assert status == 422 and payload["error"] == "field 'secret' appears twice"
    assert hook.recorder.signals == []


async def test_post_when_10_mb_body_then_413_without_500(hook: Webhook) -> None:
    status, payload = await hook.post(b"x" * (10 * 1024 * 1024))
    assert status == 413
    assert payload["error"] == "body of 10485760 bytes is over the limit of 65536 bytes"
    assert hook.recorder.signals == []


async def test_post_when_chunked_oversized_body_then_413(hook: Webhook) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(40):
            yield b" " * 4096

    async with hook.session.post(hook.url, data=chunks()) as response:
        assert response.status == 413
        assert (await response.json())["error"] == "body is over the limit of 65536 bytes"


async def test_post_when_body_exactly_at_limit_then_processed() -> None:
    async with running_webhook(max_body_bytes=300) as small:
        raw = json.dumps(body()).encode()
        padded = raw[:-1] + b" " * (300 - len(raw)) + b"}"
        assert len(padded) == 300
        status, _ = await small.post(padded)
        assert status == 202


async def test_get_when_wrong_method_then_405(hook: Webhook) -> None:
    async with hook.session.get(hook.url) as response:
        assert response.status == 405


# -- replays and sink failures --------------------------------------------------------------


async def test_post_when_same_id_twice_then_409_and_one_signal(hook: Webhook) -> None:
    first, _ = await hook.post(body(id="alert-1"))
    second, payload = await hook.post(body(id="alert-1", action="sell"))
    assert (first, second) == (202, 409)
    assert payload["error"] == "signal id alert-1 was already accepted"
    assert len(hook.recorder.signals) == 1


async def test_post_when_no_id_twice_then_two_distinct_signals(hook: Webhook) -> None:
    await hook.post(body())
    await hook.post(body())
    assert len({s.id for s in hook.recorder.signals}) == 2


async def test_post_when_sink_fails_then_503_and_same_id_may_retry(hook: Webhook) -> None:
    hook.recorder.fail = True
    status, payload = await hook.post(body(id="retry-me"))
    assert status == 503 and "retry" in payload["error"]
    hook.recorder.fail = False
    status, _ = await hook.post(body(id="retry-me"))
    assert status == 202


# -- the secret never leaks --------------------------------------------------------------------


async def test_logs_when_bad_and_good_requests_then_secret_never_logged(
    hook: Webhook, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await hook.post(body())
    await hook.post(body(secret=SECRET_TEXT + "x"))
    await hook.post(body(market="oops"))
    await hook.post(body(stoploss=SECRET_TEXT))
    await hook.post(b'{"secret": "%s", [' % SECRET_TEXT.encode())
    assert caplog.records, "the webhook should log what it refused"
    assert SECRET_TEXT not in caplog.text


def test_webhook_secret_when_printed_or_pickled_then_redacted_or_refused() -> None:
    secret = WebhookSecret(SECRET_TEXT)
    assert SECRET_TEXT not in repr(secret) and SECRET_TEXT not in str(secret)
    assert SECRET_TEXT not in f"{secret} {[secret]}"
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(secret)
    assert secret.matches(SECRET_TEXT) and not secret.matches("other")


def test_webhook_secret_when_unset_or_short_then_secret_unavailable() -> None:
    with pytest.raises(SecretUnavailable, match=f"{SECRET_ENV_VAR} is not set"):
        WebhookSecret.from_environ({})
    with pytest.raises(SecretUnavailable, match="at least 16 characters") as caught:
        WebhookSecret.from_environ({SECRET_ENV_VAR: "short-secret"})
    assert "short-secret" not in str(caught.value)


async def test_add_signal_route_when_mounted_on_existing_app_then_both_routes_served() -> None:
    from aiohttp import ClientSession, web
    from aiohttp.test_utils import TestServer
    from webhook_harness import Recorder

    from dydx_trader.adapters.webhook import SignalIntake, add_signal_route

    async def dashboard(request: web.Request) -> web.Response:
        return web.Response(text="dashboard")

    app = web.Application()
    app.router.add_get("/", dashboard)
    recorder = Recorder()
    add_signal_route(app, SignalIntake(WebhookSecret(SECRET_TEXT), recorder, clock=lambda: NOW))
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        async with ClientSession() as session:
            async with session.get(server.make_url("/")) as response:
                assert await response.text() == "dashboard"
            async with session.post(server.make_url("/webhook/signals"), json=body()) as response:
                assert response.status == 202
    finally:
        await server.close()
    assert len(recorder.signals) == 1


async def test_post_when_documented_tradingview_template_expanded_then_202(hook: Webhook) -> None:
    # The template from the module docs, as TradingView fills it in.
    text = (
        f'{{"secret": "{SECRET_TEXT}", "id": "tv-BTCUSD-2019-08-27T09:56:00Z",'
        ' "market": "BTC-USD", "action": "buy", "price": 64123.5, "strategy": "tv_60"}'
    )
    status, payload = await hook.post(text)
    assert (status, payload) == (202, {"signal_id": "tv-BTCUSD-2019-08-27T09:56:00Z"})
    assert hook.recorder.signals[0].strategy == "tv_60"
    assert hook.recorder.signals[0].reference_price == Decimal("64123.5")

"""Webhook intake: ``POST /webhook/signals`` turns an authenticated JSON alert into a Signal.

The body is TradingView-style JSON (only ``market`` and ``action`` are
required besides the secret)::

    {"secret": "...", "id": "...", "market": "BTC-USD", "action": "buy",
     "confidence": 0.8, "price": 64123.5, "stop_loss": 63000, "take_profit": 66000,
     "strategy": "tv_breakout"}

A TradingView alert message (the quotes around ``{{close}}`` are optional;
numbers may be JSON numbers or decimal strings)::

    {"secret": "<DYDX_TRADER_WEBHOOK_SECRET>", "id": "tv-{{ticker}}-{{timenow}}",
     "market": "BTC-USD", "action": "{{strategy.order.action}}", "price": {{close}},
     "strategy": "tv_{{interval}}"}

``id`` (visible ASCII, at most 64 characters) makes a resent alert a replay
(409) instead of a second trade; without it every post is a new signal.
``confidence`` defaults to 1, ``strategy`` to ``webhook``.

Authentication, either of:

* an ``X-Signature: sha256=<hex>`` header, HMAC-SHA256 of the raw body under
  the shared secret (then no ``secret`` field is needed);
* the shared secret as the ``secret`` field, for senders that cannot sign
  (TradingView). Both comparisons are constant-time (``hmac.compare_digest``).

Answers: 202 ``{"signal_id": ...}``; 401 bad or missing secret or signature;
413 body over the limit (refused from ``Content-Length`` before reading); 422
malformed or out-of-range body, with a precise message; 409 an id already
accepted; 503 when the sink could not take the signal (retry). Bad input
never gets a 500: the handler is wrapped so anything unexpected is a 400.

Numbers are read as ``Decimal`` (never float); NaN, Infinity, numbers longer
than 64 characters, duplicate keys and unknown fields are refused. The
secret never appears in a log line, an answer or an exception.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from aiohttp import web

from dydx_trader.app.validation import IdMemory
from dydx_trader.domain.errors import DydxTraderError, SecretUnavailable
from dydx_trader.domain.numbers import to_decimal
from dydx_trader.domain.signal import Signal, SignalSource

log = logging.getLogger(__name__)

SIGNALS_PATH = "/webhook/signals"
SECRET_ENV_VAR = "DYDX_TRADER_WEBHOOK_SECRET"  # noqa: S105 - a variable name, not a secret
MAX_BODY_BYTES = 64 * 1024
MIN_SECRET_LENGTH = 16
DEFAULT_STRATEGY = "webhook"
_MAX_NUMBER_CHARS = 64
_MAX_EXPONENT = 20  # |x| within 1e-20 .. 1e21: any real price or confidence
_SIGNATURE = re.compile(r"sha256=([0-9a-fA-F]{64})")
_FIELDS = frozenset(
    {"secret", "id", "market", "action", "confidence", "price", "stop_loss", "take_profit",
     "strategy"}
)  # fmt: skip

SignalSink = Callable[[Signal], Awaitable[None]]


class WebhookSecret:
    """The shared webhook secret, held so it never prints: ``repr`` and ``str``
    are redacted, it cannot be pickled, and it is only ever compared."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str) or len(value.strip()) < MIN_SECRET_LENGTH:
            raise SecretUnavailable(
                f"the webhook secret must be at least {MIN_SECRET_LENGTH} characters "
                f"(set {SECRET_ENV_VAR} to a long random string)"
            )
        if len(value) > 1024 or not value.isprintable():
            raise SecretUnavailable("the webhook secret must be at most 1024 printable characters")
        self._value = value.encode("utf-8")

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> WebhookSecret:
        """The secret from ``DYDX_TRADER_WEBHOOK_SECRET`` (SecretUnavailable if unset)."""
        value = environ.get(SECRET_ENV_VAR)
        if not value:
            raise SecretUnavailable(
                f"{SECRET_ENV_VAR} is not set; the webhook needs a shared secret "
                "(for example: export "
                f"{SECRET_ENV_VAR}=$(python -c 'import secrets; print(secrets.token_hex(32))'))"
            )
        return cls(value)

    def matches(self, candidate: str) -> bool:
        """Whether ``candidate`` is the secret (constant-time)."""
        return hmac.compare_digest(self._value, candidate.encode("utf-8", "surrogatepass"))

    def signs(self, body: bytes, header: str) -> bool:
        """Whether ``header`` (``sha256=<hex>``) is the HMAC-SHA256 of ``body``."""
        match = _SIGNATURE.fullmatch(header.strip())
        if match is None:
            return False
        expected = hmac.new(self._value, body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, match.group(1).lower())

    def sign(self, body: bytes) -> str:
        """The ``X-Signature`` header value for ``body`` (for senders and tests)."""
        return "sha256=" + hmac.new(self._value, body, hashlib.sha256).hexdigest()

    def __repr__(self) -> str:
        return "WebhookSecret('***')"

    __str__ = __repr__

    def __reduce__(self) -> tuple[Any, ...]:
        raise TypeError("a WebhookSecret cannot be pickled")


class _Refusal(Exception):
    """An answer other than 202, with the message the sender sees."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class SignalIntake:
    """The webhook's state: secret, sink, clock and the ids already accepted.

    ``sink`` receives every accepted signal (awaited before answering 202);
    ``clock`` gives the aware time that becomes ``created_at``;
    ``remember_ids`` bounds the replay memory.
    """

    def __init__(
        self,
        secret: WebhookSecret,
        sink: SignalSink,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        max_body_bytes: int = MAX_BODY_BYTES,
        remember_ids: int = 10_000,
    ) -> None:
        if not isinstance(secret, WebhookSecret):
            raise SecretUnavailable("the webhook needs a WebhookSecret")
        self._secret = secret
        self._sink = sink
        self._clock = clock
        self._max_body = max_body_bytes
        self._seen = IdMemory(remember_ids)

    @property
    def max_body_bytes(self) -> int:
        """The largest body accepted, in bytes."""
        return self._max_body

    async def handle(self, request: web.Request) -> web.Response:
        """The ``POST /webhook/signals`` handler; never lets an exception out."""
        try:
            signal = await self._accept(request)
        except _Refusal as refusal:
            log.info("webhook: %d %s", refusal.status, refusal.message)
            return web.json_response({"error": refusal.message}, status=refusal.status)
        except Exception as exc:  # noqa: BLE001 - bad input must never become a 500
            # The type only: the message could quote the body, which holds the secret.
            log.warning("webhook: request refused after %s", type(exc).__name__)
            return web.json_response({"error": "the request could not be processed"}, status=400)
        log.info(
            "webhook: accepted %s %s %s (%s)",
            signal.id,
            signal.action.value,
            signal.market,
            signal.strategy,
        )
        return web.json_response({"signal_id": signal.id}, status=202)

    async def _accept(self, request: web.Request) -> Signal:
        body = await self._read_body(request)
        header = request.headers.get("X-Signature")
        signed = header is not None
        if signed and not self._secret.signs(body, header or ""):
            raise _Refusal(401, "the X-Signature header does not match the body")
        fields = _parse_body(body)
        if not signed:
            given = fields.get("secret")
            if not isinstance(given, str) or not self._secret.matches(given):
                raise _Refusal(401, "missing or wrong secret")
        signal = _build_signal(fields, self._clock())
        if not self._seen.add(signal.id):
            raise _Refusal(409, f"signal id {signal.id} was already accepted")
        try:
            await self._sink(signal)
        except Exception as exc:  # noqa: BLE001 - the sender may retry with the same id
            self._seen.discard(signal.id)
            log.error("webhook: the signal sink failed (%s)", type(exc).__name__)
            raise _Refusal(503, "the signal could not be queued; retry later") from None
        return signal

    async def _read_body(self, request: web.Request) -> bytes:
        declared = request.content_length
        if declared is not None and declared > self._max_body:
            raise _Refusal(
                413, f"body of {declared} bytes is over the limit of {self._max_body} bytes"
            )
        chunks: list[bytes] = []
        size = 0
        while True:
            chunk = await request.content.read(self._max_body + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > self._max_body:
                raise _Refusal(413, f"body is over the limit of {self._max_body} bytes")
        return b"".join(chunks)


def add_signal_route(app: web.Application, intake: SignalIntake) -> None:
    """Mount ``POST /webhook/signals`` on an existing application (the ``run`` HTTP port)."""
    app.router.add_post(SIGNALS_PATH, intake.handle)


def create_webhook_app(intake: SignalIntake) -> web.Application:
    """A standalone application serving only the signal intake."""
    app = web.Application(client_max_size=intake.max_body_bytes)
    add_signal_route(app, intake)
    return app


# -- body parsing -------------------------------------------------------------------


def _parse_body(body: bytes) -> dict[str, object]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise _Refusal(422, "body is not UTF-8 text") from None
    try:
        parsed = json.loads(
            text,
            parse_float=_parse_decimal,
            parse_int=_parse_decimal,
            parse_constant=_refuse_constant,
            object_pairs_hook=_unique_keys,
        )
    except _Refusal:
        raise
    except json.JSONDecodeError as exc:
        raise _Refusal(
            422, f"body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:
        raise _Refusal(422, "body is nested too deeply") from None
    if not isinstance(parsed, dict):
        raise _Refusal(422, "body must be a JSON object")
    return parsed


def _parse_decimal(text: str) -> Decimal:
    if len(text) > _MAX_NUMBER_CHARS:
        raise _Refusal(422, f"a number is {len(text)} characters long, at most 64 are allowed")
    return Decimal(text)


def _refuse_constant(name: str) -> object:
    raise _Refusal(422, f"{name} is not a number this webhook accepts")


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    result: dict[str, object] = {}
    for key, value in pairs:
        if key in result:
            raise _Refusal(422, f"field {_shown(key)} appears twice")
        result[key] = value
    return result


def _build_signal(fields: Mapping[str, object], now: datetime) -> Signal:
    unknown = sorted(set(fields) - _FIELDS)
    if unknown:
        raise _Refusal(
            422, f"unknown field {_shown(unknown[0])}; allowed: {', '.join(sorted(_FIELDS))}"
        )
    for name in ("market", "action"):
        if fields.get(name) is None:
            raise _Refusal(422, f"field {name!r} is required")
    for name in ("id", "market", "action", "strategy"):
        value = fields.get(name)
        if value is not None and not isinstance(value, str):
            raise _Refusal(422, f"field {name!r} must be a string, not {_json_type(value)}")
    strategy = fields.get("strategy")
    try:
        numbers = {name: _number(fields, name) for name in _NUMBER_FIELDS}
        confidence = numbers["confidence"]
        return Signal.create(
            id=fields.get("id"),
            market=fields["market"],
            action=fields["action"],
            confidence=Decimal(1) if confidence is None else confidence,
            source=SignalSource.WEBHOOK,
            strategy=DEFAULT_STRATEGY if strategy is None else str(strategy),
            created_at=now,
            reference_price=numbers["price"],
            stop_loss=numbers["stop_loss"],
            take_profit=numbers["take_profit"],
        )
    except DydxTraderError as exc:
        # The body calls the reference price "price".
        raise _Refusal(422, exc.message.replace("reference_price", "price")) from None


_NUMBER_FIELDS = ("confidence", "price", "stop_loss", "take_profit")


def _number(fields: Mapping[str, object], name: str) -> Decimal | None:
    # A JSON number (already a Decimal) or a decimal string such as "{{close}}"
    # expanded by TradingView inside quotes.
    value = fields.get(name)
    if value is None:
        return None
    if not isinstance(value, Decimal | str):
        raise _Refusal(422, f"field {name!r} must be a number, not {_json_type(value)}")
    if isinstance(value, str) and len(value) > _MAX_NUMBER_CHARS:
        raise _Refusal(422, f"field {name!r} is not a number")
    parsed = to_decimal(name, value) if isinstance(value, str) else value
    # Checked before any arithmetic: abs(Decimal("1e999999999")) raises Overflow.
    if parsed.is_finite() and parsed and not -_MAX_EXPONENT <= parsed.adjusted() <= _MAX_EXPONENT:
        raise _Refusal(422, f"{name} {parsed} is out of range")
    return to_decimal(name, parsed)


def _json_type(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, Decimal):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return "null"


def _shown(text: str) -> str:
    return repr(text if len(text) <= 32 else text[:32] + "...")

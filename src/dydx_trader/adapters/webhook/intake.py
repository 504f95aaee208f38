"""``POST /webhook/signals``: an authenticated JSON alert in, a Signal to the sink, an answer out.

Answers: 202 ``{"signal_id": ...}`` once the sink has taken the signal (in
``run``: journaled and queued for the trader); 401 bad or missing secret or
signature; 413 body over the limit (refused from ``Content-Length`` before
reading); 422 malformed or out-of-range body, with a precise message; 409 an
id already accepted (in ``run``: already in the journal, so across restarts
too); 503 with ``Retry-After`` when the sink cannot take it now (the intake is
full or closing, or the journal is unavailable): retry with the same id.
Bad input never gets a 500: the handler is wrapped so anything unexpected is
a 400. The secret never appears in a log line, an answer or an exception.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from aiohttp import web

from dydx_trader.adapters.webhook._body import HttpRefusal, build_signal, parse_body
from dydx_trader.adapters.webhook._secret import WebhookSecret
from dydx_trader.app.validation import IdMemory
from dydx_trader.domain.errors import SecretUnavailable
from dydx_trader.domain.signal import Signal

log = logging.getLogger(__name__)

SIGNALS_PATH = "/webhook/signals"
MAX_BODY_BYTES = 64 * 1024

SignalSink = Callable[[Signal], Awaitable[None]]


class SignalReplayed(Exception):
    """The sink already has a signal with this id (answered 409)."""


class IntakeBusy(Exception):
    """The sink cannot take a signal now (answered 503 with ``Retry-After``)."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class SignalIntake:
    """The webhook's state: secret, sink, clock and the ids already accepted.

    ``sink`` receives every accepted signal (awaited before answering 202); it
    may raise :class:`SignalReplayed` (409) or :class:`IntakeBusy` (503).
    ``clock`` gives the aware time of receipt; ``max_clock_skew_s`` bounds how
    far ahead of it a sender's ``time`` may be (None: the validator alone
    judges); ``remember_ids`` bounds the in-memory replay memory.
    """

    def __init__(
        self,
        secret: WebhookSecret,
        sink: SignalSink,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        max_body_bytes: int = MAX_BODY_BYTES,
        remember_ids: int = 10_000,
        max_clock_skew_s: float | None = None,
    ) -> None:
        if not isinstance(secret, WebhookSecret):
            raise SecretUnavailable("the webhook needs a WebhookSecret")
        self._secret = secret
        self._sink = sink
        self._clock = clock
        self._max_body = max_body_bytes
        self._seen = IdMemory(remember_ids)
        self._max_skew = None if max_clock_skew_s is None else timedelta(seconds=max_clock_skew_s)

    @property
    def max_body_bytes(self) -> int:
        """The largest body accepted, in bytes."""
        return self._max_body

    async def handle(self, request: web.Request) -> web.Response:
        """The ``POST /webhook/signals`` handler; never lets an exception out."""
        try:
            signal = await self._accept(request)
        except HttpRefusal as refusal:
            log.info("webhook: %d %s", refusal.status, refusal.message)
            headers = {}
            if refusal.retry_after_s is not None:
                headers["Retry-After"] = str(refusal.retry_after_s)
            return web.json_response(
                {"error": refusal.message}, status=refusal.status, headers=headers
            )
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
            raise HttpRefusal(401, "the X-Signature header does not match the body")
        fields = parse_body(body)
        if not signed:
            given = fields.get("secret")
            if not isinstance(given, str) or not self._secret.matches(given):
                raise HttpRefusal(401, "missing or wrong secret")
        signal = build_signal(fields, self._clock(), self._max_skew)
        if not self._seen.add(signal.id):
            raise HttpRefusal(409, f"signal id {signal.id} was already accepted")
        try:
            await self._sink(signal)
        except SignalReplayed:
            raise HttpRefusal(409, f"signal id {signal.id} was already accepted") from None
        except IntakeBusy as busy:
            self._seen.discard(signal.id)
            raise HttpRefusal(503, f"{busy}; retry later", busy.retry_after_s) from None
        except Exception as exc:  # noqa: BLE001 - the sender may retry with the same id
            self._seen.discard(signal.id)
            log.error("webhook: the signal sink failed (%s)", type(exc).__name__)
            raise HttpRefusal(503, "the signal could not be queued; retry later") from None
        return signal

    async def _read_body(self, request: web.Request) -> bytes:
        declared = request.content_length
        if declared is not None and declared > self._max_body:
            raise HttpRefusal(
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
                raise HttpRefusal(413, f"body is over the limit of {self._max_body} bytes")
        return b"".join(chunks)


def add_signal_route(app: web.Application, intake: SignalIntake) -> None:
    """Mount ``POST /webhook/signals`` on an existing application (the ``run`` HTTP port)."""
    app.router.add_post(SIGNALS_PATH, intake.handle)


def create_webhook_app(intake: SignalIntake) -> web.Application:
    """A standalone application serving only the signal intake."""
    app = web.Application(client_max_size=intake.max_body_bytes)
    add_signal_route(app, intake)
    return app

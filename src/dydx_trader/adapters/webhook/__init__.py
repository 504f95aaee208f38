"""Webhook intake: ``POST /webhook/signals`` turns an authenticated JSON alert into a Signal.

The body is TradingView-style JSON (only ``market`` and ``action`` are
required besides the secret)::

    {"secret": "...", "id": "...", "market": "BTC-USD", "action": "buy",
     "confidence": 0.8, "price": 64123.5, "stop_loss": 63000, "take_profit": 66000,
     "strategy": "tv_breakout", "time": "2025-01-01T12:00:00Z"}

A TradingView alert message (the quotes around ``{{close}}`` are optional;
numbers may be JSON numbers or decimal strings)::

    {"secret": "<DYDX_TRADER_WEBHOOK_SECRET>", "id": "tv-{{ticker}}-{{timenow}}",
     "market": "BTC-USD", "action": "{{strategy.order.action}}", "price": {{close}},
     "strategy": "tv_{{interval}}", "time": "{{timenow}}"}

``id`` (visible ASCII, at most 64 characters) makes a resent alert a replay
(409) instead of a second trade; without it every post is a new signal.
``confidence`` defaults to 1, ``strategy`` to ``webhook``; ``time`` (ISO-8601
with a zone, or epoch seconds) lets the staleness rule refuse a late alert.

Authentication, either of:

* an ``X-Signature: sha256=<hex>`` header, HMAC-SHA256 of the raw body under
  the shared secret (then no ``secret`` field is needed);
* the shared secret as the ``secret`` field, for senders that cannot sign
  (TradingView). Both comparisons are constant-time (``hmac.compare_digest``).

Modules: :mod:`.intake` (the HTTP handler and its answers), :mod:`._body`
(parsing), :mod:`._secret`, :mod:`.dispatch` (the ``run`` sink: journaled,
bounded, drained on shutdown), :mod:`.server` (serving it on a port).
"""

from __future__ import annotations

from dydx_trader.adapters.webhook._body import DEFAULT_STRATEGY
from dydx_trader.adapters.webhook._secret import MIN_SECRET_LENGTH, SECRET_ENV_VAR, WebhookSecret
from dydx_trader.adapters.webhook.dispatch import SignalDispatch, SignalJournal
from dydx_trader.adapters.webhook.intake import (
    MAX_BODY_BYTES,
    SIGNALS_PATH,
    IntakeBusy,
    SignalIntake,
    SignalReplayed,
    SignalSink,
    add_signal_route,
    create_webhook_app,
)
from dydx_trader.adapters.webhook.server import WebhookServer

__all__ = [
    "DEFAULT_STRATEGY",
    "MAX_BODY_BYTES",
    "MIN_SECRET_LENGTH",
    "SECRET_ENV_VAR",
    "SIGNALS_PATH",
    "IntakeBusy",
    "SignalDispatch",
    "SignalIntake",
    "SignalJournal",
    "SignalReplayed",
    "SignalSink",
    "WebhookSecret",
    "WebhookServer",
    "add_signal_route",
    "create_webhook_app",
]

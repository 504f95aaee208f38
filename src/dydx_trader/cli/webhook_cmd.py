"""``dydx-trader serve-webhook``, and the listening socket ``run`` shares with it.

The port is bound *before* anything is announced: a port already in use is
one line naming it, and the URL is printed only once the socket listens.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import os
import signal as os_signal
import socket
import sys
from typing import Annotated

import typer

from dydx_trader.adapters.webhook import (
    SIGNALS_PATH,
    SignalIntake,
    WebhookSecret,
    create_webhook_app,
)
from dydx_trader.adapters.webhook.server import serve_app
from dydx_trader.app.readiness import Check
from dydx_trader.app.validation import SignalValidator
from dydx_trader.cli._common import (
    load_settings,
    reported,
)
from dydx_trader.cli.options import (
    ConfigOption,
)
from dydx_trader.cli.signal_cmd import verdict_json
from dydx_trader.domain.errors import InvalidInput
from dydx_trader.domain.signal import Signal
from dydx_trader.web.health import add_health_routes

HttpPortOption = Annotated[
    int | None,
    typer.Option(
        "--http-port",
        metavar="PORT",
        min=1,
        max=65_535,
        help="HTTP port: webhook, and for run the dashboard, /metrics, /healthz, /readyz "
        "(default: the config's http.port, else 8000).",
    ),
]


def register(app: typer.Typer) -> None:
    app.command("serve-webhook")(serve_webhook_command)


def serve_webhook_command(
    host: Annotated[
        str | None,
        typer.Option(
            "--host",
            metavar="HOST",
            help="Address to listen on (default: the config's http.host, else 127.0.0.1).",
        ),
    ] = None,
    http_port: HttpPortOption = None,
    config: ConfigOption = None,
) -> None:
    """Run the webhook intake alone and print every accepted signal.

    Listens for POST /webhook/signals (and GET /healthz, /readyz); the shared
    secret comes from DYDX_TRADER_WEBHOOK_SECRET. Use it to try an alert template: each
    accepted signal is printed as a JSON line with the validator's verdict
    (the venue is not consulted). Nothing is traded.
    """
    with reported():
        secret = WebhookSecret.from_environ(os.environ)
        settings = load_settings(config)
        host = host or settings.http.host
        port = http_port or settings.http.port
        listener = bind_listener(host, port)
    validator = SignalValidator(settings.validation_config(), markets=None)

    async def print_signal(signal: Signal) -> None:
        typer.echo(json.dumps(verdict_json(validator.validate(signal))))
        sys.stdout.flush()

    async def serve() -> None:
        app = create_webhook_app(SignalIntake(secret, print_signal))
        # Alive while the process answers; ready while the intake listens.
        add_health_routes(app, lambda: (Check("intake", True, "accepting signals"),))
        runner = await serve_app(app, listener)
        typer.echo(f"webhook intake on {listen_url(host, port)} (Ctrl-C stops)")
        sys.stdout.flush()
        try:
            await stop_requested().wait()
        finally:
            await runner.cleanup()

    with reported():
        asyncio.run(serve())


def listen_url(host: str, port: int) -> str:
    """The signal intake's URL on ``host:port``."""
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}{SIGNALS_PATH}"


def bind_listener(host: str, port: int) -> socket.socket:
    """A TCP socket listening on ``host:port``; :class:`InvalidInput` naming the
    port when it is taken or cannot be used."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except (socket.gaierror, UnicodeError) as error:
        raise InvalidInput(f"cannot listen on {host[:60]}:{port}: {error}", field="host") from None
    listener = socket.socket(family, kind, proto)
    try:
        # As aiohttp does: a restart may reuse a port whose old connections linger.
        # A port another process *listens* on is still refused (no SO_REUSEPORT).
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(address)
        listener.listen(128)
    except OSError as error:
        listener.close()
        if error.errno == errno.EADDRINUSE:
            raise InvalidInput(
                f"port {port} on {host} is already in use (another dydx-trader or another "
                "program); stop it, or pick a free port with --http-port or [http] port",
                field="http.port",
            ) from None
        raise InvalidInput(
            f"cannot listen on {host}:{port}: {error.strerror or error}", field="http.port"
        ) from None
    listener.setblocking(False)
    return listener


def stop_requested() -> asyncio.Event:
    """An event set on SIGINT or SIGTERM (on this running loop)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for name in ("SIGINT", "SIGTERM"):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(getattr(os_signal, name), stop.set)
    return stop

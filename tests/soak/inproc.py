"""The trader in this process, wired as ``dydx-trader run`` wires it.

The instance lock and the ``runs`` row (:func:`guarded_run`), the trader from
:func:`build_trader` following the indexer's streams, and the journaled
webhook intake (:func:`serve_webhook`); a clean stop closes the intake, then
stops the trader (which settles what is in flight). Only the timings differ
from a live run: blocks come every few tens of milliseconds here, so the
chain height is cached for less than a block and settlement polls often.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import UTC, datetime
from typing import Any

import aiohttp

from dydx_devnet.demo import DEMO_MNEMONIC
from dydx_devnet.server import Devnet
from dydx_trader.adapters.webhook import WebhookServer
from dydx_trader.app.trader import Trader
from dydx_trader.bootstrap import build_trader
from dydx_trader.cli.run_guard import guarded_run, serve_webhook
from dydx_trader.cli.webhook_cmd import bind_listener
from dydx_trader.config import Settings
from dydx_trader.secrets import Secret
from kit.trader import profile_of
from soak.schedule import Ask
from soak.signals import direct, post

log = logging.getLogger(__name__)


class InProcessTrader:
    """One session of the trader on ``devnet`` for the demo address's ``settings``
    subaccount; :meth:`start` it again after :meth:`stop` for a restart."""

    def __init__(self, devnet: Devnet, settings: Settings, address: str) -> None:
        self._devnet = devnet
        self._settings = settings
        self._address = address
        block_s = devnet.engine.config.block_time_s if devnet.engine else 0.05
        self._height_age_s = block_s / 2
        self._stack: contextlib.AsyncExitStack | None = None
        self._http: WebhookServer | None = None
        self._session: aiohttp.ClientSession | None = None
        self.trader: Trader | None = None
        self.started_at = datetime.now(UTC)

    @property
    def running(self) -> bool:
        return self._stack is not None

    @property
    def crashed(self) -> bool:
        """The trader's actor crashed (its supervisor halted trading)."""
        return self.trader is not None and self.trader.exit_code != 0

    async def start(self) -> None:
        self.started_at = datetime.now(UTC)
        stack = contextlib.AsyncExitStack()
        try:
            profile = profile_of(self._devnet)
            run = await stack.enter_async_context(
                guarded_run(self._settings, profile, self._address, mode="live")
            )
            trader = await build_trader(
                self._settings,
                profile,
                address=self._address,
                mnemonic=Secret(DEMO_MNEMONIC),
                height_max_age_s=self._height_age_s,
                settle_poll_s=0.05,
            )
            self.trader = trader
            stack.push_async_callback(self._stop_trader, trader, run)
            await trader.start()
            listener = bind_listener("127.0.0.1", 0)
            stack.callback(listener.close)
            self._http = await serve_webhook(
                self._settings, listener, self._decide, clock=lambda: datetime.now(UTC)
            )
            stack.push_async_callback(self._http.cleanup)
            self._session = aiohttp.ClientSession()
            stack.push_async_callback(self._session.close)
        except BaseException as error:
            # As `run` does: the error reaches the runs row ("failed" and why).
            await stack.__aexit__(type(error), error, error.__traceback__)
            raise
        self._stack = stack

    async def stop(self) -> None:
        """A clean stop: no new signals, those accepted decided, everything settled."""
        stack, self._stack = self._stack, None
        if stack is not None:
            await stack.aclose()

    async def send(self, ask: Ask, source: str) -> str:
        if self.trader is None or self._stack is None:
            return "not running"
        if source == "webhook" and self._http is not None and self._session is not None:
            return await post(self._session, self._http.port, ask)
        return await self._decide(direct(ask))

    async def _decide(self, signal: Any) -> str:
        assert self.trader is not None
        try:
            result = await self.trader.submit(signal)
        except Exception as error:  # noqa: BLE001 - every answer is only a note
            return f"{type(error).__name__}: {error}"
        order = result.order
        return result.validation if order is None else order.state.value

    @staticmethod
    async def _stop_trader(trader: Trader, run: Any) -> None:
        await trader.stop()
        run.finished(trader.exit_code)

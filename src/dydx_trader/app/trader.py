"""The trader: one subaccount's trading system as the rest of the program sees it.

A :class:`Trader` is built by :func:`dydx_trader.bootstrap.build_trader` and
owns its parts; callers use :meth:`Trader.start`, :meth:`Trader.submit` or
:meth:`Trader.preview` signals, read :meth:`Trader.status`, and :meth:`Trader.stop`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Final

from dydx_trader.app.account_actor import AccountActor
from dydx_trader.app.account_messages import (
    Flush,
    PreviewSignal,
    SampleEquity,
    SubmitSignal,
    TradeResult,
)
from dydx_trader.app.actor import EXIT_ACTOR_FAILED, ActorStopped, Supervisor
from dydx_trader.app.balance import BalanceManager
from dydx_trader.app.executor import OrderExecutor
from dydx_trader.app.flattener import Flattener
from dydx_trader.app.foreign_activity import ForeignActivityMonitor
from dydx_trader.app.market_data import MarketDataManager
from dydx_trader.app.metrics import NoMetrics, TraderMetrics
from dydx_trader.app.ports import (
    ChainNode,
    Clock,
    SystemClock,
    VenueFeed,
    VenueReader,
)
from dydx_trader.app.protection import ProtectionManager
from dydx_trader.app.readiness import Check, indexer_lag_check, streams_check
from dydx_trader.app.risk_guard import RiskGuard
from dydx_trader.app.settlement import Settler
from dydx_trader.app.trader_types import JournalPort, TraderStatus
from dydx_trader.app.validation import SignalValidator, ValidationResult
from dydx_trader.domain.account import Subaccount
from dydx_trader.domain.errors import (
    DydxTraderError,
    SecretUnavailable,
    VenueUnavailable,
    describe,
)
from dydx_trader.domain.margin import AccountRisk, assess
from dydx_trader.domain.signal import Signal
from dydx_trader.domain.trading_state import TradingState
from dydx_trader.domain.venue import Candle, CandleResolution

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)

# One decision takes milliseconds; a queue of a thousand signals takes seconds.
DECIDE_TIMEOUT_S: Final = 120.0
# A clean stop waits this long for the orders in flight to settle; what is left
# stays in flight in the journal and is settled at the next start.
STOP_SETTLE_TIMEOUT_S: Final = 120.0
# How long a stop keeps trying to write a halt the journal refused (seconds).
STOP_PERSIST_S: Final = 30.0
WATCH_ONLY: Final = "this trader was built without a mnemonic: it can preview, not trade"
# Live mode: protection is checked at least this often (and at once on account news),
# and a FLATTENING state is acted on within this.
PROTECTION_INTERVAL_S: Final = 10.0
FLATTEN_INTERVAL_S: Final = 2.0


class Trader:
    """A wired trading system for one subaccount: :meth:`start`, :meth:`submit`
    or :meth:`preview` signals, :meth:`status`, :meth:`stop`. Built by
    :func:`build_trader`; its parts are its own."""

    def __init__(
        self,
        *,
        owner: Subaccount,
        indexer: VenueReader,
        node: ChainNode,
        journal: JournalPort,
        feed: VenueFeed,
        market_data: MarketDataManager,
        balance: BalanceManager,
        risk_guard: RiskGuard,
        executor: OrderExecutor,
        settler: Settler,
        foreign: ForeignActivityMonitor,
        validator: SignalValidator,
        actor: AccountActor,
        watch_only: bool,
        protection: ProtectionManager,
        flattener: Flattener,
        clock: Clock | None = None,
        metrics: TraderMetrics | None = None,
    ) -> None:
        self._owner = owner
        self._indexer = indexer
        self._node = node
        self._journal = journal
        self._feed = feed
        self._market_data = market_data
        self._balance = balance
        self._risk_guard = risk_guard
        self._executor = executor
        self._settler = settler
        self._foreign = foreign
        self._validator = validator
        self._actor = actor
        self._watch_only = watch_only
        self._protection = protection
        self._flattener = flattener
        self._clock: Clock = clock or SystemClock()
        self._metrics: TraderMetrics = metrics or NoMetrics()
        self._reconciled = False
        self._follows_streams = False
        # A crash's halt keeps trying while the journal is locked: its reason must persist.
        self._supervisor = Supervisor(on_failure=risk_guard.halt_durably)
        self._tasks: list[asyncio.Task[None]] = []
        self._final_risk: AccountRisk | None = None
        self._stopped = False
        # The position sizes at the last mark to market whose fills were checked.
        self._marked_positions: dict[str, Decimal] | None = None

    async def start(
        self,
        *,
        follow_streams: bool = True,
        candle_series: Sequence[tuple[str, CandleResolution]] = (),
    ) -> None:
        """Read markets, reconcile in-flight orders, then accept signals.

        With ``follow_streams`` the market data (and ``candle_series``) and the
        account follow the indexer's WebSocket.
        """
        await self._market_data.refresh()
        if self._journal.read_only:
            # A preview's trader: it sends nothing and may record nothing; the
            # trader that sent the orders in flight settles them.
            self._supervisor.start(self._actor)
            return
        try:
            settled = await self._settler.reconcile()
            await self._foreign.scan()
        except Exception as error:  # noqa: BLE001 - whatever it is, no trade may follow it
            # An order whose outcome cannot be settled blocks new trading: no signal
            # may be sized while the account may hold what the journal does not know.
            reason = f"reconciliation of in-flight orders failed: {describe(error)}"
            self._risk_guard.halt(reason)
            raise VenueUnavailable(
                f"{reason}; trading is HALTED (resume with `dydx-trader trading-state active`)"
            ) from None
        if settled:
            log.info("reconciled %d order(s) left in flight", len(settled))
        # A restart does not shorten a cooldown (review R11): each market's last fill counts.
        self._validator.resume_cooldowns(self._journal.last_fill_at_by_market())
        self._reconciled = True
        await self._load_terms()
        # Protective orders matched to positions: missing ones placed, orphans cancelled.
        await self._protection.sync()
        self._supervisor.start(self._actor)
        self._follows_streams = follow_streams
        if follow_streams:
            self._tasks.append(asyncio.ensure_future(self._market_data.run(candle_series)))
            self._tasks.append(asyncio.ensure_future(self._balance.follow(self._feed)))
            if not self._watch_only:
                self._tasks.append(
                    asyncio.ensure_future(self._protection.run(PROTECTION_INTERVAL_S))
                )
                self._tasks.append(asyncio.ensure_future(self._flattener.run(FLATTEN_INTERVAL_S)))

    async def _load_terms(self) -> None:
        """Read the account's leverage settings and fee tier at start (logged); when
        the node cannot tell, every decision refuses until it can."""
        try:
            await self._balance.load_terms()
        except DydxTraderError as error:
            log.warning(
                "the account's leverage settings and fee tier could not be read at start: "
                "%s; decisions refuse until they can be",
                describe(error),
            )

    async def submit(self, signal: Signal, timeout_s: float = DECIDE_TIMEOUT_S) -> TradeResult:
        """Validate and decide on ``signal``, journal it, and send its order if accepted."""
        if self._watch_only:
            raise SecretUnavailable(WATCH_ONLY)
        self._metrics.signal_received(signal.id)
        result: TradeResult = await self._actor.ask(SubmitSignal(signal), timeout_s)
        return result

    async def preview(self, signal: Signal, timeout_s: float = DECIDE_TIMEOUT_S) -> TradeResult:
        """Decide on ``signal`` without validating, journaling or sending anything."""
        result: TradeResult = await self._actor.ask(PreviewSignal(signal), timeout_s)
        return result

    def validate(self, signal: Signal) -> ValidationResult:
        """The validator's verdict on ``signal`` (what a submit would check first)."""
        return self._validator.validate(signal)

    def candles(self, market: str, resolution: CandleResolution) -> tuple[Candle, ...]:
        """The market data's candle series, oldest first (the newest may be forming)."""
        return self._market_data.candles(market, resolution)

    async def sample_risk(self, timeout_s: float = DECIDE_TIMEOUT_S) -> AccountRisk:
        """The account's figures from a balance snapshot proven fresh (cached or
        fetched), whose equity the kill switch also takes: a loss trips it while
        no signal comes.

        Raises ``StaleAccountData`` (or another ``Unavailable``) when none can be had.
        """
        try:
            risk: AccountRisk = await self._actor.ask(SampleEquity(), timeout_s)
        except ActorStopped:  # stopped or crashed: the figures alone
            snapshot = self._balance.cached() or await self._balance.get_snapshot()
            return snapshot.risk
        return risk

    async def catch_up(
        self, candle_series: Sequence[tuple[str, CandleResolution]], *, candles: int
    ) -> None:
        """Lockstep replay (streams off): the venue's clock moved. Read the markets
        and the newest ``candles`` of each series over REST, and drop the cached
        balance, so nothing races a stream."""
        self._balance.invalidate("the market clock moved")
        await self._market_data.refresh(vouched=True)
        for ticker, resolution in candle_series:
            await self._market_data.backfill_candles(ticker, resolution, limit=candles)

    async def settle_round(self) -> int:
        """Every order in flight reads the venue once, then their settlements are
        released in the actor; a FLATTENING state closes positions and the
        protective orders follow the positions. Returns how many orders (and
        protective orders, and flattening rounds) are still in flight."""
        await self._settler.sweep()
        if self._supervisor.failed:  # a crashed actor answers nothing; the replay stops
            return self._actor.in_flight
        with contextlib.suppress(ActorStopped):
            await self._actor.ask(Flush(), DECIDE_TIMEOUT_S)
        flattening = not self._watch_only and await self._flattener.step()
        await self._protection.sync()
        return self._actor.in_flight + self._protection.pending() + int(flattening)

    async def mark_to_market(self) -> AccountRisk:
        """The account read fresh from the venue (never the cached balance), valued at
        the markets' oracle prices; its equity is fed to the kill switch, so a
        drawdown trips without waiting for a signal, and the sample is journaled (the
        dashboard's charts). When its positions moved since the last mark, the latest
        fills are checked for foreign ones (a liquidation has no order and no stream
        may have told). Raises ``Unavailable`` when no fresh read can be had."""
        self._balance.invalidate("marked to market")
        snapshot = await self._balance.get_snapshot()
        self._risk_guard.record_equity(snapshot.equity)
        if not self._journal.read_only:
            self._journal.record_equity_sample(self._clock.now(), snapshot.risk)
        positions = {p.market: p.size for p in snapshot.positions}
        if positions != self._marked_positions and not self._journal.read_only:
            try:
                await self._foreign.scan_fills()
                self._marked_positions = positions
            except DydxTraderError as error:  # checked again at the next mark
                log.warning("could not check the latest fills: %s", describe(error))
        return snapshot.risk

    def oracle_prices(self, tickers: Sequence[str]) -> dict[str, Decimal]:
        """The current oracle price (USDC) of each of ``tickers`` the market data holds
        fresh; the others are left out."""
        prices = {}
        for ticker in tickers:
            with contextlib.suppress(DydxTraderError):
                prices[ticker] = self._market_data.oracle_price(ticker).price
        return prices

    def status(self) -> TraderStatus:
        """A read-only view of what the trader is doing."""
        failure = self._supervisor.failure
        cached = self._balance.cached() if not self._stopped else None
        state = self._risk_guard.state
        return TraderStatus(
            owner=self._owner,
            watch_only=self._watch_only,
            trading_state=state,
            trading_reason="" if state is TradingState.ACTIVE else self._risk_guard.last_reason,
            risk=cached.risk if cached is not None else self._final_risk,
            reserved=self._actor.reserved,
            in_flight=self._actor.in_flight,
            failure=None if failure is None else f"{type(failure).__name__}: {failure}",
            protection=self._protection.status() if not self._stopped else None,
        )

    def readiness(self) -> tuple[Check, ...]:
        """Whether this trader may be sent signals now, check by check: in-flight
        orders reconciled, the actor healthy, the streams connected (when it follows
        them) and the indexer within its lag at the last balance fetch."""
        failure = self.status().failure
        if self._stopped:
            reconciled = Check("reconciled", False, "the trader has stopped")
        elif self._reconciled:
            reconciled = Check("reconciled", True)
        else:
            reconciled = Check("reconciled", False, "in-flight orders not reconciled yet")
        checks = [
            reconciled,
            Check("actor", failure is None, failure or ""),
            indexer_lag_check(self.indexer_lag_blocks, self._balance.max_indexer_lag_blocks),
        ]
        if self._follows_streams:
            streams = streams_check(
                account=self._balance.stream_connected, markets=self._market_data.stream_connected
            )
            checks.append(streams)
        return tuple(checks)

    @property
    def indexer_lag_blocks(self) -> int | None:
        """How many blocks the indexer trailed the node at the last balance fetch
        (None before the first)."""
        return self._balance.last_indexer_lag_blocks

    @property
    def exit_code(self) -> int:
        """0, or the non-zero code of a crashed actor (the process exits with it)."""
        return EXIT_ACTOR_FAILED if self._supervisor.failed else 0

    async def wait_settled(self) -> None:
        """Until every order sent so far is settled."""
        await self._settler.settle_all()

    async def stop(self) -> None:
        """Stop in the order that loses nothing: the actor takes no new signal and
        finishes the ones in its mailbox (which may send orders); then every order
        in flight settles (bounded by :data:`STOP_SETTLE_TIMEOUT_S`; what is left
        stays in flight in the journal for the next start); then the streams and
        adapters close. Call it after closing the intake (webhook, strategies)."""
        # The actor drains; a crash's halt, if one is still being written, finishes.
        await self._supervisor.stop()
        try:
            async with asyncio.timeout(STOP_SETTLE_TIMEOUT_S):
                await self._settler.settle_all()
        except TimeoutError:
            log.warning(
                "stopping with %d order(s) still in flight; the next start settles them",
                len(self._settler.following),
            )
        await self._settler.close()
        await self._foreign.drain()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        with contextlib.suppress(DydxTraderError):
            account = await self._indexer.get_account(self._owner.address, self._owner.number)
            terms = self._balance.terms
            self._final_risk = assess(
                account,
                await self._indexer.get_markets(),
                custom_imf_ppm=None if terms is None else terms.custom_imf_ppm,
            )
        self._stopped = True
        await self._node.close()
        await self._indexer.close()
        # A halt the journal refused while running (it was locked) is written now.
        await self._risk_guard.persist_pending(STOP_PERSIST_S)
        self._journal.close()

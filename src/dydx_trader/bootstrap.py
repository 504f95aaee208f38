"""The composition root: the one place that names concrete adapters.

:func:`build_trader` turns :class:`Settings` (plus a network profile and, for
live trading, a signing secret) into a running :class:`Trader`: indexer and
node gateways, the journal, market data, the BalanceManager, the kill switch,
the executor and the account actor, supervised. Tests build the same object
against the devnet.

Start-up order matters: markets are read and every order the journal still has
in flight is reconciled against the indexer *before* the first signal is
accepted (crash-only recovery; nothing is ever resent).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from dydx_v4_client.key_pair import KeyPair
from dydx_v4_client.node.builder import Builder
from dydx_v4_client.wallet import Wallet

from dydx_trader.adapters.dydx.bot_key import RevocationWatch, bot_key_gateway
from dydx_trader.adapters.dydx.indexer import IndexerGateway
from dydx_trader.adapters.dydx.network import USDC_DENOM, NetworkProfile
from dydx_trader.adapters.dydx.node import NodeGateway
from dydx_trader.adapters.dydx.order_gateway import OrderGateway
from dydx_trader.adapters.dydx.stream import IndexerFeed
from dydx_trader.adapters.journal import Journal
from dydx_trader.app.actor import Supervisor
from dydx_trader.app.balance import BalanceManager
from dydx_trader.app.executor import OrderExecutor, Settlement
from dydx_trader.app.flow import AccountActor, OrderParams, PreviewSignal, SubmitSignal, TradeResult
from dydx_trader.app.heights import ChainHeightCache
from dydx_trader.app.market_data import MarketDataManager
from dydx_trader.app.risk_guard import RiskGuard
from dydx_trader.app.validation import SignalValidator
from dydx_trader.config import Settings
from dydx_trader.domain.broadcast import BroadcastOutcome, SignedOrder
from dydx_trader.domain.errors import DydxTraderError, SecretUnavailable, VenueUnavailable
from dydx_trader.domain.market import MarketSpec
from dydx_trader.domain.order import OrderIntent, TimeInForce
from dydx_trader.domain.pre_trade import RiskLimits
from dydx_trader.domain.signal import Signal
from dydx_trader.domain.trading_state import KillSwitch
from dydx_trader.domain.venue import CandleResolution
from dydx_trader.secrets import Secret

log = logging.getLogger(__name__)

_TIME_IN_FORCE = {
    "ioc": TimeInForce.IOC,
    "limit": TimeInForce.GTT,
    "post_only": TimeInForce.POST_ONLY,
}

# One decision takes milliseconds; a queue of a thousand signals takes seconds.
DECIDE_TIMEOUT_S = 120.0


@dataclass
class Trader:
    """A wired trading system for one subaccount. Use :meth:`start` / :meth:`stop`."""

    settings: Settings
    profile: NetworkProfile
    address: str
    indexer: IndexerGateway
    node: NodeGateway
    journal: Journal
    market_data: MarketDataManager
    balance: BalanceManager
    risk_guard: RiskGuard
    executor: OrderExecutor
    actor: AccountActor
    supervisor: Supervisor
    heights: ChainHeightCache
    validator: SignalValidator
    watch_only: bool = False  # built without a mnemonic: previews, never submits
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

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
        await self.market_data.refresh()
        try:
            settled = await self.executor.reconcile()
        except (TimeoutError, DydxTraderError) as error:
            # An order whose outcome cannot be settled blocks new trading: no signal
            # may be sized while the account may hold what the journal does not know.
            reason = f"reconciliation of in-flight orders failed: {error or 'timeout'}"
            self.risk_guard.halt(reason)
            raise VenueUnavailable(
                f"{reason}; trading is HALTED (resume with `dydx-trader trading-state active`)"
            ) from None
        if settled:
            log.info("reconciled %d order(s) left in flight", len(settled))
        self.supervisor.start(self.actor)
        if follow_streams:
            feed = IndexerFeed(self.profile.websocket_url)
            self._tasks.append(asyncio.ensure_future(self.market_data.run(candle_series)))
            self._tasks.append(asyncio.ensure_future(self.balance.follow(feed)))

    async def submit(self, signal: Signal, timeout_s: float = DECIDE_TIMEOUT_S) -> TradeResult:
        """Decide on ``signal`` and send its order if accepted."""
        if self.watch_only:
            raise SecretUnavailable(_WATCH_ONLY)
        result: TradeResult = await self.actor.ask(SubmitSignal(signal), timeout_s)
        return result

    async def preview(self, signal: Signal, timeout_s: float = DECIDE_TIMEOUT_S) -> TradeResult:
        """Decide on ``signal`` without journaling or sending."""
        result: TradeResult = await self.actor.ask(PreviewSignal(signal), timeout_s)
        return result

    async def stop(self) -> None:
        """No new signals; wait for in-flight outcomes; close everything."""
        await self.actor.settle_all()
        await self.actor.stop()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        await self.node.close()
        await self.indexer.close()
        self.journal.close()


async def build_trader(
    settings: Settings,
    profile: NetworkProfile,
    *,
    address: str,
    mnemonic: Secret | None,
    bot_key: Secret | None = None,
    subaccount_number: int | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    on_settled: Callable[[Settlement], None] | None = None,
    height_max_age_s: float = 1.0,
    settle_poll_s: float = 1.0,
) -> Trader:
    """Wire a :class:`Trader` for ``address`` on ``profile``.

    ``mnemonic`` signs orders; it is revealed only here, to derive the key,
    and never logged. The chain id used to sign is the one the node reports.
    ``mnemonic=None`` builds a watch-only trader: it reads and previews, and
    its :meth:`Trader.submit` raises :class:`SecretUnavailable`. ``bot_key``
    (instead of the mnemonic) signs through the owner's authenticator
    ``settings.account.authenticator_id``, checked against the chain first.
    """
    subaccount = (
        settings.account.subaccount_number if subaccount_number is None else subaccount_number
    )
    key = None if mnemonic is None else _key_for(mnemonic, address)
    authenticator_id = _bot_key_settings(settings, mnemonic, bot_key)
    indexer = IndexerGateway(profile.indexer_url)
    node = await NodeGateway.connect(profile, timeout_s=settings.execution.send_timeout_s)
    gateway: OrderGateway | RevocationWatch | _WatchOnlySender = _WatchOnlySender()
    try:
        chain_id = await node.chain_id()  # also proves the node answers, signer or not
        numbers = None if key is None else await node.account_numbers(address)
        if bot_key is not None and authenticator_id is not None:
            gateway = await bot_key_gateway(
                node,
                Builder(chain_id, USDC_DENOM),
                owner=address,
                subaccount_number=subaccount,
                authenticator_id=authenticator_id,
                bot_key=bot_key,
                timeout_s=settings.execution.send_timeout_s,
                # The halt path: persisted HALTED with the reason, as the kill switch does.
                on_revoked=lambda reason: risk_guard.halt(reason),
            )
    except BaseException:
        await node.close()
        raise
    if key is not None and numbers is not None:
        gateway = OrderGateway(
            node.channel,
            Builder(chain_id, USDC_DENOM),
            Wallet(key, *numbers),
            timeout_s=settings.execution.send_timeout_s,
        )
    journal = Journal.open(settings.journal.resolved_path())
    market_data = MarketDataManager(
        indexer,
        candles=indexer,
        feed=IndexerFeed(profile.websocket_url),
        refresh_ttl_s=settings.ttl.market_ttl_s,
        max_oracle_age_s=settings.ttl.max_oracle_age_s,
    )
    heights = ChainHeightCache(node, max_age_s=height_max_age_s)
    balance = BalanceManager(
        indexer,
        node,
        market_data,
        address=address,
        subaccount_number=subaccount,
        ttl_s=settings.ttl.balance_ttl_s,
        max_indexer_lag_blocks=settings.ttl.max_indexer_lag_blocks,
    )
    risk_guard = RiskGuard(journal, KillSwitch(settings.kill_switch.limits()))
    executor = OrderExecutor(
        gateway,
        indexer,
        journal,
        market_data.market,
        poll_interval_s=settle_poll_s,
        settle_timeout_s=settings.execution.confirm_timeout_s,
    )
    balance.add_listener(executor.notify)
    validator = SignalValidator(
        settings.validation_config(),
        markets=lambda ticker: _known(market_data, ticker),
        clock=clock,
    )
    actor = AccountActor(
        address=address,
        subaccount_number=subaccount,
        validator=validator,
        balance=balance,
        markets=market_data,
        policy=settings.sizing_policy(),
        limits=_limits_by_market(settings),
        executor=executor,
        journal=journal,
        risk_guard=risk_guard,
        heights=heights,
        settings=OrderParams(
            slippage=settings.execution.slippage_bps / Decimal(10_000),
            good_til_block_offset=settings.execution.good_til_block_offset,
            time_in_force=_TIME_IN_FORCE[settings.execution.order_type],
        ),
        clock=clock,
        on_settled=on_settled,
    )
    supervisor = Supervisor(on_failure=lambda reason: risk_guard.halt(reason))
    return Trader(
        settings=settings,
        profile=profile,
        address=address,
        indexer=indexer,
        node=node,
        journal=journal,
        market_data=market_data,
        balance=balance,
        risk_guard=risk_guard,
        executor=executor,
        actor=actor,
        supervisor=supervisor,
        heights=heights,
        validator=validator,
        watch_only=key is None and bot_key is None,
    )


def _limits_by_market(settings: Settings) -> Callable[[str], RiskLimits]:
    """The caps of each market, built once per market (they only differ by notional cap)."""
    cache: dict[str, RiskLimits] = {}

    def limits(market: str) -> RiskLimits:
        if market not in cache:
            cache[market] = settings.risk_limits(market)
        return cache[market]

    return limits


_WATCH_ONLY = "this trader was built without a mnemonic: it can preview, not trade"


def _bot_key_settings(
    settings: Settings, mnemonic: Secret | None, bot_key: Secret | None
) -> int | None:
    """The authenticator id a bot key signs through; refuses a half-configured bot key."""
    authenticator_id = settings.account.authenticator_id
    if bot_key is None:
        return None
    if mnemonic is not None:
        raise SecretUnavailable("give either the mnemonic or a bot key, not both")
    if authenticator_id is None:
        raise SecretUnavailable(
            "a bot key signs through an authenticator: set account.authenticator_id "
            "(`dydx-trader keys create-bot-key` prints it)"
        )
    return authenticator_id


def _key_for(mnemonic: Secret, address: str) -> KeyPair:
    try:
        key = KeyPair.from_mnemonic(mnemonic.reveal())
    except Exception:  # noqa: BLE001 - never echo the library's message: it may quote the words
        raise SecretUnavailable("the mnemonic is not a valid BIP-39 phrase") from None
    if Wallet(key, 0, 0).address != address:
        raise SecretUnavailable(
            f"the mnemonic does not belong to {address}; check the configured address"
        )
    return key


class _WatchOnlySender:
    """The order sender of a trader with no key: it signs and sends nothing."""

    def sign(self, intent: OrderIntent) -> SignedOrder:
        raise SecretUnavailable(_WATCH_ONLY)

    async def broadcast(self, signed: SignedOrder) -> BroadcastOutcome:
        raise SecretUnavailable(_WATCH_ONLY)


def _known(market_data: MarketDataManager, ticker: str) -> MarketSpec | None:
    try:
        return market_data.market(ticker)
    except DydxTraderError:  # unknown or stale: the validator names it
        return None

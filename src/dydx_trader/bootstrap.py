"""The composition root: the one place that names concrete adapters.

:func:`build_trader` turns :class:`Settings` (plus a network profile and, for
live trading, a signing secret) into a :class:`~dydx_trader.app.trader.Trader`:
the indexer and node
gateways, the journal, market data, the BalanceManager, the kill switch, the
executor and the account actor, supervised. Every adapter is a keyword
parameter defaulting to the real one, so tests build the very same trader
with fakes (``tests/kit``) or against the devnet.

Start-up order matters: markets are read and every order the journal still has
in flight is reconciled against the indexer *before* the first signal is
accepted (crash-only recovery; nothing is ever resent).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from decimal import Decimal

from dydx_v4_client.key_pair import KeyPair
from dydx_v4_client.node.builder import Builder
from dydx_v4_client.wallet import Wallet

from dydx_trader.adapters.dydx.bot_key import bot_key_gateway
from dydx_trader.adapters.dydx.indexer import IndexerGateway
from dydx_trader.adapters.dydx.network import USDC_DENOM, NetworkProfile
from dydx_trader.adapters.dydx.node import NodeGateway
from dydx_trader.adapters.dydx.order_gateway import OrderGateway, sequence_reader
from dydx_trader.adapters.dydx.stream import IndexerFeed
from dydx_trader.adapters.journal import Journal
from dydx_trader.app.account_actor import AccountActor
from dydx_trader.app.account_messages import ClosePosition
from dydx_trader.app.account_terms import AccountTermsCache
from dydx_trader.app.balance import BalanceManager
from dydx_trader.app.executor import OrderExecutor, Settlement
from dydx_trader.app.flattener import Flattener
from dydx_trader.app.foreign_activity import ForeignActivity, ForeignActivityMonitor
from dydx_trader.app.heights import ChainHeightCache
from dydx_trader.app.market_data import MarketDataManager
from dydx_trader.app.metrics import TraderMetrics
from dydx_trader.app.ports import ChainNode, Clock, OrderSender, SystemClock, VenueFeed, VenueReader
from dydx_trader.app.protection import ProtectionManager
from dydx_trader.app.risk_guard import RiskGuard
from dydx_trader.app.settlement import Settler
from dydx_trader.app.stateful_orders import stateful_orders_for
from dydx_trader.app.trader import DECIDE_TIMEOUT_S, WATCH_ONLY, Trader
from dydx_trader.app.trader_types import JournalPort
from dydx_trader.app.validation import SignalValidator
from dydx_trader.app.volatility import MarketAtr, no_atr
from dydx_trader.config import Settings
from dydx_trader.domain.account import Subaccount
from dydx_trader.domain.broadcast import BroadcastOutcome, SignedOrder
from dydx_trader.domain.errors import DydxTraderError, InvalidInput, SecretUnavailable
from dydx_trader.domain.market import MarketSpec
from dydx_trader.domain.order import OrderIntent, TimeInForce
from dydx_trader.domain.order_params import OrderParams
from dydx_trader.domain.position_mode import PositionMode, PositionRule
from dydx_trader.domain.pre_trade import RiskLimits
from dydx_trader.domain.sizing_policy import PolicyKind
from dydx_trader.domain.trading_state import KillSwitch
from dydx_trader.domain.venue import CandleResolution
from dydx_trader.readers import Reader, build_reader  # re-exported: the CLI's read-only views
from dydx_trader.secrets import Secret

__all__ = ("Reader", "Trader", "build_reader", "build_trader", "signing_sender")

log = logging.getLogger(__name__)

_TIME_IN_FORCE = {
    "ioc": TimeInForce.IOC,
    "limit": TimeInForce.GTT,
    "post_only": TimeInForce.POST_ONLY,
}


async def build_trader(
    settings: Settings,
    profile: NetworkProfile,
    *,
    address: str,
    mnemonic: Secret | None,
    bot_key: Secret | None = None,
    subaccount_number: int | None = None,
    clock: Clock | None = None,
    indexer: VenueReader | None = None,
    node: ChainNode | None = None,
    sender: OrderSender | None = None,
    journal: JournalPort | None = None,
    feed: VenueFeed | None = None,
    on_settled: Callable[[Settlement], None] | None = None,
    on_foreign: Callable[[ForeignActivity], None] | None = None,
    height_max_age_s: float = 1.0,
    settle_poll_s: float = 1.0,
    rng: random.Random | None = None,
    metrics: TraderMetrics | None = None,
) -> Trader:
    """Wire a :class:`Trader` for ``address`` on ``profile``.

    ``mnemonic`` signs orders; it is revealed only here, to derive the key,
    and never logged. The chain id used to sign is the one the node reports.
    ``bot_key`` (instead of the mnemonic) signs through the owner's authenticator
    ``settings.account.authenticator_id``, checked against the chain first; a
    revoked authenticator halts trading. With no mnemonic, bot key or ``sender``
    the trader is watch-only: it reads and previews, and its
    :meth:`Trader.submit` raises :class:`SecretUnavailable`.
    Each adapter (``indexer``, ``node``, ``sender``, ``journal``, ``feed``,
    ``clock``) defaults to the real one for ``profile`` and ``settings``.
    ``rng`` draws the settler's backoff jitter (seed it for a reproducible replay).
    ``on_settled`` hears of each order's settlement, ``on_foreign`` of each foreign
    order or fill first recorded (liquidations among them).
    """
    if sender is not None and mnemonic is not None:
        raise InvalidInput("give the trader a mnemonic or a sender, not both")
    owner = Subaccount(
        address,
        settings.account.subaccount_number if subaccount_number is None else subaccount_number,
    )
    clock = clock or SystemClock()
    timeout_s = settings.execution.send_timeout_s
    authenticator_id = _bot_key_settings(settings, mnemonic, bot_key)
    key = None if mnemonic is None else _key_for(mnemonic, address)
    node = node or await NodeGateway.connect(profile, timeout_s=timeout_s)
    try:
        chain_id = await node.chain_id()  # proves the node answers, signer or not
        if key is not None:
            sender = await _gateway(node, key, address, timeout_s)
        elif bot_key is not None and authenticator_id is not None:
            if not isinstance(node, NodeGateway):
                raise InvalidInput("a bot key signs through the real node gateway")
            sender = await bot_key_gateway(
                node,
                Builder(chain_id, USDC_DENOM),
                owner=address,
                subaccount_number=owner.number,
                authenticator_id=authenticator_id,
                bot_key=bot_key,
                timeout_s=timeout_s,
                # Late-bound: a revocation halts (persisted), as the kill switch does.
                on_revoked=lambda reason: risk_guard.halt(reason),
            )
    except BaseException:
        await node.close()
        raise
    indexer = indexer or IndexerGateway(profile.indexer_url)
    feed = feed or IndexerFeed(profile.websocket_url)
    # Stamped on the trader's clock: market time in a paper replay.
    journal = journal or Journal.open(settings.journal.resolved_path(), clock=clock.now)
    market_data = MarketDataManager(
        indexer,
        candles=indexer,
        feed=feed,
        clock=clock,
        refresh_ttl_s=settings.ttl.market_ttl_s,
        max_oracle_age_s=settings.ttl.max_oracle_age_s,
    )
    fees, ttl_s = settings.execution.fee_override(), settings.ttl.balance_ttl_s
    balance = BalanceManager(
        indexer,
        node,
        market_data,
        address=owner.address,
        subaccount_number=owner.number,
        ttl_s=ttl_s,
        max_indexer_lag_blocks=settings.ttl.max_indexer_lag_blocks,
        clock=clock,
        metrics=metrics,
        terms=AccountTermsCache(node, market_data, owner, fees, ttl_s=ttl_s, clock=clock),
    )
    risk_guard = RiskGuard(journal, KillSwitch(settings.kill_switch.limits()), clock=clock.now)
    executor = OrderExecutor(
        sender or _WatchOnlySender(),
        indexer,
        journal,
        market_data.market,
    )
    protection = ProtectionManager(
        owner=owner,
        policy=settings.protection.policy(),
        orders=stateful_orders_for(sender, indexer, journal, market_data.market),
        journal=journal,
        positions=balance,
        markets=market_data,
        venue=indexer,
        on_settled=on_settled,  # protective orders' settlements too
    )
    settler = Settler(
        executor,
        journal,
        confirm_timeout_s=settings.execution.confirm_timeout_s,
        clock=clock.monotonic,
        # Late-bound: the actor below owns the reservations these settle.
        on_settled=lambda settlement: _settled(actor, protection, settlement),
        on_unsettled=lambda intent, reason: actor.unsettled(intent, reason),
        on_fault=lambda intent, error: actor.faulted(intent, error),
        poll_interval_s=settle_poll_s,
        rng=rng,
    )
    foreign = ForeignActivityMonitor(
        indexer, journal, journal, address=owner.address, subaccount_number=owner.number,
        on_found=on_foreign,
    )  # fmt: skip
    balance.add_listener(settler.notify)
    balance.add_listener(foreign.on_subaccount_update)
    balance.add_listener(protection.request_sync)
    validator = SignalValidator(
        settings.validation_config(),
        markets=lambda ticker: _known(market_data, ticker),
        clock=clock,
    )
    policy = settings.sizing_policy()
    heights = ChainHeightCache(node, max_age_s=height_max_age_s, clock=clock)
    actor = AccountActor(
        owner=owner,
        validator=validator,
        balance=balance,
        markets=market_data,
        policy=policy,
        limits=_limits_by_market(settings),
        executor=executor,
        settler=settler,
        journal=journal,
        risk_guard=risk_guard,
        heights=heights,
        order_params=OrderParams(
            slippage=settings.execution.slippage_bps / Decimal(10_000),
            good_til_block_offset=settings.execution.good_til_block_offset,
            time_in_force=_TIME_IN_FORCE[settings.execution.order_type],
            position=PositionRule(
                PositionMode(settings.execution.position_mode),
                settings.execution.max_entries_per_market,
            ),
        ),
        atr=(
            MarketAtr(market_data, _strategy_resolutions(settings))
            if policy.kind is PolicyKind.VOLATILITY_TARGET or settings.protection.uses_atr
            else no_atr
        ),
        clock=clock,
        on_settled=on_settled,
        metrics=metrics,
        protection=protection.policy,
        before_send=protection.remember,
    )
    flattener = Flattener(
        guard=risk_guard,
        positions=balance,
        heights=heights,
        close=lambda signal: actor.ask(ClosePosition(signal), DECIDE_TIMEOUT_S),
        in_flight=lambda: actor.in_flight,
        now=clock.now,
    )
    return Trader(
        owner=owner,
        indexer=indexer,
        node=node,
        journal=journal,
        feed=feed,
        market_data=market_data,
        balance=balance,
        risk_guard=risk_guard,
        executor=executor,
        settler=settler,
        foreign=foreign,
        validator=validator,
        actor=actor,
        watch_only=sender is None,
        protection=protection,
        flattener=flattener,
        clock=clock,
        metrics=metrics,
    )


def _settled(actor: AccountActor, protection: ProtectionManager, settlement: Settlement) -> None:
    actor.settled(settlement)
    if settlement.fills:
        protection.request_sync()  # a position changed: its protection follows


def _limits_by_market(settings: Settings) -> Callable[[str], RiskLimits]:
    """The caps of each market, built once per market (they only differ by notional cap)."""
    cache: dict[str, RiskLimits] = {}

    def limits(market: str) -> RiskLimits:
        if market not in cache:
            cache[market] = settings.risk_limits(market)
        return cache[market]

    return limits


def _strategy_resolutions(settings: Settings) -> dict[str, CandleResolution]:
    """Each market's candle resolution as its (first) strategy reads it."""
    resolutions: dict[str, CandleResolution] = {}
    for _, entry in settings.build_strategies():
        for market in entry.markets:
            resolutions.setdefault(market, CandleResolution(entry.resolution))
    return resolutions


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


async def signing_sender(
    node: NodeGateway, mnemonic: Secret, address: str, *, timeout_s: float
) -> OrderGateway:
    """The order sender :func:`build_trader` makes from ``mnemonic``: it signs for
    ``address`` on ``node``'s chain (to wrap it, or to sign without a trader)."""
    return await _gateway(node, _key_for(mnemonic, address), address, timeout_s)


async def _gateway(node: ChainNode, key: KeyPair, address: str, timeout_s: float) -> OrderGateway:
    if not isinstance(node, NodeGateway):
        raise InvalidInput("a trader that signs needs the real node gateway (or give sender=)")
    chain_id = await node.chain_id()
    numbers = await node.account_numbers(address)
    return OrderGateway(
        node.channel,
        Builder(chain_id, USDC_DENOM),
        Wallet(key, *numbers),
        timeout_s=timeout_s,
        sequence_reader=sequence_reader(node, address),
    )


class _WatchOnlySender:
    """The order sender of a trader with no key: it signs and sends nothing."""

    def sign(self, intent: OrderIntent) -> SignedOrder:
        raise SecretUnavailable(WATCH_ONLY)

    async def broadcast(self, signed: SignedOrder) -> BroadcastOutcome:
        raise SecretUnavailable(WATCH_ONLY)


def _known(market_data: MarketDataManager, ticker: str) -> MarketSpec | None:
    try:
        return market_data.market(ticker)
    except DydxTraderError:  # unknown or stale: the validator names it
        return None

"""The account actor: the I/O around each decision of one subaccount.

One actor per subaccount handles one signal at a time, so two signals are
never decided concurrently. For each it:

1. journals the signal and the validator's verdict;
2. reads what the decision needs: a balance snapshot proven fresh (with the
   account's leverage settings and fee tier on the chain), the markets, the
   chain height, the trading state (and the ATR when the sizing policy wants it);
3. calls the pure :func:`~dydx_trader.domain.decide.decide` with the orders
   still in flight, and journals the decision;
4. if accepted: reserves the order's worst case and journals its intent *before*
   sending it once, and follows it until settled; the reservation goes only on a
   definitive rejection or a settlement. A short-term order's broadcast leaves
   the mailbox (:mod:`.send_pipeline`): the next signal is decided meanwhile,
   on the same snapshot (a send does not drop it: the reservation covers it).

Two signals can therefore never spend the same free collateral. Every "no" is
a journaled :class:`~dydx_trader.domain.decision.Decision`; a :class:`Fault`
(the journal fails, an illegal transition) crashes the actor and its supervisor
halts trading with a reason naming the signal.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from decimal import Decimal
from functools import partial

from dydx_trader.app.account_messages import (
    ClosePosition,
    Flush,
    PreviewSignal,
    SampleEquity,
    SubmitSignal,
    TradeResult,
)
from dydx_trader.app.actor import Actor, ActorStopped, Later
from dydx_trader.app.balance import BalanceManager
from dydx_trader.app.balance_snapshot import BalanceSnapshot
from dydx_trader.app.executor import OrderExecutor, Settlement
from dydx_trader.app.metrics import NoMetrics, TraderMetrics
from dydx_trader.app.ports import ChainHeightReader, Clock, DecisionJournal, MarketSource
from dydx_trader.app.risk_guard import RiskGuard
from dydx_trader.app.send_pipeline import OrderSending
from dydx_trader.app.settlement import Settler
from dydx_trader.app.validation import SignalValidator
from dydx_trader.domain.account import Subaccount
from dydx_trader.domain.decide import decide
from dydx_trader.domain.decision import Decision
from dydx_trader.domain.errors import (
    DydxTraderError,
    Refusal,
    SignalRejected,
    Unavailable,
)
from dydx_trader.domain.margin import MarginState, margin_state
from dydx_trader.domain.order import Order, OrderIntent
from dydx_trader.domain.order_params import OrderParams
from dydx_trader.domain.pre_trade import RiskLimits
from dydx_trader.domain.proposal import OrderProposal
from dydx_trader.domain.protection import ProtectionPolicy
from dydx_trader.domain.reservation import ReservationCache
from dydx_trader.domain.signal import Action, Signal
from dydx_trader.domain.sizing_policy import SizingPolicy
from dydx_trader.domain.trading_state import OrderOutcome

log = logging.getLogger(__name__)
_SEND_FAILED = object()

AtrSource = Callable[[str], Awaitable[Decimal | None]]
"""The average true range of a market in USDC (``None`` when not known)."""


@dataclass(frozen=True, slots=True)
class _Settled:
    settlement: Settlement


class AccountActor(Actor):
    """Owns the decisions of one subaccount. See the module docstring.

    ``limits(market)`` gives the caps for one market (a per-market notional cap
    may differ); ``policy`` turns a signal into a target size; ``atr(market)``
    gives the ATR a volatility-target policy sizes with.
    """

    def __init__(
        self,
        *,
        owner: Subaccount,
        validator: SignalValidator,
        balance: BalanceManager,
        markets: MarketSource,
        policy: SizingPolicy,
        limits: Callable[[str], RiskLimits],
        executor: OrderExecutor,
        settler: Settler,
        journal: DecisionJournal,
        risk_guard: RiskGuard,
        heights: ChainHeightReader,
        order_params: OrderParams,
        atr: AtrSource,
        clock: Clock,
        on_settled: Callable[[Settlement], None] | None = None,
        metrics: TraderMetrics | None = None,
        protection: ProtectionPolicy | None = None,
        before_send: Callable[[Decision], None] | None = None,
    ) -> None:
        super().__init__(f"account {owner.address}/{owner.number}")
        self.owner = owner
        self._validator = validator
        self._balance = balance
        self._markets = markets
        self._policy = policy
        self._limits = limits
        self._executor = executor
        self._settler = settler
        self._journal = journal
        self._risk_guard = risk_guard
        self._heights = heights
        self._order_params = order_params
        self._atr = atr
        self._clock = clock
        self._on_settled = on_settled
        self._metrics: TraderMetrics = metrics or NoMetrics()
        self._protection = protection
        # Called with an accepted decision before its order is sent (its protection
        # is journaled then: intent before send).
        self._before_send = before_send
        # The worst case of every order in flight, by the signal it serves.
        self._reserved: dict[str, OrderProposal] = {}
        # The snapshot whose equity the kill switch last saw: a cached snapshot
        # re-read by the next decision carries no new sample (and the switch's
        # drawdown window grows with every sample fed to it).
        self._equity_seen: BalanceSnapshot | None = None
        # The last valuation: positions whose size and price have not changed
        # are not valued again.
        self._valued: MarginState | None = None
        self._folded = ReservationCache()  # a burst folds each new reservation only
        self._sending = OrderSending(
            owner=owner,
            executor=executor,
            reserved=self._reserved,
            follow=self._follow,
            risk_guard=risk_guard,
            metrics=self._metrics,
            on_failure=self._send_failed,
        )

    # -- messages ----------------------------------------------------------------

    async def receive(self, message: object) -> object:
        if (failure := self._sending.pipeline.failure) is not None:
            raise failure  # a send apart failed: crash before anything else
        if isinstance(message, SubmitSignal):
            return await self._guarded(message.signal, self._submit)
        if isinstance(message, PreviewSignal):
            return await self._guarded(message.signal, self._preview)
        if isinstance(message, ClosePosition):
            return await self._guarded(message.signal, self._close)
        if isinstance(message, SampleEquity):
            snapshot = await self._balance.get_snapshot()
            self._sample_equity(snapshot)
            return snapshot.risk
        if isinstance(message, _Settled):
            self._release(message.settlement)
            return None
        if isinstance(message, Flush):
            return self._sending.pipeline.drained()
        raise TypeError(f"{self.name} cannot handle {type(message).__name__}")

    @property
    def reserved(self) -> tuple[OrderProposal, ...]:
        """The worst cases of the orders in flight."""
        return tuple(self._reserved.values())

    @property
    def in_flight(self) -> int:
        """How many sent orders are still being followed."""
        return len(self._settler.following)

    async def _guarded(
        self, signal: Signal, handle: Callable[[Signal], Awaitable[TradeResult | Later]]
    ) -> TradeResult | Later:
        try:
            return await handle(signal)
        except Exception as error:
            # A crash names its signal: the supervisor persists the note with the halt.
            error.add_note(
                f"while handling signal {signal.id} ({signal.action.value} {signal.market})"
            )
            raise

    # -- the flow ----------------------------------------------------------------

    async def _preview(self, signal: Signal) -> TradeResult:
        if signal.action is Action.HOLD:
            return TradeResult(signal, None, "HOLD: nothing to do")
        decision = await self._decide(signal)
        return TradeResult(signal, decision, "not validated (preview)", decision.intent)

    async def _submit(self, signal: Signal) -> TradeResult | Later:
        self._metrics.decision_started(signal.id)
        # Claimed, not merely recorded: the webhook journals a signal before its 202,
        # and that signal is still to be decided here, exactly once.
        if not self._journal.claim_signal(signal):
            error = SignalRejected(
                f"signal {signal.id} was already decided; a replay is never traded twice",
                rule="duplicate_id",
            )
            return TradeResult(signal, self._refuse(signal, error), "duplicate")
        verdict = self._validator.validate(signal)
        rejection = verdict.rejection
        self._journal.record_validation(
            signal.id,
            accepted=rejection is None,
            rule=rejection.rule.value if rejection else None,
            reason=str(rejection) if rejection else verdict.summary,
            numbers=dict(rejection.numbers) if rejection else None,
        )
        if rejection is not None:
            return TradeResult(signal, self._refuse(signal, rejection.to_error()), verdict.summary)
        if not verdict.actionable:
            return TradeResult(signal, None, verdict.summary)
        return await self._decide_and_send(signal, verdict.summary)

    async def _close(self, signal: Signal) -> TradeResult | Later:
        if not self._journal.claim_signal(signal):
            return TradeResult(signal, None, "duplicate")
        return await self._decide_and_send(signal, "issued by the trader")

    async def _decide_and_send(self, signal: Signal, summary: str) -> TradeResult | Later:
        decision = await self._decide(signal)
        self._journal.record_decision(decision)
        self._metrics.decided(signal.id, decision.outcome.value, _reason_code(decision))
        result = TradeResult(signal, decision, summary)
        if decision.intent is None or decision.reservation is None:
            return result
        if self._before_send is not None:
            self._before_send(decision)  # the entry's protection levels, journaled first
        return await self._sending.send(
            decision.intent, decision.reservation, partial(_with_order, result)
        )

    async def _decide(self, signal: Signal) -> Decision:
        """Read what the decision needs, then decide (a refusal when a read fails)."""
        try:
            snapshot = await self._balance.get_snapshot()
            self._sample_equity(snapshot)
            in_flight = tuple(self._reserved.values())
            tickers = {signal.market, *(p.market for p in snapshot.positions)}
            tickers.update(order.market for order in in_flight)
            markets = self._markets.markets(sorted(tickers))  # same order every run
            terms = snapshot.terms
            state = margin_state(
                snapshot.account, markets, custom_imf_ppm=terms.custom_imf_ppm, reuse=self._valued
            )
            self._valued = state
            if terms.fee_tier != self._order_params.fees:
                # The tier the chain charges now: sized, checked and reserved with it.
                self._order_params = replace(self._order_params, fees=terms.fee_tier)
            height = await self._heights.latest_block_height()
            atr = None if signal.action is Action.CLOSE else await self._atr(signal.market)
        except (Refusal, Unavailable) as error:
            return Decision.refused(
                signal_id=signal.id,
                market=signal.market,
                error=error,
                decided_at=self._clock.now(),
            )
        return decide(
            signal,
            state,
            markets,
            owner=self.owner,
            policy=self._policy,
            limits=self._limits(signal.market),
            order_params=self._order_params,
            trading_state=self._risk_guard.state,
            trading_reason=self._risk_guard.last_reason,
            height=height,
            now=self._clock.now(),
            in_flight=in_flight,
            atr=atr,
            protection=self._protection,
            reservations=self._folded,
        )

    def _sample_equity(self, snapshot: BalanceSnapshot) -> None:
        if snapshot is not self._equity_seen:
            self._equity_seen = snapshot
            self._risk_guard.record_equity(snapshot.equity)

    def _refuse(self, signal: Signal, error: DydxTraderError) -> Decision:
        decision = Decision.refused(
            signal_id=signal.id, market=signal.market, error=error, decided_at=self._clock.now()
        )
        self._journal.record_decision(decision)
        self._metrics.decided(signal.id, decision.outcome.value, _reason_code(decision))
        return decision

    # -- sending -------------------------------------------------------------------

    def _send_failed(self, error: Exception) -> None:
        """A send apart failed: crash at the next message, or, stopping, at once."""
        try:
            self.tell(_SEND_FAILED)  # wakes the actor to crash on it
        except ActorStopped:
            if self._supervisor is not None:
                self._supervisor.escalate(self, error)

    def dropped(self, message: object) -> None:
        if isinstance(message, _Settled):  # queued behind a crash: still released
            self._release(message.settlement)

    def _abort(self) -> None:
        self._sending.pipeline.close()  # another actor crashed: nothing more goes out
        super()._abort()

    async def stop(self) -> None:  # the signals queued, then their sends' answers
        await super().stop()
        await self._sending.pipeline.drain()

    # -- settlement ----------------------------------------------------------------
    # The settler calls these from its tasks, on this actor's event loop.

    def _follow(self, intent: OrderIntent) -> None:
        self._settler.follow(intent, just_sent=True)

    def settled(self, settlement: Settlement) -> None:
        """The settler's final word on an order: release its reservation in turn
        with the decisions (through the mailbox), or at once once stopped."""
        try:
            self.tell(_Settled(settlement))
        except Exception:  # noqa: BLE001 - the actor stopped; release here instead
            self._release(settlement)

    def unsettled(self, intent: OrderIntent, reason: str) -> None:
        """An order not settled in time: the kill switch counts it; the
        reservation stays and the settler keeps following it."""
        log.warning("%s", reason)
        try:
            self._risk_guard.record_outcome(OrderOutcome.UNSETTLED)
        except DydxTraderError as error:  # a trip holds here; the journal takes it at stop
            log.error("the kill switch could not record it: %s", error)

    def faulted(self, intent: OrderIntent, error: Exception) -> None:
        """Settling ``intent`` met something broken (malformed venue data, the
        journal failing): halt trading, naming the order; keep following it."""
        reason = (
            f"order {intent.client_id} (signal {intent.signal_id}, {intent.market}) "
            f"could not be settled: {type(error).__name__}: {error}"
        )
        log.error("%s", reason)
        try:
            self._risk_guard.halt(reason)
        except DydxTraderError as failure:  # it holds here, pending; written at stop
            log.error("the halt is not in the journal yet: %s", failure)

    def _release(self, settlement: Settlement) -> None:
        intent = settlement.order.intent
        self._reserved.pop(intent.signal_id, None)
        self._metrics.order_final(settlement.order.state.value)
        # The next snapshot must already hold what settled this order.
        self._balance.require_height(
            settlement.height, f"order {intent.client_id} settled at {settlement.height}"
        )
        for fill in settlement.fills:
            self._balance.on_fill(fill)
        if settlement.fills:
            self._validator.record_trade(intent.market)
        else:
            self._balance.invalidate(f"order {intent.client_id} settled")
        if self._on_settled is not None:
            self._on_settled(settlement)


def _reason_code(decision: Decision) -> str:
    """A short, bounded label for a decision: the validation rule or error class of a
    refusal, the binding cap of an acceptance (``unbound`` when none bound it)."""
    if decision.error_code is not None:
        return decision.numbers.get("rule") or decision.error_code
    return decision.bound_by or "unbound"


def _with_order(result: TradeResult, order: Order) -> TradeResult:
    return replace(result, intent=order.intent, order=order)

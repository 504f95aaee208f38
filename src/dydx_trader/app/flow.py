"""The trade flow of one subaccount: signal in, order out (or a reason why not).

``validate -> balance -> leverage -> size -> pre-trade checks -> execute``,
one signal at a time: :class:`AccountActor` is an actor, so two signals are
never decided concurrently, and every accepted order reserves its worst case
(:mod:`dydx_trader.domain.reservation`) until it is settled. Two signals can
therefore never spend the same free collateral.

Every "no" is a :class:`Decision` value with the numbers, journaled; nothing is
raised through the loop for a domain reason.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Protocol

from dydx_trader.app.actor import Actor
from dydx_trader.app.balance import BalanceManager, BalanceSnapshot
from dydx_trader.app.executor import OrderExecutor, Settlement
from dydx_trader.app.ports import ChainHeightReader, MarketSource
from dydx_trader.app.risk_guard import RiskGuard
from dydx_trader.app.validation import SignalValidator
from dydx_trader.domain.account import AccountSnapshot
from dydx_trader.domain.decision import Decision
from dydx_trader.domain.errors import (
    ClientIdConflict,
    DydxTraderError,
    InvalidInput,
    NothingToTrade,
    Refusal,
    SignalRejected,
    Unavailable,
)
from dydx_trader.domain.market import MarketSpec
from dydx_trader.domain.order import (
    Order,
    OrderFlags,
    OrderIntent,
    OrderState,
    TimeInForce,
    derive_client_id,
)
from dydx_trader.domain.pre_trade import RiskLimits, check_order
from dydx_trader.domain.reservation import PendingFill, with_pending_fills
from dydx_trader.domain.side import Side
from dydx_trader.domain.signal import Action, Signal, SizingKind
from dydx_trader.domain.sizing import PositionSizer, Refused, SizingPolicy, SizingRequest
from dydx_trader.domain.trading_state import OrderOutcome

log = logging.getLogger(__name__)

Line = tuple[str, str]
_CLIENT_ID_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class OrderParams:
    """How orders are built.

    ``slippage`` is the fraction around the oracle price that bounds an IOC
    order's worst price (0.01 = 1 %; never price 0). ``good_til_block_offset``
    blocks past the chain height (inside the chain's 20-block window).
    ``taker_fee_ppm`` is the fee rate assumed when sizing (ppm of notional).
    ``time_in_force`` of BUY / SELL orders: IOC (a market order with a worst
    price), GTT (a short-term limit order resting until its good-til-block, at
    the signal's price or the oracle) or POST_ONLY (the same, maker only). A
    limit price more than ``slippage`` through the oracle is refused. CLOSE is
    always a reduce-only IOC, as the chain requires.
    """

    slippage: Decimal = Decimal("0.01")
    good_til_block_offset: int = 10
    taker_fee_ppm: int = 500
    time_in_force: TimeInForce = TimeInForce.IOC

    def __post_init__(self) -> None:
        if not (Decimal(0) < self.slippage < Decimal("0.5")):
            raise ValueError(f"slippage {self.slippage} must lie in (0, 0.5)")
        if not 1 <= self.good_til_block_offset <= 19:
            raise ValueError(
                f"good-til-block offset {self.good_til_block_offset} must lie in 1..19"
            )
        if not 0 <= self.taker_fee_ppm <= 100_000:
            raise ValueError(f"taker fee {self.taker_fee_ppm} ppm must lie in 0..100000")


@dataclass(frozen=True, slots=True)
class SubmitSignal:
    """Decide on ``signal`` and, if accepted, send its order. Answers a :class:`TradeResult`."""

    signal: Signal


@dataclass(frozen=True, slots=True)
class PreviewSignal:
    """Decide on ``signal`` without journaling or sending anything."""

    signal: Signal


@dataclass(frozen=True, slots=True)
class _Settled:
    settlement: Settlement


@dataclass(frozen=True, slots=True)
class TradeResult:
    """What became of one signal: the decision (``None`` for HOLD or a rejected
    signal, see ``validation``), the intent built, and the order's state after
    the send (``None`` when nothing was sent)."""

    signal: Signal
    decision: Decision | None
    validation: str
    intent: OrderIntent | None = None
    order: Order | None = None
    worst_case: PendingFill | None = None


class _Refusal(Exception):
    """A domain refusal together with the arithmetic that led to it."""

    def __init__(self, error: DydxTraderError, lines: list[Line]) -> None:
        super().__init__(str(error))
        self.error = error
        self.lines = tuple(lines)


class AccountActor(Actor):
    """Owns the decisions of one subaccount. See the module docstring.

    ``limits(market)`` gives the caps for one market (a per-market notional cap
    may differ); ``policy`` turns a signal into a target size.
    """

    def __init__(
        self,
        *,
        address: str,
        subaccount_number: int,
        validator: SignalValidator,
        balance: BalanceManager,
        markets: MarketSource,
        policy: SizingPolicy,
        limits: Callable[[str], RiskLimits],
        executor: OrderExecutor,
        journal: FlowJournal,
        risk_guard: RiskGuard,
        heights: ChainHeightReader,
        settings: OrderParams | None = None,
        atr: Callable[[str], Decimal | None] = lambda market: None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_settled: Callable[[Settlement], None] | None = None,
    ) -> None:
        super().__init__(f"account {address}/{subaccount_number}")
        self.address = address
        self.subaccount_number = subaccount_number
        self._validator = validator
        self._balance = balance
        self._markets = markets
        self._policy = policy
        self._limits = limits
        self._executor = executor
        self._journal = journal
        self._risk_guard = risk_guard
        self._heights = heights
        self._settings = settings or OrderParams()
        self._atr = atr
        self._clock = clock
        self._on_settled = on_settled
        self._reserved: dict[int, PendingFill] = {}
        self._settling: set[asyncio.Task[None]] = set()
        # The snapshot whose equity the kill switch last saw: a cached snapshot
        # re-read by the next decision carries no new sample (and the switch's
        # drawdown window grows with every sample fed to it).
        self._equity_seen: BalanceSnapshot | None = None

    # -- messages ----------------------------------------------------------------

    async def receive(self, message: object) -> object:
        if isinstance(message, SubmitSignal):
            return await self._submit(message.signal)
        if isinstance(message, PreviewSignal):
            return await self._decide(message.signal, journal=False)
        if isinstance(message, _Settled):
            self._release(message.settlement)
            return None
        raise TypeError(f"{self.name} cannot handle {type(message).__name__}")

    @property
    def reserved(self) -> tuple[PendingFill, ...]:
        """The worst cases of the orders in flight."""
        return tuple(self._reserved.values())

    async def settle_all(self) -> None:
        """Wait until every order this actor sent is settled (clean shutdown)."""
        while self._settling:
            await asyncio.gather(*tuple(self._settling), return_exceptions=True)

    # -- the flow ----------------------------------------------------------------

    async def _submit(self, signal: Signal) -> TradeResult:
        result = await self._decide(signal, journal=True)
        if result.intent is None:
            return result
        intent = result.intent
        self._balance.invalidate(f"order {intent.client_id} sent")
        order = await self._submit_with_free_client_id(intent)
        intent = order.intent
        self._risk_guard.record_outcome(_outcome(order))
        if order.state is not OrderState.REJECTED and result.worst_case is not None:
            self._reserved[intent.client_id] = result.worst_case
            self._follow(intent)
        return TradeResult(signal, result.decision, result.validation, intent, order)

    async def _submit_with_free_client_id(self, intent: OrderIntent) -> Order:
        """Send ``intent``; if its 32-bit client id is already another signal's in the
        journal (about one pair in four billion), derive the next one. Nothing was
        sent for a refused id."""
        for nonce in range(1, _CLIENT_ID_ATTEMPTS + 1):
            try:
                return await self._executor.submit(intent)
            except ClientIdConflict:
                client_id = derive_client_id(
                    self.address, self.subaccount_number, intent.signal_id, nonce
                )
                intent = replace(intent, client_id=client_id)
        return await self._executor.submit(intent)

    async def _decide(self, signal: Signal, *, journal: bool) -> TradeResult:
        if journal and not self._journal.record_signal(signal):
            error = SignalRejected(
                f"signal {signal.id} was already recorded; a replay is never traded twice",
                rule="duplicate_id",
            )
            return TradeResult(signal, self._refuse(signal, error, (), journal), "duplicate")
        verdict = self._validator.validate(signal) if journal else None
        if verdict is not None:
            rejection = verdict.rejection
            self._journal.record_validation(
                signal.id,
                accepted=rejection is None,
                rule=rejection.rule.value if rejection else None,
                reason=str(rejection) if rejection else verdict.summary,
                numbers=dict(rejection.numbers) if rejection else None,
            )
            if rejection is not None:
                refusal = self._refuse(signal, rejection.to_error(), (), journal)
                return TradeResult(signal, refusal, verdict.summary)
            if not verdict.actionable:
                return TradeResult(signal, None, verdict.summary)
        elif signal.action is Action.HOLD:
            return TradeResult(signal, None, "HOLD: nothing to do")
        try:
            decision, intent, worst_case = await self._size_and_check(signal)
        except _Refusal as refusal:
            decision = self._refuse(signal, refusal.error, refusal.lines, journal)
            return TradeResult(signal, decision, "accepted")
        except (Refusal, Unavailable) as error:
            return TradeResult(signal, self._refuse(signal, error, (), journal), "accepted")
        if journal:
            self._journal.record_decision(decision)
        return TradeResult(signal, decision, "accepted", intent, worst_case=worst_case)

    async def _size_and_check(self, signal: Signal) -> tuple[Decision, OrderIntent, PendingFill]:
        snapshot = await self._balance.get_snapshot()
        if snapshot is not self._equity_seen:
            self._equity_seen = snapshot
            self._risk_guard.record_equity(snapshot.equity)
        account = with_pending_fills(snapshot.account, self._reserved.values())
        tickers = {signal.market, *(p.market for p in account.open_positions)}
        markets = self._markets.markets(tickers)
        spec = markets[signal.market]
        spec.require_tradable()
        oracle = spec.require_oracle_price()
        position = account.position_size(signal.market)
        limits = self._limits(signal.market)
        lines: list[Line] = _account_lines(snapshot, account, len(self._reserved))

        if signal.action is Action.CLOSE:
            if position == 0:
                raise NothingToTrade(f"no open position in {signal.market} to close")
            side = Side.SELL if position > 0 else Side.BUY
            size = abs(position)
            quantums = spec.size_to_quantums(size)
            reduce_only = True
            lines.append(("close", f"{size} {spec.base_asset} reduce-only"))
        else:
            side = Side.BUY if signal.action is Action.BUY else Side.SELL
            reduce_only = False
        time_in_force = TimeInForce.IOC if reduce_only else self._settings.time_in_force
        lines.append(("oracle price", f"{oracle} USDC"))
        if time_in_force is TimeInForce.IOC:
            worst_price, subticks = self._worst_price(spec, side, oracle)
            lines.append(("worst price (slippage bound)", f"{worst_price} USDC"))
        else:
            worst_price, subticks = self._limit_price(spec, side, oracle, signal)
            lines.append((f"limit price ({time_in_force.value})", f"{worst_price} USDC"))

        if not reduce_only:
            sizer = PositionSizer(self._policy, limits)
            sized = sizer.size(self._request(signal, side, worst_price), account, markets)
            lines.extend(sized.lines)
            if isinstance(sized, Refused):
                raise _Refusal(sized.error, lines)
            size, quantums = sized.size, sized.quantums

        reduces = position != 0 and (position > 0) != (side is Side.BUY) and size <= abs(position)
        halted = self._risk_guard.may_trade(reduces_position=reduces)
        if halted is not None:
            raise _Refusal(halted, lines)
        verdict = check_order(
            account,
            markets,
            signal.market,
            side,
            size,
            worst_price,
            limits,
            fee_ppm=self._settings.taker_fee_ppm,
            reduce_only=reduce_only,
        )
        if verdict is not None:
            raise _Refusal(verdict, lines)
        lines.append(("pre-trade checks", "passed"))

        height = await self._heights.latest_block_height()
        intent = OrderIntent(
            signal_id=signal.id,
            address=self.address,
            subaccount_number=self.subaccount_number,
            market=signal.market,
            clob_pair_id=spec.clob_pair_id,
            side=side,
            quantums=quantums,
            subticks=subticks,
            time_in_force=time_in_force,
            reduce_only=reduce_only,
            order_flags=OrderFlags.SHORT_TERM,
            client_id=derive_client_id(self.address, self.subaccount_number, signal.id),
            good_til_block=height + self._settings.good_til_block_offset,
        )
        lines.append(("good-til-block", f"{intent.good_til_block} (height {height})"))
        decision = Decision.accepted(
            signal_id=signal.id,
            market=signal.market,
            side=side,
            size=size,
            quantums=quantums,
            price=worst_price,
            decided_at=self._clock(),
            arithmetic=lines,
        )
        worst_case = PendingFill(
            signal.market, side, size, worst_price, self._settings.taker_fee_ppm
        )
        return decision, intent, worst_case

    def _request(self, signal: Signal, side: Side, price: Decimal) -> SizingRequest:
        hint = signal.sizing
        return SizingRequest(
            market=signal.market,
            side=side,
            price=price,
            confidence=signal.confidence,
            stop_price=signal.stop_loss,
            atr=self._atr(signal.market),
            notional_hint=hint.value if hint and hint.kind is SizingKind.NOTIONAL_USDC else None,
            equity_fraction_hint=(
                hint.value if hint and hint.kind is SizingKind.EQUITY_FRACTION else None
            ),
            fee_ppm=self._settings.taker_fee_ppm,
        )

    def _worst_price(self, spec: MarketSpec, side: Side, oracle: Decimal) -> tuple[Decimal, int]:
        """The IOC limit: oracle +/- slippage, on a tick, rounded to the passive side
        (a BUY never pays more, a SELL never takes less, than the bound)."""
        factor = 1 + self._settings.slippage * side.sign
        subticks = spec.price_to_subticks(oracle * factor, side)
        return spec.subticks_to_price(subticks), subticks

    def _limit_price(
        self, spec: MarketSpec, side: Side, oracle: Decimal, signal: Signal
    ) -> tuple[Decimal, int]:
        """A resting order's limit: the signal's price (or the oracle), on a tick,
        rounded to the passive side; refused when beyond the slippage bound."""
        wanted = signal.reference_price or oracle
        bound = oracle * (1 + self._settings.slippage * side.sign)
        if (wanted - bound) * side.sign > 0:
            raise InvalidInput(
                f"limit price {wanted} is beyond the slippage bound {bound:.6f} "
                f"around the oracle {oracle}",
                price=wanted,
                oracle_price=oracle,
            )
        subticks = spec.price_to_subticks(wanted, side)
        return spec.subticks_to_price(subticks), subticks

    def _refuse(
        self, signal: Signal, error: DydxTraderError, lines: tuple[Line, ...], journal: bool
    ) -> Decision:
        decision = Decision.refused(
            signal_id=signal.id,
            market=signal.market,
            error=error,
            decided_at=self._clock(),
            arithmetic=lines,
        )
        if journal:
            self._journal.record_decision(decision)
        return decision

    # -- settlement ----------------------------------------------------------------

    def _follow(self, intent: OrderIntent) -> None:
        task = asyncio.ensure_future(self._settle(intent))
        self._settling.add(task)
        task.add_done_callback(self._settling.discard)

    async def _settle(self, intent: OrderIntent) -> None:
        try:
            settlement = await self._executor.settle(intent)
        except (DydxTraderError, TimeoutError) as error:
            # Still in flight: the reservation stays, the next reconcile settles it.
            log.warning("order %s not settled yet: %s", intent.client_id, error)
            return
        try:
            self.tell(_Settled(settlement))
        except Exception:  # noqa: BLE001 - the actor stopped; release here instead
            self._release(settlement)

    def _release(self, settlement: Settlement) -> None:
        intent = settlement.order.intent
        self._reserved.pop(intent.client_id, None)
        for fill in settlement.fills:
            self._balance.on_fill(fill)
        if settlement.fills:
            self._validator.record_trade(intent.market, self._clock())
        else:
            self._balance.invalidate(f"order {intent.client_id} settled")
        if self._on_settled is not None:
            self._on_settled(settlement)


class FlowJournal(Protocol):
    """What the flow writes: signals, validator verdicts, decisions."""

    def record_signal(self, signal: Signal) -> bool: ...

    def record_validation(
        self,
        signal_id: str,
        *,
        accepted: bool,
        rule: str | None = None,
        reason: str = "",
        numbers: Mapping[str, object] | None = None,
    ) -> None: ...

    def record_decision(self, decision: Decision) -> None: ...


def _account_lines(
    snapshot: BalanceSnapshot, account: AccountSnapshot, in_flight: int
) -> list[Line]:
    lines = [
        ("equity", f"{snapshot.equity:.2f} USDC"),
        ("free collateral (most conservative)", f"{snapshot.free_collateral:.2f} USDC"),
    ]
    if in_flight:
        lines.append(("orders in flight (reserved as filled)", str(in_flight)))
    return lines


def _outcome(order: Order) -> OrderOutcome:
    if order.state is OrderState.REJECTED:
        return OrderOutcome.REJECTED
    if order.state is OrderState.IN_FLIGHT_UNKNOWN:
        return OrderOutcome.UNKNOWN
    return OrderOutcome.ACCEPTED

"""A burst of signals decided while their broadcasts are still unanswered.

The broadcasts of short-term orders leave the account actor's mailbox: every
signal of a burst is decided against the reservations of the orders before it,
whatever order the venue's answers then come back in.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest

from dydx_trader.app.account_messages import TradeResult
from dydx_trader.domain.broadcast import BroadcastOutcome
from dydx_trader.domain.decision import Outcome
from dydx_trader.domain.order import OrderState
from dydx_trader.domain.signal import HintKind, Signal, SignalSource, SizingHint
from kit.clock import T0
from kit.exchange import FakeExchange
from kit.markets import make_market
from kit.trader import kit_settings, started_trader

MARKETS = tuple(f"M{index}-USD" for index in range(6))
CAP_USDC = Decimal(10_000)  # 1x gross exposure of a 10,000 USDC account
SIGNAL_USDC = 3_000


class GatedExchange(FakeExchange):
    """Holds each broadcast (by market) until the test opens its gate."""

    def __init__(self) -> None:
        markets = {
            ticker: make_market(
                ticker, oracle_price=Decimal(2000), imf=Decimal("0.05"), clob_pair_id=index
            )
            for index, ticker in enumerate(MARKETS)
        }
        super().__init__(markets)
        self.gates = {ticker: asyncio.Event() for ticker in MARKETS}
        self.held: list[str] = []
        self.answers: list[str] = []

    async def broadcast(self, signed: object) -> BroadcastOutcome:
        market = self._signed[signed.tx_hash].market  # type: ignore[attr-defined]
        self.held.append(market)
        await self.gates[market].wait()
        outcome = await super().broadcast(signed)  # type: ignore[arg-type]
        self.answers.append(market)
        return outcome

    async def answer(self, market: str) -> None:
        """Open ``market``'s gate and wait until its answer has come back."""
        self.gates[market].set()
        while market not in self.answers:
            await asyncio.sleep(0)


def _signal(market: str) -> Signal:
    return Signal.create(
        market=market,
        action="BUY",
        confidence=Decimal(1),
        created_at=T0,
        source=SignalSource.CLI,
        strategy="burst",
        sizing=SizingHint(HintKind.NOTIONAL_USDC, Decimal(SIGNAL_USDC)),
    )


async def _until(predicate: object) -> None:
    async with asyncio.timeout(10):  # a deadlock guard, not a timing assertion
        while not predicate():  # type: ignore[operator]
            await asyncio.sleep(0.001)


ANSWER_ORDERS = {
    "in order": (0, 1, 2, 3),
    "reversed": (3, 2, 1, 0),
    "middle first": (2, 0, 3, 1),
}


@pytest.mark.parametrize("answer_order", ANSWER_ORDERS.values(), ids=ANSWER_ORDERS.keys())
async def test_burst_when_signals_exceed_the_cap_then_later_refused_whatever_the_answer_order(
    answer_order: tuple[int, ...], tmp_path: Path
) -> None:
    exchange = GatedExchange()
    settings = kit_settings(
        tmp_path / "journal.sqlite3", risk={"max_leverage": 1, "max_exposure": 1}
    )
    async with started_trader(exchange, settings) as trader:
        tasks = [asyncio.ensure_future(trader.submit(_signal(market))) for market in MARKETS]
        # Every signal is decided while no broadcast has been answered.
        await _until(lambda: len(exchange.held) + sum(t.done() for t in tasks) == len(MARKETS))
        held = list(exchange.held)
        for index in answer_order:
            await exchange.answer(held[index])
        results: list[TradeResult] = await asyncio.gather(*tasks)
        await trader.wait_settled()
        status = trader.status()

    assert held == list(MARKETS[: len(answer_order)])  # sent in the order decided
    accepted = [r for r in results if r.decision and r.decision.outcome is Outcome.ACCEPTED]
    refused = [r for r in results if r.decision and r.decision.outcome is Outcome.REFUSED]
    assert [r.signal.market for r in accepted] == held
    assert [r.signal.market for r in refused] == list(MARKETS[len(held) :])
    assert accepted[-1].decision is not None and accepted[-1].decision.bound_by == "max exposure"
    for result in refused:
        assert result.decision is not None
        assert result.decision.error_code == "ExposureLimitExceeded"
        assert result.decision.bound_by == "max exposure"
    assert all(r.order is not None and r.order.state is OrderState.SUBMITTED for r in accepted)
    gross = sum(abs(size) * 2000 for size in exchange.positions.values())
    assert 0 < gross <= CAP_USDC
    assert status.reserved == ()


async def test_burst_when_answers_come_between_decisions_then_still_within_the_cap(
    tmp_path: Path,
) -> None:
    exchange = GatedExchange()
    settings = kit_settings(
        tmp_path / "journal.sqlite3", risk={"max_leverage": 1, "max_exposure": 1}
    )
    async with started_trader(exchange, settings) as trader:
        results = []
        for market in MARKETS:
            task = asyncio.ensure_future(trader.submit(_signal(market)))
            await _until(lambda: market in exchange.held or task.done())  # noqa: B023
            if not task.done():
                # Answered (and settled) before the next signal is decided.
                await exchange.answer(market)
                await trader.wait_settled()
            results.append(await task)

    outcomes = [r.decision.outcome if r.decision else None for r in results]
    assert outcomes[:3] == [Outcome.ACCEPTED] * 3 and outcomes[-1] is Outcome.REFUSED
    # From the fourth on, the cap binds: a smaller order of what is left, then refusals.
    assert all(r.decision and r.decision.bound_by == "max exposure" for r in results[3:])
    for result in results:
        if result.decision and result.decision.outcome is Outcome.REFUSED:
            assert result.decision.error_code == "ExposureLimitExceeded"
    gross = sum(abs(size) * 2000 for size in exchange.positions.values())
    assert gross <= CAP_USDC


async def test_burst_when_orders_are_sent_then_the_balance_is_not_fetched_again(
    tmp_path: Path,
) -> None:
    exchange = GatedExchange()
    settings = kit_settings(tmp_path / "journal.sqlite3")
    async with started_trader(exchange, settings) as trader:
        await trader.sample_risk()
        reads = exchange.account_reads
        tasks = [asyncio.ensure_future(trader.submit(_signal(market))) for market in MARKETS]
        await _until(lambda: len(exchange.held) == len(MARKETS))
        reads_during_burst = exchange.account_reads - reads
        for market in MARKETS:
            await exchange.answer(market)
        await asyncio.gather(*tasks)

    # The reservations cover the orders sent: one snapshot serves every decision.
    assert reads_during_burst == 0

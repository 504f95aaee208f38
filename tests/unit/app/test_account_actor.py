"""The account actor through the composition root: ``build_trader`` with fakes.

Every test builds the trader ``dydx-trader run`` builds, on a small fake
exchange (``kit.exchange``), and drives it with signals.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from dydx_trader.adapters.journal import Journal
from dydx_trader.app.actor import ActorStopped
from dydx_trader.app.executor import Settlement
from dydx_trader.app.risk_guard import RiskGuard
from dydx_trader.config import Settings
from dydx_trader.domain.decision import Decision, Outcome
from dydx_trader.domain.errors import JournalUnavailable
from dydx_trader.domain.order import OrderState, TimeInForce, derive_client_id
from dydx_trader.domain.side import Side
from dydx_trader.domain.signal import HintKind, Signal, SignalSource, SizingHint
from dydx_trader.domain.trading_state import Authority, KillSwitchMemory, TradingState
from dydx_trader.domain.venue import CandleResolution
from kit.clock import T0, FakeClock
from kit.exchange import FakeExchange
from kit.markets import make_market
from kit.orders import ADDRESS, short_term_intent
from kit.trader import kit_settings, started_trader

ETH = make_market("ETH-USD", oracle_price=Decimal(2000), imf=Decimal("0.05"), clob_pair_id=1)
BTC = make_market(
    "BTC-USD",
    oracle_price=Decimal(50_000),
    imf=Decimal("0.05"),
    atomic_resolution=-10,
    clob_pair_id=0,
)


def signal(action: str, market: str = "ETH-USD", **fields: Any) -> Signal:
    fields.setdefault("confidence", Decimal(1))
    return Signal.create(
        market=market,
        action=action,
        created_at=T0,
        source=SignalSource.CLI,
        strategy="test",
        **fields,
    )


def notional(usdc: int) -> SizingHint:
    return SizingHint(HintKind.NOTIONAL_USDC, Decimal(usdc))


@pytest.fixture
def exchange() -> FakeExchange:
    return FakeExchange({"ETH-USD": ETH, "BTC-USD": BTC})


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return kit_settings(tmp_path / "journal.sqlite3")


def journal_of(settings: Settings) -> Journal:
    return Journal.open(settings.journal.resolved_path(), fsync=False)


# -- a trade from signal to settlement -----------------------------------------------------


async def test_submit_when_order_rests_then_reservation_held_until_settlement(
    exchange: FakeExchange, tmp_path: Path
) -> None:
    settings = kit_settings(tmp_path / "j.sqlite3", execution={"order_type": "limit"})
    settled: list[Settlement] = []
    exchange.mode = "rest"
    async with started_trader(exchange, settings, on_settled=settled.append) as trader:
        below = signal("BUY", reference_price="1990", sizing=notional(1000))
        result = await trader.submit(below)
        assert result.order is not None and result.order.state is OrderState.SUBMITTED
        assert result.decision is not None and result.decision.reservation is not None
        assert trader.status().reserved == (result.decision.reservation,)

        exchange.advance(20)  # its good-til-block passes unfilled
        await trader.wait_settled()

        assert trader.status().reserved == ()
        assert [s.order.state for s in settled] == [OrderState.EXPIRED]


async def test_submit_when_close_then_reduce_only_ioc_of_the_whole_position(
    exchange: FakeExchange, settings: Settings
) -> None:
    exchange.hold("ETH-USD", Decimal("1.5"))
    async with started_trader(exchange, settings) as trader:
        result = await trader.submit(signal("CLOSE"))
        await trader.wait_settled()

    (sent,) = exchange.sent
    assert sent.reduce_only and sent.time_in_force is TimeInForce.IOC
    assert sent.side is Side.SELL and sent.quantums == ETH.size_to_quantums(Decimal("1.5"))
    assert result.decision is not None and result.decision.bound_by is None
    assert exchange.positions["ETH-USD"] == 0


async def test_submit_when_limit_price_beyond_the_slippage_bound_then_refused_unsent(
    exchange: FakeExchange, tmp_path: Path
) -> None:
    settings = kit_settings(tmp_path / "j.sqlite3", execution={"order_type": "limit"})
    async with started_trader(exchange, settings) as trader:
        far = await trader.submit(signal("BUY", reference_price="2100", sizing=notional(1000)))
        near = await trader.submit(signal("BUY", reference_price="1995", sizing=notional(1000)))
        exchange.advance(20)  # the resting order expires

    assert far.decision is not None and far.decision.error_code == "InvalidInput"
    assert far.order is None
    assert near.intent is not None and near.intent.time_in_force is TimeInForce.GTT
    assert [intent.signal_id for intent in exchange.sent] == [near.signal.id]


async def test_submit_when_client_id_taken_by_another_signal_then_the_next_nonce_is_sent(
    exchange: FakeExchange, settings: Settings
) -> None:
    mine = signal("BUY", sizing=notional(1000))
    taken = derive_client_id(ADDRESS, 0, mine.id)
    with journal_of(settings) as journal:
        other = journal.record_intent(
            dataclasses.replace(short_term_intent("other"), client_id=taken)
        )
        journal.transition(other.client_id, OrderState.REJECTED, "refused by the chain")
    async with started_trader(exchange, settings) as trader:
        result = await trader.submit(mine)
        await trader.wait_settled()

    assert result.intent is not None
    assert result.intent.client_id == derive_client_id(ADDRESS, 0, mine.id, nonce=1)
    assert [intent.client_id for intent in exchange.sent] == [result.intent.client_id]


# -- the trading state ------------------------------------------------------------------------


def set_state(settings: Settings, state: TradingState) -> None:
    with journal_of(settings) as journal:
        journal.set_trading_state(state, "set by the test", Authority.OPERATOR)


async def test_submit_when_halted_then_refused_and_nothing_sent(
    exchange: FakeExchange, tmp_path: Path
) -> None:
    # Accumulate mode: a BUY while long would add (in target mode it asks for nothing).
    settings = kit_settings(tmp_path / "j.sqlite3", execution={"position_mode": "accumulate"})
    exchange.hold("ETH-USD", Decimal(1))
    set_state(settings, TradingState.HALTED)
    async with started_trader(exchange, settings) as trader:
        buy = await trader.submit(signal("BUY", sizing=notional(1000)))
        close = await trader.submit(signal("CLOSE"))

    for result in (buy, close):
        assert result.decision is not None and result.decision.error_code == "TradingHalted"
        assert "set by the test" in (result.decision.message or "")
    assert exchange.sent == []


async def test_submit_when_reducing_then_growth_refused_and_a_reduction_sent_reduce_only(
    exchange: FakeExchange, tmp_path: Path
) -> None:
    settings = kit_settings(
        tmp_path / "j.sqlite3",
        execution={
            "order_type": "limit",
            "position_mode": "accumulate",
            "max_entries_per_market": 100,
        },
    )
    exchange.hold("ETH-USD", Decimal(2))
    set_state(settings, TradingState.REDUCING)
    async with started_trader(exchange, settings) as trader:
        buy = await trader.submit(signal("BUY", sizing=notional(1000)))
        sell = await trader.submit(signal("SELL", sizing=notional(1000)))
        await trader.wait_settled()

    assert buy.decision is not None and buy.decision.error_code == "TradingHalted"
    (sent,) = exchange.sent
    assert sent.signal_id == sell.signal.id
    assert sent.reduce_only and sent.time_in_force is TimeInForce.IOC


# -- sizing inputs ---------------------------------------------------------------------------------


async def test_submit_when_volatility_target_then_sized_from_the_market_data_atr(
    exchange: FakeExchange, tmp_path: Path
) -> None:
    settings = kit_settings(
        tmp_path / "j.sqlite3",
        sizing={"kind": "volatility_target", "risk_fraction": "0.01", "atr_multiple": "2"},
        risk={"max_leverage": 10, "max_exposure": 10},
    )
    # Every hourly candle spans 1 % around 2,000: a true range, and so an ATR, of 20 USDC.
    exchange.add_candles("ETH-USD", CandleResolution.ONE_HOUR, ["2000"] * 40)
    async with started_trader(exchange, settings) as trader:
        sized = await trader.submit(signal("BUY"))
        unknown = await trader.preview(signal("BUY", "BTC-USD"))

    assert sized.decision is not None and sized.decision.outcome is Outcome.ACCEPTED
    # 1 % of 10,000 USDC at risk over 2 x 20 USDC: 2.5 ETH.
    assert sized.decision.size == Decimal("2.5")
    assert unknown.decision is not None and unknown.decision.error_code == "InvalidInput"
    assert "ATR" in (unknown.decision.message or "")


async def test_preview_when_snapshot_cached_then_equity_sampled_once_until_it_expires(
    exchange: FakeExchange, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    samples: list[Decimal] = []
    record = RiskGuard.record_equity

    def spy(self: RiskGuard, equity: Decimal) -> object:
        samples.append(equity)
        return record(self, equity)

    monkeypatch.setattr(RiskGuard, "record_equity", spy)
    clock = FakeClock()
    async with started_trader(exchange, settings, clock=clock) as trader:
        for _ in range(3):
            assert (await trader.preview(signal("BUY", sizing=notional(100)))).intent is not None
        clock.advance(settings.ttl.balance_ttl_s + 1)
        await trader.preview(signal("SELL", sizing=notional(100)))
        reads = exchange.account_reads

    assert samples == [Decimal(10_000), Decimal(10_000)]
    assert reads == 2


async def test_sample_risk_when_equity_falls_while_no_signal_comes_then_kill_switch_trips(
    exchange: FakeExchange, tmp_path: Path
) -> None:
    # Review R2: the run loop's periodic samples went to its report only, so a
    # loss with no signal to size never reached the kill switch.
    settings = kit_settings(tmp_path / "j.sqlite3", kill_switch={"max_drawdown": "0.1"})
    clock = FakeClock()
    async with started_trader(exchange, settings, clock=clock) as trader:
        before = await trader.sample_risk()
        exchange.usdc = Decimal(8_500)  # 15 % down, nothing traded
        clock.advance(settings.ttl.balance_ttl_s + 60)
        after = await trader.sample_risk()
        status = trader.status()

    assert (before.equity, after.equity) == (Decimal(10_000), Decimal(8_500))
    assert status.trading_state is TradingState.HALTED and "drawdown" in status.trading_reason


# -- F1 through the actor: a CLOSE whose answer was lost ---------------------------------------


async def test_submit_when_close_answer_lost_then_next_buy_sized_as_if_it_may_not_fill(
    exchange: FakeExchange, tmp_path: Path
) -> None:
    settings = kit_settings(
        tmp_path / "j.sqlite3",
        risk={"max_leverage": 1, "max_exposure": 1},
        sizing={"kind": "equity_fraction", "equity_fraction": "0.9", "scale_by_confidence": False},
    )
    exchange.hold("BTC-USD", Decimal("0.18"))  # 9,000 USDC: 0.9x of 10,000
    async with started_trader(exchange, settings) as trader:
        exchange.mode = "lose"
        close = await trader.submit(signal("CLOSE", "BTC-USD"))
        exchange.mode = "fill"
        buy = await trader.submit(signal("BUY", "ETH-USD"))
        exchange.advance(20)  # the lost CLOSE's good-til-block passes: it never landed

    assert close.order is not None and close.order.state is OrderState.IN_FLIGHT_UNKNOWN
    assert buy.decision is not None and buy.decision.bound_by == "max exposure"
    # The CLOSE never landed: BTC is still held, and ETH stays inside 1x.
    gross = exchange.positions["BTC-USD"] * 50_000 + exchange.positions["ETH-USD"] * 2000
    assert gross <= Decimal(10_000)


# -- a fault halts, naming the signal ---------------------------------------------------------


class BrokenDecisionJournal:
    """The real journal, except that decisions cannot be written (a disk full)."""

    def __init__(self, journal: Journal) -> None:
        self._journal = journal

    def __getattr__(self, name: str) -> Callable[..., Any]:
        attribute: Callable[..., Any] = getattr(self._journal, name)
        return attribute

    def record_decision(self, decision: Decision) -> None:
        raise JournalUnavailable("disk I/O error writing the journal")


async def test_submit_when_journal_fails_then_actor_crashes_and_halt_names_the_signal(
    exchange: FakeExchange, settings: Settings
) -> None:
    journal = journal_of(settings)
    broken = BrokenDecisionJournal(journal)
    async with started_trader(exchange, settings, journal=broken) as trader:  # type: ignore[arg-type]
        crashing = signal("BUY", sizing=notional(1000), id="the-crashing-signal")
        with pytest.raises(ActorStopped):
            await trader.submit(crashing)
        await asyncio.sleep(0)  # the supervisor persists the halt
        status = trader.status()

    assert status.failure is not None and "JournalUnavailable" in status.failure
    assert status.trading_state is TradingState.HALTED
    assert "the-crashing-signal" in status.trading_reason
    assert trader.exit_code != 0
    assert exchange.sent == []


class LockedKillSwitchJournal(BrokenDecisionJournal):
    """The real journal, except that the kill switch's count of a send's outcome
    cannot be saved: the journal is locked by then."""

    def record_decision(self, decision: Decision) -> None:
        self._journal.record_decision(decision)

    def save_kill_switch_memory(self, memory: KillSwitchMemory) -> None:
        if memory.clean_streak:  # an accepted send was counted
            raise JournalUnavailable("database is locked")
        self._journal.save_kill_switch_memory(memory)


async def test_submit_when_the_kill_switch_cannot_be_written_after_the_send_then_still_settled(
    exchange: FakeExchange, settings: Settings
) -> None:
    # The outcome's kill-switch write comes after the broadcast: when it fails, the
    # order it counted must already be followed (it may hold money).
    journal = journal_of(settings)
    locked = LockedKillSwitchJournal(journal)
    async with started_trader(exchange, settings, journal=locked) as trader:  # type: ignore[arg-type]
        with pytest.raises(ActorStopped):
            await trader.submit(signal("BUY", sizing=notional(1000), id="counted"))
        await trader.wait_settled()
        status = trader.status()
        order = journal.order_by_signal("counted")

    assert order is not None and order.state is OrderState.FILLED
    assert status.reserved == () and status.trading_state is TradingState.HALTED


async def test_start_when_a_market_filled_within_its_cooldown_then_the_restart_keeps_it(
    exchange: FakeExchange, tmp_path: Path
) -> None:
    # Review R11: a restart forgot every cooldown.
    settings = kit_settings(tmp_path / "j.sqlite3", validation={"cooldown_s": 300})
    clock = FakeClock()
    async with started_trader(exchange, settings, clock=clock) as trader:
        first = await trader.submit(signal("BUY", sizing=notional(1000)))
        await trader.wait_settled()
    clock.advance(60)
    async with started_trader(exchange, settings, clock=clock) as restarted:
        again = await restarted.submit(signal("BUY", sizing=notional(1000)))
        elsewhere = await restarted.submit(signal("BUY", "BTC-USD", sizing=notional(1000)))

    assert first.order is not None and first.order.state is not OrderState.REJECTED
    assert again.order is None and "cooldown" in again.validation
    assert elsewhere.order is not None

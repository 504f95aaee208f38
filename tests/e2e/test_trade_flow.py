"""A signal becomes a correctly sized, filled order on the devnet, or a refusal
naming the numbers with no order sent."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from e2e_harness import journal_at, settings_for, start_trader

from dydx_devnet.server import Devnet
from dydx_trader.adapters.dydx.indexer import IndexerGateway
from dydx_trader.adapters.journal import Journal
from dydx_trader.app.account_messages import TradeResult
from dydx_trader.bootstrap import Trader
from dydx_trader.config import Settings
from dydx_trader.domain.decision import Outcome
from dydx_trader.domain.order import OrderState
from dydx_trader.domain.signal import HintKind, Signal, SizingHint

SignalFactory = Callable[..., Signal]


async def test_buy_signal_when_funded_then_order_fills_at_decided_size(
    trader: Trader, venue: IndexerGateway, journal: Journal, make_signal: SignalFactory
) -> None:
    result = await trader.submit(make_signal("BUY", "ETH-USD"))

    assert result.decision is not None and result.decision.outcome is Outcome.ACCEPTED
    assert result.order is not None and result.order.state is OrderState.SUBMITTED
    await trader.wait_settled()
    assert result.intent is not None
    assert journal.order(result.intent.client_id).state is OrderState.FILLED
    account = await venue.get_account(trader.status().owner.address, 0)
    assert account.position_size("ETH-USD") == result.decision.size


HUGE = SizingHint(HintKind.NOTIONAL_USDC, Decimal(5_000_000))


async def fill(trader: Trader, journal: Journal, signal: Signal) -> TradeResult:
    result = await trader.submit(signal)
    await trader.wait_settled()
    assert result.intent is not None
    assert journal.order(result.intent.client_id).state is OrderState.FILLED
    return result


async def refused_with_nothing_sent(
    trader: Trader, venue: IndexerGateway, settings: Settings, signal: Signal, expected: set[str]
) -> TradeResult:
    address = trader.status().owner.address
    before = len(await venue.get_orders(address, 0))
    result = await trader.submit(signal)
    assert result.decision is not None and result.decision.outcome is Outcome.REFUSED
    assert result.decision.error_code in expected, result.decision.reason
    assert result.order is None and result.intent is None
    assert len(await venue.get_orders(address, 0)) == before
    with journal_at(settings) as journal:
        journaled = journal.recent_decisions(1)[0]
    assert journaled.signal_id == signal.id and journaled.error_code == result.decision.error_code
    return result


async def test_buy_when_margin_exceeds_free_collateral_then_refused_naming_the_numbers(
    devnet: Devnet, venue: IndexerGateway, tmp_path: Path, make_signal: SignalFactory
) -> None:
    # Keep all but 1 USDC of the 10,000 equity in reserve: no order fits.
    settings = settings_for(tmp_path / "j.sqlite3", risk={"free_collateral_buffer": 9_999})
    trader = await start_trader(devnet, settings)
    try:
        result = await refused_with_nothing_sent(
            trader,
            venue,
            settings,
            make_signal("BUY", "BTC-USD", sizing=HUGE),
            {"InsufficientFreeCollateral"},
        )
        assert result.decision is not None
        assert "USDC" in result.decision.reason
        assert result.decision.numbers
        assert result.decision.bound_by == "free collateral"
    finally:
        await trader.stop()


async def test_buy_when_one_step_exceeds_user_leverage_cap_then_leverage_refusal(
    devnet: Devnet, venue: IndexerGateway, tmp_path: Path, make_signal: SignalFactory
) -> None:
    # 0.0001x of 10,000 USDC is 1 USDC of BTC: less than one step (0.0001 BTC).
    settings = settings_for(tmp_path / "j.sqlite3", risk={"max_leverage": "0.0001"})
    trader = await start_trader(devnet, settings)
    try:
        result = await refused_with_nothing_sent(
            trader,
            venue,
            settings,
            make_signal("BUY", "BTC-USD", sizing=HUGE),
            {"LeverageLimitExceeded"},
        )
        assert result.decision is not None and result.decision.bound_by == "your max leverage"
    finally:
        await trader.stop()


async def test_buy_when_exposure_cap_used_up_then_exposure_refusal(
    devnet: Devnet, venue: IndexerGateway, tmp_path: Path, make_signal: SignalFactory
) -> None:
    settings = settings_for(tmp_path / "j.sqlite3", risk={"max_leverage": 5, "max_exposure": "0.5"})
    trader = await start_trader(devnet, settings)
    try:
        with journal_at(settings) as journal:
            first = await fill(trader, journal, make_signal("BUY", "ETH-USD", sizing=HUGE))
        assert first.decision is not None
        assert first.decision.bound_by == "max exposure"
        # Restart with a cap far below what is now held: BTC has no room left.
        tight = settings_for(
            tmp_path / "j2.sqlite3", risk={"max_leverage": 5, "max_exposure": "0.0001"}
        )
        await trader.stop()
        trader = await start_trader(devnet, tight, fund=False)
        await refused_with_nothing_sent(
            trader,
            venue,
            tight,
            make_signal("BUY", "BTC-USD", sizing=HUGE),
            {"ExposureLimitExceeded"},
        )
    finally:
        await trader.stop()


async def test_close_signal_when_long_then_reduce_only_order_flattens(
    trader: Trader, venue: IndexerGateway, journal: Journal, make_signal: SignalFactory
) -> None:
    await fill(trader, journal, make_signal("BUY", "ETH-USD"))

    closed = await trader.submit(make_signal("CLOSE", "ETH-USD"))
    await trader.wait_settled()

    assert closed.intent is not None and closed.intent.reduce_only
    account = await venue.get_account(trader.status().owner.address, 0)
    assert account.position_size("ETH-USD") == 0


async def test_limit_order_below_market_when_unfilled_then_rests_and_expires(
    devnet: Devnet, venue: IndexerGateway, tmp_path: Path, make_signal: SignalFactory
) -> None:
    settings = settings_for(tmp_path / "j.sqlite3", execution={"order_type": "limit"})
    trader = await start_trader(devnet, settings)
    try:
        oracle = (await venue.get_markets())["ETH-USD"].require_oracle_price()
        below = (oracle * Decimal("0.995")).quantize(Decimal("0.1"))
        result = await trader.submit(make_signal("BUY", "ETH-USD", reference_price=below))
        assert result.intent is not None and result.intent.time_in_force.value == "GTT"
        assert trader.status().reserved  # its margin is held while it may still fill
        await trader.wait_settled()
        with journal_at(settings) as journal:
            order = journal.order(result.intent.client_id)
            history = [t.to_state for t in journal.order_history(result.intent.client_id)]
        # The indexer reports an expired short-term order as CANCELED (removal
        # reason EXPIRED); either way it is final and took nothing.
        assert order.state in {OrderState.EXPIRED, OrderState.CANCELED}
        assert order.filled_quantums == 0
        assert OrderState.OPEN in history
        assert not trader.status().reserved
    finally:
        await trader.stop()


async def test_limit_price_beyond_slippage_bound_then_refused_before_sending(
    devnet: Devnet, venue: IndexerGateway, tmp_path: Path, make_signal: SignalFactory
) -> None:
    settings = settings_for(tmp_path / "j.sqlite3", execution={"order_type": "limit"})
    trader = await start_trader(devnet, settings)
    try:
        oracle = (await venue.get_markets())["ETH-USD"].require_oracle_price()
        far_above = (oracle * Decimal("1.2")).quantize(Decimal("0.1"))
        await refused_with_nothing_sent(
            trader,
            venue,
            settings,
            make_signal("BUY", "ETH-USD", reference_price=far_above),
            {"InvalidInput"},
        )
    finally:
        await trader.stop()

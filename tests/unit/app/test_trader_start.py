"""Start-up reconciliation: an order an earlier process left in flight that cannot be
settled halts trading before the first signal, with a persisted reason naming it
(review F8: a timed-out reconciliation halted with an empty reason; F9: malformed
venue data bypassed the halt)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from dydx_trader.adapters.journal import Journal
from dydx_trader.app import trader as trader_module
from dydx_trader.bootstrap import build_trader
from dydx_trader.config import Settings
from dydx_trader.domain.errors import VenueUnavailable
from dydx_trader.domain.order import OrderIntent, OrderState
from dydx_trader.domain.trading_state import TradingState
from dydx_trader.domain.venue import IndexerFill, IndexerOrder, IndexerOrderStatus
from kit.clock import FakeClock
from kit.exchange import FakeExchange
from kit.markets import make_market
from kit.orders import short_term_intent
from kit.trader import UNUSED_PROFILE, kit_settings

BTC = make_market(
    "BTC-USD", oracle_price=Decimal(50_000), imf=Decimal("0.05"), atomic_resolution=-10,
    clob_pair_id=0,
)  # fmt: skip


class RushingClock(FakeClock):
    """Every duration read finds a second gone: a confirmation deadline passes at once."""

    def monotonic(self) -> float:
        self.advance(1)
        return super().monotonic()


@pytest.fixture
def exchange() -> FakeExchange:
    return FakeExchange({"BTC-USD": BTC})


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return kit_settings(tmp_path / "journal.sqlite3", execution={"confirm_timeout_s": 2})


@pytest.fixture(autouse=True)
def short_stop(monkeypatch: pytest.MonkeyPatch) -> None:
    # The test's trader stops without waiting for the order it could not settle.
    monkeypatch.setattr(trader_module, "STOP_SETTLE_TIMEOUT_S", 0.2)


def left_in_flight(settings: Settings, intent: OrderIntent) -> None:
    """What a process killed after its broadcast left in the journal."""
    with Journal.open(settings.journal.resolved_path(), fsync=False) as journal:
        journal.record_intent(intent)
        journal.transition(intent.client_id, OrderState.IN_FLIGHT_UNKNOWN, "the answer was lost")


async def refused_start(exchange: FakeExchange, settings: Settings) -> str:
    """Start a trader that must refuse; its error message (the trader is stopped after)."""
    trader = await build_trader(
        settings,
        UNUSED_PROFILE,
        address=exchange.address,
        mnemonic=None,
        clock=RushingClock(),
        indexer=exchange,
        node=exchange,
        sender=exchange,
        settle_poll_s=0.001,
    )
    try:
        with pytest.raises(VenueUnavailable) as raised:
            await trader.start(follow_streams=False)
    finally:
        await trader.stop()
    return raised.value.message


def persisted_state(settings: Settings) -> tuple[TradingState, str]:
    with Journal.open(settings.journal.resolved_path(), read_only=True) as journal:
        record = journal.get_trading_state()
    return record.state, record.reason


async def test_start_when_an_order_left_in_flight_cannot_settle_then_halted_naming_it(
    exchange: FakeExchange, settings: Settings
) -> None:
    intent = short_term_intent("left-behind", good_til_block=exchange.height + 15)
    left_in_flight(settings, intent)

    message = await refused_start(exchange, settings)

    assert "trading is HALTED" in message
    state, reason = persisted_state(settings)
    assert state is TradingState.HALTED
    assert reason.startswith("reconciliation of in-flight orders failed: ")
    assert f"order {intent.client_id}" in reason and "left-behind" in reason


async def test_start_when_the_venue_reports_a_malformed_fill_then_halted_naming_the_order(
    exchange: FakeExchange, settings: Settings
) -> None:
    intent = short_term_intent("garbled", quantums=4_020_000, good_til_block=exchange.height - 1)
    left_in_flight(settings, intent)
    size = Decimal("0.000402000000001")  # off the quantum grid by 1e-15 BTC
    listed = IndexerOrder(
        order_id="order-garbled", client_id=intent.client_id, ticker="BTC-USD", clob_pair_id=0,
        side=intent.side, size=size, total_filled=size, price=Decimal(65_000),
        order_type="LIMIT", status=IndexerOrderStatus.FILLED, time_in_force="IOC",
        reduce_only=False, post_only=False, order_flags=0,
        good_til_block=intent.good_til_block, created_at_height=exchange.height - 5,
        updated_at_height=exchange.height - 5,
    )  # fmt: skip
    exchange.orders.append(listed)
    exchange.fills.append(
        IndexerFill(
            fill_id="fill-garbled", ticker="BTC-USD", side=intent.side, liquidity="TAKER",
            fill_type="LIMIT", price=Decimal(65_000), size=size, fee=Decimal("0.01"),
            created_at=exchange.now, created_at_height=exchange.height - 5,
            order_id="order-garbled",
        )
    )  # fmt: skip

    await refused_start(exchange, settings)

    state, reason = persisted_state(settings)
    assert state is TradingState.HALTED
    assert f"order {intent.client_id}" in reason and "MalformedPayload" in reason

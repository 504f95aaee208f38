"""Background flow: other participants' orders, deterministic, with queue position."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from devnet_helpers import ALICE, BUY, GTT, USDC, make_engine, short_term

from dydx_devnet.background_flow import FlowOrder, hour_orders
from dydx_devnet.engine import Engine, EngineConfig

START = datetime(2025, 2, 3, tzinfo=UTC)


def _replay(flow: float, seed: int = 4) -> Engine:
    return Engine.create(
        EngineConfig(
            seed=seed,
            markets=("BTC-USD", "ETH-USD"),
            clock="manual",
            replay_start=START,
            replay_days=2,
            background_flow=flow,
        )
    )


def _trades(engine: Engine, ticker: str = "BTC-USD") -> list[dict[str, str]]:
    return list(engine.state.trades[ticker])


def test_flow_when_same_seed_then_same_trades_and_other_seed_differs() -> None:
    runs = []
    for seed in (4, 4, 5):
        engine = _replay(2.0, seed)
        engine.clock.advance_to(START + timedelta(hours=3))
        runs.append(_trades(engine))

    assert runs[0] == runs[1] and len(runs[0]) > 10
    assert runs[0] != runs[2]


def test_flow_when_off_then_nothing_trades() -> None:
    engine = _replay(0.0)

    engine.clock.advance_to(START + timedelta(hours=3))

    assert _trades(engine) == []


def test_flow_when_hour_drawn_twice_then_identical_and_busier_hours_have_more_orders() -> None:
    quiet = hour_orders(1, "BTC-USD", 480_000, 1.0, 12_500.0, Decimal("0.5"))
    again = hour_orders(1, "BTC-USD", 480_000, 1.0, 12_500.0, Decimal("0.5"))
    busy = hour_orders(1, "BTC-USD", 480_000, 1.0, 12_500.0, Decimal(4))

    assert quiet == again
    assert 10 < len(quiet) < 60 < len(busy)
    assert [o.data_ms for o in busy] == sorted(o.data_ms for o in busy)


def _resting_bid(engine: Engine, ticks_below_best: int) -> int:
    """Rest a 0.01 BTC bid ``ticks_below_best`` ticks under the synthetic best bid."""
    engine.deposit(ALICE, 0, 100_000 * USDC)
    market = engine.markets["BTC-USD"]
    best_bid = engine.state.books["BTC-USD"].synthetic(bids=True).prices[0]
    price = best_bid - ticks_below_best * market.spec.subticks_per_tick
    order = short_term(engine, BUY, 100_000_000, price, tif=GTT)
    assert engine.place_order(order).code == 0
    return price


def _sell(engine: Engine, usdc: int) -> None:
    market = engine.markets["BTC-USD"]
    engine.flow.execute(market, FlowOrder(0, is_buy=False, notional_usdc=float(usdc)))


def _filled(engine: Engine) -> int:
    (order,) = engine.state.orders.values()
    return order.filled


def test_flow_when_bid_improves_on_the_synthetic_best_then_it_fills_first() -> None:
    engine = make_engine()
    _resting_bid(engine, ticks_below_best=-1)  # one tick above: first in line

    _sell(engine, 5_000)

    assert _filled(engine) > 0


def test_flow_when_bid_joins_the_synthetic_level_then_it_waits_behind_its_depth() -> None:
    engine = make_engine()
    _resting_bid(engine, ticks_below_best=0)
    depth_usdc = engine.config.depth_per_level_usdc

    _sell(engine, depth_usdc // 2)  # half the level's depth: still ahead of the bid
    before = _filled(engine)
    engine.advance_block()  # the synthetic level refreshes; the queue ahead does not
    _sell(engine, depth_usdc)

    assert before == 0
    assert _filled(engine) > 0
    fills = engine.state.fills[(ALICE, 0)]
    assert {f["liquidity"] for f in fills} == {"MAKER"}


def test_flow_when_bid_below_the_synthetic_levels_swept_then_untouched() -> None:
    engine = make_engine()
    _resting_bid(engine, ticks_below_best=5)

    _sell(engine, 1_000)

    assert _filled(engine) == 0
    assert _trades(engine)[0]["side"] == "SELL"


def test_market_stats_when_a_day_passes_then_volume_and_trades_are_the_last_24_hours() -> None:
    engine = _replay(0.0)
    market = engine.markets["BTC-USD"]

    for hour in range(1, 31):
        market.volume_24h_qq += 100 * USDC
        market.trades_24h += 1
        engine.clock.advance_to(START + timedelta(hours=hour))

    market.volume_24h_qq += 100 * USDC
    market.trades_24h += 1
    assert (market.volume_24h_qq, market.trades_24h) == (24 * 100 * USDC, 24)


def test_market_stats_when_flow_trades_then_trading_update_precedes_oracle_prices() -> None:
    engine = _replay(5.0)
    events: list[tuple[str, dict[str, object]]] = []
    engine.add_listener(lambda e: events.append((e.channel, e.contents)))

    engine.clock.advance_to(START + timedelta(minutes=30))

    markets = [contents for channel, contents in events if channel == "v4_markets"]
    trading = [c["trading"] for c in markets if "trading" in c]
    assert list(markets[0]) == ["trading"]
    assert any("trades24H" in t.get("BTC-USD", {}) for t in trading)
    assert int(engine.state.markets["BTC-USD"].payload["trades24H"]) == 0  # flow replaces it

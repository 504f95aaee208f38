"""The chain at genesis: markets, the replay window, books, equity tiers.

:func:`open_chain` builds the :class:`~dydx_devnet.state.EngineState` an
:class:`~dydx_devnet.engine.Engine` starts from; the engine then sets the
first oracle prices. A bad replay window raises ``ValueError`` naming it.
"""

from __future__ import annotations

from dydx_devnet.book import Book
from dydx_devnet.candles import RESOLUTION_MS, SampledCandles
from dydx_devnet.config import EngineConfig
from dydx_devnet.genesis import load_genesis_params
from dydx_devnet.markets import REPLAYED_TICKERS, build_markets
from dydx_devnet.replay import OracleReplay, PricePath
from dydx_devnet.replay_window import replay_window
from dydx_devnet.state import EngineState


def open_chain(config: EngineConfig) -> EngineState:
    """The engine state of a devnet at its genesis block, before the first prices."""
    markets = build_markets(config.markets, config.synthetic_markets)
    paths = {
        ticker: PricePath(ticker, market.price_exponent, config.seed)
        for ticker, market in markets.items()
        if ticker in REPLAYED_TICKERS
    }
    window = replay_window(config, paths)
    state = EngineState(config, markets, window.start_ms)
    walked = {t: m.price_value for t, m in markets.items() if t not in paths}
    state.replay = OracleReplay(
        paths,
        walked,
        window,
        seed=config.seed,
        hourly_vol_ppm=config.random_walk_hourly_vol_ppm,
    )
    # Markets without bundled candles sample their oracle into the finest
    # resolution the block interval fills.
    bucket = max((r for r in RESOLUTION_MS.values() if r <= state.interval_ms), default=60_000)
    for ticker, market in markets.items():
        liquidity = config.liquidity(market.spec.liquidity_tier.initial_margin_ppm)
        state.books[ticker] = Book(
            market.spec.subticks_per_tick,
            liquidity.spread_ppm,
            liquidity.level_spacing_ppm,
            config.levels,
        )
        if ticker not in paths:
            state.sampled[ticker] = SampledCandles(bucket)
    tiers = load_genesis_params()["equity_tier_limit_config"]["stateful_order_equity_tiers"]
    state.equity_tiers = sorted((int(t["usd_tnc_required"]), int(t["limit"])) for t in tiers)
    return state

"""Strategies: TA-Lib indicators on candles turned into ``Signal``s.

Use :func:`build_strategy` (config name + parameters) or
:func:`default_strategies`; every strategy has a pure
``evaluate(market, candles, now) -> Signal`` and ``explain(candles)``.
"""

from dydx_trader.strategies.base import Explanation, Strategy, float_to_decimal
from dydx_trader.strategies.bollinger_breakout import BollingerBreakout
from dydx_trader.strategies.candles import Candles
from dydx_trader.strategies.composite import Composite
from dydx_trader.strategies.ema_cross import EmaCross
from dydx_trader.strategies.exits import NO_STOP, AtrStop
from dydx_trader.strategies.indicators import atr
from dydx_trader.strategies.macd_cross import MacdCross
from dydx_trader.strategies.registry import STRATEGY_NAMES, build_strategy, default_strategies
from dydx_trader.strategies.rsi_reversion import RsiReversion

__all__ = [
    "NO_STOP",
    "STRATEGY_NAMES",
    "AtrStop",
    "BollingerBreakout",
    "Candles",
    "Composite",
    "EmaCross",
    "Explanation",
    "MacdCross",
    "RsiReversion",
    "Strategy",
    "atr",
    "build_strategy",
    "default_strategies",
    "float_to_decimal",
]

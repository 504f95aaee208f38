"""Strategies by config name: ``build_strategy("ema_cross", {"fast": 9})``."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType

from dydx_trader.domain.errors import InvalidInput
from dydx_trader.strategies.base import ParamReader, Strategy
from dydx_trader.strategies.bollinger_breakout import BollingerBreakout
from dydx_trader.strategies.composite import Composite
from dydx_trader.strategies.ema_cross import EmaCross
from dydx_trader.strategies.exits import AtrStop
from dydx_trader.strategies.macd_cross import MacdCross
from dydx_trader.strategies.rsi_reversion import RsiReversion

_SIMPLE: Mapping[str, Callable[[Mapping[str, object] | None], Strategy]] = MappingProxyType(
    {
        EmaCross.name: EmaCross.from_params,
        RsiReversion.name: RsiReversion.from_params,
        MacdCross.name: MacdCross.from_params,
        BollingerBreakout.name: BollingerBreakout.from_params,
    }
)

STRATEGY_NAMES: tuple[str, ...] = (*sorted(_SIMPLE), Composite.name)
"""Every name :func:`build_strategy` knows."""


def build_strategy(name: str, params: Mapping[str, object] | None = None) -> Strategy:
    """The strategy called ``name`` with ``params`` (defaults where omitted).

    ``composite`` takes ``members`` (a list of names, or of
    ``{"name": ..., "params": {...}}`` mappings; default: the four simple
    strategies), ``min_votes`` (int, default 2) and, like every strategy,
    ``stop_atr`` / ``atr_period`` (see :class:`AtrStop`). Unknown names and
    parameters are refused with :class:`InvalidInput` listing what is known.
    """
    if not isinstance(name, str):
        raise InvalidInput(f"strategy name must be a string, not {type(name).__name__}")
    key = name.strip().lower()
    if key == Composite.name:
        return _build_composite(params)
    factory = _SIMPLE.get(key)
    if factory is None:
        raise InvalidInput(f"unknown strategy {name[:40]!r}; known: {', '.join(STRATEGY_NAMES)}")
    return factory(params)


def default_strategies() -> tuple[Strategy, ...]:
    """The four simple strategies with default parameters, then their composite."""
    simple = tuple(factory(None) for factory in _SIMPLE.values())
    return (*simple, Composite(members=simple))


def _build_composite(params: Mapping[str, object] | None) -> Composite:
    reader = ParamReader(Composite.name, params)
    members_spec = reader.raw("members", None)
    min_votes = reader.integer("min_votes", 2)
    stop = AtrStop.read(reader)
    reader.done()
    if members_spec is None:
        members = tuple(factory(None) for factory in _SIMPLE.values())
    elif isinstance(members_spec, Sequence) and not isinstance(members_spec, str | bytes):
        members = tuple(_member(item) for item in members_spec)
    else:
        raise InvalidInput("strategy composite: members must be a list of strategy names")
    return Composite(members=members, min_votes=min_votes, stop=stop)


def _member(item: object) -> Strategy:
    if isinstance(item, str):
        name, params = item, None
    elif isinstance(item, Mapping):
        unknown = set(item) - {"name", "params"}
        raw_name, raw_params = item.get("name"), item.get("params")
        if unknown or not isinstance(raw_name, str):
            raise InvalidInput(
                "strategy composite: a member is a name or {name: ..., params: {...}}"
            )
        if raw_params is not None and not isinstance(raw_params, Mapping):
            raise InvalidInput(f"strategy composite: params of member {raw_name} must be a mapping")
        name, params = raw_name, raw_params
    else:
        raise InvalidInput("strategy composite: a member is a name or {name: ..., params: {...}}")
    if name.strip().lower() == Composite.name:
        raise InvalidInput("strategy composite: a composite cannot contain a composite")
    return build_strategy(name, params)

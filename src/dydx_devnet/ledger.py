"""The indexer's hourly records: funding rates, funding payments and PnL ticks.

* Funding (ender's funding handler and roundtable's ``update-funding-payments``):
  at the first block of each chain hour every market's funding index grows by
  ``rate x oracle price x hours`` (USDC per base unit; a long pays a positive
  rate), a ``historicalFunding`` row records the rate and price, and every
  position that paid or received records a funding payment: its signed size,
  the rate, the price, the index and ``payment`` (USDC, positive = received),
  exactly what moved its balance.
* PnL ticks (roundtable's ``create-pnl-ticks``, hourly): each subaccount's
  equity, its net transfers since its previous tick and its total PnL
  (equity minus all net transfers), at the first block of each hour.

Every record carries its height, so a lagging indexer shows only those it has
reached. Called by the block producer under the engine lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING

from dydx_devnet.markets import MarketState
from dydx_devnet.replay import HOUR_MS
from dydx_devnet.subaccounts import Position, Subaccount, risk
from dydx_devnet.transfers import TransferLog

if TYPE_CHECKING:
    from dydx_devnet.state import EngineState

SubaccountKey = tuple[str, int]


@dataclass(frozen=True, slots=True)
class FundingTick:
    """A market's funding update: hourly ``rate``, oracle ``price``, cumulative ``index``."""

    ticker: str
    rate: Decimal
    price: Decimal
    index: Fraction
    height: int
    ms: int


@dataclass(frozen=True, slots=True)
class FundingPayment:
    """One position's funding at one tick; ``payment`` in quote quantums (+ = received)."""

    key: SubaccountKey
    tick: FundingTick
    perpetual_id: int
    size: Decimal
    payment: int


@dataclass(frozen=True, slots=True)
class PnlTick:
    """A subaccount's hourly figures, quote quantums."""

    key: SubaccountKey
    equity: int
    total_pnl: int
    net_transfers: int
    height: int
    ms: int


class Ledger:
    """Funding ticks by market, funding payments and PnL ticks, oldest first."""

    def __init__(self, transfers: TransferLog) -> None:
        self._transfers = transfers
        self.funding: dict[str, list[FundingTick]] = {}
        self.payments: list[FundingPayment] = []
        self.pnl: dict[SubaccountKey, list[PnlTick]] = {}
        self._index: dict[str, Fraction] = {}

    def funding_tick(self, state: EngineState, market: MarketState, hours: int) -> FundingTick:
        """This block's funding tick of ``market`` (made once per block, on first use)."""
        ticks = self.funding.setdefault(market.ticker, [])
        if ticks and ticks[-1].height == state.height:
            return ticks[-1]
        rate = Decimal(market.funding_rate_ppb).scaleb(-9)
        index = self._index.get(market.ticker, Fraction(0))
        index += Fraction(rate) * Fraction(market.oracle_price) * hours
        self._index[market.ticker] = index
        tick = FundingTick(
            market.ticker, rate, market.oracle_price, index, state.height, state.block_time_ms
        )
        ticks.append(tick)
        return tick

    def funding_paid(
        self,
        state: EngineState,
        account: Subaccount,
        market: MarketState,
        position: Position,
        paid: int,
        hours: int,
    ) -> None:
        """``account`` paid ``paid`` quote quantums of funding on ``position`` (negative =
        received)."""
        self.payments.append(
            FundingPayment(
                key=(account.address, account.number),
                tick=self.funding_tick(state, market, hours),
                perpetual_id=market.clob_pair_id,
                size=Decimal(position.quantums).scaleb(market.spec.atomic_resolution),
                payment=-paid,
            )
        )

    def block_done(self, state: EngineState, previous_ms: int) -> None:
        """At the first block of an hour: funding ticks of every market, PnL ticks."""
        hours = state.block_time_ms // HOUR_MS - previous_ms // HOUR_MS
        if hours <= 0:
            return
        if state.config.funding:
            for market in state.markets.values():
                self.funding_tick(state, market, hours)
        for key, account in state.subaccounts.items():
            ticks = self.pnl.setdefault(key, [])
            since = ticks[-1].height if ticks else -1
            moved = sum(t.signed_for(*key) for t in self._transfers.transfers if t.height > since)
            equity = risk(account, state.markets).net_collateral
            total = self._transfers.net_quantums(*key, up_to_height=state.height)
            ticks.append(
                PnlTick(key, equity, equity - total, moved, state.height, state.block_time_ms)
            )

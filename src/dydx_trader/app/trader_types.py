"""What a :class:`~dydx_trader.app.trader.Trader` keeps in its journal
(:class:`JournalPort`) and what it shows of itself (:class:`TraderStatus`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from dydx_trader.app.ports import ForeignActivityJournal, ProtectionJournal, TraderJournal
from dydx_trader.app.protection import ProtectionStatus
from dydx_trader.app.risk_guard import TradingStateStore
from dydx_trader.domain.account import Subaccount
from dydx_trader.domain.margin import AccountRisk
from dydx_trader.domain.proposal import OrderProposal
from dydx_trader.domain.trading_state import TradingState


class EquitySampleJournal(Protocol):
    """Where the account marked to market is kept, one sample at a time."""

    def record_equity_sample(self, at: datetime, risk: AccountRisk) -> None: ...


class JournalPort(
    TraderJournal,
    TradingStateStore,
    ForeignActivityJournal,
    EquitySampleJournal,
    ProtectionJournal,
    Protocol,
):
    """Everything a trader keeps in its journal: decisions, orders, trading state,
    the account marked to market, the foreign activity seen on its subaccount, and
    its protection."""


@dataclass(frozen=True, slots=True)
class TraderStatus:
    """What a trader is doing, read-only.

    ``risk`` is the latest account valuation: the cached balance snapshot's
    while running (``None`` when none is fresh), the venue's final figures once
    stopped. ``reserved`` are the worst cases of the orders in flight,
    ``in_flight`` how many sent orders are still followed, ``failure`` why the
    actor crashed (``None`` while healthy), ``protection`` the protective orders.
    """

    owner: Subaccount
    watch_only: bool
    trading_state: TradingState
    trading_reason: str
    risk: AccountRisk | None
    reserved: tuple[OrderProposal, ...]
    in_flight: int
    failure: str | None
    protection: ProtectionStatus | None = None

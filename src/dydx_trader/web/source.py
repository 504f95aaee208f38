"""What the dashboard shows, read from the two sources of truth: the journal and the
trader's status. Nothing here keeps a copy of the account, the orders or the
decisions; the report so far is recomputed (by the report package) only when a
new sample or fill has been journaled.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import datetime

from dydx_trader.adapters.journal import Journal, TradingStateRecord
from dydx_trader.adapters.metrics import ScrapeFigures
from dydx_trader.app.readiness import Check
from dydx_trader.app.trader import Trader
from dydx_trader.domain.errors import DydxTraderError
from dydx_trader.domain.trading_state import Authority, TradingState
from dydx_trader.web import views
from dydx_trader.web.views import Json

RECENT_FILLS = 12
RECENT_SIGNALS = 20
IN_FLIGHT_ROWS = 50


class DashboardSource:
    """One trader's view. ``journal`` is the dashboard's own connection to the
    trader's journal (stamped on ``clock``: market time in a paper run);
    ``session_start`` bounds "this session" in a journal shared by several runs
    (None: all of it); ``step_s`` is the sampling period the report annualizes by;
    ``mode`` names the run (``paper``, ``testnet``, ``mainnet``)."""

    def __init__(
        self,
        journal: Journal,
        clock: Callable[[], datetime],
        *,
        mode: str,
        session_start: datetime | None,
        step_s: int,
    ) -> None:
        self.journal = journal
        self._clock = clock
        self.mode = mode
        self.session_start = session_start
        self._step_s = step_s
        self.trader: Trader | None = None
        # In a lockstep replay: whether the driver is running (the streams' stand-in).
        self.driver_running: Callable[[], bool] | None = None
        self._report_key: tuple[object, ...] | None = None
        self._report: Json | None = None

    # -- the page ----------------------------------------------------------------------

    def state(self) -> Json:
        """Everything the page shows but the charts."""
        trader = self.trader
        status = None if trader is None else trader.status()
        sample = self.journal.latest_equity_sample()
        return {
            "mode": self.mode,
            "now": views.iso(self._clock()),
            "session_start": views.iso(self.session_start),
            "starting": trader is None,
            "trader_failure": None if status is None else status.failure,
            "account": views.account_view(None if status is None else status.risk, sample),
            "latest_sample_at": None if sample is None else views.iso(sample.at),
            "trading_state": self.trading_state(),
            "in_flight": views.orders_view(
                self.journal.order_reports(IN_FLIGHT_ROWS, in_flight_only=True)
            ),
            "reserved": views.reserved_view(() if status is None else status.reserved),
            "fills": views.fills_view(self.journal.recent_fills(RECENT_FILLS)),
            "signals": views.signals_view(self.journal.signal_outcomes(RECENT_SIGNALS)),
            "report": self._report_so_far(sample.at if sample else None),
        }

    def trading_state(self) -> Json:
        """The state in force (the trader's, when there is one) and its last change."""
        record = self.journal.get_trading_state()
        if self.trader is None:
            return views.trading_state_view(record.state.value, "", record)
        status = self.trader.status()
        return views.trading_state_view(
            status.trading_state.value, status.trading_reason, record
        )

    def series(self, since: datetime | None, until: datetime | None) -> Json:
        """The charts' data over ``[since, until]`` (since defaults to the session's start)."""
        start = self.session_start if since is None else since
        return views.series_view(self.journal.equity_samples(start, until))

    def _report_so_far(self, latest: datetime | None) -> Json:
        fills = self.journal.fill_rows(self.session_start)
        key = (latest, len(fills))
        if self._report is None or key != self._report_key:
            samples = self.journal.equity_samples(self.session_start, max_points=10**9)
            self._report = views.report_view(samples, fills, self._step_s)
            self._report_key = key
        return self._report

    # -- the controls ------------------------------------------------------------------

    def set_trading_state(self, state: TradingState, reason: str) -> TradingStateRecord:
        """The operator's change, persisted as ``trading-state`` does (the trader
        re-reads it before every order), with ``dashboard`` as its source."""
        return self.journal.set_trading_state(state, reason, Authority.OPERATOR, "dashboard")

    # -- health and metrics ------------------------------------------------------------

    def readiness(self) -> tuple[Check, ...]:
        """Every readiness check: the trader's, the journal's, and the replay's."""
        trader = self.trader
        if trader is None:
            checks: list[Check] = [Check("trader", False, "the trader is starting")]
        else:
            checks = list(trader.readiness())
        checks.append(self._journal_writable())
        if self.driver_running is not None:
            running = self.driver_running()
            checks.append(Check("replay", running, "" if running else "the replay is not running"))
        return tuple(checks)

    def _journal_writable(self) -> Check:
        try:
            self.journal.check_writable()
        except (DydxTraderError, sqlite3.Error) as error:
            return Check("journal", False, str(error))
        return Check("journal", True)

    def scrape_figures(self) -> ScrapeFigures:
        """The gauges' values at a scrape: the trader's status first, else the latest sample."""
        trader = self.trader
        status = None if trader is None else trader.status()
        risk = None if status is None else status.risk
        sample = self.journal.latest_equity_sample() if risk is None else None
        lag = None if trader is None else trader.indexer_lag_blocks
        state = self.journal.get_trading_state().state if status is None else status.trading_state
        if risk is not None:
            return ScrapeFigures(
                risk.equity, risk.sizing_free_collateral, risk.leverage, risk.margin_usage,
                status.in_flight if status else None, state.value, lag,
            )  # fmt: skip
        if sample is not None:
            return ScrapeFigures(
                sample.equity, sample.free_collateral, sample.leverage, sample.margin_usage,
                status.in_flight if status else None, state.value, lag,
            )  # fmt: skip
        return ScrapeFigures(
            in_flight=None if status is None else status.in_flight,
            trading_state=state.value,
            indexer_lag_blocks=lag,
        )

"""Prometheus metrics: the app's :class:`~dydx_trader.app.metrics.TraderMetrics`,
and the account's figures read at each scrape.

Names follow Prometheus's conventions: ``dydx_trader_`` first, counters end
in ``_total``, base units in the name (``_seconds``, ``_usdc``, ``_blocks``,
``_ratio``). Each instance has its own registry (nothing global), so tests and
two traders in one process never share counters. Durations are measured here,
on the wall clock (``timer``), from one event of a signal to the next.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

PREFIX = "dydx_trader"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
TRADING_STATES = ("ACTIVE", "REDUCING", "HALTED")
# Signals whose timing is still open; a signal that never reaches its end event
# (refused, HOLD) is forgotten oldest first.
_OPEN_TIMINGS = 10_000


@dataclass(frozen=True, slots=True)
class ScrapeFigures:
    """The account and trader as a scrape reads them: USDC amounts, leverage (x),
    margin usage (a fraction), orders in flight, the trading state's name, and the
    indexer's lag (blocks); any may be None when not known yet."""

    equity: Decimal | None = None
    free_collateral: Decimal | None = None
    leverage: Decimal | None = None
    margin_usage: Decimal | None = None
    in_flight: int | None = None
    trading_state: str | None = None
    indexer_lag_blocks: int | None = None


class PrometheusMetrics:
    """Counters and histograms fed by the trader's events, and gauges read from
    ``figures()`` at each scrape. :meth:`exposition` renders them all."""

    def __init__(
        self,
        figures: Callable[[], ScrapeFigures] = ScrapeFigures,
        *,
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._timer = timer
        self._received: OrderedDict[str, float] = OrderedDict()
        self._started: OrderedDict[str, float] = OrderedDict()
        self._signals = Counter(
            f"{PREFIX}_signals", "Signals that entered the trader.", registry=self.registry
        )
        self._decisions = Counter(
            f"{PREFIX}_decisions",
            "Decisions, by outcome (ACCEPTED, REFUSED) and reason (the refusal's rule or "
            "error class; the acceptance's binding cap).",
            ["outcome", "reason"],
            registry=self.registry,
        )
        self._orders = Counter(
            f"{PREFIX}_orders",
            "Orders that reached a final state, by that state.",
            ["state"],
            registry=self.registry,
        )
        self._balance_reads = Counter(
            f"{PREFIX}_balance_cache_requests",
            "Balance snapshots asked for, by result (hit: served from the cache).",
            ["result"],
            registry=self.registry,
        )
        self._balance_fetches = Counter(
            f"{PREFIX}_balance_upstream_requests",
            "Balance fetches from the venue (indexer account and node height).",
            registry=self.registry,
        )
        self._webhook = Counter(
            f"{PREFIX}_webhook_requests",
            "Webhook requests answered, by HTTP status.",
            ["status"],
            registry=self.registry,
        )
        self._decision_latency = Histogram(
            f"{PREFIX}_decision_latency_seconds",
            "From the account actor taking a signal up to its decision journaled.",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self._tick_to_trade = Histogram(
            f"{PREFIX}_tick_to_trade_seconds",
            "From a signal entering the trader to its order's broadcast answered.",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )
        self.registry.register(_Figures(figures))

    # -- TraderMetrics -----------------------------------------------------------------

    def signal_received(self, signal_id: str) -> None:
        self._signals.inc()
        _remember(self._received, signal_id, self._timer())

    def decision_started(self, signal_id: str) -> None:
        _remember(self._started, signal_id, self._timer())

    def decided(self, signal_id: str, outcome: str, reason: str) -> None:
        self._decisions.labels(outcome=outcome, reason=reason).inc()
        started = self._started.pop(signal_id, None)
        if started is not None:
            self._decision_latency.observe(max(0.0, self._timer() - started))
        if outcome != "ACCEPTED":
            self._received.pop(signal_id, None)  # no order: no tick-to-trade

    def order_sent(self, signal_id: str) -> None:
        received = self._received.pop(signal_id, None)
        if received is not None:
            self._tick_to_trade.observe(max(0.0, self._timer() - received))

    def order_final(self, state: str) -> None:
        self._orders.labels(state=state).inc()

    def balance_read(self, *, cached: bool) -> None:
        self._balance_reads.labels(result="hit" if cached else "miss").inc()

    def balance_fetched(self) -> None:
        self._balance_fetches.inc()

    # -- the HTTP side -----------------------------------------------------------------

    def webhook_request(self, status: int) -> None:
        """One webhook answer with HTTP ``status``."""
        self._webhook.labels(status=str(status)).inc()

    def exposition(self) -> bytes:
        """Every metric in the Prometheus text format (:data:`CONTENT_TYPE`)."""
        return generate_latest(self.registry)


def _remember(table: OrderedDict[str, float], key: str, value: float) -> None:
    table[key] = value
    table.move_to_end(key)
    while len(table) > _OPEN_TIMINGS:
        table.popitem(last=False)


class _Figures(Collector):
    """The gauges, read from the trader at each scrape (never a second copy)."""

    def __init__(self, figures: Callable[[], ScrapeFigures]) -> None:
        self._figures = figures

    def describe(self) -> list[Metric]:
        return []  # read at scrape time only: no registration-time call into the trader

    def collect(self) -> Iterator[Metric]:
        figures = self._figures()
        gauges = (
            ("equity_usdc", "Account equity at oracle prices (chain-exact).", figures.equity),
            ("free_collateral_usdc", "Free collateral the trader sizes from.",
             figures.free_collateral),
            ("leverage_ratio", "Gross notional / equity.", figures.leverage),
            ("margin_usage_ratio", "1 - free collateral / equity.", figures.margin_usage),
            ("orders_in_flight", "Orders sent and not yet settled.", figures.in_flight),
            ("indexer_lag_blocks", "Blocks the indexer trailed the node at the last balance "
             "fetch.", figures.indexer_lag_blocks),
        )  # fmt: skip
        for name, text, value in gauges:
            if value is not None:
                yield GaugeMetricFamily(f"{PREFIX}_{name}", text, value=float(value))
        if figures.trading_state is not None:
            state = GaugeMetricFamily(
                f"{PREFIX}_kill_switch_state",
                "The trading state in force (1 for the current one): the kill switch "
                "trips to REDUCING or HALTED.",
                labels=["state"],
            )
            for name in TRADING_STATES:
                state.add_metric([name], 1.0 if name == figures.trading_state else 0.0)
            yield state

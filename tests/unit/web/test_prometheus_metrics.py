"""The Prometheus adapter: durations on its own timer, bounded labels, gauges read
from the trader at each scrape."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from dydx_trader.adapters.metrics import PrometheusMetrics, ScrapeFigures


class Timer:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def samples(metrics: PrometheusMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = metrics.exposition().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_decided_when_accepted_then_latency_and_tick_to_trade_from_their_events() -> None:
    timer = Timer()
    metrics = PrometheusMetrics(timer=timer)
    metrics.signal_received("s")
    timer.now += 0.5  # queued behind another signal
    metrics.decision_started("s")
    timer.now += 0.02
    metrics.decided("s", "ACCEPTED", "policy")
    timer.now += 0.1
    metrics.order_sent("s")

    seen = samples(metrics)

    assert abs(seen[("dydx_trader_decision_latency_seconds_sum", ())] - 0.02) < 1e-9
    assert abs(seen[("dydx_trader_tick_to_trade_seconds_sum", ())] - 0.62) < 1e-9
    assert seen[("dydx_trader_decisions_total", (("outcome", "ACCEPTED"), ("reason", "policy")))]


def test_decided_when_refused_then_no_tick_to_trade_ever() -> None:
    metrics = PrometheusMetrics(timer=Timer())
    metrics.signal_received("s")
    metrics.decision_started("s")
    metrics.decided("s", "REFUSED", "cooldown")
    metrics.order_sent("s")  # cannot happen for a refusal; must not be measured either

    assert samples(metrics)[("dydx_trader_tick_to_trade_seconds_count", ())] == 0


def test_exposition_when_figures_known_then_gauges_in_base_units_and_one_state() -> None:
    figures = ScrapeFigures(Decimal("9876.5"), Decimal("9000"), Decimal("0.25"), Decimal("0.1"),
                            2, "HALTED", 3)  # fmt: skip
    metrics = PrometheusMetrics(lambda: figures)
    metrics.balance_read(cached=True)
    metrics.balance_read(cached=False)
    metrics.balance_fetched()
    metrics.order_final("FILLED")
    metrics.webhook_request(202)

    seen = samples(metrics)

    assert seen[("dydx_trader_equity_usdc", ())] == 9876.5
    assert seen[("dydx_trader_orders_in_flight", ())] == 2
    assert seen[("dydx_trader_indexer_lag_blocks", ())] == 3
    assert seen[("dydx_trader_kill_switch_state", (("state", "HALTED"),))] == 1
    assert seen[("dydx_trader_kill_switch_state", (("state", "ACTIVE"),))] == 0
    assert seen[("dydx_trader_balance_cache_requests_total", (("result", "hit"),))] == 1
    assert seen[("dydx_trader_balance_cache_requests_total", (("result", "miss"),))] == 1
    assert seen[("dydx_trader_balance_upstream_requests_total", ())] == 1
    assert seen[("dydx_trader_orders_total", (("state", "FILLED"),))] == 1
    assert seen[("dydx_trader_webhook_requests_total", (("status", "202"),))] == 1


def test_exposition_when_nothing_known_then_no_gauge_invented() -> None:
    names = {name for name, _ in samples(PrometheusMetrics())}

    assert "dydx_trader_equity_usdc" not in names
    assert "dydx_trader_kill_switch_state" not in names


def test_two_instances_when_counting_then_registries_apart() -> None:
    first, second = PrometheusMetrics(), PrometheusMetrics()
    first.order_final("FILLED")

    assert ("dydx_trader_orders_total", (("state", "FILLED"),)) not in samples(second)


def test_grafana_example_when_it_names_metrics_then_each_is_exported() -> None:
    example = (Path(__file__).resolve().parents[3] / "docs" / "grafana-dashboard.json").read_text()
    figures = ScrapeFigures(Decimal(1), Decimal(1), Decimal(1), Decimal(1), 0, "ACTIVE", 0)
    metrics = PrometheusMetrics(lambda: figures)
    metrics.decided("s", "ACCEPTED", "policy")
    metrics.order_final("FILLED")
    metrics.balance_read(cached=True)
    metrics.webhook_request(202)
    exported = {name for name, _ in samples(metrics)}

    named = set(re.findall(r"dydx_trader_[a-z_]+", example))

    assert named and named <= exported, named - exported

"""The operator's server in front of a whole trader (on the kit's fake exchange):
readiness, the controls and their token, the page's JSON, the live stream and
/metrics, over loopback."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from dashboard_harness import ETH, TOKEN, Dashboard, buy, served_dashboard

from dydx_trader.adapters.journal import Journal
from dydx_trader.domain.decision import Outcome
from dydx_trader.domain.trading_state import Authority, TradingState
from dydx_trader.web.server import is_loopback
from kit.exchange import FakeExchange


@pytest.fixture
async def dashboard(tmp_path: Path) -> AsyncIterator[Dashboard]:
    async with served_dashboard(tmp_path, FakeExchange({"ETH-USD": ETH})) as served:
        yield served


async def started(dashboard: Dashboard) -> Dashboard:
    await dashboard.trader.start(follow_streams=False)
    await dashboard.trader.mark_to_market()  # a balance read measures the indexer's lag
    return dashboard


async def test_readyz_when_not_reconciled_then_503_and_ready_only_after_start(
    dashboard: Dashboard,
) -> None:
    before, text = await dashboard.get("/readyz")
    alive, _ = await dashboard.get("/healthz")

    await started(dashboard)
    after, _ = await dashboard.get("/readyz")

    assert (alive, before, after) == (200, 503, 200)
    checks = {c["name"]: c for c in json.loads(text)["checks"]}
    assert checks["reconciled"]["ok"] is False
    assert checks["reconciled"]["detail"] == "in-flight orders not reconciled yet"
    assert checks["journal"]["ok"] is True


async def test_readyz_when_replay_driver_stopped_then_not_ready(dashboard: Dashboard) -> None:
    await started(dashboard)
    dashboard.source.driver_running = lambda: False

    status, text = await dashboard.get("/readyz")

    assert status == 503
    assert {"name": "replay", "ok": False, "detail": "the replay is not running"} in json.loads(
        text
    )["checks"]


async def test_control_when_no_token_then_401_and_state_unchanged(dashboard: Dashboard) -> None:
    await started(dashboard)

    status, text = await dashboard.control("halted", token=None)
    wrong, _ = await dashboard.control("halted", token="not-the-token-but-long-enough")

    assert (status, wrong) == (401, 401)
    assert json.loads(text) == {"error": "missing or wrong dashboard token"}
    assert dashboard.trader.status().trading_state is TradingState.ACTIVE


async def test_control_when_token_then_halted_journaled_with_source_and_next_signal_refused(
    dashboard: Dashboard,
) -> None:
    await started(dashboard)

    status, text = await dashboard.control("halted")
    result = await dashboard.trader.submit(buy("after-halt"))

    assert status == 200
    assert json.loads(text)["state"] == "HALTED" and json.loads(text)["source"] == "dashboard"
    with Journal.open(dashboard.settings.journal.resolved_path(), read_only=True) as journal:
        record = journal.get_trading_state()
    assert (record.state, record.authority, record.source) == (
        TradingState.HALTED, Authority.OPERATOR, "dashboard",
    )  # fmt: skip
    assert result.decision is not None and result.decision.outcome is Outcome.REFUSED
    assert result.decision.error_code == "TradingHalted"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Origin": "http://evil.example"}, 403),
        ({"Sec-Fetch-Site": "cross-site"}, 403),
        ({"Content-Type": "application/x-www-form-urlencoded"}, 415),
    ],
)
async def test_control_when_cross_site_or_not_json_then_refused_and_state_unchanged(
    dashboard: Dashboard, headers: dict[str, str], expected: int
) -> None:
    await started(dashboard)

    status, _ = await dashboard.control("halted", headers=headers)

    assert status == expected
    assert dashboard.trader.status().trading_state is TradingState.ACTIVE


@pytest.mark.parametrize(
    "body", ['{"state": "paused"}', '["halted"]', "{", '{"state": "halted", "extra": 1}']
)
async def test_control_when_body_malformed_then_422_one_line(
    dashboard: Dashboard, body: str
) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    async with dashboard.http.post(dashboard.url + "api/trading-state", data=body,
                                   headers=headers) as answer:  # fmt: skip
        status, text = answer.status, await answer.text()

    assert status == 422
    assert "\n" not in json.loads(text)["error"]


async def test_state_when_traded_then_account_position_fill_and_decision_arithmetic(
    dashboard: Dashboard,
) -> None:
    await started(dashboard)
    await dashboard.trader.submit(buy("s-1"))
    await dashboard.trader.wait_settled()
    await dashboard.trader.mark_to_market()

    status, text = await dashboard.get("/api/state")

    assert status == 200
    state = json.loads(text)
    assert state["account"]["positions"][0]["market"] == "ETH-USD"
    assert state["account"]["positions"][0]["protective_orders"] == []
    assert state["fills"][0]["market"] == "ETH-USD" and state["fills"][0]["strategy"] == "test"
    decision = state["signals"][0]
    assert decision["signal_id"] == "s-1" and decision["outcome"] == "ACCEPTED"
    assert decision["bound_by"] and decision["arithmetic"]
    assert state["report"]["fills"] == 1
    assert TOKEN not in text


async def test_series_when_window_given_then_only_its_samples_and_bad_times_422(
    dashboard: Dashboard,
) -> None:
    await started(dashboard)
    first = dashboard.clock.now()
    dashboard.clock.advance(3600)
    await dashboard.trader.mark_to_market()

    _, everything = await dashboard.get("/api/series")
    _, later = await dashboard.get(f"/api/series?from={first.isoformat()[:16]}:01Z")
    bad, _ = await dashboard.get("/api/series?from=yesterday")

    assert len(json.loads(everything)["t"]) == 2
    assert len(json.loads(later)["t"]) == 1
    assert json.loads(later)["drawdown"] == ["0"]
    assert bad == 422


async def test_events_when_page_listens_then_state_event_arrives(dashboard: Dashboard) -> None:
    await started(dashboard)

    async with dashboard.http.get(dashboard.url + "api/events") as answer:
        assert answer.headers["Content-Type"].startswith("text/event-stream")
        head = await answer.content.readuntil(b"\n\n")

    assert head.startswith(b"event: state\ndata: {")
    assert json.loads(head.split(b"data: ", 1)[1])["mode"] == "paper"


async def test_metrics_when_signals_decided_then_prometheus_names_with_values(
    dashboard: Dashboard,
) -> None:
    await started(dashboard)
    await dashboard.trader.submit(buy("m-1"))
    await dashboard.trader.wait_settled()
    await dashboard.trader.submit(buy("m-1"))  # a replay: refused
    await dashboard.trader.mark_to_market()

    status, text = await dashboard.get("/metrics")

    assert status == 200
    samples = {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line and not line.startswith("#")
    }
    assert samples['dydx_trader_decisions_total{outcome="ACCEPTED",reason="policy"}'] == 1
    assert samples['dydx_trader_decisions_total{outcome="REFUSED",reason="duplicate_id"}'] == 1
    assert samples['dydx_trader_orders_total{state="FILLED"}'] == 1
    assert samples["dydx_trader_equity_usdc"] > 0
    assert samples["dydx_trader_orders_in_flight"] == 0
    assert samples["dydx_trader_indexer_lag_blocks"] == 0
    assert samples['dydx_trader_kill_switch_state{state="ACTIVE"}'] == 1
    assert samples["dydx_trader_decision_latency_seconds_count"] == 2
    assert samples["dydx_trader_tick_to_trade_seconds_count"] == 1
    assert samples["dydx_trader_balance_upstream_requests_total"] >= 1


async def test_webhook_when_trader_takes_no_more_signals_then_503_retry_and_counted(
    dashboard: Dashboard,
) -> None:
    await started(dashboard)
    dashboard.server.detach_webhook()

    async with dashboard.http.post(dashboard.url + "webhook/signals", data="{}") as answer:
        status, retry = answer.status, answer.headers.get("Retry-After")
    _, metrics = await dashboard.get("/metrics")

    assert (status, retry) == (503, "5")
    assert 'dydx_trader_webhook_requests_total{status="503"} 1.0' in metrics


async def test_views_when_served_off_loopback_then_token_needed_but_probes_and_page_open(
    tmp_path: Path,
) -> None:
    async with served_dashboard(tmp_path, FakeExchange({"ETH-USD": ETH}),
                                open_reads=False) as dashboard:  # fmt: skip
        await started(dashboard)
        shut = {path: (await dashboard.get(path))[0]
                for path in ("/api/state", "/api/series", "/metrics", "/api/trading-state")}
        open_ = {path: (await dashboard.get(path))[0]
                 for path in ("/", "/static/app.js", "/healthz", "/readyz")}  # fmt: skip
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with dashboard.http.get(dashboard.url + "api/state", headers=headers) as answer:
            with_token = answer.status

    assert set(shut.values()) == {401}
    assert set(open_.values()) == {200}
    assert with_token == 200


def test_is_loopback_when_addresses_then_only_this_machine() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")  # noqa: S104

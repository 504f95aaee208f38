"""What the dashboard reads from the journal: the account marked to market over time
(thinned for a chart, in a window), fills with their market, side and strategy,
signals with their first decision, and where each trading-state change came from."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from dydx_trader.adapters.journal import Journal
from dydx_trader.domain.account import PerpetualPosition
from dydx_trader.domain.decision import Decision, Outcome
from dydx_trader.domain.errors import SignalRejected
from dydx_trader.domain.margin import AccountRisk, assess
from dydx_trader.domain.order import OrderState
from dydx_trader.domain.side import Side
from dydx_trader.domain.signal import Signal, SignalSource
from dydx_trader.domain.trading_state import Authority, TradingState
from dydx_trader.report.performance import drawdown_series
from kit.markets import flat_account, sample_markets
from kit.orders import short_term_intent

T0 = datetime(2025, 3, 1, tzinfo=UTC)


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    opened = Journal.open(tmp_path / "journal.sqlite3", fsync=False)
    yield opened
    opened.close()


def _risk(usdc: str, eth: str = "0") -> AccountRisk:
    positions = [PerpetualPosition("ETH-USD", Decimal(eth), Decimal(2000))] if eth != "0" else []
    return assess(flat_account(Decimal(usdc), *positions), sample_markets())


def _signal(signal_id: str, strategy: str = "ema_cross") -> Signal:
    return Signal.create(
        id=signal_id, market="BTC-USD", action="BUY", created_at=T0,
        source=SignalSource.STRATEGY, strategy=strategy, confidence="0.7",
    )  # fmt: skip


def test_equity_samples_when_recorded_then_read_back_exact_with_positions(
    journal: Journal,
) -> None:
    risk = _risk("-1000", eth="1.5")
    journal.record_equity_sample(T0, risk)

    [sample] = journal.equity_samples()

    assert sample.at == T0 and sample.equity == risk.equity
    assert sample.free_collateral == risk.sizing_free_collateral
    assert sample.leverage == risk.leverage and sample.margin_usage == risk.margin_usage
    assert [(p.market, p.size) for p in sample.positions] == [("ETH-USD", Decimal("1.5"))]
    assert journal.latest_equity_sample() == sample


def test_equity_samples_when_window_and_many_then_thinned_inside_it_keeping_the_last(
    journal: Journal,
) -> None:
    for hour in range(100):
        journal.record_equity_sample(T0 + timedelta(hours=hour), _risk(str(10_000 + hour)))

    inside = journal.equity_samples(T0 + timedelta(hours=10), T0 + timedelta(hours=59))
    thinned = journal.equity_samples(max_points=10)

    assert len(inside) == 50 and inside[0].at == T0 + timedelta(hours=10)
    assert len(thinned) <= 11 and thinned[0].at == T0
    assert thinned[-1].at == T0 + timedelta(hours=99)


def test_fill_rows_when_fills_recorded_then_market_side_and_strategy_joined(
    journal: Journal,
) -> None:
    journal.record_signal(_signal("sig-1", strategy="rsi_reversion"))
    intent = short_term_intent("sig-1", side=Side.SELL)
    journal.record_intent(intent)
    journal.transition(intent.client_id, OrderState.SUBMITTED, "sent")
    journal.record_fill(intent.client_id, "f-1", quantums=1_000_000, size=Decimal("0.01"),
                        price=Decimal("65000"), fee=Decimal("0.3"), filled_at=T0)  # fmt: skip

    [row] = journal.fill_rows()

    assert (row.market, row.side, row.strategy, row.signal_id) == (
        "BTC-USD", "SELL", "rsi_reversion", "sig-1",
    )  # fmt: skip
    assert (row.size, row.price, row.fee, row.at) == (
        Decimal("0.01"), Decimal("65000"), Decimal("0.3"), T0,
    )  # fmt: skip
    assert journal.recent_fills(5) == [row]
    assert journal.fill_rows(since=T0 + timedelta(seconds=1)) == []


def test_signal_outcomes_when_replayed_then_first_decision_shown_newest_signal_first(
    journal: Journal,
) -> None:
    journal.record_signal(_signal("a"))
    journal.record_signal(_signal("b"))
    decided = Decision.accepted(signal_id="a", market="BTC-USD", side=Side.BUY,
                                size=Decimal("0.01"), quantums=1_000_000, price=Decimal("65000"),
                                decided_at=T0, bound_by="max_leverage")  # fmt: skip
    journal.record_decision(decided)
    again = SignalRejected("signal a was already decided", rule="duplicate_id")
    journal.record_decision(Decision.refused(signal_id="a", market="BTC-USD", error=again,
                                             decided_at=T0))  # fmt: skip

    outcomes = journal.signal_outcomes(10)

    assert [o.signal.id for o in outcomes] == ["b", "a"]
    assert outcomes[0].decision is None
    assert outcomes[1].decision is not None and outcomes[1].decision.outcome is Outcome.ACCEPTED
    assert outcomes[1].decision.bound_by == "max_leverage"


def test_set_trading_state_when_source_given_then_kept_and_default_is_trader(
    journal: Journal,
) -> None:
    automatic = journal.set_trading_state(TradingState.HALTED, "kill switch")
    operator = journal.set_trading_state(TradingState.ACTIVE, "checked", Authority.OPERATOR,
                                         "dashboard")  # fmt: skip

    assert automatic.source == "trader"
    assert operator.source == "dashboard" == journal.get_trading_state().source


def test_check_writable_when_read_only_then_journal_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    Journal.open(path).close()

    with Journal.open(path) as writer:
        writer.check_writable()
    with Journal.open(path, read_only=True) as reader, pytest.raises(Exception, match="read-only"):
        reader.check_writable()


def test_drawdown_series_when_equity_falls_then_fraction_of_running_peak() -> None:
    equity = ["100", "120", "90", "130", "65"]
    samples = [(T0, Decimal(e)) for e in equity]

    assert drawdown_series(samples) == [0, 0, Decimal("0.25"), 0, Decimal("0.5")]

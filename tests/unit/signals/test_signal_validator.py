"""SignalValidator: every rule accepts what it should and rejects what it should, as values."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from dydx_trader.app.validation import (
    IdMemory,
    Rule,
    SignalValidator,
    TokenBucket,
    ValidationConfig,
)
from dydx_trader.domain.errors import InvalidInput, SignalRejected
from dydx_trader.domain.market import MarketSpec, MarketStatus
from dydx_trader.domain.signal import Signal, SignalSource
from kit.clock import FakeClock
from kit.markets import make_market

T0 = datetime(2025, 1, 1, 12, tzinfo=UTC)


def market(ticker: str = "BTC-USD", status: MarketStatus = MarketStatus.ACTIVE) -> MarketSpec:
    return make_market(
        ticker,
        oracle_price=Decimal(60000),
        imf=Decimal("0.05"),
        atomic_resolution=-10,
        open_interest=Decimal(100),
        status=status,
    )


MARKETS = {
    "BTC-USD": market(),
    "ETH-USD": market("ETH-USD"),
    "LUNA-USD": market("LUNA-USD", MarketStatus.FINAL_SETTLEMENT),
    "NEW-USD": replace(market("NEW-USD"), oracle_price=None),
}


def sig(
    action: str = "BUY",
    *,
    market: str = "BTC-USD",
    confidence: str = "0.8",
    id: str | None = None,
    strategy: str = "ema_cross",
    at: datetime = T0,
) -> Signal:
    return Signal.create(
        id=id,
        market=market,
        action=action,
        confidence=confidence,
        source=SignalSource.STRATEGY,
        strategy=strategy,
        created_at=at,
    )


def validator(clock: FakeClock | None = None, **config: object) -> SignalValidator:
    return SignalValidator(
        ValidationConfig(**config),  # type: ignore[arg-type]
        markets=MARKETS,
        clock=clock or FakeClock(T0),
    )


def test_validate_when_every_rule_passes_then_accepted_and_actionable() -> None:
    result = validator().validate(sig())
    assert result.accepted and result.actionable
    assert result.rejection is None
    assert result.skipped == ()
    assert result.summary == "accepted: BUY BTC-USD"


# -- HOLD ---------------------------------------------------------------------------


def test_hold_when_validated_then_accepted_but_nothing_to_do() -> None:
    # Even in an unknown market with zero confidence: HOLD never reaches a rule.
    result = validator().validate(sig("HOLD", market="NOPE-USD", confidence="0"))
    assert result.accepted and not result.actionable
    assert result.summary == "accepted: HOLD, nothing to do"


# -- confidence ---------------------------------------------------------------------


def test_confidence_when_at_threshold_then_accepted() -> None:
    assert validator(min_confidence=Decimal("0.8")).validate(sig(confidence="0.8")).accepted


def test_confidence_when_below_global_threshold_then_rejected_with_numbers() -> None:
    result = validator(min_confidence=Decimal("0.7")).validate(sig(confidence="0.69"))
    assert result.rejection is not None
    assert result.rejection.rule is Rule.CONFIDENCE
    assert result.rejection.reason == "confidence 0.69 of ema_cross is below the threshold 0.7"
    assert result.rejection.numbers == {"confidence": Decimal("0.69"), "threshold": Decimal("0.7")}


def test_confidence_when_strategy_threshold_then_it_overrides_global() -> None:
    v = validator(
        min_confidence=Decimal("0.5"),
        min_confidence_by_strategy={"rsi_reversion": Decimal("0.9")},
    )
    assert v.validate(sig(confidence="0.6", id="a")).accepted  # ema_cross: global 0.5
    rejected = v.validate(sig(confidence="0.85", strategy="rsi_reversion", id="b"))
    assert rejected.rejection is not None and rejected.rejection.rule is Rule.CONFIDENCE
    assert v.validate(sig(confidence="0.95", strategy="rsi_reversion", id="c")).accepted


def test_confidence_when_close_with_low_confidence_then_exempt() -> None:
    assert validator().validate(sig("CLOSE", confidence="0")).accepted


# -- market allowed / active ---------------------------------------------------------


def test_market_allowed_when_on_allowlist_then_accepted() -> None:
    v = validator(allowed_markets=frozenset({"BTC-USD"}))
    assert v.validate(sig()).accepted


def test_market_allowed_when_not_on_allowlist_then_rejected() -> None:
    result = validator(allowed_markets=frozenset({"BTC-USD"})).validate(sig(market="ETH-USD"))
    assert result.rejection is not None
    assert result.rejection.rule is Rule.MARKET_ALLOWED
    assert result.rejection.reason == "ETH-USD is not on the allowlist (BTC-USD)"


def test_market_allowed_when_on_denylist_then_rejected() -> None:
    result = validator(denied_markets=frozenset({"BTC-USD"})).validate(sig())
    assert result.rejection is not None
    assert str(result.rejection) == "market_allowed: BTC-USD is on the denylist"


@pytest.mark.parametrize(
    ("ticker", "reason"),
    [
        ("DOGE-USD", "DOGE-USD is not a market the venue lists"),
        ("LUNA-USD", "LUNA-USD is FINAL_SETTLEMENT, only ACTIVE markets are traded"),
        ("NEW-USD", "NEW-USD has no oracle price yet"),
    ],
)
def test_market_active_when_unknown_or_not_active_then_rejected(ticker: str, reason: str) -> None:
    result = validator().validate(sig(market=ticker))
    assert result.rejection is not None
    assert result.rejection.rule is Rule.MARKET_ACTIVE
    assert result.rejection.reason == reason


def test_market_active_when_lookup_function_then_used() -> None:
    v = SignalValidator(ValidationConfig(), markets=lambda t: MARKETS.get(t))
    assert v.validate(sig(at=datetime.now(UTC))).accepted


def test_market_active_when_no_lookup_then_skipped_and_said_so() -> None:
    v = SignalValidator(ValidationConfig(), markets=None)
    result = v.validate(sig(market="DOGE-USD", at=datetime.now(UTC)))
    assert result.accepted
    assert result.skipped == (Rule.MARKET_ACTIVE,)


# -- fresh ---------------------------------------------------------------------------


def test_fresh_when_exactly_max_age_then_accepted() -> None:
    clocks = FakeClock(T0)
    clocks.advance(120)
    assert validator(clocks, max_age=timedelta(seconds=120)).validate(sig()).accepted


def test_fresh_when_older_than_max_age_then_rejected() -> None:
    clocks = FakeClock(T0)
    clocks.advance(120.5)
    result = validator(clocks, max_age=timedelta(seconds=120)).validate(sig())
    assert result.rejection is not None
    assert result.rejection.rule is Rule.FRESH
    assert result.rejection.reason == "signal is 120.5 s old, at most 120 s is allowed"


def test_fresh_when_dated_in_the_future_beyond_skew_then_rejected() -> None:
    result = validator().validate(sig(at=T0 + timedelta(seconds=30)))
    assert result.rejection is not None
    assert result.rejection.rule is Rule.FRESH
    assert "30 s in the future" in result.rejection.reason
    assert validator().validate(sig(at=T0 + timedelta(seconds=4))).accepted


# -- duplicate -----------------------------------------------------------------------


def test_duplicate_when_id_accepted_before_then_rejected() -> None:
    v = validator()
    assert v.validate(sig(id="tv-1")).accepted
    again = v.validate(sig(id="tv-1"))
    assert again.rejection is not None
    assert again.rejection.rule is Rule.DUPLICATE
    assert again.rejection.reason == "signal id tv-1 was already accepted"


def test_duplicate_when_first_was_rejected_then_retry_accepted() -> None:
    v = validator()
    assert not v.validate(sig(id="tv-2", confidence="0.1")).accepted
    assert v.validate(sig(id="tv-2")).accepted


def test_duplicate_when_memory_full_then_oldest_forgotten() -> None:
    v = validator(remember_ids=2, rate_limit_burst=10)
    for name in ("a", "b", "c"):
        assert v.validate(sig(id=name, market="ETH-USD")).accepted
    assert v.validate(sig(id="a", market="ETH-USD")).accepted  # forgotten: bounded memory
    assert not v.validate(sig(id="c", market="ETH-USD")).accepted


# -- cooldown ------------------------------------------------------------------------


def test_cooldown_when_recent_trade_in_market_then_rejected() -> None:
    clocks = FakeClock(T0)
    v = validator(clocks, cooldown=timedelta(minutes=5))
    v.record_trade("BTC-USD")
    clocks.advance(60)
    result = v.validate(sig(at=clocks.now()))
    assert result.rejection is not None
    assert result.rejection.rule is Rule.COOLDOWN
    assert result.rejection.reason == "BTC-USD traded 60 s ago; cooldown 300 s, 240 s left"


def test_cooldown_when_elapsed_or_other_market_then_accepted() -> None:
    clocks = FakeClock(T0)
    v = validator(clocks, cooldown=timedelta(minutes=5))
    v.record_trade("BTC-USD")
    assert v.validate(sig(market="ETH-USD")).accepted
    clocks.advance(300)
    assert v.validate(sig(at=clocks.now())).accepted


def test_cooldown_when_close_then_exempt() -> None:
    v = validator()
    v.record_trade("BTC-USD")
    assert v.validate(sig("CLOSE")).accepted


def test_cooldown_when_the_wall_clock_steps_back_then_still_measured_in_elapsed_seconds() -> None:
    clocks = FakeClock(T0)
    v = validator(clocks, cooldown=timedelta(minutes=5), max_clock_skew=timedelta(hours=2))
    v.record_trade("BTC-USD")
    clocks.set_now(T0 - timedelta(hours=1))  # the wall clock jumps back an hour
    clocks.advance(300)
    assert v.validate(sig(at=clocks.now())).accepted


# -- rate limit ----------------------------------------------------------------------


def test_rate_limit_when_burst_used_then_rejected_until_refilled() -> None:
    clocks = FakeClock(T0)
    v = validator(clocks, rate_limit_burst=2, rate_limit_per_minute=Decimal(6))
    assert v.validate(sig(id="1")).accepted
    assert v.validate(sig(id="2")).accepted
    third = v.validate(sig(id="3"))
    assert third.rejection is not None
    assert third.rejection.rule is Rule.RATE_LIMIT
    assert third.rejection.reason.endswith("next in 10.0 s")
    clocks.advance(10)
    assert v.validate(sig(id="3", at=clocks.now())).accepted


def test_rate_limit_when_signal_rejected_by_other_rule_then_no_token_taken() -> None:
    v = validator(rate_limit_burst=1)
    for i in range(5):
        assert not v.validate(sig(id=f"low{i}", confidence="0.1")).accepted
    assert v.validate(sig(id="good")).accepted


def test_token_bucket_when_clock_steps_back_then_no_tokens_lost_or_gained() -> None:
    now = [100.0]
    bucket = TokenBucket(per_second=1.0, burst=1, monotonic=lambda: now[0])
    assert bucket.try_take()
    now[0] = 50.0
    assert not bucket.try_take()
    now[0] = 101.0
    assert bucket.try_take()


# -- values, config -----------------------------------------------------------------


def test_rejection_when_converted_then_signal_rejected_error_value_with_rule() -> None:
    result = validator(min_confidence=Decimal("0.9")).validate(sig())
    assert result.rejection is not None
    error = result.rejection.to_error()
    assert isinstance(error, SignalRejected)
    assert error.numbers["rule"] == "confidence"
    assert str(error).startswith("SignalRejected: confidence 0.8")


@pytest.mark.parametrize(
    ("config", "fragment"),
    [
        ({"min_confidence": Decimal("1.5")}, "min_confidence is 1.5"),
        ({"min_confidence_by_strategy": {"x": Decimal(-1)}}, "strategy x"),
        ({"max_age": timedelta(0)}, "max_age must be positive"),
        ({"cooldown": timedelta(seconds=-1)}, "cooldown must be a non-negative"),
        ({"remember_ids": 0}, "remember_ids"),
        ({"rate_limit_per_minute": Decimal(0)}, "rate_limit_per_minute"),
        ({"rate_limit_burst": 0}, "rate_limit_burst"),
    ],
)
def test_validation_config_when_out_of_range_then_invalid_input(
    config: dict[str, object], fragment: str
) -> None:
    with pytest.raises(InvalidInput, match=fragment):
        ValidationConfig(**config)  # type: ignore[arg-type]


def test_validation_config_when_built_then_thresholds_cannot_be_mutated() -> None:
    config = ValidationConfig(min_confidence_by_strategy={"a": Decimal("0.5")})
    with pytest.raises(TypeError):
        config.min_confidence_by_strategy["a"] = Decimal(0)  # type: ignore[index]


def test_id_memory_when_added_twice_then_second_add_false_and_discard_forgets() -> None:
    memory = IdMemory(3)
    assert memory.add("x") and not memory.add("x")
    memory.discard("x")
    assert "x" not in memory and len(memory) == 0

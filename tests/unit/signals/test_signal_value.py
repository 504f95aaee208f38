"""Signal: built only from valid values, each refusal naming the problem."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dydx_trader.domain.errors import InvalidInput
from dydx_trader.domain.side import Side
from dydx_trader.domain.signal import (
    Action,
    HintKind,
    Signal,
    SignalSource,
    SizingHint,
)

NOW = datetime(2025, 1, 1, 12, tzinfo=UTC)


def make(**overrides: object) -> Signal:
    fields: dict[str, object] = {
        "market": "BTC-USD",
        "action": "BUY",
        "created_at": NOW,
        "source": SignalSource.CLI,
        "strategy": "manual",
        "confidence": "0.8",
    }
    fields.update(overrides)
    return Signal.create(**fields)  # type: ignore[arg-type]


def test_create_when_loose_strings_then_normalized_values() -> None:
    signal = make(market=" eth-usd ", action="sell", confidence="0.75", reference_price="3000.5")
    assert signal.market == "ETH-USD"
    assert signal.action is Action.SELL
    assert signal.side is Side.SELL
    assert signal.confidence == Decimal("0.75")
    assert signal.reference_price == Decimal("3000.5")
    assert signal.is_actionable


def test_create_when_no_id_then_unique_uuid_hex() -> None:
    ids = {make().id for _ in range(50)}
    assert len(ids) == 50
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)


def test_create_when_other_timezone_then_stored_in_utc() -> None:
    paris = datetime(2025, 1, 1, 13, tzinfo=timezone(timedelta(hours=1)))
    signal = make(created_at=paris)
    assert signal.created_at == NOW
    assert signal.created_at.tzinfo is UTC
    assert signal.age(NOW + timedelta(seconds=5)) == timedelta(seconds=5)


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"confidence": "NaN"}, "confidence is NaN"),
        ({"confidence": "Infinity"}, "finite"),
        ({"confidence": "1.01"}, r"must lie in \[0, 1\]"),
        ({"confidence": "-0.1"}, r"must lie in \[0, 1\]"),
        ({"confidence": 0.5}, "not float"),
        ({"confidence": True}, "not bool"),
        ({"action": "LONG"}, "action 'LONG' is unknown; use one of BUY, SELL, CLOSE, HOLD"),
        ({"action": 1}, "action must be a string"),
        ({"market": "BTCUSD"}, "not a dYdX ticker shaped like BTC-USD"),
        ({"market": "BTC-USDT"}, "shaped like BTC-USD"),
        ({"market": "BTC‐USD"}, "shaped like BTC-USD"),  # unicode hyphen
        ({"market": 5}, "market must be a string"),
        ({"id": ""}, "id is empty"),
        ({"id": "x" * 65}, "65 characters long, at most 64"),
        ({"id": "abc def"}, "visible ASCII"),
        ({"id": "abc\x00"}, "visible ASCII"),
        ({"id": "idé"}, "visible ASCII"),
        ({"id": 12}, "id must be a string"),
        ({"strategy": ""}, "strategy name"),
        ({"strategy": "a b"}, "strategy name"),
        ({"created_at": datetime(2025, 1, 1)}, "timezone-aware"),
        ({"reference_price": "0"}, "reference_price is 0, it must be positive"),
        ({"reference_price": "-5"}, "must be positive"),
        ({"reference_price": "1e20"}, "absurdly large"),
        ({"stop_loss": "abc"}, "stop_loss 'abc' is not a number"),
    ],
)
def test_create_when_bad_value_then_invalid_input_with_precise_message(
    overrides: dict[str, object], fragment: str
) -> None:
    with pytest.raises(InvalidInput, match=fragment):
        make(**overrides)


def test_stops_when_buy_with_stop_below_and_target_above_then_accepted() -> None:
    signal = make(reference_price="100", stop_loss="95", take_profit="110")
    assert (signal.stop_loss, signal.take_profit) == (Decimal(95), Decimal(110))


def test_stops_when_sell_with_stop_above_and_target_below_then_accepted() -> None:
    signal = make(action="SELL", reference_price="100", stop_loss="105", take_profit="90")
    assert signal.stop_loss == Decimal(105)


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"reference_price": "100", "stop_loss": "101"}, "stop_loss 101 must be below reference"),
        ({"reference_price": "100", "stop_loss": "100"}, "stop_loss 100 must be below"),
        ({"reference_price": "100", "take_profit": "99"}, "reference_price 100 must be below"),
        ({"stop_loss": "110", "take_profit": "105"}, "stop_loss 110 must be below take_profit"),
        (
            {"action": "SELL", "reference_price": "100", "stop_loss": "99"},
            "reference_price 100 must be below stop_loss 99",
        ),
        (
            {"action": "SELL", "reference_price": "100", "take_profit": "101"},
            "take_profit 101 must be below reference_price 100",
        ),
        ({"action": "CLOSE", "stop_loss": "5"}, "a CLOSE signal cannot carry"),
        ({"action": "HOLD", "take_profit": "5"}, "a HOLD signal cannot carry"),
    ],
)
def test_stops_when_on_the_wrong_side_then_invalid_input(
    overrides: dict[str, object], fragment: str
) -> None:
    with pytest.raises(InvalidInput, match=fragment):
        make(**overrides)


def test_sizing_hint_when_valid_then_kept_and_when_out_of_range_then_refused() -> None:
    hint = SizingHint(HintKind.EQUITY_FRACTION, Decimal("0.25"))
    assert make(sizing=hint).sizing == hint
    assert SizingHint(HintKind.NOTIONAL_USDC, Decimal(500)).value == 500
    with pytest.raises(InvalidInput, match=r"equity_fraction is 1.5, it must lie in \(0, 1\]"):
        SizingHint(HintKind.EQUITY_FRACTION, Decimal("1.5"))
    with pytest.raises(InvalidInput, match="must be positive"):
        SizingHint(HintKind.NOTIONAL_USDC, Decimal(0))


def test_direct_construction_when_float_confidence_then_refused() -> None:
    with pytest.raises(InvalidInput, match="confidence must be a Decimal"):
        Signal(
            id="a",
            market="BTC-USD",
            action=Action.BUY,
            confidence=0.5,  # type: ignore[arg-type]
            source=SignalSource.CLI,
            strategy="manual",
            created_at=NOW,
        )


def test_hold_when_built_then_not_actionable_and_no_side() -> None:
    signal = make(action="hold")
    assert not signal.is_actionable
    assert signal.side is None


def test_to_dict_when_signal_then_decimals_as_exact_strings() -> None:
    data = make(id="abc", reference_price="64123.50").to_dict()
    assert data["id"] == "abc"
    assert data["reference_price"] == "64123.50"
    assert data["created_at"] == "2025-01-01T12:00:00+00:00"


@given(st.text(max_size=80))
def test_create_when_any_text_as_id_then_valid_signal_or_invalid_input(text: str) -> None:
    try:
        signal = make(id=text)
    except InvalidInput:
        return
    assert 1 <= len(signal.id) <= 64 and signal.id.isascii() and signal.id.isprintable()
    assert " " not in signal.id


@given(st.decimals(allow_nan=True, allow_infinity=True))
def test_create_when_any_decimal_confidence_then_valid_or_invalid_input(value: Decimal) -> None:
    try:
        signal = make(confidence=value)
    except InvalidInput:
        assert not (value.is_finite() and 0 <= value <= 1)
        return
    assert 0 <= signal.confidence <= 1

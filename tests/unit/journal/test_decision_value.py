"""Decision values: built only in a consistent shape, round-tripped exactly through a dict."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dydx_trader.domain.decision import Decision, Outcome
from dydx_trader.domain.errors import InvalidInput, LeverageLimitExceeded
from dydx_trader.domain.side import Side

T0 = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_refused_when_built_from_error_then_code_message_and_numbers_kept() -> None:
    error = LeverageLimitExceeded("leverage 7.2x above your 5x cap", leverage=Decimal("7.2"))
    decision = Decision.refused(
        signal_id="s",
        market="BTC-USD",
        error=error,
        decided_at=T0,
        arithmetic=[("leverage", "7.2x")],
    )
    assert decision.outcome is Outcome.REFUSED
    assert decision.error_code == "LeverageLimitExceeded"
    assert decision.numbers == {"leverage": "7.2"}
    assert decision.reason == "LeverageLimitExceeded: leverage 7.2x above your 5x cap"


def test_accepted_when_reason_read_then_side_size_market_price() -> None:
    decision = Decision.accepted(
        signal_id="s",
        market="ETH-USD",
        side=Side.SELL,
        size=Decimal("1.50"),
        quantums=1_500_000_000,
        price=Decimal("3300"),
        decided_at=T0,
    )
    assert decision.reason == "SELL 1.50 ETH-USD at 3300"


def test_decided_at_when_other_timezone_then_stored_in_utc() -> None:
    local = T0.astimezone(timezone(timedelta(hours=2)))
    decision = Decision.accepted(
        signal_id="s",
        market="ETH-USD",
        side=Side.BUY,
        size=Decimal(1),
        quantums=1,
        price=Decimal(1),
        decided_at=local,
    )
    assert decision.decided_at == T0 and decision.decided_at.tzinfo is UTC


@pytest.mark.parametrize(
    "changes",
    [
        {"size": None},
        {"size": Decimal("NaN")},
        {"price": Decimal(0)},
        {"quantums": 0},
        {"quantums": True},
        {"side": None},
        {"error_code": "X"},
        {"decided_at": datetime(2025, 1, 1)},
        {"arithmetic": (("only label",),)},
        {"arithmetic": (("label", Decimal(1)),)},
        {"signal_id": ""},
    ],
)
def test_accepted_when_inconsistent_then_invalid_input(changes: dict[str, object]) -> None:
    fields: dict[str, object] = dict(
        signal_id="s",
        market="ETH-USD",
        outcome=Outcome.ACCEPTED,
        decided_at=T0,
        side=Side.BUY,
        size=Decimal(1),
        quantums=1,
        price=Decimal(1),
    )
    fields.update(changes)
    with pytest.raises(InvalidInput):
        Decision(**fields)  # type: ignore[arg-type]


def test_refused_when_missing_code_or_carrying_size_then_invalid_input() -> None:
    with pytest.raises(InvalidInput):
        Decision(signal_id="s", market="M", outcome=Outcome.REFUSED, decided_at=T0)
    with pytest.raises(InvalidInput):
        Decision(
            signal_id="s",
            market="M",
            outcome=Outcome.REFUSED,
            decided_at=T0,
            error_code="X",
            message="m",
            size=Decimal(1),
        )


def test_from_dict_when_malformed_then_invalid_input() -> None:
    with pytest.raises(InvalidInput):
        Decision.from_dict({"signal_id": "s"})
    with pytest.raises(InvalidInput):
        Decision.from_dict(
            {"signal_id": "s", "market": "M", "outcome": "MAYBE", "decided_at": T0.isoformat()}
        )


decimals = st.decimals(min_value=Decimal("1e-8"), max_value=Decimal("1e12"), places=8)
labels = st.text(min_size=1, max_size=20)


@settings(max_examples=100)
@given(
    size=decimals,
    price=decimals,
    quantums=st.integers(1, 2**63),
    lines=st.lists(st.tuples(labels, labels), max_size=8),
)
def test_to_dict_when_json_round_tripped_then_equal(
    size: Decimal, price: Decimal, quantums: int, lines: list[tuple[str, str]]
) -> None:
    decision = Decision.accepted(
        signal_id="s",
        market="BTC-USD",
        side=Side.BUY,
        size=size,
        quantums=quantums,
        price=price,
        decided_at=T0,
        arithmetic=lines,
    )
    back = Decision.from_dict(json.loads(json.dumps(decision.to_dict())))
    assert back == decision
    assert back.size == size and str(back.size) == str(size)

"""One way to write numbers: separators for USDC, prices at the tick, sizes at the
step, never scientific notation, short ratios in JSON."""

from __future__ import annotations

from decimal import Decimal

import pytest

from dydx_trader.cli import formatting as fmt


def test_usdc_when_large_then_thousands_separators_and_cents() -> None:
    assert fmt.usdc(Decimal("8530.930982")) == "8,530.93"
    assert fmt.usdc(Decimal("-985.675")) == "-985.68"
    assert fmt.usdc(None) == "-"


@pytest.mark.parametrize(
    ("price", "tick", "shown"),
    [
        (Decimal("116437.00000"), Decimal("1"), "116,437"),
        (Decimal("2478.100000"), Decimal("0.1"), "2,478.1"),
        (Decimal("3.03959448E-7"), Decimal("1E-10"), "0.0000003040"),
        (Decimal("0.370120956"), Decimal("0.0001"), "0.3701"),
    ],
)
def test_price_when_tick_known_then_written_at_tick_precision(
    price: Decimal, tick: Decimal, shown: str
) -> None:
    assert fmt.price(price, tick) == shown


def test_size_when_step_known_then_written_at_step_precision() -> None:
    assert fmt.size(Decimal("0.402000000"), Decimal("0.001")) == "0.402"
    assert fmt.size(Decimal("115060000000"), Decimal("10000000")) == "115,060,000,000"


@pytest.mark.parametrize(
    "value", [Decimal("3.03959448E-7"), Decimal("1E-10"), Decimal("1E+4"), Decimal("-2.5E-9")]
)
def test_plain_and_number_when_exponent_then_no_scientific_notation(value: Decimal) -> None:
    assert "E" not in fmt.plain(value) and "e" not in fmt.plain(value)
    assert "E" not in fmt.number(value) and "e" not in fmt.number(value)


def test_json_ratio_when_28_digits_then_six_places() -> None:
    assert fmt.json_ratio(Decimal("3.198704309597238281818278576")) == "3.198704"
    assert fmt.json_decimal(Decimal("10000.000000")) == "10000"
    assert fmt.json_decimal(None) is None


def test_pct_and_leverage_when_ratio_then_percent_and_x() -> None:
    assert fmt.pct(Decimal("0.1234")) == "12.34%"
    assert fmt.leverage(Decimal("3.2")) == "3.20x"


@pytest.mark.parametrize(
    ("text", "is_price", "shown"),
    [
        ("10000.00 USDC", False, "10,000.00 USDC"),
        ("998.674300000 USDC", False, "998.67 USDC"),
        ("2478.100000 USDC", True, "2,478.1 USDC"),
        ("0.40262511 ETH", False, "0.40262511 ETH"),
        ("1028 (height 1018)", False, "1028 (height 1018)"),
        ("passed", False, "passed"),
    ],
)
def test_amount_text_when_figure_then_rewritten_like_every_command(
    text: str, is_price: bool, shown: str
) -> None:
    assert fmt.amount_text(text, asset="ETH", tick=Decimal("0.1"), is_price=is_price) == shown

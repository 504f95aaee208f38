"""Gas and fees of a transaction, as the SDK's ante handler charges them.

CLOB transactions (orders, cancels) run on a free, infinite gas meter and pay
nothing (``app/ante/gas.go``). Every other transaction consumes gas and pays
a fee from its fee payer (the first signer) to the fee collector; in CheckTx
the fee must reach the validators' minimum gas prices for at least one denom
(``checkTxFeeWithValidatorMinGasPrices``: ``IsAnyGTE``), and the gas limit
must cover the gas used (``ErrOutOfGas``). The devnet's gas use is a fixed
number per transaction; ``Simulate`` reports it, so a client's fee estimate
(gas x 1.8 x price) passes.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal
from typing import Any, Final

from google.protobuf.message import Message

from dydx_devnet.bank import NATIVE_DENOM, USDC_DENOM, coins_text
from dydx_devnet.codes import SDK, TxResult
from dydx_devnet.sending_msgs import parse_coins
from dydx_devnet.tx_decode import CLOB_MESSAGES

# Mainnet validators' minimum gas prices (chain registry: 0.025 USDC, 12.5e9 adydx per gas).
MIN_GAS_PRICES: Final = {NATIVE_DENOM: Decimal(12_500_000_000), USDC_DENOM: Decimal("0.025")}
CLOB_GAS_USED: Final = 80_000
GAS_USED: Final = 120_000

OUT_OF_GAS: Final = 11
INSUFFICIENT_FEE: Final = 13


def is_free(messages: tuple[Message, ...]) -> bool:
    """CLOB transactions run on the free, infinite gas meter."""
    return any(isinstance(message, CLOB_MESSAGES) for message in messages)


def gas_used(messages: tuple[Message, ...]) -> int:
    """The gas the devnet reports for a transaction of ``messages``."""
    return CLOB_GAS_USED if is_free(messages) else GAS_USED


def fee_coins(fee: Any) -> list[tuple[str, int]] | None:
    """The fee's ``(denom, amount)``; ``None`` if the coins are malformed."""
    return parse_coins(fee.amount)


def fee_refusal(fee: Any, used: int) -> TxResult | None:
    """CheckTx's verdict on a fee-paying transaction's fee and gas limit; ``None`` = pays."""
    coins = fee_coins(fee)
    if coins is None:
        shown = ",".join(f"{coin.amount}{coin.denom}" for coin in fee.amount)
        return TxResult(INSUFFICIENT_FEE, SDK, f"invalid fee provided {shown}: insufficient fee")
    gas_limit = int(fee.gas_limit)
    if gas_limit < used:
        return TxResult(
            OUT_OF_GAS,
            SDK,
            f"out of gas in location: ReadFlat; gasWanted: {gas_limit}, gasUsed: {used}: "
            "out of gas",
        )
    required = [
        (denom, int((price * gas_limit).to_integral_value(ROUND_CEILING)))
        for denom, price in sorted(MIN_GAS_PRICES.items())
    ]
    offered = dict(coins)
    if any(offered.get(denom, 0) >= amount for denom, amount in required):
        return None
    return TxResult(
        INSUFFICIENT_FEE,
        SDK,
        f"insufficient fees; got: {coins_text(coins)} required: {coins_text(required)}: "
        "insufficient fee",
    )

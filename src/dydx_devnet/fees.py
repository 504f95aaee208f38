"""The devnet's trading fees, in ppm of a fill's quote amount.

Every account pays the first tier of the fee schedule bundled with the devnet's
genesis (``data/genesis_params.json``, mainnet genesis tier ``1``): taker 500
ppm (5 bps), maker -110 ppm (a 1.1 bps rebate). Fee tiers by 30-day volume are
not modelled yet; :class:`~dydx_devnet.config.EngineConfig` can override both
rates for tests. A fee is ``ceil(quote x ppm / 1e6)`` (``lib.BigMulPpm``
rounding up), so a rebate rounds toward zero.
"""

from __future__ import annotations

from typing import Final

from dydx_devnet.chain.big_math import big_mul_ppm

BASE_TAKER_FEE_PPM: Final = 500
BASE_MAKER_FEE_PPM: Final = -110


def fee_quote_quantums(quote_quantums: int, fee_ppm: int) -> int:
    """The fee of a fill of ``quote_quantums`` at ``fee_ppm`` (negative = a rebate)."""
    return big_mul_ppm(quote_quantums, fee_ppm, round_up=True)

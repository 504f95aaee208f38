"""The chain's integer margin math: moved to :mod:`dydx_trader.domain.margin.chain_math`.

Kept as an alias while the devnet and the shared chain-vector tests still import
it under this name; new code imports the margin package.
"""

from dydx_trader.domain.margin.chain_math import *  # noqa: F403
from dydx_trader.domain.margin.chain_math import __all__ as __all__

"""``python -m dydx_trader``: the same as the ``dydx-trader`` command."""

from dydx_trader.cli import main

main()

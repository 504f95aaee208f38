"""dydx-trader."""

"""The devnet's own port of the dYdX chain's integer math (``protocol/v9.6.1``).

One module per Go file, in the chain's words, written for the devnet alone so
that a slip in the trader's math shows up as a disagreement on the wire:

* :mod:`.big_math`: ``protocol/lib/big_math.go`` (ppm products, rounding divisions);
* :mod:`.quantums`: ``protocol/lib/quantums.go`` and ``protocol/x/clob/types/quantums.go``;
* :mod:`.liquidity_tier`: ``protocol/x/perpetuals/types/liquidity_tier.go``;
* :mod:`.margin`: ``protocol/x/perpetuals/lib/lib.go``, ``protocol/lib/margin/risk.go``
  and ``protocol/x/subaccounts/lib/updates.go``.

Every value is an ``int``: quote quantums (USDC x 10^6), base quantums, ppm
(1_000_000 = 100 %), oracle prices as ``value x 10^exponent``.
"""

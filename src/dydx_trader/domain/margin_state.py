"""A subaccount's margin totals in the chain's integers, before and after a trade.

:class:`MarginState` is the lean core under the LeverageCalculator and the
PositionSizer: net collateral, initial and maintenance requirements and gross
notional, all in quote quantums (USDC x 10^6), plus each position's share so a
trade in one market is re-valued without touching the others.

Free collateral is kept in three views (protocol reference sections 1.1, 2.5):

* **chain**: ``NC - IMR`` with the open-interest-scaled IMF, what decides
  whether an order is accepted;
* **indexer** (local): ``NC - sum(base IMR)``, the indexer's formula (base IMF,
  no open-interest scaling) computed from the same positions, each requirement
  rounded up;
* **reported**: the ``freeCollateral`` the indexer returned with the snapshot,
  moved by a trade as the indexer view moves.

Sizing uses the smallest of the three (:attr:`MarginState.sizing_free_collateral`).
The effective IMF is never below the base IMF, so the chain view is never above
the local indexer view and the minimum is ``min(chain, reported)``; the base
and maintenance figures are therefore computed only when asked for (display,
the chain's undercollateralised-transition rule), which keeps valuing an
account to one multiplication per position and requirement.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_CEILING, Decimal
from typing import NamedTuple

from dydx_trader.domain import chain_math
from dydx_trader.domain.account import AccountSnapshot
from dydx_trader.domain.errors import InvalidInput
from dydx_trader.domain.market import MarketSpec
from dydx_trader.domain.market_math import MarketMath, lookup, market_math

QUOTE_QUANTUMS_PER_USDC = 1_000_000
_PPM = chain_math.ONE_MILLION


_MICRO = Decimal("0.000001")


def usdc(quote_quantums: int) -> Decimal:
    """Quote quantums as USDC (exact: a product of at most 28 digits)."""
    return Decimal(quote_quantums) * _MICRO


def quote_quantums_floor(amount: Decimal) -> int:
    """USDC as quote quantums, rounded down (toward -inf)."""
    numerator, denominator = amount.as_integer_ratio()
    return numerator * QUOTE_QUANTUMS_PER_USDC // denominator


def quote_quantums_ceil(amount: Decimal) -> int:
    """USDC as quote quantums, rounded up (toward +inf)."""
    return int(amount.scaleb(6).to_integral_value(ROUND_CEILING))


class PositionLine(NamedTuple):
    """One position valued at its market's oracle price, quote quantums.

    ``notional`` is signed, ``initial`` uses the effective IMF. A named tuple
    rather than a dataclass: one is built per position per decision, and a
    tuple is several times cheaper to make.
    """

    math: MarketMath
    size: Decimal
    base_quantums: int
    notional: int
    initial: int

    @property
    def base_initial(self) -> int:
        """Initial margin at the base IMF (the indexer's, and the root of maintenance)."""
        return -((abs(self.notional) * -self.math.base_initial_margin_ppm) // _PPM)

    @property
    def maintenance(self) -> int:
        """The chain's maintenance margin: base IMR x maintenance fraction, rounded up."""
        return -((self.base_initial * -self.math.maintenance_fraction_ppm) // _PPM)


def value_position(math: MarketMath, size: Decimal) -> PositionLine:
    """Value ``size`` (signed base units) of ``math``'s market at its oracle price."""
    base_quantums = math.base_quantums(size)
    notional = math.notional_quantums(base_quantums)
    return PositionLine(math, size, base_quantums, notional, math.initial_margin(notional))


def _line_of(math: MarketMath, base_quantums: int) -> PositionLine | None:
    if base_quantums == 0:
        return None
    notional = math.notional_quantums(base_quantums)
    size = Decimal(base_quantums) * math.size_per_quantum
    return tuple.__new__(
        PositionLine, (math, size, base_quantums, notional, math.initial_margin(notional))
    )


def _sum_of(lines: Mapping[str, PositionLine], name: str) -> int:
    return sum(getattr(line, name) for line in lines.values())


class MarginState:
    """Margin totals of one subaccount, quote quantums (immutable).

    ``net_collateral`` is the chain's NC (USDC + signed notionals at oracle),
    ``initial`` the sum of open-interest-scaled initial requirements,
    ``base_initial`` the same with base IMFs (the indexer's), ``maintenance``
    the chain's maintenance requirement, ``gross_notional`` the sum of
    ``|notional|``. ``reported_free_collateral`` is the indexer's figure moved
    by any trades applied since, ``None`` when the snapshot had none.
    """

    __slots__ = (
        "_base_initial",
        "_maintenance",
        "gross_notional",
        "initial",
        "lines",
        "net_collateral",
        "reported_free_collateral",
        "usdc",
    )

    def __init__(
        self,
        usdc: int,
        lines: Mapping[str, PositionLine],
        net_collateral: int,
        initial: int,
        gross_notional: int,
        reported_free_collateral: int | None,
    ) -> None:
        self.usdc = usdc
        self.lines = lines
        self.net_collateral = net_collateral
        self.initial = initial
        self.gross_notional = gross_notional
        self.reported_free_collateral = reported_free_collateral
        self._base_initial: int | None = None
        self._maintenance: int | None = None

    def __repr__(self) -> str:
        return (
            f"MarginState(net_collateral={self.net_collateral}, initial={self.initial}, "
            f"gross_notional={self.gross_notional}, positions={len(self.lines)})"
        )

    @property
    def base_initial(self) -> int:
        """Sum of initial requirements at base IMFs (computed on first use)."""
        if self._base_initial is None:
            self._base_initial = _sum_of(self.lines, "base_initial")
        return self._base_initial

    @property
    def maintenance(self) -> int:
        """The chain's maintenance margin requirement (computed on first use)."""
        if self._maintenance is None:
            self._maintenance = _sum_of(self.lines, "maintenance")
        return self._maintenance

    @property
    def chain_free_collateral(self) -> int:
        """``NC - IMR``: what the chain's collateral check sees."""
        return self.net_collateral - self.initial

    @property
    def indexer_free_collateral(self) -> int:
        """``NC - sum(base IMR)``: the indexer's formula on these positions."""
        return self.net_collateral - self.base_initial

    @property
    def sizing_free_collateral(self) -> int:
        """The most conservative of the chain, indexer and reported views."""
        chain = self.net_collateral - self.initial
        reported = self.reported_free_collateral
        return chain if reported is None or reported > chain else reported

    def line(self, ticker: str) -> PositionLine | None:
        return self.lines.get(ticker)

    def after_trade(
        self, math: MarketMath, delta_base_quantums: int, usdc_delta: int
    ) -> TradeOutcome:
        """The totals once ``delta_base_quantums`` of ``math``'s market are traded
        and ``usdc_delta`` quote quantums paid (negative) or received.

        Open interest is left as it was: the placement check does the same, and
        a match that raises open interest moves the IMF only between the caps.
        """
        old = self.lines.get(math.spec.ticker)
        if old is None:
            new = _line_of(math, delta_base_quantums)
            o_notional = o_initial = 0
        else:
            new = _line_of(math, old.base_quantums + delta_base_quantums)
            o_notional, o_initial = old.notional, old.initial
        if new is None:
            n_notional = n_initial = 0
        else:
            n_notional, n_initial = new.notional, new.initial
        net_collateral = self.net_collateral + usdc_delta + n_notional - o_notional
        reported = self.reported_free_collateral
        if reported is not None:
            # The indexer view moves by the change in NC less the change in base IMR.
            d_base = (new.base_initial if new else 0) - (old.base_initial if old else 0)
            reported += net_collateral - self.net_collateral - d_base
        return tuple.__new__(
            TradeOutcome,
            (
                net_collateral,
                self.initial + n_initial - o_initial,
                self.gross_notional + abs(n_notional) - abs(o_notional),
                reported,
                self.usdc + usdc_delta,
                new,
                old,
                self,
            ),
        )

    def after(self, math: MarketMath, delta_base_quantums: int, usdc_delta: int) -> MarginState:
        """The whole state after the trade of :meth:`after_trade`."""
        outcome = self.after_trade(math, delta_base_quantums, usdc_delta)
        lines = dict(self.lines)
        if outcome.line is None:
            lines.pop(math.spec.ticker, None)
        else:
            lines[math.spec.ticker] = outcome.line
        return MarginState(
            outcome.usdc,
            lines,
            outcome.net_collateral,
            outcome.initial,
            outcome.gross_notional,
            outcome.reported_free_collateral,
        )


class TradeOutcome(NamedTuple):
    """The totals of a :class:`MarginState` after one trade, quote quantums;
    ``line`` is the traded market's new line (``None`` when the trade closed it)."""

    net_collateral: int
    initial: int
    gross_notional: int
    reported_free_collateral: int | None
    usdc: int
    line: PositionLine | None
    old_line: PositionLine | None
    before: MarginState

    @property
    def maintenance(self) -> int:
        def share(line: PositionLine | None) -> int:
            return line.maintenance if line is not None else 0

        return self.before.maintenance + share(self.line) - share(self.old_line)

    @property
    def chain_free_collateral(self) -> int:
        return self.net_collateral - self.initial

    @property
    def sizing_free_collateral(self) -> int:
        chain = self.net_collateral - self.initial
        reported = self.reported_free_collateral
        return chain if reported is None or reported > chain else reported


def fill_cash_flow(delta_size: Decimal, fill_price: Decimal, fee_ppm: int) -> int:
    """USDC change in quote quantums when ``delta_size`` (signed) fills at ``fill_price``.

    As the chain settles a fill (section 2.6): ``fill = floor(|size| x price)``
    in quote quantums, ``fee = ceil(fill x fee_ppm / 1e6)`` (a negative fee is a
    rebate); a buy pays ``fill + fee``, a sell receives ``fill - fee``.
    """
    # size x price is exact (well under 28 digits for any real order); scaleb
    # only moves the exponent, and int() of a positive value floors it.
    fill = int((abs(delta_size) * fill_price).scaleb(6))
    fee = -((-fill * fee_ppm) // _PPM) if fee_ppm else 0  # chain_math.big_mul_ppm, rounded up
    return (-fill if delta_size > 0 else fill) - fee


def require_fee_ppm(fee_ppm: int) -> int:
    """``fee_ppm`` if it is an int strictly between -100 % and +100 %."""
    if isinstance(fee_ppm, bool) or not isinstance(fee_ppm, int):
        raise InvalidInput(f"fee_ppm must be an int, not {type(fee_ppm).__name__}")
    if not -chain_math.ONE_MILLION < fee_ppm < chain_math.ONE_MILLION:
        raise InvalidInput(f"fee_ppm {fee_ppm} is outside (-1e6, 1e6)", fee_ppm=fee_ppm)
    return fee_ppm


# A decision values the same snapshot twice (size, then check); the last state
# is kept so the second valuation is a lookup. Validity is re-proved on every
# hit: same snapshot object, and each position's market spec and price unchanged.
_last: tuple[AccountSnapshot, Mapping[str, Decimal] | None, MarginState] | None = None


def margin_state(
    account: AccountSnapshot,
    markets: Mapping[str, MarketSpec],
    oracle_prices: Mapping[str, Decimal] | None = None,
) -> MarginState:
    """Value ``account`` at oracle prices (``oracle_prices`` overrides the specs').

    Raises :class:`~dydx_trader.domain.errors.UnknownMarket` for a position in
    a market not in ``markets`` and
    :class:`~dydx_trader.domain.errors.MarketNotTradable` when a position's
    market has no oracle price.
    """
    global _last
    last = _last
    if last is not None and last[0] is account and last[1] is oracle_prices:
        state = last[2]
        if _still_valid(state, markets, oracle_prices):
            return state
    state = _build(account, markets, oracle_prices)
    _last = (account, oracle_prices, state)
    return state


def _still_valid(
    state: MarginState,
    markets: Mapping[str, MarketSpec],
    oracle_prices: Mapping[str, Decimal] | None,
) -> bool:
    if oracle_prices is None:
        # The lines were valued at their specs' own prices, and a MarketSpec is
        # immutable: the same spec object means the same price.
        get = markets.get
        for ticker, line in state.lines.items():
            if get(ticker) is not line.math.spec:
                return False
        return True
    for ticker, line in state.lines.items():
        math = line.math
        spec = markets.get(ticker)
        if spec is not math.spec:
            return False
        price = oracle_prices.get(ticker)
        if price is None:
            price = spec.oracle_price
        if price is not math.oracle_price:  # a new price object: revalue (and validate)
            return False
    return True


# (id(market spec), size) -> the position's line. A position is valued again at
# every decision, but between fills its size does not change, and between blocks
# neither does its market's oracle price: the valuation is then a lookup. A hit
# is used only if the line was made from this very spec object (the entry keeps
# it alive, so its id cannot have been reused) at this very price object.
_lines_seen: dict[tuple[int, Decimal], PositionLine] = {}
_LINES_SEEN_LIMIT = 65_536


def _build(
    account: AccountSnapshot,
    markets: Mapping[str, MarketSpec],
    oracle_prices: Mapping[str, Decimal] | None,
) -> MarginState:
    # The hot loop of every decision, kept flat (tests hold its result equal to
    # chain_math's reference implementation).
    usdc_quantums = quote_quantums_floor(account.usdc_balance)
    lines: dict[str, PositionLine] = {}
    notional_sum = initial = gross = 0
    seen = _lines_seen
    for position in account.open_positions:
        ticker = position.market
        size = position.size
        spec = markets.get(ticker)
        key = (id(spec), size)
        line = seen.get(key)
        if line is not None:
            math = line.math
            if math.spec is not spec:
                line = None
            else:
                price = oracle_prices.get(ticker) if oracle_prices is not None else None
                if (spec.oracle_price if price is None else price) is not math.oracle_price:
                    line = None
        if line is None:
            # lookup raises UnknownMarket / MarketNotTradable / InvalidInput as due.
            line = value_position(lookup(markets, ticker, oracle_prices), size)
            if len(seen) >= _LINES_SEEN_LIMIT:
                seen.clear()
            seen[key] = line
        lines[ticker] = line
        notional = line.notional
        notional_sum += notional
        gross += notional if notional > 0 else -notional
        initial += line.initial
    reported = account.indexer_free_collateral
    return MarginState(
        usdc_quantums,
        lines,
        usdc_quantums + notional_sum,
        initial,
        gross,
        None if reported is None else quote_quantums_floor(reported),
    )


__all__ = [
    "QUOTE_QUANTUMS_PER_USDC",
    "MarginState",
    "PositionLine",
    "TradeOutcome",
    "fill_cash_flow",
    "margin_state",
    "market_math",
    "quote_quantums_ceil",
    "quote_quantums_floor",
    "require_fee_ppm",
    "usdc",
    "value_position",
]

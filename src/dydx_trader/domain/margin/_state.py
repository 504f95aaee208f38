"""A subaccount's margin totals in the chain's integers, before and after a trade.

:class:`MarginState` is the lean core under the account report and the
PositionSizer: net collateral, initial requirement and gross notional, all in
quote quantums (USDC x 10^6), plus each position's share so a trade in one
market is re-valued without touching the others.

Free collateral is kept in three views (protocol reference sections 1.1, 2.5):

* **chain**: ``NC - IMR`` with the open-interest-scaled IMF (or the
  subaccount's own, higher, leverage setting), what decides whether an order is
  accepted;
* **indexer** (local): ``NC - sum(base IMR)``, the indexer's formula (base IMF,
  no open-interest scaling) computed from the same positions, each requirement
  rounded up;
* **reported**: the ``freeCollateral`` the indexer returned with the snapshot,
  moved by a trade as the indexer view moves.

Sizing uses the smallest of the three (:attr:`MarginState.sizing_free_collateral`).
The IMF used is never below the base IMF, so the chain view is never above the
local indexer view and the minimum is ``min(chain, reported)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

from dydx_trader.domain.account import AccountSnapshot
from dydx_trader.domain.errors import InvalidInput
from dydx_trader.domain.margin._lines import (
    PositionLine,
    ceil_ppm,
    line_or_none,
    opening_quantums,
    two_largest,
    valued_line,
)
from dydx_trader.domain.margin._market import MarketMath, lookup
from dydx_trader.domain.margin.chain_math import SUCCESS, is_valid_state_transition
from dydx_trader.domain.units import PPM as _PPM
from dydx_trader.domain.units import quote_quantums_floor

if TYPE_CHECKING:  # a spec owns its math; importing it here at run time would be a cycle
    from dydx_trader.domain.market import MarketSpec

_NO_CUSTOM_IMF: Final[Mapping[str, int]] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class MarginState:
    """Margin totals of one subaccount, quote quantums.

    ``usdc`` is the signed USDC balance, ``lines`` each position's valuation,
    ``net_collateral`` the chain's NC (USDC + signed notionals at oracle),
    ``initial`` the sum of initial requirements, ``gross_notional`` the sum of
    ``|notional|``. ``reported_free_collateral`` is the indexer's figure moved
    by any trades applied since, ``None`` when the snapshot had none.
    ``custom_imf_ppm`` is the subaccount's own IMF per market (ticker -> ppm).
    """

    usdc: int
    lines: Mapping[str, PositionLine]
    net_collateral: int
    initial: int
    gross_notional: int
    reported_free_collateral: int | None
    custom_imf_ppm: Mapping[str, int] = field(default_factory=lambda: _NO_CUSTOM_IMF)
    # The two largest positions by |notional|, found once when first asked (the sizer
    # asks for every size; the states a reservation chains through, never).
    _largest: tuple[PositionLine | None, PositionLine | None] | None = field(
        init=False, repr=False, compare=False, default=None
    )

    def largest_line_except(self, ticker: str) -> PositionLine | None:
        """The position with the largest ``|notional|`` in any market but ``ticker``'s."""
        largest = self._largest
        if largest is None:
            largest = two_largest(self.lines.values())
            object.__setattr__(self, "_largest", largest)
        first, second = largest
        return second if first is not None and first.math.ticker == ticker else first

    @property
    def base_initial(self) -> int:
        """Sum of initial requirements at base IMFs (the indexer's)."""
        return sum(line.base_initial for line in self.lines.values())

    @property
    def maintenance(self) -> int:
        """The chain's maintenance margin requirement."""
        return sum(line.maintenance for line in self.lines.values())

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
        return _smaller(self.net_collateral - self.initial, self.reported_free_collateral)

    def imf_ppm(self, math: MarketMath, opening_base_quantums: int = 0) -> int:
        """The initial margin fraction (ppm) this subaccount pays in ``math``'s
        market once ``opening_base_quantums`` (>= 0) more are opened in it: the
        larger of its own setting and the market's IMF at the open interest
        those (and the trades already applied) may bring."""
        line = self.lines.get(math.ticker)
        added = opening_base_quantums + (line.open_interest_added if line is not None else 0)
        scaled = math.initial_margin_ppm_after(added) if added > 0 else math.initial_margin_ppm
        custom = self.custom_imf_ppm.get(math.ticker, 0)
        return custom if custom > scaled else scaled

    def after_trade(
        self, math: MarketMath, delta_base_quantums: int, usdc_delta: int
    ) -> TradeOutcome:
        """The totals once ``delta_base_quantums`` of ``math``'s market are traded
        and ``usdc_delta`` quote quantums paid (negative) or received.

        The traded market's IMF is taken at the open interest after the trade,
        as the chain values a match: raised by the part the trade opens (the
        most a match can add), on top of what earlier trades here may have added.
        """
        ticker = math.ticker
        old = self.lines.get(ticker)
        held = old.base_quantums if old is not None else 0
        moved = held + delta_base_quantums
        added = opening_quantums(held, moved) + (old.open_interest_added if old else 0)
        new = line_or_none(math, moved, self.custom_imf_ppm.get(ticker, 0), added)
        n_notional, n_initial = (new.notional, new.initial) if new else (0, 0)
        o_notional, o_initial = (old.notional, old.initial) if old else (0, 0)
        net_collateral = self.net_collateral + usdc_delta + n_notional - o_notional
        reported = self.reported_free_collateral
        if reported is not None:
            # The indexer view moves by the change in NC less the change in base IMR.
            d_base = (new.base_initial if new else 0) - (old.base_initial if old else 0)
            reported += net_collateral - self.net_collateral - d_base
        return TradeOutcome(
            net_collateral=net_collateral,
            initial=self.initial + n_initial - o_initial,
            gross_notional=self.gross_notional + abs(n_notional) - abs(o_notional),
            reported_free_collateral=reported,
            usdc=self.usdc + usdc_delta,
            line=new,
            old_line=old,
            before=self,
        )

    def after(self, math: MarketMath, delta_base_quantums: int, usdc_delta: int) -> MarginState:
        """The whole state after the trade of :meth:`after_trade`."""
        return self.after_trade(math, delta_base_quantums, usdc_delta).state()

    def charged(self, quote_quantums: int) -> MarginState:
        """This state with ``quote_quantums`` (>= 0) of USDC taken away, positions as they are."""
        reported = self.reported_free_collateral
        return MarginState(
            self.usdc - quote_quantums,
            self.lines,
            self.net_collateral - quote_quantums,
            self.initial,
            self.gross_notional,
            None if reported is None else reported - quote_quantums,
            self.custom_imf_ppm,
        )


@dataclass(frozen=True, slots=True)
class TradeOutcome:
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
        return _smaller(self.net_collateral - self.initial, self.reported_free_collateral)

    def state(self) -> MarginState:
        """The whole :class:`MarginState` after this trade."""
        before = self.before
        lines = dict(before.lines)
        if self.line is not None:
            lines[self.line.math.ticker] = self.line
        elif self.old_line is not None:
            del lines[self.old_line.math.ticker]
        return MarginState(
            self.usdc,
            MappingProxyType(lines),
            self.net_collateral,
            self.initial,
            self.gross_notional,
            self.reported_free_collateral,
            before.custom_imf_ppm,
        )


def chain_outcome(before: MarginState, after: MarginState | TradeOutcome) -> str:
    """The chain's ``UpdateResult`` name for moving from ``before`` to ``after``.

    Section 2.6: passes with ``"Success"`` if ``NC_new >= IMR_new``, otherwise
    only if the move is not riskier (:func:`chain_math.is_valid_state_transition`).
    """
    if after.net_collateral >= after.initial:
        return SUCCESS
    return is_valid_state_transition(
        before.net_collateral,
        before.initial,
        before.maintenance,
        after.net_collateral,
        after.maintenance,
    )


def _smaller(chain: int, reported: int | None) -> int:
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
    fee = ceil_ppm(fill, fee_ppm) if fee_ppm else 0
    return (-fill if delta_size > 0 else fill) - fee


def require_fee_ppm(fee_ppm: int) -> int:
    """``fee_ppm`` if it is an int strictly between -100 % and +100 %."""
    if isinstance(fee_ppm, bool) or not isinstance(fee_ppm, int):
        raise InvalidInput(f"fee_ppm must be an int, not {type(fee_ppm).__name__}")
    if not -_PPM < fee_ppm < _PPM:
        raise InvalidInput(f"fee_ppm {fee_ppm} is outside (-1e6, 1e6)", fee_ppm=fee_ppm)
    return fee_ppm


def margin_state(
    account: AccountSnapshot,
    markets: Mapping[str, MarketSpec],
    *,
    custom_imf_ppm: Mapping[str, int] | None = None,
    reuse: MarginState | None = None,
) -> MarginState:
    """Value ``account`` at each market's oracle price.

    ``custom_imf_ppm`` maps a ticker to the subaccount's own initial margin
    fraction in ppm (the chain's per-market leverage setting): the fraction
    used is the larger of it and the market's open-interest-scaled one.
    ``reuse`` is an earlier valuation whose lines are taken as they are where a
    position's size and its market's math (so its price) have not changed; the
    result is the same with or without it, only faster.

    Raises :class:`~dydx_trader.domain.errors.UnknownMarket` for a position in
    a market not in ``markets`` and
    :class:`~dydx_trader.domain.errors.MarketNotTradable` when a position's
    market has no oracle price.
    """
    custom = _custom_imfs(custom_imf_ppm)
    earlier = reuse.lines if reuse is not None and reuse.custom_imf_ppm == custom else {}
    usdc_quantums = quote_quantums_floor(account.usdc_balance)
    lines: dict[str, PositionLine] = {}
    notional_sum = initial = gross = 0
    revalued = len(earlier) != len(account.open_positions)
    for position in account.open_positions:
        ticker = position.market
        spec = markets.get(ticker)
        math = spec.math if spec is not None else lookup(markets, ticker)  # raises UnknownMarket
        size = position.size
        line = earlier.get(ticker)
        if line is None or line.math is not math or line.size != size:
            line = valued_line(math, math.base_quantums(size), size, custom.get(ticker, 0))
            revalued = True
        lines[ticker] = line
        notional_sum += line.notional
        gross += abs(line.notional)
        initial += line.initial
    reported = account.indexer_free_collateral
    reported_quantums = None if reported is None else quote_quantums_floor(reported)
    if (
        reuse is not None
        and earlier is reuse.lines
        and not revalued
        and usdc_quantums == reuse.usdc
        and reported_quantums == reuse.reported_free_collateral
    ):
        return reuse  # nothing changed: the earlier valuation is this one
    return MarginState(
        usdc_quantums,
        MappingProxyType(lines),
        usdc_quantums + notional_sum,
        initial,
        gross,
        reported_quantums,
        custom,
    )


def _custom_imfs(custom_imf_ppm: Mapping[str, int] | None) -> Mapping[str, int]:
    if not custom_imf_ppm:
        return _NO_CUSTOM_IMF
    for ticker, ppm in custom_imf_ppm.items():
        if isinstance(ppm, bool) or not isinstance(ppm, int) or not 0 <= ppm <= _PPM:
            raise InvalidInput(
                f"custom initial margin fraction of {ticker} must be 0..1000000 ppm, not {ppm!r}",
                market=ticker,
            )
    return MappingProxyType(dict(custom_imf_ppm))

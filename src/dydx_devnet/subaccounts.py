"""Subaccounts, perpetual positions and the chain's collateral check.

USDC is an integer of quote quantums (signed: negative = borrowed), positions
integers of base quantums (signed: negative = short). Net collateral and
margin requirements come from the devnet's own port of the chain's math
(:mod:`dydx_devnet.chain`) through :class:`~dydx_devnet.markets.MarketState`,
including a subaccount's per-market leverage setting (``custom_imf_ppm``).
The indexer-only bookkeeping of a position (entry/exit price, realized PnL,
sums) is exact ``Fraction`` USDC.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction

from dydx_devnet.chain import margin
from dydx_devnet.genesis import ISOLATED
from dydx_devnet.markets import MarketState
from dydx_devnet.orders import derived_uuid, subaccount_uuid

OPEN = "OPEN"
CLOSED = "CLOSED"
LIQUIDATED = "LIQUIDATED"


@dataclass(slots=True)
class Position:
    """One perpetual position and the indexer's bookkeeping of it.

    ``quantums`` is signed base quantums. Prices are USDC per base unit and
    PnL USDC, as exact fractions; sums are base quantums.
    """

    ticker: str
    position_id: str
    quantums: int
    created_at_height: int
    created_at_ms: int
    entry_price: Fraction = Fraction(0)
    exit_price: Fraction | None = None
    realized_pnl: Fraction = Fraction(0)
    sum_open: int = 0
    sum_close: int = 0
    max_quantums: int = 0
    status: str = OPEN
    closed_at_height: int | None = None
    closed_at_ms: int | None = None
    net_funding: int = 0  # quote quantums received (negative = paid)

    def apply_fill(self, delta: int, price: Fraction, unit: Fraction) -> int:
        """Apply ``delta`` base quantums bought (+) or sold (-) at ``price``.

        ``unit`` is one base quantum in base units. Returns the part of
        ``delta`` that did not fit (non-zero when the fill flips the position:
        the caller opens a new position with it).
        """
        old = self.quantums
        if old == 0 or (old > 0) == (delta > 0):
            opened = abs(delta)
            total = abs(old) + opened
            self.entry_price = (self.entry_price * abs(old) + price * opened) / total
            self.sum_open += opened
            self.quantums = old + delta
            if abs(self.quantums) > abs(self.max_quantums):
                self.max_quantums = self.quantums
            return 0
        closed = min(abs(delta), abs(old))
        previous_close = self.sum_close
        self.exit_price = ((self.exit_price or Fraction(0)) * previous_close + price * closed) / (
            previous_close + closed
        )
        self.sum_close += closed
        direction = 1 if old > 0 else -1
        self.realized_pnl += (price - self.entry_price) * closed * unit * direction
        self.quantums = old + (closed if delta > 0 else -closed)
        leftover = abs(delta) - closed
        return leftover if delta > 0 else -leftover


@dataclass(slots=True)
class Subaccount:
    """A subaccount: USDC quote quantums and open positions by ticker.

    ``custom_imf_ppm`` is the subaccount's leverage setting per ticker (the
    chain's leverage map, ``MsgUpdateLeverage``): an initial margin fraction in
    ppm that the collateral checks use where it exceeds the market's own.
    """

    address: str
    number: int
    usdc: int = 0
    positions: dict[str, Position] = field(default_factory=dict)
    custom_imf_ppm: dict[str, int] = field(default_factory=dict)
    closed_positions: list[Position] = field(default_factory=list)
    updated_at_height: int = 0
    uuid: str = ""

    def __post_init__(self) -> None:
        if not self.uuid:
            self.uuid = subaccount_uuid(self.address, self.number)

    def position_quantums(self, ticker: str) -> int:
        position = self.positions.get(ticker)
        return position.quantums if position is not None else 0

    def new_position_id(self, ticker: str, height: int) -> str:
        return derived_uuid(self.uuid, ticker, height, len(self.closed_positions))


@dataclass(frozen=True, slots=True)
class Risk:
    """Net collateral and margin requirements of a subaccount, quote quantums.

    ``initial`` uses open-interest-scaled IMFs (the chain's IMR),
    ``base_initial`` the tiers' base IMFs (the indexer's free-collateral formula).
    """

    net_collateral: int
    initial: int
    base_initial: int
    maintenance: int

    @property
    def free_collateral(self) -> int:
        """``NC - IMR`` as the chain checks it."""
        return self.net_collateral - self.initial

    @property
    def chain_risk(self) -> margin.Risk:
        """The chain's ``margin.Risk`` (NC, IMR, MMR) of these figures."""
        return margin.Risk(self.net_collateral, self.initial, self.maintenance)

    @property
    def liquidatable(self) -> bool:
        """``MMR > 0 and NC < MMR`` (``lib/margin/risk.go``)."""
        return self.chain_risk.is_liquidatable()


def risk(
    account: Subaccount,
    markets: Mapping[str, MarketState],
    *,
    change: tuple[str, int, int, int | None] | None = None,
    prices: Mapping[str, int] | None = None,
    custom_imf: Mapping[str, int] | None = None,
) -> Risk:
    """The :class:`Risk` of ``account``, optionally after a hypothetical change.

    ``change = (ticker, delta_base_quantums, delta_usdc_quantums,
    open_interest_bq)`` moves one position and USDC first; ``open_interest_bq``
    (``None`` for the current one) is the open interest that scales that
    market's IMF. ``prices`` (oracle integers by ticker) values positions at
    other prices than the current ones (a past block's, for a lagging indexer).
    ``custom_imf`` replaces the subaccount's leverage settings (custom IMF ppm
    by ticker) for this one computation.
    """
    settings = account.custom_imf_ppm if custom_imf is None else custom_imf
    net = account.usdc
    initial = base_initial = maintenance = 0
    changed_ticker = None
    if change is not None:
        changed_ticker, delta_bq, delta_usdc, oi = change
        net += delta_usdc
        new_bq = account.position_quantums(changed_ticker) + delta_bq
        if new_bq != 0:
            market = markets[changed_ticker]
            price = None if prices is None else prices.get(changed_ticker)
            net += market.notional(new_bq, price)
            custom = settings.get(changed_ticker, 0)
            initial, base_initial, maintenance = market.requirements(new_bq, oi, custom, price)
    for ticker, position in account.positions.items():
        if ticker == changed_ticker or position.quantums == 0:
            continue
        market = markets[ticker]
        price = None if prices is None else prices.get(ticker)
        net += market.notional(position.quantums, price)
        custom = settings.get(ticker, 0)
        i, b, m = market.requirements(position.quantums, None, custom, price)
        initial += i
        base_initial += b
        maintenance += m
    return Risk(net, initial, base_initial, maintenance)


VIOLATES_ISOLATED = "ViolatesIsolatedSubaccountConstraints"


def violates_isolation(
    account: Subaccount, markets: Mapping[str, MarketState], ticker: str, delta_bq: int
) -> bool:
    """Whether moving ``ticker`` by ``delta_bq`` breaks the isolated-market rule.

    A subaccount holding a position in an ISOLATED market may hold no other
    position, and one with cross positions cannot open an isolated one
    (``x/subaccounts/keeper/isolated_subaccount.go``).
    """
    if account.position_quantums(ticker) + delta_bq == 0:
        return False
    others = [t for t, p in account.positions.items() if t != ticker and p.quantums != 0]
    if not others:
        return False
    if markets[ticker].spec.market_type == ISOLATED:
        return True
    return any(markets[t].spec.market_type == ISOLATED for t in others)


def collateral_check(
    account: Subaccount,
    markets: Mapping[str, MarketState],
    ticker: str,
    delta_bq: int,
    delta_usdc: int,
    *,
    apply_open_interest: bool,
) -> str:
    """The chain's ``CanUpdateSubaccounts`` collateral check of one update.

    Fails with ``"ViolatesIsolatedSubaccountConstraints"`` on an isolated-market
    violation. Passes (``"Success"``) when the new state has ``NC >= IMR``; otherwise only
    if :func:`~dydx_devnet.chain.margin.is_valid_state_transition` allows it. With
    ``apply_open_interest`` (a match) the market's IMF is scaled with the
    open interest after the update, as the chain does for matches.
    """
    if violates_isolation(account, markets, ticker, delta_bq):
        return VIOLATES_ISOLATED
    market = markets[ticker]
    old_bq = account.position_quantums(ticker)
    oi = market.open_interest_after(old_bq, old_bq + delta_bq) if apply_open_interest else None
    after = risk(account, markets, change=(ticker, delta_bq, delta_usdc, oi)).chain_risk
    if after.is_initial_collateralized():
        return margin.SUCCESS
    return margin.is_valid_state_transition(risk(account, markets).chain_risk, after)

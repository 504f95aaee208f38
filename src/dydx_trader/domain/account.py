"""A subaccount, and what the venue says it holds: USDC balance and signed positions."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from dydx_trader.domain.errors import InvalidInput
from dydx_trader.domain.numbers import require_finite, require_non_negative

_MAX_SUBACCOUNT_NUMBER = 128_000


@dataclass(frozen=True, slots=True)
class Subaccount:
    """Who trades: a ``dydx1...`` address and a subaccount number (0..128000)."""

    address: str
    number: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.address, str) or not self.address:
            raise InvalidInput("the subaccount's address must be a non-empty string")
        _check_number(self.number)


def _check_number(number: object) -> None:
    if isinstance(number, bool) or not isinstance(number, int):
        raise InvalidInput(f"subaccount number {number!r} must be an int")
    if not 0 <= number <= _MAX_SUBACCOUNT_NUMBER:
        raise InvalidInput(
            f"subaccount number {number} is outside 0..{_MAX_SUBACCOUNT_NUMBER}",
            subaccount_number=number,
        )


@dataclass(frozen=True, slots=True)
class PerpetualPosition:
    """One open perpetual position.

    ``size`` is signed base units (negative = short), as the indexer reports
    it; ``entry_price`` is USDC per base unit.
    """

    market: str
    size: Decimal
    entry_price: Decimal = Decimal(0)
    unrealized_pnl: Decimal = Decimal(0)
    realized_pnl: Decimal = Decimal(0)
    net_funding: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        require_finite(f"{self.market} position size", self.size)
        require_non_negative(f"{self.market} entry price", self.entry_price)


@dataclass(frozen=True, slots=True)
class AccountSnapshot:
    """One subaccount at one indexer height.

    ``usdc_balance`` is signed USDC (negative = borrowed against positions;
    the indexer's USDC ``side: SHORT``). ``indexer_equity`` and
    ``indexer_free_collateral`` are the indexer's own figures (base IMF, no
    open-interest scaling), kept for comparison with the chain-exact ones.
    Heights are block heights; ``latest_processed_block_height`` is how far
    the indexer had got when it answered.
    """

    address: str
    subaccount_number: int
    usdc_balance: Decimal
    positions: tuple[PerpetualPosition, ...] = ()
    indexer_equity: Decimal | None = None
    indexer_free_collateral: Decimal | None = None
    updated_at_height: int = 0
    latest_processed_block_height: int = 0
    _by_market: dict[str, PerpetualPosition] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        require_finite("USDC balance", self.usdc_balance)
        _check_number(self.subaccount_number)
        for position in self.positions:
            if position.market in self._by_market:
                raise InvalidInput(f"two positions in {position.market}", market=position.market)
            if position.size != 0:
                self._by_market[position.market] = position

    def position(self, market: str) -> PerpetualPosition | None:
        """The open position in ``market``, or ``None`` when flat."""
        return self._by_market.get(market)

    def position_size(self, market: str) -> Decimal:
        """Signed size in ``market`` (0 when flat), base units."""
        position = self._by_market.get(market)
        return position.size if position is not None else Decimal(0)

    @property
    def open_positions(self) -> tuple[PerpetualPosition, ...]:
        """Positions with a non-zero size, in the order given."""
        return tuple(self._by_market.values())

"""Throughput of a full sizing decision: value the account, size an order, prove it.

The account holds 20 positions across 24 markets (mixed atomic resolutions,
prices, margin tiers, some with open-interest scaling in force). One decision is
what the account actor computes for a signal: the account's margin state
(``margin_state``), then ``PositionSizer.size`` (policy, every cap, and the
exact pre-trade check of the sized order, which is the proof it returns).

Two regimes, one JSON line each:

* ``sizing_decisions_per_s`` (cold): consecutive decisions never share a snapshot
  (64 snapshots, 48 requests), so each one values its account again; each
  snapshot differs from the one before in one position, as when one fill came
  between two fetches. What is reused is what the running system reuses, each
  by its owner: a market's derived integers are its ``MarketSpec``'s
  (``spec.math``), and a position whose size and market have not changed keeps
  its valuation from the actor's previous one (``margin_state(..., reuse=...)``).
* ``sizing_decisions_per_s_warm``: every decision on one valued snapshot, as when
  several signals arrive within one snapshot's lifetime; the sizing and the
  check are not reused.
* ``margin_valuation_us``: valuing one such account from nothing (no reuse), in
  microseconds: what the first decision after a restart pays.

Each figure is the best of 7 rounds of 4,000 decisions: the machine may be
shared, and the least disturbed round is the closest to what one core does.
"""

from __future__ import annotations

import json
import time
from decimal import Decimal

from dydx_trader.domain.account import AccountSnapshot, PerpetualPosition
from dydx_trader.domain.margin import MarginState, margin_state
from dydx_trader.domain.market import MarketSpec, MarketStatus
from dydx_trader.domain.pre_trade import RiskLimits
from dydx_trader.domain.side import Side
from dydx_trader.domain.sizing import PositionSizer, Sized
from dydx_trader.domain.sizing_policy import SizingPolicy, SizingRequest

MARKET_COUNT = 24
POSITION_COUNT = 20
SNAPSHOTS = 64
DECISIONS = 4_000
ROUNDS = 7


def _market(index: int) -> MarketSpec:
    atomic_resolution = (-10, -9, -7, -6, -5)[index % 5]
    qce = -9
    price = Decimal(60_000 + 1_37 * index) / (Decimal(10) ** (index % 5))
    step_base_quantums = 1_000_000
    subticks_per_tick = 100_000 if atomic_resolution == -10 else 1_000_000
    imf = (Decimal("0.02"), Decimal("0.05"), Decimal("0.1"), Decimal("0.2"))[index % 4]
    lower, upper = (Decimal(0), Decimal(0))
    if index % 4 >= 2:
        lower, upper = Decimal(5_000_000), Decimal(10_000_000)
    open_interest = (Decimal(7_000_000) / price).quantize(Decimal(1))
    spec = MarketSpec(
        ticker=f"M{index}-USD",
        clob_pair_id=index,
        status=MarketStatus.ACTIVE,
        oracle_price=price,
        initial_margin_fraction=imf,
        maintenance_margin_fraction=imf * Decimal("0.6"),
        open_interest=open_interest,
        atomic_resolution=atomic_resolution,
        quantum_conversion_exponent=qce,
        tick_size=Decimal(subticks_per_tick).scaleb(qce - 6 - atomic_resolution),
        step_size=Decimal(step_base_quantums).scaleb(atomic_resolution),
        step_base_quantums=step_base_quantums,
        subticks_per_tick=subticks_per_tick,
        open_interest_lower_cap=lower,
        open_interest_upper_cap=upper,
    )
    return spec


def _account(markets: dict[str, MarketSpec], variant: int) -> AccountSnapshot:
    """Snapshot ``variant``: each one has a fill more than the one before it (the
    position ``variant % POSITION_COUNT`` grew by a step)."""
    positions = []
    for index, spec in enumerate(list(markets.values())[:POSITION_COUNT]):
        fills = variant // POSITION_COUNT + (1 if index < variant % POSITION_COUNT else 0)
        steps = 3 + index * 7 % 11 + fills
        size = spec.step_size * steps * (1 if index % 3 else -1)
        assert spec.oracle_price is not None
        positions.append(PerpetualPosition(spec.ticker, size, spec.oracle_price))
    balance = Decimal(25_000 + variant * 10)
    return AccountSnapshot("dydx1bench", 0, balance, tuple(positions), None, None)


def main() -> None:
    markets = {spec.ticker: spec for spec in (_market(i) for i in range(MARKET_COUNT))}
    accounts = [_account(markets, v) for v in range(SNAPSHOTS)]
    sizer = PositionSizer(
        SizingPolicy.fixed_risk(Decimal("0.01")),
        RiskLimits(max_leverage=Decimal(5), max_exposure=Decimal(10)),
    )
    requests = []
    for index, spec in enumerate(markets.values()):
        assert spec.oracle_price is not None
        for side in Side:
            price = spec.oracle_price
            stop = price - side.sign * price / 50
            requests.append(
                SizingRequest(
                    spec.ticker,
                    side,
                    price,
                    Decimal("0.7"),
                    stop_price=stop,
                    fee_ppm=500 if index % 2 else 0,
                )
            )
    valued: list[MarginState | None] = [None]

    def decide(account: AccountSnapshot, request: SizingRequest) -> bool:
        state = margin_state(account, markets, reuse=valued[0])
        valued[0] = state
        result = sizer.size(request, (state,), markets[request.market].math)
        return isinstance(result, Sized)

    # Sanity: the decisions must produce orders, or the benchmark measures refusals.
    sized = sum(decide(accounts[i % SNAPSHOTS], r) for i, r in enumerate(requests))
    if sized < len(requests) // 2:
        raise AssertionError(f"only {sized} of {len(requests)} decisions produced an order")

    # Cold: consecutive decisions never share a snapshot (48 requests, 64 snapshots),
    # so every decision values its 20 positions from scratch.
    cold = [(accounts[i % SNAPSHOTS], requests[i % len(requests)]) for i in range(DECISIONS)]
    # Warm: one snapshot for every decision, as when several signals arrive within
    # one snapshot's lifetime; its valuation is reused, the sizing is not.
    warm = [(accounts[0], requests[i % len(requests)]) for i in range(DECISIONS)]
    for metric, work in (("sizing_decisions_per_s", cold), ("sizing_decisions_per_s_warm", warm)):
        rates = []
        for _ in range(ROUNDS):
            start = time.perf_counter()
            for account, request in work:
                decide(account, request)
            rates.append(DECISIONS / (time.perf_counter() - start))
        print(json.dumps({"metric": metric, "value": round(max(rates)), "unit": "decisions/s"}))
    timings = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for account in accounts:
            margin_state(account, markets)
        timings.append((time.perf_counter() - start) / len(accounts) * 1e6)
    print(
        json.dumps({"metric": "margin_valuation_us", "value": round(min(timings), 1), "unit": "us"})
    )


if __name__ == "__main__":
    main()

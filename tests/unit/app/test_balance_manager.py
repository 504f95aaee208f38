"""BalanceManager: single flight, TTL, invalidation by fills, lag, failing closed."""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dydx_trader.adapters.dydx.mapping import parse_market
from dydx_trader.app.balance import BalanceManager
from dydx_trader.domain.account import AccountSnapshot, PerpetualPosition
from dydx_trader.domain.errors import (
    InvalidInput,
    MalformedPayload,
    StaleAccountData,
    StaleMarketData,
    SubaccountNotFound,
    VenueUnavailable,
)
from dydx_trader.domain.market import MarketSpec
from dydx_trader.domain.side import Side
from dydx_trader.domain.venue import (
    IndexerFill,
    IndexerOrderStatus,
    OrderStatusUpdate,
    SubaccountUpdate,
)

ADDRESS = "dydx14zzueazeh0hj67cghhf9jypslcf9sh2n5k6art"
FIXTURES_WS = Path(__file__).resolve().parents[2] / "fixtures" / "dydx" / "indexer_ws"
MARKETS_FIXTURE = (
    Path(__file__).resolve().parents[2]
    / "fixtures"
    / "dydx"
    / "indexer_http"
    / "nt2024_list_perpetual_markets.json"
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def monotonic(self) -> float:
        return self.now


class FakeAccounts:
    """Answers with ``make(call_number)``; an optional gate holds every answer."""

    def __init__(self, make: Callable[[int], AccountSnapshot]) -> None:
        self.make = make
        self.calls = 0
        self.gate: asyncio.Event | None = None
        self.failure: Exception | None = None

    async def get_account(self, address: str, subaccount_number: int) -> AccountSnapshot:
        self.calls += 1
        call = self.calls
        if self.gate is not None:
            await self.gate.wait()
        if self.failure is not None:
            raise self.failure
        return self.make(call)


class FakeChain:
    def __init__(self, height: int) -> None:
        self.height = height
        self.failure: Exception | None = None

    async def latest_block_height(self) -> int:
        if self.failure is not None:
            raise self.failure
        return self.height


class FakeMarkets:
    def __init__(self, markets: Mapping[str, MarketSpec]) -> None:
        self._markets = dict(markets)
        self.stale = False

    def markets(self, tickers: Iterable[str] | None = None) -> Mapping[str, MarketSpec]:
        if self.stale:
            raise StaleMarketData("oracle prices too old")
        wanted = self._markets if tickers is None else {t: self._markets[t] for t in tickers}
        return wanted


def _markets() -> dict[str, MarketSpec]:
    if not MARKETS_FIXTURE.exists():
        pytest.skip("market fixture not available")
    body = json.loads(MARKETS_FIXTURE.read_text())
    return {t: parse_market(m) for t, m in body["markets"].items()}


def _flat(call: int, *, usdc: str = "1000", height: int = 500) -> AccountSnapshot:
    return AccountSnapshot(
        address=ADDRESS,
        subaccount_number=0,
        usdc_balance=Decimal(usdc) + call,  # each fetch distinguishable
        indexer_equity=Decimal(usdc) + call,
        indexer_free_collateral=Decimal(usdc) + call,
        updated_at_height=height,
        latest_processed_block_height=height,
    )


def _manager(
    accounts: FakeAccounts,
    *,
    chain: FakeChain | None = None,
    markets: FakeMarkets | None = None,
    clock: FakeClock | None = None,
    **options: object,
) -> BalanceManager:
    return BalanceManager(
        accounts,
        chain or FakeChain(500),
        markets or FakeMarkets({}),
        address=ADDRESS,
        clock=clock or FakeClock(),
        **options,  # type: ignore[arg-type]
    )


def _fill(height: int) -> IndexerFill:
    return IndexerFill(
        fill_id=f"fill-{height}",
        ticker="ETH-USD",
        side=Side.BUY,
        liquidity="TAKER",
        fill_type="LIMIT",
        price=Decimal("2600"),
        size=Decimal("0.01"),
        fee=Decimal("0.01"),
        created_at=datetime(2024, 8, 1, tzinfo=UTC),
        created_at_height=height,
    )


async def test_get_snapshot_when_1000_concurrent_callers_in_one_ttl_then_exactly_one_fetch() -> (
    None
):
    accounts = FakeAccounts(_flat)
    accounts.gate = asyncio.Event()
    manager = _manager(accounts)
    callers = [asyncio.create_task(manager.get_snapshot()) for _ in range(1000)]
    await asyncio.sleep(0)
    accounts.gate.set()
    snapshots = await asyncio.gather(*callers)
    assert accounts.calls == 1
    assert len({id(s) for s in snapshots}) == 1
    assert snapshots[0].usdc_balance == Decimal(1001)
    # And later callers inside the same TTL still share that one fetch.
    await asyncio.gather(*(manager.get_snapshot() for _ in range(1000)))
    assert accounts.calls == 1


async def test_get_snapshot_when_ttl_passes_then_fetches_again() -> None:
    clock = FakeClock()
    accounts = FakeAccounts(_flat)
    manager = _manager(accounts, clock=clock, ttl_s=5)
    first = await manager.get_snapshot()
    clock.now += 4.9
    assert await manager.get_snapshot() is first
    clock.now += 0.2
    second = await manager.get_snapshot()
    assert accounts.calls == 2
    assert second.usdc_balance == Decimal(1002)


async def test_get_snapshot_when_fill_arrives_mid_ttl_then_refreshes() -> None:
    clock = FakeClock()
    accounts = FakeAccounts(lambda call: _flat(call, height=500 + call))
    manager = _manager(accounts, chain=FakeChain(502), clock=clock)
    first = await manager.get_snapshot()
    clock.now += 1.0  # well inside the TTL
    manager.on_fill(_fill(height=502))
    second = await manager.get_snapshot()
    assert accounts.calls == 2
    assert second is not first
    assert second.account.latest_processed_block_height >= 502


async def test_get_snapshot_when_indexer_has_not_processed_our_fill_then_stale_account_data() -> (
    None
):
    accounts = FakeAccounts(lambda call: _flat(call, height=500))
    manager = _manager(accounts, chain=FakeChain(500))
    await manager.get_snapshot()
    manager.on_fill(_fill(height=503))
    with pytest.raises(StaleAccountData, match="not yet our fill or settlement at 503") as raised:
        await manager.get_snapshot()
    assert raised.value.numbers["fill_height"] == 503


async def test_require_height_when_settled_above_indexer_then_refused_until_it_catches_up() -> None:
    clock = FakeClock()
    indexer = {"height": 500}
    accounts = FakeAccounts(lambda call: _flat(call, height=indexer["height"]))
    manager = _manager(accounts, chain=FakeChain(505), clock=clock)
    before = await manager.get_snapshot()

    manager.require_height(503)  # a reservation released by a settlement at block 503
    with pytest.raises(StaleAccountData, match="settlement at 503"):
        await manager.get_snapshot()
    indexer["height"] = 503
    after = await manager.get_snapshot()

    assert manager.cached() is after and after is not before
    assert after.account.latest_processed_block_height == 503


async def test_on_subaccount_update_when_foreign_fill_then_no_cache_hides_it() -> None:
    indexer = {"height": 500}
    accounts = FakeAccounts(lambda call: _flat(call, height=indexer["height"]))
    manager = _manager(accounts, chain=FakeChain(502))
    await manager.get_snapshot()
    # A manual trade on the web: its fill names an order this trader never placed.
    foreign = replace(_fill(height=502), fill_id="web-fill", order_id="web-order")

    manager.on_subaccount_update(SubaccountUpdate(fills=(foreign,)))

    assert manager.cached() is None
    with pytest.raises(StaleAccountData, match="at 502"):
        await manager.get_snapshot()
    indexer["height"] = 502
    assert (await manager.get_snapshot()).account.latest_processed_block_height == 502


def test_require_height_when_not_a_height_then_invalid_input() -> None:
    manager = _manager(FakeAccounts(lambda call: _flat(call)))
    for bad in (-1, True, 1.5):
        with pytest.raises(InvalidInput):
            manager.require_height(bad)  # type: ignore[arg-type]


async def test_get_snapshot_when_indexer_lags_chain_then_stale_and_no_old_balance() -> None:
    clock = FakeClock()
    chain = FakeChain(500)
    accounts = FakeAccounts(lambda call: _flat(call, height=500))
    manager = _manager(accounts, chain=chain, clock=clock, max_indexer_lag_blocks=5)
    await manager.get_snapshot()
    chain.height = 520  # the indexer keeps answering height 500
    clock.now += 6
    with pytest.raises(StaleAccountData, match="20 blocks behind") as raised:
        await manager.get_snapshot()
    assert raised.value.numbers["lag_blocks"] == 20
    assert manager.cached() is None


async def test_get_snapshot_when_lag_within_limit_then_served() -> None:
    accounts = FakeAccounts(lambda call: _flat(call, height=495))
    manager = _manager(accounts, chain=FakeChain(500), max_indexer_lag_blocks=5)
    snapshot = await manager.get_snapshot()
    assert snapshot.indexer_lag_blocks == 5


@pytest.mark.parametrize(
    "failure",
    [
        VenueUnavailable("indexer http://127.0.0.1:1 unreachable while reading subaccount 0"),
        VenueUnavailable("indexer rate-limited us (HTTP 429)", status=429),
        MalformedPayload("subaccount: field 'equity' is 'NaN', expected a finite decimal"),
    ],
)
async def test_get_snapshot_when_indexer_fails_after_ttl_then_stale_refusal_not_old_balance(
    failure: Exception,
) -> None:
    clock = FakeClock()
    accounts = FakeAccounts(_flat)
    manager = _manager(accounts, clock=clock)
    await manager.get_snapshot()
    clock.now += 10
    accounts.failure = failure
    with pytest.raises(StaleAccountData, match="cannot be proven fresh") as raised:
        await manager.get_snapshot()
    assert raised.value.numbers["cause"] == type(failure).__name__
    assert raised.value.__cause__ is failure


async def test_get_snapshot_when_fetch_slower_than_ttl_then_stale() -> None:
    clock = FakeClock()

    def slow(call: int) -> AccountSnapshot:
        clock.now += 6  # the indexer took 6 s to answer
        return _flat(call)

    with pytest.raises(StaleAccountData, match=r"took 6\.0 s"):
        await _manager(FakeAccounts(slow), clock=clock, ttl_s=5).get_snapshot()


async def test_get_snapshot_when_chain_height_unavailable_then_stale_account_data() -> None:
    chain = FakeChain(500)
    chain.failure = VenueUnavailable("node did not answer latest block height within 5 s")
    with pytest.raises(StaleAccountData, match="node did not answer"):
        await _manager(FakeAccounts(_flat), chain=chain).get_snapshot()


async def test_get_snapshot_when_subaccount_never_funded_then_not_found_passes_through() -> None:
    accounts = FakeAccounts(_flat)
    accounts.failure = SubaccountNotFound("subaccount not found")
    with pytest.raises(SubaccountNotFound):
        await _manager(accounts).get_snapshot()


async def test_get_snapshot_when_invalidated_during_fetch_then_fetches_again_for_all_callers() -> (
    None
):
    accounts = FakeAccounts(_flat)
    accounts.gate = asyncio.Event()
    manager = _manager(accounts)
    waiting = asyncio.create_task(manager.get_snapshot())
    while accounts.calls == 0:  # let the fetch start
        await asyncio.sleep(0)
    manager.invalidate("order placed")
    accounts.gate.set()
    snapshot = await waiting
    assert accounts.calls == 2
    assert snapshot.usdc_balance == Decimal(1002)


async def test_get_snapshot_when_account_keeps_changing_then_stale_after_bounded_rounds() -> None:
    accounts = FakeAccounts(_flat)
    manager = _manager(accounts)

    def churn(call: int) -> AccountSnapshot:
        manager.invalidate(f"order activity {call}")
        return _flat(call)

    accounts.make = churn
    with pytest.raises(StaleAccountData, match="kept changing"):
        await manager.get_snapshot()
    assert accounts.calls == 3


async def test_get_snapshot_when_one_caller_cancels_then_others_still_get_the_fetch() -> None:
    accounts = FakeAccounts(_flat)
    accounts.gate = asyncio.Event()
    manager = _manager(accounts)
    impatient = asyncio.create_task(manager.get_snapshot())
    patient = asyncio.create_task(manager.get_snapshot())
    await asyncio.sleep(0)
    impatient.cancel()
    accounts.gate.set()
    assert (await patient).usdc_balance == Decimal(1001)
    assert accounts.calls == 1


async def test_on_subaccount_update_when_transfer_then_cache_dropped() -> None:
    accounts = FakeAccounts(_flat)
    manager = _manager(accounts)
    await manager.get_snapshot()
    manager.on_subaccount_update(SubaccountUpdate(has_transfer=True))
    assert manager.cached() is None
    await manager.get_snapshot()
    manager.on_subaccount_update(SubaccountUpdate())
    assert manager.cached() is not None
    assert accounts.calls == 2


async def test_on_subaccount_update_when_only_orders_changed_then_cache_kept() -> None:
    # A resting order holds no collateral; our own in flight are reserved by the actor.
    accounts = FakeAccounts(_flat)
    manager = _manager(accounts)
    snapshot = await manager.get_snapshot()
    placed = OrderStatusUpdate("order-1", "ETH-USD", IndexerOrderStatus.BEST_EFFORT_OPENED)
    manager.on_subaccount_update(SubaccountUpdate(orders=(placed,)))
    assert manager.cached() is snapshot and accounts.calls == 1


@pytest.mark.parametrize("ttl", [0.5, 61, math.nan, math.inf, True, "5"])
def test_balance_manager_when_ttl_outside_1_to_60_s_then_invalid_input(ttl: object) -> None:
    with pytest.raises(InvalidInput, match="TTL"):
        _manager(FakeAccounts(_flat), ttl_s=ttl)


@pytest.mark.parametrize("ttl", [1, 60, 5.5])
def test_balance_manager_when_ttl_in_range_then_accepted(ttl: float) -> None:
    assert _manager(FakeAccounts(_flat), ttl_s=ttl).ttl_s == ttl


def test_balance_manager_when_lag_negative_then_invalid_input() -> None:
    with pytest.raises(InvalidInput):
        _manager(FakeAccounts(_flat), max_indexer_lag_blocks=-1)


async def test_snapshot_when_positions_then_free_collateral_is_most_conservative_view() -> None:
    markets = _markets()
    # ETH-USD with open interest past its lower cap: OI scaling raises the IMF
    # above the base the indexer uses, so the local figure is the smaller one.
    eth = markets["ETH-USD"]
    markets["ETH-USD"] = replace(
        eth,
        open_interest_lower_cap=Decimal(1_000_000),
        open_interest_upper_cap=Decimal(10_000_000),
        open_interest=Decimal(2000),
    )
    account = AccountSnapshot(
        address=ADDRESS,
        subaccount_number=0,
        usdc_balance=Decimal("-5000"),
        positions=(PerpetualPosition("ETH-USD", Decimal("3"), Decimal("2600")),),
        indexer_equity=Decimal("3000"),
        indexer_free_collateral=Decimal("2600"),
        updated_at_height=500,
        latest_processed_block_height=500,
    )
    manager = _manager(FakeAccounts(lambda call: account), markets=FakeMarkets(markets))
    snapshot = await manager.get_snapshot()
    assert snapshot.local_free_collateral < snapshot.indexer_free_collateral  # type: ignore[operator]
    assert snapshot.free_collateral == min(
        snapshot.local_free_collateral,
        snapshot.indexer_free_collateral,  # type: ignore[type-var]
        snapshot.risk.indexer_free_collateral,
    )
    assert snapshot.risk.positions[0].effective_imf > eth.initial_margin_fraction


async def test_snapshot_when_real_negative_usdc_account_then_conservative_figures() -> None:
    body = json.loads(
        (FIXTURES_WS / "nt2024_v4_accounts_subscribed_negative_initial_margin.json").read_text()
    )
    from dydx_trader.adapters.dydx.mapping import parse_subaccount_object

    account = parse_subaccount_object(body["contents"]["subaccount"])
    manager = _manager(
        FakeAccounts(lambda call: account),
        chain=FakeChain(account.latest_processed_block_height),
        markets=FakeMarkets(_markets()),
    )
    snapshot = await manager.get_snapshot()
    assert snapshot.usdc_balance == Decimal("-5768.816478")
    assert snapshot.free_collateral <= snapshot.indexer_free_collateral  # type: ignore[operator]
    assert snapshot.risk.gross_notional > 0
    assert len(snapshot.risk.positions) == 2


async def test_get_snapshot_when_position_markets_stale_then_refused() -> None:
    account = replace(
        _flat(1), positions=(PerpetualPosition("ETH-USD", Decimal("1"), Decimal("2600")),)
    )
    markets = FakeMarkets(_markets())
    markets.stale = True
    with pytest.raises(StaleMarketData):
        await _manager(FakeAccounts(lambda call: account), markets=markets).get_snapshot()


# -- property: whatever happens, a returned snapshot is fresh ----------------------------

_operations = st.lists(
    st.one_of(
        st.tuples(st.just("advance"), st.floats(min_value=0, max_value=3)),
        st.tuples(st.just("fill"), st.integers(min_value=0, max_value=3)),
        st.tuples(st.just("invalidate"), st.just(0)),
        st.tuples(st.just("lag"), st.integers(min_value=0, max_value=12)),
        st.tuples(st.just("fail"), st.booleans()),
        st.tuples(st.just("get"), st.integers(min_value=1, max_value=5)),
        st.tuples(st.just("settle"), st.integers(min_value=0, max_value=3)),
        st.tuples(st.just("catch_up"), st.just(0)),
    ),
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(_operations)
def test_get_snapshot_when_any_schedule_then_never_stale_never_before_last_change_or_settlement(
    operations: list[tuple[str, object]],
) -> None:
    asyncio.run(_run_schedule(operations))


async def _run_schedule(operations: list[tuple[str, object]]) -> None:
    clock = FakeClock()
    chain = FakeChain(1000)
    state = {"indexer_height": 1000, "events": 0, "last_change": -1, "required": 0}
    started_at_event: dict[int, int] = {}

    def answer(call: int) -> AccountSnapshot:
        return _flat(call, height=state["indexer_height"])

    accounts = FakeAccounts(answer)
    original = accounts.get_account

    async def recording(address: str, subaccount_number: int) -> AccountSnapshot:
        started_at_event[accounts.calls + 1] = state["events"]
        return await original(address, subaccount_number)

    accounts.get_account = recording  # type: ignore[method-assign]
    manager = _manager(accounts, chain=chain, clock=clock, max_indexer_lag_blocks=5)
    for kind, value in operations:
        state["events"] += 1
        if kind == "advance":
            clock.now += float(value)  # type: ignore[arg-type]
        elif kind == "fill":
            chain.height += 1
            state["indexer_height"] = chain.height
            manager.on_fill(_fill(height=chain.height - int(value)))  # type: ignore[call-overload]
            state["last_change"] = state["events"]
        elif kind == "invalidate":
            manager.invalidate("order placed")
            state["last_change"] = state["events"]
        elif kind == "lag":
            chain.height += int(value)  # type: ignore[call-overload]
        elif kind == "fail":
            accounts.failure = VenueUnavailable("down") if value else None
        elif kind == "settle":
            # A reservation released at a height the indexer may not have reached.
            height = state["indexer_height"] + int(value) - 1  # type: ignore[call-overload]
            manager.require_height(height)
            state["required"] = max(state["required"], height)
            state["last_change"] = state["events"]
        elif kind == "catch_up":
            state["indexer_height"] = chain.height
        else:
            results = await asyncio.gather(
                *(manager.get_snapshot() for _ in range(int(value))),  # type: ignore[call-overload]
                return_exceptions=True,
            )
            for result in results:
                if isinstance(result, BaseException):
                    assert isinstance(result, StaleAccountData), result
                    continue
                call = int(result.usdc_balance - Decimal(1000))
                assert clock.now - result.fetched_at <= manager.ttl_s
                assert started_at_event[call] > state["last_change"]
                assert result.chain_height - result.account.latest_processed_block_height <= 5
                assert result.account.latest_processed_block_height >= state["required"]


class _ScriptedAccountFeed:
    """Each connection yields the next script's updates, then drops."""

    def __init__(self, *scripts: list[SubaccountUpdate]) -> None:
        self.scripts = list(scripts)
        self.connections = 0

    async def account_events(self, address: str, subaccount_number: int):  # type: ignore[no-untyped-def]
        self.connections += 1
        for update in self.scripts.pop(0) if self.scripts else []:
            yield update
        if not self.scripts:
            await asyncio.Event().wait()
        raise VenueUnavailable("account stream closed")


async def test_follow_when_fill_streamed_then_cache_dropped_and_reconnects_invalidate() -> None:
    clock = FakeClock()
    accounts = FakeAccounts(lambda call: _flat(call, height=600))
    manager = _manager(accounts, chain=FakeChain(600), clock=clock, ttl_s=60)
    await manager.get_snapshot()
    feed = _ScriptedAccountFeed([], [SubaccountUpdate(fills=(_fill(height=600),))])
    follower = asyncio.create_task(manager.follow(feed, reconnect_min_s=0.001))
    for _ in range(100):
        await asyncio.sleep(0.005)
        if (
            feed.connections == 2
            and manager.last_invalidation
            and "fill" in manager.last_invalidation
        ):
            break
    follower.cancel()
    await asyncio.gather(follower, return_exceptions=True)
    assert feed.connections == 2
    assert manager.cached() is None
    assert "fill-600" in (manager.last_invalidation or "")
    assert isinstance(manager.last_stream_error, VenueUnavailable)
    await manager.get_snapshot()
    assert accounts.calls == 2

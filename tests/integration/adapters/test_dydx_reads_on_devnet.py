"""The dYdX read side against the devnet over loopback: real HTTP, WebSocket, gRPC."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from typer.testing import CliRunner
from v4_proto.dydxprotocol.clob.order_pb2 import Order, OrderId
from v4_proto.dydxprotocol.clob.tx_pb2 import LeverageEntry, MsgUpdateLeverage
from v4_proto.dydxprotocol.subaccounts.subaccount_pb2 import SubaccountId

from dydx_trader.adapters.dydx.indexer import IndexerGateway
from dydx_trader.adapters.dydx.network import network_profile
from dydx_trader.adapters.dydx.node import NodeGateway
from dydx_trader.adapters.dydx.retry import RetryPolicy
from dydx_trader.adapters.dydx.stream import IndexerFeed
from dydx_trader.app.balance import BalanceManager
from dydx_trader.app.market_data import MarketDataManager
from dydx_trader.cli.app import app as cli_app
from dydx_trader.domain.errors import StaleAccountData, SubaccountNotFound
from dydx_trader.domain.venue import CandleResolution, MarketsSnapshot, OraclePricesUpdate

devnet_server = pytest.importorskip("dydx_devnet.server")
devnet_demo = pytest.importorskip("dydx_devnet.demo")
Devnet = devnet_server.Devnet
DevnetConfig = devnet_server.DevnetConfig
DEMO = devnet_demo.DEMO_ADDRESS
OTHER = devnet_demo.DEMO_ADDRESS_2
FAST = RetryPolicy(max_attempts=3, max_total_s=3.0, base_delay_s=0.01, max_delay_s=0.05)


@pytest.fixture
async def devnet() -> AsyncIterator[object]:
    async with Devnet(DevnetConfig(indexer_port=0, grpc_port=0, block_time=0.05, seed=1)) as dn:
        dn.fund(DEMO, Decimal(10_000))
        await dn.wait_blocks(2)
        yield dn


async def _node(dn: object) -> NodeGateway:
    profile = network_profile("devnet", grpc_address=dn.grpc_address)  # type: ignore[attr-defined]
    return await NodeGateway.connect(profile, timeout_s=2.0, retry=FAST)


def _buy_btc(dn: object, size_quantums: int = 100_000_000) -> None:
    """An IOC buy of the demo account straight into the devnet's engine (0.01 BTC)."""
    engine = dn.engine  # type: ignore[attr-defined]
    order = Order(
        order_id=OrderId(
            subaccount_id=SubaccountId(owner=DEMO, number=0),
            client_id=7,
            order_flags=0,
            clob_pair_id=0,
        ),
        side=Order.SIDE_BUY,
        quantums=size_quantums,
        subticks=10_000_000 * 100_000,  # a generous limit: fills at the book
        good_til_block=engine.height + 10,
        time_in_force=Order.TIME_IN_FORCE_IOC,
    )
    assert engine.place_order(order).code == 0


async def test_indexer_reads_when_devnet_then_account_markets_height_candles(
    devnet: object,
) -> None:
    indexer = IndexerGateway(devnet.indexer_url, retry=FAST)  # type: ignore[attr-defined]
    account = await indexer.get_account(DEMO, 0)
    markets = await indexer.get_markets()
    height = await indexer.get_height()
    candles = await indexer.get_candles("BTC-USD", CandleResolution.ONE_HOUR, limit=24)
    assert account.usdc_balance == Decimal(10_000)
    assert "BTC-USD" in markets and markets["BTC-USD"].oracle_price is not None
    assert height.height >= account.latest_processed_block_height - 1
    assert 0 < len(candles) <= 24
    assert list(candles) == sorted(candles, key=lambda c: c.started_at)


async def test_get_account_when_never_funded_then_subaccount_not_found(devnet: object) -> None:
    indexer = IndexerGateway(devnet.indexer_url, retry=FAST)  # type: ignore[attr-defined]
    with pytest.raises(SubaccountNotFound):
        await indexer.get_account(OTHER, 0)


async def test_node_height_when_devnet_then_chain_at_or_ahead_of_indexer(devnet: object) -> None:
    indexer = IndexerGateway(devnet.indexer_url, retry=FAST)  # type: ignore[attr-defined]
    async with await _node(devnet) as node:
        chain = await node.latest_block_height()
    assert chain >= (await indexer.get_height()).height - 1


async def test_node_chain_id_when_devnet_then_matches_the_devnet_profile(devnet: object) -> None:
    async with await _node(devnet) as node:
        chain_id = await node.chain_id()
    assert chain_id == devnet.chain_id  # type: ignore[attr-defined]
    assert chain_id == network_profile("devnet").chain_id


async def test_node_terms_when_leverage_set_then_settings_by_clob_pair_and_the_fee_tier(
    devnet: object,
) -> None:
    setting = MsgUpdateLeverage(
        subaccount_id=SubaccountId(owner=DEMO, number=0),
        clob_pair_leverage=[LeverageEntry(clob_pair_id=1, custom_imf_ppm=200_000)],
    )
    assert devnet.engine.update_leverage(setting).code == 0  # type: ignore[attr-defined]

    async with await _node(devnet) as node:
        settings, other, tier = await asyncio.gather(
            node.subaccount_leverage(DEMO, 0),
            node.subaccount_leverage(DEMO, 1),
            node.user_fee_tier(DEMO),
        )

    assert (settings, other) == ({1: 200_000}, {})
    assert (tier.name, tier.taker_fee_ppm, tier.maker_fee_ppm, tier.source) == (
        "1", 500, 100, "chain",
    )  # fmt: skip


async def test_balance_manager_when_position_open_then_fresh_snapshot_with_local_margin(
    devnet: object,
) -> None:
    _buy_btc(devnet)
    await devnet.wait_blocks(2)  # type: ignore[attr-defined]
    indexer = IndexerGateway(devnet.indexer_url, retry=FAST)  # type: ignore[attr-defined]
    market_data = MarketDataManager(indexer)
    await market_data.refresh()
    async with await _node(devnet) as node:
        manager = BalanceManager(indexer, node, market_data, address=DEMO)
        snapshot = await manager.get_snapshot()
    assert snapshot.account.position_size("BTC-USD") == Decimal("0.01")
    assert snapshot.usdc_balance < Decimal(10_000)
    assert snapshot.free_collateral <= snapshot.indexer_free_collateral  # type: ignore[operator]
    (position,) = snapshot.risk.positions
    assert position.liquidation_price is None or position.liquidation_price < position.oracle_price


async def test_get_snapshot_when_1000_concurrent_callers_then_one_indexer_request(
    devnet: object,
) -> None:
    accounts = IndexerGateway(devnet.indexer_url, retry=FAST)  # type: ignore[attr-defined]
    market_data = MarketDataManager(IndexerGateway(devnet.indexer_url, retry=FAST))  # type: ignore[attr-defined]
    await market_data.refresh()
    async with await _node(devnet) as node:
        manager = BalanceManager(accounts, node, market_data, address=DEMO)
        snapshots = await asyncio.gather(*(manager.get_snapshot() for _ in range(1000)))
    assert accounts.requests_sent == 1
    assert len({id(s) for s in snapshots}) == 1


async def test_get_snapshot_when_fill_arrives_mid_ttl_then_refetched_with_the_fill(
    devnet: object,
) -> None:
    accounts = IndexerGateway(devnet.indexer_url, retry=FAST)  # type: ignore[attr-defined]
    market_data = MarketDataManager(accounts)
    await market_data.refresh()
    async with await _node(devnet) as node:
        manager = BalanceManager(accounts, node, market_data, address=DEMO, ttl_s=60)
        before = await manager.get_snapshot()
        _buy_btc(devnet)
        await devnet.wait_blocks(2)  # type: ignore[attr-defined]
        (fill,) = await accounts.get_fills(DEMO, 0, market="BTC-USD")
        manager.on_fill(fill)
        after = await manager.get_snapshot()
    assert before.account.open_positions == ()
    assert after.account.position_size("BTC-USD") == Decimal("0.01")


async def test_get_snapshot_when_indexer_held_back_then_stale_then_fresh_after_release(
    devnet: object,
) -> None:
    indexer = IndexerGateway(devnet.indexer_url, retry=FAST)  # type: ignore[attr-defined]
    market_data = MarketDataManager(indexer)
    await market_data.refresh()
    async with await _node(devnet) as node:
        manager = BalanceManager(indexer, node, market_data, address=DEMO, max_indexer_lag_blocks=5)
        await devnet.wait_blocks(8)  # type: ignore[attr-defined]  # the held view has the account
        devnet.faults.hold_indexer(7)  # type: ignore[attr-defined]
        await devnet.wait_blocks(2)  # type: ignore[attr-defined]
        with pytest.raises(StaleAccountData, match="blocks behind"):
            await manager.get_snapshot()
        devnet.faults.release_indexer()  # type: ignore[attr-defined]
        await devnet.wait_blocks(2)  # type: ignore[attr-defined]
        snapshot = await manager.get_snapshot()
    assert snapshot.indexer_lag_blocks <= 5


async def test_get_snapshot_when_indexer_answers_503_then_retried_and_served(
    devnet: object,
) -> None:
    indexer = IndexerGateway(devnet.indexer_url, retry=FAST)  # type: ignore[attr-defined]
    async with await _node(devnet) as node:
        manager = BalanceManager(indexer, node, _NoMarkets(), address=DEMO)
        devnet.faults.fail_next_indexer_requests(2)  # type: ignore[attr-defined]
        snapshot = await manager.get_snapshot()
    assert snapshot.usdc_balance == Decimal(10_000)
    assert indexer.requests_sent == 3


async def test_get_snapshot_when_indexer_keeps_failing_then_stale_account_data(
    devnet: object,
) -> None:
    indexer = IndexerGateway(devnet.indexer_url, retry=FAST)  # type: ignore[attr-defined]
    async with await _node(devnet) as node:
        manager = BalanceManager(indexer, node, _NoMarkets(), address=DEMO)
        devnet.faults.fail_next_indexer_requests(50)  # type: ignore[attr-defined]
        with pytest.raises(StaleAccountData, match="503"):
            await manager.get_snapshot()


async def test_get_snapshot_when_indexer_unreachable_then_stale_account_data(
    devnet: object,
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    indexer = IndexerGateway(f"http://127.0.0.1:{port}", timeout_s=1.0, retry=FAST)
    async with await _node(devnet) as node:
        manager = BalanceManager(indexer, node, _NoMarkets(), address=DEMO)
        with pytest.raises(StaleAccountData, match="unreachable"):
            await manager.get_snapshot()


class _NoMarkets:
    """A flat account needs no market data; asking for it is a test failure."""

    def markets(self, tickers: object = None) -> dict[str, object]:
        raise AssertionError("market data requested for a flat account")


async def test_feed_when_subscribed_then_markets_snapshot_and_oracle_updates(
    devnet: object,
) -> None:
    feed = IndexerFeed(devnet.websocket_url, subscribe_interval_s=0)  # type: ignore[attr-defined]
    seen: list[object] = []

    async def read() -> None:
        async for event in feed.events([("BTC-USD", CandleResolution.ONE_MINUTE)]):
            seen.append(event)
            if any(isinstance(e, OraclePricesUpdate) for e in seen):
                return

    await asyncio.wait_for(read(), timeout=10)
    assert isinstance(seen[0], MarketsSnapshot)
    assert "BTC-USD" in seen[0].markets


async def test_market_data_manager_when_running_on_devnet_then_oracle_stays_fresh(
    devnet: object,
) -> None:
    indexer = IndexerGateway(devnet.indexer_url, retry=FAST)  # type: ignore[attr-defined]
    feed = IndexerFeed(devnet.websocket_url, subscribe_interval_s=0)  # type: ignore[attr-defined]
    manager = MarketDataManager(indexer, candles=indexer, feed=feed, max_oracle_age_s=2)
    runner = asyncio.create_task(manager.run([("BTC-USD", CandleResolution.ONE_MINUTE)]))
    try:
        for _ in range(200):
            await asyncio.sleep(0.05)
            if manager.stream_connected and manager.candles("BTC-USD", CandleResolution.ONE_MINUTE):
                break
        await asyncio.sleep(2.5)  # longer than the oracle age limit: only the stream keeps it fresh
        quote = manager.oracle_price("BTC-USD")
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
    assert quote.age_s < 2
    assert manager.stream_connected


async def test_cli_balance_and_markets_when_devnet_then_json_and_exit_zero(devnet: object) -> None:
    _buy_btc(devnet)
    await devnet.wait_blocks(2)  # type: ignore[attr-defined]
    runner = CliRunner()
    common = ["--indexer-url", devnet.indexer_url]  # type: ignore[attr-defined]
    balance = await asyncio.to_thread(
        runner.invoke,
        cli_app,
        ["balance", *common, "--grpc", devnet.grpc_address, "--json"],  # type: ignore[attr-defined]
    )
    assert balance.exit_code == 0, balance.output
    data = json.loads(balance.stdout)
    assert data["address"] == DEMO
    assert data["positions"][0]["market"] == "BTC-USD"
    assert Decimal(data["free_collateral"]) <= Decimal(data["free_collateral_indexer"])
    table = await asyncio.to_thread(
        runner.invoke,
        cli_app,
        ["balance", *common, "--grpc", devnet.grpc_address],  # type: ignore[attr-defined]
    )
    assert table.exit_code == 0, table.output
    assert "Positions" in table.stdout and "BTC-USD" in table.stdout
    listing = await asyncio.to_thread(runner.invoke, cli_app, ["markets", *common, "--json"])
    assert listing.exit_code == 0, listing.output
    btc = next(row for row in json.loads(listing.stdout) if row["ticker"] == "BTC-USD")
    assert Decimal(btc["max_leverage"]) > 1


async def test_follow_when_fill_on_devnet_then_next_snapshot_has_the_position(
    devnet: object,
) -> None:
    indexer = IndexerGateway(devnet.indexer_url, retry=FAST)  # type: ignore[attr-defined]
    market_data = MarketDataManager(indexer)
    await market_data.refresh()
    feed = IndexerFeed(devnet.websocket_url, subscribe_interval_s=0)  # type: ignore[attr-defined]
    async with await _node(devnet) as node:
        manager = BalanceManager(indexer, node, market_data, address=DEMO, ttl_s=60)
        follower = asyncio.create_task(manager.follow(feed))
        try:
            await asyncio.sleep(0.2)  # the subscription is in place
            before = await manager.get_snapshot()
            _buy_btc(devnet)
            # The order's first message (vulcan, at once) invalidates before the fill is
            # indexed; the block's message (ender) invalidates again with the position.
            after = before
            for _ in range(200):
                await asyncio.sleep(0.02)
                if manager.cached() is None:
                    after = await manager.get_snapshot()
                    if after.account.open_positions:
                        break
        finally:
            follower.cancel()
            await asyncio.gather(follower, return_exceptions=True)
    assert before.account.open_positions == ()
    assert after.account.position_size("BTC-USD") == Decimal("0.01")

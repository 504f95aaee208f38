"""The devnet's indexer bodies against real indexer payloads, key for key."""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from devnet_helpers import ALICE, BUY, GTT, SELL, USDC, on_tick, short_term

from dydx_devnet import views
from dydx_devnet.engine import DevnetEvent, Engine
from dydx_devnet.replay import to_ms
from dydx_devnet.subaccounts import Position

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "dydx"
STEP = 1_000_000

pytestmark = pytest.mark.skipif(not FIXTURES.is_dir(), reason="shared fixtures not present")


def _fixture(name: str) -> Any:
    data = json.loads((FIXTURES / name).read_text())
    return data["result"] if name.split("/")[-1].startswith("nt2025") else data


@pytest.fixture
def traded(engine: Engine) -> Engine:
    engine.deposit(ALICE, 0, 10_000 * USDC)
    engine.place_order(short_term(engine, BUY, 20 * STEP, on_tick(engine, "BTC-USD", 50)))
    engine.place_order(
        short_term(engine, SELL, 10 * STEP, on_tick(engine, "BTC-USD", -50), client_id=2)
    )
    engine.place_order(
        short_term(engine, BUY, STEP, on_tick(engine, "BTC-USD", -300), tif=GTT, client_id=3)
    )
    engine.advance_block()  # the indexer shows CheckTx fills once a block includes them
    return engine


def test_subaccount_when_funded_then_keys_match_real_subaccount(traded: Engine) -> None:
    real = _fixture("indexer_http/nt2024_subaccount.json")["subaccount"]

    body = views.subaccount(traded, ALICE, 0)

    assert body is not None
    ours = body["subaccount"]
    assert set(ours) == set(real)
    assert set(ours["openPerpetualPositions"]["BTC-USD"]) == set(
        real["openPerpetualPositions"]["ETH-USD"]
    )
    assert set(ours["assetPositions"]["USDC"]) == set(real["assetPositions"]["USDC"])
    assert isinstance(ours["subaccountNumber"], int)
    assert ours["marginEnabled"] is True


def test_subaccount_when_never_funded_then_none_for_404(engine: Engine) -> None:
    assert views.subaccount(engine, ALICE, 0) is None
    assert views.address(engine, ALICE) is None


def test_address_when_funded_then_keys_match_real_addresses(traded: Engine) -> None:
    real = _fixture("indexer_http/nt2024_addresses.json")

    body = views.address(traded, ALICE)

    assert body is not None and set(body) == set(real)


def test_orders_when_listed_then_keys_cover_real_order_and_list_is_bare(traded: Engine) -> None:
    real = _fixture("indexer_http/nt2024_order.json")

    rows = views.orders(traded, ALICE, 0)

    assert isinstance(rows, list) and len(rows) == 3
    assert set(rows[-1]) == set(real)
    assert views.order(traded, rows[0]["id"]) == rows[0]
    assert views.order(traded, "no-such-id") is None


def test_fills_when_listed_then_keys_match_real_fills(traded: Engine) -> None:
    real = _fixture("indexer_http/nt2025_http_get_fills.json")["fills"][0]

    body = views.fills(traded, ALICE, 0)

    assert set(body) == {"fills"}
    assert set(body["fills"][0]) == set(real)
    assert views.fills(traded, ALICE, 0, market="ETH-USD")["fills"] == []


def test_positions_and_assets_when_listed_then_keys_match_real(traded: Engine) -> None:
    real_positions = _fixture("indexer_http/nt2024_list_perpetual_positions.json")
    real_assets = _fixture("indexer_http/nt2024_asset_positions.json")

    positions = views.perpetual_positions(traded, ALICE, 0)
    assets = views.asset_positions(traded, ALICE, 0)

    assert set(positions["positions"][0]) == set(real_positions["positions"][0])
    assert set(assets["positions"][0]) == set(real_assets["positions"][0])


def test_markets_when_listed_then_keys_match_real_markets(engine: Engine) -> None:
    real = _fixture("indexer_http/nt2025_http_get_perpetual_markets.json")["markets"]["BTC-USD"]

    body = views.perpetual_markets(engine)

    assert body is not None
    btc = body["markets"]["BTC-USD"]
    assert set(btc) == set(real)
    for key in (
        "atomicResolution",
        "quantumConversionExponent",
        "stepBaseQuantums",
        "subticksPerTick",
        "trades24H",
    ):
        assert isinstance(btc[key], int)
    assert Decimal(btc["oraclePrice"]) == engine.markets["BTC-USD"].oracle_price
    assert views.perpetual_markets(engine, "NOPE-USD") is None
    single = views.perpetual_markets(engine, "ETH-USD")
    assert single is not None and list(single["markets"]) == ["ETH-USD"]


def test_height_time_orderbook_trades_when_read_then_keys_match_real(traded: Engine) -> None:
    assert set(views.height(traded)) == set(
        _fixture("indexer_http/nt2025_http_get_block_height.json")
    )
    assert set(views.time(traded)) == set(_fixture("indexer_http/nt2025_http_get_time.json"))
    book = views.orderbook(traded, "BTC-USD")
    real_book = _fixture("indexer_http/nt2025_http_get_orderbook.json")
    assert book is not None and set(book) == set(real_book)
    assert set(book["bids"][0]) == set(real_book["bids"][0])
    bids = [Decimal(level["price"]) for level in book["bids"]]
    asks = [Decimal(level["price"]) for level in book["asks"]]
    assert bids == sorted(bids, reverse=True) and asks == sorted(asks)
    assert bids[0] < asks[0]
    trades = views.trades(traded, "BTC-USD")
    real_trades = _fixture("indexer_http/nt2025_http_get_trades.json")
    assert trades is not None and set(trades["trades"][0]) == set(real_trades["trades"][0])


def test_candles_when_read_then_keys_match_real_and_newest_first(engine: Engine) -> None:
    real = _fixture("indexer_http/nt2025_http_get_candles.json")["candles"][0]

    body = views.candles(engine, "BTC-USD", "1HOUR", limit=5)

    assert body is not None
    rows = body["candles"]
    assert len(rows) == 5
    assert set(rows[0]) == set(real)
    starts = [row["startedAt"] for row in rows]
    assert starts == sorted(starts, reverse=True)
    assert views.candles(engine, "NOPE-USD", "1HOUR") is None
    with pytest.raises(ValueError, match="resolution"):
        views.candles(engine, "BTC-USD", "2HOURS")


def test_hourly_candles_when_before_genesis_then_equal_the_bundled_data(engine: Engine) -> None:
    assert engine.replay is not None
    shift = engine.replay.shift_ms
    body = views.candles(engine, "ETH-USD", "1HOUR", limit=3)
    assert body is not None
    complete = body["candles"][1]  # [0] is the partial current hour
    data_start = to_ms_iso(complete["startedAt"]) - shift
    row = _csv_row("ETH-USD", data_start)

    for key in ("open", "high", "low", "close"):
        assert Decimal(complete[key]) == Decimal(row[key])
    assert Decimal(complete["baseTokenVolume"]) == Decimal(row["base_volume"])


def test_replay_when_an_hour_passes_then_oracle_follows_the_candle_path() -> None:
    from devnet_helpers import make_engine

    engine = make_engine(block_time_s=1.0, speed=60.0)  # one minute per block
    seen = [engine.markets["ETH-USD"].oracle_price]
    for _ in range(60):
        engine.advance_block()
        seen.append(engine.markets["ETH-USD"].oracle_price)
    body = views.candles(engine, "ETH-USD", "1HOUR", limit=2)
    assert body is not None
    (hour, after) = [c for c in body["candles"] if c["startedAt"] >= "2026-01-01T00:00:00.000Z"][
        ::-1
    ]

    assert Decimal(hour["low"]) <= min(seen) and max(seen) <= Decimal(hour["high"])
    # The data jumps at the hour: the hour closes at its own close, the oracle at
    # the boundary is already the next hour's open.
    assert (seen[0], seen[-1]) == (Decimal(hour["open"]), Decimal(after["open"]))
    assert engine.replay is not None
    row = _csv_row("ETH-USD", to_ms_iso(hour["startedAt"]) - engine.replay.shift_ms)
    assert Decimal(hour["close"]) == Decimal(row["close"])
    assert len(set(seen)) > 30


def test_subaccount_channel_when_subscribed_then_snapshot_matches_real_shape(
    traded: Engine,
) -> None:
    real = json.loads((FIXTURES / "indexer_ws/nt2024_v4_accounts_subscribed.json").read_text())

    contents = views.subscribed_contents(traded, "v4_subaccounts", f"{ALICE}/0")

    assert set(contents) == set(real["contents"])
    assert set(contents["subaccount"]) == set(real["contents"]["subaccount"])
    # The resting short-term order is in the indexer's Redis only.
    assert [o["status"] for o in contents["orders"]] == ["BEST_EFFORT_OPENED"]


def test_other_channels_when_subscribed_then_snapshots_match_real_shapes(traded: Engine) -> None:
    ws = FIXTURES / "indexer_ws"
    real_height = json.loads((ws / "nt2024_v4_block_height_subscribed.json").read_text())
    real_candles = json.loads((ws / "nt2024_v4_candles_subscribed.json").read_text())
    real_book = json.loads((ws / "nt2024_v4_orderbook_snapshot.json").read_text())

    assert set(views.subscribed_contents(traded, "v4_block_height", None)) == set(
        real_height["contents"]
    )
    candles = views.subscribed_contents(traded, "v4_candles", "BTC-USD/1MIN")
    assert set(candles) == {"candles"}
    assert set(candles["candles"][0]) == set(real_candles["contents"]["candles"][0])
    book = views.subscribed_contents(traded, "v4_orderbook", "BTC-USD")
    assert set(book["asks"][0]) == set(real_book["contents"]["asks"][0])
    assert set(views.subscribed_contents(traded, "v4_markets", None)) == {"markets"}
    with pytest.raises(views.UnknownSubscription):
        views.subscribed_contents(traded, "v4_orderbook", "NOPE-USD")
    with pytest.raises(views.UnknownSubscription):
        views.subscribed_contents(traded, "v4_nothing", "x")


def test_subaccount_events_when_ioc_fills_then_messages_match_real_v3_shapes(
    engine: Engine, events: list[DevnetEvent]
) -> None:
    real = json.loads(
        (
            FIXTURES / "indexer_ws/nt2024_v4_accounts_channel_data_affiliate_rev_share.json"
        ).read_text()
    )["contents"]
    engine.deposit(ALICE, 0, 1_000 * USDC)

    engine.place_order(short_term(engine, BUY, STEP, on_tick(engine, "BTC-USD", 50)))
    optimistic = [e for e in events if e.channel == "v4_subaccounts"][-1]
    engine.advance_block()

    # At CheckTx only vulcan's placement; fills and positions come with the block.
    assert [o["status"] for o in optimistic.contents["orders"]] == ["BEST_EFFORT_OPENED"]
    assert "fills" not in optimistic.contents
    update = [e for e in events if e.channel == "v4_subaccounts"][-1]
    assert update.contents["blockHeight"] == str(engine.height)
    assert update.id == f"{ALICE}/0"
    assert set(update.contents) == {
        "fills",
        "perpetualPositions",
        "blockHeight",
        "orders",
        "assetPositions",
    }
    assert set(update.contents["fills"][0]) == set(real["fills"][0])
    assert set(update.contents["perpetualPositions"][0]) == set(real["perpetualPositions"][0])
    assert set(real["orders"][0]) <= set(update.contents["orders"][0])
    assert update.contents["orders"][0]["status"] == "FILLED"


def to_ms_iso(text: str) -> int:
    from datetime import datetime

    return to_ms(datetime.fromisoformat(text.replace("Z", "+00:00")))


def _csv_row(ticker: str, data_ms: int) -> dict[str, str]:
    from dydx_devnet.replay import from_ms

    wanted = from_ms(data_ms).strftime("%Y-%m-%dT%H:%M:%SZ")
    path = Path(__file__).resolve().parents[3] / "src" / "dydx_devnet" / "data"
    with (path / f"{ticker}-1HOUR.csv").open() as handle:
        for row in csv.DictReader(handle):
            if row["started_at"] == wanted:
                return row
    raise AssertionError(f"no {ticker} candle at {wanted}")


def test_trade_events_when_ioc_fills_then_match_real_trade_messages(
    engine: Engine, events: list[DevnetEvent]
) -> None:
    real = json.loads((FIXTURES / "indexer_ws/nt2024_v4_trades.json").read_text())["contents"]
    engine.deposit(ALICE, 0, 1_000 * USDC)

    engine.place_order(short_term(engine, BUY, STEP, on_tick(engine, "BTC-USD", 50)))

    (trade,) = [e for e in events if e.channel == "v4_trades"]
    assert trade.id == "BTC-USD"
    assert set(trade.contents["trades"][0]) == set(real["trades"][0])
    assert trade.contents["trades"][0]["side"] == "BUY"


def test_equity_and_free_collateral_when_position_open_then_exact_big_js_decimals(
    engine: Engine,
) -> None:
    engine.deposit(ALICE, 0, 90_461_932)  # 90.461932 USDC
    engine.set_oracle_price("ETH-USD", Decimal("2914.96253"))
    account = engine.state.subaccounts[(ALICE, 0)]
    account.positions["ETH-USD"] = Position("ETH-USD", "p", 3_000_000, 1, 0)  # 0.003 ETH
    engine.state.history.record_account(engine.height, account)

    body = views.subaccount(engine, ALICE, 0)

    assert body is not None
    # comlink: equity = USDC + size x oracle; free = equity - |size| x oracle x IMF (0.02)
    assert body["subaccount"]["equity"] == "99.20681959"
    assert body["subaccount"]["freeCollateral"] == "99.0319218382"


def test_fills_when_paged_and_filtered_then_comlink_pagination(engine: Engine) -> None:
    engine.deposit(ALICE, 0, 10_000 * USDC)
    heights = []
    for n in range(3):
        engine.place_order(
            short_term(engine, BUY, STEP, on_tick(engine, "BTC-USD", 50), client_id=10 + n)
        )
        engine.advance_block()
        heights.append(engine.height)

    first_page = views.fills(engine, ALICE, 0, limit=2, page=1)
    second_page = views.fills(engine, ALICE, 0, limit=2, page=2)
    early = views.fills(engine, ALICE, 0, created_before_or_at_height=heights[1])

    assert (first_page["pageSize"], first_page["totalResults"], first_page["offset"]) == (2, 3, 0)
    assert [f["createdAtHeight"] for f in first_page["fills"]] == [str(h) for h in heights[:2]]
    assert [f["createdAtHeight"] for f in second_page["fills"]] == [str(heights[2])]
    assert [f["createdAtHeight"] for f in early["fills"]] == [str(h) for h in heights[1::-1]]
    assert "pageSize" not in early

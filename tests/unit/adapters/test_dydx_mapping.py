"""mapping.py against every real payload of the shapes it reads, and broken ones."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from dydx_payloads import FIXTURES, load_fixture
from hypothesis import given, settings
from hypothesis import strategies as st

from dydx_trader.adapters.dydx import mapping
from dydx_trader.domain.errors import MalformedPayload
from dydx_trader.domain.market import MarketStatus, MarketType
from dydx_trader.domain.side import Side
from dydx_trader.domain.venue import (
    CandleResolution,
    CandlesSnapshot,
    CandleUpdate,
    IndexerOrderStatus,
    MarketPatch,
    MarketsSnapshot,
    OraclePricesUpdate,
)

# -- accounts ------------------------------------------------------------------------


def test_parse_subaccount_when_long_eth_then_signed_values_and_heights() -> None:
    account = mapping.parse_subaccount(load_fixture("indexer_http/nt2024_subaccount.json"))
    assert account.address == "dydx1kzsvkf2ghjqlysuffdkhcdctknl4rsvcx5hkm5"
    assert account.subaccount_number == 0
    assert account.usdc_balance == Decimal("90.461932")
    assert account.indexer_equity == Decimal("99.206819554")
    assert account.indexer_free_collateral == Decimal("98.7695751763")
    assert account.updated_at_height == 17933806
    assert account.latest_processed_block_height == 18164178
    position = account.position("ETH-USD")
    assert position is not None
    assert position.size == Decimal("0.003")
    assert position.entry_price == Decimal("3177.76666666666666666667")
    assert position.unrealized_pnl == Decimal("-0.78841244600000000000001")


def test_parse_subaccount_when_2025_envelope_body_then_flat_account() -> None:
    account = mapping.parse_subaccount(load_fixture("indexer_http/nt2025_http_get_subaccount.json"))
    assert account.open_positions == ()
    assert account.usdc_balance == Decimal("45.201296")
    assert account.latest_processed_block_height == 66624141


@pytest.mark.parametrize(
    ("relative", "usdc", "btc", "eth"),
    [
        (
            "indexer_ws/nt2024_v4_accounts_subscribed_negative_initial_margin.json",
            Decimal("-5768.816478"),
            Decimal("0.1036"),
            Decimal("-0.002"),
        ),
        (
            "indexer_ws/nt2024_v4_accounts_balance.json",
            Decimal("-5742.811799"),
            Decimal("0.1036"),
            Decimal("-0.007"),
        ),
    ],
)
def test_parse_subaccount_when_usdc_side_short_then_balance_negative_and_short_size_signed(
    relative: str, usdc: Decimal, btc: Decimal, eth: Decimal
) -> None:
    body = load_fixture(relative)
    account = mapping.parse_subaccount_object(body["contents"]["subaccount"])
    assert account.usdc_balance == usdc
    assert account.position_size("BTC-USD") == btc
    assert account.position_size("ETH-USD") == eth


def test_parse_subaccount_when_addresses_list_then_each_subaccount_parses() -> None:
    body = load_fixture("indexer_http/nt2024_addresses.json")
    accounts = [mapping.parse_subaccount_object(item) for item in body["subaccounts"]]
    assert [a.indexer_equity for a in accounts] == [Decimal("99.162959776")]


def test_parse_subaccount_when_ws_subscribed_snapshots_then_all_parse() -> None:
    for name in (
        "nt2024_v4_accounts_subscribed.json",
        "nt2024_v4_accounts_subscribed_best_effort_canceled.json",
    ):
        body = load_fixture(f"indexer_ws/{name}")
        account = mapping.parse_subaccount_object(body["contents"]["subaccount"])
        assert account.usdc_balance == Decimal("11.623325")


def _subaccount() -> dict[str, Any]:
    return copy.deepcopy(load_fixture("indexer_http/nt2024_subaccount.json"))


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("equity",), None, "equity"),
        (("equity",), "NaN", "equity"),
        (("freeCollateral",), "Infinity", "freeCollateral"),
        (("freeCollateral",), 98.7, "freeCollateral"),
        (("latestProcessedBlockHeight",), "18164178.5", "latestProcessedBlockHeight"),
        (("latestProcessedBlockHeight",), None, "latestProcessedBlockHeight"),
        (("updatedAtHeight",), True, "updatedAtHeight"),
        (("subaccountNumber",), "zero", "subaccountNumber"),
        (("openPerpetualPositions",), None, "openPerpetualPositions"),
        (("assetPositions", "USDC", "side"), "SIDEWAYS", "side"),
        (("assetPositions", "USDC", "size"), "-90.46", "size"),
        (("assetPositions", "USDC", "size"), "1e400", "size"),
        (("openPerpetualPositions", "ETH-USD", "size"), "nan", "size"),
        (("openPerpetualPositions", "ETH-USD", "size"), "-0.003", "side"),
        (("openPerpetualPositions", "ETH-USD", "entryPrice"), None, "entryPrice"),
        (("openPerpetualPositions", "ETH-USD", "market"), "BTC-USD", "market"),
    ],
)
def test_parse_subaccount_when_field_broken_then_malformed_payload_names_it(
    path: tuple[str, ...], value: object, field: str
) -> None:
    body = _subaccount()
    target = body["subaccount"]
    for key in path[:-1]:
        target = target[key]
    if value is None:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    with pytest.raises(MalformedPayload) as raised:
        mapping.parse_subaccount(body)
    assert raised.value.numbers.get("field") == field
    assert field in raised.value.message


def test_parse_subaccount_when_body_not_wrapped_then_malformed() -> None:
    with pytest.raises(MalformedPayload, match="subaccount"):
        mapping.parse_subaccount(_subaccount()["subaccount"])


def test_parse_subaccount_when_negative_entry_price_then_malformed_not_invalid_input() -> None:
    body = _subaccount()
    body["subaccount"]["openPerpetualPositions"]["ETH-USD"]["entryPrice"] = "-1"
    with pytest.raises(MalformedPayload, match="entry price"):
        mapping.parse_subaccount(body)


def test_parse_subaccount_when_no_usdc_asset_then_zero_balance() -> None:
    body = _subaccount()
    body["subaccount"]["assetPositions"] = {}
    assert mapping.parse_subaccount(body).usdc_balance == 0


def test_parse_perpetual_positions_when_listed_then_open_positions_signed() -> None:
    (position,) = mapping.parse_perpetual_positions(
        load_fixture("indexer_http/nt2024_list_perpetual_positions.json")
    )
    assert (position.market, position.size) == ("ETH-USD", Decimal("0.003"))
    assert position.unrealized_pnl == Decimal("-0.85556049500000000000001")


def test_parse_perpetual_positions_when_closed_position_then_skipped() -> None:
    body = copy.deepcopy(load_fixture("indexer_http/nt2024_list_perpetual_positions.json"))
    body["positions"][0]["status"] = "CLOSED"
    assert mapping.parse_perpetual_positions(body) == ()


def test_parse_asset_positions_when_usdc_long_then_balance() -> None:
    body = load_fixture("indexer_http/nt2024_asset_positions.json")
    assert mapping.parse_asset_positions(body) == Decimal("90.461932")


def test_parse_asset_positions_when_usdc_short_then_negative() -> None:
    body = copy.deepcopy(load_fixture("indexer_http/nt2024_asset_positions.json"))
    body["positions"][0]["side"] = "SHORT"
    assert mapping.parse_asset_positions(body) == Decimal("-90.461932")


# -- markets -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("relative", "count"),
    [
        ("indexer_http/nt2024_list_perpetual_markets.json", 125),
        ("indexer_http/nt2024_list_perpetual_markets_empty_oracle_price.json", 101),
        ("indexer_http/nt2024_list_perpetual_markets_v8.json", 1),
        ("indexer_http/nt2025_http_get_perpetual_markets.json", 3),
    ],
)
def test_parse_markets_when_real_listing_then_every_market_parses(
    relative: str, count: int
) -> None:
    markets = mapping.parse_markets(load_fixture(relative))
    assert len(markets) == count
    assert all(ticker == spec.ticker for ticker, spec in markets.items())


def test_parse_markets_when_null_oracle_price_then_none_and_not_tradable() -> None:
    markets = mapping.parse_markets(
        load_fixture("indexer_http/nt2024_list_perpetual_markets_empty_oracle_price.json")
    )
    unpriced = [spec for spec in markets.values() if spec.oracle_price is None]
    assert len(unpriced) == 1
    assert unpriced[0].status is MarketStatus.INITIALIZING
    assert not unpriced[0].is_tradable


def test_parse_markets_when_2025_sol_then_caps_and_sizes_exact() -> None:
    sol = mapping.parse_markets(
        load_fixture("indexer_http/nt2025_http_get_perpetual_markets.json")
    )["SOL-USD"]
    assert sol.oracle_price == Decimal("135.3")
    assert sol.open_interest_lower_cap == Decimal(40_000_000)
    assert sol.step_size == Decimal("0.1")
    assert sol.clob_pair_id == 5


def test_parse_markets_when_keyed_under_wrong_ticker_then_malformed() -> None:
    body = copy.deepcopy(load_fixture("indexer_http/nt2025_http_get_perpetual_markets.json"))
    body["markets"]["ETH-USD"]["ticker"] = "BTC-USD"
    with pytest.raises(MalformedPayload, match="listed under"):
        mapping.parse_markets(body)


@pytest.mark.parametrize(
    ("field", "value"),
    [("oraclePrice", "Infinity"), ("initialMarginFraction", "NaN"), ("atomicResolution", "x")],
)
def test_parse_markets_when_field_broken_then_malformed_names_field(field: str, value: str) -> None:
    body = copy.deepcopy(load_fixture("indexer_http/nt2025_http_get_perpetual_markets.json"))
    body["markets"]["BTC-USD"][field] = value
    with pytest.raises(MalformedPayload) as raised:
        mapping.parse_markets(body)
    assert raised.value.numbers.get("field") == field


def test_parse_markets_when_markets_missing_then_malformed() -> None:
    with pytest.raises(MalformedPayload, match="'markets' is missing"):
        mapping.parse_markets({"market": {}})


# -- websocket markets -----------------------------------------------------------------


def test_parse_markets_channel_when_subscribed_then_snapshot_of_all_markets() -> None:
    body = load_fixture("indexer_ws/nt2024_v4_markets_subscribed.json")
    events = mapping.parse_markets_channel(body["contents"])
    assert len(events) == 1
    snapshot = events[0]
    assert isinstance(snapshot, MarketsSnapshot)
    assert "AAVE-USD" in snapshot.markets


@pytest.mark.parametrize(
    ("relative", "ticker", "price"),
    [
        ("indexer_ws/nt2024_v4_markets_channel_data.json", "JASMY-USD", Decimal("0.02069413882")),
        ("indexer_ws/nt2024_v4_markets_oracle_price.json", "FTM-USD", Decimal("0.3866273177")),
    ],
)
def test_parse_markets_channel_when_oracle_prices_then_update_with_height(
    relative: str, ticker: str, price: Decimal
) -> None:
    (event,) = mapping.parse_markets_channel(load_fixture(relative)["contents"])
    assert isinstance(event, OraclePricesUpdate)
    (quote,) = event.prices
    assert (quote.ticker, quote.price) == (ticker, price)
    assert quote.effective_at_height is not None and quote.effective_at_height > 19_000_000
    assert quote.effective_at is not None and quote.effective_at.tzinfo is not None


def test_parse_markets_channel_when_trading_update_then_patch_of_present_fields() -> None:
    body = load_fixture("indexer_ws/nt2024_v4_markets_channel_data_v8.json")
    (patch,) = mapping.parse_markets_channel(body["contents"])
    assert isinstance(patch, MarketPatch)
    assert patch.ticker == "TRY-USD"
    assert patch.changes["market_type"] is MarketType.ISOLATED
    assert patch.changes["initial_margin_fraction"] == Decimal("0.01")
    assert patch.changes["open_interest_upper_cap"] == Decimal(1_000_000)
    assert patch.changes["clob_pair_id"] == 143


def test_parse_markets_channel_when_status_change_then_patch_applies_to_spec() -> None:
    markets = mapping.parse_markets(load_fixture("indexer_http/nt2024_list_perpetual_markets.json"))
    (patch,) = mapping.parse_markets_channel(
        load_fixture("indexer_ws/nt2024_v4_markets_cross.json")["contents"]
    )
    assert isinstance(patch, MarketPatch)
    updated = patch.apply_to(markets["FTM-USD"])
    assert updated.status is MarketStatus.FINAL_SETTLEMENT
    assert updated.open_interest == Decimal(564710)


def test_parse_markets_channel_when_partial_trading_update_then_only_that_field() -> None:
    (patch,) = mapping.parse_markets_channel(
        load_fixture("indexer_ws/nt2024_v4_markets_trading_data.json")["contents"]
    )
    assert isinstance(patch, MarketPatch)
    assert dict(patch.changes) == {"base_open_interest": Decimal(5100)}


@pytest.mark.parametrize(
    "contents",
    [
        {"oraclePrices": {"BTC-USD": {"oraclePrice": "NaN"}}},
        {"oraclePrices": {"BTC-USD": {"oraclePrice": "-5"}}},
        {"oraclePrices": {"BTC-USD": {"oraclePrice": 64000.5}}},
        {"trading": {"BTC-USD": {"stepBaseQuantums": 0}}},
        {"trading": {"BTC-USD": {"initialMarginFraction": "1.5"}}},
        {"trading": {"BTC-USD": {"status": "SLEEPING"}}},
        {"trading": ["BTC-USD"]},
    ],
)
def test_parse_markets_channel_when_update_broken_then_malformed(contents: object) -> None:
    with pytest.raises(MalformedPayload):
        mapping.parse_markets_channel(contents)


# -- orders and fills --------------------------------------------------------------------


def test_parse_orders_when_2024_list_then_ids_flags_and_heights_are_ints() -> None:
    (order,) = mapping.parse_orders(load_fixture("indexer_http/nt2024_orders.json"))
    assert order.client_id == 2043599281
    assert order.clob_pair_id == 1
    assert order.side is Side.BUY
    assert order.order_flags == 0
    assert order.good_til_block == 17933813
    assert order.total_filled == Decimal("0.003")
    assert order.remaining == 0


def test_parse_orders_when_2025_list_then_reduce_only_kept() -> None:
    orders = mapping.parse_orders(load_fixture("indexer_http/nt2025_http_get_orders.json"))
    assert [o.reduce_only for o in orders] == [True, False, False]
    assert orders[1].price == Decimal(1)


def test_parse_order_when_single_and_conditional_then_trigger_price_read() -> None:
    single = mapping.parse_order(load_fixture("indexer_http/nt2024_order.json"))
    conditional = mapping.parse_order(load_fixture("indexer_http/nt2024_conditional_order.json"))
    assert single.trigger_price is None
    assert conditional.trigger_price == Decimal("2791.9")
    assert conditional.order_type == "STOP_LIMIT"


def test_parse_orders_when_not_array_then_malformed() -> None:
    with pytest.raises(MalformedPayload, match="array"):
        mapping.parse_orders({"orders": []})


def test_parse_orders_when_statuses_listed_then_typed_enum_members() -> None:
    orders = mapping.parse_orders(load_fixture("indexer_http/nt2025_http_get_orders.json"))
    assert all(isinstance(order.status, IndexerOrderStatus) for order in orders)
    (order,) = mapping.parse_orders(load_fixture("indexer_http/nt2024_orders.json"))
    assert order.status is IndexerOrderStatus.FILLED


@pytest.mark.parametrize(
    ("field", "value"),
    [("clientId", "abc"), ("side", "UP"), ("size", "Infinity"), ("status", "MAYBE_FILLED")],
)
def test_parse_order_when_field_broken_then_malformed_names_field(field: str, value: str) -> None:
    body = copy.deepcopy(load_fixture("indexer_http/nt2024_order.json"))
    body[field] = value
    with pytest.raises(MalformedPayload) as raised:
        mapping.parse_order(body)
    assert raised.value.numbers.get("field") == field


@pytest.mark.parametrize(
    ("relative", "count"),
    [
        ("indexer_http/nt2024_fills.json", 2),
        ("indexer_http/nt2024_v4_fills.json", 1),
        ("indexer_http/nt2025_http_get_fills.json", 3),
    ],
)
def test_parse_fills_when_real_list_then_each_fill_typed(relative: str, count: int) -> None:
    fills = mapping.parse_fills(load_fixture(relative))
    assert len(fills) == count
    for fill in fills:
        assert fill.size > 0 and fill.price > 0
        assert fill.created_at.tzinfo is not None
        assert fill.created_at_height > 0


def test_parse_fills_when_first_2024_fill_then_exact_values() -> None:
    fill = mapping.parse_fills(load_fixture("indexer_http/nt2024_fills.json"))[0]
    assert fill.ticker == "ETH-USD"
    assert fill.price == Decimal("3178.5")
    assert fill.fee == Decimal("0.003179")
    assert fill.quote_amount == Decimal("6.3570")
    assert fill.created_at == datetime(2024, 8, 1, 7, 9, 25, 767000, tzinfo=UTC)


def test_parse_fill_when_size_negative_then_malformed() -> None:
    body = copy.deepcopy(load_fixture("indexer_http/nt2024_v4_fills.json"))
    body["fills"][0]["size"] = "-0.002"
    with pytest.raises(MalformedPayload, match="'size'"):
        mapping.parse_fills(body)


def test_parse_subaccounts_channel_when_every_update_fixture_then_parses() -> None:
    names = sorted(p.name for p in (FIXTURES / "indexer_ws").glob("nt2024_v4_accounts_*.json"))
    parsed = 0
    for name in names:
        body = load_fixture(f"indexer_ws/{name}")
        if body["type"] == "channel_data":
            mapping.parse_subaccounts_channel(body["contents"])
            parsed += 1
    assert parsed >= 10


def test_parse_subaccounts_channel_when_fills_then_fills_and_orders_and_height() -> None:
    update = mapping.parse_subaccounts_channel(
        load_fixture("indexer_ws/nt2024_v4_accounts_fills.json")["contents"]
    )
    assert [f.size for f in update.fills] == [Decimal("0.001"), Decimal("0.001")]
    assert update.fills[0].ticker == "ETH-USD"
    assert update.orders[0].status == "FILLED"
    assert update.block_height == 18794557


def test_parse_subaccounts_channel_when_expiry_then_partial_order_update() -> None:
    update = mapping.parse_subaccounts_channel(
        load_fixture("indexer_ws/nt2024_v4_accounts_channel_data_order_expired.json")["contents"]
    )
    (order,) = update.orders
    assert order.removal_reason == "ORDER_REMOVAL_REASON_EXPIRED"
    assert order.total_filled is None


def test_parse_subaccounts_channel_when_transfer_then_flagged() -> None:
    update = mapping.parse_subaccounts_channel(
        load_fixture("indexer_ws/nt2024_v4_accounts_channel_data_transfers.json")["contents"]
    )
    assert update.has_transfer
    assert not update.fills


# -- height and candles -------------------------------------------------------------------


def test_parse_height_when_rest_and_ws_then_int_heights() -> None:
    rest = mapping.parse_height(load_fixture("indexer_http/nt2025_http_get_block_height.json"))
    ws_snapshot = mapping.parse_height(
        load_fixture("indexer_ws/nt2024_v4_block_height_subscribed.json")["contents"]
    )
    ws_update = mapping.parse_height(
        load_fixture("indexer_ws/nt2024_v4_block_height_channel_data.json")["contents"]
    )
    assert rest.height == 66624132
    assert (ws_snapshot.height, ws_update.height) == (26543048, 26543049)


@pytest.mark.parametrize("height", ["-1", "12.5", 12.5, None, "NaN"])
def test_parse_height_when_bad_height_then_malformed(height: object) -> None:
    with pytest.raises(MalformedPayload):
        mapping.parse_height({"height": height, "time": "2025-12-08T16:11:59.450Z"})


def test_parse_candles_when_rest_newest_first_then_returned_oldest_first() -> None:
    candles = mapping.parse_candles(load_fixture("indexer_http/nt2025_http_get_candles.json"))
    assert [c.started_at.minute for c in candles] == [9, 10, 11]
    assert candles[-1].close == Decimal(89941)
    assert candles[0].resolution is CandleResolution.ONE_MINUTE
    assert candles[0].trades == 41


def test_parse_candles_channel_when_ws_snapshot_and_update_then_typed_events() -> None:
    snapshot_body = load_fixture("indexer_ws/nt2024_v4_candles_subscribed.json")
    snapshot = mapping.parse_candles_channel(
        snapshot_body["id"], snapshot_body["contents"], snapshot=True
    )
    assert isinstance(snapshot, CandlesSnapshot)
    assert snapshot.ticker == "ETH-USD"
    assert list(snapshot.candles) == sorted(snapshot.candles, key=lambda c: c.started_at)
    update_body = load_fixture("indexer_ws/nt2024_v4_candles_channel_data.json")
    update = mapping.parse_candles_channel(
        update_body["id"], update_body["contents"], snapshot=False
    )
    assert isinstance(update, CandleUpdate)
    assert update.candle.close == Decimal("3247.6")


def test_parse_candles_channel_when_candle_for_other_market_then_malformed() -> None:
    body = load_fixture("indexer_ws/nt2024_v4_candles_channel_data.json")
    with pytest.raises(MalformedPayload):
        mapping.parse_candles_channel("BTC-USD/1MIN", body["contents"], snapshot=False)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("high", "1"),
        ("close", "Infinity"),
        ("startedAt", "yesterday"),
        ("startedAt", "2025-12-08T16:11:00"),
        ("resolution", "2MIN"),
        ("trades", 4.5),
    ],
)
def test_parse_candle_when_field_broken_then_malformed(field: str, value: object) -> None:
    body = copy.deepcopy(load_fixture("indexer_http/nt2025_http_get_candles.json"))
    body["candles"][0][field] = value
    with pytest.raises(MalformedPayload):
        mapping.parse_candles(body)


def test_parse_when_payload_is_json_but_not_object_then_malformed_says_type() -> None:
    with pytest.raises(MalformedPayload, match="an array"):
        mapping.parse_subaccount(json.loads("[1, 2]"))
    with pytest.raises(MalformedPayload, match="null"):
        mapping.parse_height(None)


# -- never a crash: any JSON is either parsed or refused as MalformedPayload ----------

_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from(["NaN", "Infinity", "-0", "1e999", "--5", "²", "0.1", "LONG", "SHORT", "BUY"])
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=12,
)


def _mutate(data: st.DataObject, base: Any) -> Any:
    """``base`` with one leaf replaced, removed or retyped."""
    body = copy.deepcopy(base)
    target = body
    while True:
        keys = list(target) if isinstance(target, dict) else list(range(len(target)))
        if not keys:
            return body
        key = data.draw(st.sampled_from(keys))
        child = target[key]
        if isinstance(child, dict | list) and child and data.draw(st.booleans()):
            target = child
            continue
        if isinstance(target, dict) and data.draw(st.booleans()):
            del target[key]
        else:
            target[key] = data.draw(_json_values)
        return body


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_parsers_when_real_payload_mutated_then_parsed_or_malformed_never_crash(
    data: st.DataObject,
) -> None:
    parsers = [
        (mapping.parse_subaccount, "indexer_http/nt2024_subaccount.json"),
        (mapping.parse_orders, "indexer_http/nt2025_http_get_orders.json"),
        (mapping.parse_fills, "indexer_http/nt2024_fills.json"),
        (mapping.parse_candles, "indexer_http/nt2025_http_get_candles.json"),
        (mapping.parse_height, "indexer_http/nt2025_http_get_block_height.json"),
        (mapping.parse_markets, "indexer_http/nt2025_http_get_perpetual_markets.json"),
        (mapping.parse_markets_channel, "indexer_ws/nt2024_v4_markets_channel_data_v8.json"),
        (mapping.parse_subaccounts_channel, "indexer_ws/nt2024_v4_accounts_fills.json"),
    ]
    parse, relative = data.draw(st.sampled_from(parsers))
    base = load_fixture(relative)
    if "indexer_ws" in relative:
        base = base["contents"]
    body = _mutate(data, base)
    try:
        parse(body)
    except MalformedPayload:
        pass


@settings(max_examples=150, deadline=None)
@given(_json_values)
def test_parsers_when_arbitrary_json_then_malformed_never_crash(body: object) -> None:
    for parse in (
        mapping.parse_subaccount,
        mapping.parse_markets,
        mapping.parse_orders,
        mapping.parse_height,
    ):
        try:
            parse(body)
        except MalformedPayload:
            pass

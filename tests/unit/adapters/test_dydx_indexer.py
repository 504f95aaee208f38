"""IndexerGateway over real loopback HTTP against a scripted indexer."""

from __future__ import annotations

import socket
import time
from decimal import Decimal

import pytest
from dydx_payloads import load_fixture
from fake_indexer import FakeIndexer, Reply

from dydx_trader.adapters.dydx.indexer import IndexerGateway
from dydx_trader.adapters.dydx.retry import RetryPolicy
from dydx_trader.domain.errors import (
    InvalidInput,
    MalformedPayload,
    SubaccountNotFound,
    UnknownMarket,
    VenueFailure,
    VenueUnavailable,
    venue_failure,
)
from dydx_trader.domain.venue import CandleResolution

ADDRESS = "dydx1kzsvkf2ghjqlysuffdkhcdctknl4rsvcx5hkm5"
SUBACCOUNT_PATH = f"/v4/addresses/{ADDRESS}/subaccountNumber/0"
FAST = RetryPolicy(max_attempts=3, max_total_s=2.0, base_delay_s=0.01, max_delay_s=0.02)


def gateway(url: str, *, retry: RetryPolicy = FAST, timeout_s: float = 2.0) -> IndexerGateway:
    return IndexerGateway(url, timeout_s=timeout_s, retry=retry)


async def test_get_account_when_indexer_answers_then_snapshot_over_http() -> None:
    async with FakeIndexer() as indexer:
        indexer.script(
            SUBACCOUNT_PATH, Reply(body=load_fixture("indexer_http/nt2024_subaccount.json"))
        )
        account = await gateway(indexer.url).get_account(ADDRESS, 0)
    assert account.indexer_equity == Decimal("99.206819554")
    assert indexer.count(SUBACCOUNT_PATH) == 1


async def test_get_account_when_404_then_subaccount_not_found_without_retry() -> None:
    async with FakeIndexer() as indexer:
        indexer.script(
            SUBACCOUNT_PATH,
            Reply(404, {"errors": [{"msg": f"No subaccount found with address {ADDRESS}"}]}),
        )
        with pytest.raises(SubaccountNotFound, match="never funded"):
            await gateway(indexer.url).get_account(ADDRESS, 0)
    assert indexer.count(SUBACCOUNT_PATH) == 1


async def test_get_account_when_429_then_retry_after_honoured_and_second_answer_used() -> None:
    async with FakeIndexer() as indexer:
        indexer.script(
            SUBACCOUNT_PATH,
            Reply(429, {"errors": [{"msg": "Too many requests"}]}, headers={"Retry-After": "150"}),
            Reply(body=load_fixture("indexer_http/nt2024_subaccount.json")),
        )
        started = time.monotonic()
        account = await gateway(indexer.url).get_account(ADDRESS, 0)
        elapsed = time.monotonic() - started
    assert account.usdc_balance == Decimal("90.461932")
    assert indexer.count(SUBACCOUNT_PATH) == 2
    assert elapsed >= 0.15  # Retry-After is milliseconds on comlink


async def test_get_account_when_429_persists_then_venue_unavailable_after_attempt_cap() -> None:
    async with FakeIndexer() as indexer:
        indexer.script(SUBACCOUNT_PATH, Reply(429, {"errors": [{"msg": "slow down"}]}))
        with pytest.raises(VenueUnavailable, match="429") as raised:
            await gateway(indexer.url).get_account(ADDRESS, 0)
    assert raised.value.numbers["status"] == 429
    assert indexer.count(SUBACCOUNT_PATH) == FAST.max_attempts


async def test_get_account_when_retry_after_exceeds_budget_then_gives_up_at_once() -> None:
    async with FakeIndexer() as indexer:
        indexer.script(SUBACCOUNT_PATH, Reply(429, None, headers={"Retry-After": "60000"}))
        started = time.monotonic()
        with pytest.raises(VenueUnavailable):
            await gateway(indexer.url).get_account(ADDRESS, 0)
    assert time.monotonic() - started < 1.0
    assert indexer.count(SUBACCOUNT_PATH) == 1


async def test_read_when_retry_after_exceeds_budget_then_error_carries_it_as_transient() -> None:
    async with FakeIndexer() as indexer:
        indexer.script(SUBACCOUNT_PATH, Reply(429, None, headers={"Retry-After": "60000"}))
        with pytest.raises(VenueUnavailable) as raised:
            await gateway(indexer.url).get_account(ADDRESS, 0)
    assert raised.value.numbers["retry_after_ms"] == 60_000
    assert venue_failure(raised.value) is VenueFailure.TRANSIENT


async def test_read_when_5xx_persists_then_transient_and_4xx_then_definitive() -> None:
    async with FakeIndexer() as indexer:
        indexer.script("/v4/height", Reply(503, {"errors": [{"msg": "down"}]}))
        indexer.script("/v4/orders", Reply(403, {"errors": [{"msg": "forbidden"}]}))
        with pytest.raises(VenueUnavailable) as down:
            await gateway(indexer.url).get_height()
        with pytest.raises(VenueUnavailable, match="forbidden") as refused:
            await gateway(indexer.url).get_orders(ADDRESS, 0)
    assert venue_failure(down.value) is VenueFailure.TRANSIENT
    assert venue_failure(refused.value) is VenueFailure.DEFINITIVE
    assert indexer.count("/v4/orders") == 1  # a definitive answer is not retried


async def test_read_when_indexer_unreachable_then_transient() -> None:
    with pytest.raises(VenueUnavailable) as raised:
        await gateway(f"http://127.0.0.1:{_free_port()}").get_height()
    assert venue_failure(raised.value) is VenueFailure.TRANSIENT


async def test_get_account_when_5xx_then_retried_until_success() -> None:
    async with FakeIndexer() as indexer:
        indexer.script(
            SUBACCOUNT_PATH,
            Reply(503, {"errors": [{"msg": "down"}]}),
            Reply(500, None),
            Reply(body=load_fixture("indexer_http/nt2024_subaccount.json")),
        )
        account = await gateway(indexer.url).get_account(ADDRESS, 0)
    assert account.subaccount_number == 0
    assert indexer.count(SUBACCOUNT_PATH) == 3


async def test_get_account_when_400_then_not_retried_and_message_kept() -> None:
    async with FakeIndexer() as indexer:
        indexer.script(SUBACCOUNT_PATH, Reply(400, {"errors": [{"msg": "bad subaccount"}]}))
        with pytest.raises(VenueUnavailable, match="bad subaccount"):
            await gateway(indexer.url).get_account(ADDRESS, 0)
    assert indexer.count(SUBACCOUNT_PATH) == 1


async def test_get_account_when_body_not_json_then_malformed_payload() -> None:
    async with FakeIndexer() as indexer:
        indexer.script(SUBACCOUNT_PATH, Reply(raw="<html>gateway</html>"))
        with pytest.raises(MalformedPayload, match="invalid JSON"):
            await gateway(indexer.url).get_account(ADDRESS, 0)


async def test_get_account_when_body_has_absurdly_long_number_then_malformed_payload() -> None:
    async with FakeIndexer() as indexer:
        indexer.script(
            SUBACCOUNT_PATH, Reply(raw='{"subaccount": {"subaccountNumber": ' + "9" * 5000 + "}}")
        )
        with pytest.raises(MalformedPayload):
            await gateway(indexer.url).get_account(ADDRESS, 0)


async def test_get_account_when_equity_is_nan_then_malformed_payload_names_field() -> None:
    body = load_fixture("indexer_http/nt2024_subaccount.json")
    body["subaccount"]["equity"] = "NaN"
    async with FakeIndexer() as indexer:
        indexer.script(SUBACCOUNT_PATH, Reply(body=body))
        with pytest.raises(MalformedPayload, match="'equity'"):
            await gateway(indexer.url).get_account(ADDRESS, 0)


async def test_get_account_when_indexer_unreachable_then_venue_unavailable_quickly() -> None:
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(VenueUnavailable, match="unreachable"):
        await gateway(f"http://127.0.0.1:{port}").get_account(ADDRESS, 0)
    assert time.monotonic() - started < 2.5


async def test_get_account_when_indexer_hangs_then_deadline_ends_it() -> None:
    async with FakeIndexer() as indexer:
        indexer.script(SUBACCOUNT_PATH, Reply(body={}, delay_s=5))
        started = time.monotonic()
        with pytest.raises(VenueUnavailable):
            await gateway(
                indexer.url, retry=RetryPolicy(max_attempts=1), timeout_s=0.3
            ).get_account(ADDRESS, 0)
    assert time.monotonic() - started < 2.0


def test_gateway_when_built_then_official_client_timeout_is_ours_in_seconds() -> None:
    built = IndexerGateway("http://127.0.0.1:1", timeout_s=4.0)
    assert built._client.account.api_timeout == 4.0  # not the client's 3,000 s default


@pytest.mark.parametrize(
    "address",
    ["", "dydx1", "cosmos1kzsvkf2ghjqlysuffdkhcdctknl4rsvcx5hkm5", "dydx1../../v4/height"],
)
async def test_get_account_when_address_invalid_then_refused_before_any_request(
    address: str,
) -> None:
    async with FakeIndexer() as indexer:
        with pytest.raises(InvalidInput):
            await gateway(indexer.url).get_account(address, 0)
    assert indexer.requests == []


async def test_get_account_when_subaccount_number_out_of_range_then_invalid_input() -> None:
    with pytest.raises(InvalidInput):
        await gateway("http://127.0.0.1:1").get_account(ADDRESS, 128_001)


async def test_get_markets_when_listing_then_specs_by_ticker() -> None:
    async with FakeIndexer() as indexer:
        indexer.script(
            "/v4/perpetualMarkets",
            Reply(body=load_fixture("indexer_http/nt2025_http_get_perpetual_markets.json")),
        )
        markets = await gateway(indexer.url).get_markets()
    assert sorted(markets) == ["BTC-USD", "ETH-USD", "SOL-USD"]


async def test_get_market_when_ticker_unknown_then_unknown_market() -> None:
    async with FakeIndexer() as indexer:
        indexer.script(
            "/v4/perpetualMarkets", Reply(400, {"errors": [{"msg": "ticker not found"}]})
        )
        with pytest.raises(UnknownMarket, match="DOGE-EUR"):
            await gateway(indexer.url).get_market("DOGE-EUR")


async def test_get_market_when_ticker_has_path_characters_then_unknown_market_without_request() -> (
    None
):
    async with FakeIndexer() as indexer:
        with pytest.raises(UnknownMarket):
            await gateway(indexer.url).get_market("BTC-USD/../x")
    assert indexer.requests == []


async def test_get_fills_when_market_given_then_sent_as_market_not_ticker() -> None:
    async with FakeIndexer() as indexer:
        indexer.script("/v4/fills", Reply(body=load_fixture("indexer_http/nt2024_fills.json")))
        fills = await gateway(indexer.url).get_fills(ADDRESS, 0, market="ETH-USD", limit=10)
    assert len(fills) == 2
    (_, query) = indexer.requests[0]
    assert query["market"] == "ETH-USD"
    assert query["marketType"] == "PERPETUAL"
    assert "ticker" not in query


async def test_get_orders_when_listed_then_typed_orders() -> None:
    async with FakeIndexer() as indexer:
        indexer.script(
            "/v4/orders", Reply(body=load_fixture("indexer_http/nt2025_http_get_orders.json"))
        )
        orders = await gateway(indexer.url).get_orders(ADDRESS, 0, ticker="BTC-USD")
    assert [o.client_id for o in orders] == [1700756032, 2501724362, 426627592]
    assert indexer.requests[0][1]["ticker"] == "BTC-USD"


async def test_get_orders_when_good_til_block_window_given_then_sent_as_comlink_reads_it() -> None:
    async with FakeIndexer() as indexer:
        indexer.script("/v4/orders", Reply(body=load_fixture("indexer_http/nt2024_orders.json")))
        (order,) = await gateway(indexer.url).get_orders(
            ADDRESS,
            0,
            ticker="ETH-USD",
            limit=100,
            good_til_block_before_or_at=17933813,
            good_til_block_after=17933812,
        )
    assert order.client_id == 2043599281
    (_, query) = indexer.requests[0]
    assert query == {
        "address": ADDRESS,
        "subaccountNumber": "0",
        "ticker": "ETH-USD",
        "limit": "100",
        "goodTilBlockBeforeOrAt": "17933813",
        "goodTilBlockAfter": "17933812",
    }


async def test_get_orders_when_height_not_a_block_then_invalid_input_without_request() -> None:
    async with FakeIndexer() as indexer:
        with pytest.raises(InvalidInput):
            await gateway(indexer.url).get_orders(ADDRESS, 0, good_til_block_before_or_at=0)
    assert indexer.requests == []


async def test_get_order_when_known_then_order_and_when_404_then_none() -> None:
    order_id = "05009670-3fba-5ec7-8447-efb81a03cd9f"
    async with FakeIndexer() as indexer:
        indexer.script(
            f"/v4/orders/{order_id}", Reply(body=load_fixture("indexer_http/nt2024_orders.json")[0])
        )
        indexer.script(
            "/v4/orders/",
            Reply(404, {"errors": [{"msg": "Unable to find order with orderId: x"}]}),
        )
        found = await gateway(indexer.url).get_order(order_id)
        missing = await gateway(indexer.url).get_order("11111111-1111-5111-8111-111111111111")
    assert found is not None and found.order_id == order_id
    assert missing is None


async def test_get_order_when_id_not_a_uuid_then_invalid_input_without_request() -> None:
    async with FakeIndexer() as indexer:
        with pytest.raises(InvalidInput):
            await gateway(indexer.url).get_order("../addresses/x")
    assert indexer.requests == []


async def test_get_fills_when_height_given_then_created_before_or_at_height_sent() -> None:
    async with FakeIndexer() as indexer:
        indexer.script("/v4/fills", Reply(body=load_fixture("indexer_http/nt2024_fills.json")))
        await gateway(indexer.url).get_fills(
            ADDRESS, 0, market="ETH-USD", limit=100, created_before_or_at_height=17933813
        )
    assert indexer.requests[0][1]["createdBeforeOrAtHeight"] == "17933813"


async def test_get_height_when_answered_then_int_height() -> None:
    async with FakeIndexer() as indexer:
        indexer.script(
            "/v4/height", Reply(body=load_fixture("indexer_http/nt2025_http_get_block_height.json"))
        )
        height = await gateway(indexer.url).get_height()
    assert height.height == 66624132


async def test_get_candles_when_answered_then_oldest_first_and_resolution_sent() -> None:
    async with FakeIndexer() as indexer:
        indexer.script(
            "/v4/candles/perpetualMarkets/BTC-USD",
            Reply(body=load_fixture("indexer_http/nt2025_http_get_candles.json")),
        )
        candles = await gateway(indexer.url).get_candles(
            "BTC-USD", CandleResolution.ONE_MINUTE, limit=3
        )
    assert [c.close for c in candles] == [Decimal(90035), Decimal(89931), Decimal(89941)]
    assert indexer.requests[0][1] == {"resolution": "1MIN", "limit": "3"}


async def test_get_candles_when_limit_out_of_range_then_invalid_input() -> None:
    with pytest.raises(InvalidInput):
        await gateway("http://127.0.0.1:1").get_candles(
            "BTC-USD", CandleResolution.ONE_HOUR, limit=5000
        )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])

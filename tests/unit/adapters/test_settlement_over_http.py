"""Settlement through the real indexer adapter over loopback HTTP: a lost answer,
then 503s and a 429 with Retry-After, and the order still settles with its fills
(the real payloads of one filled ETH-USD IOC order, nt2024 fixtures)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from dydx_payloads import load_fixture
from fake_indexer import FakeIndexer, Reply

from dydx_trader.adapters.dydx.indexer import IndexerGateway
from dydx_trader.adapters.dydx.market_wire import parse_market
from dydx_trader.adapters.dydx.retry import RetryPolicy
from dydx_trader.adapters.journal import Journal
from dydx_trader.app.executor import OrderExecutor, Settlement
from dydx_trader.app.settlement import Settler
from dydx_trader.domain.broadcast import BroadcastOutcome, SignedOrder, Unknown
from dydx_trader.domain.errors import OrderOutcomeUnknown
from dydx_trader.domain.order import OrderFlags, OrderIntent, OrderState, TimeInForce
from dydx_trader.domain.side import Side

ADDRESS = "dydx1kzsvkf2ghjqlysuffdkhcdctknl4rsvcx5hkm5"
FAST = RetryPolicy(max_attempts=3, max_total_s=2.0, base_delay_s=0.01, max_delay_s=0.02)
# The fixture order: client id 2043599281 on ETH-USD (clob pair 1), 0.003 ETH, gtb 17933813.
ORDER = OrderIntent(
    signal_id="tv-eth-1",
    address=ADDRESS,
    subaccount_number=0,
    market="ETH-USD",
    clob_pair_id=1,
    side=Side.BUY,
    quantums=3_000_000,
    subticks=3_335_300_000,
    time_in_force=TimeInForce.IOC,
    reduce_only=False,
    order_flags=OrderFlags.SHORT_TERM,
    client_id=2043599281,
    good_til_block=17933813,
)


class LostAnswer:
    """A sender whose every broadcast goes out and whose answer never comes back."""

    def __init__(self) -> None:
        self.sent = 0

    def sign(self, intent: OrderIntent) -> SignedOrder:
        return SignedOrder(b"tx", "HASH")

    async def broadcast(self, signed: SignedOrder) -> BroadcastOutcome:
        self.sent += 1
        return Unknown(OrderOutcomeUnknown("no answer within the broadcast deadline"))


async def test_settle_when_answer_lost_then_503s_and_429_then_filled_with_its_fills(
    tmp_path: Path,
) -> None:
    eth = parse_market(
        load_fixture("indexer_http/nt2024_list_perpetual_markets.json")["markets"]["ETH-USD"]
    )
    journal = Journal.open(tmp_path / "journal.sqlite3", fsync=False)
    settled: list[Settlement] = []
    faults: list[Exception] = []
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        await asyncio.sleep(0)

    async with FakeIndexer() as indexer:
        indexer.script(
            "/v4/height",
            Reply(503, {"errors": [{"msg": "down"}]}),
            Reply(503, {"errors": [{"msg": "down"}]}),
            Reply(429, {"errors": [{"msg": "Too many requests"}]}, headers={"Retry-After": "1500"}),
            Reply(503, {"errors": [{"msg": "down"}]}),
            Reply(body={"height": "17933814", "time": "2024-08-01T07:09:40.000Z"}),
        )
        indexer.script("/v4/orders", Reply(body=load_fixture("indexer_http/nt2024_orders.json")))
        indexer.script("/v4/fills", Reply(body=load_fixture("indexer_http/nt2024_fills.json")))
        venue = IndexerGateway(indexer.url, timeout_s=2.0, retry=FAST)
        sender = LostAnswer()
        executor = OrderExecutor(sender, venue, journal, lambda _: eth)
        settler = Settler(
            executor,
            journal,
            confirm_timeout_s=60,
            clock=lambda: 0.0,
            on_settled=settled.append,
            on_unsettled=lambda intent, reason: None,
            on_fault=lambda intent, error: faults.append(error),
            poll_interval_s=0.01,
            sleep=sleep,
        )

        order = await executor.submit(ORDER)
        settler.follow(ORDER)
        await asyncio.wait_for(settler.settle_all(), timeout=30)
        await venue.close()

    assert order.state is OrderState.IN_FLIGHT_UNKNOWN and sender.sent == 1
    (settlement,) = settled
    assert settlement.order.state is OrderState.FILLED
    assert settlement.order.filled_quantums == 3_000_000
    assert sorted(str(f.size) for f in settlement.fills) == ["0.001", "0.002"]
    assert faults == []
    assert waits and waits[0] >= 1.5  # comlink's Retry-After is milliseconds
    assert indexer.count("/v4/height") == 5
    query = next(q for path, q in indexer.requests if path == "/v4/orders")
    assert query["goodTilBlockBeforeOrAt"] == "17933813" and query["ticker"] == "ETH-USD"

"""The engine lock: calls from many threads stay atomic and listeners cannot break calls."""

from __future__ import annotations

import threading

from devnet_helpers import BUY, SELL, USDC, make_engine, on_tick, short_term

from dydx_devnet import views
from dydx_devnet.engine import DevnetEvent, Engine

STEP = 1_000_000


def _trade(engine: Engine, owner: str, count: int, errors: list[BaseException]) -> None:
    try:
        for client_id in range(count):
            side = BUY if client_id % 2 == 0 else SELL
            with engine.lock:  # read height and price and place atomically (re-entrant)
                limit = on_tick(engine, "BTC-USD", 50 if side == BUY else -50)
                order = short_term(engine, side, STEP, limit, client_id=client_id, owner=owner)
                result = engine.place_order(order)
            assert result.code == 0, result
    except BaseException as exc:  # noqa: BLE001 - handed to the test thread
        errors.append(exc)


def test_orders_from_threads_when_blocks_advance_then_every_fill_is_accounted() -> None:
    engine = make_engine()
    owners = [f"dydx1thread{i}" for i in range(4)]
    for owner in owners:
        engine.deposit(owner, 0, 100_000 * USDC)
    errors: list[BaseException] = []
    threads = [
        threading.Thread(target=_trade, args=(engine, owner, 100, errors)) for owner in owners
    ]

    for thread in threads:
        thread.start()
    for _ in range(20):
        engine.advance_block()
    for thread in threads:
        thread.join()
    engine.advance_block()  # the last CheckTx fills are indexed with the next block

    assert errors == []
    for owner in owners:
        fills = views.fills(engine, owner, 0)["fills"]
        bought = sum(1 for f in fills if f["side"] == "BUY")
        sold = sum(1 for f in fills if f["side"] == "SELL")
        assert bought == sold == 50
        assert engine.state.subaccounts[(owner, 0)].position_quantums("BTC-USD") == 0


def test_listener_when_it_raises_then_the_call_still_succeeds(engine: Engine) -> None:
    seen: list[DevnetEvent] = []

    def broken(event: DevnetEvent) -> None:
        raise RuntimeError("subscriber bug")

    engine.add_listener(broken)
    engine.add_listener(seen.append)

    engine.deposit("dydx1someone", 0, 5 * USDC)
    engine.advance_block()

    assert views.subaccount(engine, "dydx1someone", 0) is not None
    assert any(e.channel == "v4_block_height" for e in seen)

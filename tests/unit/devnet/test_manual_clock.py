"""The manual clock: blocks on request, in the data's own time, the same for the same calls."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from importlib import resources
from typing import Any

import pytest
from devnet_helpers import ALICE, BUY, GTT, USDC, on_tick, short_term

from dydx_devnet import views
from dydx_devnet.clock import ClockModeError
from dydx_devnet.engine import DevnetEvent, Engine, EngineConfig
from dydx_devnet.replay import HOUR_MS, to_ms

START = datetime(2025, 1, 6, tzinfo=UTC)
MARKETS = ("BTC-USD", "ETH-USD", "ADA-USD")


def manual(**overrides: Any) -> Engine:
    settings: dict[str, Any] = {
        "seed": 7,
        "markets": MARKETS,
        "clock": "manual",
        "replay_start": START,
        "replay_days": 5,
    }
    settings.update(overrides)
    return Engine.create(EngineConfig(**settings))


def _csv_row(ticker: str, started: datetime) -> dict[str, str]:
    name = f"{ticker}-1HOUR.csv"
    text = resources.files("dydx_devnet").joinpath("data", name).read_text(encoding="utf-8")
    stamp = started.strftime("%Y-%m-%dT%H:%M:%SZ")
    return next(row for row in csv.DictReader(text.splitlines()) if row["started_at"] == stamp)


def test_manual_clock_when_created_then_genesis_is_the_datas_own_date() -> None:
    engine = manual()

    status = engine.clock.status()

    assert engine.block_time == START
    assert (status["mode"], status["height"], status["block_time"]) == (
        "manual",
        engine.height,
        "2025-01-06T00:00:00.000Z",
    )
    assert status["replay"] == {
        "start": "2025-01-06T00:00:00.000Z",
        "end": "2025-01-11T00:00:00.000Z",
        "finished": False,
        "shift_ms": 0,
    }
    assert set(status["markets"]) == {"BTC-USD", "ETH-USD"}
    assert status["markets"]["BTC-USD"]["first_candle"] == "2024-09-04T11:00:00.000Z"
    assert "SOL-USD" in status["bundled_markets"]


def test_manual_clock_when_default_window_then_starts_after_the_warm_up() -> None:
    engine = manual(replay_start=None, replay_days=None, warmup_days=30)

    assert engine.block_time == datetime(2024, 10, 5, tzinfo=UTC)  # first full day + 30


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"replay_start": datetime(2024, 9, 20, tzinfo=UTC)}, "too early"),
        ({"replay_days": 400}, "past the bundled data"),
        ({"replay_days": None, "replay_end": START}, "not after its start"),
        ({"markets": ("ADA-USD",)}, "no listed market"),
    ],
)
def test_manual_clock_when_window_cannot_be_replayed_then_value_error(
    overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        manual(**overrides)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"clock": "sundial"}, "clock must be one of"),
        ({"replay_days": 3}, "need clock='manual'"),
        ({"clock": "manual", "genesis_time": START}, "genesis_time"),
        ({"clock": "manual", "manual_block_s": 7}, "divide an hour"),
        ({"clock": "manual", "replay_start": datetime(2025, 1, 6)}, "timezone-aware"),
    ],
)
def test_engine_config_when_clock_settings_conflict_then_value_error(
    settings: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        EngineConfig(**settings)


def test_advance_to_when_an_hour_passes_then_prices_walk_the_candles_path_and_it_closes() -> None:
    engine = manual()
    seen: list[int] = []
    engine.add_listener(
        lambda e: (
            seen.append(engine.markets["ETH-USD"].price_value)
            if e.channel == "v4_block_height"
            else None
        )
    )

    state = engine.clock.advance_to(START + timedelta(hours=1))

    row = _csv_row("ETH-USD", START)
    market = engine.markets["ETH-USD"]
    as_values = {
        key: int(Decimal(row[key]).scaleb(-market.price_exponent)) for key in ("high", "low")
    }
    assert state.block_time == START + timedelta(hours=1) and state.blocks == len(seen)
    assert max(seen) == as_values["high"] and min(seen) == as_values["low"]
    assert 12 <= state.blocks <= 12 + 2 * 2  # the 5-minute grid plus the path's corners
    body = views.candles(engine, "ETH-USD", "1HOUR", limit=2)
    assert body is not None
    closed = body["candles"][1]
    assert closed["startedAt"] == "2025-01-06T00:00:00.000Z"
    for key in ("open", "high", "low", "close"):
        assert Decimal(closed[key]) == Decimal(row[key])


def test_advance_blocks_when_short_term_order_rests_then_it_expires_at_its_good_til_block() -> None:
    engine = manual()
    engine.deposit(ALICE, 0, 1_000 * USDC)
    gtb = engine.height + 3
    engine.place_order(
        short_term(
            engine, BUY, 1_000_000, on_tick(engine, "BTC-USD", -500), tif=GTT, good_til_block=gtb
        )
    )

    state = engine.clock.advance_blocks(3, block_seconds=1.5)

    (order,) = engine.state.orders_by_uuid.values()
    assert (state.height, state.blocks, order.status) == (gtb, 3, "CANCELED")
    assert order.removal_reason == "ORDER_REMOVAL_REASON_EXPIRED"
    assert views.orders(engine, ALICE, 0) == []  # never filled: never stored by the indexer
    assert state.block_time_ms == to_ms(START) + 4_500


def _session(engine: Engine) -> list[str]:
    """A fixed sequence of calls; every event as JSON."""
    log: list[str] = []
    engine.add_listener(lambda e: log.append(json.dumps([e.channel, e.id, e.contents])))
    engine.watch("v4_candles", "BTC-USD/1HOUR")
    engine.deposit(ALICE, 0, 5_000 * USDC)
    for hour in range(1, 7):
        engine.clock.advance_to(START + timedelta(hours=hour))
        side_ticks = 5 if hour % 2 else -5
        engine.place_order(
            short_term(
                engine,
                BUY if hour % 2 else 2,
                10_000_000,
                on_tick(engine, "BTC-USD", side_ticks),
                client_id=hour,
            )
        )
        engine.clock.advance_blocks(2, block_seconds=2)
    log.append(json.dumps(views.subaccount(engine, ALICE, 0)))
    log.append(json.dumps(views.fills(engine, ALICE, 0)))
    return log


def test_manual_clock_when_the_same_calls_are_replayed_then_the_same_chain_event_for_event() -> (
    None
):
    first, second = _session(manual()), _session(manual())

    assert first == second and len(first) > 100
    assert _session(manual(seed=8)) != first  # other price paths inside the hours


def test_advance_to_when_crossing_an_hour_then_v4_candles_sends_the_closed_candle_whole() -> None:
    engine = manual()
    engine.watch("v4_candles", "BTC-USD/1HOUR")
    events: list[DevnetEvent] = []
    engine.add_listener(events.append)

    engine.clock.advance_to(START + timedelta(hours=1, minutes=10))

    candles = [e.contents for e in events if e.channel == "v4_candles"]
    final = [c for c in candles if c["startedAt"] == "2025-01-06T00:00:00.000Z"][-1]
    row = _csv_row("BTC-USD", START)
    assert (Decimal(final["close"]), Decimal(final["high"])) == (
        Decimal(row["close"]),
        Decimal(row["high"]),
    )
    assert candles[-1]["startedAt"] == "2025-01-06T01:00:00.000Z"


def test_manual_clock_when_an_hour_passes_with_a_position_then_funding_is_paid() -> None:
    engine = manual()
    engine.deposit(ALICE, 0, 10_000 * USDC)
    engine.place_order(short_term(engine, BUY, 100_000_000, on_tick(engine, "BTC-USD", 50)))
    before = engine.state.subaccounts[(ALICE, 0)].usdc

    engine.clock.advance_to(START + timedelta(hours=1))

    assert engine.state.subaccounts[(ALICE, 0)].usdc < before  # longs pay a positive rate


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: c.advance_to(START - timedelta(hours=1)), "before the current block"),
        (lambda c: c.advance_to(datetime(2026, 1, 1, tzinfo=UTC)), "past the bundled data"),
        (lambda c: c.advance_to(START + timedelta(hours=1), block_seconds=7), "divide an hour"),
        (lambda c: c.advance_to(datetime(2025, 1, 7)), "timezone-aware"),
        (lambda c: c.advance_blocks(0), "1..10000"),
        (lambda c: c.advance_blocks(2, block_seconds=0), "block_seconds"),
    ],
)
def test_manual_clock_when_asked_the_impossible_then_value_error(call: Any, message: str) -> None:
    engine = manual()

    with pytest.raises(ValueError, match=message):
        call(engine.clock)
    assert engine.block_time == START


def test_timer_clock_when_asked_to_advance_then_clock_mode_error() -> None:
    engine = Engine.create(EngineConfig(markets=MARKETS, genesis_time=START))

    with pytest.raises(ClockModeError, match="timer clock"):
        engine.clock.advance_blocks(1)
    assert engine.clock.status()["mode"] == "timer"


def test_replay_when_the_window_end_is_reached_then_finished() -> None:
    engine = manual(replay_days=1)

    engine.clock.advance_to(START + timedelta(days=1) - timedelta(milliseconds=HOUR_MS // 2))
    assert not engine.replay_finished
    engine.clock.advance_to(START + timedelta(days=1))

    assert engine.replay_finished and engine.clock.status()["replay"]["finished"]

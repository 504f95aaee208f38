"""Fault bodies are checked strictly and whole; armed faults are used up one by one."""

from __future__ import annotations

from typing import Any

import pytest

from dydx_devnet.faults import Faults, IndexerFailure


class _Engine:
    def __init__(self) -> None:
        self.lag = 0
        self.fill_delay = 0

    def set_indexer_lag(self, blocks: int) -> None:
        self.lag = blocks

    def set_fill_delay(self, blocks: int) -> None:
        self.fill_delay = blocks


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "JSON object"),
        ({}, "JSON object"),
        ({"explode": 1}, "unknown fault 'explode'"),
        ({"hold_indexer": -3}, "hold_indexer"),
        ({"hold_indexer": 65}, r"hold_indexer must be a whole number of blocks in \[0, 64\]"),
        ({"hold_indexer": True}, "hold_indexer"),
        ({"delay_fills_blocks": 1.5}, "delay_fills_blocks"),
        ({"drop_next_broadcast_responses": "2"}, "drop_next_broadcast_responses"),
        ({"fail_next_broadcasts": 10**7}, "fail_next_broadcasts"),
        ({"delay_next_broadcast_responses": 3}, "delay_next_broadcast_responses"),
        ({"delay_next_broadcast_responses": {"count": 1, "seconds": 0}}, "seconds"),
        ({"fail_next_indexer_requests": {"count": 1, "route": "nope"}}, "route must be one of"),
        ({"fail_next_indexer_requests": {"count": 1, "status": 418}}, "status must be one of"),
        ({"fail_next_indexer_requests": {"count": 1, "status": "429"}}, "status"),
        ({"fail_next_indexer_requests": {"count": 1, "retry_after_ms": -1}}, "retry_after_ms"),
        ({"fail_next_indexer_requests": {"count": 1, "colour": "red"}}, "unknown field"),
        ({"fail_next_indexer_requests": {"route": "fills"}}, "count"),
        ({"latency": 100}, "latency must be"),
        ({"latency": {"ms": -1}}, "latency ms"),
        ({"latency": {"ms": 10, "jitter_ms": 60_001}}, "latency jitter_ms"),
        ({"latency": {"ms": 1.5}}, "whole milliseconds"),
    ],
)
def test_apply_when_body_is_bad_then_value_error_names_it(body: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Faults(_Engine()).apply(body)


def test_apply_when_one_key_is_bad_then_nothing_is_armed() -> None:
    engine = _Engine()
    faults = Faults(engine)
    before = faults.state()

    with pytest.raises(ValueError, match="hold_indexer"):
        faults.apply({"fail_next_broadcasts": 2, "delay_fills_blocks": 3, "hold_indexer": 999})

    assert faults.state() == before and (engine.lag, engine.fill_delay) == (0, 0)


def test_apply_when_every_fault_is_armed_then_state_shows_each() -> None:
    engine = _Engine()
    faults = Faults(engine)

    state = faults.apply(
        {
            "drop_next_broadcast_responses": 1,
            "fail_next_broadcasts": 2,
            "sequence_mismatch_next_broadcasts": 6,
            "delay_next_broadcast_responses": {"count": 3, "seconds": 1.5},
            "fail_next_indexer_requests": {"count": 4, "route": "fills", "status": 429},
            "hold_indexer": 5,
            "delay_fills_blocks": 2,
            "latency": {"ms": 100, "jitter_ms": 20},
        }
    )

    assert state == {
        "drop_next_broadcast_responses": 1,
        "fail_next_broadcasts": 2,
        "sequence_mismatch_next_broadcasts": 6,
        "delay_next_broadcast_responses": {"count": 3, "seconds": 1.5},
        "fail_next_indexer_requests": [
            {"route": "fills", "count": 4, "status": 429, "retry_after_ms": 1000}
        ],
        "hold_indexer": 5,
        "delay_fills_blocks": 2,
        "latency": {"ms": 100, "jitter_ms": 20},
    }
    assert (engine.lag, engine.fill_delay) == (5, 2)
    assert all(0.1 <= faults.latency.sample_s() <= 0.12 for _ in range(50))


def test_indexer_failures_when_armed_per_route_then_route_first_then_any() -> None:
    faults = Faults()
    faults.apply({"fail_next_indexer_requests": 1})
    faults.apply(
        {
            "fail_next_indexer_requests": {
                "count": 2,
                "route": "fills",
                "status": 429,
                "retry_after_ms": 250,
            }
        }
    )

    fills = [faults.consume_indexer_failure("fills") for _ in range(4)]
    orders = faults.consume_indexer_failure("orders")

    assert fills == [
        IndexerFailure(2, 429, 250),
        IndexerFailure(1, 429, 250),
        IndexerFailure(1, 503, 1000),
        None,
    ]
    assert orders is None and faults.state()["fail_next_indexer_requests"] == []


def test_broadcast_faults_when_consumed_then_each_fires_once() -> None:
    faults = Faults()
    faults.apply(
        {
            "drop_next_broadcast_responses": 1,
            "fail_next_broadcasts": 1,
            "delay_next_broadcast_responses": {"count": 1, "seconds": 2},
        }
    )

    first = (
        faults.consume_failed_broadcast(),
        faults.consume_dropped_broadcast_response(),
        faults.consume_response_delay(),
    )
    second = (
        faults.consume_failed_broadcast(),
        faults.consume_dropped_broadcast_response(),
        faults.consume_response_delay(),
    )

    assert first == (True, True, 2.0) and second == (False, False, 0.0)


def test_latency_when_seeded_then_the_same_jitter_sequence() -> None:
    from dydx_devnet.latency import Latency

    first, second = Latency(50, 40, seed=3), Latency(50, 40, seed=3)

    samples = [first.sample_s() for _ in range(20)]

    assert samples == [second.sample_s() for _ in range(20)]
    assert len(set(samples)) > 1 and Latency().sample_s() == 0.0

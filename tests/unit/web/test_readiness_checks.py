"""Readiness checks: each says why it fails; ready only when every one passes."""

from __future__ import annotations

from dydx_trader.app.readiness import Check, indexer_lag_check, is_ready, streams_check


def test_indexer_lag_check_when_unmeasured_or_too_far_then_fails_saying_why() -> None:
    assert indexer_lag_check(None, 10) == Check(
        "indexer_lag", False, "no balance read has measured the indexer yet"
    )
    assert indexer_lag_check(11, 10).detail == "11 blocks behind the chain (at most 10)"
    assert indexer_lag_check(10, 10).ok


def test_streams_check_when_one_down_then_names_it() -> None:
    assert streams_check(account=True, markets=False).detail == "markets stream not connected"
    assert streams_check(account=True, markets=True).ok


def test_is_ready_when_no_checks_or_one_failing_then_false() -> None:
    assert not is_ready([])
    assert not is_ready([Check("a", True), Check("b", False, "why")])
    assert is_ready([Check("a", True)])

"""retry_read's caps and network profiles' rules."""

from __future__ import annotations

import random

import pytest

from dydx_trader.adapters.dydx.network import NetworkName, network_profile
from dydx_trader.adapters.dydx.retry import RetryPolicy, TransientFailure, retry_read
from dydx_trader.domain.errors import InvalidInput, MalformedPayload, VenueUnavailable


class _FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _policy(**changes: float) -> RetryPolicy:
    values = {"max_attempts": 5, "max_total_s": 10.0, "base_delay_s": 0.5, "max_delay_s": 4.0}
    values.update(changes)
    return RetryPolicy(rng=random.Random(7), **values)  # type: ignore[arg-type]


async def test_retry_read_when_always_transient_then_stops_at_attempt_cap() -> None:
    clock = _FakeTime()
    calls = 0

    async def read() -> int:
        nonlocal calls
        calls += 1
        raise TransientFailure(VenueUnavailable("down"))

    with pytest.raises(VenueUnavailable, match="down"):
        await retry_read(
            read, _policy(max_attempts=4), sleep=clock.sleep, monotonic=clock.monotonic
        )
    assert calls == 4
    assert len(clock.sleeps) == 3


async def test_retry_read_when_time_budget_short_then_stops_before_attempt_cap() -> None:
    clock = _FakeTime()
    calls = 0

    async def read() -> int:
        nonlocal calls
        calls += 1
        clock.now += 1.0  # each attempt takes a second
        raise TransientFailure(VenueUnavailable("slow"))

    with pytest.raises(VenueUnavailable):
        await retry_read(
            read,
            _policy(max_attempts=100, max_total_s=3.0),
            sleep=clock.sleep,
            monotonic=clock.monotonic,
        )
    assert calls <= 3
    assert clock.now <= 3.0 + 1.0


async def test_retry_read_when_retry_after_given_then_waits_at_least_that() -> None:
    clock = _FakeTime()
    answers = [TransientFailure(VenueUnavailable("429"), retry_after=2.5)]

    async def read() -> str:
        if answers:
            raise answers.pop()
        return "ok"

    assert await retry_read(read, _policy(), sleep=clock.sleep, monotonic=clock.monotonic) == "ok"
    assert clock.sleeps[0] >= 2.5


async def test_retry_read_when_error_not_transient_then_raised_at_once() -> None:
    clock = _FakeTime()
    calls = 0

    async def read() -> int:
        nonlocal calls
        calls += 1
        raise MalformedPayload("bad")

    with pytest.raises(MalformedPayload):
        await retry_read(read, _policy(), sleep=clock.sleep, monotonic=clock.monotonic)
    assert calls == 1


def test_backoff_when_jittered_then_within_exponential_ceiling() -> None:
    policy = _policy()
    for attempt in range(1, 8):
        ceiling = min(policy.max_delay_s, policy.base_delay_s * 2 ** (attempt - 1))
        assert all(0 <= policy.backoff(attempt) <= ceiling for _ in range(50))


@pytest.mark.parametrize(
    "changes", [{"max_attempts": 0}, {"max_total_s": float("inf")}, {"base_delay_s": -1}]
)
def test_retry_policy_when_nonsense_then_invalid_input(changes: dict[str, float]) -> None:
    with pytest.raises(InvalidInput):
        _policy(**changes)


# -- network profiles -------------------------------------------------------------------


def test_network_profile_when_default_then_devnet_on_loopback() -> None:
    profile = network_profile()
    assert profile.name is NetworkName.DEVNET
    assert profile.indexer_url == "http://127.0.0.1:8080"
    assert profile.websocket_url == "ws://127.0.0.1:8080/v4/ws"
    assert profile.grpc_address == "127.0.0.1:9090"
    assert not profile.grpc_secure


@pytest.mark.parametrize(
    ("name", "indexer", "chain_id"),
    [
        ("testnet", "https://indexer.v4testnet.dydx.exchange", "dydx-testnet-4"),
        ("mainnet", "https://indexer.dydx.trade", "dydx-mainnet-1"),
    ],
)
def test_network_profile_when_public_network_then_official_tls_endpoints(
    name: str, indexer: str, chain_id: str
) -> None:
    profile = network_profile(name)
    assert profile.indexer_url == indexer
    assert profile.websocket_url.startswith("wss://")
    assert profile.grpc_secure
    assert profile.chain_id == chain_id


def test_network_profile_when_overridden_then_v4_suffix_trimmed_and_loopback_grpc_insecure() -> (
    None
):
    profile = network_profile(
        "devnet", indexer_url="http://127.0.0.1:9999/v4/", grpc_address="http://127.0.0.1:7000"
    )
    assert profile.indexer_url == "http://127.0.0.1:9999"
    assert profile.grpc_address == "127.0.0.1:7000"
    assert not profile.grpc_secure


def test_network_profile_when_remote_grpc_override_then_tls() -> None:
    assert network_profile("mainnet", grpc_address="dydx-grpc.publicnode.com:443").grpc_secure


@pytest.mark.parametrize(
    "override",
    [
        {"indexer_url": "http://indexer.dydx.trade"},
        {"websocket_url": "ws://indexer.dydx.trade/v4/ws"},
        {"indexer_url": "ftp://127.0.0.1"},
        {"grpc_address": "no-port"},
    ],
)
def test_network_profile_when_plain_text_to_remote_or_bad_url_then_invalid_input(
    override: dict[str, str],
) -> None:
    with pytest.raises(InvalidInput):
        network_profile("mainnet", **override)


def test_network_profile_when_unknown_name_then_invalid_input_lists_choices() -> None:
    with pytest.raises(InvalidInput, match="devnet, testnet, mainnet"):
        network_profile("moonnet")

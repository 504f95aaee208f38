"""OrderIntent: the chain's stateless rules, and the deterministic client id."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dydx_trader.domain.errors import InvalidInput
from dydx_trader.domain.order import (
    MAX_CLIENT_ID,
    OrderFlags,
    OrderIntent,
    TimeInForce,
    derive_client_id,
)
from kit.orders import ADDRESS, short_term_intent


def test_derive_client_id_when_called_twice_then_same_id() -> None:
    assert derive_client_id(ADDRESS, 0, "sig-1") == derive_client_id(ADDRESS, 0, "sig-1")


def test_derive_client_id_when_computed_then_first_four_bytes_of_sha256() -> None:
    digest = hashlib.sha256(f"{ADDRESS}|3|abc".encode()).digest()
    assert derive_client_id(ADDRESS, 3, "abc") == int.from_bytes(digest[:4], "big")


def test_derive_client_id_when_subaccount_signal_or_nonce_differ_then_ids_differ() -> None:
    base = derive_client_id(ADDRESS, 0, "sig-1")
    assert derive_client_id(ADDRESS, 1, "sig-1") != base
    assert derive_client_id(ADDRESS, 0, "sig-2") != base
    assert derive_client_id(ADDRESS, 0, "sig-1", nonce=1) != base


@settings(max_examples=200)
@given(signal_id=st.text(min_size=1, max_size=64), number=st.integers(0, 128_000))
def test_derive_client_id_when_any_signal_then_within_uint32(signal_id: str, number: int) -> None:
    assert 0 <= derive_client_id(ADDRESS, number, signal_id) <= MAX_CLIENT_ID


@pytest.mark.parametrize(
    ("address", "number", "signal_id", "nonce"),
    [
        ("", 0, "s", 0),
        (ADDRESS, -1, "s", 0),
        (ADDRESS, 128_001, "s", 0),
        (ADDRESS, 0, "", 0),
        (ADDRESS, 0, "s", -1),
        (ADDRESS, True, "s", 0),
    ],
)
def test_derive_client_id_when_input_is_bad_then_invalid_input(
    address: str, number: int, signal_id: str, nonce: int
) -> None:
    with pytest.raises(InvalidInput):
        derive_client_id(address, number, signal_id, nonce)


def test_intent_when_round_tripped_through_dict_then_equal() -> None:
    intent = short_term_intent(reduce_only=True)
    assert OrderIntent.from_dict(intent.to_dict()) == intent


def test_intent_when_long_term_then_needs_good_til_time_and_not_ioc() -> None:
    common = dict(short_term_intent().to_dict(), order_flags=64, good_til_block=None)
    with pytest.raises(InvalidInput, match="good_til_block_time"):
        OrderIntent.from_dict(dict(common, good_til_block_time=None, time_in_force="GTT"))
    with pytest.raises(InvalidInput, match="cannot be IOC"):
        OrderIntent.from_dict(dict(common, good_til_block_time=1_900_000_000))
    ok = OrderIntent.from_dict(
        dict(common, good_til_block_time=1_900_000_000, time_in_force="POST_ONLY")
    )
    assert ok.order_flags is OrderFlags.LONG_TERM and ok.time_in_force is TimeInForce.POST_ONLY


def test_intent_when_reduce_only_is_not_short_term_ioc_then_refused() -> None:
    data = dict(short_term_intent().to_dict(), reduce_only=True, time_in_force="GTT")
    with pytest.raises(InvalidInput, match="reduce-only"):
        OrderIntent.from_dict(data)


def test_intent_when_short_term_carries_good_til_time_then_refused() -> None:
    data = dict(short_term_intent().to_dict(), good_til_block_time=1_900_000_000)
    with pytest.raises(InvalidInput, match="good_til_block"):
        OrderIntent.from_dict(data)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("quantums", 0),
        ("subticks", 0),
        ("quantums", -5),
        ("client_id", 2**32),
        ("good_til_block", 0),
        ("order_flags", 32),
        ("time_in_force", "FOK"),
        ("quantums", 1.5),
        ("side", "LONG"),
        ("clob_pair_id", -1),
    ],
)
def test_intent_when_field_out_of_range_then_invalid_input(field: str, value: object) -> None:
    with pytest.raises(InvalidInput):
        OrderIntent.from_dict(dict(short_term_intent().to_dict(), **{field: value}))

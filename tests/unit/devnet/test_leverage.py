"""MsgUpdateLeverage and the Leverage query: the chain's checks, and the IMF it imposes."""

from __future__ import annotations

import pytest
from devnet_helpers import ALICE, BUY, USDC, long_term, on_tick, short_term, usdc_of
from v4_proto.dydxprotocol.clob.tx_pb2 import LeverageEntry, MsgUpdateLeverage
from v4_proto.dydxprotocol.subaccounts.subaccount_pb2 import SubaccountId

from dydx_devnet.engine import Engine

STEP = 1_000_000  # BTC-USD step base quantums


def leverage(*entries: tuple[int, int], owner: str = ALICE, number: int = 0) -> MsgUpdateLeverage:
    return MsgUpdateLeverage(
        subaccount_id=SubaccountId(owner=owner, number=number),
        clob_pair_leverage=[LeverageEntry(clob_pair_id=c, custom_imf_ppm=i) for c, i in entries],
    )


@pytest.fixture
def funded(engine: Engine) -> Engine:
    engine.deposit(ALICE, 0, 1_000 * USDC)
    return engine


def test_update_leverage_when_valid_then_query_answers_it_by_clob_pair(funded: Engine) -> None:
    result = funded.update_leverage(leverage((1, 200_000), (0, 500_000)))

    assert result.code == 0
    answer = funded.leverage_settings(ALICE, 0)
    assert [(e.clob_pair_id, e.custom_imf_ppm) for e in answer.clob_pair_leverage] == [
        (0, 500_000),
        (1, 200_000),
    ]
    assert funded.update_leverage(leverage((0, 250_000))).code == 0
    answer = funded.leverage_settings(ALICE, 0)
    assert [(e.clob_pair_id, e.custom_imf_ppm) for e in answer.clob_pair_leverage] == [
        (0, 250_000),
        (1, 200_000),
    ]


@pytest.mark.parametrize(
    ("message", "code", "codespace", "text"),
    [
        (MsgUpdateLeverage(), 11002, "clob", "subaccount ID cannot be empty"),
        (leverage(), 11002, "clob", "entries cannot be empty"),
        (leverage((0, 0)), 11002, "clob", "must be between (0, 1,000,000]"),
        (leverage((0, 1_000_001)), 11002, "clob", "must be between (0, 1,000,000]"),
        (leverage((0, 500_000), (0, 600_000)), 11002, "clob", "duplicate clob pair ID 0"),
        (leverage((9_999, 500_000)), 8, "clob", "clob pair ID 9999 does not exist"),
        (leverage((0, 500_000), number=128_001), 200, "subaccounts", "cannot exceed 128000"),
        (leverage((0, 10_000)), 701, "subaccounts", "less than minimum allowed imf (20000)"),
    ],
)
def test_update_leverage_when_invalid_then_chain_code(
    funded: Engine, message: MsgUpdateLeverage, code: int, codespace: str, text: str
) -> None:
    result = funded.update_leverage(message)

    assert (result.code, result.codespace) == (code, codespace)
    assert text in result.log
    assert funded.leverage_settings(ALICE, 0).clob_pair_leverage == []


def test_update_leverage_when_position_would_break_initial_margin_then_code_703(
    funded: Engine,
) -> None:
    market = funded.markets["BTC-USD"]
    steps = usdc_of(funded) * 10**9 * 2 // (market.oracle_subticks() * STEP)  # about 2x
    funded.place_order(short_term(funded, BUY, steps * STEP, on_tick(funded, "BTC-USD", 200)))
    assert funded.state.subaccounts[(ALICE, 0)].position_quantums("BTC-USD") > 0

    result = funded.update_leverage(leverage((0, 1_000_000)))  # 1x

    assert (result.code, result.codespace) == (703, "subaccounts")
    assert "violates margin requirements with new leverage" in result.log


def test_stateful_order_when_above_the_leverage_setting_then_code_3007(funded: Engine) -> None:
    market = funded.markets["BTC-USD"]
    steps = usdc_of(funded) * 10**9 * 3 // 2 // (market.oracle_subticks() * STEP)  # about 1.5x
    price = on_tick(funded, "BTC-USD", -5)
    assert funded.update_leverage(leverage((0, 1_000_000))).code == 0

    result = funded.place_order(long_term(funded, BUY, steps * STEP, price))

    assert result.code == 3007
    assert "NewlyUndercollateralized" in result.log

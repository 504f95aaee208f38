"""User-set leverage (chain v9.4+): ``MsgUpdateLeverage`` and the ``Leverage`` query.

A subaccount may set, per market, an initial margin fraction of its own
(``custom_imf_ppm``) that every collateral check then uses where it exceeds
the market's open-interest-scaled IMF: at the placement of a stateful order
(3007) and at every match (a taker is cancelled as UNDERCOLLATERALIZED, code 0).
MMR and liquidations ignore it.

Checks, in the chain's order (``x/clob/ante/rate_limit.go``,
``x/clob/types/leverage.go ValidateUpdateLeverageMsg``,
``x/subaccounts/keeper/leverage.go UpdateLeverage``):

1. no subaccount id or an empty owner: clob 11002;
2. the subaccount id: subaccounts 201 (owner not bech32) / 200 (number);
3. no entries, an IMF outside (0, 1_000_000] or a clob pair named twice: clob 11002;
   an unknown clob pair: clob 8;
4. an IMF below the market's base IMF (more leverage than allowed): subaccounts 701;
5. the subaccount must stay initially collateralized with the new settings
   (the chain checks with the new entries alone): subaccounts 703.

The setting is merged into the subaccount's map and applies from the next
CheckTx on, as the chain's check state does.
"""

from __future__ import annotations

from collections.abc import Callable

from v4_proto.dydxprotocol.clob import query_pb2 as clob_query
from v4_proto.dydxprotocol.clob.tx_pb2 import MsgUpdateLeverage

from dydx_devnet import codes
from dydx_devnet.codes import TxResult
from dydx_devnet.orders import MAX_SUBACCOUNT_NUMBER
from dydx_devnet.state import EngineState
from dydx_devnet.subaccounts import risk

ONE_MILLION = 1_000_000


class Leverage:
    """``MsgUpdateLeverage`` against the engine state (the engine holds its lock)."""

    def __init__(self, state: EngineState, owner_ok: Callable[[str], bool] = bool) -> None:
        self._state = state
        self._owner_ok = owner_ok

    def update(self, msg: MsgUpdateLeverage) -> TxResult:
        """The chain's answer to ``msg``; an accepted setting is stored at once."""
        if not msg.HasField("subaccount_id") or not msg.subaccount_id.owner:
            return codes.reject(codes.INVALID_LEVERAGE, "subaccount ID cannot be empty")
        owner, number = msg.subaccount_id.owner, msg.subaccount_id.number
        limited = self._state.rate_limits.leverage.consume(owner, self._state.height)
        if limited is not None:
            return limited
        if not self._owner_ok(owner):
            return codes.reject(
                codes.INVALID_SUBACCOUNT_OWNER,
                f"invalid SubaccountId Owner address ({owner})",
                codespace=codes.SUBACCOUNTS,
            )
        if number > MAX_SUBACCOUNT_NUMBER:
            return codes.reject(codes.INVALID_SUBACCOUNT_NUMBER, codespace=codes.SUBACCOUNTS)
        wanted, rejected = self._entries(msg)
        if rejected is not None:
            return rejected
        state = self._state
        by_id = sorted(wanted.items(), key=lambda entry: state.markets[entry[0]].clob_pair_id)
        for ticker, imf_ppm in by_id:  # the chain checks in perpetual id order
            market = state.markets[ticker]
            floor = market.spec.liquidity_tier.initial_margin_ppm
            if imf_ppm < floor:
                return codes.reject(
                    codes.LEVERAGE_EXCEEDS_MAXIMUM_SUBACCOUNTS,
                    f"{imf_ppm} is less than minimum allowed imf ({floor}) for perpetual "
                    f"{market.clob_pair_id} resulting in higher than allowed leverage",
                    codespace=codes.SUBACCOUNTS,
                )
        account = state.account_or_new(owner, number)
        after = risk(account, state.markets, custom_imf=wanted)
        if after.net_collateral < after.initial:
            return codes.reject(
                codes.LEVERAGE_VIOLATES_MARGIN,
                f"subaccount {owner}/{number} violates margin requirements with new leverage",
                codespace=codes.SUBACCOUNTS,
            )
        state.leverage_of(owner, number).update(wanted)
        return codes.OK

    def _entries(self, msg: MsgUpdateLeverage) -> tuple[dict[str, int], TxResult | None]:
        if not msg.clob_pair_leverage:
            return {}, codes.reject(
                codes.INVALID_LEVERAGE, "clob pair leverage entries cannot be empty"
            )
        wanted: dict[str, int] = {}
        seen: set[int] = set()
        for entry in msg.clob_pair_leverage:
            clob_pair_id, imf_ppm = entry.clob_pair_id, entry.custom_imf_ppm
            if imf_ppm == 0 or imf_ppm > ONE_MILLION:
                return {}, codes.reject(
                    codes.INVALID_LEVERAGE,
                    f"imf ppm for clob pair {clob_pair_id} must be between (0, 1,000,000]",
                )
            if clob_pair_id in seen:
                return {}, codes.reject(
                    codes.INVALID_LEVERAGE, f"duplicate clob pair ID {clob_pair_id}"
                )
            market = self._state.by_clob.get(clob_pair_id)
            if market is None:
                return {}, codes.reject(
                    codes.INVALID_CLOB, f"clob pair ID {clob_pair_id} does not exist"
                )
            seen.add(clob_pair_id)
            wanted[market.ticker] = imf_ppm
        return wanted, None

    def query(self, owner: str, number: int) -> clob_query.QueryLeverageResponse:
        """The ``Leverage`` query: the subaccount's settings by clob pair id (ascending)."""
        settings = self._state.leverage.get((owner, number), {})
        entries = sorted(
            (self._state.markets[ticker].clob_pair_id, imf) for ticker, imf in settings.items()
        )
        return clob_query.QueryLeverageResponse(
            clob_pair_leverage=[
                clob_query.ClobPairLeverageInfo(clob_pair_id=clob_pair_id, custom_imf_ppm=imf)
                for clob_pair_id, imf in entries
            ]
        )

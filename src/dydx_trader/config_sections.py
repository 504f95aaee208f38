"""The sections of ``dydx-trader.toml``: one pydantic model per ``[section]``.

Every field's description is its documentation (the example file repeats it).
Money and ratios are ``Decimal``; NaN and infinity are refused. Cross-field
rules live in the domain objects the sections build; :mod:`dydx_trader.config`
builds them once at load to check.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from dydx_trader.adapters.dydx.address import address_problem
from dydx_trader.adapters.dydx.network import NetworkName, NetworkProfile, network_profile
from dydx_trader.adapters.journal import default_journal_path
from dydx_trader.domain.account_terms import MAX_FEE_PPM, FeeTier
from dydx_trader.domain.errors import InvalidInput
from dydx_trader.domain.order_params import MAX_GOOD_TIL_BLOCK_OFFSET
from dydx_trader.domain.protection import (
    ExitRule,
    ExitRuleKind,
    ProtectionOrderType,
    ProtectionPolicy,
)
from dydx_trader.domain.sizing_policy import PolicyKind
from dydx_trader.domain.trading_state import KillSwitchLimits, TradingState

Dec = Annotated[Decimal, Field(allow_inf_nan=False)]
PositiveDec = Annotated[Decimal, Field(allow_inf_nan=False, gt=0)]
Fraction = Annotated[Decimal, Field(allow_inf_nan=False, ge=0, le=1)]
_TICKER = re.compile(r"[A-Z0-9]{1,20}-USD")


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _tickers(values: list[str] | None) -> list[str] | None:
    if values is None:
        return None
    cleaned = [value.strip().upper() for value in values]
    for ticker in cleaned:
        if not _TICKER.fullmatch(ticker):
            raise ValueError(f"{ticker[:24]!r} is not a market ticker like BTC-USD")
    return cleaned


class NetworkSettings(_Section):
    name: NetworkName = Field(
        default=NetworkName.DEVNET,
        description="devnet (embedded local stand-in, paper trading), testnet or mainnet.",
    )
    indexer_url: str | None = Field(default=None, description="Override the indexer REST URL.")
    websocket_url: str | None = Field(
        default=None, description="Override the indexer WebSocket URL."
    )
    grpc_address: str | None = Field(default=None, description="Override the node gRPC host:port.")

    def profile(self) -> NetworkProfile:
        """The endpoints to use (overrides checked: TLS required off loopback)."""
        return network_profile(
            self.name,
            indexer_url=self.indexer_url,
            websocket_url=self.websocket_url,
            grpc_address=self.grpc_address,
        )


class AccountSettings(_Section):
    address: str | None = Field(
        default=None, description="dydx1... address; omitted on devnet = the funded demo account."
    )
    subaccount_number: int = Field(
        default=0, ge=0, le=128_000, description="Subaccount, 0..128000."
    )
    authenticator_id: int | None = Field(
        default=None,
        ge=0,
        description=(
            "Permissioned key: id of the authenticator the bot key signs through (printed by "
            "`dydx-trader keys create-bot-key`); the key itself comes from "
            "DYDX_TRADER_BOT_KEY_FILE, never from this file."
        ),
    )

    @field_validator("address")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        problem = None if value is None else address_problem(value)
        if problem is not None:
            raise ValueError(f"not a dYdX address: {problem}")
        return value


class StrategySettings(_Section):
    name: str = Field(description="A strategy name (ema_cross, rsi_reversion, ...).")
    markets: list[str] = Field(
        default_factory=lambda: ["BTC-USD", "ETH-USD"], description="Markets it trades."
    )
    resolution: Literal["1MIN", "5MINS", "15MINS", "30MINS", "1HOUR", "4HOURS", "1DAY"] = Field(
        default="1HOUR", description="Candle resolution it reads."
    )
    params: dict[str, Any] = Field(default_factory=dict, description="Strategy parameters.")

    _check_markets = field_validator("markets")(_tickers)


class SizingSettings(_Section):
    kind: PolicyKind = Field(
        default=PolicyKind.EQUITY_FRACTION,
        description="fixed_notional, equity_fraction, fixed_risk or volatility_target.",
    )
    notional: PositiveDec | None = Field(
        default=None, description="USDC notional (fixed_notional)."
    )
    equity_fraction: PositiveDec | None = Field(
        default=Decimal("0.1"), description="Notional as a fraction of equity (equity_fraction)."
    )
    risk_fraction: PositiveDec | None = Field(
        default=None,
        description="Equity fraction risked to the stop / per ATR (fixed_risk, volatility).",
    )
    atr_multiple: PositiveDec = Field(
        default=Decimal(2), description="ATR multiple (volatility_target)."
    )
    scale_by_confidence: bool = Field(
        default=True, description="Multiply the size by the confidence."
    )


class RiskSettings(_Section):
    max_leverage: PositiveDec = Field(
        default=Decimal(5), le=50, description="Position leverage cap (x)."
    )
    max_exposure: PositiveDec = Field(
        default=Decimal(10), le=100, description="Gross notional / equity cap (x)."
    )
    max_market_notional: PositiveDec | None = Field(
        default=None, description="USDC cap on any one market's position (none if omitted)."
    )
    max_market_notional_by_market: dict[str, PositiveDec] = Field(
        default_factory=dict, description="Per-market USDC caps, overriding the one above."
    )
    free_collateral_buffer: Annotated[Decimal, Field(allow_inf_nan=False, ge=0)] = Field(
        default=Decimal(0), description="USDC of free collateral never used."
    )
    free_collateral_buffer_fraction: Fraction = Field(
        default=Decimal("0.05"), lt=1, description="Plus this fraction of equity never used."
    )

    @field_validator("max_market_notional_by_market")
    @classmethod
    def _markets(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        keys = _tickers(list(value)) or []
        return dict(zip(keys, value.values(), strict=True))


class ValidationSettings(_Section):
    min_confidence: Fraction = Field(
        default=Decimal("0.5"),
        description="Confidence needed, 0..1 (built-in strategies: 0.5 at their trigger).",
    )
    min_confidence_by_strategy: dict[str, Fraction] = Field(
        default_factory=dict, description="Per-strategy confidence thresholds."
    )
    allowed_markets: list[str] | None = Field(default=None, description="Only these (omit: all).")
    denied_markets: list[str] = Field(default_factory=list, description="Never these.")
    max_age_s: float = Field(
        default=120, gt=0, le=86_400, description="Oldest signal accepted (s)."
    )
    max_clock_skew_s: float = Field(
        default=5, ge=0, le=3600, description="Future-dating allowed (s)."
    )
    cooldown_s: float = Field(
        default=300, ge=0, le=86_400, description="Per-market gap after a trade."
    )
    rate_limit_per_minute: PositiveDec = Field(
        default=Decimal(6), description="Signals per minute."
    )
    rate_limit_burst: int = Field(default=3, ge=1, le=10_000, description="Burst allowance.")

    _check_markets = field_validator("allowed_markets", "denied_markets")(_tickers)


class TtlSettings(_Section):
    balance_ttl_s: float = Field(
        default=5, ge=1, le=60, description="Balance snapshot lifetime (s)."
    )
    market_ttl_s: float = Field(
        default=15, gt=0, le=3600, description="Market re-read interval (s)."
    )
    max_oracle_age_s: float = Field(
        default=30, gt=0, le=3600, description="Oldest oracle price (s)."
    )
    max_indexer_lag_blocks: int = Field(
        default=10, ge=0, le=1000, description="Indexer lag allowed."
    )


class ExecutionSettings(_Section):
    order_type: Literal["ioc", "limit", "post_only"] = Field(
        default="ioc", description="ioc (market-like, worst price), limit (GTT) or post_only."
    )
    slippage_bps: PositiveDec = Field(
        default=Decimal(50),
        le=2000,
        description="IOC worst price = oracle +/- this (basis points).",
    )
    good_til_block_offset: int = Field(
        default=10,
        ge=1,
        le=MAX_GOOD_TIL_BLOCK_OFFSET,
        description=f"Short-term orders live this many blocks (1..{MAX_GOOD_TIL_BLOCK_OFFSET}, "
        "inside the chain's window).",
    )
    send_timeout_s: float = Field(default=5, gt=0, le=60, description="Broadcast deadline (s).")
    confirm_timeout_s: float = Field(
        default=60, gt=0, le=600, description="Wait for the outcome (s)."
    )
    position_mode: Literal["target", "accumulate"] = Field(
        default="target",
        description="target: BUY = be long, SELL = be short (an opposite signal closes then "
        "opens; the same side again does nothing); accumulate: every signal adds.",
    )
    max_entries_per_market: int = Field(
        default=3,
        ge=1,
        le=100,
        description="accumulate: a position grows to at most this many entries' worth.",
    )
    taker_fee_ppm: int | None = Field(
        default=None,
        ge=0,
        le=MAX_FEE_PPM,
        description="Override the chain's fee tier: taker fee (ppm of notional) to size "
        "with; unset = the account's tier, read from the chain. Set both or neither.",
    )
    maker_fee_ppm: int | None = Field(
        default=None,
        ge=-MAX_FEE_PPM,
        le=MAX_FEE_PPM,
        description="Override the chain's fee tier: maker fee (ppm, negative = rebate).",
    )

    @model_validator(mode="after")
    def _both_fees_or_neither(self) -> ExecutionSettings:
        if (self.taker_fee_ppm is None) != (self.maker_fee_ppm is None):
            raise ValueError("set both taker_fee_ppm and maker_fee_ppm, or neither")
        return self

    def fee_override(self) -> FeeTier | None:
        """The configured fee tier, ``None`` when the chain's is to be read."""
        if self.taker_fee_ppm is None or self.maker_fee_ppm is None:
            return None
        return FeeTier("configured", self.taker_fee_ppm, self.maker_fee_ppm, "config")


class KillSwitchSettings(_Section):
    max_drawdown: Fraction = Field(
        default=Decimal("0.2"), gt=0, description="Peak-to-now equity drop."
    )
    drawdown_window_s: int = Field(
        default=86_400, gt=0, le=30_000_000, description="Window for the peak (s)."
    )
    max_consecutive_rejections: int = Field(default=5, ge=0, le=10_000, description="0 disables.")
    max_consecutive_unknown: int = Field(default=3, ge=0, le=10_000, description="0 disables.")
    trip_state: Literal["REDUCING", "FLATTENING", "HALTED"] = Field(
        default="HALTED",
        description="State on a trip (FLATTENING: close every position, then HALTED).",
    )

    def limits(self) -> KillSwitchLimits:
        return KillSwitchLimits(
            max_drawdown=self.max_drawdown,
            drawdown_window_s=self.drawdown_window_s,
            max_consecutive_rejections=self.max_consecutive_rejections,
            max_consecutive_unknown=self.max_consecutive_unknown,
            trip_state=TradingState(self.trip_state),
        )


class ProtectionSettings(_Section):
    enabled: bool = Field(
        default=True,
        description="Protect every entry that has levels (the signal's stop_loss / take_profit, "
        "or a default below) with a reduce-only stop-loss and take-profit on the chain.",
    )
    required: bool = Field(
        default=False, description="Refuse any entry that would have no stop-loss."
    )
    order_type: Literal["market", "limit"] = Field(
        default="market",
        description="market: IOC up to slippage_bps beyond the trigger; limit: IOC at the "
        "trigger price at worst (may not fill in a fast market).",
    )
    slippage_bps: PositiveDec = Field(
        default=Decimal(200), le=2000, description="Stop-market worst price past the trigger."
    )
    default_stop_pct: PositiveDec | None = Field(
        default=None, lt=100, description="Stop this % from the entry when a signal has none."
    )
    default_stop_atr: PositiveDec | None = Field(
        default=None, description="...or this many ATRs from the entry (one of the two)."
    )
    default_take_profit_pct: PositiveDec | None = Field(
        default=None, lt=100, description="Take-profit this % from the entry when none is given."
    )
    default_take_profit_atr: PositiveDec | None = Field(
        default=None, description="...or this many ATRs from the entry (one of the two)."
    )
    good_til_days: int = Field(
        default=28, ge=1, le=95, description="Protective orders' lifetime (renewed a day before)."
    )

    def policy(self) -> ProtectionPolicy:
        """The domain policy (raises ``InvalidInput`` naming a conflicting pair)."""
        return ProtectionPolicy(
            enabled=self.enabled,
            required=self.required,
            order_type=ProtectionOrderType(self.order_type),
            slippage=self.slippage_bps / Decimal(10_000),
            default_stop=_exit_rule("default_stop", self.default_stop_pct, self.default_stop_atr),
            default_take_profit=_exit_rule(
                "default_take_profit", self.default_take_profit_pct, self.default_take_profit_atr
            ),
            good_til_s=self.good_til_days * 86_400,
            refresh_before_s=min(86_400, self.good_til_days * 86_400 // 2),
        )

    @property
    def uses_atr(self) -> bool:
        """True when a default level is an ATR multiple (the trader then reads ATRs)."""
        return self.default_stop_atr is not None or self.default_take_profit_atr is not None


def _exit_rule(name: str, percent: Decimal | None, atr: Decimal | None) -> ExitRule | None:
    if percent is not None and atr is not None:
        raise InvalidInput(f"protection.{name}_pct and {name}_atr: give one of the two")
    if percent is not None:
        return ExitRule(ExitRuleKind.PERCENT, percent / 100)
    return None if atr is None else ExitRule(ExitRuleKind.ATR, atr)


class JournalSettings(_Section):
    path: Path | None = Field(default=None, description="SQLite file (default: user data dir).")

    def resolved_path(self) -> Path:
        return default_journal_path() if self.path is None else self.path.expanduser()


class HttpSettings(_Section):
    host: str = Field(default="127.0.0.1", description="Webhook bind address.")
    port: int = Field(default=8000, ge=1, le=65_535, description="Webhook port.")

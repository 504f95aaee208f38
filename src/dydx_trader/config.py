"""Configuration: one TOML file (``dydx-trader.toml``) plus environment overrides.

Every key, its unit and its default is documented in the field descriptions
below and in ``dydx-trader.example.toml`` at the repository root. Precedence:
environment > file > defaults. Environment variables are named
``DYDX_TRADER_<SECTION>__<KEY>`` (for example
``DYDX_TRADER_EXECUTION__SLIPPAGE_BPS=25``).

No file and no variables give the defaults: paper trading on the embedded
devnet. The mnemonic is never part of the configuration (see ``secrets.py``).
Money and ratios are ``Decimal`` (write them as strings in TOML to keep every
digit: ``max_leverage = "5"``); NaN and infinity are refused. A bad value
raises :class:`InvalidInput` naming the key.
"""

from __future__ import annotations

import os
import re
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from dydx_trader.adapters.dydx.network import NetworkName, NetworkProfile, network_profile
from dydx_trader.adapters.journal import default_journal_path
from dydx_trader.app.validation import ValidationConfig
from dydx_trader.domain.errors import DydxTraderError, InvalidInput
from dydx_trader.domain.pre_trade import RiskLimits
from dydx_trader.domain.sizing import SizingKind, SizingPolicy
from dydx_trader.domain.trading_state import KillSwitchLimits, TradingState
from dydx_trader.strategies import Strategy, build_strategy

CONFIG_FILE_NAME = "dydx-trader.toml"
CONFIG_PATH_ENV = "DYDX_TRADER_CONFIG"

Dec = Annotated[Decimal, Field(allow_inf_nan=False)]
PositiveDec = Annotated[Decimal, Field(allow_inf_nan=False, gt=0)]
Fraction = Annotated[Decimal, Field(allow_inf_nan=False, ge=0, le=1)]
_TICKER = re.compile(r"[A-Z0-9]{1,20}-USD")
_ADDRESS = re.compile(r"dydx1[02-9ac-hj-np-z]{38,58}")
_SECRET_WORDS = ("mnemonic", "private_key", "privkey", "seed")


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
        if value is not None and not _ADDRESS.fullmatch(value):
            raise ValueError("must be a dydx1... bech32 address")
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
    kind: SizingKind = Field(
        default=SizingKind.EQUITY_FRACTION,
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
    min_confidence: Fraction = Field(default=Decimal("0.6"), description="Confidence needed, 0..1.")
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
        le=20,
        description="Short-term orders live this many blocks (chain max 20).",
    )
    send_timeout_s: float = Field(default=5, gt=0, le=60, description="Broadcast deadline (s).")
    confirm_timeout_s: float = Field(
        default=60, gt=0, le=600, description="Wait for the outcome (s)."
    )


class KillSwitchSettings(_Section):
    max_drawdown: Fraction = Field(
        default=Decimal("0.2"), gt=0, description="Peak-to-now equity drop."
    )
    drawdown_window_s: int = Field(
        default=86_400, gt=0, le=30_000_000, description="Window for the peak (s)."
    )
    max_consecutive_rejections: int = Field(default=5, ge=0, le=10_000, description="0 disables.")
    max_consecutive_unknown: int = Field(default=3, ge=0, le=10_000, description="0 disables.")
    trip_state: Literal["REDUCING", "HALTED"] = Field(
        default="HALTED", description="State on a trip."
    )

    def limits(self) -> KillSwitchLimits:
        return KillSwitchLimits(
            max_drawdown=self.max_drawdown,
            drawdown_window_s=self.drawdown_window_s,
            max_consecutive_rejections=self.max_consecutive_rejections,
            max_consecutive_unknown=self.max_consecutive_unknown,
            trip_state=TradingState(self.trip_state),
        )


class JournalSettings(_Section):
    path: Path | None = Field(default=None, description="SQLite file (default: user data dir).")

    def resolved_path(self) -> Path:
        return default_journal_path() if self.path is None else self.path.expanduser()


class HttpSettings(_Section):
    host: str = Field(default="127.0.0.1", description="Web UI / webhook bind address.")
    port: int = Field(default=8000, ge=1, le=65_535, description="Web UI / webhook port.")


class Settings(BaseSettings):
    """The whole configuration. Build with :func:`load_config`."""

    model_config = SettingsConfigDict(
        env_prefix="DYDX_TRADER_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    network: NetworkSettings = Field(default_factory=NetworkSettings)
    account: AccountSettings = Field(default_factory=AccountSettings)
    strategies: list[StrategySettings] = Field(
        # The paper demo's default: two simple strategies that trade a few times a week.
        default_factory=lambda: [
            StrategySettings(name=name, markets=["BTC-USD", "ETH-USD", "SOL-USD"])
            for name in ("ema_cross", "rsi_reversion")
        ]
    )
    sizing: SizingSettings = Field(default_factory=SizingSettings)
    risk: RiskSettings = Field(default_factory=RiskSettings)
    validation: ValidationSettings = Field(default_factory=ValidationSettings)
    ttl: TtlSettings = Field(default_factory=TtlSettings)
    execution: ExecutionSettings = Field(default_factory=ExecutionSettings)
    kill_switch: KillSwitchSettings = Field(default_factory=KillSwitchSettings)
    journal: JournalSettings = Field(default_factory=JournalSettings)
    http: HttpSettings = Field(default_factory=HttpSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The file's values arrive as init arguments; the environment wins over them.
        return (env_settings, init_settings)

    @property
    def paper(self) -> bool:
        """True on the devnet: paper trading, no secret needed."""
        return self.network.name is NetworkName.DEVNET

    def risk_limits(self, market: str | None = None) -> RiskLimits:
        """The caps for ``market`` (its own notional cap if configured)."""
        cap = self.risk.max_market_notional_by_market.get(
            market or "", self.risk.max_market_notional
        )
        return RiskLimits(
            max_leverage=self.risk.max_leverage,
            max_exposure=self.risk.max_exposure,
            max_market_notional=cap,
            free_collateral_buffer=self.risk.free_collateral_buffer,
            free_collateral_buffer_fraction=self.risk.free_collateral_buffer_fraction,
        )

    def sizing_policy(self) -> SizingPolicy:
        s = self.sizing
        return SizingPolicy(
            kind=s.kind,
            notional=s.notional,
            equity_fraction=s.equity_fraction,
            risk_fraction=s.risk_fraction,
            atr_multiple=s.atr_multiple,
            scale_by_confidence=s.scale_by_confidence,
        )

    def build_strategies(self) -> tuple[tuple[Strategy, StrategySettings], ...]:
        """Each configured strategy built with its parameters, with its settings."""
        built = []
        for index, entry in enumerate(self.strategies):
            try:
                built.append((build_strategy(entry.name, entry.params), entry))
            except DydxTraderError as error:
                raise InvalidInput(
                    f"config key strategies[{index}] ({entry.name[:40]}): {error.message}",
                    field=f"strategies[{index}]",
                ) from None
        return tuple(built)

    def validation_config(self) -> ValidationConfig:
        from datetime import timedelta

        v = self.validation
        return ValidationConfig(
            min_confidence=v.min_confidence,
            min_confidence_by_strategy=dict(v.min_confidence_by_strategy),
            allowed_markets=None if v.allowed_markets is None else frozenset(v.allowed_markets),
            denied_markets=frozenset(v.denied_markets),
            max_age=timedelta(seconds=v.max_age_s),
            max_clock_skew=timedelta(seconds=v.max_clock_skew_s),
            cooldown=timedelta(seconds=v.cooldown_s),
            rate_limit_per_minute=v.rate_limit_per_minute,
            rate_limit_burst=v.rate_limit_burst,
        )


def discover_config_path() -> Path | None:
    """``$DYDX_TRADER_CONFIG``, else ``./dydx-trader.toml`` if it exists, else None."""
    named = os.environ.get(CONFIG_PATH_ENV)
    if named:
        return Path(named)
    local = Path(CONFIG_FILE_NAME)
    return local if local.is_file() else None


def load_config(path: Path | None = None) -> Settings:
    """The settings from ``path`` (None: defaults) with environment overrides applied.

    Raises :class:`InvalidInput` naming the file and key on any problem; the
    message never repeats a text value from the file (it could be a secret
    pasted in the wrong place).
    """
    data: dict[str, Any] = {}
    if path is not None:
        try:
            with open(path, "rb") as handle:
                data = tomllib.load(handle)
        except FileNotFoundError:
            raise InvalidInput(f"config file {path} does not exist", field="config") from None
        except OSError as error:
            raise InvalidInput(f"cannot read config file {path}: {error.strerror}") from None
        except tomllib.TOMLDecodeError as error:
            raise InvalidInput(f"config file {path} is not valid TOML: {error}") from None
        _refuse_secrets(data, path)
    try:
        settings = Settings(**data)
        # Cross-field rules live in the domain objects: build them once to check.
        settings.network.profile()
        settings.sizing_policy()
        settings.validation_config()
        settings.risk_limits()
        settings.build_strategies()
    except ValidationError as error:
        raise InvalidInput(_describe(error, path), field="config") from None
    except DydxTraderError as error:
        where = f"config file {path}" if path else "config"
        message = error.message.removeprefix("config ")
        raise InvalidInput(f"{where}: {message}", field="config") from None
    return settings


def _refuse_secrets(data: object, path: Path, prefix: str = "") -> None:
    if isinstance(data, dict):
        for key, value in data.items():
            name = f"{prefix}{key}"
            if any(word in str(key).lower() for word in _SECRET_WORDS):
                raise InvalidInput(
                    f"config file {path}: key {name!r} looks like a secret; secrets are never "
                    "read from the config. Use DYDX_TRADER_MNEMONIC_FILE (a chmod 600 file).",
                    field=name,
                )
            _refuse_secrets(value, path, f"{name}.")


def _describe(error: ValidationError, path: Path | None) -> str:
    where = f"config file {path}" if path else "config"
    lines = []
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"]) or "(root)"
        value = item.get("input")
        shown = ""
        # Echo numbers only: a text value could be a secret in the wrong place.
        if isinstance(value, int | float | Decimal) and item["type"] != "extra_forbidden":
            shown = f" (got {value})"
        message = (
            "unknown key"
            if item["type"] == "extra_forbidden"
            else item["msg"].removeprefix("Value error, ")
        )
        lines.append(f"key {key}: {message}{shown}")
    return f"{where}: " + "; ".join(lines)

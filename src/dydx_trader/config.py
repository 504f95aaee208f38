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
import tomllib
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from dydx_trader.adapters.dydx.network import NetworkName
from dydx_trader.app.validation import ValidationConfig
from dydx_trader.config_sections import (
    AccountSettings,
    ExecutionSettings,
    HttpSettings,
    JournalSettings,
    KillSwitchSettings,
    NetworkSettings,
    ProtectionSettings,
    RiskSettings,
    SizingSettings,
    StrategySettings,
    TtlSettings,
    ValidationSettings,
)
from dydx_trader.domain.errors import DydxTraderError, InvalidInput
from dydx_trader.domain.pre_trade import RiskLimits
from dydx_trader.domain.sizing_policy import SizingPolicy
from dydx_trader.strategies import Strategy, build_strategy

CONFIG_FILE_NAME = "dydx-trader.toml"
CONFIG_PATH_ENV = "DYDX_TRADER_CONFIG"
DEMO_MARKETS = ("BTC-USD", "ETH-USD", "SOL-USD")
DEMO_STRATEGY_NAMES = ("ema_cross", "rsi_reversion")
_SECRET_WORDS = ("mnemonic", "private_key", "privkey", "seed")

__all__ = [
    "AccountSettings",
    "ExecutionSettings",
    "HttpSettings",
    "JournalSettings",
    "KillSwitchSettings",
    "NetworkSettings",
    "ProtectionSettings",
    "RiskSettings",
    "Settings",
    "SizingSettings",
    "StrategySettings",
    "TtlSettings",
    "ValidationSettings",
    "discover_config_path",
    "load_config",
]


def demo_strategies() -> list[StrategySettings]:
    """The paper demo's strategies: two simple ones that trade a few times a week."""
    return [StrategySettings(name=name, markets=list(DEMO_MARKETS)) for name in DEMO_STRATEGY_NAMES]


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
    strategies: list[StrategySettings] = Field(default_factory=demo_strategies)
    sizing: SizingSettings = Field(default_factory=SizingSettings)
    risk: RiskSettings = Field(default_factory=RiskSettings)
    validation: ValidationSettings = Field(default_factory=ValidationSettings)
    ttl: TtlSettings = Field(default_factory=TtlSettings)
    execution: ExecutionSettings = Field(default_factory=ExecutionSettings)
    kill_switch: KillSwitchSettings = Field(default_factory=KillSwitchSettings)
    protection: ProtectionSettings = Field(default_factory=ProtectionSettings)
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

    @property
    def uses_demo_strategies(self) -> bool:
        """True when the strategies are the paper demo's defaults (not chosen for real money)."""
        return self.strategies == demo_strategies()

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
        except UnicodeDecodeError as error:
            raise InvalidInput(
                f"config file {path} is not UTF-8 text (byte {error.start} cannot be decoded); "
                "save it as UTF-8",
                field="config",
            ) from None
        _refuse_secrets(data, path)
    try:
        settings = Settings(**data)
        # Cross-field rules live in the domain objects: build them once to check.
        settings.network.profile()
        settings.sizing_policy()
        settings.validation_config()
        settings.risk_limits()
        settings.protection.policy()
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

"""Loading dydx-trader.toml: defaults, the documented example, env overrides, readable errors."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import BaseModel

from dydx_trader.adapters.dydx.network import NetworkName
from dydx_trader.config import Settings, load_config
from dydx_trader.domain.errors import InvalidInput
from dydx_trader.domain.sizing_policy import PolicyKind
from dydx_trader.domain.trading_state import TradingState

EXAMPLE = Path(__file__).parents[3] / "dydx-trader.example.toml"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("DYDX_TRADER_"):
            monkeypatch.delenv(name)


def _toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "dydx-trader.toml"
    path.write_text(text)
    return path


def test_load_config_when_no_file_then_devnet_paper_defaults() -> None:
    settings = load_config(None)
    assert settings.paper and settings.network.name is NetworkName.DEVNET
    assert settings.ttl.balance_ttl_s == 5 and settings.execution.good_til_block_offset == 10
    assert settings.execution.order_type == "ioc"
    assert (settings.http.host, settings.http.port) == ("127.0.0.1", 8000)
    assert settings.journal.resolved_path().name == "journal.sqlite3"


def test_example_file_when_loaded_then_equals_the_defaults() -> None:
    assert load_config(EXAMPLE) == load_config(None)


def _fields(model: type[BaseModel], prefix: str = "") -> list[tuple[str, object]]:
    found = []
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            found += _fields(annotation, f"{prefix}{name}.")
        else:
            found.append((f"{prefix}{name}", info.description))
    return found


def test_every_key_when_listed_then_described_and_in_the_example_file() -> None:
    example = EXAMPLE.read_text()
    for key, description in _fields(Settings):
        if key == "strategies":
            continue
        assert description, f"{key} has no description"
        leaf = key.rsplit(".", 1)[-1]
        assert re.search(rf"^#? ?{leaf} =", example, re.MULTILINE), f"{key} not in the example"


def test_load_config_when_values_set_then_decimals_stay_decimal(tmp_path: Path) -> None:
    path = _toml(
        tmp_path,
        '[risk]\nmax_leverage = "3.5"\nmax_exposure = 2.1\n'
        '[sizing]\nkind = "fixed_notional"\nnotional = "250.10"\n',
    )
    settings = load_config(path)
    assert settings.risk.max_leverage == Decimal("3.5")
    assert isinstance(settings.risk.max_exposure, Decimal)
    assert settings.risk.max_exposure == Decimal("2.1")
    policy = settings.sizing_policy()
    assert policy.kind is PolicyKind.FIXED_NOTIONAL and policy.notional == Decimal("250.10")


def test_load_config_when_env_set_then_it_beats_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _toml(tmp_path, '[execution]\nslippage_bps = "30"\ngood_til_block_offset = 5\n')
    monkeypatch.setenv("DYDX_TRADER_EXECUTION__SLIPPAGE_BPS", "12.5")
    monkeypatch.setenv("DYDX_TRADER_NETWORK__NAME", "testnet")
    settings = load_config(path)
    assert settings.execution.slippage_bps == Decimal("12.5")
    assert settings.execution.good_til_block_offset == 5
    assert settings.network.name is NetworkName.TESTNET and not settings.paper


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[execution]\ngood_til_block_offset = 21", "execution.good_til_block_offset"),
        ("[execution]\ngood_til_block_offset = 0", "execution.good_til_block_offset"),
        ("[ttl]\nbalance_ttl_s = 61", "ttl.balance_ttl_s"),
        ("[ttl]\nbalance_ttl_s = 0.5", "ttl.balance_ttl_s"),
        ('[risk]\nmax_leverage = "NaN"', "risk.max_leverage"),
        ("[risk]\nmax_leverage = nan", "risk.max_leverage"),
        ('[risk]\nmax_exposure = "Infinity"', "risk.max_exposure"),
        ("[risk]\nmax_exposure = inf", "risk.max_exposure"),
        ('[risk]\nmax_leverage = "-1"', "risk.max_leverage"),
        ("[validation]\nmin_confidence = 1.5", "validation.min_confidence"),
        ('[validation]\ndenied_markets = ["btc usd"]', "validation.denied_markets"),
        ("[risk]\nmax_levrage = 3", "risk.max_levrage"),
        ('[network]\nname = "moonnet"', "network.name"),
        ('[account]\naddress = "cosmos1abc"', "account.address"),
        ("[http]\nport = 70000", "http.port"),
        ('[kill_switch]\ntrip_state = "ACTIVE"', "kill_switch.trip_state"),
    ],
)
def test_load_config_when_value_is_bad_then_error_names_the_key(
    tmp_path: Path, text: str, key: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        load_config(_toml(tmp_path, text))
    assert f"key {key}" in str(raised.value)


def test_load_config_when_env_value_is_bad_then_error_names_the_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DYDX_TRADER_EXECUTION__GOOD_TIL_BLOCK_OFFSET", "25")
    with pytest.raises(InvalidInput, match=r"execution\.good_til_block_offset"):
        load_config(None)


def test_load_config_when_cross_field_rule_fails_then_readable(tmp_path: Path) -> None:
    path = _toml(tmp_path, '[sizing]\nkind = "fixed_risk"\nequity_fraction = "0.1"\n')
    with pytest.raises(InvalidInput, match="risk fraction"):
        load_config(path)
    path = _toml(tmp_path, '[network]\nname = "testnet"\nindexer_url = "http://example.com"\n')
    with pytest.raises(InvalidInput, match="https"):
        load_config(path)


def test_load_config_when_one_fee_overridden_then_refused_and_both_make_a_tier(
    tmp_path: Path,
) -> None:
    with pytest.raises(InvalidInput, match="set both taker_fee_ppm and maker_fee_ppm"):
        load_config(_toml(tmp_path, "[execution]\ntaker_fee_ppm = 400\n"))

    both = load_config(_toml(tmp_path, "[execution]\ntaker_fee_ppm = 400\nmaker_fee_ppm = -20\n"))

    tier = both.execution.fee_override()
    assert tier is not None and (tier.taker_fee_ppm, tier.maker_fee_ppm, tier.source) == (
        400, -20, "config"
    )  # fmt: skip
    assert load_config(None).execution.fee_override() is None


def test_load_config_when_strategy_unknown_then_error_names_the_entry(tmp_path: Path) -> None:
    path = _toml(tmp_path, '[[strategies]]\nname = "moon_shot"\n')
    with pytest.raises(InvalidInput, match=r"strategies\[0\].*unknown strategy"):
        load_config(path)


def test_load_config_when_file_missing_or_not_toml_then_readable(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="does not exist"):
        load_config(tmp_path / "nope.toml")
    with pytest.raises(InvalidInput, match="not valid TOML"):
        load_config(_toml(tmp_path, "[risk\nmax_leverage = 3"))


def test_load_config_when_secret_key_in_file_then_refused_without_echo(tmp_path: Path) -> None:
    path = _toml(tmp_path, '[account]\nmnemonic = "zebra zebra zebra"\n')
    with pytest.raises(InvalidInput, match="DYDX_TRADER_MNEMONIC_FILE") as raised:
        load_config(path)
    assert "zebra" not in str(raised.value)


def test_load_config_when_text_value_is_bad_then_value_not_echoed(tmp_path: Path) -> None:
    path = _toml(tmp_path, '[account]\naddress = "zebra zebra zebra zebra"\n')
    with pytest.raises(InvalidInput) as raised:
        load_config(path)
    assert "zebra" not in str(raised.value)


def test_conversions_when_configured_then_domain_objects_match(tmp_path: Path) -> None:
    path = _toml(
        tmp_path,
        """
[risk]
max_market_notional = "1000"
max_market_notional_by_market = { "eth-usd" = "250" }
[validation]
allowed_markets = ["BTC-USD", "eth-usd"]
cooldown_s = 60
[kill_switch]
trip_state = "REDUCING"
max_drawdown = "0.15"
""",
    )
    settings = load_config(path)
    assert settings.risk_limits("ETH-USD").max_market_notional == Decimal(250)
    assert settings.risk_limits("BTC-USD").max_market_notional == Decimal(1000)
    validation = settings.validation_config()
    assert validation.allowed_markets == frozenset({"BTC-USD", "ETH-USD"})
    assert validation.cooldown.total_seconds() == 60
    limits = settings.kill_switch.limits()
    assert limits.trip_state is TradingState.REDUCING and limits.max_drawdown == Decimal("0.15")
    assert [strategy.name for strategy, _ in settings.build_strategies()] == [
        "ema_cross",
        "rsi_reversion",
    ]


def test_load_config_when_unrelated_trader_env_vars_set_then_ignored(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DYDX_TRADER_CONFIG", str(tmp_path / "x.toml"))
    monkeypatch.setenv("DYDX_TRADER_MNEMONIC_FILE", str(tmp_path / "m"))
    monkeypatch.setenv("DYDX_TRADER_MNEMONIC", "zebra " * 12)
    settings = load_config(None)
    assert settings == Settings() and "zebra" not in repr(settings)


def test_discover_config_path_when_env_or_local_file_then_found(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from dydx_trader.config import discover_config_path

    monkeypatch.chdir(tmp_path)
    assert discover_config_path() is None
    (tmp_path / "dydx-trader.toml").write_text("")
    assert discover_config_path() == Path("dydx-trader.toml")
    monkeypatch.setenv("DYDX_TRADER_CONFIG", "/etc/other.toml")
    assert discover_config_path() == Path("/etc/other.toml")


def test_load_config_when_list_given_in_env_as_json_then_parsed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DYDX_TRADER_VALIDATION__ALLOWED_MARKETS", '["btc-usd", "ETH-USD"]')
    assert load_config(None).validation.allowed_markets == ["BTC-USD", "ETH-USD"]

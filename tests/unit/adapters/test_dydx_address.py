"""dYdX addresses are bech32: the checksum is verified wherever an address is accepted."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from dydx_trader.adapters.dydx.address import check_address
from dydx_trader.cli.app import app
from dydx_trader.config import load_config
from dydx_trader.domain.errors import InvalidInput

GOOD = "dydx1xx4evg0695an5nvhnmuw9wp3umwdpsguyxzhmp"
TYPO = "dydx1xx4evg0695an5nvhnmuw9wp3umwdpsguyxzhmq"  # last character changed


def test_check_address_when_valid_then_returned() -> None:
    assert check_address(GOOD) == GOOD


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        (TYPO, "checksum does not match"),
        ("dydx1bad", "character 6 ('b') is not used in addresses"),
        ("cosmos1xx4evg0695an5nvhnmuw9wp3umwdpsguyxzhmp", "must start with dydx1"),
        (GOOD.upper(), "use lower case"),
        ("dydx1xx4evg0695an5nvhnmuw9wp3", "an account address has 43"),
    ],
)
def test_check_address_when_wrong_then_one_line_naming_the_problem(
    address: str, problem: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        check_address(address)
    assert problem in raised.value.message
    assert "\n" not in raised.value.message


def test_load_config_when_address_checksum_wrong_then_key_named(tmp_path: Path) -> None:
    path = tmp_path / "dydx-trader.toml"
    path.write_text(f'[account]\naddress = "{TYPO}"\n')

    with pytest.raises(InvalidInput) as raised:
        load_config(path)

    assert "key account.address: not a dYdX address: its checksum does not match" in str(
        raised.value
    )


@pytest.mark.parametrize("command", [["balance"], ["size", "BUY", "ETH-USD"]])
def test_cli_when_address_checksum_wrong_then_exit_2_before_any_request(
    command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DYDX_TRADER_CONFIG", raising=False)

    result = CliRunner().invoke(
        app, [*command, "--address", TYPO, "--indexer-url", "http://127.0.0.1:9"]
    )

    assert result.exit_code == 2
    assert "checksum does not match" in result.stderr
    assert "SubaccountNotFound" not in result.output

"""``dydx-trader keys`` against the devnet: create a bot key, list it decoded, revoke it."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path
from typing import Any

import pytest
from dydx_v4_client.key_pair import KeyPair
from dydx_v4_client.node.authenticators import Authenticator, AuthenticatorType
from dydx_v4_client.node.message import add_authenticator
from typer.testing import CliRunner, Result

from dydx_devnet.demo import DEMO_ADDRESS, DEMO_MNEMONIC, DEMO_MNEMONIC_2
from dydx_devnet.server import Devnet
from dydx_trader.cli import app


def owner_env(tmp_path: Path, mnemonic: str = DEMO_MNEMONIC) -> dict[str, str]:
    path = tmp_path / "owner.mnemonic"
    path.write_text(mnemonic)
    path.chmod(0o600)
    return {"DYDX_TRADER_MNEMONIC_FILE": str(path)}


async def keys(
    devnet: Devnet,
    *args: str,
    env: dict[str, str] | None = None,
    typed: str | None = None,
) -> Result:
    """Run ``dydx-trader keys ...`` on the devnet (in a thread: the command runs its own loop)."""
    endpoints = ["--indexer-url", devnet.indexer_url, "--grpc", devnet.grpc_address]
    base = {
        "DYDX_TRADER_CONFIG": "",
        "DYDX_TRADER_MNEMONIC": "",
        "DYDX_TRADER_MNEMONIC_FILE": "",
        "DYDX_TRADER_BOT_KEY_FILE": "",
        "COLUMNS": "200",
    }
    runner = CliRunner()
    return await asyncio.to_thread(
        runner.invoke, app, ["keys", *args, *endpoints], env={**base, **(env or {})}, input=typed
    )


def public_key_in(output: str) -> str:
    return output.split("bot public key: ", 1)[1].split()[0]


@pytest.fixture
def funded(devnet: Devnet) -> Devnet:
    devnet.fund_demo(1_000)
    return devnet


async def test_create_bot_key_when_owner_types_mnemonic_then_key_file_600_and_config_lines(
    funded: Devnet, tmp_path: Path
) -> None:
    key_file = tmp_path / "bot.key"

    result = await keys(
        funded,
        "create-bot-key",
        "--address",
        DEMO_ADDRESS,
        "--markets",
        "btc-usd,ETH-USD",
        "--key-file",
        str(key_file),
        typed=DEMO_MNEMONIC + "\n",
    )

    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    private = key_file.read_text().strip()
    assert public_key_in(result.output) == KeyPair.from_hex(private).public_key_bytes.hex()
    assert "authenticator_id = 0" in result.output
    assert f'address = "{DEMO_ADDRESS}"' in result.output
    assert "(BTC-USD, ETH-USD)" in result.output
    assert private not in result.output
    assert DEMO_MNEMONIC.split()[2] + " " + DEMO_MNEMONIC.split()[3] not in result.output


async def test_list_when_bot_key_created_then_composed_tree_decoded_with_market_names(
    funded: Devnet, tmp_path: Path
) -> None:
    created = await keys(
        funded,
        "create-bot-key",
        "--subaccount",
        "2",
        "--markets",
        "SOL-USD",
        "--key-file",
        str(tmp_path / "bot.key"),
        env=owner_env(tmp_path),
    )
    assert created.exit_code == 0, created.output

    listed = await keys(
        funded,
        "list",
        env={
            "DYDX_TRADER_ACCOUNT__AUTHENTICATOR_ID": "0",
            "DYDX_TRADER_BOT_KEY_FILE": str(tmp_path / "bot.key"),
        },
    )

    assert listed.exit_code == 0, listed.output
    lines = [line.strip("│├└─ ") for line in listed.output.splitlines()]
    assert lines[:9] == [
        "authenticator 0  <- account.authenticator_id",
        "AllOf",
        f"SignatureVerification key {public_key_in(created.output)} (this bot key)",
        "AnyOf",
        "MessageFilter /dydxprotocol.clob.MsgPlaceOrder",
        "MessageFilter /dydxprotocol.clob.MsgCancelOrder",
        "MessageFilter /dydxprotocol.clob.MsgBatchCancel",
        "SubaccountFilter subaccounts 2",
        "ClobPairIdFilter markets 5 (SOL-USD)",  # the real clob pair id
    ]


async def test_revoke_when_owner_signs_then_gone_from_the_list(
    funded: Devnet, tmp_path: Path
) -> None:
    env = owner_env(tmp_path)
    created = await keys(funded, "create-bot-key", "--key-file", str(tmp_path / "bot.key"), env=env)
    assert created.exit_code == 0, created.output

    revoked = await keys(funded, "revoke", "0", env=env)
    again = await keys(funded, "revoke", "0", env=env)
    listed = await keys(funded, "list")

    assert revoked.exit_code == 0, revoked.output
    assert "authenticator 0 removed" in revoked.output
    assert again.exit_code == 2 and "has no authenticator 0 (it has: none)" in again.output
    assert f"{DEMO_ADDRESS} has no authenticators" in listed.output


async def test_create_bot_key_when_existing_key_file_then_that_key_and_no_new_file(
    funded: Devnet, tmp_path: Path
) -> None:
    existing = tmp_path / "mine.key"
    existing.write_text("7a" * 32)
    existing.chmod(0o600)

    result = await keys(
        funded,
        "create-bot-key",
        "--existing-key-file",
        str(existing),
        "--key-file",
        str(tmp_path / "unused.key"),
        env=owner_env(tmp_path),
    )

    assert result.exit_code == 0, result.output
    assert public_key_in(result.output) == KeyPair.from_hex("7a" * 32).public_key_bytes.hex()
    assert not (tmp_path / "unused.key").exists()


@pytest.mark.parametrize(
    ("args", "mnemonic", "message"),
    [
        (("--markets", "BTC-USD,DOGE-USD"), DEMO_MNEMONIC, "unknown market(s) DOGE-USD"),
        ((), DEMO_MNEMONIC_2, f"the mnemonic does not belong to {DEMO_ADDRESS}"),
        (("--markets", " , "), DEMO_MNEMONIC, "--markets names no market"),
    ],
)
async def test_create_bot_key_when_input_wrong_then_one_line_exit_2_and_nothing_written(
    funded: Devnet, tmp_path: Path, args: tuple[str, ...], mnemonic: str, message: str
) -> None:
    key_file = tmp_path / "bot.key"

    result = await keys(
        funded,
        "create-bot-key",
        *args,
        "--key-file",
        str(key_file),
        env=owner_env(tmp_path, mnemonic),
    )

    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not key_file.exists()
    listed = await keys(funded, "list")
    assert listed.output.startswith(f"{DEMO_ADDRESS} has no authenticators")


async def test_list_when_any_of_two_all_ofs_added_by_the_official_client_then_whole_tree(
    demo_trader: Any,
) -> None:
    first, second = (KeyPair.from_hex(h * 32).public_key_bytes for h in ("a1", "b2"))
    tree = Authenticator.compose(
        AuthenticatorType.AnyOf,
        [
            Authenticator.compose(
                AuthenticatorType.AllOf,
                [
                    Authenticator.signature_verification(first),
                    Authenticator.message_filter("/dydxprotocol.clob.MsgPlaceOrder"),
                ],
            ),
            Authenticator.compose(
                AuthenticatorType.AllOf,
                [
                    Authenticator.signature_verification(second),
                    Authenticator.message_filter("/dydxprotocol.clob.MsgCancelOrder"),
                    Authenticator.subaccount_filter([3, 4]),
                ],
            ),
        ],
    )
    # The client's own pre-check cannot read an AllOf nested in an AnyOf; the chain can.
    message = add_authenticator(demo_trader.address, tree.type, tree.config)
    added = await demo_trader.node.send_message(demo_trader.wallet, message)
    assert added.tx_response.code == 0, added.tx_response.raw_log
    await demo_trader.devnet.wait_blocks(2)

    listed = await keys(demo_trader.devnet, "list")

    assert listed.exit_code == 0, listed.output
    assert [line.strip("│├└─ ") for line in listed.output.splitlines()] == [
        "authenticator 0",
        "AnyOf",
        "AllOf",
        f"SignatureVerification key {first.hex()}",
        "MessageFilter /dydxprotocol.clob.MsgPlaceOrder",
        "AllOf",
        f"SignatureVerification key {second.hex()}",
        "MessageFilter /dydxprotocol.clob.MsgCancelOrder",
        "SubaccountFilter subaccounts 3, 4",
    ]

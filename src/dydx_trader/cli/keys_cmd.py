"""``dydx-trader keys``: a bot key that can trade and nothing else (dYdX permissioned keys).

* ``keys create-bot-key --address dydx1... [--subaccount 0] [--markets BTC-USD,ETH-USD]``
  generates a bot key (or takes one with ``--existing-key-file``), writes it to a
  file only you can read (mode 600), adds the owner's authenticator
  AllOf(SignatureVerification(bot key), AnyOf(MessageFilter per order message),
  SubaccountFilter, [ClobPairIdFilter]) and prints its id and the config lines;
* ``keys list`` shows the account's authenticators, decoded, as trees;
* ``keys revoke ID`` removes one: the bot key signing through it stops trading.

``create-bot-key`` and ``revoke`` sign with the owner's mnemonic, read from
``DYDX_TRADER_MNEMONIC_FILE``/``DYDX_TRADER_MNEMONIC`` when set, else asked for
without echo. It is used for that one transaction and never stored; the bot
host needs only the bot key.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from coincurve import PrivateKey
from rich.console import Console
from rich.tree import Tree

from dydx_trader.adapters.dydx.authenticators import (
    AuthenticatorNode,
    bot_authenticator,
    decode_authenticator,
    describe,
)
from dydx_trader.adapters.dydx.bot_key import key_pair, public_key_of
from dydx_trader.adapters.dydx.indexer import IndexerGateway
from dydx_trader.adapters.dydx.key_admin import KeyAdmin, owner_key_pair
from dydx_trader.adapters.dydx.network import NetworkName, NetworkProfile
from dydx_trader.adapters.dydx.node import NodeGateway
from dydx_trader.cli._common import (
    demo_mnemonic,
    fail,
    load_settings,
    reported,
    resolve_address,
    resolve_profile,
    run_async,
)
from dydx_trader.cli.options import (
    ConfigOption,
    GrpcOption,
    IndexerOption,
    NetworkOption,
    TimeoutOption,
)
from dydx_trader.config import Settings
from dydx_trader.domain.errors import (
    DydxTraderError,
    InvalidInput,
    MalformedPayload,
)
from dydx_trader.secrets import (
    BOT_KEY_FILE_ENV,
    MNEMONIC_ENV,
    MNEMONIC_FILE_ENV,
    Secret,
    load_bot_key,
    load_mnemonic,
    write_private_file,
)

T = TypeVar("T")

keys_app = typer.Typer(
    help="Permissioned bot keys: a key that can place and cancel orders, and nothing else.",
    no_args_is_help=True,
)

AddressOption = Annotated[
    str | None,
    typer.Option("--address", help="The owner's dydx1... address [default: from config]."),
]


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")


@keys_app.command("create-bot-key")
def create_bot_key(
    address: AddressOption = None,
    subaccount: Annotated[
        int | None,
        typer.Option("--subaccount", min=0, max=128_000, help="[default: from config, 0]"),
    ] = None,
    markets: Annotated[
        str | None,
        typer.Option("--markets", help="Only these markets, e.g. BTC-USD,ETH-USD [default: all]."),
    ] = None,
    key_file: Annotated[
        Path, typer.Option("--key-file", help="Where to write the new bot key (mode 600).")
    ] = Path("dydx-bot.key"),
    existing_key_file: Annotated[
        Path | None,
        typer.Option("--existing-key-file", help="Use this bot key instead of a new one."),
    ] = None,
    network: NetworkOption = None,
    indexer_url: IndexerOption = None,
    grpc: GrpcOption = None,
    config: ConfigOption = None,
    timeout: TimeoutOption = 10.0,
) -> None:
    """Create a bot key and let it trade the owner's subaccount (the owner signs once)."""
    settings, profile, owner = _target(config, network, indexer_url, grpc, address)
    number = settings.account.subaccount_number if subaccount is None else subaccount
    tickers = _tickers(markets)
    if existing_key_file is not None:
        bot_key = _reported(lambda: load_bot_key({BOT_KEY_FILE_ENV: str(existing_key_file)}))
    else:
        bot_key = Secret(PrivateKey().to_hex())
    owner_key = _reported(lambda: owner_key_pair(_owner_mnemonic(owner), owner))
    public_key = public_key_of(key_pair(bot_key))

    async def work() -> tuple[int, dict[str, int]]:
        async with await NodeGateway.connect(profile, timeout_s=timeout) as node:
            pairs = await _clob_pairs(profile, tickers, timeout)
            admin = KeyAdmin(node, await node.chain_id(), owner_key, timeout_s=timeout)
            await node.account_numbers(owner)  # the owner's account exists: it can sign
            if existing_key_file is None:
                write_private_file(key_file, bot_key)  # before the chain names the key
            try:
                added = await admin.add(bot_authenticator(public_key, number, pairs.values()))
            except DydxTraderError as error:
                where = existing_key_file or key_file
                raise type(error)(
                    f"{error.message} (the bot key is in {where}: retry with "
                    f"--existing-key-file {where})",
                    **error.numbers,
                ) from None
            return added, pairs

    authenticator_id, pairs = run_async(work)
    where = existing_key_file or key_file
    typer.echo(f"bot key: {where.resolve()} (mode 600; keep it on the trading host only)")
    typer.echo(f"bot public key: {public_key.hex()}")
    scope = ", ".join(pairs) if pairs else "every market"
    typer.echo(
        f"authenticator {authenticator_id} added to {owner}: the bot key may place and cancel "
        f"orders on subaccount {number} ({scope}); it cannot transfer or withdraw"
    )
    typer.echo("\nPut these lines in dydx-trader.toml:\n")
    typer.echo(f'[account]\naddress = "{owner}"\nsubaccount_number = {number}')
    typer.echo(f"authenticator_id = {authenticator_id}\n")
    typer.echo(f"and run the trader with:  export {BOT_KEY_FILE_ENV}={where.resolve()}")


@keys_app.command("list")
def list_keys(
    address: AddressOption = None,
    network: NetworkOption = None,
    indexer_url: IndexerOption = None,
    grpc: GrpcOption = None,
    config: ConfigOption = None,
    timeout: TimeoutOption = 10.0,
) -> None:
    """The owner's authenticators, decoded, each as a tree.

    With ``DYDX_TRADER_BOT_KEY_FILE`` set, the signature checks naming that key
    are marked "(this bot key)".
    """
    settings, profile, owner = _target(config, network, indexer_url, grpc, address)
    mine = None
    if os.environ.get(BOT_KEY_FILE_ENV):
        mine = _reported(lambda: public_key_of(key_pair(load_bot_key())))

    async def work() -> tuple[tuple[tuple[int, str, bytes], ...], dict[int, str]]:
        async with await NodeGateway.connect(profile, timeout_s=timeout) as node:
            found = await node.authenticators(owner)
        names = {pair: ticker for ticker, pair in (await _all_pairs(profile, timeout)).items()}
        return found, names

    found, names = run_async(work)
    if not found:
        typer.echo(f"{owner} has no authenticators: only its own key can sign for it")
        return
    configured = settings.account.authenticator_id
    console = Console()
    for authenticator_id, kind, config_bytes in found:
        mark = "  <- account.authenticator_id" if authenticator_id == configured else ""
        try:
            tree = decode_authenticator(kind, config_bytes)
        except MalformedPayload as error:
            console.print(
                f"authenticator {authenticator_id}: {kind} (cannot decode: {error.message})"
            )
            continue
        console.print(_tree(f"authenticator {authenticator_id}{mark}", tree, names, mine))


@keys_app.command("revoke")
def revoke(
    authenticator_id: Annotated[int, typer.Argument(min=0, help="The authenticator's id.")],
    address: AddressOption = None,
    network: NetworkOption = None,
    indexer_url: IndexerOption = None,
    grpc: GrpcOption = None,
    config: ConfigOption = None,
    timeout: TimeoutOption = 10.0,
) -> None:
    """Remove an authenticator: the bot key signing through it can no longer trade."""
    _, profile, owner = _target(config, network, indexer_url, grpc, address)
    owner_key = _reported(lambda: owner_key_pair(_owner_mnemonic(owner), owner))

    async def work() -> None:
        async with await NodeGateway.connect(profile, timeout_s=timeout) as node:
            admin = KeyAdmin(node, await node.chain_id(), owner_key, timeout_s=timeout)
            await admin.remove(authenticator_id)

    run_async(work)
    typer.echo(
        f"authenticator {authenticator_id} removed from {owner}: a trader signing through it "
        "halts at its next order"
    )


# -- helpers ----------------------------------------------------------------------------


def _tree(
    label: str, node: AuthenticatorNode, names: Mapping[int, str], mine: bytes | None
) -> Tree:
    tree = Tree(label)
    _grow(tree, node, names, mine)
    return tree


def _grow(
    parent: Tree, node: AuthenticatorNode, names: Mapping[int, str], mine: bytes | None
) -> None:
    branch = parent.add(describe(node, markets=names, public_key=mine))
    for child in node.children:
        _grow(branch, child, names, mine)


def _tickers(markets: str | None) -> list[str]:
    if markets is None:
        return []
    tickers = [t.strip().upper() for t in markets.split(",") if t.strip()]
    if not tickers:
        fail("--markets names no market; omit it to allow every market", 2)
    return tickers


async def _clob_pairs(
    profile: NetworkProfile, tickers: list[str], timeout: float
) -> dict[str, int]:
    """``ticker -> clob pair id`` of ``tickers`` (empty: no market filter)."""
    if not tickers:
        return {}
    listed = await _all_pairs(profile, timeout)
    unknown = [t for t in tickers if t not in listed]
    if unknown:
        raise InvalidInput(
            f"unknown market(s) {', '.join(unknown)}; listed: {', '.join(sorted(listed))}"
        )
    return {ticker: listed[ticker] for ticker in tickers}


async def _all_pairs(profile: NetworkProfile, timeout: float) -> dict[str, int]:
    indexer = IndexerGateway(profile.indexer_url, timeout_s=timeout)
    try:
        return {ticker: spec.clob_pair_id for ticker, spec in (await indexer.get_markets()).items()}
    finally:
        await indexer.close()


def _owner_mnemonic(owner: str) -> Secret:
    """The owner's mnemonic from the environment, else asked for (never echoed)."""
    if os.environ.get(MNEMONIC_ENV) or os.environ.get(MNEMONIC_FILE_ENV):
        return load_mnemonic()
    typed = typer.prompt(f"mnemonic of {owner} (not shown, not stored)", hide_input=True)
    return load_mnemonic({MNEMONIC_ENV: typed})


def _target(
    config: Path | None,
    network: NetworkName | None,
    indexer_url: str | None,
    grpc: str | None,
    address: str | None,
) -> tuple[Settings, NetworkProfile, str]:
    """Settings, endpoints (options over the config's, which apply to its network only)
    and the owner's address (option, config, or on the devnet its demo account)."""
    with reported():
        settings = load_settings(config)
        profile = resolve_profile(settings, network, indexer_url, grpc)
        return settings, profile, resolve_address(settings, profile, address)
    raise AssertionError("unreachable")  # pragma: no cover - reported() exits


def _reported(call: Callable[[], T]) -> T:
    """``call()``, a failure reported as one line (see :func:`reported`)."""
    with reported():
        return call()
    raise AssertionError("unreachable")  # pragma: no cover - reported() exits


async def demo_bot_key(profile: NetworkProfile, owner: str, subaccount: int) -> tuple[Secret, int]:
    """Paper trading through a permissioned key, on a fresh devnet: the devnet's demo
    owner gives its public demo bot key an authenticator (the same transaction
    ``create-bot-key`` sends); returns the bot key and the authenticator's id."""
    demo = importlib.import_module("dydx_devnet.demo")
    bot_key = Secret(demo.DEMO_BOT_MNEMONIC)
    owner_key = owner_key_pair(demo_mnemonic(), owner)
    async with await NodeGateway.connect(profile, timeout_s=10.0) as node:
        admin = KeyAdmin(node, await node.chain_id(), owner_key)
        tree = bot_authenticator(public_key_of(key_pair(bot_key)), subaccount)
        return bot_key, await admin.add(tree)

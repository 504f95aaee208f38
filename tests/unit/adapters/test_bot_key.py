"""The bot key's start-up check, key parsing, and the revocation watch on order outcomes."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from dydx_v4_client.key_pair import KeyPair
from dydx_v4_client.node.message import add_authenticator

from dydx_trader.adapters.dydx.authenticators import bot_authenticator
from dydx_trader.adapters.dydx.bot_key import (
    RevocationWatch,
    key_pair,
    public_key_of,
    verify_bot_authenticator,
)
from dydx_trader.adapters.dydx.order_gateway import rejection
from dydx_trader.domain.broadcast import (
    Accepted,
    BroadcastOutcome,
    Rejected,
    SignedOrder,
)
from dydx_trader.domain.errors import SecretUnavailable
from dydx_trader.domain.order import OrderIntent
from dydx_trader.secrets import Secret

OWNER = "dydx1xx4evg0695an5nvhnmuw9wp3umwdpsguyxzhmp"
BOT_HEX = "3b" * 32
BOT = KeyPair.from_hex(BOT_HEX).public_key_bytes
REVOKED_LOG = (
    "failed to get initialized authenticator (account = dydx1..., authenticator id = 4, msg "
    "index = 0, msg type url = /dydxprotocol.clob.MsgPlaceOrder): authenticator 4 not found "
    "for account dydx1...: Authenticator is not found"
)


@dataclass
class FakeChain:
    """The authenticators the node answers, as ``(id, type, config)``."""

    found: tuple[tuple[int, str, bytes], ...] = ()

    async def authenticators(self, address: str) -> tuple[tuple[int, str, bytes], ...]:
        assert address == OWNER
        return self.found

    def add(self, authenticator_id: int, public_key: bytes, subaccount: int) -> None:
        tree = bot_authenticator(public_key, subaccount)
        sent = add_authenticator(OWNER, tree.type, tree.config)
        self.found += ((authenticator_id, str(sent.authenticator_type), bytes(sent.data)),)


async def check(chain: FakeChain, authenticator_id: int = 4, subaccount: int = 0) -> object:
    return await verify_bot_authenticator(
        chain,
        owner=OWNER,
        subaccount_number=subaccount,
        authenticator_id=authenticator_id,
        public_key=BOT,
    )


async def test_verify_when_authenticator_fits_then_returned_with_its_tree() -> None:
    chain = FakeChain()
    chain.add(2, KeyPair.from_hex("44" * 32).public_key_bytes, 0)
    chain.add(4, BOT, 0)

    found = await check(chain)

    assert getattr(found, "id", None) == 4


@pytest.mark.parametrize(
    ("authenticator_id", "subaccount", "message"),
    [
        (9, 0, f"{OWNER} has no authenticator 9 (it has: 4)"),
        (4, 3, f"authenticator 4 of {OWNER} does not cover subaccount 3"),
    ],
)
async def test_verify_when_missing_or_not_covering_then_one_line_with_the_remedy(
    authenticator_id: int, subaccount: int, message: str
) -> None:
    chain = FakeChain()
    chain.add(4, BOT, 0)

    with pytest.raises(SecretUnavailable) as raised:
        await check(chain, authenticator_id, subaccount)

    text = str(raised.value)
    assert message in text
    assert "dydx-trader keys create-bot-key" in text
    assert "\n" not in text


async def test_verify_when_authenticator_undecodable_then_refused_naming_it() -> None:
    chain = FakeChain(((4, "AllOf", b"[not json"),))

    with pytest.raises(SecretUnavailable) as raised:
        await check(chain)

    assert "authenticator 4" in str(raised.value) and "cannot be read" in str(raised.value)


def test_key_pair_when_hex_or_mnemonic_then_key_and_when_garbage_then_error_without_it() -> None:
    assert public_key_of(key_pair(Secret(BOT_HEX))) == BOT
    words = "abandon " * 11 + "about"
    assert len(public_key_of(key_pair(Secret(words)))) == 33

    with pytest.raises(SecretUnavailable) as raised:
        key_pair(Secret("zz" * 32))

    assert "zz" not in str(raised.value)


def test_rejection_when_authenticator_not_found_then_says_revoked_with_the_chain_code() -> None:
    error = rejection("dydxaccountplus", 1, REVOKED_LOG)

    assert "revoked" in error.message
    assert "chain dydxaccountplus code 1" in error.message
    assert dict(error.numbers)["chain_code"] == 1


@dataclass
class FakeSender:
    outcome: BroadcastOutcome
    sent: list[SignedOrder] = field(default_factory=list)

    def sign(self, intent: OrderIntent) -> SignedOrder:
        raise AssertionError("not used")

    async def broadcast(self, signed: SignedOrder) -> BroadcastOutcome:
        self.sent.append(signed)
        return self.outcome


@pytest.mark.parametrize(
    ("outcome", "halts"),
    [
        (Rejected(rejection("dydxaccountplus", 1, REVOKED_LOG)), True),
        (Rejected(rejection("dydxaccountplus", 104, "...: AllOf verification failed")), False),
        (Rejected(rejection("clob", 1, "unrelated clob code 1")), False),
        (Accepted("AB"), False),
    ],
)
async def test_revocation_watch_when_outcome_then_halts_only_for_a_revoked_authenticator(
    outcome: BroadcastOutcome, halts: bool
) -> None:
    reasons: list[str] = []
    watch = RevocationWatch(FakeSender(outcome), 4, reasons.append)

    answered = await watch.broadcast(SignedOrder(b"tx", "AB"))

    assert answered is outcome
    assert bool(reasons) is halts
    if halts:
        assert reasons[0].startswith("the bot key was revoked: authenticator 4")

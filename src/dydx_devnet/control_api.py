"""The devnet's own HTTP controls beside the indexer: the faucet and the fault switchboard.

``POST /faucet/tokens`` and ``POST /faucet/native-token`` take the testnet
faucet's bodies (what the official ``FaucetClient`` sends).
``POST /devnet/faults`` arms faults and ``GET /devnet/faults`` shows them
(:mod:`dydx_devnet.faults` documents every fault and its body).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from aiohttp import web

from dydx_devnet.auth import is_valid_address
from dydx_devnet.indexer_params import (
    ACCOUNTS_KEY,
    FAULTS_KEY,
    MAX_SUBACCOUNT_NUMBER,
    SUBACCOUNT_NUMBER_MSG,
    ApiError,
    engine_of,
    invalid,
    json_body,
    json_response,
)

# The faucet hands out at most this much per request (USDC), like the testnet one.
MAX_FAUCET_USDC = Decimal(1_000_000_000)


def parse_usdc_amount(value: Any) -> Decimal:
    """A faucet amount in USDC: a positive finite number of at most 1e9 with at most 6
    decimals. Raises ``ValueError`` with a one-line reason otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError("amount must be a positive number")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError("amount must be a positive number") from None
    if not amount.is_finite() or amount <= 0:
        raise ValueError("amount must be a positive number")
    if amount > MAX_FAUCET_USDC:
        raise ValueError(f"amount must not exceed {MAX_FAUCET_USDC} USDC")
    if amount != amount.quantize(Decimal("0.000001")):
        raise ValueError("amount must have at most 6 decimals")
    return amount


async def post_faucet_tokens(request: web.Request) -> web.Response:
    body = await json_body(request)
    if not isinstance(body, dict):
        raise ApiError(400, [{"msg": "body must be a JSON object"}])
    address = body.get("address")
    if not isinstance(address, str) or not is_valid_address(address):
        raise invalid("address", address, "address must be a valid dydx address", "body")
    number = body.get("subaccountNumber", 0)
    if (
        isinstance(number, bool)
        or not isinstance(number, int)
        or not 0 <= number <= MAX_SUBACCOUNT_NUMBER
    ):
        raise invalid(
            "subaccountNumber",
            number,
            SUBACCOUNT_NUMBER_MSG,
            "body",
        )
    try:
        amount = parse_usdc_amount(body.get("amount"))
    except ValueError as exc:
        raise invalid("amount", body.get("amount"), str(exc), "body") from None
    quote_quantums = int(amount * 1_000_000)
    request.app[ACCOUNTS_KEY].ensure(address)
    engine = engine_of(request)
    engine.deposit(address, number, quote_quantums)
    return json_response(
        {
            "address": address,
            "subaccountNumber": number,
            "amount": str(amount),
            "height": str(engine.height),
        }
    )


async def post_faucet_native(request: web.Request) -> web.Response:
    body = await json_body(request)
    address = body.get("address") if isinstance(body, dict) else None
    if not isinstance(address, str) or not is_valid_address(address):
        raise invalid("address", address, "address must be a valid dydx address", "body")
    # The devnet has no native token; the call only creates the account.
    request.app[ACCOUNTS_KEY].ensure(address)
    return json_response({"address": address})


async def post_faults(request: web.Request) -> web.Response:
    body = await json_body(request)
    try:
        state = request.app[FAULTS_KEY].apply(body)
    except ValueError as exc:
        raise ApiError(400, [{"msg": str(exc)}]) from None
    return json_response(state)


async def get_faults(request: web.Request) -> web.Response:
    return json_response(request.app[FAULTS_KEY].state())


def add_control_routes(app: web.Application) -> None:
    """Register the faucet and ``/devnet`` routes."""
    app.router.add_post("/faucet/tokens", post_faucet_tokens)
    app.router.add_post("/faucet/native-token", post_faucet_native)
    app.router.add_post("/devnet/faults", post_faults)
    app.router.add_get("/devnet/faults", get_faults)

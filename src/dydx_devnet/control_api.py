"""The devnet's own HTTP controls beside the indexer: faucet, faults and the manual clock.

``POST /faucet/tokens`` and ``POST /faucet/native-token`` take the testnet
faucet's bodies (what the official ``FaucetClient`` sends) and answer 202
Accepted, as dYdX's faucet does: tokens are deposited from the faucet's wallet
into the subaccount (indexed as a ``DEPOSIT``); the native token (10
``adv4tnt`` tokens, for gas) is sent to the address's bank balance.
``POST /devnet/faults`` arms faults and ``GET /devnet/faults`` shows them
(:mod:`dydx_devnet.faults` documents every fault and its body).

``POST /devnet/fees`` with ``{"address": "dydx1...", "taker_fee_ppm": t,
"maker_fee_ppm": m}`` fixes one address's fees for tests (both ``null``: back
to its fee tier); ``GET /devnet/fees`` answers the overrides by address.

``GET /devnet/clock`` answers the clock's state: ``mode``, ``height``,
``block_time`` (ISO) and ``block_time_ms``, the ``replay`` window (``start``,
``end``, ``finished``, ``shift_ms``), each listed market's bundled data
(``markets``: ``first_candle``/``last_candle``, data time) and every market
with bundled data (``bundled_markets``). ``POST /devnet/clock`` drives a
manual clock (:mod:`dydx_devnet.clock`) with either
``{"advance_to": "<ISO-8601>" | <epoch ms>, "block_seconds": s}`` (``s``
optional) or ``{"advance_blocks": n, "block_seconds": s}``, and answers the
same state plus ``blocks`` (how many it produced). On a timer clock it
answers 409; a bad body or a time it cannot reach, 400.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from aiohttp import web

from dydx_devnet.auth import is_valid_address
from dydx_devnet.clock import ClockModeError, ClockState, ManualClock
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
from dydx_devnet.replay import to_ms

# The faucet hands out at most this much per request (USDC), like the testnet one.
MAX_FAUCET_USDC = Decimal(1_000_000_000)
# What one native-token request sends: 10 tokens of 10^18 adv4tnt.
NATIVE_FAUCET_AMOUNT = 10 * 10**18
FAUCET_ACCEPTED = 202


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
        },
        status=FAUCET_ACCEPTED,
    )


async def post_faucet_native(request: web.Request) -> web.Response:
    body = await json_body(request)
    address = body.get("address") if isinstance(body, dict) else None
    if not isinstance(address, str) or not is_valid_address(address):
        raise invalid("address", address, "address must be a valid dydx address", "body")
    request.app[ACCOUNTS_KEY].ensure(address)
    engine = engine_of(request)
    engine.fill_native(address, NATIVE_FAUCET_AMOUNT)
    return json_response(
        {"address": address, "amount": str(NATIVE_FAUCET_AMOUNT), "height": str(engine.height)},
        status=FAUCET_ACCEPTED,
    )


async def post_faults(request: web.Request) -> web.Response:
    body = await json_body(request)
    try:
        state = request.app[FAULTS_KEY].apply(body)
    except ValueError as exc:
        raise ApiError(400, [{"msg": str(exc)}]) from None
    return json_response(state)


async def get_faults(request: web.Request) -> web.Response:
    return json_response(request.app[FAULTS_KEY].state())


async def post_fees(request: web.Request) -> web.Response:
    body = await json_body(request)
    if not isinstance(body, dict) or set(body) != {"address", "taker_fee_ppm", "maker_fee_ppm"}:
        msg = "body must be {address, taker_fee_ppm, maker_fee_ppm} (fees may be null)"
        raise ApiError(400, [{"msg": msg}])
    address = body["address"]
    if not isinstance(address, str) or not is_valid_address(address):
        raise ApiError(400, [{"msg": f"address must be a dydx address, got {address!r}"}])
    engine = engine_of(request)
    try:
        engine.set_fee_override(address, body["taker_fee_ppm"], body["maker_fee_ppm"])
    except ValueError as exc:
        raise ApiError(400, [{"msg": str(exc)}]) from None
    return json_response(engine.fee_overrides())


async def get_fees(request: web.Request) -> web.Response:
    return json_response(engine_of(request).fee_overrides())


async def get_clock(request: web.Request) -> web.Response:
    return json_response(engine_of(request).clock.status())


async def post_clock(request: web.Request) -> web.Response:
    body = await json_body(request)
    clock = engine_of(request).clock
    try:
        advance = _clock_request(body)
        # Off the loop: a long advance is many blocks; the devnet keeps serving meanwhile.
        state: ClockState = await asyncio.to_thread(advance, clock)
    except ClockModeError as exc:
        raise ApiError(409, [{"msg": str(exc)}]) from None
    except ValueError as exc:
        raise ApiError(400, [{"msg": str(exc)}]) from None
    return json_response({**clock.status(), "blocks": state.blocks})


def _clock_request(body: Any) -> Callable[[ManualClock], ClockState]:
    """The clock call a ``POST /devnet/clock`` body asks for; ``ValueError`` if malformed."""
    if not isinstance(body, dict):
        raise ValueError("clock request must be a JSON object")
    unknown = sorted(set(body) - {"advance_to", "advance_blocks", "block_seconds"})
    if unknown or ("advance_to" in body) == ("advance_blocks" in body):
        raise ValueError(
            'clock request must be {"advance_to": "<ISO-8601 or epoch ms>", "block_seconds": s} '
            'or {"advance_blocks": n, "block_seconds": s}'
        )
    seconds = body.get("block_seconds")
    if "advance_to" in body:
        target = _market_time(body["advance_to"])
        return lambda clock: clock.advance_to(target, block_seconds=seconds)
    count = body["advance_blocks"]
    return lambda clock: clock.advance_blocks(count, 1.0 if seconds is None else seconds)


def _market_time(value: Any) -> int:
    """Epoch ms of an ISO-8601 time (a zone-less one is UTC) or of epoch ms as given."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**48:
        return value
    if isinstance(value, str) and len(value) <= 40:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            moment = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
            return to_ms(moment)
    raise ValueError(f"advance_to must be an ISO-8601 time or epoch milliseconds, got {value!r}")


def add_control_routes(app: web.Application) -> None:
    """Register the faucet and ``/devnet`` routes."""
    app.router.add_post("/faucet/tokens", post_faucet_tokens)
    app.router.add_post("/faucet/native-token", post_faucet_native)
    app.router.add_post("/devnet/faults", post_faults)
    app.router.add_get("/devnet/faults", get_faults)
    app.router.add_post("/devnet/fees", post_fees)
    app.router.add_get("/devnet/fees", get_fees)
    app.router.add_post("/devnet/clock", post_clock)
    app.router.add_get("/devnet/clock", get_clock)

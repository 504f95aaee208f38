"""Indexer REST reads through the official client, with its traps closed.

``IndexerGateway`` wraps ``dydx_v4_client``'s ``IndexerClient``:

* a real timeout: ``api_timeout`` in seconds (the client's default of 3,000 is
  passed to httpx as seconds, trap T7), plus an ``asyncio.timeout`` deadline
  around every call so nothing can hang the caller;
* retries for reads only, capped by attempts and total time, with jitter, and
  only for HTTP 429 (honouring ``Retry-After``), 5xx and connection errors;
  other 4xx answers are final;
* vendor failures mapped into the domain taxonomy (``VenueUnavailable``,
  ``MalformedPayload``, ``UnknownMarket``, ``SubaccountNotFound``), each
  ``VenueUnavailable`` classified in ``numbers['failure']`` as transient (5xx,
  429, timeouts, connection errors; a 429 also carries ``retry_after_ms``) or
  definitive (any other 4xx);
* orders located by good-til-block and fills read below a height, so an
  order or its fills never fall off the indexer's default page;
* fills filtered with ``market`` (the client sends ``ticker``, which the
  indexer ignores: trap T6);
* addresses and tickers checked before they are pasted into a URL path.

Every payload becomes domain values in :mod:`.mapping`.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import httpx
from dydx_v4_client.indexer.rest.indexer_client import IndexerClient

from dydx_trader.adapters.dydx import mapping
from dydx_trader.adapters.dydx.pooled_client import PooledIndexerClient
from dydx_trader.adapters.dydx.query_checks import (
    check_address,
    check_height,
    check_limit,
    check_subaccount,
    check_ticker,
)
from dydx_trader.adapters.dydx.retry import RetryPolicy, TransientFailure, retry_read
from dydx_trader.domain.account import AccountSnapshot
from dydx_trader.domain.errors import (
    DydxTraderError,
    InvalidInput,
    MalformedPayload,
    SubaccountNotFound,
    UnknownMarket,
    VenueFailure,
    VenueUnavailable,
)
from dydx_trader.domain.market import MarketSpec
from dydx_trader.domain.venue import (
    Candle,
    CandleResolution,
    IndexerFill,
    IndexerHeight,
    IndexerOrder,
)

T = TypeVar("T")

DEFAULT_TIMEOUT_S = 5.0
_ISO = re.compile(r"^[0-9T:.\-Z+]{10,40}$")


class _Absent(DydxTraderError):
    """The indexer answered 404 for an object that may rightly not exist."""


class IndexerGateway:
    """Typed reads from one indexer (``base_url`` without ``/v4``).

    ``timeout_s`` bounds one HTTP attempt (seconds); ``retry`` bounds the whole
    read. ``client`` may be given to share or fake the official client.
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        retry: RetryPolicy | None = None,
        client: IndexerClient | None = None,
    ) -> None:
        if not 0 < timeout_s <= 120:
            raise InvalidInput(f"indexer timeout {timeout_s} s is outside (0, 120]")
        self.base_url = base_url.rstrip("/")
        self._timeout_s = timeout_s
        self._retry = retry or RetryPolicy()
        self._client = client or PooledIndexerClient(self.base_url, api_timeout=timeout_s)
        self.requests_sent = 0  # HTTP attempts, for tests and benchmarks

    async def close(self) -> None:
        """Close the HTTP connection pool, when this gateway opened one."""
        if isinstance(self._client, PooledIndexerClient):
            await self._client.aclose()

    # -- reads ------------------------------------------------------------------------

    async def get_account(self, address: str, subaccount_number: int) -> AccountSnapshot:
        """One subaccount: USDC, positions, the indexer's equity and free collateral.

        Raises :class:`SubaccountNotFound` when the indexer has never seen it
        funded (HTTP 404).
        """
        check_address(address)
        check_subaccount(subaccount_number)

        def not_found() -> DydxTraderError:
            return SubaccountNotFound(
                f"subaccount {address}/{subaccount_number} not found: it was never funded "
                "(deposit USDC to it first)",
                subaccount_number=subaccount_number,
            )

        body = await self._read(
            f"subaccount {subaccount_number}",
            lambda: self._client.account.get_subaccount(address, subaccount_number),
            on_404=not_found,
        )
        return mapping.parse_subaccount(body)

    async def get_markets(self) -> dict[str, MarketSpec]:
        """Every perpetual market, by ticker."""
        body = await self._read("perpetual markets", self._client.markets.get_perpetual_markets)
        return mapping.parse_markets(body)

    async def get_market(self, ticker: str) -> MarketSpec:
        """One market; :class:`UnknownMarket` when the indexer does not list it."""
        check_ticker(ticker)

        def unknown() -> DydxTraderError:
            return UnknownMarket(f"{ticker} is not a market the indexer lists", market=ticker)

        body = await self._read(
            f"market {ticker}",
            lambda: self._client.markets.get_perpetual_markets(ticker),
            on_404=unknown,
            on_400=unknown,
        )
        markets = mapping.parse_markets(body)
        if ticker not in markets:
            raise unknown()
        return markets[ticker]

    async def get_height(self) -> IndexerHeight:
        """The indexer's latest processed block (it may lag the chain)."""
        body = await self._read("height", self._client.utility.get_height)
        return mapping.parse_height(body)

    async def get_orders(
        self,
        address: str,
        subaccount_number: int,
        *,
        ticker: str | None = None,
        status: str | None = None,
        limit: int | None = None,
        good_til_block_before_or_at: int | None = None,
        good_til_block_after: int | None = None,
    ) -> tuple[IndexerOrder, ...]:
        """Orders of one subaccount, as the indexer sorts them (good-til-block,
        then good-til-time, descending); at most ``limit`` (<= 1000).

        ``good_til_block_after`` < good-til-block <= ``good_til_block_before_or_at``
        narrows the list to the orders expiring in that window of blocks.
        """
        check_address(address)
        check_subaccount(subaccount_number)
        if ticker is not None:
            check_ticker(ticker)
        if status is not None and not status.replace("_", "").isalpha():
            raise InvalidInput(f"order status {status!r} is not a status name")
        check_limit(limit)
        for name, height in (
            ("goodTilBlockBeforeOrAt", good_til_block_before_or_at),
            ("goodTilBlockAfter", good_til_block_after),
        ):
            check_height(name, height)
        params: dict[str, Any] = {
            "address": address,
            "subaccountNumber": subaccount_number,
            "ticker": ticker,
            "status": status,
            "limit": limit,
            "goodTilBlockBeforeOrAt": good_til_block_before_or_at,
            "goodTilBlockAfter": good_til_block_after,
        }
        # The client's get_subaccount_orders has no goodTilBlockAfter; its
        # generic GET sends exactly the parameters comlink reads.
        body = await self._read("orders", lambda: self._client.account.get("/v4/orders", params))
        return mapping.parse_orders(body)

    async def get_order(self, order_id: str) -> IndexerOrder | None:
        """One order by the indexer's id (a UUID); ``None`` when the indexer does
        not have it (HTTP 404: never seen, or a short-term order removed unfilled)."""
        try:
            canonical = str(uuid.UUID(order_id))  # nothing but hex and dashes reaches the path
        except (ValueError, TypeError, AttributeError):
            raise InvalidInput(f"{order_id!r} is not an indexer order id (a UUID)") from None
        try:
            body = await self._read(
                f"order {canonical}",
                lambda: self._client.account.get_order(canonical),
                on_404=lambda: _Absent(f"the indexer has no order {canonical}"),
            )
        except _Absent:
            return None
        return mapping.parse_order(body)

    async def get_fills(
        self,
        address: str,
        subaccount_number: int,
        *,
        market: str | None = None,
        limit: int | None = None,
        created_before_or_at_height: int | None = None,
    ) -> tuple[IndexerFill, ...]:
        """Fills of one subaccount, optionally of one market, newest (highest
        block) first; only those at or below ``created_before_or_at_height``."""
        check_address(address)
        check_subaccount(subaccount_number)
        if market is not None:
            check_ticker(market)
        check_limit(limit)
        check_height("createdBeforeOrAtHeight", created_before_or_at_height)
        params: dict[str, Any] = {
            "address": address,
            "subaccountNumber": subaccount_number,
            "market": market,
            "marketType": "PERPETUAL" if market is not None else None,
            "limit": limit,
            "createdBeforeOrAtHeight": created_before_or_at_height,
        }
        # The client's get_subaccount_fills sends `ticker`, which /v4/fills
        # ignores (T6); call its generic GET with the parameter the indexer reads.
        body = await self._read("fills", lambda: self._client.account.get("/v4/fills", params))
        return mapping.parse_fills(body)

    async def get_candles(
        self,
        ticker: str,
        resolution: CandleResolution,
        *,
        limit: int | None = None,
        from_iso: str | None = None,
        to_iso: str | None = None,
    ) -> tuple[Candle, ...]:
        """Candles of one market, **oldest first**; at most ``limit`` (<= 1000)."""
        check_ticker(ticker)
        check_limit(limit)
        for value in (from_iso, to_iso):
            if value is not None and not _ISO.match(value):
                raise InvalidInput(f"{value!r} is not an ISO-8601 time")

        def unknown() -> DydxTraderError:
            return UnknownMarket(f"{ticker} is not a market the indexer lists", market=ticker)

        body = await self._read(
            f"candles {ticker}",
            lambda: self._client.markets.get_perpetual_market_candles(
                ticker, resolution.value, from_iso, to_iso, limit
            ),
            on_404=unknown,
        )
        return mapping.parse_candles(body)

    # -- one read, bounded and classified -------------------------------------------

    async def _read(
        self,
        what: str,
        call: Callable[[], Awaitable[Any]],
        *,
        on_404: Callable[[], DydxTraderError] | None = None,
        on_400: Callable[[], DydxTraderError] | None = None,
    ) -> object:
        async def attempt() -> object:
            self.requests_sent += 1
            try:
                # A little over the httpx timeout: httpx reports its own
                # timeout first, this deadline catches anything else that stalls.
                async with asyncio.timeout(self._timeout_s + 1.0):
                    return await call()
            except httpx.HTTPStatusError as error:
                raise self._classify_status(what, error.response, on_404, on_400) from None
            except (httpx.TransportError, TimeoutError, OSError) as error:
                raise TransientFailure(
                    VenueUnavailable(
                        f"indexer {self.base_url} unreachable while reading {what}: "
                        f"{type(error).__name__}",
                        failure=VenueFailure.TRANSIENT.value,
                    )
                ) from None
            except ValueError:
                # JSONDecodeError, bad UTF-8, or an integer too long to convert.
                raise MalformedPayload(f"indexer answered {what} with invalid JSON") from None

        return await retry_read(attempt, self._retry)

    def _classify_status(
        self,
        what: str,
        response: httpx.Response,
        on_404: Callable[[], DydxTraderError] | None,
        on_400: Callable[[], DydxTraderError] | None,
    ) -> Exception:
        status = response.status_code
        detail = _error_message(response)
        if status == 429:
            wait_s = _retry_after_s(response.headers)
            hint = {} if wait_s is None else {"retry_after_ms": round(wait_s * 1000)}
            return TransientFailure(
                VenueUnavailable(
                    f"indexer rate-limited us (HTTP 429) while reading {what}; wait and retry",
                    status=status,
                    failure=VenueFailure.TRANSIENT.value,
                    **hint,
                ),
                retry_after=wait_s,
            )
        if status >= 500:
            return TransientFailure(
                VenueUnavailable(
                    f"indexer failed reading {what} (HTTP {status}){detail}",
                    status=status,
                    failure=VenueFailure.TRANSIENT.value,
                )
            )
        if status == 404 and on_404 is not None:
            return on_404()
        if status == 400 and on_400 is not None:
            return on_400()
        # Other 4xx: our request is wrong or the endpoint missing; retrying won't help.
        return VenueUnavailable(
            f"indexer refused reading {what} (HTTP {status}){detail}",
            status=status,
            failure=VenueFailure.DEFINITIVE.value,
        )


def _error_message(response: httpx.Response) -> str:
    """The indexer's ``{"errors":[{"msg": ...}]}`` text, short, or nothing."""
    try:
        body = response.json()
    except ValueError:
        return ""
    errors = body.get("errors") if isinstance(body, Mapping) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], Mapping):
        message = errors[0].get("msg")
        if isinstance(message, str):
            return f": {message[:200]}"
    return ""


def _retry_after_s(headers: httpx.Headers) -> float | None:
    """The ``Retry-After`` wait in seconds. comlink sends **milliseconds**
    (``rate-limit.ts``: ``msBeforeNext``), so the number is read as ms."""
    raw = headers.get("Retry-After")
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    if not 0 <= value < 3_600_000:
        return None
    return value / 1000

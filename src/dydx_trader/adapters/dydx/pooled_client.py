"""The official ``IndexerClient`` with one HTTP connection pool for all its requests.

Its ``RestClient.get`` opens a new ``httpx.AsyncClient`` for every request: a new
TCP connection, and on TLS a new handshake and SSL context, each time (about
40-60 ms a request here). Every REST module of the official client keeps its
paths, parameters and parsing; only the transport is shared.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from dydx_v4_client.indexer.rest.indexer_client import IndexerClient
from dydx_v4_client.indexer.rest.utils.request_helpers import generate_query_path

Get = Callable[..., Awaitable[Any]]


class PooledIndexerClient(IndexerClient):  # type: ignore[misc]
    """An ``IndexerClient`` whose modules share one keep-alive ``httpx.AsyncClient``.

    ``api_timeout`` is in seconds (the official default, 3,000, is not).
    TLS certificates are verified (httpx's default). Close with :meth:`aclose`.
    """

    def __init__(self, host: str, api_timeout: float) -> None:
        super().__init__(host, api_timeout)
        self._http: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        for module in (
            self._markets,
            self._account,
            self._status,
            self._megavault,
            self._affiliates,
        ):
            module.get = self._pooled_get(module.host, module.api_timeout)

    def _pooled_get(self, host: str, timeout: float) -> Get:
        async def get(request_path: str, params: dict[str, Any] | None = None) -> Any:
            url = f"{host}{generate_query_path(request_path, params or {})}"
            response = await self._session().get(url, timeout=timeout)
            response.raise_for_status()
            return response.json()

        return get

    def _session(self) -> httpx.AsyncClient:
        # A pool belongs to the event loop it was opened on.
        loop = asyncio.get_running_loop()
        if self._http is None or self._loop is not loop or self._http.is_closed:
            self._http = httpx.AsyncClient()
            self._loop = loop
        return self._http

    async def aclose(self) -> None:
        """Close the pool (idempotent)."""
        if self._http is not None and self._loop is asyncio.get_running_loop():
            await self._http.aclose()
        self._http = None

"""The official client's REST modules, with one kept-alive connection for all requests."""

from __future__ import annotations

from aiohttp import web
from aiohttp.test_utils import TestServer

from dydx_trader.adapters.dydx.pooled_client import PooledIndexerClient


async def test_many_requests_when_pooled_then_one_connection_and_official_parsing() -> None:
    peers: list[object] = []

    async def height(request: web.Request) -> web.Response:
        peers.append(request.transport.get_extra_info("peername") if request.transport else None)
        return web.json_response({"height": "1234", "time": "2026-01-01T00:00:00.000Z"})

    app = web.Application()
    app.router.add_get("/v4/height", height)
    async with TestServer(app, host="127.0.0.1") as server:
        client = PooledIndexerClient(str(server.make_url("")).rstrip("/"), api_timeout=5)
        try:
            answers = [await client.utility.get_height() for _ in range(5)]
        finally:
            await client.aclose()

    assert all(answer["height"] == "1234" for answer in answers)
    assert len(peers) == 5 and len(set(peers)) == 1

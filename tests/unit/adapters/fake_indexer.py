"""A programmable indexer on loopback (aiohttp): real HTTP, scripted answers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from aiohttp import web
from aiohttp.test_utils import TestServer


@dataclass
class Reply:
    status: int = 200
    body: object = None
    raw: str | None = None  # sent as-is instead of JSON
    headers: Mapping[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


class FakeIndexer:
    """Answers ``GET /v4/...`` from scripted replies, keyed by path prefix.

    A route holds a list of replies; each request takes the next one, and the
    last one repeats. Every request is recorded (path and query).
    """

    def __init__(self) -> None:
        self.routes: dict[str, list[Reply]] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        app = web.Application()
        app.router.add_get("/{tail:.*}", self._handle)
        self._server = TestServer(app, host="127.0.0.1")

    def script(self, prefix: str, *replies: Reply) -> None:
        self.routes[prefix] = list(replies)

    def count(self, prefix: str) -> int:
        return sum(1 for path, _ in self.requests if path.startswith(prefix))

    @property
    def url(self) -> str:
        return str(self._server.make_url("")).rstrip("/")

    async def __aenter__(self) -> FakeIndexer:
        await self._server.start_server()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._server.close()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append((request.path, dict(request.query)))
        matches = [p for p in self.routes if request.path.startswith(p)]
        if not matches:
            return web.json_response({"errors": [{"msg": "no such route"}]}, status=404)
        replies = self.routes[max(matches, key=len)]
        reply = replies.pop(0) if len(replies) > 1 else replies[0]
        if reply.delay_s:
            await asyncio.sleep(reply.delay_s)
        text = reply.raw if reply.raw is not None else json.dumps(reply.body)
        return web.Response(
            status=reply.status,
            text=text,
            content_type="application/json",
            headers=dict(reply.headers),
        )

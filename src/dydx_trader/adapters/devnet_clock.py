"""The devnet's manual clock over HTTP (``GET``/``POST /devnet/clock``).

The paper session drives a lockstep replay through this adapter: it meets the
devnet over the wire, like every other part of the trader, never through the
engine object. Every answer is read into a :class:`ClockReading`; a malformed
one is :class:`MalformedPayload`, an unreachable devnet
:class:`VenueUnavailable`, a refused request (409 on a timer clock, 400 for a
time it cannot reach) :class:`InvalidInput` with the devnet's own words.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx

from dydx_trader.app.lockstep import ClockReading
from dydx_trader.domain.errors import InvalidInput, MalformedPayload, VenueUnavailable

DEFAULT_TIMEOUT_S = 120.0  # one advance may produce thousands of blocks


class DevnetClock:
    """``VenueClock`` for the devnet at ``base_url`` (the indexer's host, no ``/v4``)."""

    def __init__(self, base_url: str, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self._client = httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=timeout_s)

    async def status(self) -> ClockReading:
        return _reading(await self._call("GET", None))

    async def advance_to(self, when: datetime, *, block_seconds: int | None = None) -> ClockReading:
        body: dict[str, Any] = {"advance_to": when.isoformat()}
        if block_seconds is not None:
            body["block_seconds"] = block_seconds
        return _reading(await self._call("POST", body))

    async def advance_blocks(self, count: int, block_seconds: float = 1.0) -> ClockReading:
        body = {"advance_blocks": count, "block_seconds": block_seconds}
        return _reading(await self._call("POST", body))

    async def close(self) -> None:
        await self._client.aclose()

    async def _call(self, method: str, body: dict[str, Any] | None) -> dict[str, Any]:
        try:
            answer = await self._client.request(method, "/devnet/clock", json=body)
        except httpx.HTTPError as error:
            raise VenueUnavailable(
                f"devnet clock unreachable: {type(error).__name__}", failure="transient"
            ) from None
        try:
            payload = answer.json()
        except ValueError:
            raise MalformedPayload(
                f"devnet clock answered {answer.status_code}, not JSON"
            ) from None
        if answer.status_code in (400, 409):
            raise InvalidInput(f"devnet clock: {_message(payload)}")
        if answer.status_code != 200 or not isinstance(payload, dict):
            raise VenueUnavailable(f"devnet clock answered HTTP {answer.status_code}")
        return payload


def _message(payload: object) -> str:
    errors = payload.get("errors") if isinstance(payload, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return str(errors[0].get("msg", "refused"))[:300]
    return "refused"


def _reading(payload: dict[str, Any]) -> ClockReading:
    try:
        replay = payload["replay"]
        markets = payload.get("markets") or {}
        return ClockReading(
            height=_int(payload["height"]),
            block_time=_time(payload["block_time"]),
            replay_start=_time(replay["start"]),
            replay_end=None if replay["end"] is None else _time(replay["end"]),
            finished=bool(replay["finished"]),
            data={
                str(ticker): (_time(span["first_candle"]), _time(span["last_candle"]))
                for ticker, span in sorted(markets.items())
            },
        )
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise MalformedPayload(f"devnet clock answer is malformed: {error!r}"[:200]) from None


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"not a whole number: {value!r}")
    return value


def _time(value: object) -> datetime:
    if not isinstance(value, str):
        raise ValueError(f"not a time: {value!r}")
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"time without a zone: {value!r}")
    return moment

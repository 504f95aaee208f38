"""SendPipeline: sends apart from the mailbox, and nothing more after a failure."""

from __future__ import annotations

import asyncio

import pytest

from dydx_trader.app.actor import ActorStopped
from dydx_trader.app.send_pipeline import SendPipeline


async def test_start_when_the_pipeline_failed_before_the_send_began_then_it_is_not_sent() -> None:
    failures: list[Exception] = []
    pipeline = SendPipeline(failures.append)
    sent: list[str] = []

    async def send(name: str) -> str:
        sent.append(name)
        return name

    first = pipeline.start(lambda: send("first"))
    pipeline.fail(RuntimeError("a broadcast's outcome could not be journaled"))
    pipeline.fail(RuntimeError("a second failure"))  # only the first is told
    with pytest.raises(ActorStopped):
        await first.future

    assert sent == [] and len(failures) == 1
    assert str(pipeline.failure) == "a broadcast's outcome could not be journaled"


async def test_drained_when_sends_in_flight_then_done_once_each_has_answered() -> None:
    pipeline = SendPipeline(lambda error: None)
    gate = asyncio.Event()

    async def send() -> str:
        await gate.wait()
        return "answered"

    later = pipeline.start(send)
    drained = pipeline.drained()
    await asyncio.sleep(0)
    assert not drained.future.done() and len(pipeline) == 1
    gate.set()
    await drained.future

    assert later.future.result() == "answered" and len(pipeline) == 0


async def test_close_when_aborted_then_sends_not_yet_begun_do_not_go_out() -> None:
    pipeline = SendPipeline(lambda error: None)
    sent: list[int] = []

    async def send() -> None:
        sent.append(1)

    later = pipeline.start(send)
    pipeline.close()
    with pytest.raises(ActorStopped):
        await later.future

    assert sent == [] and pipeline.failure is None

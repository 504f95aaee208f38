"""The actor base: ordering, ask timeouts, draining stops, and crashes that halt (R19)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest

from dydx_trader.app.actor import EXIT_ACTOR_FAILED, Actor, ActorStopped, Supervisor
from dydx_trader.domain.errors import JournalUnavailable, NothingToTrade, StaleAccountData


@dataclass(frozen=True, slots=True)
class Record:
    value: int


@dataclass(frozen=True, slots=True)
class GetAll:
    pass


@dataclass(frozen=True, slots=True)
class Sleep:
    seconds: float


@dataclass(frozen=True, slots=True)
class Explode:
    pass


@dataclass(frozen=True, slots=True)
class Refuse:
    pass


@dataclass(frozen=True, slots=True)
class Stale:
    pass


@dataclass(frozen=True, slots=True)
class BreakJournal:
    pass


class Recorder(Actor):
    def __init__(self) -> None:
        super().__init__("recorder")
        self.seen: list[int] = []

    async def receive(self, message: object) -> object:
        if isinstance(message, Record):
            self.seen.append(message.value)
            return message.value
        if isinstance(message, GetAll):
            return tuple(self.seen)
        if isinstance(message, Sleep):
            await asyncio.sleep(message.seconds)
            return "slept"
        if isinstance(message, Refuse):
            raise NothingToTrade("nothing to do")
        if isinstance(message, Stale):
            raise StaleAccountData("indexer lags")
        if isinstance(message, BreakJournal):
            raise JournalUnavailable("database is locked")
        if isinstance(message, Explode):
            raise RuntimeError("boom")
        raise TypeError(f"unexpected {message!r}")


async def test_tell_then_ask_when_many_messages_then_handled_in_order() -> None:
    supervisor = Supervisor()
    actor = supervisor.start(Recorder())
    for value in range(200):
        actor.tell(Record(value))
    assert await actor.ask(GetAll(), timeout=1) == tuple(range(200))
    await supervisor.stop()


async def test_ask_when_concurrent_askers_then_each_gets_its_own_answer() -> None:
    supervisor = Supervisor()
    actor = supervisor.start(Recorder())
    answers = await asyncio.gather(*(actor.ask(Record(i), timeout=1) for i in range(50)))
    assert answers == list(range(50))
    await supervisor.stop()


async def test_ask_when_handler_slower_than_timeout_then_timeout_error() -> None:
    supervisor = Supervisor()
    actor = supervisor.start(Recorder())
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(TimeoutError):
        await actor.ask(Sleep(0.5), timeout=0.05)
    assert loop.time() - started < 0.4
    # The actor is still alive and answers the next question after the slow one.
    assert await actor.ask(Record(7), timeout=1) == 7
    await supervisor.stop()


async def test_ask_when_handler_raises_domain_error_then_asker_gets_it_and_actor_lives() -> None:
    supervisor = Supervisor()
    actor = supervisor.start(Recorder())
    with pytest.raises(NothingToTrade):
        await actor.ask(Refuse(), timeout=1)
    actor.tell(Refuse())  # logged, not fatal
    assert await actor.ask(Record(1), timeout=1) == 1
    assert not supervisor.failed
    await supervisor.stop()


async def test_ask_when_data_unavailable_then_asker_gets_it_and_actor_lives() -> None:
    supervisor = Supervisor()
    actor = supervisor.start(Recorder())
    with pytest.raises(StaleAccountData):
        await actor.ask(Stale(), timeout=1)
    assert await actor.ask(Record(2), timeout=1) == 2
    assert not supervisor.failed
    await supervisor.stop()


async def test_ask_when_handler_raises_a_fault_then_supervisor_halts_with_its_reason() -> None:
    reasons: list[str] = []
    supervisor = Supervisor(on_failure=reasons.append)
    actor = supervisor.start(Recorder())
    with pytest.raises(ActorStopped):
        await actor.ask(BreakJournal(), timeout=1)
    assert await asyncio.wait_for(supervisor.wait(), timeout=1) == EXIT_ACTOR_FAILED
    assert isinstance(supervisor.failure, JournalUnavailable)
    assert len(reasons) == 1 and "database is locked" in reasons[0]


async def test_stop_when_messages_queued_then_all_handled_and_new_ones_refused() -> None:
    supervisor = Supervisor()
    recorder = Recorder()
    supervisor.start(recorder)
    for value in range(100):
        recorder.tell(Record(value))
    await recorder.stop()
    assert recorder.seen == list(range(100))
    with pytest.raises(ActorStopped):
        recorder.tell(Record(100))
    with pytest.raises(ActorStopped):
        await recorder.ask(Record(101), timeout=1)


async def test_crash_when_handler_raises_then_halted_within_a_second_and_exit_non_zero() -> None:
    reasons: list[str] = []

    async def halt(reason: str) -> None:
        reasons.append(reason)

    supervisor = Supervisor(on_failure=halt)
    crashing = supervisor.start(Recorder())
    bystander = supervisor.start(Recorder())
    bystander.tell(Sleep(10))  # busy: must be cancelled, not waited for
    loop = asyncio.get_running_loop()
    started = loop.time()
    crashing.tell(Explode())
    exit_code = await asyncio.wait_for(supervisor.wait(), timeout=1)
    assert loop.time() - started < 1
    assert exit_code == EXIT_ACTOR_FAILED == supervisor.exit_code
    assert supervisor.failed and isinstance(supervisor.failure, RuntimeError)
    assert len(reasons) == 1 and "recorder" in reasons[0] and "boom" in reasons[0]
    with pytest.raises(ActorStopped):
        bystander.tell(Record(1))
    with pytest.raises(ActorStopped):
        crashing.tell(Record(1))


async def test_crash_when_asker_waiting_then_asker_gets_actor_stopped_not_a_hang() -> None:
    supervisor = Supervisor()
    actor = supervisor.start(Recorder())
    actor.tell(Explode())
    queued = asyncio.ensure_future(actor.ask(Record(1), timeout=5))
    with pytest.raises(ActorStopped):
        await actor.ask(Explode(), timeout=1)
    with pytest.raises(ActorStopped):
        await asyncio.wait_for(queued, timeout=1)
    assert await supervisor.wait() == EXIT_ACTOR_FAILED


async def test_crash_when_halt_callback_itself_fails_then_still_stops_and_fails() -> None:
    def halt(reason: str) -> None:
        raise OSError("disk full")

    supervisor = Supervisor(on_failure=halt)
    actor = supervisor.start(Recorder())
    actor.tell(Explode())
    assert await asyncio.wait_for(supervisor.wait(), timeout=1) == EXIT_ACTOR_FAILED


async def test_start_when_supervisor_failed_then_refused() -> None:
    supervisor = Supervisor()
    supervisor.start(Recorder()).tell(Explode())
    await asyncio.wait_for(supervisor.wait(), timeout=1)
    with pytest.raises(ActorStopped):
        supervisor.start(Recorder())


async def test_clean_stop_when_no_failure_then_exit_code_zero() -> None:
    supervisor = Supervisor()
    supervisor.start(Recorder()).tell(Record(1))
    await supervisor.stop()
    assert await supervisor.wait() == 0 and not supervisor.failed

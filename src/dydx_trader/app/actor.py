"""A tiny asyncio actor: one mailbox, one task, one message at a time.

An actor owns its state; others reach it only through :meth:`Actor.tell`
(fire and forget) and :meth:`Actor.ask` (a reply future, with a timeout).
Subclasses implement :meth:`Actor.receive`; one that returns a :class:`Later`
answers its asker when that future is done, and meanwhile handles the next message.

Errors: a :class:`Refusal` or :class:`Unavailable` raised by ``receive`` is an
answer (a "no") and goes back to the asker; for a ``tell`` it is logged.
Anything else, a :class:`Fault` included, is a crash: the actor stops and its
:class:`Supervisor` halts trading with a reason, stops every actor and records
a non-zero exit code, so the process ends instead of limping on with a dead task.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, Final

from dydx_trader.domain.errors import Refusal, Unavailable

log = logging.getLogger(__name__)

EXIT_ACTOR_FAILED: Final = 70  # EX_SOFTWARE
_STOP: Final = object()


class ActorStopped(RuntimeError):
    """The actor is stopping or stopped: the message was not (and will not be) handled."""


class Later:
    """What :meth:`Actor.receive` returns to answer later, without holding the mailbox:
    the asker gets ``future``'s result (or its exception) once it is done, while the
    actor already handles the next message."""

    __slots__ = ("future",)

    def __init__(self, future: asyncio.Future[Any]) -> None:
        self.future = future


def _answer_later(reply: asyncio.Future[Any], done: asyncio.Future[Any]) -> None:
    if reply.done():
        return
    if done.cancelled():
        reply.set_exception(ActorStopped("the answer was cancelled before it came"))
    elif (error := done.exception()) is not None:
        reply.set_exception(error)
    else:
        reply.set_result(done.result())


class Actor:
    """Subclass and implement :meth:`receive`; start through :meth:`Supervisor.start`."""

    expected_errors: tuple[type[BaseException], ...] = (Refusal, Unavailable)

    def __init__(self, name: str | None = None) -> None:
        self.name = name or type(self).__name__
        self._mailbox: asyncio.Queue[tuple[object, asyncio.Future[Any] | None]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._supervisor: Supervisor | None = None

    async def receive(self, message: object) -> Any:
        """Handle one message; the return value answers an ``ask``."""
        raise NotImplementedError

    def tell(self, message: object) -> None:
        """Queue ``message``; raises :class:`ActorStopped` once :meth:`stop` was called."""
        self._put(message, None)

    async def ask(self, message: object, timeout: float) -> Any:
        """Queue ``message`` and wait up to ``timeout`` seconds for the answer.

        Raises ``TimeoutError`` (the message may still be handled later),
        :class:`ActorStopped`, or the expected error ``receive`` raised.
        """
        reply: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._put(message, reply)
        async with asyncio.timeout(timeout):
            return await asyncio.shield(reply)

    def _put(self, message: object, reply: asyncio.Future[Any] | None) -> None:
        if self._closed:
            raise ActorStopped(f"{self.name} is stopped")
        self._mailbox.put_nowait((message, reply))

    async def stop(self) -> None:
        """Refuse new messages, handle those already queued, then end."""
        if not self._closed:
            self._closed = True
            self._mailbox.put_nowait((_STOP, None))
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)

    def _abort(self) -> None:
        """Stop now: queued messages are refused (their askers get ActorStopped)."""
        self._closed = True
        if self._task is not None:
            self._task.cancel()
        self._fail_pending()

    def _fail_pending(self) -> None:
        while not self._mailbox.empty():
            message, reply = self._mailbox.get_nowait()
            if reply is not None and not reply.done():
                reply.set_exception(ActorStopped(f"{self.name} stopped before answering"))
            if reply is None and message is not _STOP:
                self.dropped(message)

    def dropped(self, message: object) -> None:
        """A told message left unhandled by a stop or a crash (override to act on it)."""

    async def _run(self) -> None:
        try:
            while True:
                message, reply = await self._mailbox.get()
                if message is _STOP:
                    return
                try:
                    result = await self.receive(message)
                except self.expected_errors as error:
                    if reply is not None:
                        if not reply.done():
                            reply.set_exception(error)
                    else:
                        log.warning("%s refused %s: %s", self.name, type(message).__name__, error)
                    continue
                except Exception as error:  # noqa: BLE001  any crash must escalate
                    if reply is not None and not reply.done():
                        reply.set_exception(ActorStopped(f"{self.name} failed: {error!r}"))
                    self._closed = True
                    self._fail_pending()
                    if self._supervisor is not None:
                        self._supervisor.escalate(self, error)
                    return
                if isinstance(result, Later):
                    if reply is not None:
                        result.future.add_done_callback(partial(_answer_later, reply))
                    continue
                if reply is not None and not reply.done():
                    reply.set_result(result)
        finally:
            self._closed = True
            self._fail_pending()


class Supervisor:
    """Starts actors and turns any actor's crash into a halt and a non-zero exit.

    ``on_failure(reason)`` is called once, on the first crash: it should persist
    HALTED (for example ``risk_guard.halt``). Await :meth:`wait` in ``main`` and
    exit with :attr:`exit_code`.
    """

    def __init__(self, on_failure: Callable[[str], Awaitable[None] | None] | None = None) -> None:
        self._on_failure = on_failure
        self._actors: list[Actor] = []
        self._done = asyncio.Event()
        self.failure: BaseException | None = None
        self.failed_actor: str | None = None
        self._escalation: asyncio.Task[None] | None = None

    @property
    def failed(self) -> bool:
        return self.failure is not None

    @property
    def exit_code(self) -> int:
        return EXIT_ACTOR_FAILED if self.failed else 0

    def start(self, actor: Actor) -> Actor:
        """Run ``actor`` under this supervisor; returns it."""
        if self.failed:
            raise ActorStopped("the supervisor has already failed; nothing new starts")
        actor._supervisor = self
        actor._task = asyncio.create_task(actor._run(), name=f"actor:{actor.name}")
        self._actors.append(actor)
        return actor

    def escalate(self, actor: Actor, error: BaseException) -> None:
        """Called by a crashing actor: halt, stop everyone, remember the failure."""
        if self.failed:
            return
        self.failure, self.failed_actor = error, actor.name
        log.error("actor %s crashed: %r; halting trading", actor.name, error)
        self._escalation = asyncio.get_running_loop().create_task(self._halt(actor, error))

    async def _halt(self, actor: Actor, error: BaseException) -> None:
        try:
            if self._on_failure is not None:
                outcome = self._on_failure(_reason(actor, error))
                if outcome is not None:
                    await outcome
        except Exception:
            log.exception("could not persist the halt after %s crashed", actor.name)
        finally:
            # No draining here: a queued message could send an order after the crash.
            for other in self._actors:
                if other is not actor:
                    other._abort()
            self._done.set()

    async def wait(self) -> int:
        """Until :meth:`stop` or a crash has finished; returns the exit code."""
        await self._done.wait()
        return self.exit_code

    async def stop(self) -> None:
        """Stop every actor, letting each drain its mailbox (a clean shutdown)."""
        await asyncio.gather(*(actor.stop() for actor in self._actors), return_exceptions=True)
        if self._escalation is not None:
            await self._escalation
        self._done.set()


def _reason(actor: Actor, error: BaseException) -> str:
    """Why trading halts: the actor, the error and what it was doing (its notes)."""
    notes = "; ".join(getattr(error, "__notes__", ()))
    reason = f"actor {actor.name} crashed: {type(error).__name__}: {error}"
    return f"{reason} ({notes})" if notes else reason

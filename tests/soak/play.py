"""One schedule, played against a devnet, checked after every step and at the end.

:func:`play` funds a fresh subaccount of the demo address, starts the trader
(in this process or as a process of its own), runs the steps, checks the
invariants after each one, and at the end heals every fault, stops the
trader cleanly and checks that everything settled as the venue says. A
trader that crashes (its actor fails, or its process exits unasked) must have
persisted a HALTED state with a reason; it is then started again, as an
operator (or systemd) would.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
import threading
import time
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

from dydx_devnet.demo import DEMO_ADDRESS
from dydx_trader.app.actor import EXIT_ACTOR_FAILED
from dydx_trader.config import Settings
from dydx_trader.domain.account_terms import STANDARD_FEE_TIER
from soak.inproc import InProcessTrader
from soak.invariants import Violation, check_settled, check_step
from soak.journal_view import JournalView, read_journal
from soak.operator import hold_write_lock, resume
from soak.outcome import Outcome, Unhandled, Venue
from soak.process import ProcessTrader, toml
from soak.schedule import (
    Crash,
    Fault,
    Gap,
    Heal,
    LockJournal,
    Replay,
    Restart,
    Resume,
    Schedule,
    SecondTrader,
    Send,
    Step,
    Wait,
)  # fmt: skip
from soak.tolerance import cap_bound
from soak.world import gap, heal

FUNDS_USDC = Decimal(10_000)
# What the trader assumes until it reads its fee tier from the chain.
TRADER_FEE_PPM = STANDARD_FEE_TIER.taker_fee_ppm
END = -1  # the step index of what is checked once everything has settled


async def play(venue: Venue, schedule: Schedule, subaccount: int, root: Path) -> Outcome:
    """Play ``schedule`` on ``subaccount`` (fresh, funded here); files go under ``root``."""
    started = time.monotonic()
    devnet, watch = venue.devnet, venue.watch
    devnet.fund(DEMO_ADDRESS, FUNDS_USDC, subaccount)
    heal(devnet)
    watch.mark()
    folder = Path(tempfile.mkdtemp(prefix=f"soak-{schedule.seed}-", dir=root))
    journal = folder / "journal.sqlite3"
    sections = schedule.config.settings(str(journal), subaccount, venue.gtb_offset)
    run = _Run(venue, schedule, subaccount, journal, folder, sections)
    loop = asyncio.get_running_loop()
    unhandled = Unhandled()
    logging.getLogger().addHandler(unhandled)
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: run.loop_errors.append(str(context)))
    try:
        await run.start()
        for index, step in enumerate(schedule.steps):
            run.index = index
            await run.do(step)
            run.outcome.steps += 1
            run.check(index)
            await run.recover(index)
        await run.finish()
    finally:
        loop.set_exception_handler(previous)
        logging.getLogger().removeHandler(unhandled)
        await run.close()
        heal(devnet)
    for line in [*unhandled.seen, *run.loop_errors]:
        run.flag(END, "unhandled", line)
    outcome = run.outcome
    outcome.seconds = time.monotonic() - started
    if outcome.failed:
        outcome.files = str(folder)
    else:  # nothing to look at: the journal and logs of a passing schedule go
        shutil.rmtree(folder, ignore_errors=True)
    return outcome


class _Run:
    def __init__(
        self,
        venue: Venue,
        schedule: Schedule,
        subaccount: int,
        journal: Path,
        folder: Path,
        sections: dict[str, dict[str, Any]],
    ) -> None:
        self.venue = venue
        self.schedule = schedule
        self.subaccount = subaccount
        self.journal = journal
        self.folder = folder
        self.sections = sections
        self.outcome = Outcome(schedule)
        self.sent: set[str] = set()
        self.loop_errors: list[str] = []
        self.locks: list[threading.Thread] = []
        self.background: list[asyncio.Task[None]] = []
        self.extra: list[ProcessTrader] = []
        self.trader: InProcessTrader | ProcessTrader
        if schedule.mode == "process":
            config = folder / "dydx-trader.toml"
            config.write_text(toml(sections, venue.devnet))
            self.trader = ProcessTrader(config, folder)
        else:
            settings = Settings.model_validate({**sections, "strategies": []})
            self.trader = InProcessTrader(venue.devnet, settings, DEMO_ADDRESS)
        self.run_started = datetime.now(UTC)
        self.start_failed: str | None = None
        self.index = 0

    def flag(self, index: int, invariant: str, detail: str) -> None:
        self.outcome.violations.append((index, Violation(invariant, detail)))

    # -- steps ------------------------------------------------------------------------

    async def do(self, step: Step) -> None:
        devnet = self.venue.devnet
        if isinstance(step, Send):
            self.sent.update(ask.signal_id for ask in step.asks)
            answers = await asyncio.gather(
                *(self.trader.send(ask, step.source) for ask in step.asks)
            )
            notes = (f"{a}: {answer}" for a, answer in zip(step.asks, answers, strict=True))
            self.outcome.notes.extend(notes)
        elif isinstance(step, Replay):
            self.sent.add(step.ask.signal_id)
            answer = await self.trader.send(step.ask, step.source)
            self.outcome.notes.append(f"replay {step.ask}: {answer}")
        elif isinstance(step, Fault):
            devnet.faults.apply({step.name: step.value})
        elif isinstance(step, Gap):
            self.background.append(asyncio.create_task(self.gap_later(step)))
        elif isinstance(step, Heal):
            heal(devnet)
        elif isinstance(step, LockJournal):
            self.locks.append(hold_write_lock(self.journal, step.seconds))
        elif isinstance(step, Wait):
            await asyncio.sleep(step.blocks * self.venue.watch.block_time_s)
        elif isinstance(step, Resume):
            await asyncio.to_thread(resume, self.journal)
        elif isinstance(step, Restart):
            await self.stop_cleanly(restart=True)
        elif isinstance(step, Crash):
            await self.crash(step.after_s)
        elif isinstance(step, SecondTrader):
            await self.second_trader(step)

    async def gap_later(self, step: Gap) -> None:
        await asyncio.sleep(step.after_s)
        gap(self.venue.devnet, step.market, step.bps)

    async def crash(self, after_s: float) -> None:
        trader = self.trader
        if not isinstance(trader, ProcessTrader):
            return
        await asyncio.sleep(after_s)
        await trader.kill()
        self.outcome.crashes += 1
        await self.start()

    async def second_trader(self, step: SecondTrader) -> None:
        """Another ``run`` on the same subaccount with its own journal (it must refuse),
        and a signal to each at the same moment."""
        folder = self.folder / f"second-{len(self.extra) + 1}"
        folder.mkdir()
        sections = dict(self.sections, journal={"path": str(folder / "journal.sqlite3")})
        config = folder / "dydx-trader.toml"
        config.write_text(toml(sections, self.venue.devnet))
        # The same lock folder as the first: one user on one machine.
        second = ProcessTrader(config, folder, data_home=self.folder / "data")
        self.extra.append(second)
        self.sent.update((step.first.signal_id, step.second.signal_id))
        await second.start()
        await asyncio.gather(
            self.trader.send(step.first, "webhook"), second.send(step.second, "webhook")
        )

    async def start(self) -> None:
        """Start the trader; one that refuses to start (a failed reconciliation) is
        a crash like any other: it must have persisted why, and is started again later."""
        self.run_started = datetime.now(UTC)
        self.start_failed = None
        try:
            await self.trader.start()
        except Exception as error:  # noqa: BLE001 - as `run` exiting non-zero
            self.start_failed = f"{type(error).__name__}: {error}"
            await self.trader.stop()
        if isinstance(self.trader, ProcessTrader) and self.trader.exited is not None:
            self.start_failed = self.trader.tail(3)
            await self.trader.stop()
        if self.start_failed is not None:
            self.outcome.notes.append(f"start refused: {self.start_failed}")

    async def stop_cleanly(self, *, restart: bool) -> bool:
        """SIGTERM (or its in-process equivalent): after a clean exit nothing may be
        left in flight; an exit that is not clean must have persisted why. True when
        the exit was clean."""
        trader = self.trader
        clean = False
        if trader.running:
            if isinstance(trader, ProcessTrader):
                code = await trader.stop()
            else:
                code = EXIT_ACTOR_FAILED if trader.crashed else 0
                try:
                    await trader.stop()
                except Exception as error:  # noqa: BLE001 - `run` would exit non-zero
                    self.outcome.notes.append(f"stop failed: {type(error).__name__}: {error}")
                    code = code or 1
            if code:
                self.require_reason(self.index, f"the trader exited {code}", code=code)
            else:
                self.check_settled(self.index)
                clean = True
        if restart:
            await self.start()
        return clean

    # -- checks -----------------------------------------------------------------------

    def state(self) -> tuple[Any, JournalView]:
        venue = self.venue.watch.state(DEMO_ADDRESS, self.subaccount)
        return venue, read_journal(self.journal)

    def check(self, index: int) -> None:
        venue, journal = self.state()
        caps = self.schedule.config.caps
        bound = cap_bound(
            self.venue.watch.price_moves(),
            Fraction(caps.max_exposure),
            (fill.quote_qq for fill in venue.fills.values()),
            self.venue.watch.taker_fee_ppm(DEMO_ADDRESS),
            TRADER_FEE_PPM,
        )
        for violation in check_step(venue, journal, caps, bound, self.sent):
            self.outcome.violations.append((index, violation))

    def check_settled(self, index: int) -> None:
        venue, journal = self.state()
        for violation in check_settled(venue, journal):
            self.outcome.violations.append((index, violation))

    def require_reason(self, index: int, what: str, *, code: int | None) -> None:
        """A crash (an actor failing: exit 70) must have persisted HALTED with its
        reason; any other unclean exit (a start refused) at least its ``runs`` row's
        reason, when the journal could be written at all."""
        journal = read_journal(self.journal)
        # Written by this process since it started (an operator may have resumed since).
        if any(
            change.state == "HALTED" and change.reason.strip() and change.at >= self.run_started
            for change in journal.states
        ):
            return
        latest = journal.latest_state
        run = journal.runs[-1] if journal.runs else None
        if code != EXIT_ACTOR_FAILED and run is not None and run.status == "failed" and run.reason:
            return
        shown = "nothing" if latest is None else f"{latest.state} ({latest.reason!r})"
        self.flag(index, "crash without a reason", f"{what}; the journal's state is {shown}")

    async def recover(self, index: int) -> None:
        """A trader that crashed must have said why; then it is started again."""
        trader = self.trader
        if self.start_failed is not None:
            # Refused before trading anything because the journal itself was locked:
            # there was nothing to halt, and nowhere to say so.
            if "JournalUnavailable" not in self.start_failed:
                self.require_reason(index, "the trader refused to start", code=1)
            await self.start()
        elif isinstance(trader, InProcessTrader) and trader.crashed:
            await trader.stop()  # as `run` does once its actor failed: then it exits 70
            self.require_reason(index, "the trader's actor crashed", code=EXIT_ACTOR_FAILED)
            await self.start()
        elif isinstance(trader, ProcessTrader) and trader.exited is not None:
            code = await trader.stop()
            self.require_reason(index, f"the trader exited {code} unasked", code=code)
            await self.start()

    async def finish(self) -> None:
        await asyncio.gather(*self.background)
        heal(self.venue.devnet)
        for lock in self.locks:
            await asyncio.to_thread(lock.join)
        self.index = END
        # Until one clean exit: a trader that crashed is started again, and its
        # start-up reconciliation settles what the crash left in flight.
        for _ in range(3):
            if not self.trader.running:
                await self.start()
            if await self.stop_cleanly(restart=False):
                break
        self.check(END)
        venue, journal = self.state()
        self.outcome.final = venue
        self.outcome.orders = sum(1 for p in venue.placements if p.accepted)
        self.outcome.fills = len(venue.fills)
        self.outcome.halts = sum(1 for s in journal.states if s.state == "HALTED")
        if isinstance(self.trader, ProcessTrader):
            for line in self.trader.unhandled():
                self.flag(END, "unhandled", line)

    async def close(self) -> None:
        for task in self.background:
            task.cancel()
        await asyncio.gather(*self.background, return_exceptions=True)
        if self.trader.running:
            await self.trader.stop()
        for extra in self.extra:
            code = await extra.stop()
            self.outcome.extra_exits.append((code, extra.tail(40)))
        for lock in self.locks:
            await asyncio.to_thread(lock.join)

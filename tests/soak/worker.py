"""A soak worker: two devnets, and seeds read from stdin, one JSON result line each.

The in-process devnet makes a block every 25 ms (settlement waits for the
indexer to pass good-til-block, so short blocks keep a schedule short); the
process devnet every 100 ms, since ``dydx-trader run`` caches the chain height
for a second and its good-til-block (15 blocks) must still lie ahead.
Each schedule trades a fresh subaccount of the demo address.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dydx_devnet.server import DevnetConfig
from dydx_devnet.state import EngineConfig
from soak.draw import generate
from soak.play import Outcome, Venue, play
from soak.scenarios import MODE_CHOICE, SCENARIOS
from soak.schedule import MARKETS, Mode, Schedule
from soak.shrink import ddmin
from soak.signals import WEBHOOK_SECRET
from soak.world import BASE_LATENCY_MS, DevnetThread, VenueWatch

WORKER_ARGS = ("-m", "soak", "worker")
INPROC_BLOCK_S = 0.025
PROCESS_BLOCK_S = 0.1
SHRINK_BUDGET = 40


def gtb(blocks: int, block_time_s: float) -> int:
    """A good-til-block offset of ``blocks``, plus the blocks made while three round
    trips of ``SOAK_LATENCY_MS`` pass (the height read, the broadcast and its answer):
    with fast blocks and a slow network the window would close before the order lands."""
    return blocks + math.ceil(3 * BASE_LATENCY_MS / 1000 / block_time_s)


def devnet_config(block_time_s: float, seed: int) -> DevnetConfig:
    engine = EngineConfig(
        seed=seed,
        markets=MARKETS,
        block_time_s=block_time_s,
        # Chain time is wall time (speed 1, genesis now): the trader's clock judges
        # the oracle's age against it.
        # Funding is a venue cash flow no trader controls; the caps' bound leaves it out.
        funding=False,
        # A book about 20,000 USDC deep on each side within 10 bps: the largest
        # orders fill in part, IOC remainders are canceled.
        depth_per_level_usdc=2_000,
        levels=10,
    )
    return DevnetConfig(indexer_port=0, grpc_port=0, engine=engine, latency_ms=BASE_LATENCY_MS)


@dataclass
class Worker:
    venues: dict[Mode, Venue]
    root: Path
    next_subaccount: int = 1

    async def play(self, schedule: Schedule) -> Outcome:
        subaccount = self.next_subaccount
        self.next_subaccount += 1
        return await play(self.venues[schedule.mode], schedule, subaccount, self.root)

    async def result(self, schedule: Schedule) -> dict[str, Any]:
        outcome = await self.play(schedule)
        result: dict[str, Any] = {
            "seed": schedule.seed,
            "mode": schedule.mode,
            "steps": outcome.steps,
            "orders": outcome.orders,
            "fills": outcome.fills,
            "crashes": outcome.crashes,
            "halts": outcome.halts,
            "seconds": round(outcome.seconds, 2),
            "schedule": [str(step) for step in schedule.steps],
            "violations": [
                {"step": index, "invariant": v.invariant, "detail": v.detail}
                for index, v in outcome.violations
            ],
        }
        if os.environ.get("SOAK_VERBOSE"):
            result["notes"] = outcome.notes
        if outcome.failed:
            result["files"] = outcome.files
            result["shortest"] = [str(step) for step in (await self.shrink(outcome)).steps]
        return result

    async def shrink(self, failed: Outcome) -> Schedule:
        schedule = failed.schedule
        wanted = failed.violations[0][1].invariant

        async def fails(steps: tuple[Any, ...]) -> bool:
            outcome = await self.play(schedule.with_steps(steps))
            return any(v.invariant == wanted for _, v in outcome.violations)

        return schedule.with_steps(await ddmin(schedule.steps, fails, SHRINK_BUDGET))


def forced_mode() -> Mode | None:
    mode = os.environ.get("SOAK_MODE")
    if mode in (None, ""):
        return None
    if mode not in ("inproc", "process"):
        raise SystemExit(f"SOAK_MODE must be inproc or process, not {mode!r}")
    return mode  # type: ignore[return-value]


async def serve(worker: Worker) -> None:
    loop = asyncio.get_running_loop()
    mode = forced_mode()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            return
        result = await worker.result(generate(int(line), mode))
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()


async def play_scenarios(worker: Worker, names: list[str]) -> int:
    """Play the named scenarios (all of them by default); one JSON line each."""
    mode = forced_mode()
    failed = 0
    for name in names or list(SCENARIOS):
        make = SCENARIOS[name]
        schedule = make(mode) if mode and name in MODE_CHOICE else make()
        outcome = await worker.play(schedule)
        failed += outcome.failed
        print(json.dumps({
            "scenario": schedule.label,
            "seconds": round(outcome.seconds, 1),
            "orders": outcome.orders,
            "violations": [f"after step {i}: {v}" for i, v in outcome.violations],
            "notes": outcome.notes,
        }), flush=True)  # fmt: skip
    return 1 if failed else 0


@contextmanager
def running_worker(root: Path) -> Iterator[Worker]:
    """A worker with its two devnets, its files under ``root``. The in-process
    trader's webhook secret and lock folder are set in the environment meanwhile."""
    environment = {
        "DYDX_TRADER_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "XDG_DATA_HOME": str(root / "data"),
    }
    with ExitStack() as stack:
        stack.enter_context(_environment(environment))
        inproc = stack.enter_context(DevnetThread(devnet_config(INPROC_BLOCK_S, 7)))
        process = stack.enter_context(DevnetThread(devnet_config(PROCESS_BLOCK_S, 7)))
        venues: dict[Mode, Venue] = {
            "inproc": Venue(inproc, VenueWatch.attach(inproc), gtb_offset=gtb(5, INPROC_BLOCK_S)),
            "process": Venue(
                process, VenueWatch.attach(process), gtb_offset=gtb(15, PROCESS_BLOCK_S)
            ),
        }
        yield Worker(venues, root)


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def _root() -> Iterator[Path]:
    """The worker's folder: its log, lock files and the schedules that failed (kept
    for a look; the rest is removed with it when nothing failed)."""
    root = Path(tempfile.mkdtemp(prefix="dydx-soak-"))
    logging.basicConfig(level=logging.WARNING, filename=root / "worker.log")
    try:
        yield root
    finally:
        if not any(root.glob("soak-*")):
            shutil.rmtree(root, ignore_errors=True)


def main() -> int:
    with _root() as root, running_worker(root) as worker:
        asyncio.run(serve(worker))
    return 0


def scenarios_main(names: list[str]) -> int:
    with _root() as root, running_worker(root) as worker:
        return asyncio.run(play_scenarios(worker, names))

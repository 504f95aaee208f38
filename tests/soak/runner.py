"""``python -m soak``: play many seeded schedules on a few workers; JSON lines out.

``SOAK_SCHEDULES=N`` (default 200) schedules with seeds ``SOAK_SEED`` (default
1) onwards; with ``SOAK_SEED`` alone, that one schedule is replayed.
``SOAK_WORKERS`` (default 3: a schedule mostly waits on blocks and faults, not on
the CPU) worker processes each run two devnets (fast blocks
for in-process traders, 100 ms blocks for process traders, whose chain height
may be a second old) and take seeds one at a time. A schedule that violates
an invariant is shrunk on its worker to the shortest step list that still
does. ``SOAK_MODE=process`` plays every schedule with a process trader.
``SOAK_LATENCY_MS=N`` runs every schedule with the devnet adding N ms of network
latency to each gRPC call, indexer answer and WebSocket message.

Output, like ``make bench``: one JSON object per line, ``soak_schedules``,
``soak_steps``, ``soak_violations``, ``soak_wall_s`` and counts of what
happened; one ``soak_violation`` line per failing seed (its first violation
and shortest steps), with a readable account on stderr. Exit status 1 when
anything was violated.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections import Counter
from typing import Any

from soak.worker import WORKER_ARGS

DEFAULT_SCHEDULES = 200
DEFAULT_WORKERS = 3


def _emit(metric: str, value: float, unit: str, **extra: Any) -> None:
    print(json.dumps({"metric": metric, "value": value, "unit": unit, **extra}), flush=True)


def seeds_from_environment() -> list[int]:
    count = os.environ.get("SOAK_SCHEDULES")
    first = os.environ.get("SOAK_SEED")
    if first is not None and count is None:
        return [int(first)]
    start = 1 if first is None else int(first)
    return list(range(start, start + int(count or DEFAULT_SCHEDULES)))


async def _worker(queue: asyncio.Queue[int], results: list[dict[str, Any]]) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, *WORKER_ARGS,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdin is not None and process.stdout is not None
    try:
        while True:
            try:
                seed = queue.get_nowait()
            except asyncio.QueueEmpty:
                break
            process.stdin.write(f"{seed}\n".encode())
            await process.stdin.drain()
            line = await process.stdout.readline()
            if not line:
                results.append({"seed": seed, "lost": True})
                return
            results.append(json.loads(line))
    finally:
        process.stdin.close()
        await process.wait()


async def _main() -> int:
    seeds = seeds_from_environment()
    workers = max(1, int(os.environ.get("SOAK_WORKERS", DEFAULT_WORKERS)))
    queue: asyncio.Queue[int] = asyncio.Queue()
    for seed in seeds:
        queue.put_nowait(seed)
    results: list[dict[str, Any]] = []
    started = time.monotonic()
    await asyncio.gather(*(_worker(queue, results) for _ in range(min(workers, len(seeds)))))
    wall = time.monotonic() - started
    return _report(results, wall)


def _report(results: list[dict[str, Any]], wall: float) -> int:
    failed = [r for r in results if r.get("violations") or r.get("lost")]
    totals: Counter[str] = Counter()
    for result in results:
        for key in ("steps", "orders", "fills", "crashes", "halts"):
            totals[key] += int(result.get(key, 0))
        totals["process"] += result.get("mode") == "process"
    _emit("soak_schedules", len(results), "schedules")
    _emit("soak_steps", totals["steps"], "steps")
    _emit("soak_violations", sum(len(r.get("violations", ())) for r in failed), "violations",
          seeds=sorted(r["seed"] for r in failed))  # fmt: skip
    _emit("soak_wall_s", round(wall, 1), "s")
    _emit("soak_process_schedules", totals["process"], "schedules")
    _emit("soak_orders_on_venue", totals["orders"], "orders")
    _emit("soak_fills_on_venue", totals["fills"], "fills")
    _emit("soak_kill9", totals["crashes"], "crashes")
    _emit("soak_halts", totals["halts"], "halts")
    for result in sorted(failed, key=lambda r: r["seed"]):
        _describe(result)
    return 1 if failed else 0


def _describe(result: dict[str, Any]) -> None:
    seed = result["seed"]
    if result.get("lost"):
        _emit("soak_violation", 1, "violation", seed=seed, invariant="worker died")
        print(f"seed {seed}: the worker died playing it", file=sys.stderr)
        return
    first = result["violations"][0]
    shortest = result.get("shortest", result["schedule"])
    _emit("soak_violation", len(result["violations"]), "violations", seed=seed,
          invariant=first["invariant"], detail=first["detail"], steps=shortest)  # fmt: skip
    print(f"\nseed {seed} ({result['mode']}): {len(result['violations'])} violation(s)",
          file=sys.stderr)  # fmt: skip
    for violation in result["violations"][:10]:
        print(f"  after step {violation['step']}: {violation['invariant']}: "
              f"{violation['detail']}", file=sys.stderr)  # fmt: skip
    print(f"  its journal and logs: {result.get('files')}", file=sys.stderr)
    print(f"  shortest reproduction ({len(shortest)} of {len(result['schedule'])} steps; "
          f"replay: SOAK_SEED={seed} make soak):", file=sys.stderr)  # fmt: skip
    for step in shortest:
        print(f"    {step}", file=sys.stderr)


def main() -> int:
    return asyncio.run(_main())

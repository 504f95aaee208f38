"""Drawing a schedule from its seed: the trader's configuration and 8-16 random steps.

Signals are BUY / SELL / CLOSE on several markets, alone or in bursts (one
strategy's CLOSE and another's BUY in the same tick among them), through the
webhook or submitted directly; faults are those of ``POST /devnet/faults``,
price gaps, a locked journal, restarts and (for a process trader) kill -9.
"""

from __future__ import annotations

import random
from decimal import Decimal

from soak.schedule import (
    MARKETS,
    Ask,
    Caps,
    Crash,
    Fault,
    Gap,
    Heal,
    LockJournal,
    Mode,
    Replay,
    Restart,
    Resume,
    Schedule,
    Send,
    Source,
    Step,
    TraderConfig,
    Wait,
)  # fmt: skip

# About one schedule in this many runs its trader as a process of its own.
PROCESS_EVERY = 14


def generate(seed: int, mode: Mode | None = None) -> Schedule:
    """The schedule of ``seed``: its mode (unless given), configuration and 8-16 steps."""
    rng = random.Random(seed)
    drawn: Mode = "process" if rng.randrange(PROCESS_EVERY) == 0 else "inproc"
    mode = mode or drawn
    caps = Caps(Decimal(rng.choice(("1", "2", "3"))), Decimal(rng.choice(("1", "1.5", "2", "3"))))
    config = TraderConfig(
        caps=caps,
        equity_fraction=Decimal(rng.choice(("0.2", "0.4", "0.9"))),
        scale_by_confidence=rng.random() < 0.3,
        slippage_bps=rng.choice((10, 50, 100)),
        trip_state=rng.choice(("HALTED", "HALTED", "REDUCING")),
    )
    draw = _Draw(rng, seed, mode)
    steps = tuple(draw.step() for _ in range(rng.randint(8, 16)))
    return Schedule(seed, mode, config, steps)


class _Draw:
    """Draws steps; remembers the signals sent so that a replay can repeat one."""

    def __init__(self, rng: random.Random, seed: int, mode: Mode) -> None:
        self._rng = rng
        self._seed = seed
        self._mode = mode
        self._count = 0
        self._sent: list[Ask] = []

    def ask(self, action: str | None = None, market: str | None = None) -> Ask:
        rng = self._rng
        self._count += 1
        confidence = rng.choice(("0.9", "0.9", "0.75", "1", "0.5"))
        ask = Ask(
            f"soak-{self._seed}-{self._count}",
            action or rng.choice(("BUY", "BUY", "SELL", "CLOSE", "CLOSE")),
            market or rng.choice(MARKETS),
            confidence,
        )
        self._sent.append(ask)
        return ask

    def source(self) -> Source:
        if self._mode == "process":
            return "webhook"
        return "webhook" if self._rng.random() < 0.35 else "direct"

    def step(self) -> Step:
        rng = self._rng
        roll = rng.random()
        if roll < 0.30:
            return Send((self.ask(),), self.source())
        if roll < 0.42:
            return self.burst()
        if roll < 0.46 and self._sent:
            return Replay(rng.choice(self._sent), self.source())
        if roll < 0.72:
            return self.fault()
        if roll < 0.76:
            return LockJournal(rng.choice((0.3, 0.8, 1.5)))
        if roll < 0.82:
            return Wait(rng.randint(1, 12))
        if roll < 0.86:
            return Resume()
        if roll < 0.88:
            return Gap(rng.choice(MARKETS), rng.choice((-150, -60, 60, 150)), rng.choice((0, 0.1)))
        if roll < 0.91:
            return Heal()
        if roll < 0.94:
            return Restart()
        if self._mode == "process":
            return Crash(rng.choice((0.0, 0.1, 0.3, 0.8)))
        return Send((self.ask(),), self.source())

    def burst(self) -> Send:
        rng = self._rng
        if rng.random() < 0.4:
            # One strategy closes while another buys elsewhere, in the same tick.
            first, second = rng.sample(MARKETS, 2)
            asks = (self.ask("CLOSE", first), self.ask("BUY", second))
        else:
            asks = tuple(self.ask() for _ in range(rng.randint(2, 4)))
        return Send(asks, self.source())

    def fault(self) -> Fault:
        rng = self._rng
        kind = rng.randrange(7)
        if kind == 0:
            return Fault("drop_next_broadcast_responses", rng.randint(1, 2))
        if kind == 1:
            return Fault("fail_next_broadcasts", rng.randint(1, 2))
        if kind == 2:
            seconds = rng.choice((0.2, 0.5, 1.0))
            return Fault("delay_next_broadcast_responses", {"count": 1, "seconds": seconds})
        if kind == 3:
            route = rng.choice(("*", "fills", "orders", "height", "addresses"))
            spec = {"count": rng.randint(2, 10), "route": route}
            return Fault("fail_next_indexer_requests", spec)
        if kind == 4:
            route = rng.choice(("*", "fills", "orders"))
            spec = {"count": rng.randint(1, 4), "route": route, "status": 429}
            return Fault("fail_next_indexer_requests", spec | {"retry_after_ms": 300})
        if kind == 5:
            return Fault("hold_indexer", rng.randint(1, 12))
        return Fault("delay_fills_blocks", rng.randint(1, 4))

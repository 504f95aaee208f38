"""A soak schedule: the trader's configuration and a list of steps, drawn from one seed.

Steps are plain frozen values, so a failing schedule can be printed, replayed
(``SOAK_SEED``) and shrunk (:mod:`soak.shrink`: any sub-list of steps is a
schedule too). :func:`generate` draws a schedule from its seed alone.

A schedule runs its trader in this process (``inproc``: fast; signals are
submitted directly or posted to the webhook) or as ``dydx-trader run`` in a
process of its own (``process``: signals through the webhook; kill -9 and
SIGTERM are real).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

MARKETS = ("BTC-USD", "ETH-USD", "SOL-USD")
Mode = Literal["inproc", "process"]
Source = Literal["direct", "webhook"]
# About one schedule in this many runs its trader as a process of its own.
PROCESS_EVERY = 14


@dataclass(frozen=True, slots=True)
class Caps:
    """The configured caps: position leverage and gross exposure (multiples of equity)."""

    max_leverage: Decimal
    max_exposure: Decimal


@dataclass(frozen=True, slots=True)
class TraderConfig:
    """What a schedule configures; :meth:`settings` is the config file's content."""

    caps: Caps
    equity_fraction: Decimal = Decimal("0.9")
    scale_by_confidence: bool = False
    slippage_bps: int = 50
    trip_state: str = "HALTED"
    max_consecutive_unknown: int = 3
    confirm_timeout_s: float = 4.0

    def settings(self, journal: str, subaccount: int, gtb_offset: int) -> dict[str, dict[str, Any]]:
        """The settings sections (the same for a process's TOML and an in-process trader)."""
        return {
            "account": {"subaccount_number": subaccount},
            "journal": {"path": journal},
            "risk": {
                "max_leverage": str(self.caps.max_leverage),
                "max_exposure": str(self.caps.max_exposure),
            },
            "sizing": {
                "kind": "equity_fraction",
                "equity_fraction": str(self.equity_fraction),
                "scale_by_confidence": self.scale_by_confidence,
            },
            "execution": {
                "slippage_bps": str(self.slippage_bps),
                "good_til_block_offset": gtb_offset,
                "confirm_timeout_s": self.confirm_timeout_s,
                "send_timeout_s": 3,
            },
            "validation": {
                "cooldown_s": 0,
                "rate_limit_per_minute": "100000",
                "rate_limit_burst": 10_000,
                "max_age_s": 600,
            },
            "ttl": {"balance_ttl_s": 1, "max_indexer_lag_blocks": 8},
            "kill_switch": {
                "trip_state": self.trip_state,
                "max_consecutive_unknown": self.max_consecutive_unknown,
                "max_consecutive_rejections": 5,
            },
        }


@dataclass(frozen=True, slots=True)
class Ask:
    """One signal: ``action`` (BUY / SELL / CLOSE) on ``market``."""

    signal_id: str
    action: str
    market: str
    confidence: str = "0.9"

    def __str__(self) -> str:
        return f"{self.action} {self.market} ({self.signal_id}, {self.confidence})"


@dataclass(frozen=True, slots=True)
class Send:
    """Send ``asks`` at once (a burst, or a strategy tick), directly or by webhook."""

    asks: tuple[Ask, ...]
    source: Source = "direct"

    def __str__(self) -> str:
        return f"send[{self.source}] " + " + ".join(map(str, self.asks))


@dataclass(frozen=True, slots=True)
class Replay:
    """Send an earlier signal again, same id (a duplicate delivery)."""

    ask: Ask
    source: Source = "direct"

    def __str__(self) -> str:
        return f"replay[{self.source}] {self.ask}"


@dataclass(frozen=True, slots=True)
class Fault:
    """Arm one devnet fault: ``POST /devnet/faults {name: value}``."""

    name: str
    value: Any

    def __str__(self) -> str:
        return f"fault {self.name}={self.value}"


@dataclass(frozen=True, slots=True)
class Gap:
    """The market gaps: its oracle jumps by ``bps`` (pinned until the next heal),
    ``after_s`` seconds from now, while the next steps go on."""

    market: str
    bps: int
    after_s: float = 0.0

    def __str__(self) -> str:
        later = f" in {self.after_s:g} s" if self.after_s else ""
        return f"gap {self.market} {self.bps:+d} bps{later}"


@dataclass(frozen=True, slots=True)
class Heal:
    """Every fault off and every price free again."""

    def __str__(self) -> str:
        return "heal"


@dataclass(frozen=True, slots=True)
class LockJournal:
    """Another connection (another process, for a process trader) holds the
    journal's write lock for ``seconds`` while the schedule goes on."""

    seconds: float

    def __str__(self) -> str:
        return f"lock journal {self.seconds:g} s"


@dataclass(frozen=True, slots=True)
class Wait:
    blocks: int

    def __str__(self) -> str:
        return f"wait {self.blocks} blocks"


@dataclass(frozen=True, slots=True)
class Resume:
    """The operator: ``dydx-trader trading-state active`` if trading is not ACTIVE."""

    def __str__(self) -> str:
        return "resume"


@dataclass(frozen=True, slots=True)
class Restart:
    """A clean stop (SIGTERM) and a new start."""

    def __str__(self) -> str:
        return "restart"


@dataclass(frozen=True, slots=True)
class Crash:
    """kill -9 after ``after_s`` seconds (whatever is in flight), then a new start."""

    after_s: float

    def __str__(self) -> str:
        return f"kill -9 after {self.after_s:g} s"


@dataclass(frozen=True, slots=True)
class SecondTrader:
    """A second ``run`` on the same subaccount with its own journal; ``first`` goes to
    the schedule's trader and ``second`` to the new one, at the same moment."""

    first: Ask
    second: Ask

    def __str__(self) -> str:
        return f"second trader: {self.first} to the first, {self.second} to the second"


Step = (
    Send | Replay | Fault | Gap | Heal | LockJournal | Wait | Resume | Restart | Crash
) | SecondTrader


@dataclass(frozen=True, slots=True)
class Schedule:
    seed: int
    mode: Mode
    config: TraderConfig
    steps: tuple[Step, ...]
    name: str = ""
    notes: tuple[str, ...] = field(default=())

    def with_steps(self, steps: tuple[Step, ...]) -> Schedule:
        return Schedule(self.seed, self.mode, self.config, steps, self.name, self.notes)

    @property
    def label(self) -> str:
        return self.name or f"seed {self.seed}"


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

"""A soak schedule: the trader's configuration and a list of steps, drawn from one seed.

Steps are plain frozen values, so a failing schedule can be printed, replayed
(``SOAK_SEED``) and shrunk (:mod:`soak.shrink`: any sub-list of steps is a
schedule too). :func:`soak.draw.generate` draws a schedule from its seed alone.

A schedule runs its trader in this process (``inproc``: fast; signals are
submitted directly or posted to the webhook) or as ``dydx-trader run`` in a
process of its own (``process``: signals through the webhook; kill -9 and
SIGTERM are real).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

MARKETS = ("BTC-USD", "ETH-USD", "SOL-USD")
Mode = Literal["inproc", "process"]
Source = Literal["direct", "webhook"]


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

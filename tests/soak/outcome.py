"""What a played schedule gives back: its violations and counts (:class:`Outcome`),
the venue it was played on (:class:`Venue`), and the trader's crashes that only
reached a log (:class:`Unhandled`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from dydx_devnet.server import Devnet
from soak.invariants import Violation
from soak.schedule import Schedule
from soak.world import VenueState, VenueWatch


@dataclass
class Venue:
    """One devnet of a worker and what watches it."""

    devnet: Devnet
    watch: VenueWatch
    gtb_offset: int


@dataclass
class Outcome:
    schedule: Schedule
    violations: list[tuple[int, Violation]] = field(default_factory=list)
    steps: int = 0
    orders: int = 0
    fills: int = 0
    crashes: int = 0
    halts: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    files: str | None = None  # where a failed schedule's journal and logs are kept
    final: VenueState | None = None  # the subaccount once everything settled
    # A second trader's exit code and output, each (F2).
    extra_exits: list[tuple[int | None, str]] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return bool(self.violations)


class Unhandled(logging.Handler):
    """Collects the trader's log records with a traceback at ERROR: a crash it only logged."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.name.startswith("dydx_trader"):
            self.seen.append(f"{record.name}: {record.getMessage()}")

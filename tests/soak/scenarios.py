"""The reliability review's findings F1-F5 as fixed schedules (``make test`` plays each).

Each is played like any soak schedule and checked by the same invariants;
each broke one of them on a178e09 (``python -m soak scenarios`` with
``SOAK_TRADER_SRC`` pointing at that checkout's ``src`` shows it). All of them
trade with the review's settings: caps of 1x leverage and 1x exposure, 90 %
of equity per trade.
"""

from __future__ import annotations

from decimal import Decimal

from soak.schedule import (
    Ask,
    Caps,
    Fault,
    Gap,
    LockJournal,
    Restart,
    Schedule,
    SecondTrader,
    Send,
    TraderConfig,
    Wait,
)  # fmt: skip

REVIEW = TraderConfig(Caps(Decimal(1), Decimal(1)), equity_fraction=Decimal("0.9"))


def _ask(name: str, number: int, action: str, market: str) -> Ask:
    return Ask(f"{name}-{number}", action, market, "0.9")


def f1_close_lost(mode: str = "inproc") -> Schedule:
    """F1: BUY BTC fills at 0.9x; the CLOSE's broadcast never lands; BUY ETH right
    after must be sized as if the CLOSE may not fill (the venue stays within 1x)."""
    source = "webhook" if mode == "process" else "direct"
    steps = (
        Send((_ask("f1", 1, "BUY", "BTC-USD"),), source),
        Wait(20),
        Fault("fail_next_broadcasts", 1),
        Send((_ask("f1", 2, "CLOSE", "BTC-USD"),), source),
        Send((_ask("f1", 3, "BUY", "ETH-USD"),), source),
        Wait(20),
    )
    return Schedule(0, mode, REVIEW, steps, name=f"F1 close lost ({mode})")  # type: ignore[arg-type]


def f1_back_to_back(mode: str = "inproc") -> Schedule:
    """F1 without a lost message: one tick sends CLOSE BTC and BUY ETH back to back;
    the network is slow (each call takes 40 ms, 300 ms against the process's slower
    chain) and BTC gaps 2 % while the CLOSE travels, so the reduce-only IOC finds no
    bid inside its slippage bound and does not fill."""
    process = mode == "process"
    source = "webhook" if process else "direct"
    steps = (
        Send((_ask("f1b", 1, "BUY", "BTC-USD"),), source),
        Wait(20),
        Fault("latency", {"ms": 300 if process else 40}),
        Gap("BTC-USD", -200, after_s=0.05 if process else 0.01),
        Send((_ask("f1b", 2, "CLOSE", "BTC-USD"), _ask("f1b", 3, "BUY", "ETH-USD")), source),
        Wait(20),
    )
    return Schedule(0, mode, REVIEW, steps, name=f"F1 back to back ({mode})")  # type: ignore[arg-type]


def f2_second_trader() -> Schedule:
    """F2: a second ``run`` on the same subaccount (its own journal) must refuse; if
    it traded, both would spend the same free collateral."""
    steps = (
        SecondTrader(_ask("f2", 1, "BUY", "BTC-USD"), _ask("f2", 2, "BUY", "BTC-USD")),
        Wait(20),
    )
    return Schedule(0, "process", REVIEW, steps, name="F2 second trader")


def f3_journal_locked_after_send() -> Schedule:
    """F3: the answer to BUY BTC comes after 1 s, while another process holds the
    journal's write lock for 7 s: the order filled, its SUBMITTED write fails. It
    must still be followed to settlement (and trading halted), never left in flight."""
    steps = (
        Fault("delay_next_broadcast_responses", {"count": 1, "seconds": 1.0}),
        Send((_ask("f3", 1, "BUY", "BTC-USD"),), "webhook"),
        Wait(4),
        LockJournal(7.0),
        Wait(30),
    )
    return Schedule(0, "process", REVIEW, steps, name="F3 journal locked after the send")


def f4_indexer_fails_while_settling(mode: str = "process") -> Schedule:
    """F4: the indexer answers 503 while the filled BUY BTC is being settled; the
    settlement waits it out instead of giving up (nothing SUBMITTED at a clean stop)."""
    source = "webhook" if mode == "process" else "direct"
    steps = (
        Fault("delay_next_broadcast_responses", {"count": 1, "seconds": 1.0}),
        Send((_ask("f4", 1, "BUY", "BTC-USD"),), source),
        Wait(3),
        Fault("fail_next_indexer_requests", {"count": 12, "route": "*"}),
        Wait(30),
    )
    return Schedule(0, mode, REVIEW, steps, name=f"F4 indexer failing ({mode})")  # type: ignore[arg-type]


def f5_sigterm_in_flight() -> Schedule:
    """F5: SIGTERM while BUY BTC's answer is 2 s away: the clean exit must leave it
    FILLED in the journal, as on the venue, not SUBMITTED."""
    steps = (
        Fault("delay_next_broadcast_responses", {"count": 1, "seconds": 2.0}),
        Send((_ask("f5", 1, "BUY", "BTC-USD"),), "webhook"),
        Wait(3),
        Restart(),
    )
    return Schedule(0, "process", REVIEW, steps, name="F5 SIGTERM with an order in flight")


# Scenarios that can run either way (the others need a process of their own).
MODE_CHOICE = frozenset({"f1", "f1b", "f4"})
SCENARIOS = {
    "f1": f1_close_lost,
    "f1b": f1_back_to_back,
    "f2": f2_second_trader,
    "f3": f3_journal_locked_after_send,
    "f4": f4_indexer_fails_while_settling,
    "f5": f5_sigterm_in_flight,
}

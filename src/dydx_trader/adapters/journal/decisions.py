"""Signals, validator verdicts and decisions: what the trader was asked, and what it said.

A signal is decided exactly once. :meth:`DecisionLog.record_signal` only
records it (the webhook does, before answering 202); :meth:`DecisionLog.claim_signal`
is the flow's question "may I decide this one?": yes while it has no decision
yet, whoever recorded it. :meth:`DecisionLog.undecided_signals` lists the ones
a crash left between the two.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from dydx_trader.adapters.journal._codec import signal_from_json
from dydx_trader.adapters.journal._db import JournalDb, to_json
from dydx_trader.domain.decision import Decision
from dydx_trader.domain.signal import Action, Signal, SignalSource

_INSERT_SIGNAL = (
    "INSERT OR IGNORE INTO signals (signal_id, market, action, source, strategy, "
    "created_at, recorded_at, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
# A HOLD is never decided (there is nothing to do), so it is never pending either.
_UNDECIDED = (
    "SELECT payload FROM signals s WHERE action != ? AND (? IS NULL OR source = ?) AND "
    "NOT EXISTS (SELECT 1 FROM decisions d WHERE d.signal_id = s.signal_id) "
    "ORDER BY recorded_at, rowid LIMIT ?"
)


class DecisionLog(JournalDb):
    """The signal, validation and decision records of the journal."""

    def record_signal(self, signal: Signal) -> bool:
        """Record a signal; False if its id was already recorded (nothing changes)."""
        with self._write() as conn:
            return conn.execute(_INSERT_SIGNAL, self._signal_row(signal)).rowcount == 1

    def claim_signal(self, signal: Signal) -> bool:
        """Whether ``signal`` is still to be decided: True when it has no decision
        yet (recording it if it was not recorded), False when it was decided."""
        with self._write() as conn:
            conn.execute(_INSERT_SIGNAL, self._signal_row(signal))
            decided = conn.execute(
                "SELECT 1 FROM decisions WHERE signal_id = ? LIMIT 1", (signal.id,)
            ).fetchone()
            return decided is None

    def undecided_signals(
        self, source: SignalSource | None = None, limit: int = 1_000
    ) -> list[Signal]:
        """Recorded signals (of ``source``, if given) with no decision, oldest first:
        what a crash left between recording and deciding. HOLDs are never pending."""
        wanted = None if source is None else source.value
        rows = self._read(_UNDECIDED, Action.HOLD.value, wanted, wanted, max(0, limit))
        return [signal_from_json(row[0]) for row in rows]

    def record_validation(
        self,
        signal_id: str,
        *,
        accepted: bool,
        rule: str | None = None,
        reason: str = "",
        numbers: Mapping[str, object] | None = None,
    ) -> None:
        """Record a validator verdict: accepted, or refused by ``rule`` because ``reason``."""
        with self._write() as conn:
            conn.execute(
                "INSERT INTO validations (signal_id, accepted, rule, reason, numbers, "
                "recorded_at) VALUES (?, ?, ?, ?, ?, ?)",
                (signal_id, int(accepted), rule, reason, to_json(numbers or {}), self._now()),
            )

    def record_decision(self, decision: Decision) -> None:
        """Record a decision and its arithmetic (as JSON text)."""
        with self._write() as conn:
            conn.execute(
                "INSERT INTO decisions (signal_id, market, outcome, error_code, reason, "
                "arithmetic, payload, decided_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    decision.signal_id,
                    decision.market,
                    decision.outcome.value,
                    decision.error_code,
                    decision.reason,
                    to_json([list(line) for line in decision.arithmetic]),
                    to_json(decision.to_dict()),
                    decision.decided_at.isoformat(),
                ),
            )

    def recent_decisions(self, limit: int = 20) -> list[Decision]:
        """The ``limit`` latest decisions, newest first."""
        rows = self._read("SELECT payload FROM decisions ORDER BY id DESC LIMIT ?", max(0, limit))
        return [Decision.from_dict(json.loads(row[0])) for row in rows]

    def _signal_row(self, signal: Signal) -> tuple[str, ...]:
        return (
            signal.id,
            signal.market,
            signal.action.value,
            signal.source.value,
            signal.strategy,
            signal.created_at.isoformat(),
            self._now(),
            to_json(signal.to_dict()),
        )

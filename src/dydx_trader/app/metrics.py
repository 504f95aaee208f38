"""What the trader tells its metrics: events, named for what happened.

The app calls a :class:`TraderMetrics` (no metrics library is imported in
``app/`` or ``domain/``); the Prometheus adapter
(:mod:`dydx_trader.adapters.metrics`) implements it, and :class:`NoMetrics`
is the default that records nothing. Durations are the adapter's to measure on
its own wall clock, from one event to the next of the same signal: in a paper
replay the trader's clock is market time, which stands still while it decides.
"""

from __future__ import annotations

from typing import Protocol


class TraderMetrics(Protocol):
    """Events of one trader. Every method is quick and never raises."""

    def signal_received(self, signal_id: str) -> None:
        """A signal entered the trader (a tick: the start of tick-to-trade)."""

    def decision_started(self, signal_id: str) -> None:
        """The account actor took the signal up (the start of the decision)."""

    def decided(self, signal_id: str, outcome: str, reason: str) -> None:
        """The signal's decision: ``outcome`` ACCEPTED/REFUSED, ``reason`` a short
        code (the error class or validation rule; for an acceptance the binding cap)."""

    def order_sent(self, signal_id: str) -> None:
        """The signal's order was broadcast and answered (the end of tick-to-trade)."""

    def order_final(self, state: str) -> None:
        """An order reached its final state (FILLED, CANCELED, REJECTED, ...)."""

    def balance_read(self, *, cached: bool) -> None:
        """A balance was asked for: served from the cache, or not."""

    def balance_fetched(self) -> None:
        """One upstream balance fetch (the indexer's account and the node's height)."""


class NoMetrics:
    """A :class:`TraderMetrics` that records nothing (the default)."""

    def signal_received(self, signal_id: str) -> None:
        pass

    def decision_started(self, signal_id: str) -> None:
        pass

    def decided(self, signal_id: str, outcome: str, reason: str) -> None:
        pass

    def order_sent(self, signal_id: str) -> None:
        pass

    def order_final(self, state: str) -> None:
        pass

    def balance_read(self, *, cached: bool) -> None:
        pass

    def balance_fetched(self) -> None:
        pass

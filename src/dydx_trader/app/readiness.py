"""Readiness: whether the trader may be sent signals now, as named checks.

``/readyz`` answers ready only when every check passes; each failing one says
why in a few words, so an operator (or a load balancer's log) sees what is
missing: reconciliation not done, a stream down, the indexer too far behind,
the journal not writable, the replay not running.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Check:
    """One readiness check: its ``name``, whether it passes, and why not."""

    name: str
    ok: bool
    detail: str = ""


def is_ready(checks: Iterable[Check]) -> bool:
    """True when there is at least one check and every one passes."""
    listed = tuple(checks)
    return bool(listed) and all(check.ok for check in listed)


def indexer_lag_check(lag_blocks: int | None, max_lag_blocks: int) -> Check:
    """The indexer's lag at the last balance fetch (blocks) against the allowed one."""
    if lag_blocks is None:
        return Check("indexer_lag", False, "no balance read has measured the indexer yet")
    if lag_blocks > max_lag_blocks:
        return Check(
            "indexer_lag", False, f"{lag_blocks} blocks behind the chain (at most {max_lag_blocks})"
        )
    return Check("indexer_lag", True, f"{lag_blocks} blocks behind the chain")


def streams_check(*, account: bool, markets: bool) -> Check:
    """The indexer's WebSocket streams (the account's and the markets')."""
    down = [name for name, up in (("account", account), ("markets", markets)) if not up]
    if down:
        return Check("streams", False, f"{' and '.join(down)} stream not connected")
    return Check("streams", True)

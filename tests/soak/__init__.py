"""The seeded fault soak: ``make soak`` (issue 9).

Many seeded schedules of random signals (BUY / SELL / CLOSE on several
markets, alone or in bursts, through the webhook or submitted directly)
interleaved with random faults (lost and never-landing broadcasts, delayed
answers, indexer 503/429 bursts, a lagging indexer, fills shown late, price
gaps, another connection or process holding the journal's write lock, kill -9
with a restart). After every step, and once everything has settled at the
end, :mod:`soak.invariants` checks the trader's promises against the devnet's
*own* state (the engine's subaccount, orders, fills and every placement it
accepted), never against the trader's view.

Modules: :mod:`soak.schedule` (the steps and their seeded generation),
:mod:`soak.world` (the devnet on its own thread and what it saw),
:mod:`soak.journal_view` (the journal read as an operator would),
:mod:`soak.tolerance` (the caps' one tolerance, derived),
:mod:`soak.invariants`, :mod:`soak.inproc` and :mod:`soak.process` (the trader
in this process, or as ``dydx-trader run`` in its own), :mod:`soak.play` (one
schedule), :mod:`soak.shrink` (the shortest failing step list),
:mod:`soak.scenarios` (the reliability review's F1-F5 as fixed schedules) and
:mod:`soak.runner` (``python -m soak``: workers, JSON lines).
"""

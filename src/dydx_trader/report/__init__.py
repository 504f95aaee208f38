"""The trader's report of a session, computed purely (standard library only,
``Decimal`` throughout): round trips from fills (:mod:`.trips`), drawdown,
Sharpe and returns from the equity samples (:mod:`.performance`), and the
whole summary (:mod:`.summary`). Writing files is the adapters' job."""

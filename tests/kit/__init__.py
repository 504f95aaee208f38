"""The shared test kit: fakes of every port and builders of domain values.

Importable from any test as ``kit`` (``pythonpath = ["tests"]`` in the pytest
configuration):

* :mod:`kit.clock`: :class:`~kit.clock.FakeClock`, the one hand-moved clock;
* :mod:`kit.markets`: consistent ``MarketSpec`` builders and accounts;
* :mod:`kit.fixtures`: the real indexer payloads under ``tests/fixtures/dydx``;
* :mod:`kit.orders`: order intents;
* :mod:`kit.venue`: ``FakeSender`` and ``FakeVenue``, scripted for the executor;
* :mod:`kit.indexer_reads`: ``PagingIndexer`` (orders and fills sorted, filtered and paged
  as comlink does, failures on cue), journals that fail on cue, ``FakeMonotonic``;
* :mod:`kit.exchange`: ``FakeExchange``, a small dYdX (indexer, node and order
  sender in one) that fills what it is sent, for tests of a whole trader;
* :mod:`kit.trader`: a :class:`~dydx_trader.bootstrap.Trader` built through
  ``build_trader`` on a ``FakeExchange``.
"""

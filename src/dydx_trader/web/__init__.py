"""The operator's view in a browser, served by ``dydx-trader run`` on ``http.port``.

:mod:`.server` assembles one aiohttp application: the page and its live stream
(:mod:`.pages`), the controls (:mod:`.controls`, guarded by :mod:`.auth`),
``/metrics`` (:mod:`dydx_trader.adapters.metrics`), ``/healthz`` and
``/readyz`` (:mod:`.health`), and the webhook (:mod:`.webhook_slot`). What the
page shows comes from the journal and the trader's status (:mod:`.source`,
:mod:`.views`); ``static/`` holds the page, its script and the vendored uPlot.
"""

"""The indexer routes of the complete venue, registered beside comlink's core routes.

Transfers (:mod:`dydx_devnet.transfers_api`), the parent-subaccount views
(:mod:`dydx_devnet.parent_api`) and the history routes: PnL, funding, sparklines
(:mod:`dydx_devnet.history_api`), and compliance screening: the devnet blocks no
address, so ``GET /v4/compliance/screen/{address}`` answers ``{"status": "COMPLIANT"}``
as comlink does for an address it has no record of.
"""

from __future__ import annotations

from aiohttp import web

from dydx_devnet import history_api, parent_api, transfers_api
from dydx_devnet.indexer_params import json_response, read_address


async def get_compliance_screen(request: web.Request) -> web.Response:
    read_address(request, "address must be a valid address")
    return json_response({"status": "COMPLIANT"})


def add_routes(app: web.Application) -> None:
    """Register the venue's REST routes on the indexer application."""
    transfers_api.add_routes(app)
    parent_api.add_routes(app)
    history_api.add_routes(app)
    app.router.add_get("/v4/compliance/screen/{address}", get_compliance_screen)

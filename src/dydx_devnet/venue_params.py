"""Query parameters of the venue's indexer routes: paging and time filters.

comlink's list paging: ``limit`` (default and max 1000) and an optional ``page``.

Without ``page`` a list is cut at ``limit`` and the answer has no paging
fields (``pageSize``, ``totalResults`` and ``offset`` are undefined, so
absent from the JSON). With ``page`` (>= 1) it is the ``page``-th run of
``limit`` rows and the answer carries ``pageSize`` (the limit),
``totalResults`` (all matching rows) and ``offset`` (postgres stores'
``handleLimitAndPagination``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from dydx_devnet.indexer_params import int_in, invalid, read_optional_height, read_optional_iso
from dydx_devnet.replay import to_ms


def read_page(request: web.Request) -> int | None:
    """The ``page`` parameter: ``None`` or a positive integer (else a 400)."""
    value = request.query.get("page")
    if value is None:
        return None
    page = int_in(value, 1, 2**31)
    if page is None:
        raise invalid("page", value, "page must be a non-negative integer")
    return page


def paged(key: str, rows: list[Any], limit: int, page: int | None) -> dict[str, Any]:
    """``{key: rows}`` cut to ``limit`` (page ``page``), with the paging fields if paged."""
    if page is None:
        return {key: rows[:limit]}
    offset = (page - 1) * limit
    return {
        key: rows[offset : offset + limit],
        "pageSize": limit,
        "totalResults": len(rows),
        "offset": offset,
    }


def iso_ms(text: str) -> int:
    """Milliseconds of an ISO-8601 time (a zone-less one is UTC, as the indexer reads it)."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return to_ms(moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC))


def read_created_before(request: web.Request) -> tuple[int | None, int | None]:
    """(``createdBeforeOrAtHeight``, ``createdBeforeOrAt`` in ms), each optional."""
    height = read_optional_height(request, "createdBeforeOrAtHeight")
    before = read_optional_iso(request, "createdBeforeOrAt")
    return height, None if before is None else iso_ms(before)


def within(height: int, ms: int, max_height: int | None, max_ms: int | None) -> bool:
    """Whether a record at ``height``/``ms`` passes the created-before filters."""
    return (max_height is None or height <= max_height) and (max_ms is None or ms <= max_ms)

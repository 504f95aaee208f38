"""Who may press the dashboard's controls: a bearer token, and same-origin requests only.

The token is ``DYDX_TRADER_DASHBOARD_TOKEN`` when set; otherwise the one in
``dashboard.token`` beside the journal (mode 600), generated on first use and
printed once then. It is held in a :class:`~dydx_trader.secrets.Secret`, so
log lines never show it, and no page or answer ever contains it.

A control request must carry ``Authorization: Bearer <token>`` (401
otherwise), and must not come from another site (CSRF, 403): a browser's
``Sec-Fetch-Site`` must say same-origin, an ``Origin`` must be this server's,
and the body must be JSON (415), which no cross-site form can send. A script
without those browser headers (curl) needs only the token.
"""

from __future__ import annotations

import hmac
import os
import secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from dydx_trader.domain.errors import SecretUnavailable
from dydx_trader.secrets import Secret

TOKEN_ENV = "DYDX_TRADER_DASHBOARD_TOKEN"  # noqa: S105 - a variable name
TOKEN_FILE_NAME = "dashboard.token"  # noqa: S105 - a file name
MIN_TOKEN_LENGTH = 16
MAX_TOKEN_LENGTH = 256


@dataclass(frozen=True, slots=True)
class DashboardToken:
    """The controls' token; ``where`` says where it came from (for the operator),
    ``generated`` whether it was made just now (then it is shown once)."""

    secret: Secret
    where: str
    generated: bool

    def matches(self, header: str | None) -> bool:
        """Whether an ``Authorization`` header carries this token (constant time)."""
        if not header or not header.startswith("Bearer "):
            return False
        given = header.removeprefix("Bearer ").strip().encode()
        return hmac.compare_digest(given, self.secret.reveal().encode())


def load_token(folder: Path, environ: Mapping[str, str] | None = None) -> DashboardToken:
    """The token from the environment, else from ``folder/dashboard.token``, else a new
    one written there (mode 600). :class:`SecretUnavailable` for a short token or a
    token file others may read."""
    env = os.environ if environ is None else environ
    given = env.get(TOKEN_ENV)
    if given:
        return DashboardToken(_checked(given.strip(), TOKEN_ENV), f"${TOKEN_ENV}", False)
    path = folder / TOKEN_FILE_NAME
    try:
        return DashboardToken(_checked(_read_private(path), str(path)), str(path), False)
    except FileNotFoundError:
        pass
    value = secrets.token_urlsafe(32)
    folder.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(value + "\n")
    return DashboardToken(Secret(value), str(path), True)


def _read_private(path: Path) -> str:
    info = path.stat()  # FileNotFoundError: not made yet
    if not stat.S_ISREG(info.st_mode):
        raise SecretUnavailable(f"{path} is not a regular file")
    if info.st_mode & 0o077:
        raise SecretUnavailable(
            f"{path} may be read by others (mode {stat.S_IMODE(info.st_mode):o}); chmod 600 it"
        )
    return path.read_text(encoding="utf-8").strip()


def _checked(value: str, where: str) -> Secret:
    if not MIN_TOKEN_LENGTH <= len(value) <= MAX_TOKEN_LENGTH or not value.isprintable():
        raise SecretUnavailable(
            f"the dashboard token from {where} must be {MIN_TOKEN_LENGTH}-{MAX_TOKEN_LENGTH} "
            "printable characters"
        )
    return Secret(value)


def cross_site_refusal(request: web.Request) -> str | None:
    """Why ``request`` looks like it came from another site (None: it did not)."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return f"a {fetch_site} request may not use the controls"
    origin = request.headers.get("Origin")
    if origin is not None and origin != f"{request.scheme}://{request.host}":
        return "the request's Origin is not this dashboard"
    return None


def is_json(request: web.Request) -> bool:
    """Whether the body is declared JSON (a cross-site form cannot declare it)."""
    return request.content_type == "application/json"


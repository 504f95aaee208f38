"""The shared webhook secret: compared in constant time, never printed or pickled."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from typing import Any

from dydx_trader.domain.errors import SecretUnavailable

SECRET_ENV_VAR = "DYDX_TRADER_WEBHOOK_SECRET"  # noqa: S105 - a variable name, not a secret
MIN_SECRET_LENGTH = 16
_SIGNATURE = re.compile(r"sha256=([0-9a-fA-F]{64})")


class WebhookSecret:
    """The shared webhook secret, held so it never prints: ``repr`` and ``str``
    are redacted, it cannot be pickled, and it is only ever compared."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str) or len(value.strip()) < MIN_SECRET_LENGTH:
            raise SecretUnavailable(
                f"the webhook secret must be at least {MIN_SECRET_LENGTH} characters "
                f"(set {SECRET_ENV_VAR} to a long random string)"
            )
        if len(value) > 1024 or not value.isprintable():
            raise SecretUnavailable("the webhook secret must be at most 1024 printable characters")
        self._value = value.encode("utf-8")

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> WebhookSecret:
        """The secret from ``DYDX_TRADER_WEBHOOK_SECRET`` (SecretUnavailable if unset)."""
        value = environ.get(SECRET_ENV_VAR)
        if not value:
            raise SecretUnavailable(
                f"{SECRET_ENV_VAR} is not set; the webhook needs a shared secret "
                "(for example: export "
                f"{SECRET_ENV_VAR}=$(python -c 'import secrets; print(secrets.token_hex(32))'))"
            )
        return cls(value)

    def matches(self, candidate: str) -> bool:
        """Whether ``candidate`` is the secret (constant-time)."""
        return hmac.compare_digest(self._value, candidate.encode("utf-8", "surrogatepass"))

    def signs(self, body: bytes, header: str) -> bool:
        """Whether ``header`` (``sha256=<hex>``) is the HMAC-SHA256 of ``body``."""
        match = _SIGNATURE.fullmatch(header.strip())
        if match is None:
            return False
        expected = hmac.new(self._value, body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, match.group(1).lower())

    def sign(self, body: bytes) -> str:
        """The ``X-Signature`` header value for ``body`` (for senders and tests)."""
        return "sha256=" + hmac.new(self._value, body, hashlib.sha256).hexdigest()

    def __repr__(self) -> str:
        return "WebhookSecret('***')"

    __str__ = __repr__

    def __reduce__(self) -> tuple[Any, ...]:
        raise TypeError("a WebhookSecret cannot be pickled")

"""Logging for the command line: configured once, with timestamps, secrets redacted.

The level comes from ``--log-level NAME``, else ``-v`` (INFO; ``-vv`` DEBUG)
or ``-q`` (ERROR), else ``$DYDX_TRADER_LOG_LEVEL``, else WARNING. Log lines go
to stderr (the one resolved at write time, so a live view that redirects
stderr keeps them in order). ``run`` adds a file (``runs/<time>/run.log``) at
INFO or finer. Every record passes the secret-redacting record factory
(:func:`dydx_trader.secrets.install_log_redaction`), so no handler, the file
included, ever sees a live secret.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path
from typing import TextIO

from dydx_trader.domain.errors import InvalidInput
from dydx_trader.secrets import install_log_redaction

LOG_LEVEL_ENV = "DYDX_TRADER_LOG_LEVEL"
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
DATE_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
# Libraries that log every request at INFO: heard only when DEBUG is asked for.
_CHATTY = ("httpx", "httpcore", "aiohttp.access", "grpc")
_HANDLER_NAME = "dydx-trader-stderr"
_FILE_HANDLER_NAME = "dydx-trader-file"


class _Stderr(logging.StreamHandler[TextIO]):
    """Writes to whatever ``sys.stderr`` is when the record is emitted."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        """The stream is always the current stderr; nothing to set."""


def _formatter() -> logging.Formatter:
    formatter = logging.Formatter(FORMAT, DATE_FORMAT)
    formatter.converter = time.gmtime  # UTC, as the Z says
    return formatter


def resolve_level(
    level: str | None, verbose: int = 0, quiet: int = 0, environ: dict[str, str] | None = None
) -> int:
    """The console level from the options and the environment (see the module)."""
    named = level or (None if verbose or quiet else (environ or os.environ).get(LOG_LEVEL_ENV))
    if named:
        text = named.strip().upper()
        if text not in LEVELS:
            source = "--log-level" if level else LOG_LEVEL_ENV
            raise InvalidInput(
                f"{source} {named[:20]!r} is not a level; use one of {', '.join(LEVELS)}"
            )
        return int(logging.getLevelName(text))
    if quiet:
        return logging.ERROR
    return {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)


def configure_logging(level: int) -> None:
    """Send log records at ``level`` or above to stderr with timestamps (once;
    calling again only changes the level)."""
    install_log_redaction()
    root = logging.getLogger()
    handler = next((h for h in root.handlers if h.get_name() == _HANDLER_NAME), None)
    if handler is None:
        handler = _Stderr()
        handler.set_name(_HANDLER_NAME)
        handler.setFormatter(_formatter())
        root.addHandler(handler)
    handler.setLevel(level)
    root.setLevel(min(level, _file_level(root)))
    chatty_level = logging.DEBUG if level <= logging.DEBUG else logging.WARNING
    for name in _CHATTY:
        logging.getLogger(name).setLevel(chatty_level)


def add_log_file(path: Path, level: int = logging.INFO) -> logging.Handler:
    """Also write records at ``level`` or above to ``path`` (created with its folder)."""
    install_log_redaction()
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.set_name(_FILE_HANDLER_NAME)
    handler.setLevel(level)
    handler.setFormatter(_formatter())
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(min(root.level or logging.WARNING, level))
    return handler


def remove_log_file(handler: logging.Handler) -> None:
    """Close and detach a handler from :func:`add_log_file`."""
    logging.getLogger().removeHandler(handler)
    handler.close()


def _file_level(root: logging.Logger) -> int:
    levels = [h.level for h in root.handlers if h.get_name() == _FILE_HANDLER_NAME]
    return min(levels, default=logging.CRITICAL)

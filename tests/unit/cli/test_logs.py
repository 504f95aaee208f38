"""The run's log file: timestamped lines, and the secret-redacting filter applies to it."""

from __future__ import annotations

import logging
import re
from pathlib import Path

from dydx_trader.cli.logs import add_log_file, remove_log_file
from dydx_trader.secrets import Secret

CANARY = "canary words that must never reach a log file abandon ability"


def test_add_log_file_when_secret_logged_then_file_has_it_redacted(tmp_path: Path) -> None:
    secret = Secret(CANARY)
    handler = add_log_file(tmp_path / "runs" / "now" / "run.log")
    try:
        logging.getLogger("dydx_trader.test").info("signing with %s", secret.reveal())
    finally:
        remove_log_file(handler)

    text = (tmp_path / "runs" / "now" / "run.log").read_text()
    assert CANARY not in text
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ INFO    dydx_trader\.test: signing with \*+\n", text
    )
    assert handler not in logging.getLogger().handlers

"""Command-line conventions: --version, -h, plain help, --config everywhere a config
is read, JSON errors under --json, log levels."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dydx_trader.cli.app import app, package_version
from dydx_trader.cli.logs import LOG_LEVEL_ENV, resolve_level
from dydx_trader.domain.errors import InvalidInput

runner = CliRunner()
COMMANDS = ["run", "devnet", "balance", "markets", "signal", "scan", "serve-webhook", "size",
            "journal", "trading-state"]  # fmt: skip
READS_CONFIG = ["run", "balance", "markets", "signal", "scan", "serve-webhook", "size"]
OWN_COMMANDS = READS_CONFIG  # journal, trading-state and devnet belong to other modules


@pytest.fixture(autouse=True)
def _no_ambient_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("DYDX_TRADER_CONFIG", raising=False)
    monkeypatch.delenv(LOG_LEVEL_ENV, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version_when_asked_then_prints_the_package_version(flag: str) -> None:
    result = runner.invoke(app, [flag])
    assert result.exit_code == 0
    assert result.output.strip() == f"dydx-trader {package_version()}"
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", package_version())


@pytest.mark.parametrize("command", [[], *([c] for c in COMMANDS)])
def test_help_when_short_flag_then_shown(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "-h"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


@pytest.mark.parametrize("command", OWN_COMMANDS)
def test_help_when_shown_then_plain_metavars_and_no_stray_spaces(command: str) -> None:
    result = runner.invoke(app, [command, "--help"], terminal_width=200)
    assert result.exit_code == 0
    assert not re.search(r"<(bool|str|int|float|path|list\[[a-z]+\])", result.output), result.output
    # A help text whose bracketed part was eaten used to leave "mainnet ." behind.
    assert not re.search(r" \.(\s|$)", result.output), result.output


def test_signal_help_when_shown_then_no_stale_text() -> None:
    result = runner.invoke(app, ["signal", "--help"], terminal_width=200)
    assert "For now" not in result.output
    assert "once it is built" not in result.output


@pytest.mark.parametrize("command", READS_CONFIG)
def test_config_option_when_command_reads_config_then_offered(command: str) -> None:
    result = runner.invoke(app, [command, "--help"], terminal_width=200)
    assert "--config FILE" in result.output


def test_json_error_when_bad_input_then_one_json_object_with_error_and_code() -> None:
    result = runner.invoke(app, ["signal", "BUY", "BTC-USDT", "--json"])

    assert result.exit_code == 2
    answer = json.loads(result.stdout)
    assert answer["code"] == 2
    assert "not a dYdX ticker" in answer["error"]


def test_json_error_when_venue_unreachable_then_json_with_code_1_and_devnet_hint() -> None:
    result = runner.invoke(
        app, ["markets", "--indexer-url", "http://127.0.0.1:9", "--timeout", "0.5", "--json"]
    )

    assert result.exit_code == 1
    answer = json.loads(result.stdout)
    assert answer["code"] == 1
    assert "VenueUnavailable" in answer["error"] and "make devnet" in answer["error"]


@pytest.mark.parametrize(
    ("level", "verbose", "quiet", "env", "expected"),
    [
        (None, 0, 0, None, logging.WARNING),
        (None, 1, 0, None, logging.INFO),
        (None, 2, 0, None, logging.DEBUG),
        (None, 0, 1, None, logging.ERROR),
        (None, 0, 0, "debug", logging.DEBUG),
        ("error", 0, 0, "debug", logging.ERROR),
        (None, 1, 0, "error", logging.INFO),
    ],
)
def test_resolve_level_when_options_and_env_then_options_win(
    level: str | None, verbose: int, quiet: int, env: str | None, expected: int
) -> None:
    environ = {} if env is None else {LOG_LEVEL_ENV: env}
    assert resolve_level(level, verbose, quiet, environ) == expected


def test_resolve_level_when_unknown_then_names_the_levels() -> None:
    with pytest.raises(InvalidInput, match="use one of DEBUG, INFO"):
        resolve_level("loud")


def test_log_level_when_unknown_on_the_command_line_then_exit_2() -> None:
    result = runner.invoke(app, ["--log-level", "loud", "signal", "HOLD", "BTC-USD"])
    assert result.exit_code == 2
    assert "--log-level 'loud' is not a level" in result.stderr


def test_verbose_when_given_then_one_stderr_handler_with_utc_timestamps() -> None:
    for _ in range(2):
        result = runner.invoke(app, ["-v", "signal", "HOLD", "BTC-USD"])
        assert result.exit_code == 0

    handlers = [h for h in logging.getLogger().handlers if h.get_name() == "dydx-trader-stderr"]
    assert len(handlers) == 1 and handlers[0].level == logging.INFO
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", None, None)
    assert re.fullmatch(
        r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z INFO    x: hello", handlers[0].format(record)
    )

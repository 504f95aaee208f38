"""The README and the example config claim nothing the tool does not do."""

from __future__ import annotations

from pathlib import Path

from typer.main import get_command

from dydx_trader.cli._common import bundled_data, bundled_markets
from dydx_trader.cli.app import app

ROOT = Path(__file__).resolve().parents[3]
README = (ROOT / "README.md").read_text()


def _csv_range(market: str) -> tuple[str, str]:
    lines = (bundled_data() / f"{market}-1HOUR.csv").read_text().strip().splitlines()
    return lines[1][:10], lines[-1][:10]


def test_readme_when_it_names_the_bundled_data_then_markets_and_dates_match_the_csvs() -> None:
    markets = bundled_markets()
    starts, ends = zip(*(_csv_range(m) for m in markets), strict=True)
    bases = [m.removesuffix("-USD") for m in markets]

    assert f"{', '.join(bases[:-1])} and {bases[-1]}" in README
    assert f"from {min(starts)} to {max(ends)}" in " ".join(README.split())


def test_readme_when_commands_listed_then_every_command_is_in_the_table() -> None:
    for name in get_command(app).commands:  # type: ignore[attr-defined]
        assert f"| `dydx-trader {name}" in README, name


def test_readme_when_it_speaks_of_keys_and_stops_then_it_says_what_is_done() -> None:
    text = " ".join(README.split())
    assert "Use a dYdX permissioned key" not in text
    assert "dydx-trader keys create-bot-key" in text and "DYDX_TRADER_BOT_KEY_FILE" in text
    # Stops are placed on the chain now: the README says so, and how they are kept.
    assert "stop-loss and a take-profit order on the chain" in text
    assert "One-cancels-other" in text and "trading-state flatten" in text
    walkthrough = (
        ".venv/bin/dydx-trader",
        "source .venv/bin/activate",
        "make run ARGS=",
        "make devnet",
        "faucet",
        "DYDX_TRADER_MNEMONIC_FILE",
        "## Before mainnet",
    )
    for how in walkthrough:
        assert how in text, how
    assert README.startswith("# dydx-trader\n\n```\nmake run")


def test_example_config_when_read_then_no_phantom_web_view() -> None:
    example = (ROOT / "dydx-trader.example.toml").read_text()
    assert "Web view" not in example and "web view" not in example

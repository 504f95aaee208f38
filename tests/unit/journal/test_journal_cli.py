"""``dydx-trader journal`` and ``dydx-trader trading-state`` against a real journal file."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from dydx_trader.adapters.journal import Journal
from dydx_trader.cli import journal_cmd
from dydx_trader.domain.decision import Decision
from dydx_trader.domain.errors import ExposureLimitExceeded
from dydx_trader.domain.side import Side
from dydx_trader.domain.trading_state import TradingState

T0 = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)


@pytest.fixture
def cli() -> typer.Typer:
    app = typer.Typer()
    journal_cmd.register(app)
    return app


@pytest.fixture
def path(tmp_path: Path) -> Path:
    path = tmp_path / "journal.sqlite3"
    with Journal.open(path, fsync=False) as journal:
        journal.record_decision(
            Decision.accepted(
                signal_id="buy-1",
                market="ETH-USD",
                side=Side.BUY,
                size=Decimal("0.25"),
                quantums=250_000_000,
                price=Decimal("3301.5"),
                decided_at=T0,
                arithmetic=[("equity", "10,000.00 USDC")],
            )
        )
        journal.record_decision(
            Decision.refused(
                signal_id="buy-2",
                market="BTC-USD",
                decided_at=T0,
                error=ExposureLimitExceeded("exposure 12.1x above the 10x cap"),
                arithmetic=[("gross notional", "121,000.00 USDC")],
            )
        )
    return path


def test_journal_when_decisions_exist_then_table_shows_reasons(
    cli: typer.Typer, path: Path
) -> None:
    result = CliRunner().invoke(
        cli, ["journal", "--journal", str(path), "--arithmetic"], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    assert "ExposureLimitExceeded: exposure 12.1x above the 10x cap" in result.output
    assert "BUY 0.25 ETH-USD at 3301.5" in result.output
    assert "gross notional: 121,000.00 USDC" in result.output
    assert result.output.index("buy-2") < result.output.index("buy-1")  # newest first


def test_journal_when_json_then_decision_dicts(cli: typer.Typer, path: Path) -> None:
    result = CliRunner().invoke(cli, ["journal", "--journal", str(path), "--json", "-n", "1"])
    assert result.exit_code == 0, result.output
    [only] = json.loads(result.output)["decisions"]
    assert only["signal_id"] == "buy-2" and only["error_code"] == "ExposureLimitExceeded"


def test_journal_foreign_when_liquidated_then_listed_and_marked_as_a_liquidation(
    cli: typer.Typer, path: Path
) -> None:
    with Journal.open(path, fsync=False) as journal:
        journal.record_foreign_activity(
            "fill", "liq-1", "BTC-USD",
            {"type": "LIQUIDATED", "side": "SELL", "size": "0.3", "price": "47000",
             "fee": "211.5"},
            1234,
        )  # fmt: skip
        journal.record_foreign_activity(
            "order", "web-1", "ETH-USD", {"side": "BUY", "size": "1", "price": "3000"}, 1235
        )
    runner = CliRunner()

    table = runner.invoke(
        cli, ["journal", "--foreign", "--journal", str(path)], env={"COLUMNS": "200"}
    )
    listed = runner.invoke(cli, ["journal", "--foreign", "--json", "--journal", str(path)])

    assert table.exit_code == 0, table.output
    assert "fill LIQUIDATED" in table.output and "211.5" in table.output
    assert table.output.index("web-1") < table.output.index("liq-1")  # newest first
    rows = {row["venue_id"]: row for row in json.loads(listed.output)["foreign"]}
    assert (rows["liq-1"]["liquidation"], rows["web-1"]["liquidation"]) == (True, False)
    assert rows["liq-1"]["details"]["fee"] == "211.5" and rows["liq-1"]["height"] == 1234


def test_journal_foreign_when_none_then_says_so(cli: typer.Typer, path: Path) -> None:
    result = CliRunner().invoke(cli, ["journal", "--foreign", "--journal", str(path)])

    assert result.exit_code == 0
    assert "No foreign activity" in result.output


def test_journal_when_file_missing_then_refused_without_creating_it(
    cli: typer.Typer, tmp_path: Path
) -> None:
    missing = tmp_path / "none.sqlite3"
    result = CliRunner().invoke(cli, ["journal", "--journal", str(missing)])
    assert result.exit_code == 1 and "there is no journal at" in result.output
    assert not missing.exists()


def test_trading_state_when_switched_then_persisted_and_shown(cli: typer.Typer, path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(
        cli, ["trading-state", "halted", "--journal", str(path), "--reason", "maintenance"]
    )
    assert result.exit_code == 0, result.output
    assert "HALTED" in result.output and "maintenance" in result.output
    with Journal.open(path) as journal:
        assert journal.get_trading_state().state is TradingState.HALTED
    shown = runner.invoke(cli, ["trading-state", "--journal", str(path), "--json"])
    assert json.loads(shown.output)["state"] == "HALTED"
    resumed = runner.invoke(cli, ["trading-state", "ACTIVE", "--journal", str(path)])
    assert resumed.exit_code == 0 and "ACTIVE" in resumed.output


def test_trading_state_when_journal_unusable_then_one_line_error_exit_1(
    cli: typer.Typer, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.sqlite3"
    bad.write_bytes(b"not a database" * 200)
    result = CliRunner().invoke(cli, ["trading-state", "halted", "--journal", str(bad)])
    assert result.exit_code == 1
    assert "JournalUnavailable" in result.output and "Traceback" not in result.output

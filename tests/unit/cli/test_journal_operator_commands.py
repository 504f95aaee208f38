"""The operator's controls hit the right journal (review F6, F7, R5).

``trading-state`` and ``journal`` name the journal they resolved and whether a
live trader holds it, refuse a journal that does not exist instead of creating
one, show orders (state, filled/size, good-til-block, fills, last reason), and
open the journal read-only.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner, Result

from dydx_trader.adapters.instance_lock import InstanceKey, InstanceLock, default_lock_dir
from dydx_trader.adapters.journal import Journal
from dydx_trader.cli import journal_cmd
from dydx_trader.domain.decision import Decision
from dydx_trader.domain.order import (
    ConditionType,
    OrderFlags,
    OrderIntent,
    OrderState,
    TimeInForce,
)
from dydx_trader.domain.side import Side
from dydx_trader.domain.trading_state import Authority, TradingState

T0 = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)
ADDRESS = "dydx1xx4evg0695an5nvhnmuw9wp3umwdpsguyxzhmp"


@pytest.fixture(autouse=True)
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Lock files under the test's folder, never the user's."""
    home = tmp_path / "data-home"
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    return home


@pytest.fixture
def cli() -> typer.Typer:
    app = typer.Typer()
    journal_cmd.register(app)
    return app


def _invoke(cli: typer.Typer, *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env={"COLUMNS": "250"})


def _intent(signal_id: str, client_id: int, quantums: int, gtb: int) -> OrderIntent:
    return OrderIntent(
        signal_id=signal_id, address=ADDRESS, subaccount_number=0, market="ETH-USD",
        clob_pair_id=1, side=Side.BUY, quantums=quantums, subticks=3_301_500_000,
        time_in_force=TimeInForce.IOC, reduce_only=False, order_flags=OrderFlags.SHORT_TERM,
        client_id=client_id, good_til_block=gtb,
    )  # fmt: skip


def _accept(journal: Journal, intent: OrderIntent, size: Decimal) -> None:
    journal.record_decision(
        Decision.accepted(
            signal_id=intent.signal_id, market=intent.market, side=intent.side, size=size,
            quantums=intent.quantums, price=Decimal("3301.5"), decided_at=T0,
            arithmetic=[("equity", "10,000.00 USDC")],
        )
    )  # fmt: skip


@pytest.fixture
def path(tmp_path: Path) -> Path:
    """A journal after a crash: one order filled in two fills, one whose answer was lost."""
    path = tmp_path / "journal.sqlite3"
    with Journal.open(path, fsync=False) as journal:
        filled = _intent("buy-1", 111, 250_000_000, 1_040)
        _accept(journal, filled, Decimal("0.25"))
        journal.record_intent(filled)
        journal.transition(111, OrderState.SUBMITTED, "node accepted it (code 0)")
        fills = (("f-1", 100_000_000, "3300"), ("f-2", 150_000_000, "3301"))
        for fill_id, quantums, price in fills:
            journal.record_fill(
                111, fill_id, quantums=quantums, size=Decimal(quantums) / 10**9,
                price=Decimal(price), fee=Decimal("0.05"), height=1_035,
            )  # fmt: skip
        lost = _intent("buy-2", 222, 407_000_000, 1_074)
        _accept(journal, lost, Decimal("0.407"))
        journal.record_intent(lost)
        journal.transition(222, OrderState.IN_FLIGHT_UNKNOWN, "broadcast answer lost: timeout")
    return path


def _digest(path: Path) -> str:
    wal = path.with_name(path.name + "-wal")
    data = path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    return hashlib.sha256(data).hexdigest()


# -- F6: the right journal ------------------------------------------------------------------


def test_trading_state_when_journal_missing_then_refused_and_nothing_created(
    cli: typer.Typer, tmp_path: Path
) -> None:
    mistyped = tmp_path / "journa.sqlite3"

    result = _invoke(cli, "trading-state", "halted", "--journal", str(mistyped))

    assert result.exit_code == 1
    assert f"there is no journal at {mistyped}" in result.output
    assert not mistyped.exists()


def test_trading_state_when_create_asked_then_journal_created_with_the_state(
    cli: typer.Typer, tmp_path: Path
) -> None:
    fresh = tmp_path / "new" / "journal.sqlite3"

    result = _invoke(cli, "trading-state", "halted", "--create", "--journal", str(fresh))

    assert result.exit_code == 0, result.output
    with Journal.open(fresh, read_only=True) as journal:
        assert journal.get_trading_state().state is TradingState.HALTED


def test_trading_state_when_flatten_asked_then_flattening_persisted_with_the_reason(
    cli: typer.Typer, path: Path
) -> None:
    result = _invoke(
        cli, "trading-state", "flatten", "--reason", "going away", "--journal", str(path)
    )

    assert result.exit_code == 0, result.output
    assert "FLATTENING" in result.output
    with Journal.open(path, read_only=True) as journal:
        record = journal.get_trading_state()
    assert (record.state, record.reason) == (TradingState.FLATTENING, "going away")


def test_trading_state_when_relative_path_then_prints_the_absolute_path(
    cli: typer.Typer, path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(path.parent)

    result = _invoke(cli, "trading-state", "--journal", path.name)

    assert result.exit_code == 0, result.output
    assert f"journal: {path}" in result.output


def test_trading_state_when_journal_from_config_then_names_that_journal(
    cli: typer.Typer, path: Path, tmp_path: Path
) -> None:
    config = tmp_path / "dydx-trader.toml"
    config.write_text(f'[journal]\npath = "{path}"\n')

    result = CliRunner().invoke(
        cli, ["trading-state", "--json"], env={"DYDX_TRADER_CONFIG": str(config)}
    )

    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["journal"] == str(path) and shown["state"] == "ACTIVE"


def test_trading_state_when_no_trader_holds_the_journal_then_switch_says_so(
    cli: typer.Typer, path: Path
) -> None:
    result = _invoke(cli, "trading-state", "halted", "--journal", str(path))

    assert result.exit_code == 0, result.output
    assert "no live trader holds it" in result.output
    assert "no running trader uses this journal" in result.output


def test_trading_state_when_a_trader_holds_the_lock_then_names_its_pid(
    cli: typer.Typer, path: Path
) -> None:
    key = InstanceKey("testnet", ADDRESS, 0)
    with InstanceLock.acquire(key, path, default_lock_dir()):
        result = _invoke(cli, "trading-state", "halted", "--journal", str(path))
        shown = json.loads(_invoke(cli, "trading-state", "--journal", str(path), "--json").output)

    assert result.exit_code == 0, result.output
    assert f"live trader: testnet {ADDRESS}/0, pid {os.getpid()}" in result.output
    assert "no running trader" not in result.output
    assert shown["state"] == "HALTED"
    assert [t["pid"] for t in shown["live_traders"]] == [os.getpid()]


def test_trading_state_when_halt_reason_empty_then_says_none_was_recorded(
    cli: typer.Typer, path: Path
) -> None:
    with Journal.open(path) as journal:
        journal.set_trading_state(TradingState.HALTED, "", Authority.AUTOMATIC)

    result = _invoke(cli, "trading-state", "--journal", str(path))

    assert "HALTED" in result.output and "no reason was recorded" in result.output


# -- F7: what matters after a crash ----------------------------------------------------------


def test_journal_orders_when_shown_then_state_sizes_gtb_fills_and_last_reason(
    cli: typer.Typer, path: Path
) -> None:
    result = _invoke(cli, "journal", "--orders", "--journal", str(path))

    assert result.exit_code == 0, result.output
    filled_row = next(line for line in result.output.splitlines() if "buy-1" in line)
    lost_row = next(line for line in result.output.splitlines() if "buy-2" in line)
    for expected in ("FILLED", "0.25/0.25", "1040", "2 (avg 3300.6)", "fill f-2"):
        assert expected in filled_row, (expected, filled_row)
    for expected in ("IN_FLIGHT_UNKNOWN", "0/0.407", "1074", "broadcast answer lost"):
        assert expected in lost_row, (expected, lost_row)


def test_journal_orders_when_protective_stop_then_condition_trigger_and_good_til_time(
    cli: typer.Typer, path: Path
) -> None:
    stop = OrderIntent(
        signal_id="protect:ETH-USD:STOP_LOSS:0", address=ADDRESS, subaccount_number=0,
        market="ETH-USD", clob_pair_id=1, side=Side.SELL, quantums=250_000_000,
        subticks=2_900_000_000, time_in_force=TimeInForce.IOC, reduce_only=True,
        order_flags=OrderFlags.CONDITIONAL, client_id=333,
        good_til_block_time=int(T0.timestamp()), condition_type=ConditionType.STOP_LOSS,
        trigger_subticks=3_000_000_000,
    )  # fmt: skip
    with Journal.open(path, fsync=False) as journal:
        journal.record_intent(stop)
        journal.transition(333, OrderState.UNTRIGGERED, "in state, waiting for its trigger")

    table = _invoke(cli, "journal", "--orders", "--journal", str(path))
    as_json = _invoke(cli, "journal", "--orders", "--journal", str(path), "--json")

    assert table.exit_code == 0, table.output
    row = next(line for line in table.output.splitlines() if "protect:ETH-USD" in line)
    for expected in ("SELL reduce-only STOP_LOSS", "UNTRIGGERED", "2025-03-04 05:06"):
        assert expected in row, (expected, row)
    orders = {o["signal_id"]: o for o in json.loads(as_json.output)["orders"]}
    shown = orders["protect:ETH-USD:STOP_LOSS:0"]
    assert (shown["condition_type"], shown["trigger_subticks"]) == ("STOP_LOSS", 3_000_000_000)
    assert shown["good_til_block_time"] == int(T0.timestamp())
    assert shown["good_til_block"] is None


def test_journal_in_flight_when_shown_then_only_orders_still_open(
    cli: typer.Typer, path: Path
) -> None:
    result = _invoke(cli, "journal", "--in-flight", "--journal", str(path), "--json")

    assert result.exit_code == 0, result.output
    [order] = json.loads(result.output)["orders"]
    assert (order["signal_id"], order["state"], order["good_til_block"]) == (
        "buy-2", "IN_FLIGHT_UNKNOWN", 1074,
    )  # fmt: skip
    assert order["last_reason"] == "broadcast answer lost: timeout" and order["fills"] == []


def test_journal_orders_json_when_filled_then_every_fill_exact(
    cli: typer.Typer, path: Path
) -> None:
    result = _invoke(cli, "journal", "--orders", "--journal", str(path), "--json")

    orders = {o["signal_id"]: o for o in json.loads(result.output)["orders"]}
    filled = orders["buy-1"]
    assert (filled["filled_size"], filled["size"]) == ("0.25", "0.25")
    assert [(f["fill_id"], f["size"], f["price"]) for f in filled["fills"]] == [
        ("f-1", "0.1", "3300"), ("f-2", "0.15", "3301"),
    ]  # fmt: skip


def test_journal_when_accepted_decisions_then_each_shows_its_order_state(
    cli: typer.Typer, path: Path
) -> None:
    result = _invoke(cli, "journal", "--journal", str(path))

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "FILLED 0.25/0.25" in next(line for line in lines if "buy-1" in line)
    assert "IN_FLIGHT_UNKNOWN 0/0.407" in next(line for line in lines if "buy-2" in line)
    decisions = json.loads(_invoke(cli, "journal", "--journal", str(path), "--json").output)
    assert {d["signal_id"]: d["order_state"] for d in decisions["decisions"]} == {
        "buy-1": "FILLED", "buy-2": "IN_FLIGHT_UNKNOWN",
    }  # fmt: skip


# -- R5: readers stay readers ------------------------------------------------------------------


def test_read_commands_when_run_then_journal_bytes_unchanged(cli: typer.Typer, path: Path) -> None:
    before = _digest(path)
    for args in (["journal"], ["journal", "--orders"], ["journal", "--in-flight", "--json"],
                 ["trading-state"], ["trading-state", "--json"]):  # fmt: skip
        assert _invoke(cli, *args, "--journal", str(path)).exit_code == 0
    assert _digest(path) == before


def test_journal_when_trader_holds_the_write_lock_then_reads_without_waiting(
    cli: typer.Typer, path: Path
) -> None:
    trader = sqlite3.connect(path, isolation_level=None)
    trader.execute("BEGIN IMMEDIATE")
    try:
        result = _invoke(cli, "journal", "--orders", "--journal", str(path))
    finally:
        trader.execute("ROLLBACK")
        trader.close()
    assert result.exit_code == 0 and "buy-1" in result.output

"""R24: a canary mnemonic never shows up in logs, config dumps, exceptions or the journal."""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from dydx_trader.adapters.journal import Journal
from dydx_trader.config import load_config
from dydx_trader.domain.decision import Decision
from dydx_trader.domain.errors import InsufficientFreeCollateral, SecretUnavailable
from dydx_trader.domain.order import OrderFlags, OrderIntent, TimeInForce, derive_client_id
from dydx_trader.domain.side import Side
from dydx_trader.domain.signal import Signal, SignalSource
from dydx_trader.secrets import (
    MNEMONIC_ENV,
    MNEMONIC_FILE_ENV,
    install_log_redaction,
    load_mnemonic,
)

CANARY = "canary walrus quartz violet mango ember lotus cobalt prism falcon tundra harbor"
ADDRESS = "dydx1xx4evg0695an5nvhnmuw9wp3umwdpsguyxzhmp"
T0 = datetime(2025, 1, 2, tzinfo=UTC)


def _leaks(text: str | bytes) -> bool:
    needle = "walrus quartz violet"
    return (needle.encode() in text) if isinstance(text, bytes) else (needle in text)


def test_canary_when_run_through_config_logs_and_journal_then_never_appears(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(MNEMONIC_ENV, CANARY)
    journal_path = tmp_path / "journal.sqlite3"
    monkeypatch.setenv("DYDX_TRADER_JOURNAL__PATH", str(journal_path))
    settings = load_config(None)
    secret = load_mnemonic()
    install_log_redaction()  # no handler filter: the record factory must do it alone
    log = logging.getLogger("dydx_trader.test")

    with caplog.at_level(logging.DEBUG):
        log.info("settings %r", settings)
        log.info("secret %s / %r", secret, secret)
        log.error("careless: %s", secret.reveal())
        journal = Journal.open(settings.journal.resolved_path())
        journal.start_run("live", settings.network.name.value, {"config": repr(settings)})
        signal = Signal.create(
            id="s1",
            market="BTC-USD",
            action="BUY",
            created_at=T0,
            source=SignalSource.CLI,
            strategy="manual",
        )
        journal.record_signal(signal)
        journal.record_decision(
            Decision.refused(
                signal_id="s1",
                market="BTC-USD",
                decided_at=T0,
                error=InsufficientFreeCollateral("needs more", free=Decimal(1)),
            )
        )
        journal.record_intent(
            OrderIntent(
                signal_id="s2",
                address=ADDRESS,
                subaccount_number=0,
                market="BTC-USD",
                clob_pair_id=0,
                side=Side.BUY,
                quantums=1_000_000,
                subticks=100_000,
                time_in_force=TimeInForce.IOC,
                reduce_only=False,
                order_flags=OrderFlags.SHORT_TERM,
                client_id=derive_client_id(ADDRESS, 0, "s2"),
                good_til_block=10,
            )
        )
        journal.close()

    assert not _leaks(repr(settings)) and not _leaks(str(settings))
    assert not _leaks(settings.model_dump_json())
    assert not _leaks(caplog.text)
    for name in os.listdir(tmp_path):
        assert not _leaks((tmp_path / name).read_bytes()), name


def test_canary_when_secret_file_is_unsafe_then_exception_text_is_clean(tmp_path: Path) -> None:
    path = tmp_path / "m"
    path.write_text(CANARY)
    path.chmod(0o644)
    with pytest.raises(SecretUnavailable) as raised:
        load_mnemonic({MNEMONIC_FILE_ENV: str(path)})
    assert not _leaks(str(raised.value)) and not _leaks(repr(raised.value))
    assert not _leaks(repr(raised.value.numbers))


def test_paper_mode_when_no_secret_set_then_config_loads_without_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(MNEMONIC_ENV, raising=False)
    monkeypatch.delenv(MNEMONIC_FILE_ENV, raising=False)
    settings = load_config(None)
    assert settings.paper
    with pytest.raises(SecretUnavailable, match="Paper trading"):
        load_mnemonic()

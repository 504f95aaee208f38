"""The port ``run`` serves the dashboard on: a taken port is one line, except in a
paper session without a webhook, which takes a free port and says so."""

from __future__ import annotations

import io
import socket
from collections.abc import Iterator

import pytest
from rich.console import Console

from dydx_trader.cli.run_cmd import _bind_http
from dydx_trader.config import Settings
from dydx_trader.domain.errors import InvalidInput


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        yield int(holder.getsockname()[1])


def _settings(port: int) -> Settings:
    return Settings.model_validate({"http": {"host": "127.0.0.1", "port": port}})


def test_bind_http_when_paper_port_taken_and_no_webhook_then_free_port_and_a_line(
    taken_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DYDX_TRADER_WEBHOOK_SECRET", raising=False)
    screen = io.StringIO()

    listener = _bind_http(_settings(taken_port), paper=True, console=Console(file=screen))

    with listener:
        assert listener.getsockname()[1] not in (taken_port, 0)
    assert f"port {taken_port} is in use" in screen.getvalue()


@pytest.mark.parametrize(("paper", "webhook"), [(False, False), (True, True)])
def test_bind_http_when_port_taken_live_or_webhook_then_refused(
    taken_port: int, monkeypatch: pytest.MonkeyPatch, paper: bool, webhook: bool
) -> None:
    if webhook:
        monkeypatch.setenv("DYDX_TRADER_WEBHOOK_SECRET", "a-webhook-secret-for-the-port-test")
    else:
        monkeypatch.delenv("DYDX_TRADER_WEBHOOK_SECRET", raising=False)

    with pytest.raises(InvalidInput, match=f"port {taken_port} on 127.0.0.1 is already in use"):
        _bind_http(_settings(taken_port), paper=paper, console=Console(file=io.StringIO()))

"""Fixtures for the devnet engine tests."""

from __future__ import annotations

import pytest
from devnet_helpers import make_engine

from dydx_devnet.engine import DevnetEvent, Engine


@pytest.fixture
def engine() -> Engine:
    return make_engine()


@pytest.fixture
def events(engine: Engine) -> list[DevnetEvent]:
    received: list[DevnetEvent] = []
    engine.add_listener(received.append)
    return received

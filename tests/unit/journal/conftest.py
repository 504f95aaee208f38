"""The journal tests build order intents with the orders tests' helpers, and share a journal."""

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from dydx_trader.adapters.journal import Journal

sys.path.insert(0, str(Path(__file__).parents[1] / "orders"))


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    """A fresh journal under the test's folder (no fsync: tests need no power-loss safety)."""
    opened = Journal.open(tmp_path / "journal.sqlite3", fsync=False)
    yield opened
    opened.close()

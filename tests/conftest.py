"""Fixtures for the whole suite.

Every test (and every process a test starts, which inherits the environment)
keeps its user data — the default journal, the instance locks, the dashboard
token — in a folder of this test session, never in the user's real data
directory: a test run must neither read a trader's journal nor be refused
because a real trader (or another test run) holds a subaccount's lock.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True, scope="session")
def _private_user_data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("user-data")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_DATA_HOME", str(home))
        yield home

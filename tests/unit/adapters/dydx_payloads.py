"""Real indexer payloads copied into tests/fixtures/dydx (see its README)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(
    os.environ.get("DYDX_FIXTURES", str(Path(__file__).resolve().parents[2] / "fixtures" / "dydx"))
)


def load_fixture(relative: str) -> Any:
    """The indexer body of one fixture; the nt2025_* files wrap it in ``result``."""
    path = FIXTURES / relative
    if not path.exists():
        pytest.skip(f"fixture {path} not available")
    data = json.loads(path.read_text())
    if path.name.startswith("nt2025_"):
        return data["result"]
    return data

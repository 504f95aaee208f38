"""One good-til-block limit, checked at load; a config file that is not UTF-8 is one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from dydx_trader.config import load_config
from dydx_trader.domain.errors import InvalidInput
from dydx_trader.domain.order_params import MAX_GOOD_TIL_BLOCK_OFFSET


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "dydx-trader.toml"
    path.write_text(text)
    return path


def test_load_config_when_offset_at_the_limit_then_accepted(tmp_path: Path) -> None:
    path = _write(tmp_path, f"[execution]\ngood_til_block_offset = {MAX_GOOD_TIL_BLOCK_OFFSET}\n")
    assert load_config(path).execution.good_til_block_offset == MAX_GOOD_TIL_BLOCK_OFFSET


def test_load_config_when_offset_past_the_limit_then_refused_at_load(tmp_path: Path) -> None:
    too_far = MAX_GOOD_TIL_BLOCK_OFFSET + 1
    path = _write(tmp_path, f"[execution]\ngood_til_block_offset = {too_far}\n")

    with pytest.raises(InvalidInput) as raised:
        load_config(path)

    message = str(raised.value)
    assert "key execution.good_til_block_offset" in message and f"(got {too_far})" in message


def test_load_config_when_file_not_utf8_then_one_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(b"\xff\xfe[risk]\n")

    with pytest.raises(InvalidInput) as raised:
        load_config(path)

    assert "is not UTF-8 text" in raised.value.message
    assert "\n" not in raised.value.message

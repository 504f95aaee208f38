"""Where the bot key may come from (DYDX_TRADER_BOT_KEY_FILE only) and how its file is written."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from dydx_trader.config import load_config
from dydx_trader.domain.errors import InvalidInput, SecretUnavailable
from dydx_trader.secrets import (
    BOT_KEY_FILE_ENV,
    Secret,
    checked_bot_key,
    load_bot_key,
    write_private_file,
)

HEX = "5c" * 32
WORDS = "canary zebra quartz violet mango ember lotus cobalt prism falcon tundra harbor"


def key_file(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    path = tmp_path / "bot.key"
    path.write_text(text)
    path.chmod(mode)
    return path


@pytest.mark.parametrize(
    ("text", "loaded"),
    [
        (f"{HEX}\n", HEX),
        (f"0x{HEX.upper()}", HEX),
        (f"  {WORDS.replace(' ', '   ')}\n", WORDS),
    ],
)
def test_load_bot_key_when_private_file_holds_hex_or_words_then_normalised(
    tmp_path: Path, text: str, loaded: str
) -> None:
    path = key_file(tmp_path, text)

    secret = load_bot_key({BOT_KEY_FILE_ENV: str(path)})

    assert secret.reveal() == loaded
    assert HEX not in repr(secret)


def test_load_bot_key_when_unset_then_says_which_variable(tmp_path: Path) -> None:
    with pytest.raises(SecretUnavailable) as raised:
        load_bot_key({})

    assert BOT_KEY_FILE_ENV in str(raised.value)


def test_load_bot_key_when_group_can_read_then_refused_with_chmod_hint(tmp_path: Path) -> None:
    path = key_file(tmp_path, HEX, 0o640)

    with pytest.raises(SecretUnavailable) as raised:
        load_bot_key({BOT_KEY_FILE_ENV: str(path)})

    assert "the bot key file" in str(raised.value) and "chmod 600" in str(raised.value)


@pytest.mark.parametrize("text", ["5c" * 31, "not a key", "zz" * 32, "word " * 13])
def test_load_bot_key_when_neither_hex_nor_mnemonic_then_refused_without_content(
    tmp_path: Path, text: str
) -> None:
    path = key_file(tmp_path, text)

    with pytest.raises(SecretUnavailable) as raised:
        load_bot_key({BOT_KEY_FILE_ENV: str(path)})

    assert text.strip() not in str(raised.value)
    assert "neither" in str(raised.value)


def test_checked_bot_key_when_mnemonic_then_kept_as_is() -> None:
    assert checked_bot_key(Secret(WORDS), "test").reveal() == WORDS


def test_write_private_file_when_new_then_mode_600_and_when_exists_then_never_overwritten(
    tmp_path: Path,
) -> None:
    path = tmp_path / "new.key"
    old_umask = os.umask(0)  # the file must be private whatever the umask
    try:
        write_private_file(path, Secret(HEX))
    finally:
        os.umask(old_umask)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == HEX + "\n"
    with pytest.raises(SecretUnavailable) as raised:
        write_private_file(path, Secret("other"))
    assert "already exists" in str(raised.value)
    assert path.read_text() == HEX + "\n"


def test_config_when_bot_key_written_into_it_then_refused_and_id_accepted(tmp_path: Path) -> None:
    secret_in_config = tmp_path / "secret.toml"
    secret_in_config.write_text(f'[account]\nprivate_key = "{HEX}"\n')
    with_id = tmp_path / "id.toml"
    with_id.write_text("[account]\nauthenticator_id = 7\n")

    with pytest.raises(InvalidInput) as raised:
        load_config(secret_in_config)

    assert HEX not in str(raised.value)
    assert load_config(with_id).account.authenticator_id == 7

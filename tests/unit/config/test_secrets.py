"""The Secret type and where the mnemonic may come from."""

from __future__ import annotations

import copy
import logging
import os
import pickle
from pathlib import Path

import pytest

from dydx_trader.domain.errors import SecretUnavailable
from dydx_trader.secrets import (
    MNEMONIC_ENV,
    MNEMONIC_FILE_ENV,
    RedactingFilter,
    Secret,
    load_mnemonic,
    redact,
)

# Not a real wallet: twelve words that are easy to search for in any output.
CANARY = "canary zebra quartz violet mango ember lotus cobalt prism falcon tundra harbor"


def _twelve(word: str) -> str:
    return " ".join([word] * 12)


def test_secret_when_shown_then_masked_everywhere() -> None:
    secret = Secret(CANARY)
    for shown in (
        repr(secret),
        str(secret),
        f"{secret}",
        f"{secret!r}",
        "%s" % (secret,),  # noqa: UP031
        repr([secret]),
        repr({"k": secret}),
    ):
        assert CANARY not in shown and "********" in shown
    assert secret.reveal() == CANARY


def test_secret_when_hashed_or_pickled_then_refused() -> None:
    secret = Secret(CANARY)
    with pytest.raises(TypeError):
        hash(secret)
    with pytest.raises(TypeError, match="pickled"):
        pickle.dumps(secret)
    assert copy.deepcopy(secret) is secret


def test_secret_when_compared_then_by_value() -> None:
    assert Secret("a b") == Secret("a b") and Secret("a b") != Secret("a c")


def test_load_mnemonic_when_env_set_then_secret_with_normalised_spaces() -> None:
    secret = load_mnemonic({MNEMONIC_ENV: "  " + CANARY.replace(" ", "   ") + "\n"})
    assert secret.reveal() == CANARY


def test_load_mnemonic_when_nothing_set_then_readable_error() -> None:
    with pytest.raises(SecretUnavailable, match=MNEMONIC_FILE_ENV):
        load_mnemonic({})


def test_load_mnemonic_when_both_set_then_refused(tmp_path: Path) -> None:
    with pytest.raises(SecretUnavailable, match="only one"):
        load_mnemonic({MNEMONIC_ENV: CANARY, MNEMONIC_FILE_ENV: str(tmp_path / "m")})


def _write(path: Path, text: str, mode: int) -> Path:
    path.write_text(text)
    os.chmod(path, mode)
    return path


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_load_mnemonic_when_private_file_then_read(tmp_path: Path, mode: int) -> None:
    path = _write(tmp_path / "mnemonic", CANARY + "\n", mode)
    assert load_mnemonic({MNEMONIC_FILE_ENV: str(path)}).reveal() == CANARY


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o602])
def test_load_mnemonic_when_file_readable_by_others_then_refused_without_content(
    tmp_path: Path, mode: int
) -> None:
    path = _write(tmp_path / "mnemonic", CANARY, mode)
    with pytest.raises(SecretUnavailable, match="chmod 600") as raised:
        load_mnemonic({MNEMONIC_FILE_ENV: str(path)})
    assert "zebra" not in str(raised.value) and "zebra" not in repr(raised.value.numbers)


def test_load_mnemonic_when_file_missing_or_a_directory_then_refused(tmp_path: Path) -> None:
    with pytest.raises(SecretUnavailable, match="cannot open"):
        load_mnemonic({MNEMONIC_FILE_ENV: str(tmp_path / "missing")})
    directory = tmp_path / "dir"
    directory.mkdir(mode=0o700)
    with pytest.raises(SecretUnavailable):
        load_mnemonic({MNEMONIC_FILE_ENV: str(directory)})


def test_load_mnemonic_when_file_is_a_symlink_then_refused(tmp_path: Path) -> None:
    target = _write(tmp_path / "real", CANARY, 0o600)
    link = tmp_path / "link"
    link.symlink_to(target)
    with pytest.raises(SecretUnavailable):
        load_mnemonic({MNEMONIC_FILE_ENV: str(link)})


def test_load_mnemonic_when_word_count_wrong_then_refused_without_content() -> None:
    with pytest.raises(SecretUnavailable, match="11 words") as raised:
        load_mnemonic({MNEMONIC_ENV: " ".join(CANARY.split()[:11])})
    assert "zebra" not in str(raised.value)


def test_redact_when_live_secret_in_text_then_masked() -> None:
    secret = Secret(_twelve("walrus"))
    assert redact(f"oops {secret.reveal()} leaked") == "oops ******** leaked"


def test_filter_when_secret_in_message_args_or_exception_then_masked(
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = load_mnemonic({MNEMONIC_ENV: CANARY})
    caplog.handler.addFilter(RedactingFilter())
    log = logging.getLogger("test.secrets")
    with caplog.at_level(logging.DEBUG):
        log.info("mnemonic is %s", secret.reveal())
        log.warning("inline " + secret.reveal())
        log.info("as object %r", secret)
        try:
            raise ValueError(f"bad key {secret.reveal()}")
        except ValueError:
            log.exception("failure")
    assert len(caplog.records) == 4
    assert "zebra" not in caplog.text
    assert caplog.text.count("********") >= 4


def test_filter_when_format_string_is_broken_then_record_still_redacted() -> None:
    secret = Secret(_twelve("otter"))
    record = logging.LogRecord(
        "t", logging.INFO, __file__, 1, "%d " + secret.reveal(), ("x",), None
    )
    assert RedactingFilter().filter(record) is True
    assert "otter" not in record.getMessage()

"""The controls' token: from the environment, or a private file beside the journal,
made once (mode 600) and reused; and what a cross-site request looks like."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from aiohttp.test_utils import make_mocked_request

from dydx_trader.domain.errors import SecretUnavailable
from dydx_trader.secrets import redact
from dydx_trader.web.auth import TOKEN_ENV, TOKEN_FILE_NAME, cross_site_refusal, load_token

GIVEN = "a-token-given-in-the-environment-1234"


def test_load_token_when_env_set_then_it_and_no_file(tmp_path: Path) -> None:
    token = load_token(tmp_path, {TOKEN_ENV: GIVEN})

    assert token.matches(f"Bearer {GIVEN}") and not token.generated
    assert token.where == f"${TOKEN_ENV}"
    assert not (tmp_path / TOKEN_FILE_NAME).exists()


def test_load_token_when_none_then_generated_private_and_reused(tmp_path: Path) -> None:
    first = load_token(tmp_path, {})
    second = load_token(tmp_path, {})

    path = tmp_path / TOKEN_FILE_NAME
    assert first.generated and not second.generated
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert second.matches(f"Bearer {path.read_text().strip()}")
    assert len(first.secret.reveal()) >= 32
    assert first.secret.reveal() not in repr(first)
    assert redact(f"token {first.secret.reveal()}") == "token ********"


def test_load_token_when_file_readable_by_others_then_refused(tmp_path: Path) -> None:
    path = tmp_path / TOKEN_FILE_NAME
    path.write_text("x" * 40)
    path.chmod(0o644)

    with pytest.raises(SecretUnavailable, match="chmod 600"):
        load_token(tmp_path, {})


def test_load_token_when_env_too_short_then_refused_without_echo(tmp_path: Path) -> None:
    with pytest.raises(SecretUnavailable) as raised:
        load_token(tmp_path, {TOKEN_ENV: "short"})

    assert "short" not in str(raised.value).replace("16-256", "")


@pytest.mark.parametrize("header", [None, "", GIVEN, f"Basic {GIVEN}", f"Bearer {GIVEN}x"])
def test_matches_when_header_not_exactly_the_bearer_token_then_false(
    tmp_path: Path, header: str | None
) -> None:
    assert not load_token(tmp_path, {TOKEN_ENV: GIVEN}).matches(header)


@pytest.mark.parametrize(
    ("headers", "refused"),
    [
        ({}, False),
        ({"Sec-Fetch-Site": "same-origin", "Origin": "http://127.0.0.1:8000"}, False),
        ({"Sec-Fetch-Site": "same-site"}, True),
        ({"Origin": "http://127.0.0.1:9999"}, True),
        ({"Origin": "null"}, True),
    ],
)
def test_cross_site_refusal_when_headers_then_only_same_origin_passes(
    headers: dict[str, str], refused: bool
) -> None:
    request = make_mocked_request(
        "POST", "/api/trading-state", headers={"Host": "127.0.0.1:8000", **headers}
    )

    assert (cross_site_refusal(request) is not None) is refused

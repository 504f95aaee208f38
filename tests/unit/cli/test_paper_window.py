"""The paper window: the data's own dates, --from/--to/--days, refused outside the data;
and plain lines that never wrap at 80 columns."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dydx_trader.cli.paper_window import PAPER_DAYS, available, choose, help_text, parse_moment
from dydx_trader.cli.run_view import PLAIN_WIDTH, plain_line
from dydx_trader.domain.errors import InvalidInput

MARKETS = ("BTC-USD", "ETH-USD")


def test_choose_when_nothing_given_then_the_last_default_days_of_the_data() -> None:
    window = choose(MARKETS, days=None, start=None, end=None)

    assert window.end == available(MARKETS).end
    assert window.end - window.start == timedelta(days=PAPER_DAYS)
    assert 2024 <= window.start.year <= 2025  # the candles' own dates, not today's


def test_choose_when_from_and_days_then_that_window_on_the_hour() -> None:
    window = choose(MARKETS, days=2, start=parse_moment("2025-03-01T10:30"), end=None)

    assert window.start == datetime(2025, 3, 1, 10, tzinfo=UTC)
    assert window.end == datetime(2025, 3, 3, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "end"), [("2020-01-01", "2020-02-01"), ("2025-07-01", "2026-01-01")]
)
def test_choose_when_outside_the_data_then_one_line_naming_the_range(start: str, end: str) -> None:
    with pytest.raises(InvalidInput, match="outside the bundled data") as error:
        choose(MARKETS, days=None, start=parse_moment(start), end=parse_moment(end))

    assert "\n" not in str(error.value) and "2024" in str(error.value)


def test_parse_moment_when_not_a_date_then_refused() -> None:
    with pytest.raises(InvalidInput, match="not a date"):
        parse_moment("yesterday")


def test_help_text_when_read_then_shows_default_and_available_range() -> None:
    text = help_text()

    assert f"default {PAPER_DAYS}" in text and "2024-" in text and "2025-" in text


def test_plain_line_when_long_then_one_line_within_80_columns() -> None:
    line = plain_line("2025-03-01 10:00 refused ETH-USD: " + "a very long reason " * 10 + "\nmore")

    assert len(line) <= PLAIN_WIDTH < 80 and "\n" not in line

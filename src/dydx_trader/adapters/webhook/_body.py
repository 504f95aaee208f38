"""The webhook body: strict JSON with exact decimals, turned into a :class:`Signal`.

Numbers are read as ``Decimal`` (never float); NaN, Infinity, numbers longer
than 64 characters, duplicate keys and unknown fields are refused with a 422
naming the field. ``time`` (optional) is when the sender made the signal: an
ISO-8601 time with its zone (TradingView's ``{{timenow}}``) or epoch seconds;
a time further ahead of this server's clock than the allowed skew is refused,
and the validator's staleness rule applies to it like to any signal's.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from dydx_trader.domain.errors import DydxTraderError
from dydx_trader.domain.numbers import to_decimal
from dydx_trader.domain.signal import Signal, SignalSource

DEFAULT_STRATEGY = "webhook"
_MAX_NUMBER_CHARS = 64
_MAX_EXPONENT = 20  # |x| within 1e-20 .. 1e21: any real price or confidence
# Epoch seconds this large are milliseconds by mistake (the year 5138).
_MAX_EPOCH_S = Decimal(10**11)
_FIELDS = frozenset(
    {"secret", "id", "market", "action", "confidence", "price", "stop_loss", "take_profit",
     "strategy", "time"}
)  # fmt: skip


class HttpRefusal(Exception):
    """An answer other than 202, with the message the sender sees (and, for a 503,
    how many seconds to wait before retrying)."""

    def __init__(self, status: int, message: str, retry_after_s: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after_s = retry_after_s


def parse_body(body: bytes) -> dict[str, object]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise HttpRefusal(422, "body is not UTF-8 text") from None
    try:
        parsed = json.loads(
            text,
            parse_float=_parse_decimal,
            parse_int=_parse_decimal,
            parse_constant=_refuse_constant,
            object_pairs_hook=_unique_keys,
        )
    except HttpRefusal:
        raise
    except json.JSONDecodeError as exc:
        raise HttpRefusal(
            422, f"body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:
        raise HttpRefusal(422, "body is nested too deeply") from None
    if not isinstance(parsed, dict):
        raise HttpRefusal(422, "body must be a JSON object")
    return parsed


def _parse_decimal(text: str) -> Decimal:
    if len(text) > _MAX_NUMBER_CHARS:
        raise HttpRefusal(422, f"a number is {len(text)} characters long, at most 64 are allowed")
    return Decimal(text)


def _refuse_constant(name: str) -> object:
    raise HttpRefusal(422, f"{name} is not a number this webhook accepts")


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    result: dict[str, object] = {}
    for key, value in pairs:
        if key in result:
            raise HttpRefusal(422, f"field {_shown(key)} appears twice")
        result[key] = value
    return result


def build_signal(
    fields: Mapping[str, object], now: datetime, max_clock_skew: timedelta | None = None
) -> Signal:
    """The signal in ``fields`` (a parsed body), received at ``now``.

    Its ``created_at`` is the sender's ``time`` when given, else ``now``; a
    ``time`` more than ``max_clock_skew`` ahead of ``now`` is refused.
    """
    unknown = sorted(set(fields) - _FIELDS)
    if unknown:
        raise HttpRefusal(
            422, f"unknown field {_shown(unknown[0])}; allowed: {', '.join(sorted(_FIELDS))}"
        )
    for name in ("market", "action"):
        if fields.get(name) is None:
            raise HttpRefusal(422, f"field {name!r} is required")
    created_at = _sender_time(fields.get("time"), now, max_clock_skew)
    for name in ("id", "market", "action", "strategy"):
        value = fields.get(name)
        if value is not None and not isinstance(value, str):
            raise HttpRefusal(422, f"field {name!r} must be a string, not {_json_type(value)}")
    strategy = fields.get("strategy")
    try:
        numbers = {name: _number(fields, name) for name in _NUMBER_FIELDS}
        confidence = numbers["confidence"]
        return Signal.create(
            id=fields.get("id"),
            market=fields["market"],
            action=fields["action"],
            confidence=Decimal(1) if confidence is None else confidence,
            source=SignalSource.WEBHOOK,
            strategy=DEFAULT_STRATEGY if strategy is None else str(strategy),
            created_at=created_at,
            reference_price=numbers["price"],
            stop_loss=numbers["stop_loss"],
            take_profit=numbers["take_profit"],
        )
    except DydxTraderError as exc:
        # The body calls the reference price "price".
        raise HttpRefusal(422, exc.message.replace("reference_price", "price")) from None


_NUMBER_FIELDS = ("confidence", "price", "stop_loss", "take_profit")


def _sender_time(value: object, now: datetime, max_skew: timedelta | None) -> datetime:
    if value is None:
        return now
    if isinstance(value, str) and len(value) > _MAX_NUMBER_CHARS:
        raise HttpRefusal(422, "field 'time' is too long to be a time")
    if isinstance(value, str) and not _looks_numeric(value):
        try:
            sent = datetime.fromisoformat(value.strip())
        except ValueError:
            raise HttpRefusal(
                422, "field 'time' must be ISO-8601 (2025-01-01T12:00:00Z) or epoch seconds"
            ) from None
        if sent.utcoffset() is None:
            raise HttpRefusal(422, "field 'time' must carry its time zone (e.g. a final Z)")
    elif isinstance(value, Decimal | str):
        try:
            seconds = to_decimal("time", value) if isinstance(value, str) else value
        except DydxTraderError as exc:
            raise HttpRefusal(422, exc.message) from None
        if not seconds.is_finite() or not 0 < seconds < _MAX_EPOCH_S:
            raise HttpRefusal(
                422, f"time {value} is not epoch seconds (milliseconds? divide by 1000)"
            )
        whole = int(seconds)
        sent = datetime.fromtimestamp(whole, UTC) + timedelta(
            microseconds=int((seconds - whole) * 1_000_000)
        )
    else:
        raise HttpRefusal(
            422, f"field 'time' must be a string or a number, not {_json_type(value)}"
        )
    ahead = sent - now
    if max_skew is not None and ahead > max_skew:
        raise HttpRefusal(
            422,
            f"time is {ahead.total_seconds():.1f} s ahead of this server's clock "
            f"(at most {max_skew.total_seconds():g} s allowed)",
        )
    return sent.astimezone(UTC)


def _looks_numeric(text: str) -> bool:
    return text.strip().lstrip("+-").replace(".", "", 1).isdigit()


def _number(fields: Mapping[str, object], name: str) -> Decimal | None:
    # A JSON number (already a Decimal) or a decimal string such as "{{close}}"
    # expanded by TradingView inside quotes.
    value = fields.get(name)
    if value is None:
        return None
    if not isinstance(value, Decimal | str):
        raise HttpRefusal(422, f"field {name!r} must be a number, not {_json_type(value)}")
    if isinstance(value, str) and len(value) > _MAX_NUMBER_CHARS:
        raise HttpRefusal(422, f"field {name!r} is not a number")
    parsed = to_decimal(name, value) if isinstance(value, str) else value
    # Checked before any arithmetic: abs(Decimal("1e999999999")) raises Overflow.
    if parsed.is_finite() and parsed and not -_MAX_EXPONENT <= parsed.adjusted() <= _MAX_EXPONENT:
        raise HttpRefusal(422, f"{name} {parsed} is out of range")
    return to_decimal(name, parsed)


def _json_type(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, Decimal):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return "null"


def _shown(text: str) -> str:
    return repr(text if len(text) <= 32 else text[:32] + "...")

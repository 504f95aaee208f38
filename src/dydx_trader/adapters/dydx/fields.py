"""A typed reader for one JSON object: the one way the wire format is read.

:class:`Fields` reads a decoded JSON object field by field into typed values
(``Decimal`` for money, prices and sizes; ``int`` for heights and ids; aware
``datetime``) and refuses anything else with :class:`MalformedPayload` naming
the object and the field: a missing field, a wrong JSON type, a float where a
decimal string belongs, ``"NaN"`` or ``"Infinity"``, an absurd magnitude,
digits that are not ASCII. Nothing is coerced silently.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import TypeVar

from dydx_trader.domain.errors import InvalidInput, MalformedPayload
from dydx_trader.domain.numbers import ABSURD

T = TypeVar("T")

_INTEGER_TEXT = re.compile(r"^-?[0-9]{1,30}$")  # ASCII digits only; bounded length


class Fields:
    """Typed reads from one JSON object; each failure names ``where`` and the field."""

    def __init__(self, payload: object, where: str) -> None:
        if not isinstance(payload, Mapping):
            raise MalformedPayload(
                f"{where}: expected a JSON object, got {json_type(payload)}", field=where
            )
        self.payload: Mapping[str, object] = payload
        self.where = where

    def _missing(self, name: str) -> MalformedPayload:
        return MalformedPayload(f"{self.where}: field {name!r} is missing", field=name)

    def bad(self, name: str, value: object, wanted: str) -> MalformedPayload:
        shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
        return MalformedPayload(
            f"{self.where}: field {name!r} is {shown}, expected {wanted}", field=name
        )

    def _required(self, name: str, value: T | None) -> T:
        if value is None:
            raise self._missing(name)
        return value

    def text(self, name: str) -> str:
        return self._required(name, self.optional_text(name))

    def optional_text(self, name: str) -> str | None:
        value = self.payload.get(name)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.bad(name, value, "a string")
        return value

    def decimal(self, name: str) -> Decimal:
        return self._required(name, self.optional_decimal(name))

    def optional_decimal(self, name: str) -> Decimal | None:
        value = self.payload.get(name)
        if value is None:
            return None
        # Decimals travel as strings; an int is exact too, a float has lost digits.
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise self.bad(name, value, "a decimal string")
        try:
            parsed = Decimal(value)
        except InvalidOperation:
            raise self.bad(name, value, "a decimal string") from None
        if not parsed.is_finite():
            raise self.bad(name, value, "a finite decimal")
        if abs(parsed) >= ABSURD:
            raise self.bad(name, value, "a plausible magnitude")
        return parsed

    def integer(self, name: str) -> int:
        return self._required(name, self.optional_integer(name))

    def optional_integer(self, name: str) -> int | None:
        """An int sent as a JSON number or as a string of digits (heights, ids)."""
        value = self.payload.get(name)
        if value is None:
            return None
        if isinstance(value, bool):
            raise self.bad(name, value, "an integer")
        if isinstance(value, int):
            return value
        if isinstance(value, str) and _INTEGER_TEXT.match(value):
            return int(value)
        raise self.bad(name, value, "an integer")

    def flag(self, name: str, default: bool | None = None) -> bool:
        value = self.payload.get(name)
        if value is None and default is not None:
            return default
        if not isinstance(value, bool):
            raise self.bad(name, value, "true or false")
        return value

    def time(self, name: str) -> datetime:
        return self._required(name, self.optional_time(name))

    def optional_time(self, name: str) -> datetime | None:
        text = self.optional_text(name)
        if text is None:
            return None
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise self.bad(name, text, "an ISO-8601 time") from None
        if parsed.tzinfo is None:
            raise self.bad(name, text, "an ISO-8601 time with a zone")
        return parsed

    def obj(self, name: str) -> Fields:
        value = self.payload.get(name)
        if value is None:
            raise self._missing(name)
        return Fields(value, f"{self.where}.{name}")

    def optional_obj(self, name: str) -> Fields | None:
        value = self.payload.get(name)
        return None if value is None else Fields(value, f"{self.where}.{name}")

    def items(self) -> Iterator[tuple[str, Fields]]:
        """The object's values as :class:`Fields`, keyed by their JSON key."""
        for key, value in self.payload.items():
            yield key, Fields(value, f"{self.where}[{key!r}]")

    def array(self, name: str) -> list[object]:
        value = self.payload.get(name)
        if value is None:
            raise self._missing(name)
        if not isinstance(value, list):
            raise self.bad(name, value, "a JSON array")
        return value

    def choice(self, name: str, parse: Callable[[str], T], wanted: str) -> T:
        text = self.text(name)
        try:
            return parse(text)
        except ValueError:
            raise self.bad(name, text, wanted) from None


@contextmanager
def as_malformed(where: str) -> Iterator[None]:
    """Domain constructors refuse bad values with InvalidInput; from the venue
    that means the payload is malformed."""
    try:
        yield
    except MalformedPayload:
        raise
    except InvalidInput as error:
        raise MalformedPayload(f"{where}: {error.message}", **error.numbers) from None


def json_type(value: object) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return names.get(type(value), type(value).__name__)

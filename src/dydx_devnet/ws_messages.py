"""socks' outgoing channel messages and its way of printing values in error texts."""

from __future__ import annotations

from typing import Any, Protocol


class MessageCounter(Protocol):
    """A connection as a message needs it: its id and its next message id."""

    connection_id: str

    def next_message_id(self) -> int: ...


def data_message(
    connection: MessageCounter,
    channel: str,
    channel_id: str | None,
    version: str,
    contents: Any,
    subaccount_number: int | None = None,
) -> dict[str, Any]:
    """A ``channel_data`` message (socks ``createChannelDataMessage``): no ``id`` on
    ``v4_markets``; ``subaccountNumber`` only on a parent subaccount's channel."""
    message: dict[str, Any] = {
        "type": "channel_data",
        "connection_id": connection.connection_id,
        "message_id": connection.next_message_id(),
    }
    if channel != "v4_markets":
        message["id"] = channel_id if channel_id is not None else channel
    message["channel"] = channel
    message["version"] = version
    message["contents"] = contents
    if subaccount_number is not None:
        message["subaccountNumber"] = subaccount_number
    return message


def js(value: Any) -> str:
    """A value as JavaScript's template string would print it in socks' messages."""
    if value is None:
        return "undefined"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    return "[object Object]"

"""The error taxonomy of dydx-trader: five categories, each saying what happens next.

Every error carries the numbers that explain it (``numbers``) and a message a
person can act on. Callers catch a *category*, as httpx's callers do::

    DydxTraderError
    ├── Refusal               a domain "no": returned inside a Decision, journaled, never retried
    │   ├── InvalidInput, UnknownMarket, MarketNotTradable, IsolatedMarketNotTraded
    │   ├── SignalRejected, NothingToTrade
    │   ├── BelowMinimumOrderSize, InsufficientFreeCollateral, ReduceOnlyViolation
    │   ├── LeverageLimitExceeded, ExposureLimitExceeded, NotionalLimitExceeded
    │   ├── UnprotectedEntry, InvalidProtection
    │   └── TradingHalted
    ├── Unavailable           data that cannot be trusted now: refuse this trade, retry later
    │   ├── StaleAccountData, StaleMarketData, SubaccountNotFound
    │   ├── VenueUnavailable
    │   └── MalformedPayload  (a read that returned garbage is treated as no data)
    ├── VenueRejected         the chain refused the order with a definitive code
    ├── OrderOutcomeUnknown   the answer to a send was lost: settle it, never resend
    └── Fault                 the system is broken: the actor crashes, trading HALTS
        └── JournalUnavailable, IllegalStateTransition, ClientIdConflict,
            UnknownOrder, SecretUnavailable

An actor answers a Refusal or Unavailable to its asker; a Fault (or any
unexpected exception) escalates to the supervisor, which persists HALTED with a
reason. Malformed venue data met *while settling an order* is a Fault: the
settlement code wraps it, since by then an order may be live.

Adapters translate vendor failures (gRPC status, chain codes, HTTP status)
into these classes at the border; nothing past an adapter sees a vendor error.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from enum import StrEnum
from typing import ClassVar

Number = Decimal | int | str


class DydxTraderError(Exception):
    """Base of every error the system raises or returns on purpose.

    ``code`` is a stable machine name (the class name), ``message`` the
    sentence for a person, ``numbers`` the figures behind it (USDC as
    ``Decimal``, quantums as ``int``).
    """

    code: ClassVar[str] = "DydxTraderError"

    def __init__(self, message: str, **numbers: Number) -> None:
        super().__init__(message)
        self.message = message
        self.numbers: Mapping[str, Number] = dict(numbers)

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls.code = cls.__name__

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def __reduce__(self) -> tuple[object, ...]:
        # Keep the numbers across pickling (multiprocessing, logging handlers).
        return (_rebuild, (type(self), self.message, dict(self.numbers)))


def _rebuild(
    cls: type[DydxTraderError], message: str, numbers: dict[str, Number]
) -> DydxTraderError:
    return cls(message, **numbers)


# -- the categories ------------------------------------------------------------------


class Refusal(DydxTraderError):
    """A domain "no": the signal or order may not be traded as it is. Journaled as a
    refused decision; never retried by the system."""


class Unavailable(DydxTraderError):
    """Data the decision needs cannot be trusted right now (stale, unreachable,
    malformed). The trade is refused for now; a later signal may succeed."""


class Fault(DydxTraderError):
    """The system itself is broken (its journal, its state machine, its secrets).
    Never answered as a refusal: the actor crashes and trading halts with a reason."""


# -- input and data -------------------------------------------------------------


class InvalidInput(Refusal):
    """A value is NaN, infinite, negative, absurd or of the wrong type.

    Refused at the domain's edge; the caller fixes the input. Never retried.
    """


class UnknownMarket(Refusal):
    """The ticker is not a market the venue lists. Check the spelling (``BTC-USD``)."""


class MalformedPayload(Unavailable):
    """A venue payload did not have the shape or types the protocol documents.

    Treated as "no data": nothing is sized from it.
    """


class StaleAccountData(Unavailable):
    """The account snapshot cannot be proven fresh (TTL, a fill since, indexer lag,
    or the indexer unreachable). No trade is sized from it; retry after a refresh."""


class StaleMarketData(Unavailable):
    """A market's oracle price or parameters are older than allowed. No trade is sized."""


class SubaccountNotFound(Unavailable):
    """The indexer has no such subaccount (HTTP 404): it was never funded. Check the
    address and subaccount number, or deposit USDC first. Not retried."""


# -- market state ---------------------------------------------------------------


class MarketNotTradable(Refusal):
    """The market is not ACTIVE (or has no oracle price). Wait for the venue."""


class IsolatedMarketNotTraded(Refusal):
    """The market is ISOLATED: dydx-trader opens positions in cross markets only. Trade it
    by hand from a child subaccount (number + 128) funded by a transfer, or drop it from
    the strategies. A CLOSE of an existing position still goes through."""


# -- sizing and risk ------------------------------------------------------------


class InsufficientFreeCollateral(Refusal):
    """The trade needs more initial margin than the free collateral left after the
    safety buffer. Reduce the size, close positions or add collateral."""


class LeverageLimitExceeded(Refusal):
    """The trade would take account or market leverage past a cap (the user's
    configured maximum or the market's 1 / effective IMF)."""


class ExposureLimitExceeded(Refusal):
    """Gross notional / equity after the trade would exceed the portfolio cap."""


class NotionalLimitExceeded(Refusal):
    """The position's notional in one market would exceed its per-market cap."""


class BelowMinimumOrderSize(Refusal):
    """The size is smaller than one step of the market; it is refused, never
    rounded up to the minimum."""


class ReduceOnlyViolation(Refusal):
    """A reduce-only order would open or increase a position (or there is nothing
    to reduce)."""


class NothingToTrade(Refusal):
    """The signal asks for no change (HOLD, or CLOSE with no position)."""


# -- trading state and limits -----------------------------------------------------


class TradingHalted(Refusal):
    """Trading is HALTED (kill switch or operator), or REDUCING and the order would
    add risk. Resume explicitly from the CLI once the cause is understood."""


class UnprotectedEntry(Refusal):
    """``protection.required`` is on and the entry would have no stop-loss (the signal
    carries none and no default stop is configured)."""


class InvalidProtection(Refusal):
    """The stop-loss or take-profit that would protect the entry cannot work: it would
    trigger at once, or the position would be liquidated before the stop fires."""


class SignalRejected(Refusal):
    """A signal failed a validation rule (confidence, allowlist, staleness,
    duplicate, cooldown). The rule's name is in ``numbers['rule']``."""


class IllegalStateTransition(Fault):
    """An order or the trading state was asked to move along an edge its
    transition table does not have (or an order to overfill). A bug or a venue
    report that contradicts the journal: nothing is changed; halt and reconcile."""


class ClientIdConflict(Fault):
    """The journal already holds a different intent under this client id (or a
    different order for this signal). Nothing is sent; the intent needs another
    id (a new nonce) or the signal is a duplicate."""


class UnknownOrder(Fault):
    """The journal has no order with this client id (an order placed outside this
    system, or a typo). Reconciliation flags it; nothing is changed."""


# -- venue outcomes -------------------------------------------------------------


class VenueRejected(DydxTraderError):
    """The chain refused the transaction in CheckTx with a definitive code.

    ``numbers`` holds ``codespace``, ``chain_code`` and the chain's message.
    Not retried; the balance is refreshed.
    """


class VenueUnavailable(Unavailable):
    """The indexer or node could not be reached, answered 5xx, or rate-limited us
    (HTTP 429). Reads may be retried; the trade is refused for now."""


class OrderOutcomeUnknown(DydxTraderError):
    """A send whose answer was lost (timeout, dropped connection).

    Not a rejection: the order stays in flight under the same client id until
    the indexer settles it. Never resend under a new client id.
    """


class JournalUnavailable(Fault):
    """The journal file cannot be opened, read or written (permissions, disk full,
    written by a newer version). No order is sent without its intent journaled:
    trading stops until the file is fixed."""


class SecretUnavailable(Fault):
    """The signing secret is missing or stored unsafely (for example a file
    readable by other users). Set it as documented; it is never printed."""


# -- settlement and venue-failure classes (settlement) ----------------------------


class OrderFollowUpFault(DydxTraderError):
    """Submitting an order failed at a step the system cannot shrug off.

    ``sent`` says whether anything may have left the process: ``False`` when the
    intent could not even be journaled (nothing was signed or sent), ``True``
    when a step *after* the broadcast failed (the journal locked, a malformed
    answer, any exception): the order may then be live on the venue. Keep its
    reservation, follow it to settlement under ``client_id``, and halt trading
    with this reason; never resend it under a new id.
    """

    def __init__(self, message: str, *, client_id: int, sent: bool, **numbers: Number) -> None:
        super().__init__(message, client_id=client_id, sent="yes" if sent else "no", **numbers)
        self.client_id = client_id
        self.sent = sent

    def __reduce__(self) -> tuple[object, ...]:
        numbers = {k: v for k, v in self.numbers.items() if k not in ("client_id", "sent")}
        return (_rebuild_follow_up, (self.message, self.client_id, self.sent, numbers))


def _rebuild_follow_up(
    message: str, client_id: int, sent: bool, numbers: dict[str, Number]
) -> OrderFollowUpFault:
    return OrderFollowUpFault(message, client_id=client_id, sent=sent, **numbers)


class VenueFailure(StrEnum):
    """How an adapter classified a venue failure (``numbers['failure']``).

    * ``TRANSIENT``: it may succeed if tried again (HTTP 5xx or 429, a timeout,
      a dropped connection, gRPC UNAVAILABLE): retry with backoff.
    * ``DEFINITIVE``: the venue will answer the same again (another 4xx, a chain
      code, malformed data): retrying does not help; a person must look.
    * ``UNKNOWN``: a write whose answer was lost: settle it, never resend it.
    """

    TRANSIENT = "transient"
    DEFINITIVE = "definitive"
    UNKNOWN = "unknown"


def venue_failure(error: BaseException) -> VenueFailure | None:
    """The class of a venue failure, or ``None`` when ``error`` is not one.

    ``VenueUnavailable`` carries its class in ``numbers['failure']`` (transient
    when untagged); a rejection and malformed data are definitive; a lost
    answer is unknown.
    """
    if isinstance(error, VenueUnavailable):
        tag = error.numbers.get("failure", VenueFailure.TRANSIENT.value)
        return VenueFailure(str(tag)) if tag in _FAILURE_TAGS else VenueFailure.TRANSIENT
    if isinstance(error, VenueRejected | MalformedPayload):
        return VenueFailure.DEFINITIVE
    if isinstance(error, OrderOutcomeUnknown):
        return VenueFailure.UNKNOWN
    return None


_FAILURE_TAGS = frozenset(failure.value for failure in VenueFailure)


def describe(error: BaseException) -> str:
    """A one-line text for ``error`` that is never empty (``str(TimeoutError())`` is)."""
    return str(error) or type(error).__name__

"""Venue failures carry their class; a follow-up fault says whether the order may be live."""

from __future__ import annotations

import pickle

import pytest

from dydx_trader.domain.errors import (
    InvalidInput,
    MalformedPayload,
    OrderFollowUpFault,
    OrderOutcomeUnknown,
    VenueFailure,
    VenueRejected,
    VenueUnavailable,
    describe,
    venue_failure,
)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (VenueUnavailable("HTTP 503", failure="transient"), VenueFailure.TRANSIENT),
        (VenueUnavailable("HTTP 403", failure="definitive"), VenueFailure.DEFINITIVE),
        (VenueUnavailable("untagged"), VenueFailure.TRANSIENT),
        (MalformedPayload("fill size off the grid"), VenueFailure.DEFINITIVE),
        (VenueRejected("code 3007"), VenueFailure.DEFINITIVE),
        (OrderOutcomeUnknown("answer lost"), VenueFailure.UNKNOWN),
        (InvalidInput("not a venue failure"), None),
        (RuntimeError("nor this"), None),
    ],
)
def test_venue_failure_when_classified_at_the_edge_then_class_read_back(
    error: Exception, expected: VenueFailure | None
) -> None:
    assert venue_failure(error) is expected


def test_describe_when_error_has_no_text_then_its_type_name() -> None:
    assert describe(TimeoutError()) == "TimeoutError"
    assert describe(ValueError("bad size")) == "bad size"


def test_order_follow_up_fault_when_pickled_then_sent_and_client_id_kept() -> None:
    fault = OrderFollowUpFault("journal locked after the broadcast", client_id=7, sent=True)

    copy = pickle.loads(pickle.dumps(fault))  # noqa: S301 - our own bytes

    assert (copy.client_id, copy.sent, copy.numbers["sent"]) == (7, True, "yes")
    assert str(copy) == "OrderFollowUpFault: journal locked after the broadcast"

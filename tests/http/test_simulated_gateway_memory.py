"""The simulated payment gateway runs inside a long-lived API process: what it remembers is
bounded (open authorisations until captured or voided, the latest finished ones, the latest
calls), and the protocol answers the same within that memory."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pyapi.checkout.gateway import GatewayDeclined, GatewayTimeout, SimulatedGateway


def _checkout(gw: SimulatedGateway, n: int, token: str = "tok_ok") -> str:
    return gw.preauthorise(reference=f"checkout-{n}", amount=Decimal(100), currency="JPY", card_token=token)


def test_memory_stays_bounded_over_many_checkouts():
    gw = SimulatedGateway(keep_finished=10, keep_calls=25)
    for n in range(500):
        auth = _checkout(gw, n)
        if n % 2:
            gw.capture(authorisation_ref=auth, amount=Decimal(100), currency="JPY")
        else:
            gw.void(reference=f"checkout-{n}")
    assert len(gw.authorisations) == 10  # the latest finished ones only: none is open
    assert len(gw.calls) == 25
    assert list(gw.calls)[-1] == ("capture", "sim_auth_checkout-499_approve")
    assert not gw._timed_out and len(gw._finished) == 10


def test_open_authorisations_are_kept_until_captured_or_voided():
    gw = SimulatedGateway(keep_finished=2, keep_calls=5)
    held = _checkout(gw, 0)  # stays open while 100 other checkouts finish
    for n in range(1, 101):
        gw.capture(authorisation_ref=_checkout(gw, n), amount=Decimal(100), currency="JPY")
    assert gw.authorisations[held].status == "authorised"
    assert len(gw.authorisations) == 3  # the open one and the two latest captured
    assert (
        gw.capture(authorisation_ref=held, amount=Decimal(100), currency="JPY")
        == "sim_cap_checkout-0_approve"
    )
    assert held in gw.authorisations and len(gw.authorisations) == 2


def test_within_its_memory_the_protocol_answers_the_same():
    gw = SimulatedGateway(keep_finished=5)
    auth = _checkout(gw, 1)
    assert _checkout(gw, 1) == auth  # a retried pre-authorisation: the same authorisation
    first = gw.capture(authorisation_ref=auth, amount=Decimal(100), currency="JPY")
    assert gw.capture(authorisation_ref=auth, amount=Decimal(100), currency="JPY") == first
    voided = _checkout(gw, 2)
    gw.void(reference="checkout-2")
    with pytest.raises(GatewayDeclined):
        gw.capture(authorisation_ref=voided, amount=Decimal(100), currency="JPY")
    # a flaky card times out on its first try only, and leaves nothing behind once approved
    with pytest.raises(GatewayTimeout):
        _checkout(gw, 3, "tok_flaky")
    flaky = _checkout(gw, 3, "tok_flaky")
    assert _checkout(gw, 3, "tok_flaky") == flaky and not gw._timed_out

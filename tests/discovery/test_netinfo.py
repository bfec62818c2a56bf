"""This machine's interfaces: names for the interface numbers zeroconf gives."""

from __future__ import annotations

import socket

import pytest

from stapserver.discovery.netinfo import scope_name


def test_interface_number_becomes_its_name() -> None:
    index, name = socket.if_nameindex()[0]
    assert scope_name(f"fe80::1%{index}") == f"fe80::1%{name}"


@pytest.mark.parametrize(
    "address",
    [
        "fe80::1%eth0",  # a name already
        "fe80::1",  # no scope
        "fe80::1%\u00b2",  # a digit, but not 0-9
        "fe80::1%\u0663",
        "fe80::1%999999",  # no such interface
    ],
)
def test_other_scopes_are_left_as_they_are(address: str) -> None:
    assert scope_name(address) == address

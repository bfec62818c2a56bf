"""This machine's interfaces: names for the interface numbers zeroconf gives."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

from stapserver.discovery import netinfo
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


# ---------------------------------------------------------------------- from the kernel

ROUTE = """\
Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0
eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
veth1\t000012C6\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0
down0\t000013C6\t00000000\t0000\t0\t0\t0\t00FFFFFF\t0\t0\t0
bad\tzz\t00000000\t0001
"""
IF_INET6 = """\
fe8000000000000000fc00fffe000001 04 40 20 80     eth0
00000000000000000000000000000001 01 80 10 80       lo
fd000000000000000000000000000002 04 40 00 82     eth0
"""


def test_local_networks_from_the_kernel(tmp_path: Path) -> None:
    if sys.byteorder != "little":
        pytest.skip("the sample is a little-endian machine's /proc/net/route")
    (tmp_path / "route").write_text(ROUTE)
    (tmp_path / "if_inet6").write_text(IF_INET6)
    nets = netinfo.local_networks(proc=str(tmp_path))
    assert [(n.interface, str(n.network)) for n in nets] == [
        ("eth0", "192.0.2.0/24"),  # on-link; the default route (a gateway) is not
        ("veth1", "198.18.0.0/16"),
        ("eth0", "fe80::/64"),
        ("eth0", "fd00::/64"),  # loopback is no network shared with a server
    ]


def test_local_networks_without_proc_asks_the_interfaces(tmp_path: Path) -> None:
    nets = netinfo.local_networks(proc=str(tmp_path / "none"))
    assert any(n.network.version == 4 and n.interface == "lo" for n in nets)


def test_multicast_interfaces(tmp_path: Path) -> None:
    """Up, multicast and not loopback (0x1003 is up|broadcast|multicast; 0x9 up and
    loopback; 0x1002 down), from the kernel's flags of this machine's interfaces."""
    names = [name for _, name in socket.if_nameindex()]
    flags = dict(zip(names, ("0x1003", "0x9", "0x1002", "junk"), strict=False))
    for name, value in flags.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "flags").write_text(value + "\n")
    found = netinfo.multicast_interfaces(str(tmp_path))
    expected = [n for n, f in flags.items() if f == "0x1003"]
    assert [name for _, name in found] == expected
    assert all(socket.if_nametoindex(name) == index for index, name in found)

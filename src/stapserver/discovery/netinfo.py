"""This machine's network interfaces and the networks they are on."""

from __future__ import annotations

import ipaddress
import re
import socket
import sys
from typing import NamedTuple

from .adverts import LocalNetwork


class LocalAddress(NamedTuple):
    interface: str
    ifindex: int
    address: str  # an IPv6 link-local one carries its %interface
    prefix: int

    @property
    def ip(self) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
        return ipaddress.ip_address(self.address.split("%", 1)[0])


def local_addresses() -> list[LocalAddress]:
    """Every address of every interface (ifaddr, which zeroconf itself uses)."""
    import ifaddr

    found: list[LocalAddress] = []
    for adapter in ifaddr.get_adapters():
        name = adapter.nice_name
        index = int(adapter.index or 0)
        for ip in adapter.ips:
            if isinstance(ip.ip, tuple):
                text = ip.ip[0]
                if ipaddress.IPv6Address(text).is_link_local:
                    text = f"{text}%{name}"
            else:
                text = ip.ip
            found.append(LocalAddress(name, index, text, int(ip.network_prefix)))
    return found


IFF_UP = 0x1
IFF_LOOPBACK = 0x8
IFF_MULTICAST = 0x1000


def multicast_interfaces(sys_net: str = "/sys/class/net") -> list[tuple[int, str]]:
    """The interfaces a multicast question goes out on: up, multicast, not loopback, as
    (index, name).  Read from sysfs (the kernel's own flags; cheaper than ifaddr)."""
    found = []
    for index, name in socket.if_nameindex():
        try:
            with open(f"{sys_net}/{name}/flags") as f:
                flags = int(f.read().strip(), 16)
        except (OSError, ValueError):
            continue
        if flags & IFF_UP and flags & IFF_MULTICAST and not flags & IFF_LOOPBACK:
            found.append((index, name))
    return found


def local_networks(
    addresses: list[LocalAddress] | None = None, proc: str = "/proc/net"
) -> list[LocalNetwork]:
    """The networks this machine is on: those of ``addresses``, else read from the
    kernel (``/proc/net``: the IPv4 routes without a gateway, the IPv6 addresses with
    their prefixes), which costs a browsing command nothing to import."""
    if addresses is None:
        found = _proc_networks(proc)
        if found is not None:
            return found
        addresses = local_addresses()
    return [
        LocalNetwork(a.interface, ipaddress.ip_network(f"{a.ip}/{a.prefix}", strict=False))
        for a in addresses
    ]


def _proc_networks(proc: str) -> list[LocalNetwork] | None:
    """On-link IPv4 networks (``route``: no gateway, up) and IPv6 prefixes
    (``if_inet6``), or None where the files are not there (not Linux)."""
    nets: list[LocalNetwork] = []
    try:
        with open(f"{proc}/route") as f:
            rows = [line.split() for line in f.read().splitlines()[1:]]
    except OSError:
        return None
    for row in rows:
        if len(row) < 8:
            continue
        iface, dest, gateway, flags, mask = row[0], row[1], row[2], row[3], row[7]
        try:
            up = int(flags, 16) & 0x1
            # the kernel prints addresses as its own u32s: in this machine's byte order
            address = int.from_bytes(bytes.fromhex(dest), sys.byteorder)
            network = ipaddress.IPv4Network((address, _prefix(mask)))
        except ValueError:
            continue
        if up and int(gateway, 16) == 0 and network.prefixlen > 0:
            nets.append(LocalNetwork(iface, network))
    try:
        with open(f"{proc}/if_inet6") as f:
            rows = [line.split() for line in f.read().splitlines()]
    except OSError:
        rows = []
    for row in rows:
        if len(row) < 6:
            continue
        try:
            ip = ipaddress.IPv6Address(bytes.fromhex(row[0]))
            net6 = ipaddress.IPv6Network((ip, int(row[2], 16)), strict=False)
        except ValueError:
            continue
        if not ip.is_loopback:
            nets.append(LocalNetwork(row[5], net6))
    return nets


def _prefix(mask_hex: str) -> int:
    """The prefix length of a netmask as /proc/net/route prints it."""
    return bin(int.from_bytes(bytes.fromhex(mask_hex), sys.byteorder)).count("1")


def scope_name(address: str) -> str:
    """``fe80::1%3`` as ``fe80::1%eth0`` (zeroconf gives interface numbers)."""
    bare, sep, scope = address.partition("%")
    if sep and re.fullmatch("[0-9]+", scope):
        try:
            return f"{bare}%{socket.if_indextoname(int(scope))}"
        except OSError:
            return address
    return address


def advertisable(addresses: list[LocalAddress], listen: str) -> list[LocalAddress]:
    """The addresses a server listening on ``listen`` ("" for all) is reachable at from
    the network: never loopback."""
    out = []
    for a in addresses:
        if a.ip.is_loopback:
            continue
        if (
            listen in ("", "::")
            or (listen == "0.0.0.0" and a.ip.version == 4)
            or a.address.split("%", 1)[0] == listen.split("%", 1)[0]
        ):
            out.append(a)
    return out


__all__ = [
    "LocalAddress",
    "advertisable",
    "local_addresses",
    "local_networks",
    "multicast_interfaces",
    "scope_name",
]

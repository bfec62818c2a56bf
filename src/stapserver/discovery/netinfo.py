"""This machine's network interfaces and the networks they are on."""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass

from .adverts import LocalNetwork


@dataclass(frozen=True)
class LocalAddress:
    interface: str
    index: int
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


def local_networks(addresses: list[LocalAddress] | None = None) -> list[LocalNetwork]:
    nets = []
    for a in addresses if addresses is not None else local_addresses():
        nets.append(
            LocalNetwork(a.interface, ipaddress.ip_network(f"{a.ip}/{a.prefix}", strict=False))
        )
    return nets


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


__all__ = ["LocalAddress", "advertisable", "local_addresses", "local_networks", "scope_name"]

"""``--server`` values: ``HOST``, ``HOST:PORT``, ``IPv4``, ``IPv4:PORT``, ``IPv6``,
``[IPv6]:PORT``, ``[IPv6%IFACE]:PORT``."""

from __future__ import annotations

import ipaddress
import re
from typing import NamedTuple

from ..errors import UsageError

_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$"
)
_IFACE = re.compile(r"^[A-Za-z0-9_.:-]{1,15}$")


class ServerAddress(NamedTuple):
    host: str  # a host name or an IP address (IPv6 with its %interface, if any)
    port: int | None  # None: look it up among the advertised servers

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port is None else f"{host}:{self.port}"

    @property
    def is_ip(self) -> bool:
        try:
            ipaddress.ip_address(self.host.split("%", 1)[0])
        except ValueError:
            return False
        return True


def _port(text: str, spec: str) -> int:
    if not text:
        raise UsageError(f"--server={spec} has no port after ':'")
    if not re.fullmatch(r"[0-9]{1,5}", text) or not 1 <= int(text) <= 65535:
        raise UsageError(f"invalid port in --server={spec}: use 1 to 65535")
    return int(text)


def _ipv6(text: str, spec: str) -> str:
    addr, percent, iface = text.partition("%")
    try:
        ipaddress.IPv6Address(addr)
    except ValueError:
        raise UsageError(f"invalid IPv6 address in --server={spec}") from None
    if percent and not _IFACE.fullmatch(iface):
        raise UsageError(f"invalid interface name in --server={spec}")
    return text


def _with_port(host: str, port: int, spec: str) -> ServerAddress:
    """An IPv6 server to connect to: a link-local address is one on every link, and
    means something only with the interface to reach it by.  (Without a port, it is
    looked up among the advertised servers, whose addresses carry their interface.)"""
    if "%" not in host and ipaddress.IPv6Address(host).is_link_local:
        raise UsageError(
            f"--server={spec}: a link-local address needs its interface, "
            f"as in --server=[{host}%eth0]:{port}"
        )
    return ServerAddress(host, port)


def parse_server(spec: str) -> ServerAddress:
    """Parse a ``--server`` value; UsageError says what is malformed."""
    if not spec:
        raise UsageError("--server needs a value: HOST, HOST:PORT, IP, IP:PORT or [IPv6]:PORT")
    if spec.startswith("["):
        end = spec.find("]")
        if end < 0:
            raise UsageError(f"invalid --server={spec}: missing ']'")
        host = _ipv6(spec[1:end], spec)
        rest = spec[end + 1 :]
        if not rest:
            return ServerAddress(host, None)
        if not rest.startswith(":"):
            raise UsageError(f"invalid --server={spec}: expected ':PORT' after ']'")
        return _with_port(host, _port(rest[1:], spec), spec)
    if spec.count(":") >= 2:  # a bare IPv6 address, no port
        return ServerAddress(_ipv6(spec, spec), None)
    host, colon, port = spec.partition(":")
    try:
        ipaddress.IPv4Address(host)
        is_ip = True
    except ValueError:
        is_ip = False
    if not is_ip and not _HOSTNAME.fullmatch(host):
        raise UsageError(f"invalid host name in --server={spec}")
    return ServerAddress(host, _port(port, spec) if colon else None)

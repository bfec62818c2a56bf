"""What a compile server advertises on the local network, as pure data and decisions.

A server announces one DNS-SD service of type ``_stap._tcp`` per target it builds for,
named ``Systemtap Compile Server on <host>``, with SystemTap's TXT entries (``sysinfo``,
``optinfo``, ``version``, ``certinfo``) kept exactly, so SystemTap's own
``stap --list-servers`` lists ours, and ours beside them:

- ``runtimes``: the runtimes it builds for, comma-separated (``python`` serves any kernel);
- ``certsha256``: the SHA-256 of its certificate, and ``keysha256`` of its public key
  (which a renewed certificate keeps), so a client matches a trusted certificate exactly
  instead of by SystemTap's 5-byte serial;
- ``slots``: the builds it could start now.

Everything here is plain logic over those records: building them, reading them back,
deciding which are compatible with a client, ranking them, ordering their addresses.
The network lives in :mod:`.browse` and :mod:`.advertise`.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from typing import NamedTuple

SERVICE_TYPE = "_stap._tcp.local."
NAME_PREFIX = "Systemtap Compile Server on "
MAX_LABEL = 63  # a DNS label


def instance_label(hostname: str, n: int = 1) -> str:
    """The service instance name: ``Systemtap Compile Server on HOST``, `` #N`` for the
    N-th of a clash, cut to fit a DNS label (63 bytes) as avahi does."""
    suffix = "" if n <= 1 else f" #{n}"
    base = NAME_PREFIX + hostname.split(".", 1)[0]
    room = MAX_LABEL - len(suffix.encode())
    data = base.encode("utf-8")[:room]
    return data.decode("utf-8", "ignore") + suffix


def service_txt(
    *,
    release: str,
    arch: str,
    version: str,
    certinfo: str,
    optinfo: str = "",
    runtimes: Iterable[str] = (),
    certsha256: str = "",
    keysha256: str = "",
    slots: int | None = None,
) -> dict[str, str]:
    """The TXT entries of one advertised target, SystemTap's first."""
    txt = {
        "sysinfo": f"{release} {arch}",
        "optinfo": optinfo,
        "version": version,
        "certinfo": certinfo,
    }
    runtimes = list(runtimes)
    if runtimes:
        txt["runtimes"] = ",".join(runtimes)
    if certsha256:
        txt["certsha256"] = certsha256
    if keysha256:
        txt["keysha256"] = keysha256
    if slots is not None:
        txt["slots"] = str(slots)
    return txt


def decode_txt(properties: Mapping[bytes, bytes | None] | Mapping[str, str]) -> dict[str, str]:
    """TXT entries as text (undecodable bytes replaced; a key without value is "")."""
    out: dict[str, str] = {}
    for k, v in properties.items():
        key = k.decode("utf-8", "replace") if isinstance(k, bytes) else k
        if v is None:
            value = ""
        elif isinstance(v, bytes):
            value = v.decode("utf-8", "replace")
        else:
            value = v
        out.setdefault(key, value)
    return out


_VERSION = re.compile(r"^[0-9]+(\.[0-9]+)*$")


def version_key(text: str) -> tuple[int, ...]:
    """``4.10`` after ``4.9``; a malformed version sorts first."""
    if not _VERSION.fullmatch(text):
        return ()
    return tuple(int(p) for p in text.split("."))


class Advert(NamedTuple):
    """One advertised target of one server, as a client saw it.  (Named tuples here
    and in :mod:`.mdns`: ``dataclasses`` would double a browsing command's imports.)"""

    name: str  # the instance label: Systemtap Compile Server on HOST
    host: str  # the host name in the SRV record, without the trailing dot
    port: int
    addresses: tuple[str, ...]  # IPv6 link-local ones with their %interface
    txt: dict[str, str] = {}  # noqa: RUF012 - never changed in place; shared by adverts without TXT

    @property
    def sysinfo(self) -> str:
        return self.txt.get("sysinfo", "")

    @property
    def release(self) -> str:
        parts = self.sysinfo.split()
        return parts[0] if len(parts) == 2 else ""

    @property
    def arch(self) -> str:
        parts = self.sysinfo.split()
        return parts[-1] if parts else ""

    @property
    def version(self) -> str:
        return self.txt.get("version", "")

    @property
    def runtimes(self) -> tuple[str, ...]:
        """The runtimes it offers; a server that does not say (SystemTap's) builds
        kernel modules, and BPF programs from SystemTap 4.0 on."""
        value = self.txt.get("runtimes")
        if value is None:
            return ("kernel", "bpf") if version_key(self.version) >= (4,) else ("kernel",)
        return tuple(r for r in value.split(",") if r)

    @property
    def slots(self) -> int:
        try:
            return max(0, int(self.txt.get("slots", "0")))
        except ValueError:
            return 0

    def line(self, address: str | None = None) -> str:
        """The 2009 ``stap-find-servers`` line: ``NAME IP PORT 'sysinfo=…'`` and the
        other TXT entries after it."""
        addr = address if address is not None else (self.addresses[0] if self.addresses else "")
        entries = ["sysinfo", "optinfo", "version", "certinfo"]
        entries += [k for k in self.txt if k not in entries]
        txt = " ".join(_quote(f"{k}={self.txt[k]}") for k in entries if k in self.txt)
        return f"{self.name} {addr} {self.port} {txt}".rstrip()


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


class Target(NamedTuple):
    """What a client needs built: for a kernel release and architecture, in a runtime."""

    release: str
    arch: str
    runtime: str


def compatible(advert: Advert, target: Target) -> bool:
    """Can this server build for the client?  The python runtime serves any kernel; the
    kernel and BPF runtimes need the server to build for the client's exact ``release
    arch`` (or, as SystemTap accepts, just its arch)."""
    if target.runtime not in advert.runtimes:
        return False
    if target.runtime == "python":
        return True
    return advert.sysinfo in (f"{target.release} {target.arch}", target.arch)


def listed_compatible(advert: Advert, release: str, arch: str, runtimes: Iterable[str]) -> bool:
    """``stap-find-servers``'s test: builds for this machine's kernel, or offers a
    runtime whose modules this machine runs."""
    return advert.sysinfo == f"{release} {arch}" or any(
        compatible(advert, Target(release, arch, r)) for r in runtimes
    )


def rank(adverts: Iterable[Advert]) -> list[Advert]:
    """Newest version first, then the most free build slots, then as seen."""
    # Two stable sorts (reverse=True keeps equal keys in order): negating the version's
    # parts would put 5.0 before 5.0.1 and a malformed version (()) before all.
    ranked = sorted(adverts, key=lambda a: a.slots, reverse=True)
    ranked.sort(key=lambda a: version_key(a.version), reverse=True)
    return ranked


class LocalNetwork(NamedTuple):
    interface: str
    network: ipaddress.IPv4Network | ipaddress.IPv6Network


def order_addresses(addresses: Iterable[str], networks: Iterable[LocalNetwork]) -> list[str]:
    """Addresses on a network the client shares first (a link-local IPv6 address with
    its interface), then the rest, each group in the order given."""
    nets = list(networks)
    shared: list[str] = []
    others: list[str] = []
    for text in addresses:
        bare, _, scope = text.partition("%")
        try:
            ip = ipaddress.ip_address(bare)
        except ValueError:
            continue
        if ip.is_link_local and ip.version == 6:
            (shared if scope else others).append(text)
            continue
        if any(ip in n.network for n in nets if n.network.version == ip.version):
            shared.append(text)
        else:
            others.append(text)
    return shared + others


__all__ = [
    "NAME_PREFIX",
    "SERVICE_TYPE",
    "Advert",
    "LocalNetwork",
    "Target",
    "compatible",
    "decode_txt",
    "instance_label",
    "listed_compatible",
    "order_addresses",
    "rank",
    "service_txt",
    "version_key",
]

"""Choosing among the servers advertised on the local network (pure logic).

The candidates are the compatible servers whose certificate the client trusts, newest
version first, then the most free build slots.  When none fits, one message says why:
none seen; seen but not trusted (with the command that would trust each); seen but not
compatible (with what they build for).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from ..discovery.adverts import Advert, LocalNetwork, Target, compatible, order_addresses, rank
from .address import ServerAddress


@dataclass
class Choice:
    candidates: list[Advert] = field(default_factory=list)
    untrusted: list[Advert] = field(default_factory=list)
    incompatible: list[Advert] = field(default_factory=list)


def choose(adverts: list[Advert], target: Target, trusted: Callable[[Advert], bool]) -> Choice:
    choice = Choice()
    for a in adverts:
        if not compatible(a, target):
            choice.incompatible.append(a)
        elif not trusted(a):
            choice.untrusted.append(a)
        else:
            choice.candidates.append(a)
    choice.candidates = rank(choice.candidates)
    return choice


def _where(a: Advert) -> str:
    return f"{a.name} ({ServerAddress(a.addresses[0] if a.addresses else a.host, a.port)})"


def explain(choice: Choice, target: Target) -> str:
    """Why no advertised server can be used, in one message."""
    wanted = f"the {target.runtime} runtime"
    if target.runtime != "python":
        wanted += f" on {target.release} {target.arch}"
    if not choice.untrusted and not choice.incompatible:
        return (
            "no compile server found on the local network: start one with stap-start-server, "
            "or name one with --server=HOST:PORT"
        )
    parts = []
    if choice.untrusted:
        trust = "; ".join(
            f"{_where(a)}: stap-add-server-cert <its stap.cert> ~/.systemtap/ssl/client"
            + (f" (certificate SHA-256 {a.txt['certsha256']})" if "certsha256" in a.txt else "")
            for a in choice.untrusted
        )
        parts.append(f"not trusted: {trust}")
    if choice.incompatible:
        what = "; ".join(
            f"{_where(a)} builds for {a.sysinfo or 'an unknown target'} "
            f"({', '.join(a.runtimes) or 'no runtime'})"
            for a in choice.incompatible
        )
        parts.append(f"not compatible with {wanted}: {what}")
    return "no usable compile server on the local network: " + "; ".join(parts)


def addresses_of(advert: Advert, networks: list[LocalNetwork]) -> list[ServerAddress]:
    """Where to reach an advertised server: addresses on a shared network first."""
    return [ServerAddress(a, advert.port) for a in order_addresses(advert.addresses, networks)]


def matches_host(advert: Advert, host: str) -> bool:
    """Is ``advert`` the server named ``host`` (host name, its ``.local`` name, or one
    of its addresses)?"""
    name = host.rstrip(".").lower()
    own = advert.host.lower()
    if name in (own, own.removesuffix(".local")):
        return True
    label = re.sub(r" #[0-9]+$", "", advert.name).lower()
    if label.endswith(" on " + name.split(".", 1)[0]):
        return True
    return any(a.split("%", 1)[0] == name.split("%", 1)[0] for a in advert.addresses)


__all__ = ["Choice", "addresses_of", "choose", "explain", "matches_host"]

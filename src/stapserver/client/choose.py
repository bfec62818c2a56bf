"""Choosing among the servers advertised on the local network (pure logic).

The candidates are the compatible servers whose certificate the client trusts, for the
runtime the client prefers first (then the others it can use), newest version first,
then the most free build slots.  When none fits, one message says why:
none seen; seen but not trusted (with the command that would trust each); seen but not
compatible (with what they build for).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import NamedTuple

from ..discovery.adverts import Advert, LocalNetwork, Target, compatible, order_addresses, rank
from .address import ServerAddress


class Choice(NamedTuple):
    # each usable server with the runtime to ask it for: the preferred runtime's servers
    # first, each runtime's ranked
    candidates: list[tuple[Advert, str]] = []  # noqa: RUF012 - choose() makes its own
    untrusted: list[Advert] = []  # noqa: RUF012
    incompatible: list[Advert] = []  # noqa: RUF012


def choose(
    adverts: list[Advert], targets: Sequence[Target], trusted: Callable[[Advert], bool]
) -> Choice:
    """Sort the advertised servers for ``targets`` (what the client can use, preferred
    first): a server builds for the first target it is compatible with; one compatible
    with none is not even looked up in the trust databases."""
    choice = Choice([], [], [])
    usable: dict[str, list[Advert]] = {t.runtime: [] for t in targets}
    for a in adverts:
        fit = next((t for t in targets if compatible(a, t)), None)
        if fit is None:
            choice.incompatible.append(a)
        elif not trusted(a):
            choice.untrusted.append(a)
        else:
            usable[fit.runtime].append(a)
    ranked = [(a, t.runtime) for t in targets for a in rank(usable[t.runtime])]
    return choice._replace(candidates=ranked)


def _where(a: Advert) -> str:
    return f"{a.name} ({ServerAddress(a.addresses[0] if a.addresses else a.host, a.port)})"


def wanted(targets: Sequence[Target]) -> str:
    """``the kernel runtime on 6.1.0 x86_64 or the python runtime``."""
    return " or ".join(
        f"the {t.runtime} runtime" + ("" if t.runtime == "python" else f" on {t.release} {t.arch}")
        for t in targets
    )


def offers(a: Advert) -> str:
    """What an advertised server builds: ``6.1.0 x86_64 (kernel, bpf)``."""
    return f"{a.sysinfo or 'an unknown target'} ({', '.join(a.runtimes) or 'no runtime'})"


def explain(choice: Choice, targets: Sequence[Target]) -> str:
    """Why no advertised server can be used, in one message: what was asked, which
    servers were seen, what they offer or what would make them trusted."""
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
        what = "; ".join(f"{_where(a)} builds for {offers(a)}" for a in choice.incompatible)
        parts.append(f"not compatible with {wanted(targets)}: {what}")
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


__all__ = ["Choice", "addresses_of", "choose", "explain", "matches_host", "offers", "wanted"]

"""client.choose: choosing among advertised servers, and saying why none fits."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

import pytest

from stapserver.client.address import ServerAddress
from stapserver.client.choose import Choice, addresses_of, choose, explain, matches_host
from stapserver.discovery.adverts import Advert, LocalNetwork, Target

PREFIX = "Systemtap Compile Server on "
KERNEL = (Target("6.1.0", "x86_64", "kernel"),)
PYTHON = (Target("6.1.0", "x86_64", "python"),)
EITHER = (*KERNEL, *PYTHON)
NOTHING = (
    "no compile server found on the local network: start one with stap-start-server, "
    "or name one with --server=HOST:PORT"
)
ADD = "stap-add-server-cert <its stap.cert> ~/.systemtap/ssl/client"


def advert(
    host: str = "srv",
    *,
    label: str | None = None,
    port: int = 5000,
    addresses: tuple[str, ...] = ("192.0.2.1",),
    **txt: str,
) -> Advert:
    return Advert(label or PREFIX + host, f"{host}.local", port, addresses, dict(txt))


def trusting(*hosts: str) -> Callable[[Advert], bool]:
    return lambda a: a.host.removesuffix(".local") in hosts


# ---------------------------------------------------------------------- choose


def test_choose_partitions_and_ranks() -> None:
    old = advert("old", sysinfo="6.1.0 x86_64", runtimes="kernel", version="5.0", slots="9")
    new = advert("new", sysinfo="x86_64", runtimes="kernel", version="5.1", slots="1")
    busy = advert("busy", sysinfo="6.1.0 x86_64", version="5.1")  # SystemTap's, 0 slots
    stranger = advert("stranger", sysinfo="6.1.0 x86_64", runtimes="kernel", version="9")
    arm = advert("arm", sysinfo="6.1.0 aarch64", runtimes="kernel", version="9")
    pyonly = advert("pyonly", sysinfo="6.1.0 x86_64", runtimes="python", version="9")
    adverts = [old, stranger, arm, busy, new, pyonly]
    choice = choose(adverts, KERNEL, trusting("old", "new", "busy", "arm", "pyonly"))
    assert choice.candidates == [(new, "kernel"), (busy, "kernel"), (old, "kernel")]
    assert choice.untrusted == [stranger]
    assert choice.incompatible == [arm, pyonly]


def test_choose_incompatible_before_trust() -> None:
    asked: list[str] = []

    def trusted(a: Advert) -> bool:
        asked.append(a.host)
        return False

    arm = advert("arm", sysinfo="aarch64", runtimes="kernel")
    choice = choose([arm], KERNEL, trusted)
    assert choice == Choice([], [], [arm])
    assert asked == []  # an incompatible server is not even looked up


def test_choose_python_any_kernel() -> None:
    arm = advert("arm", sysinfo="5.14 aarch64", runtimes="kernel,python", version="5.1")
    stap = advert("stap", sysinfo="6.1.0 x86_64", version="5.1")
    choice = choose([stap, arm], PYTHON, trusting("arm", "stap"))
    assert choice == Choice([(arm, "python")], [], [stap])


def test_choose_nothing() -> None:
    assert choose([], KERNEL, trusting()) == Choice()


def test_choose_the_preferred_runtime_first_then_the_others() -> None:
    """A machine that runs both kernel and python modules: kernel builders first (each
    asked for the kernel runtime), then python-only servers; a server offering both is
    asked for the kernel one."""
    both = advert("both", sysinfo="6.1.0 x86_64", runtimes="kernel,bpf,python", slots="1")
    py = advert("py", sysinfo="5.14 aarch64", runtimes="python", slots="8", version="9")
    stap = advert("stap", sysinfo="6.1.0 x86_64", version="4.8")  # SystemTap's: kernel, bpf
    stranger = advert("stranger", sysinfo="4.0 s390x", runtimes="python")
    arm = advert("arm", sysinfo="6.1.0 aarch64", version="4.8")
    choice = choose([py, stranger, both, arm, stap], EITHER, trusting("both", "py", "stap"))
    assert choice.candidates == [(stap, "kernel"), (both, "kernel"), (py, "python")]
    assert choice.untrusted == [stranger]
    assert choice.incompatible == [arm]
    # a machine that runs python modules only never asks a SystemTap server
    choice = choose([py, both, stap], PYTHON, trusting("both", "py", "stap"))
    assert choice.candidates == [(py, "python"), (both, "python")]
    assert choice.incompatible == [stap]


# ---------------------------------------------------------------------- explain


def test_explain_nothing_seen() -> None:
    assert explain(Choice(), KERNEL) == NOTHING
    assert explain(Choice(), PYTHON) == NOTHING


def test_explain_untrusted() -> None:
    a = advert(
        "srv",
        addresses=("192.0.2.5", "192.0.2.6"),
        sysinfo="6.1.0 x86_64",
        runtimes="kernel",
        certsha256="ab" * 32,
    )
    assert explain(Choice(untrusted=[a]), KERNEL) == (
        "no usable compile server on the local network: not trusted: "
        f"{PREFIX}srv (192.0.2.5:5000): {ADD} (certificate SHA-256 {'ab' * 32})"
    )


def test_explain_untrusted_systemtap_server_ipv6_and_no_address() -> None:
    v6 = advert("six", port=4321, addresses=("fe80::1%eth0", "192.0.2.1"), version="5.1")
    bare = advert("bare", port=7, addresses=(), version="5.1")
    assert explain(Choice(untrusted=[v6, bare]), KERNEL) == (
        "no usable compile server on the local network: not trusted: "
        f"{PREFIX}six ([fe80::1%eth0]:4321): {ADD}; "
        f"{PREFIX}bare (bare.local:7): {ADD}"
    )


def test_explain_incompatible_kernel() -> None:
    arm = advert("arm", sysinfo="6.1.0 aarch64", version="5.1")
    py = advert("py", addresses=("2001:db8::5",), sysinfo="5.14 s390x", runtimes="python")
    odd = advert("odd", runtimes="")
    assert explain(Choice(incompatible=[arm, py, odd]), KERNEL) == (
        "no usable compile server on the local network: "
        "not compatible with the kernel runtime on 6.1.0 x86_64: "
        f"{PREFIX}arm (192.0.2.1:5000) builds for 6.1.0 aarch64 (kernel, bpf); "
        f"{PREFIX}py ([2001:db8::5]:5000) builds for 5.14 s390x (python); "
        f"{PREFIX}odd (192.0.2.1:5000) builds for an unknown target (no runtime)"
    )


def test_explain_incompatible_python() -> None:
    stap = advert("stap", sysinfo="6.1.0 x86_64", version="3.3")
    assert explain(Choice(incompatible=[stap]), PYTHON) == (
        "no usable compile server on the local network: "
        "not compatible with the python runtime: "
        f"{PREFIX}stap (192.0.2.1:5000) builds for 6.1.0 x86_64 (kernel)"
    )


def test_explain_bpf_names_its_kernel() -> None:
    stap = advert("stap", sysinfo="5.10 x86_64", version="4.0")
    message = explain(Choice(incompatible=[stap]), [Target("6.1.0", "x86_64", "bpf")])
    assert "not compatible with the bpf runtime on 6.1.0 x86_64: " in message


def test_explain_names_every_runtime_asked() -> None:
    arm = advert("arm", sysinfo="6.1.0 aarch64", version="4.8")
    assert explain(Choice(incompatible=[arm]), EITHER) == (
        "no usable compile server on the local network: not compatible with the kernel "
        "runtime on 6.1.0 x86_64 or the python runtime: "
        f"{PREFIX}arm (192.0.2.1:5000) builds for 6.1.0 aarch64 (kernel, bpf)"
    )


def test_explain_both() -> None:
    stranger = advert("stranger", sysinfo="6.1.0 x86_64", runtimes="kernel")
    arm = advert("arm", sysinfo="aarch64", runtimes="kernel,bpf")
    message = explain(Choice(untrusted=[stranger], incompatible=[arm]), KERNEL)
    assert message == (
        "no usable compile server on the local network: "
        f"not trusted: {PREFIX}stranger (192.0.2.1:5000): {ADD}; "
        "not compatible with the kernel runtime on 6.1.0 x86_64: "
        f"{PREFIX}arm (192.0.2.1:5000) builds for aarch64 (kernel, bpf)"
    )
    assert "\n" not in message


def test_explain_what_choose_found() -> None:
    stranger = advert("stranger", sysinfo="6.1.0 x86_64", runtimes="kernel")
    choice = choose([stranger], KERNEL, trusting())
    assert explain(choice, KERNEL) == (
        "no usable compile server on the local network: "
        f"not trusted: {PREFIX}stranger (192.0.2.1:5000): {ADD}"
    )


# ---------------------------------------------------------------------- addresses_of

LAN = LocalNetwork("eth0", ipaddress.IPv4Network("192.168.1.0/24"))


def test_addresses_of() -> None:
    a = advert(
        port=4000,
        addresses=("10.0.0.5", "junk", "fe80::1", "192.168.1.20", "fe80::2%eth0"),
    )
    assert addresses_of(a, [LAN]) == [
        ServerAddress("192.168.1.20", 4000),
        ServerAddress("fe80::2%eth0", 4000),
        ServerAddress("10.0.0.5", 4000),
        ServerAddress("fe80::1", 4000),
    ]
    assert [str(s) for s in addresses_of(a, [])] == [
        "[fe80::2%eth0]:4000",
        "10.0.0.5:4000",
        "[fe80::1]:4000",
        "192.168.1.20:4000",
    ]


def test_addresses_of_none() -> None:
    assert addresses_of(advert(addresses=()), [LAN]) == []


# ---------------------------------------------------------------------- matches_host

SRV = Advert(
    PREFIX + "build",
    "build.local",
    5000,
    ("192.168.1.20", "fe80::1%eth0", "2001:db8::7"),
)
SRV2 = Advert(PREFIX + "build #2", "build-2.local", 5000, ())


@pytest.mark.parametrize(
    ("advert_", "host"),
    [
        (SRV, "build"),
        (SRV, "build.local"),
        (SRV, "build.local."),
        (SRV, "BUILD"),
        (SRV, "Build.Local"),
        (SRV, "192.168.1.20"),
        (SRV, "fe80::1"),
        (SRV, "fe80::1%eth0"),
        (SRV, "fe80::1%eth1"),
        (SRV, "2001:db8::7"),
        (SRV2, "build"),  # its label without " #2"
        (SRV2, "BUILD.local"),
        (SRV2, "build-2"),
        (SRV2, "build-2.local"),
    ],
)
def test_matches_host(advert_: Advert, host: str) -> None:
    assert matches_host(advert_, host)


@pytest.mark.parametrize(
    ("advert_", "host"),
    [
        (SRV, "builder"),
        (SRV, "uild"),
        (SRV, "build-2"),
        (SRV, "other.local"),
        (SRV, "192.168.1.2"),
        (SRV, "192.168.1.200"),
        (SRV, "fe80::2%eth0"),
        (SRV, "2001:db8::"),
        (SRV, "5000"),
        (SRV2, "build-3"),
        (SRV2, "2"),
        (SRV2, "#2"),
    ],
)
def test_does_not_match_host(advert_: Advert, host: str) -> None:
    assert not matches_host(advert_, host)

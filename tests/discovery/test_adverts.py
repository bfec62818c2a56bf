"""discovery.adverts: what a server advertises, read back, matched and ranked."""

from __future__ import annotations

import ipaddress
import itertools
import shlex
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stapserver.discovery.adverts import (
    NAME_PREFIX,
    SERVICE_TYPE,
    Advert,
    LocalNetwork,
    Target,
    compatible,
    decode_txt,
    instance_label,
    listed_compatible,
    order_addresses,
    rank,
    service_txt,
    version_key,
)

PREFIX = "Systemtap Compile Server on "

# Host names as text; lone surrogates cannot be encoded, and no host name carries one.
host_names = st.text(st.characters(exclude_categories=["Cs"]), max_size=80)


def advert(
    name: str = PREFIX + "srv",
    *,
    host: str = "srv.local",
    port: int = 5000,
    addresses: tuple[str, ...] = ("192.0.2.1",),
    **txt: str,
) -> Advert:
    return Advert(name, host, port, addresses, dict(txt))


# ---------------------------------------------------------------------- instance_label


def test_constants() -> None:
    assert NAME_PREFIX == PREFIX
    assert SERVICE_TYPE == "_stap._tcp.local."


@pytest.mark.parametrize(
    ("host", "n", "label"),
    [
        ("srv", 1, PREFIX + "srv"),
        ("srv.example.org", 1, PREFIX + "srv"),
        ("srv.local", 1, PREFIX + "srv"),
        ("srv.example.org", 2, PREFIX + "srv #2"),
        ("srv", 17, PREFIX + "srv #17"),
        ("srv", 0, PREFIX + "srv"),
        ("a.b.c", 3, PREFIX + "a #3"),
    ],
)
def test_instance_label(host: str, n: int, label: str) -> None:
    assert instance_label(host, n) == label


def test_instance_label_default_is_first() -> None:
    assert instance_label("build.example.org") == PREFIX + "build"


def test_instance_label_cut_to_63_bytes() -> None:
    long = "h" * 100
    label = instance_label(long)
    assert label == PREFIX + "h" * (63 - len(PREFIX))
    assert len(label.encode()) == 63
    numbered = instance_label(long, 12)
    assert numbered == PREFIX + "h" * (63 - len(PREFIX) - 4) + " #12"
    assert len(numbered.encode()) == 63


def test_instance_label_never_cuts_a_character() -> None:
    # 28 bytes of prefix; "é" is 2 bytes: 17 fit in the 35 left, half of the 18th does not.
    label = instance_label("é" * 40)
    assert label == PREFIX + "é" * 17
    assert len(label.encode()) == 62
    # " #12" leaves 31 bytes: 15 of them.
    assert instance_label("é" * 40, 12) == PREFIX + "é" * 15 + " #12"
    # 4-byte characters: 35 // 4 = 8.
    assert instance_label("😀" * 20) == PREFIX + "😀" * 8


@given(host=host_names, n=st.integers(min_value=-3, max_value=10**6))
def test_instance_label_properties(host: str, n: int) -> None:
    label = instance_label(host, n)
    suffix = f" #{n}" if n >= 2 else ""
    assert len(label.encode("utf-8")) <= 63
    assert label.startswith(PREFIX)
    assert label.endswith(suffix)
    short = host.split(".", 1)[0]
    kept = label[len(PREFIX) : len(label) - len(suffix)]
    # whole characters of the short host name, as many as fit
    assert short.startswith(kept)
    if kept != short:
        assert len((PREFIX + short[: len(kept) + 1] + suffix).encode()) > 63


# ---------------------------------------------------------------------- TXT entries


def test_service_txt_systemtap_keys_only() -> None:
    txt = service_txt(release="6.1.0-13-amd64", arch="x86_64", version="5.1", certinfo="00:ab")
    assert txt == {
        "sysinfo": "6.1.0-13-amd64 x86_64",
        "optinfo": "",
        "version": "5.1",
        "certinfo": "00:ab",
    }
    assert list(txt) == ["sysinfo", "optinfo", "version", "certinfo"]


def test_service_txt_all_keys_in_order() -> None:
    txt = service_txt(
        release="6.1.0",
        arch="aarch64",
        version="5.1",
        certinfo="00:ab:cd",
        optinfo="--privilege",
        runtimes=iter(["kernel", "bpf", "python"]),
        certsha256="c" * 64,
        keysha256="k" * 64,
        slots=0,
    )
    assert list(txt.items()) == [
        ("sysinfo", "6.1.0 aarch64"),
        ("optinfo", "--privilege"),
        ("version", "5.1"),
        ("certinfo", "00:ab:cd"),
        ("runtimes", "kernel,bpf,python"),
        ("certsha256", "c" * 64),
        ("keysha256", "k" * 64),
        ("slots", "0"),  # zero free slots is still said
    ]


def test_service_txt_some_of_ours() -> None:
    txt = service_txt(
        release="r", arch="a", version="v", certinfo="c", runtimes=("python",), slots=3
    )
    assert list(txt) == ["sysinfo", "optinfo", "version", "certinfo", "runtimes", "slots"]
    assert txt["runtimes"] == "python" and txt["slots"] == "3"


def test_decode_txt_bytes() -> None:
    assert decode_txt(
        {b"sysinfo": b"6.1 x86_64", b"optinfo": None, b"bad": b"\xff!", b"runtimes": b""}
    ) == {"sysinfo": "6.1 x86_64", "optinfo": "", "bad": "\ufffd!", "runtimes": ""}


def test_decode_txt_str() -> None:
    assert decode_txt({"version": "5.1", "slots": "2"}) == {"version": "5.1", "slots": "2"}


def test_decode_txt_keeps_order() -> None:
    raw = {b"sysinfo": b"s", b"optinfo": b"o", b"version": b"v", b"certinfo": b"c"}
    assert list(decode_txt(raw)) == ["sysinfo", "optinfo", "version", "certinfo"]


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("5", (5,)),
        ("4.9", (4, 9)),
        ("4.10", (4, 10)),
        ("5.0.1", (5, 0, 1)),
        ("", ()),
        ("5.1-rc1", ()),
        ("5.", ()),
        (".5", ()),
        ("v5", ()),
        ("5..1", ()),
        ("5.1\n", ()),
    ],
)
def test_version_key(text: str, key: tuple[int, ...]) -> None:
    assert version_key(text) == key


def test_version_key_orders() -> None:
    assert version_key("4.10") > version_key("4.9")
    assert version_key("5.0.1") > version_key("5.0")
    assert version_key("junk") < version_key("0")


# ---------------------------------------------------------------------- Advert


def test_advert_properties() -> None:
    a = advert(sysinfo="6.1.0-13-amd64 x86_64", version="5.1", runtimes="kernel,python", slots="4")
    assert a.sysinfo == "6.1.0-13-amd64 x86_64"
    assert a.release == "6.1.0-13-amd64"
    assert a.arch == "x86_64"
    assert a.version == "5.1"
    assert a.runtimes == ("kernel", "python")
    assert a.slots == 4


def test_advert_arch_only_sysinfo() -> None:
    a = advert(sysinfo="x86_64")
    assert a.release == ""
    assert a.arch == "x86_64"


def test_advert_empty() -> None:
    a = advert()
    assert (a.sysinfo, a.release, a.arch, a.version, a.slots) == ("", "", "", "", 0)
    assert a.runtimes == ("kernel",)


@pytest.mark.parametrize(
    ("version", "runtimes"),
    [
        ("4.0", ("kernel", "bpf")),
        ("4", ("kernel", "bpf")),
        ("5.1", ("kernel", "bpf")),
        ("10.2", ("kernel", "bpf")),
        ("3.3", ("kernel",)),
        ("3.99", ("kernel",)),
        ("", ("kernel",)),
        ("junk", ("kernel",)),
    ],
)
def test_systemtap_server_runtimes(version: str, runtimes: tuple[str, ...]) -> None:
    a = advert(sysinfo="6.1 x86_64", version=version)
    assert a.runtimes == runtimes


def test_our_runtimes_are_what_we_say() -> None:
    assert advert(version="5.1", runtimes="python").runtimes == ("python",)
    assert advert(version="5.1", runtimes="kernel,,bpf,").runtimes == ("kernel", "bpf")
    empty = advert(version="5.1", runtimes="")
    assert empty.runtimes == ()


@pytest.mark.parametrize(
    ("text", "slots"),
    [("0", 0), ("3", 3), ("12", 12), ("-2", 0), ("", 0), ("many", 0), ("2.5", 0), ("0x3", 0)],
)
def test_slots(text: str, slots: int) -> None:
    assert advert(slots=text).slots == slots


# ---------------------------------------------------------------------- line


def test_line_systemtap_order_then_ours() -> None:
    a = advert(
        addresses=("192.0.2.5", "fe80::1%eth0"),
        slots="2",
        runtimes="kernel,python",
        certinfo="00:ab",
        version="5.1",
        sysinfo="6.1.0 x86_64",
        optinfo="",
        certsha256="ff",
    )
    assert a.line() == (
        "Systemtap Compile Server on srv 192.0.2.5 5000 'sysinfo=6.1.0 x86_64' 'optinfo='"
        " 'version=5.1' 'certinfo=00:ab' 'slots=2' 'runtimes=kernel,python' 'certsha256=ff'"
    )
    assert a.line("fe80::1%eth0").startswith(
        "Systemtap Compile Server on srv fe80::1%eth0 5000 'sysinfo="
    )


def test_line_missing_entries_left_out() -> None:
    a = advert(version="4.2", sysinfo="x86_64")
    assert a.line() == (
        "Systemtap Compile Server on srv 192.0.2.1 5000 'sysinfo=x86_64' 'version=4.2'"
    )


def test_line_without_txt() -> None:
    assert advert().line() == "Systemtap Compile Server on srv 192.0.2.1 5000"


def test_line_quotes_like_a_shell() -> None:
    a = advert(sysinfo="6.1 x86_64", optinfo="it's 'odd'", version="5.1", certinfo="c")
    line = a.line()
    assert "'optinfo=it'\\''s '\\''odd'\\'''" in line
    words = shlex.split(line)
    assert words[-4:] == ["sysinfo=6.1 x86_64", "optinfo=it's 'odd'", "version=5.1", "certinfo=c"]


# ---------------------------------------------------------------------- compatibility

KERNEL = Target("6.1.0", "x86_64", "kernel")
BPF = Target("6.1.0", "x86_64", "bpf")
PYTHON = Target("6.1.0", "x86_64", "python")


@pytest.mark.parametrize(
    ("txt", "target", "ok"),
    [
        # python: any kernel, any arch, but the runtime must be offered
        ({"sysinfo": "5.14 aarch64", "runtimes": "python"}, PYTHON, True),
        ({"sysinfo": "6.1.0 x86_64", "runtimes": "kernel,bpf"}, PYTHON, False),
        ({"sysinfo": "6.1.0 x86_64", "version": "5.1"}, PYTHON, False),  # SystemTap's
        # kernel: exact release and arch, or the arch alone
        ({"sysinfo": "6.1.0 x86_64", "runtimes": "kernel"}, KERNEL, True),
        ({"sysinfo": "x86_64", "runtimes": "kernel"}, KERNEL, True),
        ({"sysinfo": "6.1.1 x86_64", "runtimes": "kernel"}, KERNEL, False),
        ({"sysinfo": "6.1.0 aarch64", "runtimes": "kernel"}, KERNEL, False),
        ({"sysinfo": "aarch64", "runtimes": "kernel"}, KERNEL, False),
        ({"sysinfo": "", "runtimes": "kernel"}, KERNEL, False),
        ({"sysinfo": "6.1.0 x86_64", "runtimes": "python"}, KERNEL, False),
        ({"sysinfo": "6.1.0 x86_64", "runtimes": "python,kernel"}, KERNEL, True),
        ({"sysinfo": "6.1.0 x86_64", "version": "3.3"}, KERNEL, True),  # SystemTap's
        # bpf: as kernel; SystemTap servers offer it from 4.0
        ({"sysinfo": "6.1.0 x86_64", "runtimes": "kernel,bpf"}, BPF, True),
        ({"sysinfo": "6.1.0 x86_64", "runtimes": "kernel"}, BPF, False),
        ({"sysinfo": "6.1.0 x86_64", "version": "4.0"}, BPF, True),
        ({"sysinfo": "6.1.0 x86_64", "version": "3.3"}, BPF, False),
        ({"sysinfo": "5.10 x86_64", "version": "4.0"}, BPF, False),
    ],
)
def test_compatible(txt: dict[str, str], target: Target, ok: bool) -> None:
    assert compatible(Advert(PREFIX + "srv", "srv.local", 5000, (), txt), target) is ok


def test_listed_compatible() -> None:
    # this machine's kernel, even without the runtime it would use
    same_kernel = advert(sysinfo="6.1.0 x86_64", runtimes="python")
    assert not compatible(same_kernel, KERNEL)
    assert listed_compatible(same_kernel, "6.1.0", "x86_64", ["kernel"])
    # or the runtime it would use
    python = advert(sysinfo="5.14 aarch64", runtimes="python")
    assert listed_compatible(python, "6.1.0", "x86_64", ["python"])
    assert not listed_compatible(python, "6.1.0", "x86_64", ["kernel"])
    arch_only = advert(sysinfo="x86_64", runtimes="kernel")
    assert listed_compatible(arch_only, "6.1.0", "x86_64", ["kernel"])
    assert not listed_compatible(arch_only, "6.1.0", "x86_64", ["python"])
    other = advert(sysinfo="6.1.0 aarch64", runtimes="kernel")
    assert not listed_compatible(other, "6.1.0", "x86_64", ["kernel"])
    # a machine that runs kernel and python modules lists either kind of server
    assert listed_compatible(python, "6.1.0", "x86_64", ["kernel", "python"])
    assert listed_compatible(arch_only, "6.1.0", "x86_64", ["kernel", "python"])
    assert not listed_compatible(other, "6.1.0", "x86_64", ["kernel", "python"])


# ---------------------------------------------------------------------- rank


def named(name: str, version: str, slots: str | None = None) -> Advert:
    txt = {"version": version} if slots is None else {"version": version, "slots": slots}
    return Advert(name, "srv.local", 5000, (), txt)


def names(adverts: list[Advert]) -> list[str]:
    return [a.name for a in adverts]


def test_rank_newest_version_first() -> None:
    ranked = rank([named("a", "4.9"), named("b", "4.10"), named("c", "5.0"), named("d", "5.0.1")])
    assert names(ranked) == ["d", "c", "b", "a"]


def test_rank_malformed_or_missing_version_last() -> None:
    ranked = rank([named("bad", "5.x", "9"), named("none", "", "9"), named("old", "3.0")])
    assert names(ranked) == ["old", "bad", "none"]


def test_rank_then_most_slots_then_as_seen() -> None:
    ranked = rank(
        [
            named("a", "5.1", "1"),
            named("b", "5.1", "3"),
            named("c", "5.1"),
            named("d", "5.1", "3"),
            named("e", "5.0", "8"),
            named("f", "5.1", "1"),
        ]
    )
    assert names(ranked) == ["b", "d", "a", "f", "c", "e"]


def test_rank_accepts_an_iterator() -> None:
    assert names(rank(iter([named("a", "1"), named("b", "2")]))) == ["b", "a"]


VERSIONS = ["", "junk", "3.3", "4", "4.0", "4.9", "4.10", "5.0", "5.0.1", "5.1", "10"]


@given(st.lists(st.tuples(st.sampled_from(VERSIONS), st.integers(min_value=-1, max_value=4))))
def test_rank_is_a_stable_ordering(specs: list[tuple[str, int]]) -> None:
    adverts = [named(str(i), v, str(s)) for i, (v, s) in enumerate(specs)]
    ranked = rank(adverts)
    assert sorted(names(ranked), key=int) == names(adverts)  # a permutation
    for x, y in itertools.pairwise(ranked):
        kx, ky = version_key(x.version), version_key(y.version)
        assert kx >= ky
        if kx == ky:
            assert x.slots >= y.slots
            if x.slots == y.slots:
                assert int(x.name) < int(y.name)


# ---------------------------------------------------------------------- order_addresses

LAN4 = LocalNetwork("eth0", ipaddress.IPv4Network("192.168.1.0/24"))
LAN6 = LocalNetwork("eth0", ipaddress.IPv6Network("2001:db8:1::/64"))


def test_order_shared_network_first() -> None:
    given_order = ["10.0.0.5", "192.168.1.20", "2001:db8:2::5", "2001:db8:1::5", "192.168.1.3"]
    assert order_addresses(given_order, [LAN4, LAN6]) == [
        "192.168.1.20",
        "2001:db8:1::5",
        "192.168.1.3",
        "10.0.0.5",
        "2001:db8:2::5",
    ]


def test_order_link_local_ipv6() -> None:
    addresses = ["10.0.0.5", "fe80::1", "fe80::2%eth0", "192.168.1.9", "fe80::3%2"]
    assert order_addresses(addresses, [LAN4]) == [
        "fe80::2%eth0",
        "192.168.1.9",
        "fe80::3%2",
        "10.0.0.5",
        "fe80::1",
    ]
    # a scoped link-local address is shared even when no network is known
    assert order_addresses(["fe80::1", "192.0.2.1", "fe80::2%eth0"], []) == [
        "fe80::2%eth0",
        "fe80::1",
        "192.0.2.1",
    ]


def test_order_drops_unparsable() -> None:
    assert order_addresses(
        ["srv.local", "192.168.1.300", "", "192.168.1.4", "fe80::zz%eth0", "::1"], [LAN4]
    ) == ["192.168.1.4", "::1"]


def test_order_networks_match_their_own_version_only() -> None:
    mapped = LocalNetwork("eth0", ipaddress.IPv6Network("::ffff:0:0/96"))
    assert order_addresses(["2001:db8::1", "192.0.2.1"], [mapped]) == [
        "2001:db8::1",
        "192.0.2.1",
    ]
    assert order_addresses(["::ffff:192.0.2.1", "10.1.1.1"], [mapped]) == [
        "::ffff:192.0.2.1",
        "10.1.1.1",
    ]
    wide4 = LocalNetwork("eth1", ipaddress.IPv4Network("0.0.0.0/0"))
    assert order_addresses(["2001:db8::1", "192.0.2.1"], [wide4]) == [
        "192.0.2.1",
        "2001:db8::1",
    ]


def test_order_keeps_duplicates_and_accepts_iterators() -> None:
    result = order_addresses(iter(["10.0.0.1", "192.168.1.1", "10.0.0.1"]), iter([LAN4]))
    assert result == ["192.168.1.1", "10.0.0.1", "10.0.0.1"]


def parsable(text: str) -> bool:
    try:
        ipaddress.ip_address(text.partition("%")[0])
    except ValueError:
        return False
    return True


def is_subsequence(part: list[str], whole: list[str]) -> bool:
    it = iter(whole)
    return all(any(x == y for y in it) for x in part)


addresses = st.one_of(
    st.ip_addresses(v=4).map(str),
    st.ip_addresses(v=6).map(str),
    st.sampled_from(["192.168.1.7", "2001:db8:1::7", "fe80::7", "fe80::7%eth0", "fe80::8%3"]),
    st.sampled_from(["srv.local", "", "1.2.3", "fe80::g", "%eth0", "192.168.1.256"]),
)


@given(st.lists(addresses, max_size=20))
def test_order_is_a_permutation_of_the_parsable(given_addresses: list[str]) -> None:
    result = order_addresses(given_addresses, [LAN4, LAN6])
    assert Counter(result) == Counter(a for a in given_addresses if parsable(a))

    def shared(text: str) -> bool:
        bare, _, scope = text.partition("%")
        ip = ipaddress.ip_address(bare)
        if ip.version == 6 and ip.is_link_local:
            return bool(scope)
        return any(ip in n.network for n in (LAN4, LAN6) if n.network.version == ip.version)

    flags = [shared(a) for a in result]
    assert flags == sorted(flags, reverse=True)  # all shared ones first
    k = flags.count(True)
    assert is_subsequence(result[:k], given_addresses)
    assert is_subsequence(result[k:], given_addresses)

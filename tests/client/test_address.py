"""client.address: the forms of ``--server``."""

from __future__ import annotations

import pytest

from stapserver.client.address import ServerAddress, parse_server
from stapserver.errors import UsageError


@pytest.mark.parametrize(
    ("spec", "host", "port"),
    [
        ("localhost", "localhost", None),
        ("build.example.org", "build.example.org", None),
        ("build.example.org.", "build.example.org.", None),
        ("a-b.c-d", "a-b.c-d", None),
        ("host7", "host7", None),
        ("localhost:5000", "localhost", 5000),
        ("build.example.org:1", "build.example.org", 1),
        ("h:65535", "h", 65535),
        ("192.168.1.10", "192.168.1.10", None),
        ("192.168.1.10:8080", "192.168.1.10", 8080),
        ("127.0.0.1:80", "127.0.0.1", 80),
        ("::1", "::1", None),
        ("fe80::1", "fe80::1", None),
        ("2001:db8::42", "2001:db8::42", None),
        ("::ffff:192.0.2.1", "::ffff:192.0.2.1", None),
        ("[::1]", "::1", None),
        ("[::1]:5000", "::1", 5000),
        ("[2001:db8::42]:443", "2001:db8::42", 443),
        ("[fe80::1%eth0]:5000", "fe80::1%eth0", 5000),
        ("[fe80::1%enp0s31f6]:1", "fe80::1%enp0s31f6", 1),
        ("[fe80::1%2]", "fe80::1%2", None),
    ],
)
def test_forms(spec: str, host: str, port: int | None) -> None:
    assert parse_server(spec) == ServerAddress(host, port)


def test_bare_ipv6_never_has_a_port() -> None:
    # without brackets the last group is part of the address, as SystemTap reads it
    assert parse_server("::1:80") == ServerAddress("::1:80", None)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "--server needs a value: HOST, HOST:PORT, IP, IP:PORT or [IPv6]:PORT"),
        ("host:0", "invalid port in --server=host:0: use 1 to 65535"),
        ("host:65536", "invalid port in --server=host:65536: use 1 to 65535"),
        ("host:abc", "invalid port in --server=host:abc: use 1 to 65535"),
        ("host:", "--server=host: has no port after ':'"),
        ("127.0.0.1:", "--server=127.0.0.1: has no port after ':'"),
        ("host:-1", "invalid port in --server=host:-1: use 1 to 65535"),
        ("host:+80", "invalid port in --server=host:+80: use 1 to 65535"),
        ("host: 80", "invalid port in --server=host: 80: use 1 to 65535"),
        ("1.2.3.4:99999", "invalid port in --server=1.2.3.4:99999: use 1 to 65535"),
        ("[::1]:0", "invalid port in --server=[::1]:0: use 1 to 65535"),
        ("[::1]:", "--server=[::1]: has no port after ':'"),
        ("[::1]:x", "invalid port in --server=[::1]:x: use 1 to 65535"),
        ("[::1", "invalid --server=[::1: missing ']'"),
        ("[::1:80", "invalid --server=[::1:80: missing ']'"),
        ("[::1]80", "invalid --server=[::1]80: expected ':PORT' after ']'"),
        ("[::1]x:80", "invalid --server=[::1]x:80: expected ':PORT' after ']'"),
        ("bad_host", "invalid host name in --server=bad_host"),
        ("-host", "invalid host name in --server=-host"),
        ("host-", "invalid host name in --server=host-"),
        ("a..b", "invalid host name in --server=a..b"),
        (".host", "invalid host name in --server=.host"),
        ("ho st", "invalid host name in --server=ho st"),
        ("host;id", "invalid host name in --server=host;id"),
        ("$(id)", "invalid host name in --server=$(id)"),
        (":80", "invalid host name in --server=:80"),
        ("a" * 64, f"invalid host name in --server={'a' * 64}"),
        ("[]:80", "invalid IPv6 address in --server=[]:80"),
        ("[1.2.3.4]:80", "invalid IPv6 address in --server=[1.2.3.4]:80"),
        ("[host]:80", "invalid IPv6 address in --server=[host]:80"),
        ("[::g]:80", "invalid IPv6 address in --server=[::g]:80"),
        ("1:2:3:4:5:6:7:8:9", "invalid IPv6 address in --server=1:2:3:4:5:6:7:8:9"),
        ("1.2.3.4:80:90", "invalid IPv6 address in --server=1.2.3.4:80:90"),
        (
            "[fe80::1]:4000",
            "--server=[fe80::1]:4000: a link-local address needs its interface, "
            "as in --server=[fe80::1%eth0]:4000",
        ),
        (
            "[FE80::ab:1]:80",
            "--server=[FE80::ab:1]:80: a link-local address needs its interface, "
            "as in --server=[FE80::ab:1%eth0]:80",
        ),
        ("[fe80::1%eth 0]:80", "invalid interface name in --server=[fe80::1%eth 0]:80"),
        ("[fe80::1%a/b]:80", "invalid interface name in --server=[fe80::1%a/b]:80"),
        (
            "[fe80::1%averylonginterface]:80",
            "invalid interface name in --server=[fe80::1%averylonginterface]:80",
        ),
    ],
)
def test_malformed(spec: str, message: str) -> None:
    with pytest.raises(UsageError) as err:
        parse_server(spec)
    assert str(err.value) == message


def test_long_host_name_limits() -> None:
    label = "a" * 63
    assert parse_server(label).host == label
    name = ".".join([label] * 3 + ["a" * 61])  # 253 characters
    assert len(name) == 253
    assert parse_server(name).host == name
    with pytest.raises(UsageError, match="invalid host name"):
        parse_server(name + "a")


def test_empty_interface_name_refused() -> None:
    with pytest.raises(UsageError, match="invalid interface name"):
        parse_server("[fe80::1%]:80")


def test_superscript_digit_port_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="invalid port"):
        parse_server("host:\u00b2")


def test_non_ascii_digit_port_refused() -> None:
    with pytest.raises(UsageError, match="invalid port"):
        parse_server("host:\u0661\u0662")


@pytest.mark.parametrize("spec", ["example.com\n", "example.com\n:80", "[fe80::1%eth0\n]:80"])
def test_trailing_newline_refused(spec: str) -> None:
    with pytest.raises(UsageError):
        parse_server(spec)


# ---------------------------------------------------------------------- str()


@pytest.mark.parametrize(
    "spec",
    [
        "localhost",
        "localhost:5000",
        "192.168.1.10",
        "192.168.1.10:8080",
        "[::1]",
        "[::1]:5000",
        "[fe80::1%eth0]:5000",
        "[2001:db8::42]:443",
    ],
)
def test_str_round_trip(spec: str) -> None:
    address = parse_server(spec)
    assert str(address) == spec
    assert parse_server(str(address)) == address


def test_str_of_bare_ipv6_uses_brackets() -> None:
    address = parse_server("fe80::1")
    assert str(address) == "[fe80::1]"
    assert parse_server(str(address)) == address


@pytest.mark.parametrize(
    ("spec", "is_ip"),
    [
        ("localhost", False),
        ("build.example.org:80", False),
        ("10.0.0.1", True),
        ("10.0.0.1:80", True),
        ("::1", True),
        ("[fe80::1%eth0]:80", True),
    ],
)
def test_is_ip(spec: str, is_ip: bool) -> None:
    assert parse_server(spec).is_ip is is_ip

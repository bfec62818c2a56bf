"""Discovery on a real local network of namespaces: servers advertise, stap-find-servers
lists, stap-find-or-start-server finds or starts, stap-client chooses (issue 4)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time

from stapserver.trust import certs

from .netns import Host, HostServer, Lan

HELLO = 'probe begin { printf("Hello World!\\n"); exit() }'


def cert_sha256(host: Host) -> str:
    cert = certs.load_certificate(host.cert().read_bytes())
    return hashlib.sha256(certs.der(cert)).hexdigest()


def served_requests(server: HostServer) -> int:
    return sum(1 for line in server.log.read_text().splitlines() if " rc=" in line)


def find(host: Host, *args: str) -> tuple[int, list[str]]:
    r = host.run("stap-find-servers", *args)
    assert not r.stderr, r.stderr.decode()
    return r.returncode, r.stdout.decode().splitlines()


def start(host: Host, *args: str) -> HostServer:
    """A python-runtime server (SystemTap, where installed, would add its own targets:
    tests/e2e/test_systemtap_interop.py covers those)."""
    server = host.start_server("--no-stap", *args)
    server.wait_advertised()
    return server


# ---------------------------------------------------------------------- listing


def test_find_servers_lists_a_server_on_another_host(lan: Lan) -> None:
    a, b = lan.add_host("stap-a"), lan.add_host("stap-b")
    server = start(a)
    rc, lines = find(b)
    assert rc == 0, lines
    assert len(lines) == 1, lines
    line = lines[0]
    release, arch = os.uname().release, os.uname().machine
    assert line.startswith(
        f"Systemtap Compile Server on stap-a {a.address} {server.port} "
        f"'sysinfo={release} {arch}' 'optinfo=' 'version=4.8' 'certinfo="
    ), line
    assert "'runtimes=python'" in line
    assert f"'certsha256={cert_sha256(a)}'" in line
    assert "'slots=" in line
    assert not line.endswith("(trusted)")
    b.trust(a)
    rc, lines = find(b)
    assert rc == 0 and lines[0].endswith(" (trusted)"), lines


def test_find_servers_with_none_on_the_network(lan: Lan) -> None:
    b = lan.add_host("stap-b")
    t0 = time.monotonic()
    rc, lines = find(b)
    took = time.monotonic() - t0
    assert (rc, lines) == (1, [])
    # it stops when the answers stop, not after a long fixed wait
    assert took < 5, took


def test_compatibility_filter_and_all(lan: Lan) -> None:
    a, b = lan.add_host("stap-a"), lan.add_host("stap-b")
    start(a)
    # a client machine with staprun uses the kernel runtime; our python-only server
    # still builds for this machine's kernel release and arch, so it is listed
    staprun = b.env.root / "staprun"
    staprun.write_text("#!/bin/sh\nexit 0\n")
    staprun.chmod(0o755)
    r = b.run("stap-find-servers", extra_env={"SYSTEMTAP_STAPRUN": str(staprun)})
    assert r.returncode == 0 and r.stdout, r.stderr
    assert b.run("stap-find-servers", "--all").returncode == 0


def test_withdrawn_on_shutdown(lan: Lan) -> None:
    a, b = lan.add_host("stap-a"), lan.add_host("stap-b")
    server = start(a)
    assert find(b, "--all")[0] == 0
    server.stop()
    assert not server.alive()
    rc, lines = find(b, "--all")
    assert (rc, lines) == (1, [])


def test_no_advertise(lan: Lan) -> None:
    a, b = lan.add_host("stap-a"), lan.add_host("stap-b")
    server = a.start_server("--no-stap", "--no-advertise")
    time.sleep(1.5)  # what an advertisement would take to be probed and announced
    assert "advertised " not in server.log.read_text()
    assert find(b, "--all") == (1, [])
    # it still serves whoever names it
    b.trust(a)
    r = b.run("stap-client", f"--server={a.address}:{server.port}", "-e", HELLO)
    assert (r.returncode, r.stdout) == (0, b"Hello World!\n"), r.stderr.decode()


def test_find_or_start_server(lan: Lan) -> None:
    d = lan.add_host("stap-d")
    r = d.run("stap-find-or-start-server", "--no-stap", "--key-bits", "2048")
    assert r.returncode == 0, r.stderr.decode()
    pid = int(r.stdout.decode())
    assert pid > 0
    # stopped by the fixture, whatever happens below
    lan.servers.append(HostServer(d, pid, 0, d.env.root / "unused.log"))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        again = d.run("stap-find-or-start-server", "--no-stap", "--key-bits", "2048")
        if again.stdout.decode().strip() == "0":
            break
        if again.returncode == 0:  # it started another one: stop that too
            lan.servers.append(HostServer(d, int(again.stdout), 0, d.env.root / "unused.log"))
        time.sleep(0.5)
    assert again.returncode == 0 and again.stdout.decode().strip() == "0"


def test_find_or_start_server_failing_prints_minus_one(lan: Lan) -> None:
    d = lan.add_host("stap-d")
    # an address this host does not have: the server cannot listen
    r = d.run("stap-find-or-start-server", "--address", "198.18.0.250", "--key-bits", "2048")
    if r.returncode == 0:  # stop what should not have started
        lan.servers.append(HostServer(d, int(r.stdout), 0, d.env.root / "unused.log"))
    assert r.returncode == 1
    assert r.stdout.decode().strip() == "-1"
    assert r.stderr


# ---------------------------------------------------------------------- stap-client


def test_client_uses_a_discovered_trusted_server(lan: Lan) -> None:
    a, b = lan.add_host("stap-a"), lan.add_host("stap-b")
    server = start(a)
    b.trust(a)
    r = b.run("stap-client", "-e", HELLO)
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout == b"Hello World!\n"
    # a server named without a port is looked up among the advertised ones
    r = b.run("stap-client", "--server=stap-a", "-e", HELLO)
    assert (r.returncode, r.stdout) == (0, b"Hello World!\n"), r.stderr.decode()
    r = b.run("stap-client", f"--server={a.address}", "-e", HELLO)
    assert (r.returncode, r.stdout) == (0, b"Hello World!\n"), r.stderr.decode()
    assert served_requests(server) >= 2
    r = b.run("stap-client", "--server=stap-nowhere", "-e", HELLO)
    assert r.returncode == 1
    assert r.stderr.decode() == (
        "server stap-nowhere: not advertised on the local network; give its port "
        "(--server=stap-nowhere:PORT)\n"
    )


def test_client_explains_an_untrusted_server(lan: Lan) -> None:
    a, b = lan.add_host("stap-a"), lan.add_host("stap-b")
    server = start(a)
    r = b.run("stap-client", "-e", HELLO)
    assert r.returncode == 1 and not r.stdout
    message = r.stderr.decode()
    assert message.count("\n") == 1, message
    assert "not trusted: Systemtap Compile Server on stap-a" in message
    assert f"({a.address}:{server.port})" in message
    assert "stap-add-server-cert <its stap.cert> ~/.systemtap/ssl/client" in message
    assert cert_sha256(a) in message
    assert served_requests(server) == 0


def test_client_explains_an_incompatible_server(lan: Lan) -> None:
    a, b = lan.add_host("stap-a"), lan.add_host("stap-b")
    start(a)
    b.trust(a)
    r = b.run("stap-client", "--runtime=kernel", "-r", "9.9.9-test", "-p2", "-e", HELLO)
    assert r.returncode == 1
    message = r.stderr.decode()
    assert message.startswith(
        "no usable compile server on the local network: not compatible with the kernel "
        f"runtime on 9.9.9-test {os.uname().machine}: Systemtap Compile Server on stap-a"
    ), message
    assert "(python)" in message


def test_client_with_no_server_on_the_network(lan: Lan) -> None:
    b = lan.add_host("stap-b")
    r = b.run("stap-client", "-e", HELLO)
    assert r.returncode == 1
    assert r.stderr.decode() == (
        "no compile server found on the local network: start one with stap-start-server, "
        "or name one with --server=HOST:PORT\n"
    )


def test_client_prefers_free_slots_and_moves_on_when_a_server_goes(lan: Lan) -> None:
    a, b, c = lan.add_host("stap-a"), lan.add_host("stap-b"), lan.add_host("stap-c")
    small = start(a, "--max-threads", "1")
    big = start(c, "--max-threads", "4")
    b.trust(a)
    b.trust(c)
    r = b.run("stap-client", "-e", HELLO)
    assert (r.returncode, r.stdout) == (0, b"Hello World!\n"), r.stderr.decode()
    assert (served_requests(big), served_requests(small)) == (1, 0)
    big.stop()
    r = b.run("stap-client", "-e", HELLO)
    assert (r.returncode, r.stdout) == (0, b"Hello World!\n"), r.stderr.decode()
    assert served_requests(small) == 1


FAKE = """
import sys, time, ipaddress
from zeroconf import Zeroconf, ServiceInfo
from stapserver.discovery.adverts import SERVICE_TYPE, service_txt
port, certsha, *addrs = sys.argv[1:]
txt = service_txt(release="1", arch="x", version="9.9", certinfo="00", runtimes=["python"],
                  certsha256=certsha, slots=9)
info = ServiceInfo(SERVICE_TYPE, "Systemtap Compile Server on liar." + SERVICE_TYPE,
                   port=int(port), properties=txt, server="liar.local.",
                   addresses=[ipaddress.ip_address(a).packed for a in addrs])
zc = Zeroconf()
zc.register_service(info)
print("ready", flush=True)
time.sleep(600)
"""


def fake_advert(host: Host, port: int, certsha: str, *addresses: str) -> subprocess.Popen[bytes]:
    """An advertisement for a server that is not there (the newest version, with the
    most slots, claiming a trusted certificate): clients must try it and move on."""
    proc = subprocess.Popen(
        host.argv(sys.executable, "-c", FAKE, str(port), certsha, *addresses),
        stdout=subprocess.PIPE,
        env=host.env.env,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == b"ready\n"
    return proc


def test_client_tries_shared_addresses_first_and_says_which_failed(lan: Lan) -> None:
    a, b, c = lan.add_host("stap-a"), lan.add_host("stap-b"), lan.add_host("stap-c")
    certsha = cert_sha256_of_new_identity(a)
    b.trust(a)
    # 198.19.255.1 is on no network b shares (nor routed: refused at once); c's address
    # is, but nothing listens
    fake = fake_advert(c, 9, certsha, "198.19.255.1", c.address)
    try:
        r = b.run("stap-client", "-e", HELLO)
        assert r.returncode == 1
        message = r.stderr.decode()
        assert message.startswith("server Systemtap Compile Server on liar: "), message
        first, second = message.index(f"{c.address}:9"), message.index("198.19.255.1:9")
        assert first < second, message
        # with a real server beside it, the client moves on to that one
        start(a)
        r = b.run("stap-client", "-e", HELLO)
        assert (r.returncode, r.stdout) == (0, b"Hello World!\n"), r.stderr.decode()
    finally:
        fake.terminate()
        fake.wait(10)


def cert_sha256_of_new_identity(host: Host) -> str:
    """The SHA-256 of the certificate ``host``'s server will use (made now)."""
    from stapserver.trust import database

    identity, _ = database.load_or_create_server_identity(host.env.server_db(), key_bits=2048)
    return hashlib.sha256(certs.der(identity.cert)).hexdigest()


def test_ipv6_link_local_server_address(lan: Lan) -> None:
    a, b = lan.add_host("stap-a"), lan.add_host("stap-b")
    link_local = lan.link_local(a)
    server = start(a)
    b.trust(a)
    r = b.run("stap-client", f"--server=[{link_local}%{b.iface}]:{server.port}", "-e", HELLO)
    assert (r.returncode, r.stdout) == (0, b"Hello World!\n"), r.stderr.decode()


def test_server_follows_address_changes(lan: Lan) -> None:
    a, b = lan.add_host("stap-a"), lan.add_host("stap-b")
    server = start(a)
    b.trust(a)
    # both hosts move to another network; the old address goes away
    subprocess.run(["ip", "-n", b.ns, "addr", "add", "198.19.0.2/24", "dev", b.iface], check=True)
    subprocess.run(["ip", "-n", a.ns, "addr", "add", "198.19.0.1/24", "dev", a.iface], check=True)
    subprocess.run(["ip", "-n", a.ns, "addr", "del", f"{a.address}/24", "dev", a.iface], check=True)
    subprocess.run(["ip", "-n", b.ns, "addr", "del", f"{b.address}/24", "dev", b.iface], check=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # until it advertises the new address alone
        adverts = [ln for ln in server.log.read_text().splitlines() if " advertised " in ln]
        if "198.19.0.1" in adverts[-1] and a.address not in adverts[-1]:
            break
        time.sleep(0.2)
    deadline = time.monotonic() + 20
    lines: list[str] = []
    while time.monotonic() < deadline:
        rc, lines = find(b)
        if rc == 0 and " 198.19.0.1 " in lines[0]:
            break
        time.sleep(0.5)
    assert lines and " 198.19.0.1 " in lines[0], (lines, server.log.read_text())
    r = b.run("stap-client", "-e", HELLO)
    assert (r.returncode, r.stdout) == (0, b"Hello World!\n"), r.stderr.decode()

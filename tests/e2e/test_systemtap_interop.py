"""Real SystemTap beside our server (issue 5): the stap backend, SystemTap's client
against our server, our client against SystemTap's server, one set of trusted
certificates for both, and each side's advertisements seen by the other.

Needs Debian's systemtap, systemtap-server, systemtap-client, libnss3-tools,
linux-headers-amd64 (and avahi-daemon, dbus for the advertisement tests), and root for
the namespaces: CI installs them all and sets STAPSERVER_REQUIRE_STAP, so nothing here
is skipped there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import Env, Server, start_server
from .netns import Lan, netns_available
from .systemtap import (
    compiler_errors,
    headers_release,
    runtime_fix,
    shared_dir,
    stap,
    start_avahi,
    start_their_server,
    systemtap_missing,
    without_noise,
)

HELLO = 'probe begin { printf("Hello World!\\n"); exit() }'
SCRIPTS = [
    HELLO,
    "global n, a function f(x) { return x * 2 } "
    'probe begin { a[1] = f(21); n++ } probe end { printf("%d %d\\n", a[1], n) }',
    "probe begin { printf(1 }",  # a parse error
    'probe begin { x = 1; x = "s" }',  # a semantic error
    'probe timer.s(1), kernel.function("vfs_read")? { exit() }',
]


@pytest.fixture(scope="module")
def release() -> str:
    why = systemtap_missing()
    if why:
        if os.environ.get("STAPSERVER_REQUIRE_STAP"):
            pytest.fail(f"real SystemTap is required here: {why}")
        pytest.skip(why)
    found = headers_release()
    assert found is not None
    return found


@pytest.fixture(scope="module")
def fixed_runtime(release: str) -> Iterator[Path]:
    base = shared_dir("stap-runtime-fix-")
    yield runtime_fix(base)
    subprocess.run(["rm", "-rf", str(base)], check=False)


@pytest.fixture
def lan(tmp_path: Path, release: str) -> Iterator[Lan]:
    why = netns_available()
    if why:
        pytest.fail(f"network namespaces are required with real SystemTap: {why}")
    net = Lan(tmp_path)
    try:
        yield net
    finally:
        net.close()


def their_env(env: Env, **more: str) -> dict[str, str]:
    """SystemTap's client in the test's world, with a SystemTap folder of its own."""
    values = dict(env.env)
    values["SYSTEMTAP_DIR"] = str(env.root / "theirs")
    values.update(more)
    return values


def our_stap_server(env: Env, *args: str) -> Server:
    return start_server(env, "--key-bits", "2048", *args)


# ---------------------------------------------------------------------- our server


def test_our_server_builds_with_stap_for_our_client(env: Env, release: str) -> None:
    server = our_stap_server(env)
    try:
        for p in ("1", "2", "3"):
            for script in SCRIPTS:
                direct = stap(f"-r{release}", f"-p{p}", "-e", script)
                ours = env.run(
                    "stap-client", f"--server={server.address}", "--runtime=kernel",
                    f"-r{release}", f"-p{p}", "-e", script,
                )  # fmt: skip
                assert (ours.returncode, ours.stdout) == (direct.returncode, direct.stdout), (
                    p, script, ours.stderr.decode(),
                )  # fmt: skip
                assert without_noise(ours.stderr) == without_noise(direct.stderr), (p, script)
        # a BPF program, left here with its signature
        work = env.root / "bpf"
        work.mkdir()
        r = env.run(
            "stap-client", f"--server={server.address}", "--runtime=bpf", f"-r{release}",
            "-p4", "-e", HELLO, cwd=work,
        )  # fmt: skip
        assert r.returncode == 0, r.stderr.decode()
        name = r.stdout.decode().strip()
        assert name.endswith(".bo") and (work / name).read_bytes().startswith(b"\x7fELF")
        assert verify_sgn(work / name, env.server_db() / "stap.cert", "-sha256")
        # a release the server has no build tree for: an error response with its rc
        r = env.run(
            "stap-client", f"--server={server.address}", "--runtime=kernel", "-r9.9.9-none",
            "-p2", "-e", HELLO,
        )  # fmt: skip
        assert r.returncode == 1
        assert "cannot build for kernel release 9.9.9-none" in r.stderr.decode()
    finally:
        server.stop()


def test_pass_5_of_a_bpf_program_runs_stapbpf(env: Env, release: str) -> None:
    """Pass 5 here: the client verifies the program's signature, then hands it to
    stapbpf (where the machine does not let it load BPF maps, as these, stapbpf's own
    error shows the program got that far)."""
    server = our_stap_server(env)
    try:
        r = env.run(
            "stap-client", f"--server={server.address}", "--runtime=bpf", f"-r{release}",
            "-e", HELLO,
        )  # fmt: skip
        stderr = r.stderr.decode()
        if r.returncode == 0:  # a machine that lets stapbpf load it
            assert r.stdout == b"Hello World!\n", stderr
        else:
            assert "Error loading stap_" in stderr, stderr
    finally:
        server.stop()


def test_stap_builds_are_cached_until_what_they_depend_on_changes(env: Env, release: str) -> None:
    tapsets = env.root / "server-tapsets"
    tapsets.mkdir()
    (tapsets / "mine.stp").write_text("function mine() { return 1 }\n")
    server = our_stap_server(env, "-I", str(tapsets))
    try:
        args = ["--runtime=kernel", f"-r{release}", "-p2", "-e", "probe begin { println(mine()) }"]

        def ask() -> str:
            before = len(server.requests_logged())
            r = env.run("stap-client", f"--server={server.address}", *args)
            assert r.returncode == 0, r.stderr.decode()
            return server.request_line(before)

        assert "runtime=kernel " in ask()
        assert "runtime=kernel cached " in ask()
        (tapsets / "mine.stp").write_text("function mine() { return 2 }\n")
        assert "runtime=kernel " in ask()  # rebuilt: a server tapset changed
    finally:
        server.stop()


def verify_sgn(module: Path, cert: Path, digest: str) -> bool:
    """``openssl dgst -verify`` with the public key of ``cert`` (DER, as SystemTap's)."""
    pub = module.with_suffix(".pub.pem")
    key = subprocess.run(
        ["openssl", "x509", "-inform", "DER", "-in", str(cert), "-pubkey", "-noout"],
        capture_output=True,
        check=True,
    ).stdout
    pub.write_bytes(key)
    r = subprocess.run(
        ["openssl", "dgst", digest, "-verify", str(pub), "-signature",
         f"{module}.sgn", str(module)],
        capture_output=True,
    )  # fmt: skip
    return r.returncode == 0 and b"Verified OK" in r.stdout


def test_their_client_against_our_server(env: Env, release: str) -> None:
    server = our_stap_server(env)
    try:
        theirs = their_env(env)
        r = subprocess.run(
            ["stap", f"--use-server={server.address}", "--trust-servers=ssl,no-prompt"],
            capture_output=True, env=theirs, stdin=subprocess.DEVNULL, timeout=60,
        )  # fmt: skip
        assert r.returncode == 0, r.stderr.decode()
        for p in ("1", "2", "3"):
            for script in SCRIPTS:
                direct = stap(f"-r{release}", f"-p{p}", "-e", script)
                remote = stap(
                    f"--use-server={server.address}", f"-r{release}", f"-p{p}", "-e", script,
                    env=theirs,
                )  # fmt: skip
                assert (remote.returncode, remote.stdout) == (
                    direct.returncode, direct.stdout,
                ), (p, script, remote.stderr.decode())  # fmt: skip
    finally:
        server.stop()


def test_their_client_trusts_what_stap_add_server_cert_added(env: Env, release: str) -> None:
    server = our_stap_server(env)
    try:
        theirs = their_env(env)
        db = Path(theirs["SYSTEMTAP_DIR"]) / "ssl" / "client"
        # before: SystemTap's client refuses an unknown server
        before = stap(f"--use-server={server.address}", f"-r{release}", "-p2", "-e", HELLO,
                      env=theirs)  # fmt: skip
        assert before.returncode != 0
        r = env.run("stap-add-server-cert", str(env.server_db() / "stap.cert"), str(db))
        assert r.returncode == 0, r.stderr.decode()
        after = stap(f"--use-server={server.address}", f"-r{release}", "-p2", "-e", HELLO,
                     env=theirs)  # fmt: skip
        direct = stap(f"-r{release}", "-p2", "-e", HELLO)
        assert (after.returncode, after.stdout) == (0, direct.stdout), after.stderr.decode()
        # and our client trusts what SystemTap's client trusted, via the NSS database
        nss_only = env.root / "nss-only"
        cert = env.server_db() / "stap.cert"
        nss_only.mkdir()
        subprocess.run(["certutil", "-N", "--empty-password", "-d", f"sql:{nss_only}"],
                       check=True, capture_output=True)  # fmt: skip
        subprocess.run(
            ["certutil", "-A", "-n", "stap-server", "-t", "P,P,P", "-d", f"sql:{nss_only}",
             "-i", str(cert)], check=True, capture_output=True,
        )  # fmt: skip
        user_db = env.client_db()
        subprocess.run(["rm", "-rf", str(user_db)], check=True)
        r = env.run("stap-client", f"--server={server.address}", f"--ssl={nss_only}",
                    "--runtime=python", "-e", HELLO)  # fmt: skip
        assert (r.returncode, r.stdout) == (0, b"Hello World!\n"), r.stderr.decode()
    finally:
        server.stop()


@pytest.mark.slow
def test_their_client_gets_a_kernel_module(env: Env, release: str, fixed_runtime: Path) -> None:
    server = our_stap_server(env, "-R", str(fixed_runtime))
    try:
        theirs = their_env(env)
        r = subprocess.run(
            ["stap", f"--use-server={server.address}", "--trust-servers=ssl,no-prompt"],
            capture_output=True, env=theirs, stdin=subprocess.DEVNULL, timeout=60,
        )  # fmt: skip
        assert r.returncode == 0
        work = env.root / "ko"
        work.mkdir()
        r = stap(f"--use-server={server.address}", f"-r{release}", "-p4", "-e", HELLO,
                 env=theirs, cwd=work)  # fmt: skip
        assert r.returncode == 0, r.stderr.decode()
        name = r.stdout.decode().strip()
        assert name.endswith(".ko"), r.stdout
        module = work / name
        assert module.read_bytes().startswith(b"\x7fELF")
        assert verify_sgn(module, env.server_db() / "stap.cert", "-sha256")
    finally:
        server.stop()


@pytest.mark.slow
def test_a_failing_build_comes_back_unchanged(env: Env, release: str) -> None:
    """Without the runtime fix, SystemTap 4.8 cannot compile a kernel module against
    these headers: the compiler's errors and the status come back as stap gives them."""
    server = our_stap_server(env)
    try:
        theirs = their_env(env)
        subprocess.run(
            ["stap", f"--use-server={server.address}", "--trust-servers=ssl,no-prompt"],
            capture_output=True, env=theirs, stdin=subprocess.DEVNULL, timeout=60, check=True,
        )  # fmt: skip
        direct = stap(f"-r{release}", "-p4", "-e", HELLO, cwd=env.root)
        remote = stap(f"--use-server={server.address}", f"-r{release}", "-p4", "-e", HELLO,
                      env=theirs, cwd=env.root)  # fmt: skip
        assert direct.returncode != 0
        assert remote.returncode == direct.returncode
        errors = compiler_errors(direct.stderr)
        assert errors and compiler_errors(remote.stderr) == errors
    finally:
        server.stop()


# ---------------------------------------------------------------------- their server


@pytest.mark.slow
def test_our_client_against_their_server(lan: Lan, release: str, fixed_runtime: Path) -> None:
    host = lan.add_host("their-host")
    enter = ["ip", "netns", "exec", host.ns]
    theirs = start_their_server(enter, release, 4321, "-R", str(fixed_runtime))
    try:
        r = host.run("stap-add-server-cert", str(theirs.cert), str(host.env.client_db()))
        assert r.returncode == 0, r.stderr.decode()
        for p in ("1", "2", "3"):
            for script in SCRIPTS[:3]:
                direct = stap(f"-r{release}", f"-p{p}", "-e", script)
                ours = host.run(
                    "stap-client", "--server=127.0.0.1:4321", "--runtime=kernel",
                    f"-r{release}", f"-p{p}", "-e", script,
                )  # fmt: skip
                assert (ours.returncode, ours.stdout) == (direct.returncode, direct.stdout), (
                    p, script, ours.stderr.decode(),
                )  # fmt: skip
        work = host.env.root
        r = host.run(
            "stap-client", "--server=127.0.0.1:4321", "--runtime=kernel", f"-r{release}",
            "--privilege=stapusr", "-p4", "-e", HELLO, timeout=300,
        )  # fmt: skip
        assert r.returncode == 0, r.stderr.decode()
        name = r.stdout.decode().strip()
        assert name.endswith(".ko"), r.stdout
        # SystemTap 4.8 signs with SHA-1; our client checked it before keeping it
        assert verify_sgn(work / name, theirs.cert, "-sha1")
        # an untrusted copy of their server: refused
        other = lan.add_host("plain")
        r = other.run("stap-client", "--server=198.18.0.1:4321", "-p2", "-e", HELLO)
        assert r.returncode == 1 and "not trusted" in r.stderr.decode()
    finally:
        theirs.stop()


def test_our_client_as_a_user_without_staprun_against_their_server(lan: Lan, release: str) -> None:
    """An ordinary user (not in stapusr: no staprun) asks SystemTap's server for -p2
    without --runtime: the request is stap's (the kernel runtime, never one their
    server does not offer), and the answer is what stap -p2 gives directly."""
    host = lan.add_host("their-host", ordinary=True)
    theirs = start_their_server(["ip", "netns", "exec", host.ns], release, 4323)
    try:
        cert = host.env.root / "their-stap.cert"
        shutil.copy(theirs.cert, cert)
        os.chown(cert, host.env.uid, -1)
        r = host.run("stap-add-server-cert", str(cert), str(host.env.client_db()))
        assert r.returncode == 0, r.stderr.decode()
        for script in SCRIPTS[:4]:
            direct = stap(f"-r{release}", "-p2", "-e", script)
            ours = host.run(
                "stap-client", "--server=127.0.0.1:4323", f"-r{release}", "-p2", "-e", script
            )
            assert (ours.returncode, ours.stdout) == (direct.returncode, direct.stdout), (
                script, ours.stderr.decode(),
            )  # fmt: skip
            assert without_noise(ours.stderr) == without_noise(direct.stderr), script
    finally:
        theirs.stop()


# ---------------------------------------------------------------------- advertisements


def test_systemtap_lists_our_advertisement(lan: Lan, release: str) -> None:
    a, b = lan.add_host("stap-a"), lan.add_host("stap-b")
    server = a.start_server()
    server.wait_advertised()
    avahi = start_avahi(b)
    try:
        text = ""
        for _ in range(30):  # avahi-daemon probes its own host name first
            r = avahi.run("stap", "--list-servers=all", env={"PATH": "/usr/bin:/bin"})
            text = r.stdout.decode() + r.stderr.decode()
            if f"port={server.port}" in text:
                break
            time.sleep(0.5)
        assert f"address={a.address} port={server.port}" in text, text
        assert f'sysinfo="{release} ' in text, text
    finally:
        avahi.stop()


def test_find_servers_lists_an_avahi_advertised_stap_serverd(lan: Lan, release: str) -> None:
    a, b = lan.add_host("stap-a"), lan.add_host("stap-b")
    avahi = start_avahi(a)
    theirs = start_their_server(avahi.argv(), release, 4322)
    try:
        lines: list[str] = []
        for _ in range(40):  # avahi registers after its own probing
            r = b.run("stap-find-servers", "--all")
            lines = r.stdout.decode().splitlines()
            if any(f" {a.address} 4322 " in ln for ln in lines):
                break
            time.sleep(0.5)
        mine = [ln for ln in lines if f" {a.address} 4322 " in ln]
        assert mine, (lines, theirs.log.read_text())
        assert all(ln.startswith("Systemtap Compile Server on stap-a") for ln in mine)
        assert any(f"'sysinfo={release} " in ln for ln in mine), mine
        assert all("'certinfo=" in ln for ln in mine)
    finally:
        theirs.stop()
        avahi.stop()

"""The compile service end to end: stap-start-server, stap-client, stap-add-server-cert,
stap-stop-server, as processes on loopback."""

from __future__ import annotations

import concurrent.futures
import json
import os
import socket
import ssl
import struct
import subprocess
import time
from pathlib import Path

from stapserver.protocol import archive, request, response

from .conftest import BIN, Env, Server, make_env, start_server

HELLO = 'probe begin { printf("Hello World!\\n"); exit() }'


def client(server: Server, *args: str, **kw: object) -> object:
    return server.env.run("stap-client", f"--server={server.address}", *args, **kw)  # type: ignore[arg-type]


def test_hello_world_defaults_to_the_python_runtime(server: Server) -> None:
    result = server.env.run("stap-client", f"--server={server.address}", "-e", HELLO)
    assert result.stdout == b"Hello World!\n"
    assert result.stderr == b""
    assert result.returncode == 0
    log = server.log.read_text()
    assert "rc=0 runtime=python" in log


def test_identical_requests_are_answered_from_the_cache_unless_it_is_off(env: Env) -> None:
    script = 'probe begin { printf("cache me\\n"); exit() }'
    for cache_on, options in ((True, []), (False, ["--cache-size", "0"])):
        server = start_server(env, *options)
        try:
            logged = []
            for i in range(2):
                r = client(server, "--runtime=python", "-p3", "-e", script)
                assert r.returncode == 0, r.stderr  # type: ignore[attr-defined]
                logged.append(server.request_line(i))
            assert "runtime=python " in logged[0], logged
            assert ("runtime=python cached " in logged[1]) is cache_on, logged
        finally:
            server.stop()


def test_passes_1_to_4_ask_for_stap_s_default_runtime(env: Env) -> None:
    """Nothing runs here at -p1..-p4: the request is what stap would build, for the
    kernel runtime, and a server without SystemTap says what it builds instead."""
    server = start_server(env, "--no-stap")
    try:
        r = client(server, "-p2", "-e", HELLO)
        assert r.returncode == 1  # type: ignore[attr-defined]
        assert r.stderr == (  # type: ignore[attr-defined]
            b"stap-serverd: this server has no SystemTap, so it cannot build kernel-runtime "
            b"modules; it builds python-runtime modules (stap-client --runtime=python)\n"
        )
        assert "runtime=kernel " in server.request_line(0)
        # pass 5 here: the python runtime, which this machine runs
        r = client(server, "-e", HELLO)
        assert r.stdout == b"Hello World!\n"  # type: ignore[attr-defined]
        assert "runtime=python " in server.request_line(1)
    finally:
        server.stop()


def test_passes_1_to_4_match_pystap(server: Server, tmp_path: Path) -> None:
    script = 'global n; probe timer.ms(5) { if (++n >= 3) exit() } probe end { printf("%d\\n", n) }'
    for p in ("-p1", "-p2", "-p3"):
        direct = server.env.run("pystap", p, "-e", script)
        remote = server.env.run(
            "stap-client", f"--server={server.address}", "--runtime=python", p, "-e", script
        )
        assert remote.stdout == direct.stdout, p
        assert remote.returncode == direct.returncode == 0
    work = tmp_path / "p4"
    work.mkdir()
    remote = server.env.run(
        "stap-client", f"--server={server.address}", "--runtime=python", "-p4", "-e", script,
        cwd=work,
    )  # fmt: skip
    assert remote.returncode == 0, remote.stderr
    name = remote.stdout.decode().strip()
    assert name.startswith("stap_") and name.endswith(".py")
    assert (work / name).is_file() and (work / (name + ".sgn")).is_file()
    direct = server.env.run("pystap", "-p3", "-e", script)
    assert (work / name).read_bytes() == direct.stdout
    run = server.env.run("stap-client", f"--server={server.address}", "-e", script)
    assert run.stdout == b"3\n" and run.returncode == 0


def test_script_file_stdin_args_and_tapset_trees(server: Server, tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "mine.stp").write_text("function twice(x) { return 2 * x }\n")
    script = tmp_path / "s.stp"
    script.write_text('probe begin { printf("%d %s %d\\n", twice($1), @2, $#); exit() }\n')
    r = server.env.run(
        "stap-client",
        f"--server={server.address}",
        "-I",
        str(lib),
        str(script),
        "21",
        "two",
        cwd=tmp_path,
    )
    assert r.stdout == b"42 two 2\n", r.stderr
    r = server.env.run(
        "stap-client",
        f"--server={server.address}",
        "-",
        input=b'probe begin { println("stdin"); exit() }',
    )
    assert r.stdout == b"stdin\n" and r.returncode == 0


def test_errors_name_the_script_as_given(server: Server, tmp_path: Path) -> None:
    (tmp_path / "bad.stp").write_text("probe begin { x = 1 +; }\n")
    (tmp_path / "div.stp").write_text("probe begin { x = 0; print(1 / x) }\n")
    direct = server.env.run("pystap", "bad.stp", cwd=tmp_path)
    remote = server.env.run("stap-client", f"--server={server.address}", "bad.stp", cwd=tmp_path)
    assert remote.stderr == direct.stderr and remote.returncode == 1
    assert b"bad.stp:1:22" in remote.stderr
    direct = server.env.run("pystap", "div.stp", cwd=tmp_path)
    remote = server.env.run("stap-client", f"--server={server.address}", "div.stp", cwd=tmp_path)
    assert remote.stderr == direct.stderr and remote.returncode == 1
    assert b"ERROR: division by 0 near operator '/' at div.stp:1:30" in remote.stderr


def test_untrusted_server_is_refused_until_its_certificate_is_added(
    server: Server, tmp_path: Path
) -> None:
    other = make_env(tmp_path / "other-user")
    r = other.run("stap-client", f"--server={server.address}", "-e", HELLO)
    assert r.returncode == 1
    assert r.stdout == b""
    message = r.stderr.decode()
    assert message.count("\n") == 1
    assert f"server {server.address} is not trusted" in message
    assert "stap-add-server-cert" in message
    cert = server.env.server_db() / "stap.cert"
    db = other.client_db()
    r = other.run("stap-add-server-cert", str(cert), str(db))
    assert r.returncode == 0 and r.stdout == b"" and r.stderr == b""
    r = other.run("stap-client", f"--server={server.address}", "-e", HELLO)
    assert r.stdout == b"Hello World!\n" and r.returncode == 0
    # --ssl names an extra database, searched first
    third = make_env(tmp_path / "third")
    extra = tmp_path / "extra-db"
    assert third.run("stap-add-server-cert", str(cert), str(extra)).returncode == 0
    r = third.run("stap-client", f"--server={server.address}", f"--ssl={extra}", "-e", HELLO)
    assert r.stdout == b"Hello World!\n"


def test_add_server_cert_errors(env: Env, tmp_path: Path) -> None:
    r = env.run("stap-add-server-cert")
    assert r.returncode == 1 and b"Usage: stap-add-server-cert CERTFILE DIRNAME" in r.stderr
    r = env.run("stap-add-server-cert", str(tmp_path / "missing.cert"), str(tmp_path / "db"))
    assert r.returncode == 1 and b"does not exist" in r.stderr
    junk = tmp_path / "junk.cert"
    junk.write_bytes(b"not a certificate")
    r = env.run("stap-add-server-cert", str(junk), str(tmp_path / "db"))
    assert r.returncode == 1 and b"is not a certificate" in r.stderr
    assert not (tmp_path / "db" / "certs").exists()
    ro = tmp_path / "ro"
    ro.mkdir(mode=0o755)
    os.chmod(ro, 0o777)
    r = env.run("stap-add-server-cert", str(env.server_db() / "stap.cert"), str(ro))
    assert r.returncode == 1 and b"writable by group or others" in r.stderr
    assert b"chmod go-w" in r.stderr


def test_start_and_stop_server(env: Env) -> None:
    s = start_server(env)
    assert s.alive()
    status = env.root / "run" / f"{s.pid}.json"
    assert json.loads(status.read_text())["pid"] == s.pid
    r = env.run("stap-stop-server", str(s.pid))
    assert r.returncode == 0 and r.stdout == b"" and r.stderr == b""
    deadline = time.monotonic() + 20
    while s.alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not s.alive()
    assert not status.exists()
    r = env.run("stap-stop-server")
    assert r.returncode == 1 and b"Usage: stap-stop-server PID" in r.stderr
    r = env.run("stap-stop-server", str(os.getpid()))
    assert r.returncode == 1 and r.stderr == f"{os.getpid()} is not a systemtap server\n".encode()
    for word in ("xyz", "\u00b2", "\u0663\u0663"):  # digits, but not 0-9
        r = env.run("stap-stop-server", word)
        assert r.returncode == 1 and r.stderr == f"{word} is not a systemtap server\n".encode()


def test_start_server_failure_prints_nothing_on_stdout(env: Env) -> None:
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    try:
        r = env.run("stap-start-server", "--address", "127.0.0.1", "--port", str(port))
    finally:
        busy.close()
    assert r.returncode == 1 and r.stdout == b""
    assert r.stderr.decode() == (
        f"cannot listen on 127.0.0.1:{port}: Address already in use "
        "(another --port, or none: a free one is chosen)\n"
    )
    r = env.run("stap-start-server", "--bogus")
    assert r.returncode == 1 and r.stdout == b"" and b"--bogus" in r.stderr


def _tls(port: int) -> ssl.SSLSocket:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    return ctx.wrap_socket(raw)


def _exchange(port: int, payload: bytes, length: int | None = None) -> bytes:
    with _tls(port) as s:
        s.sendall(struct.pack(">i", len(payload) if length is None else length) + payload)
        chunks = []
        try:
            while chunk := s.recv(65536):
                chunks.append(chunk)
        except ssl.SSLError:
            pass
        return b"".join(chunks)


def _still_serves(server: Server) -> None:
    r = server.env.run("stap-client", f"--server={server.address}", "-e", HELLO)
    assert r.stdout == b"Hello World!\n", r.stderr


def test_hostile_clients_cost_only_their_connection(server: Server) -> None:
    # a client that completes TLS and then stalls
    stalled = _tls(server.port)
    # garbage instead of TLS
    with socket.create_connection(("127.0.0.1", server.port)) as raw:
        raw.sendall(b"\x16\x03\x01garbage" * 50)
    _still_serves(server)
    # an oversized request: refused from its length alone
    data = _exchange(server.port, b"", length=1 << 30)
    refused = response.decode(data, archive.Limits())
    assert refused.rc == 1 and b"larger than this server accepts" in refused.stderr
    # a negative length
    data = _exchange(server.port, b"", length=-5)
    assert response.decode(data, archive.Limits()).rc == 1
    # not a zip
    refused = response.decode(_exchange(server.port, b"PK\x03\x04 not really"), archive.Limits())
    assert refused.rc == 1 and b"bad request" in refused.stderr
    # a path that escapes its folder
    evil = _raw_zip(
        [
            ("version", b"4.8"),
            ("argv1", b"-e"),
            ("sysinfo", b"sysinfo: 6.1.0 x86_64"),
            ("script/../../etc/x", b"oops"),
        ]
    )
    refused = response.decode(_exchange(server.port, evil), archive.Limits())
    assert refused.rc == 1 and b"leaves its folder" in refused.stderr
    # a forbidden option
    forbidden = request.encode(
        request.Request(
            argv=["--runtime=python", "-R", "/tmp", "-e", HELLO], release="6.1.0", arch="x86_64"
        )
    )
    answer = response.decode(_exchange(server.port, forbidden), archive.Limits())
    assert answer.rc == 1 and b"-R is not allowed" in answer.stderr
    # a script path outside the request
    outside = request.encode(
        request.Request(argv=["--runtime=python", "/etc/passwd"], release="6.1.0", arch="x86_64")
    )
    answer = response.decode(_exchange(server.port, outside), archive.Limits())
    assert answer.rc == 1 and b"not part of the request" in answer.stderr
    _still_serves(server)
    # the stalled client is dropped after the read timeout; the server keeps serving
    time.sleep(3.5)
    assert stalled.recv(1) == b""
    stalled.close()
    _still_serves(server)
    assert server.alive()


def _raw_zip(entries: list[tuple[str, bytes]]) -> bytes:
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in entries:
            zf.writestr(name, data)
    return out.getvalue()


def test_eight_clients_at_once(server: Server, tmp_path: Path) -> None:
    def one(i: int) -> tuple[int, bytes]:
        script = f'probe begin {{ printf("client %d\\n", {i}); exit() }}'
        r = server.env.run("stap-client", f"--server={server.address}", "-e", script)
        return r.returncode, r.stdout

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(one, range(8)))
    assert results == [(0, f"client {i}\n".encode()) for i in range(8)]


def test_unreachable_server(env: Env) -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    r = env.run("stap-client", f"--server=127.0.0.1:{port}", "-e", HELLO)
    assert r.returncode == 1 and r.stdout == b""
    assert r.stderr.decode() == (
        f"cannot connect to server 127.0.0.1:{port}: Connection refused (is a server running "
        "there? stap-find-servers lists those on the network)\n"
    )


def test_bad_server_argument(env: Env) -> None:
    r = env.run("stap-client", "--server=[::1", "-e", HELLO)
    assert r.returncode == 1 and b"missing ']'" in r.stderr


IMPORTS = """
import sys
from stapserver.cli.stap_client import main
rc = main(sys.argv[1:])
print(" ".join(sorted(m for m in sys.modules if m.split(".")[0] in {"stapserver", "zeroconf",
      "cryptography", "ifaddr", "dataclasses", "subprocess", "inspect", "asyncio"})),
      file=sys.stderr)
sys.exit(rc)
"""


def test_the_client_imports_only_what_the_request_needs(server: Server) -> None:
    """Start-up is most of a hello world: no discovery with --server HOST:PORT, no X.509
    parser for a pinned certificate, no NSS (certutil), no translator, the runtime only
    when pass 5 runs a python module (issue 10)."""

    def imported(*args: str) -> set[str]:
        r = server.env.run("python", "-c", IMPORTS, f"--server={server.address}", *args)
        assert r.returncode == 0, r.stderr
        return set(r.stderr.decode().splitlines()[-1].split())

    never = {
        "zeroconf", "ifaddr", "dataclasses", "inspect", "asyncio", "subprocess",
        "cryptography.x509", "stapserver.discovery.browse", "stapserver.discovery.adverts",
        "stapserver.trust.database", "stapserver.trust.nss", "stapserver.trust.certs",
        "stapserver.translator.parser", "stapserver.runtime.stats",
    }  # fmt: skip
    run = imported("-e", HELLO)
    assert not run & never, run & never
    assert {"stapserver.runtime.engine", "cryptography.hazmat.primitives.asymmetric.rsa"} <= run
    listing = imported("--runtime=python", "-p2", "-e", HELLO)
    assert not listing & never, listing & never
    assert "stapserver.runtime.engine" not in listing


def test_arguments_that_are_not_utf8_are_logged_and_the_connection_ends(env: Env) -> None:
    """Issue 11, 1: a request whose arguments are not UTF-8 got its answer, but the log
    line raised UnicodeEncodeError and the connection never closed (the client waited
    for ever).  Now the line is logged with the bytes escaped, and the client ends."""
    server = start_server(env, "--read-timeout", "3")
    try:
        script = b'probe begin { println("\xff\xfe"); exit() }'
        r = subprocess.run(
            [str(BIN / "stap-client"), f"--server={server.address}", b"-e", script],
            env=env.env, capture_output=True, timeout=60, cwd=env.root,
        )  # fmt: skip
        assert (r.returncode, r.stdout) == (0, b"\xff\xfe\n"), r.stderr
        last = server.log.read_text(encoding="utf-8").splitlines()[-1]
        assert " rc=0 runtime=python " in last and "\\xff\\xfe" in last, last
    finally:
        server.stop()

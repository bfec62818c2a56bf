"""What a user meets in the first minute (issue 10), on two hosts of a namespaced network,
as ordinary users (not root: no staprun for them, certificates under their home): the
man page's sequences back to back, with no sleep between a command and the next."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from .netns import Host, Lan

HELLO = 'probe begin { printf("Hello World!\\n"); exit() }'
TRIES = 20


def stop(host: Host, pid: int) -> None:
    """``stap-stop-server PID``, then until the process is gone (the man page: it does
    not wait for the server to shut down)."""
    r = host.run("stap-stop-server", str(pid))
    assert r.returncode == 0, r.stderr.decode()
    deadline = time.monotonic() + 30
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not Path(f"/proc/{pid}").exists(), f"server {pid} did not stop"


def trusting_pair(lan: Lan) -> tuple[Host, Host]:
    """Hosts a and b, each an ordinary user's; b's user trusts a's server (whose
    certificate a's first start made)."""
    a = lan.add_host("stap-a", ordinary=True)
    b = lan.add_host("stap-b", ordinary=True)
    r = a.run("stap-start-server", "--no-stap", "--key-bits", "2048")
    assert r.returncode == 0, r.stderr.decode()
    stop(a, int(r.stdout))
    cert = b.env.root / "a-stap.cert"
    shutil.copy(a.cert(), cert)
    os.chown(cert, b.env.uid, -1)
    r = b.run("stap-add-server-cert", str(cert), str(b.env.client_db()))
    assert r.returncode == 0, r.stderr.decode()
    return a, b


def test_find_or_start_then_client(lan: Lan) -> None:
    a, b = trusting_pair(lan)
    for attempt in range(TRIES):
        r = a.run("stap-find-or-start-server", "--no-stap", "--key-bits", "2048")
        assert r.returncode == 0, (attempt, r.stderr.decode())
        pid = int(r.stdout)
        assert pid > 0, (attempt, "found a server where none should be")
        try:
            r = b.run("stap-client", "-e", HELLO)
            assert (r.returncode, r.stdout, r.stderr) == (0, b"Hello World!\n", b""), attempt
            # b's user finds a server it can use: it starts none of its own
            r = b.run("stap-find-or-start-server", "--no-stap", "--key-bits", "2048")
            assert (r.returncode, r.stdout) == (0, b"0\n"), (attempt, r.stderr.decode())
        finally:
            stop(a, pid)


def test_start_then_find(lan: Lan) -> None:
    a, b = trusting_pair(lan)
    for attempt in range(TRIES):
        r = a.run("stap-start-server", "--no-stap", "--key-bits", "2048")
        assert r.returncode == 0, (attempt, r.stderr.decode())
        pid = int(r.stdout)
        try:
            r = b.run("stap-find-servers")
            lines = r.stdout.decode().splitlines()
            assert r.returncode == 0 and len(lines) == 1, (attempt, lines, r.stderr.decode())
            assert lines[0].startswith(f"Systemtap Compile Server on stap-a {a.address} ")
            assert lines[0].endswith(" (trusted)")
        finally:
            stop(a, pid)

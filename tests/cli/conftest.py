"""The installed commands as processes, with their stdout where a test wants it: a pipe,
a pipe whose reader is gone, /dev/full, or closed.  Network traffic only on loopback:
a command that would browse the local network runs with its sockets refused."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import Env, make_env

BIN = Path(sys.executable).parent

# Where stdout goes: "pipe" (captured), "broken" (a pipe whose reader has gone: any
# write fails with EPIPE), "full" (/dev/full: ENOSPC), "closed" (no descriptor 1).
STDOUTS = ("broken", "full", "closed")

# Run an installed command (its script in .venv/bin, as the shell would run it) with
# sockets refused: with "none" every one (what would browse the network fails instead,
# and so does anything else on the network); with "loopback" datagram sockets (mDNS:
# browsing fails, as on a machine without a network) and any address but loopback.
GUARDED = """
import runpy, socket, sys
LOOPBACK = {"127.0.0.1", "::1", "localhost"}
def refuse(event, args):
    if not event.startswith("socket."):
        return
    if NETWORK == "loopback":
        if event == "socket.__new__" and args[2] & 0xF != socket.SOCK_DGRAM:
            return
        if event == "socket.getaddrinfo" and args[0] in LOOPBACK:
            return
        if event == "socket.connect" and args[1][0] in LOOPBACK:
            return
        if event not in ("socket.__new__", "socket.getaddrinfo", "socket.connect",
                         "socket.sendto", "socket.sendmsg", "socket.bind"):
            return
    raise PermissionError(f"not on the network in this test ({event} {args[1:]!r})")
NETWORK, script = sys.argv[1:3]
sys.argv = sys.argv[2:]
sys.addaudithook(refuse)
runpy.run_path(script, run_name="__main__")
"""


def run(
    env: Env,
    command: str,
    *args: str,
    stdout: str = "pipe",
    network: str = "any",
    timeout: float = 120,
) -> subprocess.CompletedProcess[bytes]:
    """Run ``command`` (installed in .venv/bin) in ``env``, its stdout as ``stdout`` says
    (its stdout is in the result only for "pipe"), on the ``network`` GUARDED says
    ("any": no guard)."""
    argv = [str(BIN / command), *args]
    if network != "any":
        argv = [sys.executable, "-c", GUARDED, network, *argv]
    if stdout == "closed":
        argv = ["/bin/sh", "-c", 'exec "$@" >&-', "sh", *argv]
    if stdout == "broken":
        r, w = os.pipe()
        os.close(r)  # gone before the command starts: its first write gets EPIPE
        target: int = w
    elif stdout == "full":
        target = os.open("/dev/full", os.O_WRONLY)
    else:
        target = subprocess.PIPE if stdout == "pipe" else subprocess.DEVNULL
    environ = dict(env.env)
    if "PYTHONPATH" in os.environ:  # the package under test, wherever the test has it
        environ["PYTHONPATH"] = os.environ["PYTHONPATH"]
    try:
        return subprocess.run(
            argv, stdin=subprocess.DEVNULL, stdout=target, stderr=subprocess.PIPE,
            env=environ, cwd=env.root, timeout=timeout,
        )  # fmt: skip
    finally:
        if target >= 0:
            os.close(target)


def servers_left(env: Env) -> list[int]:
    """The servers started in ``env`` still running (by their status files)."""
    pids = [int(p.stem) for p in (env.root / "run").glob("*.json")]
    return [pid for pid in pids if Path(f"/proc/{pid}").exists()]


def stop_servers(env: Env) -> None:
    """Stop whatever servers ``env`` still has (a test that failed may leave one)."""
    for pid in servers_left(env):
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
        deadline = time.monotonic() + 30
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        if Path(f"/proc/{pid}").exists():
            os.kill(pid, signal.SIGKILL)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[Env]:
    """A private SystemTap world (HOME, SYSTEMTAP_DIR, sysconfdir, run dir)."""
    env = make_env(tmp_path / "world")
    try:
        yield env
    finally:
        stop_servers(env)


class Server:
    def __init__(self, env: Env, pid: int) -> None:
        self.env = env
        self.pid = pid
        status = json.loads((env.root / "run" / f"{pid}.json").read_text())
        self.address = f"127.0.0.1:{status['port']}"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A compile server on loopback, not advertised; its world trusts it."""
    env = make_env(tmp_path_factory.mktemp("cli") / "world")
    try:
        r = run(
            env, "stap-start-server", "--address", "127.0.0.1", "--no-advertise",
            "--key-bits", "2048",
        )  # fmt: skip
        assert r.returncode == 0, r.stderr.decode()
        yield Server(env, int(r.stdout))
    finally:
        stop_servers(env)

"""``stap-start-server [server options]``: start a compile server in the background.

Prints only the server's PID and exits 0 once it is ready: it accepts connections and,
when it advertises, its DNS-SD services answer queries (so the next command on the
network finds it).  Otherwise prints nothing on stdout, the reason on stderr, and exits 1.
A server whose PID cannot be printed (``> /dev/full``, a closed pipe) is stopped again:
nobody would know what to stop.
"""

from __future__ import annotations

import argparse
import os
import select
import signal
import socket
import subprocess
import sys
import time

from ..errors import ServerError
from . import stap_serverd
from .common import run_command, write_out

STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0

DESCRIPTION = """\
Start a SystemTap compile server (stap-serverd, with these options) in the
background.  Once it is ready (it accepts connections and, unless --no-advertise,
answers on the local network), print its PID and exit 0; else print nothing on
stdout, the reason on stderr, and exit 1.  Stop it with: stap-stop-server PID"""


def _read_ready(fd: int, proc: subprocess.Popen[bytes], timeout: float) -> str:
    deadline = time.monotonic() + timeout
    data = b""
    while b"\n" not in data:
        left = deadline - time.monotonic()
        if left <= 0:
            proc.kill()
            raise ServerError(f"stap-start-server: the server did not start within {timeout:.0f} s")
        ready, _, _ = select.select([fd], [], [], min(left, 0.5))
        if ready:
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            data += chunk
        elif proc.poll() is not None and not data:
            break
    line = data.decode(errors="replace").strip()
    if not line:
        status = proc.poll()
        raise ServerError(f"stap-start-server: the server exited (status {status}) before serving")
    return line


def start(args: list[str]) -> int:
    prog = "stap-start-server"
    ns = stap_serverd.parser(prog, DESCRIPTION).parse_args(args)
    print_pid(launch(args, ns), prog)
    return 0


def launch(args: list[str], ns: argparse.Namespace) -> subprocess.Popen[bytes]:
    """Start ``stap-serverd ARGS`` detached (``ns``: ARGS as the daemon's own parser read
    them, so that a bad option is reported before anything starts); the server once it
    accepts connections."""
    rfd, wfd = os.pipe()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "stapserver.cli.stap_serverd", *args, "--ready-fd", str(wfd)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(wfd,),
            start_new_session=True,
        )
    finally:
        os.close(wfd)
    try:
        line = _read_ready(rfd, proc, STARTUP_TIMEOUT)
    finally:
        os.close(rfd)
    if line.startswith("ERROR "):
        proc.wait(timeout=10)
        raise ServerError(line[len("ERROR ") :])
    if not line.startswith("READY "):
        stop(proc)
        raise ServerError(f"stap-start-server: unexpected answer from the server: {line!r}")
    _, port_text, *why = line.split(" ", 2)
    port = int(port_text)
    try:
        _check_accepts(ns.address, port)
    except ServerError:
        stop(proc)
        raise
    if why:  # it serves, but the next stap-find-servers will not see it
        sys.stderr.write(
            f"stap-start-server: warning: the server is not advertised on the local network "
            f"({why[0]}); clients reach it with --server=HOST:{port}\n"
        )
    return proc


def print_pid(proc: subprocess.Popen[bytes], prog: str) -> None:
    """Print the PID of the server ``proc`` started; if that fails, stop the server (no
    one would know what to stop) and say why."""
    failure = write_out(f"{proc.pid}\n")
    if failure is not None:
        stop(proc)
        raise ServerError(
            f"{prog}: cannot print the PID of the server it started "
            f"({failure.strerror or failure}); server {proc.pid} stopped"
        )


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop a server this command started, as stap-stop-server does (SIGTERM), and wait
    for it to end."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _check_accepts(address: str, port: int) -> None:
    """Connect once to the server listening on ``address`` (as ``--address`` gives it):
    the server is up only if it accepts."""
    if address in ("", "0.0.0.0"):
        address = "127.0.0.1"
    elif address == "::":
        address = "::1"
    try:
        with socket.create_connection((address, port), timeout=10):
            pass
    except OSError as err:
        raise ServerError(
            f"stap-start-server: the server reported port {port} but does not accept: {err}"
        ) from None


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    return run_command(lambda: start(args), "stap-start-server")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

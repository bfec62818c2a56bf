"""Issue 11, 5: a command whose standard output fails behaves as a Unix tool does.

* The reader has gone (EPIPE, ``| head``): the command dies by SIGPIPE, as GNU tools
  do (a shell shows 141), and says nothing: no traceback, no "Exception ignored".
* /dev/full (ENOSPC), or stdout closed (``>&-``, EBADF): one line
  ``PROG: write error: STRERROR`` on stderr, exit status 1.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import BIN, Env

from .conftest import STDOUTS, Server, run, servers_left

HELLO = 'probe begin { println("hello"); exit() }'
# output until the end of time, unless the session stops: only a failed write ends it
FOREVER = 'probe begin { println("begin") } probe timer.ms(1) { println("tick") }'

STRERROR = {"full": "No space left on device", "closed": "Bad file descriptor"}


def expect(r: subprocess.CompletedProcess[bytes], prog: str, stdout: str) -> None:
    """What a command whose stdout failed as ``stdout`` says ends with."""
    if stdout == "broken":
        assert (r.returncode, r.stderr) == (-signal.SIGPIPE, b""), r.stderr.decode()
    else:
        message = f"{prog}: write error: {STRERROR[stdout]}\n"
        assert (r.returncode, r.stderr.decode()) == (1, message)


# ---------------------------------------------------------------------- pystap


@pytest.mark.parametrize("stdout", STDOUTS)
def test_pystap_pass5_output(world: Env, stdout: str) -> None:
    expect(run(world, "pystap", "-e", HELLO, stdout=stdout), "pystap", stdout)


@pytest.mark.parametrize("stdout", STDOUTS)
def test_pystap_pass5_output_that_never_ends_by_itself(world: Env, stdout: str) -> None:
    # the run stops at the first failed write (else this would never end)
    expect(run(world, "pystap", "-e", FOREVER, stdout=stdout), "pystap", stdout)


@pytest.mark.parametrize("stdout", STDOUTS)
def test_pystap_listing(world: Env, stdout: str) -> None:
    expect(run(world, "pystap", "-p2", "-e", HELLO, stdout=stdout), "pystap", stdout)


def test_pystap_with_stdout_closed_and_nothing_to_write_succeeds(world: Env) -> None:
    r = run(world, "pystap", "-e", "probe begin { exit() }", stdout="closed")
    assert (r.returncode, r.stderr) == (0, b"")


# ---------------------------------------------------------------------- every command


@pytest.mark.parametrize("stdout", STDOUTS)
@pytest.mark.parametrize(
    "command",
    [
        "pystap",
        "stap-client",
        "stap-serverd",
        "stap-start-server",
        "stap-stop-server",
        "stap-add-server-cert",
        "stap-find-servers",
        "stap-find-or-start-server",
    ],
)
def test_help_to_failing_stdout(world: Env, command: str, stdout: str) -> None:
    r = run(world, command, "--help", stdout=stdout, network="none")
    expect(r, command, stdout)


@pytest.mark.parametrize("stdout", ["broken", "full"])
def test_exit_at_once_reports_what_its_flush_could_not_write(world: Env, stdout: str) -> None:
    """stap-client and stap-find-servers end by ``exit_at_once`` (no interpreter
    teardown); output still pending then fails as it would in ``run_command``."""
    script = (
        "import sys; sys.argv[0] = 'stap-find-servers'\n"
        "from stapserver.cli.common import exit_at_once\n"
        "sys.stdout.write('pending\\n')\n"
        "exit_at_once(0)\n"
    )
    r = run(world, "python", "-c", script, stdout=stdout)
    expect(r, "stap-find-servers", stdout)


# Issue 11's ``stap-find-servers --all | head -0``, without browsing: stap-find-servers
# itself (entry(), which ends by exit_at_once), its browser answering a thousand servers.
FIND_SERVERS = """
import sys
def refuse(event, args):
    if event.startswith("socket."):
        raise PermissionError(f"no network in this test ({event})")
sys.addaudithook(refuse)
sys.argv = ["stap-find-servers", "--all"]
from stapserver.cli import stap_find_servers
from stapserver.discovery.adverts import Advert

class Browser:
    def __init__(self, **options):
        pass
    def __enter__(self):
        return self
    def __exit__(self, *exc):
        return None
    def adverts(self):
        for i in range(1000):
            txt = {"sysinfo": "6.1.0-1-amd64 x86_64", "version": "4.8"}
            name = f"Systemtap Compile Server on h{i}"
            yield Advert(name, f"h{i}.local", 4000, ("192.0.2.1",), txt)

stap_find_servers.Browser = Browser
stap_find_servers.local_networks = lambda: []
stap_find_servers.entry()
"""


def test_find_servers_lists_into_a_pipe(world: Env) -> None:
    r = run(world, "python", "-c", FIND_SERVERS)
    assert (r.returncode, r.stderr) == (0, b"")
    assert len(r.stdout.splitlines()) == 1000


@pytest.mark.parametrize("stdout", STDOUTS)
def test_find_servers_listing(world: Env, stdout: str) -> None:
    expect(run(world, "python", "-c", FIND_SERVERS, stdout=stdout), "stap-find-servers", stdout)


# ---------------------------------------------------------------------- stap-client


@pytest.mark.parametrize("stdout", STDOUTS)
def test_stap_client_pass5_output(server: Server, stdout: str) -> None:
    r = run(server.env, "stap-client", f"--server={server.address}", "-e", HELLO, stdout=stdout)
    expect(r, "stap-client", stdout)


@pytest.mark.parametrize("stdout", STDOUTS)
def test_stap_client_pass5_output_that_never_ends_by_itself(server: Server, stdout: str) -> None:
    r = run(server.env, "stap-client", f"--server={server.address}", "-e", FOREVER, stdout=stdout)
    expect(r, "stap-client", stdout)


@pytest.mark.parametrize("stdout", STDOUTS)
def test_stap_client_listing(server: Server, stdout: str) -> None:
    r = run(
        server.env, "stap-client", f"--server={server.address}", "--runtime=python", "-p2",
        "-e", HELLO, stdout=stdout,
    )  # fmt: skip
    expect(r, "stap-client", stdout)


# ---------------------------------------------------------------------- starting servers


@pytest.mark.parametrize("stdout", STDOUTS)
def test_start_server_that_cannot_print_the_pid_stops_the_server(world: Env, stdout: str) -> None:
    """The PID is how one stops the server: a server whose PID went nowhere is stopped
    again (SIGTERM, as stap-stop-server does), and the command says so, exit 1."""
    r = run(
        world, "stap-start-server", "--address", "127.0.0.1", "--no-advertise",
        "--key-bits", "2048", stdout=stdout,
    )  # fmt: skip
    strerror = {"broken": "Broken pipe", **STRERROR}[stdout]
    text = r.stderr.decode()
    m = re.fullmatch(
        r"stap-start-server: cannot print the PID of the server it started "
        rf"\({strerror}\); server ([0-9]+) stopped\n",
        text,
    )
    assert r.returncode == 1 and m, text
    pid = int(m[1])
    # stopped and waited for: gone, its status file with it
    assert not Path(f"/proc/{pid}").exists()
    assert servers_left(world) == []
    assert not (world.root / "run" / f"{pid}.json").exists()


@pytest.mark.parametrize("stdout", STDOUTS)
def test_find_or_start_server_that_cannot_print_the_pid_stops_the_server(
    world: Env, stdout: str
) -> None:
    # no datagram sockets: the browse fails (as without a network), so it starts one
    r = run(
        world, "stap-find-or-start-server", "--address", "127.0.0.1", "--no-advertise",
        "--key-bits", "2048", stdout=stdout, network="loopback",
    )  # fmt: skip
    strerror = {"broken": "Broken pipe", **STRERROR}[stdout]
    browse, last = r.stderr.decode().splitlines()
    assert browse.startswith("stap-find-or-start-server: cannot browse the local network: ")
    m = re.fullmatch(
        r"stap-find-or-start-server: cannot print the PID of the server it started "
        rf"\({strerror}\); server ([0-9]+) stopped",
        last,
    )
    assert r.returncode == 1 and m, r.stderr.decode()
    assert not Path(f"/proc/{m[1]}").exists()
    assert servers_left(world) == []


def test_stop_server_needs_no_stdout(world: Env) -> None:
    r = run(world, "stap-stop-server", "1", stdout="closed")
    assert (r.returncode, r.stderr) == (1, b"1 is not a systemtap server\n")


def test_stap_client_output_file_on_a_full_disk(server: Server) -> None:
    """Issue 11, 5: ``-o /dev/full`` ended in an internal error; it is one line."""
    r = server.env.run("stap-client", f"--server={server.address}", "-o", "/dev/full", "-e", HELLO)
    assert (r.returncode, r.stdout) == (1, b"")
    assert r.stderr == b"cannot write output file '/dev/full': No space left on device\n"


def test_pystap_output_file_on_a_full_disk(world: Env) -> None:
    """Issue 11, 5: ``pystap -o /dev/full`` ended in an internal error; it is one line."""
    r = world.run("pystap", "-o", "/dev/full", "-e", HELLO)
    assert (r.returncode, r.stdout) == (1, b"")
    assert r.stderr == b"cannot write output file '/dev/full': No space left on device\n"


@pytest.mark.parametrize("command", ["pystap", "stap-client"])
def test_a_script_from_a_closed_stdin_is_one_line(world: Env, command: str) -> None:
    """``pystap - <&-`` ended in an internal error (EBADF); the client likewise."""
    args = ["--server=127.0.0.1:1"] if command == "stap-client" else []
    r = subprocess.run(
        [str(BIN / command), *args, "-"], stdin=subprocess.DEVNULL, capture_output=True,
        env=world.env, cwd=world.root, close_fds=True,
        preexec_fn=lambda: os.close(0),
    )  # fmt: skip
    assert (r.returncode, r.stdout) == (1, b"")
    assert r.stderr == b"cannot read the script from standard input: Bad file descriptor\n"

"""Issue 11, 6: every command has a --help of its own (stdout, exit 0, nothing on the
network), and its messages say what is wrong in the terms the user gave."""

from __future__ import annotations

import json

import pytest

from tests.e2e.conftest import Env

from .conftest import run

HELLO = 'probe begin { println("hello"); exit() }'

# the first line of each command's --help
HELP_STARTS = {
    "pystap": "Usage: pystap [options] FILE [ARGS ...]",
    "stap-client": "Usage: stap-client [--server=HOST[:PORT]]... [--ssl=DIRNAME]...",
    "stap-serverd": "usage: stap-serverd [-h]",
    "stap-start-server": "usage: stap-start-server [-h]",
    "stap-find-or-start-server": "usage: stap-find-or-start-server [-h]",
    "stap-stop-server": "Usage: stap-stop-server PID\n",
    "stap-add-server-cert": "Usage: stap-add-server-cert CERTFILE DIRNAME\n",
    "stap-find-servers": "Usage: stap-find-servers [--all] [--timeout SECONDS]\n",
}


@pytest.mark.parametrize("command", sorted(HELP_STARTS))
def test_help(world: Env, command: str) -> None:
    # with every socket refused: --help never browses (nor connects)
    r = run(world, command, "--help", network="none")
    assert (r.returncode, r.stderr) == (0, b""), r.stderr.decode()
    assert r.stdout.decode().startswith(HELP_STARTS[command]), r.stdout.decode()


@pytest.mark.parametrize(
    ("command", "says"),
    [
        ("stap-start-server", "Start a SystemTap compile server (stap-serverd, with these"),
        ("stap-find-or-start-server", "Print 0 and exit 0 if a compatible SystemTap compile"),
        ("stap-serverd", "The SystemTap compile server (stapserver), in the foreground"),
    ],
)
def test_commands_that_take_the_server_options_describe_themselves(
    world: Env, command: str, says: str
) -> None:
    out = run(world, command, "--help", network="none").stdout.decode()
    assert f"\n{says}" in out
    # the server's options, as stap-serverd has them
    for option in ("--port PORT", "--max-request-size", "--max-compressed-request", "--ssl"):
        assert option in out


def test_usage_errors_stay_on_stderr(world: Env) -> None:
    r = run(world, "stap-stop-server")
    assert (r.returncode, r.stdout, r.stderr) == (1, b"", b"Usage: stap-stop-server PID\n")
    r = run(world, "stap-add-server-cert", "x")
    assert (r.returncode, r.stdout) == (1, b"")
    assert r.stderr == b"Usage: stap-add-server-cert CERTFILE DIRNAME\n"


def test_server_option_errors_name_the_command(world: Env) -> None:
    r = run(world, "stap-start-server", "--bogus")
    assert (r.returncode, r.stdout) == (1, b"")
    assert r.stderr == (
        b"stap-start-server: unrecognized arguments: --bogus (see stap-start-server --help)\n"
    )


def test_find_or_start_server_reads_its_options_before_the_network(world: Env) -> None:
    r = run(world, "stap-find-or-start-server", "--bogus", network="none")
    assert (r.returncode, r.stdout) == (1, b"-1\n")
    assert r.stderr == (
        b"stap-find-or-start-server: unrecognized arguments: --bogus "
        b"(see stap-find-or-start-server --help)\n"
    )


@pytest.mark.parametrize(
    ("server", "message"),
    [
        ("127.0.0.1:", "--server=127.0.0.1: has no port after ':'"),
        ("[::1]:", "--server=[::1]: has no port after ':'"),
        (
            "[fe80::1]:4000",
            "--server=[fe80::1]:4000: a link-local address needs its interface, "
            "as in --server=[fe80::1%eth0]:4000",
        ),
    ],
)
def test_client_server_values(world: Env, server: str, message: str) -> None:
    # said before any connection is attempted: sockets are refused here
    r = run(world, "stap-client", f"--server={server}", "-e", HELLO, network="none")
    assert (r.returncode, r.stdout, r.stderr.decode()) == (1, b"", message + "\n")


def test_a_request_over_the_size_limit_names_the_option(world: Env) -> None:
    r = run(
        world, "stap-start-server", "--address", "127.0.0.1", "--no-advertise",
        "--key-bits", "2048", "--max-request-size", "100",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr.decode()
    pid = int(r.stdout)
    status = json.loads((world.root / "run" / f"{pid}.json").read_text())
    script = 'probe begin { println("%s"); exit() }' % ("x" * 200)  # over 100 bytes
    r = run(world, "stap-client", f"--server=127.0.0.1:{status['port']}", "-e", script)
    assert r.returncode == 1
    assert (
        "stap-serverd: bad request: archive would unpack to more than 100 bytes "
        "(the limit, which the server's --max-request-size sets)"
    ) in r.stderr.decode()

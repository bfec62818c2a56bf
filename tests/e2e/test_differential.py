"""Differential test, in the spirit of SystemTap's own server tests: random combinations
of stap options and scripts, run by ``stap`` directly and by ``stap-client`` through our
server (SystemTap backend), must print the same and exit with the same status."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from .conftest import Env, Server, make_env, start_server
from .systemtap import headers_release, stap, systemtap_missing, without_noise

SCRIPTS = [
    'probe begin { printf("Hello World!\\n"); exit() }',
    'global a probe begin { a["x"] = strlen("four"); foreach (k in a) println(k, a[k]) }',
    "function f:long (n:long) { return n < 2 ? n : f(n - 1) + f(n - 2) } "
    "probe begin { println(f(10)); exit() }",
    "probe begin { println(pid() > 0, execname()) }",
    "probe begin { print(@1, $2) }",
    "probe begin { printf(1 }",
    'probe begin { x = "a" + 1 }',
    'probe kernel.function("no_such_function_here") { }',
    'probe timer.ms(100) { exit() } probe end { printf("%s\\n", pp()) }',
    "global s probe begin { s <<< 1; s <<< 3 } probe end { print(@hist_log(s)) }",
]
OPTIONS = [
    ["-w"],
    ["-u"],
    ["-DMAXACTION=500"],
    ["-G", "x=1"],
    ["--privilege=stapusr"],
    ["-s", "2"],
    ["-t"],
    ["-b"],
    ["-g"],
    ["-P"],
    ["--suppress-handler-errors"],
    ["-k"],  # keep the build folder: client-local, never sent to the server
]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Env, Server, str]]:
    why = systemtap_missing()
    if why:
        if os.environ.get("STAPSERVER_REQUIRE_STAP"):
            pytest.fail(f"real SystemTap is required here: {why}")
        pytest.skip(why)
    release = headers_release()
    assert release is not None
    env = make_env(tmp_path_factory.mktemp("differential"))
    server = start_server(env, "--key-bits", "2048")
    try:
        yield env, server, release
    finally:
        server.stop()


@settings(
    # 25 random combinations a run; STAPSERVER_DIFFERENTIAL_EXAMPLES=600 searches further
    max_examples=int(os.environ.get("STAPSERVER_DIFFERENTIAL_EXAMPLES", "25")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    script=st.sampled_from(SCRIPTS),
    options=st.lists(st.sampled_from(OPTIONS), max_size=3, unique_by=tuple),
    last_pass=st.sampled_from(["-p1", "-p2", "-p3"]),
    as_file=st.booleans(),
)
# what earlier runs found, tried on every run: a usage error stap explains with pointers
# to its manual; a usage error before an option a remote user may not give
@example(
    script=SCRIPTS[0], options=[["-g"], ["--privilege=stapusr"]], last_pass="-p1", as_file=False
)
@example(
    script=SCRIPTS[0],
    options=[["-g"], ["-DMAXACTION=500"], ["--privilege=stapusr"]],
    last_pass="-p1",
    as_file=False,
)
def test_direct_and_through_our_server_agree(
    world: tuple[Env, Server, str],
    script: str,
    options: list[list[str]],
    last_pass: str,
    as_file: bool,
) -> None:
    env, server, release = world
    flat = [word for option in options for word in option]
    # a script file's path is compiled into the C code, and the server sees the file
    # as script/<path>: -p3 differs there, through SystemTap's own client too
    assume(not (as_file and last_pass == "-p3"))
    if as_file:
        path = env.root / "script.stp"
        path.write_text(script)
        source = [str(path), "arg one", "2"]
    else:
        source = ["-e", script, "arg one", "2"]
    args = [f"-r{release}", last_pass, *flat, *source]
    remote = env.run(
        "stap-client", f"--server={server.address}", "--runtime=kernel", *args, cwd=env.root
    )
    refused = remote_refusal(flat)
    if refused:  # what stap --client-options refuses a remote user, as SystemTap's server
        assert remote.returncode == 1
        assert refused in remote.stderr.decode(), (args, remote.stderr)
        return
    direct = stap(*args, cwd=env.root)
    assert remote.returncode == direct.returncode, (args, remote.stderr, direct.stderr)
    assert remote.stdout == direct.stdout, args
    assert without_noise(remote.stderr) == without_noise(direct.stderr), args


def remote_refusal(words: list[str]) -> str:
    """What SystemTap's ``--client-options`` says to these options, or "" (also when
    the command line is wrong anyway: the client says that first, as stap does)."""
    if "-g" in words and "--privilege=stapusr" in words:
        return ""
    if "--privilege=stapusr" in words and any(w.startswith("-D") for w in words):
        return "You can't specify -D when --privilege=stapusr is specified."
    return ""


def test_client_paths_are_the_users(world: tuple[Env, Server, str], tmp_path: Path) -> None:
    """A script file's errors name it as the user did, not as the server saw it."""
    env, server, release = world
    bad = tmp_path / "bad.stp"
    bad.write_text("probe begin { printf(1 }\n")
    direct = stap(f"-r{release}", "-p2", str(bad))
    remote = env.run(
        "stap-client", f"--server={server.address}", "--runtime=kernel", f"-r{release}",
        "-p2", str(bad),
    )  # fmt: skip
    assert remote.returncode == direct.returncode == 1
    assert str(bad) in remote.stderr.decode()
    assert without_noise(remote.stderr) == without_noise(direct.stderr)

"""``pystap`` with kernel event probes as a command (root): every way a run ends runs
the end probes and exits 0; the kernel objects (BPF programs and maps, perf events)
belong to the process's file descriptors, so nothing is left behind, even after
SIGKILL; an ordinary user gets one line saying what is missing; ``-l``/``-L`` list
probe points as stap(1) shows."""

from __future__ import annotations

import os
import pwd
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from stapserver.runtime.kernel import bpf
from tests.runtime.kernel.objects import released

from .conftest import ordinary_user

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="kernel event probes need root")

PYSTAP = str(Path(sys.executable).parent / "pystap")
READY = 'probe begin { println("ready") } '
END = 'probe end { println("end") }'


def owned_bpf_ids(pid: int) -> tuple[set[int], set[int]]:
    """The ids of the BPF programs and maps process ``pid`` holds descriptors of."""
    progs: set[int] = set()
    maps: set[int] = set()
    folder = Path(f"/proc/{pid}/fdinfo")
    for info in folder.iterdir():
        try:
            text = info.read_text()
        except OSError:
            continue
        for line in text.splitlines():
            if line.startswith("prog_id:"):
                progs.add(int(line.split()[1]))
            elif line.startswith("map_id:"):
                maps.add(int(line.split()[1]))
    return progs, maps


@contextmanager
def started(*args: str, cwd: Path) -> Iterator[subprocess.Popen[str]]:
    """pystap running a script whose begin probe prints "ready": the probes are armed
    (pystap arms the kernel events before the begin probes run) once it is read."""
    p = subprocess.Popen(
        [PYSTAP, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        cwd=cwd,
    )
    try:
        assert p.stdout is not None
        assert p.stdout.readline() == "ready\n"
        yield p
    finally:
        if p.poll() is None:
            p.kill()
        p.communicate()


# -- ending ------------------------------------------------------------------------------


def _trigger_openat() -> None:
    with open("/etc/hostname", "rb"):
        pass


@pytest.mark.parametrize("how", ["exit", "SIGINT", "SIGTERM", "SIGHUP"])
def test_end_and_release(tmp_path: Path, how: str) -> None:
    before_p, before_m = bpf.live_bpf_program_ids(), bpf.live_bpf_map_ids()
    script = READY + f"probe syscall.openat {{ if (pid() == {os.getpid()}) exit() }} " + END
    with started("-e", script, cwd=tmp_path) as p:
        progs, maps = owned_bpf_ids(p.pid)
        assert progs and maps
        assert progs <= bpf.live_bpf_program_ids() and not progs & before_p
        assert maps <= bpf.live_bpf_map_ids() and not maps & before_m
        if how == "exit":
            _trigger_openat()
        else:
            p.send_signal(getattr(signal, how))
        out, err = p.communicate(timeout=10)
        assert (p.returncode, out, err) == (0, "end\n", "")
    assert released(progs, maps)


def test_end_by_timeout(tmp_path: Path) -> None:
    start = time.monotonic()
    with started("-T", "1", "-e", READY + "probe syscall.openat { } " + END, cwd=tmp_path) as p:
        progs, maps = owned_bpf_ids(p.pid)
        out, err = p.communicate(timeout=10)
    assert (p.returncode, out, err) == (0, "end\n", "")
    assert 1.0 <= time.monotonic() - start < 5
    assert released(progs, maps)


def test_end_of_command(tmp_path: Path) -> None:
    r = subprocess.run(
        [PYSTAP, "-e", "probe syscall.openat { } " + END, "-c", "/bin/true"],
        capture_output=True, text=True, cwd=tmp_path, timeout=20,
    )  # fmt: skip
    assert (r.returncode, r.stdout, r.stderr) == (0, "end\n", "")


@pytest.mark.parametrize("how", ["exit", "-T"])
def test_end_before_the_command(tmp_path: Path, how: str) -> None:
    # the script ends while the -c command still runs: staprun does not count that
    # command against the run (it neither waits for it nor reports it): status 0
    if how == "exit":
        args = ["-e", "probe syscall.nanosleep, syscall.clock_nanosleep "
                "{ if (pid() == target()) exit() } " + END]  # fmt: skip
    else:
        args = ["-T", "1", "-e", "probe syscall.openat { } " + END]
    r = subprocess.run(
        [PYSTAP, *args, "-c", "sleep 5"], capture_output=True, text=True, cwd=tmp_path,
        timeout=20,
    )  # fmt: skip
    assert (r.returncode, r.stdout, r.stderr) == (0, "end\n", "")


def test_sigkill_leaves_nothing(tmp_path: Path) -> None:
    with started("-e", READY + "probe syscall.openat { } " + END, cwd=tmp_path) as p:
        progs, maps = owned_bpf_ids(p.pid)
        assert progs and maps
        p.kill()
        p.wait(timeout=10)
    assert released(progs, maps)
    # and the next run works
    r = subprocess.run(
        [PYSTAP, "-e", "probe syscall.openat { } " + END, "-c", "/bin/true"],
        capture_output=True, text=True, cwd=tmp_path, timeout=20,
    )  # fmt: skip
    assert (r.returncode, r.stdout, r.stderr) == (0, "end\n", "")


# -- an ordinary user --------------------------------------------------------------------


def _as_user(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    user = ordinary_user()
    pw = pwd.getpwnam(user)
    home = tmp_path / "home"
    home.mkdir()
    os.chown(home, pw.pw_uid, pw.pw_gid)
    return subprocess.run(
        ["setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}", "--init-groups",
         PYSTAP, *args],
        capture_output=True, text=True, stdin=subprocess.DEVNULL, cwd=home, timeout=30,
        env={"PATH": "/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8"},
    )  # fmt: skip


@pytest.mark.parametrize(
    "script",
    [
        "probe syscall.openat { exit() }",
        'probe kernel.trace("sched:sched_process_exec") { exit() }',
    ],
)
def test_unprivileged_kernel_probe(tmp_path: Path, script: str) -> None:
    r = _as_user(tmp_path, "-e", script)
    assert (r.returncode, r.stdout) == (1, "")
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr
    assert "root" in lines[0] and "CAP_PERFMON" in lines[0] and "CAP_BPF" in lines[0]
    assert "Traceback" not in r.stderr


def test_unprivileged_portable_script(tmp_path: Path) -> None:
    r = _as_user(tmp_path, "-e", 'probe begin { println("hi"); exit() }')
    assert (r.returncode, r.stdout, r.stderr) == (0, "hi\n", "")


# -- listing ---------------------------------------------------------------------------


def test_list_syscall_aliases(tmp_path: Path) -> None:
    # stap(1) -l: the matching probe points, one a line, sorted; a wildcard matches one
    # component (syscall.open.return is not syscall.open*)
    r = subprocess.run(
        [PYSTAP, "-l", "syscall.open*"], capture_output=True, text=True, cwd=tmp_path,
        timeout=30,
    )  # fmt: skip
    assert (r.returncode, r.stderr) == (0, "")
    lines = r.stdout.splitlines()
    assert lines == sorted(set(lines))
    assert all(re.fullmatch(r"syscall\.open\w*", ln) for ln in lines), lines
    # stap 4.8's x86_64 tapset defines these three
    assert {"syscall.open", "syscall.open_by_handle_at", "syscall.openat"} <= set(lines)


def test_list_nothing_fails(tmp_path: Path) -> None:
    r = subprocess.run(
        [PYSTAP, "-l", "syscall.nosuchcall*"], capture_output=True, text=True,
        cwd=tmp_path, timeout=30,
    )  # fmt: skip
    assert (r.returncode, r.stdout) == (1, "")
    assert "Traceback" not in r.stderr


def test_list_tracepoint_variables(tmp_path: Path) -> None:
    # stap(1) -L: the probe point, then " $name:type" for each context variable
    r = subprocess.run(
        [PYSTAP, "-L", 'kernel.trace("sched:sched_process_exec")'],
        capture_output=True, text=True, cwd=tmp_path, timeout=30,
    )  # fmt: skip
    assert (r.returncode, r.stderr) == (0, "")
    lines = r.stdout.splitlines()
    assert len(lines) == 1, r.stdout
    point, _, rest = lines[0].partition(" ")
    assert point == 'kernel.trace("sched:sched_process_exec")'
    assert rest.startswith("$")
    names = re.findall(r"(?:^| )\$(\w+):", rest)
    assert names == ["filename", "pid", "old_pid"]

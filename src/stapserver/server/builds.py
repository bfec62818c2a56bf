"""Running one build in a process of its own.

The daemon has the translator loaded; each build is a ``fork()`` of it (a few
milliseconds, where starting a fresh interpreter costs a hundred), which then drops
everything it inherited: it closes every inherited descriptor (the listening socket, the
clients' connections), resets signals, starts a session of its own, takes its resource
limits and an environment of the client's locale only, and works in the request's
private folder.  Its output goes to two files the daemon reads afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import io
import os
import resource
import shutil
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from . import worker

MAX_FILE_BYTES = 256 * 1024 * 1024
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_LIBC = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def die_with_parent(parent: int) -> None:
    """Have the kernel kill this process when its parent (the daemon) dies, however it
    dies (``kill -9`` included): no build outlives its server.  It survives ``exec``
    (SystemTap's stap)."""
    _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before that took effect
        os._exit(70)


def job_prefix(pid: int | None = None) -> str:
    """The name every build folder of the server ``pid`` (this one) starts with."""
    return f"stapserver-{os.getpid() if pid is None else pid}-"


def remove_stale_jobs(folder: Path) -> list[Path]:
    """Remove the build folders that servers of this user left when they were killed
    (their process is gone); returns them."""
    removed: list[Path] = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return removed
    for entry in entries:
        parts = entry.name.split("-")
        if len(parts) < 3 or parts[0] != "stapserver":
            continue
        pid = parts[1]
        if not (pid.isascii() and pid.isdigit()) or Path(f"/proc/{pid}").exists():
            continue  # not a build folder, or its server still runs
        try:
            st = entry.lstat()
        except OSError:
            continue
        if st.st_uid != os.geteuid() or not entry.is_dir() or entry.is_symlink():
            continue
        shutil.rmtree(entry, ignore_errors=True)
        removed.append(entry)
    return removed


@dataclass(frozen=True)
class BuildResult:
    status: int  # the build's exit status; 1 if it was killed
    killed_by: int | None = None  # the signal that killed it
    timed_out: bool = False


def limit_resources(cpu_seconds: int) -> None:
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 5))
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))
    resource.setrlimit(resource.RLIMIT_FSIZE, (MAX_FILE_BYTES, MAX_FILE_BYTES))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _child(
    work: Path,
    out: Path,
    err: Path,
    args: list[str],
    release: str,
    arch: str,
    env: dict[str, str],
    cpu_seconds: int,
    command: list[str] | None,
    parent: int,
) -> NoReturn:  # pragma: no cover - runs in the forked child, measured by e2e tests
    status = 70
    try:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGCHLD):
            signal.signal(sig, signal.SIG_DFL)
        with contextlib.suppress(ValueError):
            signal.set_wakeup_fd(-1)
        os.setsid()
        die_with_parent(parent)
        stdin = os.open(os.devnull, os.O_RDONLY)
        stdout = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        stderr = os.open(err, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(stdin, 0)
        os.dup2(stdout, 1)
        os.dup2(stderr, 2)
        os.closerange(3, os.sysconf("SC_OPEN_MAX"))
        sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False))
        sys.stdout = io.TextIOWrapper(
            io.FileIO(1, "w", closefd=False), encoding="utf-8", errors="surrogateescape"
        )
        sys.stderr = io.TextIOWrapper(
            io.FileIO(2, "w", closefd=False), encoding="utf-8", errors="surrogateescape"
        )
        os.chdir(work)
        os.environ.clear()
        os.environ.update(env)
        limit_resources(cpu_seconds)
        if command is not None:  # SystemTap's stap builds it
            os.execve(command[0], command, os.environ)
        status = worker.build(args, release, arch)
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException as exc:
        with contextlib.suppress(BaseException):
            os.write(2, f"stap-serverd: build failed: {type(exc).__name__}: {exc}\n".encode())
    os._exit(status & 0xFF)


async def run_build(
    work: Path,
    out: Path,
    err: Path,
    args: list[str],
    release: str,
    arch: str,
    env: dict[str, str],
    timeout: float,
    command: list[str] | None = None,
) -> BuildResult:
    """Build in a forked child (our translator, or ``command``, SystemTap's stap, run
    in its place); wait for it without blocking the event loop."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        _child(work, out, err, args, release, arch, env, int(timeout) + 1, command, parent)
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    timed_out = False
    reaped: int | None = None
    try:
        pidfd = os.pidfd_open(pid)
    except OSError:
        pidfd = None
    try:
        if pidfd is not None:

            def exited() -> None:
                if not done.done():
                    done.set_result(None)

            loop.add_reader(pidfd, exited)
            try:
                await asyncio.wait_for(done, timeout)
            except TimeoutError:
                timed_out = True
            finally:
                loop.remove_reader(pidfd)
        else:
            deadline = loop.time() + timeout
            while True:
                got, status = os.waitpid(pid, os.WNOHANG)
                if got:
                    reaped = status
                    break
                if loop.time() > deadline:
                    timed_out = True
                    break
                await asyncio.sleep(0.01)
        if timed_out:
            for kill in (os.killpg, os.kill):
                with contextlib.suppress(ProcessLookupError):
                    kill(pid, signal.SIGKILL)
    finally:
        if pidfd is not None:
            os.close(pidfd)
    if reaped is not None:
        status = reaped
    else:
        try:
            _, status = os.waitpid(pid, 0)
        except ChildProcessError:
            return BuildResult(1, None, timed_out)
    if os.WIFSIGNALED(status):
        return BuildResult(1, os.WTERMSIG(status), timed_out)
    return BuildResult(os.WEXITSTATUS(status), None, timed_out)

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
import io
import os
import resource
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from . import worker

MAX_FILE_BYTES = 256 * 1024 * 1024


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
) -> NoReturn:  # pragma: no cover - runs in the forked child, measured by e2e tests
    status = 70
    try:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGCHLD):
            signal.signal(sig, signal.SIG_DFL)
        with contextlib.suppress(ValueError):
            signal.set_wakeup_fd(-1)
        os.setsid()
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
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        _child(work, out, err, args, release, arch, env, int(timeout) + 1, command)
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

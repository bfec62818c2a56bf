"""Shared helpers for the kernel-layer tests: they need root and a real kernel."""

from __future__ import annotations

import os
import signal
import struct
from typing import NamedTuple

import pytest

from stapserver.runtime.kernel import programs
from stapserver.runtime.kernel.ring import RingBuffer


@pytest.fixture(autouse=True)
def _need_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("kernel tests need root")


class Record(NamedTuple):
    index: int  # type: ignore[assignment]
    cpu: int
    tid: int
    pid: int
    uid: int
    gid: int
    ktime: int
    comm: bytes
    copy: bytes
    status: tuple[int, ...]
    strings: tuple[bytes, ...]


_HEAD = struct.Struct("<IIiiIIQ16s")


def decode(spec: programs.ProgramSpec, data: memoryview, off: int, length: int) -> Record:
    total, status_off, slots = programs.layout(spec)
    assert length == total
    rec = bytes(data[off : off + length])
    idx, cpu, tid, pid, uid, gid, kt, comm = _HEAD.unpack_from(rec)
    n = len(spec.strings)
    status = struct.unpack_from(f"<{n}i", rec, status_off)
    strs = tuple(rec[s : s + spec.string_slot].split(b"\0", 1)[0] for s in slots)
    copy = rec[programs.HEADER_SIZE : programs.HEADER_SIZE + programs.copy_size(spec)]
    return Record(idx, cpu, tid, pid, uid, gid, kt, comm.split(b"\0", 1)[0], copy, status, strs)


def drain_all(ring: RingBuffer, spec: programs.ProgramSpec) -> list[Record]:
    out: list[Record] = []
    ring.drain(lambda d, o, n: out.append(decode(spec, d, o, n)))
    return out


def spawn_stopped(
    argv: list[str], uid: int | None = None, gid: int | None = None, *,
    new_session: bool = False, new_group: bool = False,
) -> int:  # fmt: skip
    """Fork a child that sets itself up (a new session or process group; ``uid`` and
    ``gid``, which defaults to ``uid``), stops, then execs ``argv``: its pid (stopped)."""
    if gid is None:
        gid = uid
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            devnull = os.open("/dev/null", os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(devnull, fd)
            if new_session:
                os.setsid()
            if new_group:
                os.setpgid(0, 0)
            if gid is not None:
                os.setgroups([])
                os.setresgid(gid, gid, gid)
            if uid is not None:
                os.setresuid(uid, uid, uid)
            os.kill(os.getpid(), signal.SIGSTOP)
            os.execve(argv[0], argv, {"PATH": "/usr/bin:/bin", "LC_ALL": "C"})
        finally:
            os._exit(127)
    _, status = os.waitpid(pid, os.WUNTRACED)
    assert os.WIFSTOPPED(status)
    return pid


def resume_and_wait(pid: int) -> int:
    """Continue a :func:`spawn_stopped` child and reap it: its exit status."""
    os.kill(pid, signal.SIGCONT)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def resume(pid: int) -> None:
    os.kill(pid, signal.SIGCONT)

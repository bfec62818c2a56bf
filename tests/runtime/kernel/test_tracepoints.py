"""BPF programs on real tracepoints: filters, header, context copy, strings, the ring."""

from __future__ import annotations

import os
import struct
import time
from pathlib import Path

import pytest

from stapserver.runtime.kernel import KernelError, tracefs
from stapserver.runtime.kernel.programs import Filter, ProgramSpec
from stapserver.runtime.kernel.session import KernelObjects

from .conftest import Record, decode, drain_all, resume_and_wait, spawn_stopped

CAT = "/bin/cat"
MISSING = "/nonexistent/kernel-test-file"


def _openat() -> tuple[tracefs.EventFormat, int]:
    ev = tracefs.event_format("syscalls", "sys_enter_openat")
    f = ev.field("filename")
    assert f is not None and f.is_user_string
    return ev, f.offset


def _capture(
    filters: tuple[Filter, ...], argv: list[str], uid: int | None = None
) -> tuple[int, list[Record], int]:
    """Run ``argv`` with an openat program with ``filters`` (plus none): (pid, records, lost)."""
    ev, fn = _openat()
    with KernelObjects() as ko:
        ring = ko.ringbuf(1 << 20)
        lost = ko.lost_counter()
        pid = spawn_stopped(argv, uid)
        filters = tuple(Filter("pid", "==", pid) if f.what == "pid" else f for f in filters)
        spec = ProgramSpec(3, "tracepoint", ev.size, (fn,), 256, filters, True)
        ko.tracepoint(spec, ev.id, ring, lost)
        assert resume_and_wait(pid) == 1  # cat fails on the missing file
        from stapserver.runtime.kernel import bpf

        return pid, drain_all(ring, spec), bpf.read_lost(lost)


def test_tracefs_format() -> None:
    ev, fn = _openat()
    assert fn == 24 and ev.size == 48
    names = [f.name for f in ev.fields]
    assert names == ["__syscall_nr", "dfd", "filename", "flags", "mode"]
    exec_ev = tracefs.event_format("sched", "sched_process_exec")
    f = exec_ev.field("filename")
    assert f is not None and f.is_data_loc and not f.is_user_string
    assert f.ctype == "__data_loc char[]" and (f.offset, f.size) == (8, 4)
    comm = tracefs.event_format("sched", "sched_switch").field("prev_comm")
    assert comm is not None and comm.array_length == 16 and comm.ctype == "char[16]"
    assert ("syscalls", "sys_enter_openat") in tracefs.events()
    with pytest.raises(KernelError) as e:
        tracefs.event_format("nosuch", "event")
    assert e.value.message == "tracepoint nosuch:event is not available in this kernel"


def _user_opens(records: list[Record]) -> list[bytes]:
    """The filenames cat opens itself (after the loader and locale files)."""
    names = [r.strings[0] for r in records]
    first = names.index(b"/etc/hostname")
    return names[first:]


def test_pid_filter_captures_exact_filenames() -> None:
    pid, recs, lost = _capture((Filter("pid", "==", 0),), [CAT, "/etc/hostname", MISSING])
    assert lost == 0
    assert [r.pid for r in recs] == [pid] * len(recs)
    assert all(r.tid == pid and r.uid == 0 and r.gid == 0 for r in recs)
    assert all(r.comm == b"cat" and r.index == 3 for r in recs)
    assert _user_opens(recs) == [b"/etc/hostname", Path(MISSING).as_posix().encode()]
    # the context copy: syscall number (openat 257) and dfd AT_FDCWD
    for r in recs:
        assert r.copy[:8] == bytes(8)
        nr, dfd = struct.unpack_from("<iq", r.copy, 8)[0], struct.unpack_from("<q", r.copy, 16)[0]
        assert nr == 257 and (dfd & 0xFFFFFFFF) == 0xFFFFFF9C
        assert r.status[0] == len(r.strings[0]) + 1
    stamps = [r.ktime for r in recs]
    assert stamps == sorted(stamps)


def test_uid_filter() -> None:
    pid, recs, _ = _capture(
        (Filter("uid", "==", 65534), Filter("gid", "==", 65534)),
        [CAT, "/etc/hostname", MISSING],
        uid=65534,
    )
    assert recs and all(r.uid == 65534 and r.gid == 65534 for r in recs)
    mine = [r for r in recs if r.pid == pid]
    assert _user_opens(mine) == [b"/etc/hostname", MISSING.encode()]
    # the same child, as root, does not pass a uid != 0 filter
    _, recs, _ = _capture((Filter("pid", "==", 0), Filter("uid", "!=", 0)), [CAT, MISSING])
    assert recs == []


def test_comm_filter(tmp_path: Path) -> None:
    name = "kt-comm-filter-long-name"  # the kernel keeps the first 15 chars
    link = tmp_path / name
    link.symlink_to(CAT)
    pid, recs, _ = _capture((Filter("comm", "==", name.encode()),), [str(link), MISSING])
    assert recs and all(r.comm == name[:15].encode() for r in recs)
    assert [r.strings[0] for r in recs if r.pid == pid][-1] == MISSING.encode()
    # != excludes it; combined with the pid filter nothing is left
    _, recs, _ = _capture(
        (Filter("pid", "==", 0), Filter("comm", "!=", name[:15].encode())), [str(link), MISSING]
    )
    assert recs == []
    # a comm that differs only in the second word
    _, recs, _ = _capture(
        (Filter("pid", "==", 0), Filter("comm", "==", name[:14].encode())), [str(link), MISSING]
    )
    assert recs == []


def test_failed_string_read() -> None:
    """A bad user pointer: the status is negative and the slot empty."""
    ev = tracefs.event_format("syscalls", "sys_enter_openat")
    # the ``flags`` field (offset 32) read as a pointer: never a valid user address
    with KernelObjects() as ko:
        ring = ko.ringbuf(1 << 16)
        lost = ko.lost_counter()
        pid = spawn_stopped([CAT, MISSING])
        spec = ProgramSpec(0, "tracepoint", 16, (32, 24), 64, (Filter("pid", "==", pid),))
        ko.tracepoint(spec, ev.id, ring, lost)
        resume_and_wait(pid)
        recs = drain_all(ring, spec)
    assert recs
    for r in recs:
        assert r.status[0] < 0 and r.strings[0] == b""
        assert r.status[1] == len(r.strings[1]) + 1
    assert recs[-1].strings[1] == MISSING.encode()


def _dd_spec(index: int, syscall: str, fd: int, pid: int) -> tuple[ProgramSpec, int]:
    ev = tracefs.event_format("syscalls", f"sys_enter_{syscall}")
    f = ev.field("fd")
    assert f is not None
    filters = (Filter("field", "==", fd, f.offset, f.size, f.signed), Filter("pid", "==", pid))
    return ProgramSpec(index, "tracepoint", ev.size, (), 64, filters, False), ev.id


def test_field_filter_and_no_wakeup_polling() -> None:
    """100,000 syscalls of one child, all seen, none lost, by polling a NO_WAKEUP ring."""
    count = 50_000
    from stapserver.runtime.kernel import bpf

    with KernelObjects() as ko:
        ring = ko.ringbuf(1 << 23)
        lost = ko.lost_counter()
        pid = spawn_stopped(["/bin/dd", "if=/dev/zero", "of=/dev/null", "bs=1", f"count={count}"])
        specs = []
        for i, (sc, fd) in enumerate((("read", 0), ("write", 1))):
            spec, eid = _dd_spec(i, sc, fd, pid)
            ko.tracepoint(spec, eid, ring, lost)
            specs.append(spec)
        seen = [0, 0]
        fds: set[tuple[int, int]] = set()

        def handle(data: memoryview, off: int, length: int) -> None:
            seen[data[off]] += 1  # the probe index's low byte
            if seen[data[off]] == 1:
                r = decode(specs[0], data, off, length)
                fds.add((r.index, struct.unpack_from("<q", r.copy, 16)[0]))

        os.kill(pid, 18)  # SIGCONT
        while True:
            ring.drain(handle)
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            time.sleep(0.002)
        ring.drain(handle)
        assert bpf.read_lost(lost) == 0
    assert seen == [count, count]
    assert fds == {(0, 0), (1, 1)}


def test_overflow_counts_lost() -> None:
    from stapserver.runtime.kernel import bpf

    count = 20_000
    with KernelObjects() as ko:
        ring = ko.ringbuf(4096)
        lost = ko.lost_counter()
        pid = spawn_stopped(["/bin/dd", "if=/dev/zero", "of=/dev/null", "bs=1", f"count={count}"])
        spec, eid = _dd_spec(0, "read", 0, pid)
        ko.tracepoint(spec, eid, ring, lost)
        got = [0]

        def handle(data: memoryview, off: int, length: int) -> None:
            got[0] += 1

        os.kill(pid, 18)
        while True:
            ring.drain(handle)
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            time.sleep(0.005)
        ring.drain(handle)
        n_lost = bpf.read_lost(lost)
    assert n_lost > 0
    assert got[0] + n_lost == count


def test_data_loc_exec_filename() -> None:
    ev = tracefs.event_format("sched", "sched_process_exec")
    fn = ev.field("filename")
    pidf = ev.field("pid")
    assert fn is not None and pidf is not None
    with KernelObjects() as ko:
        ring = ko.ringbuf(1 << 16)
        lost = ko.lost_counter()
        pid = spawn_stopped(["/bin/true"])
        spec = ProgramSpec(5, "tracepoint", ev.size + 256, (), 64, (Filter("pid", "==", pid),))
        ko.tracepoint(spec, ev.id, ring, lost)
        assert resume_and_wait(pid) == 0
        recs = drain_all(ring, spec)
    assert len(recs) == 1
    r = recs[0]
    (loc,) = struct.unpack_from("<I", r.copy, fn.offset)
    start, length = loc & 0xFFFF, loc >> 16
    assert r.copy[start : start + length] == b"/bin/true\0"
    assert struct.unpack_from("<i", r.copy, pidf.offset)[0] == pid
    assert r.comm == b"true" and r.pid == pid


def test_max_copy_size() -> None:
    assert tracefs.event_format("syscalls", "sys_enter_openat").max_copy_size == 48
    assert tracefs.event_format("sched", "sched_process_exec").max_copy_size == 8192

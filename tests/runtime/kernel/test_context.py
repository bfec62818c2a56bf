"""Context capture: the task's parent, credentials, process group, session and argv, read
in the program at the event and right after the task is gone."""

from __future__ import annotations

import os
import signal
import struct
import sys
import time

import pytest

from stapserver.runtime.kernel import bpf, btf, programs, tracefs
from stapserver.runtime.kernel.programs import (
    CONTEXT_NAMES,
    ContextOffsets,
    Filter,
    ProgramSpec,
    context_layout,
)
from stapserver.runtime.kernel.session import KernelObjects

from .conftest import decode
from .conftest import spawn_stopped as spawn

Context = dict[str, int | bytes]


def read_context(spec: ProgramSpec, rec: bytes) -> Context:
    """The context items of one record: ints, pcomm (NUL-stripped), cmdline (its bytes)."""
    out: Context = {}
    cl = context_layout(spec)
    for name, (off, size) in cl.items():
        if name == "cmdline_len":
            continue
        if name == "pcomm":
            out[name] = rec[off : off + size].split(b"\0", 1)[0]
        elif name == "cmdline":
            n = struct.unpack_from("<i", rec, cl["cmdline_len"][0])[0]
            out[name] = rec[off : off + max(n, 0)]
        else:
            out[name] = struct.unpack_from("<I" if name in ("euid", "egid") else "<i", rec, off)[0]
    return out


def _my_comm() -> bytes:
    with open("/proc/self/comm", "rb") as f:
        return f.read().rstrip(b"\n")


def _exit_group(
    pid_argv: tuple[list[str], dict[str, object]], context: tuple[str, ...] = CONTEXT_NAMES,
    slot: int = programs.CMDLINE_SLOT,
) -> tuple[int, list[tuple[int, Context, bytes]]]:  # fmt: skip
    """Run a child to its exit_group with a context program filtering on its pid; read
    the ring only after the child is reaped: (pid, [(header pid, context, comm)])."""
    argv, kw = pid_argv
    ev = tracefs.event_format("syscalls", "sys_enter_exit_group")
    out: list[tuple[int, Context, bytes]] = []
    with KernelObjects() as ko:
        ring = ko.ringbuf(1 << 16)
        lost = ko.lost_counter()
        pid = spawn(argv, **kw)  # type: ignore[arg-type]
        spec = ProgramSpec(
            5, "tracepoint", ev.size, filters=(Filter("pid", "==", pid),), context=context,
            cmdline_slot=slot,
        )  # fmt: skip
        ko.tracepoint(spec, ev.id, ring, lost)
        os.kill(pid, signal.SIGCONT)
        os.waitpid(pid, 0)
        assert not os.path.exists(f"/proc/{pid}")  # gone before the record is read

        def take(d: memoryview, o: int, n: int) -> None:
            r = decode(spec, d, o, n)
            out.append((r.pid, read_context(spec, bytes(d[o : o + n])), r.comm))

        ring.drain(take)
        assert bpf.read_lost(lost) == 0
    return pid, out


def test_setsid_setpriv_child() -> None:
    argv = ["/usr/bin/setsid", "/usr/bin/setpriv", "--reuid=65534", "--regid=65534"]
    argv += ["--clear-groups", "/bin/true"]
    pid, recs = _exit_group((argv, {}))
    assert len(recs) == 1
    hpid, ctx, comm = recs[0]
    assert hpid == pid and comm == b"true"
    assert ctx == {
        "ppid": os.getpid(),
        "pcomm": _my_comm(),
        "euid": 65534,
        "egid": 65534,
        "pgrp": pid,
        "sid": pid,
        "cmdline": b"/bin/true\0",
    }


def test_group_without_session_and_distinct_ids() -> None:
    argv = ["/bin/true", "one", "two words", "", "last"]
    pid, recs = _exit_group((argv, {"uid": 1234, "gid": 4321, "new_group": True}))
    assert len(recs) == 1
    _, ctx, _ = recs[0]
    assert ctx["euid"] == 1234 and ctx["egid"] == 4321
    assert ctx["pgrp"] == pid and ctx["sid"] == os.getsid(0) != pid
    assert ctx["ppid"] == os.getpid()
    assert ctx["cmdline"] == b"/bin/true\0one\0two words\0\0last\0"


def test_inherited_group_and_session() -> None:
    _, recs = _exit_group((["/bin/true"], {}), ("sid", "pgrp"))
    assert [c for _, c, _ in recs] == [{"pgrp": os.getpgid(0), "sid": os.getsid(0)}]


def test_cmdline_truncated_to_slot() -> None:
    long = "x" * 300
    _, recs = _exit_group((["/bin/true", long], {}), ("cmdline",), slot=64)
    assert [c for _, c, _ in recs] == [{"cmdline": (b"/bin/true\0" + long.encode())[:64]}]
    _, recs = _exit_group((["/bin/true", long], {}), ("cmdline", "ppid"))
    ctx = recs[0][1]
    assert ctx["cmdline"] == (b"/bin/true\0" + long.encode())[: programs.CMDLINE_SLOT]
    assert ctx["ppid"] == os.getpid()


def test_context_after_strings() -> None:
    """Copy, strings and context in one record do not overlap."""
    ev = tracefs.event_format("syscalls", "sys_enter_openat")
    spec = ProgramSpec(
        1, "tracepoint", ev.size, (24,), 64, context=("euid", "cmdline", "pcomm"), cmdline_slot=100
    )
    total, _, slots = programs.layout(spec)
    cl = context_layout(spec)
    assert set(cl) == {"euid", "cmdline_len", "pcomm", "cmdline"}
    assert min(off for off, _ in cl.values()) >= slots[0] + 64
    assert max(off + size for off, size in cl.values()) <= total and total % 8 == 0
    missing = "/nonexistent/ctx-test"
    recs: list[tuple[bytes, Context]] = []
    with KernelObjects() as ko:
        ring = ko.ringbuf(1 << 16)
        lost = ko.lost_counter()
        pid = spawn(["/bin/cat", missing], uid=4242, gid=4242)
        spec = spec._replace(filters=(Filter("pid", "==", pid),))
        ko.tracepoint(spec, ev.id, ring, lost)
        os.kill(pid, signal.SIGCONT)
        os.waitpid(pid, 0)
        ring.drain(
            lambda d, o, n: recs.append(
                (decode(spec, d, o, n).strings[0], read_context(spec, bytes(d[o : o + n])))
            )
        )
    assert missing.encode() in [s for s, _ in recs]
    for _, ctx in recs:
        assert ctx == {
            "euid": 4242, "pcomm": _my_comm(), "cmdline": f"/bin/cat\0{missing}\0".encode(),
        }  # fmt: skip


BUSY = "import time\nt = time.monotonic() + 0.3\nwhile time.monotonic() < t:\n    pass\n"


def test_perf_program_context() -> None:
    spec = ProgramSpec(2, "perf", context=("ppid", "cmdline"))
    ctxs: list[Context] = []
    with KernelObjects() as ko:
        ring = ko.ringbuf(1 << 20)
        lost = ko.lost_counter()
        pid = spawn([sys.executable, "-c", BUSY])
        spec = spec._replace(filters=(Filter("pid", "==", pid),))
        ko.sampling(spec, bpf.PERF_TYPE_SOFTWARE, bpf.PERF_COUNT_SW_CPU_CLOCK, ring, lost, freq=200)
        os.kill(pid, signal.SIGCONT)
        os.waitpid(pid, 0)
        ring.drain(lambda d, o, n: ctxs.append(read_context(spec, bytes(d[o : o + n]))))
    assert len(ctxs) > 5
    want = f"{sys.executable}\0-c\0{BUSY}\0".encode()
    # a sample can fall before the exec, or find the argument page not resident
    # (bpf_probe_read_user cannot fault it in): most, not all, carry the arguments
    assert all(c["ppid"] == os.getpid() for c in ctxs)
    right = [c for c in ctxs if c == {"ppid": os.getpid(), "cmdline": want}]
    assert len(right) > 5 and len(right) >= 0.8 * len(ctxs), ctxs


def test_assemble_resolves_btf_only_for_context(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: object) -> ContextOffsets:
        raise AssertionError("BTF resolved")

    monkeypatch.setattr(programs, "context_offsets", refuse)
    programs.assemble(ProgramSpec(0, "tracepoint", 16, (8,)), 3, 4)  # no context: no BTF
    offs = ContextOffsets(task_real_parent=10, task_tgid=20)
    code = programs.assemble(ProgramSpec(0, "tracepoint", 16, context=("ppid",)), 3, 4, offs)
    assert len(code) % 8 == 0
    with pytest.raises(ValueError, match="no offset"):
        programs.assemble(ProgramSpec(0, "tracepoint", context=("pgrp",)), 3, 4, offs)
    with pytest.raises(ValueError, match="unknown context"):
        programs.assemble(ProgramSpec(0, "tracepoint", context=("nope",)), 3, 4, offs)
    with pytest.raises(AssertionError, match="BTF resolved"):
        programs.assemble(ProgramSpec(0, "tracepoint", context=("ppid",)), 3, 4)


def test_context_offsets_from_btf() -> None:
    kt = btf.KernelTypes(cache_dir=None)
    offs = programs.context_offsets(CONTEXT_NAMES, kt)
    assert all(v >= 0 for v in offs)
    assert offs.task_real_parent > 0 and offs.signal_sid == offs.signal_pgid + 8
    start = time.perf_counter()
    again = programs.context_offsets(CONTEXT_NAMES, btf.KernelTypes())
    assert again == offs and time.perf_counter() - start < 0.05  # from the cache
    only = programs.context_offsets(("ppid",), kt)
    assert only.task_tgid == offs.task_tgid and only.task_mm == -1

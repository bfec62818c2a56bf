"""Kernel objects die with their owner; errors are one clear line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from stapserver.runtime.kernel import KernelError, bpf, tracefs
from stapserver.runtime.kernel.programs import ProgramSpec
from stapserver.runtime.kernel.session import PRIVILEGE_MESSAGE, KernelObjects, check_privileges

from .objects import released


def _make(ko: KernelObjects) -> tuple[set[int], set[int]]:
    ev = tracefs.event_format("syscalls", "sys_enter_openat")
    ring = ko.ringbuf(1 << 16)
    lost = ko.lost_counter()
    spec = ProgramSpec(0, "tracepoint", ev.size, (24,), 64)
    tp_prog = ko.load(spec, ring, lost)
    ko.perf_fd(bpf.attach_tracepoint(ev.id, tp_prog))
    cpu_prog = ko.load(ProgramSpec(1, "perf", 0), ring, lost)
    clock = bpf.PERF_COUNT_SW_CPU_CLOCK
    for fd in bpf.attach_sampling(bpf.PERF_TYPE_SOFTWARE, clock, cpu_prog, freq=10):
        ko.perf_fd(fd)
    for fd in (ring.map_fd, lost, tp_prog, cpu_prog):
        with open(f"/proc/self/fdinfo/{fd}") as f:
            flags = next(int(ln.split()[1], 8) for ln in f if ln.startswith("flags:"))
        assert flags & os.O_CLOEXEC
    progs = {bpf.object_id(tp_prog), bpf.object_id(cpu_prog)}
    maps = {bpf.object_id(ring.map_fd), bpf.object_id(lost)}
    return progs, maps


def test_close_releases_everything() -> None:
    before_p, before_m = bpf.live_bpf_program_ids(), bpf.live_bpf_map_ids()
    ko = KernelObjects()
    progs, maps = _make(ko)
    assert len(progs) == 2 and len(maps) == 2
    assert progs <= bpf.live_bpf_program_ids() and maps <= bpf.live_bpf_map_ids()
    assert not (progs & before_p) and not (maps & before_m)
    ko.close()
    ko.close()  # idempotent
    assert released(progs, maps)


CHILD = """
import sys, time
from stapserver.runtime.kernel.session import KernelObjects
sys.path.insert(0, sys.argv[1])
from tests.runtime.kernel.test_lifecycle import _make
ko = KernelObjects()
progs, maps = _make(ko)
print(sorted(progs), sorted(maps), flush=True)
time.sleep(60)
"""


def test_sigkill_leaves_nothing() -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(Path(__file__).parents[3])],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        progs_s, maps_s = line.strip().split("] [")
        progs = {int(x) for x in progs_s.strip("[]").split(",")}
        maps = {int(x) for x in maps_s.strip("[]").split(",")}
        assert len(progs) == 2 and len(maps) == 2
        assert progs <= bpf.live_bpf_program_ids()
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert released(progs, maps)


def test_hardware_event_without_pmu() -> None:
    with KernelObjects() as ko:
        ring = ko.ringbuf(1 << 16)
        lost = ko.lost_counter()
        try:
            ko.sampling(
                ProgramSpec(0, "perf"),
                bpf.PERF_TYPE_HARDWARE,
                bpf.PERF_COUNT_HW_CPU_CYCLES,
                ring,
                lost,
                freq=99,
                what="hardware perf event cycles",
            )
        except KernelError as e:
            assert e.message == (
                "hardware perf event cycles is not available: "
                "this machine has no hardware performance counters (PMU)"
            )
            assert "\n" not in str(e)
        else:
            pytest.skip("this machine has a PMU")


def test_verifier_refusal_message() -> None:
    a = bpf.Asm()
    a.ldx(8, bpf.R0, bpf.R2, 0)  # r2 is not initialised
    a.exit()
    with pytest.raises(KernelError) as e:
        bpf.prog_load(a.assemble(), bpf.PROG_TRACEPOINT, "bad")
    assert e.value.message == (
        "the kernel refused BPF program bad (EACCES, Permission denied): R2 !read_ok"
    )


def test_check_privileges() -> None:
    check_privileges()  # root
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            os.close(r)
            os.setgroups([])
            os.setresgid(65534, 65534, 65534)
            os.setresuid(65534, 65534, 65534)
            try:
                check_privileges()
                os.write(w, b"allowed")
            except KernelError as e:
                os.write(w, e.message.encode())
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        out = f.read().decode()
    os.waitpid(pid, 0)
    assert out == PRIVILEGE_MESSAGE
    assert out == ("probes on kernel events need root (or CAP_PERFMON and CAP_BPF): run as root")


def test_check_privileges_setpriv() -> None:
    code = (
        "from stapserver.runtime.kernel import KernelError\n"
        "from stapserver.runtime.kernel.session import check_privileges\n"
        "try:\n    check_privileges()\nexcept KernelError as e:\n    print(e.message)\n"
    )
    try:
        out = subprocess.run(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
             sys.executable, "-c", code],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    except FileNotFoundError:
        pytest.skip("no setpriv")
    if out.returncode != 0:
        pytest.skip(f"cannot run python as nobody here: {out.stderr.strip()[-200:]}")
    assert out.stdout == PRIVILEGE_MESSAGE + "\n"

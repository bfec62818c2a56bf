"""A perf software-clock sampling program on every CPU."""

from __future__ import annotations

import os
import struct
import sys
import time

from stapserver.runtime.kernel import bpf
from stapserver.runtime.kernel.programs import ProgramSpec
from stapserver.runtime.kernel.session import KernelObjects

from .conftest import Record, decode, spawn_stopped

BUSY = "import time\nt = time.monotonic() + 1.0\nwhile time.monotonic() < t:\n    pass\n"


def test_cpu_clock_sampling() -> None:
    freq = 100
    spec = ProgramSpec(9, "perf")
    recs: list[Record] = []
    with KernelObjects() as ko:
        ring = ko.ringbuf(1 << 20)
        lost = ko.lost_counter()
        pid = spawn_stopped([sys.executable, "-c", BUSY])
        fds = ko.sampling(
            spec, bpf.PERF_TYPE_SOFTWARE, bpf.PERF_COUNT_SW_CPU_CLOCK, ring, lost, freq=freq
        )
        assert len(fds) == len(bpf.online_cpus())
        start = time.monotonic()
        os.kill(pid, 18)
        while not os.waitpid(pid, os.WNOHANG)[0]:
            ring.drain(lambda d, o, n: recs.append(decode(spec, d, o, n)))
            time.sleep(0.01)
        elapsed = time.monotonic() - start
        ring.drain(lambda d, o, n: recs.append(decode(spec, d, o, n)))
        assert bpf.read_lost(lost) == 0
    assert {r.cpu for r in recs} == set(bpf.online_cpus())
    assert all(r.index == 9 for r in recs)
    mine = [r for r in recs if r.pid == pid]
    # the child is busy for about a second (plus its start-up): about ``freq`` samples
    assert 0.5 * freq <= len(mine) <= 1.3 * freq * elapsed, (len(mine), elapsed)
    user = [r for r in mine if struct.unpack_from("<Q", r.copy, 8)[0] == 1]
    assert len(user) >= 0.5 * len(mine)
    for r in mine:
        ip, user_mode, _addr = struct.unpack("<QQQ", r.copy)
        assert user_mode in (0, 1)
        assert (ip < 1 << 47) == bool(user_mode)

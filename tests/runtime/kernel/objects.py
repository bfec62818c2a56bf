"""What tests of the kernel layer and of pystap ask of the kernel's BPF objects."""

from __future__ import annotations

import time

from stapserver.runtime.kernel import bpf


def released(progs: set[int], maps: set[int], timeout: float = 5.0) -> bool:
    """Whether every program and map id given is gone from the kernel (freeing is
    deferred: poll a while)."""
    deadline = time.monotonic() + timeout
    while True:
        if not (progs & bpf.live_bpf_program_ids()) and not (maps & bpf.live_bpf_map_ids()):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)

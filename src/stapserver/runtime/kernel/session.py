"""Ownership of a run's kernel objects, and the privilege check done before making any."""

from __future__ import annotations

import os
from types import TracebackType
from typing import TYPE_CHECKING, Protocol, TypeVar

from stapserver.runtime.kernel import KernelError

if TYPE_CHECKING:
    from stapserver.runtime.kernel.programs import ProgramSpec
    from stapserver.runtime.kernel.ring import RingBuffer

CAP_SYS_ADMIN = 21
CAP_PERFMON = 38
CAP_BPF = 39

PRIVILEGE_MESSAGE = "probes on kernel events need root (or CAP_PERFMON and CAP_BPF): run as root"


class _Closeable(Protocol):
    def close(self) -> None: ...


def effective_capabilities() -> int:
    """The CapEff mask of this process (0 when /proc cannot tell)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("CapEff:"):
                    return int(line.split()[1], 16)
    except OSError:
        pass
    return 0


def check_privileges() -> None:
    """Raise KernelError unless this process may load tracing BPF programs."""
    caps = effective_capabilities()
    if caps >> CAP_SYS_ADMIN & 1:
        return
    if caps >> CAP_PERFMON & 1 and caps >> CAP_BPF & 1:
        return
    raise KernelError(PRIVILEGE_MESSAGE)


_C = TypeVar("_C", bound=_Closeable)


class KernelObjects:
    """The fds and mappings of one run; :meth:`close` releases them all, newest first
    (perf events are disabled before anything is closed)."""

    def __init__(self) -> None:
        self._items: list[int | _Closeable] = []
        self._perf: list[int] = []
        self.closed = False

    def fd(self, fd: int) -> int:
        """Own a map or program fd; returns it."""
        self._items.append(fd)
        return fd

    def perf_fd(self, fd: int) -> int:
        """Own a perf event fd (disabled first at close); returns it."""
        self._perf.append(fd)
        self._items.append(fd)
        return fd

    def obj(self, obj: _C) -> _C:
        """Own anything with close() (a RingBuffer); returns it."""
        self._items.append(obj)
        return obj

    def ringbuf(self, size: int) -> RingBuffer:
        """A new ring buffer map of ``size`` bytes, mapped."""
        from stapserver.runtime.kernel import bpf
        from stapserver.runtime.kernel.ring import RingBuffer

        fd = self.fd(bpf.ringbuf(size))
        return self.obj(RingBuffer(fd, size))

    def lost_counter(self) -> int:
        """A new lost-records counter map's fd."""
        from stapserver.runtime.kernel import bpf

        return self.fd(bpf.lost_counter())

    def load(self, spec: ProgramSpec, ring: RingBuffer, lost_fd: int) -> int:
        """Assemble and load the program for ``spec``: its fd."""
        from stapserver.runtime.kernel import bpf, programs

        code = programs.assemble(spec, ring.map_fd, lost_fd)
        name = f"stap_{spec.kind[:2]}{spec.index}"
        return self.fd(bpf.prog_load(code, programs.prog_type(spec), name))

    def tracepoint(
        self, spec: ProgramSpec, event_id: int, ring: RingBuffer, lost_fd: int,
        what: str = "tracepoint",
    ) -> int:  # fmt: skip
        """Load ``spec`` and attach it to tracepoint ``event_id``: the perf event fd."""
        from stapserver.runtime.kernel import bpf

        prog = self.load(spec, ring, lost_fd)
        return self.perf_fd(bpf.attach_tracepoint(event_id, prog, what))

    def sampling(
        self, spec: ProgramSpec, type: int, config: int, ring: RingBuffer, lost_fd: int,
        period: int | None = None, freq: int | None = None, what: str = "perf event",
    ) -> list[int]:  # fmt: skip
        """Load ``spec`` (kind "perf") and attach it on every CPU: the perf event fds."""
        from stapserver.runtime.kernel import bpf

        prog = self.load(spec, ring, lost_fd)
        fds = bpf.attach_sampling(type, config, prog, period, freq, what)
        for fd in fds:
            self.perf_fd(fd)
        return fds

    def close(self) -> None:
        """Close everything owned (idempotent); errors are ignored."""
        if self.closed:
            return
        self.closed = True
        from stapserver.runtime.kernel import bpf

        for fd in self._perf:
            bpf.disable(fd)
        items, self._items, self._perf = self._items, [], []
        for item in reversed(items):
            try:
                if isinstance(item, int):
                    os.close(item)
                else:
                    item.close()
            except (OSError, ValueError, BufferError):
                pass

    def __enter__(self) -> KernelObjects:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

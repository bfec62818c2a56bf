"""The kernel layer of the python runtime: tracefs, BPF programs, ring buffers.

Everything here talks to the kernel through ``ctypes`` (bpf(2), perf_event_open(2)); no
compiler, bcc or libbpf.  This module stays import-light: the submodules import ``ctypes``.
"""

from __future__ import annotations

from stapserver.errors import StapError


class KernelError(StapError):
    """The kernel refused or lacks something: ``message`` is one line for the user."""

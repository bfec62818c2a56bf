"""The BPF programs the python runtime loads: filter, then write one ring-buffer record.

Record (the data of one ringbuf record, little-endian)::

    0  u32 probe_index    4  u32 cpu
    8  i32 tid           12  i32 pid (tgid)
    16 u32 uid           20  u32 gid
    24 u64 ktime_ns
    32 char comm[16]
    48 context copy: a tracepoint's first ``copy_size`` record bytes (bytes 0-7, where the
       kernel keeps a pt_regs pointer instead of the common fields, are zeroed), or for
       a perf sample: u64 ip, u64 user_mode (0/1), u64 addr
    status_offset: i32 per captured string (the helper's result: length with NUL, or -errno)
    slot_offsets[i]: string i, ``string_slot`` bytes (first byte 0 when the read failed)

Sections start 8-byte aligned; :func:`layout` gives the offsets.
"""

from __future__ import annotations

from typing import NamedTuple

from stapserver.runtime.kernel import bpf
from stapserver.runtime.kernel.bpf import (
    ADD,
    AND,
    ARSH,
    JEQ,
    JGE,
    JGT,
    JLE,
    JLT,
    JNE,
    JSGE,
    JSGT,
    JSLE,
    JSLT,
    LSH,
    R0,
    R1,
    R2,
    R3,
    R6,
    R7,
    R8,
    R10,
    RSH,
    Asm,
)

HEADER_SIZE = 48
PERF_COPY_SIZE = 24
MAX_COPY_SIZE = 8192  # PERF_MAX_TRACE_SIZE: see tracefs.EventFormat.max_copy_size
# ctx offsets in struct bpf_perf_event_data (x86_64 pt_regs, then sample_period, addr)
_PERF_IP = 16 * 8
_PERF_CS = 17 * 8
_PERF_ADDR = 22 * 8

OPS = ("==", "!=", "<", "<=", ">", ">=")
# the jump that skips the event when the comparison is false
_NOT_UNSIGNED = {"==": JNE, "!=": JEQ, "<": JGE, "<=": JGT, ">": JLE, ">=": JLT}
_NOT_SIGNED = {"==": JNE, "!=": JEQ, "<": JSGE, "<=": JSGT, ">": JSLE, ">=": JSLT}


class Filter(NamedTuple):
    """One condition an event must meet; a program's filters are ANDed.

    ``what``: "pid" (tgid), "tid", "uid", "gid", "comm" (== and != only, ``value`` bytes)
    or "field" (a tracepoint record field at ``offset`` of ``size`` bytes).
    """

    what: str
    op: str
    value: int | bytes
    offset: int = 0
    size: int = 8
    signed: bool = False


class ProgramSpec(NamedTuple):
    """What one program captures: see the module docstring for the record it writes."""

    index: int  # type: ignore[assignment]  # shadows tuple.index, as the brief names it
    kind: str  # "tracepoint" | "perf"
    copy_size: int = 0
    strings: tuple[int, ...] = ()  # ctx offsets of u64 user-string pointers
    string_slot: int = 256
    filters: tuple[Filter, ...] = ()
    wakeup: bool = True


def _up8(n: int) -> int:
    return (n + 7) & ~7


def copy_size(spec: ProgramSpec) -> int:
    """The bytes of context copied after the header."""
    return PERF_COPY_SIZE if spec.kind == "perf" else spec.copy_size


def layout(spec: ProgramSpec) -> tuple[int, int, list[int]]:
    """(total record size, offset of the string status array, offset of each slot)."""
    status = HEADER_SIZE + _up8(copy_size(spec))
    n = len(spec.strings)
    first = status + _up8(4 * n)
    stride = _up8(spec.string_slot)
    slots = [first + i * stride for i in range(n)]
    return first + n * stride, status, slots


def _check(spec: ProgramSpec) -> None:
    if spec.kind not in ("tracepoint", "perf"):
        raise ValueError(f"unknown program kind {spec.kind!r}")
    if spec.kind == "perf" and (spec.strings or any(f.what == "field" for f in spec.filters)):
        raise ValueError("perf programs capture no strings and have no record fields")
    if not 0 <= spec.copy_size <= MAX_COPY_SIZE or not 0 < spec.string_slot <= MAX_COPY_SIZE:
        raise ValueError("bad copy_size or string_slot")
    for f in spec.filters:
        if f.op not in OPS:
            raise ValueError(f"bad filter operator {f.op!r}")
        if f.what == "comm":
            if f.op not in ("==", "!=") or not isinstance(f.value, bytes):
                raise ValueError("comm filters compare bytes with == or !=")
        elif f.what in ("pid", "tid", "uid", "gid", "field"):
            if not isinstance(f.value, int):
                raise ValueError(f"{f.what} filters compare integers")
            if f.what == "field" and (f.size not in (1, 2, 4, 8) or f.offset % f.size):
                raise ValueError("field filters read 1, 2, 4 or 8 aligned bytes")
        else:
            raise ValueError(f"unknown filter {f.what!r}")


def _compare(a: Asm, reg: int, op: str, value: int, signed: bool, skip: str) -> None:
    """Jump to ``skip`` unless ``reg op value``."""
    jop = (_NOT_SIGNED if signed else _NOT_UNSIGNED)[op]
    if -(1 << 31) <= value < (1 << 31) and (signed or value >= 0):
        a.jmpi(jop, reg, value, skip)
    else:
        a.ld64(R1, value)
        a.jmp(jop, reg, R1, skip)


def comm_words(value: bytes) -> tuple[int, int]:
    """A comm as the kernel keeps it (15 chars, NUL-padded to 16) as two u64 words."""
    raw = value.split(b"\0", 1)[0][:15].ljust(16, b"\0")
    return int.from_bytes(raw[:8], "little"), int.from_bytes(raw[8:], "little")


def _filters(a: Asm, spec: ProgramSpec, skip: str) -> None:
    order = {"field": 0, "pid": 1, "tid": 1, "uid": 2, "gid": 2, "comm": 3}
    fs = sorted(spec.filters, key=lambda f: order[f.what])
    have: str | None = None  # which helper's result r8 holds
    for n, f in enumerate(fs):
        if f.what == "field":
            assert isinstance(f.value, int)
            a.ldx(f.size, R0, R6, f.offset)
            if f.signed and f.size < 8:
                a.alui(LSH, R0, 64 - 8 * f.size)
                a.alui(ARSH, R0, 64 - 8 * f.size)
            _compare(a, R0, f.op, f.value, f.signed, skip)
        elif f.what in ("pid", "tid", "uid", "gid"):
            assert isinstance(f.value, int)
            src = "ids" if f.what in ("pid", "tid") else "creds"
            if have != src:
                a.call(bpf.FN_get_current_pid_tgid if src == "ids" else bpf.FN_get_current_uid_gid)
                a.mov(R8, R0)
                have = src
            if f.what in ("pid", "gid"):
                a.mov(R0, R8)
                a.alui(RSH, R0, 32)
            else:
                a.mov32(R0, R8)
            _compare(a, R0, f.op, f.value & 0xFFFFFFFF, False, skip)
        else:  # comm
            assert isinstance(f.value, bytes)
            lo, hi = comm_words(f.value)
            a.mov(R1, R10)
            a.alui(ADD, R1, -16)
            a.movi(R2, 16)
            a.call(bpf.FN_get_current_comm)
            a.ldx(8, R0, R10, -16)
            a.ld64(R1, lo)
            a.ldx(8, R2, R10, -8)
            a.ld64(R3, hi)
            if f.op == "==":
                a.jmp(JNE, R0, R1, skip)
                a.jmp(JNE, R2, R3, skip)
            else:
                ok = f"comm_ok_{n}"
                a.jmp(JNE, R0, R1, ok)
                a.jmp(JEQ, R2, R3, skip)
                a.label(ok)


def assemble(spec: ProgramSpec, ring_fd: int, lost_fd: int) -> bytes:
    """The program for ``spec``, writing to ring ``ring_fd`` and counting drops in
    ``lost_fd`` (a :func:`bpf.lost_counter`)."""
    _check(spec)
    total, status, slots = layout(spec)
    a = Asm()
    a.mov(R6, R1)  # ctx
    _filters(a, spec, "out")

    a.ld_map(R1, ring_fd)
    a.movi(R2, total)
    a.movi(R3, 0)
    a.call(bpf.FN_ringbuf_reserve)
    a.jmpi(JEQ, R0, 0, "lost")
    a.mov(R7, R0)

    a.st(4, R7, 0, spec.index)
    a.call(bpf.FN_get_smp_processor_id)
    a.stx(4, R7, 4, R0)
    a.call(bpf.FN_get_current_pid_tgid)
    a.stx(8, R7, 8, R0)
    a.call(bpf.FN_get_current_uid_gid)
    a.stx(8, R7, 16, R0)
    a.call(bpf.FN_ktime_get_ns)
    a.stx(8, R7, 24, R0)
    a.mov(R1, R7)
    a.alui(ADD, R1, 32)
    a.movi(R2, 16)
    a.call(bpf.FN_get_current_comm)

    if spec.kind == "perf":
        a.ldx(8, R0, R6, _PERF_IP)
        a.stx(8, R7, HEADER_SIZE, R0)
        a.ldx(8, R0, R6, _PERF_CS)
        a.alui(AND, R0, 3)
        a.movi(R1, 0)
        a.jmpi(JNE, R0, 3, "kernel_mode")
        a.movi(R1, 1)
        a.label("kernel_mode")
        a.stx(8, R7, HEADER_SIZE + 8, R1)
        a.ldx(8, R0, R6, _PERF_ADDR)
        a.stx(8, R7, HEADER_SIZE + 16, R0)
    elif spec.copy_size > 0:
        # bytes 0-7 of a tracepoint ctx hold a pt_regs pointer, not the common fields
        a.st(8, R7, HEADER_SIZE, 0)
        if spec.copy_size > 8:
            a.mov(R1, R7)
            a.alui(ADD, R1, HEADER_SIZE + 8)
            a.movi(R2, spec.copy_size - 8)
            a.mov(R3, R6)
            a.alui(ADD, R3, 8)
            a.call(bpf.FN_probe_read_kernel)

    for i, (ctx_off, slot) in enumerate(zip(spec.strings, slots, strict=True)):
        a.mov(R1, R7)
        a.alui(ADD, R1, slot)
        a.movi(R2, spec.string_slot)
        a.ldx(8, R3, R6, ctx_off)
        a.call(bpf.FN_probe_read_user_str)
        a.stx(4, R7, status + 4 * i, R0)
        a.jmpi(JSGE, R0, 0, f"str_ok_{i}")
        a.st(1, R7, slot, 0)
        a.label(f"str_ok_{i}")

    a.mov(R1, R7)
    a.movi(R2, 0 if spec.wakeup else bpf.BPF_RB_NO_WAKEUP)
    a.call(bpf.FN_ringbuf_submit)
    a.movi(R0, 0)
    a.exit()

    a.label("lost")
    a.st(4, R10, -4, 0)
    a.ld_map(R1, lost_fd)
    a.mov(R2, R10)
    a.alui(ADD, R2, -4)
    a.call(bpf.FN_map_lookup_elem)
    a.jmpi(JEQ, R0, 0, "out")
    a.movi(R1, 1)
    a.atomic_add(8, R0, 0, R1)
    a.label("out")
    a.movi(R0, 0)
    a.exit()
    return a.assemble()


def prog_type(spec: ProgramSpec) -> int:
    """The BPF program type for ``spec``."""
    return bpf.PROG_PERF_EVENT if spec.kind == "perf" else bpf.PROG_TRACEPOINT

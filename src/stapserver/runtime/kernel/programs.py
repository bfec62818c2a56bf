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
    context: what ``spec.context`` asks for about the task at the event, read from the
       kernel's task_struct at offsets from BTF (only the items asked for, in this order):
       i32 ppid (real_parent->tgid), i32 pgrp, i32 sid (signal->pids[PGID|SID]->numbers[0].nr,
       i.e. the initial pid namespace's numbers, like the header's pid), u32 euid, u32 egid
       (cred->euid/egid), i32 cmdline_len (bytes read, or -errno when the read failed),
       char pcomm[16] (real_parent->comm), then the cmdline slot: ``cmdline_slot`` bytes
       of mm->arg_start..arg_end (the argv strings, each NUL-terminated; truncated to the
       slot; only the first cmdline_len bytes are meaningful).  A value that cannot be
       read (no parent, no mm: a kernel thread) is 0.

Sections start 8-byte aligned; :func:`layout` and :func:`context_layout` give the offsets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

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
    R9,
    R10,
    RSH,
    SUB,
    Asm,
)

if TYPE_CHECKING:
    from stapserver.runtime.kernel.btf import KernelTypes

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

FN_get_current_task = 35  # not in bpf.py (not ours to edit)

CONTEXT_NAMES = ("ppid", "pcomm", "euid", "egid", "pgrp", "sid", "cmdline")
CMDLINE_SLOT = 256
# the order of the context section, and each item's size ("cmdline" is cmdline_slot bytes)
_CONTEXT_ORDER = (
    ("ppid", 4), ("pgrp", 4), ("sid", 4), ("euid", 4), ("egid", 4), ("cmdline_len", 4),
    ("pcomm", 16), ("cmdline", 0),
)  # fmt: skip


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
    context: tuple[str, ...] = ()  # among CONTEXT_NAMES: the task's values at the event
    cmdline_slot: int = CMDLINE_SLOT
    # no handler reads uid, gid, time or comm: the header leaves them 0 (three helper
    # calls fewer per event)
    light: bool = False


class ContextOffsets(NamedTuple):
    """Kernel struct offsets the context reads need (-1: not resolved, not needed)."""

    task_real_parent: int = -1
    task_tgid: int = -1
    task_comm: int = -1
    task_cred: int = -1
    cred_euid: int = -1
    cred_egid: int = -1
    task_signal: int = -1
    signal_pgid: int = -1  # signal_struct.pids[PIDTYPE_PGID]
    signal_sid: int = -1  # signal_struct.pids[PIDTYPE_SID]
    pid_nr: int = -1  # pid.numbers[0].nr
    task_mm: int = -1
    mm_arg_start: int = -1
    mm_arg_end: int = -1


# what each context item needs: (field, struct, member path, expected size)
_NEEDS: dict[str, tuple[tuple[str, str, str, int], ...]] = {
    "ppid": (("task_real_parent", "task_struct", "real_parent", 8),
             ("task_tgid", "task_struct", "tgid", 4)),
    "pcomm": (("task_real_parent", "task_struct", "real_parent", 8),
              ("task_comm", "task_struct", "comm", 16)),
    "euid": (("task_cred", "task_struct", "cred", 8), ("cred_euid", "cred", "euid", 4)),
    "egid": (("task_cred", "task_struct", "cred", 8), ("cred_egid", "cred", "egid", 4)),
    "pgrp": (("task_signal", "task_struct", "signal", 8), ("pid_nr", "pid", "numbers[0].nr", 4)),
    "sid": (("task_signal", "task_struct", "signal", 8), ("pid_nr", "pid", "numbers[0].nr", 4)),
    "cmdline": (("task_mm", "task_struct", "mm", 8), ("mm_arg_start", "mm_struct", "arg_start", 8),
                ("mm_arg_end", "mm_struct", "arg_end", 8)),
}  # fmt: skip


def context_offsets(names: tuple[str, ...], types: KernelTypes | None = None) -> ContextOffsets:
    """The offsets the context items ``names`` need, from the running kernel's BTF
    (through the per-kernel cache: BTF is parsed only when the cache lacks one)."""
    from stapserver.runtime.kernel import btf

    kt = types if types is not None else btf.kernel_types()
    got: dict[str, int] = {}
    for name in names:
        if name not in _NEEDS:
            raise ValueError(f"unknown context item {name!r}")
        for field, struct_name, path, size in _NEEDS[name]:
            if field in got:
                continue
            off, real = kt.member_offset(struct_name, path)
            if real != size:
                raise btf.BtfError(f"kernel {struct_name}.{path} is {real} bytes, not {size}")
            got[field] = off
        if name in ("pgrp", "sid"):
            item = "PIDTYPE_PGID" if name == "pgrp" else "PIDTYPE_SID"
            n = kt.enum_value("pid_type", item)
            off, size = kt.member_offset("signal_struct", f"pids[{n}]")
            if size != 8:
                raise btf.BtfError(f"kernel signal_struct.pids[{n}] is {size} bytes, not 8")
            got["signal_pgid" if name == "pgrp" else "signal_sid"] = off
    return ContextOffsets(**got)


def _up8(n: int) -> int:
    return (n + 7) & ~7


def copy_size(spec: ProgramSpec) -> int:
    """The bytes of context copied after the header."""
    return PERF_COPY_SIZE if spec.kind == "perf" else spec.copy_size


def _strings_layout(spec: ProgramSpec) -> tuple[int, int, list[int]]:
    """(end of the string slots, offset of the string status array, offset of each slot)."""
    status = HEADER_SIZE + _up8(copy_size(spec))
    n = len(spec.strings)
    first = status + _up8(4 * n)
    stride = _up8(spec.string_slot)
    slots = [first + i * stride for i in range(n)]
    return first + n * stride, status, slots


def _context_layout(spec: ProgramSpec, start: int) -> tuple[int, dict[str, tuple[int, int]]]:
    out: dict[str, tuple[int, int]] = {}
    want = set(spec.context)
    if "cmdline" in want:
        want.add("cmdline_len")
    off = start
    for name, size in _CONTEXT_ORDER:
        if name not in want:
            continue
        if size == 0:
            size = spec.cmdline_slot
        if size >= 8:
            off = _up8(off)
        out[name] = (off, size)
        off += size
    return _up8(off), out


def layout(spec: ProgramSpec) -> tuple[int, int, list[int]]:
    """(total record size, offset of the string status array, offset of each slot)."""
    end, status, slots = _strings_layout(spec)
    if spec.context:
        end = _context_layout(spec, end)[0]
    return end, status, slots


def context_layout(spec: ProgramSpec) -> dict[str, tuple[int, int]]:
    """(offset, size) in the record of each context item of ``spec``: the names of
    ``spec.context``, plus "cmdline_len" (i32) with "cmdline"; empty without context."""
    if not spec.context:
        return {}
    return _context_layout(spec, _strings_layout(spec)[0])[1]


def _check(spec: ProgramSpec) -> None:
    if spec.kind not in ("tracepoint", "perf"):
        raise ValueError(f"unknown program kind {spec.kind!r}")
    if spec.kind == "perf" and (spec.strings or any(f.what == "field" for f in spec.filters)):
        raise ValueError("perf programs capture no strings and have no record fields")
    if not 0 <= spec.copy_size <= MAX_COPY_SIZE or not 0 < spec.string_slot <= MAX_COPY_SIZE:
        raise ValueError("bad copy_size or string_slot")
    for name in spec.context:
        if name not in CONTEXT_NAMES:
            raise ValueError(f"unknown context item {name!r}")
    if len(set(spec.context)) != len(spec.context):
        raise ValueError("context items repeated")
    if not 0 < spec.cmdline_slot <= MAX_COPY_SIZE:
        raise ValueError("bad cmdline_slot")
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


def _read_kernel(a: Asm, dst: int, dst_off: int, size: int, src: int, src_off: int) -> None:
    """bpf_probe_read_kernel(dst + dst_off, size, src + src_off) (``src`` a register other
    than r1-r2; the destination is zeroed when the read fails)."""
    if src != R3:
        a.mov(R3, src)
    if src_off:
        a.alui(ADD, R3, src_off)
    a.mov(R1, dst)
    if dst_off:
        a.alui(ADD, R1, dst_off)
    a.movi(R2, size)
    a.call(bpf.FN_probe_read_kernel)


def _read_ptr(a: Asm, into: int, src: int, src_off: int) -> None:
    """into = *(u64 *)(src + src_off), read safely (0 when the read fails)."""
    _read_kernel(a, R10, -8, 8, src, src_off)
    a.ldx(8, into, R10, -8)


def _context(a: Asm, spec: ProgramSpec, offs: ContextOffsets) -> None:
    """Fill the context section of the record at r7; r8 = current task, r9 = scratch."""
    want = set(spec.context)
    cl = context_layout(spec)
    for name in want:
        for field, struct_name, path, _ in _NEEDS[name]:
            if getattr(offs, field) < 0:
                raise ValueError(f"no offset for {struct_name}.{path} (context {name})")
    if ("pgrp" in want and offs.signal_pgid < 0) or ("sid" in want and offs.signal_sid < 0):
        raise ValueError("no offset for signal_struct.pids[]")

    a.call(FN_get_current_task)
    a.mov(R8, R0)
    if want & {"ppid", "pcomm"}:
        _read_ptr(a, R9, R8, offs.task_real_parent)
        if "ppid" in want:
            _read_kernel(a, R7, cl["ppid"][0], 4, R9, offs.task_tgid)
        if "pcomm" in want:
            _read_kernel(a, R7, cl["pcomm"][0], 16, R9, offs.task_comm)
    if want & {"euid", "egid"}:
        _read_ptr(a, R9, R8, offs.task_cred)
        if (
            {"euid", "egid"} <= want
            and offs.cred_egid == offs.cred_euid + 4
            and cl["egid"][0] == cl["euid"][0] + 4
        ):
            _read_kernel(a, R7, cl["euid"][0], 8, R9, offs.cred_euid)
        else:
            for name, off in (("euid", offs.cred_euid), ("egid", offs.cred_egid)):
                if name in want:
                    _read_kernel(a, R7, cl[name][0], 4, R9, off)
    if want & {"pgrp", "sid"}:
        _read_ptr(a, R9, R8, offs.task_signal)
        for name, off in (("pgrp", offs.signal_pgid), ("sid", offs.signal_sid)):
            if name in want:
                _read_ptr(a, R3, R9, off)  # the struct pid *
                _read_kernel(a, R7, cl[name][0], 4, R3, offs.pid_nr)
    if "cmdline" in want:
        slot, slot_size = cl["cmdline"]
        len_at = cl["cmdline_len"][0]
        _read_ptr(a, R9, R8, offs.task_mm)
        # arg_start at fp-24, arg_end at fp-16
        if offs.mm_arg_end == offs.mm_arg_start + 8:
            _read_kernel(a, R10, -24, 16, R9, offs.mm_arg_start)
        else:
            _read_kernel(a, R10, -24, 8, R9, offs.mm_arg_start)
            _read_kernel(a, R10, -16, 8, R9, offs.mm_arg_end)
        a.ldx(8, R3, R10, -24)
        a.ldx(8, R2, R10, -16)
        a.jmp(JLE, R2, R3, "cmdline_empty")
        a.alu(SUB, R2, R3)
        a.jmpi(JLE, R2, slot_size, "cmdline_len_ok")  # bounds r2 for the verifier
        a.movi(R2, slot_size)
        a.label("cmdline_len_ok")
        a.stx(4, R7, len_at, R2)
        a.mov(R1, R7)
        a.alui(ADD, R1, slot)
        a.call(bpf.FN_probe_read_user)
        a.jmpi(JEQ, R0, 0, "cmdline_done")
        a.stx(4, R7, len_at, R0)  # -errno
        a.ja("cmdline_done")
        a.label("cmdline_empty")
        a.st(4, R7, len_at, 0)
        a.label("cmdline_done")


def assemble(
    spec: ProgramSpec, ring_fd: int, lost_fd: int, offsets: ContextOffsets | None = None
) -> bytes:
    """The program for ``spec``, writing to ring ``ring_fd`` and counting drops in
    ``lost_fd`` (a :func:`bpf.lost_counter`).  With ``spec.context``, ``offsets`` gives
    the kernel struct offsets (None: :func:`context_offsets` of the running kernel)."""
    _check(spec)
    total, status, slots = layout(spec)
    if spec.context and offsets is None:
        offsets = context_offsets(spec.context)
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
    if spec.light:
        for off in (16, 24, 32, 40):  # ring records are not zeroed
            a.st(8, R7, off, 0)
    else:
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

    if spec.context:
        assert offsets is not None
        _context(a, spec, offsets)

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


SYSCALL_SLOTS = 1024  # syscall numbers a dispatcher hands on (x86_64 has about 470)


def dispatcher(prog_array_fd: int) -> bytes:
    """A program for raw_syscalls:sys_enter or sys_exit that hands each event to the
    program at its syscall number in ``prog_array_fd`` (a tail call), if any.  Their
    records start alike (``id``/``__syscall_nr`` at 8, the arguments or ``ret`` from
    16), so each syscall's own program (made for its syscalls:sys_enter_X or
    sys_exit_X) runs unchanged, and a module probing hundreds of syscalls attaches to
    two tracepoints instead of hundreds: detaching a BPF program from a tracepoint
    costs the kernel some 60 ms."""
    a = Asm()
    a.mov(R6, R1)
    a.ldx(8, R3, R6, 8)  # id
    a.jmpi(JGE, R3, SYSCALL_SLOTS, "out")  # unsigned: also -1, no syscall
    a.mov(R1, R6)
    a.ld_map(R2, prog_array_fd)
    a.call(bpf.FN_tail_call)
    a.label("out")
    a.movi(R0, 0)
    a.exit()
    return a.assemble()

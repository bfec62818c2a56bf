"""A small BPF assembler and the bpf(2) / perf_event_open(2) calls, through ctypes.

Every fd made here is close-on-exec; nothing is pinned and no tracefs file is written, so
every kernel object dies with the process, even on SIGKILL.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno as _errno
import fcntl
import mmap
import os
import struct

from stapserver.runtime.kernel import KernelError

# -- syscalls -----------------------------------------------------------------------------

SYS_BPF = 321
SYS_PERF_EVENT_OPEN = 298

_libc = ctypes.CDLL(None, use_errno=True)
_syscall = _libc.syscall
_syscall.restype = ctypes.c_long

# bpf(2) commands
BPF_MAP_CREATE = 0
BPF_MAP_LOOKUP_ELEM = 1
BPF_MAP_UPDATE_ELEM = 2
BPF_PROG_LOAD = 5
BPF_PROG_GET_NEXT_ID = 11
BPF_MAP_GET_NEXT_ID = 12
BPF_OBJ_GET_INFO_BY_FD = 15

# map types
MAP_HASH = 1
MAP_ARRAY = 2
MAP_PERCPU_ARRAY = 6
MAP_RINGBUF = 27
MAP_PROG_ARRAY = 3

# program types
PROG_KPROBE = 2
PROG_TRACEPOINT = 5
PROG_PERF_EVENT = 7

# helpers
FN_map_lookup_elem = 1
FN_tail_call = 12
FN_ktime_get_ns = 5
FN_get_smp_processor_id = 8
FN_get_current_pid_tgid = 14
FN_get_current_uid_gid = 15
FN_get_current_comm = 16
FN_probe_read_user = 112
FN_probe_read_kernel = 113
FN_probe_read_user_str = 114
FN_probe_read_kernel_str = 115
FN_ringbuf_output = 130
FN_ringbuf_reserve = 131
FN_ringbuf_submit = 132
FN_ringbuf_discard = 133

BPF_RB_NO_WAKEUP = 1
BPF_RB_FORCE_WAKEUP = 2

_ATTR_SIZE = 128


def _bpf(cmd: int, attr: ctypes.Array[ctypes.c_char]) -> int:
    """bpf(cmd, attr): the result, or -errno."""
    rc: int = _syscall(SYS_BPF, cmd, attr, ctypes.sizeof(attr))
    if rc < 0:
        return -ctypes.get_errno()
    return rc


def _attr(*pieces: tuple[int, str, object]) -> ctypes.Array[ctypes.c_char]:
    buf = ctypes.create_string_buffer(_ATTR_SIZE)
    for off, fmt, value in pieces:
        struct.pack_into(fmt, buf, off, value)
    return buf


def _errname(err: int) -> str:
    return _errno.errorcode.get(err, str(err))


def _objname(name: str) -> bytes:
    """A kernel object name: at most 15 chars of [A-Za-z0-9_.]."""
    clean = "".join(c if c.isalnum() or c in "_." else "_" for c in name)
    return clean.encode("ascii", "replace")[:15]


# -- instructions -------------------------------------------------------------------------

# classes
LD, LDX, ST, STX, ALU, JMP, JMP32, ALU64 = 0, 1, 2, 3, 4, 5, 6, 7
# sizes
W, H, B, DW = 0x00, 0x08, 0x10, 0x18
SIZE = {1: B, 2: H, 4: W, 8: DW}
# modes
IMM, MEM, ATOMIC = 0x00, 0x60, 0xC0
# sources
K, X = 0x00, 0x08
# ALU ops
ADD, SUB, MUL, DIV, OR, AND, LSH, RSH, NEG, MOD, XOR, MOV, ARSH = (
    0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x80, 0x90, 0xA0, 0xB0, 0xC0,
)  # fmt: skip
# JMP ops
JA, JEQ, JGT, JGE, JSET, JNE, JSGT, JSGE, CALL, EXIT, JLT, JLE, JSLT, JSLE = (
    0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x80, 0x90, 0xA0, 0xB0, 0xC0, 0xD0,
)  # fmt: skip
PSEUDO_MAP_FD = 1

R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10 = range(11)

_INSN = struct.Struct("<BBhi")


def insn(code: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> bytes:
    """One 8-byte instruction."""
    return _INSN.pack(code, (src << 4) | dst, off, imm)


class Asm:
    """An instruction list with labels; ``assemble()`` resolves jumps to labels."""

    def __init__(self) -> None:
        # (code, dst, src, off, imm, label-or-None)
        self._insns: list[tuple[int, int, int, int, int, str | None]] = []
        self._labels: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._insns)

    def _emit(
        self, code: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0,
        target: str | None = None,
    ) -> None:  # fmt: skip
        self._insns.append((code, dst, src, off, imm, target))

    def label(self, name: str) -> None:
        """Place label ``name`` at the next instruction."""
        if name in self._labels:
            raise ValueError(f"label {name} defined twice")
        self._labels[name] = len(self._insns)

    # ALU
    def mov(self, dst: int, src: int) -> None:
        """dst = src (64-bit)."""
        self._emit(ALU64 | MOV | X, dst, src)

    def movi(self, dst: int, imm: int) -> None:
        """dst = imm (a signed 32-bit immediate, sign-extended)."""
        self._emit(ALU64 | MOV | K, dst, imm=imm)

    def mov32(self, dst: int, src: int) -> None:
        """dst = (u32)src, zero-extended."""
        self._emit(ALU | MOV | X, dst, src)

    def alu(self, op: int, dst: int, src: int) -> None:
        """dst op= src (64-bit)."""
        self._emit(ALU64 | op | X, dst, src)

    def alui(self, op: int, dst: int, imm: int) -> None:
        """dst op= imm (64-bit)."""
        self._emit(ALU64 | op | K, dst, imm=imm)

    def ld64(self, dst: int, value: int) -> None:
        """dst = a 64-bit constant (two slots)."""
        value &= (1 << 64) - 1
        lo, hi = value & 0xFFFFFFFF, value >> 32
        self._emit(LD | DW | IMM, dst, imm=struct.unpack("<i", struct.pack("<I", lo))[0])
        self._emit(0, imm=struct.unpack("<i", struct.pack("<I", hi))[0])

    def ld_map(self, dst: int, map_fd: int) -> None:
        """dst = the map whose fd is ``map_fd`` (BPF_PSEUDO_MAP_FD)."""
        self._emit(LD | DW | IMM, dst, PSEUDO_MAP_FD, imm=map_fd)
        self._emit(0)

    # memory
    def ldx(self, size: int, dst: int, src: int, off: int) -> None:
        """dst = *(size *)(src + off), size in bytes."""
        self._emit(LDX | MEM | SIZE[size], dst, src, off)

    def stx(self, size: int, dst: int, off: int, src: int) -> None:
        """*(size *)(dst + off) = src."""
        self._emit(STX | MEM | SIZE[size], dst, src, off)

    def st(self, size: int, dst: int, off: int, imm: int) -> None:
        """*(size *)(dst + off) = imm."""
        self._emit(ST | MEM | SIZE[size], dst, 0, off, imm)

    def atomic_add(self, size: int, dst: int, off: int, src: int) -> None:
        """lock *(size *)(dst + off) += src (size 4 or 8)."""
        self._emit(STX | ATOMIC | SIZE[size], dst, src, off, ADD)

    # control
    def jmp(self, op: int, dst: int, src: int, target: str) -> None:
        """if (dst op src) goto target (64-bit compare)."""
        self._emit(JMP | op | X, dst, src, target=target)

    def jmpi(self, op: int, dst: int, imm: int, target: str) -> None:
        """if (dst op imm) goto target (imm sign-extended to 64 bits)."""
        self._emit(JMP | op | K, dst, imm=imm, target=target)

    def ja(self, target: str) -> None:
        """goto target."""
        self._emit(JMP | JA, target=target)

    def call(self, helper: int) -> None:
        """Call helper number ``helper``: args r1-r5, result r0, r1-r5 clobbered."""
        self._emit(JMP | CALL, imm=helper)

    def exit(self) -> None:
        """Return r0."""
        self._emit(JMP | EXIT)

    def assemble(self) -> bytes:
        """The bytecode, with every jump to a label resolved."""
        out = bytearray()
        for i, (code, dst, src, off, imm, target) in enumerate(self._insns):
            if target is not None:
                if target not in self._labels:
                    raise ValueError(f"undefined label {target}")
                off = self._labels[target] - i - 1
                if not -32768 <= off <= 32767:
                    raise ValueError(f"jump to {target} out of range")
            out += insn(code, dst, src, off, imm)
        return bytes(out)


# -- maps ---------------------------------------------------------------------------------

BPF_F_MMAPABLE = 1 << 10


def map_create(
    map_type: int, key_size: int, value_size: int, max_entries: int, name: str = "", flags: int = 0
) -> int:
    """BPF_MAP_CREATE: the new map's fd (close-on-exec)."""
    attr = _attr(
        (0, "<I", map_type), (4, "<I", key_size), (8, "<I", value_size),
        (12, "<I", max_entries), (16, "<I", flags), (28, "16s", _objname(name)),
    )  # fmt: skip
    fd = _bpf(BPF_MAP_CREATE, attr)
    if fd < 0:
        err = -fd
        hint = ""
        if err == _errno.EPERM:
            hint = " (needs root, or CAP_BPF)"
        elif err == _errno.ENOMEM:
            hint = " (out of memory, or over the locked-memory limit)"
        raise KernelError(f"cannot create BPF map {name or map_type}: {os.strerror(err)}{hint}")
    return fd


def ringbuf(size_bytes: int, name: str = "stap_ring") -> int:
    """A BPF ring buffer map of ``size_bytes`` (a power of 2, a multiple of the page)."""
    if size_bytes < mmap.PAGESIZE or size_bytes & (size_bytes - 1):
        raise ValueError(f"ring size {size_bytes} is not a power of 2 of at least a page")
    return map_create(MAP_RINGBUF, 0, 0, size_bytes, name)


def lost_counter(name: str = "stap_lost") -> int:
    """An ARRAY map of one u64 that programs increment when the ring is full."""
    return map_create(MAP_ARRAY, 4, 8, 1, name)


def map_lookup(fd: int, key: bytes, value_size: int) -> bytes | None:
    """BPF_MAP_LOOKUP_ELEM: the value, or None when the key is absent."""
    k = ctypes.create_string_buffer(key, len(key))
    v = ctypes.create_string_buffer(value_size)
    attr = _attr((0, "<I", fd), (8, "<Q", ctypes.addressof(k)), (16, "<Q", ctypes.addressof(v)))
    rc = _bpf(BPF_MAP_LOOKUP_ELEM, attr)
    if rc == -_errno.ENOENT:
        return None
    if rc < 0:
        raise KernelError(f"cannot read BPF map: {os.strerror(-rc)}")
    return v.raw


def map_update(fd: int, key: bytes, value: bytes) -> None:
    """BPF_MAP_UPDATE_ELEM (BPF_ANY)."""
    k = ctypes.create_string_buffer(key, len(key))
    v = ctypes.create_string_buffer(value, len(value))
    attr = _attr((0, "<I", fd), (8, "<Q", ctypes.addressof(k)), (16, "<Q", ctypes.addressof(v)))
    rc = _bpf(BPF_MAP_UPDATE_ELEM, attr)
    if rc < 0:
        raise KernelError(f"cannot write BPF map: {os.strerror(-rc)}")


def read_lost(fd: int) -> int:
    """The count in a :func:`lost_counter` map."""
    raw = map_lookup(fd, b"\0\0\0\0", 8)
    return 0 if raw is None else int.from_bytes(raw, "little")


# -- programs -----------------------------------------------------------------------------

_LOG_SIZE = 1 << 20


def _last_log_line(log: str) -> str:
    lines = [ln.strip() for ln in log.splitlines() if ln.strip()]
    for ln in reversed(lines):
        if ln.startswith(("processed ", "verification time", "stack depth")):
            continue
        return ln
    return ""


def prog_load(insns: bytes, prog_type: int, name: str = "", license: str = "GPL") -> int:
    """BPF_PROG_LOAD: the program's fd; a refusal raises KernelError with the verifier's
    last word and errno (the log is collected only on a retry after a failure)."""
    if len(insns) % 8:
        raise ValueError("instructions are 8 bytes each")
    code = ctypes.create_string_buffer(insns, len(insns))
    lic = ctypes.create_string_buffer(license.encode())
    pieces: list[tuple[int, str, object]] = [
        (0, "<I", prog_type), (4, "<I", len(insns) // 8), (8, "<Q", ctypes.addressof(code)),
        (16, "<Q", ctypes.addressof(lic)), (48, "16s", _objname(name)),
    ]  # fmt: skip
    fd = _bpf(BPF_PROG_LOAD, _attr(*pieces))
    if fd >= 0:
        return fd
    err = -fd
    log = ctypes.create_string_buffer(_LOG_SIZE)
    pieces += [(24, "<I", 1), (28, "<I", _LOG_SIZE), (32, "<Q", ctypes.addressof(log))]
    fd = _bpf(BPF_PROG_LOAD, _attr(*pieces))
    if fd >= 0:  # it loaded the second time: keep it
        return fd
    if fd != -_errno.ENOSPC:
        err = -fd
    text = log.value.decode("utf-8", "replace")
    last = _last_log_line(text)
    detail = f": {last}" if last else ""
    raise KernelError(
        f"the kernel refused BPF program {name or '?'} ({_errname(err)}, "
        f"{os.strerror(err)}){detail}"
    )


def _next_ids(cmd: int) -> set[int]:
    ids: set[int] = set()
    start = 0
    while True:
        attr = _attr((0, "<I", start))
        rc = _bpf(cmd, attr)
        if rc < 0:
            if rc == -_errno.ENOENT:
                return ids
            raise KernelError(f"cannot list BPF objects: {os.strerror(-rc)}")
        start = struct.unpack_from("<I", attr, 4)[0]
        ids.add(start)


def object_id(fd: int) -> int:
    """The kernel id of the BPF program or map behind ``fd``."""
    info = ctypes.create_string_buffer(16)
    attr = _attr((0, "<I", fd), (4, "<I", 16), (8, "<Q", ctypes.addressof(info)))
    rc = _bpf(BPF_OBJ_GET_INFO_BY_FD, attr)
    if rc < 0:
        raise KernelError(f"cannot get BPF object info: {os.strerror(-rc)}")
    return int(struct.unpack_from("<I", info, 4)[0])


def live_bpf_program_ids() -> set[int]:
    """The ids of every BPF program loaded in the kernel (anyone's)."""
    return _next_ids(BPF_PROG_GET_NEXT_ID)


def live_bpf_map_ids() -> set[int]:
    """The ids of every BPF map in the kernel (anyone's)."""
    return _next_ids(BPF_MAP_GET_NEXT_ID)


# -- perf events --------------------------------------------------------------------------

PERF_TYPE_HARDWARE = 0
PERF_TYPE_SOFTWARE = 1
PERF_TYPE_TRACEPOINT = 2
PERF_TYPE_HW_CACHE = 3
PERF_TYPE_RAW = 4
PERF_TYPE_BREAKPOINT = 5

PERF_COUNT_HW_CPU_CYCLES = 0
PERF_COUNT_HW_INSTRUCTIONS = 1
PERF_COUNT_SW_CPU_CLOCK = 0
PERF_COUNT_SW_TASK_CLOCK = 1

PERF_SAMPLE_RAW = 1 << 10
PERF_FLAG_FD_CLOEXEC = 1 << 3

PERF_EVENT_IOC_ENABLE = 0x2400
PERF_EVENT_IOC_DISABLE = 0x2401
PERF_EVENT_IOC_SET_BPF = 0x40042408

# perf_event_attr.flags bits
ATTR_DISABLED = 1 << 0
ATTR_FREQ = 1 << 10


class PerfEventAttr(ctypes.Structure):
    """struct perf_event_attr, 128 bytes (PERF_ATTR_SIZE_VER7)."""

    _fields_ = [
        ("type", ctypes.c_uint32),
        ("size", ctypes.c_uint32),
        ("config", ctypes.c_uint64),
        ("sample_period", ctypes.c_uint64),  # or sample_freq when flags & ATTR_FREQ
        ("sample_type", ctypes.c_uint64),
        ("read_format", ctypes.c_uint64),
        ("flags", ctypes.c_uint64),
        ("wakeup_events", ctypes.c_uint32),
        ("bp_type", ctypes.c_uint32),
        ("config1", ctypes.c_uint64),
        ("config2", ctypes.c_uint64),
        ("branch_sample_type", ctypes.c_uint64),
        ("sample_regs_user", ctypes.c_uint64),
        ("sample_stack_user", ctypes.c_uint32),
        ("clockid", ctypes.c_int32),
        ("sample_regs_intr", ctypes.c_uint64),
        ("aux_watermark", ctypes.c_uint32),
        ("sample_max_stack", ctypes.c_uint16),
        ("_reserved_2", ctypes.c_uint16),
        ("aux_sample_size", ctypes.c_uint32),
        ("_reserved_3", ctypes.c_uint32),
        ("sig_data", ctypes.c_uint64),
        ("config3", ctypes.c_uint64),
    ]


_HW_NAMES = {PERF_TYPE_HARDWARE, PERF_TYPE_HW_CACHE, PERF_TYPE_RAW}


def perf_event_open(
    attr: PerfEventAttr, pid: int, cpu: int, group_fd: int = -1, flags: int = PERF_FLAG_FD_CLOEXEC,
    what: str = "perf event",
) -> int:  # fmt: skip
    """perf_event_open(2): the event's fd; failures raise KernelError naming ``what``."""
    attr.size = ctypes.sizeof(PerfEventAttr)
    rc: int = _syscall(
        SYS_PERF_EVENT_OPEN, ctypes.byref(attr), pid, cpu, group_fd,
        ctypes.c_ulong(flags | PERF_FLAG_FD_CLOEXEC),
    )  # fmt: skip
    if rc >= 0:
        return rc
    err = ctypes.get_errno()
    if attr.type in _HW_NAMES and err in (_errno.ENOENT, _errno.EOPNOTSUPP, _errno.ENODEV):
        raise KernelError(
            f"{what} is not available: this machine has no hardware performance counters (PMU)"
        )
    if err in (_errno.EACCES, _errno.EPERM):
        raise KernelError(f"cannot open {what}: {os.strerror(err)} (needs root, or CAP_PERFMON)")
    raise KernelError(f"cannot open {what}: {os.strerror(err)}")


def _ioctl(fd: int, request: int, arg: int, what: str) -> None:
    try:
        fcntl.ioctl(fd, request, arg)
    except OSError as e:
        raise KernelError(f"cannot attach BPF program to {what}: {e.strerror}") from None


def attach_tracepoint(event_id: int, prog_fd: int, what: str = "tracepoint") -> int:
    """Run TRACEPOINT program ``prog_fd`` on tracepoint ``event_id`` on every CPU: the one
    perf event's fd (closing it detaches the program)."""
    attr = PerfEventAttr()
    attr.type = PERF_TYPE_TRACEPOINT
    attr.config = event_id
    attr.sample_period = 1
    attr.sample_type = PERF_SAMPLE_RAW
    attr.wakeup_events = 1
    attr.flags = ATTR_DISABLED
    fd = perf_event_open(attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC, what)
    try:
        _ioctl(fd, PERF_EVENT_IOC_SET_BPF, prog_fd, what)
        _ioctl(fd, PERF_EVENT_IOC_ENABLE, 0, what)
    except BaseException:
        os.close(fd)
        raise
    return fd


def online_cpus() -> list[int]:
    """The online CPUs, from /sys/devices/system/cpu/online (e.g. ``0-1,4``)."""
    with open("/sys/devices/system/cpu/online") as f:
        text = f.read().strip()
    cpus: list[int] = []
    for part in text.split(","):
        if not part:
            continue
        lo, _, hi = part.partition("-")
        cpus.extend(range(int(lo), int(hi or lo) + 1))
    return cpus


def attach_sampling(
    type: int, config: int, prog_fd: int, period: int | None = None, freq: int | None = None,
    what: str = "perf event",
) -> list[int]:  # fmt: skip
    """Run PERF_EVENT program ``prog_fd`` on a sampling event on every online CPU, every
    ``period`` events or ``freq`` times a second: the perf events' fds."""
    if (period is None) == (freq is None):
        raise ValueError("give exactly one of period and freq")
    fds: list[int] = []
    try:
        for cpu in online_cpus():
            attr = PerfEventAttr()
            attr.type = type
            attr.config = config
            attr.flags = ATTR_DISABLED
            if freq is not None:
                attr.flags |= ATTR_FREQ
                attr.sample_period = freq
            else:
                attr.sample_period = period or 1
            fd = perf_event_open(attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC, what)
            fds.append(fd)
            _ioctl(fd, PERF_EVENT_IOC_SET_BPF, prog_fd, what)
        for fd in fds:
            _ioctl(fd, PERF_EVENT_IOC_ENABLE, 0, what)
    except BaseException:
        for fd in fds:
            os.close(fd)
        raise
    return fds


def disable(fd: int) -> None:
    """PERF_EVENT_IOC_DISABLE on a perf event (errors ignored)."""
    with contextlib.suppress(OSError):
        fcntl.ioctl(fd, PERF_EVENT_IOC_DISABLE, 0)

"""Kernel events for a module's kernel.trace probes: armed, decoded, handed to handlers.

Each trace probe gets a BPF program on its tracepoint (``kernel/programs.py``) that
writes, when the event fires, a record of the task's context, the fields its handler
reads and the user-space strings behind its ``char *`` fields into one ring buffer.
Here each record becomes the *event tuple* the handler receives as ``_ev``::

    (probe index, cpu, tid, pid, uid, gid, time ns, comm, field..., [strings])

the fields in the order the module lists them (``ProbeEntry.fields``), strings already
text, and, for a probe that captures user strings or task context (or a perf sample), a
last :class:`Extra` item.  ``tapset.EV`` is the event
being handled, for the tapset functions (``execname()``, ``user_string()``...).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from .kernel import KernelError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .kernel.programs import Filter, ProgramSpec
    from .kernel.ring import RingBuffer
    from .kernel.session import KernelObjects
    from .kernel.tracefs import EventFormat
    from .modsupport import ProbeEntry

HEADER = "<IIiiIIQ16s"
# __data_loc strings live after the fixed record: this much of it is copied
DATA_LOC_EXTRA = 256
# A user string is captured up to this many bytes (stap's MAXSTRINGLEN)
STRING_SLOT = 512
DEFAULT_RING_MB = 64

_CODES = {(1, False): "B", (1, True): "b", (2, False): "H", (2, True): "h"}
_CODES.update({(4, False): "I", (4, True): "i", (8, False): "q", (8, True): "q"})

Event = tuple[Any, ...]


class Extra:
    """The last item of an event tuple that carries more than the header and fields:
    the user strings captured (address -> bytes, None when the kernel could not read
    it), the task context captured (``ppid``, ``pcomm``, ``euid``, ``egid``, ``pgrp``,
    ``sid``, ``cmdline``: kernel/programs.py), and whether it is a perf sample (whose
    tuple has ip, user mode and address after the header)."""

    __slots__ = ("context", "perf", "strings")

    def __init__(
        self,
        strings: dict[int, bytes | None] | None,
        context: dict[str, Any] | None,
        perf: bool,
    ) -> None:
        self.strings = strings
        self.context = context
        self.perf = perf


def _context_reader(
    spec: ProgramSpec,
) -> Callable[[Any, int], dict[str, Any]] | None:
    """What turns a record's context section into the values handlers read."""
    if not spec.context:
        return None
    from .kernel.programs import context_layout

    where = context_layout(spec)

    def read(data: Any, off: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, (at, size) in where.items():
            raw = bytes(data[off + at : off + at + size])
            if name in ("ppid", "pgrp", "sid", "cmdline_len"):
                out[name] = int.from_bytes(raw, "little", signed=True)
            elif name in ("euid", "egid"):
                out[name] = int.from_bytes(raw, "little")
            elif name == "pcomm":
                out[name] = _cstr(raw)
            else:
                out[name] = raw
        if "cmdline" in out:
            n = out.pop("cmdline_len", 0)
            args = out["cmdline"][: max(n, 0)]
            out["cmdline"] = None if n < 0 else args.rstrip(b"\0").split(b"\0")
        return out

    return read


def _cstr(raw: bytes) -> bytes:
    nul = raw.find(b"\0")
    return raw if nul < 0 else raw[:nul]


class Decoder:
    """How the records of one probe become its event tuples."""

    __slots__ = ("condition", "entry", "handler", "names", "post", "text", "unpack")

    def __init__(
        self,
        entry: ProbeEntry,
        unpack: Callable[[Any, int], Event],
        post: Callable[[Event, Any, int], Event] | None,
        names: tuple[str, ...],
    ) -> None:
        self.entry = entry
        self.handler: Callable[[int, Event], None] = entry.handler  # type: ignore[assignment]
        self.condition = entry.condition
        self.unpack = unpack
        self.post = post
        self.names = names
        self.text = entry.text.encode()


_names: dict[int, tuple[bytes, tuple[str, ...]]] = {}  # probe index -> ($$name, fields)


def event_name(ev: Event) -> bytes:
    return _names[ev[0]][0]


def event_parms(ev: Event) -> bytes:
    """``name=value`` for each field the handler reads: numbers in hex, strings quoted."""
    names = _names[ev[0]][1]
    parts = []
    for i, name in enumerate(names):
        v = ev[8 + i]
        if isinstance(v, bytes):
            parts.append(b'%s="%s"' % (name.encode(), v))
        else:
            parts.append(b"%s=0x%x" % (name.encode(), v & 0xFFFFFFFFFFFFFFFF))
    return b" ".join(parts)


def _layout(
    index: int,
    entry: ProbeEntry,
    fmt: EventFormat,
    filters: tuple[Filter, ...],
    context: tuple[str, ...],
    light: bool = False,
) -> tuple[ProgramSpec, Decoder]:
    """The program spec and decoder of one trace probe, from the running kernel's
    format of its event."""
    from .kernel.programs import HEADER_SIZE, ProgramSpec, layout

    fields = []
    for name, kind in entry.fields:
        f = fmt.field(name)
        if f is None:
            raise KernelError(
                f"tracepoint {fmt.group}:{fmt.name} has no field '{name}' in this kernel "
                f"(probe {entry.text})"
            )
        fields.append((f, kind))
    copy = 8
    for f, _ in fields:
        copy = max(copy, f.offset + f.size)
    if any(f.is_data_loc for f, _ in fields):
        copy = min(fmt.size + DATA_LOC_EXTRA, fmt.max_copy_size)
    strings = tuple(f.offset for f, kind in fields if kind == "user_string")
    spec = ProgramSpec(
        index,
        "tracepoint",
        copy_size=copy,
        strings=strings,
        string_slot=STRING_SLOT,
        filters=filters,
        wakeup=False,
        context=context,
        light=light,
    )
    _, status_at, slots = layout(spec)
    read_context = _context_reader(spec)
    # one struct over the header and the fields, in offset order
    order = sorted(range(len(fields)), key=lambda i: fields[i][0].offset)
    code = HEADER
    pos = HEADER_SIZE
    for i in order:
        f, kind = fields[i]
        at = HEADER_SIZE + f.offset
        if at < pos:
            raise KernelError(f"tracepoint {fmt.group}:{fmt.name}: overlapping fields")
        code += "x" * (at - pos)
        if kind == "string" and not f.is_data_loc:
            code += f"{f.size}s"
        elif f.is_data_loc:
            code += "I"
        else:
            code += _CODES.get((f.size, f.signed), f"{f.size}s")
        pos = at + f.size
    st = struct.Struct(code)
    reorder = order != sorted(order)
    strings_at = [
        (8 + i, status_at + 4 * n, slots[n])
        for n, i in enumerate(i for i, (_, kind) in enumerate(fields) if kind == "user_string")
    ]
    text_fields = [(8 + i, f.is_data_loc) for i, (f, kind) in enumerate(fields) if kind == "string"]
    post: Callable[[Event, Any, int], Event] | None = None
    if reorder or strings_at or text_fields or read_context:

        def post(ev: Event, data: Any, off: int) -> Event:
            values = list(ev)
            if reorder:
                tail = values[8:]
                for k, i in enumerate(order):
                    values[8 + i] = tail[k]
            for at, loc in text_fields:
                v = values[at]
                if loc:
                    start = off + HEADER_SIZE + (v & 0xFFFF)
                    v = bytes(data[start : start + (v >> 16)])
                values[at] = _cstr(v)
            captured: dict[int, bytes | None] | None = None
            if strings_at:
                captured = {}
                for at, status, slot in strings_at:
                    ok = int.from_bytes(
                        data[off + status : off + status + 4], "little", signed=True
                    )
                    addr = values[at]
                    if ok > 0:
                        captured[addr] = bytes(data[off + slot : off + slot + ok - 1])
                    else:
                        captured.setdefault(addr, None)
            if captured is not None or read_context is not None:
                ctx = None if read_context is None else read_context(data, off)
                values.append(Extra(captured, ctx, False))
            return tuple(values)

    _names[index] = (fmt.name.encode(), tuple(name for name, _ in entry.fields))
    return spec, Decoder(entry, st.unpack_from, post, tuple(n for n, _ in entry.fields))


# From this many syscall probes on, they go through one dispatcher (programs.dispatcher)
MULTIPLEX_MIN = 8
# syscalls:sys_enter_X whose syscall is not called X in x86_64's table
_SYSCALL_ALIASES = {
    "newuname": "uname",
    "sendfile64": "sendfile",
    "newfstat": "fstat",
    "newlstat": "lstat",
    "newstat": "stat",
    "umount": "umount2",
}


def _syscall_slots(formats: list[EventFormat | None]) -> dict[int, tuple[str, int]]:
    """Which probes reach their syscalls:sys_enter_X/sys_exit_X through a dispatcher:
    probe index -> (raw_syscalls event, syscall number); one probe per number and
    direction (others attach to their tracepoint), and only where the module has many."""
    from .sysfmt import syscall_num

    found: dict[str, dict[int, int]] = {"sys_enter": {}, "sys_exit": {}}
    for i, fmt in enumerate(formats):
        if fmt is None or fmt.group != "syscalls":
            continue
        direction, _, name = fmt.name.partition("_")[2].partition("_")
        key = f"sys_{direction}"
        if key not in found:
            continue
        nr = syscall_num(_SYSCALL_ALIASES.get(name, name).encode())
        if nr >= 0 and nr not in found[key]:
            found[key][nr] = i
    out: dict[int, tuple[str, int]] = {}
    for key, by_nr in found.items():
        if len(by_nr) >= MULTIPLEX_MIN:
            out.update({i: (key, nr) for nr, i in by_nr.items()})
    return out


def kernel_filters(entry: ProbeEntry, fmt: EventFormat, target: int) -> tuple[Filter, ...]:
    """The BPF tests of the filters pass 2 proved for ``entry`` (translator/kfilter.py):
    ``target`` is target()."""
    from .kernel.programs import Filter

    out = []
    for f in entry.filters:
        what, op, value = f[0], f[1], f[2]
        if value == "target":
            value = target
        if what == "field":
            name, size, signed = f[3], f[4], f[5]
            field = fmt.field(name)
            if field is None or field.is_data_loc:
                continue
            size = size or field.size
            if size > field.size or size not in (1, 2, 4, 8):
                continue
            if size == 8:
                signed = True  # a long
            elif not f[4]:
                signed = field.signed
            out.append(Filter("field", op, value, field.offset, size, signed))
        elif what in ("pid", "tid", "uid", "gid", "comm"):
            out.append(Filter(what, op, value))
    return tuple(out)


class EventSource:
    """The kernel side of a run: programs attached, one ring buffer, a lost counter."""

    def __init__(
        self,
        entries: list[ProbeEntry],
        ring_mb: int = DEFAULT_RING_MB,
        context: tuple[str, ...] = (),
        light: bool = False,
    ) -> None:
        self.entries = entries
        self.context = context  # the task context the module's handlers read
        self.light = light  # ... and none reads uid, gid, time or comm
        self.ring_mb = ring_mb
        self.decoders: list[Decoder] = []
        self.objects: KernelObjects | None = None
        self.ring: RingBuffer | None = None
        self._lost_fd = -1

    def start(self, target: int) -> None:
        """Arm every probe: KernelError (one line) when this process or this kernel
        cannot.  Nothing is left armed on failure."""
        from .kernel import tracefs
        from .kernel.session import KernelObjects, check_privileges

        check_privileges()
        formats: list[EventFormat | None] = []
        for entry in self.entries:
            if entry.event is None:  # perf
                formats.append(None)
                continue
            group, _, name = entry.event.partition(":")
            try:
                formats.append(tracefs.event_format(group, name))
            except KernelError as err:
                raise KernelError(f"probe {entry.text}: {err.message}") from None
        from .kernel import bpf

        objects = KernelObjects()
        self._tables: dict[str, int] = {}
        try:
            size = 1 << max(12, (self.ring_mb * 1024 * 1024 - 1).bit_length())
            self.ring = objects.ringbuf(size)
            self._lost_fd = objects.lost_counter()
            slots = _syscall_slots(formats)
            for i, (entry, fmt) in enumerate(zip(self.entries, formats, strict=True)):
                if fmt is None:
                    self._sample(objects, i, entry)
                    continue
                filters = kernel_filters(entry, fmt, target)
                spec, decoder = _layout(i, entry, fmt, filters, self.context, self.light)
                self.decoders.append(decoder)
                slot = slots.get(i)
                if slot is None:
                    objects.tracepoint(spec, fmt.id, self.ring, self._lost_fd, entry.text)
                else:
                    prog = objects.load(spec, self.ring, self._lost_fd)
                    table = self._dispatch(objects, slot[0])
                    bpf.map_update(table, slot[1].to_bytes(4, "little"), prog.to_bytes(4, "little"))
        except BaseException:
            objects.close()
            self.ring = None
            self._lost_fd = -1
            raise
        self.objects = objects

    def _dispatch(self, objects: KernelObjects, direction: str) -> int:
        """The program array of the raw_syscalls:``direction`` dispatcher, made and
        attached on first use."""
        table = self._tables.get(direction)
        if table is None:
            from .kernel import bpf, tracefs
            from .kernel.programs import SYSCALL_SLOTS, dispatcher

            table = objects.fd(bpf.map_create(bpf.MAP_PROG_ARRAY, 4, 4, SYSCALL_SLOTS, "stap_sys"))
            fmt = tracefs.event_format("raw_syscalls", direction)
            prog = objects.fd(bpf.prog_load(dispatcher(table), bpf.PROG_TRACEPOINT, "stap_sys"))
            objects.perf_fd(bpf.attach_tracepoint(fmt.id, prog, f"raw_syscalls:{direction}"))
            self._tables[direction] = table
        return table

    def _sample(self, objects: KernelObjects, index: int, entry: ProbeEntry) -> None:
        """A perf probe: a sampling program on every CPU."""
        from .kernel.programs import ProgramSpec

        assert entry.perf is not None and self.ring is not None
        type_, config, period, freq = entry.perf
        spec = ProgramSpec(index, "perf", wakeup=False, context=self.context)
        st = struct.Struct(HEADER + "QQQ")
        read_context = _context_reader(spec)

        def post(ev: Event, data: Any, off: int) -> Event:
            ctx = None if read_context is None else read_context(data, off)
            return (*ev, Extra(None, ctx, True))

        self.decoders.append(Decoder(entry, st.unpack_from, post, ()))
        _names[index] = (entry.text.encode(), ())
        objects.sampling(
            spec,
            type_,
            config,
            self.ring,
            self._lost_fd,
            period=period or None,
            freq=freq or None,
            what=f"probe {entry.origin}",
        )

    def fileno(self) -> int:
        assert self.ring is not None
        return self.ring.fileno()

    def pending(self) -> int:
        """How many records wait in the ring (committed, not discarded); they are
        dropped: this is for a run that ends with events still waiting."""
        return 0 if self.ring is None else self.ring.drain(lambda data, off, length: None)

    def lost(self) -> int:
        from .kernel import bpf

        return bpf.read_lost(self._lost_fd) if self._lost_fd >= 0 else 0

    def close(self) -> None:
        if self.objects is not None:
            self.objects.close()
            self.objects = None
            self.ring = None

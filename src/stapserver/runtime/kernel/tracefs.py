"""tracefs: where it is mounted, which events exist, and each event's record format."""

from __future__ import annotations

import os
from typing import NamedTuple

from stapserver.runtime.kernel import KernelError

TRACEFS = "/sys/kernel/tracing"
# the per-CPU buffer a tracepoint record is built in (the verifier's bound on ctx reads)
PERF_MAX_TRACE_SIZE = 8192
_root: str | None = None


def root() -> str:
    """The tracefs mount point, mounting tracefs there if needed (cached)."""
    global _root
    if _root is not None:
        return _root
    if not os.path.isdir(os.path.join(TRACEFS, "events")):
        _mount()
    _root = TRACEFS
    return _root


def _mount() -> None:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    rc = libc.mount(b"nodev", TRACEFS.encode(), b"tracefs", ctypes.c_ulong(0), None)
    if rc != 0:
        err = ctypes.get_errno()
        raise KernelError(f"cannot mount tracefs on {TRACEFS}: {os.strerror(err)}")
    if not os.path.isdir(os.path.join(TRACEFS, "events")):
        raise KernelError(f"tracefs on {TRACEFS} has no events directory")


class Field(NamedTuple):
    """One field of a tracepoint record, as its ``format`` file describes it."""

    name: str
    ctype: str
    offset: int
    size: int
    signed: bool

    @property
    def is_data_loc(self) -> bool:
        """A ``__data_loc`` field: a u32 ``length << 16 | offset`` into the record."""
        return self.ctype.startswith("__data_loc")

    @property
    def is_user_string(self) -> bool:
        """A ``char *`` pointer (to user memory for syscall arguments), not ``char[]``."""
        t = self.ctype.replace("const ", "").replace(" ", "")
        return t == "char*" and self.size == 8

    @property
    def array_length(self) -> int | None:
        """N for a ``type name[N]`` array field, else None (``[]`` of __data_loc: None)."""
        if self.ctype.endswith("]") and not self.is_data_loc:
            inner = self.ctype[self.ctype.rindex("[") + 1 : -1]
            if inner.isdigit():
                return int(inner)
        return None


class EventFormat(NamedTuple):
    """A tracepoint: its group, name, id, non-common fields and fixed record size."""

    group: str
    name: str
    id: int
    fields: tuple[Field, ...]
    size: int

    @property
    def max_copy_size(self) -> int:
        """How many bytes from the record start a BPF program may copy meaningfully.

        A syscall tracepoint's BPF context is a copy on the kernel stack (pt_regs
        pointer, nr, six args: 64 bytes; beyond it lies other stack data): its fixed size.
        Other records live at the start of an 8 KiB per-CPU buffer, so copying past the
        fixed part (to get ``__data_loc`` data) is safe up to that size.
        """
        return self.size if self.group == "syscalls" else PERF_MAX_TRACE_SIZE

    def field(self, name: str) -> Field | None:
        """The field called ``name``, or None."""
        for f in self.fields:
            if f.name == name:
                return f
        return None


def _parse_field(line: str) -> Field | None:
    # field:const char * filename;	offset:24;	size:8;	signed:0;
    parts = [p.strip() for p in line.split(";")]
    attrs: dict[str, str] = {}
    decl = ""
    for p in parts:
        key, sep, value = p.partition(":")
        if not sep:
            continue
        if key == "field":
            decl = value.strip()
        else:
            attrs[key] = value.strip()
    if not decl or "offset" not in attrs or "size" not in attrs:
        return None
    suffix = ""
    if decl.endswith("]"):
        lb = decl.rindex("[")
        suffix = decl[lb:]
        decl = decl[:lb].rstrip()
    i = len(decl)
    while i > 0 and (decl[i - 1].isalnum() or decl[i - 1] == "_"):
        i -= 1
    name = decl[i:]
    ctype = decl[:i].rstrip()
    if suffix:
        ctype += suffix
    return Field(
        name, ctype, int(attrs["offset"]), int(attrs["size"]), attrs.get("signed", "0") == "1"
    )


def event_format(group: str, name: str) -> EventFormat:
    """Parse ``events/GROUP/NAME/format``; a missing event raises KernelError."""
    d = os.path.join(root(), "events", group, name)
    if "/" in group or "/" in name or group.startswith(".") or name.startswith("."):
        raise KernelError(f"tracepoint {group}:{name} is not available in this kernel")
    try:
        with open(os.path.join(d, "format")) as f:
            text = f.read()
        with open(os.path.join(d, "id")) as f:
            event_id = int(f.read())
    except (FileNotFoundError, NotADirectoryError):
        raise KernelError(f"tracepoint {group}:{name} is not available in this kernel") from None
    except OSError as e:
        raise KernelError(f"cannot read tracepoint {group}:{name}: {e.strerror}") from None
    fields, size = parse_format(text)
    return EventFormat(group, name, event_id, fields, size)


def parse_format(text: str) -> tuple[tuple[Field, ...], int]:
    """An event's ``format`` file: its non-common fields, and the size of its fixed
    record (common fields included)."""
    fields: list[Field] = []
    size = 0
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("field:"):
            continue
        fld = _parse_field(line)
        if fld is None:
            continue
        size = max(size, fld.offset + fld.size)
        if not fld.name.startswith("common_"):
            fields.append(fld)
    return tuple(fields), size


def events() -> list[tuple[str, str]]:
    """Every (group, name) pair listed in ``available_events``."""
    out: list[tuple[str, str]] = []
    with open(os.path.join(root(), "available_events")) as f:
        for line in f:
            group, sep, name = line.strip().partition(":")
            if sep:
                out.append((group, name))
    return out

"""The tracepoint catalogue pass 2 resolves ``kernel.trace("GROUP:EVENT")`` from.

``tracepoints.txt.gz`` lists each event of the kernel it was made on (Linux 6.18,
x86_64, by ``tools/tracepoint_catalogue.py``) with its fields: their C types say which
are strings (``__data_loc char[]``, ``char[N]``), which are user-space strings behind a
pointer (``const char *``) and which are integers.  The module records the events and
fields it uses; the runtime finds their offsets in the running kernel's tracefs and
refuses, in one line, an event or field that kernel lacks.
"""

from __future__ import annotations

import fnmatch
import functools
import gzip
import os
from typing import NamedTuple

_DATA = os.path.join(os.path.dirname(__file__), "tracepoints.txt.gz")


class TraceField(NamedTuple):
    name: str
    ctype: str
    size: int
    signed: bool

    @property
    def kind(self) -> str:
        """How a handler sees the field: "string" (kernel text, read from the record),
        "user_string" (an address in the task's memory: a long, whose string is captured
        when the event fires), "array" (other arrays: not readable here) or "long"."""
        c = self.ctype
        if c.endswith("[]") or (c.endswith("]") and "[" in c):  # __data_loc or inline
            return "string" if c.replace("__data_loc", "").strip().startswith("char[") else "array"
        if c.replace("const ", "").replace(" ", "") in ("char*", "unsignedchar*"):
            return "user_string"
        return "long"


class TraceEvent(NamedTuple):
    group: str
    name: str
    fields: tuple[TraceField, ...]

    @property
    def text(self) -> str:
        return f"{self.group}:{self.name}"

    def field(self, name: str) -> TraceField | None:
        for f in self.fields:
            if f.name == name:
                return f
        return None


@functools.cache
def catalogue() -> dict[str, TraceEvent]:
    """Every event of the catalogue by ``group:name``."""
    with gzip.open(_DATA, "rt") as f:
        text = f.read()
    out: dict[str, TraceEvent] = {}
    for line in text.splitlines():
        head, *cols = line.split("\t")
        group, _, name = head.partition(":")
        fields = []
        for col in cols:
            fname, ctype, size, signed = col.split(";")
            fields.append(TraceField(fname, ctype, int(size), signed == "1"))
        out[head] = TraceEvent(group, name, tuple(fields))
    return out


def match(pattern: str) -> list[TraceEvent]:
    """The events ``pattern`` names: ``GROUP:EVENT`` or ``EVENT`` alone, each part a
    glob, in catalogue order (by group, then name)."""
    group, sep, name = pattern.rpartition(":")
    if not sep:
        group = "*"
    events = catalogue()
    exact = f"{group}:{name}"
    if exact in events:
        return [events[exact]]
    return [
        e
        for e in events.values()
        if fnmatch.fnmatchcase(e.group, group) and fnmatch.fnmatchcase(e.name, name)
    ]

"""A minimal reader of the kernel's BTF (``/sys/kernel/btf/vmlinux``): struct member
offsets and enum values, with a small per-kernel cache of the answers actually used.

BTF is a header, a type section and a string section.  Types are numbered from 1 (0 is
void) in file order; each is ``{u32 name_off; u32 info; u32 size_or_type}`` followed by
kind-specific data (``info``: vlen in bits 0-15, kind in bits 24-28, kind_flag in bit 31).

Parsing this kernel's 125,000-odd types takes a few tenths of a second in pure Python,
so :class:`KernelTypes` answers from a JSON file of the offsets asked for before
(``/var/cache/stapserver/btf-<release>-<build id>.json``, else ``$XDG_CACHE_HOME`` or
``~/.cache``) and parses BTF only on a miss.  The cache is best-effort: a cache that
cannot be read or written is ignored.

A member path is dotted (``"signal.pids[2]"`` is not one: ``signal`` is a pointer, and
each hop through a pointer is a separate read by the caller); ``[n]`` indexes an array
member (flexible arrays included); anonymous struct/union members are searched through.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import struct
import tempfile
from pathlib import Path

from stapserver.runtime.kernel import KernelError

VMLINUX = "/sys/kernel/btf/vmlinux"
BTF_MAGIC = 0xEB9F

# kinds
INT, PTR, ARRAY, STRUCT, UNION, ENUM, FWD, TYPEDEF, VOLATILE, CONST, RESTRICT = range(1, 12)
FUNC, FUNC_PROTO, VAR, DATASEC, FLOAT, DECL_TAG, TYPE_TAG, ENUM64 = range(12, 20)

_MODIFIERS = (TYPEDEF, VOLATILE, CONST, RESTRICT, TYPE_TAG)
_HEADER = struct.Struct("<HBBIIIII")
_TYPE = struct.Struct("<III")
_PTR_SIZE = 8
# bytes of kind-specific data: fixed, and per vlen entry
_EXTRA: dict[int, tuple[int, int]] = {
    INT: (4, 0), PTR: (0, 0), ARRAY: (12, 0), STRUCT: (0, 12), UNION: (0, 12),
    ENUM: (0, 8), FWD: (0, 0), TYPEDEF: (0, 0), VOLATILE: (0, 0), CONST: (0, 0),
    RESTRICT: (0, 0), FUNC: (0, 0), FUNC_PROTO: (0, 8), VAR: (4, 0), DATASEC: (0, 12),
    FLOAT: (0, 0), DECL_TAG: (4, 0), TYPE_TAG: (0, 0), ENUM64: (0, 12),
}  # fmt: skip
_STEP = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)((?:\[\d+\])*)$")


class BtfError(KernelError):
    """BTF is missing or malformed, or lacks the struct, member or enum asked for."""


class Btf:
    """The types of one BTF blob (split BTF is not supported)."""

    def __init__(self, data: bytes) -> None:
        if len(data) < _HEADER.size:
            raise BtfError("BTF data is truncated")
        magic, version, _flags, hdr_len, type_off, type_len, str_off, str_len = _HEADER.unpack_from(
            data
        )
        if magic != BTF_MAGIC or version != 1:
            raise BtfError("not BTF data (bad magic or version)")
        t0 = hdr_len + type_off
        s0 = hdr_len + str_off
        if t0 + type_len > len(data) or s0 + str_len > len(data):
            raise BtfError("BTF data is truncated")
        self._data = data
        self._str0 = s0
        self._str_end = s0 + str_len
        # offsets[i] = where type i starts (type 0 is void)
        self._offsets: list[int] = [0]
        # names of the kinds looked up by name: (kind-group, name) -> first type id
        self._named: dict[tuple[str, str], int] = {}
        unpack = _TYPE.unpack_from
        extra = _EXTRA
        off, end = t0, t0 + type_len
        offsets = self._offsets
        named_offs: list[tuple[int, int, int]] = []  # (name_off, kind, id)
        while off < end:
            name_off, info, _ = unpack(data, off)
            kind = (info >> 24) & 0x1F
            try:
                fixed, per = extra[kind]
            except KeyError:
                raise BtfError(f"unknown BTF kind {kind} at type {len(offsets)}") from None
            if name_off and kind in (STRUCT, UNION, ENUM, ENUM64, TYPEDEF):
                named_offs.append((name_off, kind, len(offsets)))
            offsets.append(off)
            off += 12 + fixed + per * (info & 0xFFFF)
        if off != end:
            raise BtfError("BTF type section is malformed")
        for name_off, kind, tid in named_offs:
            group = "enum" if kind in (ENUM, ENUM64) else "type"
            key = (group, self.name(name_off))
            old = self._named.get(key)
            # the first of a name wins, except that a struct or union beats a typedef
            if old is None or (kind != TYPEDEF and self.kind(old) == TYPEDEF):
                self._named[key] = tid

    @classmethod
    def load(cls, path: str = VMLINUX) -> Btf:
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as e:
            raise BtfError(f"cannot read kernel BTF {path}: {e.strerror}") from None
        return cls(data)

    def __len__(self) -> int:
        """The number of types, void included."""
        return len(self._offsets)

    def name(self, name_off: int) -> str:
        start = self._str0 + name_off
        if not self._str0 <= start < self._str_end:
            raise BtfError(f"BTF string offset {name_off} out of range")
        stop = self._data.find(b"\0", start, self._str_end)
        return self._data[start : stop if stop >= 0 else self._str_end].decode("ascii", "replace")

    def _head(self, tid: int) -> tuple[int, int, int, int, int]:
        """(name_off, kind, vlen, kind_flag, size_or_type) of type ``tid``."""
        if not 0 < tid < len(self._offsets):
            raise BtfError(f"BTF type id {tid} out of range")
        name_off, info, st = _TYPE.unpack_from(self._data, self._offsets[tid])
        return name_off, (info >> 24) & 0x1F, info & 0xFFFF, info >> 31, st

    def kind(self, tid: int) -> int:
        return self._head(tid)[1]

    def type_name(self, tid: int) -> str:
        return self.name(self._head(tid)[0]) if tid else "void"

    def strip(self, tid: int) -> int:
        """``tid`` without typedefs and qualifiers."""
        for _ in range(64):
            if tid == 0:
                return 0
            _, kind, _, _, st = self._head(tid)
            if kind not in _MODIFIERS:
                return tid
            tid = st
        raise BtfError("BTF typedef chain too long")

    def size(self, tid: int) -> int:
        """The size in bytes of type ``tid``."""
        tid = self.strip(tid)
        if tid == 0:
            raise BtfError("void has no size")
        _, kind, _, _, st = self._head(tid)
        if kind == PTR:
            return _PTR_SIZE
        if kind == ARRAY:
            elem, _, n = self.array(tid)
            return n * self.size(elem)
        if kind in (INT, STRUCT, UNION, ENUM, ENUM64, FLOAT, DATASEC):
            return st
        raise BtfError(f"BTF type {self.type_name(tid) or tid} has no size")

    def array(self, tid: int) -> tuple[int, int, int]:
        """(element type, index type, element count) of ARRAY type ``tid``."""
        if self.kind(tid) != ARRAY:
            raise BtfError(f"BTF type {tid} is not an array")
        elem, index, n = struct.unpack_from("<III", self._data, self._offsets[tid] + 12)
        return elem, index, n

    def members(self, tid: int) -> list[tuple[str, int, int, int]]:
        """(name, type, bit offset, bitfield size or 0) of each member of a struct/union."""
        _, kind, vlen, kflag, _ = self._head(tid)
        if kind not in (STRUCT, UNION):
            raise BtfError(f"BTF type {self.type_name(tid) or tid} is not a struct or union")
        out: list[tuple[str, int, int, int]] = []
        base = self._offsets[tid] + 12
        for i in range(vlen):
            name_off, mtype, moff = struct.unpack_from("<III", self._data, base + 12 * i)
            bits, bitsize = (moff & 0xFFFFFF, moff >> 24) if kflag else (moff, 0)
            out.append((self.name(name_off) if name_off else "", mtype, bits, bitsize))
        return out

    def find(self, name: str) -> int:
        """The id of struct/union/typedef ``name`` (a typedef only when no struct has it)."""
        tid = self._named.get(("type", name))
        if tid is None:
            raise BtfError(f"kernel BTF has no type {name}")
        return tid

    def _member(self, tid: int, name: str) -> tuple[int, int, int] | None:
        """(type, bit offset, bitfield size) of member ``name`` of struct/union ``tid``,
        searching anonymous struct/union members."""
        for mname, mtype, bits, bitsize in self.members(tid):
            if mname == name:
                return mtype, bits, bitsize
            if not mname:
                inner = self.strip(mtype)
                if self.kind(inner) in (STRUCT, UNION):
                    found = self._member(inner, name)
                    if found is not None:
                        return found[0], bits + found[1], found[2]
        return None

    def member_offset(self, struct_name: str, path: str) -> tuple[int, int]:
        """(byte offset, size) of ``path`` (``"a.b[2].c"``) in struct ``struct_name``."""
        tid = self.strip(self.find(struct_name))
        where = struct_name
        bits = 0
        size = 0
        for step in path.split("."):
            m = _STEP.match(step)
            if m is None:
                raise BtfError(f"bad member path {path!r}")
            name, indexes = m.group(1), m.group(2)
            if self.kind(tid) not in (STRUCT, UNION):
                raise BtfError(f"{where} is not a struct or union (a pointer is read separately)")
            found = self._member(tid, name)
            if found is None:
                raise BtfError(f"kernel struct {struct_name} has no member {path}")
            mtype, mbits, bitsize = found
            if bitsize:
                raise BtfError(f"{struct_name}.{path} is a bitfield")
            bits += mbits
            where = f"{where}.{name}"
            tid = self.strip(mtype)
            for idx in re.findall(r"\[(\d+)\]", indexes):
                if self.kind(tid) != ARRAY:
                    raise BtfError(f"{where} is not an array")
                elem, _, n = self.array(tid)
                i = int(idx)
                if n and i >= n:
                    raise BtfError(f"{where}[{i}] is out of bounds ({n} elements)")
                elem = self.strip(elem)
                bits += 8 * i * self.size(elem)
                where = f"{where}[{i}]"
                tid = elem
            size = self.size(tid)
        if bits % 8:
            raise BtfError(f"{struct_name}.{path} is not byte-aligned")
        return bits // 8, size

    def enum_value(self, enum_name: str, item: str) -> int:
        """The value of ``item`` in enum ``enum_name``."""
        tid = self._named.get(("enum", enum_name))
        if tid is None:
            raise BtfError(f"kernel BTF has no enum {enum_name}")
        _, kind, vlen, kflag, _ = self._head(tid)
        base = self._offsets[tid] + 12
        for i in range(vlen):
            if kind == ENUM:
                fmt = "<Ii" if kflag else "<II"
                name_off, val = struct.unpack_from(fmt, self._data, base + 8 * i)
            else:
                name_off, lo, hi = struct.unpack_from("<III", self._data, base + 12 * i)
                val = (hi << 32) | lo
                if kflag and val >> 63:
                    val -= 1 << 64
            if self.name(name_off) == item:
                return int(val)
        raise BtfError(f"kernel enum {enum_name} has no {item}")


# -- the per-kernel cache -----------------------------------------------------------------


def kernel_build_id() -> str:
    """The running kernel's GNU build id (hex), from /sys/kernel/notes; "" if none."""
    try:
        with open("/sys/kernel/notes", "rb") as f:
            notes = f.read()
    except OSError:
        return ""
    off = 0
    while off + 12 <= len(notes):
        namesz, descsz, ntype = struct.unpack_from("<III", notes, off)
        name_at = off + 12
        desc_at = name_at + ((namesz + 3) & ~3)
        nxt = desc_at + ((descsz + 3) & ~3)
        if nxt > len(notes):
            break
        if ntype == 3 and notes[name_at : name_at + namesz].rstrip(b"\0") == b"GNU":
            return notes[desc_at : desc_at + descsz].hex()
        off = nxt
    return ""


def cache_dirs() -> list[Path]:
    """Where the cache may live, preferred first."""
    dirs = [Path("/var/cache/stapserver")]
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg and os.path.isabs(xdg):
        dirs.append(Path(xdg) / "stapserver")
    home = os.environ.get("HOME") or os.path.expanduser("~")
    if home and os.path.isabs(home):
        dirs.append(Path(home) / ".cache" / "stapserver")
    return dirs


def _kernel_key(path: str) -> str:
    release = os.uname().release
    ident = kernel_build_id()
    if not ident:  # no build id: identify the BTF by size and a hash of its start
        try:
            with open(path, "rb") as f:
                head = f.read(1 << 16)
            ident = f"{os.path.getsize(path)}-{hashlib.sha1(head).hexdigest()[:16]}"
        except OSError:
            ident = "unknown"
    safe = re.sub(r"[^A-Za-z0-9._+-]", "_", release)
    return f"btf-{safe}-{ident[:40]}"


Answer = tuple[int, int]


class KernelTypes:
    """Cached answers about one kernel's types: BTF is parsed only when the cache misses.

    ``path``: the BTF file; ``cache_dir``: one directory instead of :func:`cache_dirs`
    (None: the defaults); ``key``: the cache file's stem (default: from the kernel's
    release and build id).
    """

    def __init__(
        self, path: str = VMLINUX, cache_dir: str | Path | None = None, key: str | None = None
    ) -> None:
        self.path = path
        self._dirs = [Path(cache_dir)] if cache_dir is not None else cache_dirs()
        self._key = key
        self._cache: dict[str, list[int]] | None = None
        self._btf: Btf | None = None
        self.parsed = False  # whether this instance had to parse BTF

    @property
    def key(self) -> str:
        if self._key is None:
            self._key = (
                _kernel_key(self.path)
                if self.path == VMLINUX
                else ("btf-" + hashlib.sha1(self.path.encode()).hexdigest()[:16])
            )
        return self._key

    def _load_cache(self) -> dict[str, list[int]]:
        if self._cache is None:
            self._cache = {}
            for d in self._dirs:
                try:
                    with open(d / f"{self.key}.json") as f:
                        raw = json.load(f)
                except (OSError, ValueError):
                    continue
                if isinstance(raw, dict):
                    self._cache = {
                        k: v
                        for k, v in raw.items()
                        if isinstance(k, str)
                        and isinstance(v, list)
                        and all(isinstance(x, int) for x in v)
                    }
                    break
        return self._cache

    def _save_cache(self) -> None:
        data = json.dumps(self._cache, sort_keys=True)
        for d in self._dirs:
            try:
                d.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(prefix=".btf-", suffix=".tmp", dir=d)
                try:
                    with os.fdopen(fd, "w") as f:
                        f.write(data)
                    os.chmod(tmp, 0o644)
                    os.replace(tmp, d / f"{self.key}.json")
                except BaseException:
                    with contextlib.suppress(OSError):
                        os.unlink(tmp)
                    raise
                return
            except OSError:
                continue

    def btf(self) -> Btf:
        """The parsed BTF (parsed on first use)."""
        if self._btf is None:
            self._btf = Btf.load(self.path)
            self.parsed = True
        return self._btf

    def _answer(self, key: str) -> list[int] | None:
        return self._load_cache().get(key)

    def member_offset(self, struct_name: str, path: str) -> Answer:
        """(byte offset, size) of member ``path`` of struct ``struct_name``."""
        key = f"member:{struct_name}:{path}"
        hit = self._answer(key)
        if hit is not None and len(hit) == 2:
            return hit[0], hit[1]
        off, size = self.btf().member_offset(struct_name, path)
        self._store(key, [off, size])
        return off, size

    def enum_value(self, enum_name: str, item: str) -> int:
        """The value of ``item`` of enum ``enum_name``."""
        key = f"enum:{enum_name}:{item}"
        hit = self._answer(key)
        if hit is not None and len(hit) == 1:
            return hit[0]
        val = self.btf().enum_value(enum_name, item)
        self._store(key, [val])
        return val

    def _store(self, key: str, value: list[int]) -> None:
        cache = self._load_cache()
        cache[key] = value
        self._save_cache()


_default: KernelTypes | None = None


def kernel_types() -> KernelTypes:
    """The running kernel's :class:`KernelTypes` (one per process)."""
    global _default
    if _default is None:
        _default = KernelTypes()
    return _default


def member_offset(struct_name: str, path: str) -> tuple[int, int]:
    """(byte offset, size) of ``path`` in the running kernel's struct ``struct_name``."""
    return kernel_types().member_offset(struct_name, path)


def enum_value(enum_name: str, item: str) -> int:
    """The value of ``item`` in the running kernel's enum ``enum_name``."""
    return kernel_types().enum_value(enum_name, item)

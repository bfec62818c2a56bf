"""The BTF reader: a hand-built blob covering the kinds, the running kernel, the cache."""

from __future__ import annotations

import json
import struct
import time
from pathlib import Path

import pytest

from stapserver.runtime.kernel import btf
from stapserver.runtime.kernel.btf import Btf, BtfError, KernelTypes


class _Builder:
    """Builds a BTF blob type by type (ids from 1)."""

    def __init__(self) -> None:
        self.types = bytearray()
        self.strs = bytearray(b"\0")
        self.n = 0

    def s(self, name: str) -> int:
        if not name:
            return 0
        off = len(self.strs)
        self.strs += name.encode() + b"\0"
        return off

    def add(self, name: str, kind: int, vlen: int, st: int, extra: bytes = b"", kf: int = 0) -> int:
        info = (kf << 31) | (kind << 24) | vlen
        self.types += struct.pack("<III", self.s(name), info, st) + extra
        self.n += 1
        return self.n

    def struct_(self, name: str, size: int, members: list[tuple[str, int, int, int]]) -> int:
        kf = int(any(bs for *_, bs in members))
        extra = b""
        for mname, mtype, bits, bitsize in members:
            moff = (bitsize << 24 | bits) if kf else bits
            extra += struct.pack("<III", self.s(mname), mtype, moff)
        return self.add(name, btf.STRUCT, len(members), size, extra, kf)

    def blob(self) -> bytes:
        hdr = struct.pack(
            "<HBBIIIII", btf.BTF_MAGIC, 1, 0, 24, 0, len(self.types), len(self.types),
            len(self.strs),
        )  # fmt: skip
        return hdr + bytes(self.types) + bytes(self.strs)


def _sample() -> bytes:
    b = _Builder()
    i32 = b.add("int", btf.INT, 0, 4, struct.pack("<I", (1 << 24) | 32))  # 1
    i64 = b.add("long", btf.INT, 0, 8, struct.pack("<I", (1 << 24) | 64))  # 2
    u32t = b.add("u32", btf.TYPEDEF, 0, i32)  # 3
    cu32 = b.add("", btf.CONST, 0, u32t)  # 4
    vol = b.add("", btf.VOLATILE, 0, cu32)  # 5
    inner = b.struct_("inner", 8, [("x", i32, 0, 0), ("y", vol, 32, 0)])  # 6
    ptr = b.add("", btf.PTR, 0, inner)  # 7
    arr = b.add("", btf.ARRAY, 0, 0, struct.pack("<III", inner, i32, 3))  # 8
    flex = b.add("", btf.ARRAY, 0, 0, struct.pack("<III", i32, i32, 0))  # 9
    anon_s = b.struct_("", 8, [("b", i32, 0, 0), ("c", i32, 32, 0)])  # 10
    union_members = struct.pack("<III", 0, anon_s, 0) + struct.pack("<III", b.s("d"), i64, 0)
    anon_u = b.add("", btf.UNION, 2, 8, union_members)  # 11
    bits = b.struct_("bits", 8, [("lo", i32, 0, 3), ("hi", i32, 3, 5), ("w", i32, 32, 0)])  # 12
    b.add("f", btf.FUNC_PROTO, 2, i32, struct.pack("<II", 0, i32) * 2)  # 13
    b.add("fn", btf.FUNC, 0, 13)  # 14
    b.add("v", btf.VAR, 0, i32, struct.pack("<I", 1))  # 15
    b.add(".data", btf.DATASEC, 1, 4, struct.pack("<III", 15, 0, 4))  # 16
    b.add("double", btf.FLOAT, 0, 8)  # 17
    b.add("tag", btf.DECL_TAG, 0, 6, struct.pack("<i", -1))  # 18
    b.add("user", btf.TYPE_TAG, 0, i32)  # 19
    colors = struct.pack("<Ii", b.s("RED"), 0) + struct.pack("<Ii", b.s("BLUE"), -2)
    b.add("color", btf.ENUM, 2, 4, colors, kf=1)  # 20 (signed)
    b.add("big", btf.ENUM64, 1, 8, struct.pack("<III", b.s("HUGE"), 1, 2))  # 21
    b.add("outer", btf.FWD, 0, 0)  # 22
    b.struct_(
        "outer", 64,
        [("a", i32, 0, 0), ("", anon_u, 64, 0), ("in", inner, 128, 0), ("p", ptr, 192, 0),
         ("arr", arr, 256, 0), ("bf", bits, 448, 0), ("tail", flex, 512, 0)],
    )  # fmt: skip # 23
    b.add("outer_t", btf.TYPEDEF, 0, 23)  # 24
    return b.blob()


def test_synthetic_blob() -> None:
    t = Btf(_sample())
    assert len(t) == 25
    assert t.member_offset("outer", "a") == (0, 4)
    assert t.member_offset("outer", "b") == (8, 4)  # through an anonymous union and struct
    assert t.member_offset("outer", "c") == (12, 4)
    assert t.member_offset("outer", "d") == (8, 8)
    assert t.member_offset("outer", "in.y") == (20, 4)  # through typedef/const/volatile
    assert t.member_offset("outer", "p") == (24, 8)
    assert t.member_offset("outer", "arr") == (32, 24)
    assert t.member_offset("outer", "arr[2].y") == (32 + 16 + 4, 4)
    assert t.member_offset("outer", "bf.w") == (60, 4)
    assert t.member_offset("outer", "tail[5]") == (64 + 20, 4)  # a flexible array
    assert t.member_offset("outer_t", "in") == (16, 8)
    assert t.enum_value("color", "BLUE") == -2
    assert t.enum_value("big", "HUGE") == (2 << 32) | 1
    for path, msg in [
        ("p.x", "is not a struct or union"),
        ("bf.lo", "is a bitfield"),
        ("nope", "has no member"),
        ("arr[3]", "out of bounds"),
        ("a[0]", "is not an array"),
        ("a..b", "bad member path"),
    ]:
        with pytest.raises(BtfError, match=msg):
            t.member_offset("outer", path)
    with pytest.raises(BtfError, match="no type"):
        t.member_offset("missing", "a")
    with pytest.raises(BtfError, match="no enum"):
        t.enum_value("missing", "A")
    with pytest.raises(BtfError):
        Btf(b"\0" * 24)
    with pytest.raises(BtfError):
        Btf(_sample()[:40])


def test_running_kernel() -> None:
    start = time.perf_counter()
    t = Btf.load()
    elapsed = time.perf_counter() - start
    assert len(t) > 10_000 and elapsed < 5
    real_parent, size = t.member_offset("task_struct", "real_parent")
    assert real_parent > 0 and size == 8
    assert t.member_offset("task_struct", "comm")[1] == 16
    assert t.member_offset("task_struct", "tgid")[1] == 4
    assert t.member_offset("cred", "euid.val")[1] == 4
    assert t.enum_value("pid_type", "PIDTYPE_PID") == 0
    start = t.member_offset("mm_struct", "arg_start")[0]
    assert t.member_offset("mm_struct", "arg_end")[0] == start + 8
    with pytest.raises(BtfError, match="pointer is read separately"):
        t.member_offset("task_struct", "real_parent.tgid")
    assert len(btf.kernel_build_id()) in (0, 40)


def test_cache(tmp_path: Path) -> None:
    blob = tmp_path / "btf.bin"
    blob.write_bytes(_sample())
    first = KernelTypes(str(blob), tmp_path / "cache", key="k")
    assert first.member_offset("outer", "arr[1].y") == (44, 4)
    assert first.enum_value("color", "BLUE") == -2
    assert first.parsed
    saved = json.loads((tmp_path / "cache" / "k.json").read_text())
    assert saved == {"member:outer:arr[1].y": [44, 4], "enum:color:BLUE": [-2]}
    blob.write_bytes(b"garbage")  # a cached answer never reads BTF
    second = KernelTypes(str(blob), tmp_path / "cache", key="k")
    assert second.member_offset("outer", "arr[1].y") == (44, 4)
    assert second.enum_value("color", "BLUE") == -2
    assert not second.parsed
    with pytest.raises(BtfError):
        second.member_offset("outer", "a")


def test_cache_unusable(tmp_path: Path) -> None:
    blob = tmp_path / "btf.bin"
    blob.write_bytes(_sample())
    not_dir = tmp_path / "file"
    not_dir.write_text("x")
    kt = KernelTypes(str(blob), not_dir / "sub", key="k")  # cannot be created
    assert kt.member_offset("outer", "c") == (12, 4)
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "k.json").write_text("{not json")
    kt = KernelTypes(str(blob), tmp_path / "c", key="k")  # corrupt: ignored, rewritten
    assert kt.member_offset("outer", "c") == (12, 4) and kt.parsed
    assert json.loads((tmp_path / "c" / "k.json").read_text()) == {"member:outer:c": [12, 4]}


def test_cache_dirs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", "/xdg")
    monkeypatch.setenv("HOME", "/home/u")
    assert btf.cache_dirs() == [
        Path("/var/cache/stapserver"), Path("/xdg/stapserver"), Path("/home/u/.cache/stapserver"),
    ]  # fmt: skip

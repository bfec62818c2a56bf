"""protocol.archive: deterministic build, defensive read."""

from __future__ import annotations

import io
import stat
import struct
import warnings
import zipfile
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stapserver.errors import ProtocolError
from stapserver.protocol import archive
from stapserver.protocol.archive import Limits

DEFAULT = Limits()
LOCAL_HEADER = b"PK\x03\x04"
CENTRAL_HEADER = b"PK\x01\x02"


def raw_zip(
    entries: list[tuple[str, bytes]],
    *,
    mode: int | None = None,
    compress_type: int = zipfile.ZIP_DEFLATED,
    create_system: int = 3,
) -> bytes:
    """A ZIP written with zipfile directly (no name checks), every entry alike."""
    out = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about duplicate names
        with zipfile.ZipFile(out, "w") as zf:
            for name, data in entries:
                info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = compress_type
                info.create_system = create_system
                if mode is not None:
                    info.external_attr = mode << 16
                zf.writestr(info, data)
    return out.getvalue()


def offsets(data: bytes) -> tuple[int, int]:
    """Offsets of the (single) local header and central directory header."""
    local = data.find(LOCAL_HEADER)
    central = data.rfind(CENTRAL_HEADER)
    assert local == 0 and central > 0
    assert data.count(LOCAL_HEADER) == 1 and data.count(CENTRAL_HEADER) == 1
    return local, central


# ---------------------------------------------------------------------- build


def test_build_is_deterministic() -> None:
    entries = [("version", b"4.8"), ("argv1", b"-p4"), ("script/tmp/x.stp", b"probe begin {}")]
    first = archive.build(entries)
    second = archive.build(list(entries))
    assert first == second
    assert archive.build(entries[::-1]) != first  # order is part of the content


def test_build_fixed_timestamp_mode_and_order() -> None:
    data = archive.build([("b", b"1"), ("a/c", b"22"), ("empty", b"")])
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        infos = zf.infolist()
        assert [i.filename for i in infos] == ["b", "a/c", "empty"]
        for info in infos:
            assert info.date_time == (1980, 1, 1, 0, 0, 0)
            assert info.compress_type == zipfile.ZIP_DEFLATED
            assert info.create_system == 3
            assert info.external_attr >> 16 == stat.S_IFREG | 0o644
            assert info.flag_bits & 0x1 == 0


def test_round_trip() -> None:
    entries = [
        ("version", b"4.8"),
        ("empty", b""),
        ("bin", bytes(range(256)) * 10),
        ("deep/er/still/file.stp", b"probe begin { exit() }\n"),
    ]
    assert archive.read(archive.build(entries), DEFAULT) == dict(entries)


def test_empty_archive_round_trip() -> None:
    assert archive.read(archive.build([]), DEFAULT) == {}


def test_directory_entries_are_implied_not_returned() -> None:
    data = raw_zip([("d/", b""), ("d/f", b"x")], mode=stat.S_IFDIR | 0o755)
    assert archive.read(data, DEFAULT) == {"d/f": b"x"}


def test_mode_zero_and_non_unix_entries_accepted() -> None:
    assert archive.read(raw_zip([("f", b"x")], mode=0), DEFAULT) == {"f": b"x"}
    # an MS-DOS made entry's attribute bits are not unix modes: not checked as such
    data = raw_zip([("f", b"x")], mode=stat.S_IFLNK | 0o777, create_system=0)
    assert archive.read(data, DEFAULT) == {"f": b"x"}


def test_stored_entries_accepted() -> None:
    data = raw_zip([("f", b"hello")], compress_type=zipfile.ZIP_STORED)
    assert archive.read(data, DEFAULT) == {"f": b"hello"}


_PART = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFZ0123456789_-.", min_size=1, max_size=12)
_NAME = st.lists(_PART.filter(lambda p: p not in (".", "..")), min_size=1, max_size=4).map("/".join)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(_NAME, st.binary(max_size=2000), max_size=12))
def test_random_entries_round_trip(files: dict[str, bytes]) -> None:
    entries = list(files.items())
    data = archive.build(entries)
    assert archive.build(entries) == data
    assert archive.read(data, DEFAULT) == files


# ---------------------------------------------------------------------- limits


def test_over_max_compressed_refused() -> None:
    data = archive.build([("f", b"x" * 100)])
    assert archive.read(data, Limits(max_compressed=len(data))) == {"f": b"x" * 100}
    with pytest.raises(ProtocolError) as err:
        archive.read(data, Limits(max_compressed=len(data) - 1))
    assert str(err.value) == f"archive is {len(data)} bytes, more than {len(data) - 1} (the limit)"


def test_over_max_entries_refused() -> None:
    data = archive.build([("a", b""), ("b", b""), ("c", b"")])
    assert len(archive.read(data, Limits(max_entries=3))) == 3
    with pytest.raises(ProtocolError) as err:
        archive.read(data, Limits(max_entries=2))
    assert str(err.value) == "archive has 3 entries; the limit is 2"


def test_declared_uncompressed_total_over_limit_refused() -> None:
    data = archive.build([("a", b"x" * 60), ("b", b"y" * 41)])
    assert archive.read(data, Limits(max_uncompressed=101)) == {"a": b"x" * 60, "b": b"y" * 41}
    with pytest.raises(ProtocolError) as err:
        archive.read(data, Limits(max_uncompressed=100))
    assert str(err.value) == "archive would unpack to more than 100 bytes (the limit)"


def test_declared_total_checked_before_inflating() -> None:
    # a damaged stream whose header declares too much: refused for the size, unread
    data = bytearray(archive.build([("f", bytes(range(256)) * 8)]))
    local, _ = offsets(bytes(data))
    for i in range(local + 31, local + 47):
        data[i] ^= 0xFF
    with pytest.raises(ProtocolError) as err:
        archive.read(bytes(data), Limits(max_uncompressed=2047))
    assert str(err.value) == "archive would unpack to more than 2047 bytes (the limit)"


def _lying_bomb(claimed: int, *, fix_crc: bool) -> bytes:
    """1 MiB of zeros whose local and central headers claim ``claimed`` bytes."""
    data = bytearray(archive.build([("big", bytes(1 << 20))]))
    local, central = offsets(bytes(data))
    assert struct.unpack_from("<I", data, local + 22)[0] == 1 << 20
    assert struct.unpack_from("<I", data, central + 24)[0] == 1 << 20
    struct.pack_into("<I", data, local + 22, claimed)
    struct.pack_into("<I", data, central + 24, claimed)
    if fix_crc:
        crc = zlib.crc32(bytes(claimed))
        struct.pack_into("<I", data, local + 14, crc)
        struct.pack_into("<I", data, central + 16, crc)
    return bytes(data)


def test_header_lying_about_uncompressed_size_refused() -> None:
    bomb = _lying_bomb(100, fix_crc=False)
    assert len(bomb) < 4096
    # the declared total (100) passes the check before inflating; inflating must not
    # hand back the megabyte
    with pytest.raises(ProtocolError):
        archive.read(bomb, Limits(max_uncompressed=1000))
    with pytest.raises(ProtocolError):
        archive.read(bomb, DEFAULT)


def test_header_lying_about_size_never_yields_more_than_limit() -> None:
    # even with a CRC matching what the header claims, the reader stops: it never
    # returns more than the limit (here: it stops at the claimed size)
    bomb = _lying_bomb(100, fix_crc=True)
    try:
        files = archive.read(bomb, Limits(max_uncompressed=1000))
    except ProtocolError:
        return
    assert files == {"big": bytes(100)}


class _Endless(io.RawIOBase):
    """An entry stream that inflates forever, counting what it hands out."""

    def __init__(self) -> None:
        self.given = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        n = size if size > 0 else 1 << 16
        self.given += n
        return bytes(n)


def test_inflating_stops_at_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    # whatever the headers say, the bytes actually inflated are counted
    data = archive.build([("f", b"x")])
    stream = _Endless()
    monkeypatch.setattr(zipfile.ZipFile, "open", lambda self, *a, **k: stream)
    with pytest.raises(ProtocolError) as err:
        archive.read(data, Limits(max_uncompressed=100_000))
    assert str(err.value) == "archive unpacks to more than 100000 bytes (the limit)"
    assert stream.given <= 100_000 + (1 << 16)


def test_real_size_over_limit_refused() -> None:
    data = archive.build([("big", bytes(1 << 20))])
    with pytest.raises(ProtocolError):
        archive.read(data, Limits(max_uncompressed=(1 << 20) - 1))
    assert archive.read(data, Limits(max_uncompressed=1 << 20)) == {"big": bytes(1 << 20)}


# ---------------------------------------------------------------------- names


UNSAFE_NAMES = [
    "/etc/passwd",
    "/",
    "../x",
    "a/../../x",
    "a/..",
    "..",
    "a\\b",
    "..\\x",
    "a//b",
    "./a",
    "a/./b",
    "C:/Windows/x",
    "C:x",
    "c:\\x",
]


@pytest.mark.parametrize("name", UNSAFE_NAMES)
def test_unsafe_names_refused_by_read(name: str) -> None:
    with pytest.raises(ProtocolError) as err:
        archive.read(raw_zip([(name, b"x")]), DEFAULT)
    assert repr(name) in str(err.value)


@pytest.mark.parametrize("name", [*UNSAFE_NAMES, "", "a\0b", "\0"])
def test_check_name_refuses(name: str) -> None:
    with pytest.raises(ProtocolError):
        archive.check_name(name)


@pytest.mark.parametrize(
    "name", ["a", "script/tmp/x.stp", "tapset/usr/share/t/a.stp", "d/", "a.b/c..d/.hidden", "-"]
)
def test_check_name_accepts(name: str) -> None:
    assert archive.check_name(name) == name


def test_check_name_messages() -> None:
    with pytest.raises(ProtocolError, match=r"^archive entry '/x' has an absolute path$"):
        archive.check_name("/x")
    with pytest.raises(ProtocolError, match=r"^archive entry name 'a\\\\b' is not allowed$"):
        archive.check_name("a\\b")
    with pytest.raises(ProtocolError, match="leaves its folder or has an empty part"):
        archive.check_name("a/../b")


def _with_nul_name() -> bytes:
    data = bytearray(raw_zip([("abXcd", b"hello")]))
    for pos in (data.find(b"abXcd"), data.rfind(b"abXcd")):
        data[pos + 2] = 0
    assert data.count(b"ab\x00cd") == 2
    return bytes(data)


def test_nul_in_entry_name_refused_by_read() -> None:
    with pytest.raises(ProtocolError):
        archive.read(_with_nul_name(), DEFAULT)


def test_nul_in_central_name_only_refused() -> None:
    data = bytearray(raw_zip([("abXcd", b"hello")]))
    data[data.rfind(b"abXcd") + 2] = 0  # central directory only: names disagree
    with pytest.raises(ProtocolError):
        archive.read(bytes(data), DEFAULT)


# ---------------------------------------------------------------------- entry kinds


@pytest.mark.parametrize(
    "kind",
    [stat.S_IFLNK | 0o777, stat.S_IFCHR | 0o644, stat.S_IFBLK | 0o644, stat.S_IFIFO | 0o644],
    ids=["symlink", "chardev", "blockdev", "fifo"],
)
def test_links_and_devices_refused(kind: int) -> None:
    with pytest.raises(ProtocolError) as err:
        archive.read(raw_zip([("f", b"/etc/passwd")], mode=kind), DEFAULT)
    assert str(err.value) == "archive entry 'f' is a link or a device"


def test_duplicate_names_refused() -> None:
    with pytest.raises(ProtocolError) as err:
        archive.read(raw_zip([("a", b"1"), ("a", b"2")]), DEFAULT)
    assert str(err.value) == "archive has two entries named 'a'"


def test_file_and_folder_of_the_same_name_refused() -> None:
    with pytest.raises(ProtocolError, match="two entries named 'a'"):
        archive.read(raw_zip([("a", b"1"), ("a/", b"")]), DEFAULT)


def test_encrypted_entry_refused() -> None:
    data = bytearray(raw_zip([("f", b"hello")]))
    local, central = offsets(bytes(data))
    data[local + 6] |= 0x1
    data[central + 8] |= 0x1
    with pytest.raises(ProtocolError) as err:
        archive.read(bytes(data), DEFAULT)
    assert str(err.value) == "archive entry 'f' is encrypted"


@pytest.mark.parametrize("method", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA], ids=["bzip2", "lzma"])
def test_unsupported_compression_refused(method: int) -> None:
    with pytest.raises(ProtocolError) as err:
        archive.read(raw_zip([("f", b"hello" * 100)], compress_type=method), DEFAULT)
    assert str(err.value) == "archive entry 'f' uses an unsupported compression"


def test_unknown_compression_method_refused() -> None:
    data = bytearray(raw_zip([("f", b"hello")]))
    local, central = offsets(bytes(data))
    struct.pack_into("<H", data, local + 8, 99)
    struct.pack_into("<H", data, central + 10, 99)
    with pytest.raises(ProtocolError):
        archive.read(bytes(data), DEFAULT)


# ---------------------------------------------------------------------- damage


@pytest.mark.parametrize(
    "data",
    [b"", b"garbage", b"PK\x03\x04" + b"\0" * 40, bytes(range(256)) * 4],
    ids=["empty", "text", "bare-header", "noise"],
)
def test_garbage_refused(data: bytes) -> None:
    with pytest.raises(ProtocolError):
        archive.read(data, DEFAULT)


def test_truncated_archive_refused() -> None:
    data = archive.build([("a", b"x" * 1000), ("b", bytes(range(256)))])
    for cut in (1, 10, len(data) // 2, len(data) - 1):
        with pytest.raises(ProtocolError):
            archive.read(data[:cut], DEFAULT)


def test_damaged_deflate_stream_refused() -> None:
    payload = bytes(range(256)) * 8
    data = bytearray(archive.build([("f", payload)]))
    local, _ = offsets(bytes(data))
    start = local + 30 + 1  # after the fixed local header and the 1-byte name
    for i in range(start, start + 16):
        data[i] ^= 0xFF
    with pytest.raises(ProtocolError, match="damaged"):
        archive.read(bytes(data), DEFAULT)


@pytest.mark.parametrize("flag", [0x20, 0x40])
def test_zip_features_zipfile_does_not_read_are_refused(flag: int) -> None:
    """Patched data (bit 5) and strong encryption (bit 6) made zipfile raise
    NotImplementedError, which went through as an internal error (found by the
    response fuzz test, tests/client/test_verified.py)."""
    data = bytearray(archive.build([("stdout", b"hello")]))
    data[6] |= flag  # the local header's flags
    central = data.rindex(b"PK\x01\x02")
    data[central + 8] |= flag  # the central directory's
    with pytest.raises(ProtocolError):
        archive.read(bytes(data), archive.Limits())

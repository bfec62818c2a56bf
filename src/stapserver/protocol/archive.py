"""ZIP archives as the protocol carries them: built deterministically, read defensively.

Reading checks everything before unpacking anything: the compressed size (the caller
checks the frame length against its limit), the number of entries, the declared
uncompressed total, names that could escape a folder (absolute paths, ``..``,
backslashes, NUL), links, devices, duplicate names and unknown compression methods.
While inflating, the real sizes are counted too, so a lying header gains nothing.
"""

from __future__ import annotations

import io
import stat
import zipfile
import zlib
from collections.abc import Iterable
from typing import NamedTuple

from ..errors import ProtocolError

# A fixed timestamp: the same content always makes the same archive bytes.
_EPOCH = (1980, 1, 1, 0, 0, 0)
_READ_CHUNK = 1 << 16


class TooLarge(ProtocolError):
    """An archive over a size limit: ``compressed`` (as sent), else once unpacked.  The
    message names ``option``, the setting of that limit, when the reader knows it."""

    def __init__(self, what: str, compressed: bool, option: str | None = None) -> None:
        limit = "the limit" if option is None else f"the limit, which {option} sets"
        super().__init__(f"{what} ({limit})")
        self.what = what
        self.compressed = compressed

    def set_by(self, option: str) -> TooLarge:
        """The same error, naming the option that sets the limit."""
        return TooLarge(self.what, self.compressed, option)


class Limits(NamedTuple):
    """What a reader accepts.  The defaults are for requests: SystemTap's own (5,000
    compressed and 50,000 uncompressed bytes) refuse scripts with a tapset tree."""

    max_compressed: int = 16 * 1024 * 1024
    max_uncompressed: int = 64 * 1024 * 1024
    max_entries: int = 10_000


def build(entries: Iterable[tuple[str, bytes]]) -> bytes:
    """A ZIP of ``(name, data)`` entries, in the given order, deflated, reproducible."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            info.create_system = 3  # unix, so the mode bits above mean what they say
            zf.writestr(info, data)
    return out.getvalue()


def check_name(name: str) -> str:
    """``name`` if it is a safe relative path inside the archive, else ProtocolError."""
    if not name or "\0" in name or "\\" in name:
        raise ProtocolError(f"archive entry name {name!r} is not allowed")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise ProtocolError(f"archive entry {name!r} has an absolute path")
    parts = name.rstrip("/").split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise ProtocolError(f"archive entry {name!r} leaves its folder or has an empty part")
    return name


def read(data: bytes, limits: Limits) -> dict[str, bytes]:
    """The files of a ZIP archive, by name (folders are implied by the names)."""
    if len(data) > limits.max_compressed:
        raise TooLarge(
            f"archive is {len(data)} bytes, more than {limits.max_compressed}", compressed=True
        )
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zlib.error, ValueError, OSError, EOFError) as err:
        raise ProtocolError(f"not a valid ZIP archive ({err})") from None
    except NotImplementedError as err:  # zipfile: a ZIP feature it does not read
        raise ProtocolError(f"a ZIP archive with {err}, which is not used here") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > limits.max_entries:
            raise ProtocolError(
                f"archive has {len(infos)} entries; the limit is {limits.max_entries}"
            )
        declared = 0
        seen: set[str] = set()
        for info in infos:
            # zipfile cuts a name at a NUL; the name as stored must be refused whole
            check_name(info.orig_filename)
            name = check_name(info.filename)
            mode = info.external_attr >> 16
            if info.create_system == 3 and mode:
                kind = stat.S_IFMT(mode)
                if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
                    raise ProtocolError(f"archive entry {name!r} is a link or a device")
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise ProtocolError(f"archive entry {name!r} uses an unsupported compression")
            if info.flag_bits & 0x1:
                raise ProtocolError(f"archive entry {name!r} is encrypted")
            key = name.rstrip("/")
            if key in seen:
                raise ProtocolError(f"archive has two entries named {key!r}")
            seen.add(key)
            declared += info.file_size
            if declared > limits.max_uncompressed:
                raise TooLarge(
                    f"archive would unpack to more than {limits.max_uncompressed} bytes",
                    compressed=False,
                )
        files: dict[str, bytes] = {}
        total = 0
        for info in infos:
            if info.is_dir():
                continue
            chunks = []
            try:
                with zf.open(info) as f:
                    while True:
                        chunk = f.read(_READ_CHUNK)
                        if not chunk:
                            break
                        total += len(chunk)
                        if total > limits.max_uncompressed:
                            raise TooLarge(
                                f"archive unpacks to more than {limits.max_uncompressed} bytes",
                                compressed=False,
                            )
                        chunks.append(chunk)
            except (
                zipfile.BadZipFile,
                zlib.error,
                EOFError,
                OSError,
                ValueError,
                NotImplementedError,  # zipfile: a feature it does not read (found by fuzzing)
            ) as err:
                raise ProtocolError(f"archive entry {info.filename!r} is damaged ({err})") from None
            files[info.filename] = b"".join(chunks)
        return files

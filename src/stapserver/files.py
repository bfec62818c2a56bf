"""Files written whole or not at all."""

from __future__ import annotations

import os
from pathlib import Path


def write_atomic(
    path: Path, data: bytes, *, mode: int | None = None, durable: bool = False
) -> None:
    """Write ``data`` to ``path`` through a new file in the same folder and a rename: a
    reader sees the old file or the new one, never a part of one, and a failure leaves
    nothing behind.  ``mode``: the file's permissions, exactly (default: as ``open``
    makes them, 0o666 less the umask).  ``durable``: on disk before the rename (keys and
    certificates).  OSError is the caller's to word."""
    tmp = path.with_name(f".{path.name}.{os.urandom(6).hex()}.tmp")  # (secrets: slower import)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
    fd = os.open(tmp, flags, 0o600 if mode is not None else 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            if mode is not None:
                os.fchmod(f.fileno(), mode)
            f.write(data)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise

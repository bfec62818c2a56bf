"""Where certificate databases live, who may use them, and what a client database
trusts by name or by exact bytes: the part of :mod:`.database` that needs no
cryptography (so that ``stap-find-servers`` and ``stap-client`` start fast).

A client database keeps each trusted certificate as ``certs/<SHA-256>.pem``.
"""

from __future__ import annotations

import binascii
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import TrustError

if TYPE_CHECKING:
    from cryptography.x509 import Certificate

CERTS_DIR = "certs"


def sysconfdir() -> Path:
    """``$sysconfdir`` (``/etc``; ``STAPSERVER_SYSCONFDIR`` overrides it, for tests)."""
    return Path(os.environ.get("STAPSERVER_SYSCONFDIR", "/etc"))


def systemtap_dir() -> Path:
    env = os.environ.get("SYSTEMTAP_DIR")
    if env:
        return Path(env)
    return Path.home() / ".systemtap"


def server_db_dir(euid: int | None = None) -> Path:
    euid = os.geteuid() if euid is None else euid
    if euid == 0:
        return sysconfdir() / "systemtap" / "ssl" / "server"
    return systemtap_dir() / "ssl" / "server"


def user_client_db_dir(euid: int | None = None) -> Path:
    euid = os.geteuid() if euid is None else euid
    if euid == 0:
        return global_client_db_dir()
    return systemtap_dir() / "ssl" / "client"


def global_client_db_dir() -> Path:
    return sysconfdir() / "systemtap" / "ssl" / "client"


def client_db_dirs(extra: list[str]) -> list[Path]:
    """The databases a client searches: ``--ssl`` ones in order, the user's, the global."""
    dirs = [Path(d) for d in extra]
    for d in (user_client_db_dir(), global_client_db_dir()):
        if d not in dirs:
            dirs.append(d)
    return dirs


# ---------------------------------------------------------------------- permissions


def check_permissions(path: Path, owner: int | None = None, what: str = "") -> None:
    """SystemTap's rule for a database, applied to its folder and to every file in it:
    no symbolic link, owned by ``owner`` (the caller, or root for a global database),
    not writable by group or others.  TrustError says how to fix it.  A missing path
    passes (there is nothing to trust there)."""
    owner = os.geteuid() if owner is None else owner
    what = what or f"certificate database {path}"
    try:
        st = path.lstat()
    except FileNotFoundError:
        return
    except OSError as err:
        raise TrustError(f"cannot examine {what}: {err.strerror}") from None
    if stat.S_ISLNK(st.st_mode):
        raise TrustError(
            f"{what} is a symbolic link, which a certificate database may not hold; "
            f"replace it with the real {'folder' if path.is_dir() else 'file'}"
        )
    if st.st_uid != owner:
        raise TrustError(
            f"{what} is owned by uid {st.st_uid}, not by uid {owner}; "
            f"fix it with: chown -R {owner} {path}"
        )
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise TrustError(f"{what} is writable by group or others; fix it with: chmod go-w {path}")


def _owner_for(path: Path) -> int:
    """Who must own ``path``: root for the global databases, else the caller."""
    try:
        if path.resolve().is_relative_to((sysconfdir() / "systemtap").resolve()):
            return 0
    except OSError:
        pass
    return os.geteuid()


def check_database(directory: Path) -> Path | None:
    """Check a client database's folder, its ``certs/`` folder and every file in both
    (SystemTap's NSS files too): TrustError names the first problem and its fix.  The
    ``certs/`` folder, or None when there is none."""
    owner = _owner_for(directory)
    check_permissions(directory, owner)
    if not directory.is_dir():
        return None
    folder = directory / CERTS_DIR
    for entry in sorted(directory.iterdir()):
        if entry != folder:
            check_permissions(entry, owner, f"{entry} in certificate database {directory}")
    check_permissions(folder, owner)
    if not folder.is_dir():
        return None
    for entry in sorted(folder.iterdir()):
        check_permissions(entry, owner, f"{entry} in certificate database {directory}")
    return folder


def cert_files(directory: Path) -> list[Path]:
    """The certificate files of a client database (``certs/*.pem``, sorted), after
    checking the database (:func:`check_database`)."""
    folder = check_database(directory)
    if folder is None:
        return []
    return sorted(folder.glob("*.pem"))


def trusted_entries(directory: Path) -> list[tuple[str, bytes]]:
    """What a client database trusts: (SHA-256, DER) of each ``certs/<SHA-256>.pem``
    whose certificate is the one its name says.  A file that holds anything else (a
    damaged or swapped certificate) trusts nothing."""
    import hashlib

    found = []
    for path in cert_files(directory):
        try:
            raw = path.read_bytes()
        except OSError:
            continue
        der = pem_der(raw) if raw.lstrip().startswith(b"-----") else raw  # PEM, or DER
        name = path.stem.lower()
        if der is not None and hashlib.sha256(der).hexdigest() == name:
            found.append((name, der))
    return found


def trusted_fingerprints(directory: Path) -> set[str]:
    """The SHA-256 (lower-case hex) of every certificate a client database trusts."""
    return {name for name, _ in trusted_entries(directory)}


def pem_der(text: bytes) -> bytes | None:
    """The DER inside a one-certificate PEM file, or None if it is not one."""
    begin, end = b"-----BEGIN CERTIFICATE-----", b"-----END CERTIFICATE-----"
    start = text.find(begin)
    stop = text.find(end, start + len(begin))
    if start < 0 or stop < 0:
        return None
    try:
        return binascii.a2b_base64(text[start + len(begin) : stop])
    except binascii.Error:
        return None


def pinned(directories: list[Path], der: bytes) -> Path | None:
    """The first database that trusts exactly these certificate bytes.  No
    cryptography: a server presenting a certificate it was trusted with is recognised
    by its bytes."""
    for d in directories:
        if any(trusted == der for _, trusted in trusted_entries(d)):
            return d
    return None


class TrustedSet:
    """:func:`.policy.advertised_trusted` over the client databases, loading certificates only
    when an advertisement's certificate SHA-256 is not one of the trusted files' names
    (the common case needs no cryptography at all)."""

    def __init__(self, directories: list[Path]) -> None:
        self.directories = directories
        self.fingerprints: set[str] = set()
        for d in directories:
            self.fingerprints |= trusted_fingerprints(d)
        self._databases: list[tuple[Path, list[Certificate]]] | None = None

    def trusts(self, txt: dict[str, str]) -> bool:
        if txt.get("certsha256", "").lower() in self.fingerprints:
            return True
        if self._databases is None:
            from . import database

            self._databases = [(d, database.trusted_certificates(d)) for d in self.directories]
        from .policy import advertised_trusted

        return advertised_trusted(txt, self._databases)


__all__ = [
    "CERTS_DIR",
    "TrustedSet",
    "cert_files",
    "check_database",
    "check_permissions",
    "client_db_dirs",
    "global_client_db_dir",
    "pem_der",
    "pinned",
    "server_db_dir",
    "sysconfdir",
    "systemtap_dir",
    "trusted_entries",
    "trusted_fingerprints",
    "user_client_db_dir",
]

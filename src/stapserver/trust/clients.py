"""Which clients a server serves, when it is told (``stap-serverd --allow-client``):
mutual TLS, off by default as with SystemTap.

A server given ``--allow-client CERTFILE|DIR`` asks every client for a certificate and
completes the handshake only with one of those listed (each file PEM, one or more
certificates, or DER; a folder: its ``*.pem``, ``*.crt``, ``*.cert`` and ``*.der``
files).  A client shows one with ``stap-client --client-cert=FILE``: a PEM file holding
its certificate and its private key, as ``openssl req -x509`` makes them.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from ..errors import TrustError
from .layout import pem_der

CERT_SUFFIXES = (".pem", ".crt", ".cert", ".der")
_PEM_BLOCK = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)


def _certificates(path: Path) -> list[bytes]:
    """The certificates (DER) of one file: PEM blocks, or the file as DER."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise TrustError(f"--allow-client {path}: cannot read it: {err.strerror}") from None
    if b"-----BEGIN" in data:
        found = [d for d in (pem_der(block) for block in _PEM_BLOCK.findall(data)) if d]
    else:
        found = [data] if data.startswith(b"\x30") else []
    if not found:
        raise TrustError(f"--allow-client {path}: no certificate in it (PEM or DER)")
    return found


def allowed_clients(paths: list[Path]) -> dict[str, bytes]:
    """The client certificates the server serves, by SHA-256 (hex), from ``paths``."""
    allowed: dict[str, bytes] = {}
    for path in paths:
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.suffix.lower() in CERT_SUFFIXES)
            if not files:
                raise TrustError(f"--allow-client {path}: a folder with no certificate files")
        elif path.exists():
            files = [path]
        else:
            raise TrustError(f"--allow-client {path}: no such file or folder")
        for f in files:
            for der in _certificates(f):
                allowed[hashlib.sha256(der).hexdigest()] = der
    return allowed


__all__ = ["CERT_SUFFIXES", "allowed_clients"]

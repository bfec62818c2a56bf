"""Certificate databases: where they live, who may use them, what they hold.

- A **server database** holds the server's key (``stap.key``, PEM, mode 600) and
  certificate (``stap.cert``, DER, as SystemTap writes it).
- A **client database** holds the certificates of trusted servers, one PEM file each
  under ``certs/``, named by SHA-256 fingerprint.  (Issue 5 adds SystemTap's NSS database
  in the same folder.)

Locations follow SystemTap: ``$SYSTEMTAP_DIR`` (default ``~/.systemtap``)``/ssl/server``
and ``/ssl/client`` for a user; for root ``$sysconfdir/systemtap/ssl/...``, whose client
database is trusted by every user of the host.

Permission checks follow SystemTap: a database must be owned by its user (root for the
global ones) and writable by nobody else; the key is readable by its owner alone.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ..errors import TrustError
from ..files import write_atomic
from . import certs, nss
from .layout import (
    CERTS_DIR,
    _owner_for,
    check_database,
    check_permissions,
    client_db_dirs,
    global_client_db_dir,
    server_db_dir,
    sysconfdir,
    systemtap_dir,
    trusted_entries,
    user_client_db_dir,
)

CERT_FILE = "stap.cert"
KEY_FILE = "stap.key"
NSS_FILES = ("cert9.db", "key4.db", "cert8.db", "key3.db")


def _make_dir(path: Path, mode: int = 0o755) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True, mode=mode)
    except OSError as err:
        raise TrustError(f"cannot create certificate database {path}: {err.strerror}") from None


# ---------------------------------------------------------------------- server


@dataclass
class ServerIdentity:
    key: rsa.RSAPrivateKey
    cert: x509.Certificate
    directory: Path

    @property
    def cert_path(self) -> Path:
        return self.directory / CERT_FILE

    @property
    def key_path(self) -> Path:
        return self.directory / KEY_FILE


def load_or_create_server_identity(
    directory: Path, *, key_bits: int = certs.KEY_BITS, now: dt.datetime | None = None
) -> tuple[ServerIdentity, str]:
    """The server's key and certificate, created on first use, renewed (same key) when
    it is about to expire.  Returns the identity and what was done: "created",
    "renewed" or "loaded"."""
    check_permissions(directory, _owner_for(directory))
    key_path = directory / KEY_FILE
    cert_path = directory / CERT_FILE
    if not key_path.exists() and any((directory / f).exists() for f in NSS_FILES):
        raise TrustError(
            f"server database {directory} is SystemTap's (an NSS database, whose key this "
            "server cannot use); give stap-serverd --ssl=DIR another folder"
        )
    if not key_path.exists():
        _make_dir(directory, 0o755)
        key = certs.generate_key(key_bits)
        new_cert = certs.make_certificate(key, now=now)
        key_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        try:
            write_atomic(key_path, key_pem, mode=0o600, durable=True)
            write_atomic(cert_path, certs.der(new_cert), mode=0o644, durable=True)
        except OSError as err:
            raise TrustError(f"cannot write the server certificate in {directory}: {err}") from None
        return ServerIdentity(key, new_cert, directory), "created"
    st = key_path.stat()
    if st.st_mode & 0o077:
        raise TrustError(
            f"server key {key_path} is readable by others; fix it with: chmod 600 {key_path}"
        )
    try:
        loaded = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (ValueError, TypeError, OSError) as err:
        raise TrustError(f"cannot read the server key {key_path}: {err}") from None
    if not isinstance(loaded, rsa.RSAPrivateKey):
        raise TrustError(f"server key {key_path} is not an RSA key")
    key = loaded
    action = "loaded"
    cert: x509.Certificate | None = None
    if cert_path.exists():
        try:
            cert = certs.load_certificate(cert_path.read_bytes(), str(cert_path))
        except (TrustError, OSError):
            cert = None  # damaged: the key is the identity, make a certificate for it
        if cert is not None and certs.spki(cert) != certs.spki_of_key(key):
            cert = None  # a certificate for another key: make one for ours
    if cert is None or certs.needs_renewal(cert, now):
        cert = certs.make_certificate(key, now=now)
        try:
            write_atomic(cert_path, certs.der(cert), mode=0o644, durable=True)
        except OSError as err:
            raise TrustError(f"cannot write the server certificate {cert_path}: {err}") from None
        action = "renewed"
    return ServerIdentity(key, cert, directory), action


# ---------------------------------------------------------------------- client


def trusted_certificates(directory: Path) -> list[x509.Certificate]:
    """The certificates a client database trusts (after checking it): our ``certs/``
    files whose content is the certificate their name says, then those of SystemTap's
    NSS database in the same folder."""
    found = []
    for _, data in trusted_entries(directory):
        try:
            found.append(certs.load_certificate(data))
        except TrustError:
            continue  # a damaged entry trusts nothing
    known = {certs.der(c) for c in found}
    for cert in nss.trusted(directory):
        der = certs.der(cert)
        if der not in known:
            known.add(der)
            found.append(cert)
    return found


def add_trusted(directory: Path, cert: x509.Certificate) -> Path:
    """Add ``cert`` to the client database ``directory`` (created, mode 755, if needed).
    Returns the file written; adding it twice changes nothing.  SystemTap's client
    reads the NSS database in the same folder: :func:`.nss.add` writes that one."""
    _make_dir(directory, 0o755)
    _make_dir(directory / CERTS_DIR, 0o755)
    folder = check_database(directory)  # a database others could change trusts nothing
    assert folder is not None
    name = certs.sha256_hex(cert) + ".pem"
    path = folder / name
    if not path.exists():
        try:
            write_atomic(path, certs.pem(cert), mode=0o644, durable=True)
        except OSError as err:
            raise TrustError(f"cannot add the certificate to {directory}: {err.strerror}") from None
    return path


__all__ = [
    "CERTS_DIR",
    "CERT_FILE",
    "KEY_FILE",
    "NSS_FILES",
    "ServerIdentity",
    "add_trusted",
    "check_permissions",
    "client_db_dirs",
    "global_client_db_dir",
    "load_or_create_server_identity",
    "server_db_dir",
    "sysconfdir",
    "systemtap_dir",
    "trusted_certificates",
    "user_client_db_dir",
]

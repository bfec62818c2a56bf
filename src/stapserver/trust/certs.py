"""Server certificates as SystemTap makes them, and what identifies them.

A server's certificate is self-signed, subject ``OU=Systemtap, CN=Systemtap Compile
Server`` (PrintableString, as NSS writes it), RSA 4096 with SHA-256, a serial of 5 bytes
(microseconds since the epoch shifted right by 19), valid 12 months, with the host names
as subject alternative names and the critical Netscape certificate-type extension (SSL
server, object signing).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import socket
import time
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509.name import _ASN1Type  # PrintableString has no public spelling
from cryptography.x509.oid import NameOID, ObjectIdentifier

from ..errors import TrustError
from . import der as der_mod
from .der import fingerprint as der_fingerprint

KEY_BITS = 4096
VALIDITY = dt.timedelta(days=365)
RENEW_BEFORE = dt.timedelta(days=30)
NETSCAPE_CERT_TYPE = ObjectIdentifier("2.16.840.1.113730.1.1")
# Ours, non-critical: "this server signs a manifest of every response" (an OID under
# 2.25, the arc of UUIDs, X.667).  A client that finds it in the certificate it pinned
# refuses a response without a signed manifest; SystemTap's servers have none of it.
SIGNS_MANIFESTS = ObjectIdentifier(f"2.25.{der_mod.SIGNS_MANIFESTS_UUID}")
# BIT STRING: SSL server, object signing, object-signing CA (SystemTap's value)
NETSCAPE_CERT_TYPE_VALUE = b"\x03\x02\x00\x51"
_PRINTABLE = _ASN1Type.PrintableString
SUBJECT = x509.Name(
    [
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Systemtap", _type=_PRINTABLE),
        x509.NameAttribute(NameOID.COMMON_NAME, "Systemtap Compile Server", _type=_PRINTABLE),
    ]
)


def generate_key(bits: int = KEY_BITS) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def host_names() -> list[str]:
    """The names a certificate of this host carries: the host name and ``<short>.local``."""
    full = socket.gethostname() or "localhost"
    short = full.split(".", 1)[0]
    names = [full]
    if f"{short}.local" not in names:
        names.append(f"{short}.local")
    return names


def serial_now() -> int:
    """SystemTap's serial: microseconds since the epoch >> 19 (5 bytes long)."""
    return (time.time_ns() // 1000) >> 19


def make_certificate(
    key: rsa.RSAPrivateKey,
    names: list[str] | None = None,
    *,
    now: dt.datetime | None = None,
    validity: dt.timedelta = VALIDITY,
) -> x509.Certificate:
    now = now or dt.datetime.now(dt.UTC)
    names = names or host_names()
    builder = (
        x509.CertificateBuilder()
        .subject_name(SUBJECT)
        .issuer_name(SUBJECT)
        .public_key(key.public_key())
        .serial_number(serial_now())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + validity)
        .add_extension(
            x509.UnrecognizedExtension(NETSCAPE_CERT_TYPE, NETSCAPE_CERT_TYPE_VALUE),
            critical=True,
        )
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False
        )
        .add_extension(x509.UnrecognizedExtension(SIGNS_MANIFESTS, b"\x05\x00"), critical=False)
    )
    return builder.sign(key, hashes.SHA256())


def load_certificate(data: bytes, name: str = "certificate") -> x509.Certificate:
    """A certificate from PEM or DER bytes; TrustError if it is neither."""
    try:
        if b"-----BEGIN CERTIFICATE-----" in data:
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except ValueError:
        raise TrustError(f"{name} is not a certificate (neither PEM nor DER)") from None


def der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def spki(cert: x509.Certificate) -> bytes:
    """The certificate's public key (SubjectPublicKeyInfo, DER): what survives renewal."""
    return _spki(cert.public_key())


def spki_of_key(key: rsa.RSAPrivateKey) -> bytes:
    return _spki(key.public_key())


def _spki(public_key: CertificatePublicKeyTypes) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 of the certificate, as ``AB:CD:...``."""
    return der_fingerprint(der(cert))


def sha256_hex(cert: x509.Certificate) -> str:
    """SHA-256 of the certificate in lower-case hex: its name in a client database and
    its advertised ``certsha256``."""
    return cert.fingerprint(hashes.SHA256()).hex()


def key_sha256_hex(cert: x509.Certificate) -> str:
    """SHA-256 of the certificate's public key (lower-case hex): the advertised
    ``keysha256``, the same across renewals."""
    return hashlib.sha256(spki(cert)).hexdigest()


def serial_text(cert: x509.Certificate) -> str:
    """The serial as SystemTap advertises it: its DER bytes in hex, joined by ``:``
    (5 bytes for a SystemTap serial, whose top bit needs a leading zero byte)."""
    n = cert.serial_number
    raw = n.to_bytes(n.bit_length() // 8 + 1, "big")
    return ":".join(f"{b:02x}" for b in raw)


@dataclass(frozen=True)
class Validity:
    not_before: dt.datetime
    not_after: dt.datetime

    def contains(self, when: dt.datetime) -> bool:
        return self.not_before <= when <= self.not_after


def validity(cert: x509.Certificate) -> Validity:
    return Validity(cert.not_valid_before_utc, cert.not_valid_after_utc)


def needs_renewal(cert: x509.Certificate, now: dt.datetime | None = None) -> bool:
    """Near its expiry, or made before our certificates said that the server signs its
    responses' manifests (a renewal keeps the key: clients keep trusting it)."""
    now = now or dt.datetime.now(dt.UTC)
    return cert.not_valid_after_utc - now < RENEW_BEFORE or not signs_manifests(cert)


def signs_manifests(cert: x509.Certificate) -> bool:
    """Does the certificate say its server signs a manifest of every response?"""
    return any(e.oid == SIGNS_MANIFESTS for e in cert.extensions)


def self_signed_ok(cert: x509.Certificate) -> bool:
    """Is the certificate signed by its own key?"""
    try:
        cert.verify_directly_issued_by(cert)
    except Exception:  # InvalidSignature, or a key or algorithm cryptography refuses
        return False
    return True

"""Signatures: detached PKCS#1 v1.5 RSA signatures, as SystemTap's server signs modules.

``<module>.sgn`` holds the signature of the whole module file with the server's key:
SHA-256 (SystemTap 5.5 and us), SHA-1 from SystemTap 4.8's server.  ``openssl dgst
-sha256 -verify <public key> -signature <module>.sgn <module>`` checks one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from .der import Certificate, DerError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

    PublicKey = PublicKeyTypes

SIGNATURE_SUFFIX = ".sgn"


def sign(key: rsa.RSAPrivateKey, data: bytes) -> bytes:
    return key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def server_key(der: bytes) -> tuple[PublicKeyTypes, bool]:
    """A server certificate's (DER) public key, and whether it says the server signs a
    manifest of every response: read directly for an RSA key, the kind servers have,
    without loading cryptography's X.509 parser; parsed by it otherwise."""
    try:
        cert = Certificate(der)
    except DerError:
        from . import certs

        parsed = certs.load_certificate(der)
        return parsed.public_key(), certs.signs_manifests(parsed)
    key = rsa.RSAPublicNumbers(cert.public_exponent, cert.modulus).public_key()
    return key, cert.signs_manifests


def verify(public_key: PublicKeyTypes, data: bytes, signature: bytes) -> bool:
    """Does ``signature`` sign ``data`` with ``public_key`` (SHA-256, or SHA-1 as
    SystemTap 4.8 signs)?"""
    if not isinstance(public_key, rsa.RSAPublicKey):
        return False
    for algorithm in (hashes.SHA256(), hashes.SHA1()):
        try:
            public_key.verify(signature, data, padding.PKCS1v15(), algorithm)
        except (InvalidSignature, ValueError):
            continue
        return True
    return False

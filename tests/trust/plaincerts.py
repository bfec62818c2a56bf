"""Certificates not made by our server (SystemTap's, a client's from ``openssl req``):
no "signs manifests" extension, for tests of what such certificates get."""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from stapserver.trust import certs


def plain_certificate(
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
    *,
    subject: x509.Name = certs.SUBJECT,
    signer: rsa.RSAPrivateKey | None = None,
    ca: bool = False,
) -> x509.Certificate:
    """A certificate of ``key``'s public key, self-signed (or by ``signer``), valid from
    a minute ago for 30 days unless told, with a basic-constraints CA flag if ``ca``."""
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - dt.timedelta(minutes=1))
        .not_valid_after(not_after or now + dt.timedelta(days=30))
    )
    if ca:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
    return builder.sign(signer or key, hashes.SHA256())

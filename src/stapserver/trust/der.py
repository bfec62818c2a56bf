"""The two things a client reads from a certificate it already trusts byte for byte: its
validity period and its RSA public key.

``stap-client`` pins a server's certificate to a file of its trust database (the same
bytes) before it reads anything from it, so it needs no X.509 parser on its way to pass
5: importing ``cryptography.x509`` alone takes longer than a whole hello-world round trip.
This walks the DER (RFC 5280 section 4.1) down to ``validity`` and
``subjectPublicKeyInfo``, nothing else; whatever it does not understand raises
:class:`DerError`, and the caller then falls back to ``cryptography``'s parser.  Pure
logic, standard library only.
"""

from __future__ import annotations

import hashlib
import time

SEQUENCE = 0x30
INTEGER = 0x02
BIT_STRING = 0x03
OID = 0x06
UTC_TIME = 0x17
GENERALIZED_TIME = 0x18
EXPLICIT_0 = 0xA0  # [0] EXPLICIT Version
RSA_ENCRYPTION = bytes.fromhex("2a864886f70d010101")  # 1.2.840.113549.1.1.1
EXPLICIT_3 = 0xA3  # [3] EXPLICIT Extensions
BOOLEAN = 0x01
OCTET_STRING = 0x04
# the UUID behind our "signs manifests" extension (trust.certs.SIGNS_MANIFESTS)
SIGNS_MANIFESTS_UUID = 66936746137604635016944413904749448511


def _oid_2_25(uuid: int) -> bytes:
    """The DER content of the OID 2.25.<uuid>: 2*40+25 = 105, then base 128."""
    digits = []
    while True:
        digits.append(uuid & 0x7F)
        uuid >>= 7
        if not uuid:
            break
    body = bytes(d | (0x80 if i else 0) for i, d in enumerate(digits))[::-1]
    return bytes([105]) + body


SIGNS_MANIFESTS_OID = _oid_2_25(SIGNS_MANIFESTS_UUID)


class DerError(ValueError):
    """Not a certificate this reader understands."""


def _element(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """The element at ``pos``: its tag, where its content starts and where it ends."""
    if pos + 2 > end:
        raise DerError("truncated element")
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        raise DerError("high tag numbers are not used in certificates")
    first = data[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or pos + count > end:
            raise DerError("bad length")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    if pos + length > end:
        raise DerError("element overruns its container")
    return tag, pos, pos + length


def _children(data: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    out = []
    pos = start
    while pos < end:
        element = _element(data, pos, end)
        out.append(element)
        pos = element[2]
    return out


def _expect(element: tuple[int, int, int], tag: int, what: str) -> tuple[int, int]:
    if element[0] != tag:
        raise DerError(f"{what}: tag {element[0]:#x}, not {tag:#x}")
    return element[1], element[2]


def _time(data: bytes, element: tuple[int, int, int]) -> str:
    """A Time as ``YYYYMMDDHHMMSS`` (UTC), which compares as text."""
    tag, start, end = element
    text = data[start:end].decode("ascii", "replace")
    if tag == UTC_TIME and len(text) == 13:
        year = int(text[:2]) if text[:2].isascii() and text[:2].isdigit() else -1
        text = ("19" if year >= 50 else "20") + text
    elif tag != GENERALIZED_TIME or len(text) != 15:
        raise DerError("validity time is neither UTCTime nor GeneralizedTime in UTC")
    digits = text[:14]
    if text[14] != "Z" or not (digits.isascii() and digits.isdigit()):
        raise DerError(f"validity time {text!r} is not YYYY...SSZ")
    return digits


class Certificate:
    """The validity period and RSA key of a DER certificate."""

    __slots__ = ("extensions", "modulus", "not_after", "not_before", "public_exponent")

    def __init__(self, der: bytes) -> None:
        cert = _expect(_element(der, 0, len(der)), SEQUENCE, "certificate")
        if cert[1] != len(der):
            raise DerError("trailing bytes after the certificate")
        parts = _children(der, *cert)
        if len(parts) != 3:
            raise DerError("a certificate has three parts")
        tbs = _children(der, *_expect(parts[0], SEQUENCE, "tbsCertificate"))
        if tbs and tbs[0][0] == EXPLICIT_0:
            tbs = tbs[1:]
        if len(tbs) < 6:
            raise DerError("tbsCertificate is too short")
        # serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo
        validity = _children(der, *_expect(tbs[3], SEQUENCE, "validity"))
        if len(validity) != 2:
            raise DerError("validity has two times")
        self.not_before = _time(der, validity[0])
        self.not_after = _time(der, validity[1])
        spki = _children(der, *_expect(tbs[5], SEQUENCE, "subjectPublicKeyInfo"))
        if len(spki) != 2:
            raise DerError("subjectPublicKeyInfo has two parts")
        algorithm = _children(der, *_expect(spki[0], SEQUENCE, "algorithm"))
        if not algorithm or der[slice(*_expect(algorithm[0], OID, "algorithm"))] != RSA_ENCRYPTION:
            raise DerError("not an RSA key")
        start, end = _expect(spki[1], BIT_STRING, "subjectPublicKey")
        if start >= end or der[start] != 0:
            raise DerError("subjectPublicKey has unused bits")
        key = _element(der, start + 1, end)
        if key[2] != end:
            raise DerError("trailing bytes after the RSA key")
        numbers = _children(der, *_expect(key, SEQUENCE, "RSAPublicKey"))
        if len(numbers) != 2:
            raise DerError("RSAPublicKey has two numbers")
        n = der[slice(*_expect(numbers[0], INTEGER, "modulus"))]
        e = der[slice(*_expect(numbers[1], INTEGER, "publicExponent"))]
        if not n or not e or n[0] & 0x80 or e[0] & 0x80:
            raise DerError("negative RSA numbers")
        self.modulus = int.from_bytes(n, "big")
        self.public_exponent = int.from_bytes(e, "big")
        self.extensions: set[bytes] = set()  # their OIDs' DER content
        for tag, start, end in tbs[6:]:
            if tag != EXPLICIT_3:
                continue  # issuerUniqueID, subjectUniqueID
            inside = _children(der, start, end)
            if len(inside) != 1:
                raise DerError("[3] holds one sequence of extensions")
            for ext in _children(der, *_expect(inside[0], SEQUENCE, "extensions")):
                parts = _children(der, *_expect(ext, SEQUENCE, "extension"))
                if not parts:
                    raise DerError("an empty extension")
                self.extensions.add(der[slice(*_expect(parts[0], OID, "extension id"))])

    @property
    def signs_manifests(self) -> bool:
        """Does it say its server signs a manifest of every response (ours do)?"""
        return SIGNS_MANIFESTS_OID in self.extensions

    def valid_at(self, when: float | None = None) -> bool:
        """Is ``when`` (seconds since the epoch; now) inside the validity period?"""
        now = time.strftime("%Y%m%d%H%M%S", time.gmtime(when))
        return self.not_before <= now <= self.not_after


def fingerprint(der: bytes) -> str:
    """SHA-256 of a certificate, as ``AB:CD:...`` (as NSS and SystemTap print it)."""
    return ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())


__all__ = ["Certificate", "DerError", "fingerprint"]

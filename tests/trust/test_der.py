"""trust.der: validity and RSA key read from a certificate's DER, checked against
cryptography's own X.509 parser; anything else is a DerError, never another exception."""

from __future__ import annotations

import contextlib
import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from stapserver.trust import certs, der

from .plaincerts import plain_certificate

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def make_cert(
    not_before: dt.datetime,
    not_after: dt.datetime,
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey = KEY,
) -> bytes:
    return certs.der(plain_certificate(key, not_before, not_after))


UTC = dt.UTC
NOW = dt.datetime.now(UTC).replace(microsecond=0)


def test_reads_what_cryptography_reads() -> None:
    data = make_cert(NOW - dt.timedelta(days=1), NOW + dt.timedelta(days=365))
    mine = der.Certificate(data)
    theirs = x509.load_der_x509_certificate(data)
    numbers = theirs.public_key().public_numbers()  # type: ignore[union-attr]
    assert (mine.modulus, mine.public_exponent) == (numbers.n, numbers.e)
    assert mine.not_before == theirs.not_valid_before_utc.strftime("%Y%m%d%H%M%S")
    assert mine.not_after == theirs.not_valid_after_utc.strftime("%Y%m%d%H%M%S")
    assert mine.valid_at()


def test_a_server_certificate_of_ours() -> None:
    cert = certs.make_certificate(KEY, ["stap-a"])
    mine = der.Certificate(certs.der(cert))
    assert mine.modulus == KEY.public_key().public_numbers().n
    assert mine.valid_at()
    assert not mine.valid_at(cert.not_valid_before_utc.timestamp() - 1)
    assert not mine.valid_at(cert.not_valid_after_utc.timestamp() + 1)


@pytest.mark.parametrize(
    ("year", "text"),
    [(1999, "1999"), (2049, "2049"), (2050, "2050"), (2200, "2200")],
)
def test_utc_and_generalized_times(year: int, text: str) -> None:
    """RFC 5280: UTCTime through 2049, GeneralizedTime from 2050 (two-digit years from
    50 on are 19xx)."""
    when = dt.datetime(year, 6, 1, 12, 0, 0, tzinfo=UTC)
    data = make_cert(when, when + dt.timedelta(days=1))
    assert der.Certificate(data).not_before == f"{text}0601120000"


def test_not_rsa() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    data = make_cert(NOW, NOW + dt.timedelta(days=1), key)
    with pytest.raises(der.DerError, match="not an RSA key"):
        der.Certificate(data)


VALID = make_cert(NOW - dt.timedelta(days=1), NOW + dt.timedelta(days=1))


@pytest.mark.parametrize(
    "data",
    [b"", b"\x30", b"\x30\x80", b"\x30\x05\x02\x01", VALID[:-1], VALID + b"\0", b"\x1f\x00"],
)
def test_malformed(data: bytes) -> None:
    with pytest.raises(der.DerError):
        der.Certificate(data)


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_mutations_give_a_reading_or_der_error(data: st.DataObject) -> None:
    blob = bytearray(VALID)
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(blob) - 1))
        blob[at] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(blob)))
    with contextlib.suppress(der.DerError):
        der.Certificate(bytes(blob[:cut]))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes(data: bytes) -> None:
    with contextlib.suppress(der.DerError):
        der.Certificate(data)


def test_our_certificates_say_they_sign_manifests() -> None:
    """Issue 11, 2: the client asks a manifest of the servers whose certificate says
    they sign one (ours), read from the pinned bytes without an X.509 parser."""
    ours = certs.make_certificate(KEY, ["stap-a"])
    assert certs.signs_manifests(ours)
    assert der.Certificate(certs.der(ours)).signs_manifests
    plain = der.Certificate(make_cert(NOW, NOW + dt.timedelta(days=1)))  # as SystemTap's
    assert not plain.signs_manifests
    # the OID's DER content as cryptography encodes it: an OBJECT IDENTIFIER, tag 6
    encoded = bytes([6, len(der.SIGNS_MANIFESTS_OID)]) + der.SIGNS_MANIFESTS_OID
    assert encoded in certs.der(ours)
    assert x509.ObjectIdentifier(f"2.25.{der.SIGNS_MANIFESTS_UUID}") == certs.SIGNS_MANIFESTS

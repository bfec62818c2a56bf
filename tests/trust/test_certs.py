"""trust.certs: server certificates as SystemTap makes them."""

from __future__ import annotations

import datetime as dt
import hashlib
import re

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import ExtensionOID, NameOID, SignatureAlgorithmOID
from hypothesis import given, settings
from hypothesis import strategies as st

from stapserver.errors import TrustError
from stapserver.trust import certs

NOW = dt.datetime(2025, 6, 1, 12, 0, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return certs.generate_key(2048)


@pytest.fixture(scope="module")
def cert(key: rsa.RSAPrivateKey) -> x509.Certificate:
    return certs.make_certificate(key, ["build7.example.org", "build7.local"], now=NOW)


def tlv(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, start of value, end of value) of the DER element at ``pos``."""
    tag = data[pos]
    length = data[pos + 1]
    start = pos + 2
    if length & 0x80:
        n = length & 0x7F
        length = int.from_bytes(data[start : start + n], "big")
        start += n
    return tag, start, start + length


def der_serial(cert: x509.Certificate) -> bytes:
    """The serial INTEGER's content bytes, read from the TBSCertificate DER."""
    tbs = cert.tbs_certificate_bytes
    tag, start, _ = tlv(tbs, 0)
    assert tag == 0x30
    tag, _, end = tlv(tbs, start)  # [0] EXPLICIT version
    assert tag == 0xA0
    tag, s, e = tlv(tbs, end)
    assert tag == 0x02
    return tbs[s:e]


# ---------------------------------------------------------------------- generation


def test_default_key_is_rsa_4096() -> None:
    assert certs.KEY_BITS == 4096
    key = certs.generate_key()
    assert key.key_size == 4096
    assert key.public_key().public_numbers().e == 65537


def test_subject_and_issuer(cert: x509.Certificate) -> None:
    assert cert.subject.rfc4514_string() == "CN=Systemtap Compile Server,OU=Systemtap"
    assert cert.issuer == cert.subject
    attrs = list(cert.subject)
    assert [a.oid for a in attrs] == [NameOID.ORGANIZATIONAL_UNIT_NAME, NameOID.COMMON_NAME]
    assert [a.value for a in attrs] == ["Systemtap", "Systemtap Compile Server"]
    assert all(a._type == _ASN1Type.PrintableString for a in attrs)


def test_subject_der_is_printable_string_ou_then_cn(cert: x509.Certificate) -> None:
    ou = b"\x06\x03\x55\x04\x0b" + b"\x13\x09Systemtap"
    cn = b"\x06\x03\x55\x04\x03" + b"\x13\x18Systemtap Compile Server"
    subject = cert.subject.public_bytes()
    assert ou in subject and cn in subject
    assert subject.index(ou) < subject.index(cn)
    assert b"\x0c\x09Systemtap" not in subject  # not UTF8String
    der = certs.der(cert)
    assert der.count(ou) == 2 and der.count(cn) == 2  # issuer and subject


def test_self_signed_sha256_with_rsa(cert: x509.Certificate, key: rsa.RSAPrivateKey) -> None:
    assert cert.version == x509.Version.v3
    assert cert.signature_algorithm_oid == SignatureAlgorithmOID.RSA_WITH_SHA256
    assert isinstance(cert.signature_hash_algorithm, hashes.SHA256)
    cert.verify_directly_issued_by(cert)
    assert certs.self_signed_ok(cert)
    assert certs.spki(cert) == certs.spki_of_key(key)


def test_validity_is_a_year(cert: x509.Certificate) -> None:
    assert certs.VALIDITY.total_seconds() == 365 * 86400
    assert cert.not_valid_before_utc == NOW - dt.timedelta(minutes=5)
    assert cert.not_valid_after_utc == NOW + dt.timedelta(days=365)
    v = certs.validity(cert)
    assert v == certs.Validity(NOW - dt.timedelta(minutes=5), NOW + dt.timedelta(days=365))
    assert v.contains(NOW)
    assert v.contains(v.not_before) and v.contains(v.not_after)
    assert not v.contains(v.not_before - dt.timedelta(seconds=1))
    assert not v.contains(v.not_after + dt.timedelta(seconds=1))


def test_validity_default_now(key: rsa.RSAPrivateKey) -> None:
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    c = certs.make_certificate(key, ["h"])
    after = dt.datetime.now(dt.UTC)
    assert before - dt.timedelta(minutes=5) <= c.not_valid_before_utc <= after
    span = c.not_valid_after_utc - c.not_valid_before_utc
    assert abs(span - dt.timedelta(days=365, minutes=5)) <= dt.timedelta(seconds=1)


def test_serial_is_five_der_bytes(cert: x509.Certificate) -> None:
    raw = der_serial(cert)
    assert len(raw) == 5
    assert raw[0] == 0 and raw[1] & 0x80  # a 32-bit serial with its top bit set
    assert certs.serial_text(cert) == ":".join(f"{b:02x}" for b in raw)
    assert re.fullmatch(r"([0-9a-f]{2}:){4}[0-9a-f]{2}", certs.serial_text(cert))


def test_serial_now(monkeypatch: pytest.MonkeyPatch) -> None:
    ns = 1_748_779_200_123_456_789
    monkeypatch.setattr(certs.time, "time_ns", lambda: ns)
    assert certs.serial_now() == (ns // 1000) >> 19 == 3_335_531_616


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=1, max_value=2**150))
def test_serial_text_matches_der(serial: int) -> None:
    c = (
        x509.CertificateBuilder()
        .subject_name(certs.SUBJECT)
        .issuer_name(certs.SUBJECT)
        .public_key(_SMALL_KEY.public_key())
        .serial_number(serial)
        .not_valid_before(NOW)
        .not_valid_after(NOW + dt.timedelta(days=1))
        .sign(_SMALL_KEY, hashes.SHA256())
    )
    assert certs.serial_text(c) == ":".join(f"{b:02x}" for b in der_serial(c))


_SMALL_KEY = rsa.generate_private_key(public_exponent=65537, key_size=1024)


@pytest.mark.parametrize(
    ("serial", "text"),
    [(0x7F, "7f"), (0x80, "00:80"), (0x100, "01:00"), (0xFFFFFFFF, "00:ff:ff:ff:ff")],
)
def test_serial_text_values(serial: int, text: str) -> None:
    c = (
        x509.CertificateBuilder()
        .subject_name(certs.SUBJECT)
        .issuer_name(certs.SUBJECT)
        .public_key(_SMALL_KEY.public_key())
        .serial_number(serial)
        .not_valid_before(NOW)
        .not_valid_after(NOW + dt.timedelta(days=1))
        .sign(_SMALL_KEY, hashes.SHA256())
    )
    assert certs.serial_text(c) == text


def test_subject_alternative_names(cert: x509.Certificate) -> None:
    ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert ext.critical is False
    assert ext.value.get_values_for_type(x509.DNSName) == ["build7.example.org", "build7.local"]


@pytest.mark.parametrize(
    ("hostname", "names"),
    [
        ("build7.example.org", ["build7.example.org", "build7.local"]),
        ("myhost", ["myhost", "myhost.local"]),
        ("myhost.local", ["myhost.local"]),
        ("", ["localhost", "localhost.local"]),
    ],
)
def test_host_names(monkeypatch: pytest.MonkeyPatch, hostname: str, names: list[str]) -> None:
    monkeypatch.setattr(certs.socket, "gethostname", lambda: hostname)
    assert certs.host_names() == names


def test_default_names_are_host_names(
    monkeypatch: pytest.MonkeyPatch, key: rsa.RSAPrivateKey
) -> None:
    monkeypatch.setattr(certs.socket, "gethostname", lambda: "srv.example.net")
    c = certs.make_certificate(key, now=NOW)
    san = c.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["srv.example.net", "srv.local"]


def test_real_host_names_in_certificate(key: rsa.RSAPrivateKey) -> None:
    import socket

    full = socket.gethostname()
    short = full.split(".", 1)[0]
    c = certs.make_certificate(key, now=NOW)
    san = c.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    names = san.get_values_for_type(x509.DNSName)
    assert names[0] == full
    assert f"{short}.local" in names


def test_netscape_cert_type_critical(cert: x509.Certificate) -> None:
    ext = cert.extensions.get_extension_for_oid(x509.ObjectIdentifier("2.16.840.1.113730.1.1"))
    assert ext.critical is True
    assert isinstance(ext.value, x509.UnrecognizedExtension)
    assert ext.value.value == b"\x03\x02\x00\x51"
    # Extension ::= SEQUENCE { OID, critical BOOLEAN TRUE, OCTET STRING { 03 02 00 51 } }
    oid = bytes.fromhex("06096086480186f8420101")
    assert oid + b"\x01\x01\xff\x04\x04\x03\x02\x00\x51" in certs.der(cert)


def test_only_systemtap_s_two_extensions_and_ours(cert: x509.Certificate) -> None:
    oids = {e.oid for e in cert.extensions}
    assert oids == {
        certs.NETSCAPE_CERT_TYPE,
        ExtensionOID.SUBJECT_ALTERNATIVE_NAME,
        certs.SIGNS_MANIFESTS,  # non-critical: NSS and SystemTap's client ignore it
    }
    assert not cert.extensions.get_extension_for_oid(certs.SIGNS_MANIFESTS).critical
    with pytest.raises(x509.ExtensionNotFound):
        cert.extensions.get_extension_for_class(x509.KeyUsage)
    with pytest.raises(x509.ExtensionNotFound):
        cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)


# ---------------------------------------------------------------------- loading


def test_load_pem_and_der(cert: x509.Certificate) -> None:
    assert certs.load_certificate(certs.pem(cert)) == cert
    assert certs.load_certificate(certs.der(cert)) == cert
    assert certs.load_certificate(b"Certificate:\n  text before\n" + certs.pem(cert)) == cert
    assert certs.pem(cert).startswith(b"-----BEGIN CERTIFICATE-----\n")
    assert certs.der(cert)[0] == 0x30


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"junk",
        b"-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n",
        b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        b"\x30\x03\x02\x01\x01",
    ],
)
def test_junk_refused(data: bytes) -> None:
    with pytest.raises(TrustError) as err:
        certs.load_certificate(data, "server.pem")
    assert str(err.value) == "server.pem is not a certificate (neither PEM nor DER)"


def test_private_key_is_not_a_certificate(key: rsa.RSAPrivateKey) -> None:
    from cryptography.hazmat.primitives import serialization

    pem_key = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(TrustError, match=r"^certificate is not a certificate"):
        certs.load_certificate(pem_key)


def test_truncated_der_refused(cert: x509.Certificate) -> None:
    with pytest.raises(TrustError):
        certs.load_certificate(certs.der(cert)[:-10])


# ---------------------------------------------------------------------- identity


def test_fingerprint_format(cert: x509.Certificate) -> None:
    fp = certs.fingerprint(cert)
    assert re.fullmatch(r"([0-9A-F]{2}:){31}[0-9A-F]{2}", fp)
    assert fp.replace(":", "").lower() == hashlib.sha256(certs.der(cert)).hexdigest()


def test_spki_survives_a_new_certificate(key: rsa.RSAPrivateKey, cert: x509.Certificate) -> None:
    renewed = certs.make_certificate(key, ["x"], now=NOW + dt.timedelta(days=300))
    assert certs.der(renewed) != certs.der(cert)
    assert certs.fingerprint(renewed) != certs.fingerprint(cert)
    assert certs.spki(renewed) == certs.spki(cert) == certs.spki_of_key(key)


def test_needs_renewal(cert: x509.Certificate) -> None:
    end = cert.not_valid_after_utc
    assert certs.RENEW_BEFORE.total_seconds() == 30 * 86400
    assert not certs.needs_renewal(cert, NOW)
    assert not certs.needs_renewal(cert, end - dt.timedelta(days=31))
    assert not certs.needs_renewal(cert, end - dt.timedelta(days=30))
    assert certs.needs_renewal(cert, end - dt.timedelta(days=29, hours=23))
    assert certs.needs_renewal(cert, end)
    assert certs.needs_renewal(cert, end + dt.timedelta(days=1))


def test_needs_renewal_default_now(key: rsa.RSAPrivateKey) -> None:
    fresh = certs.make_certificate(key, ["h"])
    assert not certs.needs_renewal(fresh)
    old = certs.make_certificate(key, ["h"], now=dt.datetime.now(dt.UTC) - dt.timedelta(days=340))
    assert certs.needs_renewal(old)


def test_self_signed_ok_refuses_foreign_signature(key: rsa.RSAPrivateKey) -> None:
    other = certs.generate_key(2048)
    forged = (
        x509.CertificateBuilder()
        .subject_name(certs.SUBJECT)
        .issuer_name(certs.SUBJECT)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(NOW)
        .not_valid_after(NOW + dt.timedelta(days=1))
        .sign(other, hashes.SHA256())
    )
    assert certs.self_signed_ok(forged) is False


def test_self_signed_ok_refuses_damaged_signature(cert: x509.Certificate) -> None:
    der = bytearray(certs.der(cert))
    der[-1] ^= 0x01  # the last byte of the signature BIT STRING
    damaged = x509.load_der_x509_certificate(bytes(der))
    assert certs.self_signed_ok(damaged) is False

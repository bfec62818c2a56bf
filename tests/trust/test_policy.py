"""trust.policy: is the certificate a server presented trusted?"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa

from stapserver.trust import certs
from stapserver.trust.policy import Decision, decide

from .plaincerts import plain_certificate

NOW = dt.datetime(2025, 6, 1, 12, 0, 0, tzinfo=dt.UTC)
DB1 = Path("/db/one")
DB2 = Path("/db/two")
NOT_VALID = "its certificate is not valid now (expired or not yet valid)"
BAD_SIGNATURE = "its certificate's signature does not verify"


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return certs.generate_key(2048)


@pytest.fixture(scope="module")
def other_key() -> rsa.RSAPrivateKey:
    return certs.generate_key(2048)


@pytest.fixture(scope="module")
def cert(key: rsa.RSAPrivateKey) -> x509.Certificate:
    return certs.make_certificate(key, ["a"], now=NOW - dt.timedelta(days=10))


@pytest.fixture(scope="module")
def renewed(key: rsa.RSAPrivateKey) -> x509.Certificate:
    return certs.make_certificate(key, ["a"], now=NOW - dt.timedelta(days=1))


@pytest.fixture(scope="module")
def stranger(other_key: rsa.RSAPrivateKey) -> x509.Certificate:
    return certs.make_certificate(other_key, ["a"], now=NOW - dt.timedelta(days=10))


def test_exact_match_trusted(cert: x509.Certificate) -> None:
    assert decide(cert, [(DB1, [cert])], NOW) == Decision(
        True, "its certificate is in /db/one", DB1
    )


def test_same_key_new_certificate_trusted(
    cert: x509.Certificate, renewed: x509.Certificate
) -> None:
    assert certs.der(renewed) != certs.der(cert)
    assert decide(renewed, [(DB1, [cert])], NOW) == Decision(
        True, "its certificate renews one in /db/one (same key)", DB1
    )


def test_same_key_trusted_even_if_the_stored_certificate_expired(
    key: rsa.RSAPrivateKey,
) -> None:
    old = certs.make_certificate(key, ["a"], now=NOW - dt.timedelta(days=500))
    fresh = certs.make_certificate(key, ["a"], now=NOW)
    decision = decide(fresh, [(DB1, [old])], NOW)
    assert decision.trusted and decision.database == DB1


def test_different_key_refused(cert: x509.Certificate, stranger: x509.Certificate) -> None:
    assert decide(stranger, [(DB1, [cert]), (DB2, [])], NOW) == Decision(
        False, "its certificate is in none of the trusted databases (/db/one, /db/two)", None
    )


def test_no_database(cert: x509.Certificate) -> None:
    assert decide(cert, [], NOW) == Decision(
        False, "its certificate is in none of the trusted databases (no database)"
    )


def test_same_subject_and_serial_different_key_refused(
    key: rsa.RSAPrivateKey, other_key: rsa.RSAPrivateKey
) -> None:
    def build(k: rsa.RSAPrivateKey) -> x509.Certificate:
        return (
            x509.CertificateBuilder()
            .subject_name(certs.SUBJECT)
            .issuer_name(certs.SUBJECT)
            .public_key(k.public_key())
            .serial_number(12345)
            .not_valid_before(NOW - dt.timedelta(days=1))
            .not_valid_after(NOW + dt.timedelta(days=1))
            .sign(k, hashes.SHA256())
        )

    assert not decide(build(other_key), [(DB1, [build(key)])], NOW).trusted


def test_expired_certificate_refused(key: rsa.RSAPrivateKey) -> None:
    expired = certs.make_certificate(key, ["a"], now=NOW - dt.timedelta(days=400))
    assert decide(expired, [(DB1, [expired])], NOW) == Decision(False, NOT_VALID)


def test_not_yet_valid_certificate_refused(key: rsa.RSAPrivateKey) -> None:
    future = certs.make_certificate(key, ["a"], now=NOW + dt.timedelta(days=2))
    assert decide(future, [(DB1, [future])], NOW) == Decision(False, NOT_VALID)


def test_validity_bounds(cert: x509.Certificate) -> None:
    start, end = cert.not_valid_before_utc, cert.not_valid_after_utc
    assert decide(cert, [(DB1, [cert])], start).trusted
    assert decide(cert, [(DB1, [cert])], end).trusted
    assert not decide(cert, [(DB1, [cert])], end + dt.timedelta(seconds=1)).trusted
    assert not decide(cert, [(DB1, [cert])], start - dt.timedelta(seconds=1)).trusted


def test_default_now(key: rsa.RSAPrivateKey) -> None:
    current = certs.make_certificate(key, ["a"])
    assert decide(current, [(DB1, [current])]).trusted
    expired = certs.make_certificate(key, ["a"], now=dt.datetime.now(dt.UTC) - dt.timedelta(400))
    assert not decide(expired, [(DB1, [expired])]).trusted


def _signed_by(public: rsa.RSAPrivateKey, signer: rsa.RSAPrivateKey) -> x509.Certificate:
    return plain_certificate(
        public, NOW - dt.timedelta(days=1), NOW + dt.timedelta(days=300), signer=signer
    )


def test_broken_self_signature_refused_even_with_a_trusted_key(
    key: rsa.RSAPrivateKey, other_key: rsa.RSAPrivateKey, cert: x509.Certificate
) -> None:
    # our trusted key, but signed by someone else: the "same key" rule must not apply
    forged = _signed_by(key, other_key)
    assert certs.spki(forged) == certs.spki(cert)
    assert decide(forged, [(DB1, [cert])], NOW) == Decision(False, BAD_SIGNATURE)


def test_damaged_signature_refused_even_if_listed(cert: x509.Certificate) -> None:
    der = bytearray(certs.der(cert))
    der[-1] ^= 0x01
    damaged = x509.load_der_x509_certificate(bytes(der))
    assert decide(damaged, [(DB1, [damaged, cert])], NOW) == Decision(False, BAD_SIGNATURE)


def test_first_matching_database_reported(
    cert: x509.Certificate, renewed: x509.Certificate, stranger: x509.Certificate
) -> None:
    dbs = [(DB1, [stranger]), (DB2, [cert]), (Path("/db/three"), [cert])]
    assert decide(cert, dbs, NOW) == Decision(True, "its certificate is in /db/two", DB2)
    dbs = [(DB1, [stranger]), (DB2, [cert]), (Path("/db/three"), [cert])]
    assert decide(renewed, dbs, NOW) == Decision(
        True, "its certificate renews one in /db/two (same key)", DB2
    )


def test_exact_match_preferred_over_same_key(
    cert: x509.Certificate, renewed: x509.Certificate
) -> None:
    # DB1 holds the older certificate of the same key, DB2 the exact one
    assert decide(renewed, [(DB1, [cert]), (DB2, [renewed])], NOW) == Decision(
        True, "its certificate is in /db/two", DB2
    )


def test_decision_defaults() -> None:
    d = Decision(False, "why")
    assert d.database is None

"""trust.signing: detached PKCS#1 v1.5 signatures, as module .sgn files."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from stapserver.trust import certs, signing

DATA = b"\x7fELF" + bytes(range(256)) * 64
needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl missing")


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return certs.generate_key(2048)


@pytest.fixture(scope="module")
def other_key() -> rsa.RSAPrivateKey:
    return certs.generate_key(2048)


def test_suffix() -> None:
    assert signing.SIGNATURE_SUFFIX == ".sgn"


def test_sign_is_pkcs1v15_sha256(key: rsa.RSAPrivateKey) -> None:
    sig = signing.sign(key, DATA)
    assert len(sig) == key.key_size // 8
    key.public_key().verify(sig, DATA, padding.PKCS1v15(), hashes.SHA256())  # raises if not
    assert sig == signing.sign(key, DATA)  # PKCS#1 v1.5 is deterministic


def test_sign_verify(key: rsa.RSAPrivateKey) -> None:
    assert signing.verify(key.public_key(), DATA, signing.sign(key, DATA)) is True
    assert signing.verify(key.public_key(), b"", signing.sign(key, b"")) is True


def test_verify_through_certificate(key: rsa.RSAPrivateKey) -> None:
    cert = certs.make_certificate(key, ["h"])
    assert signing.verify(cert.public_key(), DATA, signing.sign(key, DATA))


def test_sha1_signature_accepted(key: rsa.RSAPrivateKey) -> None:
    sig = key.sign(DATA, padding.PKCS1v15(), hashes.SHA1())  # as SystemTap 4.8 signs
    assert signing.verify(key.public_key(), DATA, sig) is True


@pytest.mark.parametrize("algorithm", [hashes.MD5(), hashes.SHA512(), hashes.SHA224()])
def test_other_hashes_refused(key: rsa.RSAPrivateKey, algorithm: hashes.HashAlgorithm) -> None:
    sig = key.sign(DATA, padding.PKCS1v15(), algorithm)
    assert signing.verify(key.public_key(), DATA, sig) is False


def test_pss_refused(key: rsa.RSAPrivateKey) -> None:
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
    sig = key.sign(DATA, pss, hashes.SHA256())
    assert signing.verify(key.public_key(), DATA, sig) is False


def test_wrong_key_refused(key: rsa.RSAPrivateKey, other_key: rsa.RSAPrivateKey) -> None:
    assert signing.verify(other_key.public_key(), DATA, signing.sign(key, DATA)) is False


def test_altered_data_refused(key: rsa.RSAPrivateKey) -> None:
    sig = signing.sign(key, DATA)
    assert signing.verify(key.public_key(), DATA + b"\0", sig) is False
    assert signing.verify(key.public_key(), DATA[:-1], sig) is False
    altered = bytearray(DATA)
    altered[100] ^= 1
    assert signing.verify(key.public_key(), bytes(altered), sig) is False


def test_altered_or_junk_signature_refused(key: rsa.RSAPrivateKey) -> None:
    sig = bytearray(signing.sign(key, DATA))
    sig[10] ^= 0x80
    assert signing.verify(key.public_key(), DATA, bytes(sig)) is False
    assert signing.verify(key.public_key(), DATA, b"") is False
    assert signing.verify(key.public_key(), DATA, b"junk") is False
    assert signing.verify(key.public_key(), DATA, b"\xff" * 1024) is False


def test_non_rsa_key_refused() -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    sig = ec_key.sign(DATA, ec.ECDSA(hashes.SHA256()))
    assert signing.verify(ec_key.public_key(), DATA, sig) is False


def _write_keys(tmp_path: Path, key: rsa.RSAPrivateKey) -> tuple[Path, Path]:
    pub = tmp_path / "pubkey.pem"
    pub.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    priv = tmp_path / "key.pem"
    priv.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return pub, priv


@needs_openssl
def test_openssl_verifies_our_signature(tmp_path: Path, key: rsa.RSAPrivateKey) -> None:
    pub, _ = _write_keys(tmp_path, key)
    module = tmp_path / "x.ko"
    module.write_bytes(DATA)
    sgn = tmp_path / "x.ko.sgn"
    sgn.write_bytes(signing.sign(key, DATA))
    cmd = ["openssl", "dgst", "-sha256", "-verify", str(pub), "-signature", str(sgn), str(module)]
    ok = subprocess.run(cmd, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == "Verified OK"
    module.write_bytes(DATA + b"!")
    bad = subprocess.run(cmd, capture_output=True, text=True)
    assert bad.returncode != 0
    assert "Verification failure" in bad.stdout + bad.stderr


@needs_openssl
@pytest.mark.parametrize("digest", ["-sha256", "-sha1"])
def test_we_verify_openssl_signatures(tmp_path: Path, key: rsa.RSAPrivateKey, digest: str) -> None:
    _, priv = _write_keys(tmp_path, key)
    module = tmp_path / "x.ko"
    module.write_bytes(DATA)
    sgn = tmp_path / "x.ko.sgn"
    subprocess.run(
        ["openssl", "dgst", digest, "-sign", str(priv), "-out", str(sgn), str(module)],
        check=True,
        capture_output=True,
    )
    assert signing.verify(key.public_key(), DATA, sgn.read_bytes()) is True
    assert signing.verify(key.public_key(), DATA + b"!", sgn.read_bytes()) is False

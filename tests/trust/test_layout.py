"""trust.layout: what a client database trusts by file name, and the advertised-trust
preselection (``TrustedSet`` and ``policy.advertised_trusted``)."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from stapserver.errors import TrustError
from stapserver.trust import certs, database
from stapserver.trust.layout import TrustedSet, trusted_fingerprints
from stapserver.trust.policy import advertised_trusted

BITS = 2048
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


@pytest.fixture(autouse=True)
def private_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing here may touch the real /etc or ~."""
    monkeypatch.setenv("STAPSERVER_SYSCONFDIR", str(tmp_path / "etc"))
    monkeypatch.setenv("SYSTEMTAP_DIR", str(tmp_path / "stap"))


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return certs.generate_key(BITS)


def make(key: rsa.RSAPrivateKey, name: str, serial: int, now: dt.datetime) -> x509.Certificate:
    """A certificate with a chosen serial (SystemTap's change every half second only)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(certs, "serial_now", lambda: serial)
        return certs.make_certificate(key, [name], now=now)


@pytest.fixture(scope="module")
def cert(key: rsa.RSAPrivateKey) -> x509.Certificate:
    return make(key, "a.example", 0x1234567890, NOW - dt.timedelta(days=300))


@pytest.fixture(scope="module")
def renewed(key: rsa.RSAPrivateKey) -> x509.Certificate:
    """The same key, a new certificate (as a server renewing it makes)."""
    return make(key, "a.example", 0x1234567891, NOW)


@pytest.fixture(scope="module")
def stranger() -> x509.Certificate:
    return make(certs.generate_key(BITS), "b.example", 0x1234567892, NOW)


def sha(cert: x509.Certificate) -> str:
    return hashlib.sha256(certs.der(cert)).hexdigest()


def keysha(cert: x509.Certificate) -> str:
    return hashlib.sha256(certs.spki(cert)).hexdigest()


def test_fixtures_differ(
    cert: x509.Certificate, renewed: x509.Certificate, stranger: x509.Certificate
) -> None:
    assert sha(cert) != sha(renewed)
    assert keysha(cert) == keysha(renewed) != keysha(stranger)
    assert sha(cert) == certs.fingerprint(cert).replace(":", "").lower()


# ---------------------------------------------------------------------- trusted_fingerprints


def test_fingerprints_are_the_file_names(
    tmp_path: Path, cert: x509.Certificate, stranger: x509.Certificate
) -> None:
    db = tmp_path / "client"
    database.add_trusted(db, cert)
    database.add_trusted(db, stranger)
    assert trusted_fingerprints(db) == {sha(cert), sha(stranger)}


def test_fingerprints_of_entries_whose_content_is_their_name(
    tmp_path: Path, cert: x509.Certificate, stranger: x509.Certificate
) -> None:
    folder = tmp_path / "client" / "certs"
    folder.mkdir(parents=True)
    (folder / f"{sha(cert).upper()}.pem").write_bytes(certs.pem(cert))  # any case
    (folder / f"{sha(stranger)}.pem").write_bytes(certs.pem(cert))  # swapped: nothing
    (folder / ("ab" * 32 + ".pem")).write_text("not even a certificate")
    (folder / "ff00.pem").write_text("")
    (folder / "README").write_text("")
    (folder / f"{sha(stranger)}.der").write_bytes(certs.der(stranger))  # not .pem
    assert trusted_fingerprints(tmp_path / "client") == {sha(cert)}


def test_fingerprints_missing_database(tmp_path: Path) -> None:
    assert trusted_fingerprints(tmp_path / "nowhere") == set()
    (tmp_path / "empty").mkdir()
    assert trusted_fingerprints(tmp_path / "empty") == set()


@pytest.mark.parametrize("mode", [0o775, 0o757, 0o777])
def test_fingerprints_writable_database(tmp_path: Path, cert: x509.Certificate, mode: int) -> None:
    db = tmp_path / "client"
    database.add_trusted(db, cert)
    db.chmod(mode)
    with pytest.raises(TrustError, match=f"chmod go-w {db}$"):
        trusted_fingerprints(db)


def test_fingerprints_writable_certs_folder(tmp_path: Path, cert: x509.Certificate) -> None:
    db = tmp_path / "client"
    database.add_trusted(db, cert)
    (db / "certs").chmod(0o777)
    with pytest.raises(TrustError, match=r"writable by group or others.*chmod go-w"):
        trusted_fingerprints(db)


# ---------------------------------------------------------------------- TrustedSet


def test_trusts_by_file_name_without_loading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cert: x509.Certificate
) -> None:
    folder = tmp_path / "client" / "certs"
    folder.mkdir(parents=True)
    (folder / f"{sha(cert)}.pem").write_bytes(certs.pem(cert))

    def no_loading(directory: Path) -> list[x509.Certificate]:
        raise AssertionError("certificates loaded")

    monkeypatch.setattr(database, "trusted_certificates", no_loading)
    trusted = TrustedSet([tmp_path / "client"])
    assert trusted.fingerprints == {sha(cert)}
    assert trusted.trusts({"certsha256": sha(cert)})


@pytest.mark.parametrize("mode", [0o666, 0o646, 0o664])
def test_an_entry_others_may_change_refuses_the_database(
    tmp_path: Path, cert: x509.Certificate, mode: int
) -> None:
    """Issue 11, 3: a trusted file left writable by others let another user swap in its
    own server's certificate; now the database is refused, saying how to fix it."""
    db = tmp_path / "client"
    path = database.add_trusted(db, cert)
    path.chmod(mode)
    with pytest.raises(TrustError, match=rf"{path} in certificate database .*chmod go-w {path}$"):
        trusted_fingerprints(db)
    with pytest.raises(TrustError):
        database.trusted_certificates(db)
    with pytest.raises(TrustError):
        database.add_trusted(db, cert)  # nor is anything added to it


def test_symbolic_links_are_refused(tmp_path: Path, cert: x509.Certificate) -> None:
    db = tmp_path / "client"
    path = database.add_trusted(db, cert)
    elsewhere = tmp_path / "elsewhere.pem"
    path.rename(elsewhere)
    path.symlink_to(elsewhere)
    with pytest.raises(TrustError, match="is a symbolic link"):
        trusted_fingerprints(db)
    path.unlink()
    elsewhere.rename(path)
    assert trusted_fingerprints(db) == {sha(cert)}
    linked = tmp_path / "linked"
    linked.symlink_to(db)
    with pytest.raises(TrustError, match="is a symbolic link"):
        trusted_fingerprints(linked)


def test_nss_files_are_checked_too(tmp_path: Path, cert: x509.Certificate) -> None:
    db = tmp_path / "client"
    database.add_trusted(db, cert)
    (db / "cert9.db").write_bytes(b"")
    (db / "cert9.db").chmod(0o666)
    with pytest.raises(TrustError, match=r"cert9\.db in certificate database"):
        trusted_fingerprints(db)


def test_adding_to_a_certs_folder_others_may_change_is_refused(
    tmp_path: Path, cert: x509.Certificate
) -> None:
    db = tmp_path / "client"
    (db / "certs").mkdir(parents=True)
    (db / "certs").chmod(0o777)
    with pytest.raises(TrustError, match="chmod go-w"):
        database.add_trusted(db, cert)
    assert list((db / "certs").iterdir()) == []


def test_trusts_exact_certificate(
    tmp_path: Path, cert: x509.Certificate, stranger: x509.Certificate
) -> None:
    database.add_trusted(tmp_path / "one", stranger)
    database.add_trusted(tmp_path / "two", cert)
    trusted = TrustedSet([tmp_path / "one", tmp_path / "two", tmp_path / "missing"])
    assert trusted.fingerprints == {sha(cert), sha(stranger)}
    assert trusted.trusts({"certsha256": sha(cert), "keysha256": keysha(cert)})
    assert trusted.trusts({"certsha256": sha(stranger)})


def test_trusts_renewed_certificate_by_key(
    tmp_path: Path, cert: x509.Certificate, renewed: x509.Certificate
) -> None:
    database.add_trusted(tmp_path / "client", cert)
    trusted = TrustedSet([tmp_path / "client"])
    assert trusted.trusts({"certsha256": sha(renewed), "keysha256": keysha(renewed)})
    assert trusted.trusts({"certsha256": sha(renewed), "keysha256": keysha(renewed).upper()})
    assert trusted.trusts({"keysha256": keysha(renewed)})
    # without the key's SHA-256, a renewed certificate is not named
    assert not trusted.trusts({"certsha256": sha(renewed)})


def test_trusts_renewed_database_entry(
    tmp_path: Path, cert: x509.Certificate, renewed: x509.Certificate
) -> None:
    """The other way round: the client trusted the renewed certificate, and the server
    still advertises the old one."""
    database.add_trusted(tmp_path / "client", renewed)
    trusted = TrustedSet([tmp_path / "client"])
    assert trusted.trusts({"certsha256": sha(cert), "keysha256": keysha(cert)})


def test_trusts_systemtap_server_by_serial(
    tmp_path: Path, cert: x509.Certificate, stranger: x509.Certificate
) -> None:
    database.add_trusted(tmp_path / "client", cert)
    trusted = TrustedSet([tmp_path / "client"])
    serial = certs.serial_text(cert)
    assert serial == "12:34:56:78:90" != certs.serial_text(stranger)
    assert trusted.trusts({"sysinfo": "6.1 x86_64", "version": "5.1", "certinfo": serial})
    assert trusted.trusts({"certinfo": serial.upper()})
    assert not trusted.trusts({"certinfo": certs.serial_text(stranger)})
    # ours say which certificate: the serial is not used then
    assert not trusted.trusts({"certsha256": sha(stranger), "certinfo": serial})
    assert not trusted.trusts({"keysha256": keysha(stranger), "certinfo": serial})


def test_trusts_nothing_matches(
    tmp_path: Path, cert: x509.Certificate, stranger: x509.Certificate
) -> None:
    database.add_trusted(tmp_path / "client", cert)
    trusted = TrustedSet([tmp_path / "client"])
    assert not trusted.trusts({})
    assert not trusted.trusts({"certsha256": "", "keysha256": "", "certinfo": ""})
    assert not trusted.trusts({"certsha256": sha(stranger), "keysha256": keysha(stranger)})
    assert not trusted.trusts({"certsha256": "00" * 32})


def test_empty_trusted_set(tmp_path: Path, cert: x509.Certificate) -> None:
    trusted = TrustedSet([tmp_path / "missing"])
    assert trusted.fingerprints == set()
    assert not trusted.trusts({"certsha256": sha(cert), "keysha256": keysha(cert)})
    assert not trusted.trusts({"certinfo": certs.serial_text(cert)})
    assert not TrustedSet([]).trusts({"certsha256": sha(cert)})


def test_trusted_set_checks_permissions(tmp_path: Path, cert: x509.Certificate) -> None:
    database.add_trusted(tmp_path / "client", cert)
    (tmp_path / "client").chmod(0o777)
    with pytest.raises(TrustError, match="chmod go-w"):
        TrustedSet([tmp_path / "client"])


# ---------------------------------------------------------------------- advertised_trusted

DB = Path("/db/client")


def test_advertised_trusted_by_certificate(cert: x509.Certificate) -> None:
    assert advertised_trusted({"certsha256": sha(cert)}, [(DB, [cert])])
    assert advertised_trusted({"certsha256": sha(cert).upper()}, [(DB, [cert])])


def test_advertised_trusted_by_key(
    cert: x509.Certificate, renewed: x509.Certificate, stranger: x509.Certificate
) -> None:
    txt = {"certsha256": sha(renewed), "keysha256": keysha(renewed)}
    assert advertised_trusted(txt, [(DB, [stranger]), (Path("/db/2"), [cert])])
    assert not advertised_trusted(txt, [(DB, [stranger])])


def test_advertised_trusted_by_serial(cert: x509.Certificate, stranger: x509.Certificate) -> None:
    txt = {"certinfo": certs.serial_text(cert)}
    assert advertised_trusted(txt, [(DB, [stranger, cert])])
    assert not advertised_trusted(txt, [(DB, [stranger])])
    assert not advertised_trusted({"certinfo": ""}, [(DB, [cert])])


def test_advertised_trusted_nothing(cert: x509.Certificate) -> None:
    assert not advertised_trusted({}, [(DB, [cert])])
    assert not advertised_trusted({"certsha256": sha(cert)}, [])
    assert not advertised_trusted({"certsha256": sha(cert)}, [(DB, [])])

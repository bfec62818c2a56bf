"""trust.database: certificate databases, their locations and permission checks."""

from __future__ import annotations

import datetime as dt
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from stapserver.errors import TrustError
from stapserver.trust import certs, database

from .plaincerts import plain_certificate

BITS = 2048
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="chown to another uid needs root")


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return certs.generate_key(BITS)


@pytest.fixture(scope="module")
def cert(key: rsa.RSAPrivateKey) -> x509.Certificate:
    return certs.make_certificate(key, ["a.example"])


@pytest.fixture(scope="module")
def cert2() -> x509.Certificate:
    return certs.make_certificate(certs.generate_key(BITS), ["b.example"])


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# ---------------------------------------------------------------------- server identity


def test_create_server_identity(tmp_path: Path) -> None:
    db = tmp_path / "ssl" / "server"
    identity, action = database.load_or_create_server_identity(db, key_bits=BITS)
    assert action == "created"
    assert identity.directory == db
    assert identity.key_path == db / "stap.key"
    assert identity.cert_path == db / "stap.cert"
    assert mode(db) & 0o022 == 0
    assert mode(identity.key_path) == 0o600
    assert mode(identity.cert_path) == 0o644
    assert identity.key_path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    cert_bytes = identity.cert_path.read_bytes()
    assert cert_bytes[0] == 0x30  # DER, as SystemTap writes stap.cert
    on_disk = x509.load_der_x509_certificate(cert_bytes)
    assert on_disk == identity.cert
    assert identity.key.key_size == BITS
    assert certs.spki(on_disk) == certs.spki_of_key(identity.key)
    assert sorted(p.name for p in db.iterdir()) == ["stap.cert", "stap.key"]  # no temp files


def test_reload_server_identity(tmp_path: Path) -> None:
    db = tmp_path / "server"
    first, _ = database.load_or_create_server_identity(db, key_bits=BITS)
    cert_bytes = first.cert_path.read_bytes()
    second, action = database.load_or_create_server_identity(db, key_bits=BITS)
    assert action == "loaded"
    assert second.cert == first.cert
    assert certs.spki_of_key(second.key) == certs.spki_of_key(first.key)
    assert second.cert_path.read_bytes() == cert_bytes


def test_a_certificate_without_the_manifest_promise_is_renewed(tmp_path: Path) -> None:
    """A certificate made before ours said the server signs its manifests (issue 11, 2)
    is renewed with the same key at the next start: clients keep trusting it (by key)
    and from then on ask for the manifest."""
    db = tmp_path / "server"
    first, _ = database.load_or_create_server_identity(db, key_bits=BITS)
    now = dt.datetime.now(dt.UTC)
    old = plain_certificate(first.key, now - dt.timedelta(days=1), now + dt.timedelta(days=200))
    first.cert_path.write_bytes(certs.der(old))
    assert not certs.signs_manifests(old)
    renewed, action = database.load_or_create_server_identity(db, key_bits=BITS)
    assert action == "renewed"
    assert certs.signs_manifests(renewed.cert)
    assert certs.spki(renewed.cert) == certs.spki(old)


def test_renewal_near_expiry_keeps_the_key(tmp_path: Path) -> None:
    db = tmp_path / "server"
    start = dt.datetime.now(dt.UTC).replace(microsecond=0)
    first, action = database.load_or_create_server_identity(db, key_bits=BITS, now=start)
    assert action == "created"
    assert first.cert.not_valid_after_utc == start + dt.timedelta(days=365)
    key_bytes = first.key_path.read_bytes()

    early = start + dt.timedelta(days=300)  # 65 days left: nothing to do
    _, action = database.load_or_create_server_identity(db, key_bits=BITS, now=early)
    assert action == "loaded"

    late = start + dt.timedelta(days=340)  # 25 days left: renew
    renewed, action = database.load_or_create_server_identity(db, key_bits=BITS, now=late)
    assert action == "renewed"
    assert renewed.key_path.read_bytes() == key_bytes
    assert certs.spki(renewed.cert) == certs.spki(first.cert)
    assert renewed.cert != first.cert
    assert renewed.cert.not_valid_after_utc == late + dt.timedelta(days=365)
    assert x509.load_der_x509_certificate(renewed.cert_path.read_bytes()) == renewed.cert
    assert mode(renewed.cert_path) == 0o644

    again, action = database.load_or_create_server_identity(db, key_bits=BITS, now=late)
    assert action == "loaded"
    assert again.cert == renewed.cert


def test_expired_certificate_renewed(tmp_path: Path) -> None:
    db = tmp_path / "server"
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=400)
    first, _ = database.load_or_create_server_identity(db, key_bits=BITS, now=start)
    renewed, action = database.load_or_create_server_identity(db, key_bits=BITS)
    assert action == "renewed"
    assert certs.spki(renewed.cert) == certs.spki(first.cert)
    assert certs.validity(renewed.cert).contains(dt.datetime.now(dt.UTC))


def test_certificate_for_another_key_replaced(tmp_path: Path, cert2: x509.Certificate) -> None:
    db = tmp_path / "server"
    first, _ = database.load_or_create_server_identity(db, key_bits=BITS)
    first.cert_path.write_bytes(certs.der(cert2))
    fixed, action = database.load_or_create_server_identity(db, key_bits=BITS)
    assert action == "renewed"
    assert certs.spki(fixed.cert) == certs.spki_of_key(first.key)


def test_missing_certificate_recreated(tmp_path: Path) -> None:
    db = tmp_path / "server"
    first, _ = database.load_or_create_server_identity(db, key_bits=BITS)
    first.cert_path.unlink()
    fixed, action = database.load_or_create_server_identity(db, key_bits=BITS)
    assert action == "renewed"
    assert certs.spki(fixed.cert) == certs.spki_of_key(first.key)
    assert fixed.cert_path.exists()


@pytest.mark.parametrize("nss_file", ["cert9.db", "key4.db", "cert8.db", "key3.db"])
def test_nss_database_refused(tmp_path: Path, nss_file: str) -> None:
    db = tmp_path / "server"
    db.mkdir(mode=0o755)
    (db / nss_file).write_bytes(b"SQLite format 3\0")
    (db / "pkcs11.txt").write_text("library=\n")
    with pytest.raises(TrustError) as err:
        database.load_or_create_server_identity(db, key_bits=BITS)
    assert "NSS" in str(err.value) and "--ssl=DIR" in str(err.value)
    assert not (db / "stap.key").exists()


def test_key_readable_by_others_refused(tmp_path: Path) -> None:
    db = tmp_path / "server"
    identity, _ = database.load_or_create_server_identity(db, key_bits=BITS)
    for bad in (0o644, 0o640, 0o604, 0o660):
        identity.key_path.chmod(bad)
        with pytest.raises(TrustError) as err:
            database.load_or_create_server_identity(db, key_bits=BITS)
        assert f"chmod 600 {identity.key_path}" in str(err.value)
    identity.key_path.chmod(0o400)
    assert database.load_or_create_server_identity(db, key_bits=BITS)[1] == "loaded"


def test_damaged_key_refused(tmp_path: Path) -> None:
    db = tmp_path / "server"
    identity, _ = database.load_or_create_server_identity(db, key_bits=BITS)
    identity.key_path.write_bytes(b"not a key")
    identity.key_path.chmod(0o600)
    with pytest.raises(TrustError, match="cannot read the server key"):
        database.load_or_create_server_identity(db, key_bits=BITS)


@pytest.mark.parametrize("bad_mode", [0o775, 0o757, 0o777])
def test_database_writable_by_group_or_others_refused(tmp_path: Path, bad_mode: int) -> None:
    db = tmp_path / "server"
    database.load_or_create_server_identity(db, key_bits=BITS)
    db.chmod(bad_mode)
    with pytest.raises(TrustError) as err:
        database.load_or_create_server_identity(db, key_bits=BITS)
    assert f"chmod go-w {db}" in str(err.value)
    with pytest.raises(TrustError, match="chmod go-w"):
        database.trusted_certificates(db)


@needs_root
def test_database_owned_by_another_uid_refused(tmp_path: Path, cert: x509.Certificate) -> None:
    db = tmp_path / "server"
    database.load_or_create_server_identity(db, key_bits=BITS)
    os.chown(db, 65534, -1)
    with pytest.raises(TrustError) as err:
        database.load_or_create_server_identity(db, key_bits=BITS)
    message = str(err.value)
    assert "owned by uid 65534, not by uid 0" in message
    assert f"chown -R 0 {db}" in message
    client = tmp_path / "client"
    client.mkdir()
    os.chown(client, 65534, -1)
    with pytest.raises(TrustError, match="chown -R 0"):
        database.trusted_certificates(client)
    with pytest.raises(TrustError, match="chown -R 0"):
        database.add_trusted(client, cert)


def test_check_permissions_missing_path_is_fine(tmp_path: Path) -> None:
    database.check_permissions(tmp_path / "nothing")


def test_check_permissions_owner(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    database.check_permissions(tmp_path, os.geteuid())
    other = os.geteuid() + 1
    with pytest.raises(TrustError, match=f"chown -R {other} {tmp_path}"):
        database.check_permissions(tmp_path, other)


def test_global_database_must_belong_to_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cert: x509.Certificate
) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs files owned by root")
    monkeypatch.setenv("STAPSERVER_SYSCONFDIR", str(tmp_path / "etc"))
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    global_db = database.global_client_db_dir()
    database.add_trusted(global_db, cert)  # root's files, a root-owned global database
    assert database.trusted_certificates(global_db) == [cert]
    user_db = tmp_path / "home" / "client"
    user_db.mkdir(parents=True)  # owned by root, but the (pretend) user is 1000
    with pytest.raises(TrustError, match="not by uid 1000"):
        database.trusted_certificates(user_db)


# ---------------------------------------------------------------------- client databases


def test_add_trusted(tmp_path: Path, cert: x509.Certificate) -> None:
    db = tmp_path / "a" / "client"
    path = database.add_trusted(db, cert)
    name = certs.fingerprint(cert).replace(":", "").lower() + ".pem"
    assert path == db / "certs" / name
    assert len(name) == 64 + 4
    assert path.read_bytes() == certs.pem(cert)
    assert mode(path) == 0o644
    assert mode(db) & 0o022 == 0 and mode(db / "certs") & 0o022 == 0
    assert database.trusted_certificates(db) == [cert]


def test_add_trusted_is_idempotent(tmp_path: Path, cert: x509.Certificate) -> None:
    db = tmp_path / "client"
    first = database.add_trusted(db, cert)
    before = first.stat()
    second = database.add_trusted(db, cert)
    assert second == first
    assert second.stat().st_ino == before.st_ino
    assert second.stat().st_mtime_ns == before.st_mtime_ns
    assert [p.name for p in (db / "certs").iterdir()] == [first.name]
    assert database.trusted_certificates(db) == [cert]


def test_two_certificates(tmp_path: Path, cert: x509.Certificate, cert2: x509.Certificate) -> None:
    db = tmp_path / "client"
    database.add_trusted(db, cert)
    database.add_trusted(db, cert2)
    found = database.trusted_certificates(db)
    assert sorted(certs.der(c) for c in found) == sorted([certs.der(cert), certs.der(cert2)])


def test_trusted_certificates_ignores_damaged_files(tmp_path: Path, cert: x509.Certificate) -> None:
    db = tmp_path / "client"
    database.add_trusted(db, cert)
    folder = db / "certs"
    (folder / "0000damaged.pem").write_bytes(b"-----BEGIN CERTIFICATE-----\ngarbage\n")
    (folder / "empty.pem").write_bytes(b"")
    (folder / "junk.pem").write_bytes(b"\x00\x01junk")
    (folder / "notes.txt").write_bytes(certs.pem(cert))  # not a .pem: not read either
    assert database.trusted_certificates(db) == [cert]


def test_trusted_certificates_accepts_der_in_pem_file(
    tmp_path: Path, cert: x509.Certificate
) -> None:
    folder = tmp_path / "client" / "certs"
    folder.mkdir(parents=True)
    (folder / f"{certs.sha256_hex(cert)}.pem").write_bytes(certs.der(cert))
    assert database.trusted_certificates(tmp_path / "client") == [cert]


def test_an_entry_trusts_only_the_certificate_its_name_says(
    tmp_path: Path, cert: x509.Certificate
) -> None:
    """Issue 11, 3: a certificate file swapped for another (or damaged) under a trusted
    name trusts nothing; before, its content was trusted whatever its name."""
    db = tmp_path / "client"
    path = database.add_trusted(db, cert)
    other = certs.make_certificate(certs.generate_key(2048), ["evil.example"])
    path.write_bytes(certs.pem(other))
    assert database.trusted_certificates(db) == []
    (db / "certs" / "x.pem").write_bytes(certs.der(cert))  # a name that is no SHA-256
    assert database.trusted_certificates(db) == []


def test_trusted_certificates_of_missing_or_empty_database(tmp_path: Path) -> None:
    assert database.trusted_certificates(tmp_path / "nothing") == []
    (tmp_path / "empty").mkdir()
    assert database.trusted_certificates(tmp_path / "empty") == []


def test_certs_folder_writable_by_others_refused(tmp_path: Path, cert: x509.Certificate) -> None:
    db = tmp_path / "client"
    database.add_trusted(db, cert)
    (db / "certs").chmod(0o777)
    with pytest.raises(TrustError, match="chmod go-w"):
        database.trusted_certificates(db)


# ---------------------------------------------------------------------- locations


def test_systemtap_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SYSTEMTAP_DIR", str(tmp_path / "stapdir"))
    assert database.systemtap_dir() == tmp_path / "stapdir"
    monkeypatch.delenv("SYSTEMTAP_DIR")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert database.systemtap_dir() == tmp_path / "home" / ".systemtap"
    monkeypatch.setenv("SYSTEMTAP_DIR", "")
    assert database.systemtap_dir() == tmp_path / "home" / ".systemtap"


def test_locations_for_users_and_root(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SYSTEMTAP_DIR", str(tmp_path / "stap"))
    monkeypatch.setenv("STAPSERVER_SYSCONFDIR", str(tmp_path / "etc"))
    assert database.server_db_dir(1000) == tmp_path / "stap" / "ssl" / "server"
    assert database.user_client_db_dir(1000) == tmp_path / "stap" / "ssl" / "client"
    assert database.server_db_dir(0) == tmp_path / "etc" / "systemtap" / "ssl" / "server"
    assert database.global_client_db_dir() == tmp_path / "etc" / "systemtap" / "ssl" / "client"
    assert database.user_client_db_dir(0) == database.global_client_db_dir()


def test_client_db_dirs_order(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SYSTEMTAP_DIR", str(tmp_path / "stap"))
    monkeypatch.setenv("STAPSERVER_SYSCONFDIR", str(tmp_path / "etc"))
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    user = tmp_path / "stap" / "ssl" / "client"
    glob = tmp_path / "etc" / "systemtap" / "ssl" / "client"
    assert database.client_db_dirs([]) == [user, glob]
    assert database.client_db_dirs(["/x", "/y"]) == [Path("/x"), Path("/y"), user, glob]
    # an --ssl folder that is the user's is not searched twice, and keeps its place
    assert database.client_db_dirs([str(glob), "/x", str(user)]) == [glob, Path("/x"), user]


def test_client_db_dirs_for_root(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("STAPSERVER_SYSCONFDIR", str(tmp_path / "etc"))
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    glob = tmp_path / "etc" / "systemtap" / "ssl" / "client"
    assert database.client_db_dirs(["/x"]) == [Path("/x"), glob]


def test_sysconfdir_read_when_used(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("STAPSERVER_SYSCONFDIR", str(tmp_path / "one"))
    assert database.sysconfdir() == tmp_path / "one"
    assert database.global_client_db_dir() == tmp_path / "one" / "systemtap" / "ssl" / "client"
    monkeypatch.setenv("STAPSERVER_SYSCONFDIR", str(tmp_path / "two"))
    assert database.server_db_dir(0) == tmp_path / "two" / "systemtap" / "ssl" / "server"
    monkeypatch.delenv("STAPSERVER_SYSCONFDIR")
    assert database.sysconfdir() == Path("/etc")
    assert database.global_client_db_dir() == Path("/etc/systemtap/ssl/client")


def _sysconf_in_subprocess(env_value: str | None) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k != "STAPSERVER_SYSCONFDIR"}
    if env_value is not None:
        env["STAPSERVER_SYSCONFDIR"] = env_value
    code = (
        "from stapserver.trust import database as d;"
        "print(d.global_client_db_dir()); print(d.server_db_dir(0))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return out.stdout.splitlines()


def test_sysconfdir_from_environment_in_a_fresh_process(tmp_path: Path) -> None:
    etc = str(tmp_path / "etc")
    assert _sysconf_in_subprocess(etc) == [
        f"{etc}/systemtap/ssl/client",
        f"{etc}/systemtap/ssl/server",
    ]
    assert _sysconf_in_subprocess(None) == [
        "/etc/systemtap/ssl/client",
        "/etc/systemtap/ssl/server",
    ]

"""SystemTap's NSS client databases, through certutil."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from cryptography import x509

from stapserver.cli import stap_add_server_cert
from stapserver.errors import TrustError
from stapserver.trust import certs, database, nss

pytestmark = pytest.mark.skipif(
    shutil.which("certutil") is None and not os.environ.get("STAPSERVER_REQUIRE_STAP"),
    reason="certutil (libnss3-tools) is not installed",
)


def make(serial: int) -> x509.Certificate:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(certs, "serial_now", lambda: serial)
        return certs.make_certificate(certs.generate_key(2048))


def test_added_then_trusted(tmp_path: Path) -> None:
    cert = make(0x00CC303100)
    assert nss.add(tmp_path, cert)
    assert (tmp_path / "cert9.db").stat().st_mode & 0o777 == 0o644
    assert [certs.der(c) for c in nss.trusted(tmp_path)] == [certs.der(cert)]
    assert nss.add(tmp_path, cert)  # again: nothing changes
    assert len(nss.trusted(tmp_path)) == 1


def test_without_certutil_nothing_happens(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STAPSERVER_CERTUTIL", "")
    assert not nss.add(tmp_path, make(0x00CC303101))
    assert nss.trusted(tmp_path) == []
    assert not (tmp_path / "cert9.db").exists()


def test_a_serial_taken_by_another_certificate_is_refused(tmp_path: Path) -> None:
    first, second = make(0x00CC303102), make(0x00CC303102)
    nss.add(tmp_path, first)
    with pytest.raises(TrustError, match="SEC_ERROR_REUSED_ISSUER_AND_SERIAL"):
        nss.add(tmp_path, second)
    assert [certs.der(c) for c in nss.trusted(tmp_path)] == [certs.der(first)]


def test_stap_add_server_cert_warns_and_still_trusts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = make(0x00CC303103), make(0x00CC303103)
    files = []
    for n, cert in enumerate((first, second)):
        f = tmp_path / f"stap{n}.cert"
        f.write_bytes(certs.der(cert))
        files.append(f)
    db = tmp_path / "client"
    assert stap_add_server_cert.main([str(files[0]), str(db)]) == 0
    assert capsys.readouterr().err == ""
    assert stap_add_server_cert.main([str(files[1]), str(db)]) == 0
    err = capsys.readouterr().err
    assert err.startswith("stap-add-server-cert: WARNING: SystemTap's own client will not: ")
    assert err.count("\n") == 1
    # our client trusts both (its certs/ folder), SystemTap's the first only
    ours = {certs.der(c) for c in database.trusted_certificates(db)}
    assert ours == {certs.der(first), certs.der(second)}
    assert [certs.der(c) for c in nss.trusted(db)] == [certs.der(first)]

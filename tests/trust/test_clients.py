"""trust.clients: the certificates --allow-client lists, from files and folders."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from stapserver.errors import TrustError
from stapserver.trust import certs
from stapserver.trust.clients import allowed_clients

KEY = certs.generate_key(2048)


def der(name: str) -> bytes:
    return certs.der(certs.make_certificate(KEY, [name]))


def test_files_folders_pem_and_der(tmp_path: Path) -> None:
    a, b, c = der("a"), der("b"), der("c")
    pem_two = tmp_path / "two.pem"
    pem_two.write_bytes(
        certs.pem(certs.load_certificate(a)) + b"comment\n" + certs.pem(certs.load_certificate(b))
    )
    folder = tmp_path / "more"
    folder.mkdir()
    (folder / "c.der").write_bytes(c)
    (folder / "README").write_text("not a certificate file")
    got = allowed_clients([pem_two, folder])
    assert got == {hashlib.sha256(d).hexdigest(): d for d in (a, b, c)}


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: None, "no such file or folder"),
        (lambda p: p.mkdir(), "a folder with no certificate files"),
        (lambda p: p.write_text("hello"), "no certificate in it"),
    ],
)
def test_what_is_not_a_list_of_certificates(tmp_path: Path, make: object, message: str) -> None:
    path = tmp_path / "allowed"
    make(path)  # type: ignore[operator]
    with pytest.raises(TrustError, match=f"--allow-client {path}: {message}"):
        allowed_clients([path])

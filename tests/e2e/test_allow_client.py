"""A server that serves listed clients only (issue 11, 7): ``stap-serverd
--allow-client CERTFILE|DIR`` asks for a client certificate and completes the handshake
only with a listed one; ``stap-client --client-cert FILE`` shows one.  Off by default."""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from ..trust.plaincerts import plain_certificate
from .conftest import Env, start_server

HELLO = 'probe begin { printf("Hello World!\\n"); exit() }'


def client_identity(folder: Path, name: str) -> tuple[Path, Path]:
    """A client's certificate (alone, for the server's list) and its certificate and key
    in one PEM file (for --client-cert), as ``openssl req -x509`` would make them."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = plain_certificate(key, subject=subject, ca=True)
    pem = cert.public_bytes(serialization.Encoding.PEM)
    public = folder / f"{name}.pem"
    public.write_bytes(pem)
    both = folder / f"{name}-identity.pem"
    both.write_bytes(
        pem
        + key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    both.chmod(0o600)
    return public, both


def test_only_listed_clients_are_served(env: Env, tmp_path: Path) -> None:
    listed = tmp_path / "listed"
    listed.mkdir()
    alice_cert, alice = client_identity(listed, "alice")
    _, mallory = client_identity(tmp_path, "mallory")
    server = start_server(env, "--allow-client", str(listed))
    try:

        def client(*args: str) -> tuple[int, bytes, str]:
            r = env.run("stap-client", f"--server={server.address}", *args, "-e", HELLO)
            return r.returncode, r.stdout, r.stderr.decode()

        assert client("--client-cert", str(alice)) == (0, b"Hello World!\n", "")
        assert client(f"--client-cert={alice}")[0] == 0
        rc, out, err = client()  # no certificate: the server says why
        assert (rc, out) == (1, b""), err
        assert err == (
            "stap-serverd: this server serves listed clients only (--allow-client): give "
            "stap-client --client-cert=FILE with a certificate it lists\n"
        )
        rc, out, err = client(f"--client-cert={mallory}")  # not listed: no handshake
        assert (rc, out) == (1, b""), err
        assert err.count("\n") == 1 and str(mallory) in err and "--allow-client" in err, err
        log = server.log.read_text()
        assert log.count(" rc=0 ") == 2
        assert "(client " in log and " (no client certificate) rc=refused " in log
        # a file that holds no key: one line saying so
        rc, _, err = client(f"--client-cert={alice_cert}")
        assert rc == 1 and err.startswith(f"--client-cert {alice_cert}: no certificate and key")
        assert err.count("\n") == 1
    finally:
        server.stop()


def test_a_server_without_the_option_serves_everyone_and_ignores_client_certs(
    env: Env, tmp_path: Path
) -> None:
    _, alice = client_identity(tmp_path, "alice")
    server = start_server(env)
    try:
        for extra in ([], [f"--client-cert={alice}"]):
            r = env.run("stap-client", f"--server={server.address}", *extra, "-e", HELLO)
            assert (r.returncode, r.stdout) == (0, b"Hello World!\n"), r.stderr
    finally:
        server.stop()


def test_a_list_without_certificates_is_a_start_error(env: Env, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    r = env.run("stap-start-server", "--address", "127.0.0.1", "--allow-client", str(empty))
    assert (r.returncode, r.stdout) == (1, b"")
    assert r.stderr.decode() == f"--allow-client {empty}: a folder with no certificate files\n"
    missing = tmp_path / "missing.pem"
    r = env.run("stap-start-server", "--address", "127.0.0.1", "--allow-client", str(missing))
    assert r.returncode == 1
    assert r.stderr.decode() == f"--allow-client {missing}: no such file or folder\n"

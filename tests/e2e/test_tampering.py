"""A client must verify everything it receives before using any of it.

A fake server with the real server's key (so its certificate is trusted) answers with
responses altered in the ways an attacker on the path, or a broken server, could: the
client refuses each with one message, exit status 1, and runs nothing.
"""

from __future__ import annotations

import socket
import ssl
import struct
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from stapserver.protocol import archive, response
from stapserver.trust import certs, database, signing

from ..trust.plaincerts import plain_certificate
from .conftest import Env, Server

MODULE_NAME = "stap_fake.py"


def systemtap_like(key: rsa.RSAPrivateKey) -> x509.Certificate:
    """A certificate for the same key as SystemTap's server makes one: without our
    promise of signed manifests (a client trusts it as a renewal of the trusted one)."""
    return plain_certificate(key)


class FakeServer:
    def __init__(self, env: Env, answer: bytes, *, ours: bool = True) -> None:
        identity, _ = database.load_or_create_server_identity(env.server_db())
        database.add_trusted(env.client_db(), identity.cert)  # as a started server does
        self.identity = identity
        self.answer = answer
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        pem = env.root / "fake.pem"
        shown = identity.cert if ours else systemtap_like(identity.key)
        pem.write_bytes(
            certs.pem(shown)
            + identity.key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        self.ctx.load_cert_chain(str(pem))
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        try:
            raw, _ = self.sock.accept()
        except OSError:
            return
        with self.ctx.wrap_socket(raw, server_side=True) as conn:
            header = conn.recv(4)
            if len(header) < 4:
                return
            (length,) = struct.unpack(">i", header)
            got = 0
            while got < length:
                got += len(conn.recv(65536))
            conn.sendall(self.answer)

    def close(self) -> None:
        self.sock.close()


def _module_source() -> bytes:
    return (
        b'"""SystemTap python-runtime module stap_fake.\n"""\n'
        b"import os\nos.system('touch /tmp/stapserver-tampered')\n"
    )


def _response(
    env: Env,
    *,
    module: bytes,
    sign_with: object = None,
    manifest: bool = True,
    module_sgn: bytes | None = None,
    alter_after: bytes | None = None,
) -> bytes:
    identity, _ = database.load_or_create_server_identity(env.server_db())
    key = sign_with or identity.key
    files = {MODULE_NAME: module}
    if module_sgn is not None:
        files[MODULE_NAME + ".sgn"] = module_sgn
    resp = response.Response(rc=0, module_files=files)
    data = response.encode(
        resp,
        sign=(lambda blob: signing.sign(key, blob)) if manifest else None,  # type: ignore[arg-type]
    )
    if alter_after is not None:
        entries = archive.read(data, archive.Limits())
        entries[f"stap000000/{MODULE_NAME}"] = alter_after
        data = archive.build(sorted(entries.items()))
    return data


@pytest.fixture
def fake(env: Env) -> Iterator[object]:
    servers: list[FakeServer] = []

    def make(answer: bytes, ours: bool = True) -> FakeServer:
        s = FakeServer(env, answer, ours=ours)
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.close()


def _client(env: Env, port: int, tmp_path: Path) -> tuple[int, bytes, str]:
    r = env.run(
        "stap-client", f"--server=127.0.0.1:{port}", "-e", "probe begin { exit() }", cwd=tmp_path
    )
    return r.returncode, r.stdout, r.stderr.decode()


def _assert_refused(result: tuple[int, bytes, str], words: str) -> None:
    rc, out, err = result
    assert rc == 1
    assert out == b""
    assert err.count("\n") == 1, err
    assert words in err
    assert not Path("/tmp/stapserver-tampered").exists()


def test_module_altered_after_signing(env: Env, fake: object, tmp_path: Path) -> None:
    key = database.load_or_create_server_identity(env.server_db())[0].key
    good = _module_source()
    data = _response(
        env, module=good, module_sgn=signing.sign(key, good), alter_after=good + b"# changed\n"
    )
    server = fake(data)  # type: ignore[operator]
    _assert_refused(_client(env, server.port, tmp_path), "altered after signing")


def test_manifest_signed_by_another_key(env: Env, fake: object, tmp_path: Path) -> None:
    other = certs.generate_key(2048)
    data = _response(env, module=_module_source(), sign_with=other)
    server = fake(data)  # type: ignore[operator]
    _assert_refused(_client(env, server.port, tmp_path), "manifest signature does not verify")


def test_no_manifest_from_a_server_that_promises_one(
    env: Env, fake: object, tmp_path: Path
) -> None:
    """Issue 11, 2: our servers' certificates promise a signed manifest: an answer
    without one (forged stdout and all) is refused before anything is used."""
    key = database.load_or_create_server_identity(env.server_db())[0].key
    module = _module_source()
    for data in (
        _response(env, module=module, manifest=False, module_sgn=signing.sign(key, module)),
        response.encode(response.Response(rc=0, stdout=b"forged\n")),
    ):
        server = fake(data)  # type: ignore[operator]
        _assert_refused(_client(env, server.port, tmp_path), "no signed manifest")


def test_unsigned_module_without_manifest(env: Env, fake: object, tmp_path: Path) -> None:
    data = _response(env, module=_module_source(), manifest=False)
    server = fake(data, ours=False)  # type: ignore[operator]
    _assert_refused(_client(env, server.port, tmp_path), "is not signed")


def test_bad_module_signature_without_manifest(env: Env, fake: object, tmp_path: Path) -> None:
    other = certs.generate_key(2048)
    module = _module_source()
    data = _response(env, module=module, manifest=False, module_sgn=signing.sign(other, module))
    server = fake(data, ours=False)  # type: ignore[operator]
    _assert_refused(_client(env, server.port, tmp_path), "does not verify")


def test_malformed_response(env: Env, fake: object, tmp_path: Path) -> None:
    server = fake(b"this is not a zip archive")  # type: ignore[operator]
    _assert_refused(_client(env, server.port, tmp_path), "sent a bad response")


def _signed(env: Env, files: dict[str, bytes], *, manifest: bool = True) -> bytes:
    key = database.load_or_create_server_identity(env.server_db())[0].key
    signed = dict(files)
    for name, data in files.items():
        signed[name + ".sgn"] = signing.sign(key, data)
    resp = response.Response(rc=0, module_files=signed)
    return response.encode(resp, sign=(lambda blob: signing.sign(key, blob)) if manifest else None)


@pytest.mark.parametrize("runtime", ["python", "bpf"])
def test_a_module_of_another_kind_than_asked_is_refused(
    env: Env, fake: object, tmp_path: Path, runtime: str
) -> None:
    """Issue 11, 2: a kernel module, signed and listed, where the python or the BPF
    runtime was asked: refused, and nothing is written (before: kept at -p4)."""
    server = fake(_signed(env, {"stap_evil.ko": b"\x7fELF evil"}))  # type: ignore[operator]
    work = tmp_path / "cwd"
    work.mkdir()
    r = env.run(
        "stap-client", f"--server=127.0.0.1:{server.port}", f"--runtime={runtime}", "-p4",
        "-e", "probe begin { exit() }", cwd=work,
    )  # fmt: skip
    _assert_refused((r.returncode, r.stdout, r.stderr.decode()), "kernel-runtime module")
    assert list(work.iterdir()) == []


def test_an_unsigned_kernel_module_is_refused(env: Env, fake: object, tmp_path: Path) -> None:
    """Issue 11, 2: without a manifest, an unsigned .ko was written to the cwd at -p4."""
    resp = response.Response(rc=0, module_files={"stap_evil.ko": b"\x7fELF evil"})
    server = fake(response.encode(resp), ours=False)  # type: ignore[operator]
    work = tmp_path / "cwd"
    work.mkdir()
    r = env.run(
        "stap-client", f"--server=127.0.0.1:{server.port}", "--runtime=kernel", "-p4",
        "-e", "probe begin { exit() }", cwd=work,
    )  # fmt: skip
    _assert_refused((r.returncode, r.stdout, r.stderr.decode()), "is not signed")
    assert list(work.iterdir()) == []


def test_a_bad_answer_moves_on_to_the_next_server(
    env: Env, fake: object, server: Server, tmp_path: Path
) -> None:
    """Issue 11, 4: a server answering garbage (or refused for its signatures) no longer
    ends the run: the same request goes to the next --server, and only its output is
    printed."""
    garbage = fake(b"this is not a zip archive")  # type: ignore[operator]
    bad_module = fake(_signed(env, {"stap_x.ko": b"\x7fELF"}))  # type: ignore[operator]
    for first in (garbage, bad_module):
        r = env.run(
            "stap-client", f"--server=127.0.0.1:{first.port}", f"--server={server.address}",
            "-e", 'probe begin { printf("Hello World!\\n"); exit() }', cwd=tmp_path,
        )  # fmt: skip
        assert (r.returncode, r.stdout, r.stderr) == (0, b"Hello World!\n", b""), r.stderr

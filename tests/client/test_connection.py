"""client.connection: deadlines on every phase of an exchange (issue 11, 4 and 6)."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from stapserver.client.address import ServerAddress
from stapserver.client.connection import RESPONSE_TIMEOUT, exchange
from stapserver.errors import NetworkError
from stapserver.trust import certs
from stapserver.trust.policy import Decision


def tls_server(tmp_path: Path, behave: str) -> Iterator[int]:
    """A TLS server that, once the handshake is done, ``behave``s: "silent" (takes the
    request and never answers: a hung server) or "gone" (drops the connection, as a
    server killed mid-request)."""
    key = certs.generate_key(2048)
    pem = tmp_path / "identity.pem"
    pem.write_bytes(
        certs.pem(certs.make_certificate(key, ["silent"]))
        + key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(pem))
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    held: list[socket.socket] = []

    def serve() -> None:
        try:
            raw, _ = listener.accept()
        except OSError:
            return
        conn = ctx.wrap_socket(raw, server_side=True)
        if behave == "gone":
            conn.close()  # no close_notify (that is unwrap), nothing read
            return
        conn.recv(1 << 16)
        held.append(conn)  # kept open, never answered

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    listener.close()
    for conn in held:
        conn.close()


@pytest.fixture
def silent_server(tmp_path: Path) -> Iterator[int]:
    yield from tls_server(tmp_path, "silent")


@pytest.fixture
def vanishing_server(tmp_path: Path) -> Iterator[int]:
    yield from tls_server(tmp_path, "gone")


def test_a_server_gone_while_the_request_is_sent(vanishing_server: int) -> None:
    """The soak test found it: a server killed while the request was being sent ended
    in an internal error (UnboundLocalError) instead of a network error, the kind the
    client passes over for the next server."""
    address = ServerAddress("127.0.0.1", vanishing_server)
    with pytest.raises(NetworkError):
        exchange(address, b"x" * (8 << 20), lambda der: Decision(True, "test"))


def test_a_silent_server_is_given_up_at_the_deadline(silent_server: int) -> None:
    address = ServerAddress("127.0.0.1", silent_server)
    t0 = time.monotonic()
    with pytest.raises(NetworkError, match=r"did not answer within 1 s"):
        exchange(address, b"request", lambda der: Decision(True, "test"), response_timeout=1)
    assert time.monotonic() - t0 < 10


def test_the_default_deadline_is_the_server_s_build_timeout_and_a_margin() -> None:
    assert 300 < RESPONSE_TIMEOUT < 900

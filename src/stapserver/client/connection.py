"""One exchange with a compile server: TLS, the server's certificate (its DER bytes)
judged against the client's databases before a byte of the request is sent, the
request, the response."""

from __future__ import annotations

import contextlib
import socket
import ssl
import time
from collections.abc import Callable

from ..errors import InputError, NetworkError, TrustError
from ..protocol import framing
from ..trust.der import fingerprint
from ..trust.policy import Decision
from .address import ServerAddress

MAX_RESPONSE_BYTES = 512 * 1024 * 1024
CONNECT_TIMEOUT = 10.0  # each of: connecting, the TLS handshake, every send
# the whole answer: a server stops a build after 300 s (its --build-timeout default)
RESPONSE_TIMEOUT = 330.0


def client_context(client_cert: str | None = None) -> ssl.SSLContext:
    """The client side of TLS; ``client_cert``: a PEM file with the certificate (and
    key) to show a server that serves listed clients only (``--allow-client``)."""
    # The certificate is checked by our own trust decision right after the handshake
    # (pinning to the client's databases), not by a CA chain: servers are self-signed.
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if client_cert is not None:
        try:
            ctx.load_cert_chain(client_cert)
        except (OSError, ssl.SSLError) as err:
            reason = getattr(err, "strerror", None) or getattr(err, "reason", None) or err
            raise InputError(
                f"--client-cert {client_cert}: no certificate and key to use ({reason}); "
                "give a PEM file holding both"
            ) from None
    return ctx


_NOT_ALLOWED = ("CERTIFICATE_REQUIRED", "UNKNOWN_CA", "BAD_CERTIFICATE", "CERTIFICATE_UNKNOWN")


def _tls_failure(
    address: ServerAddress, err: Exception, client_cert: str | None, when: str = "error"
) -> NetworkError:
    """A TLS error (``when``: "error", or "handshake ... failed"), worded for what a user
    can do about it."""
    if any(reason in str(err) for reason in _NOT_ALLOWED):
        what = "no certificate" if client_cert is None else f"the certificate in {client_cert}"
        return NetworkError(
            f"server {address} serves listed clients only and refused {what}: give "
            "--client-cert=FILE with a certificate its --allow-client lists"
        )
    if when == "handshake":
        return NetworkError(f"TLS handshake with server {address} failed: {err}")
    return NetworkError(f"TLS error with server {address}: {err}")


def exchange(
    address: ServerAddress,
    payload: bytes | None,
    judge: Callable[[bytes], Decision],
    *,
    connect_timeout: float = CONNECT_TIMEOUT,
    response_timeout: float = RESPONSE_TIMEOUT,
    meanwhile: Callable[[], object] | None = None,
    client_cert: str | None = None,
) -> tuple[bytes, bytes]:
    """Connect, judge the certificate, send ``payload`` (None: a length of 0, asking for
    the certificate only) and read the response.  ``meanwhile`` runs while the server
    answers the TLS hello (it signs with its key: the slowest step of a round trip): the
    client's imports for what follows.  Raises NetworkError or TrustError."""
    assert address.port is not None
    # an ASCII host goes as bytes, which getaddrinfo takes (typeshed says str only): a
    # str loads the IDNA codec, and unicodedata with it, at every start
    host: str | bytes = address.host.encode() if address.host.isascii() else address.host
    try:
        raw = socket.create_connection(
            (host, address.port),  # type: ignore[arg-type]
            timeout=connect_timeout,
        )
    except OSError as err:
        reason = err.strerror or str(err)
        raise NetworkError(
            f"cannot connect to server {address}: {reason} "
            "(is a server running there? stap-find-servers lists those on the network)"
        ) from None
    try:
        try:
            tls = client_context(client_cert).wrap_socket(
                raw, server_hostname=None, do_handshake_on_connect=False
            )
        except (ssl.SSLError, OSError) as err:
            raise NetworkError(f"TLS handshake with server {address} failed: {err}") from None
        try:
            tls.setblocking(False)
            with contextlib.suppress(ssl.SSLWantReadError):
                tls.do_handshake()  # sends the hello; the answer is not there yet
            if meanwhile is not None:
                meanwhile()
            tls.settimeout(connect_timeout)
            tls.do_handshake()
        except (ssl.SSLError, OSError) as err:
            tls.close()
            raise _tls_failure(address, err, client_cert, "handshake") from None
        except BaseException:
            tls.close()
            raise
        with tls:
            der = tls.getpeercert(binary_form=True)
            if not der:
                raise TrustError(f"server {address} presented no certificate")
            decision = judge(der)
            if not decision.trusted:
                raise TrustError(
                    f"server {address} is not trusted: {decision.reason}. If you trust it, add "
                    "its certificate (stap.cert in its server database) with: "
                    "stap-add-server-cert CERTFILE ~/.systemtap/ssl/client "
                    f"(its SHA-256 fingerprint is {fingerprint(der)})"
                )
            if payload is None:
                tls.sendall(framing.encode_length(0))
                return der, b""
            chunks: list[bytes] = []
            sent = False
            try:
                tls.sendall(framing.frame(payload))
                sent = True
                total = 0
                deadline = time.monotonic() + response_timeout
                while True:
                    # what is left of the deadline, however the answer trickles in
                    tls.settimeout(max(0.001, deadline - time.monotonic()))
                    chunk = tls.recv(1 << 16)
                    if not chunk:
                        break
                    total += len(chunk)
                    if total > MAX_RESPONSE_BYTES:
                        raise NetworkError(
                            f"server {address} sent more than {MAX_RESPONSE_BYTES} bytes"
                        )
                    chunks.append(chunk)
                    if time.monotonic() > deadline:
                        raise NetworkError(
                            f"server {address} did not finish its answer within "
                            f"{response_timeout:.0f} s"
                        )
            except ssl.SSLError as err:
                if not (sent and "EOF" in str(err)):
                    raise _tls_failure(address, err, client_cert) from None
                # a server that closes without close_notify: what we read is its answer
            except TimeoutError:
                raise NetworkError(
                    f"server {address} did not answer within {response_timeout:.0f} s"
                ) from None
            except OSError as err:
                raise NetworkError(f"connection to server {address} failed: {err}") from None
            if not chunks:
                why = f"server {address} closed the connection without answering"
                if client_cert is not None:  # what a server does to an unlisted client
                    why += (
                        f" (as a server that serves listed clients only does when its "
                        f"--allow-client does not list the certificate in {client_cert})"
                    )
                raise NetworkError(why)
            return der, b"".join(chunks)
    finally:
        raw.close()

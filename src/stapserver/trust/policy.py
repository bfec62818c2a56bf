"""Trust decisions, as pure logic: is the certificate a server presented trusted?

A server is trusted when its certificate is in one of the client's databases, or when it
carries the public key of a certificate in one of them and is itself valid and
self-signed by that key: a server renewing its certificate with the same key keeps its
clients' trust (with SystemTap, a regenerated certificate silently loses it).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from .der import Certificate as DerCertificate
from .der import DerError
from .layout import pinned

if TYPE_CHECKING:  # cryptography's X.509 is imported only where it is used
    import datetime as dt

    from cryptography import x509

Databases = list[tuple[Path, list["x509.Certificate"]]]


class Decision(NamedTuple):
    trusted: bool
    reason: str  # why, for a message
    database: Path | None = None


NOT_VALID = "its certificate is not valid now (expired or not yet valid)"


def decide_presented(
    der: bytes,
    directories: list[Path],
    databases: Callable[[], Databases],
    what: str = "certificate",
) -> Decision:
    """Decide about the certificate a server presented (``der``): when a database holds
    exactly these bytes, only its validity is left to check, with no X.509 parser;
    otherwise :func:`decide` over ``databases()`` (which also reads SystemTap's NSS
    databases) judges it."""
    folder = pinned(directories, der)
    if folder is not None:
        try:
            valid = DerCertificate(der).valid_at()
        except DerError:
            pass  # a certificate this reader does not follow: cryptography's turn
        else:
            if not valid:
                return Decision(False, NOT_VALID)
            return Decision(True, f"its certificate is in {folder}", folder)
    from . import certs

    return decide(certs.load_certificate(der, what), databases())


def decide(
    presented: x509.Certificate,
    databases: Databases,
    now: dt.datetime | None = None,
) -> Decision:
    """Decide about ``presented`` against ``databases`` (folder, its certificates)."""
    import datetime as dt

    from . import certs

    now = now or dt.datetime.now(dt.UTC)
    if not certs.validity(presented).contains(now):
        return Decision(False, NOT_VALID)
    if not certs.self_signed_ok(presented):
        return Decision(False, "its certificate's signature does not verify")
    wanted = certs.der(presented)
    key = certs.spki(presented)
    for folder, trusted in databases:
        for cert in trusted:
            if certs.der(cert) == wanted:
                return Decision(True, f"its certificate is in {folder}", folder)
    for folder, trusted in databases:
        for cert in trusted:
            if certs.spki(cert) == key:
                return Decision(True, f"its certificate renews one in {folder} (same key)", folder)
    searched = ", ".join(str(f) for f, _ in databases) or "no database"
    return Decision(False, f"its certificate is in none of the trusted databases ({searched})")


def advertised_trusted(txt: dict[str, str], databases: Databases) -> bool:
    """Does an advertisement name a certificate we trust?  By its SHA-256 (``certsha256``)
    or its key's (``keysha256``: a renewed certificate keeps the key) when it gives them;
    else, for SystemTap's servers, by the serial (``certinfo``), as SystemTap does.  Only
    a preselection: the certificate the server shows is still judged by :func:`decide`."""
    from . import certs

    certsha = txt.get("certsha256", "").lower()
    keysha = txt.get("keysha256", "").lower()
    serial = txt.get("certinfo", "").lower()
    for _, trusted in databases:
        for cert in trusted:
            if certsha or keysha:
                if certsha and certs.sha256_hex(cert) == certsha:
                    return True
                if keysha and certs.key_sha256_hex(cert) == keysha:
                    return True
            elif serial and certs.serial_text(cert) == serial:
                return True
    return False

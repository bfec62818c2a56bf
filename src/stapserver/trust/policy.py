"""Trust decisions, as pure logic: is the certificate a server presented trusted?

A server is trusted when its certificate is in one of the client's databases, or when it
carries the public key of a certificate in one of them and is itself valid and
self-signed by that key: a server renewing its certificate with the same key keeps its
clients' trust (with SystemTap, a regenerated certificate silently loses it).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from . import certs


@dataclass(frozen=True)
class Decision:
    trusted: bool
    reason: str  # why, for a message
    database: Path | None = None


def decide(
    presented: x509.Certificate,
    databases: list[tuple[Path, list[x509.Certificate]]],
    now: dt.datetime | None = None,
) -> Decision:
    """Decide about ``presented`` against ``databases`` (folder, its certificates)."""
    now = now or dt.datetime.now(dt.UTC)
    if not certs.validity(presented).contains(now):
        return Decision(False, "its certificate is not valid now (expired or not yet valid)")
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


def advertised_trusted(
    txt: dict[str, str], databases: list[tuple[Path, list[x509.Certificate]]]
) -> bool:
    """Does an advertisement name a certificate we trust?  By its SHA-256 (``certsha256``)
    or its key's (``keysha256``: a renewed certificate keeps the key) when it gives them;
    else, for SystemTap's servers, by the serial (``certinfo``), as SystemTap does.  Only
    a preselection: the certificate the server shows is still judged by :func:`decide`."""
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

"""SystemTap's own client databases: NSS databases (``cert9.db``, ``key4.db``,
``pkcs11.txt``), read and written through Debian's ``certutil`` (libnss3-tools).

SystemTap's client trusts the certificates stored under the nickname ``stap-server``
with the trust flags ``P,P,P`` (a trusted peer) in the same folders ours use
(``~/.systemtap/ssl/client``, ``$sysconfdir/systemtap/ssl/client``).  Writing there too
makes one ``stap-add-server-cert`` trust a server for both clients; reading there makes
our client trust what ``stap --trust-servers`` or ``stap-authorize-cert`` added.
Without ``certutil`` both are skipped: our own ``certs/`` folder still works.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from cryptography import x509

from ..errors import TrustError
from . import certs

NICKNAME = "stap-server"
TRUST = "P,P,P"
NSS_SQL_FILES = ("cert9.db", "key4.db", "pkcs11.txt")
_PEM = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)


def certutil() -> str | None:
    """``certutil`` (``STAPSERVER_CERTUTIL`` overrides; empty: as if not installed)."""
    env = os.environ.get("STAPSERVER_CERTUTIL")
    if env is not None:
        return env or None
    return shutil.which("certutil")


def _spec(directory: Path) -> str | None:
    """NSS's name of the database in ``directory``, or None if there is none."""
    if (directory / "cert9.db").exists():
        return f"sql:{directory}"
    if (directory / "cert8.db").exists():
        return f"dbm:{directory}"
    return None


def _run(tool: str, *args: str) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(
            [tool, *args], capture_output=True, stdin=subprocess.DEVNULL, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        raise TrustError(f"cannot run {tool}: {err}") from None


def _why(result: subprocess.CompletedProcess[bytes]) -> str:
    text = (result.stderr or result.stdout).decode(errors="replace").strip()
    return text.splitlines()[-1] if text else f"exit status {result.returncode}"


def add(directory: Path, cert: x509.Certificate) -> bool:
    """Add ``cert`` as a trusted server to the NSS database in ``directory`` (created
    if needed).  False if ``certutil`` is not installed."""
    tool = certutil()
    if tool is None:
        return False
    spec = _spec(directory)
    if spec is None:
        made = _run(tool, "-N", "--empty-password", "-d", f"sql:{directory}")
        if made.returncode != 0:
            raise TrustError(
                f"cannot create the NSS certificate database in {directory}: {_why(made)}"
            )
        spec = f"sql:{directory}"
    with tempfile.NamedTemporaryFile(suffix=".pem") as f:
        f.write(certs.pem(cert))
        f.flush()
        added = _run(tool, "-A", "-n", NICKNAME, "-t", TRUST, "-d", spec, "-i", f.name)
    if added.returncode != 0:
        raise TrustError(
            f"cannot add the certificate to the NSS database in {directory}: {_why(added)}"
        )
    # the database holds public certificates only: readable by every user, as
    # SystemTap's client (run by anyone) must read the global one
    for name in NSS_SQL_FILES:
        path = directory / name
        if path.exists():
            os.chmod(path, 0o644)
    return True


def trusted(directory: Path) -> list[x509.Certificate]:
    """The certificates the NSS database in ``directory`` trusts as servers (every
    nickname whose certificates all carry ``P`` in the SSL trust flags)."""
    tool = certutil()
    spec = _spec(directory)
    if tool is None or spec is None:
        return []
    listing = _run(tool, "-L", "-d", spec)
    if listing.returncode != 0:
        return []
    flags: dict[str, list[str]] = {}
    for line in listing.stdout.decode(errors="replace").splitlines():
        m = re.match(r"^(.*\S)\s+([A-Za-z]*,[A-Za-z]*,[A-Za-z]*)\s*$", line)
        if m:
            flags.setdefault(m.group(1), []).append(m.group(2))
    found: list[x509.Certificate] = []
    for nick, trust in flags.items():
        if not all("P" in t.split(",")[0] for t in trust):
            continue
        pem = _run(tool, "-L", "-d", spec, "-n", nick, "-a")
        if pem.returncode != 0:
            continue
        for block in _PEM.findall(pem.stdout):
            try:
                found.append(x509.load_pem_x509_certificate(block))
            except ValueError:
                continue
    return found


__all__ = ["NICKNAME", "add", "certutil", "trusted"]

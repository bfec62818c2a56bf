"""``stap-add-server-cert CERTFILE DIRNAME``: trust a server by adding its certificate
(PEM or DER, as SystemTap writes ``stap.cert``) to the client database DIRNAME, and to
SystemTap's NSS database there when certutil is installed.  NSS keys certificates by
issuer and serial, and every SystemTap server certificate has the same issuer: one whose
5-byte serial another trusted certificate already has is refused there (a warning;
our client trusts it all the same)."""

from __future__ import annotations

import sys
from pathlib import Path

from ..errors import InputError, TrustError, UsageError
from ..trust import certs, database, nss
from .common import run_command

USAGE = """\
Usage: stap-add-server-cert CERTFILE DIRNAME
Trust a SystemTap compile server: add its certificate CERTFILE (PEM or DER, the server's
stap.cert) to the client certificate database in folder DIRNAME (for oneself:
$HOME/.systemtap/ssl/client; as root, for every user: $sysconfdir/systemtap/ssl/client),
and to SystemTap's NSS database there when certutil is installed.
"""


def add(args: list[str]) -> int:
    if args == ["--help"]:
        sys.stdout.write(USAGE)
        return 0
    if len(args) != 2:
        raise UsageError("Usage: stap-add-server-cert CERTFILE DIRNAME")
    certfile, dirname = args
    path = Path(certfile)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(
            f"stap-add-server-cert: certificate file {certfile} does not exist"
        ) from None
    except IsADirectoryError:
        raise InputError(
            f"stap-add-server-cert: {certfile} is a folder, not a certificate"
        ) from None
    except OSError as err:
        raise InputError(f"stap-add-server-cert: cannot read {certfile}: {err.strerror}") from None
    cert = certs.load_certificate(data, f"stap-add-server-cert: {certfile}")
    database.add_trusted(Path(dirname), cert)
    try:
        nss.add(Path(dirname), cert)
    except TrustError as err:  # our client trusts it all the same
        sys.stderr.write(f"stap-add-server-cert: WARNING: SystemTap's own client will not: {err}\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    return run_command(lambda: add(args), "stap-add-server-cert")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

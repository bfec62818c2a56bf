"""``stap-find-servers [--all] [--timeout SECONDS]``: the compile servers on the local
network, one line each as the 2009 tool printed them (``NAME IP PORT 'sysinfo=…' …``),
``(trusted)`` after those whose certificate this user trusts.  Exit 0 if it listed any.

It returns as soon as the answer is complete (:mod:`..discovery.browse`); ``--timeout``
is for a slow network: listen that many seconds, whatever comes.

Compatible servers only, unless ``--all``: those that build for this machine's kernel
release and architecture, or offer a runtime whose modules this machine runs.  Any other
option is ignored, as the man page says.
"""

from __future__ import annotations

import os
import sys

from ..discovery.adverts import listed_compatible, order_addresses
from ..discovery.browse import Browser, memory_file
from ..discovery.netinfo import local_networks
from ..errors import UsageError
from ..hostinfo import normalized_arch, pass5_runtimes
from ..trust import layout
from .common import exit_at_once, run_command

USAGE = """\
Usage: stap-find-servers [--all] [--timeout SECONDS]
List the SystemTap compile servers on the local network, one line each, "(trusted)"
after those whose certificate this user trusts.  Exit 0 if it listed any, else 1.
  --all              every server, not only those compatible with this machine
  --timeout SECONDS  listen that long, whatever comes (for a slow network)
  --help             this text
Any other option is ignored.
"""


def _timeout(args: list[str]) -> float | None:
    value: str | None = None
    for i, a in enumerate(args):
        if a.startswith("--timeout="):
            value = a.split("=", 1)[1]
        elif a == "--timeout":
            if i + 1 >= len(args):
                raise UsageError("stap-find-servers: --timeout needs a number of seconds")
            value = args[i + 1]
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds <= 3600:
        raise UsageError(f"stap-find-servers: invalid --timeout '{value}': give seconds, e.g. 2")
    return seconds


def find(args: list[str]) -> int:
    if "--help" in args:  # before anything goes on the network
        sys.stdout.write(USAGE)
        return 0
    show_all = "--all" in args
    timeout = _timeout(args)
    listed = 0
    with Browser(memory=memory_file(), listen=timeout) as browser:
        # while the query is out: what to compare the answers with
        release, arch, runtimes = os.uname().release, normalized_arch(), pass5_runtimes()
        networks = local_networks()
        trust = layout.TrustedSet(layout.client_db_dirs([]))
        for advert in browser.adverts():
            if not show_all and not listed_compatible(advert, release, arch, runtimes):
                continue
            addresses = order_addresses(advert.addresses, networks)
            line = advert.line(addresses[0] if addresses else advert.host)
            if trust.trusts(advert.txt):
                line += " (trusted)"
            sys.stdout.write(line + "\n")
            sys.stdout.flush()
            listed += 1
    return 0 if listed else 1


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    return run_command(lambda: find(args), "stap-find-servers")


def entry() -> None:
    """The installed ``stap-find-servers``."""
    exit_at_once(main())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

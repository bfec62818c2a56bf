"""``stap-find-or-start-server [server options]``: ``0`` if a compatible server is on the
local network; else the PID of a server it started (with those options); else ``-1``
and exit 1 (the man page).

Compatible means usable by ``stap-client`` run here right after: a server that builds
for a runtime whose modules this machine runs, and whose certificate this user trusts
(a server this user may not use is no reason not to start one's own).  A server it
starts is ready when the PID is printed: it accepts connections and answers on the
network, so the ``stap-client`` that follows finds it.
"""

from __future__ import annotations

import contextlib
import os
import sys

from ..client.choose import choose
from ..discovery.adverts import Target
from ..discovery.browse import browse, memory_file
from ..errors import StapError
from ..hostinfo import normalized_arch, pass5_runtimes
from ..trust import layout
from . import stap_serverd
from .common import run_command
from .stap_start_server import launch, print_pid

PROG = "stap-find-or-start-server"
DESCRIPTION = """\
Print 0 and exit 0 if a compatible SystemTap compile server whose certificate
this user trusts is on the local network.  Else start one in the background, as
stap-start-server does, with these options (stap-serverd's), and print its PID
once it is ready; if none can be started, print -1 and exit 1."""


def find_or_start(args: list[str]) -> int:
    try:  # the options first: --help, or a bad one, before anything goes on the network
        ns = stap_serverd.parser(PROG, DESCRIPTION).parse_args(args)
    except StapError as err:
        return _none_started(err)
    try:
        adverts = browse(memory=memory_file())
    except StapError as err:
        sys.stderr.write(f"stap-find-or-start-server: {err}\n")
        adverts = []
    if adverts:
        release, arch = os.uname().release, normalized_arch()
        targets = [Target(release, arch, r) for r in pass5_runtimes()]
        trust = layout.TrustedSet(layout.client_db_dirs([]))
        if choose(adverts, targets, lambda a: trust.trusts(a.txt)).candidates:
            print(0, flush=True)
            return 0
    try:
        proc = launch(args, ns)
    except StapError as err:
        return _none_started(err)
    print_pid(proc, PROG)
    return 0


def _none_started(err: StapError) -> int:
    """``-1`` on stdout, the reason on stderr, exit 1 (the man page)."""
    with contextlib.suppress(OSError):  # remembered, and reported when the command ends
        print(-1, flush=True)
    sys.stderr.write(f"{err}\n")
    return 1


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    return run_command(lambda: find_or_start(args), "stap-find-or-start-server")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

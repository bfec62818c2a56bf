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

import os
import sys

from ..client.choose import choose
from ..discovery.adverts import Target
from ..discovery.browse import browse, memory_file
from ..errors import StapError
from ..hostinfo import normalized_arch, pass5_runtimes
from ..trust import layout
from .common import run_command
from .stap_start_server import start_server


def find_or_start(args: list[str]) -> int:
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
        pid = start_server(args)
    except StapError as err:
        print(-1, flush=True)
        sys.stderr.write(f"{err}\n")
        return 1
    print(pid, flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    return run_command(lambda: find_or_start(args), "stap-find-or-start-server")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

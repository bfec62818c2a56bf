"""``stap-find-or-start-server [server options]``: ``0`` if a compatible server is on the
local network; else the PID of a server it started (with those options); else ``-1``
and exit 1 (the man page)."""

from __future__ import annotations

import os
import sys

from ..discovery.adverts import listed_compatible
from ..discovery.browse import browse
from ..errors import StapError
from ..hostinfo import default_runtime, normalized_arch
from .common import run_command
from .stap_start_server import start_server


def find_or_start(args: list[str]) -> int:
    release, arch, runtime = os.uname().release, normalized_arch(), default_runtime()
    try:
        adverts = browse()
    except StapError as err:
        sys.stderr.write(f"stap-find-or-start-server: {err}\n")
        adverts = []
    if any(listed_compatible(a, release, arch, runtime) for a in adverts):
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

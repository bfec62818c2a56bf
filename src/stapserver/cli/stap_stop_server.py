"""``stap-stop-server PID``: stop a compile server started by this user (or by anyone,
for root) with SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import sys
from pathlib import Path

from ..errors import ServerError, UsageError
from .common import run_command

USAGE = """\
Usage: stap-stop-server PID
Stop the SystemTap compile server PID (the process id stap-start-server or
stap-find-or-start-server printed) with SIGTERM.  Exit 0 if PID is a running compile
server this user may stop (root: any), else 1.  It does not wait for the server to end.
"""

DAEMON_MODULE = "stapserver.cli.stap_serverd"  # python -m ... (how stap-start-server runs it)
DAEMON_COMMAND = "stap-serverd"  # the console script


def is_compile_server(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    words = [w.decode(errors="replace") for w in cmdline if w]
    return any(w == DAEMON_MODULE or os.path.basename(w) == DAEMON_COMMAND for w in words[:3])


def owner(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("Uid:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def stop(args: list[str]) -> int:
    if args == ["--help"]:
        sys.stdout.write(USAGE)
        return 0
    if len(args) != 1:
        raise UsageError("Usage: stap-stop-server PID")
    text = args[0]
    if not re.fullmatch("[0-9]+", text) or int(text) <= 0:
        raise ServerError(f"{text} is not a systemtap server")
    pid = int(text)
    if not is_compile_server(pid):
        raise ServerError(f"{pid} is not a systemtap server")
    uid = owner(pid)
    if os.geteuid() != 0 and uid != os.geteuid():
        raise ServerError(
            f"{pid} is a systemtap server of another user (uid {uid}); "
            "only they or root may stop it"
        )
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        raise ServerError(f"{pid} is not a systemtap server") from None
    except PermissionError:
        raise ServerError(f"not allowed to stop server {pid}") from None
    return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    return run_command(lambda: stop(args), "stap-stop-server")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

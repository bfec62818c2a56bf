"""One request's build, in a process of its own (forked by :mod:`.builds`).

The daemon unpacks the request into a private folder, runs :func:`build` there with the
client's arguments, and collects its exit status, its output and the module it writes
into ``stap000000/``.  What a remote user may ask is checked here, as ``stap
--client-options`` checks it: no option that touches the server's files or build
(``-R``, ``-B``, ``-k``, ``--tmpdir``, ``--remote``, ``--sysroot``, ``--sysenv``), no
``-I``, ``-m``, ``-D`` or ``-g`` below privilege stapdev, script and ``-I`` paths inside
the request, and at most pass 4 (pass 5 runs on the client).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ..errors import StapError, UsageError
from ..frontend.driver import FrontEnd
from ..frontend.options import Options, parse_options

MODULE_DIR = "stap000000"
FORBIDDEN = frozenset(
    [
        "-R",
        "-B",
        "-k",
        "--tmpdir",
        "--remote",
        "--sysroot",
        "--sysenv",
        "--use-server",
        "--list-servers",
        "--trust-servers",
    ]
)
STAPDEV_ONLY = ("-I", "-m", "-D", "-g")


def _inside(root: Path, path: str, what: str) -> None:
    """``path`` (relative to ``root``) must stay inside ``root``."""
    if os.path.isabs(path):
        raise UsageError(f"{what} '{path}' must come with the request, not name a server path")
    resolved = (root / path).resolve()
    if not resolved.is_relative_to(root.resolve()):
        raise UsageError(f"{what} '{path}' leaves the request's folder")


def check_client_options(o: Options, root: Path) -> None:
    """Refuse what a remote user must not control (UsageError names it)."""
    for name, _ in o.given:
        if name in FORBIDDEN:
            raise UsageError(f"option {name} is not allowed in a request to a server")
        if name in STAPDEV_ONLY and o.privilege != "stapdev":
            raise UsageError(
                f"You can't specify {name} when --privilege={o.privilege} is specified."
            )
    if o.script_file is not None:
        if not o.script_file.startswith("script/"):
            raise UsageError(
                f"script file '{o.script_file}' is not part of the request "
                "(the client sends it as script/...)"
            )
        _inside(root, o.script_file, "script file")
    for d in o.include:
        if not d.startswith("tapset/"):
            raise UsageError(
                f"-I {d} is not part of the request (the client sends it as tapset/...)"
            )
        _inside(root, d, "tapset folder")
    o.output = None  # pass-5 output: the client's business
    o.command = None
    o.target_pid = None
    o.last_pass = min(o.last_pass, 4)


def build(args: list[str], release: str, arch: str) -> int:
    """Build a request unpacked in the current directory: the client's ``args``, for
    kernel ``release`` on ``arch``.  Output on stdout and stderr, the module in
    ``stap000000/``; returns the exit status."""
    root = Path.cwd()
    try:
        options = parse_options(args)
        check_client_options(options, root)
        options.kernel_release = release
        options.arch = arch
        options.runtime = None
        return FrontEnd(options, module_dir=root / MODULE_DIR).run()
    except StapError as err:
        message = str(err)
        sys.stderr.write(message if message.endswith("\n") else message + "\n")
        return err.exit_status

"""A stap command line packed into a request, as SystemTap's client packs it.

The script file travels as ``script/<its absolute path>`` (and the argument naming it is
rewritten to that), a script from standard input as ``script/-``, each ``-I`` folder as
the whole tree ``tapset/<its absolute path>/``.  Arguments are ordered as SystemTap's
client orders them: the script, the ``-I`` pairs, the other options in command-line
order with their values joined (``-p4``, ``-e...``, ``--runtime=python``), then ``--``
and the script's own arguments.  Options that act on this machine (``-o``, ``-c``,
``-x`` at pass 5, ``-k``, ``--tmpdir``) stay here.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, NamedTuple

from ..errors import InputError
from ..frontend.options import Options, parse_options, read_script_file, read_stdin
from ..hostinfo import normalized_arch
from ..protocol.request import LOCALE_NAMES, Request

LOCAL_OPTIONS = frozenset({"-o", "-c", "-x", "-k", "--tmpdir", "-I"})
MAX_TREE_FILES = 5000


class Packed(NamedTuple):
    request: Request  # as the user asked: a --runtime only if given
    options: Options
    # request path -> the path as the user wrote it (for messages coming back)
    paths: dict[str, str] = {}  # noqa: RUF012 - never changed in place
    runtime_at: int | None = None  # where a --runtime the client chooses goes in the argv

    def request_for(self, runtime: str) -> Request:
        """The request for a server that builds for ``runtime``: the user's own
        ``--runtime`` stays; else one is added, except for stap's default (kernel), which
        SystemTap's client never sends."""
        if self.runtime_at is None or runtime == "kernel":
            return self.request
        argv = self.request.argv
        at = self.runtime_at
        return self.request._replace(argv=[*argv[:at], f"--runtime={runtime}", *argv[at:]])


def _joined(name: str, value: str | None) -> str:
    if value is None:
        return name
    if name.startswith("--"):
        return f"{name}={value}"
    return name + value


def _tree(root: Path, files: dict[str, bytes]) -> None:
    """Every regular file under ``root``, as ``tapset/<absolute path>``."""
    count = 0
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if path.is_symlink() or not path.is_file():
                continue
            count += 1
            if count > MAX_TREE_FILES:
                raise InputError(f"-I {root}: more than {MAX_TREE_FILES} files to send")
            try:
                files["tapset" + os.path.normpath(path)] = path.read_bytes()
            except OSError as err:
                raise InputError(f"cannot read {path}: {err.strerror}") from None


def pack(argv: list[str], *, stdin: IO[bytes], cwd: Path | None = None) -> Packed:
    """The request for stap arguments ``argv`` (without the client's own options); the
    runtime, unless given, is the server's to choose: :meth:`Packed.request_for`."""
    cwd = cwd or Path.cwd()
    o = parse_options(argv)
    files: dict[str, bytes] = {}
    paths: dict[str, str] = {}
    out: list[str] = []
    if o.script_file is not None:
        if o.script_file == "-":
            files["script/-"] = read_stdin(stdin)
            out.append("script/-")
            paths["script/-"] = "<input>"
        else:
            path = (cwd / o.script_file).absolute()
            data = read_script_file(path, o.script_file)
            name = "script" + os.path.normpath(str(path))
            files[name] = data
            out.append(name)
            paths[name] = o.script_file
    for d in o.include:
        root = Path(os.path.normpath(cwd / d))
        if not root.is_dir():
            raise InputError(f"-I {d}: not a folder")
        _tree(root, files)
        out += ["-I", "tapset" + str(root)]
    runtime_given = False
    for name, value in o.given:
        if name in LOCAL_OPTIONS:
            continue
        if name == "--runtime":
            runtime_given = True
        out.append(_joined(name, value))
    runtime_at = None if runtime_given else len(out)
    if o.args:
        out.append("--")
        out += o.args
    release = o.kernel_release or os.uname().release
    arch = normalized_arch(o.arch) if o.arch else normalized_arch()
    locale = {k: os.environ[k] for k in LOCALE_NAMES if k in os.environ}
    request = Request(argv=out, release=release, arch=arch, locale=locale, files=files)
    return Packed(request, o, paths, runtime_at)

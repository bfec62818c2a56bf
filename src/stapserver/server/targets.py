"""What a server builds, and with which translator.

- The python runtime: our own translator, for any kernel release.
- The kernel and BPF runtimes: the installed SystemTap (``stap``), for each kernel
  release that has a build tree (``/lib/modules/<release>/build``) and each release named
  with ``-r``, run as SystemTap's server runs it.

Each release is one advertised target.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..discovery.advertise import TargetEntry
from ..hostinfo import find_tool

MODULES = Path("/lib/modules")
SYSTEMTAP_SHARE = Path("/usr/share/systemtap")
STAP_RUNTIMES = ("kernel", "bpf")


def find_stap() -> str | None:
    """SystemTap's ``stap`` (``STAPSERVER_STAP`` overrides; empty: none)."""
    return find_tool("stap", "STAPSERVER_STAP")


def build_trees(modules: Path = MODULES) -> list[str]:
    """The kernel releases whose build tree is installed."""
    try:
        entries = sorted(modules.iterdir())
    except OSError:
        return []
    return [e.name for e in entries if (e / "build").exists()]


@dataclass(frozen=True)
class Backend:
    stap: str | None  # None: the python runtime only
    releases: tuple[str, ...]  # what stap builds for
    arch: str
    own_release: str
    options: tuple[str, ...] = field(default=())  # the server's own -R -B -D -I options

    def targets(self) -> list[TargetEntry]:
        """One entry per release; the python runtime rides on every one of them (it
        serves any kernel), and on this machine's own release when stap has none."""
        if self.stap is None or not self.releases:
            return [TargetEntry(self.own_release, self.arch, ("python",))]
        return [TargetEntry(r, self.arch, (*STAP_RUNTIMES, "python")) for r in self.releases]

    @property
    def optinfo(self) -> str:
        return " ".join(self.options)

    def refusal(self, runtime: str, release: str) -> str | None:
        """Why a request for ``runtime`` on ``release`` cannot be built here, or None."""
        if runtime == "python":
            return None
        if runtime not in STAP_RUNTIMES:
            return f"stap-serverd: the {runtime} runtime is not built by this server"
        if self.stap is None:
            return (
                f"stap-serverd: this server has no SystemTap, so it cannot build {runtime}-runtime "
                "modules; it builds python-runtime modules (stap-client --runtime=python)"
            )
        if release not in self.releases:
            offered = ", ".join(self.releases) or "none"
            return (
                f"stap-serverd: cannot build for kernel release {release}: this server builds "
                f"for {offered} (and the python runtime for any: stap-client --runtime=python)"
            )
        return None

    def state(self, release: str) -> bytes:
        """A digest of what a stap build depends on besides the request: stap itself,
        its runtime (``-R`` or the installed one) and tapsets (and ``-I`` folders), the
        kernel build tree's configuration.  File sizes and times, not contents: cheap
        enough (a few thousand stat calls) to take for every request."""
        h = hashlib.sha256()
        h.update("\0".join(self.options).encode())
        pairs = zip(self.options, self.options[1:], strict=False)
        folders = [Path(v) for f, v in pairs if f in ("-R", "-I")]
        if "-R" not in self.options:
            folders.append(SYSTEMTAP_SHARE / "runtime")
        folders.append(SYSTEMTAP_SHARE / "tapset")
        files: list[Path] = [Path(self.stap or "")]
        build = MODULES / release / "build"
        for name in (".config", "Module.symvers", "include/generated/utsrelease.h"):
            files.append(build / name)
        for folder in folders:
            for dirpath, _, names in os.walk(folder):
                files += [Path(dirpath) / n for n in sorted(names)]
        for path in files:
            try:
                st = path.stat()
            except OSError:
                h.update(f"{path}:missing\0".encode())
                continue
            h.update(f"{path}:{st.st_size}:{st.st_mtime_ns}\0".encode())
        return h.digest()

    def command(self, release: str, tmpdir: Path, argv: list[str]) -> list[str]:
        """SystemTap's server's stap command line: the client's arguments stay separate
        words after ``--client-options``, which makes stap refuse what a remote user
        must not ask."""
        assert self.stap is not None
        return [
            self.stap,
            f"-r{release}",
            *self.options,
            f"--tmpdir={tmpdir}",
            "--client-options",
            *argv,
        ]


def make_backend(
    releases: list[str], options: list[str], arch: str, own_release: str, use_stap: bool = True
) -> Backend:
    stap = find_stap() if use_stap else None
    found = list(dict.fromkeys([*build_trees(), *releases])) if stap else []
    return Backend(stap, tuple(found), arch, own_release, tuple(options))


__all__ = ["Backend", "build_trees", "find_stap", "make_backend"]

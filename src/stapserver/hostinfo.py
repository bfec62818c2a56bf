"""Facts about this machine that several commands need, cheap to import."""

from __future__ import annotations

import os
import platform
import shutil


def normalized_arch(machine: str | None = None) -> str:
    """The architecture name as SystemTap spells it."""
    m = machine or platform.machine()
    if m in ("i386", "i486", "i586", "i686"):
        return "i386"
    if m == "aarch64":
        return "arm64"
    if m.startswith("ppc"):
        return "powerpc"
    if m == "s390x":
        return "s390"
    if m.startswith("arm"):
        return "arm"
    if m.startswith("mips"):
        return "mips"
    return m


def find_tool(name: str, override: str) -> str | None:
    """The program ``name`` on PATH; the environment variable ``override``, when set,
    names it instead (an empty or non-executable value: none)."""
    env = os.environ.get(override)
    if env is not None:
        return env if os.access(env, os.X_OK) else None
    return shutil.which(name)


def staprun_path() -> str | None:
    """SystemTap's staprun, as stap finds it (``SYSTEMTAP_STAPRUN`` overrides)."""
    return find_tool("staprun", "SYSTEMTAP_STAPRUN")


def default_runtime() -> str:
    """``python`` where no SystemTap runtime is installed, else SystemTap's default."""
    return "kernel" if staprun_path() else "python"


__all__ = ["default_runtime", "find_tool", "normalized_arch", "staprun_path"]

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


def staprun_path() -> str | None:
    """SystemTap's staprun, as stap finds it (``SYSTEMTAP_STAPRUN`` overrides)."""
    env = os.environ.get("SYSTEMTAP_STAPRUN")
    if env is not None:
        return env if os.access(env, os.X_OK) else None
    return shutil.which("staprun")


def default_runtime() -> str:
    """``python`` where no SystemTap runtime is installed, else SystemTap's default."""
    return "kernel" if staprun_path() else "python"


__all__ = ["default_runtime", "normalized_arch", "staprun_path"]

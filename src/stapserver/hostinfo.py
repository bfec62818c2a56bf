"""Facts about this machine that several commands need, cheap to import."""

from __future__ import annotations

import os


def machine() -> str:
    """This machine's hardware name, as ``uname -m`` prints it."""
    return os.uname().machine


def normalized_arch(machine_name: str | None = None) -> str:
    """The architecture name as SystemTap spells it."""
    m = machine_name or machine()
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
    for folder in os.get_exec_path():  # shutil.which, without importing shutil
        path = os.path.join(folder, name)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def staprun_path() -> str | None:
    """SystemTap's staprun, as stap finds it (``SYSTEMTAP_STAPRUN`` overrides)."""
    return find_tool("staprun", "SYSTEMTAP_STAPRUN")


def kernel_loads_modules(proc: str = "/proc") -> bool:
    """Does the running kernel load modules (what ``staprun`` does)?  Not on a kernel
    built without module support, nor once ``kernel.modules_disabled`` is set."""
    try:
        with open(os.path.join(proc, "sys/kernel/modules_disabled")) as f:
            return f.read().strip() == "0"
    except OSError:
        return os.path.exists(os.path.join(proc, "modules"))


def pass5_runtimes() -> tuple[str, ...]:
    """The runtimes whose modules pass 5 can run here, preferred first: SystemTap's
    kernel runtime where this user may run ``staprun`` (installed, executable: members
    of stapusr and root) and the kernel loads modules; the python runtime everywhere."""
    if staprun_path() is not None and kernel_loads_modules():
        return ("kernel", "python")
    return ("python",)


def default_runtime() -> str:
    """The runtime a module built for this machine's pass 5 should use."""
    return pass5_runtimes()[0]


__all__ = [
    "default_runtime",
    "find_tool",
    "kernel_loads_modules",
    "machine",
    "normalized_arch",
    "pass5_runtimes",
    "staprun_path",
]

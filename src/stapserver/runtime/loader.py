"""Loading a python-runtime module for pass 5, without the translator.

A module is the Python source pass 3 writes.  Loading compiles it and checks that it was
made for this runtime (its ``ABI``), so a client can run what a server built.

Running a module is on the path of every ``stap-client`` and ``pystap`` run, so this
module, like the rest of the runtime, imports no more than it needs at import time.
"""

from __future__ import annotations

from types import SimpleNamespace

from ..errors import ModuleError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from types import CodeType
    from typing import Any

ABI = 2
MODULE_SUFFIX = ".py"
MARKER = '"""SystemTap python-runtime module '


def compile_source(code: str, name: str) -> CodeType:
    """Compile module source ``code`` without running any of it (pass 4)."""
    if not code.startswith(MARKER):
        raise ModuleError(f"'{name}' is not a SystemTap python-runtime module.")
    try:
        return compile(code, name, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as err:
        raise ModuleError(f"Module '{name}' cannot be loaded: {err}.") from None


def load_source(code: str, name: str) -> Any:
    """Compile and initialise module source ``code`` (``name`` is its file name)."""
    return load_compiled(compile_source(code, name), name)


def load_compiled(compiled: CodeType, name: str) -> Any:
    """Initialise a module :func:`compile_source` compiled, checking its ABI."""
    namespace: dict[str, Any] = {"__name__": "stapmodule_" + _stem(name)}
    try:
        exec(compiled, namespace)
    except ImportError as err:
        raise ModuleError(f"Module '{name}' needs {err.name}, which this runtime lacks.") from None
    abi = namespace.get("ABI")
    if abi != ABI:
        raise ModuleError(
            f"Module '{name}' was built for python-runtime ABI {abi}; this runtime runs ABI {ABI}."
        )
    if not callable(namespace.get("build")) or not isinstance(namespace.get("SETTINGS"), dict):
        raise ModuleError(f"Module '{name}' is incomplete (no build() or SETTINGS).")
    return SimpleNamespace(**namespace)


def _stem(name: str) -> str:
    """``pathlib.Path(name).stem`` (a POSIX path), without importing pathlib."""
    parts = [part for part in name.split("/") if part and part != "."]
    last = parts[-1] if parts else ""
    dot = last.rfind(".")
    return last[:dot] if 0 < dot < len(last) - 1 else last


def load_file(path: str | Path) -> Any:
    from pathlib import Path

    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as err:
        raise ModuleError(f"Cannot read module '{p}': {err.strerror}.") from None
    try:
        code = data.decode("utf-8", "surrogateescape")
    except UnicodeDecodeError:  # pragma: no cover - surrogateescape accepts any bytes
        raise ModuleError(f"'{p}' is not a SystemTap python-runtime module.") from None
    return load_source(code, p.name)

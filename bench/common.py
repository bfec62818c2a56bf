"""Small helpers shared by the benchmarks: timing statistics and report lines."""

from __future__ import annotations

import statistics


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) by nearest rank."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "median": statistics.median(values),
        "p99": percentile(values, 99),
        "min": min(values),
        "max": max(values),
    }


def report(name: str, value: str, target: str = "") -> None:
    line = f"{name:<48} {value}"
    if target:
        line += f"   (target {target})"
    print(line, flush=True)


def compile_package() -> None:
    """Byte-compile the package first, as an installed package is: a whole-process
    figure must not include compiling modules that changed since their last ``.pyc``
    (with PYTHONDONTWRITEBYTECODE set, they would be compiled at every start)."""
    import compileall
    from pathlib import Path

    import stapserver

    compileall.compile_dir(str(Path(stapserver.__file__).parent), quiet=1)

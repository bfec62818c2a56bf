"""What a command imports before it does anything: ``python -X importtime`` on the
modules behind ``stap-client`` and ``stap-find-servers``, and on what running a
hello-world module adds (pass 5 of the python runtime).

For each: the median over 15 fresh interpreters of the cumulative import time the
interpreter reports (microseconds, as ``-X importtime`` gives them), the bare
interpreter's start-up beside it, and the largest single contributors of one run.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from common import compile_package, report

RUNS = 15
TARGETS = {
    "stap-client (its module)": "stapserver.cli.stap_client",
    "stap-find-servers (its module)": "stapserver.cli.stap_find_servers",
    "pass 5: runtime loader and engine": "stapserver.runtime.engine",
}


def import_times(module: str) -> tuple[list[float], list[tuple[int, str]]]:
    """Cumulative import time of ``module`` (ms) per run; one run's top self times."""
    totals: list[float] = []
    selves: list[tuple[int, str]] = []
    for _ in range(RUNS):
        r = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", f"import {module}"],
            capture_output=True,
            text=True,
            check=True,
        )
        rows = []
        for line in r.stderr.splitlines():
            if not line.startswith("import time:") or "|" not in line:
                continue
            parts = [p.strip() for p in line.split(":", 1)[1].split("|")]
            if parts[0].isdigit():
                rows.append((int(parts[0]), int(parts[1]), parts[2]))
        total = next(c for _, c, name in rows if name == module)
        totals.append(total / 1000)
        selves = sorted(((s, name) for s, _, name in rows), reverse=True)[:6]
    return totals, selves


def main() -> int:
    compile_package()
    bare = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        bare.append((time.perf_counter() - t0) * 1000)
    report("bare interpreter, whole process", f"median {statistics.median(bare):.1f} ms")
    for label, module in TARGETS.items():
        totals, selves = import_times(module)
        report(label, f"median {statistics.median(totals):.1f} ms of imports")
        top = ", ".join(f"{name.strip()} {s / 1000:.1f}" for s, name in selves)
        print(f"    largest own times (ms): {top}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

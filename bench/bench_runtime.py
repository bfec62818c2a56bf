"""Pass-5 throughput: a probe handler running ``s <<< i`` and ``a[i % 100]++`` in a loop.

Target: at least 500,000 operations per second, an operation being one ``<<<`` or one
``++`` (each loop iteration does two, plus the loop's own test and increment).  The
module is built once; the figure is the handler's run time, best of 5 runs.
"""

from __future__ import annotations

import io
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from common import report

from stapserver.runtime import loader
from stapserver.runtime.engine import RunOptions, run_module
from stapserver.translator.codegen import Settings, generate
from stapserver.translator.parser import PreprocessorContext, parse
from stapserver.translator.semantic import elaborate
from stapserver.translator.source import Source

ITERATIONS = 1_000_000
SCRIPT = f"""
global s, a
probe begin {{
  for (i = 0; i < {ITERATIONS}; i++) {{
    s <<< i
    a[i % 100]++
  }}
  printf("%d %d\\n", @count(s), a[99])
  exit()
}}
"""


def build() -> object:
    script = parse(Source("loop.stp", SCRIPT), (), PreprocessorContext())
    settings = Settings(MAXACTION=10**9)
    code = generate(elaborate(script), settings, "stap_loop")
    return loader.load_source(code, "stap_loop.py")


def main() -> None:
    module = build()
    best = float("inf")
    for _ in range(5):
        out = io.BytesIO()
        t0 = time.perf_counter()
        rc = run_module(module, RunOptions(), out, io.StringIO())
        elapsed = time.perf_counter() - t0
        assert rc == 0 and out.getvalue() == f"{ITERATIONS} {ITERATIONS // 100}\n".encode()
        best = min(best, elapsed)
    ops = 2 * ITERATIONS / best
    report(
        "s <<< i; a[i % 100]++ (operations/s)",
        f"{ops:,.0f} ops/s ({ITERATIONS:,} iterations in {best:.2f} s)",
        ">= 500,000 ops/s",
    )


if __name__ == "__main__":
    main()

"""timer.ms(1) firing accuracy: the intervals between firings of a 1 ms timer.

Each firing records gettimeofday_ns() into a statistic of the differences from the
previous firing; after 2,000 firings the script prints the intervals' distribution.
Reported: median, p99 and max interval, and the mean rate (ideal: 1.000 ms, 1000/s).
"""

from __future__ import annotations

import io
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from common import percentile, report

from stapserver.runtime import loader
from stapserver.runtime.engine import RunOptions, run_module
from stapserver.translator.codegen import Settings, generate
from stapserver.translator.parser import PreprocessorContext, parse
from stapserver.translator.semantic import elaborate
from stapserver.translator.source import Source

FIRINGS = 2000
SCRIPT = f"""
global last, n, gaps[{FIRINGS + 10}]
probe timer.ms(1) {{
  now = local_clock_ns()
  if (last) gaps[n++] = now - last
  last = now
  if (n >= {FIRINGS}) exit()
}}
probe end {{
  foreach (i in gaps+) printf("%d\\n", gaps[i])
}}
"""


def main() -> None:
    script = parse(Source("timer.stp", SCRIPT), (), PreprocessorContext())
    code = generate(elaborate(script), Settings(), "stap_timer")
    module = loader.load_source(code, "stap_timer.py")
    out = io.BytesIO()
    t0 = time.perf_counter()
    rc = run_module(module, RunOptions(), out, io.StringIO())
    wall = time.perf_counter() - t0
    assert rc == 0
    gaps = [int(x) / 1e6 for x in out.getvalue().split()]
    assert len(gaps) == FIRINGS
    report(
        "timer.ms(1) interval (ms)",
        f"median {percentile(gaps, 50):.3f}, p99 {percentile(gaps, 99):.3f}, "
        f"max {max(gaps):.3f}; {FIRINGS + 1} firings in {wall:.2f} s "
        f"({(FIRINGS + 1) / wall:.0f}/s)",
        "1.000 ms",
    )


if __name__ == "__main__":
    main()

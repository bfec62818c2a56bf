"""Passes 1-3 on a generated 1,000-line script: parse, elaborate, translate to Python.

Target: at most 0.2 s.  Measured in-process (the interpreter's start-up is not part of
translation), median of 15 runs after one warm-up.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from common import report, summary

from stapserver.translator.codegen import Settings, generate
from stapserver.translator.parser import PreprocessorContext, parse
from stapserver.translator.semantic import elaborate
from stapserver.translator.source import Source


def thousand_line_script() -> str:
    """A script of exactly 1,000 lines using most of the language."""
    lines = ["global counts, totals, names, stats, hist", "global last_name, ticks"]
    n = 0
    while len(lines) < 960:
        lines += [
            f"function work{n}:long (x:long, tag:string) {{",
            "  total = 0",
            "  for (i = 0; i < x % 7; i++) {",
            f"    total += i * {n + 1} - (x >> 2) + (x & 0xff)",
            '    if (total > 1000 && tag != "skip") total = total % 97',
            "    else if (total < -10) { total = -total; continue }",
            "  }",
            '  names[tag, x] = sprintf("%s-%d", tag, total)',
            "  stats[tag] <<< total",
            "  return total ? total : x",
            "}",
            f"probe timer.ms({n % 50 + 1}) {{",
            "  ticks++",
            f'  v = work{n}(ticks, "w{n}")',
            "  counts[ticks % 10] += v",
            f'  totals["w{n}"] <<< v',
            "  hist <<< v",
            '  last_name = substr(sprint(v), 0, 3) . "x"',
            "  if (ticks > 100000) exit()",
            "}",
        ]
        n += 1
    lines += [
        "probe end {",
        '  foreach ([k] in counts- limit 5) printf("%d %d\\n", k, counts[k])',
        '  foreach ([t] in totals) printf("%s %d %d %d\\n", t, @count(totals[t]),',
        "                                 @min(totals[t]), @max(totals[t]))",
        '  foreach ([t, x] in names) printf("%s %d %s\\n", t, x, names[t, x])',
        '  foreach ([t] in stats) printf("%s %d\\n", t, @avg(stats[t]))',
        "  print(@hist_log(hist))",
        '  printf("%s\\n", last_name)',
        "}",
    ]
    while len(lines) < 1000:
        lines.append("# padding comment")
    return "\n".join(lines[:1000]) + "\n"


def translate(text: str) -> str:
    ctx = PreprocessorContext(kernel_release="6.1.0", arch="x86_64")
    script = parse(Source("bench.stp", text), (), ctx)
    program = elaborate(script)
    return generate(program, Settings(), "stap_bench")


def main() -> None:
    text = thousand_line_script()
    assert text.count("\n") == 1000
    translate(text)
    runs = []
    for _ in range(15):
        t0 = time.perf_counter()
        translate(text)
        runs.append(time.perf_counter() - t0)
    s = summary(runs)
    report(
        "translate 1,000-line script (passes 1-3)",
        f"median {s['median'] * 1000:.1f} ms, max {s['max'] * 1000:.1f} ms",
        "<= 200 ms",
    )


if __name__ == "__main__":
    main()

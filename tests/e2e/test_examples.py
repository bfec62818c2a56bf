"""SystemTap's example scripts with ``pystap`` as ``stap`` (``tests/e2e/examples.py``): the
examples listed in ``examples_passing.txt`` still pass, with output, and no fewer pass
than are listed.  The table of every example goes to ``docs/examples-status.md``.

Root only (the examples' commands are SystemTap's installcheck commands, run as root);
skipped otherwise.  Needs Debian's ``systemtap-doc`` (the examples): skipped without it,
a failure with ``STAPSERVER_REQUIRE_STAP=1`` (CI).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from . import examples

HERE = Path(__file__).resolve().parent
EXPECTED = HERE / "examples_passing.txt"
STATUS = HERE.parents[1] / "docs" / "examples-status.md"

HEADER = """\
# SystemTap's examples with pystap

Written by `tests/e2e/test_examples.py` (as root; the same table:
`.venv/bin/python -m tests.e2e.examples`).  Each `.meta` under
`/usr/share/systemtap/examples` with a `test_installcheck:` line: that command run with
`sh -c` in the example's folder, `stap` on `PATH` being `pystap`, stdin `/dev/null`,
{jobs} at once, {timeout:g} s each.  pass = exit status 0 (the test also wants stdout and
no error line in stderr from the examples in `tests/e2e/examples_passing.txt`); the
reason is the first `ERROR:`/`semantic error:`/`parse error:` line of stderr.
"""


def expected_passes(path: Path = EXPECTED) -> dict[str, bool]:
    """Example name -> whether empty stdout is right for it (``# empty-ok``, or
    ``# empty-ok: why``)."""
    listed: dict[str, bool] = {}
    for line in path.read_text().splitlines():
        name, _, note = line.partition("#")
        if name.strip():
            listed[name.strip()] = note.strip().split(":")[0] == "empty-ok"
    return listed


def _why_not_here() -> str:
    if os.geteuid() != 0:
        return "the examples run as root"
    if not examples.EXAMPLES.is_dir():
        why = f"SystemTap's examples are not installed ({examples.EXAMPLES}: systemtap-doc)"
        if os.environ.get("STAPSERVER_REQUIRE_STAP"):
            pytest.fail(why)
        return why
    return ""


def test_examples_listed_as_passing_still_pass() -> None:
    why = _why_not_here()
    if why:
        pytest.skip(why)
    listed = expected_passes()
    found = examples.discover()
    unknown = sorted(set(listed) - {e.name for e in found})
    assert not unknown, f"examples_passing.txt names examples not installed: {unknown}"

    start = time.monotonic()
    results = examples.run_all(found)
    wall = time.monotonic() - start
    header = HEADER.format(jobs=examples.JOBS, timeout=examples.TIMEOUT)
    header += f"\nThis run: {len(results)} examples in {wall:.0f} s of wall time."
    STATUS.write_text(examples.render_markdown(results, header))

    problems: list[str] = []
    for r in results:
        if r.example.name not in listed:
            continue
        if r.status != "pass" or r.reason:  # a reason with exit 0: an error line in stderr
            problems.append(f"{r.example.name}: {r.reason}")
        elif not r.stdout.strip() and not listed[r.example.name]:
            problems.append(f"{r.example.name}: exit 0 with no output")
    assert not problems, "examples that passed no longer do:\n" + "\n".join(problems)
    passed = sum(r.status == "pass" and not r.reason for r in results)
    assert passed >= len(listed), f"{passed} examples pass, {len(listed)} are listed"


def test_reasons_and_probe_points() -> None:
    """The harness's reading of stderr and of probe statements (no root needed)."""
    stderr = (
        "semantic error: while resolving probe point: identifier 'signal' at a.stp:20:7\n"
        "        source: probe signal.send\n"
        "semantic error: probe point 'signal.send' is not available in the python "
        "runtime; it needs a compile server with SystemTap (--runtime=kernel or "
        "--runtime=bpf): identifier 'signal' at :20:7\n"
    )
    assert examples.reason_of(stderr) == (
        "semantic error: probe point 'signal.send' is not available in the python runtime"
    )
    assert examples.reason_of("invalid option -- 'T'\n") == ""
    script = """
        # probe never.here { }
        probe miscellany = syscall.{open,close} { }
        probe miscellany.return, kernel.{function("a"),function("b")}.return? { x = "probe y" }
        function f() { if (1) { } }
        probe timer.s(%( $# > 0 %? $1 %: 5 %)) { }
        probe $1 { }
    """
    points, aliases = examples.probe_points(script)
    assert aliases == {"miscellany"}
    assert points == [
        "syscall.open",
        "syscall.close",
        "miscellany.return",
        'kernel.function("a").return?',
        'kernel.function("b").return?',
        "timer.s($1)",
        "$1",
    ]
    assert examples.family('kernel.function("a").return?') == "kernel.function"
    assert examples.family('process("/bin/ls").mark("x")') == "process.mark"
    assert examples.script_args("stap errsnoop.stp 1 10 -T 1", "errsnoop.stp") == ["1", "10"]
    assert examples.pass2_argv(["x.stp", "-T", "1", "-c", "ls", "-w", "--ldd"]) == [
        "-p2",
        "-v",
        "x.stp",
        "-w",
    ]

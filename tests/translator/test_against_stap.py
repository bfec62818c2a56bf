"""pystap against the real SystemTap: the same scripts accepted and refused.

* every example script SystemTap ships (``/usr/share/systemtap/examples/**/*.stp``):
  ``pystap -r R -p1`` accepts it exactly when ``stap -r R -p1`` does, except for the
  scripts listed in LIBRARY_MACRO_EXCEPTIONS;
* hand-written portable scripts (begin/end/timer probes only): the same acceptance at
  ``-p1`` and ``-p2``, and the same ``# globals`` type listing at ``-p2``.

R is a kernel release under /lib/modules that has a ``build`` directory.  Without
``stap`` or such a release the tests are skipped, unless STAPSERVER_REQUIRE_STAP=1, which
makes them fail.  stap runs two at a time (each run takes about a quarter of a second of
CPU); pystap runs in this process meanwhile (its FrontEnd, which is what the pystap
command runs).  stap's outcomes are kept in pytest's cache, keyed by stap's version, the
release, the command line and the script's text: ``pytest --cache-clear`` runs stap anew.
"""

from __future__ import annotations

import glob
import hashlib
import io
import os
import shutil
import subprocess
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from stapserver.errors import StapError
from stapserver.frontend.driver import FrontEnd
from stapserver.frontend.options import parse_options

EXAMPLES_DIR = "/usr/share/systemtap/examples"
EXAMPLES = sorted(glob.glob(f"{EXAMPLES_DIR}/**/*.stp", recursive=True))

# SystemTap library macros (its tapset .stpm files) that the python runtime does not ship:
# they expand to kernel-only constructs or to output formats of stap's own services.
LIBRARY_MACRO_EXCEPTIONS = {
    "general/also_ran.stp": (
        "@prometheus_dump_array1_map_unquoted",
        "prometheus exporter output (tapset prometheus.stpm)",
    ),
    "general/socket-events.stp": (
        "@this1",
        "@this1..@this8 save kernel context across probes (tapset this.stpm)",
    ),
    "network/net_xmit_json.stp": (
        "@json_output_data_start",
        "JSON procfs output (tapset json.stpm)",
    ),
    "network/netfilter_summary_json.stp": (
        "@json_output_data_start",
        "JSON procfs output (tapset json.stpm)",
    ),
    "network/tcp_trace.stp": (
        "@container_of",
        "kernel container_of over @cast (tapset container_of.stpm)",
    ),
    "process/semop-watch.stp": (
        "@cast_module_sizeof",
        "sizeof a kernel type from debuginfo (tapset cast.stpm)",
    ),
    "profiling/errno.stp": (
        "@prometheus_dump_array3",
        "prometheus exporter output (tapset prometheus.stpm)",
    ),
    "profiling/periodic.stp": (
        "@module_container_of",
        "kernel container_of over @cast (tapset container_of.stpm)",
    ),
    "profiling/syscallerrorsbypid.stp": (
        "@prometheus_dump_array3_map",
        "prometheus exporter output",
    ),
    "profiling/syscalllatency.stp": ("@prometheus_dump_array2_map", "prometheus exporter output"),
    "profiling/syscallsbypid.stp": ("@prometheus_dump_array2_map", "prometheus exporter output"),
    "profiling/timeout.stp": ("@prometheus_dump_array7", "prometheus exporter output"),
    "profiling/topsys.stp": ("@prometheus_dump_array1", "prometheus exporter output"),
}

# Scripts of the python runtime's portable core.  Every global is read somewhere, so stap
# does not elide it from its -p2 listing.
PORTABLE = [
    'probe begin { println("hello world"); exit() }',
    "global count probe timer.ms(10) { count++; if (count >= 3) exit() } "
    "probe end { println(count) }",
    'global msg = "hi", n = 42 probe begin { printf("%s %d\\n", msg, n); exit() }',
    "global total, avg_len probe begin { total = 0; for (i = 0; i < 10; i++) total += i; "
    "avg_len = total / 10; println(total, avg_len); exit() }",
    'global name probe begin { name = sprintf("%s-%d", "x", 1); println(strlen(name)); exit() }',
    'global s probe begin { s <<< 1; s <<< 2; printf("%d %d %d %d %d\\n", @count(s), '
    "@sum(s), @min(s), @max(s), @avg(s)); exit() }",
    "global v probe begin { v <<< 10; println(@variance(v, 2)); exit() }",
    "global h probe begin { for (i = 0; i < 100; i++) h <<< i; print(@hist_log(h)); exit() }",
    "global h probe begin { for (i = 0; i < 100; i++) h <<< i; "
    "print(@hist_linear(h, 0, 100, 10)); exit() }",
    "function fact(n) { return n <= 1 ? 1 : n * fact(n - 1) } global r "
    "probe begin { r = fact(10); println(r); exit() }",
    'function join:string (a:string, b:string) { return a . "," . b } global out '
    'probe begin { out = join("a", "b"); println(out); exit() }',
    "global flag probe begin { flag = 1 } probe timer.s(1) if (flag) { println(flag); exit() }",
    "global ticks probe timer.jiffies(10) { ticks++ } probe timer.ms(100).randomize(10) "
    "{ println(ticks); exit() }",
    "global hz probe timer.hz(100) { hz++ } probe end { println(hz) }",
    'global last probe begin { try { error("oops") } catch (e) { last = e } '
    "println(last); exit() }",
    'global m probe begin { if ("abc" =~ "^a(b)") m = matched(1); println(m); exit() }',
    "global b probe begin { b = (5 & 3) | (1 << 4) ^ ~0 >> 60; println(b); exit() }",
    "global x, y probe begin { x = 10; y = x > 5 ? x * 2 : x / 2; x %= 3; println(x, y); exit() }",
    'global w probe begin { w = "a"; w .= "b"; println(w); exit() }',
    "global seq probe begin(-10) { seq = 1 } probe begin(10) { println(seq); exit() }",
    "global errors probe error { errors++ } probe end { println(errors) } probe begin { exit() }",
    "global c probe oneshot { c = 1; println(c) }",
    "global started probe init { started = 1 } probe begin { println(started); exit() }",
    'probe begin { x = 1; y = "s"; printf("%d %s\\n", x, y); exit() }',
    "function noop() { } probe begin { noop(); exit() }",
    "global g1, g2 probe begin { g1 = 1 } probe end { g2 = g1 + 1; println(g2) }",
    "global g function f() { g++ } probe begin { f(); f(); println(g); exit() }",
    'global str = "x" probe begin { str = str . str; println(str); exit() }',
    # refused by both, at pass 1
    "probe begin { x = 1 + }",
    'global a = "x" "y" global a probe begin { }',
    # refused by both, at pass 2
    'global t probe begin { t = 1; t = "s"; println(t) }',
    "probe begin { println(nosuchfunction(1)) }",
    "function f(a) { return a } probe begin { println(f(1, 2)) }",
    "probe begin { a[1] = 1 }",
    "probe timer.s(0) { println(1) }",
    'probe begin { printf("%d\\n", "s") }',
    "global s probe begin { s <<< 1; println(@variance(s, 63)) }",
    "global a probe begin { a[1] = 1; foreach (k in a) a[k] = 2 }",
    "probe begin.foo { println(1) }",
]

# Scripts with array globals: stap's -p2 listing adds the index types to the global, and
# the % (wrap) and [N] (maximum size) marks of its declaration.
PORTABLE_ARRAYS = [
    'global arr probe begin { arr["one"] = 1; arr["two"] = 2; foreach (k+ in arr) '
    'printf("%s=%d\\n", k, arr[k]); exit() }',
    "global cnt probe timer.ms(1) { cnt[tid() % 2]++ } probe timer.ms(20) "
    "{ foreach ([t] in cnt- limit 1) println(t, cnt[t]); exit() }",
    'global m2 probe begin { m2[1, "a"] = "x"; foreach ([i, s] in m2) println(i, s, m2[i, s]); '
    'delete m2[1, "a"]; exit() }',
    "global st probe begin { st[1] <<< 5; foreach (k in st @sum-) println(k, @sum(st[k])); "
    "exit() }",
    "global big[10] probe begin { big[1] = 1; println(big[1]); exit() }",
    "global wrap% probe begin { wrap[1] = 1; println(wrap[1]); exit() }",
]


# ---------------------------------------------------------------------- the environment


@dataclass(frozen=True)
class StapEnv:
    stap: str
    release: str
    version: str


def _find_release() -> str | None:
    for build in sorted(glob.glob("/lib/modules/*/build")):
        if os.path.isdir(build):
            return Path(build).parent.name
    return None


@pytest.fixture(scope="module")
def stap_env() -> StapEnv:
    stap = shutil.which("stap")
    release = _find_release()
    if stap is None or release is None:
        missing = "stap" if stap is None else "a kernel build tree under /lib/modules"
        message = f"SystemTap comparison needs {missing}"
        if os.environ.get("STAPSERVER_REQUIRE_STAP") == "1":
            pytest.fail(message + " (STAPSERVER_REQUIRE_STAP=1)")
        pytest.skip(message)
    version = subprocess.run([stap, "-V"], capture_output=True, text=True, timeout=60).stderr
    return StapEnv(stap, release, version.splitlines()[0] if version else "unknown")


# ---------------------------------------------------------------------- running both


@dataclass(frozen=True)
class Outcome:
    rc: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.rc == 0


_NOISE = ("WARNING: Kernel function symbol table missing", "Tip: ")


def _clean(stderr: str) -> str:
    return "".join(line for line in stderr.splitlines(True) if not line.startswith(_NOISE))


def run_stap(env: StapEnv, args: list[str]) -> Outcome:
    result = subprocess.run(
        [env.stap, "-r", env.release, *args],
        capture_output=True,
        text=True,
        errors="replace",
        timeout=120,
        stdin=subprocess.DEVNULL,
        cwd="/tmp",
    )
    return Outcome(result.returncode, result.stdout, _clean(result.stderr))


def run_pystap(env: StapEnv, args: list[str]) -> Outcome:
    out = io.BytesIO()
    err = io.StringIO()
    try:
        rc = FrontEnd(
            parse_options(["-r", env.release, *args]),
            stdin=io.BytesIO(),
            stdout=out,
            stderr=err,
            cwd="/tmp",
        ).run()
    except StapError as e:
        return Outcome(1, out.getvalue().decode(errors="replace"), err.getvalue() + str(e) + "\n")
    return Outcome(rc, out.getvalue().decode(errors="replace"), err.getvalue())


@dataclass
class Results:
    stap: dict[tuple[str, ...], Outcome]
    pystap: dict[tuple[str, ...], Outcome]


def _jobs() -> Iterator[tuple[str, ...]]:
    for path in EXAMPLES:
        yield ("-p1", path)
    for script in PORTABLE + PORTABLE_ARRAYS:
        yield ("-p2", "-e", script)


def _cache_key(env: StapEnv, job: tuple[str, ...]) -> str:
    h = hashlib.sha256()
    for part in (env.version, env.release, *job):
        h.update(part.encode("utf-8", "surrogateescape") + b"\0")
    if job[0] == "-p1":  # a script file: its text too
        h.update(Path(job[1]).read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def results(stap_env: StapEnv, request: pytest.FixtureRequest) -> Results:
    jobs = list(_jobs())
    cache = getattr(request.config, "cache", None)
    stored: dict[str, list[object]] = cache.get("stapserver/stap-outcomes", {}) if cache else {}
    keys = {job: _cache_key(stap_env, job) for job in jobs}
    theirs: dict[tuple[str, ...], Outcome] = {}
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures: dict[tuple[str, ...], Future[Outcome]] = {}
        for job in jobs:
            hit = stored.get(keys[job])
            if hit is not None:
                rc, out, err = hit
                theirs[job] = Outcome(int(str(rc)), str(out), str(err))
            else:
                futures[job] = pool.submit(run_stap, stap_env, list(job))
        # pystap runs here meanwhile
        mine = {job: run_pystap(stap_env, list(job)) for job in jobs}
        for job, f in futures.items():
            theirs[job] = f.result()
    if cache is not None and futures:
        current = {keys[j]: [o.rc, o.stdout, o.stderr] for j, o in theirs.items()}
        cache.set("stapserver/stap-outcomes", current)
    return Results(theirs, mine)


def _describe(what: str, o: Outcome) -> str:
    return f"{what}: rc={o.rc}\n{o.stderr}"


# ---------------------------------------------------------------------- the examples


def _example_id(path: str) -> str:
    return os.path.relpath(path, EXAMPLES_DIR)


@pytest.mark.skipif(not EXAMPLES, reason="SystemTap's examples are not installed")
@pytest.mark.parametrize("path", EXAMPLES, ids=[_example_id(p) for p in EXAMPLES])
def test_example_pass1_acceptance(results: Results, path: str) -> None:
    job = ("-p1", path)
    stap, mine = results.stap[job], results.pystap[job]
    exception = LIBRARY_MACRO_EXCEPTIONS.get(_example_id(path))
    if exception is not None:
        macro, reason = exception
        assert stap.ok, _describe("stap", stap)
        assert not mine.ok and f"unknown operator {macro}" in mine.stderr, (
            f"{path} is listed as needing {macro} ({reason}); "
            "update LIBRARY_MACRO_EXCEPTIONS\n" + _describe("pystap", mine)
        )
        return
    assert mine.ok == stap.ok, _describe("stap", stap) + _describe("pystap", mine)


@pytest.mark.skipif(not EXAMPLES, reason="SystemTap's examples are not installed")
def test_example_exceptions_exist() -> None:
    for name in LIBRARY_MACRO_EXCEPTIONS:
        assert os.path.exists(os.path.join(EXAMPLES_DIR, name)), name


@pytest.mark.skipif(not EXAMPLES, reason="SystemTap's examples are not installed")
def test_most_examples_are_accepted_by_both(results: Results) -> None:
    both = sum(1 for p in EXAMPLES if results.stap[("-p1", p)].ok and results.pystap[("-p1", p)].ok)
    assert both >= 0.7 * len(EXAMPLES)


# ---------------------------------------------------------------------- portable scripts


def _pass1_ok(o: Outcome) -> bool:
    return o.ok or "Pass 1: parse failed" not in o.stderr


def globals_listing(stdout: str) -> list[str]:
    """The lines of the ``# globals`` section of a -p2 listing."""
    lines = stdout.splitlines()
    if "# globals" not in lines:
        return []
    out = []
    for line in lines[lines.index("# globals") + 1 :]:
        if line.startswith("#"):
            break
        out.append(line)
    return out


ALL_PORTABLE = PORTABLE + PORTABLE_ARRAYS


@pytest.mark.parametrize("script", ALL_PORTABLE)
def test_portable_pass1_acceptance(results: Results, script: str) -> None:
    job = ("-p2", "-e", script)
    stap, mine = results.stap[job], results.pystap[job]
    assert _pass1_ok(mine) == _pass1_ok(stap), _describe("stap", stap) + _describe("pystap", mine)


@pytest.mark.parametrize("script", ALL_PORTABLE)
def test_portable_pass2_acceptance(results: Results, script: str) -> None:
    job = ("-p2", "-e", script)
    stap, mine = results.stap[job], results.pystap[job]
    assert mine.ok == stap.ok, _describe("stap", stap) + _describe("pystap", mine)


@pytest.mark.parametrize("script", ALL_PORTABLE)
def test_portable_globals_listing(results: Results, script: str) -> None:
    job = ("-p2", "-e", script)
    stap, mine = results.stap[job], results.pystap[job]
    if not stap.ok:
        pytest.skip("stap refuses this script (compared by the acceptance tests)")
    assert mine.ok, _describe("pystap", mine)
    assert globals_listing(mine.stdout) == globals_listing(stap.stdout), stap.stdout + mine.stdout


def test_portable_scripts_cover_both_outcomes(results: Results) -> None:
    outcomes = {results.stap[("-p2", "-e", s)].ok for s in PORTABLE}
    assert outcomes == {True, False}

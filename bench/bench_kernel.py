"""Kernel events: pystap and bpftrace counting a million syscalls of ``dd``, side by side.

The traced program is ``dd if=/dev/zero of=/dev/null bs=1 count=500000``: 500,000 reads
on fd 0 and 500,000 writes on fd 1, about 10^6 syscalls.  Six ways to run it,
interleaved in each round (the order rotates from round to round, so that none always
follows another):

- untraced;
- untraced while another process spins in user space: what one busy CPU (as a
  consumer draining events is) costs dd on this machine, tracing aside;
- pystap's kernel side alone (``KERNEL_SIDE`` below): its programs with a filter no
  event passes ("no-record"), and writing every record to a ring that nothing drains
  while dd runs ("no-drain");
- under bpftrace (``tracepoint:syscalls:sys_enter_read/write``, ``pid == cpid`` and the
  fd in the predicate, ``count()`` in a map);
- under pystap (the script below: ``syscall.read``/``syscall.write``, ``pid() ==
  target()`` and the fd tested in the handler), with ``-v``.

dd's own time is the ``copied, X s`` of its last line (the same measure for all).
Checked in every run: both counts exactly 500,000 (a failure line otherwise), no event
lost (pystap's ``-v`` line and stap's ``skipped probes`` warning).  Reported: medians
and ranges of dd's time, dd's slowdown in each way, pystap's events per second (from
its ``-v`` line: events whose handlers ran over the time its drain loop took), pystap's
wall time to its result, the same less its start-up (the median wall time of ``pystap
-e 'probe begin { exit() }'``), and once, whether pystap works with
``RLIMIT_MEMLOCK`` at 0.

Other people's tracers on the machine slow every syscall, ours too: before each
measurement the benchmark waits (up to ``--settle`` seconds) until no other BPF program
is loaded, and it watches for any during the measurement; a run that had one is marked.
Each run also reports the CPU that other processes used meanwhile (the machine's busy
time from /proc/stat less this process's and its children's).

Needs root and bpftrace (Debian's 0.17: ``apt-get install -y bpftrace``); prints
"skipped" otherwise.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from common import compile_package, report

COUNT = 500_000
# bpftrace 0.17's -c wants a path naming one binary (with /usr merged, ``dd`` matches
# /bin/dd and /usr/bin/dd and is refused); the same command for all three
DD = f"/usr/bin/dd if=/dev/zero of=/dev/null bs=1 count={COUNT}"
SCRIPT = """\
global reads, writes
probe syscall.read { if (pid() == target() && fd == 0) reads++ }
probe syscall.write { if (pid() == target() && fd == 1) writes++ }
probe end { printf("reads %d writes %d\\n", reads, writes) }
"""
BPFTRACE = (
    "tracepoint:syscalls:sys_enter_read /pid == cpid && args->fd == 0/ { @r = count(); } "
    "tracepoint:syscalls:sys_enter_write /pid == cpid && args->fd == 1/ { @w = count(); }"
)
MODES = ("untraced", "spinning", "no-record", "no-drain", "bpftrace", "pystap")
UNTRACED = ("untraced", "spinning")
KERNEL_ONLY = ("no-record", "no-drain")
# "spinning": dd untraced while another process spins in user space (no syscall), as a
# busy consumer would: what one busy CPU costs dd on this machine
SPIN = "import time\nt = time.monotonic() + 60\nwhile time.monotonic() < t: pass\n"

_COPIED = re.compile(r"copied, ([0-9.]+) s")
_PYSTAP_COUNTS = re.compile(r"^reads (\d+) writes (\d+)$", re.M)
_BPFTRACE_MAP = re.compile(r"^@([rw]): (\d+)$", re.M)
_EVENTS = re.compile(r"Pass 5: (\d+) kernel events handled in (\d+) ms \((\d+)/s\), (\d+) lost\.")
_SKIPPED = re.compile(r"WARNING: Number of errors: \d+, skipped probes: (\d+)")


@dataclass
class Run:
    mode: str
    round: int
    wall: float = 0.0  # s, the whole command
    dd: float = float("nan")  # s, dd's own "copied, X s"
    reads: int = -1
    writes: int = -1
    events: int = -1  # pystap -v: events whose handlers ran
    rate: int = -1  # pystap -v: events/s in the drain loop
    lost: int = -1  # pystap -v, or the skipped-probes warning
    foreign: int = 0  # other people's BPF programs seen during the run
    others: float = 0.0  # CPUs kept busy by other processes during the run, on average
    failure: str = ""
    output: str = field(default="", repr=False)


# The kernel side of pystap alone: the package's own programs (kernel/programs.py) on
# sys_enter_read/write, filtered on dd's pid and fd in the kernel as pystap's are, writing
# their records to a ring big enough for all of them (256 MiB) that nothing drains while
# dd runs ("no-drain"; the records are counted after), or with a filter no event passes
# ("no-record": the tracepoints' cost, no record written).  argv[1] is the mode, argv[2:]
# dd's command.
KERNEL_SIDE = """
import os, sys
from stapserver.runtime.kernel import tracefs
from stapserver.runtime.kernel.programs import Filter, ProgramSpec
from stapserver.runtime.kernel.session import KernelObjects
mode, argv = sys.argv[1], sys.argv[2:]
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(w)
    os.read(r, 1)
    os.execv(argv[0], argv)
os.close(r)
objects = KernelObjects()
ring = objects.ringbuf(256 << 20)
lost = objects.lost_counter()
for index, (event, fd) in enumerate((("sys_enter_read", 0), ("sys_enter_write", 1))):
    fmt = tracefs.event_format("syscalls", event)
    field = fmt.field("fd")
    value = 99 if mode == "no-record" else fd
    filters = (Filter("field", "==", value, field.offset, 8, True), Filter("pid", "==", pid))
    spec = ProgramSpec(index, "tracepoint", copy_size=field.offset + 8, filters=filters,
                       wakeup=False)
    objects.tracepoint(spec, fmt.id, ring, lost)
os.write(w, b"1")
os.close(w)
_, status = os.waitpid(pid, 0)
counts = [0, 0]
cons, prod = int(ring._cons[0]), int(ring._prod[0])
while cons < prod:
    off = cons & ring._mask
    word = ring._hdr[off >> 2]
    counts[ring._hdr[(off + 8) >> 2]] += 1
    cons += ((word & 0x3FFFFFFF) + 15) & ~7
objects.close()
print("records", *counts)
sys.exit(os.waitstatus_to_exitcode(status))
"""
_KERNEL_COUNTS = re.compile(r"^records (\d+) (\d+)$", re.M)


# -------------------------------------------------------------- other people's tracers
def _live_programs() -> set[int]:
    from stapserver.runtime.kernel import bpf

    return bpf.live_bpf_program_ids()


def _held_programs(pid: int) -> set[int]:
    """The BPF programs whose fds ``pid`` holds (pystap keeps them open)."""
    held = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fdinfo"):
            try:
                text = Path(f"/proc/{pid}/fdinfo/{fd}").read_text()
            except OSError:
                continue
            m = re.search(r"^prog_id:\s*(\d+)", text, re.M)
            if m:
                held.add(int(m.group(1)))
    except OSError:
        pass
    return held


class Watch:
    """Counts the BPF programs loaded during a measurement that are not the measured
    tool's: those the pystap process holds are its own; bpftrace closes its program
    fds once attached, so for it, programs loaded before it started are others' and
    of the new ones, two (one per probe) are taken as its own."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.before = _live_programs()
        self.pid = 0
        self.seen: set[int] = set()
        self.ours: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            self._sample()

    def _sample(self) -> None:
        self.seen |= _live_programs()
        if self.mode not in (*UNTRACED, "bpftrace") and self.pid:
            self.ours |= _held_programs(self.pid)

    def foreign(self) -> int:
        self._stop.set()
        self._thread.join()
        self._sample()
        seen = self.seen | self.before
        if self.mode in UNTRACED:
            return len(seen)
        if self.mode != "bpftrace":
            return len(seen - self.ours)
        return len(self.before) + max(0, len(seen - self.before) - 2)


def settle(limit: float) -> float:
    """Wait until no BPF program is loaded, up to ``limit`` seconds: how long it took."""
    t0 = time.monotonic()
    while _live_programs() and time.monotonic() - t0 < limit:
        time.sleep(0.25)
    return time.monotonic() - t0


def _busy_seconds() -> float:
    """CPU time the whole machine has spent busy (all CPUs), from /proc/stat."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    ticks = [int(x) for x in fields[:8]]
    busy = sum(ticks) - ticks[3] - ticks[4]  # less idle and iowait
    return busy / os.sysconf("SC_CLK_TCK")


def _own_seconds() -> float:
    """CPU time of this process and of its waited-for children (the tools reap dd)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


# -------------------------------------------------------------------------- the runs
def measure(mode: str, rnd: int, pystap: str, script: Path) -> Run:
    if mode in UNTRACED:
        argv = DD.split()
    elif mode in KERNEL_ONLY:
        argv = [sys.executable, "-c", KERNEL_SIDE, mode, *DD.split()]
    elif mode == "bpftrace":
        argv = ["bpftrace", "-e", BPFTRACE, "-c", DD]
    else:
        argv = [pystap, "-v", str(script), "-c", DD]
    run = Run(mode, rnd)
    watch = Watch(mode)
    busy0, own0, w0 = _busy_seconds(), _own_seconds(), time.perf_counter()
    spinner = None
    if mode == "spinning":
        spinner = subprocess.Popen([sys.executable, "-c", SPIN])
        time.sleep(0.2)
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    watch.pid = proc.pid
    out, err = proc.communicate(timeout=600)
    run.wall = time.perf_counter() - t0
    if spinner is not None:
        spinner.kill()
        spinner.wait()
    others = (_busy_seconds() - busy0) - (_own_seconds() - own0)
    run.others = max(0.0, others) / (time.perf_counter() - w0)
    run.foreign = watch.foreign()
    run.output = out + err
    m = _COPIED.search(err)
    if m:
        run.dd = float(m.group(1))
    if mode in UNTRACED:
        run.reads = run.writes = COUNT if m else -1
    elif mode in KERNEL_ONLY:
        k = _KERNEL_COUNTS.search(out)
        if k:
            run.reads, run.writes = int(k.group(1)), int(k.group(2))
        if mode == "no-record" and (run.reads, run.writes) == (0, 0):
            run.reads = run.writes = COUNT  # nothing to count: passed
    elif mode == "bpftrace":
        maps = dict(_BPFTRACE_MAP.findall(out))
        run.reads, run.writes = int(maps.get("r", 0)), int(maps.get("w", 0))
    else:
        c = _PYSTAP_COUNTS.search(out)
        if c:
            run.reads, run.writes = int(c.group(1)), int(c.group(2))
        e = _EVENTS.search(err)
        if e:
            run.events, run.rate, run.lost = int(e.group(1)), int(e.group(3)), int(e.group(4))
        s = _SKIPPED.search(err)
        if s:
            run.lost = max(run.lost, int(s.group(1)))
    problems = []
    if proc.returncode != 0:
        problems.append(f"exit status {proc.returncode}")
    if not m:
        problems.append("no 'copied' line from dd")
    if (run.reads, run.writes) != (COUNT, COUNT):
        problems.append(f"counted reads {run.reads}, writes {run.writes}")
    if mode == "pystap" and run.lost != 0:
        problems.append(f"{run.lost} events lost" if run.lost > 0 else "no -v events line")
    run.failure = "; ".join(problems)
    return run


def startup(pystap: str, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run([pystap, "-e", "probe begin { exit() }"], check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    return times


def memlock_check(pystap: str, script: Path) -> str:
    """pystap counting 5,000 reads and writes of dd with RLIMIT_MEMLOCK lowered to 0."""

    def lower() -> None:
        hard = resource.getrlimit(resource.RLIMIT_MEMLOCK)[1]
        resource.setrlimit(resource.RLIMIT_MEMLOCK, (0, hard))

    dd = DD.replace(f"count={COUNT}", "count=5000")
    r = subprocess.run(
        [pystap, "-v", str(script), "-c", dd],
        capture_output=True,
        text=True,
        preexec_fn=lower,
        check=False,
    )
    c = _PYSTAP_COUNTS.search(r.stdout)
    e = _EVENTS.search(r.stderr)
    if r.returncode == 0 and c and c.groups() == ("5000", "5000") and e and e.group(4) == "0":
        return "works (5,000 reads and 5,000 writes counted, 0 lost)"
    last = (r.stderr.strip().splitlines() or ["no output"])[-1]
    return f"FAILS (exit {r.returncode}): {last}"


# -------------------------------------------------------------------------- figures
def _ms(values: list[float]) -> str:
    if not values:
        return "-"
    return (
        f"{statistics.median(values) * 1000:,.0f} ms "
        f"({min(values) * 1000:,.0f}-{max(values) * 1000:,.0f})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="rounds (default 7)")
    parser.add_argument(
        "--settle",
        type=float,
        default=30.0,
        help="seconds to wait, before each measurement, for other BPF programs to go",
    )
    args = parser.parse_args()

    pystap = str(Path(sys.executable).parent / "pystap")
    if not Path(pystap).exists():
        pystap = shutil.which("pystap") or ""
    if os.geteuid() != 0:
        print("bench_kernel: skipped (needs root)")
        return 0
    if not shutil.which("bpftrace"):
        print("bench_kernel: skipped (no bpftrace: apt-get install -y bpftrace)")
        return 0
    if not pystap or not Path("/usr/bin/dd").exists():
        print("bench_kernel: skipped (no pystap or no /usr/bin/dd)")
        return 0
    compile_package()
    version = subprocess.run(["bpftrace", "--version"], capture_output=True, text=True)
    load0 = os.getloadavg()

    runs: list[Run] = []
    waited = 0.0
    with tempfile.TemporaryDirectory(prefix="bench-kernel-") as tmp:
        script = Path(tmp) / "count.stp"
        script.write_text(SCRIPT)
        boot = startup(pystap, 7)
        for rnd in range(args.runs):
            k = rnd % len(MODES)
            for mode in MODES[k:] + MODES[:k]:
                waited += settle(args.settle)
                run = measure(mode, rnd, pystap, script)
                runs.append(run)
                mark = f", {run.foreign} other BPF program(s) loaded" if run.foreign else ""
                print(
                    f"  round {rnd + 1} {mode:<9} dd {run.dd:7.3f} s, wall {run.wall:7.3f} s, "
                    f"others' load {run.others:.1f} CPU"
                    + (f", {run.rate:,} events/s, {run.lost} lost" if mode == "pystap" else "")
                    + mark,
                    flush=True,
                )
                if run.failure:
                    print(f"FAILED: round {rnd + 1}, {mode}: {run.failure}", flush=True)
                    tail = run.output.strip().splitlines()[-6:]
                    print("\n".join(f"    | {line}" for line in tail))
        memlock = memlock_check(pystap, script)
    load1 = os.getloadavg()

    by = {mode: [r for r in runs if r.mode == mode] for mode in MODES}
    ok = {mode: [r for r in by[mode] if not r.failure] for mode in MODES}
    dd = {mode: [r.dd for r in ok[mode]] for mode in MODES}
    base = statistics.median(dd["untraced"]) if dd["untraced"] else float("nan")

    def slowdown(mode: str) -> float:
        return statistics.median(dd[mode]) / base if dd[mode] else float("nan")

    print(f"bpftrace: {version.stdout.strip()}; {args.runs} rounds; dd: {DD}")
    print(
        f"load average {load0[0]:.2f} at the start, {load1[0]:.2f} at the end; "
        f"{waited:.0f} s spent waiting for other BPF programs to go; "
        f"{sum(1 for r in runs if r.foreign)} of {len(runs)} runs had some loaded"
    )
    head = f"{'dd (median, range)':<28} {'slowdown':>8}   {'wall (median, range)':<28}"
    print(f"{'':<12} {head} others' load (median)")
    for mode in MODES:
        walls = [r.wall for r in ok[mode]]
        slow = f"{slowdown(mode):.2f}x" if mode != "untraced" else ""
        load = statistics.median(r.others for r in by[mode])
        print(f"{mode:<12} {_ms(dd[mode]):<28} {slow:>8}   {_ms(walls):<28} {load:.1f} CPU")
    failed = sum(1 for r in runs if r.failure)
    counted = [r for r in by["bpftrace"] + by["pystap"] if not r.failure]
    report(
        "counts exact (reads, writes = 500,000, 500,000)",
        f"{len(counted)} of {len(by['bpftrace']) + len(by['pystap'])} traced runs",
        "every run",
    )
    p = ok["pystap"]
    if p:
        rates = [r.rate for r in p]
        report(
            "pystap: events/s its handlers ran",
            f"median {statistics.median(rates):,.0f} ({min(rates):,}-{max(rates):,})",
            ">= 500,000",
        )
    lost = [r.lost for r in by["pystap"] if r.lost >= 0]
    report("pystap: events lost", f"{sum(lost)} in {len(lost)} runs", "0")
    report(
        "dd slowdown: pystap / bpftrace",
        f"{slowdown('pystap'):.2f}x / {slowdown('bpftrace'):.2f}x",
        "pystap <= bpftrace",
    )
    if p:
        walls = [r.wall for r in p]
        start = statistics.median(boot)
        report("pystap: start-up (-e 'probe begin { exit() }')", _ms(boot))
        report("pystap: wall time to its result", _ms(walls))
        report(
            "pystap: the same less its start-up",
            f"{(statistics.median(walls) - start) * 1000:,.0f} ms",
        )
        report(
            "pystap: the same less start-up and dd's own time",
            f"median {statistics.median(r.wall - start - r.dd for r in p) * 1000:,.0f} ms",
        )
    report("pystap with RLIMIT_MEMLOCK 0", memlock)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

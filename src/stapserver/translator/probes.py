"""Probe points the python runtime can run, and what it says about the others.

``begin``/``end``/``error`` (with an optional sequence number), ``never``, and the timers
``timer.s/sec/ms/msec/us/usec/ns/nsec/hz/jiffies(N)`` with ``.randomize(M)``.  Every other
SystemTap probe family observes a kernel or a process from inside, which only real
SystemTap can do.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from . import ast

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .tracepoints import TraceEvent

# Probe families of SystemTap that need a kernel module or a BPF program: they are
# recognised so that the error says where to run them, rather than "no match".
SYSTEMTAP_FAMILIES = frozenset(
    [
        "kernel",
        "kprobe",
        "module",
        "process",
        "syscall",
        "nd_syscall",
        "nd1_syscall",
        "nd2_syscall",
        "dw_syscall",
        "tp_syscall",
        "syscall_any",
        "perf",
        "procfs",
        "netfilter",
        "java",
        "python",
        "python2",
        "python3",
        "input",
        "signal",
        "vfs",
        "ioblock",
        "ioblock_trace",
        "ioscheduler",
        "ioscheduler_trace",
        "scsi",
        "tcp",
        "udp",
        "socket",
        "nfs",
        "nfsd",
        "sunrpc",
        "scheduler",
        "vm",
        "irq_handler",
        "softirq",
        "workqueue",
        "netdev",
        "tty",
        "linuxmib",
        "ipmib",
        "kprocess",
        "tp_kprocess",
        "dw_kprocess",
        "generic",
        "stap",
        "stapio",
        "staprun",
        "prometheus",
        "json_data",
        "hrtimer",
    ]
)

_TIMER_UNITS = {
    # name: (nanoseconds per unit, minimum, maximum)
    "s": (1_000_000_000, 1, 86_400),
    "sec": (1_000_000_000, 1, 86_400),
    "ms": (1_000_000, 1, 86_400_000),
    "msec": (1_000_000, 1, 86_400_000),
    "us": (1_000, 100, 86_400_000_000),
    "usec": (1_000, 100, 86_400_000_000),
    "ns": (1, 100_000, 86_400_000_000_000),
    "nsec": (1, 100_000, 86_400_000_000_000),
}
TIMER_FUNCTORS = (*_TIMER_UNITS, "jiffies", "hz")
TOP_LEVEL = ("begin", "end", "error", "never", "timer")


class ProbeError(Exception):
    """A probe point that cannot be resolved: ``message`` names the problem and ``tok``
    the component stap would point at (None: the message stands alone)."""

    def __init__(self, message: str, tok: object | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.tok = tok


@dataclass(frozen=True)
class PointSpec:
    """A resolved python-runtime probe point."""

    kind: str  # begin end error never timer trace
    text: str  # canonical text, as pp() returns it
    sequence: int = 0  # begin/end/error order
    interval_ns: int = 0  # timers
    randomize_ns: int = 0
    jiffies: int = 0  # timer.jiffies: interval in jiffies (converted with HZ at run time)
    hz: int = 0  # timer.hz: firings per second
    event: TraceEvent | None = None  # trace: the kernel tracepoint
    perf: tuple[int, int, int, int] | None = None  # perf: type, config, period, freq


def _number_arg(comp: ast.Component) -> int | None:
    if isinstance(comp.arg, ast.NumberLit):
        return comp.arg.value
    return None


def _text(components: list[ast.Component]) -> str:
    parts = []
    for c in components:
        arg = ""
        if c.arg is not None:
            from .unparse import literal_text

            arg = f"({literal_text(c.arg)})"
        parts.append(c.functor + arg)
    return ".".join(parts)


def _matches(pattern: str, name: str) -> bool:
    return (
        fnmatch.fnmatchcase(name, pattern)
        if any(ch in pattern for ch in "*?[")
        else (pattern == name)
    )


def resolve_builtin(point: ast.ProbePoint, hz: int) -> list[PointSpec]:
    """The python-runtime probes ``point`` names (wildcards may name several)."""
    comps = point.components
    first = comps[0]
    heads = [name for name in TOP_LEVEL if _matches(first.functor, name)]
    if first.functor == "kernel" and len(comps) > 1:
        return _resolve_kernel(comps)
    if first.functor == "perf" and first.arg is None:
        return [_resolve_perf(comps)]
    if first.functor in FUNCTION_PROBES:
        raise ProbeError(_no_function_probes(comps), first.tok)
    if not heads:
        if first.functor in SYSTEMTAP_FAMILIES or any(
            _matches(first.functor, fam) for fam in SYSTEMTAP_FAMILIES
        ):
            raise ProbeError(
                f"probe point '{_text(comps)}' is not available in the python runtime; "
                "it needs a compile server with SystemTap (--runtime=kernel or --runtime=bpf)",
                first.tok,
            )
        raise ProbeError("probe point mismatch", first.tok)
    found: list[PointSpec] = []
    errors: list[ProbeError] = []
    for head in heads:
        try:
            found.append(_resolve_head(head, comps, hz))
        except ProbeError as err:
            errors.append(err)
    if not found:
        raise errors[0]
    return found


# Probe points on kernel functions: kprobes, or BPF trampolines (fentry/fexit).
FUNCTION_PROBES = ("kprobe", "module", "kretprobe")


def _no_function_probes(comps: list[ast.Component]) -> str:
    return (
        f"probe point '{_text(comps)}' is not available in the python runtime: it probes "
        "kernel functions, which needs kprobes or BPF trampolines; a compile server with "
        "SystemTap builds it for the kernel runtime (--runtime=kernel)"
    )


def _resolve_kernel(comps: list[ast.Component]) -> list[PointSpec]:
    """``kernel.trace("GROUP:EVENT")`` (globs in both parts), from the catalogue."""
    second = comps[1]
    if second.functor != "trace":
        if second.functor in ("function", "statement", "data", "mark"):
            raise ProbeError(_no_function_probes(comps), comps[0].tok)
        raise ProbeError("probe point mismatch", second.tok)
    if not isinstance(second.arg, ast.StringLit):
        raise ProbeError("probe point mismatch", second.tok)
    if len(comps) > 2:
        raise ProbeError("invalid suffix for probe", comps[2].tok)
    from .tracepoints import match

    pattern = second.arg.value.decode("utf-8", "replace")
    events = match(pattern)
    if not events:
        raise ProbeError(f"no match for tracepoint '{pattern}'", second.tok)
    return [PointSpec("trace", f'kernel.trace("{e.group}:{e.name}")', event=e) for e in events]


# perf.sw.NAME and perf.hw.NAME: (type, config) as SystemTap's perf.stp names them
PERF_NAMES = {
    "hw": (
        0,
        [
            "cpu_cycles",
            "instructions",
            "cache_references",
            "cache_misses",
            "branch_instructions",
            "branch_misses",
            "bus_cycles",
            "stalled_cycles_frontend",
            "stalled_cycles_backend",
            "ref_cpu_cycles",
        ],
    ),
    "sw": (
        1,
        [
            "cpu_clock",
            "task_clock",
            "page_faults",
            "context_switches",
            "cpu_migrations",
            "page_faults_min",
            "page_faults_maj",
            "alignment_faults",
            "emulation_faults",
        ],
    ),
}
PERF_DEFAULT_PERIOD = 1_000_000  # stapprobes: "the default ... is to sample at a count of 1000000"


def _perf_spec(type_: int, config: int, rest: list[ast.Component], text_head: str) -> PointSpec:
    period, freq = PERF_DEFAULT_PERIOD, 0
    if rest:
        last = rest[0]
        value = _number_arg(last)
        if last.functor not in ("sample", "hz") or value is None:
            if last.functor in ("process", "counter"):
                raise ProbeError(
                    f"perf .{last.functor}() probes are not available in the python runtime",
                    last.tok,
                )
            raise ProbeError("probe point mismatch", last.tok)
        if len(rest) > 1:
            raise ProbeError("invalid suffix for probe", rest[1].tok)
        if value <= 0:
            raise ProbeError(f"invalid perf {last.functor} value", last.tok)
        if last.functor == "sample":
            period = value
        else:
            period, freq = 0, value
    text = text_head + (f".sample({period})" if period else f".hz({freq})")
    return PointSpec("perf", text, perf=(type_, config, period, freq))


def _resolve_perf(comps: list[ast.Component]) -> PointSpec:
    """``perf.type(N).config(M)``, ``perf.sw.NAME``, ``perf.hw.NAME``, each with an
    optional ``.sample(N)`` or ``.hz(N)``: sampling through perf events."""
    if len(comps) < 3:
        raise ProbeError("probe point mismatch", comps[-1].tok)
    second, third = comps[1], comps[2]
    if second.functor == "type":
        t, c = _number_arg(second), _number_arg(third)
        if t is None or c is None or third.functor != "config":
            raise ProbeError("probe point mismatch", third.tok)
        return _perf_spec(t, c, comps[3:], f"perf.type({t}).config({c})")
    family = PERF_NAMES.get(second.functor)
    if family is None or third.functor not in family[1] or third.arg is not None:
        raise ProbeError("probe point mismatch", (third if family else second).tok)
    type_, config = family[0], family[1].index(third.functor)
    return _perf_spec(type_, config, comps[3:], f"perf.type({type_}).config({config})")


def _resolve_profile(comps: list[ast.Component]) -> PointSpec:
    """``timer.profile`` and ``timer.profile.tick``: on this kernel, as SystemTap's
    timers.stp falls back to, ``perf.sw.cpu_clock.sample(1000000)`` (each CPU, every
    millisecond of CPU time); ``timer.profile.freq.hz(N)``: ``perf.sw.cpu_clock.hz(N)``."""
    rest = comps[2:]
    if not rest or (len(rest) == 1 and rest[0].functor == "tick" and rest[0].arg is None):
        return _perf_spec(1, 0, [], "perf.type(1).config(0)")
    if (
        rest[0].functor == "freq"
        and rest[0].arg is None
        and len(rest) == 2
        and rest[1].functor == "hz"
        and _number_arg(rest[1]) is not None
    ):
        return _perf_spec(1, 0, rest[1:], "perf.type(1).config(0)")
    raise ProbeError("probe point mismatch", rest[0].tok)


def _resolve_head(head: str, comps: list[ast.Component], hz: int) -> PointSpec:
    first = comps[0]
    if head in ("begin", "end", "error"):
        if len(comps) > 1:
            raise ProbeError("invalid suffix for probe", comps[1].tok)
        if first.arg is None:
            return PointSpec(head, head)
        seq = _number_arg(first)
        if seq is None:
            raise ProbeError("probe point mismatch", first.tok)
        return PointSpec(head, f"{head}({seq})", sequence=seq)
    if head == "never":
        if len(comps) > 1:
            raise ProbeError("invalid suffix for probe", comps[1].tok)
        if first.arg is not None:
            raise ProbeError("probe point mismatch", first.tok)
        return PointSpec("never", "never")
    # timer.*
    if len(comps) < 2:
        raise ProbeError("probe point mismatch", first.tok)
    unit = comps[1]
    if unit.functor == "profile":
        return _resolve_profile(comps)
    names = [n for n in TIMER_FUNCTORS if _matches(unit.functor, n)]
    value = _number_arg(unit)
    if not names or value is None:
        raise ProbeError("probe point mismatch", unit.tok)
    name = names[0]
    randomize = 0
    if len(comps) > 2:
        rnd = comps[2]
        if rnd.functor != "randomize" or len(comps) > 3:
            raise ProbeError("invalid suffix for probe", (comps[3] if len(comps) > 3 else rnd).tok)
        r = _number_arg(rnd)
        if r is None:
            raise ProbeError("probe point mismatch", rnd.tok)
        randomize = r
    text = _text(comps)
    if name == "hz":
        if value <= 0:
            raise ProbeError("frequency must be greater than 0")
        if len(comps) > 2:
            raise ProbeError("invalid suffix for probe", comps[2].tok)
        interval = -(-1_000_000_000 // value)
        if interval < 100_000:
            raise ProbeError("interval value out of range (100000, 86400000000000)")
        return PointSpec("timer", text, hz=value, interval_ns=interval)
    if name == "jiffies":
        if not 1 <= value <= 1_000_000:
            raise ProbeError("invalid interval for jiffies timer")
        if randomize < 0 or randomize > value:
            raise ProbeError("invalid randomize for jiffies timer")
        ns_per_jiffy = 1_000_000_000 // hz
        return PointSpec(
            "timer",
            text,
            jiffies=value,
            interval_ns=value * ns_per_jiffy,
            randomize_ns=randomize * ns_per_jiffy,
        )
    scale, low, high = _TIMER_UNITS[name]
    if not low <= value <= high:
        raise ProbeError(f"interval value out of range ({low}, {high})")
    if randomize < 0 or randomize > value:
        raise ProbeError("randomization value out of range")
    return PointSpec("timer", text, interval_ns=value * scale, randomize_ns=randomize * scale)

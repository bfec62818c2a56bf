"""translator/tracepoint_tapset.py: the process, scheduler, signal, block, vm, netdev and
irq aliases of the python runtime, over tracepoints."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stapserver.runtime import signatures
from stapserver.translator import library, tracepoint_tapset, tracepoints
from stapserver.translator.parser import PreprocessorContext, parse
from stapserver.translator.semantic import elaborate
from stapserver.translator.source import DiagnosticPrinter, Source

CTX = PreprocessorContext(kernel_release="6.18.0")
TRACEFS = Path("/sys/kernel/tracing/events")
PYSTAP = Path(sys.executable).parent / "pystap"
BUILTINS = {"sprintf", "sprint", "user_string_quoted", "return_str", "isinstr", "substr"}
GUARD = re.compile(r"^\s*if \(.*\) next$")

_TRACE = re.compile(r'kernel\.trace\("([^"]+)"\)')
_FIELD = re.compile(r"\$(\w+)")
_CALL = re.compile(r"\b([A-Za-z_]\w*)\(")

needs_root = pytest.mark.skipif(
    os.geteuid() != 0 or not (TRACEFS / "sched").is_dir(), reason="needs root and tracefs"
)


def _split_probes(text: str) -> list[tuple[str, str, str]]:
    """(alias, tracepoint, body) of each ``probe A = kernel.trace(...) {...}``."""
    out = []
    for chunk in re.split(r"(?m)^probe ", text)[1:]:
        m = _TRACE.search(chunk)
        assert m is not None, chunk
        out.append((chunk.split(" =", 1)[0], m.group(1), chunk[m.end() :]))
    return out


def _all() -> list[tuple[str, str, str]]:
    return [
        probe
        for p in tracepoint_tapset.alias_points()
        for probe in _split_probes(tracepoint_tapset.alias_source(p))
    ]


def test_points_and_api() -> None:
    points = tracepoint_tapset.alias_points()
    assert len(points) == len(set(points))
    for p in ("process.begin", "process.end", "kprocess.create", "tp_kprocess.create",
              "kprocess.exec", "kprocess.exec_complete", "kprocess.exit", "kprocess.release",
              "scheduler.cpu_on", "scheduler.cpu_off", "scheduler.ctxswitch",
              "scheduler.wakeup", "scheduler.process_exit", "signal.send", "signal.handle",
              "signal.syskill", "signal.systgkill.return", "ioblock.request", "ioblock.end",
              "ioblock_trace.request", "vm.pagefault", "vm.kmalloc", "vm.kfree",
              "netdev.transmit", "netdev.receive", "irq_handler.entry", "softirq.exit",
              "workqueue.execute"):  # fmt: skip
        assert p in points, p
    for p in ("scheduler.tick", "vm.pagefault.return", "signal.checkperm", "tcp.sendmsg"):
        assert p not in points
    with pytest.raises(KeyError):
        tracepoint_tapset.alias_source("scheduler.nosuch")
    assert not set(points) & {p for p in tracepoint_tapset.SKIPPED}


def test_memoized_and_fast() -> None:
    start = time.perf_counter()
    for p in tracepoint_tapset.alias_points():
        tracepoint_tapset.alias_source(p)
    assert time.perf_counter() - start < 1.0
    a = tracepoint_tapset.alias_source("signal.send")
    assert a is tracepoint_tapset.alias_source("signal.send")


def test_every_alias_parses() -> None:
    diag = DiagnosticPrinter()
    text = "".join(tracepoint_tapset.alias_source(p) for p in tracepoint_tapset.alias_points())
    script = parse(Source("<tracepoints>", text), (), CTX, diagnostics=diag)
    names = {name.text() for alias in script.aliases for name in alias.names}
    assert names == set(tracepoint_tapset.alias_points())


def test_bodies_are_flat_assignments() -> None:
    """``var = expr`` lines, and ``if (...) next`` guards at the top."""
    for alias, _, body in _all():
        lines = body.strip().strip("{}").strip().splitlines()
        guards = [i for i, line in enumerate(lines) if GUARD.match(line)]
        assert guards == list(range(len(guards))), alias
        for line in lines[len(guards) :]:
            assert re.match(r"^\s*\w+ = \S", line), (alias, line)


def test_functions_exist() -> None:
    for alias, _, body in _all():
        text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', body)
        for fn in _CALL.findall(text):
            assert fn in BUILTINS or fn in signatures.FUNCTIONS or fn == "if", (alias, fn)


def test_fields_exist_in_catalogue() -> None:
    events = tracepoints.catalogue()
    for alias, tp, body in _all():
        event = events.get(tp)
        assert event is not None, (alias, tp)
        for field in _FIELD.findall(body):
            f = event.field(field)
            assert f is not None and f.kind != "array", (alias, tp, field)
    for tp in tracepoint_tapset.tracepoints_used():
        assert tp in events


@needs_root
def test_fields_exist_in_tracefs() -> None:
    formats: dict[str, set[str]] = {}
    for alias, tp, body in _all():
        if tp not in formats:
            group, _, name = tp.partition(":")
            fmt = (TRACEFS / group / name / "format").read_text()
            formats[tp] = set(re.findall(r"field:[^;]*?(\w+)(?:\[\d*\])?;", fmt))
        for field in _FIELD.findall(body):
            assert field in formats[tp], (alias, tp, field)


def test_tapset_variable_names() -> None:
    """A few variables under stap's names, from the right fields."""
    ctx = tracepoint_tapset.alias_source("scheduler.ctxswitch")
    for stmt in ("prev_pid = pid()", "prev_tid = $prev_pid", "next_tid = $next_pid",
                 "prev_task_name = $prev_comm", "next_priority = $next_prio"):  # fmt: skip
        assert stmt in ctx
    send = tracepoint_tapset.alias_source("signal.send")
    assert 'kernel.trace("signal:signal_generate")' in send
    assert "sig_name = _signal_name(sig)" in send and "sig_pid = $pid" in send
    assert "task =" not in send  # a pointer: left out
    exec_ = tracepoint_tapset.alias_source("kprocess.exec")
    assert 'kernel.trace("syscalls:sys_enter_execve")' in exec_ and "filename =" in exec_
    done = tracepoint_tapset.alias_source("kprocess.exec_complete")
    assert "success = (errno >= 0)" in done
    kill = tracepoint_tapset.alias_source("signal.syskill")
    assert 'name = "syskill"' in kill and 'name = "kill"' not in kill
    assert "ioblock.request" in tracepoint_tapset.alias_source("ioblock.request")
    assert "devname" not in tracepoint_tapset.alias_source("ioblock.request")


def test_elaborates_through_library() -> None:
    """The library loads these aliases for the scripts naming them; every variable of
    every alias elaborates."""
    diag = DiagnosticPrinter()
    points = tracepoint_tapset.alias_points()
    probes = []
    for p in points:
        names = set()
        for _, _, body in _split_probes(tracepoint_tapset.alias_source(p)):
            names |= set(re.findall(r"(?m)^\s*(\w+) = ", body))
        args = "".join(f" . sprint({n})" for n in sorted(names))
        probes.append(f'probe {p} {{ println(""{args}) }}')
    script = parse(Source("<input>", "\n".join(probes)), (), CTX, diagnostics=diag)
    lib = library.aliases(CTX, diag, [script])
    program = elaborate(script, diagnostics=diag, library=lib)
    assert len(program.probes) == len(_all())


# -------------------------------------------------------------------- runtime (root)


def _run(script: str, command: str, timeout: float = 60) -> str:
    proc = subprocess.run(
        [str(PYSTAP), "-e", script, "-c", command],
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    return proc.stdout.decode(errors="replace")


@needs_root
def test_signal_send_handle_syskill() -> None:
    out = _run(
        "probe signal.send { if (sig == 10 && pid() == sig_pid)"
        ' printf("send %d %s %d %s %s\\n", sig_pid, sig_name, shared, pid_name, name) }'
        " probe signal.handle { if (sig == 10)"
        ' printf("handle %d %s %d\\n", pid(), sig_name, sig_code) }'
        " probe signal.syskill { if (sig == 10)"
        ' printf("syskill %d %d %s %s\\n", pid(), sig_pid, sig_name, name) }'
        ' probe signal.syskill.return { if (name == "syskill" && execname() == "sh")'
        ' printf("ret %d %d\\n", pid(), retval) }',
        "sh -c 'trap \"echo got\" USR1; echo $$; kill -USR1 $$'",
    )
    lines = out.splitlines()
    me = int(lines[0])
    assert f"send {me} SIGUSR1 1 sh signal_generate" in lines
    assert f"handle {me} SIGUSR1 0" in lines  # SI_USER
    assert f"syskill {me} {me} SIGUSR1 syskill" in lines
    assert f"ret {me} 0" in lines
    assert "got" in lines


@needs_root
def test_process_lifecycle() -> None:
    out = _run(
        'probe kprocess.create { if (execname() == "sh")'
        ' printf("create %d %d %d\\n", pid(), new_pid, new_tid) }'
        ' probe scheduler.process_fork { if (execname() == "sh")'
        ' printf("fork %d %d\\n", parent_pid, child_pid) }'
        ' probe kprocess.exec { printf("exec %d %s\\n", pid(), filename) }'
        ' probe kprocess.exec_complete { printf("done %d %d %d\\n", pid(), errno, success) }'
        ' probe process.begin { printf("begin %d\\n", pid()) }'
        ' probe process.end { printf("end %d %s\\n", pid(), execname()) }'
        ' probe kprocess.exit { printf("exit %d\\n", pid()) }'
        ' probe scheduler.process_exit { printf("pexit %d\\n", pid) }',
        "sh -c '/bin/true & echo $!; wait; echo $$'",
    )
    lines = out.splitlines()
    nums = [line for line in lines if line.isdigit()]
    child, me = int(nums[0]), int(nums[1])
    assert f"create {me} {child} {child}" in lines
    assert f"fork {me} {child}" in lines
    assert f'exec {child} "/bin/true"' in lines
    assert f"done {child} 0 1" in lines
    assert lines.count(f"begin {child}") == 2  # the fork's return in the child, the exec
    assert f"end {child} true" in lines
    assert f"exit {child}" in lines and f"pexit {child}" in lines
    assert lines.index(f"begin {child}") < lines.index(f"end {child} true")


@needs_root
def test_ctxswitch_of_a_sleeper() -> None:
    out = _run(
        "probe scheduler.ctxswitch {"
        ' if (prev_task_name == "sleep") printf("off %d %d %d\\n", prev_pid, prev_tid,'
        " prevtsk_state)"
        ' if (next_task_name == "sleep") printf("on %d %d\\n", next_tid, nexttsk_state) }',
        "sh -c 'sleep 0.2 & echo $!; wait'",
    )
    lines = out.splitlines()
    child = int(next(line for line in lines if line.isdigit()))
    assert f"off {child} {child} 1" in lines  # TASK_INTERRUPTIBLE in nanosleep
    assert f"on {child} 0" in lines

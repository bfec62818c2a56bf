"""Pass 2 of kernel-event probe points: kernel.trace, perf, the kernel tapset aliases,
in-kernel filters, -l/-L (no root needed: the catalogue is the package's own)."""

from __future__ import annotations

import pytest

from stapserver.frontend.driver import FrontEnd
from stapserver.frontend.options import parse_options
from stapserver.translator.kfilter import kernel_filters

from .test_semantic import elab, sem_error


def pystap(args: list[str]) -> tuple[int, str, str]:
    import io

    out, err = io.BytesIO(), io.StringIO()
    fe = FrontEnd(parse_options(args), stdout=out, stderr=err)
    try:
        status = fe.run()
    except Exception as exc:  # the typed errors carry the message
        return 1, out.getvalue().decode(), str(exc)
    return status, out.getvalue().decode(), err.getvalue()


def test_kernel_trace_wildcards_resolve_from_the_catalogue() -> None:
    p = elab('probe kernel.trace("sched:sched_process_e*") { print(pp()) }')
    assert [d.spec.text for d in p.probes] == [
        'kernel.trace("sched:sched_process_exec")',
        'kernel.trace("sched:sched_process_exit")',
    ]
    # each event reads its own fields: bodies are not shared
    assert len({id(d.body) for d in p.probes}) == 2


def test_fields_are_typed_from_the_catalogue() -> None:
    p = elab('probe kernel.trace("sched:sched_process_exec") { println($filename, $pid) }')
    (probe,) = p.probes
    assert [(f.name, f.kind) for f in p.body_fields[id(probe.body)]] == [
        ("filename", "string"),
        ("pid", "long"),
    ]


def test_a_missing_field_names_the_alternatives() -> None:
    text = sem_error('probe kernel.trace("sched:sched_process_exec") { println($old_pd) }')
    assert (
        "unable to find tracepoint variable '$old_pd' (alternatives: $$name, $$parms, "
        "$$vars, $filename, $pid, $old_pid)" in text
    )


def test_defined_sees_the_events_fields() -> None:
    p = elab(
        'probe kernel.trace("sched:sched_process_e*") '
        "{ if (@defined($old_pid)) println($old_pid) else println(0) }"
    )
    assert len(p.body_fields[id(p.probes[0].body)]) == 1  # exec has $old_pid
    assert p.body_fields.get(id(p.probes[1].body), []) == []  # exit has not


def test_an_unknown_tracepoint_is_no_match() -> None:
    assert "no match for tracepoint 'nosuch:event'" in sem_error(
        'probe kernel.trace("nosuch:event") {}'
    )


@pytest.mark.parametrize(
    ("point", "perf"),
    [
        ("perf.sw.cpu_clock", (1, 0, 1_000_000, 0)),
        ("perf.sw.page_faults.sample(10)", (1, 2, 10, 0)),
        ("perf.hw.cpu_cycles.hz(99)", (0, 0, 0, 99)),
        ("perf.type(1).config(3).sample(5)", (1, 3, 5, 0)),
        ("timer.profile.freq.hz(100)", (1, 0, 0, 100)),
    ],
)
def test_perf_points(point: str, perf: tuple[int, int, int, int]) -> None:
    (probe,) = elab(f"probe {point} {{ print(1) }}").probes
    assert probe.spec.perf == perf


def test_syscall_aliases_keep_only_what_the_handler_reads() -> None:
    p = elab("global n probe syscall.read { if (pid() == target() && fd == 0) n++ }")
    probe = p.probes[0]
    assert probe.spec.event is not None and probe.spec.event.text == "syscalls:sys_enter_read"
    assert list(p.body_locals[id(probe.body)]) == ["fd"]  # argstr, count... elided
    assert kernel_filters(probe.body) == [
        ("pid", "==", "target"),
        ("field", "==", 0, "fd", 4, True),
    ]


@pytest.mark.parametrize(
    ("body", "filters"),
    [
        ('if (execname() == "dd") n++', [("comm", "==", b"dd")]),
        ("if (uid() != 0 && $fd > 2) n++", [("uid", "!=", 0), ("field", ">", 2, "fd", 0, True)]),
        ("n++; if (pid() == 1) n++", []),  # work before the if: nothing provable
        ("if (pid() == 1) n++ else n--", []),
        ("if (pid() == 1 || tid() == 2) n++", []),
    ],
)
def test_filters_are_only_what_is_proved(body: str, filters: list[object]) -> None:
    p = elab(f'global n probe kernel.trace("syscalls:sys_enter_read") {{ {body} }}')
    assert kernel_filters(p.probes[0].body) == filters


def test_list_and_list_variables() -> None:
    status, out, _ = pystap(["-l", "syscall.openat*"])
    assert (status, out) == (0, "syscall.openat\nsyscall.openat2\n")
    status, out, _ = pystap(["-L", 'kernel.trace("sched:sched_process_exec")'])
    assert out == (
        'kernel.trace("sched:sched_process_exec") $filename:string $pid:long $old_pid:long\n'
    )
    status, out, _ = pystap(["-L", "syscall.close"])
    assert out.startswith("syscall.close name:string ")
    assert " fd:long " in out and out.rstrip().endswith("$fd:long")


def test_kernel_functions_are_refused_with_the_reason() -> None:
    text = sem_error('probe kernel.function("vfs_read") {}')
    assert "it probes kernel functions, which needs kprobes or BPF trampolines" in text


def test_entry_in_a_syscall_return_gets_an_entry_probe() -> None:
    p = elab(
        'probe syscall.read.return { printf("%d %d\\n", $ret, '
        "gettimeofday_us() - @entry(gettimeofday_us())) }"
    )
    texts = [d.spec.text for d in p.probes]
    assert texts == [
        'kernel.trace("syscalls:sys_exit_read")',
        'kernel.trace("syscalls:sys_enter_read")',
    ]
    assert p.probes[1].origin == "syscall.read.return (@entry)"
    assert p.entry_slots == 1


def test_entry_elsewhere_is_refused() -> None:
    assert "@entry is only available in return probes" in sem_error(
        "probe syscall.read { println(@entry(1)) }"
    )


def test_syscall_argument_functions() -> None:
    p = elab("probe syscall.openat { println(pointer_arg(2), int_arg(1)) }")
    fields = [f.name for f in p.body_fields[id(p.probes[0].body)]]
    assert fields == ["dfd", "filename"]
    text = sem_error("probe begin { println(int_arg(1)) }")
    assert "int_arg() reads a syscall's argument" in text
    text = sem_error("probe syscall.close { println(int_arg(3)) }")
    assert "int_arg(): close has 1 arguments" in text


def test_task_pointers_of_sched_tracepoints_are_their_fields() -> None:
    p = elab(
        'probe kernel.trace("sched:sched_switch") { printf("%d %s %d\\n", $prev->pid, '
        "$next->comm, task_tid($next)) }"
    )
    fields = [f.name for f in p.body_fields[id(p.probes[0].body)]]
    assert fields == ["prev_pid", "next_comm", "next_pid"]
    text = sem_error('probe kernel.trace("sched:sched_switch") { println($prev->mm) }')
    assert "cannot dereference a tracepoint field" in text


def test_argv_tapset_gives_the_arguments(tmp_path: object) -> None:
    status, out, err = pystap(
        ["-e", 'probe begin { printf("%d %s %s|\\n", argc, argv_1, argv[2]); exit() }', "a", "b"]
    )
    assert (status, out, err) == (0, "2 a b|\n", "")

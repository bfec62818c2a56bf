"""translator/syscall_tapset.py: the syscall probe aliases of the python runtime."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from stapserver.runtime import signatures
from stapserver.translator import library, syscall_tapset, tracepoints
from stapserver.translator.parser import PreprocessorContext, parse
from stapserver.translator.semantic import elaborate
from stapserver.translator.source import DiagnosticPrinter, Source

CTX = PreprocessorContext(kernel_release="6.18.0")
TRACEFS = Path("/sys/kernel/tracing/events")
PREFIXES = ("syscall", "nd_syscall", "nd1_syscall", "nd2_syscall", "tp_syscall")
BUILTINS = {"sprintf", "sprint", "user_string_quoted", "user_string_n_quoted", "return_str"}

_TRACE = re.compile(r'kernel\.trace\("([^"]+)"\)')
_FIELD = re.compile(r"\$(\w+)")
_CALL = re.compile(r"\b([A-Za-z_]\w*)\(")


def _syscall_points() -> list[str]:
    return [p for p in syscall_tapset.alias_points() if p.startswith("syscall.")]


def _split_probes(text: str) -> list[tuple[str, str]]:
    """(tracepoint, body) of each ``probe ... = kernel.trace(...) {...}`` in text."""
    out = []
    for chunk in re.split(r"(?m)^probe ", text)[1:]:
        m = _TRACE.search(chunk)
        assert m is not None, chunk
        out.append((m.group(1), chunk[m.end() :]))
    return out


def test_points_and_api() -> None:
    points = syscall_tapset.alias_points()
    assert len(points) == len(set(points))
    for p in ("syscall.openat", "syscall.openat.return", "nd_syscall.openat",
              "nd1_syscall.openat", "nd2_syscall.openat.return", "tp_syscall.openat",
              "syscall_any", "syscall_any.return", "nd_syscall_any", "tp_syscall_any.return",
              "syscall.stat", "syscall.pipe", "syscall.pread", "syscall.getdents",
              "syscall.clone3", "syscall.io_uring_enter"):  # fmt: skip
        assert p in points, p
    assert "syscall.newstat" not in points  # covered by syscall.stat, as in stap
    assert len(syscall_tapset.exact_syscalls()) >= 60
    with pytest.raises(KeyError):
        syscall_tapset.alias_source("syscall.nosuchcall")


def test_memoized_and_fast() -> None:
    start = time.perf_counter()
    for p in syscall_tapset.alias_points():
        syscall_tapset.alias_source(p)
    for p in syscall_tapset.alias_points():
        syscall_tapset.alias_source(p)
    assert time.perf_counter() - start < 2.0
    assert syscall_tapset.alias_source("syscall.read") is syscall_tapset.alias_source(
        "syscall.read"
    )


def test_openat_source() -> None:
    text = syscall_tapset.alias_source("syscall.openat")
    assert text.startswith('probe syscall.openat = kernel.trace("syscalls:sys_enter_openat")')
    assert "dfd_str = _dfd_str(dfd)" in text
    assert "filename = user_string_quoted($filename)" in text
    assert 'argstr = flags & 64 ? sprintf("%s, %s, %s, %#o"' in text
    ret = syscall_tapset.alias_source("syscall.openat.return")
    assert 'kernel.trace("syscalls:sys_exit_openat")' in ret
    assert "retstr = return_str(1, $ret)" in ret
    assert "return_str(2, $ret)" in syscall_tapset.alias_source("syscall.mmap.return")
    assert "return_str(3, $ret)" in syscall_tapset.alias_source("syscall.umask.return")


def test_prefixes_share_bodies() -> None:
    for p in _syscall_points():
        text = syscall_tapset.alias_source(p)
        rest = p.split(".", 1)[1]
        for prefix in PREFIXES[1:]:
            other = syscall_tapset.alias_source(f"{prefix}.{rest}")
            assert other == text.replace(f"probe {p} =", f"probe {prefix}.{rest} ="), p


def test_every_alias_parses() -> None:
    diag = DiagnosticPrinter()
    text = "".join(syscall_tapset.alias_source(p) for p in _syscall_points())
    text += "".join(
        syscall_tapset.alias_source(p) for p in syscall_tapset.alias_points() if "_any" in p
    )
    script = parse(Source("<syscalls>", text), (), CTX, diagnostics=diag)
    names = {name.text() for alias in script.aliases for name in alias.names}
    assert names == set(_syscall_points()) | {
        p for p in syscall_tapset.alias_points() if "_any" in p
    }


def test_bodies_are_flat_assignments() -> None:
    for p in _syscall_points():
        for _, body in _split_probes(syscall_tapset.alias_source(p)):
            lines = body.strip().strip("{}").strip().splitlines()
            for line in lines:
                assert re.match(r"^\s*\w+ = \S", line), (p, line)


def test_functions_exist() -> None:
    for p in syscall_tapset.alias_points():
        for _, body in _split_probes(syscall_tapset.alias_source(p)):
            text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', body)
            for fn in _CALL.findall(text):
                assert fn in BUILTINS or fn in signatures.FUNCTIONS, (p, fn)


def test_fields_exist_in_catalogue() -> None:
    events = tracepoints.catalogue()
    for p in syscall_tapset.alias_points():
        for tp, body in _split_probes(syscall_tapset.alias_source(p)):
            event = events.get(tp)
            assert event is not None, (p, tp)
            for field in _FIELD.findall(body):
                assert event.field(field) is not None, (p, tp, field)


@pytest.mark.skipif(
    os.geteuid() != 0 or not (TRACEFS / "syscalls").is_dir(), reason="needs root and tracefs"
)
def test_fields_exist_in_tracefs() -> None:
    formats: dict[str, set[str]] = {}
    for p in syscall_tapset.alias_points():
        for tp, body in _split_probes(syscall_tapset.alias_source(p)):
            if tp not in formats:
                group, _, name = tp.partition(":")
                fmt = (TRACEFS / group / name / "format").read_text()
                formats[tp] = set(re.findall(r"field:[^;]*?(\w+)(?:\[\d*\])?;", fmt))
            for field in _FIELD.findall(body):
                assert field in formats[tp], (p, tp, field)


@pytest.mark.skipif(not (TRACEFS / "syscalls").is_dir(), reason="needs tracefs")
def test_every_syscall_tracepoint_has_an_alias() -> None:
    used = set()
    for p in _syscall_points():
        for tp, _ in _split_probes(syscall_tapset.alias_source(p)):
            used.add(tp)
    for d in (TRACEFS / "syscalls").iterdir():
        if d.name.startswith("sys_enter_"):
            assert f"syscalls:{d.name}" in used, d.name
            assert f"syscalls:sys_exit_{d.name[10:]}" in used, d.name


def test_elaborates() -> None:
    diag = DiagnosticPrinter()
    lib = library.aliases(CTX, diag)
    points = ["syscall.openat", "syscall.openat.return", "syscall.write", "syscall.pipe",
              "syscall.futex", "syscall.mmap", "syscall.clone3", "syscall_any",
              "syscall_any.return"]  # fmt: skip
    text = "".join(syscall_tapset.alias_source(p) for p in points)
    lib.aliases.extend(parse(Source("<syscalls>", text), (), CTX, diagnostics=diag).aliases)
    script = parse(
        Source(
            "<input>",
            "probe syscall.openat, syscall.write, syscall.pipe, syscall.futex, syscall.mmap, "
            'syscall.clone3 { printf("%s %d %s\\n", name, syscall_nr, argstr) } '
            'probe syscall.openat.return, syscall_any.return { printf("%s %d\\n", name, retval) }'
            " probe syscall_any { println(name) }",
        ),
        (),
        CTX,
        diagnostics=diag,
        library_macros=library.macros(CTX),
    )
    program = elaborate(script, diagnostics=diag, library=lib)
    assert len(program.probes) == 10  # syscall.pipe: pipe and pipe2

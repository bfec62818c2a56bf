"""The python runtime's own tapset: the probe aliases and library macros of SystemTap's
tapsets that mean the same thing in user space, written for this runtime.

Library macros (SystemTap's ``.stpm`` files) are visible to every script; probe aliases
are resolved in pass 2 like the script's own.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable

from . import ast
from .parser import Macro, PreprocessorContext, parse, parse_library_macros
from .source import DiagnosticPrinter, Source

TAPSET_NAME = "<python runtime tapset>"
MACROS_NAME = "<python runtime macros>"

PROBE_ALIASES = """\
probe init = begin(-9223372036854775808) {}
probe oneshot += begin { exit() }
"""

LIBRARY_MACROS = """\
@define choose_defined(value_if_defined, alternate) %(
  (@defined(@value_if_defined) ? (@value_if_defined) : (@alternate))
%)
@define try_assign(assign_to, try_body, catch_body) %(
  try { @assign_to = @try_body } catch { @assign_to = @catch_body }
%)
"""


def macros(ctx: PreprocessorContext) -> dict[str, Macro]:
    return parse_library_macros(Source(MACROS_NAME, LIBRARY_MACROS), ctx)


def aliases(
    ctx: PreprocessorContext,
    diagnostics: DiagnosticPrinter,
    scripts: Iterable[ast.ScriptFile] = (),
) -> ast.ScriptFile:
    """The runtime's probe aliases: its own, and those of the kernel-event tapsets
    (syscalls, scheduler, signals...) that the probe points of ``scripts`` may name:
    there are thousands, and pass 1 reads only those."""
    text = PROBE_ALIASES + "".join(kernel_alias_sources(scripts))
    return parse(Source(TAPSET_NAME, text), (), ctx, diagnostics=diagnostics)


def _tapsets() -> list[tuple[list[str], object]]:
    from . import syscall_tapset

    found: list[tuple[list[str], object]] = [
        (syscall_tapset.alias_points(), syscall_tapset.alias_source)
    ]
    try:
        from . import tracepoint_tapset  # type: ignore[attr-defined, unused-ignore]
    except ImportError:
        return found
    found.append((tracepoint_tapset.alias_points(), tracepoint_tapset.alias_source))
    return found


def _patterns(scripts: Iterable[ast.ScriptFile]) -> set[tuple[str, ...]]:
    """Every probe point the scripts name (probes, and what their aliases expand to),
    as functor tuples; points with arguments name no kernel-tapset alias."""
    out: set[tuple[str, ...]] = set()
    for script in scripts:
        points = [pt for probe in script.probes for pt in probe.points]
        points += [pt for alias in script.aliases for pt in alias.points]
        for pt in points:
            if all(c.arg is None for c in pt.components):
                out.add(tuple(c.functor for c in pt.components))
    return out


def kernel_alias_sources(scripts: Iterable[ast.ScriptFile]) -> list[str]:
    """The definitions of the kernel-tapset aliases matching the scripts' points."""
    patterns = _patterns(scripts)
    if not patterns:
        return []
    out: list[str] = []
    for points, source in _tapsets():
        for point in points:
            parts = point.split(".")
            for pattern in patterns:
                if len(pattern) == len(parts) and all(
                    fnmatch.fnmatchcase(part, pat) for part, pat in zip(parts, pattern, strict=True)
                ):
                    out.append(source(point) + "\n")  # type: ignore[operator]
                    break
    return out


ARGV_NAME = "<python runtime argv tapset>"
ARGV_SLOTS = 32


def argv_tapset(
    script: ast.ScriptFile,
    args: list[str],
    ctx: PreprocessorContext,
    diagnostics: DiagnosticPrinter,
) -> ast.ScriptFile | None:
    """SystemTap's argv tapset, for a script that reads ``argc``, ``argv[N]`` or
    ``argv_N`` without declaring them: the script's arguments as globals (``argv_N`` may
    be set with -G).  Only the globals the script names are made, so no other is
    displayed at the end; None when it names none."""
    declared = {g.name for g in script.globals}
    names = (ast.symbol_names(script.probes) | ast.symbol_names(script.functions)) - declared
    slots = [f"argv_{n}" for n in range(1, ARGV_SLOTS + 1)]
    wanted = [n for n in ["argc", *slots] if n in names or (n != "argc" and "argv" in names)]
    if not wanted:
        return None
    lines = []
    if "argc" in wanted:
        lines.append("global argc = $#")
    for name in wanted:
        if name != "argc":
            n = int(name[5:])
            lines.append(f'global {name} = %( $# >= {n} %? @{n} %: "" %)')
    if "argv" in names:
        lines.append(f"global argv[{ARGV_SLOTS}]")
        sets = "".join(f"  argv[{n}] = argv_{n}\n" for n in range(1, ARGV_SLOTS + 1))
        lines.append(f"probe init {{\n{sets}}}")
    text = "\n".join(lines) + "\n"
    lib = parse(Source(ARGV_NAME, text), tuple(args), ctx, diagnostics=diagnostics)
    # the tapset passes every argument on: none is unused (stap does not warn either)
    script.unused_args = []
    return lib

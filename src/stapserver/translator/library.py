"""The python runtime's own tapset: the probe aliases and library macros of SystemTap's
tapsets that mean the same thing in user space, written for this runtime.

Library macros (SystemTap's ``.stpm`` files) are visible to every script; probe aliases
are resolved in pass 2 like the script's own.
"""

from __future__ import annotations

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


def aliases(ctx: PreprocessorContext, diagnostics: DiagnosticPrinter) -> ast.ScriptFile:
    return parse(Source(TAPSET_NAME, PROBE_ALIASES), (), ctx, diagnostics=diagnostics)

"""Hostile and random input to the front end: whatever the script or the command line,
the passes end in output or in one of our typed errors (which the CLI prints as one
message), never in any other exception (an internal error)."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stapserver.errors import StapError
from stapserver.frontend.options import parse_options
from stapserver.translator import ast
from stapserver.translator.unparse import script_text

from ..translator.test_unparse import probe_of, statements
from .test_driver import run

# pieces of the language, so that random scripts get past the lexer and into the
# parser and the semantic pass, mixed with characters stap never expects
WORDS = [
    "probe", "begin", "end", "timer.ms(10)", "global", "function", "private", "if",
    "else", "while", "for", "foreach", "in", "delete", "return", "next", "break",
    "continue", "limit", "try", "catch", "exit()", "printf", "println", "sprintf",
    "strlen", "@count", "@sum", "@hist_log", "@defined", "@entry", "@cast", "@define",
    "@1", "$1", "$#", "@#", "$var", "%(", "%?", "%:", "%)", "kernel_v", "arch", "%{", "%}",
    "{", "}", "(", ")", "[", "]", ";", ",", ":", "?", "=", "==", "<<<", "+=", ".=", ".",
    "++", "--", "!", "~", "&&", "||", "=~", "!~", "+", "-", "*", "/", "%", "<<", ">>",
    "x", "a", "s", "k", "v", "long", "string", "0", "1", "-1", "0x7f", "010",
    "99999999999999999999",
    '"str"', '"%d %s\\n"', '"\\x"', "#", "//", "/*", "*/", "\n", " ", "\u00b9", "\u0663",
    "\u00e9", "\x00", "\\", "$\u00b9", "@\u0663",
]  # fmt: skip

scripts = st.lists(st.sampled_from(WORDS) | st.text(max_size=3), max_size=40).map(" ".join)


def front_end(argv: list[str], tmp_path: Path) -> None:
    with contextlib.suppress(StapError):
        run(argv, tmp_path)


def examples(n: int) -> settings:
    return settings(
        max_examples=n,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )


@examples(400)
@given(script=scripts, last_pass=st.sampled_from(["-p1", "-p2", "-p3"]))
def test_random_scripts_end_in_a_typed_error_or_output(
    tmp_path: Path, script: str, last_pass: str
) -> None:
    front_end([last_pass, "-e", script, "arg", "2"], tmp_path)


@examples(200)
@given(
    prefix=st.lists(st.sampled_from(WORDS[:20]), min_size=1, max_size=8),
    body=scripts,
)
def test_random_probe_bodies_end_in_a_typed_error_or_output(
    tmp_path: Path, prefix: list[str], body: str
) -> None:
    # a well-formed frame around random statements reaches the semantic pass more often
    script = f"global g probe begin {{ {body} }} function f(x) {{ {' '.join(prefix)} }}"
    front_end(["-p3", "-e", script], tmp_path)


@examples(150)
@given(st.lists(statements, min_size=1, max_size=4))
# the statement strategy is recursive: hypothesis warns that its repr is large
@pytest.mark.filterwarnings("ignore:Generating overly large repr")
def test_random_well_formed_scripts_run_or_end_in_a_typed_error(
    tmp_path: Path, body: list[ast.Stmt]
) -> None:
    # scripts that parse (random statement trees printed as text) reach the semantic
    # pass, the code generator and, when they pass those, the runtime (pass 5)
    text = script_text(probe_of(body)) + "\nprobe begin(1) { exit() }\n"
    front_end(["-e", text], tmp_path)


OPTION_WORDS = [
    "-p", "-p3", "-e", "-v", "-vvv", "-m", "-o", "-c", "-x", "-D", "-DMAXACTION=x", "-w",
    "-g", "--runtime=python", "--runtime", "--privilege=stapusr", "-V", "-h", "-I", "-R",
    "-r", "-s", "--", "-", "=", "", "probe begin { exit() }", "1", "-1", "\u00b2", "--unknown",
    "--runtime=\u00e9", "-x\u0663", "-DMAXSTRINGLEN=99999999999999999999", "-G", "x=1",
]  # fmt: skip


@examples(300)
@given(st.lists(st.sampled_from(OPTION_WORDS) | st.text(max_size=4), max_size=8))
def test_random_command_lines_parse_or_give_a_usage_error(argv: list[str]) -> None:
    with contextlib.suppress(StapError):
        parse_options(argv)

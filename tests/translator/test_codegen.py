"""Pass 3: the generated module compiles, is deterministic, and is named and sized as stap
would (MAXNESTING from the call graph)."""

from __future__ import annotations

import ast as pyast
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from stapserver.errors import TranslateError
from stapserver.frontend.driver import module_name_for, settings_from
from stapserver.frontend.options import parse_options
from stapserver.runtime import loader
from stapserver.runtime.engine import RunOptions, run_module
from stapserver.translator import library
from stapserver.translator.codegen import ABI, Settings, generate, maxnesting
from stapserver.translator.parser import PreprocessorContext, parse
from stapserver.translator.semantic import Program, elaborate
from stapserver.translator.source import DiagnosticPrinter, Source

CTX = PreprocessorContext(kernel_release="6.1.0-57-amd64")
PYSTAP = [sys.executable, "-m", "stapserver.cli.pystap"]


def program(text: str) -> Program:
    diag = DiagnosticPrinter()
    script = parse(
        Source("<input>", text), (), CTX, diagnostics=diag, library_macros=library.macros(CTX)
    )
    return elaborate(script, diagnostics=diag, library=library.aliases(CTX, diag))


def code_of(text: str, settings: Settings | None = None, name: str = "stap_test") -> str:
    return generate(program(text), settings or Settings(), name)


SCRIPTS = [
    'probe begin { println("hello"); exit() }',
    'global a, s probe begin { a[1, "x"] = 2; s <<< 3; foreach ([k, v] in a- limit 1) '
    'printf("%d %s %d\\n", k, v, a[k, v]); print(@hist_log(s)); exit() }',
    "function fib(n) { return n < 2 ? n : fib(n - 1) + fib(n - 2) } "
    "probe begin { println(fib(10)); exit() }",
    "global n probe timer.ms(10) { if (++n > 3) exit() } probe end { println(n) }",
    'probe begin { try { error("boom") } catch (e) { println(e) } exit() }',
    "global on = 1 probe begin if (on) { x = 1; while (x < 100) x *= 2; println(x); exit() }",
    'probe begin { s = "abc"; if (s =~ "^a(b)") println(matched(1)); exit() }',
    'probe oneshot { printd(",", 1, "a", 2) println() }',
    "global st probe begin { for (i = 0; i < 10; i++) st <<< i; "
    'printdln(" ", @count(st), @sum(st), @min(st), @max(st), @avg(st), @variance(st, 1)); exit() }',
    "probe begin { x = 7; x <<= 2; x |= 1; x ^= 3; x %= 5; "
    'printdln(" ", x, x >>> 1, -8 >> 1); exit() }',
    "probe begin, end { println(pp()) } probe begin { exit() }",
    'probe error { println("error probe") } probe begin { error("x") }',
]


@pytest.mark.parametrize("text", SCRIPTS)
def test_generated_source_compiles(text: str) -> None:
    code = code_of(text)
    pyast.parse(code)
    compile(code, "stap_test.py", "exec", dont_inherit=True)
    module = loader.load_source(code, "stap_test.py")
    assert module.ABI == ABI
    assert module.NAME == "stap_test"
    assert callable(module.build)
    assert set(module.SETTINGS) == {
        "MAXACTION",
        "MAXACTION_INTERRUPTIBLE",
        "MAXMAPENTRIES",
        "MAXSTRINGLEN",
        "MAXNESTING",
        "MAXERRORS",
        "MAXSKIPPED",
        "HIST_ELISION",
    }


def test_generated_module_starts_with_the_loader_marker() -> None:
    code = code_of(SCRIPTS[0])
    assert code.startswith(loader.MARKER + "stap_test.")


def run(text: str) -> tuple[int, bytes, str]:
    module = loader.load_source(code_of(text), "stap_test.py")
    out = io.BytesIO()
    err = io.StringIO()
    rc = run_module(module, RunOptions(), out, err)
    return rc, out.getvalue(), err.getvalue()


def test_generated_module_runs() -> None:
    assert run('probe begin { println("hello ", 1 + 2); exit() }') == (0, b"hello 3\n", "")


def test_generated_recursion_runs() -> None:
    rc, out, _ = run(SCRIPTS[2])
    assert (rc, out) == (0, b"55\n")


def test_generated_statistics_run() -> None:
    rc, out, _ = run(SCRIPTS[8])
    assert (rc, out) == (0, b"10 45 0 9 4 9\n")


def test_print_concatenates_its_arguments() -> None:
    assert run('probe begin { println(1, "a", 2); exit() }')[:2] == (0, b"1a2\n")


def test_next_in_a_function_dispatches_to_the_next_overload() -> None:
    text = (
        "function f(x) { if (x < 0) next; return x } function f(x) { return -x } "
        'probe begin { println(f(-2), " ", f(3)); exit() }'
    )
    assert run(text)[:2] == (0, b"2 3\n")


def test_printing_a_statistic_is_a_pass3_error() -> None:
    # stap -p3 (the repeat is counted as suppressed, as stap meets the argument twice)
    with pytest.raises(TranslateError) as info:
        code_of("global a probe begin { a[1] <<< 1; print(a[1]) }")
    assert str(info.value) == (
        "semantic error: print format actual argument evaluation type unsupported: "
        "identifier 'a' at <input>:1:42\n"
        "        source: global a probe begin { a[1] <<< 1; print(a[1]) }\n"
        "                                                         ^\n"
        "\n"
        "Pass 3: translation failed.  [man error::pass3]"
    )


# ---------------------------------------------------------------------- determinism


@pytest.mark.parametrize("text", SCRIPTS)
def test_same_input_gives_the_same_source(text: str) -> None:
    assert code_of(text) == code_of(text)


def test_settings_change_the_source() -> None:
    a = code_of(SCRIPTS[0], Settings(MAXACTION=5))
    b = code_of(SCRIPTS[0])
    assert a != b
    assert "'MAXACTION': 5," in a


def _p3(args: list[str], cwd: Path, seed: str) -> bytes:
    env = dict(os.environ, PYTHONHASHSEED=seed)
    result = subprocess.run(
        [*PYSTAP, *args], cwd=cwd, env=env, capture_output=True, check=True, timeout=60
    )
    return result.stdout


DETERMINISM_SCRIPT = (
    'global a, b, c, s function f(x) { return x . "!" } function g(n) { return n * 2 } '
    'probe begin { a["z"] = 1; a["a"] = 2; b[g(1), f("k")] = "v"; c = 3; s <<< 1 } '
    "probe timer.s(1) { foreach (k in a) c += a[k] } "
    'probe end { printf("%d %s\\n", c, b[2, "k!"]); print(@hist_log(s)) }'
)


def test_pass3_is_identical_across_processes(tmp_path: Path) -> None:
    args = ["-p3", "-e", DETERMINISM_SCRIPT, "-D", "MAXACTION=500"]
    first = _p3(args, tmp_path, "1")
    second = _p3(args, tmp_path, "4242")
    assert first == second
    assert first.startswith(b'"""SystemTap python-runtime module stap_')


def test_pass4_module_bytes_are_identical_across_processes(tmp_path: Path) -> None:
    a = tmp_path / "a"
    b = tmp_path / "b"
    a.mkdir()
    b.mkdir()
    name_a = _p3(["-p4", "-e", DETERMINISM_SCRIPT], a, "7").decode().strip()
    name_b = _p3(["-p4", "-e", DETERMINISM_SCRIPT], b, "99").decode().strip()
    assert name_a == name_b
    assert (a / name_a).read_bytes() == (b / name_b).read_bytes()


# ---------------------------------------------------------------------- module names


TARGET = ("6.1.0-57-amd64", "x86_64")


def name_for(
    argv: list[str],
    script: str = "probe begin { }",
    target: tuple[str, str] = TARGET,
    libraries: tuple[str, ...] = (),
) -> str:
    options = parse_options(argv)
    return module_name_for(script, options, settings_from(options), target, list(libraries))


def test_module_name_shape() -> None:
    name = name_for(["-e", "x"])
    assert name.startswith("stap_")
    assert len(name) == len("stap_") + 32
    assert all(c in "0123456789abcdef" for c in name[5:])


def test_module_name_is_stable() -> None:
    assert name_for(["-e", "x"]) == name_for(["-e", "x"])


@pytest.mark.parametrize(
    "other",
    [
        ["-e", "x", "arg"],
        ["-e", "x", "-D", "MAXACTION=5"],
        ["-e", "x", "-G", "g=1"],
        ["-e", "x", "--privilege=stapusr"],
        ["-e", "x", "--compatible=4.0"],
    ],
)
def test_module_name_depends_on_what_shapes_the_module(other: list[str]) -> None:
    assert name_for(other) != name_for(["-e", "x"])


def test_module_name_depends_on_the_script_target_and_libraries() -> None:
    base = name_for(["-e", "x"])
    assert name_for(["-e", "x"], "probe end { }") != base
    assert name_for(["-e", "x"], target=("5.10.0", "x86_64")) != base
    assert name_for(["-e", "x"], target=(TARGET[0], "arm64")) != base
    assert name_for(["-e", "x"], libraries=("function f() { }",)) != base


def test_module_name_ignores_verbosity_and_output() -> None:
    assert name_for(["-e", "x"]) == name_for(["-v", "-o", "out.txt", "-e", "x"])


def test_generated_name() -> None:
    assert "NAME = 'my_mod'" in code_of(SCRIPTS[0], name="my_mod")


# ---------------------------------------------------------------------- MAXNESTING


def test_maxnesting_without_functions() -> None:
    assert maxnesting(program("probe begin { println(1) }")) == 1


def test_maxnesting_of_one_function() -> None:
    assert maxnesting(program("function f() { println(1) } probe begin { f() }")) == 1


def test_maxnesting_of_direct_recursion() -> None:
    # stap 4.8: #define MAXNESTING 13 (stap_common.h of `stap -p3 -k`)
    text = "function f(n) { if (n > 0) f(n-1); println(n) } probe begin { f(3) }"
    assert maxnesting(program(text)) == 13


def test_maxnesting_of_mutual_recursion() -> None:
    # stap 4.8: 14
    text = (
        "function g(n) { if (n > 0) f(n-1); println(n) } function f(n) { g(n) } "
        "probe begin { f(3) }"
    )
    assert maxnesting(program(text)) == 14


@pytest.mark.xfail(
    strict=True,
    reason="for a non-recursive chain stap counts calls from each function body (f -> g: "
    "MAXNESTING 2, f -> g -> h: 3, per stap_common.h of `stap -p3 -k`); pystap starts the "
    "stack with the function itself and gives 3 and 4",
)
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("function g() { println(1) } function f() { g() } probe begin { f() }", 2),
        (
            "function h() { println(1) } function g() { h() } function f() { g() } "
            "probe begin { f() }",
            3,
        ),
        (
            "function g(x) { println(x); return x } function f() { return g(g(1)) } "
            "probe begin { f() }",
            2,
        ),
    ],
)
def test_maxnesting_of_call_chains(text: str, expected: int) -> None:
    assert maxnesting(program(text)) == expected


def test_maxnesting_is_in_the_module_settings() -> None:
    text = "function f(n) { if (n > 0) f(n-1); println(n) } probe begin { f(3) }"
    module = loader.load_source(code_of(text), "stap_test.py")
    assert module.SETTINGS["MAXNESTING"] == 13


def test_maxnesting_from_the_command_line_wins() -> None:
    options = parse_options(["-D", "MAXNESTING=5", "-e", "x"])
    settings = settings_from(options)
    module = loader.load_source(code_of(SCRIPTS[2], settings), "stap_test.py")
    assert module.SETTINGS["MAXNESTING"] == 5


def test_settings_defaults() -> None:
    module = loader.load_source(code_of(SCRIPTS[0]), "stap_test.py")
    assert module.SETTINGS == {
        "MAXACTION": 1000,
        "MAXACTION_INTERRUPTIBLE": 10000,
        "MAXMAPENTRIES": 2048,
        "MAXSTRINGLEN": 512,
        "MAXNESTING": 1,
        "MAXERRORS": 0,
        "MAXSKIPPED": 100,
        "HIST_ELISION": 2,  # stap's runtime/stat-common.c: #define HIST_ELISION 2
    }


def test_settings_from_defines() -> None:
    options = parse_options(
        ["-D", "MAXACTION=0x10", "-D", "MAXSTRINGLEN=64", "-DMAXMAPENTRIES=10", "-e", "x"]
    )
    settings = settings_from(options)
    assert (settings.MAXACTION, settings.MAXSTRINGLEN, settings.MAXMAPENTRIES) == (16, 64, 10)
    assert settings.maxaction_interruptible == 160


def test_hist_elision_from_defines() -> None:
    settings = settings_from(parse_options(["-D", "HIST_ELISION=0", "-e", "x"]))
    module = loader.load_source(code_of(SCRIPTS[0], settings), "stap_test.py")
    assert module.SETTINGS["HIST_ELISION"] == 0

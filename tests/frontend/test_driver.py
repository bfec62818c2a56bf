"""The front end (passes 1-5 of a stap command line) with in-memory streams."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from stapserver.errors import InputError, ParseError, SemanticError, StapError, UsageError
from stapserver.frontend.driver import USAGE, FrontEnd, version_text
from stapserver.frontend.options import parse_options
from stapserver.runtime import loader

RELEASE = "6.1.0-57-amd64"


@dataclass
class Result:
    rc: int
    out: bytes
    err: str

    @property
    def text(self) -> str:
        return self.out.decode("utf-8", "surrogateescape")


def run(argv: list[str], cwd: Path, stdin: bytes = b"") -> Result:
    out = io.BytesIO()
    err = io.StringIO()
    fe = FrontEnd(
        parse_options(["-r", RELEASE, *argv]),
        stdin=io.BytesIO(stdin),
        stdout=out,
        stderr=err,
        cwd=str(cwd),
    )
    rc = fe.run()
    return Result(rc, out.getvalue(), err.getvalue())


def fails(argv: list[str], cwd: Path, kind: type[StapError] = StapError) -> str:
    with pytest.raises(kind) as info:
        run(argv, cwd)
    return str(info.value)


HELLO = 'probe begin { println("hello") exit() }'


# ---------------------------------------------------------------------- passes 1-4


def test_pass1_prints_the_parse_tree(tmp_path: Path) -> None:
    r = run(["-p1", "-e", "global g probe begin { g = 1 + 2 * 3 }"], tmp_path)
    assert r.rc == 0
    assert r.text == (
        "# parse tree dump\n# file <input>\nglobal g\nprobe begin {\n  g = 1 + 2 * 3;\n}\n"
    )
    assert r.err == ""


def test_pass1_of_a_script_file(tmp_path: Path) -> None:
    (tmp_path / "s.stp").write_text("probe end { }\n")
    r = run(["-p1", "s.stp"], tmp_path)
    assert r.text.startswith("# parse tree dump\n# file s.stp\nprobe end {\n")


def test_pass1_from_standard_input(tmp_path: Path) -> None:
    r = run(["-p1", "-"], tmp_path, stdin=b"probe begin { x = 1 }")
    assert r.text.startswith("# parse tree dump\n# file <input>\n")
    assert "  x = 1;\n" in r.text


def test_pass1_pastes_script_arguments(tmp_path: Path) -> None:
    r = run(["-p1", "-e", "probe begin { x = $1 + 1; y = @2 }", "41", "s"], tmp_path)
    assert '  x = 41 + 1;\n  y = "s";\n' in r.text


def test_pass1_preprocesses_for_the_target(tmp_path: Path) -> None:
    script = (
        '%( kernel_v >= "6.1" && runtime == "python" %? probe begin { x = 1 } '
        "%: probe begin { x = 2 } %)"
    )
    assert "x = 1;" in run(["-p1", "-e", script], tmp_path).text
    assert "x = 2;" in run(["-p1", "-r", "5.10.0", "-e", script], tmp_path).text


def test_pass1_parse_error(tmp_path: Path) -> None:
    assert fails(["-p1", "-e", "probe begin { x = 1 + }"], tmp_path, ParseError) == (
        "parse error: expected literal string or number\n"
        "        saw: operator '}' at <input>:1:23\n"
        "     source: probe begin { x = 1 + }\n"
        "                                   ^\n"
        "\n"
        "1 parse error.\n"
        "Pass 1: parse failed.  [man error::pass1]"
    )


def test_pass2_listing(tmp_path: Path) -> None:
    script = (
        'global n, s function f(x) { return x . "!" } '
        'probe begin { n = 1; s = f("a"); l = 2; println(n, s, l) } probe end { println(1) }'
    )
    r = run(["-p2", "-e", script], tmp_path)
    assert r.text == (
        "# globals\n"
        "n:long\n"
        "s:string\n"
        "# functions\n"
        "f:string (x:string)\n"
        "# probes\n"
        "begin /* <- begin */\n"
        "  # locals\n"
        "  l:long\n"
        "end /* <- end */\n"
    )


def test_pass2_listing_names_the_alias(tmp_path: Path) -> None:
    r = run(["-p2", "-e", "probe oneshot { println(1) }"], tmp_path)
    assert "begin /* <- oneshot */\n" in r.text


def test_pass2_listing_shows_index_types(tmp_path: Path) -> None:
    script = (
        'global s, a, b%, c[10], d = "x", e = 5 probe begin { s <<< 1; a[1,"x"] = "y"; '
        'b[2] <<< 3; c["k"] = 1; println(@count(s), a[1,"x"], @sum(b[2]), c["k"], d, e); '
        "exit() }"
    )
    r = run(["-p2", "-e", script], tmp_path)
    # stap 4.8 -p2 prints exactly these lines under "# globals"
    assert r.text.startswith(
        "# globals\n"
        "s:stats\n"
        "a:string [long, string]\n"
        "b%:stats [long]\n"
        "c[10]:long [string]\n"
        "d:string\n"
        "e:long\n"
    )


def test_pass2_semantic_error(tmp_path: Path) -> None:
    text = fails(["-p2", "-e", "probe begin { print(nosuch()) }"], tmp_path, SemanticError)
    assert text.endswith("Pass 2: analysis failed.  [man error::pass2]")


def test_pass3_prints_the_module_source(tmp_path: Path) -> None:
    r = run(["-p3", "-e", HELLO], tmp_path)
    assert r.text.startswith(loader.MARKER + "stap_")
    compile(r.text, "m.py", "exec")
    assert list(tmp_path.iterdir()) == []


def test_pass4_writes_the_module(tmp_path: Path) -> None:
    r = run(["-p4", "-e", HELLO], tmp_path)
    name = r.text.strip()
    assert re.fullmatch(r"stap_[0-9a-f]{32}\.py", name)
    module = loader.load_file(tmp_path / name)
    assert name[:-3] == module.NAME


def test_pass3_and_pass4_agree(tmp_path: Path) -> None:
    code = run(["-p3", "-e", HELLO], tmp_path).text
    name = run(["-p4", "-e", HELLO], tmp_path).text.strip()
    assert (tmp_path / name).read_text() == code


def test_module_name_option(tmp_path: Path) -> None:
    r = run(["-m", "hello_mod", "-e", HELLO], tmp_path)
    assert (r.rc, r.out) == (0, b"hello\n")
    module = loader.load_file(tmp_path / "hello_mod.py")
    assert module.NAME == "hello_mod"


def test_module_name_option_at_pass4(tmp_path: Path) -> None:
    r = run(["-p4", "-m", "m1", "-e", HELLO], tmp_path)
    assert r.text == "m1.py\n"
    assert (tmp_path / "m1.py").exists()


# ---------------------------------------------------------------------- pass 5


def test_pass5_runs_the_script(tmp_path: Path) -> None:
    r = run(["-e", HELLO], tmp_path)
    assert (r.rc, r.out, r.err) == (0, b"hello\n", "")
    assert list(tmp_path.iterdir()) == []


def test_pass5_with_arguments_and_globals(tmp_path: Path) -> None:
    script = 'global g = 1, s = "x" probe begin { printf("%d %s %s\\n", g + $1, s, @2); exit() }'
    r = run(["-G", "g=41", "-G", "s=hi", "-e", script, "1", "two"], tmp_path)
    assert r.out == b"42 hi two\n"


def test_pass5_output_file(tmp_path: Path) -> None:
    r = run(["-o", "out.txt", "-e", HELLO], tmp_path)
    assert (r.rc, r.out) == (0, b"")
    assert (tmp_path / "out.txt").read_bytes() == b"hello\n"


def test_pass5_error_fails_the_run(tmp_path: Path) -> None:
    r = run(["-e", 'probe begin { error("boom") }'], tmp_path)
    assert r.rc == 1
    assert "ERROR: boom" in r.err
    assert r.err.endswith("Pass 5: run failed.  [man error::pass5]\n")


# ---------------------------------------------------------------------- -v, -V, -h


PASS_LINES = [
    r"Pass 1: parsed user script and 1 library script using \d+virt/\d+res/\d+shr/\d+data kb, "
    r"in \d+usr/\d+sys/\d+real ms\.",
    r"Pass 2: analyzed script: 1 probe, 1 function, 0 embeds, 1 global using "
    r"\d+virt/\d+res/\d+shr/\d+data kb, in \d+usr/\d+sys/\d+real ms\.",
    r'Pass 3: translated to Python into "stap_[0-9a-f]{32}\.py" using '
    r"\d+virt/\d+res/\d+shr/\d+data kb, in \d+usr/\d+sys/\d+real ms\.",
    r'Pass 4: compiled Python into "stap_[0-9a-f]{32}\.py" in \d+usr/\d+sys/\d+real ms\.',
    r"Pass 5: starting run\.",
    r"Pass 5: run completed in \d+usr/\d+sys/\d+real ms\.",
]
VERBOSE_SCRIPT = "global g function f() { return 1 } probe begin { g = f(); println(g); exit() }"


@pytest.mark.parametrize("last", [1, 2, 3, 4, 5])
def test_verbose_pass_lines(tmp_path: Path, last: int) -> None:
    r = run(["-v", f"-p{last}", "-e", VERBOSE_SCRIPT], tmp_path)
    lines = r.err.splitlines()
    expected = PASS_LINES[: last + (1 if last == 5 else 0)]
    assert len(lines) == len(expected), r.err
    for line, pattern in zip(lines, expected, strict=True):
        assert re.fullmatch(pattern, line), line


def test_verbose_counts_plurals(tmp_path: Path) -> None:
    script = "global a, b probe begin, end { a = 1; b = 2; println(a + b) }"
    r = run(["-v", "-p2", "-e", script], tmp_path)
    assert "Pass 2: analyzed script: 2 probes, 0 functions, 0 embeds, 2 globals using " in r.err


def test_version(tmp_path: Path) -> None:
    r = run(["-V"], tmp_path)
    assert r.rc == 0
    assert r.text == version_text()
    assert r.text.startswith("stapserver python runtime ")
    assert "(SystemTap 4.8 language, runtime python)" in r.text.splitlines()[0]


def test_help(tmp_path: Path) -> None:
    for flag in ("-h", "--help"):
        r = run([flag], tmp_path)
        assert (r.rc, r.text) == (0, USAGE)
    assert USAGE.startswith("Usage: pystap [options] FILE [ARGS ...]")
    assert "-p NUM" in USAGE


# ---------------------------------------------------------------------- refusals


def test_missing_script_file(tmp_path: Path) -> None:
    assert fails(["-p1", "nope.stp"], tmp_path, InputError) == "Input file 'nope.stp' is missing."


@pytest.mark.xfail(
    strict=True,
    reason="stap 4.8 also prints 'Pass 1: parse failed.  [man error::pass1]' after "
    "\"Input file 'nope.stp' is missing.\"",
)
def test_missing_script_file_fails_pass1(tmp_path: Path) -> None:
    assert fails(["-p1", "nope.stp"], tmp_path, InputError) == (
        "Input file 'nope.stp' is missing.\nPass 1: parse failed.  [man error::pass1]"
    )


def test_script_file_that_is_a_directory(tmp_path: Path) -> None:
    (tmp_path / "d.stp").mkdir()
    assert "Input file 'd.stp' can't be opened for reading" in fails(
        ["d.stp"], tmp_path, InputError
    )


def test_no_script(tmp_path: Path) -> None:
    assert fails(["-p2"], tmp_path, UsageError) == "A script must be specified."


@pytest.mark.parametrize("runtime", ["kernel", "bpf", "dyninst"])
def test_other_runtimes_are_refused(tmp_path: Path, runtime: str) -> None:
    assert fails([f"--runtime={runtime}", "-e", HELLO], tmp_path, UsageError) == (
        f"--runtime={runtime} needs SystemTap: run the script with stap-client against a "
        "compile server that has it"
    )


def test_runtime_python_is_accepted(tmp_path: Path) -> None:
    assert run(["--runtime=python", "-e", HELLO], tmp_path).out == b"hello\n"


def test_list_probes(tmp_path: Path) -> None:
    assert run(["-l", "begin"], tmp_path).out == b"begin\n"
    assert run(["-L", "timer.s(1)"], tmp_path).out == b"timer.s(1)\n"


def test_bad_define_value(tmp_path: Path) -> None:
    assert fails(["-D", "MAXACTION=lots", "-e", HELLO], tmp_path, UsageError) == (
        "Invalid value 'lots' for -D MAXACTION: expected a number."
    )


def test_global_setting_needs_a_scalar_global(tmp_path: Path) -> None:
    text = fails(["-G", "nosuch=1", "-e", HELLO], tmp_path, UsageError)
    assert text == "-G nosuch: no scalar global 'nosuch' in the script."


def test_embedded_code_refused_without_guru_mode(tmp_path: Path) -> None:
    text = fails(["-p1", "-e", "probe begin { %{ x %} }"], tmp_path, ParseError)
    assert "embedded expression code in unprivileged script; need stap -g" in text


@pytest.mark.xfail(
    strict=True,
    reason="stap warns when a macro reuses a built-in @ operator's name (\"WARNING: macro "
    "redefines built-in operator '@cast': identifier 'cast' at <input>:1:9\"); pystap is "
    "silent",
)
def test_macro_redefining_an_operator_warns(tmp_path: Path) -> None:
    r = run(["-p1", "-e", "@define cast %( 1 %) probe begin { }"], tmp_path)
    assert r.err == (
        "WARNING: macro redefines built-in operator '@cast': identifier 'cast' at <input>:1:9\n"
        " source: @define cast %( 1 %) probe begin { }\n"
        "                 ^\n"
    )


# ---------------------------------------------------------------------- -I


def test_include_directory_functions_and_aliases(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "a.stp").write_text('function greet(n) { return "hi " . n } probe hello = begin { }\n')
    r = run(["-I", "lib", "-e", 'probe hello { println(greet("you")); exit() }'], tmp_path)
    assert r.out == b"hi you\n"


def test_include_directory_must_exist(tmp_path: Path) -> None:
    assert "Cannot read tapset directory 'nodir'" in fails(
        ["-I", "nodir", "-e", HELLO], tmp_path, InputError
    )


# ---------------------------------------------------------------------- the pystap command


def test_pystap_command_prints_errors_and_exits_1(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "stapserver.cli.pystap", "-p9", "-e", HELLO],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (result.returncode, result.stdout, result.stderr) == (
        1,
        "",
        "Invalid pass number (should be 1-5).\n",
    )


def test_pystap_command_runs_a_script(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "stapserver.cli.pystap", "-e", HELLO],
        cwd=tmp_path,
        capture_output=True,
        timeout=60,
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, b"hello\n", b"")

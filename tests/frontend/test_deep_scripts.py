"""Deep and long scripts through every pass of the front end (issue 11, item 5).

A sum of thousands of terms, thousands of nested blocks, parentheses, ``else if``s and
``if``s: each pass (-p1 printed, -p2 listed, -p3 Python that CPython compiles with its
default recursion limit, -p4 a module that loads, -p5 the right output), through the
front end in this process, the ``pystap`` command and the compile server's build.  The
limit that remains (nesting deeper than ``deep.MAX_NESTING``) is a one-line ParseError.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from stapserver.errors import ParseError
from stapserver.runtime import loader
from stapserver.server import worker
from stapserver.translator import deep

from ..translator.pycode import python_depths
from .test_driver import RELEASE, fails, run

TERMS = 5000
NESTED = 3000


def wrap64(value: int) -> int:
    return (value + (1 << 63)) % (1 << 64) - (1 << 63)


def right_nested(n: int) -> tuple[str, int]:
    """``a*1 - (a*2 - (a*3 - ... a*n))`` with a = 3, and its value."""
    text = "".join(f"a*{i} - (" for i in range(1, n)) + f"a*{n}" + ")" * (n - 1)
    value = 3 * n
    for i in range(n - 1, 0, -1):
        value = 3 * i - value
    return text, wrap64(value)


def every_pass(
    tmp_path: Path, script: str, output: bytes, *options: str, listing: str = "begin"
) -> str:
    """Run ``script`` through -p1 to -p5; check what each pass gives; return -p1's text.
    (-p3 prints the module -p4 writes: test_driver checks that they agree.)  ``listing``:
    what -p2 lists after ``# probes``."""
    argv = [*options, "-e", script]
    printed = run(["-p1", *argv], tmp_path)
    assert printed.rc == 0 and printed.err == ""
    assert printed.text.startswith("# parse tree dump\n# file <input>\n")
    if listing:
        elaborated = run(["-p2", *argv], tmp_path)
        assert elaborated.rc == 0
        assert elaborated.text.split("# probes\n", 1)[1].startswith(listing), elaborated.text
    name = run(["-p4", *argv], tmp_path).text.strip()
    code = (tmp_path / name).read_text()
    indent, parens = python_depths(code)
    assert indent < 40 and parens < 40, (indent, parens)
    compile(code, "deep.py", "exec", dont_inherit=True)  # here: the default recursion limit
    assert callable(loader.load_file(tmp_path / name).build)
    result = run(argv, tmp_path)
    assert (result.rc, result.out, result.err) == (0, output, "")
    return printed.text


def reprinted(tmp_path: Path, printed: str) -> str:
    """-p1 of the script -p1 printed (the same text: it means the same)."""
    return run(["-p1", "-e", printed.split("\n", 2)[2]], tmp_path).text


# ---------------------------------------------------------------------- long chains


def test_sum_of_5000_literals(tmp_path: Path) -> None:
    total = " + ".join(["1"] * TERMS)
    script = f"probe begin {{ x = {total}; println(x); exit() }}"
    listing = "begin /* <- begin */\n  # locals\n  x:long\n"
    text = every_pass(tmp_path, script, b"5000\n", listing=listing)
    assert f"  x = {total};\n" in text
    assert reprinted(tmp_path, text) == text


def test_sum_of_5000_variables(tmp_path: Path) -> None:
    terms = " - ".join(["a + b"] * (TERMS // 2))  # ((a + b) - a) + b ...
    script = f"probe begin {{ a = 5; b = 7; x = {terms}; println(x); exit() }}"
    value = 5 + 7 * (TERMS // 2) - 5 * (TERMS // 2 - 1)
    listing = "begin /* <- begin */\n  # locals\n  a:long\n  b:long\n  x:long\n"
    text = every_pass(tmp_path, script, f"{value}\n".encode(), listing=listing)
    assert f"  x = {terms};\n" in text


def test_concatenation_of_5000_strings(tmp_path: Path) -> None:
    chain = " . ".join(["s", '"-"'] * (TERMS // 2))
    script = (
        f'probe begin {{ s = "ab"; x = {chain}; println(strlen(x), " ", substr(x, 0, 7)); exit() }}'
    )
    listing = "begin /* <- begin */\n  # locals\n  s:string\n  x:string\n"
    text = every_pass(
        tmp_path, script, b"7500 ab-ab-a\n", "-D", "MAXSTRINGLEN=8000", listing=listing
    )
    assert f"  x = {chain};\n" in text


def test_long_sum_of_products_and_a_long_condition(tmp_path: Path) -> None:
    products = " + ".join(f"a * {i}" for i in range(1000))
    conditions = " && ".join(["a > 0", "a < 5"] * 500)
    script = (
        f"probe begin {{ a = 2; x = {products}; if ({conditions}) println(x) else println(-1); "
        "exit() }"
    )
    every_pass(tmp_path, script, str(2 * sum(range(1000))).encode() + b"\n", listing="")


# ---------------------------------------------------------------------- nesting


def test_3000_nested_blocks(tmp_path: Path) -> None:
    opening = "".join("{ n++ " if i % 500 == 0 else "{ " for i in range(NESTED))
    script = f"probe begin {{ n = 0 {opening} println(n) {'} ' * NESTED} exit() }}"
    text = every_pass(tmp_path, script, b"6\n")
    assert text.count("{\n") == NESTED + 1
    assert "\n" + "  " * (NESTED + 1) + "println(n);\n" in text


def test_3000_nested_parentheses(tmp_path: Path) -> None:
    around = f"x = {'(' * NESTED}a + 1{')' * NESTED}"
    inside, value = right_nested(NESTED)
    script = f'probe begin {{ a = 3; {around}; y = {inside}; println(x, " ", y); exit() }}'
    text = every_pass(tmp_path, script, f"4 {value}\n".encode(), listing="")
    assert "  x = a + 1;\n" in text
    assert "a * 2 - (a * 3 - (a * 4" in text


def test_else_if_chain_of_3000(tmp_path: Path) -> None:
    chain = " else ".join(f"if (x == {i}) y = {i * 2}" for i in range(NESTED))
    script = f"probe begin {{ x = {NESTED - 1}; y = -1; {chain} else y = -2; println(y); exit() }}"
    text = every_pass(tmp_path, script, f"{2 * (NESTED - 1)}\n".encode(), listing="")
    assert text.count("\n  else if (x == ") == NESTED - 1


def test_3000_nested_ifs_and_loops(tmp_path: Path) -> None:
    ifs = "if (x) " * NESTED
    loops = "while (y < 3) { " * 30
    script = (
        f"function f(x) {{ {ifs} {{ if (x > 1) return x * 10 }} return -1 }} "
        f'probe begin {{ y = 0; println(f(2), " ", f(1)); '
        f"{loops} y++; if (y == 2) break {'} ' * 30} println(y); exit() }}"
    )
    # the innermost loop ends at y == 2; the one around it enters it again, once
    every_pass(tmp_path, script, b"20 -1\n3\n", "-D", "MAXACTION=100000", listing="")


# ---------------------------------------------------------------------- the limit


@pytest.mark.parametrize(
    "script",
    [
        "probe begin { x = "
        + "(" * (deep.MAX_NESTING + 1)
        + "1"
        + ")" * (deep.MAX_NESTING + 1)
        + " }",
        "probe begin { " + "{ " * (deep.MAX_NESTING + 1) + "}" * (deep.MAX_NESTING + 1) + " }",
    ],
    ids=["parentheses", "blocks"],
)
def test_nesting_past_the_limit_is_a_one_line_parse_error(tmp_path: Path, script: str) -> None:
    for last in ("-p1", "-p5"):
        text = fails([last, "-e", script], tmp_path, ParseError)
        assert re.fullmatch(
            rf"parse error: nesting deeper than {deep.MAX_NESTING} levels: "
            r"operator '[({]' at <input>:1:\d+",
            text,
        ), text


# ---------------------------------------------------------------------- the commands


def pystap(tmp_path: Path, script: str) -> subprocess.CompletedProcess[bytes]:
    path = tmp_path / "deep.stp"
    path.write_text(script)
    return subprocess.run(
        [sys.executable, "-m", "stapserver.cli.pystap", str(path)],
        cwd=tmp_path,
        capture_output=True,
        timeout=120,
    )


def test_pystap_command_runs_long_and_deep_scripts(tmp_path: Path) -> None:
    total = "+".join(["1"] * TERMS)
    blocks = "{ " * NESTED + "println(x) " + "} " * NESTED
    result = pystap(tmp_path, f"probe begin {{ x = {total}; {blocks} exit() }}")
    assert (result.returncode, result.stdout, result.stderr) == (0, b"5000\n", b"")
    too_deep = "probe begin { x = " + "- " * (deep.MAX_NESTING + 1) + "1 }"
    result = pystap(tmp_path, too_deep)
    assert result.returncode == 1 and result.stdout == b""
    assert result.stderr.decode().startswith(
        f"parse error: nesting deeper than {deep.MAX_NESTING} levels: operator '-' at "
    )
    assert result.stderr.count(b"\n") == 1


def test_compile_server_builds_a_deep_script(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "script").mkdir()
    total = " + ".join(["a"] * TERMS)
    blocks = "{ " * NESTED + "println(x) " + "} " * NESTED
    (tmp_path / "script" / "deep.stp").write_text(
        f"probe begin {{ a = 1; x = {total}; {blocks} exit() }}"
    )
    (tmp_path / worker.MODULE_DIR).mkdir()
    monkeypatch.chdir(tmp_path)
    assert worker.build(["-p4", "-m", "deep", "script/deep.stp"], RELEASE, "x86_64") == 0
    module = loader.load_file(tmp_path / worker.MODULE_DIR / "deep.py")
    assert module.NAME == "deep"

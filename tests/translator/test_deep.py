"""Deep and long scripts in the translator (issue 11, item 5): what is a chain goes in a
loop, what is nesting is bounded, and pass 3 writes Python that CPython compiles.

* chains (a left-associative operator chain of any mix, an ``else if`` chain) cost no
  recursion in any pass: the passes run here in this thread, at the interpreter's own
  recursion limit, on chains of ten thousand links;
* the parser's operator-precedence loop builds the trees stap's one-function-per-level
  descent builds (a reference descent here, on random expressions);
* nesting past ``deep.MAX_NESTING`` is a one-line ParseError, and what the parser
  accepts the later passes walk in ``deep.run``'s thread, which cannot overflow its C
  stack: a runaway recursion there ends in a typed error (checked in a child process);
* ``-p1`` prints what SystemTap 4.8's ``-p1`` prints (the same tree, compared through a
  canonical form: stap parenthesises everything), where stap is installed;
* the flat and outlined code pass 3 writes for deep code runs exactly as the nested code
  does (random programs, translated both ways and run).
"""

from __future__ import annotations

import copy
import io
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stapserver.errors import ParseError, SemanticError, StapError
from stapserver.frontend.driver import FrontEnd
from stapserver.frontend.options import parse_options
from stapserver.runtime import loader
from stapserver.runtime.engine import RunOptions, run_module
from stapserver.translator import ast, codegen, deep, library
from stapserver.translator.codegen import Settings, generate
from stapserver.translator.parser import Parser, PreprocessorContext, parse
from stapserver.translator.semantic import _walk_stmts, elaborate
from stapserver.translator.source import DiagnosticPrinter, Source
from stapserver.translator.unparse import script_text

from .pycode import python_depths
from .test_against_stap import StapEnv, run_stap, stap_env  # noqa: F401 - the fixture
from .treeshape import expr_of, shape

RELEASE = "6.1.0-57-amd64"
CTX = PreprocessorContext(kernel_release=RELEASE)
LONG = 10_000


def source(text: str) -> Source:
    return Source("<input>", text)


@pytest.fixture
def in_this_thread(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """deep.run runs its work here, in this thread, at the default recursion limit: what
    passes needs no deep recursion."""
    monkeypatch.setattr(deep._local, "deep", True, raising=False)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    try:
        yield
    finally:
        sys.setrecursionlimit(limit)


def spine_length(e: ast.Expr) -> int:
    n = 0
    while isinstance(e, ast.Binary | ast.Concat | ast.Logical | ast.Comparison):
        n += 1
        e = e.left
    return n


# ---------------------------------------------------------------------- chains


CHAINS = {
    "sum": " + ".join(["1"] * LONG),
    "mixed": " - ".join(f"a * {i} + b / 3 % 7" for i in range(LONG // 4)),
    "concat": " . ".join(['"ab"', "s"] * (LONG // 2)),
    "logical": " || ".join(["a > 0 && b < 3"] * (LONG // 4)),
    "bits": " | ".join(["a & 3 ^ b << 2"] * (LONG // 4)),
}


@pytest.mark.parametrize("name", list(CHAINS))
def test_every_pass_goes_along_a_chain_in_a_loop(in_this_thread: None, name: str) -> None:
    chain = CHAINS[name]
    text = f'probe begin {{ a = 1; b = 2; s = "x"; x = {chain}; println(x) }}'
    script = parse(source(text), (), CTX)
    stmt = script.probes[0].body.body[3]
    assert isinstance(stmt, ast.ExprStmt) and isinstance(stmt.expr, ast.Assignment)
    assert spine_length(stmt.expr.right) >= LONG // 4
    printed = script_text(script)
    assert f"  x = {chain};\n" in printed
    diag = DiagnosticPrinter()
    program = elaborate(script, diagnostics=diag, library=library.aliases(CTX, diag))
    code = generate(program, Settings(), "stap_long")
    compile(code, "stap_long.py", "exec", dont_inherit=True)


def test_an_else_if_chain_goes_in_a_loop(in_this_thread: None) -> None:
    chain = " else ".join(f"if (x == {i}) y = {i}" for i in range(LONG // 2))
    text = f"probe begin {{ x = 7; y = 0; {chain} else y = -1; println(y) }}"
    script = parse(source(text), (), CTX)
    node = script.probes[0].body.body[2]
    links = 0
    while isinstance(node, ast.If):
        links += 1
        node = node.otherwise
    assert links == LONG // 2
    printed = script_text(script)
    assert printed.count("\n  else if (x == ") == LONG // 2 - 1
    program = elaborate(script)
    code = generate(program, Settings(), "stap_chain")
    compile(code, "stap_chain.py", "exec", dont_inherit=True)
    assert max(len(line) - len(line.lstrip()) for line in code.splitlines()) < 40


def test_the_parser_reads_a_chain_without_recursion() -> None:
    """The parser itself, not in deep.run's thread: a chain of any length costs nothing."""
    chain = " + ".join(["1 * 2"] * 2 * LONG)
    parser = Parser(source(f"probe begin {{ x = {chain} }}"), (), CTX)
    script = parser.parse()
    (stmt,) = script.probes[0].body.body
    assert isinstance(stmt, ast.ExprStmt) and isinstance(stmt.expr, ast.Assignment)
    assert spine_length(stmt.expr.right) == 2 * LONG  # the + chain and the first *
    assert parser.max_nesting == 3  # the statement, its expression and the right side


# ---------------------------------------------------------------------- precedence

# stap's levels, loosest first; each level's operators are left-associative
LEVELS = [
    ["||"], ["&&"], ["|"], ["^"], ["&"], ["<<", ">>", ">>>"], ["."], ["+", "-"], ["*", "/", "%"]
]  # fmt: skip
OPERATORS = [op for level in LEVELS for op in level]


def descent(tokens: list[str]) -> Any:
    """The tree of ``tokens`` (operands, binary operators and parentheses) as a recursive
    descent with one function per level reads it: the reference the parser must match."""
    pos = 0

    def level(i: int) -> Any:
        nonlocal pos
        if i == len(LEVELS):
            if tokens[pos] == "(":
                pos += 1
                inner = level(0)
                pos += 1  # ")"
                return inner
            pos += 1
            return tokens[pos - 1]
        left = level(i + 1)
        while pos < len(tokens) and tokens[pos] in LEVELS[i]:
            op = tokens[pos]
            pos += 1
            left = (op, left, level(i + 1))
        return left

    return level(0)


@st.composite
def expressions(draw: st.DrawFn, depth: int = 0) -> list[str]:
    tokens: list[str] = []
    for i in range(draw(st.integers(1, 6))):
        if i:
            tokens.append(draw(st.sampled_from(OPERATORS)))
        if depth < 3 and draw(st.booleans()):
            tokens += ["(", *draw(expressions(depth + 1)), ")"]
        else:
            tokens.append(draw(st.sampled_from(["a", "b", "c"])))
    return tokens


def our_tree_of(e: ast.Expr) -> Any:
    if isinstance(e, ast.Binary | ast.Logical):
        return (e.op, our_tree_of(e.left), our_tree_of(e.right))
    if isinstance(e, ast.Concat):
        return (".", our_tree_of(e.left), our_tree_of(e.right))
    assert isinstance(e, ast.Symbol)
    return e.name


@settings(max_examples=200, deadline=None)
@given(tokens=expressions())
def test_the_operator_loop_builds_the_descents_tree(tokens: list[str]) -> None:
    assert our_tree_of(expr_of(" ".join(tokens))) == descent(tokens)


# ---------------------------------------------------------------------- the limit


def one_line_nesting_error(text: str) -> str:
    with pytest.raises(ParseError) as info:
        parse(source(text), (), CTX)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"parse error: nesting deeper than {deep.MAX_NESTING} levels: ")
    return message


def test_nesting_up_to_the_limit_is_accepted() -> None:
    depth = deep.MAX_NESTING - 3  # the statement, its expression and the right side
    script = parse(source(f"probe begin {{ x = {'(' * depth}1{')' * depth} }}"), (), CTX)
    assert script_text(script).endswith("  x = 1;\n}\n")


@pytest.mark.parametrize(
    "text",
    [
        "probe begin { x = " + "(" * deep.MAX_NESTING + "1" + ")" * deep.MAX_NESTING + " }",
        "probe begin { " + "{" * deep.MAX_NESTING + "}" * deep.MAX_NESTING + " }",
        "probe begin { x = " + "! " * deep.MAX_NESTING + "1 }",
        "function f(v) { return v } probe begin { x = "
        + "f(" * deep.MAX_NESTING
        + "1"
        + ")" * deep.MAX_NESTING
        + " }",
    ],
    ids=["parentheses", "blocks", "unary", "calls"],
)
def test_nesting_past_the_limit_is_refused(text: str) -> None:
    assert "at <input>:1:" in one_line_nesting_error(text)


def test_a_tree_deeper_than_the_limit_is_refused() -> None:
    """Few parentheses, each around an operator of every precedence level: the parser
    nests less than the limit, the tree (each right operand one level deeper) more."""
    level = "(a || a && a | a ^ a & a == a << a + a * "
    n = deep.MAX_NESTING // 9 + 10
    message = one_line_nesting_error(f"probe begin {{ x = {level * n}a{')' * n} }}")
    assert "at <input>:1:" in message


# ---------------------------------------------------------------------- -p1 as stap's


def canonical(text: str) -> str:
    """A -p1 text printed by our printer after parsing it, its null statements dropped
    (stap follows a block in a block with one, and prints one as ``;;``)."""
    script = parse(source(text), (), CTX)
    roots = [p.body for p in script.probes]
    for root in roots:
        for s in _walk_stmts(root):
            if isinstance(s, ast.Block):
                s.body = [x for x in s.body if not isinstance(x, ast.NullStmt)]
    return script_text(script)


def pystap_p1(text: str) -> str:
    out = io.BytesIO()
    options = parse_options(["-r", RELEASE, "-p1", "-e", text])
    assert FrontEnd(options, stdout=out, stderr=io.StringIO(), cwd="/tmp").run() == 0
    return out.getvalue().decode()


def right_sum(n: int) -> str:
    return "(a + " * (n - 1) + "a" + ")" * (n - 1)


LIKE_STAP = {
    "sum of 5000 literals": "probe begin { x = " + " + ".join(["1"] * 5000) + " }",
    "sum of 5000 variables": "probe begin { a = 1; x = " + " - ".join(["a"] * 5000) + " }",
    "5000 concatenations": 'probe begin { s = "x"; t = ' + " . ".join(["s"] * 5000) + " }",
    "3000 nested blocks": "probe begin { " + "{ " * 3000 + "x = 1 " + "} " * 3000 + "}",
    "3000 parentheses": "probe begin { x = " + "(" * 3000 + "1" + ")" * 3000 + " }",
    "3000 right-nested sums": "probe begin { a = 1; x = " + right_sum(3000) + " }",
    "else-if chain of 3000": "probe begin { x = 1; "
    + " else ".join(f"if (x == {i}) y = {i}" for i in range(3000))
    + " }",
    "3000 nested ifs": "probe begin { x = 1; " + "if (x) " * 3000 + "y = 1 }",
}


@pytest.mark.parametrize("name", list(LIKE_STAP))
def test_pass1_prints_what_stap_prints(stap_env: StapEnv, name: str) -> None:  # noqa: F811
    text = LIKE_STAP[name]
    theirs = run_stap(stap_env, ["-p1", "-e", text])
    assert theirs.ok, theirs.stderr
    mine = pystap_p1(text)
    assert canonical(theirs.stdout) == mine
    assert canonical(mine) == mine


# ---------------------------------------------------------------------- pass 3


DEEP_CODE = {
    "right-nested sum": "probe begin { a = 1; x = " + right_sum(3000) + "; println(x) }",
    "nested calls": "function f(v) { return v + 1 } probe begin { println("
    + "f(" * 3000
    + "0"
    + ")" * 3000
    + ") }",
    "nested conditionals": "probe begin { a = 1; x = "
    + "(a ? " * 3000
    + "1"
    + " : 0)" * 3000
    + " }",
    "ternary chain": "probe begin { a = 1; x = "
    + " ".join(f"a == {i} ? {i} :" for i in range(3000))
    + " -1 }",
    "assignment chain": "probe begin { " + " = ".join(["a", "b"] * 1500) + " = 1 }",
    "nested ifs": "function f(x) { " + "if (x) { " * 3000 + "return 1 " + "} " * 3000 + "} "
    "probe begin { println(f(1)) }",
    "nested loops": "global g probe begin { g[1] = 1; "
    + "foreach (k in g) { while (k) { " * 30
    + "break "
    + "} } " * 30
    + "}",
    "nested try": "probe begin { " + "try { " * 60 + 'error("x") ' + "} catch { } " * 60 + "}",
    "deep array keys": "global g probe begin { g[0] = 0; x = "
    + "g[" * 2000
    + "0"
    + "]" * 2000
    + "; g["
    + " + ".join(["x"] * 2000)
    + "] += "
    + right_sum(2000).replace("a", "x")
    + " }",
}


@pytest.mark.parametrize("name", list(DEEP_CODE))
def test_pass3_writes_what_cpython_compiles(name: str) -> None:
    program = elaborate(parse(source(DEEP_CODE[name]), (), CTX))
    code = generate(program, Settings(), "stap_deep")
    indent, brackets = python_depths(code)
    assert indent <= codegen.MAX_INDENT and brackets < 50, (indent, brackets)
    compile(code, "stap_deep.py", "exec", dont_inherit=True)  # the default recursion limit


# A program's pieces, to translate with pass 3's usual thresholds and with every
# expression flat, every else-if chain guarded and every compound statement outlined.
LEAVES = ["a", "b", "g", "v", "0", "1", "2", "-3", "7", "arr[1]", "arr[a]"]
UNARY = ["(- {})", "(! {})", "(~ {})", "f({})", "h({})", "arr[{}]", "({} in arr)", "w({})"]
BINARY = ["+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>", "<", "==", "!=", "&&", "||"]
EFFECTS = ["(a = {})", "(b += {})", "(g -= {})", "(a *= {})", "(arr[{}] = 5)", "(arr[2] += {})"]
EFFECTS += ["(arr[{}] *= 3)", "(b <<= ({} & 3))"]
SIMPLE = ["a++", "--b", "g++", "arr[a]++", "--arr[1]"]


@st.composite
def long_expr(draw: st.DrawFn, depth: int = 0) -> str:
    if depth >= 3 or draw(st.integers(0, 3)) == 0:
        return draw(st.sampled_from(LEAVES + SIMPLE))
    kind = draw(st.integers(0, 5))
    sub = long_expr(depth + 1)
    if kind == 0:
        return draw(st.sampled_from(UNARY)).format(draw(sub))
    if kind == 1:
        return draw(st.sampled_from(EFFECTS)).format(draw(sub))
    if kind == 2:
        return f"({draw(sub)} ? {draw(sub)} : {draw(sub)})"
    if kind == 3:
        return f'strlen(sprint({draw(sub)}) . "-" . sprintf("%d", {draw(sub)}))'
    ops = [draw(st.sampled_from(BINARY)) for _ in range(draw(st.integers(1, 3)))]
    text = draw(sub)
    for op in ops:
        text += f" {op} {draw(sub)}"
    return f"({text})"


@st.composite
def statements(draw: st.DrawFn, depth: int = 0, loop: str = "", function: bool = False) -> str:
    out = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.integers(0, 9)) if depth < 2 else 0
        e = long_expr()
        if kind <= 3:
            out.append(f"{draw(e)};")
        elif kind == 4:
            links = draw(st.integers(1, 4))
            text = " else ".join(
                f"if ({draw(e)}) {{ {draw(statements(depth + 1, loop, function))} }}"
                for _ in range(links)
            )
            if draw(st.booleans()):
                text += f" else {{ {draw(statements(depth + 1, loop, function))} }}"
            out.append(text)
        elif kind == 5:
            i = f"i{depth}"
            body = draw(statements(depth + 1, i, function))
            out.append(f"for ({i} = 0; {i} < 3; {i}++) {{ {body} }}")
        elif kind == 6:
            body = draw(statements(depth + 1, "k", function))
            out.append(f"foreach (k in brr) {{ v += k; {body} }}")
        elif kind == 7:
            inner = draw(statements(depth + 1, loop, function))
            out.append(f'try {{ {inner} if ({draw(e)}) error("e") }} catch (m) {{ println(m) }}')
        elif kind == 8 and loop:
            out.append(f"if ({draw(e)}) {draw(st.sampled_from(['break', 'continue']))};")
        elif kind == 9 and function:
            out.append(f"if ({draw(e)}) return {draw(e)};")
        else:
            out.append(f"delete arr[{draw(e)}];")
    return " ".join(out)


@st.composite
def programs(draw: st.DrawFn) -> str:
    return (
        "global g, arr, brr "
        'function f(v) { printf("f%d ", v); g += v; return v + 1 } '
        "function h(v) { if (v > 3) return v * 2 else if (v < -3) return -v; return v } "
        f"function w(v) {{ {draw(statements(function=True))} return v * 3 }} "
        "probe begin { a = 1; b = 2; v = 0; arr[1] = 10; arr[5] = 50; brr[3] = 1; brr[4] = 2; "
        f"{draw(statements())} "
        'printf("\\n%d %d %d %d\\n", a, b, g, v); foreach (k+ in arr) printf("%d:%d ", k, arr[k]); '
        'println(""); exit() }'
    )


def run_p5(text: str) -> tuple[int, bytes, str]:
    """Passes 1-5 of ``text``: the exit status, the output and the errors."""
    diag = DiagnosticPrinter()
    try:
        script = parse(source(text), (), CTX, diagnostics=diag)
        program = elaborate(script, diagnostics=diag, library=library.aliases(CTX, diag))
        code = generate(program, Settings(MAXACTION=3000), "stap_flat")
    except StapError as error:
        return -1, b"", str(error)
    out, err = io.BytesIO(), io.StringIO()
    rc = run_module(loader.load_source(code, "stap_flat.py"), RunOptions(), out, err)
    return rc, out.getvalue(), err.getvalue()


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(text=programs())
def test_flat_and_outlined_code_runs_as_nested_code_does(text: str) -> None:
    nested = run_p5(text)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(codegen, "FLAT_FROM", 1)
        mp.setattr(codegen, "FLAT_CHAIN", 1)
        mp.setattr(codegen, "OUTLINE_FROM", 3)
        mp.setattr(codegen, "OUTLINE_BLOCKS", 1)
        flat = run_p5(text)
    assert flat == nested, text


# ---------------------------------------------------------------------- deep.run


def test_deep_run_hands_back_results_and_errors() -> None:
    assert deep.run(lambda: 42, SemanticError, "Pass 2: analysis failed") == 42
    with pytest.raises(KeyError):
        deep.run(lambda: {}["x"], SemanticError, "Pass 2: analysis failed")
    limit = sys.getrecursionlimit()

    def runaway(n: int) -> int:
        return runaway(n + 1) + 1

    with pytest.raises(SemanticError) as info:
        deep.run(lambda: runaway(0), SemanticError, "Pass 2: analysis failed")
    assert str(info.value) == "Pass 2: analysis failed: the script nests too deeply"
    assert sys.getrecursionlimit() == limit


RUNAWAY = """
import sys
from stapserver.errors import TranslateError
from stapserver.translator import deep

def through_sorted(n):  # the most C stack a level of all measured
    return sorted([n], key=through_sorted)[0]

def through_yield(n):
    yield from through_yield(n + 1)

work = {"sorted": lambda: through_sorted(0), "yield": lambda: list(through_yield(0))}
try:
    deep.run(work[sys.argv[1]], TranslateError, "Pass 3: translation failed")
except TranslateError as err:
    print(err)
"""


@pytest.mark.parametrize("how", ["sorted", "yield"])
def test_a_runaway_recursion_in_deep_run_ends_in_a_typed_error(how: str) -> None:
    """Recursion through C to the raised limit: a RecursionError, not a C stack overflow
    (a crash), whatever it goes through."""
    result = subprocess.run(
        [sys.executable, "-c", RUNAWAY, how], capture_output=True, text=True, timeout=120
    )
    assert (result.returncode, result.stdout) == (
        0,
        "Pass 3: translation failed: the script nests too deeply\n",
    ), result.stderr


def test_copy_tree_copies_as_deepcopy_does() -> None:
    script = parse(
        source(
            'probe p = begin { x = a[1, "k"] + @count(s) * f(2); if (x) { y = x ? 1 : 2 } '
            'else foreach ([i, j] in a- limit 3) printf("%d %s\\n", i, j) } '
            "global a, s function f(v) { return v }"
        ),
        (),
        CTX,
    )
    body = script.aliases[0].body
    memo: dict[int, object] = {id(body.tok.location.source): body.tok.location.source}
    mine = deep.copy_tree(body, dict(memo))
    theirs = copy.deepcopy(body, dict(memo))
    assert shape(mine) == shape(theirs) == shape(body)
    assert mine is not body and mine.body[0] is not body.body[0]
    assert mine.tok is not body.tok and mine.tok.location.source is body.tok.location.source
    chain = parse(source("probe begin { x = " + " + ".join(["1"] * LONG) + " }"), (), CTX)
    probe = chain.probes[0]
    copied = deep.copy_tree(probe.body, {})  # a long chain: no recursion
    again = ast.ScriptFile("<input>", [ast.Probe(probe.tok, probe.points, copied)])
    assert script_text(again) == script_text(chain)

"""The -p1 printer: its text parses back to the same tree, and printing is a fixpoint.

``script_text(parse(script_text(parse(x))))`` must equal ``script_text(parse(x))``, and
the tree of the reprinted text must equal the original tree (compared by
:func:`treeshape.shape`, which ignores tokens).  A hypothesis strategy builds random
expression and statement trees, the strongest check of the printer's parenthesisation.
"""

from __future__ import annotations

import glob
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stapserver.errors import ParseError
from stapserver.translator import ast, library
from stapserver.translator.lexer import decode_string
from stapserver.translator.parser import PreprocessorContext, parse
from stapserver.translator.source import OP, Location, Source, Token
from stapserver.translator.unparse import (
    _ends_in_open_if,
    level,
    number_literal,
    script_text,
    string_literal,
)

from .treeshape import parse_text, shape

CTX = PreprocessorContext(kernel_release="6.1.0-57-amd64")
# hypothesis describes the nested recursive strategies at length; the size is harmless
pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")


def reparse(text: str, name: str = "<input>", **kw: Any) -> ast.ScriptFile:
    return parse(Source(name, text), (), CTX, **kw)


def assert_round_trip(script: ast.ScriptFile, **kw: Any) -> None:
    text = script_text(script)
    again = reparse(text, script.source_name, **kw)
    assert shape(again) == shape(script), text
    assert script_text(again) == text


SCRIPTS = [
    "probe begin { }",
    "probe begin, end, error { x = 1 }",
    'probe timer.s(1), timer.ms(-5)?, a.b("s")!, c.{d,e} if (x > 0) { }',
    "probe begin(-100), end(5) { }",
    'global a, b%, c[100], d%[5], e = 5, f = "s\\n", g = -1',
    "private x private global y private function f() { }",
    "probe a = begin { x = 1 } probe b += end { y = 2 } probe c = begin { }, { z = 3 }",
    "function f:long (a:long, b:string, c) :5 { return a } function g() { return }",
    'function string() { } function long:string() { return "" }',
    """probe begin {
        ;
        { x = 1; { y = 2 } }
        if (a) b() else if (c) d() else { e() }
        if (a) if (b) x = 1 else x = 2
        if (a) { if (b) x = 1 } else x = 2
        if (a) while (b) if (c) x = 1 else x = 3
        for (i = 0; i < 10; i++) continue
        for (;;) break
        for (; i;) { }
        while (x) { x-- }
        foreach ([a, b-] in arr[1, *] limit 10) print(a)
        foreach (v = k in arr @sum+) next
        foreach (k in arr-) { }
        foreach (v- = k in arr) { }
        foreach (b in @hist_log(s)) { }
        delete arr delete arr[1, 2] delete arr[*, "x"]
        try { error("x") } catch (msg) { log(msg) }
        try { } catch { }
    }""",
    """probe begin {
        x = a ? b : c ? d : e
        x = (a ? b : c) ? d : e
        x = a ? b = 1 : (c = 2)
        x = (a = b) + 1
        a = b = c += d
        x = a || b && c | d ^ e & f == g < h << i . j + k * -l++
        x = ((((((((((a || b) && c) | d) ^ e) & f) == g) < h) << i) . j) + k) * l
        x = a - (b - c) - d
        x = a / (b * c) % d
        x = -(-a) + - -b + !!c + ~~d + - --e + + ++f
        x = ++a[1] + b[2]-- + ++(c) - (d++)++
        x = (k in a) + ([k, *] in b) + ([k] in c)
        x = (a < b) in c
        x = [a < b] in c
        x = [a =~ "x"] in c
        x = (a =~ "x") == 1
        x = s =~ "^a.*b$" && t !~ "\\\\d+"
        x = "tab\\there" . "q\\"uote" . "nl\\n" . "\\001\\177\\377"
        x = 9223372036854775807 + 18446744073709551615 + 0
        x = @count(s) + @sum(s) + @min(s) + @max(s) + @avg(s) + @variance(s) + @variance(s, 3)
        x = @sum(a[1, "k"]) + @hist_log(s)[2] + @hist_linear(a[1], -10, 10, 2)[0]
        print(@hist_log(s)) println(@hist_linear(s, 0, 100, 10))
        printf("%d %s %%\\n", 1, "a") x = sprintf("%-5x|", 255)
        printd(",", a, b) printdln("\\t", a, b, c) x = sprintd("-", a, b) . sprintdln(":", c, d)
        print(1) println() x = sprint(1) . sprintln(2, 3)
        x = f() + g(1, h(2, 3))
        x = @defined(y) ? @entry(z) : 0
        x <<< 1 x .= "s" x %= 3 x <<= 1 x >>= 2 x &= 3 x |= 4 x ^= 5 x *= 6 x /= 7 x -= 8
        x = a >>> 3
    }""",
    "probe begin { x = $var + $p->a->b[1]->c + &$q->m + $v$ + $w$$ + $p->m$ }",
    'probe begin { x = @cast(p, "task_struct")->pid + @cast(q, "s", "kernel<x.h>")->a[0] }',
    'probe begin { x = @var("v@f.c")->m + @var("w", "mod") + f(1)->x + @perf("cycles") }',
    "probe begin { x = @probewrite(y) }",
    "@define m(a) %( (@a * 2) %) probe begin { x = @m(3) + @m(y) }",
    '%( arch == "x86_64" %? probe begin { x = 64 } %: probe begin { x = 32 } %)',
]


@pytest.mark.parametrize("text", SCRIPTS)
def test_round_trip(text: str) -> None:
    assert_round_trip(parse_text(text))


def test_round_trip_with_guru_constructs() -> None:
    text = (
        '%{ #include <x.h> %} probe begin { x = %{ 1 %} + @const("X") } '
        "function f() %{ /* C */ %} probe end { %{ y %} }"
    )
    assert_round_trip(parse_text(text, privileged=True), privileged=True)


def test_round_trip_of_library_macro_expansions() -> None:
    script = parse(
        Source("<input>", "probe begin { x = @choose_defined($v, 1) @try_assign(y, f(), 0) }"),
        (),
        CTX,
        library_macros=library.macros(CTX),
    )
    assert_round_trip(script)


def test_header_names_the_file() -> None:
    text = script_text(reparse("probe begin { }", "dir/x.stp"))
    assert text.startswith("# parse tree dump\n# file dir/x.stp\n")


def test_p1_output_format() -> None:
    text = script_text(
        parse_text(
            "global a probe begin { if (a) { print(1) } else print(2) } function f(x) { return x }"
        )
    )
    assert text == (
        "# parse tree dump\n"
        "# file <input>\n"
        "global a\n"
        "probe begin {\n"
        "  if (a) {\n"
        "    print(1);\n"
        "  }\n"
        "  else\n"
        "    print(2);\n"
        "}\n"
        "function f (x) {\n"
        "  return x;\n"
        "}\n"
    )


def test_only_needed_parentheses() -> None:
    text = script_text(parse_text("probe begin { x = ((a + (b * c))) - ((d - e)) }"))
    assert "  x = a + b * c - (d - e);\n" in text


def test_dangling_else_keeps_its_if() -> None:
    script = parse_text("probe begin { if (a) { if (b) x = 1 } else x = 2 }")
    text = script_text(script)
    assert_round_trip(script)
    assert "{" in text.split("if (a)")[1].split("\n")[0]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (b"", '""'),
        (b"plain", '"plain"'),
        (b'q"b\\', '"q\\"b\\\\"'),
        (b"\a\b\t\n\v\f\r", '"\\a\\b\\t\\n\\v\\f\\r"'),
        (b"\x01\x1f\x7f", '"\\001\\037\\177"'),
        (b"\xff\xfe", '"\\377\\376"'),
        ("é".encode(), '"é"'),
        (b"\x011", '"\\0011"'),
    ],
)
def test_string_literal(value: bytes, text: str) -> None:
    assert string_literal(value) == text
    assert (
        parse_text(f"probe begin {{ x = {text} }}").probes[0].body.body[0].expr.right.value == value
    )  # type: ignore[attr-defined]


def test_string_literal_with_a_nul() -> None:
    # printed as an octal escape; read back, the value ends there (stap's literal is a C
    # string)
    text = string_literal(b"a\x00\x01")
    assert text == '"a\\000\\001"'
    (stmt,) = parse_text(f"probe begin {{ x = {text} }}").probes[0].body.body
    assert isinstance(stmt, ast.ExprStmt) and isinstance(stmt.expr, ast.Assignment)
    lit = stmt.expr.right
    assert isinstance(lit, ast.StringLit)
    assert (lit.value, lit.raw) == (b"a", "a\\000\\001")


@pytest.mark.parametrize(
    "text",
    ['"\\1" . "2"', '"q\\"uote"', '"a\\qb\\%"', '"\\x4" "1"', '"tab\tsep"', '"\\101\\x41"'],
)
def test_string_literal_prints_as_written(text: str) -> None:
    # stap's literal_string::print: the text as the lexer kept it, a quote escaped again
    want = {
        '"a\\qb\\%"': '"aqb%"',
        '"\\x4" "1"': '"\\x41"',
    }.get(text, text)
    script = parse_text(f"probe begin {{ x = {text} }}")
    assert f"  x = {want};\n" in script_text(script)
    assert_round_trip(script)


def test_number_literal() -> None:
    assert number_literal(5) == "5"
    assert number_literal(-1) == "18446744073709551615"
    assert number_literal(-(1 << 63)) == "9223372036854775808"


@pytest.mark.xfail(
    strict=True,
    reason="`! ~y` is printed as `!~y`, which the lexer reads as the `!~` operator: the "
    "-p1 output of `probe begin { x = ! ~y }` does not parse",
)
def test_not_of_complement_keeps_a_space() -> None:
    assert_round_trip(parse_text("probe begin { x = ! ~y }"))


@pytest.mark.xfail(
    strict=True,
    reason="the keys of `[i, j] in a` are parsed as comparisons (stap's parse_array_in "
    "uses parse_comparison_or_regex_query), but the printer does not parenthesise them: "
    "`[a, (b && c)] in x` prints as `[a, b && c] in x`, which does not parse",
)
def test_bracketed_in_keys_keep_their_parentheses() -> None:
    assert_round_trip(parse_text("probe begin { x = [a, (b && c)] in x }"))


@pytest.mark.xfail(
    strict=True,
    reason="print((@hist_log(s)[0]) + 1) is printed without the parentheses; "
    "print(@hist_log(s)[0] + 1) does not parse (stap 4.8 refuses it too: "
    "\"expected one of ', )'\")",
)
def test_print_of_an_expression_starting_with_a_bucket() -> None:
    assert_round_trip(parse_text("global s probe begin { print((@hist_log(s)[0]) + 1) }"))


@pytest.mark.xfail(
    strict=True,
    reason="an alias with several names is printed `probe n1, n2 = begin, end`, which does "
    "not parse; stap prints `probe n1 = n2 = begin, end`",
)
def test_alias_with_several_names_round_trips() -> None:
    script = parse_text("probe n1 = n2 = begin, end { }")
    assert "probe n1 = n2 = begin, end {" in script_text(script)
    assert_round_trip(script)


@pytest.mark.xfail(
    strict=True,
    reason="a probe point number is printed with str(value): `timer.s(18446744073709551615)` "
    "comes out as `timer.s(-1)` (the expression printer uses number_literal)",
)
def test_probe_point_numbers_print_as_written() -> None:
    text = script_text(parse_text("probe timer.s(18446744073709551615) { }"))
    assert "timer.s(18446744073709551615)" in text


# ====================================================================== hypothesis

_SOURCE = Source("<generated>", "")
level_of_comparison = level(ast.Comparison(Token(OP, "", Location(_SOURCE, 1, 1)), "<", None, None))  # type: ignore[arg-type]
TOK = Token(OP, "", Location(_SOURCE, 1, 1))
NAMES = st.sampled_from(["a", "b", "x", "yy", "_z", "k9"])
FUNCS = st.sampled_from(["f", "g", "strlen", "h_2"])


def sym(name: str) -> ast.Symbol:
    return ast.Symbol(TOK, name)


numbers = st.integers(min_value=-(1 << 63), max_value=(1 << 63) - 1).map(
    lambda v: ast.NumberLit(TOK, v)
)


def _c_string(value: bytes) -> bytes:
    # the parser ends a value at its first NUL (C ends the string stap emits there), so
    # no tree it builds holds one
    return value.split(b"\0", 1)[0]


values = st.binary(max_size=6).map(_c_string)
# pieces of a literal's text as the lexer keeps it (C escapes kept, `\"` read as `"`)
RAW_PIECES = st.sampled_from(
    [*'a7f% é\t"', "\\n", "\\\\", "\\1", "\\12", "\\101", "\\x", "\\x4", "\\x41", "\\377"]
)


def _spelled(pieces: list[str]) -> ast.StringLit:
    raw = "".join(pieces)
    return ast.StringLit(TOK, _c_string(decode_string(raw)), raw)


strings = st.one_of(
    values.map(lambda b: ast.StringLit(TOK, b)), st.lists(RAW_PIECES, max_size=4).map(_spelled)
)
symbols = NAMES.map(sym)
leaves = st.one_of(numbers, strings, symbols)


def _unary(op: str, operand: ast.Expr) -> ast.Unary:
    return ast.Unary(TOK, op, operand)


def _not_bang_tilde(e: ast.Expr) -> bool:
    # Known printer bug (see test_not_of_complement_keeps_a_space): `!` directly before `~`
    # prints as the `!~` operator.  Kept out of the random trees until it is fixed.
    if isinstance(e, ast.Unary) and e.op == "!":
        inner = e.operand
        return not (isinstance(inner, ast.Unary) and inner.op == "~")
    return True


def _bracketed_indexes_print(e: ast.Expr) -> bool:
    # Known printer bug (see test_bracketed_in_keys_keep_their_parentheses): in
    # `[i, j] in a` each key is read as a comparison, but the printer leaves the keys
    # unparenthesised.  Kept out of the random trees until it is fixed.
    if isinstance(e, ast.ArrayIn):
        idx = e.index.indexes
        if len(idx) > 1 or idx[0] is None:
            return all(i is None or level(i) >= level_of_comparison for i in idx)
    return True


_CHILD_FIELDS = (
    "left",
    "right",
    "operand",
    "cond",
    "then",
    "otherwise",
    "index",
    "base",
    "indexes",
    "args",
    "stat",
)


def _contains_hist(e: object) -> bool:
    if isinstance(e, ast.HistOp):
        return True
    if isinstance(e, list):
        return any(_contains_hist(x) for x in e)
    if isinstance(e, ast.Expr):
        return any(_contains_hist(getattr(e, f)) for f in _CHILD_FIELDS if hasattr(e, f))
    return False


def _hist_bucket_first_print_argument(e: ast.Expr) -> bool:
    # Known printer bug (see test_print_of_an_expression_starting_with_a_bucket): in
    # print(@hist_log(s)[0] + 1) stap and pystap take @hist_log(s)[0] as the whole first
    # argument, so the printer must keep the parentheses of print((@hist_log(s)[0]) + 1).
    # Kept out of the random trees until it is fixed.
    if isinstance(e, ast.PrintFormat) and e.name in ("sprint", "sprintln") and e.args:
        first = e.args[0]
        bucket = isinstance(first, ast.ArrayIndex) and isinstance(first.base, ast.HistOp)
        return bucket or not _contains_hist(first)
    return True


def extend(children: st.SearchStrategy[ast.Expr]) -> st.SearchStrategy[ast.Expr]:
    binop = st.sampled_from(["+", "-", "*", "/", "%", "<<", ">>", ">>>", "&", "|", "^"])
    cmpop = st.sampled_from(["==", "!=", "<", ">", "<=", ">="])
    assign = st.sampled_from(
        ["=", "<<<", "+=", "-=", "*=", "/=", "%=", "<<=", ">>=", "&=", "^=", "|=", ".="]
    )
    index_list = st.lists(children, min_size=1, max_size=3)
    slice_list = st.lists(st.one_of(children, st.none()), min_size=1, max_size=3)
    stat = st.one_of(
        symbols,
        st.builds(lambda n, i: ast.ArrayIndex(TOK, sym(n), i), NAMES, index_list),
    )
    stat_op = st.one_of(
        st.builds(
            lambda k, s: ast.StatOp(TOK, k, s, []),
            st.sampled_from(["count", "sum", "min", "max", "avg", "variance"]),
            stat,
        ),
        st.builds(lambda s, n: ast.StatOp(TOK, "variance", s, [n]), stat, st.integers(0, 62)),
    )
    hist = st.one_of(
        st.builds(lambda s: ast.HistOp(TOK, "log", s, []), stat),
        st.builds(
            lambda s, a, b, c: ast.HistOp(TOK, "linear", s, [a, b, c]),
            stat,
            st.integers(-100, 100),
            st.integers(-100, 100),
            st.integers(1, 50),
        ),
    )
    formats = st.sampled_from([b"%d", b"%s|%-5d", b"x%%y\n", b"%x %X %o %c %p"])
    prints = st.one_of(
        st.builds(lambda a: ast.PrintFormat(TOK, "sprint", [a]), children),
        st.builds(lambda a: ast.PrintFormat(TOK, "sprintln", a), st.lists(children, max_size=2)),
        st.builds(
            lambda f, a: ast.PrintFormat(TOK, "sprintf", a, format=f),
            formats,
            st.lists(children, max_size=2),
        ),
        st.builds(
            lambda d, a: ast.PrintFormat(TOK, "sprintd", a, delimiter=d),
            st.binary(max_size=2).map(_c_string),
            st.lists(children, min_size=2, max_size=3),
        ),
    )
    made = st.one_of(
        st.builds(_unary, st.sampled_from(["+", "-", "!", "~"]), children),
        st.builds(
            lambda op, e, pre: ast.Crement(TOK, op, e, pre),
            st.sampled_from(["++", "--"]),
            children,
            st.booleans(),
        ),
        st.builds(lambda op, a, b: ast.Binary(TOK, op, a, b), binop, children, children),
        st.builds(
            lambda op, a, b: ast.Logical(TOK, op, a, b),
            st.sampled_from(["&&", "||"]),
            children,
            children,
        ),
        st.builds(lambda op, a, b: ast.Comparison(TOK, op, a, b), cmpop, children, children),
        st.builds(lambda a, b: ast.Concat(TOK, a, b), children, children),
        st.builds(
            lambda op, a, p: ast.RegexMatch(TOK, op, a, p),
            st.sampled_from(["=~", "!~"]),
            children,
            strings,
        ),
        st.builds(lambda c, t, o: ast.Ternary(TOK, c, t, o), children, children, children),
        st.builds(lambda op, a, b: ast.Assignment(TOK, op, a, b), assign, children, children),
        st.builds(lambda n, i: ast.ArrayIn(TOK, ast.ArrayIndex(TOK, sym(n), i)), NAMES, slice_list),
        st.builds(lambda n, i: ast.ArrayIndex(TOK, sym(n), i), NAMES, index_list),
        st.builds(lambda h, i: ast.ArrayIndex(TOK, h, [i]), hist, children),
        st.builds(lambda n, a: ast.FunctionCall(TOK, n, a), FUNCS, st.lists(children, max_size=3)),
        stat_op,
        prints,
        st.builds(lambda e: ast.Defined(TOK, e), children),
        st.builds(lambda e: ast.Entry(TOK, e), children),
        st.builds(
            lambda n, ms: ast.TargetSymbol(
                TOK, "$", "$" + n, [ast.TargetComponent(TOK, "member", m) for m in ms]
            ),
            NAMES,
            st.lists(NAMES, max_size=2),
        ),
    )
    return (
        made.filter(_not_bang_tilde)
        .filter(_bracketed_indexes_print)
        .filter(_hist_bucket_first_print_argument)
    )


_expressions = st.recursive(leaves, extend, max_leaves=12)


@st.composite
def expressions_(draw: st.DrawFn) -> ast.Expr:
    # a composite keeps the strategy's repr short (a nested one is megabytes long)
    return draw(_expressions)


expressions = expressions_()


def _if(cond: ast.Expr, then: ast.Stmt, otherwise: ast.Stmt | None) -> ast.If:
    # the printer braces a then-branch whose last `if` would take the `else`
    if otherwise is not None and _ends_in_open_if(then):
        then = ast.Block(TOK, [then])
    return ast.If(TOK, cond, then, otherwise)


def _foreach(
    keys: list[str],
    value: str | None,
    base: str,
    slice_: list[ast.Expr | None] | None,
    sort: tuple[int, int, str | None],
    limit: ast.Expr | None,
    body: ast.Stmt,
) -> ast.Foreach:
    direction, column, aggregate = sort
    column = min(column, len(keys)) if direction else 0
    if column != 0 or direction == 0:
        aggregate = None
    if slice_ is not None:
        slice_ = (slice_ * len(keys))[: len(keys)]
    return ast.Foreach(
        TOK,
        [sym(k) for k in keys],
        None if value is None else sym(value),
        sym(base),
        slice_ or [],
        direction,
        column,
        aggregate,
        limit,
        body,
    )


def extend_stmts(children: st.SearchStrategy[ast.Stmt]) -> st.SearchStrategy[ast.Stmt]:
    opt_expr = st.one_of(st.none(), expressions)
    return st.one_of(
        st.builds(lambda b: ast.Block(TOK, b), st.lists(children, max_size=3)),
        st.builds(_if, expressions, children, st.one_of(st.none(), children)),
        st.builds(
            lambda i, c, s, b: ast.For(
                TOK,
                None if i is None else ast.ExprStmt(TOK, i),
                c,
                None if s is None else ast.ExprStmt(TOK, s),
                b,
            ),
            opt_expr,
            expressions,
            opt_expr,
            children,
        ),
        st.builds(
            lambda c, b: ast.For(TOK, None, c, None, b, is_while=True), expressions, children
        ),
        st.builds(
            _foreach,
            st.lists(NAMES, min_size=1, max_size=3),
            st.one_of(st.none(), NAMES),
            NAMES,
            st.one_of(
                st.none(), st.lists(st.one_of(st.none(), expressions), min_size=1, max_size=3)
            ),
            st.tuples(
                st.sampled_from([0, 1, -1]),
                st.integers(0, 3),
                st.sampled_from([None, "sum", "count", "avg", "min", "max", "variance"]),
            ),
            opt_expr,
            children,
        ),
        st.builds(
            lambda b, v, h: ast.TryBlock(
                TOK, ast.Block(TOK, b), None if v is None else sym(v), ast.Block(TOK, h)
            ),
            st.lists(children, max_size=2),
            st.one_of(st.none(), NAMES),
            st.lists(children, max_size=2),
        ),
    )


simple_stmts = st.one_of(
    expressions.map(lambda e: ast.ExprStmt(TOK, e)),
    st.just(ast.NullStmt(TOK)),
    st.just(ast.Next(TOK)),
    st.just(ast.Break(TOK)),
    st.just(ast.Continue(TOK)),
    st.builds(lambda n: ast.Delete(TOK, sym(n)), NAMES),
    st.builds(
        lambda n, i: ast.Delete(TOK, ast.ArrayIndex(TOK, sym(n), i)),
        NAMES,
        st.lists(st.one_of(expressions, st.none()), min_size=1, max_size=2),
    ),
)
_statements = st.recursive(simple_stmts, extend_stmts, max_leaves=6)


@st.composite
def statements_(draw: st.DrawFn) -> ast.Stmt:
    return draw(_statements)


statements = statements_()
function_statements = st.one_of(
    statements,
    st.builds(lambda v: ast.Return(TOK, v), st.one_of(st.none(), expressions)),
)


def probe_of(body: list[ast.Stmt]) -> ast.ScriptFile:
    point = ast.ProbePoint([ast.Component(TOK, "begin")])
    return ast.ScriptFile("<input>", probes=[ast.Probe(TOK, [point], ast.Block(TOK, body))])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions)
def test_random_expressions_round_trip(e: ast.Expr) -> None:
    script = probe_of([ast.ExprStmt(TOK, e)])
    text = script_text(script)
    again = reparse(text)
    (stmt,) = again.probes[0].body.body
    assert isinstance(stmt, ast.ExprStmt), text
    assert shape(stmt.expr) == shape(e), text
    assert script_text(again) == text


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(statements, min_size=1, max_size=4))
def test_random_statements_round_trip(body: list[ast.Stmt]) -> None:
    script = probe_of(body)
    text = script_text(script)
    again = reparse(text)
    assert shape(again.probes[0].body.body) == shape(body), text
    assert script_text(again) == text


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(function_statements, max_size=4),
    st.sampled_from(["unknown", "long", "string"]),
    st.lists(
        st.tuples(NAMES, st.sampled_from(["unknown", "long", "string"])),
        max_size=3,
        unique_by=lambda p: p[0],
    ),
    st.integers(0, 5),
)
def test_random_functions_round_trip(
    body: list[ast.Stmt], ret: str, params: list[tuple[str, str]], priority: int
) -> None:
    f = ast.FunctionDecl(
        TOK,
        "fn",
        [ast.Param(TOK, n, t) for n, t in params],
        ast.Block(TOK, body),
        ret,
        priority=priority,
    )
    script = ast.ScriptFile("<input>", functions=[f])
    text = script_text(script)
    again = reparse(text)
    assert shape(again.functions) == shape([f]), text


literals = st.one_of(numbers, strings)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.booleans(),
            st.one_of(st.none(), st.integers(1, 2**31 - 1)),
            st.one_of(st.none(), literals),
            st.booleans(),
        ),
        min_size=1,
        max_size=4,
    ),
)
def test_random_globals_round_trip(decls: list[tuple[bool, int | None, Any, bool]]) -> None:
    globals_ = []
    for i, (wrap, size, init, private) in enumerate(decls):
        if size is not None:
            init = None
        globals_.append(
            ast.VarDecl(TOK, f"g{i}", True, private=private, wrap=wrap, maxsize=size, init=init)
        )
    script = ast.ScriptFile("<input>", globals=globals_)
    text = script_text(script)
    again = reparse(text)
    assert shape(again.globals) == shape(globals_), text


point_args = st.one_of(
    st.none(), st.integers(-(2**62), 2**62).map(lambda v: ast.NumberLit(TOK, v)), strings
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.lists(
                st.tuples(
                    st.sampled_from(["begin", "a", "b*", "kernel", "function", "x_1"]), point_args
                ),
                min_size=1,
                max_size=3,
            ),
            st.sampled_from([(False, False), (True, False), (True, True)]),
            st.one_of(st.none(), expressions),
        ),
        min_size=1,
        max_size=3,
    )
)
def test_random_probe_points_round_trip(spec: list[Any]) -> None:
    pts = [
        ast.ProbePoint([ast.Component(TOK, f, a) for f, a in comps], opt, suff, c)
        for comps, (opt, suff), c in spec
    ]
    script = ast.ScriptFile("<input>", probes=[ast.Probe(TOK, pts, ast.Block(TOK, []))])
    text = script_text(script)
    again = reparse(text)
    assert shape(again.probes) == shape(script.probes), text


# ====================================================================== SystemTap's examples


EXAMPLES = sorted(glob.glob("/usr/share/systemtap/examples/**/*.stp", recursive=True))


def _parse_example(path: str) -> ast.ScriptFile | None:
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        text = f.read()
    try:
        return parse(
            Source(path, text), (), CTX, privileged=True, library_macros=library.macros(CTX)
        )
    except ParseError:
        return None


@pytest.mark.skipif(not EXAMPLES, reason="SystemTap's examples are not installed")
def test_examples_round_trip() -> None:
    done = 0
    for path in EXAMPLES:
        script = _parse_example(path)
        if script is None:
            continue
        text = script_text(script)
        try:
            again = parse(Source(path, text), (), CTX, privileged=True)
        except ParseError as err:  # pragma: no cover - reported below
            pytest.fail(f"{path}: the -p1 text does not parse:\n{err}\n{text}")
        assert shape(again) == shape(script), path
        assert script_text(again) == text, path
        done += 1
    # most of the examples parse (the rest need arguments or SystemTap-only macros)
    assert done >= 100
